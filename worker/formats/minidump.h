/*
 * minidump - reader for Windows user-mode minidumps (MDMP), including the
 * Breakpad/Crashpad variants written on Linux and macOS.
 *
 * Reads the header, the stream directory and the streams the model uses
 * (SystemInfo, Exception, ModuleList, ThreadList/ThreadListEx, thread
 * contexts, MemoryList for stack bytes, MiscInfo, HandleData,
 * UnloadedModuleList, ThreadNames, Breakpad/Linux vendor streams; the
 * descriptive streams through mdstreams.h: MemoryInfoList, ThreadInfoList,
 * HandleOperationList, Token, CrashpadInfo, the other Linux streams).
 * Every offset and count is checked against the file; caps are named below.
 */
#ifndef FORMATS_MINIDUMP_H
#define FORMATS_MINIDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analysis;
struct symstore;

#define MINIDUMP_MAX_STREAMS 128
#define MINIDUMP_MAX_THREADS 4096
#define MINIDUMP_MAX_MODULES 2048
#define MINIDUMP_MAX_MEMORY_RANGES 65536
#define MINIDUMP_MAX_STRING_UNITS 1024       /* UTF-16 units per string */
#define MINIDUMP_MAX_RECORD (32u << 10)      /* CodeView / misc record */
#define MINIDUMP_MAX_REGION ((uint64_t)64 << 20)

/* True when DATA begins with the minidump signature "MDMP". */
bool minidump_probe(const uint8_t *data, size_t len);

/*
 * Fill A from the minidump in DATA. Returns DF_OK when the essential parts
 * (header, directory) were read; damage in single streams is recorded with
 * model_add_error() and the rest is still read. Returns a DF_E* code (also
 * recorded in A) when the file cannot be read as a minidump at all.
 */
int minidump_read(struct analysis *a, const uint8_t *data, size_t len);

/*
 * As minidump_read(), walking stacks with the unwind rules (STACK WIN,
 * STACK CFI) and function ranges of the symbol files in SYMS (NULL: none).
 * Frames are not named here: symstore_symbolize() does that.
 */
int minidump_read_with(struct analysis *a, const uint8_t *data, size_t len,
		       struct symstore *syms);

#endif /* FORMATS_MINIDUMP_H */
