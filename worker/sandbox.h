/*
 * sandbox - analyse one dump in a child process, under limits.
 *
 * A parser bug must cost one dump, not the worker: each dump is analysed
 * by a child forked from the slot's thread. Before it reads a byte of the
 * dump the child closes every inherited descriptor but its result pipe,
 * takes resource limits (CPU seconds, address space, no file writes, few
 * descriptors, no core), opens and maps the file, then installs a seccomp
 * filter (libseccomp) allowing only what parsing needs; any other system
 * call kills it. It sends the serialised dumpfleet.v1.Dump back over a
 * pipe, as a 4-byte little-endian length, 4 bytes of flags, the message,
 * then the symbol keys; the parent caps the whole at SANDBOX_MAX_RESULT.
 *
 * The parent never blocks on the child: sandbox_fd() is polled with the
 * slot's socket (so the slot keeps heartbeating), sandbox_pump() reads
 * what has come and enforces the wall-clock watchdog. A signal, a limit or
 * a watchdog kill ends as a failure with a reason ("parser killed by
 * SIGSEGV", "CPU limit 120 s", "wall-clock limit 120 s").
 *
 * The symbol cache (symbols.h) is shared by the slots of a process; the
 * child gets a copy-on-write view of it, so files the child loads would
 * die with it. It lists them after the Dump (keys, u16 length each) and
 * the parent loads them into the shared cache for the next children.
 *
 * One sandbox runs one child at a time; a slot owns one sandbox.
 */
#ifndef WORKER_SANDBOX_H
#define WORKER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpfleet.pb-c.h"

struct diag;
struct record_origin;
struct sigrules;
struct symstore;

/* Records are at most 16 MiB in the store; a little room for framing. */
#define SANDBOX_MAX_RESULT ((size_t)17 << 20)
#define SANDBOX_MAX_REASON 160

/*
 * Default wall-clock and CPU limit per dump. AddressSanitizer's allocator
 * (GCC 12, clang 14) has no fork handling: now and then a child forked
 * while another thread held its lock deadlocks in malloc, and only the
 * watchdog frees the slot (the job is retried). Sanitizer builds are test
 * builds, so they wait less before giving such a child up.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_DEFAULT_TIMEOUT_S 15
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_DEFAULT_TIMEOUT_S 15
#endif
#endif
#ifndef SANDBOX_DEFAULT_TIMEOUT_S
#define SANDBOX_DEFAULT_TIMEOUT_S 120
#endif

struct sandbox_opts {
	uint32_t timeout_s;   /* wall clock; the child is killed after it */
	uint32_t cpu_s;       /* RLIMIT_CPU; 0: the same as timeout_s */
	uint64_t memory_mb;   /* RLIMIT_AS; 0: no limit */
	bool no_seccomp;      /* skip the system call filter */
	const struct sigrules *rules;  /* borrowed; NULL: embedded rules */
	struct symstore *syms;         /* borrowed, shared; may be NULL */
	/* Test builds only: the fault switch (fault.h); NULL otherwise. */
	const char *fault;
};

/* Defaults: 120 s wall clock and CPU, 4096 MB, seccomp on. */
void sandbox_opts_init(struct sandbox_opts *o);

struct sandbox;

/* A sandbox with options O (copied; the pointers stay borrowed). */
int sandbox_new(struct sandbox **out, const struct sandbox_opts *o);

/* Kill and reap a running child; NULL-safe; sets *SP to NULL. */
void sandbox_destroy(struct sandbox **sp);

/*
 * Fork a child analysing the file at ORIGIN->source; its Dump record
 * carries the rest of ORIGIN (archive, member). DF_OK, DF_EUSAGE when a
 * child already runs, DF_EIO when no child could be made (reason in D).
 */
int sandbox_start(struct sandbox *sb, const struct record_origin *origin,
		  struct diag *d);

/*
 * As sandbox_start, analysing the file at PATH (a local copy, e.g. one
 * fetched from the broker) while the record names ORIGIN->source.
 */
int sandbox_start_file(struct sandbox *sb, const char *path,
		       const struct record_origin *origin, struct diag *d);

/*
 * Range mode: the file at PATH is a sparse copy filled on demand. The
 * child asks the parent for the byte ranges its reader needs over a
 * socket pair (the only other descriptor it may write to); the parent
 * answers each request once FILL (called from sandbox_serve_fill) has
 * made the range resident, rounded out to whole chunks of CHUNK bytes.
 */
struct sandbox_fill {
	int (*fill)(void *ctx, uint64_t off, uint64_t n); /* DF_OK or not */
	void *ctx;
	uint32_t chunk;
	uint64_t size;        /* of the file */
};

/* As sandbox_start_file in range mode (FILL copied; CTX borrowed). */
int sandbox_start_ranges(struct sandbox *sb, const char *path,
			 const struct record_origin *origin,
			 const struct sandbox_fill *fill, struct diag *d);

/* Where the child asks for ranges while busy in range mode, else -1. */
int sandbox_fill_fd(const struct sandbox *sb);

/* Answer the requests waiting on sandbox_fill_fd() (each calls FILL). */
void sandbox_serve_fill(struct sandbox *sb);

/* Kill a running child now; sandbox_finish() then reports the end. */
void sandbox_cancel(struct sandbox *sb);

/* True between sandbox_start() and the end sandbox_pump() reports. */
bool sandbox_busy(const struct sandbox *sb);

/* The descriptor to poll for input while busy (-1 when idle). */
int sandbox_fd(const struct sandbox *sb);

/* Milliseconds until the watchdog fires (0 when due or idle). */
long sandbox_wait_ms(const struct sandbox *sb);

/*
 * Read what the child sent and check the watchdog. Returns true when the
 * child has ended (then call sandbox_finish), false while it runs.
 */
bool sandbox_pump(struct sandbox *sb);

/*
 * After sandbox_pump() returned true: *OUT is the child's Dump (free with
 * sandbox_dump_free) and DF_OK; or *OUT is NULL, REASON (REASONLEN bytes)
 * says why, and the code is DF_ELIMIT (a limit or the watchdog), DF_EIO
 * (killed by a signal, exited without a result) or DF_EPROTO (a malformed
 * or oversized result). The sandbox is idle again afterwards.
 */
int sandbox_finish(struct sandbox *sb, Dumpfleet__V1__Dump **out,
		   char *reason, size_t reasonlen);

void sandbox_dump_free(Dumpfleet__V1__Dump *dump);

/*
 * Start, wait and finish in one call (no heartbeats: for tests and
 * single-shot use).
 */
int sandbox_run(struct sandbox *sb, const char *path,
		Dumpfleet__V1__Dump **out, char *reason, size_t reasonlen);

/* True when the last child ran without the seccomp filter (not allowed). */
bool sandbox_filter_skipped(const struct sandbox *sb);

#endif /* WORKER_SANDBOX_H */
