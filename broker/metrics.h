/*
 * metrics - the broker's Prometheus text exposition over HTTP.
 *
 * An HTTP server (libmicrohttpd, its own thread) answers GET /metrics from
 * a snapshot that the broker thread publishes now and then; it never
 * reads the broker's live state. The snapshot is a plain value copied in
 * and out under a mutex, so neither side waits for the other's work.
 */
#ifndef BROKER_METRICS_H
#define BROKER_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct diag;
struct metrics;
struct strbuf;

#define METRICS_BUCKETS 12 /* upper bounds in metrics.c, the last is +Inf */

/* Store commit latency, in seconds. */
struct metrics_hist {
	uint64_t bucket[METRICS_BUCKETS]; /* observations per bucket (not
					     cumulative) */
	uint64_t count;
	double sum;
};

/* What the broker publishes. */
struct metrics_snapshot {
	uint64_t queued, leased, done, failed; /* jobs by state now */
	uint64_t done_total;      /* jobs done since the broker started */
	uint64_t failed_total;    /* jobs failed since the broker started */
	uint64_t leases_expired;  /* since the broker started */
	uint32_t slots;           /* connected worker slots */
	uint32_t workers;         /* worker processes they belong to */
	double done_per_second;   /* over the last minute */
	struct metrics_hist commit; /* store write transactions */
	/* The content service (0 when it is off). */
	uint64_t content_requests, content_bytes, content_errors;
};

/* Count one observation of SECONDS. */
void metrics_hist_observe(struct metrics_hist *h, double seconds);

/*
 * Serve http://ADDR:PORT/metrics (ADDR numeric or a name, "[v6]", or "*"
 * for every interface; PORT 0 picks one). *PORT_OUT gets the port bound.
 * DF_OK, DF_EUSAGE for an address that cannot be read, DF_EIO when the
 * server cannot start.
 */
int metrics_start(struct metrics **out, const char *addr, unsigned *port_out,
		  struct diag *d);

/* Replace the snapshot served. */
void metrics_publish(struct metrics *m, const struct metrics_snapshot *s);

/* Stop serving; NULL-safe; sets *MP to NULL. */
void metrics_stop(struct metrics **mp);

/* Append S in the Prometheus text format (version 0.0.4) to OUT. */
int metrics_render(const struct metrics_snapshot *s, struct strbuf *out);

#endif /* BROKER_METRICS_H */
