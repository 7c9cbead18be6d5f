#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "counts.h"
#include "df.h"
#include "diag.h"
#include "hash.h"

#define STORE_INITIAL_MAP ((size_t)64 << 20)
#define STORE_MAX_MAP ((size_t)1 << 40)
#define STORE_MAX_RECORD ((size_t)16 << 20)

enum dbi_index { DB_META, DB_JOBS, DB_DUMPS, DB_SOURCES, DB_BUCKETS,
		 DB_COUNTERS, DB_COUNT };

static const char *const dbi_names[DB_COUNT] = {
	"meta", "jobs", "dumps", "sources", "buckets", "counters",
};

/*
 * A bucket that a write of results changed, held until it commits: a
 * busy bucket takes many results of one batch, and each used to cost an
 * LMDB read, an unpack, a pack and a write. KEY is the signature hash
 * (at most 64 bytes, see key_safe).
 */
struct pending_bucket {
	uint64_t hash;
	char key[65];
	store_bucket *old;      /* the stored record, unpacked; NULL if new */
	store_bucket fresh;     /* a new record's fields (borrowed strings) */
	ProtobufCBinaryData samples[STORE_MAX_SAMPLES];
	size_t nsamples;
	bool old_samples;       /* OLD has more samples than we keep: as is */
	uint64_t count, first_seen, last_seen;
};

/* The pending buckets, with an open-addressing index (index + 1). */
struct bucket_cache {
	struct pending_bucket *v;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;
	uint32_t *order;
};

struct store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	bool readonly;
	size_t mapsize;
	struct counts *counts; /* counter changes of the write in progress */
	struct bucket_cache buckets; /* buckets of the write in progress */
	uint64_t day_num;      /* the day day_text names (+1; 0 for none) */
	char day_text[9];      /* YYYYMMDD: every result of a write shares it */
	char named_batch[80];  /* hashed batch whose text this write has kept */
};

static int buckets_flush(struct store *s, MDB_txn *txn);
static void buckets_release(struct bucket_cache *c);

static int lmdb_fail(struct diag *d, int rc, const char *what)
{
	return diag_fail(d, DF_ESTORE, "lmdb %s: %s", what, mdb_strerror(rc));
}

static void u64_be(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t load_u64le(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static void store_u64le(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static int open_dbis(struct store *s, struct diag *d)
{
	MDB_txn *txn;
	unsigned flags = s->readonly ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0,
			       &txn);

	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	for (int i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, dbi_names[i], flags, &s->dbi[i]);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return lmdb_fail(d, rc, "dbi_open");
		}
	}
	if (!s->readonly) {
		uint8_t ver[8];
		MDB_val k = { 6, (void *)"schema" }, v = { 8, ver };
		MDB_val old;

		rc = mdb_get(txn, s->dbi[DB_META], &k, &old);
		if (rc == 0 && (old.mv_size != 8 ||
				load_u64le(old.mv_data) != STORE_SCHEMA_VERSION)) {
			mdb_txn_abort(txn);
			return diag_fail(d, DF_ESTORE,
					 "store schema version differs from %d",
					 STORE_SCHEMA_VERSION);
		}
		store_u64le(ver, STORE_SCHEMA_VERSION);
		if (rc == MDB_NOTFOUND)
			rc = mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
		else
			rc = 0;
		if (rc != 0) {
			mdb_txn_abort(txn);
			return lmdb_fail(d, rc, "put schema");
		}
	}
	rc = mdb_txn_commit(txn);
	return rc != 0 ? lmdb_fail(d, rc, "commit") : DF_OK;
}

int store_open(struct store **out, const char *dir, bool readonly,
	       struct diag *d)
{
	struct store_opts o = { readonly, 0 };

	return store_open_ex(out, dir, &o, d);
}

int store_open_ex(struct store **out, const char *dir,
		  const struct store_opts *o, struct diag *d)
{
	struct store *s = calloc(1, sizeof(*s));
	bool readonly = o->readonly;
	int rc;

	*out = NULL;
	if (s == NULL)
		return diag_fail(d, DF_ENOMEM, "no memory for the store");
	s->readonly = readonly;
	if (!readonly && (s->counts = counts_new()) == NULL) {
		free(s);
		return diag_fail(d, DF_ENOMEM, "no memory for the store");
	}
	if (!readonly && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		counts_destroy(&s->counts);
		free(s);
		return diag_fail(d, DF_EIO, "cannot create store '%s': %s",
				 dir, strerror(errno));
	}
	rc = mdb_env_create(&s->env);
	if (rc != 0) {
		counts_destroy(&s->counts);
		free(s);
		return lmdb_fail(d, rc, "env_create");
	}
	mdb_env_set_maxdbs(s->env, DB_COUNT);
	mdb_env_set_maxreaders(s->env, 256);
	rc = mdb_env_set_mapsize(s->env, o->initial_map ? o->initial_map
						     : STORE_INITIAL_MAP);
	if (rc == 0)
		rc = mdb_env_open(s->env, dir,
				  (readonly ? MDB_RDONLY : 0) | MDB_NOTLS,
				  0640);
	if (rc != 0) {
		mdb_env_close(s->env);
		counts_destroy(&s->counts);
		free(s);
		return diag_fail(d, DF_ESTORE, "cannot open store '%s': %s",
				 dir, mdb_strerror(rc));
	}
	/* A crashed process leaves reader slots behind; free them now. */
	int dead = 0;

	mdb_reader_check(s->env, &dead);
	MDB_envinfo info;

	mdb_env_info(s->env, &info);
	s->mapsize = info.me_mapsize;
	rc = open_dbis(s, d);
	if (rc != DF_OK) {
		mdb_env_close(s->env);
		counts_destroy(&s->counts);
		free(s);
		return rc;
	}
	*out = s;
	return DF_OK;
}

void store_close(struct store **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	mdb_env_close((*sp)->env);
	counts_destroy(&(*sp)->counts);
	buckets_release(&(*sp)->buckets);
	free((*sp)->buckets.v);
	free((*sp)->buckets.slots);
	free((*sp)->buckets.order);
	free(*sp);
	*sp = NULL;
}

/* Double the map (LMDB needs no open transaction in this process). */
static int grow_map(struct store *s, struct diag *d)
{
	if (s->mapsize >= STORE_MAX_MAP)
		return diag_fail(d, DF_ESTORE, "store map at its maximum");
	size_t n = s->mapsize * 2;
	int rc = mdb_env_set_mapsize(s->env, n);

	if (rc != 0)
		return lmdb_fail(d, rc, "set_mapsize");
	s->mapsize = n;
	return DF_OK;
}

/*
 * Begin a transaction. Another process (the broker) may have grown the
 * map since we opened it; LMDB then says MDB_MAP_RESIZED and we adopt the
 * new size and try again.
 */
static int begin(struct store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);

	if (rc == MDB_MAP_RESIZED) {
		rc = mdb_env_set_mapsize(s->env, 0);
		if (rc == 0)
			rc = mdb_txn_begin(s->env, NULL, flags, txn);
		if (rc == 0) {
			MDB_envinfo info;

			mdb_env_info(s->env, &info);
			s->mapsize = info.me_mapsize;
		}
	}
	return rc;
}

/*
 * Begin a write transaction. LMDB lets one write transaction run at a
 * time, so the counter changes and buckets gathered in S belong to it.
 */
static int write_begin(struct store *s, MDB_txn **txn)
{
	int rc = begin(s, 0, txn);

	if (rc == 0) {
		counts_reset(s->counts);
		buckets_release(&s->buckets);
		s->named_batch[0] = '\0';
	}
	return rc;
}

/* Write one gathered counter: read once, written once, if it changes. */
static int counter_write(void *ctx, const char *key, size_t len,
			 int64_t sum, uint64_t floor)
{
	MDB_cursor *cur = ctx;
	MDB_val k = { len, (void *)key }, v;
	uint64_t old = 0, nv;
	uint8_t buf[8];
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
	bool exact = rc == 0 && v.mv_size == 8;

	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (exact)
		old = load_u64le(v.mv_data);
	nv = counts_apply(sum, floor, old);
	if (exact && nv == old)
		return 0;
	store_u64le(buf, nv);
	v.mv_size = 8;
	v.mv_data = buf;
	return mdb_cursor_put(cur, &k, &v, exact ? MDB_CURRENT : 0);
}

/* Write the gathered counters in key order (LMDB pages stay hot). */
static int counters_flush(struct store *s, MDB_txn *txn)
{
	MDB_cursor *cur;
	int rc;

	if (counts_size(s->counts) == 0)
		return 0;
	rc = mdb_cursor_open(txn, s->dbi[DB_COUNTERS], &cur);
	if (rc != 0)
		return rc;
	rc = counts_each(s->counts, counter_write, cur);
	mdb_cursor_close(cur);
	return rc;
}

/*
 * Commit TXN with its counters and buckets, or abort it when they cannot
 * be written.
 */
static int write_commit(struct store *s, MDB_txn *txn)
{
	int rc = counters_flush(s, txn);

	if (rc == 0)
		rc = buckets_flush(s, txn);
	counts_reset(s->counts);
	buckets_release(&s->buckets);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

/* ---- generic helpers ------------------------------------------------- */

static int put_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
		   const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	MDB_val k = { klen, (void *)key };
	MDB_val v = { n, NULL };
	int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);

	if (rc == 0)
		protobuf_c_message_pack(msg, v.mv_data);
	return rc;
}

/*
 * Add DELTA (which may be negative) to counter KEY; never below zero.
 * The change is written when the transaction commits (write_commit);
 * *FRESH (may be NULL) says whether KEY is new in this transaction.
 */
static int counter_add(struct store *s, const char *key, int64_t delta,
		       bool *fresh)
{
	return counts_add(s->counts, key, strlen(key), delta, fresh);
}

static bool key_safe(const char *c)
{
	size_t n = 0;

	for (; *c; c++, n++)
		if (*c <= ' ' || *c > '~' || n >= 64)
			return false;
	return true;
}

/*
 * Append S to the AT bytes of OUT (OUTLEN > 0 bytes), cut as snprintf
 * cuts; returns the new length. Counter keys are built for every change
 * of every result, so this is the cheap way of "%s%s".
 */
static size_t key_cat(char *out, size_t outlen, size_t at, const char *s)
{
	size_t n = strlen(s);

	if (at >= outlen - 1)
		return at;
	if (n > outlen - 1 - at)
		n = outlen - 1 - at;
	memcpy(out + at, s, n);
	out[at + n] = '\0';
	return at + n;
}

void store_counter_key(char *out, size_t outlen, const char *prefix,
		       const char *component)
{
	if (outlen == 0)
		return;
	if (outlen > STORE_MAX_KEY + 1)
		outlen = STORE_MAX_KEY + 1;
	out[0] = '\0';
	size_t n = key_cat(out, outlen, 0, prefix);

	/* A component of its own starting with '#' would pass for a hash. */
	if (component == NULL || (key_safe(component) && component[0] != '#')) {
		key_cat(out, outlen, n, component != NULL ? component : "");
		return;
	}
	uint8_t h[HASH_LEN];
	char hex[HASH_HEX_LEN + 2];

	hash_sha256(component, strlen(component), h);
	hex[0] = '#';
	hash_hex(h, 8, hex + 1);
	key_cat(out, outlen, n, hex);
}

/*
 * The UTC day of T as YYYYMMDD. The results of one write share their day,
 * so the last one is kept in S (only writers, one at a time, come here).
 */
static void day_of(struct store *s, uint64_t t, char out[9])
{
	uint64_t num = t / 86400 + 1;

	if (s->day_num != num) {
		time_t tt = (time_t)t;
		struct tm tm;

		memset(&tm, 0, sizeof(tm));
		gmtime_r(&tt, &tm);
		strftime(s->day_text, sizeof(s->day_text), "%Y%m%d", &tm);
		s->day_num = num;
	}
	memcpy(out, s->day_text, sizeof(s->day_text));
}

/* ---- counting ---------------------------------------------------------- */

/*
 * Where one dump's counters go: the store-wide keys and, when the dump has
 * a batch tag, the same keys under "g/<batch>/", so that every table of a
 * report can be cut to one batch. DAY is the day the dump is counted on.
 */
struct tally {
	struct store *s;
	MDB_txn *txn;
	char day[9];
	char batch[80];      /* batch key component, "" for none */
	char scope[2][96];   /* "" and "g/<batch>/" */
	int nscope;
};

/*
 * A batch tag as one key component: as it is when short, printable and
 * free of '/' (a '/' would make "g/a/d/..." ambiguous), else "#" and its
 * hash. The hashed form's text is kept in "meta" (see remember_name).
 */
static void batch_component(const char *batch, char out[80])
{
	if (key_safe(batch) && strchr(batch, '/') == NULL &&
	    batch[0] != '#') {
		snprintf(out, 80, "%s", batch);
		return;
	}
	uint8_t h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	hash_sha256(batch, strlen(batch), h);
	hash_hex(h, 8, hex);
	snprintf(out, 80, "#%s", hex);
}

/*
 * Keep the text of a hashed key component ("n/#hex" -> text in "meta"),
 * so that reports can show "Hyper-V / Virtual PC" or a batch tag with
 * spaces rather than a hash. Written once; at most STORE_MAX_NAME bytes.
 */
static int remember_name(struct tally *t, const char *hashed,
			 const char *text)
{
	char key[96];
	int n = snprintf(key, sizeof(key), "n/%s", hashed);
	size_t len = strlen(text);

	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	if (len > STORE_MAX_NAME)
		len = STORE_MAX_NAME;
	MDB_val k = { (size_t)n, key }, v = { len, (void *)text };
	int rc = mdb_put(t->txn, t->s->dbi[DB_META], &k, &v, MDB_NOOVERWRITE);

	return rc == MDB_KEYEXIST ? 0 : rc;
}

static int tally_init(struct tally *t, struct store *s, MDB_txn *txn,
		      uint64_t at, const char *batch)
{
	memset(t, 0, sizeof(*t));
	t->s = s;
	t->txn = txn;
	day_of(s, at, t->day);
	t->nscope = 1;
	if (batch == NULL || batch[0] == '\0')
		return 0;
	batch_component(batch, t->batch);
	size_t n = key_cat(t->scope[1], sizeof(t->scope[1]), 0, "g/");

	n = key_cat(t->scope[1], sizeof(t->scope[1]), n, t->batch);
	key_cat(t->scope[1], sizeof(t->scope[1]), n, "/");
	t->nscope = 2;
	/* Kept once per write: every result of a batch has the same tag. */
	if (t->batch[0] != '#' || strcmp(s->named_batch, t->batch) == 0)
		return 0;
	memcpy(s->named_batch, t->batch, sizeof(s->named_batch));
	return remember_name(t, t->batch, batch);
}

/* Add DELTA to counter PREFIX+COMPONENT, keeping a hashed name's text. */
static int tally_key(struct tally *t, const char *prefix,
		     const char *component, int64_t delta)
{
	char key[STORE_MAX_KEY + 1];
	size_t plen = strlen(prefix);
	bool fresh;
	int rc;

	store_counter_key(key, sizeof(key), prefix, component);
	rc = counter_add(t->s, key, delta, &fresh);
	/* The name is kept once; a key seen before in this write has it. */
	if (rc == 0 && fresh && component != NULL && key[plen] == '#')
		rc = remember_name(t, key + plen, component);
	return rc;
}

/*
 * Add DELTA to PREFIX+COMPONENT and its daily twin "d/<day>/PREFIX..." in
 * every scope of T (store-wide, and the batch's when it has one).
 */
static int count_both(struct tally *t, const char *prefix,
		      const char *component, int64_t delta)
{
	char p[192];
	int rc = 0;

	for (int i = 0; rc == 0 && i < t->nscope; i++) {
		size_t n = key_cat(p, sizeof(p), 0, t->scope[i]);

		key_cat(p, sizeof(p), n, prefix);
		rc = tally_key(t, p, component, delta);
		n = key_cat(p, sizeof(p), n, "d/");
		n = key_cat(p, sizeof(p), n, t->day);
		n = key_cat(p, sizeof(p), n, "/");
		key_cat(p, sizeof(p), n, prefix);
		if (rc == 0)
			rc = tally_key(t, p, component, delta);
	}
	return rc;
}

/* Store-wide per-batch totals "x/<batch>/<what>" (and daily), if tagged. */
static int count_batch(struct tally *t, const char *what, bool daily,
		       int64_t delta)
{
	char key[192];
	int rc;

	if (t->batch[0] == '\0')
		return 0;
	/* "x/<batch>/<what>", then "d/<day>/" and the same. */
	size_t n = key_cat(key, sizeof(key), 0, "x/");

	n = key_cat(key, sizeof(key), n, t->batch);
	n = key_cat(key, sizeof(key), n, "/");
	key_cat(key, sizeof(key), n, what);
	rc = counter_add(t->s, key, delta, NULL);
	if (rc == 0 && daily) {
		n = key_cat(key, sizeof(key), 0, "d/");
		n = key_cat(key, sizeof(key), n, t->day);
		n = key_cat(key, sizeof(key), n, "/x/");
		n = key_cat(key, sizeof(key), n, t->batch);
		n = key_cat(key, sizeof(key), n, "/");
		key_cat(key, sizeof(key), n, what);
		rc = counter_add(t->s, key, delta, NULL);
	}
	return rc;
}

/* ---- jobs ------------------------------------------------------------- */

static int next_job_id(struct store *s, MDB_txn *txn, uint64_t n,
		       uint64_t *first)
{
	MDB_val k = { 8, (void *)"next_job" }, v;
	uint64_t id = 1;
	uint8_t buf[8];
	int rc = mdb_get(txn, s->dbi[DB_META], &k, &v);

	if (rc == 0 && v.mv_size == 8)
		id = load_u64le(v.mv_data);
	else if (rc != MDB_NOTFOUND && rc != 0)
		return rc;
	*first = id;
	store_u64le(buf, id + n);
	v.mv_size = 8;
	v.mv_data = buf;
	return mdb_put(txn, s->dbi[DB_META], &k, &v, 0);
}

/* Entry I of ARR, or "" when ARR or the entry is absent. */
static char *str_at(const char *const *arr, size_t i)
{
	return (char *)(arr != NULL && arr[i] != NULL ? arr[i] : "");
}

static int jobs_add_txn(struct store *s, MDB_txn *txn, const char *batch,
			const char *const *paths, const char *const *archives,
			const char *const *members,
			const struct store_content *content, size_t n,
			uint64_t *first)
{
	int rc = next_job_id(s, txn, n, first);
	uint64_t now = (uint64_t)time(NULL);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		store_job job = DUMPFLEET__V1__JOB__INIT;
		uint8_t key[8];

		job.job_id = *first + i;
		job.path = (char *)paths[i];
		job.archive = str_at(archives, i);
		job.member = str_at(members, i);
		job.batch = (char *)(batch != NULL ? batch : "");
		job.state = DUMPFLEET__V1__JOB_STATE__JOB_QUEUED;
		job.submitted_at = now;
		if (content != NULL && content[i].hash != NULL) {
			job.content_hash.data = (uint8_t *)content[i].hash;
			job.content_hash.len = HASH_LEN;
			job.size = content[i].size;
		}
		u64_be(key, job.job_id);
		rc = put_msg(txn, s->dbi[DB_JOBS], key, 8, &job.base);
	}
	return rc;
}

int store_jobs_add(struct store *s, const char *batch,
		   const char *const *paths, const char *const *archives,
		   const char *const *members, size_t n, uint64_t *first_id,
		   struct diag *d)
{
	return store_jobs_add_content(s, batch, paths, archives, members,
				      NULL, n, first_id, d);
}

int store_jobs_add_content(struct store *s, const char *batch,
			   const char *const *paths,
			   const char *const *archives,
			   const char *const *members,
			   const struct store_content *content, size_t n,
			   uint64_t *first_id, struct diag *d)
{
	for (;;) {
		MDB_txn *txn;
		int rc = write_begin(s, &txn);

		if (rc != 0)
			return lmdb_fail(d, rc, "txn_begin");
		rc = jobs_add_txn(s, txn, batch, paths, archives, members,
				  content, n, first_id);
		if (rc == 0)
			rc = write_commit(s, txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL) {
			if (grow_map(s, d) != DF_OK)
				return DF_ESTORE;
			continue;
		}
		return rc != 0 ? lmdb_fail(d, rc, "add jobs") : DF_OK;
	}
}

/*
 * What a job's source is, hashed: its path, or for an archive member
 * SHA-256(SHA-256(archive) || SHA-256(member)) (the spool path is the same
 * for every copy of a content).
 */
static void job_source_hash(const store_job *job, uint8_t out[HASH_LEN])
{
	uint8_t both[2 * HASH_LEN];

	if (job->archive == NULL || job->archive[0] == '\0') {
		hash_sha256(job->path, strlen(job->path), out);
		return;
	}
	hash_sha256(job->archive, strlen(job->archive), both);
	hash_sha256(job->member, strlen(job->member), both + HASH_LEN);
	hash_sha256(both, sizeof(both), out);
}

/* Call FN for every job from id FROM on, in id order, until it stops. */
static int jobs_iterate_from(struct store *s, uint64_t from,
			     int (*fn)(void *ctx, const store_job *job),
			     void *ctx, struct diag *d)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	uint8_t key[8];
	MDB_val k = { 8, key }, v;
	int rc = begin(s, MDB_RDONLY, &txn);

	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_cursor_open(txn, s->dbi[DB_JOBS], &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(d, rc, "cursor_open");
	}
	int out = DF_OK;

	u64_be(key, from);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		store_job *job =
			dumpfleet__v1__job__unpack(NULL, v.mv_size, v.mv_data);

		if (job == NULL) {
			out = diag_fail(d, DF_ESTORE, "corrupt job record");
			break;
		}
		int stop = fn(ctx, job);

		dumpfleet__v1__job__free_unpacked(job, NULL);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return out;
}

static int jobs_iterate(struct store *s,
			int (*fn)(void *ctx, const store_job *job), void *ctx,
			struct diag *d)
{
	return jobs_iterate_from(s, 0, fn, ctx, d);
}

struct pending_ctx {
	int (*fn)(void *ctx, const store_job *job);
	void *ctx;
};

static int pending_filter(void *ctx, const store_job *job)
{
	struct pending_ctx *p = ctx;

	if (job->state == DUMPFLEET__V1__JOB_STATE__JOB_QUEUED ||
	    job->state == DUMPFLEET__V1__JOB_STATE__JOB_LEASED)
		return p->fn(p->ctx, job);
	return 0;
}

int store_jobs_pending(struct store *s,
		       int (*fn)(void *ctx, const store_job *job), void *ctx,
		       struct diag *d)
{
	struct pending_ctx p = { fn, ctx };

	return jobs_iterate(s, pending_filter, &p, d);
}

struct pending_from_ctx {
	int (*fn)(void *ctx, const store_job *job);
	void *ctx;
	size_t max, n;
	uint64_t last;
};

static int pending_from_filter(void *ctx, const store_job *job)
{
	struct pending_from_ctx *p = ctx;

	if (p->n == p->max)
		return 1;
	p->last = job->job_id;
	if (job->state != DUMPFLEET__V1__JOB_STATE__JOB_QUEUED &&
	    job->state != DUMPFLEET__V1__JOB_STATE__JOB_LEASED)
		return 0;
	p->n++;
	return p->fn(p->ctx, job);
}

int store_jobs_pending_from(struct store *s, uint64_t after, size_t max,
			    int (*fn)(void *ctx, const store_job *job),
			    void *ctx, size_t *n, uint64_t *last,
			    struct diag *d)
{
	struct pending_from_ctx p = { fn, ctx, max, 0, after };
	int rc = DF_OK;

	if (after < UINT64_MAX && max > 0)
		rc = jobs_iterate_from(s, after + 1, pending_from_filter, &p,
				       d);
	*n = p.n;
	*last = p.last;
	return rc;
}

static int count_job(void *ctx, const store_job *job)
{
	struct store_job_counts *c = ctx;

	switch (job->state) {
	case DUMPFLEET__V1__JOB_STATE__JOB_QUEUED:
		c->queued++;
		break;
	case DUMPFLEET__V1__JOB_STATE__JOB_LEASED:
		c->leased++;
		break;
	case DUMPFLEET__V1__JOB_STATE__JOB_DONE:
		c->done++;
		break;
	case DUMPFLEET__V1__JOB_STATE__JOB_FAILED:
		c->failed++;
		break;
	default:
		c->quarantined++;
		break;
	}
	return 0;
}

int store_job_counts(struct store *s, struct store_job_counts *c,
		     struct diag *d)
{
	memset(c, 0, sizeof(*c));
	return jobs_iterate(s, count_job, c, d);
}

static int job_get_txn(struct store *s, MDB_txn *txn, uint64_t id,
		       store_job **out)
{
	uint8_t key[8];
	MDB_val k = { 8, key }, v;

	u64_be(key, id);
	int rc = mdb_get(txn, s->dbi[DB_JOBS], &k, &v);

	if (rc != 0)
		return rc;
	*out = dumpfleet__v1__job__unpack(NULL, v.mv_size, v.mv_data);
	return *out != NULL ? 0 : MDB_CORRUPTED;
}

int store_job_get(struct store *s, uint64_t id, store_job **out,
		  struct diag *d)
{
	MDB_txn *txn;
	int rc = begin(s, MDB_RDONLY, &txn);

	*out = NULL;
	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = job_get_txn(s, txn, id, out);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return diag_fail(d, DF_ENOTFOUND, "no job %llu",
				 (unsigned long long)id);
	return rc != 0 ? lmdb_fail(d, rc, "get job") : DF_OK;
}

void store_job_free(store_job *job)
{
	if (job != NULL)
		dumpfleet__v1__job__free_unpacked(job, NULL);
}

static int job_set_state(struct store *s, MDB_txn *txn, store_job *job,
			 Dumpfleet__V1__JobState st, const char *err)
{
	uint8_t key[8];

	job->state = st;
	if (err != NULL) {
		/* Unpacked messages own their strings, except the shared "". */
		if (job->last_error != protobuf_c_empty_string)
			free(job->last_error);
		/* The reason may come from a worker: keep the record small. */
		job->last_error = strndup(err, STORE_MAX_REASON);
		if (job->last_error == NULL)
			return ENOMEM;
	}
	u64_be(key, job->job_id);
	return put_msg(txn, s->dbi[DB_JOBS], key, 8, &job->base);
}

static bool job_finished(const store_job *job)
{
	return job->state == DUMPFLEET__V1__JOB_STATE__JOB_DONE ||
	       job->state == DUMPFLEET__V1__JOB_STATE__JOB_FAILED ||
	       job->state == DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED;
}

/*
 * Count (DELTA 1) or take back (-1) JOB's failure on the day it failed:
 * "t/failed" and, when QUARANTINED, "t/quarantined", each with its daily
 * and batch twins, so reports give the failures of their period.
 */
static int count_failure(struct store *s, MDB_txn *txn, const store_job *job,
			 bool quarantined, int64_t delta)
{
	struct tally t;
	uint64_t at = job->failed_at != 0 ? job->failed_at : (uint64_t)time(NULL);
	int rc = tally_init(&t, s, txn, at, job->batch);

	if (rc == 0)
		rc = count_both(&t, "t/failed", NULL, delta);
	if (rc == 0)
		rc = count_batch(&t, "failed", true, delta);
	if (rc == 0 && quarantined)
		rc = count_both(&t, "t/quarantined", NULL, delta);
	if (rc == 0 && quarantined)
		rc = count_batch(&t, "quarantined", true, delta);
	return rc;
}

/*
 * Mark job ID failed or quarantined in TXN. MDB_KEYEXIST when it was
 * already finished (nothing changes), MDB_NOTFOUND when there is no job ID.
 */
static int job_fail_txn(struct store *s, MDB_txn *txn, uint64_t id,
			const char *reason, bool quarantine)
{
	store_job *job = NULL;
	int rc = job_get_txn(s, txn, id, &job);

	if (rc != 0)
		return rc;
	if (job_finished(job)) {
		rc = MDB_KEYEXIST;
	} else {
		job->attempts++;
		job->failed_at = (uint64_t)time(NULL);
		rc = job_set_state(
			s, txn, job,
			quarantine ? DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED
				   : DUMPFLEET__V1__JOB_STATE__JOB_FAILED,
			reason);
		if (rc == 0)
			rc = count_failure(s, txn, job, quarantine, 1);
	}
	store_job_free(job);
	return rc;
}

int store_job_fail(struct store *s, uint64_t id, const char *reason,
		   bool quarantine, struct diag *d)
{
	for (;;) {
		MDB_txn *txn;
		int rc = write_begin(s, &txn);

		if (rc != 0)
			return lmdb_fail(d, rc, "txn_begin");
		rc = job_fail_txn(s, txn, id, reason, quarantine);
		if (rc == 0)
			rc = write_commit(s, txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL && grow_map(s, d) == DF_OK)
			continue;
		/*
		 * A job id from the wire may be unknown or long finished; that
		 * is no store failure (the broker stops on those).
		 */
		if (rc == MDB_NOTFOUND)
			return DF_ENOTFOUND;
		if (rc == MDB_KEYEXIST)
			return DF_EEXIST;
		return rc != 0 ? lmdb_fail(d, rc, "fail job") : DF_OK;
	}
}

int store_jobs_scan(struct store *s,
		    int (*fn)(void *ctx, const store_job *job), void *ctx,
		    struct diag *d)
{
	return jobs_iterate(s, fn, ctx, d);
}

void store_job_list_release(struct store_job_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		store_job_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Ids of at most MAX quarantined jobs, read in TXN, into a fresh *IDS. */
static int quarantined_ids(struct store *s, MDB_txn *txn, size_t max,
			   uint64_t **ids, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc = mdb_cursor_open(txn, s->dbi[DB_JOBS], &cur);

	*ids = NULL;
	*n = 0;
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && *n < max; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		store_job *job =
			dumpfleet__v1__job__unpack(NULL, v.mv_size, v.mv_data);

		if (job == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		bool q = job->state == DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED;
		uint64_t id = job->job_id;

		store_job_free(job);
		if (!q)
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			uint64_t *nv = realloc(*ids, ncap * sizeof(*nv));

			if (nv == NULL) {
				rc = ENOMEM;
				break;
			}
			*ids = nv;
			cap = ncap;
		}
		(*ids)[(*n)++] = id;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Re-queue job ID in TXN when quarantined; *TAKEN says whether it was. */
static int retry_one(struct store *s, MDB_txn *txn, uint64_t id,
		     struct store_job_list *out, bool *taken)
{
	store_job *job = NULL;
	int rc = job_get_txn(s, txn, id, &job);

	*taken = false;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (job->state != DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED) {
		store_job_free(job);
		return 0;
	}
	/* Queued again: no longer failed nor quarantined, on any day. */
	rc = count_failure(s, txn, job, true, -1);
	job->attempts = 0;
	job->lease_deadline_ms = 0;
	job->failed_at = 0;
	if (rc == 0)
		rc = job_set_state(s, txn, job,
				   DUMPFLEET__V1__JOB_STATE__JOB_QUEUED, NULL);
	if (rc != 0) {
		store_job_free(job);
		return rc;
	}
	out->v[out->n++] = job;
	*taken = true;
	return 0;
}

static int retry_txn(struct store *s, MDB_txn *txn, const uint64_t *ids,
		     size_t n, size_t max, struct store_job_list *out,
		     size_t *skipped)
{
	uint64_t *all = NULL;
	int rc = 0;

	if (ids == NULL) {
		rc = quarantined_ids(s, txn, max, &all, &n);
		ids = all;
	}
	if (n > max)
		n = max;
	if (rc == 0 && n > 0 && (out->v = calloc(n, sizeof(*out->v))) == NULL)
		rc = ENOMEM;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool taken;

		rc = retry_one(s, txn, ids[i], out, &taken);
		*skipped += !taken;
	}
	free(all);
	return rc;
}

int store_jobs_retry(struct store *s, const uint64_t *ids, size_t n,
		     size_t max, struct store_job_list *out, size_t *skipped,
		     struct diag *d)
{
	for (;;) {
		MDB_txn *txn;
		int rc = write_begin(s, &txn);

		*skipped = 0;
		store_job_list_release(out);
		if (rc != 0)
			return lmdb_fail(d, rc, "txn_begin");
		rc = retry_txn(s, txn, ids, n, max, out, skipped);
		if (rc == 0)
			rc = write_commit(s, txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL && grow_map(s, d) == DF_OK)
			continue;
		if (rc != 0) {
			store_job_list_release(out);
			return rc == ENOMEM ? diag_fail(d, DF_ENOMEM,
							"no memory to retry")
					    : lmdb_fail(d, rc, "retry jobs");
		}
		return DF_OK;
	}
}

/* ---- results ----------------------------------------------------------- */

static int bucket_update(struct store *s, MDB_txn *txn, const store_dump *dm,
			 uint64_t now, bool *created)
{
	const char *h = dm->signature_hash;
	MDB_val k = { strlen(h), (void *)h }, v;
	store_bucket *b = NULL;
	store_bucket fresh = DUMPFLEET__V1__BUCKET__INIT;
	ProtobufCBinaryData samples[STORE_MAX_SAMPLES];
	int rc = mdb_get(txn, s->dbi[DB_BUCKETS], &k, &v);

	*created = rc == MDB_NOTFOUND;
	if (rc == 0) {
		b = dumpfleet__v1__bucket__unpack(NULL, v.mv_size, v.mv_data);
		if (b == NULL)
			return MDB_CORRUPTED;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	store_bucket *w = b != NULL ? b : &fresh;

	if (b == NULL) {
		fresh.signature_hash = (char *)h;
		fresh.signature = dm->signature;
		fresh.first_seen = now;
		fresh.has_bugcheck = dm->has_bugcheck;
		fresh.bugcheck_code = dm->bugcheck_code;
		fresh.has_exception = dm->has_exception;
		fresh.exception_code = dm->exception_code;
		fresh.blame_module = dm->blame_module;
		fresh.low_trust = dm->signature_low_trust;
		fresh.samples = samples;
	}
	w->count++;
	w->last_seen = now;
	/*
	 * Samples: a fresh bucket points at our stack array; an unpacked one
	 * has exactly n_samples slots, so grow it only into our own array.
	 */
	size_t ns = w->n_samples;
	ProtobufCBinaryData *old = w->samples;

	if (ns < STORE_MAX_SAMPLES) {
		for (size_t i = 0; i < ns; i++)
			samples[i] = old[i];
		samples[ns].len = dm->content_hash.len;
		samples[ns].data = dm->content_hash.data;
		w->samples = samples;
		w->n_samples = ns + 1;
	}
	rc = put_msg(txn, s->dbi[DB_BUCKETS], h, strlen(h), &w->base);
	if (b != NULL) {
		b->samples = old;
		b->n_samples = ns;
		dumpfleet__v1__bucket__free_unpacked(b, NULL);
	}
	return rc;
}

/* ---- buckets of one write ---------------------------------------------- */

static uint64_t name_hash(const char *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)key[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The slot of KEY in C: holding its entry's index + 1, or 0 (free). */
static uint32_t *bucket_slot(const struct bucket_cache *c, const char *key,
			     uint64_t hash)
{
	size_t mask = c->nslots - 1;

	for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
		uint32_t *sl = &c->slots[i];

		if (*sl == 0 || (c->v[*sl - 1].hash == hash &&
				 strcmp(c->v[*sl - 1].key, key) == 0))
			return sl;
	}
}

/* Room for one more entry, the index at most half full. */
static int bucket_reserve(struct bucket_cache *c)
{
	if (c->n == c->cap) {
		size_t n = c->cap ? c->cap * 2 : 64;
		struct pending_bucket *v = realloc(c->v, n * sizeof(*v));
		uint32_t *o = v != NULL ? realloc(c->order, n * sizeof(*o))
					: NULL;

		if (v != NULL)
			c->v = v;
		if (o == NULL)
			return ENOMEM;
		c->order = o;
		c->cap = n;
	}
	if ((c->n + 1) * 2 <= c->nslots)
		return 0;
	size_t ns = c->nslots ? c->nslots * 2 : 128;
	uint32_t *sl = calloc(ns, sizeof(*sl));

	if (sl == NULL)
		return ENOMEM;
	free(c->slots);
	c->slots = sl;
	c->nslots = ns;
	for (size_t i = 0; i < c->n; i++)
		*bucket_slot(c, c->v[i].key, c->v[i].hash) = (uint32_t)(i + 1);
	return 0;
}

/* Forget every pending bucket (written or not); keeps the memory. */
static void buckets_release(struct bucket_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		dumpfleet__v1__bucket__free_unpacked(c->v[i].old, NULL);
	if (c->n > 0)
		memset(c->slots, 0, c->nslots * sizeof(*c->slots));
	c->n = 0;
}

/* Read bucket H from the store into a new pending entry *OUT. */
static int bucket_load(struct store *s, MDB_txn *txn, const store_dump *dm,
		       uint64_t hash, uint64_t now, struct pending_bucket **out)
{
	struct bucket_cache *c = &s->buckets;
	const char *h = dm->signature_hash;
	MDB_val k = { strlen(h), (void *)h }, v;
	int rc = k.mv_size < sizeof(c->v->key) ? bucket_reserve(c)
					       : MDB_BAD_VALSIZE;

	if (rc != 0)
		return rc;
	rc = mdb_get(txn, s->dbi[DB_BUCKETS], &k, &v);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	struct pending_bucket *e = &c->v[c->n];

	memset(e, 0, sizeof(*e));
	e->hash = hash;
	memcpy(e->key, h, k.mv_size + 1);
	if (rc == 0) {
		e->old = dumpfleet__v1__bucket__unpack(NULL, v.mv_size,
						       v.mv_data);
		if (e->old == NULL)
			return MDB_CORRUPTED;
		e->count = e->old->count;
		e->first_seen = e->old->first_seen;
		e->nsamples = e->old->n_samples;
		e->old_samples = e->nsamples > STORE_MAX_SAMPLES;
		for (size_t i = 0; !e->old_samples && i < e->nsamples; i++)
			e->samples[i] = e->old->samples[i];
	} else {
		store_bucket init = DUMPFLEET__V1__BUCKET__INIT;

		e->fresh = init;
		e->fresh.signature = dm->signature;
		e->fresh.has_bugcheck = dm->has_bugcheck;
		e->fresh.bugcheck_code = dm->bugcheck_code;
		e->fresh.has_exception = dm->has_exception;
		e->fresh.exception_code = dm->exception_code;
		e->fresh.blame_module = dm->blame_module;
		e->fresh.low_trust = dm->signature_low_trust;
		e->first_seen = now;
	}
	*bucket_slot(c, e->key, hash) = (uint32_t)++c->n;
	*out = e;
	return 0;
}

/*
 * Count dump DM in its bucket at time NOW, creating the bucket (*CREATED)
 * when the store has none; written by buckets_flush at commit. DM's
 * strings and content hash are borrowed until then.
 */
static int bucket_touch(struct store *s, MDB_txn *txn, const store_dump *dm,
			uint64_t now, bool *created)
{
	struct bucket_cache *c = &s->buckets;
	const char *h = dm->signature_hash;
	uint64_t hash = name_hash(h, strlen(h));
	uint32_t *sl = c->nslots ? bucket_slot(c, h, hash) : NULL;
	struct pending_bucket *e;

	*created = false;
	if (sl != NULL && *sl != 0) {
		e = &c->v[*sl - 1];
	} else {
		int rc = bucket_load(s, txn, dm, hash, now, &e);

		if (rc != 0)
			return rc;
		*created = e->old == NULL;
	}
	e->count++;
	e->last_seen = now;
	if (e->nsamples < STORE_MAX_SAMPLES) {
		e->samples[e->nsamples].len = dm->content_hash.len;
		e->samples[e->nsamples].data = dm->content_hash.data;
		e->nsamples++;
	}
	return 0;
}

/* Pack and put pending bucket E (its record points at E only meanwhile). */
static int bucket_put(struct store *s, MDB_txn *txn, struct pending_bucket *e)
{
	store_bucket *w = e->old != NULL ? e->old : &e->fresh;
	ProtobufCBinaryData *keep = w->samples;
	size_t nkeep = w->n_samples;
	int rc;

	if (e->old == NULL)
		w->signature_hash = e->key;
	w->count = e->count;
	w->first_seen = e->first_seen;
	w->last_seen = e->last_seen;
	if (!e->old_samples) {
		w->samples = e->samples;
		w->n_samples = e->nsamples;
	}
	rc = put_msg(txn, s->dbi[DB_BUCKETS], e->key, strlen(e->key),
		     &w->base);
	/* An unpacked message frees what it owns: give it its own back. */
	w->samples = keep;
	w->n_samples = nkeep;
	return rc;
}

static int bucket_order(const void *a, const void *b, void *ctx)
{
	const struct bucket_cache *c = ctx;
	const char *x = c->v[*(const uint32_t *)a].key;
	const char *y = c->v[*(const uint32_t *)b].key;

	return strcmp(x, y); /* printable keys: LMDB's order */
}

/* Write the pending buckets, in key order. */
static int buckets_flush(struct store *s, MDB_txn *txn)
{
	struct bucket_cache *c = &s->buckets;
	int rc = 0;

	if (c->n == 0)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		c->order[i] = (uint32_t)i;
	qsort_r(c->order, c->n, sizeof(*c->order), bucket_order, c);
	for (size_t i = 0; rc == 0 && i < c->n; i++)
		rc = bucket_put(s, txn, &c->v[c->order[i]]);
	return rc;
}

static const char *pattern_of(const store_dump *dm, size_t i)
{
	const char *p = dm->findings[i]->pattern;

	return p != NULL ? p : "";
}

/* A dump counts once per pattern, even if a worker lists it twice. */
static bool pattern_repeated(const store_dump *dm, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(pattern_of(dm, j), pattern_of(dm, i)) == 0)
			return true;
	return false;
}

/*
 * The counters that tie dump DM to bucket H, moved by DELTA (+1 or -1):
 * the bucket's total and daily count in every scope, and its pattern mix
 * ("bp/H/pattern") and OS versions ("bo/H/os_ver") store-wide.
 */
static int bucket_counters(struct tally *t, const store_dump *dm,
			   const char *h, int delta)
{
	char key[STORE_MAX_KEY + 1];
	char prefix[96];
	int rc = count_both(t, "k/", h, delta);

	store_counter_key(prefix, sizeof(prefix), "bp/", h);
	if (strlen(prefix) + 2 > sizeof(prefix))
		return rc;
	strcat(prefix, "/");
	for (size_t i = 0; rc == 0 && i < dm->n_findings; i++) {
		if (pattern_repeated(dm, i))
			continue;
		store_counter_key(key, sizeof(key), prefix, pattern_of(dm, i));
		rc = counter_add(t->s, key, delta, NULL);
	}
	if (rc == 0 && dm->os_ver != NULL && dm->os_ver[0] != '\0') {
		prefix[1] = 'o'; /* "bp/H/" -> "bo/H/" */
		rc = tally_key(t, prefix, dm->os_ver, delta);
	}
	return rc;
}

/*
 * Hypervisors a virtualized-system finding names: its title reads
 * "Virtualized system: VMware, Xen" (d_virtualized_system.c). Each name
 * counts in "hv/<name>"; a finding that names none counts as "unknown".
 */
static int count_hypervisors(struct tally *t, const char *title)
{
	const char *p = title != NULL ? strchr(title, ':') : NULL;
	int named = 0, rc = 0;

	for (p = p != NULL ? p + 1 : NULL; rc == 0 && p != NULL && *p &&
					   named < STORE_MAX_HYPERVISORS;) {
		char name[64];
		size_t n;

		p += strspn(p, " ");
		n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			rc = count_both(t, "hv/", name, 1);
			named++;
		}
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return rc == 0 && named == 0 ? count_both(t, "hv/", "unknown", 1) : rc;
}

static int count_findings(struct tally *t, const store_dump *dm)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < dm->n_findings; i++) {
		if (pattern_repeated(dm, i))
			continue;
		rc = count_both(t, "p/", pattern_of(dm, i), 1);
		if (rc == 0 &&
		    dm->findings[i]->confidence >= STORE_CONFIDENT)
			rc = count_both(t, "pc/", pattern_of(dm, i), 1);
		if (rc == 0 &&
		    strcmp(pattern_of(dm, i), "virtualized-system") == 0)
			rc = count_hypervisors(t, dm->findings[i]->title);
	}
	return rc;
}

/* Counters for a content hash seen for the first time. */
static int count_distinct(struct tally *t, const store_dump *dm,
			  uint64_t now)
{
	char code[16];
	bool error = dm->n_errors > 0 || (dm->failure && *dm->failure);
	int rc = count_both(t, "t/distinct", NULL, 1);

	if (rc == 0)
		rc = count_batch(t, "distinct", true, 1);
	if (rc == 0 && error)
		rc = count_both(t, "t/errors", NULL, 1);
	if (rc == 0 && error)
		rc = count_batch(t, "errors", true, 1);
	if (rc == 0 && dm->has_bugcheck) {
		snprintf(code, sizeof(code), "0x%08X", dm->bugcheck_code);
		rc = count_both(t, "b/", code, 1);
	}
	if (rc == 0 && !dm->has_bugcheck && dm->has_exception) {
		snprintf(code, sizeof(code), "0x%08X", dm->exception_code);
		rc = count_both(t, "e/", code, 1);
	}
	if (rc == 0 && dm->format != NULL)
		rc = count_both(t, "f/", dm->format, 1);
	if (rc == 0 && dm->blame_module != NULL && dm->blame_module[0])
		rc = count_both(t, "m/", dm->blame_module, 1);
	if (rc == 0)
		rc = count_findings(t, dm);
	if (rc == 0 && dm->signature_hash != NULL && *dm->signature_hash) {
		bool created = false;

		rc = bucket_touch(t->s, t->txn, dm, now, &created);
		if (rc == 0 && created)
			rc = count_both(t, "t/buckets", NULL, 1);
		if (rc == 0)
			rc = bucket_counters(t, dm, dm->signature_hash, 1);
	}
	return rc;
}

/* What the job knows and the worker may not: batch, archive, member. */
static void fill_from_job(store_dump *rec, const store_job *job)
{
	if ((rec->batch == NULL || rec->batch[0] == '\0') && job->batch != NULL)
		rec->batch = job->batch;
	if ((rec->source == NULL || rec->source[0] == '\0') &&
	    job->path != NULL)
		rec->source = job->path;
	if ((rec->archive == NULL || rec->archive[0] == '\0') &&
	    job->archive != NULL && job->archive[0] != '\0') {
		rec->archive = job->archive;
		rec->member = job->member;
	}
}

static int put_one(struct store *s, MDB_txn *txn, struct store_result *r,
		   uint64_t now)
{
	const store_dump *dm = r->dump;
	store_job *job = NULL;
	struct tally jt;
	int rc = job_get_txn(s, txn, r->job_id, &job);

	r->counted = false;
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc; /* unknown job: ignore */
	if (job->state == DUMPFLEET__V1__JOB_STATE__JOB_DONE) {
		store_job_free(job);
		return 0;
	}
	/* A late result for a job given up on (lease expiries, failure). */
	bool was_failed = job_finished(job);

	/* (path, content) pair: counts once in "dumps", under the job's batch. */
	uint8_t skey[2 * HASH_LEN];
	uint8_t idbuf[8];
	MDB_val k = { sizeof(skey), skey }, v = { 8, idbuf };

	rc = tally_init(&jt, s, txn, now, job->batch);
	job_source_hash(job, skey);
	memcpy(skey + HASH_LEN, dm->content_hash.data, HASH_LEN);
	u64_be(idbuf, r->job_id);
	if (rc == 0)
		rc = mdb_put(txn, s->dbi[DB_SOURCES], &k, &v, MDB_NOOVERWRITE);
	if (rc == 0) {
		r->counted = true;
		rc = count_both(&jt, "t/dumps", NULL, 1);
		if (rc == 0)
			rc = count_batch(&jt, "dumps", true, 1);
	} else if (rc == MDB_KEYEXIST) {
		rc = 0;
	}

	/* Content: stored and counted once, under the record's batch. */
	MDB_val hk = { HASH_LEN, dm->content_hash.data }, hv;

	if (rc == 0) {
		rc = mdb_get(txn, s->dbi[DB_DUMPS], &hk, &hv);
		if (rc == MDB_NOTFOUND) {
			store_dump rec = *dm;
			struct tally dt;

			fill_from_job(&rec, job);
			rec.day = now / 86400; /* resign moves this day's counts */
			rc = put_msg(txn, s->dbi[DB_DUMPS], dm->content_hash.data,
				     HASH_LEN, &rec.base);
			if (rc == 0)
				rc = tally_init(&dt, s, txn, now, rec.batch);
			if (rc == 0)
				rc = count_distinct(&dt, &rec, now);
			r->counted = true;
		}
	}
	/* It is done now, so it no longer counts as failed as well. */
	if (rc == 0 && was_failed)
		rc = count_failure(
			s, txn, job,
			job->state == DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED,
			-1);
	if (rc == 0)
		rc = job_set_state(s, txn, job,
				   DUMPFLEET__V1__JOB_STATE__JOB_DONE, NULL);
	if (rc == 0) {
		r->ddone = 1;
		r->dfailed = was_failed ? -1 : 0;
	}
	store_job_free(job);
	return rc;
}

/*
 * Why DM cannot be stored as it is, or NULL. Results come from workers over
 * the wire: the signature hash becomes an LMDB key (at most 511 bytes) and
 * is printed by reports; every finding costs two counter writes.
 */
static const char *result_invalid(const store_dump *dm)
{
	if (dm->content_hash.len != HASH_LEN || dm->content_hash.data == NULL)
		return "result without a content hash";
	if (dm->signature_hash != NULL && !key_safe(dm->signature_hash))
		return "result with a malformed signature hash";
	if (dm->n_findings > STORE_MAX_FINDINGS)
		return "result with too many findings";
	if (protobuf_c_message_get_packed_size(&dm->base) > STORE_MAX_RECORD)
		return "result too large"; /* never let one record eat the map */
	return NULL;
}

int store_results_put(struct store *s, struct store_result *results,
		      size_t n, struct diag *d)
{
	return store_results_put_at(s, results, n, (uint64_t)time(NULL), d);
}

int store_results_put_at(struct store *s, struct store_result *results,
			 size_t n, uint64_t now, struct diag *d)
{
	for (;;) {
		MDB_txn *txn;
		int rc = write_begin(s, &txn);

		if (rc != 0)
			return lmdb_fail(d, rc, "txn_begin");
		for (size_t i = 0; rc == 0 && i < n; i++) {
			struct store_result *r = &results[i];
			const char *bad = result_invalid(r->dump);

			r->counted = false;
			r->ddone = 0;
			r->dfailed = 0;
			if (bad == NULL) {
				rc = put_one(s, txn, r, now);
				continue;
			}
			/*
			 * Fail its job rather than skip it (it would stay
			 * queued for ever) or abort the whole batch.
			 */
			rc = job_fail_txn(s, txn, r->job_id, bad, false);
			if (rc == 0)
				r->dfailed = 1;
			else if (rc == MDB_NOTFOUND || rc == MDB_KEYEXIST)
				rc = 0;
		}
		if (rc == 0)
			rc = write_commit(s, txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL) {
			if (grow_map(s, d) != DF_OK)
				return DF_ESTORE;
			continue;
		}
		return rc != 0 ? lmdb_fail(d, rc, "put results") : DF_OK;
	}
}

/* ---- reading ----------------------------------------------------------- */

int store_counter_get(struct store *s, const char *key, uint64_t *out,
		      struct diag *d)
{
	MDB_txn *txn;
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = begin(s, MDB_RDONLY, &txn);

	*out = 0;
	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_get(txn, s->dbi[DB_COUNTERS], &k, &v);
	if (rc == 0 && v.mv_size == 8)
		*out = load_u64le(v.mv_data);
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND ? DF_OK : lmdb_fail(d, rc, "get");
}

/* Call FN for every counter key in [FROM, TO), or with prefix FROM. */
static int counters_walk(struct store *s, const char *from, const char *to,
			 int (*fn)(void *ctx, const char *key, uint64_t v),
			 void *ctx, struct diag *d)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	size_t flen = strlen(from), tlen = to != NULL ? strlen(to) : 0;
	MDB_val k = { flen, (void *)from }, v;
	int rc = begin(s, MDB_RDONLY, &txn);

	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_cursor_open(txn, s->dbi[DB_COUNTERS], &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(d, rc, "cursor_open");
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char key[STORE_MAX_KEY + 1];

		if (k.mv_size > STORE_MAX_KEY)
			continue; /* never written by this store */
		if (to == NULL && (k.mv_size < flen ||
				   memcmp(k.mv_data, from, flen) != 0))
			break;
		if (to != NULL) {
			size_t n = k.mv_size < tlen ? k.mv_size : tlen;
			int c = memcmp(k.mv_data, to, n);

			if (c > 0 || (c == 0 && k.mv_size >= tlen))
				break;
		}
		memcpy(key, k.mv_data, k.mv_size);
		key[k.mv_size] = '\0';
		if (v.mv_size == 8 && fn(ctx, key, load_u64le(v.mv_data)))
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return DF_OK;
}

int store_counters_scan(struct store *s, const char *prefix,
			int (*fn)(void *ctx, const char *key, uint64_t v),
			void *ctx, struct diag *d)
{
	return counters_walk(s, prefix, NULL, fn, ctx, d);
}

int store_counters_range(struct store *s, const char *from, const char *to,
			 int (*fn)(void *ctx, const char *key, uint64_t v),
			 void *ctx, struct diag *d)
{
	return counters_walk(s, from, to, fn, ctx, d);
}

int store_buckets_scan(struct store *s,
		       int (*fn)(void *ctx, const store_bucket *b), void *ctx,
		       struct diag *d)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = begin(s, MDB_RDONLY, &txn);

	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_cursor_open(txn, s->dbi[DB_BUCKETS], &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return lmdb_fail(d, rc, "cursor_open");
	}
	int out = DF_OK;

	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		store_bucket *b = dumpfleet__v1__bucket__unpack(NULL, v.mv_size,
								 v.mv_data);

		if (b == NULL) {
			out = diag_fail(d, DF_ESTORE, "corrupt bucket record");
			break;
		}
		int stop = fn(ctx, b);

		dumpfleet__v1__bucket__free_unpacked(b, NULL);
		if (stop)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return out;
}

int store_dump_get(struct store *s, const uint8_t hash[32], store_dump **out,
		   struct diag *d)
{
	MDB_txn *txn;
	MDB_val k = { HASH_LEN, (void *)hash }, v;
	int rc = begin(s, MDB_RDONLY, &txn);

	*out = NULL;
	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_get(txn, s->dbi[DB_DUMPS], &k, &v);
	if (rc == 0)
		*out = dumpfleet__v1__dump__unpack(NULL, v.mv_size, v.mv_data);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return diag_fail(d, DF_ENOTFOUND, "no such dump");
	if (rc != 0)
		return lmdb_fail(d, rc, "get dump");
	return *out != NULL ? DF_OK
			    : diag_fail(d, DF_ESTORE, "corrupt dump record");
}

void store_dump_free(store_dump *dump)
{
	if (dump != NULL)
		dumpfleet__v1__dump__free_unpacked(dump, NULL);
}

/* ---- buckets and re-signing ------------------------------------------- */

int store_bucket_get(struct store *s, const char *hash, store_bucket **out,
		     struct diag *d)
{
	MDB_txn *txn;
	MDB_val k = { strlen(hash), (void *)hash }, v;
	int rc;

	*out = NULL;
	if (k.mv_size == 0 || k.mv_size > STORE_MAX_KEY)
		return diag_fail(d, DF_ENOTFOUND, "no such bucket");
	rc = begin(s, MDB_RDONLY, &txn);
	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_get(txn, s->dbi[DB_BUCKETS], &k, &v);
	if (rc == 0)
		*out = dumpfleet__v1__bucket__unpack(NULL, v.mv_size, v.mv_data);
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return diag_fail(d, DF_ENOTFOUND, "no bucket %.64s", hash);
	if (rc != 0)
		return lmdb_fail(d, rc, "get bucket");
	return *out != NULL ? DF_OK
			    : diag_fail(d, DF_ESTORE, "corrupt bucket record");
}

void store_bucket_free(store_bucket *b)
{
	if (b != NULL)
		dumpfleet__v1__bucket__free_unpacked(b, NULL);
}

/* Take content hash CH out of bucket H; delete the bucket when empty. */
static int bucket_remove(struct store *s, MDB_txn *txn, const char *h,
			 const ProtobufCBinaryData *ch, bool *deleted)
{
	MDB_val k = { strlen(h), (void *)h }, v;
	int rc = mdb_get(txn, s->dbi[DB_BUCKETS], &k, &v);

	*deleted = false;
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	store_bucket *b = dumpfleet__v1__bucket__unpack(NULL, v.mv_size,
							 v.mv_data);

	if (b == NULL)
		return MDB_CORRUPTED;
	if (b->count <= 1) {
		dumpfleet__v1__bucket__free_unpacked(b, NULL);
		*deleted = true;
		return mdb_del(txn, s->dbi[DB_BUCKETS], &k, NULL);
	}
	b->count--;
	size_t ns = b->n_samples;

	/* Samples are owned by the message; only reorder the pointers. */
	for (size_t i = 0; i < ns; i++) {
		if (b->samples[i].len == ch->len &&
		    memcmp(b->samples[i].data, ch->data, ch->len) == 0) {
			ProtobufCBinaryData gone = b->samples[i];

			b->samples[i] = b->samples[ns - 1];
			b->samples[ns - 1] = gone;
			ns--;
			break;
		}
	}
	size_t keep = b->n_samples;

	b->n_samples = ns;
	rc = put_msg(txn, s->dbi[DB_BUCKETS], h, strlen(h), &b->base);
	b->n_samples = keep;
	dumpfleet__v1__bucket__free_unpacked(b, NULL);
	return rc;
}

/* Move one dump from its bucket to the one FN names; counts stay exact. */
static int resign_one(struct store *s, MDB_txn *txn, const MDB_val *key,
		      store_resign_fn fn, void *ctx,
		      struct store_resign_stats *st)
{
	MDB_val v;
	int rc = mdb_get(txn, s->dbi[DB_DUMPS], (MDB_val *)key, &v);

	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	store_dump *dm = dumpfleet__v1__dump__unpack(NULL, v.mv_size,
						     v.mv_data);

	if (dm == NULL)
		return MDB_CORRUPTED;
	char text[STORE_MAX_SIGNATURE + 1];
	char hash[17];
	uint32_t version = dm->sig_rules_version;

	st->seen++;
	if (fn(ctx, dm, text, sizeof(text), hash, &version) != DF_OK ||
	    dm->signature_hash == NULL || dm->signature_hash[0] == '\0') {
		st->skipped++;
		dumpfleet__v1__dump__free_unpacked(dm, NULL);
		return 0;
	}
	if (strcmp(hash, dm->signature_hash) == 0 &&
	    version == dm->sig_rules_version) {
		dumpfleet__v1__dump__free_unpacked(dm, NULL);
		return 0;
	}
	struct tally t;
	bool moved = strcmp(hash, dm->signature_hash) != 0;
	bool gone = false, created = false;
	char *old_hash = dm->signature_hash, *old_text = dm->signature;

	rc = tally_init(&t, s, txn, dm->day ? dm->day * 86400 : dm->analysed_at,
			dm->batch);
	if (rc == 0 && moved) {
		rc = bucket_remove(s, txn, old_hash, &dm->content_hash, &gone);
		if (rc == 0)
			rc = bucket_counters(&t, dm, old_hash, -1);
		if (rc == 0 && gone)
			rc = counter_add(s, "t/buckets", -1, NULL);
	}
	dm->signature_hash = hash;
	dm->signature = text;
	dm->sig_rules_version = version;
	if (rc == 0 && moved) {
		rc = bucket_update(s, txn, dm, dm->day ? dm->day * 86400
						       : dm->analysed_at,
				   &created);
		if (rc == 0 && created)
			rc = counter_add(s, "t/buckets", 1, NULL);
		if (rc == 0)
			rc = bucket_counters(&t, dm, hash, 1);
	}
	if (rc == 0)
		rc = put_msg(txn, s->dbi[DB_DUMPS], key->mv_data, key->mv_size,
			     &dm->base);
	st->moved += moved && rc == 0;
	/* Give the message its own strings back before freeing it. */
	dm->signature_hash = old_hash;
	dm->signature = old_text;
	dumpfleet__v1__dump__free_unpacked(dm, NULL);
	return rc;
}

/* Content hashes of every dump, read in one snapshot. */
static int dump_keys(struct store *s, uint8_t **keys, size_t *n,
		     struct diag *d)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t cap = 0;
	int rc = begin(s, MDB_RDONLY, &txn);

	*keys = NULL;
	*n = 0;
	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_cursor_open(txn, s->dbi[DB_DUMPS], &cur);
	for (int g = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc;
	     g == 0; g = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != HASH_LEN)
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			uint8_t *nk = realloc(*keys, ncap * HASH_LEN);

			if (nk == NULL) {
				rc = ENOMEM;
				break;
			}
			*keys = nk;
			cap = ncap;
		}
		memcpy(*keys + *n * HASH_LEN, k.mv_data, HASH_LEN);
		(*n)++;
	}
	if (rc == 0)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc != 0 ? lmdb_fail(d, rc, "scan dumps") : DF_OK;
}

int store_resign(struct store *s, store_resign_fn fn, void *ctx,
		 struct store_resign_stats *st, struct diag *d)
{
	uint8_t *keys = NULL;
	size_t n = 0;
	int rc = dump_keys(s, &keys, &n, d);

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; rc == DF_OK && i < n;) {
		size_t end = n - i < STORE_RESIGN_BATCH ? n
							: i + STORE_RESIGN_BATCH;
		struct store_resign_stats part = *st;
		MDB_txn *txn;
		int lrc = write_begin(s, &txn);

		for (size_t j = i; lrc == 0 && j < end; j++) {
			MDB_val k = { HASH_LEN, keys + j * HASH_LEN };

			lrc = resign_one(s, txn, &k, fn, ctx, &part);
		}
		if (lrc == 0)
			lrc = write_commit(s, txn);
		else
			mdb_txn_abort(txn);
		if (lrc == MDB_MAP_FULL && grow_map(s, d) == DF_OK)
			continue; /* the batch again, in a larger map */
		if (lrc != 0)
			rc = lmdb_fail(d, lrc, "resign");
		else
			*st = part;
		i = end;
	}
	free(keys);
	return rc;
}

int store_name_get(struct store *s, const char *component, char *out,
		   size_t outlen, struct diag *d)
{
	MDB_txn *txn;
	char key[96];
	int n = snprintf(key, sizeof(key), "n/%s", component);
	MDB_val k = { n > 0 ? (size_t)n : 0, key }, v;
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (n < 0 || (size_t)n >= sizeof(key) || component[0] != '#')
		return DF_ENOTFOUND;
	rc = begin(s, MDB_RDONLY, &txn);
	if (rc != 0)
		return lmdb_fail(d, rc, "txn_begin");
	rc = mdb_get(txn, s->dbi[DB_META], &k, &v);
	if (rc == 0 && outlen > 0) {
		size_t len = v.mv_size < outlen - 1 ? v.mv_size : outlen - 1;

		memcpy(out, v.mv_data, len);
		out[len] = '\0';
	}
	mdb_txn_abort(txn);
	if (rc == MDB_NOTFOUND)
		return DF_ENOTFOUND;
	return rc != 0 ? lmdb_fail(d, rc, "get name") : DF_OK;
}

void store_batch_key(char *out, size_t outlen, const char *batch)
{
	char c[80];

	batch_component(batch != NULL ? batch : "", c);
	snprintf(out, outlen, "%s", c);
}
