/*
 * rate - how much a running total grew over the last minute.
 *
 * The owner samples the total about once a second (rate_tick); a ring of
 * RATE_WINDOW_S + 1 samples answers "how much in the last minute" without
 * keeping one entry per event. A caller-allocated value; no heap.
 */
#ifndef BROKER_RATE_H
#define BROKER_RATE_H

#include <stddef.h>
#include <stdint.h>

#define RATE_WINDOW_S 60

struct rate {
	uint64_t t_ms[RATE_WINDOW_S + 1]; /* sample times, monotonic ms */
	uint64_t v[RATE_WINDOW_S + 1];    /* the total at those times */
	size_t n;                         /* samples held */
	size_t next;                      /* slot the next sample takes */
};

void rate_init(struct rate *r);

/* Record TOTAL at NOW_MS when a second has passed since the last sample. */
void rate_tick(struct rate *r, uint64_t now_ms, uint64_t total);

/*
 * Growth of the total up to TOTAL at NOW_MS since the oldest sample at
 * most RATE_WINDOW_S old: *DELTA, over *MS milliseconds (0 and 0 when no
 * sample is recent enough).
 */
void rate_window(const struct rate *r, uint64_t now_ms, uint64_t total,
		 uint64_t *delta, uint64_t *ms);

#endif /* BROKER_RATE_H */
