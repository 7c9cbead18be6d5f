/*
 * Unit tests for reports/: the report model over periods and batches,
 * trends, spray, owners, the 2008 baseline, the text and JSON forms,
 * hostile names and the nightly output. Every dump goes through the real
 * store (store_results_put_at), so the counters read are the ones the
 * broker writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "bucketview.h"
#include "df.h"
#include "diag.h"
#include "forms.h"
#include "hash.h"
#include "owners.h"
#include "report.h"
#include "report_text.h"
#include "store.h"
#include "testutil.h"

#define DAY0 20000 /* 2024-10-04, a day number the tests count from */

/* One dump to store: what differs between the tests' dumps. */
struct spec {
	const char *sighash;
	const char *signature;  /* NULL: "0x%08X | <blame>!f" */
	uint32_t bugcheck;      /* 0: none */
	const char *blame;
	const char *batch;      /* NULL: "" */
	int64_t day;            /* day number it is counted on */
	const char *source;     /* NULL: "/dumps/<n>" */
	const char *os_ver;
	const char *pattern;    /* NULL: none */
	const char *title;
	const char *archive, *member;
};

static int next_content = 1;

static void put_spec(struct store *s, const struct spec *sp)
{
	char path[256], text[64], sig[256];
	const char *paths[1] = { path };
	uint8_t h[HASH_LEN];
	uint64_t id;
	store_dump dm = DUMPFLEET__V1__DUMP__INIT;
	Dumpfleet__V1__Finding f = DUMPFLEET__V1__FINDING__INIT;
	Dumpfleet__V1__Finding *fs[1] = { &f };
	struct store_result r = { 0, &dm, false, 0, 0 };
	struct diag d;
	int n = next_content++;

	diag_init(&d);
	snprintf(path, sizeof(path), "%s",
		 sp->source != NULL ? sp->source : "/dumps/x");
	if (sp->source == NULL)
		snprintf(path, sizeof(path), "/dumps/%d", n);
	snprintf(text, sizeof(text), "bytes %d", n);
	hash_sha256(text, strlen(text), h);
	assert_int_equal(store_jobs_add(s, sp->batch != NULL ? sp->batch : "",
					paths, NULL, NULL, 1, &id, &d),
			 DF_OK);
	snprintf(sig, sizeof(sig), "0x%08X | %s!f", sp->bugcheck, sp->blame);
	dm.content_hash.data = h;
	dm.content_hash.len = HASH_LEN;
	dm.format = (char *)"debugger-log";
	dm.has_bugcheck = sp->bugcheck != 0;
	dm.bugcheck_code = sp->bugcheck;
	dm.signature = sp->signature != NULL ? (char *)sp->signature : sig;
	dm.signature_hash = (char *)sp->sighash;
	dm.blame_module = (char *)sp->blame;
	dm.os_ver = (char *)(sp->os_ver != NULL ? sp->os_ver : "");
	dm.archive = (char *)(sp->archive != NULL ? sp->archive : "");
	dm.member = (char *)(sp->member != NULL ? sp->member : "");
	if (sp->pattern != NULL) {
		f.pattern = (char *)sp->pattern;
		f.title = (char *)(sp->title != NULL ? sp->title : "");
		f.confidence = 90;
		dm.n_findings = 1;
		dm.findings = fs;
	}
	r.job_id = id;
	assert_int_equal(store_results_put_at(s, &r, 1,
					      (uint64_t)sp->day * 86400 + 3600,
					      &d),
			 DF_OK);
}

/* N dumps of one bucket on DAY. */
static void put_many(struct store *s, int n, const char *sighash,
		     uint32_t bugcheck, const char *blame, int64_t day)
{
	struct spec sp = { .sighash = sighash, .bugcheck = bugcheck,
			   .blame = blame, .day = day };

	for (int i = 0; i < n; i++)
		put_spec(s, &sp);
}

static json_t *build(struct store *s, const struct report_opts *o)
{
	struct report *r = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(report_build(&r, s, o, &d), DF_OK);
	json_t *j = report_to_json(r);

	report_destroy(&r);
	return j;
}

static char *render_text(const json_t *j, unsigned width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct report_text_opts o = { width, false };

	assert_int_equal(report_text_write(f, j, &o), DF_OK);
	fclose(f);
	return buf;
}

static json_t *find_by(const json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		const char *v = json_string_value(json_object_get(o, key));

		if (v != NULL && strcmp(v, val) == 0)
			return o;
	}
	return NULL;
}

static json_int_t iget(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

struct fixture {
	char *dir;
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct diag d;

	diag_init(&d);
	hash_global_init();
	f->dir = test_tmpdir();
	if (f->dir == NULL || store_open(&f->s, f->dir, false, &d) != DF_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(&f->s);
	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct report_opts period(int64_t since, int64_t until)
{
	struct report_opts o = { .has_since = true, .has_until = true,
				 .since = since, .until = until,
				 .now = (uint64_t)(until + 1) * 86400 };

	return o;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_report__frequencies_and_top_buckets(void **state)
{
	struct fixture *f = *state;

	put_many(f->s, 3, "1111111111111111", 0xD1, "acme.sys", DAY0);
	put_many(f->s, 1, "2222222222222222", 0x19, "pool.sys", DAY0);

	struct report_opts o = period(DAY0, DAY0);

	o.top = 1;
	json_t *j = build(f->s, &o);
	json_t *t = json_object_get(j, "totals");

	assert_int_equal(iget(j, "schema_version"), 2);
	assert_int_equal(iget(t, "dumps"), 4);
	assert_int_equal(iget(t, "distinct"), 4);
	assert_int_equal(iget(t, "buckets"), 2);
	assert_int_equal(iget(t, "errors"), 0);
	json_t *first = json_array_get(json_object_get(j, "bugchecks"), 0);

	assert_string_equal(json_string_value(json_object_get(first, "code")),
			    "0x000000D1");
	assert_string_equal(json_string_value(json_object_get(first, "name")),
			    "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
	assert_string_equal(
		json_string_value(json_object_get(first, "category")), "irql");
	assert_int_equal(iget(first, "count"), 3);
	json_t *bk = json_object_get(j, "top_buckets");

	assert_int_equal(json_array_size(bk), 1); /* --top 1 */
	json_t *b0 = json_array_get(bk, 0);

	assert_string_equal(json_string_value(json_object_get(b0, "hash")),
			    "1111111111111111");
	assert_int_equal(json_array_size(json_object_get(b0, "daily")), 1);
	assert_int_equal(json_integer_value(json_array_get(
				 json_object_get(b0, "daily"), 0)),
			 3);
	assert_int_equal(json_array_size(json_object_get(b0, "samples")), 3);

	char *txt = render_text(j, 100);

	assert_non_null(strstr(txt, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"));
	assert_non_null(strstr(txt, "BAD_POOL_HEADER"));
	assert_non_null(strstr(txt, "  dumps              4\n"));
	free(txt);
	json_decref(j);
}

/* Periods: explicit, --days, the previous window, days outside. */
static void test_report__periods_and_previous_window(void **state)
{
	struct fixture *f = *state;

	put_many(f->s, 2, "1111111111111111", 0xD1, "a.sys", DAY0 - 10);
	put_many(f->s, 1, "1111111111111111", 0xD1, "a.sys", DAY0 - 3);
	put_many(f->s, 4, "1111111111111111", 0xD1, "a.sys", DAY0);
	put_many(f->s, 4, "2222222222222222", 0x50, "b.sys", DAY0 - 1);
	put_many(f->s, 5, "3333333333333333", 0x50, "c.sys", DAY0 + 1);

	/* --until DAY0 --days 3: DAY0-2 .. DAY0, previous DAY0-5 .. DAY0-3. */
	struct report_opts o = { .has_until = true, .until = DAY0, .days = 3,
				 .now = (uint64_t)(DAY0 + 5) * 86400 };
	json_t *j = build(f->s, &o);
	json_t *p = json_object_get(j, "period");
	char day[11];

	report_day_format(DAY0 - 2, day);
	assert_string_equal(json_string_value(json_object_get(p, "since")), day);
	report_day_format(DAY0 - 5, day);
	assert_string_equal(
		json_string_value(json_object_get(p, "previous_since")), day);
	assert_int_equal(iget(p, "days"), 3);
	assert_true(json_is_null(json_object_get(p, "batch")));
	assert_int_equal(iget(json_object_get(j, "totals"), "dumps"), 8);

	json_t *d1 = find_by(json_object_get(j, "bugchecks"), "code",
			     "0x000000D1");
	json_t *p50 = find_by(json_object_get(j, "bugchecks"), "code",
			      "0x00000050");

	assert_int_equal(iget(d1, "count"), 4);
	assert_int_equal(iget(d1, "previous_count"), 1);
	/* share now 4/8, then 1/1: change -0.5 */
	assert_true(json_real_value(json_object_get(d1, "change")) < -0.49 &&
		    json_real_value(json_object_get(d1, "change")) > -0.51);
	assert_int_equal(iget(p50, "count"), 4);
	json_t *b = find_by(json_object_get(j, "top_buckets"), "hash",
			    "1111111111111111");

	assert_int_equal(iget(b, "count"), 4);
	assert_int_equal(iget(b, "previous_count"), 1);
	assert_int_equal(iget(b, "total"), 7);
	json_t *daily = json_object_get(b, "daily");

	assert_int_equal(json_array_size(daily), 3);
	assert_int_equal(json_integer_value(json_array_get(daily, 2)), 4);
	assert_int_equal(json_integer_value(json_array_get(daily, 0)), 0);
	json_decref(j);

	/* No period options: from the first day with data to today. */
	struct report_opts all = { .now = (uint64_t)(DAY0 + 2) * 86400 };

	j = build(f->s, &all);
	p = json_object_get(j, "period");
	report_day_format(DAY0 - 10, day);
	assert_string_equal(json_string_value(json_object_get(p, "since")), day);
	assert_int_equal(iget(p, "days"), 13);
	assert_int_equal(iget(json_object_get(j, "totals"), "dumps"), 16);
	json_decref(j);

	/* All three options, or until before since, are refused. */
	struct report_opts bad = { .has_since = true, .has_until = true,
				   .since = DAY0, .until = DAY0 - 1 };
	struct report *r = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(report_build(&r, f->s, &bad, &d), DF_EUSAGE);
	bad.until = DAY0;
	bad.days = 2;
	diag_init(&d);
	assert_int_equal(report_build(&r, f->s, &bad, &d), DF_EUSAGE);
	assert_null(r);

	int64_t v;

	assert_true(report_day_parse("2024-10-04", &v));
	assert_int_equal(v, DAY0);
	assert_false(report_day_parse("2024-02-30", &v));
	assert_false(report_day_parse("2024-1-04", &v));
}

/* --batch cuts every table to the batch; batches[] lists both. */
static void test_report__batch_filter(void **state)
{
	struct fixture *f = *state;
	struct spec a = { .sighash = "aaaaaaaaaaaaaaaa", .bugcheck = 0xD1,
			  .blame = "a.sys", .batch = "acme", .day = DAY0,
			  .pattern = "virtualized-system",
			  .title = "Virtualized system: VMware" };
	struct spec b = { .sighash = "bbbbbbbbbbbbbbbb", .bugcheck = 0x50,
			  .blame = "b.sys", .batch = "contoso", .day = DAY0 };

	for (int i = 0; i < 3; i++)
		put_spec(f->s, &a);
	for (int i = 0; i < 2; i++)
		put_spec(f->s, &b);

	struct report_opts o = period(DAY0, DAY0);
	json_t *j = build(f->s, &o);
	json_t *batches = json_object_get(j, "batches");

	assert_int_equal(json_array_size(batches), 2);
	assert_int_equal(iget(find_by(batches, "batch", "acme"), "dumps"), 3);
	assert_int_equal(iget(find_by(batches, "batch", "contoso"), "distinct"),
			 2);
	json_decref(j);

	o.batch = "contoso";
	j = build(f->s, &o);
	assert_int_equal(iget(json_object_get(j, "totals"), "dumps"), 2);
	assert_int_equal(json_array_size(json_object_get(j, "bugchecks")), 1);
	assert_non_null(find_by(json_object_get(j, "bugchecks"), "code",
				"0x00000050"));
	assert_int_equal(json_array_size(json_object_get(j, "top_buckets")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "modules")), 1);
	assert_int_equal(iget(json_object_get(j, "virtualization"),
			      "virtualized"),
			 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "period"), "batch")),
			    "contoso");
	json_decref(j);

	o.batch = "acme";
	j = build(f->s, &o);
	json_t *v = json_object_get(j, "virtualization");

	assert_int_equal(iget(v, "virtualized"), 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(v, "hypervisors"),
						   0),
				    "name")),
			    "VMware");
	json_decref(j);
}

/* The trend rule: a constructed rise is flagged, Poisson noise is not. */
static void test_report__trends(void **state)
{
	struct fixture *f = *state;
	/* Four history weeks before the period, then the period week. */
	static const int rising[5] = { 1, 2, 1, 2, 12 };
	static const int noisy[5] = { 10, 12, 9, 11, 13 };
	static const int falling[5] = { 12, 10, 11, 11, 1 };

	for (int w = 0; w < 5; w++) {
		int64_t day = DAY0 - 28 + 7 * w + 3;

		put_many(f->s, rising[w], "1111111111111111", 0xD1, "r.sys", day);
		put_many(f->s, noisy[w], "2222222222222222", 0xD1, "n.sys", day);
		put_many(f->s, falling[w], "3333333333333333", 0xD1, "f.sys",
			 day);
	}
	struct report_opts o = period(DAY0, DAY0 + 6);
	json_t *j = build(f->s, &o);
	json_t *tr = json_object_get(j, "trends");
	json_t *up = json_object_get(tr, "rising");
	json_t *down = json_object_get(tr, "falling");

	assert_non_null(json_string_value(json_object_get(tr, "rule")));
	assert_int_equal(json_array_size(up), 1);
	json_t *r0 = json_array_get(up, 0);

	assert_string_equal(json_string_value(json_object_get(r0, "hash")),
			    "1111111111111111");
	assert_int_equal(iget(r0, "count"), 12);
	assert_true(json_real_value(json_object_get(r0, "expected")) == 1.5);
	assert_true(json_real_value(json_object_get(r0, "z")) > 8.0);
	assert_int_equal(json_array_size(down), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(down, 0), "hash")),
			    "3333333333333333");
	assert_null(find_by(up, "hash", "2222222222222222"));
	assert_null(find_by(down, "hash", "2222222222222222"));
	json_decref(j);

	double z;

	assert_int_equal(report_trend(4, 0.1, &z), 0);  /* too few dumps */
	assert_int_equal(report_trend(5, 0.1, &z), 1);  /* lambda raised to 0.5 */
	assert_int_equal(report_trend(0, 4.0, &z), 0);  /* lambda below 5 */
	assert_int_equal(report_trend(0, 9.0, &z), -1);
	assert_int_equal(report_trend(19, 10.0, &z), 0); /* z 2.85 */
	assert_int_equal(report_trend(20, 10.0, &z), 1); /* z 3.16 */
}

/* Small buckets sharing a top frame are a spray; new buckets listed. */
static void test_report__spray_and_new_buckets(void **state)
{
	struct fixture *f = *state;
	char hash[17], sig[96];

	for (int i = 0; i < 6; i++) {
		snprintf(hash, sizeof(hash), "%016x", 0x100 + i);
		snprintf(sig, sizeof(sig),
			 "0x000000D1 | spray!Hot | caller%d!f | x!y", i);
		struct spec sp = { .sighash = hash, .signature = sig,
				   .bugcheck = 0xD1, .blame = "spray.sys",
				   .day = DAY0 };

		put_spec(f->s, &sp);
	}
	for (int i = 0; i < 4; i++) { /* four only: below the group size */
		snprintf(hash, sizeof(hash), "%016x", 0x200 + i);
		snprintf(sig, sizeof(sig), "0x000000D1 | few!Hot | c%d!f", i);
		struct spec sp = { .sighash = hash, .signature = sig,
				   .bugcheck = 0xD1, .blame = "few.sys",
				   .day = DAY0 };

		put_spec(f->s, &sp);
	}
	put_many(f->s, 3, "ffffffffffffffff", 0xD1, "old.sys", DAY0 - 20);
	put_many(f->s, 1, "ffffffffffffffff", 0xD1, "old.sys", DAY0);

	struct report_opts o = period(DAY0, DAY0);
	json_t *j = build(f->s, &o);
	json_t *spray = json_object_get(j, "spray");

	assert_int_equal(json_array_size(spray), 1);
	json_t *g = json_array_get(spray, 0);

	assert_string_equal(json_string_value(json_object_get(g, "key")),
			    "spray!Hot");
	assert_string_equal(json_string_value(json_object_get(g, "kind")),
			    "frame");
	assert_int_equal(iget(g, "buckets"), 6);
	assert_int_equal(iget(g, "dumps"), 6);
	assert_int_equal(json_array_size(json_object_get(g, "examples")), 5);

	json_t *fresh = json_object_get(j, "new_buckets");

	assert_int_equal(json_array_size(fresh), 10);
	assert_null(find_by(fresh, "hash", "ffffffffffffffff"));
	json_decref(j);
}

/* Owners: built-in table, globs, the stem, a user file first. */
static void test_report__owners(void **state)
{
	(void)state;
	struct owners *o = NULL;
	struct diag d;
	char *dir = test_tmpdir();
	char path[512];

	diag_init(&d);
	assert_int_equal(owners_new(&o, &d), DF_OK);
	assert_string_equal(owners_lookup(o, "nvlddmkm.sys"), "NVIDIA (display driver)");
	assert_string_equal(owners_lookup(o, "NVLDDMKM.SYS"), "NVIDIA (display driver)");
	assert_string_equal(owners_lookup(o, "atikmdag.sys"), "AMD (display driver)");
	assert_non_null(strstr(owners_lookup(o, "ntoskrnl.exe"), "kernel"));
	assert_non_null(strstr(owners_lookup(o, "nt"), "kernel"));
	assert_non_null(owners_lookup(o, "vmxnet3.sys"));
	assert_null(owners_lookup(o, "acme.sys"));
	assert_null(owners_lookup(o, ""));

	snprintf(path, sizeof(path), "%s/owners.txt", dir);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("# ours\nacme*\tAcme drivers team\nnvlddmkm  Our GPU desk\n", f);
	fclose(f);
	assert_int_equal(owners_load_file(o, path, &d), DF_OK);
	assert_string_equal(owners_lookup(o, "acmenet.sys"), "Acme drivers team");
	assert_string_equal(owners_lookup(o, "nvlddmkm.sys"), "Our GPU desk");
	assert_string_equal(owners_lookup(o, "atikmdag.sys"), "AMD (display driver)");

	f = fopen(path, "w");
	fputs("lonely\n", f);
	fclose(f);
	diag_init(&d);
	assert_int_equal(owners_load_file(o, path, &d), DF_EFORMAT);
	assert_non_null(strstr(d.msg, "line 1"));
	owners_destroy(&o);
	test_rmtree(dir);
	free(dir);
}

/*
 * One driver blamed as "acmenet" (a log's MODULE_NAME), "acmenet.sys" and
 * "ACMENET.SYS" (dumps) is one row under its longest name; another
 * driver that only shares a prefix is its own row.
 */
static void test_report__modules_grouped_by_stem(void **state)
{
	struct fixture *f = *state;

	put_many(f->s, 2, "1111111111111111", 0xD1, "acmenet", DAY0);
	put_many(f->s, 1, "2222222222222222", 0xD1, "acmenet.sys", DAY0);
	put_many(f->s, 1, "3333333333333333", 0xD1, "ACMENET.SYS", DAY0);
	put_many(f->s, 3, "4444444444444444", 0xD1, "acmenet2.sys", DAY0);
	put_many(f->s, 3, "5555555555555555", 0xD1, "acmenet2", DAY0);

	struct report_opts o = period(DAY0, DAY0);
	json_t *j = build(f->s, &o);
	json_t *mods = json_object_get(j, "modules");
	json_t *a = json_array_get(mods, 1);

	assert_int_equal(json_array_size(mods), 2);
	assert_int_equal(strcasecmp(json_string_value(json_object_get(
					    a, "module")), "acmenet.sys"), 0);
	assert_int_equal(iget(a, "dumps"), 4);
	assert_int_equal(iget(a, "buckets"), 3);
	assert_int_equal(iget(find_by(mods, "module", "acmenet2.sys"), "dumps"),
			 6);
	json_decref(j);
}

/* Module ranking with owners; the 2008 baseline joined by code. */
static void test_report__modules_and_baseline(void **state)
{
	struct fixture *f = *state;

	put_many(f->s, 3, "1111111111111111", 0xD1, "nvlddmkm.sys", DAY0);
	put_many(f->s, 1, "2222222222222222", 0xD1, "nvlddmkm.sys", DAY0);
	put_many(f->s, 2, "3333333333333333", 0x0BADC0DE, "acme.sys", DAY0);

	struct report_opts o = period(DAY0, DAY0);
	json_t *j = build(f->s, &o);
	json_t *m = json_array_get(json_object_get(j, "modules"), 0);

	assert_string_equal(json_string_value(json_object_get(m, "module")),
			    "nvlddmkm.sys");
	assert_int_equal(iget(m, "dumps"), 4);
	assert_int_equal(iget(m, "buckets"), 2);
	assert_string_equal(json_string_value(json_object_get(m, "owner")),
			    "NVIDIA (display driver)");
	assert_true(json_is_null(json_object_get(
		json_array_get(json_object_get(j, "modules"), 1), "owner")));

	json_t *bc = json_object_get(j, "bugchecks");
	json_t *d1 = find_by(bc, "code", "0x000000D1");
	json_t *odd = find_by(bc, "code", "0x0BADC0DE");

	/* 2840 of the table's total in bugcheck-frequencies-2008.tsv */
	double bs = json_real_value(json_object_get(d1, "baseline_share"));

	assert_true(bs > 0.10 && bs < 0.11);
	assert_true(json_is_null(json_object_get(odd, "baseline_share")));
	assert_string_equal(json_string_value(json_object_get(odd, "name")),
			    "unknown bugcheck");
	assert_true(json_is_null(json_object_get(odd, "category")));
	json_decref(j);
}

/*
 * Hostile names through the real store: module names, signatures,
 * sources, archive members, batch tags, OS versions and hypervisor names
 * with <script>, quotes, commas, newlines, ESC and C1 sequences and
 * broken UTF-8. JSON must parse and hold only valid UTF-8; the text form
 * must hold no raw control character.
 */
static void test_report__hostile_names_are_escaped(void **state)
{
	struct fixture *f = *state;
	const char *evil = "<script>alert(1)</script>\x1b[31m\"q\",\n\xc2\x9b"
			   "2J\xff\xfe\t.sys";
	char sig[256];

	snprintf(sig, sizeof(sig), "0x00000050 | %s!f | ok!g", evil);
	struct spec sp = { .sighash = "3333333333333333", .signature = sig,
			   .bugcheck = 0x50, .blame = evil, .batch = evil,
			   .day = DAY0, .source = evil, .os_ver = evil,
			   .archive = "a\x1b]0;pwned\x07.zip", .member = evil,
			   .pattern = "virtualized-system",
			   .title = "Virtualized system: \x1b[2J<b>X\xff" };

	put_spec(f->s, &sp);
	struct report_opts o = period(DAY0, DAY0);
	json_t *j = build(f->s, &o);
	char *js = json_dumps(j, 0);
	json_error_t err;
	json_t *back = json_loads(js, 0, &err); /* only valid UTF-8 loads */

	assert_non_null(back);
	json_decref(back);
	assert_null(strstr(js, "\xff"));
	assert_non_null(strstr(js, "\\u001B[31m"));
	json_t *b0 = json_array_get(json_object_get(j, "top_buckets"), 0);
	const char *blame = json_string_value(json_object_get(b0, "blame"));

	assert_non_null(strstr(blame, "\xEF\xBF\xBD"));
	json_t *s0 = json_array_get(json_object_get(b0, "samples"), 0);

	assert_non_null(strstr(json_string_value(json_object_get(s0, "member")),
			       "<script>"));
	assert_non_null(strstr(json_string_value(json_object_get(s0, "batch")),
			       "<script>"));
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_array_get(json_object_get(j, "batches"),
						      0),
				       "batch")),
			       "<script>"));
	assert_non_null(strstr(json_string_value(json_object_get(
				       json_array_get(json_object_get(b0,
								      "os_versions"),
						      0),
				       "os_ver")),
			       "alert(1)"));
	free(js);

	char *txt = render_text(j, 100);

	for (const unsigned char *p = (const unsigned char *)txt; *p; p++) {
		assert_false(*p < 0x20 && *p != '\n');
		assert_false(*p == 0x7f || *p == 0xff);
		assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
	assert_non_null(strstr(txt, "\\x1b[31m"));
	assert_non_null(strstr(txt, "\\x9b2J"));
	assert_non_null(strstr(txt, "\\x0a"));
	assert_non_null(strstr(txt, "\\x09.sys"));
	assert_non_null(strstr(txt, "(member <script>alert(1)</script>\\x1b"));
	free(txt);

	/* The bucket view (dumpfleet bucket --format json) likewise. */
	json_t *bv = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(bucketview_json(f->s, "3333333333333333", &bv, &d),
			 DF_OK);
	js = json_dumps(bv, 0);
	back = json_loads(js, 0, &err);
	assert_non_null(back);
	assert_null(strstr(js, "\xff"));
	json_t *d0 = json_array_get(json_object_get(bv, "dumps"), 0);

	assert_non_null(strstr(json_string_value(json_object_get(d0, "source")),
			       "<script>"));
	assert_non_null(strstr(json_string_value(json_object_get(d0, "archive")),
			       "pwned"));
	json_decref(back);
	json_decref(bv);
	free(js);
	diag_init(&d);
	assert_int_equal(bucketview_json(f->s, "0000000000000000", &bv, &d),
			 DF_ENOTFOUND);

	/* The bare batch filter finds the hashed tag too. */
	o.batch = evil;
	json_decref(j);
	j = build(f->s, &o);
	assert_int_equal(iget(json_object_get(j, "totals"), "dumps"), 1);
	json_decref(j);
}

static void test_report__empty_store_and_text_width(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .now = (uint64_t)DAY0 * 86400 };
	json_t *j = build(f->s, &o);
	char *txt = render_text(j, 100);

	assert_non_null(strstr(txt, "  dumps              0\n"));
	assert_int_equal(json_array_size(json_object_get(j, "top_buckets")), 0);
	free(txt);
	json_decref(j);

	char blame[80];

	memset(blame, 'm', sizeof(blame) - 1);
	blame[sizeof(blame) - 1] = '\0';
	put_many(f->s, 2, "4444444444444444", 0x0BADC0DE, blame, DAY0);
	j = build(f->s, &o);
	txt = render_text(j, 100);
	assert_non_null(strstr(txt, "0x0BADC0DE  unknown bugcheck"));
	free(txt);
	txt = render_text(j, 60);
	/*
	 * Every table line fits 60 columns; the lines under a bucket
	 * (signature, sparkline, samples) are indented and may be longer
	 * when one frame or path alone is.
	 */
	for (char *line = strtok(txt, "\n"); line != NULL;
	     line = strtok(NULL, "\n"))
		if (strncmp(line, "    ", 4) != 0 && strlen(line) > 60 &&
		    strstr(line, "\xe2\x96") == NULL)
			fail_msg("line over 60 columns: %s", line);
	free(txt);
	json_decref(j);
}

static bool is_link_to(const char *path, const char *target)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, target) == 0;
}

/*
 * Nightly: DIR/DAY.{html,json,csv} and latest links (latest at the HTML
 * page), the same files when run again.
 */
static void test_report__nightly_is_idempotent(void **state)
{
	struct fixture *f = *state;
	char *out = test_tmpdir();
	char dir[512], path[600];
	struct diag d;
	struct stat st;

	put_many(f->s, 2, "1111111111111111", 0xD1, "a.sys", DAY0);
	snprintf(dir, sizeof(dir), "%s/nightly", out);
	struct report_opts o = period(DAY0, DAY0);
	json_t *j = build(f->s, &o);

	diag_init(&d);
	assert_int_equal(report_nightly_write(j, dir, "2024-10-04", &d), DF_OK);
	assert_int_equal(report_nightly_write(j, dir, "2024-10-04", &d), DF_OK);
	snprintf(path, sizeof(path), "%s/2024-10-04.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	size_t len;
	uint8_t *text = test_read_file(path, &len);
	char *want = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));

	assert_non_null(text);
	assert_int_equal(len, strlen(want) + 1);
	assert_memory_equal(text, want, strlen(want));
	free(want);
	free(text);
	snprintf(path, sizeof(path), "%s/latest", dir);
	assert_true(is_link_to(path, "2024-10-04.html"));
	snprintf(path, sizeof(path), "%s/latest.csv", dir);
	assert_true(is_link_to(path, "2024-10-04.csv"));
	snprintf(path, sizeof(path), "%s/latest.json", dir);
	assert_true(is_link_to(path, "2024-10-04.json"));

	/* The next night moves the links, keeps the old file. */
	assert_int_equal(report_nightly_write(j, dir, "2024-10-05", &d), DF_OK);
	snprintf(path, sizeof(path), "%s/latest", dir);
	assert_true(is_link_to(path, "2024-10-05.html"));
	snprintf(path, sizeof(path), "%s/2024-10-04.json", dir);
	assert_int_equal(stat(path, &st), 0);

	/* Nothing else is left in DIR: no temporary files. */
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 10", dir);
	assert_int_equal(system(cmd), 0);
	diag_init(&d);
	assert_int_equal(report_nightly_write(j, dir, "../x", &d), DF_EUSAGE);
	assert_non_null(report_form_find("json"));
	assert_non_null(report_form_find("text"));
	assert_null(report_form_find("pdf"));
	json_decref(j);
	test_rmtree(out);
	free(out);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_report__frequencies_and_top_buckets),
		T(test_report__periods_and_previous_window),
		T(test_report__batch_filter),
		T(test_report__trends),
		T(test_report__spray_and_new_buckets),
		cmocka_unit_test(test_report__owners),
		T(test_report__modules_and_baseline),
		T(test_report__modules_grouped_by_stem),
		T(test_report__hostile_names_are_escaped),
		T(test_report__empty_store_and_text_width),
		T(test_report__nightly_is_idempotent),
	};
#undef T
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
