#include "rate.h"

#include <string.h>

#define RATE_SLOTS (RATE_WINDOW_S + 1)

void rate_init(struct rate *r)
{
	memset(r, 0, sizeof(*r));
}

void rate_tick(struct rate *r, uint64_t now_ms, uint64_t total)
{
	size_t last = (r->next + RATE_SLOTS - 1) % RATE_SLOTS;

	if (r->n > 0 && now_ms - r->t_ms[last] < 1000)
		return;
	r->t_ms[r->next] = now_ms;
	r->v[r->next] = total;
	r->next = (r->next + 1) % RATE_SLOTS;
	if (r->n < RATE_SLOTS)
		r->n++;
}

void rate_window(const struct rate *r, uint64_t now_ms, uint64_t total,
		 uint64_t *delta, uint64_t *ms)
{
	size_t oldest = (r->next + RATE_SLOTS - r->n) % RATE_SLOTS;

	*delta = 0;
	*ms = 0;
	for (size_t i = 0; i < r->n; i++) {
		size_t k = (oldest + i) % RATE_SLOTS;

		if (now_ms - r->t_ms[k] > (uint64_t)RATE_WINDOW_S * 1000)
			continue;
		/* A total that went down (a retry) counts as no growth. */
		*delta = total > r->v[k] ? total - r->v[k] : 0;
		*ms = now_ms - r->t_ms[k];
		return;
	}
}
