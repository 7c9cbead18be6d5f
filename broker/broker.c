#include "broker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "content.h"
#include "curve.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "log.h"
#include "metrics.h"
#include "rate.h"
#include "store.h"
#include "wire.h"
#include "writer.h"
#include "zap.h"

#define BROKER_MAX_WORKERS 4096
/*
 * Results per write transaction. The store's work per result (dump record,
 * counters) dominates the writer's time, and pages that many results touch
 * are written once per transaction: bench/dispatch.sh measured 256 -> 1024
 * worth it.
 */
#define BROKER_MAX_BATCH 1024
/* Bytes of results waiting for their write (a result may be 32 MiB). */
#define BROKER_MAX_PENDING_BYTES ((size_t)16 << 20)
#define BROKER_QUEUE_WINDOW 10000     /* default queued jobs in memory */
#define BROKER_FLUSH_MS 20            /* longest a result waits for its write */
#define BROKER_MAX_SUBMIT_PATHS 10000 /* paths in one SubmitRequest */
#define BROKER_MAX_PATH 4096
#define BROKER_MAX_TAG 256            /* bytes of a batch tag */
#define BROKER_MAX_CREDIT 64          /* jobs one connection may hold */
#define BROKER_MAX_LISTED 100         /* quarantined jobs in a StatusReply */
#define BROKER_PUBLISH_MS 250         /* how often metrics are published */
#define BROKER_MAX_RETRY_IDS 10000    /* job ids in one RetryRequest */
#define BROKER_MAX_RETRY 100000       /* jobs one RetryRequest re-queues */

struct qjob {
	uint64_t id;
	char *path;
	char *archive;       /* NULL for a plain file */
	char *member;
	uint32_t attempts;
	bool has_hash;       /* the submitter named the content */
	uint8_t hash[HASH_LEN];
	uint64_t size;
};

struct lease {
	struct qjob job;
	size_t worker;       /* index into workers */
	uint64_t deadline;
	uint64_t seq;        /* dispatch order (deadlines can tie) */
};

struct wrk {
	struct wire_peer peer;
	char name[64];
	uint32_t credit;
	uint64_t last_seen;
	uint64_t last_sent;
	uint64_t jobs_done;  /* results received on this connection */
	bool alive;
};

/* Results waiting for their write, or being written. */
struct rbatch {
	struct writer_batch wb;   /* wb.v is item */
	struct writer_item item[BROKER_MAX_BATCH];
	wire_env *env[BROKER_MAX_BATCH]; /* owned: wb.v[i].result's */
	struct qjob job[BROKER_MAX_BATCH];
	bool held[BROKER_MAX_BATCH]; /* job[i] is the leased job */
	size_t bytes;
	uint64_t first_ms;        /* when the oldest result came */
};

struct broker {
	const struct broker_opts *o;
	void *sock;
	struct qjob *queue;   /* FIFO: queue[qhead..qlen) */
	size_t qhead, qlen, qcap;
	/*
	 * The queue in memory is a window on the store's. Every pending job
	 * with an id up to scan_from has been loaded (it is queued, leased or
	 * waiting for its result here); with more set, the store holds about
	 * backlog pending jobs above scan_from, loaded as the window drains.
	 */
	uint64_t scan_from;
	uint64_t backlog;
	bool more;
	struct lease *leases;
	size_t nleases, leasecap;
	struct wrk *workers;
	size_t nworkers, workercap;
	/*
	 * Results are written by the writer thread, a batch at a time: FILL
	 * takes the results that come while OUT (NULL when none) is being
	 * written. A job's lease ends when its result comes; its batch keeps
	 * the job until the write, to queue it again if the write fails.
	 */
	struct writer *writer;
	struct rbatch *fill, *out;
	struct rbatch *bufs[2];
	bool store_failed;    /* a batch could not be written: stop */
	uint64_t batches, batch_us; /* batches written, and their time */
	uint64_t done, failed;
	uint64_t leases_expired;
	struct rate done_rate;     /* b->done, sampled once a second */
	/* For metrics: totals since start, and store commit latency. */
	uint64_t done_at_start;
	uint64_t failed_total, failed_seen;
	struct metrics_hist commit;
	uint64_t last_publish;
	uint64_t next_seq;    /* for the next lease */
	struct content *content; /* the content service, or NULL */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A store write transaction that began at T0 (now_us()) has ended. */
static void commit_observe(struct broker *b, uint64_t t0)
{
	metrics_hist_observe(&b->commit, (double)(now_us() - t0) / 1e6);
}

/*
 * The writer thread shares the store: every store call of the broker
 * thread goes between these two (writer.h). Before the writer starts
 * there is nobody to wait for.
 */
static void store_hold(struct broker *b)
{
	if (b->writer != NULL)
		writer_lock(b->writer);
}

static void store_release(struct broker *b)
{
	if (b->writer != NULL)
		writer_unlock(b->writer);
}

/* ---- queue ------------------------------------------------------------ */

static void qjob_free(struct qjob *j)
{
	free(j->path);
	free(j->archive);
	free(j->member);
}

static char *dup_set(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

/* The content a job record names, or NULL (jobs of older clients). */
static const struct store_content *job_content(const store_job *job,
					       struct store_content *c)
{
	if (job->content_hash.len != HASH_LEN)
		return NULL;
	c->hash = job->content_hash.data;
	c->size = job->size;
	return c;
}

/* The content of queued job J, or NULL. */
static const struct store_content *qjob_content(const struct qjob *j,
						struct store_content *c)
{
	if (!j->has_hash)
		return NULL;
	c->hash = j->hash;
	c->size = j->size;
	return c;
}

/*
 * Queue a copy of job ID (PATH, and ARCHIVE/MEMBER and CONTENT when set).
 */
static int queue_push(struct broker *b, uint64_t id, const char *path,
		      const char *archive, const char *member,
		      const struct store_content *content, uint32_t attempts)
{
	if (b->qhead > 0 && b->qlen == b->qcap) {
		memmove(b->queue, b->queue + b->qhead,
			(b->qlen - b->qhead) * sizeof(*b->queue));
		b->qlen -= b->qhead;
		b->qhead = 0;
	}
	if (b->qlen == b->qcap) {
		size_t ncap = b->qcap ? b->qcap * 2 : 256;
		struct qjob *nq = realloc(b->queue, ncap * sizeof(*nq));

		if (nq == NULL)
			return DF_ENOMEM;
		b->queue = nq;
		b->qcap = ncap;
	}
	struct qjob j = { id, strdup(path), dup_set(archive), dup_set(member),
			  attempts, false, { 0 }, 0 };

	if (content != NULL && content->hash != NULL) {
		j.has_hash = true;
		memcpy(j.hash, content->hash, HASH_LEN);
		j.size = content->size;
	}

	if (j.path == NULL || (archive != NULL && *archive && !j.archive) ||
	    (member != NULL && *member && !j.member)) {
		qjob_free(&j);
		return DF_ENOMEM;
	}
	b->queue[b->qlen++] = j;
	return DF_OK;
}

static size_t queue_len(const struct broker *b)
{
	return b->qlen - b->qhead;
}

static int reload_job(void *ctx, const store_job *job)
{
	struct broker *b = ctx;
	struct store_content c;

	return queue_push(b, job->job_id, job->path, job->archive, job->member,
			  job_content(job, &c), job->attempts) != DF_OK;
}

static size_t queue_window(const struct broker *b)
{
	return b->o->queue_window > 0 ? b->o->queue_window
				      : BROKER_QUEUE_WINDOW;
}

/* Jobs waiting, in memory and in the store's backlog. */
static uint64_t queued_total(const struct broker *b)
{
	return queue_len(b) + b->backlog;
}

/*
 * Load pending jobs above scan_from into the window, up to its size.
 * Refilling once half of it is gone keeps workers fed without a scan per
 * dispatched job.
 */
static int queue_refill(struct broker *b)
{
	size_t have = queue_len(b), win = queue_window(b), n = 0;
	uint64_t last = b->scan_from;
	struct diag d;

	if (!b->more || have > win / 2)
		return DF_OK;
	diag_init(&d);
	store_hold(b);
	int rc = store_jobs_pending_from(b->o->store, b->scan_from, win - have,
					 reload_job, b, &n, &last, &d);

	store_release(b);
	if (rc != DF_OK) {
		log_msg(LL_ERROR, "event=store_failed err=\"%s\"", d.msg);
		return rc;
	}
	b->scan_from = last;
	b->backlog = b->backlog > n ? b->backlog - n : 0;
	if (n < win - have) {
		b->more = false; /* the scan reached the end */
		b->backlog = 0;
	}
	return DF_OK;
}

/* ---- workers ----------------------------------------------------------- */

static size_t worker_find(struct broker *b, const struct wire_peer *p)
{
	for (size_t i = 0; i < b->nworkers; i++)
		if (b->workers[i].alive && b->workers[i].peer.len == p->len &&
		    memcmp(b->workers[i].peer.id, p->id, p->len) == 0)
			return i;
	return SIZE_MAX;
}

static size_t worker_add(struct broker *b, const struct wire_peer *p)
{
	size_t i;

	for (i = 0; i < b->nworkers; i++)
		if (!b->workers[i].alive)
			break;
	if (i == b->nworkers) {
		if (b->nworkers >= BROKER_MAX_WORKERS)
			return SIZE_MAX;
		if (b->nworkers == b->workercap) {
			size_t ncap = b->workercap ? b->workercap * 2 : 16;
			struct wrk *nw = realloc(b->workers, ncap * sizeof(*nw));

			if (nw == NULL)
				return SIZE_MAX;
			b->workers = nw;
			b->workercap = ncap;
		}
		b->nworkers++;
	}
	memset(&b->workers[i], 0, sizeof(b->workers[i]));
	b->workers[i].peer = *p;
	b->workers[i].alive = true;
	return i;
}

/*
 * Job J failed in a way another try may mend (a lease expired, its
 * analysis died, its worker was lost): it costs an attempt, and after
 * max_attempts it is quarantined with WHY. Takes J's path.
 */
static void job_retry(struct broker *b, struct qjob j, const char *why)
{
	struct store_content c;

	j.attempts++;
	if (j.attempts >= b->o->max_attempts) {
		char reason[STORE_MAX_REASON];
		struct diag d;

		diag_init(&d);
		snprintf(reason, sizeof(reason), "%.900s (%u attempts)", why,
			 (unsigned)j.attempts);
		store_hold(b);
		if (store_job_fail(b->o->store, j.id, reason, true, &d) ==
		    DF_OK)
			b->failed++;
		store_release(b);
		log_msg(LL_WARN, "event=quarantined job=%llu reason=\"%s\"",
			(unsigned long long)j.id, reason);
	} else if (queue_push(b, j.id, j.path, j.archive, j.member,
			      qjob_content(&j, &c), j.attempts) != DF_OK) {
		log_msg(LL_ERROR, "event=requeue_failed job=%llu",
			(unsigned long long)j.id);
	}
	qjob_free(&j);
}

/*
 * Put every job leased to worker W back at the queue. A slot runs its
 * jobs in the order they came, so when W was lost (LOST) the oldest lease
 * is the one it was analysing: only that job is charged an attempt, so
 * that a dump that kills workers is quarantined in the end while the jobs
 * merely waiting behind it are not.
 */
static void requeue_worker_jobs(struct broker *b, size_t w, bool lost)
{
	size_t oldest = SIZE_MAX;

	for (size_t i = 0; lost && i < b->nleases; i++)
		if (b->leases[i].worker == w &&
		    (oldest == SIZE_MAX ||
		     b->leases[i].seq < b->leases[oldest].seq))
			oldest = i;
	uint64_t charged = oldest != SIZE_MAX ? b->leases[oldest].job.id : 0;

	for (size_t i = 0; i < b->nleases;) {
		if (b->leases[i].worker != w) {
			i++;
			continue;
		}
		struct qjob j = b->leases[i].job;

		b->leases[i] = b->leases[--b->nleases];
		if (oldest != SIZE_MAX && j.id == charged) {
			job_retry(b, j, "worker lost while analysing");
			continue;
		}
		struct store_content c;

		if (queue_push(b, j.id, j.path, j.archive, j.member,
			       qjob_content(&j, &c), j.attempts) != DF_OK)
			log_msg(LL_ERROR, "event=requeue_failed job=%llu",
				(unsigned long long)j.id);
		qjob_free(&j);
	}
}

/* A worker said goodbye (Disconnect): an orderly end, not a warning. */
static void worker_drop(struct broker *b, size_t w, const char *why)
{
	char name[160];

	log_msg(LL_INFO, "event=worker_left worker=%s reason=%s",
		log_quote(name, sizeof(name), b->workers[w].name), why);
	b->workers[w].alive = false;
	requeue_worker_jobs(b, w, false);
}

/*
 * A worker went silent. Slots heartbeat while a child analyses a dump
 * (worker.h), so silence means the worker is gone or cut off: its jobs
 * go back to the queue at once instead of waiting for their leases, and
 * the one it was analysing is charged an attempt. A result that still
 * comes is recorded once (the store ignores a job already done).
 */
static void worker_silent(struct broker *b, size_t w)
{
	char name[160];

	log_msg(LL_WARN, "event=worker_dropped worker=%s reason=silent",
		log_quote(name, sizeof(name), b->workers[w].name));
	b->workers[w].alive = false;
	requeue_worker_jobs(b, w, true);
}

/* ---- sending ---------------------------------------------------------- */

static void send_to(struct broker *b, const struct wire_peer *p, wire_env *env)
{
	struct diag d;

	diag_init(&d);
	if (wire_send(b->sock, p, env, &d) != DF_OK)
		log_msg(LL_WARN, "event=send_failed err=\"%s\"", d.msg);
}

static void send_heartbeat(struct broker *b, size_t w)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Heartbeat hb = DUMPFLEET__V1__HEARTBEAT__INIT;

	hb.sent_ms = wire_now_ms();
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	send_to(b, &b->workers[w].peer, &env);
	b->workers[w].last_sent = wire_now_ms();
}

static int lease_add(struct broker *b, struct qjob j, size_t w)
{
	if (b->nleases == b->leasecap) {
		size_t ncap = b->leasecap ? b->leasecap * 2 : 64;
		struct lease *nl = realloc(b->leases, ncap * sizeof(*nl));

		if (nl == NULL)
			return DF_ENOMEM;
		b->leases = nl;
		b->leasecap = ncap;
	}
	b->leases[b->nleases++] =
		(struct lease){ j, w, wire_now_ms() + b->o->lease_ms,
				b->next_seq++ };
	return DF_OK;
}

static void dispatch(struct broker *b)
{
	for (size_t w = 0; w < b->nworkers && queue_len(b) > 0; w++) {
		struct wrk *k = &b->workers[w];

		while (k->alive && k->credit > 0 && queue_len(b) > 0) {
			struct qjob j = b->queue[b->qhead];
			wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
			Dumpfleet__V1__JobAssign as =
				DUMPFLEET__V1__JOB_ASSIGN__INIT;

			if (lease_add(b, j, w) != DF_OK)
				return;
			if (b->content != NULL &&
			    content_allow(b->content, j.id, j.path,
					  j.has_hash ? j.size : 0) != DF_OK)
				log_msg(LL_ERROR, "event=content_allow_failed "
					"job=%llu", (unsigned long long)j.id);
			b->qhead++;
			as.job_id = j.id;
			as.path = j.path;
			as.archive = j.archive != NULL ? j.archive : (char *)"";
			as.member = j.member != NULL ? j.member : (char *)"";
			as.lease_ms = b->o->lease_ms;
			if (j.has_hash) {
				as.content_hash.data = j.hash;
				as.content_hash.len = HASH_LEN;
				as.size = j.size;
			}
			env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN;
			env.assign = &as;
			send_to(b, &k->peer, &env);
			log_msg(LL_DEBUG, "event=job_assigned job=%llu slot=%zu",
				(unsigned long long)j.id, w);
			k->credit--;
			k->last_sent = wire_now_ms();
		}
	}
}

/* ---- results ----------------------------------------------------------- */

/* End the lease of job ID into *J; returns false when there was none. */
static bool lease_take(struct broker *b, uint64_t id, struct qjob *j)
{
	for (size_t i = 0; i < b->nleases; i++) {
		if (b->leases[i].job.id == id) {
			*j = b->leases[i].job;
			b->leases[i] = b->leases[--b->nleases];
			return true;
		}
	}
	return false;
}

/* Results received and not yet written: they count as leased. */
static size_t results_unwritten(const struct broker *b)
{
	return b->fill->wb.n + (b->out != NULL ? b->out->wb.n : 0);
}

/* Put job J back at the queue, uncharged; takes J's strings. */
static void queue_back(struct broker *b, struct qjob *j)
{
	struct store_content c;

	if (queue_push(b, j->id, j->path, j->archive, j->member,
		       qjob_content(j, &c), j->attempts) != DF_OK)
		log_msg(LL_ERROR, "event=requeue_failed job=%llu",
			(unsigned long long)j->id);
	qjob_free(j);
}

/*
 * Batch RB is back from the writer: count what it changed and let it
 * go. Only now are its jobs done for the broker. A job whose result
 * could not be written is still pending in the store: it goes back to
 * the queue, and the broker stops (the store failed).
 */
static void batch_settle(struct broker *b, struct rbatch *rb)
{
	struct writer_batch *wb = &rb->wb;

	metrics_hist_observe(&b->commit, (double)wb->write_us / 1e6);
	b->batches++;
	b->batch_us += wb->write_us;
	if (wb->rc != DF_OK) {
		log_msg(LL_ERROR, "event=store_failed err=\"%s\"",
			wb->diag.msg);
		b->store_failed = true;
	}
	for (size_t i = 0; i < wb->n; i++) {
		const struct writer_item *it = &wb->v[i];

		/* Count jobs, not messages: a result may arrive twice. */
		b->done += (uint64_t)it->ddone;
		b->failed += (uint64_t)(int64_t)it->dfailed;
		if (rb->held[i] && !it->committed)
			queue_back(b, &rb->job[i]);
		else if (rb->held[i])
			qjob_free(&rb->job[i]);
		rb->held[i] = false;
		wire_env_free(rb->env[i]);
	}
	wb->n = 0;
	rb->bytes = 0;
}

/* Take the batch with the writer back when it is written (WAIT: wait). */
static void batch_take_back(struct broker *b, bool wait)
{
	if (b->out == NULL || writer_collect(b->writer, wait) == NULL)
		return;
	batch_settle(b, b->out);
	b->out = NULL;
}

/* Hand the filling batch to the (idle) writer and fill the other. */
static int batch_hand_over(struct broker *b)
{
	struct rbatch *rb = b->fill;

	if (writer_submit(b->writer, &rb->wb) != DF_OK) {
		b->store_failed = true;
		return DF_ESTORE;
	}
	b->out = rb;
	b->fill = rb == b->bufs[0] ? b->bufs[1] : b->bufs[0];
	return DF_OK;
}

/*
 * A synced LMDB commit costs about as much as analysing a small dump, so
 * results wait a little to share one transaction, unless the batch is
 * full or the broker drains. The writer takes one batch at a time.
 */
static int batch_maybe_hand_over(struct broker *b, bool now)
{
	const struct rbatch *rb = b->fill;

	if (b->out != NULL || rb->wb.n == 0)
		return DF_OK;
	if (!now && rb->wb.n < BROKER_MAX_BATCH &&
	    rb->bytes < BROKER_MAX_PENDING_BYTES &&
	    wire_now_ms() - rb->first_ms < BROKER_FLUSH_MS)
		return DF_OK;
	return batch_hand_over(b);
}

/* Write what waits and wait for it (at the end, or when full). */
static int flush_results(struct broker *b)
{
	batch_take_back(b, true);
	if (b->out != NULL)
		return DF_ESTORE; /* the writer is gone */
	return batch_maybe_hand_over(b, true);
}

/*
 * The analysis died (crash, limit, watchdog): not a result but a failed
 * attempt. A retry for a job no longer leased to anyone is stale (it was
 * queued again, or finished elsewhere) and changes nothing.
 */
static void on_attempt_failed(struct broker *b,
			      const Dumpfleet__V1__JobResult *r)
{
	struct qjob j;

	if (!lease_take(b, r->job_id, &j)) {
		log_msg(LL_INFO, "event=late_retry job=%llu",
			(unsigned long long)r->job_id);
		return;
	}
	log_msg(LL_INFO, "event=attempt_failed job=%llu attempts=%u "
		"reason=\"%.200s\"", (unsigned long long)j.id,
		(unsigned)j.attempts + 1, r->dump->failure);
	job_retry(b, j, r->dump->failure);
}

/*
 * A result joins the filling batch; its lease ends (no expiry, no
 * requeue for a lost worker) but its job stays with the batch until the
 * write. A full batch waits for the writer to take it.
 */
static int on_result(struct broker *b, wire_env *env)
{
	const Dumpfleet__V1__JobResult *r = env->result;
	struct rbatch *rb = b->fill;
	size_t i = rb->wb.n;

	if (r->retry && r->dump != NULL && r->dump->failure[0] != '\0') {
		on_attempt_failed(b, r);
		wire_env_free(env);
		return DF_OK;
	}
	if (i == BROKER_MAX_BATCH) { /* the writer is gone: see serve() */
		wire_env_free(env);
		return DF_ESTORE;
	}
	rb->held[i] = lease_take(b, r->job_id, &rb->job[i]);
	if (!rb->held[i])
		log_msg(LL_INFO, "event=late_result job=%llu",
			(unsigned long long)r->job_id);
	if (i == 0)
		rb->first_ms = wire_now_ms();
	rb->env[i] = env;
	rb->wb.v[i] = (struct writer_item){ r, false, 0, 0 };
	rb->wb.n++;
	rb->bytes += dumpfleet__v1__job_result__get_packed_size(r);
	if (rb->wb.n == BROKER_MAX_BATCH ||
	    rb->bytes >= BROKER_MAX_PENDING_BYTES)
		return flush_results(b);
	return DF_OK;
}

/* ---- clients ----------------------------------------------------------- */

/* Workers open a path as given, from their own directory. */
static bool path_ok(const char *path)
{
	return path[0] == '/' && strlen(path) <= BROKER_MAX_PATH;
}

/* The jobs one SubmitRequest asks for: its paths, then its items. */
struct submitted {
	const char *paths[BROKER_MAX_SUBMIT_PATHS];
	const char *archives[BROKER_MAX_SUBMIT_PATHS];
	const char *members[BROKER_MAX_SUBMIT_PATHS];
	struct store_content content[BROKER_MAX_SUBMIT_PATHS];
	size_t n;
	uint32_t rejected;
};

/* A content hash is absent or a SHA-256; anything else is refused. */
static bool content_ok(const ProtobufCBinaryData *hash)
{
	return hash->len == 0 || hash->len == HASH_LEN;
}

static void submitted_add(struct submitted *sb, const char *path,
			  const char *archive, const char *member,
			  const ProtobufCBinaryData *hash, uint64_t size)
{
	if (sb->n >= BROKER_MAX_SUBMIT_PATHS || !path_ok(path) ||
	    strlen(archive) > BROKER_MAX_PATH ||
	    strlen(member) > BROKER_MAX_PATH || !content_ok(hash)) {
		sb->rejected++;
		return;
	}
	sb->paths[sb->n] = path;
	sb->archives[sb->n] = archive;
	sb->members[sb->n] = member;
	sb->content[sb->n].hash = hash->len == HASH_LEN ? hash->data : NULL;
	sb->content[sb->n].size = hash->len == HASH_LEN ? size : 0;
	sb->n++;
}

static void submitted_collect(struct submitted *sb,
			      const Dumpfleet__V1__SubmitRequest *req)
{
	static const ProtobufCBinaryData none = { 0, NULL };

	for (size_t i = 0; i < req->n_paths; i++)
		submitted_add(sb, req->paths[i], "", "", &none, 0);
	for (size_t i = 0; i < req->n_items; i++) {
		const Dumpfleet__V1__SubmitItem *it = req->items[i];

		if (it == NULL)
			sb->rejected++;
		else
			submitted_add(sb, it->path, it->archive, it->member,
				      &it->content_hash, it->size);
	}
}

/*
 * Jobs FIRST.. (N, stored) join the window when it has room for all and
 * nothing older waits in the store; else the store's backlog, in order.
 */
static void queue_submitted(struct broker *b, const struct submitted *sb,
			    uint64_t first, size_t n)
{
	if (n == 0)
		return;
	if (b->more || queue_len(b) + n > queue_window(b)) {
		b->more = true;
		b->backlog += n;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (queue_push(b, first + i, sb->paths[i], sb->archives[i],
			       sb->members[i], &sb->content[i], 0) != DF_OK)
			log_msg(LL_ERROR, "event=queue_failed job=%llu",
				(unsigned long long)(first + i));
	b->scan_from = first + n - 1;
}

static void on_submit(struct broker *b, const struct wire_peer *p,
		      const Dumpfleet__V1__SubmitRequest *req)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitReply rep = DUMPFLEET__V1__SUBMIT_REPLY__INIT;
	/* Too big for the stack of a thread: three arrays of 10,000. */
	struct submitted *sb = calloc(1, sizeof(*sb));
	struct diag d;
	char *err = NULL;

	diag_init(&d);
	rep.request_id = req->request_id;
	/* The tag is stored with every job: a long one would multiply. */
	if (sb == NULL) {
		err = (char *)"out of memory";
		rep.rejected = (uint32_t)(req->n_paths + req->n_items);
	} else if (strlen(req->batch) > BROKER_MAX_TAG) {
		err = (char *)"batch tag too long";
		rep.rejected = (uint32_t)(req->n_paths + req->n_items);
	} else {
		submitted_collect(sb, req);
		rep.rejected = sb->rejected;
	}
	size_t n = sb != NULL && err == NULL ? sb->n : 0;
	uint64_t first = 0;

	store_hold(b);
	uint64_t t0 = now_us();

	if (n > 0 && store_jobs_add_content(b->o->store, req->batch, sb->paths,
					    sb->archives, sb->members,
					    sb->content, n, &first,
					    &d) != DF_OK) {
		err = d.msg;
		rep.rejected += (uint32_t)n;
		n = 0;
	}
	if (n > 0)
		commit_observe(b, t0);
	store_release(b);
	queue_submitted(b, sb, first, n);
	rep.accepted = (uint32_t)n;
	rep.first_job_id = first;
	rep.last_job_id = n > 0 ? first + n - 1 : 0;
	char tag[80];

	log_msg(LL_INFO, "event=submitted batch=%s accepted=%u rejected=%u "
			 "first_job=%llu",
		log_quote(tag, sizeof(tag), req->batch), rep.accepted,
		rep.rejected, (unsigned long long)first);
	if (err != NULL) {
		rep.n_errors = 1;
		rep.errors = &err;
	}
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT_REPLY;
	env.submit_reply = &rep;
	send_to(b, p, &env);
	free(sb);
}

/* "host:pid:slot" names a slot; its worker process is "host:pid". */
static size_t process_len(const char *name)
{
	const char *c = strrchr(name, ':');

	return c != NULL ? (size_t)(c - name) : strlen(name);
}

/* One WorkerInfo per worker process, in the order they joined. */
struct worker_rows {
	Dumpfleet__V1__WorkerInfo *v;
	Dumpfleet__V1__WorkerInfo **ptrs;
	char (*names)[64];
	size_t *row_of;  /* by index into b->workers, SIZE_MAX: none */
	size_t n;
};

static size_t row_find(struct worker_rows *r, const char *name)
{
	size_t len = process_len(name);

	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->names[i]) == len &&
		    memcmp(r->names[i], name, len) == 0)
			return i;
	Dumpfleet__V1__WorkerInfo init = DUMPFLEET__V1__WORKER_INFO__INIT;

	r->v[r->n] = init;
	if (len >= sizeof(r->names[0]))
		len = sizeof(r->names[0]) - 1;
	memcpy(r->names[r->n], name, len);
	r->names[r->n][len] = '\0';
	r->v[r->n].name = r->names[r->n];
	r->ptrs[r->n] = &r->v[r->n];
	return r->n++;
}

static int rows_build(const struct broker *b, struct worker_rows *r,
		      uint64_t now)
{
	size_t n = b->nworkers ? b->nworkers : 1;

	memset(r, 0, sizeof(*r));
	r->v = calloc(n, sizeof(*r->v));
	r->ptrs = calloc(n, sizeof(*r->ptrs));
	r->names = calloc(n, sizeof(*r->names));
	r->row_of = calloc(n, sizeof(*r->row_of));
	if (r->v == NULL || r->ptrs == NULL || r->names == NULL ||
	    r->row_of == NULL)
		return DF_ENOMEM;
	for (size_t w = 0; w < b->nworkers; w++) {
		const struct wrk *k = &b->workers[w];

		r->row_of[w] = SIZE_MAX;
		if (!k->alive)
			continue;
		size_t i = row_find(r, k->name);
		uint64_t idle = now - k->last_seen;

		r->row_of[w] = i;
		if (r->v[i].slots == 0 || idle < r->v[i].idle_ms)
			r->v[i].idle_ms = idle;
		r->v[i].slots++;
		r->v[i].jobs_done += k->jobs_done;
	}
	for (size_t i = 0; i < b->nleases; i++) {
		size_t w = b->leases[i].worker;

		if (w < b->nworkers && r->row_of[w] != SIZE_MAX)
			r->v[r->row_of[w]].running++;
	}
	return DF_OK;
}

static void rows_release(struct worker_rows *r)
{
	free(r->v);
	free(r->ptrs);
	free(r->names);
	free(r->row_of);
}

/* Jobs by state in the store, and the first quarantined ones. */
struct quarantine_scan {
	Dumpfleet__V1__StatusReply *rep;
	Dumpfleet__V1__QuarantinedJob v[BROKER_MAX_LISTED];
	Dumpfleet__V1__QuarantinedJob *ptrs[BROKER_MAX_LISTED];
	bool nomem;
};

static int scan_job(void *ctx, const store_job *job)
{
	struct quarantine_scan *q = ctx;
	Dumpfleet__V1__StatusReply *rep = q->rep;

	if (job->state == DUMPFLEET__V1__JOB_STATE__JOB_FAILED)
		rep->failed_only++;
	if (job->state != DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED)
		return 0;
	rep->quarantined++;
	if (rep->n_quarantine == BROKER_MAX_LISTED)
		return 0;
	Dumpfleet__V1__QuarantinedJob init =
		DUMPFLEET__V1__QUARANTINED_JOB__INIT;
	Dumpfleet__V1__QuarantinedJob *e = &q->v[rep->n_quarantine];

	*e = init;
	e->job_id = job->job_id;
	e->attempts = job->attempts;
	e->path = strdup(job->path);
	e->reason = strdup(job->last_error);
	if (e->path == NULL || e->reason == NULL) {
		free(e->path);
		free(e->reason);
		q->nomem = true;
		return 1;
	}
	q->ptrs[rep->n_quarantine++] = e;
	return 0;
}

static void scan_release(struct quarantine_scan *q)
{
	for (size_t i = 0; i < q->rep->n_quarantine; i++) {
		free(q->v[i].path);
		free(q->v[i].reason);
	}
}

static void on_status(struct broker *b, const struct wire_peer *p,
		      const Dumpfleet__V1__StatusRequest *req)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__StatusReply rep = DUMPFLEET__V1__STATUS_REPLY__INIT;
	struct worker_rows rows;
	struct quarantine_scan *q = NULL;
	uint64_t now = wire_now_ms();
	struct diag d;

	diag_init(&d);
	/* Results still waiting for their write count as leased. */
	rep.request_id = req->request_id;
	rep.queued = queued_total(b);
	rep.leased = b->nleases + results_unwritten(b);
	rep.done = b->done;
	rep.failed = b->failed;
	rep.leases_expired = b->leases_expired;
	for (size_t i = 0; i < b->nworkers; i++)
		rep.workers += b->workers[i].alive;
	rate_window(&b->done_rate, now, b->done, &rep.done_last_minute,
		    &rep.rate_window_ms);
	if (rows_build(b, &rows, now) == DF_OK) {
		rep.n_worker_info = rows.n;
		rep.worker_info = rows.ptrs;
	}
	if (req->detail && (q = calloc(1, sizeof(*q))) != NULL) {
		q->rep = &rep;
		store_hold(b);
		rep.detailed = store_jobs_scan(b->o->store, scan_job, q, &d) ==
				       DF_OK && !q->nomem;
		store_release(b);
		rep.quarantine = q->ptrs;
	}
	if (req->detail && !rep.detailed)
		log_msg(LL_WARN, "event=status_scan_failed err=\"%s\"", d.msg);
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &rep;
	send_to(b, p, &env);
	if (q != NULL)
		scan_release(q);
	free(q);
	rows_release(&rows);
}

static void on_retry(struct broker *b, const struct wire_peer *p,
		     const Dumpfleet__V1__RetryRequest *req)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__RetryReply rep = DUMPFLEET__V1__RETRY_REPLY__INIT;
	struct store_job_list l = { NULL, 0 };
	size_t skipped = 0;
	struct store_content c;
	char *err = NULL;
	struct diag d;

	diag_init(&d);
	rep.request_id = req->request_id;
	store_hold(b);
	if (!req->all && req->n_job_ids > BROKER_MAX_RETRY_IDS)
		err = (char *)"too many job ids";
	else if ((req->all || req->n_job_ids > 0) &&
		 store_jobs_retry(b->o->store, req->all ? NULL : req->job_ids,
				  req->n_job_ids, BROKER_MAX_RETRY, &l,
				  &skipped, &d) != DF_OK)
		err = d.msg;
	store_release(b);
	for (size_t i = 0; i < l.n; i++) {
		/* Above scan_from the refill scan finds it: not twice. */
		if (l.v[i]->job_id > b->scan_from) {
			b->more = true;
			b->backlog++;
		} else if (queue_push(b, l.v[i]->job_id, l.v[i]->path,
				      l.v[i]->archive, l.v[i]->member,
				      job_content(l.v[i], &c), 0) != DF_OK) {
			log_msg(LL_ERROR, "event=queue_failed job=%llu",
				(unsigned long long)l.v[i]->job_id);
		}
		if (b->failed > 0)
			b->failed--;
		log_msg(LL_DEBUG, "event=retried job=%llu",
			(unsigned long long)l.v[i]->job_id);
	}
	log_msg(LL_INFO, "event=retry requeued=%zu skipped=%zu all=%s", l.n,
		skipped, req->all ? "yes" : "no");
	rep.requeued = (uint32_t)l.n;
	rep.skipped = (uint32_t)skipped;
	if (err != NULL) {
		log_msg(LL_WARN, "event=retry_failed err=\"%s\"", err);
		rep.n_errors = 1;
		rep.errors = &err;
	}
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RETRY_REPLY;
	env.retry_reply = &rep;
	send_to(b, p, &env);
	store_job_list_release(&l);
}

/* ---- metrics ------------------------------------------------------------ */

static void publish(struct broker *b, uint64_t now)
{
	struct metrics_snapshot s;
	struct worker_rows rows;
	uint64_t delta, ms;

	if (b->o->metrics == NULL ||
	    (b->last_publish != 0 && now - b->last_publish < BROKER_PUBLISH_MS))
		return;
	b->last_publish = now;
	/* b->failed falls on a retry: the total counts only the rises. */
	if (b->failed > b->failed_seen)
		b->failed_total += b->failed - b->failed_seen;
	b->failed_seen = b->failed;
	memset(&s, 0, sizeof(s));
	s.queued = queued_total(b);
	s.leased = b->nleases + results_unwritten(b);
	s.done = b->done;
	s.failed = b->failed;
	s.done_total = b->done - b->done_at_start;
	s.failed_total = b->failed_total;
	s.leases_expired = b->leases_expired;
	if (rows_build(b, &rows, now) == DF_OK)
		s.workers = (uint32_t)rows.n;
	for (size_t i = 0; i < rows.n; i++)
		s.slots += rows.v[i].slots;
	rows_release(&rows);
	rate_window(&b->done_rate, now, b->done, &delta, &ms);
	s.done_per_second = ms > 0 ? (double)delta * 1000.0 / (double)ms : 0;
	s.commit = b->commit;
	if (b->content != NULL) {
		struct content_stats cs;

		content_get_stats(b->content, &cs);
		s.content_requests = cs.requests;
		s.content_bytes = cs.bytes;
		s.content_errors = cs.errors;
	}
	metrics_publish(b->o->metrics, &s);
}

/* ---- roles --------------------------------------------------------------- */

/* Who may send what; a body not listed here is never accepted. */
static const struct {
	int body;
	unsigned roles;
} body_roles[] = {
	{ DUMPFLEET__V1__ENVELOPE__BODY_READY, CURVE_ROLE_WORKER },
	{ DUMPFLEET__V1__ENVELOPE__BODY_RESULT, CURVE_ROLE_WORKER },
	{ DUMPFLEET__V1__ENVELOPE__BODY_HEARTBEAT, CURVE_ROLE_ANY },
	{ DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT, CURVE_ROLE_ANY },
	{ DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT, CURVE_ROLE_CLIENT },
	{ DUMPFLEET__V1__ENVELOPE__BODY_STATUS, CURVE_ROLE_CLIENT },
	{ DUMPFLEET__V1__ENVELOPE__BODY_RETRY, CURVE_ROLE_CLIENT },
};

/*
 * Without CURVE every peer has every role. With it, the roles are those
 * the ZAP handler put in the connection's User-Id, from the allow-lists.
 */
static bool role_allows(const struct broker *b, const struct wire_peer *p,
			int body)
{
	unsigned have = b->o->curve != NULL ? zap_user_roles(p->user)
					    : CURVE_ROLE_ANY;

	for (size_t i = 0; i < ARRAY_SIZE(body_roles); i++)
		if (body_roles[i].body == body)
			return (body_roles[i].roles & have) != 0;
	return false;
}

/* Tell a peer that it sent what its key may not: it is not served. */
static void deny(struct broker *b, const struct wire_peer *p, int body)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Disconnect dc = DUMPFLEET__V1__DISCONNECT__INIT;

	log_msg(LL_WARN, "event=denied user=\"%s\" message=%d", p->user, body);
	dc.reason = (char *)"permission denied";
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT;
	env.disconnect = &dc;
	send_to(b, p, &env);
}

/* ---- the loop ------------------------------------------------------------ */

static void on_ready(struct broker *b, const struct wire_peer *p, size_t w,
		     const Dumpfleet__V1__WorkerReady *r)
{
	if (w == SIZE_MAX) {
		w = worker_add(b, p);
		if (w == SIZE_MAX)
			return;
		char name[160];

		log_msg(LL_INFO, "event=worker_joined worker=%s slot=%zu "
				 "credit=%u",
			log_quote(name, sizeof(name), r->worker_id), w,
			r->credit);
	}
	snprintf(b->workers[w].name, sizeof(b->workers[w].name), "%s",
		 r->worker_id);
	/*
	 * Credit adds up; a bound keeps a confused peer from hoarding jobs
	 * (compared before adding, so a huge credit cannot wrap to little).
	 */
	uint32_t c = b->workers[w].credit;

	if (r->credit >= BROKER_MAX_CREDIT - c)
		c = BROKER_MAX_CREDIT;
	else
		c += r->credit;
	b->workers[w].credit = c;
}

static int handle(struct broker *b)
{
	struct wire_peer p;
	wire_env *env = NULL;
	struct diag d;

	diag_init(&d);
	int rc = wire_recv(b->sock, &p, &env, &d);

	if (rc != DF_OK) {
		if (rc == DF_EPROTO)
			log_msg(LL_WARN, "event=bad_message err=\"%s\"", d.msg);
		return rc == DF_EIO ? DF_EIO : DF_OK;
	}
	if (!role_allows(b, &p, (int)env->body_case)) {
		deny(b, &p, (int)env->body_case);
		wire_env_free(env);
		return DF_OK;
	}
	size_t w = worker_find(b, &p);

	if (w != SIZE_MAX)
		b->workers[w].last_seen = wire_now_ms();
	if (w != SIZE_MAX &&
	    env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_RESULT)
		b->workers[w].jobs_done++;
	if (w != SIZE_MAX &&
	    env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_RESULT)
		log_msg(LL_DEBUG, "event=result_received job=%llu slot=%zu",
			(unsigned long long)env->result->job_id, w);
	switch (env->body_case) {
	case DUMPFLEET__V1__ENVELOPE__BODY_READY:
		on_ready(b, &p, w, env->ready);
		if (w == SIZE_MAX && (w = worker_find(b, &p)) != SIZE_MAX)
			b->workers[w].last_seen = wire_now_ms();
		break;
	case DUMPFLEET__V1__ENVELOPE__BODY_RESULT:
		return on_result(b, env); /* keeps env until flushed */
	case DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT:
		on_submit(b, &p, env->submit);
		break;
	case DUMPFLEET__V1__ENVELOPE__BODY_STATUS:
		on_status(b, &p, env->status);
		break;
	case DUMPFLEET__V1__ENVELOPE__BODY_RETRY:
		on_retry(b, &p, env->retry);
		break;
	case DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT:
		if (w != SIZE_MAX)
			worker_drop(b, w, "disconnect");
		break;
	default:
		break; /* heartbeats only refresh last_seen */
	}
	wire_env_free(env);
	return DF_OK;
}

static void expire(struct broker *b, uint64_t now)
{
	uint64_t silent = (uint64_t)b->o->heartbeat_ms * b->o->liveness;

	for (size_t w = 0; w < b->nworkers; w++) {
		struct wrk *k = &b->workers[w];

		if (!k->alive)
			continue;
		if (now - k->last_seen > silent) {
			worker_silent(b, w);
			continue;
		}
		if (now - k->last_sent >= b->o->heartbeat_ms)
			send_heartbeat(b, w);
	}
	for (size_t i = 0; i < b->nleases;) {
		struct lease *l = &b->leases[i];

		if (now < l->deadline) {
			i++;
			continue;
		}
		struct qjob j = l->job;

		*l = b->leases[--b->nleases];
		b->leases_expired++;
		job_retry(b, j, "lease expired");
	}
}

static int bind_socket(struct broker *b)
{
	int linger = 0;
	int hwm = 0; /* flow control is by credit, not by dropping */
	/* Peers are untrusted: refuse a frame before it is all in memory. */
	int64_t maxmsg = (int64_t)WIRE_MAX_FRAME;
	char ep[256];
	size_t eplen = sizeof(ep);

	b->sock = zmq_socket(b->o->zmq_ctx, ZMQ_ROUTER);
	if (b->sock == NULL)
		return DF_EIO;
	zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(b->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(b->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(b->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (b->o->curve != NULL) {
		struct diag d;

		diag_init(&d);
		if (curve_server_apply(b->sock, b->o->curve, &d) != DF_OK) {
			log_msg(LL_ERROR, "event=curve_failed err=\"%s\"",
				d.msg);
			return DF_EIO;
		}
	}
	if (zmq_bind(b->sock, b->o->endpoint) != 0) {
		log_msg(LL_ERROR, "event=bind_failed endpoint=%s err=\"%s\"",
			b->o->endpoint, zmq_strerror(zmq_errno()));
		return DF_EIO;
	}
	if (zmq_getsockopt(b->sock, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0)
		snprintf(ep, sizeof(ep), "%s", b->o->endpoint);
	if (b->o->on_bound != NULL)
		b->o->on_bound(b->o->on_bound_ctx, ep);
	log_msg(LL_INFO, "event=listening endpoint=%s curve=%s allowed_keys=%zu",
		ep, b->o->curve != NULL ? "on" : "off",
		curve_keyring_size(b->o->allow));
	return DF_OK;
}

static int start_content(struct broker *b)
{
	struct content_opts co = { b->o->zmq_ctx, b->o->content_endpoint,
				   b->o->curve };
	char ep[256];
	struct diag d;

	diag_init(&d);
	if (content_start(&b->content, &co, ep, sizeof(ep), &d) != DF_OK) {
		log_msg(LL_ERROR, "event=content_failed err=\"%s\"", d.msg);
		return DF_EIO;
	}
	if (b->o->on_content_bound != NULL)
		b->o->on_content_bound(b->o->on_bound_ctx, ep);
	return DF_OK;
}

static void broker_free(struct broker *b)
{
	for (size_t i = b->qhead; i < b->qlen; i++)
		qjob_free(&b->queue[i]);
	for (size_t i = 0; i < b->nleases; i++)
		qjob_free(&b->leases[i].job);
	for (size_t k = 0; k < ARRAY_SIZE(b->bufs); k++) {
		struct rbatch *rb = b->bufs[k];

		for (size_t i = 0; rb != NULL && i < rb->wb.n; i++) {
			if (rb->held[i])
				qjob_free(&rb->job[i]);
			wire_env_free(rb->env[i]);
		}
		free(rb);
	}
	free(b->queue);
	free(b->leases);
	free(b->workers);
	if (b->sock != NULL)
		zmq_close(b->sock);
}

/*
 * Told to stop: no new leases; go on until the leased jobs are answered
 * and their results written, or drain_ms has passed (*END is when). True
 * when it is time to return.
 */
static bool drained(struct broker *b, uint64_t *end)
{
	if (!atomic_load(b->o->stop))
		return false;
	uint64_t now = wire_now_ms();

	if (*end == 0) {
		*end = now + b->o->drain_ms;
		log_msg(LL_INFO, "event=draining leased=%zu", b->nleases);
	}
	return (b->nleases == 0 && results_unwritten(b) == 0) || now >= *end;
}

/*
 * 1 when messages wait on the broker's socket, 0 when none came within
 * WAIT ms, -1 when the context ends. A written batch (the writer's
 * socket) is taken back and the next handed over at once, so the writer
 * is not left idle behind a long run of messages.
 */
static int more_messages(struct broker *b, long wait, bool draining)
{
	zmq_pollitem_t items[2] = {
		{ b->sock, 0, ZMQ_POLLIN, 0 },
		{ writer_socket(b->writer), 0, ZMQ_POLLIN, 0 },
	};
	int n = zmq_poll(items, 2, wait);

	if (n <= 0)
		return n < 0 && zmq_errno() == ETERM ? -1 : 0;
	if (items[1].revents & ZMQ_POLLIN) {
		batch_take_back(b, false);
		batch_maybe_hand_over(b, draining);
	}
	return (items[0].revents & ZMQ_POLLIN) != 0;
}

static int serve(struct broker *b)
{
	const struct broker_opts *o = b->o;
	uint64_t drain_end = 0;

	while (!drained(b, &drain_end)) {
		long wait = b->fill->wb.n > 0 && b->out == NULL
				    ? BROKER_FLUSH_MS
				    : (long)o->heartbeat_ms / 4 + 1;
		int more = more_messages(b, wait, drain_end != 0);

		if (more < 0)
			break;
		for (int i = 0; more > 0 && i < 4096; i++) {
			int rc = handle(b);

			if (rc == DF_EIO)
				break;
			/* The writer is gone. */
			if (rc != DF_OK)
				return DF_ESTORE;
			more = more_messages(b, 0, drain_end != 0);
		}
		if (b->store_failed ||
		    batch_maybe_hand_over(b, drain_end != 0) != DF_OK)
			return DF_ESTORE;
		expire(b, wire_now_ms());
		rate_tick(&b->done_rate, wire_now_ms(), b->done);
		publish(b, wire_now_ms());
		if (drain_end == 0 && queue_refill(b) != DF_OK)
			return DF_ESTORE;
		if (drain_end == 0)
			dispatch(b);
	}
	return DF_OK;
}

/* The writer thread and its two batches. */
static int start_writer(struct broker *b)
{
	struct diag d;

	diag_init(&d);
	for (size_t k = 0; k < ARRAY_SIZE(b->bufs); k++) {
		b->bufs[k] = calloc(1, sizeof(*b->bufs[k]));
		if (b->bufs[k] == NULL)
			return DF_ENOMEM;
		b->bufs[k]->wb.v = b->bufs[k]->item;
	}
	b->fill = b->bufs[0];
	if (writer_start(&b->writer, b->o->zmq_ctx, b->o->store, &d) != DF_OK) {
		log_msg(LL_ERROR, "event=writer_failed err=\"%s\"", d.msg);
		return DF_EIO;
	}
	return DF_OK;
}

/* Write the last results (unless the store failed) and stop the writer. */
static void stop_writer(struct broker *b)
{
	if (b->writer == NULL)
		return;
	batch_take_back(b, true);
	if (!b->store_failed && flush_results(b) == DF_OK)
		batch_take_back(b, true);
	writer_stop(&b->writer);
}

int broker_run(const struct broker_opts *o)
{
	struct broker b;
	struct diag d;
	struct store_job_counts c;

	memset(&b, 0, sizeof(b));
	b.o = o;
	rate_init(&b.done_rate);
	diag_init(&d);
	b.more = true;
	if (store_job_counts(o->store, &c, &d) != DF_OK ||
	    queue_refill(&b) != DF_OK) {
		log_msg(LL_ERROR, "event=store_failed err=\"%s\"", d.msg);
		broker_free(&b);
		return DF_ESTORE;
	}
	if (b.more && c.queued + c.leased > queue_len(&b))
		b.backlog = c.queued + c.leased - queue_len(&b);
	b.done = c.done;
	b.failed = c.failed + c.quarantined;
	b.done_at_start = b.done;
	b.failed_seen = b.failed;
	if (queued_total(&b) > 0)
		log_msg(LL_INFO, "event=resumed queued=%llu",
			(unsigned long long)queued_total(&b));
	struct zap *zap = NULL;
	int rc = DF_OK;

	/* The handler must be there before the first peer knocks. */
	if (o->curve != NULL && zap_start(&zap, o->zmq_ctx, o->allow, &d) !=
					DF_OK) {
		log_msg(LL_ERROR, "event=zap_failed err=\"%s\"", d.msg);
		rc = DF_EIO;
	}
	if (rc == DF_OK)
		rc = start_writer(&b);
	if (rc == DF_OK)
		rc = bind_socket(&b);
	/* After ZAP: a CURVE socket with no handler would admit anyone. */
	if (rc == DF_OK && o->content_endpoint != NULL)
		rc = start_content(&b);
	if (rc == DF_OK)
		rc = serve(&b);
	stop_writer(&b);
	if (rc == DF_OK && b.store_failed)
		rc = DF_ESTORE;
	content_stop(&b.content);
	broker_free(&b);
	zap_stop(&zap);
	log_msg(LL_INFO, "event=stopped done=%llu failed=%llu batches=%llu "
		"batch_ms=%.1f rc=%d", (unsigned long long)b.done,
		(unsigned long long)b.failed, (unsigned long long)b.batches,
		b.batches ? (double)b.batch_us / 1e3 / (double)b.batches : 0.0,
		rc);
	return rc;
}

void broker_opts_init(struct broker_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->heartbeat_ms = 1000;
	o->liveness = 5;
	o->lease_ms = 600000;
	o->max_attempts = 3;
	o->queue_window = BROKER_QUEUE_WINDOW;
}
