/*
 * worker - the ZeroMQ loop around analysis_run().
 *
 * A worker process runs N slots; each slot is a thread with its own DEALER
 * socket connected to the broker. A slot announces itself with two credits
 * (WorkerReady), receives JobAssigns naming spool paths, has each file
 * analysed by a child process (sandbox.h), returns a JobResult and asks
 * for the next job. It polls the child's pipe and its socket together, so
 * it heartbeats while a dump is analysed as well as when idle; when the
 * broker is silent for `liveness` intervals it kills the running child,
 * drops the connection and reconnects (Paranoid Pirate). A child that
 * crashes, hits a limit or hangs becomes a failed result marked `retry`.
 *
 * When *stop becomes true a slot drains: it takes no new job, lets the
 * running one finish and sends its result, gives the jobs it holds back
 * (Disconnect) and returns.
 *
 * Without a shared filesystem a slot fetches each job's file from the
 * broker's content service first (fetch.h), heartbeating meanwhile; a
 * fetch that fails is a failed result marked `retry`, with the reason
 * "content fetch failed: ...".
 */
#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct curve_client;

struct worker_opts {
	const char *endpoint;     /* broker endpoint to connect to */
	void *zmq_ctx;            /* context to use (shared for inproc) */
	unsigned slots;           /* analysis threads, >= 1 */
	const char *name;         /* worker name prefix, e.g. host:pid */
	uint32_t heartbeat_ms;    /* heartbeat interval */
	uint32_t liveness;        /* missed heartbeats before reconnecting */
	atomic_bool *stop;        /* set to true to make the slots exit */
	const struct curve_client *curve; /* CURVE keys, or NULL: plain */
	/* Breakpad symbol roots (--symbols); the slots share one cache. */
	const char *const *symbol_dirs;
	size_t nsymbol_dirs;
	/*
	 * Each dump is analysed in a child process (sandbox.h) under these
	 * limits, unless no_sandbox (debugging: a parser crash then kills
	 * the worker, and a slot is silent while it analyses).
	 */
	bool no_sandbox;
	uint32_t timeout_s;       /* wall clock and CPU seconds per dump */
	uint64_t memory_mb;       /* address space an analysis may add */
	/*
	 * Without a shared filesystem: the broker's content service
	 * (fetch.h), or NULL. Each slot then fetches a job's file into a
	 * cache file in fetch_dir (NULL: $TMPDIR, else /tmp), named from
	 * the job id, analyses that and removes it once the result is sent.
	 * With fetch_always every job is fetched; otherwise only when its
	 * path here is not a regular file of the job's size.
	 */
	const char *fetch_endpoint;
	bool fetch_always;
	const char *fetch_dir;
	uint32_t fetch_timeout_ms; /* 0: fetch.h's default */
};

/*
 * Defaults: heartbeat 1000 ms, liveness 5, slots = online CPUs, sandbox
 * on with a 120 s timeout and 4096 MB.
 */
void worker_opts_init(struct worker_opts *o);

/*
 * Run the slots until *o->stop becomes true or the context terminates.
 * Returns DF_OK, or a DF_E* code when no slot could start.
 */
int worker_run(const struct worker_opts *o);

#endif /* WORKER_WORKER_H */
