/*
 * report - frequencies and top buckets from the store's counters.
 *
 * The report reads the aggregated counters and bucket records the store
 * keeps, never every dump record: totals (dumps, distinct dumps, buckets,
 * errors), bugcheck frequency (code, name, count, share of bugchecked
 * dumps), exception frequency for user-mode dumps, pattern frequency and
 * the top buckets by count. Text and JSON forms.
 */
#ifndef REPORTS_REPORT_H
#define REPORTS_REPORT_H

#include <stdint.h>
#include <stdio.h>

struct diag;
struct report;
struct store;

#define REPORT_DEFAULT_TOP 10
#define REPORT_SCHEMA_VERSION 1

struct report_opts {
	unsigned top;   /* buckets to list, default REPORT_DEFAULT_TOP */
};

/* Build a report from S. DF_OK or a DF_E* code with D filled. */
int report_build(struct report **out, struct store *s,
		 const struct report_opts *o, struct diag *d);

void report_destroy(struct report **rp);

/* Totals, for tests and exit codes. */
uint64_t report_dumps(const struct report *r);
uint64_t report_errors(const struct report *r);

/*
 * Aligned text for a terminal of WIDTH columns (0: 100). Names from dumps
 * are written with control characters escaped.
 */
void report_write_text(FILE *out, const struct report *r, unsigned width);

/* The JSON form (see docs/report-schema.md). DF_OK or DF_ENOMEM. */
int report_write_json(FILE *out, const struct report *r);

#endif /* REPORTS_REPORT_H */
