#include "report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis_json.h"
#include "analysis_text.h"
#include "bugcheck.h"
#include "df.h"
#include "diag.h"
#include "registry.h"
#include "store.h"

struct row {
	char key[72];     /* code as "0x%08X", or pattern id */
	uint64_t count;
	uint64_t confident; /* patterns: findings of STORE_CONFIDENT or more */
};

struct bucket_row {
	char hash[24];
	char *signature;
	char *blame;
	uint64_t count;
	uint64_t first_seen, last_seen;
	bool has_bugcheck;
	uint32_t bugcheck;
	bool has_exception;
	uint32_t exception;
	bool low_trust;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

struct report {
	uint64_t dumps, distinct, buckets, errors, failed;
	struct rows bugchecks, exceptions, patterns, formats;
	struct bucket_row *top;
	size_t ntop, topcap;
};

static int rows_add(struct rows *r, const char *key, uint64_t count)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 32;
		struct row *nv = realloc(r->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return DF_ENOMEM;
		r->v = nv;
		r->cap = ncap;
	}
	snprintf(r->v[r->n].key, sizeof(r->v[r->n].key), "%s", key);
	r->v[r->n].count = count;
	r->v[r->n].confident = 0;
	r->n++;
	return DF_OK;
}

struct scan_ctx {
	struct rows *rows;
	size_t skip;   /* prefix length to strip */
	int rc;
};

static int scan_row(void *ctx, const char *key, uint64_t v)
{
	struct scan_ctx *c = ctx;

	c->rc = rows_add(c->rows, key + c->skip, v);
	return c->rc != DF_OK;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int load_rows(struct store *s, const char *prefix, struct rows *rows,
		     struct diag *d)
{
	struct scan_ctx c = { rows, strlen(prefix), DF_OK };
	int rc = store_counters_scan(s, prefix, scan_row, &c, d);

	if (rc == DF_OK)
		rc = c.rc;
	if (rc == DF_OK && rows->n > 1)
		qsort(rows->v, rows->n, sizeof(*rows->v), cmp_row);
	return rc;
}

/* Keep the TOP largest buckets (a bounded insertion list). */
struct top_ctx {
	struct report *r;
	unsigned top;
	int rc;
};

static bool bucket_before(const struct bucket_row *a, const store_bucket *b)
{
	if (a->count != b->count)
		return a->count > b->count;
	return strcmp(a->hash, b->signature_hash) < 0;
}

static void bucket_row_free(struct bucket_row *b)
{
	free(b->signature);
	free(b->blame);
}

static int top_add(void *ctx, const store_bucket *b)
{
	struct top_ctx *c = ctx;
	struct report *r = c->r;
	size_t pos = r->ntop;

	while (pos > 0 && !bucket_before(&r->top[pos - 1], b))
		pos--;
	if (pos >= c->top)
		return 0;
	if (r->ntop == c->top) {
		bucket_row_free(&r->top[r->ntop - 1]);
		r->ntop--;
	}
	memmove(&r->top[pos + 1], &r->top[pos],
		(r->ntop - pos) * sizeof(*r->top));
	r->ntop++;
	struct bucket_row *row = &r->top[pos];

	memset(row, 0, sizeof(*row));
	snprintf(row->hash, sizeof(row->hash), "%s", b->signature_hash);
	row->signature = utf8_sanitize(b->signature);
	row->blame = utf8_sanitize(b->blame_module);
	row->count = b->count;
	row->first_seen = b->first_seen;
	row->last_seen = b->last_seen;
	row->has_bugcheck = b->has_bugcheck;
	row->bugcheck = b->bugcheck_code;
	row->has_exception = b->has_exception;
	row->exception = b->exception_code;
	row->low_trust = b->low_trust;
	if (row->signature == NULL || row->blame == NULL) {
		c->rc = DF_ENOMEM;
		return 1;
	}
	return 0;
}

int report_build(struct report **out, struct store *s,
		 const struct report_opts *o, struct diag *d)
{
	struct report *r = calloc(1, sizeof(*r));
	unsigned top = o != NULL && o->top > 0 ? o->top : REPORT_DEFAULT_TOP;
	int rc;

	*out = NULL;
	if (r == NULL)
		return diag_fail(d, DF_ENOMEM, "no memory for the report");
	r->top = calloc(top + 1, sizeof(*r->top));
	rc = r->top != NULL ? DF_OK : DF_ENOMEM;
	if (rc == DF_OK)
		rc = store_counter_get(s, "t/dumps", &r->dumps, d);
	if (rc == DF_OK)
		rc = store_counter_get(s, "t/distinct", &r->distinct, d);
	if (rc == DF_OK)
		rc = store_counter_get(s, "t/buckets", &r->buckets, d);
	if (rc == DF_OK)
		rc = store_counter_get(s, "t/errors", &r->errors, d);
	if (rc == DF_OK)
		rc = store_counter_get(s, "t/failed", &r->failed, d);
	if (rc == DF_OK)
		rc = load_rows(s, "b/", &r->bugchecks, d);
	if (rc == DF_OK)
		rc = load_rows(s, "e/", &r->exceptions, d);
	if (rc == DF_OK)
		rc = load_rows(s, "p/", &r->patterns, d);
	if (rc == DF_OK)
		rc = load_rows(s, "f/", &r->formats, d);
	for (size_t i = 0; rc == DF_OK && i < r->patterns.n; i++) {
		char key[STORE_MAX_KEY + 1];

		store_counter_key(key, sizeof(key), "pc/", r->patterns.v[i].key);
		rc = store_counter_get(s, key, &r->patterns.v[i].confident, d);
	}
	if (rc == DF_OK) {
		struct top_ctx c = { r, top, DF_OK };

		rc = store_buckets_scan(s, top_add, &c, d);
		if (rc == DF_OK)
			rc = c.rc;
	}
	if (rc != DF_OK) {
		report_destroy(&r);
		return diag_fail(d, rc, "cannot build the report");
	}
	*out = r;
	return DF_OK;
}

void report_destroy(struct report **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	struct report *r = *rp;

	free(r->bugchecks.v);
	free(r->exceptions.v);
	free(r->patterns.v);
	free(r->formats.v);
	for (size_t i = 0; r->top != NULL && i < r->ntop; i++)
		bucket_row_free(&r->top[i]);
	free(r->top);
	free(r);
	*rp = NULL;
}

uint64_t report_dumps(const struct report *r)
{
	return r->dumps;
}

uint64_t report_errors(const struct report *r)
{
	return r->errors + r->failed;
}

/* ---- shared helpers ---------------------------------------------------- */

static uint64_t rows_total(const struct rows *r)
{
	uint64_t t = 0;

	for (size_t i = 0; i < r->n; i++)
		t += r->v[i].count;
	return t;
}

static const char *code_name(const char *key, bool bugcheck)
{
	unsigned long v = strtoul(key, NULL, 16);

	if (bugcheck)
		return bugcheck_display_name((uint32_t)v);
	const char *n = exception_name((uint32_t)v);

	return n != NULL ? n : "unknown exception";
}

static const char *pattern_title(const char *id)
{
	const struct detector *det = detect_find(id);

	return det != NULL ? det->title : "";
}

static void day_text(uint64_t t, char out[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- text ---------------------------------------------------------------- */

static void text_codes(FILE *out, const char *title, const struct rows *rows,
		       bool bugcheck)
{
	uint64_t total = rows_total(rows);

	if (rows->n == 0)
		return;
	fprintf(out, "\n%s\n", title);
	fprintf(out, "  %-10s  %-44s %7s %7s\n", "code", "name", "count",
		"share");
	for (size_t i = 0; i < rows->n; i++) {
		const struct row *w = &rows->v[i];

		fprintf(out, "  %-10s  %-44.44s %7" PRIu64 " %6.1f%%\n", w->key,
			code_name(w->key, bugcheck), w->count,
			total ? 100.0 * (double)w->count / (double)total : 0.0);
	}
}

static void text_patterns(FILE *out, const struct report *r)
{
	if (r->patterns.n == 0)
		return;
	fprintf(out, "\nPatterns\n  %-28s %7s %7s %9s  %s\n", "pattern",
		"count", "share", "confident", "title");
	for (size_t i = 0; i < r->patterns.n; i++) {
		const struct row *w = &r->patterns.v[i];

		fprintf(out, "  %-28s %7" PRIu64 " %6.1f%% %9" PRIu64 "  %s\n",
			w->key, w->count,
			r->distinct ? 100.0 * (double)w->count /
					      (double)r->distinct
				    : 0.0,
			w->confident, pattern_title(w->key));
	}
}

/*
 * Write signature SIG indented by INDENT, breaking lines at " | " so that
 * no line passes WIDTH columns unless one frame alone is longer.
 */
static void text_wrapped(FILE *out, const char *sig, unsigned indent,
			 unsigned width)
{
	unsigned col = indent;
	const char *p = sig;

	fprintf(out, "%*s", (int)indent, "");
	while (*p) {
		const char *sep = strstr(p, " | ");
		size_t n = sep != NULL ? (size_t)(sep - p) + 3 : strlen(p);
		char part[512];

		if (col > indent && col + n > width) {
			fprintf(out, "\n%*s", (int)indent + 2, "");
			col = indent + 2;
		}
		snprintf(part, sizeof(part), "%.*s", (int)(n < 511 ? n : 511), p);
		text_put_safe(out, part);
		col += (unsigned)n;
		p += n;
	}
	fputc('\n', out);
}

static void text_buckets(FILE *out, const struct report *r, unsigned width)
{
	if (r->ntop == 0)
		return;
	fprintf(out, "\nTop stack signatures\n  %-16s %6s  %-10s  %s\n",
		"hash", "count", "last seen", "blamed module");
	for (size_t i = 0; i < r->ntop; i++) {
		const struct bucket_row *b = &r->top[i];
		char day[11];

		day_text(b->last_seen, day);
		fprintf(out, "  %-16s %6" PRIu64 "  %-10s  ", b->hash, b->count,
			day);
		text_put_safe(out, b->blame[0] ? b->blame : "-");
		if (b->low_trust)
			fputs("  (low trust: doubtful stack)", out);
		fputc('\n', out);
		text_wrapped(out, b->signature, 4, width);
	}
}

void report_write_text(FILE *out, const struct report *r, unsigned width)
{
	if (width == 0)
		width = 100;
	fprintf(out, "dumpfleet report\n\nTotals\n");
	fprintf(out, "  %-18s %" PRIu64 "\n", "dumps", r->dumps);
	fprintf(out, "  %-18s %" PRIu64 "\n", "distinct dumps", r->distinct);
	fprintf(out, "  %-18s %" PRIu64 "\n", "buckets", r->buckets);
	fprintf(out, "  %-18s %" PRIu64 "\n", "errors",
		r->errors + r->failed);
	for (size_t i = 0; i < r->formats.n; i++)
		fprintf(out, "  %-18s %" PRIu64 "\n", r->formats.v[i].key,
			r->formats.v[i].count);
	text_codes(out, "Bugchecks", &r->bugchecks, true);
	text_codes(out, "Exceptions (user mode)", &r->exceptions, false);
	text_patterns(out, r);
	text_buckets(out, r, width);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *json_codes(const struct rows *rows, bool bugcheck)
{
	json_t *arr = json_array();
	uint64_t total = rows_total(rows);

	for (size_t i = 0; i < rows->n; i++) {
		const struct row *w = &rows->v[i];
		json_t *o = json_object();

		json_object_set_new(o, "code", json_string(w->key));
		json_object_set_new(o, "name",
				    json_string(code_name(w->key, bugcheck)));
		json_object_set_new(o, "count",
				    json_integer((json_int_t)w->count));
		json_object_set_new(o, "share",
				    json_real(total ? (double)w->count /
							      (double)total
						    : 0.0));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *json_patterns(const struct report *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->patterns.n; i++) {
		json_t *o = json_object();
		const struct row *w = &r->patterns.v[i];

		json_object_set_new(o, "pattern", json_string(w->key));
		json_object_set_new(o, "title",
				    json_string(pattern_title(w->key)));
		json_object_set_new(o, "count",
				    json_integer((json_int_t)w->count));
		json_object_set_new(o, "confident",
				    json_integer((json_int_t)w->confident));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *json_buckets(const struct report *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->ntop; i++) {
		const struct bucket_row *b = &r->top[i];
		json_t *o = json_object();
		char day[11], code[16];

		json_object_set_new(o, "hash", json_string(b->hash));
		json_object_set_new(o, "signature", json_string(b->signature));
		json_object_set_new(o, "count",
				    json_integer((json_int_t)b->count));
		json_object_set_new(o, "blame_module",
				    b->blame[0] ? json_string(b->blame)
						: json_null());
		json_object_set_new(o, "low_trust", json_boolean(b->low_trust));
		if (b->has_bugcheck) {
			snprintf(code, sizeof(code), "0x%08X", b->bugcheck);
			json_object_set_new(o, "bugcheck", json_string(code));
		}
		if (b->has_exception) {
			snprintf(code, sizeof(code), "0x%08X", b->exception);
			json_object_set_new(o, "exception_code",
					    json_string(code));
		}
		day_text(b->first_seen, day);
		json_object_set_new(o, "first_seen", json_string(day));
		day_text(b->last_seen, day);
		json_object_set_new(o, "last_seen", json_string(day));
		json_array_append_new(arr, o);
	}
	return arr;
}

int report_write_json(FILE *out, const struct report *r)
{
	json_t *o = json_object();
	json_t *totals = json_object();
	json_t *formats = json_object();

	json_object_set_new(o, "schema_version",
			    json_integer(REPORT_SCHEMA_VERSION));
	json_object_set_new(totals, "dumps", json_integer((json_int_t)r->dumps));
	json_object_set_new(totals, "distinct",
			    json_integer((json_int_t)r->distinct));
	json_object_set_new(totals, "buckets",
			    json_integer((json_int_t)r->buckets));
	json_object_set_new(totals, "errors",
			    json_integer((json_int_t)(r->errors + r->failed)));
	for (size_t i = 0; i < r->formats.n; i++)
		json_object_set_new(formats, r->formats.v[i].key,
				    json_integer((json_int_t)r->formats.v[i].count));
	json_object_set_new(totals, "formats", formats);
	json_object_set_new(o, "totals", totals);
	json_object_set_new(o, "bugchecks", json_codes(&r->bugchecks, true));
	json_object_set_new(o, "exceptions", json_codes(&r->exceptions, false));
	json_object_set_new(o, "patterns", json_patterns(r));
	json_object_set_new(o, "buckets", json_buckets(r));
	int rc = json_dumpf(o, out, JSON_INDENT(2)) == 0 ? DF_OK : DF_ENOMEM;

	fputc('\n', out);
	json_decref(o);
	return rc;
}
