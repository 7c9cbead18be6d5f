#include "client.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "df.h"
#include "diag.h"
#include "ingest.h"
#include "wire.h"

static char *dup_opt(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int pathlist_grow(struct pathlist *l)
{
	size_t ncap = l->cap ? l->cap * 2 : 64;
	char **nv = realloc(l->v, ncap * sizeof(*nv));

	if (nv == NULL)
		return DF_ENOMEM;
	l->v = nv;
	nv = realloc(l->archive, ncap * sizeof(*nv));
	if (nv == NULL)
		return DF_ENOMEM;
	l->archive = nv;
	nv = realloc(l->member, ncap * sizeof(*nv));
	if (nv == NULL)
		return DF_ENOMEM;
	l->member = nv;
	struct pathlist_content *nc =
		realloc(l->content, ncap * sizeof(*nc));

	if (nc == NULL)
		return DF_ENOMEM;
	l->content = nc;
	l->cap = ncap;
	return DF_OK;
}

static int pathlist_add_from(struct pathlist *l, const char *p,
			     const char *archive, const char *member,
			     const uint8_t *hash, uint64_t size)
{
	if (l->n >= CLIENT_MAX_FILES)
		return DF_ELIMIT;
	if (l->n == l->cap && pathlist_grow(l) != DF_OK)
		return DF_ENOMEM;
	l->v[l->n] = strdup(p);
	l->archive[l->n] = dup_opt(archive);
	l->member[l->n] = dup_opt(member);
	if (l->v[l->n] == NULL || (archive && !l->archive[l->n]) ||
	    (member && !l->member[l->n])) {
		free(l->v[l->n]);
		free(l->archive[l->n]);
		free(l->member[l->n]);
		return DF_ENOMEM;
	}
	l->content[l->n].known = hash != NULL;
	if (hash != NULL)
		memcpy(l->content[l->n].hash, hash, HASH_LEN);
	l->content[l->n].size = hash != NULL ? size : 0;
	l->n++;
	return DF_OK;
}

static int pathlist_add(struct pathlist *l, const char *p)
{
	return pathlist_add_from(l, p, NULL, NULL, NULL, 0);
}

void pathlist_release(struct pathlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i]);
		free(l->archive[i]);
		free(l->member[i]);
	}
	free(l->v);
	free(l->archive);
	free(l->member);
	free(l->content);
	memset(l, 0, sizeof(*l));
}

#define CLIENT_MAX_DEPTH 64

/* Add regular files under PATH (not following links) to L, except SKIP. */
static int walk(struct pathlist *l, const char *path, const char *skip,
		int depth, struct diag *d)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return diag_fail(d, DF_EIO, "cannot read '%s': %s", path,
				 strerror(errno));
	if (S_ISREG(st.st_mode))
		return pathlist_add(l, path);
	if (!S_ISDIR(st.st_mode) || depth >= CLIENT_MAX_DEPTH ||
	    (skip != NULL && strcmp(path, skip) == 0))
		return DF_OK;
	DIR *dir = opendir(path);

	if (dir == NULL)
		return diag_fail(d, DF_EIO, "cannot open '%s': %s", path,
				 strerror(errno));
	struct dirent *e;
	int rc = DF_OK;

	while (rc == DF_OK && (e = readdir(dir)) != NULL) {
		char sub[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     e->d_name) >= sizeof(sub))
			continue;
		rc = walk(l, sub, skip, depth + 1, d);
	}
	closedir(dir);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Add the plain file P with its content hash. A file that cannot be read
 * now is still submitted, without a hash: the worker reports it as it
 * always did.
 */
static int pathlist_add_hashed(struct pathlist *l, const char *p)
{
	uint8_t hash[HASH_LEN];
	uint64_t size = 0;

	if (hash_file(p, hash, &size) != DF_OK)
		return pathlist_add(l, p);
	return pathlist_add_from(l, p, NULL, NULL, hash, size);
}

struct collect_sink {
	struct pathlist *l;
	const struct client_collect_opts *o;
};

static int on_item(void *ctx, const struct ingest_item *it)
{
	struct collect_sink *cs = ctx;

	if (it->hash != NULL || !cs->o->hash_plain)
		return pathlist_add_from(cs->l, it->path, it->archive,
					 it->member, it->hash, it->size);
	return pathlist_add_hashed(cs->l, it->path);
}

static void on_problem(void *ctx, const struct ingest_problem *p)
{
	struct collect_sink *cs = ctx;

	cs->l->problems++;
	if (cs->o->problem != NULL)
		cs->o->problem(cs->o->ctx, p);
}

/* Pass each file of FILES through the ingest into L. */
static int expand_files(struct pathlist *l, const struct pathlist *files,
			const struct client_collect_opts *o, struct diag *d)
{
	struct collect_sink cs = { l, o };
	struct ingest_sink sink = { on_item, on_problem, &cs };
	struct ingest *g = NULL;
	int rc = ingest_new(&g, o->spool_dir, o->limits, &sink, d);

	for (size_t i = 0; rc == DF_OK && i < files->n; i++)
		rc = ingest_file(g, files->v[i], d);
	/* One flush for every archive: nothing is submitted before it. */
	if (rc == DF_OK)
		rc = ingest_sync(g, d);
	ingest_destroy(&g);
	return rc;
}

int client_collect(struct pathlist *l, char *const *roots, size_t n,
		   const struct client_collect_opts *o, struct diag *d)
{
	struct pathlist files = { 0 };
	char spool[PATH_MAX];
	const char *skip = NULL;
	bool expand = o != NULL && o->spool_dir != NULL;

	/* Objects in a spool under a root are not new inputs. */
	if (expand && realpath(o->spool_dir, spool) != NULL)
		skip = spool;
	for (size_t i = 0; i < n; i++) {
		char abs[PATH_MAX];
		int rc;

		if (realpath(roots[i], abs) == NULL)
			rc = diag_fail(d, DF_EIO, "cannot read '%s': %s",
				       roots[i], strerror(errno));
		else
			rc = walk(&files, abs, skip, 0, d);
		if (rc != DF_OK) {
			pathlist_release(&files);
			return diag_fail(d, rc, "cannot collect '%s'", roots[i]);
		}
	}
	qsort(files.v, files.n, sizeof(*files.v), cmp_str);
	int rc = DF_OK;

	if (expand) {
		rc = expand_files(l, &files, o, d);
	} else {
		for (size_t i = 0; rc == DF_OK && i < files.n; i++)
			rc = o != NULL && o->hash_plain
				     ? pathlist_add_hashed(l, files.v[i])
				     : pathlist_add(l, files.v[i]);
	}
	pathlist_release(&files);
	return rc;
}

/* A connection to the broker and, with CURVE, its handshake monitor. */
struct conn {
	void *s;
	void *mon;  /* PAIR receiving handshake events, or NULL */
	bool up;    /* a security handshake succeeded */
	unsigned early_closes; /* connections closed before that */
};

/*
 * A broker that wants CURVE from a client without keys may close the
 * connection before the client has read its greeting: no handshake
 * failure is reported then, only closed connections. This many in a row
 * with no handshake done are taken as a refusal.
 */
#define CLIENT_EARLY_CLOSES 3

/*
 * Watch the handshakes of S: a broker that refuses our key (ZAP) or our
 * security mechanism says so at once, which a client should not have to
 * learn from a timeout.
 */
static void watch_handshakes(const struct client_link *link, struct conn *c)
{
	char ep[96];
	int linger = 0;
	struct timespec ts;

	/*
	 * A name of its own: a connection closed and another opened at the
	 * same address would find the old monitor's name still bound a
	 * moment, and go without a monitor.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(ep, sizeof(ep), "inproc://dumpfleet-client-%p-%llx-%lx",
		 (void *)c, (unsigned long long)ts.tv_sec, (long)ts.tv_nsec);
	if (zmq_socket_monitor(c->s, ep,
			       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
				       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				       ZMQ_EVENT_DISCONNECTED) != 0)
		return;
	c->mon = zmq_socket(link->ctx, ZMQ_PAIR);
	if (c->mon != NULL) {
		zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof(linger));
		if (zmq_connect(c->mon, ep) == 0)
			return;
		zmq_close(c->mon);
		c->mon = NULL;
	}
	zmq_socket_monitor(c->s, NULL, 0);
}

static void conn_close(struct conn *c)
{
	if (c->mon != NULL) {
		zmq_socket_monitor(c->s, NULL, 0);
		zmq_close(c->mon);
	}
	zmq_close(c->s);
}

/* Connect C to LINK; returns C->s, or NULL with D filled. */
static void *conn_open(const struct client_link *link, struct conn *c,
		       struct diag *d)
{
	int linger = 0;
	/*
	 * A DEALER whose inproc broker has gone blocks in send for ever; over
	 * tcp a send only queues. Either way a second is plenty.
	 */
	int sndtimeo = 1000;

	c->mon = NULL;
	c->up = false;
	c->early_closes = 0;
	c->s = zmq_socket(link->ctx, ZMQ_DEALER);
	if (c->s == NULL) {
		diag_fail(d, DF_EIO, "socket: %s", zmq_strerror(zmq_errno()));
		return NULL;
	}
	zmq_setsockopt(c->s, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(c->s, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo));
	if (link->curve != NULL &&
	    curve_client_apply(c->s, link->curve, d) != DF_OK) {
		zmq_close(c->s);
		return NULL;
	}
	/* inproc peers share our process: nothing to learn there. */
	if (strncmp(link->endpoint, "inproc://", 9) != 0)
		watch_handshakes(link, c);
	if (zmq_connect(c->s, link->endpoint) != 0) {
		diag_fail(d, DF_EIO, "cannot connect to %s: %s", link->endpoint,
			  zmq_strerror(zmq_errno()));
		conn_close(c);
		return NULL;
	}
	return c->s;
}

/* Read one monitor event; DF_EIO naming a failed handshake. */
static int handshake_failed(struct conn *c, struct diag *d)
{
	uint8_t ev[6];
	uint16_t event;
	uint32_t value;
	int n = zmq_recv(c->mon, ev, sizeof(ev), 0);
	int more = 1;
	size_t sz = sizeof(more);

	/* The second frame names the endpoint: not needed. */
	while (zmq_getsockopt(c->mon, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		char junk[256];

		if (zmq_recv(c->mon, junk, sizeof(junk), 0) < 0)
			break;
	}
	if (n < (int)sizeof(ev))
		return DF_OK;
	memcpy(&event, ev, 2);
	memcpy(&value, ev + 2, 4);
	if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		c->up = true;
		return DF_OK;
	}
	if (event == ZMQ_EVENT_DISCONNECTED) {
		if (c->up || ++c->early_closes < CLIENT_EARLY_CLOSES)
			return DF_OK;
		return diag_fail(d, DF_EIO,
				 "the broker closed the connection during the "
				 "security handshake %u times: CURVE keys "
				 "missing or not the broker's",
				 c->early_closes);
	}
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		return diag_fail(d, DF_EIO,
				 "the broker refused this CURVE key (ZAP %u)",
				 value);
	return diag_fail(d, DF_EIO,
			 "security handshake with the broker failed: "
			 "CURVE keys missing or not the broker's");
}

/*
 * Send ENV on C. A send that cannot go out (the broker refused the
 * handshake before the message was queued, so no connection takes it) is
 * reported by the handshake's failure when the monitor saw one.
 */
static int conn_send(struct conn *c, wire_env *env, struct diag *d)
{
	struct diag sent;

	diag_init(&sent);
	if (wire_send(c->s, NULL, env, &sent) == DF_OK)
		return DF_OK;
	zmq_pollitem_t it = { c->mon, 0, ZMQ_POLLIN, 0 };

	if (c->mon != NULL && zmq_poll(&it, 1, 0) > 0 &&
	    handshake_failed(c, d) != DF_OK)
		return DF_EIO;
	return diag_fail(d, sent.code, "%s", sent.msg);
}

static bool stopped(const atomic_bool *stop)
{
	return stop != NULL && atomic_load(stop);
}

/*
 * Wait for a reply of type WANT; other messages are dropped. The wait is
 * cut into slices so that STOP (may be NULL) is seen within 100 ms.
 */
static int await(struct conn *c, int want, uint32_t timeout_ms,
		 const atomic_bool *stop, wire_env **out, struct diag *d)
{
	uint64_t end = wire_now_ms() + timeout_ms;

	*out = NULL;
	for (;;) {
		uint64_t now = wire_now_ms();

		if (stopped(stop))
			return diag_fail(d, DF_EIO, "interrupted");
		if (now >= end)
			return diag_fail(d, DF_EIO,
					 "broker did not answer within %u ms",
					 timeout_ms);
		zmq_pollitem_t items[2] = { { c->s, 0, ZMQ_POLLIN, 0 },
					    { c->mon, 0, ZMQ_POLLIN, 0 } };
		long slice = end - now < 100 ? (long)(end - now) : 100;
		int n = zmq_poll(items, c->mon != NULL ? 2 : 1,
				 stop != NULL ? slice : (long)(end - now));

		if (n < 0)
			return diag_fail(d, DF_EIO, "poll: %s",
					 zmq_strerror(zmq_errno()));
		if (c->mon != NULL && (items[1].revents & ZMQ_POLLIN) != 0 &&
		    handshake_failed(c, d) != DF_OK)
			return DF_EIO;
		if ((items[0].revents & ZMQ_POLLIN) == 0)
			continue;
		wire_env *env = NULL;
		struct diag junk;

		/* A message we drop must not become the cause we report. */
		diag_init(&junk);
		int rc = wire_recv(c->s, NULL, &env, &junk);

		if (rc == DF_EIO)
			return diag_fail(d, rc, "%s", junk.msg);
		if (env != NULL && (int)env->body_case == want) {
			*out = env;
			return DF_OK;
		}
		if (env != NULL && env->body_case ==
					   DUMPFLEET__V1__ENVELOPE__BODY_DISCONNECT) {
			rc = diag_fail(d, DF_EIO, "broker refused: %.100s",
				       env->disconnect->reason);
			wire_env_free(env);
			return rc;
		}
		wire_env_free(env);
	}
}

/* Files [FROM, FROM+N) of L as one SubmitRequest: paths, then items. */
struct chunk {
	char *paths[CLIENT_CHUNK];
	Dumpfleet__V1__SubmitItem items[CLIENT_CHUNK];
	Dumpfleet__V1__SubmitItem *itemp[CLIENT_CHUNK];
};

/*
 * A plain file whose content is known travels as an item with an empty
 * archive, so that it carries its hash; paths[] stays for the others.
 */
static void chunk_fill(struct chunk *c, Dumpfleet__V1__SubmitRequest *req,
		       const struct pathlist *l, size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++) {
		bool plain = l->archive == NULL || l->archive[i] == NULL;
		struct pathlist_content *ct =
			l->content != NULL ? &l->content[i] : NULL;

		if (plain && (ct == NULL || !ct->known)) {
			c->paths[req->n_paths++] = l->v[i];
			continue;
		}
		Dumpfleet__V1__SubmitItem *it = &c->items[req->n_items];

		dumpfleet__v1__submit_item__init(it);
		it->path = l->v[i];
		it->archive = plain ? (char *)"" : l->archive[i];
		it->member = !plain && l->member[i] != NULL ? l->member[i]
							    : (char *)"";
		if (ct != NULL && ct->known) {
			it->content_hash.data = ct->hash;
			it->content_hash.len = HASH_LEN;
			it->size = ct->size;
		}
		c->itemp[req->n_items++] = it;
	}
	req->paths = c->paths;
	req->items = c->itemp;
}

static int submit_chunk(struct conn *cn, const char *batch, const struct pathlist *l,
			size_t from, size_t n, uint64_t reqid,
			size_t *accepted, uint32_t timeout_ms, struct diag *d)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__SubmitRequest req = DUMPFLEET__V1__SUBMIT_REQUEST__INIT;
	wire_env *rep = NULL;
	struct chunk *c = malloc(sizeof(*c));

	if (c == NULL)
		return diag_fail(d, DF_ENOMEM, "out of memory");
	req.batch = (char *)(batch != NULL ? batch : "");
	chunk_fill(c, &req, l, from, n);
	req.request_id = reqid;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT;
	env.submit = &req;
	int rc = conn_send(cn, &env, d);

	free(c);
	if (rc == DF_OK)
		rc = await(cn, DUMPFLEET__V1__ENVELOPE__BODY_SUBMIT_REPLY,
			   timeout_ms, NULL, &rep, d);
	if (rc != DF_OK)
		return rc;
	*accepted += rep->submit_reply->accepted;
	if (rep->submit_reply->n_errors > 0)
		rc = diag_fail(d, DF_ESTORE, "broker: %.200s",
			       rep->submit_reply->errors[0]);
	wire_env_free(rep);
	return rc;
}

int client_submit(const struct client_link *link, const char *batch,
		  const struct pathlist *l, size_t *accepted,
		  uint32_t timeout_ms, struct diag *d)
{
	struct conn cn;
	void *s = conn_open(link, &cn, d);
	int rc = DF_OK;

	*accepted = 0;
	if (s == NULL)
		return DF_EIO;
	for (size_t i = 0; rc == DF_OK && i < l->n; i += CLIENT_CHUNK) {
		size_t n = l->n - i < CLIENT_CHUNK ? l->n - i : CLIENT_CHUNK;

		rc = submit_chunk(&cn, batch, l, i, n, i / CLIENT_CHUNK + 1,
				  accepted, timeout_ms, d);
	}
	conn_close(&cn);
	return rc;
}

static int status_ask(struct conn *c, bool detail, uint32_t timeout_ms,
		      const atomic_bool *stop, wire_env **rep, struct diag *d)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__StatusRequest req = DUMPFLEET__V1__STATUS_REQUEST__INIT;

	req.detail = detail;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_STATUS;
	env.status = &req;
	int rc = conn_send(c, &env, d);

	if (rc == DF_OK)
		rc = await(c, DUMPFLEET__V1__ENVELOPE__BODY_STATUS_REPLY,
			   timeout_ms, stop, rep, d);
	return rc;
}

static int status_on(struct conn *c, struct client_status *st, uint32_t timeout_ms,
		     const atomic_bool *stop, struct diag *d)
{
	wire_env *rep = NULL;
	int rc = status_ask(c, false, timeout_ms, stop, &rep, d);

	if (rc != DF_OK)
		return rc;
	const Dumpfleet__V1__StatusReply *r = rep->status_reply;

	st->queued = r->queued;
	st->leased = r->leased;
	st->done = r->done;
	st->failed = r->failed;
	st->workers = r->workers;
	wire_env_free(rep);
	return DF_OK;
}

int client_status(const struct client_link *link, struct client_status *st,
		  uint32_t timeout_ms, struct diag *d)
{
	struct conn cn;
	void *s = conn_open(link, &cn, d);

	if (s == NULL)
		return DF_EIO;
	int rc = status_on(&cn, st, timeout_ms, NULL, d);

	conn_close(&cn);
	return rc;
}

int client_status_full(const struct client_link *link, bool detail,
		       uint32_t timeout_ms, wire_env **reply, struct diag *d)
{
	struct conn cn;
	void *s = conn_open(link, &cn, d);

	*reply = NULL;
	if (s == NULL)
		return DF_EIO;
	int rc = status_ask(&cn, detail, timeout_ms, NULL, reply, d);

	conn_close(&cn);
	return rc;
}

int client_retry(const struct client_link *link, bool all,
		 const uint64_t *ids, size_t n, struct client_retried *out,
		 uint32_t timeout_ms, struct diag *d)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__RetryRequest req = DUMPFLEET__V1__RETRY_REQUEST__INIT;
	wire_env *rep = NULL;
	struct conn cn;
	void *s = conn_open(link, &cn, d);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return DF_EIO;
	req.all = all;
	req.job_ids = (uint64_t *)ids;
	req.n_job_ids = n;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_RETRY;
	env.retry = &req;
	int rc = conn_send(&cn, &env, d);

	if (rc == DF_OK)
		rc = await(&cn, DUMPFLEET__V1__ENVELOPE__BODY_RETRY_REPLY,
			   timeout_ms, NULL, &rep, d);
	if (rc == DF_OK) {
		out->requeued = rep->retry_reply->requeued;
		out->skipped = rep->retry_reply->skipped;
		if (rep->retry_reply->n_errors > 0)
			rc = diag_fail(d, DF_ESTORE, "broker: %.200s",
				       rep->retry_reply->errors[0]);
	}
	wire_env_free(rep);
	conn_close(&cn);
	return rc;
}

int client_wait(const struct client_link *link, bool progress,
		uint32_t timeout_ms, const atomic_bool *stop,
		struct client_status *last, struct diag *d)
{
	struct conn cn;
	void *s = conn_open(link, &cn, d);
	int rc = DF_OK;

	if (s == NULL)
		return DF_EIO;
	for (;;) {
		struct client_status st;

		rc = status_on(&cn, &st, timeout_ms, stop, d);
		if (rc != DF_OK)
			break;
		if (last != NULL)
			*last = st;
		if (progress)
			fprintf(stderr,
				"\r%llu queued, %llu running, %llu done, "
				"%llu failed, %u slots   ",
				(unsigned long long)st.queued,
				(unsigned long long)st.leased,
				(unsigned long long)st.done,
				(unsigned long long)st.failed, st.workers);
		if (st.queued == 0 && st.leased == 0)
			break;
		usleep(50000);
	}
	if (progress)
		fputc('\n', stderr);
	conn_close(&cn);
	return rc;
}
