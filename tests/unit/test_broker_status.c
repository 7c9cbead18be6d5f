/*
 * The broker's StatusReply (workers by process, throughput, leases
 * expired, jobs by state, quarantined jobs with reasons) and RetryRequest,
 * through the real client calls, with workers played by hand.
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
#include "client.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"
#include "testutil.h"
#include "wire.h"

#define EP "inproc://test-broker-status"

struct bk {
	char *dir;
	void *ctx;
	struct store *store;
	atomic_bool stop;
	struct broker_opts o;
	pthread_t th;
	struct client_link link;
};

static void *broker_thread(void *arg)
{
	struct bk *b = arg;

	broker_run(&b->o);
	return NULL;
}

static void bk_start(struct bk *b)
{
	struct diag d;

	diag_init(&d);
	hash_global_init();
	b->dir = test_tmpdir();
	b->ctx = zmq_ctx_new();
	assert_int_equal(store_open(&b->store, b->dir, false, &d), DF_OK);
	atomic_store(&b->stop, false);
	broker_opts_init(&b->o);
	b->o.endpoint = EP;
	b->o.zmq_ctx = b->ctx;
	b->o.store = b->store;
	b->o.heartbeat_ms = 100;
	b->o.liveness = 50;   /* nobody is dropped as silent here */
	b->o.lease_ms = 300;
	b->o.max_attempts = 1;
	b->o.stop = &b->stop;
	assert_int_equal(pthread_create(&b->th, NULL, broker_thread, b), 0);
	b->link = (struct client_link){ b->ctx, EP, NULL };
}

static void bk_stop(struct bk *b)
{
	atomic_store(&b->stop, true);
	pthread_join(b->th, NULL);
	store_close(&b->store);
	zmq_ctx_term(b->ctx);
	test_rmtree(b->dir);
	free(b->dir);
}

/* A hand-made worker slot named NAME that asks for one job. */
static void *slot(struct bk *b, const char *name)
{
	void *s = zmq_socket(b->ctx, ZMQ_DEALER);
	int linger = 0, sndtimeo = 2000;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__WorkerReady r = DUMPFLEET__V1__WORKER_READY__INIT;

	assert_non_null(s);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	for (int i = 0; i < 200 && zmq_connect(s, EP) != 0; i++)
		usleep(10000);
	r.worker_id = (char *)name;
	r.credit = 1;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_READY;
	env.ready = &r;
	assert_int_equal(wire_send(s, NULL, &env, NULL), DF_OK);
	return s;
}

/* The job id of the next JobAssign on S. */
static uint64_t assigned(void *s)
{
	zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };

	for (int i = 0; i < 200; i++) {
		wire_env *env = NULL;

		if (zmq_poll(&it, 1, 10) <= 0 ||
		    wire_recv(s, NULL, &env, NULL) != DF_OK)
			continue;
		if (env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN) {
			uint64_t id = env->assign->job_id;

			wire_env_free(env);
			return id;
		}
		wire_env_free(env);
	}
	fail_msg("no job assigned");
	return 0;
}

static void send_result(void *s, uint64_t job)
{
	static const uint8_t hash[HASH_LEN] = { 1, 2, 3 };
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dump = DUMPFLEET__V1__DUMP__INIT;

	dump.content_hash.data = (uint8_t *)hash;
	dump.content_hash.len = HASH_LEN;
	dump.signature_hash = (char *)"0123456789abcdef";
	res.job_id = job;
	res.dump = &dump;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	assert_int_equal(wire_send(s, NULL, &env, NULL), DF_OK);
}

static wire_env *status(struct bk *b)
{
	wire_env *rep = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(client_status_full(&b->link, true, 2000, &rep, &d),
			 DF_OK);
	return rep;
}

/*
 * Two slots of one worker process: one finishes its job, the other holds
 * its job until the lease expires, and with one attempt allowed the job is
 * quarantined. Then it is retried by id.
 */
static void test_status__workers_quarantine_and_retry(void **state)
{
	(void)state;
	struct bk b;
	struct pathlist pl = { 0 };
	size_t accepted = 0;
	struct diag d;

	diag_init(&d);
	bk_start(&b);
	pl.v = (char *[]){ (char *)"/a.dmp", (char *)"/b\n.dmp" };
	pl.n = 2;
	assert_int_equal(client_submit(&b.link, "t", &pl, &accepted, 2000, &d),
			 DF_OK);
	assert_int_equal(accepted, 2);
	void *s0 = slot(&b, "host:7:0");
	uint64_t good = assigned(s0);
	void *s1 = slot(&b, "host:7:1");
	uint64_t bad = assigned(s1);

	send_result(s0, good);
	usleep(800000); /* two leases long */

	wire_env *env = status(&b);
	const Dumpfleet__V1__StatusReply *r = env->status_reply;

	assert_int_equal(r->done, 1);
	assert_int_equal(r->failed, 1);
	assert_int_equal(r->queued + r->leased, 0);
	assert_int_equal(r->leases_expired, 1);
	assert_int_equal(r->done_last_minute, 1);
	assert_int_equal(r->workers, 2);
	assert_int_equal(r->n_worker_info, 1);
	assert_string_equal(r->worker_info[0]->name, "host:7");
	assert_int_equal(r->worker_info[0]->slots, 2);
	assert_int_equal(r->worker_info[0]->jobs_done, 1);
	assert_int_equal(r->worker_info[0]->running, 0);
	assert_true(r->detailed);
	assert_int_equal(r->quarantined, 1);
	assert_int_equal(r->failed_only, 0);
	assert_int_equal(r->n_quarantine, 1);
	assert_int_equal(r->quarantine[0]->job_id, bad);
	assert_string_equal(r->quarantine[0]->path, "/b\n.dmp");
	assert_string_equal(r->quarantine[0]->reason,
			    "lease expired (1 attempts)");
	wire_env_free(env);

	/* Only the quarantined job goes back; unknown and done are skipped. */
	struct client_retried rt;
	uint64_t ids[] = { bad, good, 999 };
	uint64_t failed = 9;

	assert_int_equal(client_retry(&b.link, false, ids, 3, &rt, 2000, &d),
			 DF_OK);
	assert_int_equal(rt.requeued, 1);
	assert_int_equal(rt.skipped, 2);
	env = status(&b);
	r = env->status_reply;
	assert_int_equal(r->failed, 0);
	assert_int_equal(r->quarantined, 0);
	assert_int_equal(r->queued, 1);
	wire_env_free(env);
	assert_int_equal(store_counter_get(b.store, "t/failed", &failed, &d),
			 DF_OK);
	assert_int_equal(failed, 0);
	/* Nothing left to retry. */
	assert_int_equal(client_retry(&b.link, true, NULL, 0, &rt, 2000, &d),
			 DF_OK);
	assert_int_equal(rt.requeued, 0);
	/* The retried job is a job like any other: it is handed out again. */
	void *s2 = slot(&b, "other:1:0");

	assert_int_equal(assigned(s2), bad);
	zmq_close(s0);
	zmq_close(s1);
	zmq_close(s2);
	bk_stop(&b);
}

/* --all re-queues every quarantined job, and only those. */
static void test_status__retry_all(void **state)
{
	(void)state;
	struct bk b;
	struct pathlist pl = { 0 };
	size_t accepted = 0;
	struct client_retried rt;
	struct diag d;

	diag_init(&d);
	bk_start(&b);
	pl.v = (char *[]){ (char *)"/1", (char *)"/2", (char *)"/3" };
	pl.n = 3;
	assert_int_equal(client_submit(&b.link, "", &pl, &accepted, 2000, &d),
			 DF_OK);
	void *s[2] = { slot(&b, "w:1:0"), slot(&b, "w:1:1") };

	assigned(s[0]);
	assigned(s[1]);
	usleep(800000);
	wire_env *env = status(&b);

	assert_int_equal(env->status_reply->quarantined, 2);
	assert_int_equal(env->status_reply->queued, 1);
	wire_env_free(env);
	assert_int_equal(client_retry(&b.link, true, NULL, 0, &rt, 2000, &d),
			 DF_OK);
	assert_int_equal(rt.requeued, 2);
	assert_int_equal(rt.skipped, 0);
	env = status(&b);
	assert_int_equal(env->status_reply->quarantined, 0);
	assert_int_equal(env->status_reply->queued, 3);
	wire_env_free(env);
	zmq_close(s[0]);
	zmq_close(s[1]);
	bk_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status__workers_quarantine_and_retry),
		cmocka_unit_test(test_status__retry_all),
	};
	return cmocka_run_group_tests_name("broker_status", tests, NULL, NULL);
}
