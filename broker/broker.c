#include "broker.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "df.h"
#include "diag.h"
#include "log.h"
#include "store.h"
#include "wire.h"

#define BROKER_MAX_WORKERS 4096
#define BROKER_MAX_BATCH 256          /* results per write transaction */
#define BROKER_FLUSH_MS 20            /* longest a result waits for its write */
#define BROKER_MAX_SUBMIT_PATHS 10000 /* paths in one SubmitRequest */
#define BROKER_MAX_PATH 4096
#define BROKER_MAX_TAG 256            /* bytes of a batch tag */
#define BROKER_MAX_CREDIT 64          /* jobs one connection may hold */

struct qjob {
	uint64_t id;
	char *path;
	uint32_t attempts;
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
	bool alive;
};

struct broker {
	const struct broker_opts *o;
	void *sock;
	struct qjob *queue;   /* FIFO: queue[qhead..qlen) */
	size_t qhead, qlen, qcap;
	struct lease *leases;
	size_t nleases, leasecap;
	struct wrk *workers;
	size_t nworkers, workercap;
	wire_env *pending[BROKER_MAX_BATCH];
	size_t npending;
	uint64_t first_pending_ms; /* when the oldest pending result came */
	uint64_t done, failed;
	uint64_t next_seq;    /* for the next lease */
};

/* ---- queue ------------------------------------------------------------ */

static int queue_push(struct broker *b, uint64_t id, const char *path,
		      uint32_t attempts)
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
	char *p = strdup(path);

	if (p == NULL)
		return DF_ENOMEM;
	b->queue[b->qlen++] = (struct qjob){ id, p, attempts };
	return DF_OK;
}

static size_t queue_len(const struct broker *b)
{
	return b->qlen - b->qhead;
}

static int reload_job(void *ctx, const store_job *job)
{
	struct broker *b = ctx;

	return queue_push(b, job->job_id, job->path, job->attempts) != DF_OK;
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
	j.attempts++;
	if (j.attempts >= b->o->max_attempts) {
		char reason[STORE_MAX_REASON];
		struct diag d;

		diag_init(&d);
		snprintf(reason, sizeof(reason), "%.900s (%u attempts)", why,
			 (unsigned)j.attempts);
		if (store_job_fail(b->o->store, j.id, reason, true, &d) ==
		    DF_OK)
			b->failed++;
		log_msg(LL_WARN, "event=quarantined job=%llu reason=\"%s\"",
			(unsigned long long)j.id, reason);
	} else if (queue_push(b, j.id, j.path, j.attempts) != DF_OK) {
		log_msg(LL_ERROR, "event=requeue_failed job=%llu",
			(unsigned long long)j.id);
	}
	free(j.path);
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
		if (queue_push(b, j.id, j.path, j.attempts) != DF_OK)
			log_msg(LL_ERROR, "event=requeue_failed job=%llu",
				(unsigned long long)j.id);
		free(j.path);
	}
}

static void worker_drop(struct broker *b, size_t w, const char *why)
{
	log_msg(LL_WARN, "event=worker_dropped worker=%s reason=%s",
		b->workers[w].name, why);
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
	log_msg(LL_WARN, "event=worker_dropped worker=%s reason=silent",
		b->workers[w].name);
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
			b->qhead++;
			as.job_id = j.id;
			as.path = j.path;
			as.lease_ms = b->o->lease_ms;
			env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN;
			env.assign = &as;
			send_to(b, &k->peer, &env);
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

/* Forget the lease of job ID; returns false when there was none. */
static bool lease_end(struct broker *b, uint64_t id)
{
	struct qjob j;

	if (!lease_take(b, id, &j))
		return false;
	free(j.path);
	return true;
}

static int flush_results(struct broker *b)
{
	struct store_result res[BROKER_MAX_BATCH];
	size_t n = 0;
	struct diag d;
	int rc = DF_OK;

	diag_init(&d);
	for (size_t i = 0; i < b->npending; i++) {
		const Dumpfleet__V1__JobResult *r = b->pending[i]->result;

		if (r->dump == NULL || r->dump->content_hash.len == 0) {
			const char *why = r->dump != NULL && r->dump->failure
						  ? r->dump->failure
						  : "no result";
			int frc = store_job_fail(b->o->store, r->job_id, why,
						 false, &d);

			/*
			 * An unknown or finished job (a duplicate, a peer's
			 * made-up id) changes nothing and stops nothing.
			 */
			if (frc == DF_OK)
				b->failed++;
			else if (frc != DF_EEXIST && frc != DF_ENOTFOUND &&
				 rc == DF_OK)
				rc = frc;
			continue;
		}
		res[n].job_id = r->job_id;
		res[n].dump = r->dump;
		n++;
	}
	if (rc == DF_OK && n > 0)
		rc = store_results_put(b->o->store, res, n, &d);
	if (rc != DF_OK) {
		log_msg(LL_ERROR, "event=store_failed err=\"%s\"", d.msg);
	} else {
		/* Count jobs, not messages: a result may arrive twice. */
		for (size_t i = 0; i < n; i++) {
			b->done += (uint64_t)res[i].ddone;
			b->failed += (uint64_t)(int64_t)res[i].dfailed;
		}
	}
	for (size_t i = 0; i < b->npending; i++)
		wire_env_free(b->pending[i]);
	b->npending = 0;
	return rc;
}

/*
 * The analysis died (crash, limit, watchdog): not a result but a failed
 * attempt. A retry for a job no longer leased to anyone is stale (it was
 * queued again, or finished elsewhere) and changes nothing.
 */
static void on_retry(struct broker *b, const Dumpfleet__V1__JobResult *r)
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

static int on_result(struct broker *b, wire_env *env)
{
	const Dumpfleet__V1__JobResult *r = env->result;
	uint64_t id = r->job_id;

	if (r->retry && r->dump != NULL && r->dump->failure[0] != '\0') {
		on_retry(b, r);
		wire_env_free(env);
		return DF_OK;
	}
	if (!lease_end(b, id))
		log_msg(LL_INFO, "event=late_result job=%llu",
			(unsigned long long)id);
	if (b->npending == 0)
		b->first_pending_ms = wire_now_ms();
	b->pending[b->npending++] = env;
	if (b->npending == BROKER_MAX_BATCH)
		return flush_results(b);
	return DF_OK;
}

/* ---- clients ----------------------------------------------------------- */

static void on_submit(struct broker *b, const struct wire_peer *p,
		      const Dumpfleet__V1__SubmitRequest *req)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitReply rep = DUMPFLEET__V1__SUBMIT_REPLY__INIT;
	const char *paths[BROKER_MAX_SUBMIT_PATHS];
	size_t n = 0;
	struct diag d;
	char *err = NULL;

	diag_init(&d);
	rep.request_id = req->request_id;
	/* The tag is stored with every job: a long one would multiply. */
	bool tag_ok = strlen(req->batch) <= BROKER_MAX_TAG;

	for (size_t i = 0; tag_ok && i < req->n_paths && n < ARRAY_SIZE(paths);
	     i++) {
		const char *path = req->paths[i];

		/* Workers open it as given, from their own directory. */
		if (path[0] != '/' || strlen(path) > BROKER_MAX_PATH)
			rep.rejected++;
		else
			paths[n++] = path;
	}
	rep.rejected += (uint32_t)(req->n_paths - n - rep.rejected);
	if (!tag_ok)
		err = (char *)"batch tag too long";
	uint64_t first = 0;

	if (n > 0 && store_jobs_add(b->o->store, req->batch, paths, n, &first,
				    &d) != DF_OK) {
		err = d.msg;
		rep.rejected += (uint32_t)n;
		n = 0;
	}
	for (size_t i = 0; i < n; i++)
		if (queue_push(b, first + i, paths[i], 0) != DF_OK)
			log_msg(LL_ERROR, "event=queue_failed job=%llu",
				(unsigned long long)(first + i));
	rep.accepted = (uint32_t)n;
	rep.first_job_id = first;
	rep.last_job_id = n > 0 ? first + n - 1 : 0;
	if (err != NULL) {
		rep.n_errors = 1;
		rep.errors = &err;
	}
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT_REPLY;
	env.submit_reply = &rep;
	send_to(b, p, &env);
}

static void on_status(struct broker *b, const struct wire_peer *p,
		      const Dumpfleet__V1__StatusRequest *req)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__StatusReply rep = DUMPFLEET__V1__STATUS_REPLY__INIT;

	/* Results still waiting for their write count as leased. */
	rep.request_id = req->request_id;
	rep.queued = queue_len(b);
	rep.leased = b->nleases + b->npending;
	rep.done = b->done;
	rep.failed = b->failed;
	for (size_t i = 0; i < b->nworkers; i++)
		rep.workers += b->workers[i].alive;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &rep;
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
		log_msg(LL_INFO, "event=worker_joined worker=%.60s",
			r->worker_id);
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
	size_t w = worker_find(b, &p);

	if (w != SIZE_MAX)
		b->workers[w].last_seen = wire_now_ms();
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
	if (zmq_bind(b->sock, b->o->endpoint) != 0) {
		log_msg(LL_ERROR, "event=bind_failed endpoint=%s err=\"%s\"",
			b->o->endpoint, zmq_strerror(zmq_errno()));
		return DF_EIO;
	}
	if (zmq_getsockopt(b->sock, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0)
		snprintf(ep, sizeof(ep), "%s", b->o->endpoint);
	if (b->o->on_bound != NULL)
		b->o->on_bound(b->o->on_bound_ctx, ep);
	return DF_OK;
}

static void broker_free(struct broker *b)
{
	for (size_t i = b->qhead; i < b->qlen; i++)
		free(b->queue[i].path);
	for (size_t i = 0; i < b->nleases; i++)
		free(b->leases[i].job.path);
	for (size_t i = 0; i < b->npending; i++)
		wire_env_free(b->pending[i]);
	free(b->queue);
	free(b->leases);
	free(b->workers);
	if (b->sock != NULL)
		zmq_close(b->sock);
}

/*
 * Told to stop: no new leases; go on until the leased jobs are answered
 * or drain_ms has passed (*END is when). True when it is time to return.
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
	return b->nleases == 0 || now >= *end;
}

static int serve(struct broker *b)
{
	const struct broker_opts *o = b->o;
	uint64_t drain_end = 0;

	while (!drained(b, &drain_end)) {
		zmq_pollitem_t item = { b->sock, 0, ZMQ_POLLIN, 0 };
		long wait = b->npending > 0 ? BROKER_FLUSH_MS
					    : (long)o->heartbeat_ms / 4 + 1;
		int n = zmq_poll(&item, 1, wait);

		if (n < 0 && zmq_errno() == ETERM)
			break;
		/* Drain what is there, then write it in one transaction. */
		for (int i = 0; n > 0 && i < 4096; i++) {
			int rc = handle(b);

			if (rc == DF_EIO)
				break;
			/* A batch written when it filled up failed. */
			if (rc != DF_OK)
				return DF_ESTORE;
			zmq_pollitem_t again = { b->sock, 0, ZMQ_POLLIN, 0 };

			if (zmq_poll(&again, 1, 0) <= 0)
				break;
		}
		/*
		 * A synced LMDB commit costs about as much as analysing a small
		 * dump, so results wait a little to share one transaction.
		 */
		if (b->npending > 0 &&
		    wire_now_ms() - b->first_pending_ms >= BROKER_FLUSH_MS &&
		    flush_results(b) != DF_OK)
			return DF_ESTORE;
		expire(b, wire_now_ms());
		if (drain_end == 0)
			dispatch(b);
	}
	return DF_OK;
}

int broker_run(const struct broker_opts *o)
{
	struct broker b;
	struct diag d;
	struct store_job_counts c;

	memset(&b, 0, sizeof(b));
	b.o = o;
	diag_init(&d);
	if (store_jobs_pending(o->store, reload_job, &b, &d) != DF_OK ||
	    store_job_counts(o->store, &c, &d) != DF_OK) {
		log_msg(LL_ERROR, "event=store_failed err=\"%s\"", d.msg);
		broker_free(&b);
		return DF_ESTORE;
	}
	b.done = c.done;
	b.failed = c.failed + c.quarantined;
	if (queue_len(&b) > 0)
		log_msg(LL_INFO, "event=resumed queued=%zu", queue_len(&b));
	int rc = bind_socket(&b);

	if (rc == DF_OK)
		rc = serve(&b);
	if (b.npending > 0)
		flush_results(&b);
	broker_free(&b);
	return rc;
}

void broker_opts_init(struct broker_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->heartbeat_ms = 1000;
	o->liveness = 5;
	o->lease_ms = 600000;
	o->max_attempts = 3;
}
