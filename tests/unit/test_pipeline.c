/*
 * Broker, workers and client together in one process over inproc://, with
 * a real store: the fleet's code path without processes.
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
#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "broker.h"
#include "client.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"
#include "testutil.h"
#include "wire.h"
#include "worker.h"

struct fleet {
	void *ctx;
	struct store *store;
	atomic_bool stop_broker;
	atomic_bool stop_workers;
	struct broker_opts bo;
	struct worker_opts wo;
	pthread_t bth, wth;
	bool workers;
	struct client_link link;  /* the broker, without CURVE */
};

static void *broker_thread(void *arg)
{
	struct fleet *f = arg;

	broker_run(&f->bo);
	return NULL;
}

static void *worker_thread(void *arg)
{
	struct fleet *f = arg;

	worker_run(&f->wo);
	return NULL;
}

static void fleet_start(struct fleet *f, const char *dir, bool workers)
{
	struct diag d;

	diag_init(&d);
	memset(f, 0, sizeof(*f));
	f->ctx = zmq_ctx_new();
	f->link = (struct client_link){ f->ctx, "inproc://test-broker", NULL };
	assert_int_equal(store_open(&f->store, dir, false, &d), DF_OK);
	broker_opts_init(&f->bo);
	f->bo.endpoint = "inproc://test-broker";
	f->bo.zmq_ctx = f->ctx;
	f->bo.store = f->store;
	f->bo.heartbeat_ms = 100;
	f->bo.stop = &f->stop_broker;
	assert_int_equal(pthread_create(&f->bth, NULL, broker_thread, f), 0);
	worker_opts_init(&f->wo);
	f->wo.endpoint = "inproc://test-broker";
	f->wo.zmq_ctx = f->ctx;
	f->wo.slots = 2;
	f->wo.heartbeat_ms = 100;
	f->wo.stop = &f->stop_workers;
	f->workers = workers;
	if (workers)
		assert_int_equal(pthread_create(&f->wth, NULL, worker_thread, f),
				 0);
}

static void fleet_stop(struct fleet *f)
{
	atomic_store(&f->stop_workers, true);
	if (f->workers)
		pthread_join(f->wth, NULL);
	atomic_store(&f->stop_broker, true);
	pthread_join(f->bth, NULL);
	store_close(&f->store);
	zmq_ctx_term(f->ctx);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < sizeof(path));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static uint64_t counter(const char *storedir, const char *key)
{
	struct store *s = NULL;
	struct diag d;
	uint64_t v = 0;

	diag_init(&d);
	assert_int_equal(store_open(&s, storedir, true, &d), DF_OK);
	assert_int_equal(store_counter_get(s, key, &v, &d), DF_OK);
	store_close(&s);
	return v;
}

static void submit_and_wait(struct fleet *f, const char *in, size_t expect)
{
	struct pathlist pl = { 0 };
	char *roots[] = { (char *)in };
	size_t accepted = 0;
	struct client_status st;
	struct diag d;

	diag_init(&d);
	assert_int_equal(client_collect(&pl, roots, 1, NULL, &d), DF_OK);
	assert_int_equal(pl.n, expect);
	assert_int_equal(client_submit(&f->link, "t",
				       &pl, &accepted, 10000, &d),
			 DF_OK);
	assert_int_equal(accepted, expect);
	if (f->workers)
		assert_int_equal(client_wait(&f->link, false, 10000, NULL, &st, &d),
				 DF_OK);
	pathlist_release(&pl);
}

static void test_pipeline__counts_once_and_rerun_changes_nothing(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char in[512], storedir[512];
	struct fleet f;

	hash_global_init();
	snprintf(in, sizeof(in), "%s/in", root);
	snprintf(storedir, sizeof(storedir), "%s/store", root);
	assert_int_equal(mkdir(in, 0700), 0);
	write_file(in, "a.bin", "not a dump at all\n");
	write_file(in, "b.bin", "another thing\n");
	write_file(in, "c.bin", "a third thing\n");
	write_file(in, "a-copy.bin", "not a dump at all\n");
	write_file(in, "b-copy.bin", "another thing\n");

	fleet_start(&f, storedir, true);
	submit_and_wait(&f, in, 5);
	fleet_stop(&f);
	assert_int_equal(counter(storedir, "t/dumps"), 5);
	assert_int_equal(counter(storedir, "t/distinct"), 3);
	assert_int_equal(counter(storedir, "t/errors"), 3);

	fleet_start(&f, storedir, true);
	submit_and_wait(&f, in, 5);
	fleet_stop(&f);
	assert_int_equal(counter(storedir, "t/dumps"), 5);
	assert_int_equal(counter(storedir, "t/distinct"), 3);
	test_rmtree(root);
	free(root);
}

static void test_pipeline__jobs_survive_broker_restart(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char in[512], storedir[512];
	struct fleet f;
	struct client_status st;
	struct diag d;

	diag_init(&d);
	snprintf(in, sizeof(in), "%s/in", root);
	snprintf(storedir, sizeof(storedir), "%s/store", root);
	assert_int_equal(mkdir(in, 0700), 0);
	write_file(in, "1.txt", "one\n");
	write_file(in, "2.txt", "two\n");

	/* Accepted by a broker with no workers, which then stops. */
	fleet_start(&f, storedir, false);
	submit_and_wait(&f, in, 2);
	fleet_stop(&f);
	assert_int_equal(counter(storedir, "t/dumps"), 0);

	/* A new broker finds the jobs in the store and finishes them. */
	fleet_start(&f, storedir, true);
	assert_int_equal(client_wait(&f.link, false,
				     10000, NULL, &st, &d),
			 DF_OK);
	fleet_stop(&f);
	assert_int_equal(counter(storedir, "t/dumps"), 2);
	test_rmtree(root);
	free(root);
}

static void test_pipeline__unreadable_path_is_a_failed_job(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char in[512], storedir[512], path[600];
	struct fleet f;
	struct client_status st;
	struct diag d;

	diag_init(&d);
	snprintf(in, sizeof(in), "%s/in", root);
	snprintf(storedir, sizeof(storedir), "%s/store", root);
	assert_int_equal(mkdir(in, 0700), 0);
	write_file(in, "gone.txt", "soon removed\n");
	snprintf(path, sizeof(path), "%s/gone.txt", in);

	struct pathlist pl = { 0 };
	char *roots[] = { in };
	size_t accepted = 0;

	fleet_start(&f, storedir, false);
	assert_int_equal(client_collect(&pl, roots, 1, NULL, &d), DF_OK);
	assert_int_equal(remove(path), 0);
	assert_int_equal(client_submit(&f.link, "", &pl,
				       &accepted, 10000, &d),
			 DF_OK);
	pathlist_release(&pl);
	fleet_stop(&f);
	fleet_start(&f, storedir, true);
	assert_int_equal(client_wait(&f.link, false,
				     10000, NULL, &st, &d),
			 DF_OK);
	assert_int_equal(st.failed, 1);
	fleet_stop(&f);
	assert_int_equal(counter(storedir, "t/failed"), 1);
	assert_int_equal(counter(storedir, "t/dumps"), 0);
	test_rmtree(root);
	free(root);
}

static void *raise_later(void *arg)
{
	usleep(200000);
	atomic_store((atomic_bool *)arg, true);
	return NULL;
}

/*
 * Waiting on a queue that never drains (no workers) ends soon after the
 * stop flag is raised: `submit --wait` and `run` used to ignore Ctrl-C.
 */
static void test_pipeline__wait_ends_on_stop(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char in[512], storedir[512];
	struct fleet f;
	struct client_status st;
	atomic_bool stop = false;
	pthread_t th;
	struct diag d;

	diag_init(&d);
	snprintf(in, sizeof(in), "%s/in", root);
	snprintf(storedir, sizeof(storedir), "%s/store", root);
	assert_int_equal(mkdir(in, 0700), 0);
	write_file(in, "1.txt", "one\n");
	fleet_start(&f, storedir, false);
	submit_and_wait(&f, in, 1);
	assert_int_equal(pthread_create(&th, NULL, raise_later, &stop), 0);
	uint64_t t0 = wire_now_ms();

	assert_int_equal(client_wait(&f.link, false,
				     60000, &stop, &st, &d),
			 DF_EIO);
	assert_true(wire_now_ms() - t0 < 5000);
	pthread_join(th, NULL);
	fleet_stop(&f);
	test_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_pipeline__counts_once_and_rerun_changes_nothing),
		cmocka_unit_test(test_pipeline__jobs_survive_broker_restart),
		cmocka_unit_test(test_pipeline__unreadable_path_is_a_failed_job),
		cmocka_unit_test(test_pipeline__wait_ends_on_stop),
	};
	return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
