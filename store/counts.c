#include "counts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One changed key: its text lives in the table's key buffer at OFF. */
struct entry {
	uint64_t hash;
	size_t off;
	uint32_t len;
	int64_t sum;
	uint64_t floor;
};

/*
 * Open addressing with linear probing over SLOTS (index + 1 of an entry,
 * 0 for empty), at most half full so that probes stay short.
 */
struct counts {
	uint32_t *slots;
	size_t nslots;
	struct entry *ents;
	size_t nents, capents;
	char *keys;
	size_t nkeys, capkeys;
	uint32_t *order;
	size_t caporder;
};

#define COUNTS_MIN_SLOTS 256

struct counts *counts_new(void)
{
	return calloc(1, sizeof(struct counts));
}

void counts_destroy(struct counts **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	free((*cp)->slots);
	free((*cp)->ents);
	free((*cp)->keys);
	free((*cp)->order);
	free(*cp);
	*cp = NULL;
}

void counts_reset(struct counts *c)
{
	if (c->nents > 0 && c->slots != NULL)
		memset(c->slots, 0, c->nslots * sizeof(*c->slots));
	c->nents = 0;
	c->nkeys = 0;
}

size_t counts_size(const struct counts *c)
{
	return c->nents;
}

/* FNV-1a: keys are short text; no hostile peer chooses a whole batch. */
static uint64_t key_hash(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint32_t *slot_of(const struct counts *c, uint64_t hash,
			 const char *key, size_t len)
{
	size_t mask = c->nslots - 1;

	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		uint32_t *sl = &c->slots[i];
		const struct entry *e;

		if (*sl == 0)
			return sl;
		e = &c->ents[*sl - 1];
		if (e->hash == hash && e->len == len &&
		    memcmp(c->keys + e->off, key, len) == 0)
			return sl;
	}
}

/* Double the slots (or make the first ones) and place every entry again. */
static int grow_slots(struct counts *c)
{
	size_t n = c->nslots ? c->nslots * 2 : COUNTS_MIN_SLOTS;
	uint32_t *sl = calloc(n, sizeof(*sl));

	if (sl == NULL)
		return ENOMEM;
	free(c->slots);
	c->slots = sl;
	c->nslots = n;
	for (size_t i = 0; i < c->nents; i++) {
		size_t mask = n - 1, j = (size_t)c->ents[i].hash & mask;

		while (sl[j] != 0)
			j = (j + 1) & mask;
		sl[j] = (uint32_t)(i + 1);
	}
	return 0;
}

/* Room for one more entry and LEN more key bytes. */
static int reserve(struct counts *c, size_t len)
{
	if (c->nents == c->capents) {
		size_t n = c->capents ? c->capents * 2 : 128;
		struct entry *e;

		if (n >= UINT32_MAX / 2) /* slot indexes are 32-bit */
			return ENOMEM;
		e = realloc(c->ents, n * sizeof(*e));
		if (e == NULL)
			return ENOMEM;
		c->ents = e;
		c->capents = n;
	}
	if (c->capkeys - c->nkeys < len) {
		size_t n = c->capkeys ? c->capkeys : 4096;
		char *k;

		while (n - c->nkeys < len)
			n *= 2;
		k = realloc(c->keys, n);
		if (k == NULL)
			return ENOMEM;
		c->keys = k;
		c->capkeys = n;
	}
	if ((c->nents + 1) * 2 > c->nslots)
		return grow_slots(c);
	return 0;
}

int counts_add(struct counts *c, const char *key, size_t len, int64_t delta,
	       bool *fresh)
{
	uint64_t h;
	uint32_t *sl;
	struct entry *e;

	if (len == 0 || len > COUNTS_MAX_KEY) /* LMDB takes neither */
		return EINVAL;
	h = key_hash(key, len);
	if (fresh != NULL)
		*fresh = false;
	sl = c->nslots ? slot_of(c, h, key, len) : NULL;
	if (sl == NULL || *sl == 0) {
		int rc = reserve(c, len);

		if (rc != 0)
			return rc;
		sl = slot_of(c, h, key, len); /* the slots may have moved */
		e = &c->ents[c->nents];
		*e = (struct entry){ h, c->nkeys, (uint32_t)len, 0, 0 };
		memcpy(c->keys + c->nkeys, key, len);
		c->nkeys += len;
		*sl = (uint32_t)++c->nents;
		if (fresh != NULL)
			*fresh = true;
	}
	e = &c->ents[*sl - 1];
	/* max(0, max(floor, v + sum) + delta) = max(floor', v + sum'). */
	e->sum += delta;
	if (delta >= 0)
		e->floor += (uint64_t)delta;
	else
		e->floor = e->floor > (uint64_t)-delta ? e->floor - (uint64_t)-delta
						       : 0;
	return 0;
}

uint64_t counts_apply(int64_t sum, uint64_t floor, uint64_t cur)
{
	uint64_t v;

	if (sum < 0 && cur < (uint64_t)-sum)
		v = 0;
	else
		v = cur + (uint64_t)sum;
	return v > floor ? v : floor;
}

/* LMDB's default order: bytewise over the shorter, then the shorter first. */
static int order_cmp(const void *a, const void *b, void *ctx)
{
	const struct counts *c = ctx;
	const struct entry *x = &c->ents[*(const uint32_t *)a];
	const struct entry *y = &c->ents[*(const uint32_t *)b];
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(c->keys + x->off, c->keys + y->off, n);

	if (r != 0)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

int counts_each(struct counts *c,
		int (*fn)(void *ctx, const char *key, size_t len,
			  int64_t sum, uint64_t floor),
		void *ctx)
{
	if (c->nents == 0)
		return 0;
	if (c->nents > c->caporder) {
		uint32_t *o = realloc(c->order, c->nents * sizeof(*o));

		if (o == NULL)
			return ENOMEM;
		c->order = o;
		c->caporder = c->nents;
	}
	for (size_t i = 0; i < c->nents; i++)
		c->order[i] = (uint32_t)i;
	qsort_r(c->order, c->nents, sizeof(*c->order), order_cmp, c);
	for (size_t i = 0; i < c->nents; i++) {
		const struct entry *e = &c->ents[c->order[i]];
		int rc = fn(ctx, c->keys + e->off, e->len, e->sum, e->floor);

		if (rc != 0)
			return rc;
	}
	return 0;
}
