/*
 * agg - counts by name over three windows, for building reports.
 *
 * A report adds up daily counters into rows keyed by a counter key's
 * component (a bugcheck code, a module, a bucket hash): the count in the
 * report's period, in the previous window of the same length and in the
 * trend history. Rows are kept in insertion order and found by hash, so
 * adding up a million daily counters stays linear.
 */
#ifndef REPORTS_AGG_H
#define REPORTS_AGG_H

#include <stddef.h>
#include <stdint.h>

struct agg;

struct agg_row {
	char *key;       /* owned by the agg */
	uint64_t cur;    /* in the period */
	uint64_t prev;   /* in the previous window */
	uint64_t hist;   /* in the trend history */
	char *label;     /* display text when it differs from key; owned */
};

struct agg *agg_new(void);
void agg_destroy(struct agg **ap);

/* The row for KEY (LEN bytes), created with zero counts; NULL: no memory. */
struct agg_row *agg_get(struct agg *a, const char *key, size_t len);

/* The row for KEY, or NULL. */
const struct agg_row *agg_find(const struct agg *a, const char *key);

/* Give R (a row of A) the display text LABEL (copied). DF_OK or DF_ENOMEM. */
int agg_row_label(struct agg_row *r, const char *label);

/* Rows in insertion order: agg_row_at(a, 0 .. agg_len(a) - 1). */
size_t agg_len(const struct agg *a);
struct agg_row *agg_row_at(const struct agg *a, size_t i);

#endif /* REPORTS_AGG_H */
