#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "curve.h"
#include "df.h"
#include "diag.h"
#include "log.h"
#include "wire.h"

#define FETCH_TICK_MS 100
#define FETCH_MAX_CHUNK ((uint32_t)1 << 20) /* the service's cap */
/* A reply is one chunk and a few fields; refuse more before reading. */
#define FETCH_MAX_FRAME ((int64_t)FETCH_MAX_CHUNK + 4096)

struct fetch {
	struct fetch_opts o;
	void *sock;
	void *mon;             /* handshake failures, or NULL */
	uint64_t next_tag;
	struct fetch_stats st;
	int (*tick)(void *ctx);
	void *tick_ctx;
};

/* A request in flight. */
struct flight {
	bool used;
	uint64_t tag;
	uint64_t off;
	uint32_t len;
};

/* One fetch_range call. */
struct plan {
	uint64_t job;
	uint64_t next, end;    /* bytes [next, end) not yet asked for */
	int fd;
	uint64_t *size;
	bool known;            /* *size is the file's size */
	struct flight fl[FETCH_MAX_WINDOW];
	unsigned n;            /* requests in flight */
};

void fetch_opts_init(struct fetch_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->chunk = FETCH_CHUNK;
	o->window = FETCH_WINDOW;
	o->timeout_ms = 5000;
	o->attempts = 3;
}

/* ---- the connection ------------------------------------------------------ */

static void sock_close(struct fetch *f)
{
	if (f->mon != NULL) {
		zmq_socket_monitor(f->sock, NULL, 0);
		zmq_close(f->mon);
		f->mon = NULL;
	}
	if (f->sock != NULL)
		zmq_close(f->sock);
	f->sock = NULL;
}

/*
 * Watch the handshakes: a service that refuses our key says so at once,
 * which we should not have to learn from timeouts.
 */
static void watch_handshakes(struct fetch *f)
{
	char ep[96];
	int linger = 0;
	struct timespec ts;

	/*
	 * A name of its own: a client freed and another made at the same
	 * address would find the old monitor's name still bound a moment.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(ep, sizeof(ep), "inproc://dumpfleet-fetch-%p-%llx-%lx",
		 (void *)f, (unsigned long long)ts.tv_sec, (long)ts.tv_nsec);
	if (zmq_socket_monitor(f->sock, ep,
			       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
		return;
	f->mon = zmq_socket(f->o.zmq_ctx, ZMQ_PAIR);
	if (f->mon != NULL) {
		zmq_setsockopt(f->mon, ZMQ_LINGER, &linger, sizeof(linger));
		if (zmq_connect(f->mon, ep) == 0)
			return;
		zmq_close(f->mon);
		f->mon = NULL;
	}
	zmq_socket_monitor(f->sock, NULL, 0);
}

static int sock_open(struct fetch *f, struct diag *d)
{
	int linger = 0;
	int64_t maxmsg = FETCH_MAX_FRAME;

	f->sock = zmq_socket(f->o.zmq_ctx, ZMQ_DEALER);
	if (f->sock == NULL)
		return diag_fail(d, DF_EIO, "socket: %s",
				 zmq_strerror(zmq_errno()));
	zmq_setsockopt(f->sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(f->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (f->o.curve != NULL &&
	    curve_client_apply(f->sock, f->o.curve, d) != DF_OK) {
		sock_close(f);
		return DF_EIO;
	}
	if (strncmp(f->o.endpoint, "inproc://", 9) != 0)
		watch_handshakes(f);
	if (zmq_connect(f->sock, f->o.endpoint) != 0) {
		diag_fail(d, DF_EIO, "cannot connect to %s: %s", f->o.endpoint,
			  zmq_strerror(zmq_errno()));
		sock_close(f);
		return DF_EIO;
	}
	return DF_OK;
}

/* A monitor event: DF_EIO when it names a refused handshake. */
static int handshake_failed(struct fetch *f, struct diag *d)
{
	uint8_t ev[6];
	uint16_t event;
	int n = zmq_recv(f->mon, ev, sizeof(ev), 0);
	int more = 1;
	size_t sz = sizeof(more);

	while (zmq_getsockopt(f->mon, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		char junk[256];

		if (zmq_recv(f->mon, junk, sizeof(junk), 0) < 0)
			break;
	}
	if (n < (int)sizeof(ev))
		return DF_OK;
	memcpy(&event, ev, 2);
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		return diag_fail(d, DF_EIO, "the content service refused "
					    "this CURVE key");
	return diag_fail(d, DF_EIO, "security handshake with the content "
				    "service failed");
}

int fetch_new(struct fetch **out, const struct fetch_opts *o, struct diag *d)
{
	struct fetch *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (f == NULL)
		return diag_fail(d, DF_ENOMEM, "out of memory");
	f->o = *o;
	if (f->o.chunk == 0 || f->o.chunk > FETCH_MAX_CHUNK)
		f->o.chunk = FETCH_CHUNK;
	if (f->o.window == 0 || f->o.window > FETCH_MAX_WINDOW)
		f->o.window = FETCH_WINDOW;
	if (f->o.attempts == 0)
		f->o.attempts = 1;
	if (sock_open(f, d) != DF_OK) {
		free(f);
		return DF_EIO;
	}
	*out = f;
	return DF_OK;
}

void fetch_destroy(struct fetch **fp)
{
	if (*fp == NULL)
		return;
	sock_close(*fp);
	free(*fp);
	*fp = NULL;
}

void fetch_set_tick(struct fetch *f, int (*tick)(void *ctx), void *ctx)
{
	f->tick = tick;
	f->tick_ctx = ctx;
}

void fetch_get_stats(const struct fetch *f, struct fetch_stats *out)
{
	*out = f->st;
}

/* ---- requests and replies ------------------------------------------------ */

static int send_request(struct fetch *f, const struct plan *p,
			struct flight *fl, struct diag *d)
{
	wire_env env = DUMPFLEET__V1__ENVELOPE__INIT;
	Dumpfleet__V1__ContentRequest rq = DUMPFLEET__V1__CONTENT_REQUEST__INIT;

	fl->tag = ++f->next_tag;
	rq.job_id = p->job;
	rq.offset = fl->off;
	rq.length = fl->len;
	rq.tag = fl->tag;
	env.body_case = DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REQUEST;
	env.content_request = &rq;
	f->st.requests++;
	return wire_send(f->sock, NULL, &env, d);
}

/* Use the credits left: ask for the next chunks. */
static int fill(struct fetch *f, struct plan *p, struct diag *d)
{
	/* Until the size is known, one request: the rest may not exist. */
	unsigned window = p->known ? f->o.window : 1;

	for (unsigned i = 0; i < FETCH_MAX_WINDOW && p->n < window &&
			     p->next < p->end; i++) {
		struct flight *fl = &p->fl[i];

		if (fl->used)
			continue;
		uint64_t left = p->end - p->next;

		fl->used = true;
		fl->off = p->next;
		fl->len = left < f->o.chunk ? (uint32_t)left : f->o.chunk;
		p->next += fl->len;
		p->n++;
		if (p->n > f->st.max_inflight)
			f->st.max_inflight = p->n;
		if (send_request(f, p, fl, d) != DF_OK)
			return DF_EIO;
	}
	return DF_OK;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

static int write_at(int fd, const uint8_t *b, size_t n, uint64_t off,
		    struct diag *d)
{
	/* The cache file has holes where nothing was written: zeros. */
	if (all_zero(b, n))
		return DF_OK;
	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return diag_fail(d, DF_EIO, "cannot write the cache "
					 "file: %s", strerror(errno));
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return DF_OK;
}

/* The file's size from a reply: the first one tells, the rest agree. */
static int learn_size(struct plan *p, uint64_t size, struct diag *d)
{
	if (p->known && size != *p->size)
		return diag_fail(d, DF_EIO, "the file changed size (%llu, "
				 "then %llu bytes)",
				 (unsigned long long)*p->size,
				 (unsigned long long)size);
	if (!p->known) {
		p->known = true;
		*p->size = size;
		if (p->end > size)
			p->end = size;
		if (p->next > p->end)
			p->next = p->end;
	}
	return DF_OK;
}

/* Check and write one reply; replies to nothing in flight are stale. */
static int on_reply(struct fetch *f, struct plan *p,
		    const Dumpfleet__V1__ContentReply *r, struct diag *d)
{
	struct flight *fl = NULL;

	for (unsigned i = 0; i < FETCH_MAX_WINDOW && fl == NULL; i++)
		if (p->fl[i].used && p->fl[i].tag == r->tag)
			fl = &p->fl[i];
	if (fl == NULL)
		return DF_OK;
	if (r->error[0] != '\0')
		return diag_fail(d, DF_EIO, "%.200s", r->error);
	if (r->job_id != p->job || r->offset != fl->off)
		return diag_fail(d, DF_EIO, "a reply for another range");
	if (learn_size(p, r->size, d) != DF_OK)
		return DF_EIO;
	uint64_t want = fl->off >= r->size ? 0 : r->size - fl->off;

	if (want > fl->len)
		want = fl->len;
	if (r->data.len != want)
		return diag_fail(d, DF_EIO, "%zu bytes at %llu where %llu were "
				 "due", r->data.len,
				 (unsigned long long)fl->off,
				 (unsigned long long)want);
	if (write_at(p->fd, r->data.data, r->data.len, fl->off, d) != DF_OK)
		return DF_EIO;
	f->st.bytes += r->data.len;
	fl->used = false;
	p->n--;
	return DF_OK;
}

/* Read every reply waiting. *HEARD is set when one was ours. */
static int drain(struct fetch *f, struct plan *p, bool *heard,
		 struct diag *d)
{
	zmq_pollitem_t it = { f->sock, 0, ZMQ_POLLIN, 0 };

	while (zmq_poll(&it, 1, 0) > 0) {
		wire_env *env = NULL;
		struct diag junk;

		diag_init(&junk);
		int rc = wire_recv(f->sock, NULL, &env, &junk);

		if (rc == DF_EIO)
			return diag_fail(d, DF_EIO, "%s", junk.msg);
		if (env == NULL)
			continue; /* malformed: dropped */
		if (env->body_case ==
		    DUMPFLEET__V1__ENVELOPE__BODY_CONTENT_REPLY) {
			unsigned before = p->n;

			rc = on_reply(f, p, env->content_reply, d);
			*heard = *heard || p->n < before;
		}
		wire_env_free(env);
		if (rc != DF_OK)
			return rc;
	}
	return DF_OK;
}

/* Nothing came for a while: a new connection, the same requests. */
static int reconnect(struct fetch *f, struct plan *p, struct diag *d)
{
	f->st.reconnects++;
	sock_close(f);
	if (sock_open(f, d) != DF_OK)
		return DF_EIO;
	for (unsigned i = 0; i < FETCH_MAX_WINDOW; i++)
		if (p->fl[i].used && send_request(f, p, &p->fl[i], d) != DF_OK)
			return DF_EIO;
	return DF_OK;
}

/* Wait for replies up to a tick; DF_EIO ends the fetch. */
static int wait_round(struct fetch *f, struct plan *p, uint64_t *last,
		      unsigned *silent, struct diag *d)
{
	zmq_pollitem_t it[2] = { { f->sock, 0, ZMQ_POLLIN, 0 },
				 { f->mon, 0, ZMQ_POLLIN, 0 } };
	int n = zmq_poll(it, f->mon != NULL ? 2 : 1, FETCH_TICK_MS);
	bool heard = false;

	if (n < 0)
		return diag_fail(d, DF_EIO, "poll: %s",
				 zmq_strerror(zmq_errno()));
	if (f->mon != NULL && (it[1].revents & ZMQ_POLLIN) &&
	    handshake_failed(f, d) != DF_OK)
		return DF_EIO;
	if ((it[0].revents & ZMQ_POLLIN) && drain(f, p, &heard, d) != DF_OK)
		return DF_EIO;
	if (f->tick != NULL && f->tick(f->tick_ctx) != 0)
		return diag_fail(d, DF_EIO, "interrupted");
	uint64_t now = wire_now_ms();

	if (heard) {
		*last = now;
		*silent = 0;
		return DF_OK;
	}
	if (now - *last < f->o.timeout_ms)
		return DF_OK;
	if (++*silent >= f->o.attempts)
		return diag_fail(d, DF_EIO, "no answer from %s in %u x %u ms",
				 f->o.endpoint, f->o.attempts,
				 f->o.timeout_ms);
	*last = now;
	return reconnect(f, p, d);
}

int fetch_range(struct fetch *f, uint64_t job, uint64_t off, uint64_t len,
		int fd, uint64_t *size, struct diag *d)
{
	struct plan p;
	uint64_t last = wire_now_ms();
	unsigned silent = 0;

	memset(&p, 0, sizeof(p));
	p.job = job;
	p.fd = fd;
	p.size = size;
	p.known = *size != 0;
	p.next = off;
	p.end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	if (p.known && p.end > *size)
		p.end = *size;
	if (p.next > p.end)
		p.next = p.end;
	/* A reconnect that failed last time left no socket: try again. */
	if (f->sock == NULL && sock_open(f, d) != DF_OK)
		return DF_EIO;
	for (;;) {
		if (fill(f, &p, d) != DF_OK)
			return DF_EIO;
		if (p.n == 0)
			return DF_OK;
		if (wait_round(f, &p, &last, &silent, d) != DF_OK)
			return DF_EIO;
	}
}

/* Check the file at PATH against HASH. */
static int verify(const char *path, const uint8_t *hash, struct diag *d)
{
	uint8_t got[HASH_LEN];
	uint64_t n = 0;

	if (hash_file(path, got, &n) != DF_OK)
		return diag_fail(d, DF_EIO, "cannot read the cache file back");
	if (memcmp(got, hash, HASH_LEN) != 0)
		return diag_fail(d, DF_EIO, "SHA-256 mismatch after %llu "
				 "bytes", (unsigned long long)n);
	return DF_OK;
}

int fetch_file(struct fetch *f, uint64_t job, uint64_t size,
	       const uint8_t *hash, const char *path, struct diag *d)
{
	int fd;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return diag_fail(d, DF_EIO, "cannot create the cache file: %s",
				 strerror(errno));
	/* Known size: one hole to start with; chunks of zeros stay holes. */
	int rc = ftruncate(fd, (off_t)size) == 0
			 ? fetch_range(f, job, 0, UINT64_MAX, fd, &size, d)
			 : diag_fail(d, DF_EIO, "cannot size the cache file: %s",
				     strerror(errno));

	if (rc == DF_OK && ftruncate(fd, (off_t)size) != 0)
		rc = diag_fail(d, DF_EIO, "cannot size the cache file: %s",
			       strerror(errno));
	if (close(fd) != 0 && rc == DF_OK)
		rc = diag_fail(d, DF_EIO, "cannot write the cache file: %s",
			       strerror(errno));
	if (rc == DF_OK && hash != NULL)
		rc = verify(path, hash, d);
	if (rc != DF_OK)
		unlink(path);
	return rc;
}

/* ---- range mode ------------------------------------------------------------ */

struct fetch_cache {
	struct fetch *f;
	uint64_t job;
	uint64_t size;
	int fd;
	uint8_t *present;      /* one bit per chunk */
	uint64_t nchunks;
	uint64_t bytes;        /* fetched */
	struct diag err;       /* the first failure (sticky) */
	bool failed;
};

int fetch_cache_open(struct fetch_cache **out, struct fetch *f, uint64_t job,
		     uint64_t size, const char *path, struct diag *d)
{
	struct fetch_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return diag_fail(d, DF_ENOMEM, "out of memory");
	c->f = f;
	c->job = job;
	c->size = size;
	c->nchunks = size / f->o.chunk + (size % f->o.chunk != 0);
	c->present = calloc(c->nchunks / 8 + 1, 1);
	diag_init(&c->err);
	unlink(path);
	c->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	if (c->present == NULL || c->fd < 0 ||
	    ftruncate(c->fd, (off_t)size) != 0) {
		int rc = diag_fail(d, DF_EIO, "cannot make the cache file: %s",
				   c->present == NULL ? "out of memory"
						      : strerror(errno));

		fetch_cache_close(&c);
		unlink(path);
		return rc;
	}
	*out = c;
	return DF_OK;
}

static bool chunk_present(const struct fetch_cache *c, uint64_t i)
{
	return (c->present[i / 8] >> (i % 8)) & 1u;
}

/* Fetch chunks [FROM, TO) (all missing) in one windowed range. */
static int fetch_chunks(struct fetch_cache *c, uint64_t from, uint64_t to)
{
	uint64_t chunk = c->f->o.chunk, size = c->size;
	struct fetch_stats before, after;

	fetch_get_stats(c->f, &before);
	int rc = fetch_range(c->f, c->job, from * chunk, (to - from) * chunk,
			     c->fd, &size, &c->err);

	fetch_get_stats(c->f, &after);
	c->bytes += after.bytes - before.bytes;
	if (rc == DF_OK && size != c->size)
		rc = diag_fail(&c->err, DF_EIO, "the file changed size");
	if (rc != DF_OK)
		return rc;
	for (uint64_t i = from; i < to; i++)
		c->present[i / 8] |= (uint8_t)(1u << (i % 8));
	return DF_OK;
}

int fetch_cache_ensure(struct fetch_cache *c, uint64_t off, uint64_t n)
{
	uint64_t chunk = c->f->o.chunk;

	if (c->failed)
		return DF_EIO;
	if (n == 0 || off >= c->size)
		return DF_OK;
	if (n > c->size - off)
		n = c->size - off;
	uint64_t first = off / chunk, last = (off + n - 1) / chunk;

	for (uint64_t i = first; i <= last;) {
		if (chunk_present(c, i)) {
			i++;
			continue;
		}
		uint64_t j = i;

		while (j <= last && !chunk_present(c, j))
			j++;
		if (fetch_chunks(c, i, j) != DF_OK) {
			c->failed = true;
			return DF_EIO;
		}
		i = j;
	}
	return DF_OK;
}

const char *fetch_cache_error(const struct fetch_cache *c)
{
	return c->failed ? c->err.msg : "";
}

uint32_t fetch_cache_chunk(const struct fetch_cache *c)
{
	return c->f->o.chunk;
}

uint64_t fetch_cache_bytes(const struct fetch_cache *c)
{
	return c->bytes;
}

void fetch_cache_close(struct fetch_cache **cp)
{
	struct fetch_cache *c = *cp;

	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->present);
	free(c);
	*cp = NULL;
}
