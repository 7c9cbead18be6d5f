/*
 * report - what crashed, what is new, what is rising and whom to call,
 * over a period of days, from the store's counters.
 *
 * A report reads the aggregated daily counters and the bucket records the
 * store keeps (store.h), never every dump record: only the few sample
 * dumps of the buckets it lists. Its content is one JSON object of the
 * schema in docs/report-schema.md (report_to_json); every form (text,
 * JSON, and the forms of forms.h) renders that object.
 */
#ifndef REPORTS_REPORT_H
#define REPORTS_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct diag;
struct owners;
struct report;
struct store;

#define REPORT_DEFAULT_TOP 10
#define REPORT_MAX_TOP 1000
#define REPORT_MAX_DAYS 3660      /* longest period, ten years */
#define REPORT_SCHEMA_VERSION 2
#define REPORT_HISTORY_DAYS 28    /* trend history before the period */
#define REPORT_MAX_DAILY 90       /* sparkline points per bucket */

struct report_opts {
	unsigned top;             /* buckets to list; 0: REPORT_DEFAULT_TOP */
	bool has_since, has_until;
	int64_t since, until;     /* days since 1970-01-01 (report_day_parse) */
	unsigned days;            /* period length; 0: not given */
	const char *batch;        /* only this batch; NULL or "": all */
	const struct owners *owners; /* NULL: the built-in table */
	uint64_t now;             /* Unix seconds; 0: the clock (tests fix it) */
};

/*
 * Parse "YYYY-MM-DD" into days since 1970-01-01. False when S is not a
 * real calendar date.
 */
bool report_day_parse(const char *s, int64_t *day);

/* Day number DAY as "YYYY-MM-DD". */
void report_day_format(int64_t day, char out[11]);

/*
 * Build a report from S. DF_OK; DF_EUSAGE when the options name no valid
 * period (until before since, all of --since/--until/--days given, longer
 * than REPORT_MAX_DAYS); other DF_E* codes with D filled.
 */
int report_build(struct report **out, struct store *s,
		 const struct report_opts *o, struct diag *d);

void report_destroy(struct report **rp);

/* The report's JSON object (schema 2); the caller owns the reference. */
json_t *report_to_json(const struct report *r);

/* Totals, for tests and exit codes. */
uint64_t report_dumps(const struct report *r);
uint64_t report_errors(const struct report *r);

/* The period's last day, "YYYY-MM-DD" (names nightly files). */
const char *report_until(const struct report *r);

/* The JSON form. DF_OK or DF_EIO. */
int report_write_json(FILE *out, const struct report *r);

/*
 * The trend test of docs/report-schema.md: Z for COUNT against expected
 * count LAMBDA (raised to 0.5 when lower); +1 rising, -1 falling, 0 not
 * flagged.
 */
int report_trend(uint64_t count, double lambda, double *z);

#endif /* REPORTS_REPORT_H */
