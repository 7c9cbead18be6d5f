/* Fuzz target: the Breakpad .sym parser on arbitrary bytes, then lookups. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"
#include "symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct symfile *f = NULL;
	const char *name;
	uint64_t off;

	if (symfile_parse(&f, data, size) != 0 || f == NULL)
		return 0;
	/* Probe around the first bytes taken as addresses, and the edges. */
	uint64_t probe = 0;

	for (size_t i = 0; i < size && i < 8; i++)
		probe = probe << 8 | data[i];
	const uint64_t addrs[] = { 0, 1, probe, probe - 1, probe + 1,
				   UINT64_MAX };

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		if (symfile_lookup(f, addrs[i], &name, &off) && name[0] == '\0')
			__builtin_trap();
	symfile_destroy(&f);
	return 0;
}
