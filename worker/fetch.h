/*
 * fetch - a job's bytes from the broker's content service (content.h).
 *
 * A worker that does not share the broker's filesystem reads a job's
 * file over ZeroMQ: one DEALER per slot, connected to the content
 * endpoint with the same CURVE keys as the job endpoint. Flow control is
 * by credit, as in the ZeroMQ Guide's file transfer: at most `window`
 * ContentRequests of `chunk` bytes are in flight; each reply frees a
 * credit for the next request. A reply is checked against the request it
 * answers (tag, job, offset, length, the file's size) before its bytes
 * are written, at their offset, into a file descriptor; chunks of zeros
 * are not written, so a cache file made with holes stays sparse.
 *
 * When nothing comes for `timeout_ms` the socket is closed and opened
 * again and the requests in flight are sent anew; after `attempts` such
 * rounds without a reply, or at the first error the service names, or
 * when the service refuses our key, the fetch fails with the reason in a
 * diag. While it waits it calls a tick function (the slot heartbeats and
 * keeps reading the broker).
 */
#ifndef WORKER_FETCH_H
#define WORKER_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct curve_client;
struct diag;
struct fetch;

#define FETCH_CHUNK ((uint32_t)256 << 10)
#define FETCH_WINDOW 8
#define FETCH_MAX_WINDOW 64

struct fetch_opts {
	void *zmq_ctx;
	const char *endpoint;             /* the broker's content endpoint */
	const struct curve_client *curve; /* CURVE keys, or NULL: plain */
	uint32_t chunk;                   /* bytes per request (<= 1 MiB) */
	unsigned window;                  /* requests in flight, 1..64 */
	uint32_t timeout_ms;              /* silence before reconnecting */
	unsigned attempts;                /* silent rounds before failing */
};

/* Defaults: chunk 256 KiB, window 8, 5000 ms, 3 attempts. */
void fetch_opts_init(struct fetch_opts *o);

/* What a fetch client has done (all jobs). */
struct fetch_stats {
	uint64_t requests;      /* ContentRequests sent */
	uint64_t bytes;         /* file bytes received */
	uint64_t reconnects;    /* silent rounds */
	unsigned max_inflight;  /* most requests in flight at once */
};

/* A client with options O (copied; the strings stay borrowed). */
int fetch_new(struct fetch **out, const struct fetch_opts *o,
	      struct diag *d);

/* NULL-safe; sets *FP to NULL. */
void fetch_destroy(struct fetch **fp);

/*
 * TICK(CTX) is called at least every 100 ms while a fetch waits; a
 * nonzero return abandons the fetch (DF_EIO "interrupted").
 */
void fetch_set_tick(struct fetch *f, int (*tick)(void *ctx), void *ctx);

/*
 * Fetch bytes [OFF, OFF+LEN) of job JOB into FD at the same offsets. *SIZE
 * is the whole file's size when known, or 0: then it is learnt from the
 * first reply and set. A range reaching past the end stops at it. DF_OK,
 * or DF_EIO with the reason in D.
 */
int fetch_range(struct fetch *f, uint64_t job, uint64_t off, uint64_t len,
		int fd, uint64_t *size, struct diag *d);

/*
 * Fetch the whole file of job JOB into a new file at PATH (mode 0600,
 * replaced if it exists, sparse where the file has zeros). SIZE: as
 * fetch_range. With HASH (HASH_LEN bytes) the file must have that
 * SHA-256. DF_OK, or DF_EIO with the reason in D (PATH is then removed).
 */
int fetch_file(struct fetch *f, uint64_t job, uint64_t size,
	       const uint8_t *hash, const char *path, struct diag *d);

void fetch_get_stats(const struct fetch *f, struct fetch_stats *out);

/*
 * Range mode: a sparse cache file of job JOB's SIZE bytes at PATH that is
 * filled as its bytes are needed. fetch_cache_ensure() fetches the chunks
 * of [OFF, OFF+N) not yet present (a bitmap of present chunks; ranges are
 * rounded out to whole chunks) and returns DF_OK once they are in the
 * file. A failure is sticky: every later call fails too, and
 * fetch_cache_error() says why. The file is not removed on close.
 */
struct fetch_cache;

int fetch_cache_open(struct fetch_cache **out, struct fetch *f, uint64_t job,
		     uint64_t size, const char *path, struct diag *d);
int fetch_cache_ensure(struct fetch_cache *c, uint64_t off, uint64_t n);
/* The first failure's reason, or "" while there was none. */
const char *fetch_cache_error(const struct fetch_cache *c);
/* Chunk size the cache rounds to. */
uint32_t fetch_cache_chunk(const struct fetch_cache *c);
/* Bytes fetched into the cache so far. */
uint64_t fetch_cache_bytes(const struct fetch_cache *c);
/* NULL-safe; sets *CP to NULL. */
void fetch_cache_close(struct fetch_cache **cp);

#endif /* WORKER_FETCH_H */
