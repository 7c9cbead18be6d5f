/*
 * The broker against peers that speak the protocol by hand: duplicate,
 * unknown and failed results, odd submissions, archive members, huge
 * credit, a store that fails while a full batch is written, and workers
 * that go silent.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "broker.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"
#include "testutil.h"
#include "wire.h"

#define EP "inproc://test-broker-hostile"

struct bk {
	char *dir;
	void *ctx;
	struct store *store;
	atomic_bool stop;
	atomic_bool exited;
	struct broker_opts o;
	pthread_t th;
	int rc;
	void *peer;
	uint64_t lease_ms;        /* 0: defaults, else these options */
	uint32_t max_attempts;
	uint32_t liveness;        /* with lease_ms; 0: 2 heartbeats */
};

static void *broker_thread(void *arg)
{
	struct bk *b = arg;

	b->rc = broker_run(&b->o);
	atomic_store(&b->exited, true);
	return NULL;
}

/* Start a broker on a store in B->dir (made here unless set). */
static void bk_start(struct bk *b, bool readonly)
{
	struct diag d;
	int linger = 0, sndtimeo = 2000;

	diag_init(&d);
	hash_global_init();
	if (b->dir == NULL)
		b->dir = test_tmpdir();
	b->ctx = zmq_ctx_new();
	assert_int_equal(store_open(&b->store, b->dir, readonly, &d), DF_OK);
	atomic_store(&b->stop, false);
	atomic_store(&b->exited, false);
	broker_opts_init(&b->o);
	b->o.endpoint = EP;
	b->o.zmq_ctx = b->ctx;
	b->o.store = b->store;
	b->o.heartbeat_ms = 100;
	b->o.stop = &b->stop;
	if (b->lease_ms != 0) {
		b->o.heartbeat_ms = 50;
		b->o.liveness = b->liveness != 0 ? b->liveness : 2;
		b->o.lease_ms = b->lease_ms;
		b->o.max_attempts = b->max_attempts;
	}
	assert_int_equal(pthread_create(&b->th, NULL, broker_thread, b), 0);
	b->peer = zmq_socket(b->ctx, ZMQ_DEALER);
	assert_non_null(b->peer);
	zmq_setsockopt(b->peer, ZMQ_LINGER, &linger, sizeof(linger));
	/* A send to a broker that has gone would block for ever. */
	zmq_setsockopt(b->peer, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	/* inproc needs the bind first: retry until the broker is up. */
	for (int i = 0; i < 200 && zmq_connect(b->peer, EP) != 0; i++)
		usleep(10000);
}

/* One more DEALER on the broker: another worker. */
static void *dealer(struct bk *b)
{
	void *s = zmq_socket(b->ctx, ZMQ_DEALER);
	int linger = 0, sndtimeo = 2000;

	assert_non_null(s);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	assert_int_equal(zmq_connect(s, EP), 0);
	return s;
}

static void bk_stop(struct bk *b)
{
	zmq_close(b->peer);
	atomic_store(&b->stop, true);
	pthread_join(b->th, NULL);
	store_close(&b->store);
	zmq_ctx_term(b->ctx);
	test_rmtree(b->dir);
	free(b->dir);
	b->dir = NULL;
}

static bool send_on(void *sock, wire_env *env)
{
	struct diag d;

	diag_init(&d);
	return wire_send(sock, NULL, env, &d) == DF_OK;
}

static bool send_env(struct bk *b, wire_env *env)
{
	return send_on(b->peer, env);
}

/* The next message of type WANT on SOCK within TIMEOUT_MS, or NULL. */
static wire_env *recv_on(void *sock, int want, long timeout_ms)
{
	uint64_t end = wire_now_ms() + (uint64_t)timeout_ms;

	while (wire_now_ms() < end) {
		zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
		wire_env *env = NULL;
		struct diag d;

		diag_init(&d);
		if (zmq_poll(&it, 1, 10) <= 0)
			continue;
		if (wire_recv(sock, NULL, &env, &d) != DF_OK)
			continue;
		if ((int)env->body_case == want)
			return env;
		wire_env_free(env);
	}
	return NULL;
}

static wire_env *recv_type(struct bk *b, int want, long timeout_ms)
{
	return recv_on(b->peer, want, timeout_ms);
}

/* Ask for the status; false when the broker does not answer. */
static bool status(struct bk *b, Dumpfleet__V1__StatusReply *out)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__StatusRequest req = DUMPFLEET__V1__STATUS_REQUEST__INIT;

	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_STATUS;
	env.status = &req;
	if (!send_env(b, &env))
		return false;
	wire_env *rep =
		recv_type(b, DUMPFLEET__V1__ENVELOPE__BODY_STATUS_REPLY, 2000);

	if (rep == NULL)
		return false;
	*out = *rep->status_reply;
	wire_env_free(rep);
	return true;
}

static Dumpfleet__V1__SubmitReply submit(struct bk *b, const char *batch,
					 char **paths, size_t n)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitRequest req = DUMPFLEET__V1__SUBMIT_REQUEST__INIT;
	Dumpfleet__V1__SubmitReply out;

	req.batch = (char *)batch;
	req.paths = paths;
	req.n_paths = n;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT;
	env.submit = &req;
	assert_true(send_env(b, &env));
	wire_env *rep =
		recv_type(b, DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT_REPLY, 2000);

	assert_non_null(rep);
	out = *rep->submit_reply;
	out.n_errors = rep->submit_reply->n_errors; /* errors not kept */
	out.errors = NULL;
	wire_env_free(rep);
	return out;
}

static void ready_on(void *sock, uint32_t credit)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__WorkerReady r = DUMPFLEET__V1__WORKER_READY__INIT;

	r.worker_id = (char *)"hostile:0";
	r.credit = credit;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_READY;
	env.ready = &r;
	assert_true(send_on(sock, &env));
}

static void ready(struct bk *b, uint32_t credit)
{
	ready_on(b->peer, credit);
}

static void heartbeat_on(void *sock)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Heartbeat hb = DUMPFLEET__V1__HEARTBEAT__INIT;

	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	assert_true(send_on(sock, &env));
}

/* Send a result for JOB: a good dump when HASH is set, else a failure. */
static void result_on(void *sock, uint64_t job, const uint8_t *hash)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dump = DUMPFLEET__V1__DUMP__INIT;

	if (hash != NULL) {
		dump.content_hash.data = (uint8_t *)hash;
		dump.content_hash.len = HASH_LEN;
		dump.signature_hash = (char *)"0123456789abcdef";
	} else {
		dump.failure = (char *)"cannot open";
	}
	res.job_id = job;
	res.dump = &dump;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	assert_true(send_on(sock, &env));
}

static void result(struct bk *b, uint64_t job, const uint8_t *hash)
{
	result_on(b->peer, job, hash);
}

/* A result for a job the broker never had used to stop the broker. */
static void test_broker__unknown_job_result_is_ignored(void **state)
{
	(void)state;
	struct bk b = { 0 };
	Dumpfleet__V1__StatusReply st;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;

	bk_start(&b, false);
	result(&b, 999, NULL);
	res.job_id = 1000; /* and one with no dump at all */
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	assert_true(send_env(&b, &env));
	usleep(200000); /* past the batch delay */
	assert_true(status(&b, &st));
	assert_false(atomic_load(&b.exited));
	assert_int_equal(st.failed, 0);
	bk_stop(&b);
	assert_int_equal(b.rc, DF_OK);
}

/* A result that arrives twice is one job done, and a late failure none. */
static void test_broker__duplicate_result_counts_once(void **state)
{
	(void)state;
	struct bk b = { 0 };
	char *paths[] = { (char *)"/nonexistent/one.dmp" };
	uint8_t h[HASH_LEN];
	Dumpfleet__V1__StatusReply st;

	bk_start(&b, false);
	hash_sha256("one", 3, h);
	Dumpfleet__V1__SubmitReply rep = submit(&b, "", paths, 1);

	assert_int_equal(rep.accepted, 1);
	ready(&b, 1);
	wire_env *as = recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	uint64_t job = as->assign->job_id;

	wire_env_free(as);
	result(&b, job, h);
	result(&b, job, h);
	result(&b, job, NULL);
	usleep(200000);
	assert_true(status(&b, &st));
	assert_int_equal(st.done, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.queued + st.leased, 0);
	bk_stop(&b);
}

static void test_broker__submit_checks_tag_and_paths(void **state)
{
	(void)state;
	struct bk b = { 0 };
	char tag[300];
	char *one[] = { (char *)"/a.dmp" };
	char *mixed[] = { (char *)"relative/a.dmp", (char *)"", (char *)"/b" };
	Dumpfleet__V1__StatusReply st;

	memset(tag, 't', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	bk_start(&b, false);
	Dumpfleet__V1__SubmitReply rep = submit(&b, tag, one, 1);

	assert_int_equal(rep.accepted, 0);
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(rep.n_errors, 1);
	rep = submit(&b, "ok", mixed, 3);
	assert_int_equal(rep.accepted, 1);
	assert_int_equal(rep.rejected, 2);
	assert_true(status(&b, &st));
	assert_int_equal(st.queued, 1);
	bk_stop(&b);
}

/*
 * Archive members come as items after the plain paths: stored with their
 * archive and member, assigned with them; a relative item is refused.
 */
static void test_broker__items_keep_archive_and_member(void **state)
{
	(void)state;
	struct bk b = { 0 };
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitRequest req = DUMPFLEET__V1__SUBMIT_REQUEST__INIT;
	Dumpfleet__V1__SubmitItem good = DUMPFLEET__V1__SUBMIT_ITEM__INIT;
	Dumpfleet__V1__SubmitItem rel = DUMPFLEET__V1__SUBMIT_ITEM__INIT;
	Dumpfleet__V1__SubmitItem *items[] = { &good, &rel };
	char *paths[] = { (char *)"/plain.dmp" };

	good.path = (char *)"/spool/ab/abcd";
	good.archive = (char *)"/in/case.zip";
	good.member = (char *)"../../etc/passwd";
	rel.path = (char *)"ab/abcd";
	rel.archive = (char *)"/in/case.zip";
	rel.member = (char *)"x.dmp";
	req.batch = (char *)"case-7";
	req.paths = paths;
	req.n_paths = 1;
	req.items = items;
	req.n_items = 2;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT;
	env.submit = &req;
	bk_start(&b, false);
	assert_true(send_env(&b, &env));
	wire_env *rep =
		recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT_REPLY, 2000);

	assert_non_null(rep);
	assert_int_equal(rep->submit_reply->accepted, 2);
	assert_int_equal(rep->submit_reply->rejected, 1);
	uint64_t first = rep->submit_reply->first_job_id;

	wire_env_free(rep);
	store_job *job = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_job_get(b.store, first + 1, &job, &d), DF_OK);
	assert_string_equal(job->path, "/spool/ab/abcd");
	assert_string_equal(job->archive, "/in/case.zip");
	assert_string_equal(job->member, "../../etc/passwd");
	store_job_free(job);

	void *w = dealer(&b);

	ready_on(w, 2);
	wire_env *as = recv_on(w, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	assert_string_equal(as->assign->path, "/plain.dmp");
	assert_string_equal(as->assign->archive, "");
	wire_env_free(as);
	as = recv_on(w, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);
	assert_non_null(as);
	assert_string_equal(as->assign->path, "/spool/ab/abcd");
	assert_string_equal(as->assign->archive, "/in/case.zip");
	assert_string_equal(as->assign->member, "../../etc/passwd");
	wire_env_free(as);
	zmq_close(w);
	bk_stop(&b);
}

/*
 * A submitted content hash and size reach the job record and the
 * JobAssign (workers neither hash again nor need the path); a hash of
 * another length than 32 bytes is refused.
 */
static void test_broker__items_carry_content_hash(void **state)
{
	(void)state;
	struct bk b = { 0 };
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitRequest req = DUMPFLEET__V1__SUBMIT_REQUEST__INIT;
	Dumpfleet__V1__SubmitItem good = DUMPFLEET__V1__SUBMIT_ITEM__INIT;
	Dumpfleet__V1__SubmitItem bad = DUMPFLEET__V1__SUBMIT_ITEM__INIT;
	Dumpfleet__V1__SubmitItem *items[] = { &good, &bad };
	uint8_t hash[HASH_LEN];

	for (size_t i = 0; i < HASH_LEN; i++)
		hash[i] = (uint8_t)(0xA0 + i);
	good.path = (char *)"/data/plain.dmp";
	good.archive = (char *)"";
	good.member = (char *)"";
	good.content_hash.data = hash;
	good.content_hash.len = HASH_LEN;
	good.size = 123456789012ull;
	bad = good;
	bad.content_hash.len = 31;
	req.batch = (char *)"case-8";
	req.items = items;
	req.n_items = 2;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT;
	env.submit = &req;
	bk_start(&b, false);
	assert_true(send_env(&b, &env));
	wire_env *rep =
		recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT_REPLY, 2000);

	assert_non_null(rep);
	assert_int_equal(rep->submit_reply->accepted, 1);
	assert_int_equal(rep->submit_reply->rejected, 1);
	uint64_t first = rep->submit_reply->first_job_id;

	wire_env_free(rep);
	store_job *job = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_job_get(b.store, first, &job, &d), DF_OK);
	assert_int_equal(job->content_hash.len, HASH_LEN);
	assert_memory_equal(job->content_hash.data, hash, HASH_LEN);
	assert_true(job->size == 123456789012ull);
	store_job_free(job);
	ready(&b, 1);
	wire_env *as =
		recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	assert_string_equal(as->assign->path, "/data/plain.dmp");
	assert_int_equal(as->assign->content_hash.len, HASH_LEN);
	assert_memory_equal(as->assign->content_hash.data, hash, HASH_LEN);
	assert_true(as->assign->size == 123456789012ull);
	wire_env_free(as);
	bk_stop(&b);
}

/* Credit 2 and then 2^32-1 used to wrap to 1: one job instead of all. */
static void test_broker__huge_credit_does_not_wrap(void **state)
{
	(void)state;
	struct bk b = { 0 };
	char *paths[] = { (char *)"/1", (char *)"/2", (char *)"/3", (char *)"/4",
			  (char *)"/5" };
	int got = 0;

	bk_start(&b, false);
	assert_int_equal(submit(&b, "", paths, 5).accepted, 5);
	ready(&b, 2);
	ready(&b, UINT32_MAX);
	for (wire_env *as; got < 5 &&
	     (as = recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 1000));
	     got++)
		wire_env_free(as);
	assert_int_equal(got, 5);
	bk_stop(&b);
}

/*
 * The store fails while the batch that filled up is written: the broker
 * must stop (a restart re-queues the jobs), not drop the results and go on.
 */
static void test_broker__store_failure_on_full_batch_stops(void **state)
{
	(void)state;
	struct bk b = { 0 };
	struct store *s = NULL;
	const char *paths[] = { "/full.dmp" };
	uint64_t first = 0;
	uint8_t h[HASH_LEN];
	struct diag d;

	diag_init(&d);
	hash_global_init();
	b.dir = test_tmpdir();
	assert_int_equal(store_open(&s, b.dir, false, &d), DF_OK);
	assert_int_equal(store_jobs_add(s, "", paths, NULL, NULL,
					1, &first, &d), DF_OK);
	store_close(&s);
	bk_start(&b, true); /* a read-only store: every write fails */
	ready(&b, 1);
	wire_env *as = recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	wire_env_free(as);
	hash_sha256("full", 4, h);
	for (int i = 0; i < 256; i++)
		result(&b, first, h);
	for (int i = 0; i < 200 && !atomic_load(&b.exited); i++)
		usleep(10000);
	assert_true(atomic_load(&b.exited));
	bk_stop(&b);
	assert_int_equal(b.rc, DF_ESTORE);
}

/*
 * A slot analysing a big dump used to be silent, and its job went to the
 * next slot as soon as it was dropped, and then to the next: every slot
 * analysed the same file. Slots now heartbeat while they analyse, and a
 * worker that does stays alive and keeps its job.
 */
static void test_broker__busy_worker_keeps_its_job(void **state)
{
	(void)state;
	/*
	 * Liveness 10 x 50 ms: a broker thread slowed down (valgrind, a
	 * loaded machine) must not take a heartbeating slot for silent.
	 */
	struct bk b = { .lease_ms = 5000, .max_attempts = 3, .liveness = 10 };
	char *paths[] = { (char *)"/big.dmp" };
	uint8_t h[HASH_LEN];
	Dumpfleet__V1__StatusReply st;

	bk_start(&b, false);
	void *busy = dealer(&b), *idle = dealer(&b);

	assert_int_equal(submit(&b, "", paths, 1).accepted, 1);
	ready_on(busy, 1);
	wire_env *as = recv_on(busy, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	uint64_t job = as->assign->job_id;

	wire_env_free(as);
	ready_on(idle, 1);
	/* Well past liveness (500 ms), the busy slot only heartbeating. */
	for (int i = 0; i < 40; i++) {
		heartbeat_on(busy);
		heartbeat_on(idle);
		as = recv_on(idle, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 30);
		assert_null(as);
	}
	hash_sha256("big", 3, h);
	result_on(busy, job, h);
	usleep(200000);
	assert_true(status(&b, &st));
	assert_int_equal(st.done, 1);
	assert_int_equal(st.queued + st.leased, 0);
	zmq_close(busy);
	zmq_close(idle);
	bk_stop(&b);
}

/*
 * A worker that dies with a job (a dump that crashes the analysis) costs
 * the job an attempt when it is found silent; it used to go back to the
 * queue untouched when the worker was dropped, and so for ever.
 */
static void test_broker__crashed_worker_job_is_quarantined(void **state)
{
	(void)state;
	struct bk b = { .lease_ms = 300, .max_attempts = 1 };
	char *paths[] = { (char *)"/poison.dmp" };
	Dumpfleet__V1__StatusReply st;

	bk_start(&b, false);
	void *dead = dealer(&b);

	assert_int_equal(submit(&b, "", paths, 1).accepted, 1);
	ready_on(dead, 1);
	wire_env *as = recv_on(dead, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	wire_env_free(as);
	zmq_close(dead); /* and never a word again */
	usleep(800000);
	assert_true(status(&b, &st));
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.queued + st.leased, 0);
	bk_stop(&b);
}

/* A failed analysis the worker says may succeed elsewhere (retry). */
static void retry_on(void *sock, uint64_t job, const char *why)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dump = DUMPFLEET__V1__DUMP__INIT;

	dump.failure = (char *)why;
	res.job_id = job;
	res.dump = &dump;
	res.retry = true;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	assert_true(send_on(sock, &env));
}

/* The id of the next JobAssign on SOCK (fails the test when none comes). */
static uint64_t next_job(void *sock)
{
	wire_env *as = recv_on(sock, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 2000);

	assert_non_null(as);
	uint64_t id = as->assign->job_id;

	wire_env_free(as);
	return id;
}

/* Job ID's state in the store, once the broker has written it. */
static int job_state(struct bk *b, uint64_t id, char *err, size_t len)
{
	store_job *job = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_job_get(b->store, id, &job, &d), DF_OK);
	int st = job->state;

	snprintf(err, len, "%s", job->last_error);
	store_job_free(job);
	return st;
}

/*
 * A dump whose analysis dies (a crash in the child) is tried again, and
 * quarantined with its last reason after max_attempts; a failure that is
 * the data's (no retry flag) fails at once.
 */
static void test_broker__retried_failure_is_quarantined_after_k(void **state)
{
	(void)state;
	struct bk b = { .lease_ms = 5000, .max_attempts = 3 };
	char *paths[] = { (char *)"/poison.dmp", (char *)"/gone.dmp" };
	Dumpfleet__V1__StatusReply st;
	char err[STORE_MAX_REASON];

	bk_start(&b, false);
	Dumpfleet__V1__SubmitReply rep = submit(&b, "", paths, 1);
	uint64_t poison = rep.first_job_id;

	for (int i = 0; i < 3; i++) {
		ready(&b, 1);
		assert_int_equal(next_job(b.peer), poison);
		assert_true(status(&b, &st));
		assert_int_equal(st.failed, 0);
		retry_on(b.peer, poison, "parser killed by SIGSEGV");
	}
	usleep(100000);
	assert_true(status(&b, &st));
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.queued + st.leased, 0);
	assert_int_equal(job_state(&b, poison, err, sizeof(err)),
			 DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED);
	assert_string_equal(err, "parser killed by SIGSEGV (3 attempts)");

	uint64_t gone = submit(&b, "", paths + 1, 1).first_job_id;

	ready(&b, 1);
	assert_int_equal(next_job(b.peer), gone);
	result(&b, gone, NULL);
	ready(&b, 1);
	assert_null(recv_type(&b, DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 200));
	assert_int_equal(job_state(&b, gone, err, sizeof(err)),
			 DUMPFLEET__V1__JOB_STATE__JOB_FAILED);
	bk_stop(&b);
}

/*
 * A worker found silent gives its jobs back at once (no waiting for the
 * lease); only the oldest, the one it was analysing, costs an attempt.
 * A worker that says Disconnect (a drain) costs none.
 */
static void test_broker__lost_worker_charges_only_its_running_job(
	void **state)
{
	(void)state;
	struct bk b = { .lease_ms = 60000, .max_attempts = 1 };
	char *paths[] = { (char *)"/a.dmp", (char *)"/b.dmp" };
	Dumpfleet__V1__StatusReply st;
	char err[STORE_MAX_REASON];

	bk_start(&b, false);
	uint64_t first = submit(&b, "", paths, 2).first_job_id;
	void *lost = dealer(&b), *heir = dealer(&b);

	ready_on(lost, 2);
	assert_int_equal(next_job(lost), first);
	assert_int_equal(next_job(lost), first + 1);
	zmq_close(lost); /* and never a word again */
	ready_on(heir, 1);
	/* Liveness is 2 x 50 ms; the lease is a minute. */
	uint64_t got = 0;

	for (int i = 0; i < 40 && got == 0; i++) {
		heartbeat_on(heir);
		wire_env *as = recv_on(heir,
				       DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN, 25);

		if (as != NULL)
			got = as->assign->job_id;
		wire_env_free(as);
	}
	assert_int_equal(got, first + 1);
	assert_int_equal(job_state(&b, first, err, sizeof(err)),
			 DUMPFLEET__V1__JOB_STATE__JOB_QUARANTINED);
	assert_string_equal(err, "worker lost while analysing (1 attempts)");

	/* The heir drains: its job goes back, uncharged. */
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Disconnect dc = DUMPFLEET__V1__DISCONNECT__INIT;

	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT;
	env.disconnect = &dc;
	assert_true(send_on(heir, &env));
	usleep(100000);
	assert_true(status(&b, &st));
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.queued, 1);
	zmq_close(heir);
	bk_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broker__unknown_job_result_is_ignored),
		cmocka_unit_test(test_broker__duplicate_result_counts_once),
		cmocka_unit_test(test_broker__submit_checks_tag_and_paths),
		cmocka_unit_test(test_broker__items_keep_archive_and_member),
		cmocka_unit_test(test_broker__items_carry_content_hash),
		cmocka_unit_test(test_broker__huge_credit_does_not_wrap),
		cmocka_unit_test(test_broker__store_failure_on_full_batch_stops),
		cmocka_unit_test(test_broker__busy_worker_keeps_its_job),
		cmocka_unit_test(test_broker__crashed_worker_job_is_quarantined),
		cmocka_unit_test(
			test_broker__retried_failure_is_quarantined_after_k),
		cmocka_unit_test(
			test_broker__lost_worker_charges_only_its_running_job),
	};
	return cmocka_run_group_tests_name("broker_hostile", tests, NULL, NULL);
}
