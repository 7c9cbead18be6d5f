#include "content.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "df.h"
#include "diag.h"
#include "log.h"
#include "wire.h"
#include "zap.h"

#define CONTENT_POLL_MS 100 /* how soon content_stop() is seen */

/* A job the broker dispatched: what may be served for it. */
struct allowed {
	uint64_t job_id;     /* 0: empty slot (job ids start at 1) */
	char *path;
	uint64_t size;       /* 0: not known */
};

struct openfile {
	uint64_t job_id;     /* 0: empty */
	int fd;
	uint64_t size;
	uint64_t used;       /* LRU clock */
};

struct content {
	void *sock;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	bool curve;
	/* Written by the broker thread, read by ours. */
	pthread_mutex_t mu;
	struct allowed ring[CONTENT_MAX_JOBS];
	size_t next;         /* ring slot for the next job */
	struct content_stats st;
	/* Ours only. */
	struct openfile files[CONTENT_OPEN_FILES];
	uint64_t clock;
	uint8_t *buf;        /* CONTENT_MAX_CHUNK bytes */
};

int content_allow(struct content *c, uint64_t job_id, const char *path,
		  uint64_t size)
{
	char *p = strdup(path);

	if (p == NULL)
		return DF_ENOMEM;
	pthread_mutex_lock(&c->mu);
	struct allowed *a = &c->ring[c->next];

	free(a->path);
	*a = (struct allowed){ job_id, p, size };
	c->next = (c->next + 1) % CONTENT_MAX_JOBS;
	pthread_mutex_unlock(&c->mu);
	return DF_OK;
}

void content_get_stats(struct content *c, struct content_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	pthread_mutex_unlock(&c->mu);
}

/*
 * Copy the path and size of job ID into PATH (LEN bytes); false when
 * the broker has not dispatched it lately. Newest first: a job handed out
 * again after its file was submitted anew is the newer entry.
 */
static bool allowed_find(struct content *c, uint64_t id, char *path,
			 size_t len, uint64_t *size)
{
	bool found = false;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < CONTENT_MAX_JOBS && !found; i++) {
		size_t k = (c->next + CONTENT_MAX_JOBS - 1 - i) %
			   CONTENT_MAX_JOBS;
		const struct allowed *a = &c->ring[k];

		if (a->path == NULL)
			break;
		if (a->job_id != id)
			continue;
		found = (size_t)snprintf(path, len, "%s", a->path) < len;
		*size = a->size;
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

static void count(struct content *c, uint64_t bytes, bool error, bool denied)
{
	pthread_mutex_lock(&c->mu);
	c->st.requests += !denied;
	c->st.bytes += bytes;
	c->st.errors += error;
	c->st.denied += denied;
	pthread_mutex_unlock(&c->mu);
}

static void file_close(struct openfile *f)
{
	if (f->job_id != 0)
		close(f->fd);
	f->job_id = 0;
}

/*
 * The open file of job ID, opened from PATH when not open yet (evicting
 * the least recently used). NULL with ERR set when it cannot be opened.
 */
static struct openfile *file_get(struct content *c, uint64_t id,
				 const char *path, uint64_t want,
				 const char **err)
{
	struct openfile *lru = &c->files[0];

	for (size_t i = 0; i < CONTENT_OPEN_FILES; i++) {
		struct openfile *f = &c->files[i];

		/* A file replaced since it was opened is opened again. */
		if (f->job_id == id && want != 0 && f->size != want)
			file_close(f);
		if (f->job_id == id) {
			f->used = ++c->clock;
			return f;
		}
		if (f->job_id == 0 || (lru->job_id != 0 && f->used < lru->used))
			lru = f;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0) {
		*err = "cannot open the job's file on the broker";
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*err = "the job's file is not a regular file";
		return NULL;
	}
	if (want != 0 && (uint64_t)st.st_size != want) {
		close(fd);
		*err = "the job's file changed size since it was submitted";
		return NULL;
	}
	file_close(lru);
	*lru = (struct openfile){ id, fd, (uint64_t)st.st_size, ++c->clock };
	return lru;
}

/* Read what REQ asks into c->buf; *N bytes, or an error text. */
static const char *serve_read(struct content *c,
			      const Dumpfleet__V1__ContentRequest *req,
			      size_t *n, uint64_t *size)
{
	char path[4096 + 1];
	uint64_t want = 0;
	const char *err = NULL;

	*n = 0;
	*size = 0;
	if (!allowed_find(c, req->job_id, path, sizeof(path), &want))
		return "unknown job";
	struct openfile *f = file_get(c, req->job_id, path, want, &err);

	if (f == NULL)
		return err;
	*size = f->size;
	if (req->offset >= f->size)
		return NULL; /* past the end: no bytes, no error */
	uint64_t len = req->length < CONTENT_MAX_CHUNK ? req->length
						       : CONTENT_MAX_CHUNK;

	if (len > f->size - req->offset)
		len = f->size - req->offset;
	while (*n < len) {
		ssize_t r = pread(f->fd, c->buf + *n, (size_t)len - *n,
				  (off_t)(req->offset + *n));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* Shrunk or failing: forget it, tell the worker. */
			file_close(f);
			*n = 0;
			return "cannot read the job's file on the broker";
		}
		*n += (size_t)r;
	}
	return NULL;
}

static void send_reply(struct content *c, const struct wire_peer *p,
		       const Dumpfleet__V1__ContentRequest *req,
		       const char *err, size_t n, uint64_t size)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__ContentReply rep = DUMPFLEET__V1__CONTENT_REPLY__INIT;

	rep.tag = req->tag;
	rep.job_id = req->job_id;
	rep.offset = req->offset;
	rep.size = size;
	rep.data.data = c->buf;
	rep.data.len = err == NULL ? n : 0;
	rep.error = (char *)(err != NULL ? err : "");
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REPLY;
	env.content_reply = &rep;
	wire_send(c->sock, p, &env, NULL);
}

/* Only the worker role may read content; without CURVE everyone has it. */
static bool may_read(const struct content *c, const struct wire_peer *p)
{
	return !c->curve || (zap_user_roles(p->user) & CURVE_ROLE_WORKER) != 0;
}

static void handle(struct content *c)
{
	struct wire_peer p;
	wire_env *env = NULL;
	struct diag d;

	diag_init(&d);
	if (wire_recv(c->sock, &p, &env, &d) != DF_OK || env == NULL)
		return;
	if (env->body_case != DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REQUEST) {
		wire_env_free(env);
		return;
	}
	const Dumpfleet__V1__ContentRequest *req = env->content_request;

	if (!may_read(c, &p)) {
		log_msg(LL_WARN, "event=content_denied user=\"%s\" job=%llu",
			p.user, (unsigned long long)req->job_id);
		count(c, 0, false, true);
		send_reply(c, &p, req, "permission denied", 0, 0);
		wire_env_free(env);
		return;
	}
	size_t n = 0;
	uint64_t size = 0;
	const char *err = serve_read(c, req, &n, &size);

	if (err != NULL)
		log_msg(LL_WARN, "event=content_error job=%llu offset=%llu "
			"err=\"%s\"", (unsigned long long)req->job_id,
			(unsigned long long)req->offset, err);
	else if (req->offset == 0)
		log_msg(LL_INFO, "event=content_serving job=%llu size=%llu",
			(unsigned long long)req->job_id,
			(unsigned long long)size);
	count(c, err == NULL ? n : 0, err != NULL, false);
	send_reply(c, &p, req, err, n, size);
	wire_env_free(env);
}

static void *content_main(void *arg)
{
	struct content *c = arg;

	while (!atomic_load(&c->stop)) {
		zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
		int n = zmq_poll(&it, 1, CONTENT_POLL_MS);

		if (n < 0 && zmq_errno() == ETERM)
			break;
		for (int i = 0; n > 0 && i < 64; i++) {
			zmq_pollitem_t again = { c->sock, 0, ZMQ_POLLIN, 0 };

			handle(c);
			if (zmq_poll(&again, 1, 0) <= 0)
				break;
		}
	}
	return NULL;
}

static int bind_socket(struct content *c, const struct content_opts *o,
		       char *bound, size_t boundlen, struct diag *d)
{
	int linger = 0;
	/* Requests are small: refuse anything larger before reading it. */
	int64_t maxmsg = 4096;
	size_t eplen = boundlen;

	c->sock = zmq_socket(o->zmq_ctx, ZMQ_ROUTER);
	if (c->sock == NULL)
		return diag_fail(d, DF_EIO, "socket: %s",
				 zmq_strerror(zmq_errno()));
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (o->curve != NULL && curve_server_apply(c->sock, o->curve, d) !=
					DF_OK)
		return DF_EIO;
	if (zmq_bind(c->sock, o->endpoint) != 0)
		return diag_fail(d, DF_EIO, "cannot bind %s: %s", o->endpoint,
				 zmq_strerror(zmq_errno()));
	if (zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, bound, &eplen) != 0)
		snprintf(bound, boundlen, "%s", o->endpoint);
	return DF_OK;
}

int content_start(struct content **out, const struct content_opts *o,
		  char *bound, size_t boundlen, struct diag *d)
{
	struct content *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL || (c->buf = malloc(CONTENT_MAX_CHUNK)) == NULL) {
		free(c);
		return diag_fail(d, DF_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	c->curve = o->curve != NULL;
	atomic_store(&c->stop, false);
	int rc = bind_socket(c, o, bound, boundlen, d);

	if (rc == DF_OK && pthread_create(&c->thread, NULL, content_main, c) !=
				   0)
		rc = diag_fail(d, DF_EIO, "cannot start the content thread");
	c->started = rc == DF_OK;
	if (rc != DF_OK) {
		content_stop(&c);
		return rc;
	}
	log_msg(LL_INFO, "event=content_listening endpoint=%s curve=%s", bound,
		o->curve != NULL ? "on" : "off");
	*out = c;
	return DF_OK;
}

void content_stop(struct content **cp)
{
	struct content *c = *cp;

	if (c == NULL)
		return;
	if (c->started) {
		atomic_store(&c->stop, true);
		pthread_join(c->thread, NULL);
	}
	if (c->sock != NULL)
		zmq_close(c->sock);
	for (size_t i = 0; i < CONTENT_OPEN_FILES; i++)
		file_close(&c->files[i]);
	for (size_t i = 0; i < CONTENT_MAX_JOBS; i++)
		free(c->ring[i].path);
	log_msg(LL_INFO, "event=content_stopped requests=%llu bytes=%llu "
		"errors=%llu denied=%llu",
		(unsigned long long)c->st.requests,
		(unsigned long long)c->st.bytes,
		(unsigned long long)c->st.errors,
		(unsigned long long)c->st.denied);
	pthread_mutex_destroy(&c->mu);
	free(c->buf);
	free(c);
	*cp = NULL;
}
