#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "analysis.h"
#include "curve.h"
#include "df.h"
#include "diag.h"
#include "fault.h"
#include "fetch.h"
#include "hash.h"
#include "kdump.h"
#include "log.h"
#include "mapfile.h"
#include "model.h"
#include "reader.h"
#include "record.h"
#include "sandbox.h"
#include "signature.h"
#include "symbols.h"
#include "wire.h"

#define WORKER_PREFETCH 1
#define WORKER_MAX_HELD 64  /* the broker's cap on one connection's credit */
#define WORKER_DRAIN_LINGER_MS 2000 /* for the last result and Disconnect */
/*
 * Kernel dumps at least this big are fetched range by range, as their
 * reader reads them; smaller files whole (a few round trips at most).
 */
#define WORKER_RANGE_MIN ((uint64_t)64 << 20)

struct session {
	uint64_t last_heard;
	uint64_t last_sent;
};

struct slot {
	const struct worker_opts *opts;
	unsigned index;
	char name[128];
	const struct sigrules *rules;
	struct symstore *syms;    /* shared by every slot, or NULL */
	struct sandbox *sb;       /* NULL with no_sandbox */
	const char *fault;        /* test builds: fault.h */
	/* Jobs assigned and not yet answered; held[0] runs when busy. */
	wire_env *held[WORKER_MAX_HELD];
	size_t nheld;
	uint64_t job_t0;          /* when held[0] started */
	bool noted_filter;        /* logged that seccomp is unavailable */
	/* Without a shared filesystem (opts->fetch_endpoint). */
	struct fetch *fetch;      /* made at the first fetch */
	char cache[PATH_MAX];     /* held[0]'s cache file, when cached */
	bool cached;
	struct fetch_cache *range; /* held[0] fetched range by range */
	uint64_t range_size;
	void *sock;               /* the session's socket, for the tick */
	struct session *ss;
	bool tick_bye;            /* the broker said goodbye during a fetch */
	pthread_t thread;
	bool started;
};

static void *slot_connect(struct slot *s)
{
	void *sock = zmq_socket(s->opts->zmq_ctx, ZMQ_DEALER);
	int linger = 0;
	/*
	 * A DEALER with no admitted connection (a refused key, a broker
	 * gone) blocks on send; a slot must go on heartbeating, noticing
	 * silence and stopping, so a send gives up after a heartbeat.
	 */
	int sndtimeo = (int)s->opts->heartbeat_ms;

	if (sock == NULL)
		return NULL;
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
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

static int send_disconnect(void *sock, const char *why)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__Disconnect dc = DUMPFLEET__V1__DISCONNECT__INIT;

	dc.reason = (char *)why;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT;
	env.disconnect = &dc;
	return wire_send(sock, NULL, &env, NULL);
}

static int send_result(void *sock, uint64_t job_id, Dumpfleet__V1__Dump *dump,
		       bool retry)
{
	Dumpfleet__V1__JobResult res = DUMPFLEET__V1__JOB_RESULT__INIT;
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;

	res.job_id = job_id;
	res.dump = dump;
	res.retry = retry;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RESULT;
	env.result = &res;
	return wire_send(sock, NULL, &env, NULL);
}

/*
 * The content hash JobAssign J names, when the file at PATH can be that
 * content: a regular file of the size the job gives. Otherwise NULL, and
 * the analysis hashes what it finds (jobs of older clients have none).
 */
static const uint8_t *job_hash(const Dumpfleet__V1__JobAssign *j,
			       const char *path)
{
	struct stat st;

	if (j->content_hash.len != HASH_LEN || stat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != j->size)
		return NULL;
	return j->content_hash.data;
}

static void log_done(const struct slot *s, uint64_t job_id, int rc)
{
	log_msg(LL_DEBUG, "event=job_done worker=%s job=%llu ms=%llu rc=%d",
		s->name, (unsigned long long)job_id,
		(unsigned long long)(wire_now_ms() - s->job_t0), rc);
}

/*
 * Range mode: log what was fetched and, when a fetch failed during the
 * analysis, the reason (REASON, LEN bytes); true then.
 */
static bool range_failed(struct slot *s, char *reason, size_t len)
{
	if (s->range == NULL)
		return false;
	const char *err = fetch_cache_error(s->range);
	const Dumpfleet__V1__JobAssign *j = s->held[0]->assign;

	log_msg(err[0] ? LL_WARN : LL_INFO,
		"event=fetched worker=%s job=%llu mode=range size=%llu "
		"bytes=%llu ms=%llu ok=%d", s->name,
		(unsigned long long)j->job_id,
		(unsigned long long)s->range_size,
		(unsigned long long)fetch_cache_bytes(s->range),
		(unsigned long long)(wire_now_ms() - s->job_t0), !err[0]);
	if (!err[0])
		return false;
	int n = snprintf(reason, len, "content fetch failed: %s", err);

	/* A long reason is cut, never overrun. */
	if (n < 0 && len > 0)
		reason[0] = '\0';
	return true;
}

static int range_ensure(void *ctx, uint64_t off, uint64_t n);

/* Without a sandbox: map the sparse cache file and read through it. */
static int run_ranges_here(struct slot *s, struct analysis **a,
			   const char *path, const uint8_t *hash)
{
	struct reader_src src = { range_ensure, s };
	struct mapfile m;
	struct diag d;

	diag_init(&d);
	if (mapfile_open(&m, path, &d) != DF_OK) {
		*a = analysis_new();
		if (*a == NULL)
			return DF_ENOMEM;
		model_add_error(*a, d.code, false, 0, "%s", d.msg);
		return DF_OK;
	}
	int rc = analysis_run_src(a, m.data, m.len, s->rules, s->syms, hash,
				  &src);

	mapfile_close(&m);
	return rc;
}

/* A failed result marked retry for J (the caller pops it). */
static int give_up_now(struct slot *s, void *sock,
		       const Dumpfleet__V1__JobAssign *j, const char *reason)
{
	Dumpfleet__V1__Dump f = DUMPFLEET__V1__DUMP__INIT;

	log_msg(LL_WARN, "event=job_failed worker=%s job=%llu reason=\"%s\"",
		s->name, (unsigned long long)j->job_id, reason);
	f.source = j->path;
	f.failure = (char *)reason;
	return send_result(sock, j->job_id, &f, true);
}

/*
 * Analyse one job in this thread (no_sandbox) and send its result: the
 * file at PATH (J's own or a fetched copy) whose hash is HASH (or NULL).
 */
static int run_job_here(struct slot *s, void *sock,
			const Dumpfleet__V1__JobAssign *j, const char *path,
			const uint8_t *hash)
{
	struct analysis *a = NULL;
	Dumpfleet__V1__Dump dump;

	fault_prepare(s->fault, j->path);
	fault_strike(s->fault, j->path);
	int rc = s->range != NULL
			 ? run_ranges_here(s, &a, path, hash)
			 : analysis_run_file_known(&a, path, s->rules, s->syms,
						   hash);
	char why[SANDBOX_MAX_REASON];

	if (rc == DF_OK && range_failed(s, why, sizeof(why))) {
		analysis_destroy(&a);
		return give_up_now(s, sock, j, why);
	}
	if (rc != DF_OK)
		return rc;
	struct record_origin origin = { j->path, NULL, j->archive, j->member,
					hash };

	rc = record_from_analysis(&dump, a, &origin);
	if (rc == DF_OK)
		rc = send_result(sock, j->job_id, &dump, false);
	log_done(s, j->job_id, rc);
	analysis_destroy(&a);
	return rc;
}

/*
 * The child of held[0] ended: send its result, or a failure that the
 * broker counts as an attempt. A malformed result is no data error the
 * dump caused for certain, but retrying it would give the same bytes.
 */
static int finish_job(struct slot *s, void *sock)
{
	const Dumpfleet__V1__JobAssign *j = s->held[0]->assign;
	Dumpfleet__V1__Dump *dump = NULL;
	char reason[SANDBOX_MAX_REASON];
	int rc = sandbox_finish(s->sb, &dump, reason, sizeof(reason));

	if (sandbox_filter_skipped(s->sb) && !s->noted_filter) {
		s->noted_filter = true;
		log_msg(LL_WARN, "event=seccomp_unavailable worker=%s "
			"note=\"the kernel refused the filter: dumps are "
			"parsed under resource limits only\"", s->name);
	}
	/* The reader missed bytes it asked for: not the dump's doing. */
	if (rc == DF_OK && range_failed(s, reason, sizeof(reason))) {
		sandbox_dump_free(dump);
		rc = DF_EIO;
	}
	if (rc == DF_OK) {
		rc = send_result(sock, j->job_id, dump, false);
		sandbox_dump_free(dump);
	} else {
		Dumpfleet__V1__Dump f = DUMPFLEET__V1__DUMP__INIT;

		log_msg(LL_WARN, "event=job_failed worker=%s job=%llu "
			"reason=\"%s\"", s->name, (unsigned long long)j->job_id,
			reason);
		f.source = j->path;
		f.failure = reason;
		rc = send_result(sock, j->job_id, &f, rc != DF_EPROTO);
	}
	log_done(s, j->job_id, rc);
	return rc;
}

/* The running job's cache file is not needed once it is answered. */
static void cache_drop(struct slot *s)
{
	fetch_cache_close(&s->range);
	if (s->cached)
		unlink(s->cache);
	s->cached = false;
}

static void held_pop(struct slot *s)
{
	cache_drop(s);
	wire_env_free(s->held[0]);
	memmove(s->held, s->held + 1, (s->nheld - 1) * sizeof(*s->held));
	s->nheld--;
}

/* Forget every held job (the broker gives them out again). */
static void held_clear(struct slot *s)
{
	if (s->sb != NULL && sandbox_busy(s->sb)) {
		Dumpfleet__V1__Dump *dump = NULL;
		char reason[SANDBOX_MAX_REASON];

		sandbox_cancel(s->sb);
		sandbox_finish(s->sb, &dump, reason, sizeof(reason));
		sandbox_dump_free(dump);
	}
	while (s->nheld > 0)
		held_pop(s);
}

/* A message from the broker. Returns 1 when the session must end. */
static int on_message(struct slot *s, wire_env *env)
{
	if (env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_ASSIGN &&
	    s->nheld < WORKER_MAX_HELD) {
		s->held[s->nheld++] = env;
		return 0;
	}
	bool bye = env->body_case == DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT;

	if (bye) {
		char why[160];

		log_msg(LL_WARN, "event=broker_disconnect worker=%s reason=%s",
			s->name,
			log_quote(why, sizeof(why), env->disconnect->reason));
	}
	wire_env_free(env);
	return bye;
}

/* Held[0] could not be analysed here, through no fault of its data. */
static int give_up_job(struct slot *s, void *sock, const char *reason)
{
	const Dumpfleet__V1__JobAssign *j = s->held[0]->assign;
	Dumpfleet__V1__Dump f = DUMPFLEET__V1__DUMP__INIT;

	f.source = j->path;
	f.failure = (char *)reason;
	int rc = send_result(sock, j->job_id, &f, true);

	log_done(s, j->job_id, rc);
	held_pop(s);
	return rc == DF_OK ? send_ready(s, sock, 1) : rc;
}

/*
 * While a fetch waits: read the broker (jobs, heartbeats, a goodbye) and
 * heartbeat, as session_poll() does. Nonzero abandons the fetch.
 */
static int fetch_tick(void *ctx)
{
	struct slot *s = ctx;
	const struct worker_opts *o = s->opts;
	zmq_pollitem_t it = { s->sock, 0, ZMQ_POLLIN, 0 };
	uint64_t now = wire_now_ms();

	while (!s->tick_bye && zmq_poll(&it, 1, 0) > 0) {
		wire_env *env = NULL;
		struct diag d;

		diag_init(&d);
		if (wire_recv(s->sock, NULL, &env, &d) == DF_EIO)
			return 1;
		s->ss->last_heard = now;
		if (env != NULL && on_message(s, env))
			s->tick_bye = true;
	}
	if (now - s->ss->last_sent >= o->heartbeat_ms) {
		send_heartbeat(s->sock);
		s->ss->last_sent = now;
	}
	return s->tick_bye ||
	       now - s->ss->last_heard > (uint64_t)o->heartbeat_ms * o->liveness;
}

/*
 * Whether held[0]'s file must come from the broker: always with
 * fetch_always, else when the path here is not the job's file.
 */
static bool needs_fetch(const struct slot *s,
			const Dumpfleet__V1__JobAssign *j)
{
	struct stat st;

	if (s->opts->fetch_endpoint == NULL)
		return false;
	if (s->opts->fetch_always)
		return true;
	if (stat(j->path, &st) != 0 || !S_ISREG(st.st_mode))
		return true;
	return j->content_hash.len == HASH_LEN &&
	       (uint64_t)st.st_size != j->size;
}

/* The cache file of job ID: named from the job and this slot only. */
static int cache_name(struct slot *s, uint64_t id, struct diag *d)
{
	const char *dir = s->opts->fetch_dir;
	const char *tmp = getenv("TMPDIR");

	if (dir == NULL)
		dir = tmp != NULL && tmp[0] == '/' ? tmp : "/tmp";
	int n = snprintf(s->cache, sizeof(s->cache),
			 "%s/dumpfleet-fetch-%ld.%u-job-%llu", dir,
			 (long)getpid(), s->index, (unsigned long long)id);

	if (n < 0 || (size_t)n >= sizeof(s->cache))
		return diag_fail(d, DF_ELIMIT, "--fetch-dir is too long");
	return DF_OK;
}

/* Fetch held[0]'s file into its cache file; the hash is checked. */
/* A page of the dump, for the kernel dump reader: from the broker. */
static int range_ensure(void *ctx, uint64_t off, uint64_t n)
{
	struct slot *s = ctx;

	return fetch_cache_ensure(s->range, off, n);
}

/*
 * Range mode for held[0] when it is a big kernel dump with a known hash:
 * its first chunk is fetched into a sparse cache file, the rest as the
 * reader asks. DF_OK (s->range set), DF_ENOTFOUND when the job is not one
 * for range mode (nothing kept), DF_EIO when the fetch failed.
 */
static int try_ranges(struct slot *s, struct diag *d)
{
	const Dumpfleet__V1__JobAssign *j = s->held[0]->assign;
	uint8_t sig[8];

	if (j->content_hash.len != HASH_LEN || j->size < WORKER_RANGE_MIN)
		return DF_ENOTFOUND;
	if (fetch_cache_open(&s->range, s->fetch, j->job_id, j->size,
			     s->cache, d) != DF_OK)
		return DF_EIO;
	s->cached = true;
	s->range_size = j->size;
	int fd = -1;
	bool kernel = fetch_cache_ensure(s->range, 0,
					 fetch_cache_chunk(s->range)) == DF_OK &&
		      (fd = open(s->cache, O_RDONLY | O_CLOEXEC)) >= 0 &&
		      pread(fd, sig, sizeof(sig), 0) == (ssize_t)sizeof(sig) &&
		      kdump_probe(sig, sizeof(sig));

	if (fd >= 0)
		close(fd);
	if (kernel)
		return DF_OK;
	int rc = fetch_cache_error(s->range)[0]
			 ? diag_fail(d, DF_EIO, "%s", fetch_cache_error(s->range))
			 : DF_ENOTFOUND;

	cache_drop(s);
	return rc;
}

static int fetch_job(struct slot *s, void *sock, struct session *ss,
		     struct diag *d)
{
	const Dumpfleet__V1__JobAssign *j = s->held[0]->assign;
	const struct worker_opts *o = s->opts;

	if (s->fetch == NULL) {
		struct fetch_opts fo;

		fetch_opts_init(&fo);
		fo.zmq_ctx = o->zmq_ctx;
		fo.endpoint = o->fetch_endpoint;
		fo.curve = o->curve;
		if (o->fetch_timeout_ms != 0)
			fo.timeout_ms = o->fetch_timeout_ms;
		if (fetch_new(&s->fetch, &fo, d) != DF_OK)
			return DF_EIO;
	}
	if (cache_name(s, j->job_id, d) != DF_OK)
		return DF_EIO;
	struct fetch_stats before, after;
	const uint8_t *hash =
		j->content_hash.len == HASH_LEN ? j->content_hash.data : NULL;

	s->sock = sock;
	s->ss = ss;
	s->tick_bye = false;
	fetch_set_tick(s->fetch, fetch_tick, s);
	int rc = try_ranges(s, d);

	if (rc != DF_ENOTFOUND)
		return rc;
	fetch_get_stats(s->fetch, &before);
	s->cached = true;
	rc = fetch_file(s->fetch, j->job_id, hash != NULL ? j->size : 0,
			    hash, s->cache, d);

	fetch_get_stats(s->fetch, &after);
	s->cached = rc == DF_OK;
	struct stat st;
	uint64_t size = rc == DF_OK && stat(s->cache, &st) == 0
				? (uint64_t)st.st_size
				: j->size;

	log_msg(rc == DF_OK ? LL_INFO : LL_WARN,
		"event=fetched worker=%s job=%llu mode=whole size=%llu "
		"bytes=%llu requests=%llu ms=%llu ok=%d", s->name,
		(unsigned long long)j->job_id, (unsigned long long)size,
		(unsigned long long)(after.bytes - before.bytes),
		(unsigned long long)(after.requests - before.requests),
		(unsigned long long)(wire_now_ms() - s->job_t0), rc == DF_OK);
	return rc;
}

/*
 * Start the next held job. In a sandbox it runs while the slot polls;
 * without one it runs here, and is answered, before this returns.
 */
static int start_job(struct slot *s, void *sock, struct session *ss)
{
	const Dumpfleet__V1__JobAssign *j = s->held[0]->assign;
	const char *path = j->path;
	const uint8_t *hash = NULL;
	struct diag d;

	diag_init(&d);
	s->job_t0 = wire_now_ms();
	if (needs_fetch(s, j)) {
		if (fetch_job(s, sock, ss, &d) != DF_OK) {
			char why[SANDBOX_MAX_REASON];

			int n = snprintf(why, sizeof(why),
					 "content fetch failed: %s", d.msg);

			/* A long reason is cut, never overrun. */
			if (n < 0)
				why[0] = '\0';
			return give_up_job(s, sock, why);
		}
		path = s->cache;
		if (j->content_hash.len == HASH_LEN)
			hash = j->content_hash.data;
	} else {
		hash = job_hash(j, path);
	}
	if (s->sb == NULL) {
		int rc = run_job_here(s, sock, j, path, hash);

		held_pop(s);
		return rc == DF_OK ? send_ready(s, sock, 1) : rc;
	}
	struct record_origin origin = { j->path, NULL, j->archive, j->member,
					hash };

	struct sandbox_fill fill = { range_ensure, s,
				     s->range ? fetch_cache_chunk(s->range) : 0,
				     s->range_size };

	if (sandbox_start_ranges(s->sb, path, &origin,
				 s->range != NULL ? &fill : NULL, &d) == DF_OK)
		return DF_OK;
	/* No child (fork failed): let another worker try the job. */
	log_msg(LL_ERROR, "event=sandbox_failed worker=%s err=\"%s\"", s->name,
		d.msg);
	return give_up_job(s, sock, d.msg);
}

/* Wait for the socket or the child; returns 1 to reconnect, -1 to end. */
static int session_poll(struct slot *s, void *sock, struct session *ss)
{
	const struct worker_opts *o = s->opts;
	bool busy = s->sb != NULL && sandbox_busy(s->sb);
	int fill = busy ? sandbox_fill_fd(s->sb) : -1;
	/* The child's pipe may be gone (-1, skipped) while its asks are not. */
	zmq_pollitem_t items[3] = { { sock, 0, ZMQ_POLLIN, 0 },
				    { NULL, busy ? sandbox_fd(s->sb) : -1,
				      ZMQ_POLLIN, 0 },
				    { NULL, fill, ZMQ_POLLIN, 0 } };
	long wait = (long)o->heartbeat_ms / 2 + 1;

	if (busy && sandbox_wait_ms(s->sb) < wait)
		wait = sandbox_wait_ms(s->sb);
	int n = zmq_poll(items, fill >= 0 ? 3 : items[1].fd >= 0 ? 2 : 1,
			 wait);

	if (n < 0 && zmq_errno() == ETERM)
		return -1;
	if (n > 0 && fill >= 0 && (items[2].revents & ZMQ_POLLIN)) {
		s->ss = ss;
		sandbox_serve_fill(s->sb);
		if (s->tick_bye)
			return 1;
	}
	if (n > 0 && (items[0].revents & ZMQ_POLLIN)) {
		wire_env *env = NULL;
		struct diag d;

		diag_init(&d);
		if (wire_recv(sock, NULL, &env, &d) == DF_EIO)
			return zmq_errno() == ETERM ? -1 : 0;
		ss->last_heard = wire_now_ms();
		if (env != NULL && on_message(s, env))
			return 1;
	}
	if (busy && sandbox_pump(s->sb)) {
		int rc = finish_job(s, sock);

		held_pop(s);
		if (rc == DF_OK)
			rc = send_ready(s, sock, 1);
		ss->last_sent = wire_now_ms();
		if (rc != DF_OK)
			return zmq_errno() == ETERM ? -1 : 1;
	}
	return 0;
}

/* Stopping: no new job; the running one finishes; the rest go back. */
static bool drain_done(struct slot *s, void *sock)
{
	int linger = WORKER_DRAIN_LINGER_MS;

	if (s->sb != NULL && sandbox_busy(s->sb))
		return false;
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	send_disconnect(sock, "draining");
	log_msg(LL_INFO, "event=drained worker=%s returned=%zu", s->name,
		s->nheld);
	return true;
}

/*
 * One connection's life: announce, then serve jobs until the broker goes
 * silent (returns 1: reconnect) or we are told to stop (returns 0).
 */
static int slot_session(struct slot *s, void *sock)
{
	const struct worker_opts *o = s->opts;
	struct session ss = { wire_now_ms(), 0 };

	/*
	 * Ask for one job more than the slot runs at once, so that the next
	 * job is already here while the broker writes results.
	 */
	if (send_ready(s, sock, 1 + WORKER_PREFETCH) != DF_OK)
		return 1;
	for (;;) {
		bool stopping = atomic_load(o->stop);

		if (stopping && drain_done(s, sock))
			return 0;
		bool busy = s->sb != NULL && sandbox_busy(s->sb);

		if (!stopping && !busy && s->nheld > 0) {
			if (start_job(s, sock, &ss) != DF_OK)
				return zmq_errno() == ETERM ? 0 : 1;
			if (s->tick_bye)
				return 1;
			ss.last_sent = wire_now_ms();
			continue;
		}
		int r = session_poll(s, sock, &ss);

		if (r != 0)
			return r > 0;
		uint64_t now = wire_now_ms();

		uint64_t silence = (uint64_t)o->heartbeat_ms * o->liveness;

		if (now - ss.last_heard > silence) {
			log_msg(LL_WARN, "event=broker_silent worker=%s",
				s->name);
			return 1;
		}
		if (now - ss.last_sent >= o->heartbeat_ms) {
			send_heartbeat(sock);
			ss.last_sent = now;
		}
	}
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

		/* A new connection gets its jobs anew. */
		held_clear(s);
		zmq_close(sock);
		s->sock = NULL;
		if (!again)
			break;
		usleep(backoff * 1000);
		if (backoff < 4000)
			backoff *= 2;
	}
	fetch_destroy(&s->fetch);
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
	o->timeout_s = SANDBOX_DEFAULT_TIMEOUT_S;
	o->memory_mb = 4096;
}

/* The fault switch's setting: in test builds only (fault.h). */
static const char *test_fault(void)
{
#ifdef DF_TEST_FAULTS
	return getenv("DUMPFLEET_TEST_FAULT");
#else
	return NULL;
#endif
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

	struct sandbox_opts so;

	sandbox_opts_init(&so);
	so.timeout_s = o->timeout_s;
	so.memory_mb = o->memory_mb;
	so.rules = rules;
	so.syms = syms;
	so.fault = test_fault();
	for (unsigned i = 0; i < o->slots; i++) {
		struct slot *s = &slots[i];

		s->opts = o;
		s->index = i;
		s->rules = rules;
		s->syms = syms;
		s->fault = so.fault;
		snprintf(s->name, sizeof(s->name), "%s:%u", o->name, i);
		if (!o->no_sandbox && sandbox_new(&s->sb, &so) != DF_OK)
			continue;
		if (pthread_create(&s->thread, NULL, slot_main, s) == 0) {
			s->started = true;
			started++;
		}
	}
	for (unsigned i = 0; i < o->slots; i++) {
		if (slots[i].started)
			pthread_join(slots[i].thread, NULL);
		sandbox_destroy(&slots[i].sb);
	}
	log_msg(LL_INFO, "event=worker_stopped worker=%s", o->name);
	free(slots);
	sigrules_destroy(&rules);
	symstore_destroy(&syms);
	return started > 0 ? DF_OK : DF_ENOMEM;
}
