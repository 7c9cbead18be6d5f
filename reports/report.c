#include "report.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agg.h"
#include "analysis_json.h"
#include "baseline.h"
#include "bugcheck.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "owners.h"
#include "registry.h"
#include "store.h"

#define MAX_BATCHES 50
#define MAX_NEW 50
#define MAX_TRENDS 20
#define MAX_MODULES 50
#define MAX_SPRAY 20
#define MAX_EXAMPLES 5
#define MAX_OS 5
#define MAX_CODES 200          /* bugchecks, exceptions */
#define MAX_PATTERNS 100       /* patterns, a bucket's pattern mix */
#define MAX_NAMES 20           /* formats, hypervisors */
#define SPRAY_MIN_BUCKETS 5
#define SPRAY_SMALL 2          /* a bucket with at most this many is small */
#define TREND_MIN_COUNT 5
#define TREND_MIN_LAMBDA 5.0
#define TREND_Z 3.0
#define NAME_MAX_LEN 512

struct report {
	json_t *root;
	uint64_t dumps, errors;
	char until[11];
};

/* ---- days ----------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool parse_digits(const char *s, size_t n, unsigned *out)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*out = *out * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/* "YYYYMMDD" (compact, as counter keys write days) or "YYYY-MM-DD". */
static bool day_parse(const char *s, bool dashes, int64_t *day)
{
	unsigned y, m, d;
	size_t mo = dashes ? 5 : 4, dd = dashes ? 8 : 6;

	if (!parse_digits(s, 4, &y) || !parse_digits(s + mo, 2, &m) ||
	    !parse_digits(s + dd, 2, &d) || m < 1 || m > 12 || d < 1)
		return false;
	if (dashes && (s[4] != '-' || s[7] != '-' || s[10] != '\0'))
		return false;
	int64_t v = days_from_civil(y, m, d);
	int64_t yy;
	unsigned mm, dd2;

	civil_from_days(v, &yy, &mm, &dd2);
	if (mm != m || dd2 != d) /* 2025-02-30 */
		return false;
	*day = v;
	return true;
}

bool report_day_parse(const char *s, int64_t *day)
{
	return s != NULL && strlen(s) == 10 && day_parse(s, true, day);
}

void report_day_format(int64_t day, char out[11])
{
	int64_t y;
	unsigned m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(y % 10000), m % 100,
		 d % 100);
}

static void day_compact(int64_t day, char out[9])
{
	int64_t y;
	unsigned m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(out, 9, "%04u%02u%02u", (unsigned)(y % 10000), m % 100,
		 d % 100);
}

/* ---- the trend rule ------------------------------------------------------- */

int report_trend(uint64_t count, double lambda, double *z)
{
	if (lambda < 0.5)
		lambda = 0.5;
	*z = ((double)count - lambda) / sqrt(lambda);
	if (count >= TREND_MIN_COUNT && *z >= TREND_Z)
		return 1;
	if (lambda >= TREND_MIN_LAMBDA && *z <= -TREND_Z)
		return -1;
	return 0;
}

/* ---- building: the period and the daily counters ------------------------- */

enum cat { C_T, C_B, C_E, C_P, C_PC, C_F, C_M, C_HV, C_K, C_X, C_COUNT };

/* Counter key prefixes after "d/YYYYMMDD/", one table per category. */
static const char *const cat_prefix[C_COUNT] = {
	[C_T] = "t/", [C_B] = "b/", [C_E] = "e/", [C_P] = "p/",
	[C_PC] = "pc/", [C_F] = "f/", [C_M] = "m/", [C_HV] = "hv/",
	[C_K] = "k/", [C_X] = "x/",
};

struct build {
	struct store *s;
	const struct report_opts *o;
	const struct owners *owners;
	struct diag *d;
	int64_t since, until, prev_since, prev_until, hist_since;
	double hist_windows;      /* history length over period length */
	char base[128];           /* "d/" or "g/<batch>/d/" */
	size_t baselen;
	char batch_key[96];       /* "" or the batch's key component */
	struct agg *cat[C_COUNT];
	char day_str[9];          /* cache: the last day parsed */
	int64_t day;
	uint64_t distinct, dumps, bugchecked, prev_bugchecked;
	int rc;
};

static int first_day_cb(void *ctx, const char *key, uint64_t v)
{
	struct build *b = ctx;
	int64_t day;

	(void)v;
	if (strlen(key) >= b->baselen + 8 &&
	    day_parse(key + b->baselen, false, &day))
		b->since = day;
	return 1;
}

/* Resolve since/until from the options; DF_EUSAGE when they conflict. */
static int resolve_period(struct build *b, int64_t today)
{
	const struct report_opts *o = b->o;
	int given = o->has_since + o->has_until + (o->days > 0);

	if (given == 3)
		return diag_fail(b->d, DF_EUSAGE,
				 "give at most two of --since, --until, --days");
	if (o->has_since && o->has_until) {
		b->since = o->since;
		b->until = o->until;
	} else if (o->days > 0) {
		b->until = o->has_since ? o->since + o->days - 1
					: o->has_until ? o->until : today;
		b->since = b->until - o->days + 1;
	} else {
		b->until = o->has_until ? o->until : today;
		b->since = b->until;
		if (o->has_since) {
			b->since = o->since;
		} else {
			int rc = store_counters_scan(b->s, b->base, first_day_cb,
						     b, b->d);

			if (rc != DF_OK)
				return rc;
		}
		if (b->until < b->since) /* data newer than the clock */
			b->until = o->has_since ? today : b->since;
	}
	if (b->until < b->since)
		return diag_fail(b->d, DF_EUSAGE, "--until is before --since");
	if (b->until - b->since + 1 > REPORT_MAX_DAYS)
		return diag_fail(b->d, DF_EUSAGE, "a period of at most %d days",
				 REPORT_MAX_DAYS);
	int64_t len = b->until - b->since + 1;

	b->prev_until = b->since - 1;
	b->prev_since = b->since - len;
	/*
	 * History: whole windows of the period's length within the 28 days
	 * before it; a period longer than that compares with 28 days scaled.
	 */
	if (len <= REPORT_HISTORY_DAYS) {
		int64_t w = REPORT_HISTORY_DAYS / len;

		b->hist_since = b->since - w * len;
		b->hist_windows = (double)w;
	} else {
		b->hist_since = b->since - REPORT_HISTORY_DAYS;
		b->hist_windows = (double)REPORT_HISTORY_DAYS / (double)len;
	}
	return DF_OK;
}

static int daily_cb(void *ctx, const char *key, uint64_t v)
{
	struct build *b = ctx;
	const char *p = key + b->baselen;

	if (strlen(key) < b->baselen + 10 || p[8] != '/')
		return 0;
	if (memcmp(p, b->day_str, 8) != 0) {
		int64_t day;

		if (!day_parse(p, false, &day))
			return 0;
		memcpy(b->day_str, p, 8);
		b->day = day;
	}
	bool cur = b->day >= b->since && b->day <= b->until;
	bool prev = b->day >= b->prev_since && b->day <= b->prev_until;
	bool hist = b->day >= b->hist_since && b->day < b->since;

	p += 9;
	for (int c = 0; c < C_COUNT; c++) {
		size_t n = strlen(cat_prefix[c]);

		if (strncmp(p, cat_prefix[c], n) != 0)
			continue;
		struct agg_row *r = agg_get(b->cat[c], p + n, strlen(p + n));

		if (r == NULL) {
			b->rc = DF_ENOMEM;
			return 1;
		}
		r->cur += cur ? v : 0;
		r->prev += prev ? v : 0;
		r->hist += hist ? v : 0;
		break;
	}
	return 0;
}

static int scan_daily(struct build *b)
{
	char from[160], to[160], lo[9], hi[9];
	int64_t first = b->prev_since < b->hist_since ? b->prev_since
						      : b->hist_since;

	day_compact(first, lo);
	day_compact(b->until + 1, hi);
	snprintf(from, sizeof(from), "%s%s/", b->base, lo);
	snprintf(to, sizeof(to), "%s%s/", b->base, hi);
	int rc = store_counters_range(b->s, from, to, daily_cb, b, b->d);

	return rc != DF_OK ? rc : b->rc;
}

static uint64_t cur_of(const struct build *b, enum cat c, const char *key)
{
	const struct agg_row *r = agg_find(b->cat[c], key);

	return r != NULL ? r->cur : 0;
}

/* ---- JSON helpers --------------------------------------------------------- */

static json_t *jint(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* A string from a dump: valid UTF-8, or null. */
static json_t *jtext(const char *s)
{
	if (s == NULL)
		return json_null();
	char *clean = utf8_sanitize(s);
	json_t *j = clean != NULL ? json_string(clean) : NULL;

	free(clean);
	return j;
}

/* A key component as its text: hashed ones ("#hex") looked up. */
static json_t *jname(struct build *b, const char *component)
{
	char text[NAME_MAX_LEN];
	struct diag d;

	diag_init(&d);
	if (component[0] == '#' &&
	    store_name_get(b->s, component, text, sizeof(text), &d) == DF_OK)
		return jtext(text);
	return jtext(component);
}

static json_t *jshare(uint64_t n, uint64_t total)
{
	return json_real(total ? (double)n / (double)total : 0.0);
}

static json_t *jcode(bool has, uint32_t code)
{
	char s[16];

	if (!has)
		return json_null();
	snprintf(s, sizeof(s), "0x%08X", code);
	return json_string(s);
}

/* Set KEY of O to V; false (and V freed) when V is NULL or on ENOMEM. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

static bool append(json_t *a, json_t *v)
{
	return v != NULL && json_array_append_new(a, v) == 0;
}

/* Rows of category C with a period or previous count, sorted. */
static int cmp_rows(const void *x, const void *y)
{
	const struct agg_row *a = *(const struct agg_row *const *)x;
	const struct agg_row *c = *(const struct agg_row *const *)y;

	if (a->cur != c->cur)
		return a->cur < c->cur ? 1 : -1;
	return strcmp(a->key, c->key);
}

static struct agg_row **sorted_rows(const struct agg *a, size_t *n,
				    bool with_prev)
{
	size_t len = agg_len(a), k = 0;
	struct agg_row **v = malloc((len + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		struct agg_row *r = agg_row_at(a, i);

		if (r->cur > 0 || (with_prev && r->prev > 0))
			v[k++] = r;
	}
	qsort(v, k, sizeof(*v), cmp_rows);
	*n = k;
	return v;
}

/* ---- sections ------------------------------------------------------------- */

static json_t *period_json(const struct build *b)
{
	json_t *o = json_object();
	char day[11];

	if (o == NULL)
		return NULL;
	report_day_format(b->since, day);
	put(o, "since", json_string(day));
	report_day_format(b->until, day);
	put(o, "until", json_string(day));
	put(o, "days", jint((uint64_t)(b->until - b->since + 1)));
	report_day_format(b->prev_since, day);
	put(o, "previous_since", json_string(day));
	report_day_format(b->prev_until, day);
	put(o, "previous_until", json_string(day));
	put(o, "batch", b->o->batch != NULL && b->o->batch[0]
				? jtext(b->o->batch)
				: json_null());
	return o;
}

/* Jobs failed (or quarantined) on a day of the period, in its scope. */
static uint64_t failures(struct build *b, const char *what)
{
	return cur_of(b, C_T, what);
}

static json_t *totals_json(struct build *b, uint64_t nbuckets)
{
	json_t *o = json_object(), *formats = json_object();
	size_t n = 0;
	struct agg_row **rows = sorted_rows(b->cat[C_F], &n, false);

	if (o == NULL || formats == NULL || rows == NULL) {
		json_decref(o);
		json_decref(formats);
		free(rows);
		return NULL;
	}
	put(o, "dumps", jint(b->dumps));
	put(o, "distinct", jint(b->distinct));
	put(o, "buckets", jint(nbuckets));
	put(o, "errors", jint(cur_of(b, C_T, "errors")));
	put(o, "failed", jint(failures(b, "failed")));
	put(o, "quarantined", jint(failures(b, "quarantined")));
	for (size_t i = 0; i < n && i < MAX_NAMES; i++) {
		json_t *name = jname(b, rows[i]->key);

		if (name != NULL)
			json_object_set_new(formats, json_string_value(name),
					    jint(rows[i]->cur));
		json_decref(name);
	}
	free(rows);
	put(o, "formats", formats);
	return o;
}

struct batch_row {
	char key[96];
	uint64_t dumps, distinct, errors, failed;
};

static int cmp_batch(const void *x, const void *y)
{
	const struct batch_row *a = x, *c = y;

	if (a->dumps != c->dumps)
		return a->dumps < c->dumps ? 1 : -1;
	return strcmp(a->key, c->key);
}

static json_t *batch_json(struct build *b, const struct batch_row *r,
			  bool other)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	put(o, "batch", other ? json_null() : jname(b, r->key));
	put(o, "dumps", jint(r->dumps));
	put(o, "distinct", jint(r->distinct));
	put(o, "errors", jint(r->errors));
	put(o, "failed", jint(r->failed));
	if (other)
		put(o, "other", json_true());
	return o;
}

/* Rows "x/<batch>/<what>" of the daily scan, gathered per batch. */
static json_t *batches_json(struct build *b)
{
	const struct agg *x = b->cat[C_X];
	struct batch_row *v = calloc(agg_len(x) + 1, sizeof(*v));
	size_t n = 0;
	json_t *arr = json_array();

	if (v == NULL || arr == NULL) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < agg_len(x); i++) {
		const struct agg_row *r = agg_row_at(x, i);
		const char *slash = strrchr(r->key, '/');
		size_t klen = slash != NULL ? (size_t)(slash - r->key) : 0;
		size_t j;

		if (slash == NULL || klen >= sizeof(v[0].key) || r->cur == 0)
			continue;
		for (j = 0; j < n; j++)
			if (strncmp(v[j].key, r->key, klen) == 0 &&
			    v[j].key[klen] == '\0')
				break;
		if (j == n)
			snprintf(v[n++].key, sizeof(v[0].key), "%.*s", (int)klen,
				 r->key);
		if (strcmp(slash + 1, "dumps") == 0)
			v[j].dumps += r->cur;
		else if (strcmp(slash + 1, "distinct") == 0)
			v[j].distinct += r->cur;
		else if (strcmp(slash + 1, "errors") == 0)
			v[j].errors += r->cur;
		else if (strcmp(slash + 1, "failed") == 0)
			v[j].failed += r->cur;
	}
	qsort(v, n, sizeof(*v), cmp_batch);
	struct batch_row other = { "", 0, 0, 0, 0 };

	for (size_t j = 0; j < n; j++) {
		if (j < MAX_BATCHES) {
			append(arr, batch_json(b, &v[j], false));
			continue;
		}
		other.dumps += v[j].dumps;
		other.distinct += v[j].distinct;
		other.errors += v[j].errors;
		other.failed += v[j].failed;
	}
	if (n > MAX_BATCHES)
		append(arr, batch_json(b, &other, true));
	free(v);
	return arr;
}

/* The filtered batch alone: its totals are the report's. */
static json_t *one_batch_json(struct build *b)
{
	struct batch_row r = { "", b->dumps, b->distinct,
			       cur_of(b, C_T, "errors"),
			       failures(b, "failed") };
	json_t *arr = json_array();

	snprintf(r.key, sizeof(r.key), "%s", b->batch_key);
	if (arr != NULL && b->dumps + b->distinct > 0)
		append(arr, batch_json(b, &r, false));
	return arr;
}

static const char *code_name(uint32_t code, bool bugcheck)
{
	if (bugcheck)
		return bugcheck_display_name(code);
	const char *n = exception_name(code);

	return n != NULL ? n : "unknown exception";
}

static uint64_t prev_total(const struct agg *a)
{
	uint64_t t = 0;

	for (size_t i = 0; i < agg_len(a); i++)
		t += agg_row_at(a, i)->prev;
	return t;
}

static uint64_t cur_total(const struct agg *a)
{
	uint64_t t = 0;

	for (size_t i = 0; i < agg_len(a); i++)
		t += agg_row_at(a, i)->cur;
	return t;
}

static json_t *code_json(const struct agg_row *r, uint64_t total,
			 uint64_t ptotal, bool bugcheck)
{
	json_t *o = json_object();
	uint32_t code = (uint32_t)strtoul(r->key, NULL, 16);
	double bs;

	if (o == NULL)
		return NULL;
	put(o, "code", jtext(r->key));
	put(o, "name", json_string(code_name(code, bugcheck)));
	if (bugcheck) {
		const char *cat = bugcheck_category(code);

		if (cat == NULL)
			cat = bugcheck_category(bugcheck_base_code(code));
		put(o, "category", cat != NULL ? json_string(cat) : json_null());
	}
	put(o, "count", jint(r->cur));
	put(o, "share", jshare(r->cur, total));
	put(o, "previous_count", jint(r->prev));
	if (!bugcheck)
		return o;
	put(o, "change", ptotal > 0 ? json_real((total ? (double)r->cur /
								  (double)total
							: 0.0) -
						(double)r->prev /
							(double)ptotal)
				    : json_null());
	put(o, "baseline_share",
	    baseline_share(code, &bs) ? json_real(bs) : json_null());
	return o;
}

/* Bugchecks or exceptions with a count now or in the previous window. */
static json_t *codes_json(struct build *b, enum cat c)
{
	size_t n = 0;
	struct agg_row **rows = sorted_rows(b->cat[c], &n, true);
	uint64_t total = cur_total(b->cat[c]), ptotal = prev_total(b->cat[c]);
	json_t *arr = json_array();

	if (rows == NULL || arr == NULL) {
		free(rows);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n && i < MAX_CODES; i++)
		append(arr, code_json(rows[i], total, ptotal, c == C_B));
	free(rows);
	return arr;
}

static const char *pattern_title(const char *id)
{
	const struct detector *det = detect_find(id);

	return det != NULL ? det->title : "";
}

static json_t *patterns_json(struct build *b)
{
	size_t n = 0;
	struct agg_row **rows = sorted_rows(b->cat[C_P], &n, false);
	json_t *arr = json_array();

	if (rows == NULL || arr == NULL) {
		free(rows);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n && i < MAX_PATTERNS; i++) {
		json_t *o = json_object();

		if (o == NULL)
			break;
		put(o, "pattern", jname(b, rows[i]->key));
		put(o, "title", json_string(pattern_title(rows[i]->key)));
		put(o, "count", jint(rows[i]->cur));
		put(o, "confident", jint(cur_of(b, C_PC, rows[i]->key)));
		put(o, "share", jshare(rows[i]->cur, b->distinct));
		append(arr, o);
	}
	free(rows);
	return arr;
}

static json_t *virtualization_json(struct build *b)
{
	json_t *o = json_object(), *hv = json_array();
	size_t n = 0;
	struct agg_row **rows = sorted_rows(b->cat[C_HV], &n, false);
	uint64_t virt = cur_of(b, C_P, "virtualized-system");

	if (o == NULL || hv == NULL || rows == NULL) {
		json_decref(o);
		json_decref(hv);
		free(rows);
		return NULL;
	}
	put(o, "virtualized", jint(virt));
	put(o, "share", jshare(virt, b->distinct));
	for (size_t i = 0; i < n && i < MAX_NAMES; i++) {
		json_t *h = json_object();

		if (h == NULL)
			break;
		put(h, "name", jname(b, rows[i]->key));
		put(h, "count", jint(rows[i]->cur));
		append(hv, h);
	}
	free(rows);
	put(o, "hypervisors", hv);
	return o;
}

/* ---- buckets ---------------------------------------------------------------- */

/* What the report keeps of one bucket record it lists. */
struct bucket_info {
	char hash[24];
	char *signature, *blame;
	uint64_t cur, prev, total, first_seen, last_seen;
	bool has_bugcheck, has_exception, low_trust;
	uint32_t bugcheck, exception;
	double expected, z;
	uint8_t samples[STORE_MAX_SAMPLES][HASH_LEN]; /* content hashes */
	size_t nsamples;
};

/* A bounded list of bucket_info, best first by a ranking function. */
struct ranked {
	struct bucket_info *v;
	size_t n, max;
	double (*score)(const struct bucket_info *);
};

static void info_release(struct bucket_info *i)
{
	free(i->signature);
	free(i->blame);
}

static bool ranks_before(const struct ranked *l, const struct bucket_info *a,
			 const struct bucket_info *c)
{
	double sa = l->score(a), sc = l->score(c);

	if (sa != sc)
		return sa > sc;
	return strcmp(a->hash, c->hash) < 0;
}

/* Insert a copy of INFO when it ranks among the best MAX; DF_ENOMEM. */
static int ranked_add(struct ranked *l, const struct bucket_info *info)
{
	size_t pos = l->n;

	while (pos > 0 && !ranks_before(l, &l->v[pos - 1], info))
		pos--;
	if (pos >= l->max)
		return DF_OK;
	if (l->n == l->max)
		info_release(&l->v[--l->n]);
	memmove(&l->v[pos + 1], &l->v[pos], (l->n - pos) * sizeof(*l->v));
	l->n++;
	struct bucket_info *w = &l->v[pos];

	*w = *info;
	w->signature = strdup(info->signature);
	w->blame = strdup(info->blame);
	return w->signature != NULL && w->blame != NULL ? DF_OK : DF_ENOMEM;
}

static void ranked_release(struct ranked *l)
{
	for (size_t i = 0; l->v != NULL && i < l->n; i++)
		info_release(&l->v[i]);
	free(l->v);
}

static double by_count(const struct bucket_info *i)
{
	return (double)i->cur;
}

static double by_z(const struct bucket_info *i)
{
	return fabs(i->z);
}

/* A spray group: small buckets sharing a top frame or blamed module. */
struct spray_group {
	uint64_t buckets, dumps;
	bool frame;
	char examples[MAX_EXAMPLES][24];
};

struct bucket_pass {
	struct build *b;
	struct ranked top, fresh, rising, falling;
	struct agg *spray;          /* "f:<frame>" or "m:<module>" -> index */
	struct spray_group *groups;
	size_t ngroups, capgroups;
	struct agg *mod_buckets;    /* module key -> buckets (in cur) */
	uint64_t nbuckets;
	int rc;
};

/* The top frame of a signature "PREFIX | frame | frame...", or "". */
static size_t top_frame(const char *sig, const char **start)
{
	const char *p = sig != NULL ? strstr(sig, " | ") : NULL;

	if (p == NULL)
		return 0;
	*start = p + 3;
	const char *e = strstr(*start, " | ");

	return e != NULL ? (size_t)(e - *start) : strlen(*start);
}

static int spray_add(struct bucket_pass *p, const store_bucket *bk,
		     uint64_t cur)
{
	char key[STORE_MAX_KEY + 8], comp[STORE_MAX_KEY + 1];
	const char *frame = NULL;
	size_t fl = top_frame(bk->signature, &frame);
	bool is_frame = fl > 0 && fl < 300;

	if (is_frame)
		snprintf(comp, sizeof(comp), "%.*s", (int)fl, frame);
	else if (bk->blame_module != NULL && bk->blame_module[0])
		snprintf(comp, sizeof(comp), "%.300s", bk->blame_module);
	else
		return DF_OK;
	snprintf(key, sizeof(key), "%c:%s", is_frame ? 'f' : 'm', comp);
	struct agg_row *r = agg_get(p->spray, key, strlen(key));

	if (r == NULL)
		return DF_ENOMEM;
	if (r->cur == 0) { /* new group: cur holds its index + 1 */
		if (p->ngroups == p->capgroups) {
			size_t nc = p->capgroups ? p->capgroups * 2 : 64;
			struct spray_group *ng =
				realloc(p->groups, nc * sizeof(*ng));

			if (ng == NULL)
				return DF_ENOMEM;
			p->groups = ng;
			p->capgroups = nc;
		}
		memset(&p->groups[p->ngroups], 0, sizeof(*p->groups));
		p->groups[p->ngroups].frame = is_frame;
		r->cur = ++p->ngroups;
	}
	struct spray_group *g = &p->groups[r->cur - 1];

	if (g->buckets < MAX_EXAMPLES)
		snprintf(g->examples[g->buckets], sizeof(g->examples[0]), "%s",
			 bk->signature_hash);
	g->buckets++;
	g->dumps += cur;
	return DF_OK;
}

static void info_fill(struct bucket_info *i, const store_bucket *bk,
		      const struct agg_row *r)
{
	memset(i, 0, sizeof(*i));
	snprintf(i->hash, sizeof(i->hash), "%s", bk->signature_hash);
	i->signature = bk->signature;
	i->blame = bk->blame_module;
	i->cur = r->cur;
	i->prev = r->prev;
	i->total = bk->count;
	i->first_seen = bk->first_seen;
	i->last_seen = bk->last_seen;
	i->has_bugcheck = bk->has_bugcheck;
	i->bugcheck = bk->bugcheck_code;
	i->has_exception = bk->has_exception;
	i->exception = bk->exception_code;
	i->low_trust = bk->low_trust;
	for (size_t s = 0; s < bk->n_samples && s < STORE_MAX_SAMPLES; s++) {
		if (bk->samples[s].len != HASH_LEN)
			continue;
		memcpy(i->samples[i->nsamples++], bk->samples[s].data, HASH_LEN);
	}
}

/*
 * Debugger logs blame a module by MODULE_NAME ("acmenet"), dumps by its
 * file name ("acmenet.sys"): one driver under two names. The ranking
 * groups names by their stem, the name in lower case without a directory
 * or a .sys/.dll/.exe/.drv ending, and shows the longest spelling.
 */
static void module_stem(const char *name, char *out, size_t size)
{
	static const char *const ends[] = { ".sys", ".dll", ".exe", ".drv" };
	const char *b = name;
	size_t n;

	for (const char *q = name; *q; q++)
		if (*q == '\\' || *q == '/')
			b = q + 1;
	n = strlen(b);
	for (size_t i = 0; i < ARRAY_SIZE(ends); i++)
		if (n > 4 && strcasecmp(b + n - 4, ends[i]) == 0) {
			n -= 4;
			break;
		}
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)b[i]);
	out[n] = '\0';
}

static int module_bucket(struct bucket_pass *p, const char *blame)
{
	char key[NAME_MAX_LEN];

	if (blame == NULL || blame[0] == '\0')
		return DF_OK;
	module_stem(blame, key, sizeof(key));
	struct agg_row *r = agg_get(p->mod_buckets, key, strlen(key));

	if (r == NULL)
		return DF_ENOMEM;
	r->cur++;
	return DF_OK;
}

static int bucket_cb(void *ctx, const store_bucket *bk)
{
	struct bucket_pass *p = ctx;
	struct build *b = p->b;
	const struct agg_row *r = agg_find(b->cat[C_K], bk->signature_hash);
	struct bucket_info info;
	int rc = DF_OK;

	if (r == NULL)
		return 0; /* nothing in any window */
	info_fill(&info, bk, r);
	int64_t first = (int64_t)(bk->first_seen / 86400);

	if (r->cur > 0) {
		p->nbuckets++;
		rc = ranked_add(&p->top, &info);
		if (rc == DF_OK && first >= b->since && first <= b->until)
			rc = ranked_add(&p->fresh, &info);
		if (rc == DF_OK && r->cur <= SPRAY_SMALL)
			rc = spray_add(p, bk, r->cur);
		if (rc == DF_OK)
			rc = module_bucket(p, bk->blame_module);
	}
	if (rc == DF_OK && (r->cur > 0 || r->hist > 0)) {
		info.expected = (double)r->hist / b->hist_windows;
		if (info.expected < 0.5)
			info.expected = 0.5;
		int t = report_trend(r->cur, info.expected, &info.z);

		if (t > 0)
			rc = ranked_add(&p->rising, &info);
		else if (t < 0)
			rc = ranked_add(&p->falling, &info);
	}
	p->rc = rc;
	return rc != DF_OK;
}

static json_t *counts_under(struct build *b, const char *prefix,
			    const char *label, size_t max);

struct under_ctx {
	size_t skip;
	struct agg *rows;
	int rc;
};

static int under_cb(void *ctx, const char *key, uint64_t v)
{
	struct under_ctx *c = ctx;
	struct agg_row *r = agg_get(c->rows, key + c->skip,
				    strlen(key + c->skip));

	if (r == NULL) {
		c->rc = DF_ENOMEM;
		return 1;
	}
	r->cur += v;
	return 0;
}

/* Counters "PREFIX<name>" as [ { LABEL: name, "count" } ], count first. */
static json_t *counts_under(struct build *b, const char *prefix,
			    const char *label, size_t max)
{
	struct under_ctx c = { strlen(prefix), agg_new(), DF_OK };
	json_t *arr = json_array();
	size_t n = 0;
	struct agg_row **rows = NULL;

	if (c.rows != NULL && arr != NULL &&
	    store_counters_scan(b->s, prefix, under_cb, &c, b->d) == DF_OK &&
	    c.rc == DF_OK)
		rows = sorted_rows(c.rows, &n, false);
	for (size_t i = 0; rows != NULL && i < n && i < max; i++) {
		json_t *o = json_object();

		if (o == NULL)
			break;
		put(o, label, jname(b, rows[i]->key));
		put(o, "count", jint(rows[i]->cur));
		append(arr, o);
	}
	free(rows);
	agg_destroy(&c.rows);
	return arr;
}

/* The bucket's daily counts over the period, folded to at most 90. */
static json_t *daily_json(struct build *b, const char *hash)
{
	int64_t len = b->until - b->since + 1;
	size_t slots = len > REPORT_MAX_DAILY ? REPORT_MAX_DAILY : (size_t)len;
	uint64_t v[REPORT_MAX_DAILY] = { 0 };
	char prefix[160], key[STORE_MAX_KEY + 1], day[9];
	json_t *arr = json_array();

	for (int64_t i = 0; arr != NULL && i < len; i++) {
		uint64_t n = 0;

		day_compact(b->since + i, day);
		snprintf(prefix, sizeof(prefix), "%s%s/k/", b->base, day);
		store_counter_key(key, sizeof(key), prefix, hash);
		if (store_counter_get(b->s, key, &n, b->d) != DF_OK)
			break;
		v[(size_t)i * slots / (size_t)len] += n;
	}
	for (size_t i = 0; arr != NULL && i < slots; i++)
		append(arr, jint(v[i]));
	return arr;
}

static json_t *sample_json(struct build *b, const uint8_t h[HASH_LEN])
{
	store_dump *dm = NULL;
	struct diag d;
	char hex[HASH_HEX_LEN + 1];

	diag_init(&d);
	if (store_dump_get(b->s, h, &dm, &d) != DF_OK)
		return NULL;
	if (b->o->batch != NULL && b->o->batch[0] &&
	    (dm->batch == NULL || strcmp(dm->batch, b->o->batch) != 0)) {
		store_dump_free(dm);
		return NULL; /* another batch's dump */
	}
	json_t *o = json_object();

	hash_hex(h, HASH_LEN, hex);
	if (o != NULL) {
		put(o, "hash", json_string(hex));
		put(o, "source", jtext(dm->source));
		put(o, "archive", dm->archive != NULL && dm->archive[0]
					  ? jtext(dm->archive)
					  : json_null());
		put(o, "member", dm->archive != NULL && dm->archive[0]
					 ? jtext(dm->member)
					 : json_null());
		put(o, "batch", dm->batch != NULL && dm->batch[0]
					? jtext(dm->batch)
					: json_null());
	}
	store_dump_free(dm);
	return o;
}

static json_t *top_bucket_json(struct build *b, const struct bucket_info *i)
{
	json_t *o = json_object(), *samples = json_array();
	char prefix[STORE_MAX_KEY + 1];

	if (o == NULL || samples == NULL) {
		json_decref(o);
		json_decref(samples);
		return NULL;
	}
	put(o, "hash", jtext(i->hash));
	put(o, "signature", jtext(i->signature));
	put(o, "count", jint(i->cur));
	put(o, "previous_count", jint(i->prev));
	put(o, "total", jint(i->total));
	put(o, "first_seen", jint(i->first_seen));
	put(o, "last_seen", jint(i->last_seen));
	put(o, "daily", daily_json(b, i->hash));
	put(o, "bugcheck", jcode(i->has_bugcheck, i->bugcheck));
	put(o, "exception", jcode(i->has_exception, i->exception));
	put(o, "blame", i->blame[0] ? jtext(i->blame) : json_null());
	put(o, "low_trust", json_boolean(i->low_trust));
	store_counter_key(prefix, sizeof(prefix), "bo/", i->hash);
	strcat(prefix, "/");
	put(o, "os_versions", counts_under(b, prefix, "os_ver", MAX_OS));
	prefix[1] = 'p';
	put(o, "patterns", counts_under(b, prefix, "pattern", MAX_PATTERNS));
	for (size_t s = 0; s < i->nsamples; s++) {
		json_t *sj = sample_json(b, i->samples[s]);

		if (sj != NULL)
			append(samples, sj);
	}
	put(o, "samples", samples);
	return o;
}

static json_t *list_json(struct build *b, const struct ranked *l,
			 int kind)
{
	json_t *arr = json_array();

	for (size_t k = 0; arr != NULL && k < l->n; k++) {
		const struct bucket_info *i = &l->v[k];
		json_t *o;

		if (kind == 0) {
			append(arr, top_bucket_json(b, i));
			continue;
		}
		o = json_object();
		if (o == NULL)
			break;
		put(o, "hash", jtext(i->hash));
		put(o, "signature", jtext(i->signature));
		put(o, "count", jint(i->cur));
		if (kind == 1) {
			put(o, "first_seen", jint(i->first_seen));
			put(o, "blame",
			    i->blame[0] ? jtext(i->blame) : json_null());
		} else {
			put(o, "expected", json_real(i->expected));
			put(o, "z", json_real(i->z));
		}
		append(arr, o);
	}
	return arr;
}

static const char trend_rule[] =
	"Poisson z-score per bucket: the expected count is the mean count per "
	"period-length window over the 28 days before the period (at least "
	"0.5); rising when count >= 5 and z >= 3, falling when expected >= 5 "
	"and z <= -3, z = (count - expected) / sqrt(expected)";

static json_t *trends_json(struct build *b, struct bucket_pass *p)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	put(o, "rule", json_string(trend_rule));
	put(o, "rising", list_json(b, &p->rising, 2));
	put(o, "falling", list_json(b, &p->falling, 2));
	return o;
}

/* The blamed-module counts of B grouped by module_stem() into *OUT. */
static int module_groups(struct build *b, struct agg **out)
{
	struct agg *g = agg_new();
	const struct agg *m = b->cat[C_M];

	for (size_t i = 0; g != NULL && i < agg_len(m); i++) {
		const struct agg_row *r = agg_row_at(m, i);
		char text[NAME_MAX_LEN], key[NAME_MAX_LEN];
		struct diag d;

		diag_init(&d);
		if (r->key[0] != '#' ||
		    store_name_get(b->s, r->key, text, sizeof(text), &d) != DF_OK)
			snprintf(text, sizeof(text), "%s", r->key);
		module_stem(text, key, sizeof(key));
		struct agg_row *gr = agg_get(g, key, strlen(key));

		if (gr == NULL || ((gr->label == NULL ||
				    strlen(text) > strlen(gr->label)) &&
				   agg_row_label(gr, text) != DF_OK)) {
			agg_destroy(&g);
			break;
		}
		gr->cur += r->cur;
		gr->prev += r->prev;
		gr->hist += r->hist;
	}
	*out = g;
	return g != NULL ? DF_OK : DF_ENOMEM;
}

static json_t *modules_json(struct build *b, struct bucket_pass *p)
{
	size_t n = 0;
	struct agg *groups = NULL;
	struct agg_row **rows = module_groups(b, &groups) == DF_OK
					? sorted_rows(groups, &n, false)
					: NULL;
	json_t *arr = json_array();
	uint64_t blamed = cur_total(b->cat[C_M]);

	if (rows == NULL || arr == NULL) {
		free(rows);
		agg_destroy(&groups);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n && i < MAX_MODULES; i++) {
		json_t *o = json_object(), *name = jtext(rows[i]->label);
		const struct agg_row *mb = agg_find(p->mod_buckets, rows[i]->key);
		const char *owner = owners_lookup(
			b->owners, name != NULL ? json_string_value(name) : "");

		if (o == NULL || name == NULL) {
			json_decref(o);
			json_decref(name);
			break;
		}
		put(o, "module", name);
		put(o, "dumps", jint(rows[i]->cur));
		put(o, "share", jshare(rows[i]->cur, blamed));
		put(o, "buckets", jint(mb != NULL ? mb->cur : 0));
		put(o, "owner", owner != NULL ? json_string(owner) : json_null());
		append(arr, o);
	}
	free(rows);
	agg_destroy(&groups);
	return arr;
}

struct spray_ref {
	const char *key;
	const struct spray_group *g;
};

static int cmp_spray(const void *x, const void *y)
{
	const struct spray_ref *a = x, *c = y;

	if (a->g->buckets != c->g->buckets)
		return a->g->buckets < c->g->buckets ? 1 : -1;
	return strcmp(a->key, c->key);
}

static json_t *spray_json(struct bucket_pass *p)
{
	size_t n = agg_len(p->spray), k = 0;
	struct spray_ref *v = malloc((n + 1) * sizeof(*v));
	json_t *arr = json_array();

	if (v == NULL || arr == NULL) {
		free(v);
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct agg_row *r = agg_row_at(p->spray, i);
		const struct spray_group *g = &p->groups[r->cur - 1];

		if (g->buckets >= SPRAY_MIN_BUCKETS)
			v[k++] = (struct spray_ref){ r->key + 2, g };
	}
	qsort(v, k, sizeof(*v), cmp_spray);
	for (size_t i = 0; i < k && i < MAX_SPRAY; i++) {
		json_t *o = json_object(), *ex = json_array();

		if (o == NULL || ex == NULL) {
			json_decref(o);
			json_decref(ex);
			break;
		}
		put(o, "key", jtext(v[i].key));
		put(o, "kind", json_string(v[i].g->frame ? "frame" : "module"));
		put(o, "buckets", jint(v[i].g->buckets));
		put(o, "dumps", jint(v[i].g->dumps));
		for (uint64_t e = 0; e < v[i].g->buckets && e < MAX_EXAMPLES; e++)
			append(ex, jtext(v[i].g->examples[e]));
		put(o, "examples", ex);
		append(arr, o);
	}
	free(v);
	return arr;
}

static void pass_release(struct bucket_pass *p)
{
	ranked_release(&p->top);
	ranked_release(&p->fresh);
	ranked_release(&p->rising);
	ranked_release(&p->falling);
	agg_destroy(&p->spray);
	agg_destroy(&p->mod_buckets);
	free(p->groups);
}

static int ranked_init(struct ranked *l, size_t max,
		       double (*score)(const struct bucket_info *))
{
	l->v = calloc(max + 1, sizeof(*l->v));
	l->n = 0;
	l->max = max;
	l->score = score;
	return l->v != NULL ? DF_OK : DF_ENOMEM;
}

/* One pass over the bucket records: top, new, trends, spray, modules. */
static int bucket_sections(struct build *b, json_t *root)
{
	struct bucket_pass p;
	unsigned top = b->o->top ? b->o->top : REPORT_DEFAULT_TOP;
	int rc;

	memset(&p, 0, sizeof(p));
	p.b = b;
	p.spray = agg_new();
	p.mod_buckets = agg_new();
	rc = p.spray != NULL && p.mod_buckets != NULL ? DF_OK : DF_ENOMEM;
	if (rc == DF_OK)
		rc = ranked_init(&p.top, top > REPORT_MAX_TOP ? REPORT_MAX_TOP
							    : top,
				 by_count);
	if (rc == DF_OK)
		rc = ranked_init(&p.fresh, MAX_NEW, by_count);
	if (rc == DF_OK)
		rc = ranked_init(&p.rising, MAX_TRENDS, by_z);
	if (rc == DF_OK)
		rc = ranked_init(&p.falling, MAX_TRENDS, by_z);
	if (rc == DF_OK && agg_len(b->cat[C_K]) > 0)
		rc = store_buckets_scan(b->s, bucket_cb, &p, b->d);
	if (rc == DF_OK)
		rc = p.rc;
	if (rc == DF_OK) {
		put(root, "totals", totals_json(b, p.nbuckets));
		put(root, "top_buckets", list_json(b, &p.top, 0));
		put(root, "new_buckets", list_json(b, &p.fresh, 1));
		put(root, "trends", trends_json(b, &p));
		put(root, "modules", modules_json(b, &p));
		put(root, "spray", spray_json(&p));
	}
	pass_release(&p);
	return rc;
}

/* ---- the report ----------------------------------------------------------- */

static int build_init(struct build *b, struct store *s,
		      const struct report_opts *o, struct diag *d)
{
	memset(b, 0, sizeof(*b));
	b->s = s;
	b->o = o;
	b->d = d;
	b->owners = o->owners;
	if (o->batch != NULL && o->batch[0]) {
		store_batch_key(b->batch_key, sizeof(b->batch_key), o->batch);
		snprintf(b->base, sizeof(b->base), "g/%s/d/", b->batch_key);
	} else {
		snprintf(b->base, sizeof(b->base), "d/");
	}
	b->baselen = strlen(b->base);
	for (int c = 0; c < C_COUNT; c++)
		if ((b->cat[c] = agg_new()) == NULL)
			return diag_fail(d, DF_ENOMEM, "no memory for the report");
	return DF_OK;
}

static void build_release(struct build *b)
{
	for (int c = 0; c < C_COUNT; c++)
		agg_destroy(&b->cat[c]);
}

static int sections(struct build *b, json_t *root, uint64_t now)
{
	put(root, "schema_version", json_integer(REPORT_SCHEMA_VERSION));
	put(root, "generated_at", jint(now));
	put(root, "period", period_json(b));
	put(root, "totals", json_null()); /* its place; filled by the pass */
	b->dumps = cur_of(b, C_T, "dumps");
	b->distinct = cur_of(b, C_T, "distinct");
	put(root, "batches",
	    b->batch_key[0] ? one_batch_json(b) : batches_json(b));
	put(root, "bugchecks", codes_json(b, C_B));
	put(root, "exceptions", codes_json(b, C_E));
	put(root, "patterns", patterns_json(b));
	put(root, "virtualization", virtualization_json(b));
	int rc = bucket_sections(b, root);

	return rc != DF_OK ? rc : b->rc;
}

int report_build(struct report **out, struct store *s,
		 const struct report_opts *o, struct diag *d)
{
	struct report_opts none = { 0 };
	struct report *r = calloc(1, sizeof(*r));
	struct owners *own = NULL;
	struct build b;
	uint64_t now;
	int rc;

	*out = NULL;
	if (o == NULL)
		o = &none;
	now = o->now ? o->now : (uint64_t)time(NULL);
	if (r == NULL || (r->root = json_object()) == NULL) {
		free(r);
		return diag_fail(d, DF_ENOMEM, "no memory for the report");
	}
	rc = build_init(&b, s, o, d);
	if (rc == DF_OK && b.owners == NULL && (rc = owners_new(&own, d)) == DF_OK)
		b.owners = own;
	if (rc == DF_OK)
		rc = resolve_period(&b, (int64_t)(now / 86400));
	if (rc == DF_OK)
		rc = scan_daily(&b);
	if (rc == DF_OK)
		rc = sections(&b, r->root, now);
	if (rc == DF_OK) {
		r->dumps = b.dumps;
		r->errors = cur_of(&b, C_T, "errors") + failures(&b, "failed");
		report_day_format(b.until, r->until);
		rc = b.rc;
	}
	build_release(&b);
	owners_destroy(&own);
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
	json_decref((*rp)->root);
	free(*rp);
	*rp = NULL;
}

json_t *report_to_json(const struct report *r)
{
	return json_incref(r->root);
}

uint64_t report_dumps(const struct report *r)
{
	return r->dumps;
}

uint64_t report_errors(const struct report *r)
{
	return r->errors;
}

const char *report_until(const struct report *r)
{
	return r->until;
}

int report_write_json(FILE *out, const struct report *r)
{
	int rc = json_dumpf(r->root, out, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

	fputc('\n', out);
	return rc == 0 && !ferror(out) ? DF_OK : DF_EIO;
}
