#include "df.h"

#include <assert.h>

static const char *const errstr[] = {
	"success",
	"out of memory",
	"input/output error",
	"truncated input",
	"malformed input",
	"input exceeds a limit",
	"unsupported input",
	"already exists",
	"malformed protocol message",
	"not found",
	"store error",
	"invalid usage",
};

static_assert(ARRAY_SIZE(errstr) == 1 - DF_ELAST, "one string per code");

const char *df_strerror(int code)
{
	if (code > 0 || code < DF_ELAST)
		return "unknown error";
	return errstr[-code];
}
