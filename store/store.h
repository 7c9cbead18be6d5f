/*
 * store - jobs, analysed dumps, buckets and counters in LMDB.
 *
 * Named databases:
 *   meta      "schema" -> u32 schema version, "next_job" -> u64
 *   jobs      job id (u64 big-endian) -> dumpfleet.v1.Job
 *   dumps     content hash (32 bytes) -> dumpfleet.v1.Dump
 *   sources   SHA-256(source) || content hash -> job id: one key per
 *             (source, content) pair ever stored; the source is the path,
 *             or SHA-256(SHA-256(archive) || SHA-256(member)) for a file
 *             unpacked from an archive
 *   buckets   signature hash (16 hex) -> dumpfleet.v1.Bucket
 *   counters  text key -> u64 little-endian (see store_counter_key):
 *             t/<total> (dumps, distinct, errors, buckets, failed,
 *             quarantined), b/<bugcheck>, e/<exception>, p/<pattern>,
 *             pc/<pattern> (findings of STORE_CONFIDENT or more),
 *             f/<format>, m/<blamed module>, hv/<hypervisor> (named by a
 *             virtualized-system finding, "unknown" if none), k/<bucket>,
 *             bp/<bucket>/<pattern> (a bucket's pattern mix),
 *             bo/<bucket>/<os_ver> (a bucket's OS versions),
 *             x/<batch>/<dumps|distinct|errors|failed|quarantined>
 *             (per batch totals), d/<YYYYMMDD>/<any of those but bp, bo,
 *             x/../failed, x/../quarantined, t/failed, t/quarantined>
 *             (daily), and g/<batch>/<any t, b, e, p, pc, f, m, hv, k key
 *             and its daily twin> (the same counters for one batch)
 *   meta      also "n/#<hex>" -> the text of a hashed key component
 *             (store_name_get)
 *
 * Counting rules: a (path, content) pair counts once in "dumps" (under
 * its job's batch); a content hash counts once in "distinct" and in every
 * bugcheck, pattern, module, hypervisor, bucket and daily counter, under
 * the batch of the job that first brought it. Failures count when the
 * job fails and have no day. All counters of one result change in the
 * same write transaction as its dump record and its job's done mark, so
 * a result that arrives twice is counted once.
 *
 * One writer at a time (LMDB serialises writes); readers never block it.
 * The map grows when it fills; stale reader slots are cleared at open.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpfleet.pb-c.h"

struct diag;
struct store;

#define STORE_SCHEMA_VERSION 1
#define STORE_MAX_SAMPLES 5        /* sample dumps kept per bucket */
#define STORE_MAX_KEY 400          /* below LMDB's 511-byte key limit */
/*
 * Findings at or above this confidence also count in "pc/<pattern>", so
 * that reports can leave out the doubtful ones (a finding on a dump whose
 * stack is suspect loses confidence, see registry.h).
 */
#define STORE_CONFIDENT 50
#define STORE_MAX_FINDINGS 1024    /* a result with more is rejected */
#define STORE_MAX_REASON 1024      /* bytes of a job's last_error kept */
#define STORE_MAX_NAME 256         /* bytes of a hashed name's text kept */
#define STORE_MAX_HYPERVISORS 4    /* names counted per finding */

typedef Dumpfleet__V1__Dump store_dump;
typedef Dumpfleet__V1__Job store_job;
typedef Dumpfleet__V1__Bucket store_bucket;

/*
 * Open (creating if needed) the store in directory DIR. READONLY opens an
 * existing store for reading only. DF_OK, or a DF_E* code with D filled.
 */
int store_open(struct store **out, const char *dir, bool readonly,
	       struct diag *d);


struct store_opts {
	bool readonly;       /* open an existing store for reading only */
	size_t initial_map;  /* bytes; 0 for the default (64 MiB) */
};

/* store_open with options (tests use a small map to exercise growth). */
int store_open_ex(struct store **out, const char *dir,
		  const struct store_opts *o, struct diag *d);

/* Close; NULL-safe; sets *SP to NULL. */
void store_close(struct store **sp);

/*
 * Queue N new jobs for PATHS under BATCH in one transaction, durably.
 * ARCHIVES and MEMBERS (either NULL, or with NULL entries, for plain
 * files) say which archive member a spool path was unpacked from; such a
 * job's source, counted once in "dumps", is (archive, member), not path.
 * *FIRST_ID receives the first job id; ids are consecutive.
 */
int store_jobs_add(struct store *s, const char *batch,
		   const char *const *paths, const char *const *archives,
		   const char *const *members, size_t n, uint64_t *first_id,
		   struct diag *d);

/* What a submitted file is: its SHA-256 (NULL when not known) and size. */
struct store_content {
	const uint8_t *hash;  /* HASH_LEN bytes, or NULL */
	uint64_t size;
};

/*
 * As store_jobs_add, each job also keeping CONTENT[i] (CONTENT may be
 * NULL): the job record then names the bytes a worker must analyse.
 */
int store_jobs_add_content(struct store *s, const char *batch,
			   const char *const *paths,
			   const char *const *archives,
			   const char *const *members,
			   const struct store_content *content, size_t n,
			   uint64_t *first_id, struct diag *d);

/*
 * Call FN for every job not yet done or quarantined, in id order (used by
 * the broker at start to rebuild its queue). FN returns 0 to go on.
 */
int store_jobs_pending(struct store *s,
		       int (*fn)(void *ctx, const store_job *job), void *ctx,
		       struct diag *d);

/*
 * As store_jobs_pending(), resumable: FN is called for at most MAX jobs
 * not yet done or quarantined whose id is above AFTER, in id order (the
 * broker keeps a bounded window of the queue in memory and refills it
 * from here). *N gets how many FN was called for; *LAST the highest id
 * looked at (AFTER when none), where the next call may resume: fewer
 * than MAX means no pending job above AFTER was left.
 */
int store_jobs_pending_from(struct store *s, uint64_t after, size_t max,
			    int (*fn)(void *ctx, const store_job *job),
			    void *ctx, size_t *n, uint64_t *last,
			    struct diag *d);

/* Read job ID into a fresh message (free with store_job_free). */
int store_job_get(struct store *s, uint64_t id, store_job **out,
		  struct diag *d);
void store_job_free(store_job *job);

/* One finished job: JOB_ID and its analysed dump (borrowed). */
struct store_result {
	uint64_t job_id;
	const store_dump *dump;
	bool counted;   /* out: true when this result changed any counter */
	int ddone;      /* out: change in jobs done (0 or 1) */
	int dfailed;    /* out: change in jobs failed or quarantined (-1..1) */
};

/*
 * Record N results in one write transaction (retried after growing the map
 * when it fills). Results for jobs already done change nothing. A result
 * that cannot be stored as it is (no 32-byte content hash, a signature
 * hash that is not a short printable key, more than STORE_MAX_FINDINGS
 * findings, a record over 16 MiB) marks its job failed instead. A valid
 * result for a job that had failed makes it done and un-counts the failure.
 * The counters and buckets that the batch changes are read and written
 * once per batch, not once per result, so a larger batch costs less per
 * result.
 */
int store_results_put(struct store *s, struct store_result *results,
		      size_t n, struct diag *d);

/*
 * store_results_put counting the results at time AT (Unix seconds) rather
 * than now: their day, and their buckets' first and last seen. For
 * imports of old results, tests and benchmarks.
 */
int store_results_put_at(struct store *s, struct store_result *results,
			 size_t n, uint64_t at, struct diag *d);

/*
 * Mark job ID failed with REASON (no dump record), or quarantined when
 * QUARANTINE (it failed too often; it is not retried by itself). Counts
 * "t/failed" once per job. DF_OK; DF_EEXIST when the job was already done,
 * failed or quarantined (left alone); DF_ENOTFOUND for an unknown job;
 * DF_ESTORE when the store fails.
 */
int store_job_fail(struct store *s, uint64_t id, const char *reason,
		   bool quarantine, struct diag *d);

/* Call FN for every job, in id order; FN returns 0 to go on. */
int store_jobs_scan(struct store *s,
		    int (*fn)(void *ctx, const store_job *job), void *ctx,
		    struct diag *d);

/* Jobs store_jobs_retry() put back in the queue (fresh messages). */
struct store_job_list {
	store_job **v;
	size_t n;
};
void store_job_list_release(struct store_job_list *l);

/*
 * Put quarantined jobs back in the queue, in one write transaction: the N
 * jobs in IDS, or, with IDS NULL, every quarantined job in id order, at
 * most MAX. Their attempts start again from 0 and "t/failed" and
 * "t/quarantined" (with their daily and batch twins) no longer count them. OUT (empty on entry) gets the jobs re-queued; *SKIPPED the
 * number of IDS that are unknown or not quarantined.
 */
int store_jobs_retry(struct store *s, const uint64_t *ids, size_t n,
		     size_t max, struct store_job_list *out, size_t *skipped,
		     struct diag *d);

/* Counts of jobs by state (scans the jobs database). */
struct store_job_counts {
	uint64_t queued, leased, done, failed, quarantined;
};
int store_job_counts(struct store *s, struct store_job_counts *c,
		     struct diag *d);

/* Value of counter KEY (0 when absent). */
int store_counter_get(struct store *s, const char *key, uint64_t *out,
		      struct diag *d);

/*
 * Call FN(ctx, key, value) for every counter whose key starts with PREFIX,
 * in key order. FN returns 0 to go on.
 */
int store_counters_scan(struct store *s, const char *prefix,
			int (*fn)(void *ctx, const char *key, uint64_t v),
			void *ctx, struct diag *d);

/*
 * Call FN(ctx, key, value) for every counter with FROM <= key < TO (byte
 * order), in key order, in one read snapshot. FN returns 0 to go on.
 */
int store_counters_range(struct store *s, const char *from, const char *to,
			 int (*fn)(void *ctx, const char *key, uint64_t v),
			 void *ctx, struct diag *d);

/* Call FN for every bucket (borrowed message, valid during the call). */
int store_buckets_scan(struct store *s,
		       int (*fn)(void *ctx, const store_bucket *b), void *ctx,
		       struct diag *d);

/* Read the dump with content hash HASH (free with store_dump_free). */
int store_dump_get(struct store *s, const uint8_t hash[32], store_dump **out,
		   struct diag *d);
void store_dump_free(store_dump *dump);

/*
 * Build a counter key from a prefix and a component, hashing components
 * that would make the key too long, that hold bytes outside printable
 * ASCII or that start with '#' (the mark of a hashed component: "#" and
 * 16 hex digits). Writes at most STORE_MAX_KEY+1 bytes to OUT.
 */
void store_counter_key(char *out, size_t outlen, const char *prefix,
		       const char *component);

/*
 * The text of COMPONENT when it is a hashed key component ("#" and 16
 * hex digits, as store_counter_key makes them) that the store has seen.
 * DF_OK, DF_ENOTFOUND (OUT is "") or DF_ESTORE.
 */
int store_name_get(struct store *s, const char *component, char *out,
		   size_t outlen, struct diag *d);

/*
 * BATCH as the store writes it in keys ("g/<key>/", "x/<key>/"): as it is
 * when short and printable without '/', else "#" and its hash.
 */
void store_batch_key(char *out, size_t outlen, const char *batch);

/* Read bucket HASH into a fresh message (free with store_bucket_free). */
int store_bucket_get(struct store *s, const char *hash, store_bucket **out,
		     struct diag *d);
void store_bucket_free(store_bucket *b);

#define STORE_MAX_SIGNATURE 2048 /* longest signature text resign writes */
#define STORE_RESIGN_BATCH 1000  /* dumps per write transaction */

/*
 * Make the signature of DM again (from its stored sig_prefix, sig_frames,
 * sig_fallback): text into TEXT (TEXTLEN bytes), 16 hex digits and a NUL
 * into HASH, the rules version into *VERSION. DF_OK, or any other code to
 * leave the dump as it is.
 */
typedef int (*store_resign_fn)(void *ctx, const store_dump *dm, char *text,
			       size_t textlen, char hash[17],
			       uint32_t *version);

struct store_resign_stats {
	uint64_t seen;     /* dumps looked at */
	uint64_t moved;    /* dumps whose bucket changed */
	uint64_t skipped;  /* dumps FN declined (no stored frames, errors) */
};

/*
 * Re-compute every stored dump's signature with FN and move the dump,
 * with its bucket, daily and pattern-mix counts, to its new bucket; a
 * bucket left empty is deleted. Each dump moves in one transaction with
 * its counts, so an interrupted resign can simply be run again; a dump
 * already in the right bucket is left alone, so nothing counts twice.
 */
int store_resign(struct store *s, store_resign_fn fn, void *ctx,
		 struct store_resign_stats *st, struct diag *d);

#endif /* STORE_STORE_H */
