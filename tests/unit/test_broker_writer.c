/*
 * Results written off the broker thread (broker/writer.c): what a batch
 * does to the store and reports back; that the writer writes only with
 * the store's lock; and, with a real broker, that a result counts as
 * done only once its write has committed while dispatching goes on,
 * that a drain waits for the last batch, and that a job whose write
 * failed is handed out again.
 *
 * To hold a write back, a child process takes LMDB's write lock on the
 * store (the lock is between processes, so the broker's writer waits in
 * the real mdb_txn_begin). To make a write fail, the file size limit
 * (RLIMIT_FSIZE) stops the store's file from growing.
 */
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
#include "writer.h"

#define JOBS 4

/* ---- a child process holding the store's write lock ---------------- */

struct holder {
	pid_t pid;
	int cmd, ack;   /* pipes: to the child, from it */
};

static void holder_main(const char *dir, int cmd, int ack)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	char c;

	while (read(cmd, &c, 1) == 1) {
		if (c == 'h') {
			int rc = mdb_env_create(&env);

			if (rc == 0)
				rc = mdb_env_set_maxdbs(env, 16);
			if (rc == 0)
				rc = mdb_env_open(env, dir, MDB_NOTLS, 0640);
			if (rc == 0)
				rc = mdb_txn_begin(env, NULL, 0, &txn);
			c = rc == 0 ? 'k' : 'e';
		} else {
			if (txn != NULL)
				mdb_txn_abort(txn);
			if (env != NULL)
				mdb_env_close(env);
			txn = NULL;
			env = NULL;
			c = 'k';
		}
		if (write(ack, &c, 1) != 1)
			break;
	}
	_exit(0);
}

/* Started before any thread, so that the child is a plain process. */
static void holder_start(struct holder *h, const char *dir)
{
	int to[2], from[2];

	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		close(to[1]);
		close(from[0]);
		holder_main(dir, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	h->cmd = to[1];
	h->ack = from[0];
}

static void holder_say(struct holder *h, char c)
{
	char a = 0;

	assert_int_equal(write(h->cmd, &c, 1), 1);
	assert_int_equal(read(h->ack, &a, 1), 1);
	assert_int_equal(a, 'k');
}

static void holder_end(struct holder *h)
{
	int st;

	close(h->cmd);
	close(h->ack);
	waitpid(h->pid, &st, 0);
}

/* ---- a broker in a thread, one worker slot by hand ---------------- */

struct bk {
	char *dir;
	void *ctx;
	struct store *store;
	atomic_bool stop;
	atomic_bool returned;
	int rc;
	struct broker_opts o;
	pthread_t th;
	struct client_link link;
	char ep[64];
	unsigned starts;
	void *slot;
	struct holder holder;
};

static void *broker_thread(void *arg)
{
	struct bk *b = arg;

	b->rc = broker_run(&b->o);
	atomic_store(&b->returned, true);
	return NULL;
}

static void bk_run(struct bk *b)
{
	struct diag d;

	diag_init(&d);
	if (store_open(&b->store, b->dir, false, &d) != DF_OK)
		fail_msg("store_open: %s", d.msg);
	atomic_store(&b->stop, false);
	atomic_store(&b->returned, false);
	snprintf(b->ep, sizeof(b->ep), "inproc://test-broker-writer-%u",
		 b->starts++);
	broker_opts_init(&b->o);
	b->o.endpoint = b->ep;
	b->o.zmq_ctx = b->ctx;
	b->o.store = b->store;
	b->o.heartbeat_ms = 100;
	b->o.liveness = 600; /* the slot here never heartbeats */
	b->o.drain_ms = 20000;
	b->o.stop = &b->stop;
	assert_int_equal(pthread_create(&b->th, NULL, broker_thread, b), 0);
	b->link = (struct client_link){ b->ctx, b->ep, NULL };
}

static void bk_join(struct bk *b)
{
	if (b->slot != NULL)
		zmq_close(b->slot);
	b->slot = NULL;
	atomic_store(&b->stop, true);
	pthread_join(b->th, NULL);
	store_close(&b->store);
}

static int setup(void **state)
{
	struct bk *b = calloc(1, sizeof(*b));
	struct store *s = NULL;
	struct diag d;

	if (b == NULL)
		return -1;
	hash_global_init();
	b->dir = test_tmpdir();
	diag_init(&d);
	/* The child opens the store: it must exist. */
	if (store_open(&s, b->dir, false, &d) != DF_OK)
		return -1;
	store_close(&s);
	holder_start(&b->holder, b->dir);
	b->ctx = zmq_ctx_new();
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bk *b = *state;

	/* First: a child gone lets go of the lock a broker may wait for. */
	holder_end(&b->holder);
	if (b->store != NULL)
		bk_join(b);
	zmq_ctx_term(b->ctx);
	test_rmtree(b->dir);
	free(b->dir);
	free(b);
	return 0;
}

static struct client_status status(struct bk *b)
{
	struct client_status st;
	struct diag d;

	diag_init(&d);
	assert_int_equal(client_status(&b->link, &st, 5000, &d), DF_OK);
	return st;
}

static void submit(struct bk *b, size_t n)
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

		snprintf(p, sizeof(p), "/spool/job-%zu.dmp", l.n);
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

static void ready(void *s, uint32_t credit)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__WorkerReady r = DUMPFLEET__V1__WORKER_READY__INIT;

	r.worker_id = (char *)"test:1:0";
	r.credit = credit;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_READY;
	env.ready = &r;
	assert_int_equal(wire_send(s, NULL, &env, NULL), DF_OK);
}

static void slot_open(struct bk *b, uint32_t credit)
{
	int linger = 0;

	b->slot = zmq_socket(b->ctx, ZMQ_DEALER);
	assert_non_null(b->slot);
	zmq_setsockopt(b->slot, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_connect(b->slot, b->ep), 0);
	ready(b->slot, credit);
}

/* A dump record for JOB; JSON (may be NULL) makes it as big as wanted. */
static void dump_for(Dumpfleet__V1__Dump *dm, uint8_t hash[HASH_LEN],
		     uint64_t job, char *json)
{
	Dumpfleet__V1__Dump init = DUMPFLEET__V1__DUMP__INIT;

	*dm = init;
	memset(hash, 0, HASH_LEN);
	memcpy(hash, &job, sizeof(job));
	dm->content_hash.data = hash;
	dm->content_hash.len = HASH_LEN;
	dm->signature_hash = (char *)"0123456789abcdef";
	if (json != NULL)
		dm->json = json;
}

static void send_result(void *s, uint64_t job, char *json)
{
	uint8_t hash[HASH_LEN];
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dump;

	dump_for(&dump, hash, job, json);
	res.job_id = job;
	res.dump = &dump;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	assert_int_equal(wire_send(s, NULL, &env, NULL), DF_OK);
}

/* The next job assigned to the slot (heartbeats skipped), or 0. */
static uint64_t next_assign(struct bk *b)
{
	uint64_t until = wire_now_ms() + 3000;

	while (wire_now_ms() < until) {
		zmq_pollitem_t it = { b->slot, 0, ZMQ_POLLIN, 0 };
		wire_env *env = NULL;

		if (zmq_poll(&it, 1, 100) <= 0 ||
		    wire_recv(b->slot, NULL, &env, NULL) != DF_OK)
			continue;
		uint64_t id = env->body_case ==
					      DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN
				      ? env->assign->job_id
				      : 0;

		wire_env_free(env);
		if (id != 0)
			return id;
	}
	return 0;
}

static bool job_done(struct store *s, uint64_t id)
{
	store_job *job = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_job_get(s, id, &job, &d), DF_OK);
	bool done = job->state == DUMPFLEET__V1__JOB_STATE__JOB_DONE;

	store_job_free(job);
	return done;
}

static void wait_done(struct bk *b, uint64_t done)
{
	for (int i = 0; i < 300 && status(b).done < done; i++)
		usleep(10000);
	assert_int_equal(status(b).done, done);
}

/* ---- the writer alone ---------------------------------------------- */

static void test_broker_writer__batch_outcomes(void **state)
{
	struct bk *b = *state;
	const char *paths[2] = { "/spool/a.dmp", "/spool/b.dmp" };
	uint8_t h1[HASH_LEN], h3[HASH_LEN];
	Dumpfleet__V1__Dump d1, d3, failed = DUMPFLEET__V1__DUMP__INIT;
	Dumpfleet__V1__JobResult r[4];
	struct writer_item items[4];
	struct writer_batch batch = { items, 4, DF_OK, { 0 }, 0 };
	struct writer *w = NULL;
	uint64_t first = 0;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_open(&b->store, b->dir, false, &d), DF_OK);
	assert_int_equal(store_jobs_add(b->store, "w", paths, NULL, NULL, 2,
					&first, &d), DF_OK);
	for (int i = 0; i < 4; i++) {
		Dumpfleet__V1__JobResult init = DUMPFLEET__V1__JOB_RESULT__INIT;

		r[i] = init;
		items[i] = (struct writer_item){ &r[i], false, 7, 7 };
	}
	dump_for(&d1, h1, first, NULL);
	dump_for(&d3, h3, 999, NULL);
	failed.failure = (char *)"cannot read";
	r[0].job_id = first;       /* a result */
	r[0].dump = &d1;
	r[1] = r[0];               /* the same again */
	r[2].job_id = first + 1;   /* no record: the job failed */
	r[2].dump = &failed;
	r[3].job_id = 999;         /* a job nobody submitted */
	r[3].dump = &d3;
	assert_int_equal(writer_start(&w, b->ctx, b->store, &d), DF_OK);
	assert_int_equal(writer_submit(w, &batch), DF_OK);
	assert_ptr_equal(writer_collect(w, true), &batch);
	writer_stop(&w);
	assert_int_equal(batch.rc, DF_OK);
	for (int i = 0; i < 4; i++)
		assert_true(items[i].committed);
	assert_int_equal(items[0].ddone, 1);
	assert_int_equal(items[1].ddone, 0); /* counted once */
	assert_int_equal(items[2].ddone, 0);
	assert_int_equal(items[2].dfailed, 1);
	assert_int_equal(items[3].ddone, 0);
	assert_int_equal(items[3].dfailed, 0);
	assert_true(job_done(b->store, first));
	assert_false(job_done(b->store, first + 1));
	store_close(&b->store);
}

/* The writer writes with the store's lock only: held, nothing comes. */
static void test_broker_writer__waits_for_the_lock(void **state)
{
	struct bk *b = *state;
	const char *paths[1] = { "/spool/a.dmp" };
	uint8_t h[HASH_LEN];
	Dumpfleet__V1__Dump dm;
	Dumpfleet__V1__JobResult r = DUMPFLEET__V1__JOB_RESULT__INIT;
	struct writer_item item = { &r, false, 0, 0 };
	struct writer_batch batch = { &item, 1, DF_OK, { 0 }, 0 };
	struct writer *w = NULL;
	uint64_t first = 0;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_open(&b->store, b->dir, false, &d), DF_OK);
	assert_int_equal(store_jobs_add(b->store, "w", paths, NULL, NULL, 1,
					&first, &d), DF_OK);
	dump_for(&dm, h, first, NULL);
	r.job_id = first;
	r.dump = &dm;
	assert_int_equal(writer_start(&w, b->ctx, b->store, &d), DF_OK);
	writer_lock(w);
	assert_int_equal(writer_submit(w, &batch), DF_OK);
	usleep(200000);
	assert_null(writer_collect(w, false));
	assert_false(job_done(b->store, first));
	writer_unlock(w);
	assert_ptr_equal(writer_collect(w, true), &batch);
	assert_true(item.committed);
	assert_int_equal(item.ddone, 1);
	assert_true(job_done(b->store, first));
	writer_stop(&w);
	store_close(&b->store);
}

/* ---- with the broker ----------------------------------------------- */

/*
 * While a batch cannot commit, its job is not done (it counts as
 * leased) and the broker goes on dispatching; once it commits, it is.
 */
static void test_broker_writer__done_only_after_commit(void **state)
{
	struct bk *b = *state;

	bk_run(b);
	submit(b, JOBS);
	slot_open(b, 1);
	uint64_t a = next_assign(b);

	assert_int_equal(a, 1);
	holder_say(&b->holder, 'h');
	send_result(b->slot, a, NULL);
	ready(b->slot, 1);
	/* The next job comes though the first one's write is stuck. */
	assert_int_equal(next_assign(b), 2);
	usleep(100000);
	struct client_status st = status(b);

	assert_int_equal(st.done, 0);
	assert_int_equal(st.leased, 2);
	holder_say(&b->holder, 'r');
	wait_done(b, 1);
	assert_int_equal(status(b).leased, 1);
	send_result(b->slot, 2, NULL);
	wait_done(b, 2);
	bk_join(b);
}

/* Told to stop, the broker returns only once the last batch is written. */
static void test_broker_writer__drain_writes_last_batch(void **state)
{
	struct bk *b = *state;

	bk_run(b);
	submit(b, JOBS);
	slot_open(b, 2);
	assert_int_equal(next_assign(b), 1);
	assert_int_equal(next_assign(b), 2);
	holder_say(&b->holder, 'h');
	atomic_store(&b->stop, true);
	send_result(b->slot, 1, NULL);
	send_result(b->slot, 2, NULL);
	usleep(300000);
	assert_false(atomic_load(&b->returned));
	holder_say(&b->holder, 'r');
	pthread_join(b->th, NULL);
	assert_int_equal(b->rc, DF_OK);
	assert_true(job_done(b->store, 1));
	assert_true(job_done(b->store, 2));
	assert_false(job_done(b->store, 3));
	zmq_close(b->slot);
	b->slot = NULL;
	store_close(&b->store);
}

static off_t file_size(const char *dir)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_size;
}

/*
 * A batch that cannot be written stops the broker (the store failed)
 * with its job not done; the next start hands that job out again.
 */
static void test_broker_writer__failed_write_requeues(void **state)
{
	struct bk *b = *state;
	size_t big = (size_t)1 << 20;
	char *json = malloc(big + 1);
	struct rlimit old, lim;

	assert_non_null(json);
	memset(json, 'x', big);
	json[big] = '\0';
	bk_run(b);
	submit(b, JOBS);
	slot_open(b, 1);
	assert_int_equal(next_assign(b), 1);
	/* A megabyte more cannot go in a file that may not grow. */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(b->dir);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	send_result(b->slot, 1, json);
	for (int i = 0; i < 300 && !atomic_load(&b->returned); i++)
		usleep(10000);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_true(atomic_load(&b->returned));
	assert_int_equal(b->rc, DF_ESTORE);
	assert_false(job_done(b->store, 1));
	bk_join(b);

	bk_run(b);
	slot_open(b, 1);
	assert_int_equal(next_assign(b), 1);
	send_result(b->slot, 1, json);
	wait_done(b, 1);
	bk_join(b);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_broker_writer__batch_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_broker_writer__waits_for_the_lock, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_broker_writer__done_only_after_commit, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_broker_writer__drain_writes_last_batch, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_broker_writer__failed_write_requeues, setup,
			teardown),
	};
	return cmocka_run_group_tests_name("broker_writer", tests, NULL, NULL);
}
