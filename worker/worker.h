/*
 * worker - the ZeroMQ loop around analysis_run().
 *
 * A worker process runs N slots; each slot is a thread with its own DEALER
 * socket connected to the broker. A slot announces itself with one credit
 * (WorkerReady), receives a JobAssign naming a spool path, analyses that
 * file, returns a JobResult and asks for the next job. While idle it sends
 * heartbeats; when the broker is silent for `liveness` intervals it drops
 * the connection and reconnects (Paranoid Pirate).
 */
#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include <stdatomic.h>
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
};

/* Defaults: heartbeat 1000 ms, liveness 5, slots = online CPUs. */
void worker_opts_init(struct worker_opts *o);

/*
 * Run the slots until *o->stop becomes true or the context terminates.
 * Returns DF_OK, or a DF_E* code when no slot could start.
 */
int worker_run(const struct worker_opts *o);

#endif /* WORKER_WORKER_H */
