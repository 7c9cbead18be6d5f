#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "analysis.h"
#include "curve.h"
#include "df.h"
#include "diag.h"
#include "log.h"
#include "record.h"
#include "signature.h"
#include "symbols.h"
#include "wire.h"

#define WORKER_PREFETCH 1

struct slot {
	const struct worker_opts *opts;
	unsigned index;
	char name[128];
	const struct sigrules *rules;
	struct symstore *syms;    /* shared by every slot, or NULL */
	pthread_t thread;
	bool started;
};

static void *slot_connect(struct slot *s)
{
	void *sock = zmq_socket(s->opts->zmq_ctx, ZMQ_DEALER);
	int linger = 0;

	if (sock == NULL)
		return NULL;
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (s->opts->curve != NULL) {
		struct diag d;

		diag_init(&d);
		if (curve_client_apply(sock, s->opts->curve, &d) != DF_OK) {
			log_msg(LL_ERROR, "event=curve_failed err=\"%s\"",
				d.msg);
			zmq_close(sock);
			return NULL;
		}
	}
	if (zmq_connect(sock, s->opts->endpoint) != 0) {
		log_msg(LL_ERROR, "event=connect_failed endpoint=%s err=\"%s\"",
			s->opts->endpoint, zmq_strerror(zmq_errno()));
		zmq_close(sock);
		return NULL;
	}
	return sock;
}

static int send_ready(struct slot *s, void *sock, uint32_t credit)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__WorkerReady r = DUMPFLEET__V1__WORKER_READY__INIT;

	r.worker_id = s->name;
	r.credit = credit;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_READY;
	env.ready = &r;
	return wire_send(sock, NULL, &env, NULL);
}

static int send_heartbeat(void *sock)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Heartbeat hb = DUMPFLEET__V1__HEARTBEAT__INIT;

	hb.sent_ms = wire_now_ms();
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_HEARTBEAT;
	env.heartbeat = &hb;
	return wire_send(sock, NULL, &env, NULL);
}

/* Analyse one job and send its result. */
static int run_job(struct slot *s, void *sock, const Dumpfleet__V1__JobAssign *j)
{
	struct analysis *a = NULL;
	Dumpfleet__V1__Dump dump;
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	uint64_t t0 = wire_now_ms();
	int rc = analysis_run_file_with(&a, j->path, s->rules, s->syms);

	if (rc != DF_OK)
		return rc;
	struct record_origin origin = { j->path, NULL, j->archive, j->member };

	rc = record_from_analysis(&dump, a, &origin);
	if (rc == DF_OK) {
		res.job_id = j->job_id;
		res.dump = &dump;
		env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
		env.result = &res;
		rc = wire_send(sock, NULL, &env, NULL);
	}
	log_msg(LL_DEBUG, "event=job_done worker=%s job=%llu ms=%llu rc=%d",
		s->name, (unsigned long long)j->job_id,
		(unsigned long long)(wire_now_ms() - t0), rc);
	analysis_destroy(&a);
	return rc;
}

/*
 * One connection's life: announce, then serve jobs until the broker goes
 * silent (returns 1: reconnect) or we are told to stop (returns 0).
 */
static int slot_session(struct slot *s, void *sock)
{
	const struct worker_opts *o = s->opts;
	uint64_t last_heard = wire_now_ms();
	uint64_t last_sent = 0;

	/*
	 * Ask for one job more than the slot runs at once, so that the next
	 * job is already here while the broker writes results.
	 */
	if (send_ready(s, sock, 1 + WORKER_PREFETCH) != DF_OK)
		return 1;
	while (!atomic_load(o->stop)) {
		zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
		int n = zmq_poll(&item, 1, (long)o->heartbeat_ms / 2 + 1);

		if (n < 0)
			return zmq_errno() == ETERM ? 0 : 1;
		uint64_t now = wire_now_ms();

		if (n > 0) {
			wire_env *env = NULL;
			struct diag d;

			diag_init(&d);
			if (wire_recv(sock, NULL, &env, &d) == DF_EIO)
				return zmq_errno() == ETERM ? 0 : 1;
			last_heard = wire_now_ms();
			if (env != NULL &&
			    env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN) {
				run_job(s, sock, env->assign);
				send_ready(s, sock, 1);
				last_sent = wire_now_ms();
			}
			if (env != NULL &&
			    env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT) {
				char why[160];

				log_msg(LL_WARN, "event=broker_disconnect "
						 "worker=%s reason=%s",
					s->name,
					log_quote(why, sizeof(why),
						  env->disconnect->reason));
				wire_env_free(env);
				return 1;
			}
			wire_env_free(env);
			continue;
		}
		if (now - last_heard > (uint64_t)o->heartbeat_ms * o->liveness) {
			log_msg(LL_WARN, "event=broker_silent worker=%s", s->name);
			return 1;
		}
		if (now - last_sent >= o->heartbeat_ms) {
			send_heartbeat(sock);
			last_sent = now;
		}
	}
	return 0;
}

static void *slot_main(void *arg)
{
	struct slot *s = arg;
	unsigned backoff = 100;

	while (!atomic_load(s->opts->stop)) {
		void *sock = slot_connect(s);

		if (sock == NULL)
			break;
		int again = slot_session(s, sock);

		zmq_close(sock);
		if (!again)
			break;
		usleep(backoff * 1000);
		if (backoff < 4000)
			backoff *= 2;
	}
	return NULL;
}

void worker_opts_init(struct worker_opts *o)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	memset(o, 0, sizeof(*o));
	o->slots = n > 0 ? (unsigned)n : 1;
	o->heartbeat_ms = 1000;
	o->liveness = 5;
	o->name = "worker";
}

int worker_run(const struct worker_opts *o)
{
	struct sigrules *rules = sigrules_default();
	struct slot *slots = calloc(o->slots, sizeof(*slots));
	struct symstore *syms = NULL;
	unsigned started = 0;

	if (o->nsymbol_dirs > 0)
		syms = symstore_new(o->symbol_dirs, o->nsymbol_dirs);
	if (rules == NULL || slots == NULL ||
	    (o->nsymbol_dirs > 0 && syms == NULL)) {
		sigrules_destroy(&rules);
		symstore_destroy(&syms);
		free(slots);
		return DF_ENOMEM;
	}
	log_msg(LL_INFO, "event=worker_started worker=%s slots=%u endpoint=%s "
			 "curve=%s",
		o->name, o->slots, o->endpoint, o->curve != NULL ? "on" : "off");
	for (unsigned i = 0; i < o->slots; i++) {
		struct slot *s = &slots[i];

		s->opts = o;
		s->index = i;
		s->rules = rules;
		s->syms = syms;
		snprintf(s->name, sizeof(s->name), "%s:%u", o->name, i);
		if (pthread_create(&s->thread, NULL, slot_main, s) == 0) {
			s->started = true;
			started++;
		}
	}
	for (unsigned i = 0; i < o->slots; i++)
		if (slots[i].started)
			pthread_join(slots[i].thread, NULL);
	log_msg(LL_INFO, "event=worker_stopped worker=%s", o->name);
	free(slots);
	sigrules_destroy(&rules);
	symstore_destroy(&syms);
	return started > 0 ? DF_OK : DF_ENOMEM;
}
