/*
 * Fuzz target: decoding a wire envelope as the broker and the workers do
 * (wire_decode: the allocation budget, the version check). protobuf-c
 * comes from the system and is not instrumented, so coverage guides
 * little here: this runs the budget allocator and the version check under
 * the sanitizers. (A pack-and-decode-again round trip does not hold for
 * protobuf-c: it accepts a field number 0 spelt as a two-byte varint as an
 * unknown field, packs it canonically, and then rejects it.)
 */
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wire_env *env = NULL;
	struct diag d;

	diag_init(&d);
	if (wire_decode(data, size, &env, &d) == 0)
		wire_env_free(env);
	return 0;
}
