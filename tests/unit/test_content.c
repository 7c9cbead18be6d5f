/*
 * The broker's content service and the worker's fetch client, over tcp
 * loopback: chunking, ranges at and past the end, unknown jobs, the
 * length cap, a file that changed, the hash check, the credit window
 * (against a peer that holds its replies back) and reconnecting after
 * silence.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "content.h"
#include "curve.h"
#include "df.h"
#include "diag.h"
#include "fetch.h"
#include "hash.h"
#include "testutil.h"
#include "wire.h"
#include "zap.h"

#define CHUNK ((uint32_t)64 << 10)

struct fx {
	void *ctx;
	char *dir;
	char path[512];      /* the job's file, on the "broker" */
	char cache[512];     /* where fetch_file writes */
	uint8_t *bytes;
	size_t len;
	struct content *svc;
	char ep[256];
	struct fetch *f;
};

/* A file of LEN bytes: a pattern, with a run of zeros in the middle. */
static void fx_file(struct fx *x, size_t len)
{
	FILE *fp = fopen(x->path, "wb");

	x->bytes = malloc(len > 0 ? len : 1);
	assert_non_null(x->bytes);
	for (size_t i = 0; i < len; i++)
		x->bytes[i] = (uint8_t)(i * 2654435761u >> 13);
	if (len > 4 * CHUNK)
		memset(x->bytes + CHUNK, 0, 2 * CHUNK);
	x->len = len;
	assert_non_null(fp);
	assert_int_equal(fwrite(x->bytes, 1, len, fp), len);
	fclose(fp);
}

static void fx_fetch(struct fx *x, const char *ep, unsigned window,
		     uint32_t timeout_ms)
{
	struct fetch_opts fo;
	struct diag d;

	diag_init(&d);
	fetch_opts_init(&fo);
	fo.zmq_ctx = x->ctx;
	fo.endpoint = ep;
	fo.chunk = CHUNK;
	fo.window = window;
	fo.timeout_ms = timeout_ms;
	fo.attempts = 3;
	assert_int_equal(fetch_new(&x->f, &fo, &d), DF_OK);
}

static void fx_start(struct fx *x, size_t len)
{
	struct content_opts co = { NULL, "tcp://127.0.0.1:*", NULL };
	struct diag d;

	diag_init(&d);
	hash_global_init();
	x->ctx = zmq_ctx_new();
	x->dir = test_tmpdir();
	snprintf(x->path, sizeof(x->path), "%s/job.dmp", x->dir);
	snprintf(x->cache, sizeof(x->cache), "%s/cache", x->dir);
	fx_file(x, len);
	co.zmq_ctx = x->ctx;
	assert_int_equal(content_start(&x->svc, &co, x->ep, sizeof(x->ep), &d),
			 DF_OK);
	fx_fetch(x, x->ep, FETCH_WINDOW, 2000);
}

static void fx_stop(struct fx *x)
{
	fetch_destroy(&x->f);
	content_stop(&x->svc);
	zmq_ctx_term(x->ctx);
	test_rmtree(x->dir);
	free(x->dir);
	free(x->bytes);
}

static void assert_cache_is_file(const struct fx *x)
{
	size_t n = 0;
	uint8_t *got = test_read_file(x->cache, &n);

	assert_non_null(got);
	assert_int_equal(n, x->len);
	assert_memory_equal(got, x->bytes, x->len);
	free(got);
}

/* A whole file in chunks; the zeros stay a hole; the hash is checked. */
static void test_content__whole_file_in_chunks(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct fetch_stats st;
	struct diag d;
	uint8_t h[HASH_LEN];
	struct stat sb;
	size_t len = 10 * CHUNK + 123;

	fx_start(&x, len);
	hash_sha256(x.bytes, x.len, h);
	assert_int_equal(content_allow(x.svc, 7, x.path, x.len), DF_OK);
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 7, x.len, h, x.cache, &d), DF_OK);
	assert_cache_is_file(&x);
	fetch_get_stats(x.f, &st);
	assert_int_equal(st.requests, 11);
	assert_int_equal(st.bytes, len);
	assert_int_equal(st.max_inflight, FETCH_WINDOW);
	/* Two chunks of zeros were not written. */
	assert_int_equal(stat(x.cache, &sb), 0);
	assert_true((uint64_t)sb.st_blocks * 512 < len - CHUNK);
	struct content_stats cs;

	content_get_stats(x.svc, &cs);
	assert_int_equal(cs.requests, 11);
	assert_int_equal(cs.bytes, len);
	assert_int_equal(cs.errors, 0);
	/* Size not known beforehand: learnt from the first reply. */
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 7, 0, NULL, x.cache, &d), DF_OK);
	assert_cache_is_file(&x);
	fx_stop(&x);
}

/* Ranges: inside, across the end, at the end, past it. */
static void test_content__ranges_at_and_past_the_end(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct diag d;
	uint64_t size = 0;
	struct fetch_stats before, after;

	fx_start(&x, 3 * CHUNK + 10);
	assert_int_equal(content_allow(x.svc, 1, x.path, 0), DF_OK);
	int fd = open(x.cache, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	diag_init(&d);
	assert_int_equal(fetch_range(x.f, 1, CHUNK + 5, 100, fd, &size, &d),
			 DF_OK);
	assert_int_equal(size, x.len);
	/* Across the end: stops there. */
	assert_int_equal(fetch_range(x.f, 1, x.len - 4, 1000, fd, &size, &d),
			 DF_OK);
	uint8_t buf[1000];

	assert_int_equal(pread(fd, buf, 100, CHUNK + 5), 100);
	assert_memory_equal(buf, x.bytes + CHUNK + 5, 100);
	assert_int_equal(pread(fd, buf, 10, (off_t)x.len - 4), 4);
	assert_memory_equal(buf, x.bytes + x.len - 4, 4);
	/* At and past the end: nothing to ask for. */
	fetch_get_stats(x.f, &before);
	assert_int_equal(fetch_range(x.f, 1, x.len, 10, fd, &size, &d), DF_OK);
	assert_int_equal(fetch_range(x.f, 1, x.len + 99, 10, fd, &size, &d),
			 DF_OK);
	fetch_get_stats(x.f, &after);
	assert_int_equal(after.requests, before.requests);
	/* Past the end with the size unknown: an empty answer, no error. */
	size = 0;
	assert_int_equal(fetch_range(x.f, 1, x.len + 99, 10, fd, &size, &d),
			 DF_OK);
	assert_int_equal(size, x.len);
	close(fd);
	fx_stop(&x);
}

/* Ask the service by hand; the reply, or NULL. */
static wire_env *ask(void *sock, uint64_t job, uint64_t off, uint32_t len)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__ContentRequest rq = DUMPFLEET__V1__CONTENT_REQUEST__INIT;
	wire_env *rep = NULL;
	struct diag d;
	zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };

	diag_init(&d);
	rq.job_id = job;
	rq.offset = off;
	rq.length = len;
	rq.tag = 42;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REQUEST;
	env.content_request = &rq;
	assert_int_equal(wire_send(sock, NULL, &env, &d), DF_OK);
	if (zmq_poll(&it, 1, 2000) != 1 ||
	    wire_recv(sock, NULL, &rep, &d) != DF_OK)
		return NULL;
	assert_int_equal(rep->body_case,
			 DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REPLY);
	return rep;
}

/* Unknown jobs, the 1 MiB cap, a file that changed size. */
static void test_content__unknown_job_cap_and_changed_file(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct diag d;
	int linger = 0;

	fx_start(&x, 3 << 20);
	void *s = zmq_socket(x.ctx, ZMQ_DEALER);

	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_connect(s, x.ep), 0);
	wire_env *rep = ask(s, 5, 0, 100);

	assert_non_null(rep);
	assert_string_equal(rep->content_reply->error, "unknown job");
	assert_int_equal(rep->content_reply->data.len, 0);
	assert_int_equal(rep->content_reply->tag, 42);
	wire_env_free(rep);
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 5, 0, NULL, x.cache, &d), DF_EIO);
	assert_non_null(strstr(d.msg, "unknown job"));
	assert_int_equal(access(x.cache, F_OK), -1);

	assert_int_equal(content_allow(x.svc, 5, x.path, x.len), DF_OK);
	rep = ask(s, 5, 1000, 5u << 20);
	assert_non_null(rep);
	assert_string_equal(rep->content_reply->error, "");
	assert_int_equal(rep->content_reply->data.len, CONTENT_MAX_CHUNK);
	assert_int_equal(rep->content_reply->size, x.len);
	assert_int_equal(rep->content_reply->offset, 1000);
	assert_memory_equal(rep->content_reply->data.data, x.bytes + 1000,
			    CONTENT_MAX_CHUNK);
	wire_env_free(rep);
	rep = ask(s, 5, x.len + 1, 10);
	assert_non_null(rep);
	assert_string_equal(rep->content_reply->error, "");
	assert_int_equal(rep->content_reply->data.len, 0);
	wire_env_free(rep);

	/* Submitted with another size: the file is not the job's any more. */
	assert_int_equal(content_allow(x.svc, 6, x.path, x.len + 1), DF_OK);
	rep = ask(s, 6, 0, 10);
	assert_non_null(rep);
	assert_non_null(strstr(rep->content_reply->error, "changed size"));
	wire_env_free(rep);
	zmq_close(s);
	fx_stop(&x);
}

/* Bytes that do not hash to the job's SHA-256 are refused and removed. */
static void test_content__hash_mismatch_fails(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct diag d;
	uint8_t h[HASH_LEN];

	fx_start(&x, CHUNK * 2);
	memset(h, 0xEE, sizeof(h));
	assert_int_equal(content_allow(x.svc, 3, x.path, x.len), DF_OK);
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 3, x.len, h, x.cache, &d), DF_EIO);
	assert_non_null(strstr(d.msg, "SHA-256 mismatch"));
	assert_int_equal(access(x.cache, F_OK), -1);
	fx_stop(&x);
}

/*
 * A peer that answers like the service but holds replies back: it
 * counts what is in flight, answers one at a time after a pause, and
 * with `drop_first` ignores the first connection altogether.
 */
struct slow_peer {
	void *sock;
	const uint8_t *bytes;
	size_t len;
	bool drop_first;
	atomic_bool stop;
	unsigned max_outstanding;
	unsigned connections;   /* identities seen */
	pthread_t th;
};

static void slow_reply(struct slow_peer *sp, const struct wire_peer *p,
		       const Dumpfleet__V1__ContentRequest *rq)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__ContentReply rep = DUMPFLEET__V1__CONTENT_REPLY__INIT;
	uint64_t n = rq->offset < sp->len ? sp->len - rq->offset : 0;

	if (n > rq->length)
		n = rq->length;
	rep.tag = rq->tag;
	rep.job_id = rq->job_id;
	rep.offset = rq->offset;
	rep.size = sp->len;
	rep.data.data = (uint8_t *)sp->bytes + (n ? rq->offset : 0);
	rep.data.len = n;
	rep.error = (char *)"";
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REPLY;
	env.content_reply = &rep;
	wire_send(sp->sock, p, &env, NULL);
}

#define SLOW_MAX 256

static void *slow_main(void *arg)
{
	struct slow_peer *sp = arg;
	struct wire_peer first, peers[SLOW_MAX];
	wire_env *q[SLOW_MAX];
	size_t nq = 0;
	uint64_t quiet_since = wire_now_ms();

	first.len = 0;
	while (!atomic_load(&sp->stop)) {
		zmq_pollitem_t it = { sp->sock, 0, ZMQ_POLLIN, 0 };
		struct diag d;

		diag_init(&d);
		if (zmq_poll(&it, 1, 10) > 0 && nq < SLOW_MAX) {
			wire_env *env = NULL;

			if (wire_recv(sp->sock, &peers[nq], &env, &d) != DF_OK)
				continue;
			if (first.len == 0) {
				first = peers[nq];
				sp->connections = 1;
			}
			bool from_first = peers[nq].len == first.len &&
					  memcmp(peers[nq].id, first.id,
						 first.len) == 0;

			if (!from_first)
				sp->connections = 2;

			if (sp->drop_first && from_first) {
				wire_env_free(env);
				continue;
			}
			q[nq++] = env;
			if (nq > sp->max_outstanding)
				sp->max_outstanding = (unsigned)nq;
			quiet_since = wire_now_ms();
			continue;
		}
		/* Nothing more comes: answer the oldest, then wait again. */
		if (nq > 0 && wire_now_ms() - quiet_since >= 30) {
			slow_reply(sp, &peers[0], q[0]->content_request);
			wire_env_free(q[0]);
			memmove(q, q + 1, (nq - 1) * sizeof(*q));
			memmove(peers, peers + 1, (nq - 1) * sizeof(*peers));
			nq--;
			quiet_since = wire_now_ms();
		}
	}
	for (size_t i = 0; i < nq; i++)
		wire_env_free(q[i]);
	return NULL;
}

static void slow_start(struct fx *x, struct slow_peer *sp, bool drop_first)
{
	size_t eplen = sizeof(x->ep);
	int linger = 0;

	hash_global_init();
	x->ctx = zmq_ctx_new();
	x->dir = test_tmpdir();
	snprintf(x->path, sizeof(x->path), "%s/job.dmp", x->dir);
	snprintf(x->cache, sizeof(x->cache), "%s/cache", x->dir);
	fx_file(x, 20 * CHUNK + 1);
	sp->sock = zmq_socket(x->ctx, ZMQ_ROUTER);
	zmq_setsockopt(sp->sock, ZMQ_LINGER, &linger, sizeof(linger));
	assert_int_equal(zmq_bind(sp->sock, "tcp://127.0.0.1:*"), 0);
	zmq_getsockopt(sp->sock, ZMQ_LAST_ENDPOINT, x->ep, &eplen);
	sp->bytes = x->bytes;
	sp->len = x->len;
	sp->drop_first = drop_first;
	atomic_store(&sp->stop, false);
	assert_int_equal(pthread_create(&sp->th, NULL, slow_main, sp), 0);
}

static void slow_stop(struct fx *x, struct slow_peer *sp)
{
	atomic_store(&sp->stop, true);
	pthread_join(sp->th, NULL);
	zmq_close(sp->sock);
	fetch_destroy(&x->f);
	zmq_ctx_term(x->ctx);
	test_rmtree(x->dir);
	free(x->dir);
	free(x->bytes);
}

/* However slow the replies, no more than the window is ever asked for. */
static void test_content__credit_window_is_never_exceeded(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct slow_peer sp = { 0 };
	struct diag d;
	struct fetch_stats st;

	slow_start(&x, &sp, false);
	fx_fetch(&x, x.ep, 3, 2000);
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 9, x.len, NULL, x.cache, &d), DF_OK);
	assert_cache_is_file(&x);
	fetch_get_stats(x.f, &st);
	assert_int_equal(sp.max_outstanding, 3);
	assert_int_equal(st.max_inflight, 3);
	assert_int_equal(st.requests, 21);
	slow_stop(&x, &sp);
}

/* A peer silent on the first connection: the client connects again. */
static void test_content__reconnects_after_silence(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct slow_peer sp = { 0 };
	struct diag d;
	struct fetch_stats st;

	slow_start(&x, &sp, true);
	/* Long enough that a loaded machine's pauses are not silences. */
	fx_fetch(&x, x.ep, 4, 1000);
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 9, x.len, NULL, x.cache, &d), DF_OK);
	assert_cache_is_file(&x);
	fetch_get_stats(x.f, &st);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(sp.connections, 2);
	slow_stop(&x, &sp);
}

/* Nobody answers at all: a clear failure after the attempts. */
static void test_content__silence_fails_after_attempts(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct slow_peer sp = { 0 };
	struct diag d;
	struct fetch_stats st;

	slow_start(&x, &sp, true);
	/* Every connection is "the first" once the peer forgets: stop it. */
	atomic_store(&sp.stop, true);
	pthread_join(sp.th, NULL);
	fx_fetch(&x, x.ep, 4, 100);
	diag_init(&d);
	assert_int_equal(fetch_file(x.f, 9, x.len, NULL, x.cache, &d), DF_EIO);
	assert_non_null(strstr(d.msg, "no answer"));
	fetch_get_stats(x.f, &st);
	assert_int_equal(st.reconnects, 2);
	zmq_close(sp.sock);
	fetch_destroy(&x.f);
	zmq_ctx_term(x.ctx);
	test_rmtree(x.dir);
	free(x.dir);
	free(x.bytes);
}

static void make_pair(struct curve_pair *kp)
{
	char pub[41], sec[41];

	assert_int_equal(zmq_curve_keypair(pub, sec), 0);
	assert_non_null(zmq_z85_decode(kp->pub, pub));
	assert_non_null(zmq_z85_decode(kp->sec, sec));
}

/* Fetch job 1 as KEY; the diag's code and text. */
static int fetch_as(struct fx *x, const struct curve_pair *server,
		    const struct curve_pair *key, struct diag *d)
{
	struct curve_client cc;
	struct fetch_opts fo;

	cc.self = *key;
	memcpy(cc.server, server->pub, CURVE_KEY_BYTES);
	fetch_opts_init(&fo);
	fo.zmq_ctx = x->ctx;
	fo.endpoint = x->ep;
	fo.curve = &cc;
	fo.timeout_ms = 3000;
	fo.attempts = 1;
	diag_init(d);
	if (fetch_new(&x->f, &fo, d) != DF_OK)
		return DF_EIO;
	int rc = fetch_file(x->f, 1, x->len, NULL, x->cache, d);

	fetch_destroy(&x->f);
	return rc;
}

/*
 * With CURVE, ZAP admits listed keys only, and the service serves the
 * worker role only: a client key is told "permission denied", a key not
 * listed is refused in the handshake (at once, not by a timeout).
 */
static void test_content__curve_serves_workers_only(void **state)
{
	(void)state;
	struct fx x = { 0 };
	struct curve_pair server, worker, client, rogue;
	struct curve_keyring *allow = curve_keyring_new();
	struct zap *zap = NULL;
	struct diag d;

	hash_global_init();
	make_pair(&server);
	make_pair(&worker);
	make_pair(&client);
	make_pair(&rogue);
	diag_init(&d);
	assert_non_null(allow);
	assert_int_equal(curve_keyring_add(allow, worker.pub,
					   CURVE_ROLE_WORKER, &d), DF_OK);
	assert_int_equal(curve_keyring_add(allow, client.pub,
					   CURVE_ROLE_CLIENT, &d), DF_OK);
	x.ctx = zmq_ctx_new();
	x.dir = test_tmpdir();
	snprintf(x.path, sizeof(x.path), "%s/job.dmp", x.dir);
	snprintf(x.cache, sizeof(x.cache), "%s/cache", x.dir);
	fx_file(&x, 3 * CHUNK);
	assert_int_equal(zap_start(&zap, x.ctx, allow, &d), DF_OK);
	struct content_opts co = { x.ctx, "tcp://127.0.0.1:*", &server };

	assert_int_equal(content_start(&x.svc, &co, x.ep, sizeof(x.ep), &d),
			 DF_OK);
	assert_int_equal(content_allow(x.svc, 1, x.path, x.len), DF_OK);

	assert_int_equal(fetch_as(&x, &server, &client, &d), DF_EIO);
	assert_non_null(strstr(d.msg, "permission denied"));
	uint64_t t0 = wire_now_ms();

	assert_int_equal(fetch_as(&x, &server, &rogue, &d), DF_EIO);
	assert_non_null(strstr(d.msg, "refused this CURVE key"));
	assert_true(wire_now_ms() - t0 < 2000);
	assert_int_equal(fetch_as(&x, &server, &worker, &d), DF_OK);
	assert_cache_is_file(&x);
	struct content_stats cs;

	content_get_stats(x.svc, &cs);
	assert_int_equal(cs.denied, 1);
	assert_int_equal(cs.bytes, x.len);
	content_stop(&x.svc);
	zap_stop(&zap);
	zmq_ctx_term(x.ctx);
	curve_keyring_destroy(&allow);
	test_rmtree(x.dir);
	free(x.dir);
	free(x.bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content__whole_file_in_chunks),
		cmocka_unit_test(test_content__ranges_at_and_past_the_end),
		cmocka_unit_test(test_content__unknown_job_cap_and_changed_file),
		cmocka_unit_test(test_content__hash_mismatch_fails),
		cmocka_unit_test(test_content__credit_window_is_never_exceeded),
		cmocka_unit_test(test_content__reconnects_after_silence),
		cmocka_unit_test(test_content__silence_fails_after_attempts),
		cmocka_unit_test(test_content__curve_serves_workers_only),
	};

	return cmocka_run_group_tests_name("content", tests, NULL, NULL);
}
