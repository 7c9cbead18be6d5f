/* Fuzz target: the kernel-dump reader on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "kdump.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis *a = analysis_new();

	if (a == NULL)
		return 0;
	if (kdump_probe(data, size))
		kdump_read(a, data, size);
	analysis_destroy(&a);
	return 0;
}
