#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "df.h"

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

__attribute__((format(printf, 5, 0))) static void
record(struct diag *d, int code, bool has_off, uint64_t off, const char *fmt,
       va_list ap)
{
	if (d == NULL || d->code != DF_OK)
		return;
	d->code = code;
	d->has_offset = has_off;
	d->offset = off;
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
}

int diag_fail(struct diag *d, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(d, code, false, 0, fmt, ap);
	va_end(ap);
	return code;
}

int diag_fail_at(struct diag *d, int code, uint64_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(d, code, true, off, fmt, ap);
	va_end(ap);
	return code;
}

bool diag_failed(const struct diag *d)
{
	return d != NULL && d->code != DF_OK;
}
