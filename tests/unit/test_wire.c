/* Unit tests for proto/wire.c: framing, version, hostile frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "df.h"
#include "diag.h"
#include "wire.h"

struct pair {
	void *ctx, *router, *dealer;
};

static void pair_open(struct pair *p)
{
	int linger = 0;

	p->ctx = zmq_ctx_new();
	p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
	p->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
	assert_non_null(p->router);
	assert_non_null(p->dealer);
	zmq_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(p->dealer, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_bind(p->router, "inproc://test-wire"), 0);
	assert_int_equal(zmq_connect(p->dealer, "inproc://test-wire"), 0);
}

static void pair_close(struct pair *p)
{
	zmq_close(p->router);
	zmq_close(p->dealer);
	zmq_ctx_term(p->ctx);
}

static void test_wire__roundtrip_and_reply(void **state)
{
	(void)state;
	struct pair p;
	struct wire_peer peer;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__StatusRequest req = DUMPFLEET__V1__STATUS_REQUEST__INIT;
	wire_env *got = NULL;
	struct diag d;

	diag_init(&d);
	pair_open(&p);
	req.request_id = 42;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_STATUS;
	env.status = &req;
	assert_int_equal(wire_send(p.dealer, NULL, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_OK);
	assert_int_equal(got->body_case, DUMPFLEET__V1__ENVELOPE__BODY_STATUS);
	assert_int_equal(got->status->request_id, 42);
	wire_env_free(got);
	assert_int_equal(wire_send(p.router, &peer, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.dealer, NULL, &got, &d), DF_OK);
	assert_int_equal(got->status->request_id, 42);
	wire_env_free(got);
	pair_close(&p);
}

static void test_wire__bad_version_and_extra_frames_dropped(void **state)
{
	(void)state;
	struct pair p;
	struct wire_peer peer;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Heartbeat hb = DUMPFLEET__V1__HEARTBEAT__INIT;
	wire_env *got = NULL;
	uint8_t buf[64];
	struct diag d;

	diag_init(&d);
	pair_open(&p);
	env.version = 2;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	size_t n = dumpfleet__v1__envelope__pack(&env, buf);

	assert_int_equal(zmq_send(p.dealer, buf, n, 0), (int)n);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_EPROTO);
	assert_null(got);
	/* Two frames: dropped whole, and the next message still decodes. */
	assert_int_equal(zmq_send(p.dealer, "a", 1, ZMQ_SNDMORE), 1);
	assert_int_equal(zmq_send(p.dealer, "b", 1, 0), 1);
	diag_init(&d);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_EPROTO);
	assert_int_equal(wire_send(p.dealer, NULL, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_OK);
	assert_int_equal(got->body_case,
			 DUMPFLEET__V1__ENVELOPE__BODY_HEARTBEAT);
	wire_env_free(got);
	pair_close(&p);
}

/*
 * A worker that sends 200,000 empty findings: 600 KB of wire that would
 * unpack into tens of megabytes (a 32 MiB frame into gigabytes).
 */
static void test_wire__repeated_field_bomb_is_refused(void **state)
{
	(void)state;
	enum { N = 200000 };
	struct pair p;
	struct wire_peer peer;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dump = DUMPFLEET__V1__DUMP__INIT;
	Dumpfleet__V1__Finding empty = DUMPFLEET__V1__FINDING__INIT;
	Dumpfleet__V1__Finding **many = malloc(N * sizeof(*many));
	wire_env *got = NULL;
	struct diag d;

	diag_init(&d);
	assert_non_null(many);
	for (size_t i = 0; i < N; i++)
		many[i] = &empty;
	dump.n_findings = N;
	dump.findings = many;
	res.job_id = 1;
	res.dump = &dump;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	pair_open(&p);
	assert_int_equal(wire_send(p.dealer, NULL, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_EPROTO);
	assert_null(got);
	/* A modest number of the same decodes. */
	dump.n_findings = 1000;
	diag_init(&d);
	assert_int_equal(wire_send(p.dealer, NULL, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_OK);
	assert_int_equal(got->result->dump->n_findings, 1000);
	wire_env_free(got);
	free(many);
	pair_close(&p);
}

/* The budget leaves room for the largest legitimate messages. */
static void test_wire__full_submit_fits_the_budget(void **state)
{
	(void)state;
	enum { N = 10000 };
	struct pair p;
	struct wire_peer peer;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitRequest req = DUMPFLEET__V1__SUBMIT_REQUEST__INIT;
	char **paths = malloc(N * sizeof(*paths));
	char *longp = malloc(3001);
	wire_env *got = NULL;
	struct diag d;

	diag_init(&d);
	assert_non_null(paths);
	assert_non_null(longp);
	for (size_t i = 0; i < N; i++)
		paths[i] = (char *)"/s/a.dmp";
	req.paths = paths;
	req.n_paths = N;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT;
	env.submit = &req;
	pair_open(&p);
	assert_int_equal(wire_send(p.dealer, NULL, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_OK);
	assert_int_equal(got->submit->n_paths, N);
	wire_env_free(got);
	memset(longp, 'p', 3000);
	longp[0] = '/';
	longp[3000] = '\0';
	for (size_t i = 0; i < N; i++)
		paths[i] = longp;
	assert_int_equal(wire_send(p.dealer, NULL, &env, &d), DF_OK);
	assert_int_equal(wire_recv(p.router, &peer, &got, &d), DF_OK);
	assert_int_equal(got->submit->n_paths, N);
	wire_env_free(got);
	free(longp);
	free(paths);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire__roundtrip_and_reply),
		cmocka_unit_test(test_wire__bad_version_and_extra_frames_dropped),
		cmocka_unit_test(test_wire__repeated_field_bomb_is_refused),
		cmocka_unit_test(test_wire__full_submit_fits_the_budget),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
