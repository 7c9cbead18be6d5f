/* Fuzz target: the debugger-log reader on arbitrary text. */
#include <stddef.h>
#include <stdint.h>

#include "dbglog.h"
#include "fuzz.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis *a = analysis_new();

	if (a == NULL)
		return 0;
	/* Read even what the probe would reject: the reader must cope. */
	dbglog_read(a, data, size);
	analysis_destroy(&a);
	return 0;
}
