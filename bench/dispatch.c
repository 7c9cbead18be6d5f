/*
 * dispatch - how fast the broker hands out jobs, next to raw ZeroMQ.
 *
 *   dispatch raw    --window W --jobs N [--assign B] [--result B]
 *   dispatch broker --window W --jobs N --workers K [--json B]
 *   dispatch sizes [--json B]   (the envelopes the broker run sends)
 *   dispatch measure FILE...    (envelopes of real analysed files)
 *   dispatch submit ENDPOINT --jobs N   (N made-up jobs to a broker, for
 *                               its memory with a deep queue)
 *
 * raw: a DEALER keeps W requests of B bytes in flight to a ROUTER thread
 * that answers each with a reply of the result's size, over loopback tcp.
 * broker: the real broker (durable LMDB store in a fresh folder) in a
 * thread; N jobs are submitted first through the client, then K no-op
 * worker threads speak the worker protocol (WorkerReady with credit W,
 * JobAssign -> JobResult with a minimal valid Dump) without analysing.
 * The time runs from the workers' start until the store counts N done.
 * The broker thread's CPU time over the same span, per job, is printed
 * too (broker_cpu_us): on a busy machine it moves far less than jobs/s.
 * Each run prints one line "mode=... jobs_per_s=..."; dispatch.sh runs
 * several and takes medians.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "analysis.h"
#include "broker.h"
#include "client.h"
#include "df.h"
#include "hash.h"
#include "record.h"
#include "diag.h"
#include "store.h"
#include "wire.h"

#define EP_MAX 256

struct cfg {
	const char *mode;
	unsigned window, workers;
	size_t jobs, assign_bytes, result_bytes, json_bytes;
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void *sock_new(void *ctx, int type)
{
	void *s = zmq_socket(ctx, type);
	int zero = 0;

	if (s != NULL) {
		zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
		zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof(zero));
		zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
	}
	return s;
}

/* ---- raw ROUTER/DEALER -------------------------------------------------- */

struct echo {
	void *sock;
	size_t reply_bytes, jobs;
};

/* Answer every request with a reply of the result's size. */
static void *echo_run(void *arg)
{
	struct echo *e = arg;
	char *reply = calloc(1, e->reply_bytes + 1);
	uint8_t id[256], req[65536];

	for (size_t i = 0; reply != NULL && i < e->jobs; i++) {
		int idn = zmq_recv(e->sock, id, sizeof(id), 0);

		if (idn < 0 || zmq_recv(e->sock, req, sizeof(req), 0) < 0)
			break;
		zmq_send(e->sock, id, (size_t)idn, ZMQ_SNDMORE);
		zmq_send(e->sock, reply, e->reply_bytes, 0);
	}
	free(reply);
	return NULL;
}

static int run_raw(const struct cfg *c)
{
	void *ctx = zmq_ctx_new();
	void *router = sock_new(ctx, ZMQ_ROUTER);
	void *dealer = sock_new(ctx, ZMQ_DEALER);
	char ep[EP_MAX], *req = calloc(1, c->assign_bytes + 1);
	uint8_t rep[65536];
	size_t eplen = sizeof(ep), sent = 0, got = 0;
	struct echo e = { router, c->result_bytes, c->jobs };
	pthread_t t;

	if (req == NULL || zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 ||
	    zmq_connect(dealer, ep) != 0 ||
	    pthread_create(&t, NULL, echo_run, &e) != 0) {
		fprintf(stderr, "dispatch: raw set-up failed\n");
		return 1;
	}
	double t0 = now_s();

	for (; sent < c->window && sent < c->jobs; sent++)
		zmq_send(dealer, req, c->assign_bytes, 0);
	while (got < c->jobs && zmq_recv(dealer, rep, sizeof(rep), 0) >= 0) {
		got++;
		if (sent < c->jobs && zmq_send(dealer, req, c->assign_bytes,
					       0) >= 0)
			sent++;
	}
	double dt = now_s() - t0;

	pthread_join(t, NULL);
	printf("mode=raw window=%u jobs=%zu assign_bytes=%zu "
	       "result_bytes=%zu seconds=%.3f jobs_per_s=%.0f\n",
	       c->window, got, c->assign_bytes, c->result_bytes, dt,
	       (double)got / dt);
	free(req);
	zmq_close(dealer);
	zmq_close(router);
	zmq_ctx_term(ctx);
	return got == c->jobs ? 0 : 1;
}

/* ---- broker with no-op workers ------------------------------------------ */

struct bound {
	char ep[EP_MAX];
	atomic_bool ready;
};

static void on_bound(void *ctx, const char *endpoint)
{
	struct bound *b = ctx;

	snprintf(b->ep, sizeof(b->ep), "%s", endpoint);
	atomic_store(&b->ready, true);
}

static void *broker_thread(void *arg)
{
	static int rc;

	rc = broker_run(arg);
	return &rc;
}

struct noop {
	void *ctx;
	const char *ep;
	unsigned index, window;
	size_t json_bytes;
	atomic_bool *stop;
	size_t answered;
};

/* A Dump the store accepts: content hash, format, signature hash. */
static void noop_dump(Dumpfleet__V1__Dump *dm, uint8_t hash[32],
		      uint64_t job_id, char *json)
{
	Dumpfleet__V1__Dump init = DUMPFLEET__V1__DUMP__INIT;

	*dm = init;
	memset(hash, 0, 32);
	memcpy(hash, &job_id, sizeof(job_id));
	dm->content_hash.data = hash;
	dm->content_hash.len = 32;
	dm->size = 4096;
	dm->format = (char *)"minidump";
	dm->source = (char *)"/bench/noop";
	dm->crash_type = (char *)"access-violation";
	dm->signature = (char *)"noop!bench";
	dm->signature_hash = (char *)"0123456789abcdef";
	dm->json = json;
}

static int noop_send(void *sock, wire_env *env)
{
	return wire_send(sock, NULL, env, NULL);
}

static int noop_ready(void *sock, const char *name, uint32_t credit)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__WorkerReady r = DUMPFLEET__V1__WORKER_READY__INIT;

	r.worker_id = (char *)name;
	r.credit = credit;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_READY;
	env.ready = &r;
	return noop_send(sock, &env);
}

static int noop_answer(void *sock, const Dumpfleet__V1__JobAssign *as,
		       char *json)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	Dumpfleet__V1__Dump dm;
	uint8_t hash[32];

	noop_dump(&dm, hash, as->job_id, json);
	res.job_id = as->job_id;
	res.dump = &dm;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	return noop_send(sock, &env);
}

static void *noop_run(void *arg)
{
	struct noop *n = arg;
	void *sock = sock_new(n->ctx, ZMQ_DEALER);
	char name[64], *json = malloc(n->json_bytes + 1);

	snprintf(name, sizeof(name), "bench:%u:0", n->index);
	if (sock == NULL || json == NULL || zmq_connect(sock, n->ep) != 0 ||
	    noop_ready(sock, name, n->window) != DF_OK)
		goto out;
	memset(json, 'x', n->json_bytes);
	json[n->json_bytes] = '\0';
	while (!atomic_load(n->stop)) {
		zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
		wire_env *env = NULL;

		if (zmq_poll(&it, 1, 50) <= 0)
			continue;
		if (wire_recv(sock, NULL, &env, NULL) != DF_OK)
			continue;
		if (env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN &&
		    noop_answer(sock, env->assign, json) == DF_OK &&
		    noop_ready(sock, name, 1) == DF_OK)
			n->answered++;
		wire_env_free(env);
	}
out:
	free(json);
	if (sock != NULL)
		zmq_close(sock);
	return NULL;
}

static int submit_jobs(const struct client_link *link, size_t jobs)
{
	struct pathlist l;
	size_t accepted = 0;
	struct diag d;
	int rc = DF_ENOMEM;

	memset(&l, 0, sizeof(l));
	diag_init(&d);
	l.v = calloc(jobs, sizeof(*l.v));
	for (l.n = 0; l.v != NULL && l.n < jobs; l.n++) {
		char p[64];

		snprintf(p, sizeof(p), "/bench/job-%zu.dmp", l.n);
		if ((l.v[l.n] = strdup(p)) == NULL)
			break;
	}
	if (l.v != NULL && l.n == jobs)
		rc = client_submit(link, "bench", &l, &accepted, 60000, &d);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	if (rc != DF_OK || accepted != jobs) {
		fprintf(stderr, "dispatch: submit failed: %s\n", d.msg);
		return 1;
	}
	return 0;
}

/* Wait until the broker counts every job done; seconds, or -1. */
static double wait_done(const struct client_link *link, size_t jobs,
			double t0)
{
	struct client_status st;
	struct diag d;

	for (;;) {
		diag_init(&d);
		if (client_status(link, &st, 10000, &d) != DF_OK) {
			fprintf(stderr, "dispatch: status: %s\n", d.msg);
			return -1;
		}
		if (st.done >= jobs)
			return now_s() - t0;
		if (st.failed > 0) {
			fprintf(stderr, "dispatch: %llu jobs failed\n",
				(unsigned long long)st.failed);
			return -1;
		}
		struct timespec ts = { 0, 2000000 };

		nanosleep(&ts, NULL);
	}
}

/* Packed size of a JobAssign for PATH and of the JobResult for DM. */
static void envelope_sizes(const char *path, Dumpfleet__V1__Dump *dm,
			   size_t *assign, size_t *result)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__JobAssign as = DUMPFLEET__V1__JOB_ASSIGN__INIT;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;

	env.version = DF_PROTOCOL_VERSION;
	as.job_id = 123456;
	as.path = (char *)path;
	as.archive = (char *)"";
	as.member = (char *)"";
	as.lease_ms = 600000;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN;
	env.assign = &as;
	*assign = dumpfleet__v1__envelope__get_packed_size(&env);
	res.job_id = 123456;
	res.dump = dm;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	*result = dumpfleet__v1__envelope__get_packed_size(&env);
}

/* Sizes of the messages one job of run_broker() costs on the wire. */
static void print_sizes(size_t json_bytes)
{
	Dumpfleet__V1__Dump dm;
	uint8_t hash[32];
	char *json = malloc(json_bytes + 1);
	size_t as, res;

	if (json == NULL)
		return;
	memset(json, 'x', json_bytes);
	json[json_bytes] = '\0';
	noop_dump(&dm, hash, 123456, json);
	envelope_sizes("/bench/job-123456.dmp", &dm, &as, &res);
	printf("mode=sizes json_bytes=%zu assign_bytes=%zu result_bytes=%zu\n",
	       json_bytes, as, res);
	free(json);
}

static int run_broker(const struct cfg *c)
{
	char dir[] = "/tmp/df-bench-dispatch-XXXXXX";
	struct store *st = NULL;
	struct diag d;
	void *ctx = zmq_ctx_new();
	atomic_bool stop = false, wstop = false;
	struct bound bd = { "", false };
	struct broker_opts o;
	pthread_t bt, wt[64];
	struct noop nw[64];
	int rc = 1;

	diag_init(&d);
	if (c->workers == 0 || c->workers > 64 || mkdtemp(dir) == NULL ||
	    store_open(&st, dir, false, &d) != DF_OK) {
		fprintf(stderr, "dispatch: set-up failed: %s\n", d.msg);
		return 1;
	}
	broker_opts_init(&o);
	o.endpoint = "tcp://127.0.0.1:*";
	o.zmq_ctx = ctx;
	o.store = st;
	o.stop = &stop;
	o.on_bound = on_bound;
	o.on_bound_ctx = &bd;
	if (pthread_create(&bt, NULL, broker_thread, &o) != 0)
		goto out;
	while (!atomic_load(&bd.ready)) {
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	struct client_link link = { ctx, bd.ep, NULL };

	if (submit_jobs(&link, c->jobs) != 0)
		goto stop;
	clockid_t bcpu;

	if (pthread_getcpuclockid(bt, &bcpu) != 0)
		goto stop;
	double t0 = now_s(), c0 = clock_s(bcpu);

	for (unsigned i = 0; i < c->workers; i++) {
		nw[i] = (struct noop){ ctx, bd.ep, i, c->window,
				       c->json_bytes, &wstop, 0 };
		pthread_create(&wt[i], NULL, noop_run, &nw[i]);
	}
	double dt = wait_done(&link, c->jobs, t0);
	double cpu = clock_s(bcpu) - c0;

	atomic_store(&wstop, true);
	for (unsigned i = 0; i < c->workers; i++)
		pthread_join(wt[i], NULL);
	if (dt > 0) {
		printf("mode=broker workers=%u window=%u jobs=%zu "
		       "json_bytes=%zu seconds=%.3f broker_cpu_us=%.1f "
		       "jobs_per_s=%.0f\n",
		       c->workers, c->window, c->jobs, c->json_bytes, dt,
		       cpu * 1e6 / (double)c->jobs, (double)c->jobs / dt);
		rc = 0;
	}
stop:
	atomic_store(&stop, true);
	pthread_join(bt, NULL);
out:
	store_close(&st);
	zmq_ctx_term(ctx);
	/* The store's two files; a leftover folder is only a nuisance. */
	char f[sizeof(dir) + 16];

	snprintf(f, sizeof(f), "%s/data.mdb", dir);
	remove(f);
	snprintf(f, sizeof(f), "%s/lock.mdb", dir);
	remove(f);
	remove(dir);
	return rc;
}

/* What a worker would send for each of the N FILES, analysed here. */
static int run_measure(char **files, int n)
{
	for (int i = 0; i < n; i++) {
		struct analysis *a = NULL;
		struct record_origin origin = { files[i], "bench", NULL, NULL,
						NULL };
		Dumpfleet__V1__Dump dm;
		size_t as, res;

		if (analysis_run_file(&a, files[i], NULL) != DF_OK ||
		    record_from_analysis(&dm, a, &origin) != DF_OK) {
			fprintf(stderr, "dispatch: cannot analyse %s\n",
				files[i]);
			analysis_destroy(&a);
			return 1;
		}
		envelope_sizes(files[i], &dm, &as, &res);
		printf("file=%s assign_bytes=%zu result_bytes=%zu\n",
		       files[i], as, res);
		analysis_destroy(&a);
	}
	return 0;
}

static size_t num(const char *s)
{
	return (size_t)strtoull(s, NULL, 10);
}

static int parse(struct cfg *c, int argc, char **argv)
{
	*c = (struct cfg){ NULL, 2, 1, 100000, 64, 1024, 512 };
	if (argc < 2)
		return -1;
	c->mode = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		const char *k = argv[i];
		size_t v = num(argv[i + 1]);

		if (strcmp(k, "--window") == 0)
			c->window = (unsigned)v;
		else if (strcmp(k, "--workers") == 0)
			c->workers = (unsigned)v;
		else if (strcmp(k, "--jobs") == 0)
			c->jobs = v;
		else if (strcmp(k, "--assign") == 0)
			c->assign_bytes = v;
		else if (strcmp(k, "--result") == 0)
			c->result_bytes = v;
		else if (strcmp(k, "--json") == 0)
			c->json_bytes = v;
		else
			return -1;
	}
	if (c->window == 0 || c->jobs == 0 || c->assign_bytes > 60000 ||
	    c->result_bytes > 60000 || c->json_bytes > 1000000)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct cfg c;

	hash_global_init();
	if (argc >= 3 && strcmp(argv[1], "measure") == 0)
		return run_measure(argv + 2, argc - 2);
	if (argc >= 3 && strcmp(argv[1], "submit") == 0) {
		void *ctx = zmq_ctx_new();
		struct client_link link = { ctx, argv[2], NULL };
		int rc;

		if (parse(&c, argc - 1, argv + 1) != 0)
			return 2;
		rc = submit_jobs(&link, c.jobs);
		zmq_ctx_term(ctx);
		return rc;
	}
	if (parse(&c, argc, argv) != 0) {
		fprintf(stderr, "usage: dispatch raw|broker|sizes [--window W] "
			"[--jobs N] [--workers K] [--assign B] [--result B] "
			"[--json B]\n");
		return 2;
	}
	if (strcmp(c.mode, "raw") == 0)
		return run_raw(&c);
	if (strcmp(c.mode, "broker") == 0)
		return run_broker(&c);
	if (strcmp(c.mode, "sizes") == 0) {
		print_sizes(c.json_bytes);
		return 0;
	}
	return 2;
}
