/* Fuzz target: decoding a wire envelope as the broker does. */
#include <stddef.h>
#include <stdint.h>

#include "dumpfleet.pb-c.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Dumpfleet__V1__Envelope *env =
		dumpfleet__v1__envelope__unpack(NULL, size, data);

	if (env != NULL)
		dumpfleet__v1__envelope__free_unpacked(env, NULL);
	return 0;
}
