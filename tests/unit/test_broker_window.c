/*
 * The broker's bounded queue: with a window of 50 jobs in memory, a few
 * hundred submitted jobs (all at once, in several submissions while work
 * goes on, and across a restart) are each dispatched exactly once, in id
 * order per slot, and the status counts the jobs still in the store.
 * A real broker in a thread, the real client; worker slots by hand.
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

#define WINDOW 50
#define MAX_JOBS 1000
#define SLOTS 2
#define CREDIT 4

struct bk {
	char *dir;
	void *ctx;
	struct store *store;
	atomic_bool stop;
	struct broker_opts o;
	pthread_t th;
	struct client_link link;
	/*
	 * A fresh endpoint per start: the stopped broker's socket is closed
	 * in the background and may hold its name a little longer.
	 */
	char ep[64];
	unsigned starts;
	/* Times each job id was assigned. */
	unsigned seen[MAX_JOBS + 1];
	uint64_t last_id[SLOTS];
	/* Assigned and not answered, by work(..., false). */
	uint64_t held[MAX_JOBS];
	size_t nheld;
	void *slot[SLOTS];
};

static void *broker_thread(void *arg)
{
	struct bk *b = arg;

	broker_run(&b->o);
	return NULL;
}

static void bk_run(struct bk *b)
{
	struct diag d;

	diag_init(&d);
	if (store_open(&b->store, b->dir, false, &d) != DF_OK)
		fail_msg("store_open: %s", d.msg);
	atomic_store(&b->stop, false);
	snprintf(b->ep, sizeof(b->ep), "inproc://test-broker-window-%u",
		 b->starts++);
	broker_opts_init(&b->o);
	b->o.endpoint = b->ep;
	b->o.zmq_ctx = b->ctx;
	b->o.store = b->store;
	b->o.heartbeat_ms = 100;
	b->o.liveness = 600; /* the slots here never heartbeat */
	b->o.queue_window = WINDOW;
	b->o.stop = &b->stop;
	assert_int_equal(pthread_create(&b->th, NULL, broker_thread, b), 0);
	b->link = (struct client_link){ b->ctx, b->ep, NULL };
}

static void bk_halt(struct bk *b)
{
	for (int i = 0; i < SLOTS; i++)
		if (b->slot[i] != NULL)
			zmq_close(b->slot[i]);
	memset(b->slot, 0, sizeof(b->slot));
	atomic_store(&b->stop, true);
	pthread_join(b->th, NULL);
	store_close(&b->store);
}

static int setup(void **state)
{
	struct bk *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -1;
	hash_global_init();
	b->dir = test_tmpdir();
	b->ctx = zmq_ctx_new();
	bk_run(b);
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bk *b = *state;

	bk_halt(b);
	zmq_ctx_term(b->ctx);
	test_rmtree(b->dir);
	free(b->dir);
	free(b);
	return 0;
}

static void submit(struct bk *b, size_t n, size_t from)
{
	struct pathlist l;
	size_t accepted = 0;
	struct diag d;

	memset(&l, 0, sizeof(l));
	diag_init(&d);
	l.v = calloc(n, sizeof(*l.v));
	assert_non_null(l.v);
	for (l.n = 0; l.n < n; l.n++) {
		char p[64];

		snprintf(p, sizeof(p), "/spool/job-%zu.dmp", from + l.n);
		l.v[l.n] = strdup(p);
		assert_non_null(l.v[l.n]);
	}
	assert_int_equal(client_submit(&b->link, "w", &l, &accepted, 5000, &d),
			 DF_OK);
	assert_int_equal(accepted, n);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
}

static struct client_status status(struct bk *b)
{
	struct client_status st;
	struct diag d;

	diag_init(&d);
	assert_int_equal(client_status(&b->link, &st, 5000, &d), DF_OK);
	return st;
}

static void ready(void *s, int index, uint32_t credit)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__WorkerReady r = DUMPFLEET__V1__WORKER_READY__INIT;
	char name[32];

	snprintf(name, sizeof(name), "test:1:%d", index);
	r.worker_id = name;
	r.credit = credit;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_READY;
	env.ready = &r;
	assert_int_equal(wire_send(s, NULL, &env, NULL), DF_OK);
}

static void slots_open(struct bk *b)
{
	for (int i = 0; i < SLOTS; i++) {
		int linger = 0;

		b->slot[i] = zmq_socket(b->ctx, ZMQ_DEALER);
		assert_non_null(b->slot[i]);
		zmq_setsockopt(b->slot[i], ZMQ_LINGER, &linger,
			       sizeof(linger));
		for (int t = 0; t < 200 && zmq_connect(b->slot[i], b->ep) != 0;
		     t++)
			usleep(10000);
		ready(b->slot[i], i, CREDIT);
		b->last_id[i] = 0;
	}
}

static void send_result(void *s, uint64_t job)
{
	uint8_t hash[HASH_LEN] = { 0 };
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dump = DUMPFLEET__V1__DUMP__INIT;

	memcpy(hash, &job, sizeof(job));
	dump.content_hash.data = hash;
	dump.content_hash.len = HASH_LEN;
	dump.signature_hash = (char *)"0123456789abcdef";
	res.job_id = job;
	res.dump = &dump;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	assert_int_equal(wire_send(s, NULL, &env, NULL), DF_OK);
}

/*
 * Take assignments until N have come (answering each when ANSWER) or
 * none has come for a second (heartbeats do not count). Returns how many
 * came.
 */
static size_t work(struct bk *b, size_t n, bool answer)
{
	size_t got = 0;
	uint64_t idle_since = wire_now_ms();

	while (got < n && wire_now_ms() - idle_since < 1000) {
		zmq_pollitem_t it[SLOTS];

		for (int i = 0; i < SLOTS; i++)
			it[i] = (zmq_pollitem_t){ b->slot[i], 0, ZMQ_POLLIN,
						  0 };
		if (zmq_poll(it, SLOTS, 100) <= 0)
			continue;
		for (int i = 0; i < SLOTS && got < n; i++) {
			wire_env *env = NULL;

			if (!(it[i].revents & ZMQ_POLLIN) ||
			    wire_recv(b->slot[i], NULL, &env, NULL) != DF_OK)
				continue;
			if (env->body_case ==
			    DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN) {
				uint64_t id = env->assign->job_id;

				assert_true(id >= 1 && id <= MAX_JOBS);
				/* The window refills in id order. */
				assert_true(id > b->last_id[i]);
				b->last_id[i] = id;
				b->seen[id]++;
				got++;
				idle_since = wire_now_ms();
				if (answer) {
					send_result(b->slot[i], id);
					ready(b->slot[i], i, 1);
				} else {
					b->held[b->nheld++] = id;
				}
			}
			wire_env_free(env);
		}
	}
	return got;
}

/* Wait for the store to count DONE jobs with nothing left. */
static void wait_done(struct bk *b, uint64_t done)
{
	struct client_status st = status(b);

	for (int i = 0; i < 500 && (st.done < done || st.queued > 0); i++) {
		usleep(10000);
		st = status(b);
	}
	assert_int_equal(st.done, done);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.leased, 0);
}

static void assert_each_once(const struct bk *b, size_t n)
{
	for (size_t id = 1; id <= n; id++)
		if (b->seen[id] != 1)
			fail_msg("job %zu dispatched %u times", id,
				 b->seen[id]);
	for (size_t id = n + 1; id <= MAX_JOBS; id++)
		assert_int_equal(b->seen[id], 0);
}

static void test_broker_window__deep_queue_dispatched_once(void **state)
{
	struct bk *b = *state;

	submit(b, 300, 0);
	/* Beyond the window, jobs wait in the store and still count. */
	assert_int_equal(status(b).queued, 300);
	slots_open(b);
	assert_int_equal(work(b, 300, true), 300);
	wait_done(b, 300);
	assert_each_once(b, 300);
	/* Nothing more is handed out. */
	assert_int_equal(work(b, 1, true), 0);
}

static void test_broker_window__submissions_while_working(void **state)
{
	struct bk *b = *state;

	submit(b, 120, 0);  /* more than the window: the rest in the store */
	slots_open(b);
	/*
	 * Ten answered, at most eight more out: the window is still over
	 * half full, with room for what comes next. Jobs submitted now must
	 * still wait behind the store's backlog, not jump it.
	 */
	assert_int_equal(work(b, 10, true), 10);
	submit(b, 7, 120);
	assert_int_equal(work(b, 40, true), 40);
	submit(b, 30, 127);
	assert_int_equal(work(b, 107, true), 107);
	wait_done(b, 157);
	assert_each_once(b, 157);
}

static void test_broker_window__restart_resumes_once(void **state)
{
	struct bk *b = *state;

	submit(b, 200, 0);
	slots_open(b);
	assert_int_equal(work(b, 60, true), 60);
	for (int i = 0; i < 500 && status(b).done < 60; i++)
		usleep(10000);
	assert_int_equal(status(b).done, 60);
	/* Jobs handed out but never answered go back with the restart. */
	assert_int_equal(work(b, 2 * CREDIT, false), 2 * CREDIT);
	bk_halt(b);
	/* Those may (must) come again; nothing else may. */
	for (size_t i = 0; i < b->nheld; i++)
		b->seen[b->held[i]] = 0;
	bk_run(b);
	assert_int_equal(status(b).queued, 140);
	slots_open(b);
	assert_int_equal(work(b, 140, true), 140);
	wait_done(b, 200);
	assert_each_once(b, 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_broker_window__deep_queue_dispatched_once, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_broker_window__submissions_while_working, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_broker_window__restart_resumes_once, setup,
			teardown),
	};
	return cmocka_run_group_tests_name("broker_window", tests, NULL, NULL);
}
