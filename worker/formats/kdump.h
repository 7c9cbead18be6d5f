/*
 * kdump - reader for Windows kernel crash dumps ("PAGEDUMP" / "PAGEDU64").
 *
 * Reads the 32- and 64-bit DUMP_HEADER (bugcheck, version, machine,
 * processors, dump type, times, comment, product type; the "PAGE" fill
 * means a field is absent) and, for small memory dumps (DumpType 4,
 * triage), the TRIAGE_DUMP parts: driver list with the string pool,
 * unloaded drivers, the crashing processor's context, the call stack
 * (scanned for return addresses inside drivers) and the process image
 * name. Full and bitmap dumps (DumpType 1, 5, 6; x64 and x86 with or
 * without PAE) are read through their page tables (kmem.h): the driver
 * list from PsLoadedModuleList and the crashing processor's stack from
 * the header's context (frame pointers on x86, then a scan). Only the
 * pages needed are touched. Every offset and count is checked against
 * the file; caps are named below.
 */
#ifndef FORMATS_KDUMP_H
#define FORMATS_KDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analysis;

/* Drivers in a triage dump; real systems load 150-400 (corpus: 151, 245). */
#define KDUMP_MAX_DRIVERS 4096
/* Unloaded drivers; the kernel keeps the last 50 (MI_UNLOADED_DRIVERS). */
#define KDUMP_MAX_UNLOADED 1024
/* UTF-16 units per DUMP_STRING; NT driver paths stay well under 512. */
#define KDUMP_MAX_STRING_UNITS 1024
/* Call-stack bytes read; kernel stacks are 24-72 KiB (corpus: 8 KiB, 3 KiB). */
#define KDUMP_MAX_STACK ((uint64_t)1 << 20)
/* Stack bytes scanned through the page tables of a memory dump. */
#define KDUMP_MAX_SCAN ((uint64_t)64 << 10)
/* Frames found by the stack walk of the crashing processor. */
#define KDUMP_MAX_FRAMES 64

/* True when DATA begins with "PAGEDUMP" or "PAGEDU64". */
bool kdump_probe(const uint8_t *data, size_t len);

/*
 * Fill A from the kernel dump in DATA. Returns DF_OK when the header was
 * read; damage in the triage parts is recorded with model_add_error() and
 * the rest is still read. Returns a DF_E* code (also recorded in A) when
 * the file cannot be read as a kernel dump at all.
 */
int kdump_read(struct analysis *a, const uint8_t *data, size_t len);

/*
 * As kdump_read, for bytes that are made resident through SRC as they are
 * read (reader.h; NULL: all resident). The first 8 bytes must be.
 */
struct reader_src;
int kdump_read_src(struct analysis *a, const uint8_t *data, size_t len,
		   const struct reader_src *src);

#endif /* FORMATS_KDUMP_H */
