/* Unit tests for store/: jobs, idempotent results, dedup, counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"
#include "testutil.h"

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

/* A dump record with content "content-N" and a signature. */
struct fake {
	uint8_t hash[HASH_LEN];
	store_dump dm;
	Dumpfleet__V1__Finding finding;
	Dumpfleet__V1__Finding *findings[1];
	uint64_t args[4];
};

static void fake_init(struct fake *fk, int content, const char *sighash,
		      uint32_t bugcheck)
{
	char text[32];

	snprintf(text, sizeof(text), "content-%d", content);
	hash_sha256(text, strlen(text), fk->hash);
	dumpfleet__v1__dump__init(&fk->dm);
	dumpfleet__v1__finding__init(&fk->finding);
	fk->finding.pattern = (char *)"self-dump";
	fk->finding.title = (char *)"self dump";
	fk->findings[0] = &fk->finding;
	fk->dm.content_hash.data = fk->hash;
	fk->dm.content_hash.len = HASH_LEN;
	fk->dm.format = (char *)"debugger-log";
	fk->dm.signature = (char *)"0x000000D1 | acme!f";
	fk->dm.signature_hash = (char *)sighash;
	fk->dm.has_bugcheck = bugcheck != 0;
	fk->dm.bugcheck_code = bugcheck;
	fk->dm.n_bugcheck_args = 4;
	fk->args[0] = 0x10;
	fk->args[1] = 2;
	fk->args[2] = 0;
	fk->args[3] = 0xfffff80012345678;
	fk->dm.bugcheck_args = fk->args;
	fk->dm.blame_module = (char *)"acme.sys";
	fk->dm.n_findings = 1;
	fk->dm.findings = fk->findings;
}

static uint64_t counter(struct store *s, const char *key)
{
	uint64_t v = 99;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_counter_get(s, key, &v, &d), DF_OK);
	return v;
}

static void put(struct store *s, uint64_t job, const store_dump *dm)
{
	struct store_result r = { job, dm, false, 0, 0 };
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_results_put(s, &r, 1, &d), DF_OK);
}

static void test_store__result_counts_once(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/a/one.dmp", "/a/two.dmp", "/a/one.dmp" };
	uint64_t first = 0;
	struct fake a, b;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "case1", paths, NULL, NULL,
					3, &first, &d),
			 DF_OK);
	assert_int_equal(first, 1);
	fake_init(&a, 1, "aaaaaaaaaaaaaaaa", 0xD1);
	fake_init(&b, 1, "aaaaaaaaaaaaaaaa", 0xD1);
	put(f->s, 1, &a.dm);
	put(f->s, 1, &a.dm); /* the same result again: no change */
	assert_int_equal(counter(f->s, "t/dumps"), 1);
	assert_int_equal(counter(f->s, "t/distinct"), 1);
	/* Same content under another name: one more dump, not distinct. */
	put(f->s, 2, &b.dm);
	assert_int_equal(counter(f->s, "t/dumps"), 2);
	assert_int_equal(counter(f->s, "t/distinct"), 1);
	/* Same path and content, new job (a re-run): nothing changes. */
	put(f->s, 3, &a.dm);
	assert_int_equal(counter(f->s, "t/dumps"), 2);
	assert_int_equal(counter(f->s, "b/0x000000D1"), 1);
	assert_int_equal(counter(f->s, "p/self-dump"), 1);
	assert_int_equal(counter(f->s, "pc/self-dump"), 0); /* confidence 0 */
	assert_int_equal(counter(f->s, "t/buckets"), 1);
	assert_int_equal(counter(f->s, "k/aaaaaaaaaaaaaaaa"), 1);

	struct store_job_counts c;

	assert_int_equal(store_job_counts(f->s, &c, &d), DF_OK);
	assert_int_equal(c.done, 3);
	assert_int_equal(c.queued, 0);
}

static int count_bucket(void *ctx, const store_bucket *b)
{
	uint64_t *n = ctx;

	*n += b->count;
	assert_true(b->n_samples >= 1 && b->n_samples <= STORE_MAX_SAMPLES);
	return 0;
}

static void test_store__buckets_group_signatures(void **state)
{
	struct fixture *f = *state;
	const char *paths[8] = { "/1", "/2", "/3", "/4", "/5", "/6", "/7",
				 "/8" };
	uint64_t first = 0, total = 0;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "", paths, NULL, NULL,
					8, &first, &d), DF_OK);
	for (int i = 0; i < 8; i++) {
		struct fake fk;

		fake_init(&fk, 100 + i, i < 7 ? "bbbbbbbbbbbbbbbb"
					      : "cccccccccccccccc",
			  i < 7 ? 0xC2 : 0x19);
		put(f->s, first + (uint64_t)i, &fk.dm);
	}
	assert_int_equal(counter(f->s, "t/buckets"), 2);
	assert_int_equal(counter(f->s, "k/bbbbbbbbbbbbbbbb"), 7);
	assert_int_equal(counter(f->s, "b/0x000000C2"), 7);
	assert_int_equal(store_buckets_scan(f->s, count_bucket, &total, &d),
			 DF_OK);
	assert_int_equal(total, 8);
}

static int collect_pending(void *ctx, const store_job *job)
{
	uint64_t *n = ctx;

	(void)job;
	(*n)++;
	return 0;
}

static void test_store__jobs_survive_reopen(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/x", "/y" };
	uint64_t first = 0, pending = 0;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "b", paths, NULL, NULL,
					2, &first, &d), DF_OK);
	store_close(&f->s);
	assert_int_equal(store_open(&f->s, f->dir, false, &d), DF_OK);
	assert_int_equal(store_jobs_pending(f->s, collect_pending, &pending,
					    &d),
			 DF_OK);
	assert_int_equal(pending, 2);
	assert_int_equal(store_job_fail(f->s, first, "boom", true, &d), DF_OK);
	store_job *job = NULL;

	assert_int_equal(store_job_get(f->s, first, &job, &d), DF_OK);
	assert_int_equal(job->state, DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED);
	assert_string_equal(job->last_error, "boom");
	store_job_free(job);
	assert_int_equal(counter(f->s, "t/failed"), 1);
	assert_int_equal(store_job_get(f->s, 999, &job, &d), DF_ENOTFOUND);
	/* Next ids continue after a reopen. */
	assert_int_equal(store_jobs_add(f->s, "b", paths, NULL, NULL,
					1, &first, &d),
			 DF_OK);
	assert_int_equal(first, 3);
}

static void test_store__dump_record_roundtrip(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/z" };
	uint64_t first;
	struct fake fk;
	store_dump *back = NULL;
	struct diag d;

	diag_init(&d);
	store_jobs_add(f->s, "case-9", paths, NULL, NULL, 1, &first, &d);
	fake_init(&fk, 7, "dddddddddddddddd", 0x50);
	put(f->s, first, &fk.dm);
	assert_int_equal(store_dump_get(f->s, fk.hash, &back, &d), DF_OK);
	assert_string_equal(back->signature_hash, "dddddddddddddddd");
	assert_string_equal(back->batch, "case-9");
	assert_int_equal(back->bugcheck_code, 0x50);
	store_dump_free(back);
}

static void test_store__long_key_components_are_hashed(void **state)
{
	(void)state;
	char key[STORE_MAX_KEY + 1];
	char longname[600];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	store_counter_key(key, sizeof(key), "p/", longname);
	assert_true(strlen(key) < 40);
	assert_int_equal(key[2], '#');
	store_counter_key(key, sizeof(key), "p/", "bad\nname");
	assert_int_equal(key[2], '#');
	store_counter_key(key, sizeof(key), "p/", "self-dump");
	assert_string_equal(key, "p/self-dump");
}

static void test_store__readonly_open_of_missing_dir_fails(void **state)
{
	(void)state;
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_not_equal(store_open(&s, "/nonexistent/dumpfleet", true, &d),
			     DF_OK);
	assert_null(s);
	assert_true(diag_failed(&d));
}

static void test_store__map_grows_when_full(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	struct store_opts o = { false, 256 << 10 }; /* 256 KiB to start */
	struct store *s = NULL;
	static char json[2048];
	struct diag d;
	uint64_t first;

	diag_init(&d);
	memset(json, 'j', sizeof(json) - 1);
	assert_int_equal(store_open_ex(&s, dir, &o, &d), DF_OK);
	for (int i = 0; i < 600; i++) {
		char path[32], sig[17];
		const char *paths[1] = { path };
		struct fake fk;

		snprintf(path, sizeof(path), "/g/%d", i);
		snprintf(sig, sizeof(sig), "%016x", i % 37);
		assert_int_equal(store_jobs_add(s, "", paths, NULL, NULL,
						1, &first, &d),
				 DF_OK);
		fake_init(&fk, 1000 + i, sig, 0xC2);
		fk.dm.json = json;
		put(s, first, &fk.dm);
	}
	assert_int_equal(counter(s, "t/distinct"), 600);
	assert_int_equal(counter(s, "t/buckets"), 37);
	store_close(&s);
	test_rmtree(dir);
	free(dir);
}

static Dumpfleet__V1__JobState job_state(struct store *s, uint64_t id)
{
	store_job *job = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_job_get(s, id, &job, &d), DF_OK);
	Dumpfleet__V1__JobState st = job->state;

	store_job_free(job);
	return st;
}

/*
 * Results a hostile or broken worker can send: each fails its own job and
 * the rest of the batch is stored (a long signature hash used to abort the
 * whole transaction with MDB_BAD_VALSIZE; the others left jobs queued).
 */
static void test_store__invalid_results_fail_their_jobs(void **state)
{
	struct fixture *f = *state;
	const char *paths[6] = { "/1", "/2", "/3", "/4", "/5", "/6" };
	struct fake fk[6];
	struct store_result r[6];
	static char longhash[600];
	Dumpfleet__V1__Finding *many[STORE_MAX_FINDINGS + 1];
	uint64_t first = 0;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "", paths, NULL, NULL,
					6, &first, &d), DF_OK);
	for (int i = 0; i < 6; i++)
		fake_init(&fk[i], 300 + i, "eeeeeeeeeeeeeeee", 0xD1);
	memset(longhash, 'a', sizeof(longhash) - 1);
	fk[0].dm.signature_hash = longhash;
	fk[1].dm.content_hash.len = 5;
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = &fk[2].finding;
	fk[2].dm.n_findings = ARRAY_SIZE(many);
	fk[2].dm.findings = many;
	fk[3].dm.signature_hash = (char *)"\x1b[31mred";
	char *big = malloc(((size_t)17 << 20) + 1);

	assert_non_null(big);
	memset(big, 'j', (size_t)17 << 20);
	big[(size_t)17 << 20] = '\0';
	fk[4].dm.json = big;
	for (int i = 0; i < 6; i++)
		r[i] = (struct store_result){ first + (uint64_t)i, &fk[i].dm,
					      false, 0, 0 };
	assert_int_equal(store_results_put(f->s, r, 6, &d), DF_OK);
	free(big);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(job_state(f->s, first + (uint64_t)i),
				 DUMPFLEET__V1__JOB_STATE__JOB_FAILED);
		assert_int_equal(r[i].dfailed, 1);
		assert_int_equal(r[i].ddone, 0);
	}
	assert_int_equal(job_state(f->s, first + 5),
			 DUMPFLEET__V1__JOB_STATE__JOB_DONE);
	assert_int_equal(r[5].ddone, 1);
	assert_int_equal(counter(f->s, "t/failed"), 5);
	assert_int_equal(counter(f->s, "t/dumps"), 1);
	assert_int_equal(counter(f->s, "t/buckets"), 1);
}

/* Job ids FN was called with, in order. */
struct ids {
	uint64_t v[16];
	size_t n;
};

static int collect_ids(void *ctx, const store_job *job)
{
	struct ids *ids = ctx;

	assert_true(ids->n < 16);
	ids->v[ids->n++] = job->job_id;
	return 0;
}

static void pending_from(struct store *s, uint64_t after, size_t max,
			 struct ids *ids, uint64_t *last)
{
	size_t n = 99;
	struct diag d;

	diag_init(&d);
	ids->n = 0;
	assert_int_equal(store_jobs_pending_from(s, after, max, collect_ids,
						 ids, &n, last, &d),
			 DF_OK);
	assert_int_equal(n, ids->n);
}

/* The broker's window refill: resumable, in id order, finished skipped. */
static void test_store__pending_from_resumes_in_order(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/1", "/2", "/3", "/4", "/5", "/6" };
	uint64_t first = 0, last = 0;
	struct fake fk;
	struct ids ids;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "b", paths, NULL, NULL, 6,
					&first, &d), DF_OK);
	assert_int_equal(first, 1);
	fake_init(&fk, 1, "0123456789abcdef", 0);
	put(f->s, 2, &fk.dm);
	assert_int_equal(store_job_fail(f->s, 3, "boom", true, &d), DF_OK);
	assert_int_equal(store_job_fail(f->s, 5, "bad", false, &d), DF_OK);
	/* Done, quarantined and failed jobs are not pending. */
	pending_from(f->s, 0, 2, &ids, &last);
	assert_int_equal(ids.n, 2);
	assert_int_equal(ids.v[0], 1);
	assert_int_equal(ids.v[1], 4);
	assert_int_equal(last, 4);
	/* Resumed where it stopped: fewer than asked says the end. */
	pending_from(f->s, last, 2, &ids, &last);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.v[0], 6);
	assert_int_equal(last, 6);
	pending_from(f->s, last, 2, &ids, &last);
	assert_int_equal(ids.n, 0);
	assert_int_equal(last, 6);
	/* Jobs added later are found from the same place. */
	assert_int_equal(store_jobs_add(f->s, "b", paths, NULL, NULL, 1,
					&first, &d), DF_OK);
	pending_from(f->s, last, 10, &ids, &last);
	assert_int_equal(ids.n, 1);
	assert_int_equal(ids.v[0], 7);
	pending_from(f->s, 0, 0, &ids, &last);
	assert_int_equal(ids.n, 0);
	assert_int_equal(last, 0);
}

static void test_store__fail_unknown_or_finished_job(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/f" };
	static char reason[5000];
	uint64_t first = 0;
	store_job *job = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "", paths, NULL, NULL,
					1, &first, &d), DF_OK);
	/* A job id from the wire that the store never had: not a failure. */
	assert_int_equal(store_job_fail(f->s, 4242, "x", false, &d),
			 DF_ENOTFOUND);
	assert_false(diag_failed(&d));
	memset(reason, 'r', sizeof(reason) - 1);
	assert_int_equal(store_job_fail(f->s, first, reason, false, &d), DF_OK);
	assert_int_equal(store_job_fail(f->s, first, "again", true, &d),
			 DF_EEXIST);
	assert_int_equal(counter(f->s, "t/failed"), 1);
	assert_int_equal(store_job_get(f->s, first, &job, &d), DF_OK);
	assert_int_equal(job->state, DUMPFLEET__V1__JOB_STATE__JOB_FAILED);
	assert_int_equal(strlen(job->last_error), STORE_MAX_REASON);
	store_job_free(job);
}

static void test_store__late_result_after_quarantine_is_done_once(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/late" };
	uint64_t first = 0;
	struct fake fk;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "", paths, NULL, NULL,
					1, &first, &d), DF_OK);
	assert_int_equal(store_job_fail(f->s, first, "lease expired", true, &d),
			 DF_OK);
	assert_int_equal(counter(f->s, "t/failed"), 1);
	fake_init(&fk, 77, "ffffffffffffffff", 0x50);

	struct store_result r = { first, &fk.dm, false, 0, 0 };

	assert_int_equal(store_results_put(f->s, &r, 1, &d), DF_OK);
	assert_int_equal(r.ddone, 1);
	assert_int_equal(r.dfailed, -1);
	assert_int_equal(job_state(f->s, first),
			 DUMPFLEET__V1__JOB_STATE__JOB_DONE);
	/* Done now, so no longer counted as failed as well. */
	assert_int_equal(counter(f->s, "t/failed"), 0);
	assert_int_equal(counter(f->s, "t/quarantined"), 0);
	assert_int_equal(counter(f->s, "t/dumps"), 1);
	/* The same result once more changes nothing. */
	assert_int_equal(store_results_put(f->s, &r, 1, &d), DF_OK);
	assert_int_equal(r.ddone, 0);
	assert_int_equal(r.dfailed, 0);
	assert_int_equal(counter(f->s, "t/failed"), 0);
	assert_int_equal(counter(f->s, "t/dumps"), 1);
}

static void test_store__repeated_pattern_counts_once(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/twice" };
	Dumpfleet__V1__Finding *two[2];
	uint64_t first = 0;
	struct fake fk;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "", paths, NULL, NULL,
					1, &first, &d), DF_OK);
	fake_init(&fk, 88, "abababababababab", 0x50);
	two[0] = two[1] = &fk.finding;
	fk.dm.n_findings = 2;
	fk.dm.findings = two;
	put(f->s, first, &fk.dm);
	assert_int_equal(counter(f->s, "p/self-dump"), 1);
	assert_int_equal(counter(f->s, "pc/self-dump"), 0); /* confidence 0 */
}

/* Resign callback: every dump with findings moves to bucket "eeee...". */
static int to_e(void *ctx, const store_dump *dm, char *text, size_t len,
		char hash[17], uint32_t *version)
{
	(void)ctx;
	if (dm->sig_prefix == NULL || dm->sig_prefix[0] == '\0')
		return DF_ENOTFOUND;
	snprintf(text, len, "0x000000C2 | merged");
	snprintf(hash, 17, "eeeeeeeeeeeeeeee");
	*version = 3;
	return DF_OK;
}

static void test_store__resign_moves_counts_once(void **state)
{
	struct fixture *f = *state;
	const char *paths[4] = { "/r1", "/r2", "/r3", "/r4" };
	const char *hashes[4] = { "1111111111111111", "1111111111111111",
				  "2222222222222222", "3333333333333333" };
	uint64_t first = 0;
	struct store_resign_stats st;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "", paths, NULL, NULL,
					4, &first, &d), DF_OK);
	for (int i = 0; i < 4; i++) {
		struct fake fk;

		fake_init(&fk, 500 + i, hashes[i], 0xC2);
		/* The last one kept no signature inputs: it stays put. */
		fk.dm.sig_prefix = (char *)(i < 3 ? "0x000000C2" : "");
		put(f->s, first + (uint64_t)i, &fk.dm);
	}
	assert_int_equal(counter(f->s, "t/buckets"), 3);
	assert_int_equal(counter(f->s, "bp/1111111111111111/self-dump"), 2);
	assert_int_equal(store_resign(f->s, to_e, NULL, &st, &d), DF_OK);
	assert_int_equal(st.seen, 4);
	assert_int_equal(st.moved, 3);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(counter(f->s, "t/buckets"), 2);
	assert_int_equal(counter(f->s, "k/1111111111111111"), 0);
	assert_int_equal(counter(f->s, "k/eeeeeeeeeeeeeeee"), 3);
	assert_int_equal(counter(f->s, "k/3333333333333333"), 1);
	assert_int_equal(counter(f->s, "bp/eeeeeeeeeeeeeeee/self-dump"), 3);
	assert_int_equal(counter(f->s, "bp/1111111111111111/self-dump"), 0);
	assert_int_equal(counter(f->s, "t/distinct"), 4);

	store_bucket *b = NULL;

	assert_int_equal(store_bucket_get(f->s, "1111111111111111", &b, &d),
			 DF_ENOTFOUND);
	assert_int_equal(store_bucket_get(f->s, "eeeeeeeeeeeeeeee", &b, &d),
			 DF_OK);
	assert_int_equal(b->count, 3);
	assert_int_equal(b->n_samples, 3);
	assert_string_equal(b->signature, "0x000000C2 | merged");
	store_bucket_free(b);

	/* Again: everything is where it belongs, nothing moves or doubles. */
	assert_int_equal(store_resign(f->s, to_e, NULL, &st, &d), DF_OK);
	assert_int_equal(st.moved, 0);
	assert_int_equal(counter(f->s, "k/eeeeeeeeeeeeeeee"), 3);
	assert_int_equal(counter(f->s, "t/buckets"), 2);
}

/*
 * The report counters: per batch (x/ and the g/<batch>/ scope), blamed
 * module, hypervisors, a bucket's OS versions, daily twins on the day
 * given, names of hashed components; a result stored twice counts once.
 */
static void test_store__report_counters_count_once(void **state)
{
	struct fixture *f = *state;
	const char *paths[2] = { "/b1", "/b2" };
	const char *odd[1] = { "/odd" };
	uint64_t first = 0, oddid = 0;
	const uint64_t day = 20000; /* 2024-10-04 */
	struct fake fk[2];
	struct diag d;
	char name[64];

	diag_init(&d);
	assert_int_equal(store_jobs_add(f->s, "case-1", paths, NULL, NULL, 2, &first, &d),
			 DF_OK);
	for (int i = 0; i < 2; i++) {
		fake_init(&fk[i], 900 + i, "5555555555555555", 0xD1);
		fk[i].dm.os_ver = (char *)"10.0.19041 (Windows 10)";
		fk[i].finding.pattern = (char *)"virtualized-system";
		fk[i].finding.title =
			(char *)"Virtualized system: VMware, Hyper-V / Virtual PC";
		fk[i].finding.confidence = 90;
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 2; i++) {
			struct store_result r = { first + (uint64_t)i, &fk[i].dm,
						  false, 0, 0 };

			assert_int_equal(store_results_put_at(f->s, &r, 1,
							      day * 86400 + 60,
							      &d),
					 DF_OK);
		}
	assert_int_equal(counter(f->s, "x/case-1/dumps"), 2);
	assert_int_equal(counter(f->s, "x/case-1/distinct"), 2);
	assert_int_equal(counter(f->s, "d/20241004/x/case-1/dumps"), 2);
	assert_int_equal(counter(f->s, "g/case-1/b/0x000000D1"), 2);
	assert_int_equal(counter(f->s, "g/case-1/d/20241004/k/5555555555555555"),
			 2);
	assert_int_equal(counter(f->s, "d/20241004/m/acme.sys"), 2);
	assert_int_equal(counter(f->s, "m/acme.sys"), 2);
	assert_int_equal(counter(f->s, "hv/VMware"), 2);
	assert_int_equal(counter(f->s, "d/20241004/pc/virtualized-system"), 2);

	char key[STORE_MAX_KEY + 1];

	store_counter_key(key, sizeof(key), "hv/", "Hyper-V / Virtual PC");
	assert_int_equal(counter(f->s, key), 2);
	assert_int_equal(store_name_get(f->s, key + 3, name, sizeof(name), &d),
			 DF_OK);
	assert_string_equal(name, "Hyper-V / Virtual PC");
	store_counter_key(key, sizeof(key), "bo/5555555555555555/",
			  "10.0.19041 (Windows 10)");
	assert_int_equal(counter(f->s, key), 2);
	/* A name that looks like a hashed one is hashed itself. */
	store_counter_key(key, sizeof(key), "m/", "#0123456789abcdef");
	assert_string_not_equal(key, "m/#0123456789abcdef");

	store_bucket *b = NULL;

	assert_int_equal(store_bucket_get(f->s, "5555555555555555", &b, &d),
			 DF_OK);
	assert_int_equal(b->first_seen, day * 86400 + 60);
	store_bucket_free(b);

	/* A batch tag with a '/' and spaces is hashed, its text kept. */
	assert_int_equal(store_jobs_add(f->s, "acme / case 2", odd, NULL, NULL, 1, &oddid,
					&d),
			 DF_OK);
	assert_int_equal(store_job_fail(f->s, oddid, "gone", true, &d), DF_OK);
	store_batch_key(name, sizeof(name), "acme / case 2");
	assert_int_equal(name[0], '#');
	snprintf(key, sizeof(key), "x/%s/quarantined", name);
	assert_int_equal(counter(f->s, key), 1);
	assert_int_equal(counter(f->s, "t/quarantined"), 1);

	char text[64];

	assert_int_equal(store_name_get(f->s, name, text, sizeof(text), &d),
			 DF_OK);
	assert_string_equal(text, "acme / case 2");
}

/* Today's day component of counter keys ("YYYYMMDD"). */
static void today(char out[9])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 9, "%Y%m%d", &tm);
}

/* Counter HEAD + DAY + TAIL, e.g. "d/" 20261126 "/t/failed". */
static uint64_t counter_on(struct store *s, const char *head, const char *day,
			   const char *tail)
{
	char key[128];

	snprintf(key, sizeof(key), "%s%s%s", head, day, tail);
	return counter(s, key);
}

/*
 * A failure counts on the day it happened, in every scope, and is taken
 * back from that day when the job is retried or gives a result: a job
 * quarantined, retried and quarantined again is one quarantined job.
 */
static void test_store__failures_count_on_their_day(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = { "/c9/a.dmp" };
	uint64_t id = 0;
	size_t skipped = 0;
	struct store_job_list l = { 0 };
	char day[9], after[9];
	struct fake a;
	struct diag d;

	diag_init(&d);
	today(day);
	assert_int_equal(store_jobs_add(f->s, "case9", paths, NULL, NULL, 1,
					&id, &d),
			 DF_OK);
	assert_int_equal(store_job_fail(f->s, id, "boom", true, &d), DF_OK);
	assert_int_equal(counter_on(f->s, "d/", day, "/t/failed"), 1);
	assert_int_equal(counter_on(f->s, "d/", day, "/t/quarantined"), 1);
	assert_int_equal(counter_on(f->s, "g/case9/d/", day, "/t/failed"), 1);
	assert_int_equal(counter_on(f->s, "d/", day, "/x/case9/quarantined"), 1);

	assert_int_equal(store_jobs_retry(f->s, &id, 1, 10, &l, &skipped, &d),
			 DF_OK);
	assert_int_equal(l.n, 1);
	store_job_list_release(&l);
	assert_int_equal(counter(f->s, "t/failed"), 0);
	assert_int_equal(counter(f->s, "t/quarantined"), 0);
	assert_int_equal(counter(f->s, "x/case9/quarantined"), 0);
	assert_int_equal(counter_on(f->s, "d/", day, "/t/quarantined"), 0);

	assert_int_equal(store_job_fail(f->s, id, "boom again", true, &d),
			 DF_OK);
	assert_int_equal(counter(f->s, "t/quarantined"), 1);
	assert_int_equal(counter(f->s, "t/failed"), 1);

	/* A late result: done, no longer failed on its day either. */
	fake_init(&a, 9, "9999999999999999", 0xD1);
	put(f->s, id, &a.dm);
	assert_int_equal(counter(f->s, "t/failed"), 0);
	assert_int_equal(counter(f->s, "t/quarantined"), 0);
	assert_int_equal(counter_on(f->s, "d/", day, "/t/failed"), 0);
	assert_int_equal(counter_on(f->s, "g/case9/d/", day, "/t/failed"), 0);
	today(after);
	if (strcmp(day, after) != 0)
		skip(); /* midnight passed: the day keys above may differ */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store__result_counts_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store__failures_count_on_their_day, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store__buckets_group_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store__jobs_survive_reopen,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store__dump_record_roundtrip, setup, teardown),
		cmocka_unit_test(test_store__long_key_components_are_hashed),
		cmocka_unit_test_setup_teardown(
			test_store__resign_moves_counts_once, setup, teardown),
		cmocka_unit_test(test_store__map_grows_when_full),
		cmocka_unit_test(test_store__readonly_open_of_missing_dir_fails),
		cmocka_unit_test_setup_teardown(
			test_store__invalid_results_fail_their_jobs, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_store__fail_unknown_or_finished_job, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store__pending_from_resumes_in_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_store__late_result_after_quarantine_is_done_once,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store__repeated_pattern_counts_once, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_store__report_counters_count_once, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
