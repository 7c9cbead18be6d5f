/*
 * mdstreams - the minidump streams that describe the process rather than
 * drive the stack walk: MemoryInfoList (16), ThreadInfoList (17),
 * HandleOperationList (18), TokenStream (19), CrashpadInfo (0x43500001)
 * and Breakpad's Linux streams (cpuinfo, cmdline, environ, auxv, maps,
 * DSO debug). The minidump reader hands each a bounds-checked view of its
 * stream; RVAs inside a stream are resolved against FILE. Damage is
 * recorded with model_add_error() and never stops the other streams.
 * Results go to a->memory, a->vendor and the threads' `info`.
 */
#ifndef FORMATS_MDSTREAMS_H
#define FORMATS_MDSTREAMS_H

#include <stdint.h>

struct analysis;
struct reader;

#define MDSTREAMS_MAX_THREAD_INFOS 4096
#define MDSTREAMS_MAX_HANDLE_OPS (1u << 20)
#define MDSTREAMS_MAX_TOKENS 4096
#define MDSTREAMS_MAX_CRASHPAD_MODULES 2048
#define MDSTREAMS_MAX_CMDLINE 4096 /* bytes kept of the command line */

/* Breakpad's Linux stream types (0x47670000 + N). */
enum mdstreams_linux {
	MDSTREAMS_LINUX_CPU_INFO = 3,
	MDSTREAMS_LINUX_CMD_LINE = 6,
	MDSTREAMS_LINUX_ENVIRON = 7,
	MDSTREAMS_LINUX_AUXV = 8,
	MDSTREAMS_LINUX_MAPS = 9,
	MDSTREAMS_LINUX_DSO_DEBUG = 10,
};

void mdstreams_read_memory_info(struct analysis *a, const struct reader *s);

/* Call after the thread lists: entries are linked to threads by id. */
void mdstreams_read_thread_info(struct analysis *a, const struct reader *s);

void mdstreams_read_handle_ops(struct analysis *a, const struct reader *s);
void mdstreams_read_tokens(struct analysis *a, const struct reader *s);
void mdstreams_read_crashpad(struct analysis *a, const struct reader *file,
			     const struct reader *s);

/*
 * Linux stream KIND (enum mdstreams_linux); WORD is the process's pointer
 * size in bytes (4 or 8), for auxv.
 */
void mdstreams_read_linux(struct analysis *a, enum mdstreams_linux kind,
			  unsigned word, const struct reader *s);

/*
 * Once the crash address and instruction are known: the memory regions
 * holding them (a->memory.address_region, ip_region).
 */
void mdstreams_locate_crash(struct analysis *a);

#endif /* FORMATS_MDSTREAMS_H */
