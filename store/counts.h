/*
 * counts - the counter changes of one store write transaction, gathered
 * in memory so that each counter key is read and written once per
 * transaction rather than once per change.
 *
 * A batch of results changes the same few dozen keys over and over
 * ("t/dumps", a day's totals, a busy bucket's count); the store adds
 * every change here and writes the sums, in key order, just before it
 * commits. The store's counters never go below zero: each change is
 * max(0, v + delta), and a run of such changes is kept as the pair
 * (sum, floor) meaning max(floor, v + sum), which gives the same value
 * as applying the changes one by one.
 */
#ifndef STORE_COUNTS_H
#define STORE_COUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct counts;

/* An empty table, or NULL on ENOMEM. */
struct counts *counts_new(void);

/* NULL-safe; sets *CP to NULL. */
void counts_destroy(struct counts **cp);

/* Forget every change (a transaction ended); keeps the memory. */
void counts_reset(struct counts *c);

/*
 * Add DELTA to counter KEY (LEN bytes, 1 to COUNTS_MAX_KEY). *FRESH
 * (may be NULL) says whether KEY is new in this table. 0, EINVAL for an
 * empty key or one too long, or ENOMEM (the table is unchanged).
 */
#define COUNTS_MAX_KEY 511
int counts_add(struct counts *c, const char *key, size_t len, int64_t delta,
	       bool *fresh);

/* Number of distinct keys changed. */
size_t counts_size(const struct counts *c);

/* The value counter KEY takes when it was CUR before the changes. */
uint64_t counts_apply(int64_t sum, uint64_t floor, uint64_t cur);

/*
 * Call FN(ctx, key, len, sum, floor) for every key, in LMDB's default
 * key order (bytewise, a prefix first); the new value of a counter that
 * was CUR is counts_apply(sum, floor, CUR). Stops at the first FN that
 * returns non-zero and returns that. ENOMEM when the sort needs memory
 * it cannot get.
 */
int counts_each(struct counts *c,
		int (*fn)(void *ctx, const char *key, size_t len,
			  int64_t sum, uint64_t floor),
		void *ctx);

#endif /* STORE_COUNTS_H */
