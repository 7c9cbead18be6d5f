/*
 * fault - a test-only switch that makes the analysis of one chosen dump
 * fail the way parser bugs do.
 *
 * Compiled in only with DF_TEST_FAULTS (the df_worker_faults library, which
 * only tests/ links: the dumpfleet-faults binary and the sandbox tests);
 * in every other build both calls do nothing, so a production binary
 * cannot be told to crash whatever its environment says.
 *
 * FAULT is "KIND:NAME": the dump whose file name (no folder) is NAME gets
 * KIND: "segv" (a wild write), "hang" (a deadlock on its own lock, no CPU),
 * "spin" (a CPU loop), "oom" (allocation without end; exits with
 * FAULT_EXIT_NOMEM when memory runs out), "escape" (opens a file it has
 * no need of, which the seccomp filter forbids), "slow" (busy for
 * FAULT_SLOW_MS, then analysed as usual: a big dump) or "flood" (in range
 * mode, asks for ranges on descriptor FAULT_FILL_FD without end and never
 * reads the answers, then waits on its own lock).
 */
#ifndef WORKER_FAULT_H
#define WORKER_FAULT_H

#define FAULT_EXIT_NOMEM 90 /* the sandbox child's out-of-memory status */
#define FAULT_FILL_FD 4     /* the range-mode pair in the child (sandbox.c) */
#define FAULT_SLOW_MS 1500

/*
 * Call before any seccomp filter: a sanitizer's SIGSEGV handler would write
 * a report (a call the filter forbids); "segv" wants the plain signal.
 */
void fault_prepare(const char *fault, const char *path);

/* Call where the parser would run: strike if FAULT names PATH. */
void fault_strike(const char *fault, const char *path);

#endif /* WORKER_FAULT_H */
