/*
 * Unit tests for store/counts (counter changes gathered per write) and
 * for the store's batched writes: a batch of results leaves the same
 * counters, names and buckets as the same results written one by one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "counts.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"
#include "testutil.h"

/* ---- counts ------------------------------------------------------------ */

struct seen {
	char keys[8][16];
	int64_t sums[8];
	uint64_t floors[8];
	int n;
};

static int collect(void *ctx, const char *key, size_t len, int64_t sum,
		   uint64_t floor)
{
	struct seen *s = ctx;

	assert_true(s->n < 8 && len < 16);
	memcpy(s->keys[s->n], key, len);
	s->keys[s->n][len] = '\0';
	s->sums[s->n] = sum;
	s->floors[s->n] = floor;
	s->n++;
	return 0;
}

static void test_counts__sums_in_key_order(void **state)
{
	struct counts *c = counts_new();
	struct seen s = { .n = 0 };
	bool fresh = false;
	char big[COUNTS_MAX_KEY + 1];

	(void)state;
	assert_non_null(c);
	assert_int_equal(counts_each(c, collect, &s), 0); /* empty */
	assert_int_equal(s.n, 0);
	/* LMDB's order: bytewise, and a key before its extensions. */
	assert_int_equal(counts_add(c, "ab", 2, 1, &fresh), 0);
	assert_true(fresh);
	assert_int_equal(counts_add(c, "a/b", 3, 1, &fresh), 0);
	assert_int_equal(counts_add(c, "a", 1, 1, &fresh), 0);
	assert_int_equal(counts_add(c, "ab", 2, 1, &fresh), 0);
	assert_false(fresh);
	assert_int_equal(counts_add(c, "a", 1, -1, NULL), 0);
	assert_int_equal(counts_size(c), 3);
	assert_int_equal(counts_each(c, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.keys[0], "a");
	assert_string_equal(s.keys[1], "a/b");
	assert_string_equal(s.keys[2], "ab");
	assert_int_equal(s.sums[0], 0);
	assert_int_equal(s.sums[1], 1);
	assert_int_equal(s.sums[2], 2);
	/* "a" went +1 then -1: from 0 it is back at 0, from 5 at 5. */
	assert_int_equal(counts_apply(s.sums[0], s.floors[0], 0), 0);
	assert_int_equal(counts_apply(s.sums[0], s.floors[0], 5), 5);
	assert_int_equal(counts_apply(s.sums[2], s.floors[2], 7), 9);

	counts_reset(c);
	assert_int_equal(counts_size(c), 0);
	assert_int_equal(counts_add(c, "ab", 2, 1, &fresh), 0);
	assert_true(fresh);
	memset(big, 'x', sizeof(big));
	assert_int_equal(counts_add(c, big, sizeof(big), 1, NULL), EINVAL);
	assert_int_equal(counts_add(c, big, 0, 1, NULL), EINVAL);
	assert_int_equal(counts_add(c, big, sizeof(big) - 1, 1, NULL), 0);
	counts_destroy(&c);
	assert_null(c);
	counts_destroy(&c);
}

/* A small deterministic generator (xorshift64), so runs compare. */
static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

struct model {
	uint64_t start[64], want[64];
	int checked;
};

static int check_one(void *ctx, const char *key, size_t len, int64_t sum,
		     uint64_t floor)
{
	struct model *m = ctx;
	int i = 0;

	assert_true(len > 1 && len < 4 && key[0] == 'k');
	for (size_t k = 1; k < len; k++)
		i = i * 10 + (key[k] - '0');
	assert_true(i >= 0 && i < 64);
	assert_int_equal(counts_apply(sum, floor, m->start[i]), m->want[i]);
	m->checked++;
	return 0;
}

/*
 * Changes gathered and applied at once give what applying them one at a
 * time, never below zero, gives: random runs of +-1 and +-3 over small
 * counters, which hit zero often.
 */
static void test_counts__floor_matches_one_by_one(void **state)
{
	struct counts *c = counts_new();
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	assert_non_null(c);
	for (int round = 0; round < 200; round++) {
		struct model m = { .checked = 0 };
		bool used[64] = { false };
		int nused = 0;

		counts_reset(c);
		for (int i = 0; i < 64; i++)
			m.start[i] = m.want[i] = rng(&seed) % 4;
		for (int step = 0; step < 400; step++) {
			int i = (int)(rng(&seed) % 64);
			int64_t d = (rng(&seed) & 1) ? 1 : -1;
			char key[8];
			int n = snprintf(key, sizeof(key), "k%d", i);

			if (rng(&seed) % 5 == 0)
				d *= 3;
			assert_int_equal(counts_add(c, key, (size_t)n, d, NULL),
					 0);
			nused += !used[i];
			used[i] = true;
			if (d < 0 && m.want[i] < (uint64_t)-d)
				m.want[i] = 0;
			else
				m.want[i] += (uint64_t)d;
		}
		assert_int_equal(counts_each(c, check_one, &m), 0);
		assert_int_equal(m.checked, nused);
	}
	counts_destroy(&c);
}

struct order {
	char last[32];
	size_t n;
	int64_t total;
};

static int check_order(void *ctx, const char *key, size_t len, int64_t sum,
		       uint64_t floor)
{
	struct order *o = ctx;
	char k[32];

	(void)floor;
	assert_true(len < sizeof(k));
	memcpy(k, key, len);
	k[len] = '\0';
	if (o->n > 0)
		assert_true(strcmp(o->last, k) < 0);
	memcpy(o->last, k, len + 1);
	o->n++;
	o->total += sum;
	return 0;
}

static int stop_at_two(void *ctx, const char *key, size_t len, int64_t sum,
		       uint64_t floor)
{
	int *n = ctx;

	(void)key, (void)len, (void)sum, (void)floor;
	return ++*n == 2 ? 42 : 0;
}

/* Many keys: the table grows, nothing is lost, the order holds. */
static void test_counts__grows(void **state)
{
	struct counts *c = counts_new();
	struct order o = { "", 0, 0 };
	int calls = 0;

	(void)state;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 20000; i++) {
			char key[32];
			int n = snprintf(key, sizeof(key), "d/%d/t/dumps",
					 (i * 7919) % 20000);

			assert_int_equal(counts_add(c, key, (size_t)n, 1,
						    NULL),
					 0);
		}
	assert_int_equal(counts_size(c), 20000);
	assert_int_equal(counts_each(c, check_order, &o), 0);
	assert_int_equal(o.n, 20000);
	assert_int_equal(o.total, 40000);
	assert_int_equal(counts_each(c, stop_at_two, &calls), 42);
	assert_int_equal(calls, 2);
	counts_destroy(&c);
}

/* ---- the store: one batch equals one result at a time ------------------ */

struct fake {
	uint8_t hash[HASH_LEN];
	char sighash[17];
	store_dump dm;
	Dumpfleet__V1__Finding finding[2];
	Dumpfleet__V1__Finding *findings[2];
};

static const char *const titles[] = {
	"Virtualized system: VMware, Hyper-V / Virtual PC",
	"Virtualized system: KVM/QEMU",
	"Virtualized system",
};

/* Result I: contents repeat every 29, buckets every 3, findings vary. */
static void fake_init(struct fake *fk, int i)
{
	char text[32];

	snprintf(text, sizeof(text), "content-%d", i % 29);
	hash_sha256(text, strlen(text), fk->hash);
	snprintf(fk->sighash, sizeof(fk->sighash), "%016x", 0xb0 + i % 3);
	dumpfleet__v1__dump__init(&fk->dm);
	for (int k = 0; k < 2; k++) {
		dumpfleet__v1__finding__init(&fk->finding[k]);
		fk->findings[k] = &fk->finding[k];
	}
	fk->finding[0].pattern = (char *)(i % 2 ? "virtualized-system"
					       : "heap-corruption");
	fk->finding[0].title = (char *)titles[(i / 2) % 3];
	fk->finding[0].confidence = i % 3 ? 90 : 10;
	fk->finding[1].pattern = (char *)"heap-corruption"; /* repeated */
	fk->dm.content_hash.data = fk->hash;
	fk->dm.content_hash.len = HASH_LEN;
	fk->dm.format = (char *)(i % 2 ? "minidump" : "kernel-dump");
	fk->dm.signature = (char *)"0x000000D1 | acme!f";
	fk->dm.signature_hash = fk->sighash;
	fk->dm.has_bugcheck = i % 3 != 0;
	fk->dm.bugcheck_code = 0xD1 + (uint32_t)(i % 2);
	fk->dm.has_exception = i % 3 == 0;
	fk->dm.exception_code = 0xC0000005;
	fk->dm.blame_module = (char *)(i % 4 ? "acme.sys" : "odd module.sys");
	fk->dm.os_ver = (char *)(i % 2 ? "10.0.19045" : "10.0.22631 (Win 11)");
	fk->dm.n_findings = (size_t)(i % 3);
	fk->dm.findings = fk->findings;
	if (i % 11 == 10)
		fk->dm.content_hash.len = 3; /* invalid: fails its job */
}

#define NRES 60

/*
 * The same history in store S: jobs in two batches (one with a name that
 * is hashed), a few failed or quarantined first, then NRES results (some
 * twice, some for the same content or path) in two calls (the second
 * finds the first's buckets stored) or one by one.
 */
static void history(struct store *s, bool batched, uint64_t at)
{
	const char *paths[NRES / 2];
	char names[NRES / 2][32];
	struct fake *fk = calloc(NRES + 5, sizeof(*fk));
	struct store_result res[NRES + 5];
	uint64_t first[2] = { 0, 0 };
	struct diag d;
	size_t n = 0;

	diag_init(&d);
	assert_non_null(fk);
	for (int i = 0; i < NRES / 2; i++) {
		/* Paths repeat: the same (path, content) counts once. */
		snprintf(names[i], sizeof(names[i]), "/d/%d.dmp", i % 9);
		paths[i] = names[i];
	}
	assert_int_equal(store_jobs_add(s, "case-1", paths, NULL, NULL,
					NRES / 2, &first[0], &d),
			 DF_OK);
	assert_int_equal(store_jobs_add(s, "acme / case 2", paths, NULL, NULL,
					NRES / 2, &first[1], &d),
			 DF_OK);
	assert_int_equal(store_job_fail(s, first[0] + 3, "died", false, &d),
			 DF_OK);
	assert_int_equal(store_job_fail(s, first[1] + 4, "hung", true, &d),
			 DF_OK);
	for (int i = 0; i < NRES; i++) {
		fake_init(&fk[n], i);
		res[n] = (struct store_result){ (uint64_t)(i + 1), &fk[n].dm,
						false, 0, 0 };
		n++;
		if (i % 13 == 0) { /* the same result again */
			res[n] = res[n - 1];
			n++;
		}
	}
	if (batched) {
		assert_int_equal(store_results_put_at(s, res, n / 2, at, &d),
				 DF_OK);
		assert_int_equal(store_results_put_at(s, res + n / 2,
						      n - n / 2, at + 1, &d),
				 DF_OK);
	}
	for (size_t i = 0; !batched && i < n; i++)
		assert_int_equal(store_results_put_at(s, &res[i], 1,
						      at + (i >= n / 2), &d),
				 DF_OK);
	free(fk);
}

/* Every counter, as "key=value\n" lines. */
struct text {
	char *buf;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	memcpy(t->buf + t->len, s, n + 1);
	t->len += n;
}

static int add_counter(void *ctx, const char *key, uint64_t v)
{
	char line[STORE_MAX_KEY + 32];

	snprintf(line, sizeof(line), "%s=%llu\n", key, (unsigned long long)v);
	text_add(ctx, line);
	return 0;
}

static int add_bucket(void *ctx, const store_bucket *b)
{
	char line[256];

	snprintf(line, sizeof(line), "bucket %s count=%llu first=%llu "
		 "last=%llu bugcheck=%u/%x blame=%s sig=%s samples:",
		 b->signature_hash, (unsigned long long)b->count,
		 (unsigned long long)b->first_seen,
		 (unsigned long long)b->last_seen, b->has_bugcheck,
		 b->bugcheck_code, b->blame_module, b->signature);
	text_add(ctx, line);
	for (size_t i = 0; i < b->n_samples; i++) {
		char hex[HASH_HEX_LEN + 2] = " ";

		assert_int_equal(b->samples[i].len, HASH_LEN);
		hash_hex(b->samples[i].data, HASH_LEN, hex + 1);
		text_add(ctx, hex);
	}
	text_add(ctx, "\n");
	return 0;
}

/* Counters, buckets and the names of hashed key components of S. */
static char *store_text(struct store *s)
{
	struct text t = { NULL, 0, 0 };
	struct diag d;
	struct store_job_counts jc;
	char line[256];

	diag_init(&d);
	text_add(&t, "");
	/* Every key: they are printable text. */
	assert_int_equal(store_counters_range(s, "\x01", "\x7f", add_counter,
					      &t, &d),
			 DF_OK);
	assert_int_equal(store_buckets_scan(s, add_bucket, &t, &d), DF_OK);
	assert_int_equal(store_job_counts(s, &jc, &d), DF_OK);
	snprintf(line, sizeof(line), "jobs done=%llu failed=%llu q=%llu\n",
		 (unsigned long long)jc.done, (unsigned long long)jc.failed,
		 (unsigned long long)jc.quarantined);
	text_add(&t, line);
	/* Each hashed component in a key must have its text kept. */
	for (char *p = strchr(t.buf, '#'); p != NULL; p = strchr(p + 1, '#')) {
		char comp[18], name[STORE_MAX_NAME + 1];

		memcpy(comp, p, 17);
		comp[17] = '\0';
		assert_int_equal(store_name_get(s, comp, name, sizeof(name),
						&d),
				 DF_OK);
		assert_true(name[0] != '\0');
	}
	return t.buf;
}

static void test_store__batch_equals_one_by_one(void **state)
{
	char *dir[2];
	char *text[2];
	const uint64_t at = 20000ULL * 86400 + 600;

	(void)state;
	hash_global_init();
	for (int b = 0; b < 2; b++) {
		struct store *s = NULL;
		struct diag d;

		diag_init(&d);
		dir[b] = test_tmpdir();
		assert_non_null(dir[b]);
		assert_int_equal(store_open(&s, dir[b], false, &d), DF_OK);
		history(s, b == 1, at);
		text[b] = store_text(s);
		store_close(&s);
		test_rmtree(dir[b]);
		free(dir[b]);
	}
	/* Not trivially equal: the history counts something everywhere. */
	assert_non_null(strstr(text[0], "\nt/dumps="));
	assert_non_null(strstr(text[0], "g/#"));
	assert_non_null(strstr(text[0], "\nt/failed=5\n"));
	assert_non_null(strstr(text[0], "\nt/quarantined=0\n")); /* +1 -1 */
	assert_non_null(strstr(text[0], "hv/#"));
	assert_string_equal(text[0], text[1]);
	free(text[0]);
	free(text[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts__sums_in_key_order),
		cmocka_unit_test(test_counts__floor_matches_one_by_one),
		cmocka_unit_test(test_counts__grows),
		cmocka_unit_test(test_store__batch_equals_one_by_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
