/*
 * content - the broker's content service: job files read over ZeroMQ.
 *
 * Workers without the filesystem the broker and the submitters share
 * fetch a job's bytes from the broker instead of opening its path. The
 * service is a thread of the broker process with its own ROUTER socket
 * (`broker --content-bind`), CURVE and ZAP exactly like the job endpoint
 * (the same server key, the same handler): only keys with the worker
 * role are served. A ContentRequest {job_id, offset, length, tag} is
 * answered by one ContentReply {tag, job_id, offset, data, size, error}
 * of at most CONTENT_MAX_CHUNK bytes; flow control is the client's
 * (credit-based: it keeps a bounded number of requests in flight).
 *
 * Only jobs the broker has handed to a worker are served (content_allow,
 * called by the broker thread at dispatch; the service remembers the
 * last CONTENT_MAX_JOBS of them), and the file opened is the path of the
 * broker's own job record, never anything from the request. The service
 * does not read the store: LMDB's map may be resized by the broker (its
 * thread or its writer's, writer.h) only while no other thread holds a
 * transaction, so the broker hands the
 * service what it needs instead. A few files stay open (a small LRU).
 */
#ifndef BROKER_CONTENT_H
#define BROKER_CONTENT_H

#include <stddef.h>
#include <stdint.h>

struct content;
struct curve_pair;
struct diag;

#define CONTENT_MAX_CHUNK ((uint32_t)1 << 20) /* bytes of one reply */
#define CONTENT_MAX_JOBS 16384    /* recently dispatched jobs remembered */
#define CONTENT_OPEN_FILES 8      /* files kept open */

struct content_opts {
	void *zmq_ctx;
	const char *endpoint;           /* where to bind */
	/* The broker's key pair (ZAP must already be running), or NULL. */
	const struct curve_pair *curve;
};

/* What the service has done since it started (for metrics and logs). */
struct content_stats {
	uint64_t requests;  /* ContentRequests answered */
	uint64_t bytes;     /* file bytes sent */
	uint64_t errors;    /* requests answered with an error */
	uint64_t denied;    /* messages from keys without the worker role */
};

/*
 * Bind and start serving. BOUND (BOUNDLEN bytes) gets the endpoint bound
 * (a '*' port resolved). DF_OK, or DF_EIO with the reason in D.
 */
int content_start(struct content **out, const struct content_opts *o,
		  char *bound, size_t boundlen, struct diag *d);

/* Stop the thread, close files and socket; NULL-safe; sets *CP to NULL. */
void content_stop(struct content **cp);

/*
 * Job JOB_ID, whose file is PATH on this machine, was handed to a worker:
 * serve it. SIZE is the size the job was submitted with (0: not known);
 * a file of another size is refused as changed. Thread-safe. DF_OK or
 * DF_ENOMEM.
 */
int content_allow(struct content *c, uint64_t job_id, const char *path,
		  uint64_t size);

/* A copy of the counters. Thread-safe. */
void content_get_stats(struct content *c, struct content_stats *out);

#endif /* BROKER_CONTENT_H */
