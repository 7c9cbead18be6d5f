/* Fuzz target: the minidump reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "minidump.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis *a = analysis_new();

	if (a == NULL)
		return 0;
	if (minidump_probe(data, size))
		minidump_read(a, data, size);
	analysis_destroy(&a);
	return 0;
}
