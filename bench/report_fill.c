/*
 * report_fill - fill a store with synthetic dump results for the report
 * benchmark (bench/report.sh), and time raw LMDB puts of the same records
 * in the same run as the baseline.
 *
 * Usage: report_fill STORE_DIR RAW_DIR RECORDS BUCKETS DAYS [BATCH [MODE]]
 *
 * Results go through store_results_put_at in batches of BATCH (default
 * 256), spread evenly over DAYS days ending yesterday, so every counter,
 * bucket and sample a real fleet writes is written. MODE "days" (the
 * default) writes each batch's results of one day in one call, so that
 * they count on their day (a batch spans a few days: several synced
 * commits); "flush" writes each batch in one call on the day of its
 * first record, as the broker writes what arrived within one flush. Bucket sizes follow a power law
 * (a few large buckets, many of one or two dumps), a few buckets rise in
 * the last week, and dumps carry batches, bugchecks, exceptions, modules,
 * OS versions and findings drawn from small tables. The baseline puts the
 * same packed records, under the same keys and in the same batches, into
 * a bare LMDB environment.
 * Prints "fill_records_per_s=N raw_records_per_s=N" and details, with
 * the CPU seconds each spent (wall time is mostly fsync when a batch
 * takes several commits).
 */
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"

static const uint32_t bugchecks[] = { 0xD1, 0x50, 0x0A, 0x1E, 0x7E, 0x3B,
				      0x9F, 0xC2, 0x19, 0x124, 0xEF, 0x133 };
static const uint32_t exceptions[] = { 0xC0000005, 0xC0000409, 0xC0000374,
				       0x80000003, 0xC00000FD };
static const char *const os_vers[] = { "10.0.19045", "10.0.22631",
				       "10.0.17763", "6.1.7601",
				       "10.0.20348" };
static const char *const patterns[] = { "incorrect-stack-trace",
					"irql-violation", "heap-corruption",
					"dynamic-memory-corruption",
					"virtualized-system", "self-dump" };
static const char *const hypervisors[] = {
	"Virtualized system: VMware", "Virtualized system: Hyper-V / Virtual PC",
	"Virtualized system: KVM/QEMU",
};
static const char *const vendors[] = { "nvlddmkm.sys", "atikmdag.sys",
				       "igdkmd64.sys", "ntoskrnl.exe",
				       "tcpip.sys", "ntfs.sys" };

#define RAW_MAX 1024 /* bytes: a packed synthetic record is far smaller */

/* A small deterministic generator (xorshift64*), so runs compare. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* Seconds of wall and CPU time spent in the timed parts. */
struct spent {
	double wall, cpu;
};

/* Everything one synthetic record points at. */
struct rec {
	uint8_t hash[HASH_LEN];
	char sighash[17], sig[160], blame[48], source[64];
	Dumpfleet__V1__Finding f;
	Dumpfleet__V1__Finding *fs[1];
	store_dump dm;
	uint64_t day;
};

/*
 * Record I of N: bucket drawn from a power law over NB buckets (bucket
 * k has weight ~ 1/(k+1)), every tenth record taking the next bucket in
 * turn so that all NB are used; buckets 3..7 rise in the last week.
 */
static void make_rec(struct rec *r, uint64_t i, uint64_t n, uint64_t nb,
		     uint64_t days, uint64_t first_day, uint64_t *seed)
{
	uint64_t x = rng_next(seed);
	double u = (double)(x >> 11) / 9007199254740992.0;
	uint64_t b = (uint64_t)(exp(u * log((double)nb + 1.0))) - 1;
	char text[32];

	if (b >= nb)
		b = nb - 1;
	/* Every tenth record visits the buckets in turn: all of them fill. */
	if (i % 10 == 0)
		b = (i / 10) % nb;
	r->day = first_day + i * days / n;
	/* Buckets 3..7 rise: half their dumps land in the last 7 days. */
	if (b >= 3 && b < 8 && (x & 1))
		r->day = first_day + days - 1 - (x >> 8) % 7;
	snprintf(text, sizeof(text), "synthetic %llu", (unsigned long long)i);
	hash_sha256(text, strlen(text), r->hash);
	snprintf(r->sighash, sizeof(r->sighash), "%016llx",
		 (unsigned long long)((b + 1) * 0x9E3779B97F4A7C15ULL));
	uint32_t code = bugchecks[b % ARRAY_SIZE(bugchecks)];
	bool kernel = b % 3 != 0;

	if (b % 7 == 0)
		snprintf(r->blame, sizeof(r->blame), "%s",
			 vendors[b % ARRAY_SIZE(vendors)]);
	else
		snprintf(r->blame, sizeof(r->blame), "drv%llu.sys",
			 (unsigned long long)(b % 500));
	/* Buckets >= 50000 share a top frame per 1000: spray groups. */
	if (b >= 50000)
		snprintf(r->sig, sizeof(r->sig),
			 "0x%08X | spray%llu!Hot | caller%llu!f", code,
			 (unsigned long long)(b / 1000),
			 (unsigned long long)b);
	else
		snprintf(r->sig, sizeof(r->sig), "0x%08X | %s!f%llu | nt!g",
			 code, r->blame, (unsigned long long)b);
	snprintf(r->source, sizeof(r->source), "/spool/%llu.dmp",
		 (unsigned long long)i);
	dumpfleet__v1__dump__init(&r->dm);
	dumpfleet__v1__finding__init(&r->f);
	r->dm.content_hash.data = r->hash;
	r->dm.content_hash.len = HASH_LEN;
	r->dm.size = 65536;
	r->dm.format = (char *)(kernel ? "kernel-dump" : "minidump");
	r->dm.source = r->source;
	r->dm.batch = NULL; /* the store takes it from the job, as in a fleet */
	r->dm.has_bugcheck = kernel;
	r->dm.bugcheck_code = code;
	r->dm.has_exception = !kernel;
	r->dm.exception_code = exceptions[b % ARRAY_SIZE(exceptions)];
	r->dm.os_ver = (char *)os_vers[(x >> 30) % ARRAY_SIZE(os_vers)];
	r->dm.blame_module = r->blame;
	r->dm.signature = r->sig;
	r->dm.signature_hash = r->sighash;
	r->dm.analysed_at = r->day * 86400;
	if ((x >> 40) % 10 < 3) {
		size_t p = (x >> 44) % ARRAY_SIZE(patterns);

		r->f.pattern = (char *)patterns[p];
		r->f.title = (char *)(strcmp(patterns[p], "virtualized-system")
					      ? ""
					      : hypervisors[(x >> 50) % 3]);
		r->f.confidence = 80;
		r->fs[0] = &r->f;
		r->dm.n_findings = 1;
		r->dm.findings = r->fs;
	}
}

static int by_day(const void *a, const void *b)
{
	const struct store_result *x = a, *y = b;

	if (x->dump->analysed_at != y->dump->analysed_at)
		return x->dump->analysed_at < y->dump->analysed_at ? -1 : 1;
	return x->job_id < y->job_id ? -1 : x->job_id > y->job_id;
}

static int fill_store(const char *dir, uint64_t n, uint64_t nb,
		      uint64_t days, size_t batch, bool flush,
		      struct spent *secs)
{
	struct store *s = NULL;
	struct diag d;
	struct rec *recs = calloc(batch, sizeof(*recs));
	struct store_result *res = calloc(batch, sizeof(*res));
	const char **paths = calloc(batch, sizeof(*paths));
	uint64_t first_day = (uint64_t)time(NULL) / 86400 - days;
	uint64_t seed = 0x5eed, id = 0;
	struct spent t = { 0, 0 };

	diag_init(&d);
	if (recs == NULL || res == NULL || paths == NULL ||
	    store_open(&s, dir, false, &d) != DF_OK) {
		fprintf(stderr, "report_fill: %s\n", d.msg);
		return 1;
	}
	for (uint64_t i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? (size_t)(n - i) : batch;

		char tag[24];

		/* A submission of BATCH files is one case's upload. */
		snprintf(tag, sizeof(tag), "case-%llu",
			 (unsigned long long)(i / batch) % 20);
		for (size_t k = 0; k < m; k++) {
			make_rec(&recs[k], i + k, n, nb, days, first_day, &seed);
			paths[k] = recs[k].source;
		}
		/* Jobs are queued at submission, before analysis: not timed. */
		if (store_jobs_add(s, tag, paths, NULL, NULL, m, &id, &d) != DF_OK)
			break;
		/* Results of one day per call: sorted by day, in place. */
		for (size_t k = 0; k < m; k++) {
			memset(&res[k], 0, sizeof(res[k]));
			res[k].job_id = id + k;
			res[k].dump = &recs[k].dm;
		}
		qsort(res, m, sizeof(*res), by_day);
		double t0 = now_s(), c0 = cpu_s();

		for (size_t k = 0; k < m;) {
			size_t e = k;
			uint64_t day = res[k].dump->analysed_at / 86400;

			while (e < m && (flush ||
					 res[e].dump->analysed_at / 86400 == day))
				e++;
			if (store_results_put_at(s, res + k, e - k,
						 day * 86400 + 43200,
						 &d) != DF_OK)
				break;
			k = e;
		}
		t.wall += now_s() - t0;
		t.cpu += cpu_s() - c0;
	}
	store_close(&s);
	free(recs);
	free(res);
	free(paths);
	*secs = t;
	if (d.code != DF_OK)
		fprintf(stderr, "report_fill: %s\n", d.msg);
	return d.code != DF_OK;
}

/* The baseline: the same packed records under the same keys, bare LMDB. */
static int fill_raw(const char *dir, uint64_t n, uint64_t nb, uint64_t days,
		    size_t batch, struct spent *secs)
{
	MDB_env *env;
	MDB_dbi dbi;
	struct rec r;
	uint64_t seed = 0x5eed, first_day = (uint64_t)time(NULL) / 86400 - days;
	uint8_t *buf = malloc(batch * RAW_MAX);
	uint8_t *keys = malloc(batch * HASH_LEN);
	size_t *lens = malloc(batch * sizeof(*lens));
	double t0, c0;
	int rc;

	mkdir(dir, 0750);
	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, (size_t)16 << 30);
	if (rc == 0)
		rc = mdb_env_open(env, dir, MDB_NOTLS, 0640);
	if (rc != 0 || buf == NULL || keys == NULL || lens == NULL) {
		fprintf(stderr, "report_fill: raw lmdb: %s\n", mdb_strerror(rc));
		return 1;
	}
	*secs = (struct spent){ 0, 0 };
	for (uint64_t i = 0; rc == 0 && i < n; i += batch) {
		size_t m = n - i < batch ? (size_t)(n - i) : batch;
		MDB_txn *txn;

		/* Made and packed first: only the puts are timed. */
		for (size_t k = 0; k < m; k++) {
			make_rec(&r, i + k, n, nb, days, first_day, &seed);
			memcpy(keys + k * HASH_LEN, r.hash, HASH_LEN);
			lens[k] = protobuf_c_message_pack(&r.dm.base,
							  buf + k * RAW_MAX);
		}
		t0 = now_s();
		c0 = cpu_s();
		rc = mdb_txn_begin(env, NULL, 0, &txn);
		if (rc == 0 && i == 0)
			rc = mdb_dbi_open(txn, NULL, 0, &dbi);
		for (size_t k = 0; rc == 0 && k < m; k++) {
			MDB_val key = { HASH_LEN, keys + k * HASH_LEN };
			MDB_val val = { lens[k], buf + k * RAW_MAX };

			rc = mdb_put(txn, dbi, &key, &val, 0);
		}
		rc = rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
		secs->wall += now_s() - t0;
		secs->cpu += cpu_s() - c0;
	}
	mdb_env_close(env);
	free(buf);
	free(keys);
	free(lens);
	if (rc != 0)
		fprintf(stderr, "report_fill: raw lmdb: %s\n", mdb_strerror(rc));
	return rc != 0;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: report_fill STORE_DIR RAW_DIR RECORDS "
				"BUCKETS DAYS [BATCH [days|flush]]\n");
		return 2;
	}
	uint64_t n = strtoull(argv[3], NULL, 10);
	uint64_t nb = strtoull(argv[4], NULL, 10);
	uint64_t days = strtoull(argv[5], NULL, 10);
	size_t batch = argc > 6 ? (size_t)strtoul(argv[6], NULL, 10) : 256;
	const char *mode = argc > 7 ? argv[7] : "days";
	bool flush = strcmp(mode, "flush") == 0;
	struct spent raw, fill;

	if (n == 0 || nb == 0 || days == 0 || batch == 0 ||
	    (!flush && strcmp(mode, "days") != 0) ||
	    hash_global_init() != DF_OK)
		return 2;
	if (fill_raw(argv[2], n, nb, days, batch, &raw) != 0 ||
	    fill_store(argv[1], n, nb, days, batch, flush, &fill) != 0)
		return 1;
	printf("records=%llu buckets_drawn_from=%llu days=%llu batch=%zu "
	       "mode=%s\n", (unsigned long long)n, (unsigned long long)nb,
	       (unsigned long long)days, batch, mode);
	printf("raw_lmdb_s=%.2f raw_cpu_s=%.2f raw_records_per_s=%.0f\n",
	       raw.wall, raw.cpu, (double)n / raw.wall);
	printf("fill_s=%.2f fill_cpu_s=%.2f fill_records_per_s=%.0f\n",
	       fill.wall, fill.cpu, (double)n / fill.wall);
	return 0;
}
