/*
 * fuzz - the libFuzzer entry point every target defines. Built with
 * -fsanitize=fuzzer under DF_FUZZ, or linked with replay.c as an ordinary
 * test that runs every file of the seed folders through the target.
 */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_FUZZ_H */
