/*
 * broker - hands dump jobs to workers over ZeroMQ and records results.
 *
 * One ROUTER socket serves workers and clients alike (the message type
 * tells them apart). Jobs are written to the store before a submission is
 * acknowledged; at start the broker reloads every job not yet done, so a
 * restart loses nothing. Workers take jobs by credit (WorkerReady); each
 * dispatched job carries a lease, and an expired lease, a worker that says
 * Disconnect or one found silent (slots heartbeat while they analyse) puts
 * the job back in the queue. An expired lease, a lost worker's running job
 * and a result marked retry (the analysis died) each cost an attempt; a
 * job out of attempts (max_attempts) is quarantined with its last reason.
 * Results are written in batches by a writer thread (writer.h) while
 * the broker goes on dispatching; a job counts as done only once its
 * batch has committed.
 * Memory stays bounded however many jobs are submitted: the queue in
 * memory is a window of queue_window jobs, refilled from the store in id
 * order when it runs low, and results wait for their write up to a bound
 * in count and in bytes.
 */
#ifndef BROKER_BROKER_H
#define BROKER_BROKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct curve_keyring;
struct curve_pair;
struct metrics;
struct store;

struct broker_opts {
	const char *endpoint;     /* where to bind, e.g. tcp://127.0.0.1:* */
	void *zmq_ctx;
	struct store *store;      /* borrowed, open for writing */
	uint32_t heartbeat_ms;
	uint32_t liveness;        /* missed heartbeats before a worker is dropped */
	uint64_t lease_ms;        /* job lease */
	uint32_t max_attempts;    /* before quarantine */
	size_t queue_window;      /* queued jobs kept in memory */
	/*
	 * Set to true to stop. The broker then drains: it leases no more
	 * jobs, waits up to drain_ms for the results of the leased ones, then
	 * returns; jobs still out are queued again at the next start.
	 */
	atomic_bool *stop;
	uint64_t drain_ms;
	/*
	 * CURVE: the broker's key pair and the keys allowed to connect, with
	 * their roles; a peer may only send the messages of its roles. NULL
	 * CURVE: plain sockets, every peer may do everything.
	 */
	const struct curve_pair *curve;
	const struct curve_keyring *allow;
	/* Where to publish a metrics snapshot now and then, or NULL. */
	struct metrics *metrics;
	/* Called once bound with the actual endpoint (port resolved). */
	void (*on_bound)(void *ctx, const char *endpoint);
	void *on_bound_ctx;
	/*
	 * Serve job files to workers over ZeroMQ (content.h) at this
	 * endpoint, with the same CURVE keys; NULL: off. Called once bound,
	 * with ON_BOUND_CTX.
	 */
	const char *content_endpoint;
	void (*on_content_bound)(void *ctx, const char *endpoint);
};

/*
 * Defaults: heartbeat 1000 ms, liveness 5, lease 600 s, 3 attempts, a
 * queue window of 10,000 jobs, no drain (the command line's broker drains
 * 30 s).
 */
void broker_opts_init(struct broker_opts *o);

/*
 * Bind and serve until *o->stop is true. Returns DF_OK, or DF_EIO when the
 * endpoint cannot be bound (or the ZAP handler, the content service or
 * the writer thread not started), or DF_ESTORE when the store fails.
 */
int broker_run(const struct broker_opts *o);

#endif /* BROKER_BROKER_H */
