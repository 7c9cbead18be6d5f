#include "writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "df.h"
#include "log.h"
#include "store.h"

/* Names tried for the inproc pair (a closed one may linger a while). */
#define WRITER_BIND_TRIES 16

struct writer {
	struct store *store;
	void *outer;          /* the caller's end of the pair */
	void *inner;          /* the thread's end */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* held by whoever uses the store */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool has_record(const Dumpfleet__V1__JobResult *r)
{
	return r->dump != NULL && r->dump->content_hash.len != 0;
}

/* A result without a dump record: its job failed (the reason is kept). */
static void write_failure(struct store *s, struct writer_batch *b,
			  struct writer_item *it)
{
	const Dumpfleet__V1__JobResult *r = it->result;
	const char *why = r->dump != NULL && r->dump->failure
				  ? r->dump->failure
				  : "no result";
	struct diag d;

	diag_init(&d);
	int rc = store_job_fail(s, r->job_id, why, false, &d);

	/* An unknown or finished job (a duplicate, a made-up id): nothing. */
	it->committed = rc == DF_OK || rc == DF_EEXIST || rc == DF_ENOTFOUND;
	it->dfailed = rc == DF_OK;
	if (!it->committed && b->rc == DF_OK) {
		b->rc = rc;
		b->diag = d;
	}
}

void writer_write_batch(struct store *s, struct writer_batch *b)
{
	struct store_result *res = calloc(b->n ? b->n : 1, sizeof(*res));
	struct writer_item **of = calloc(b->n ? b->n : 1, sizeof(*of));
	size_t n = 0;

	b->rc = DF_OK;
	diag_init(&b->diag);
	for (size_t i = 0; i < b->n; i++) {
		struct writer_item *it = &b->v[i];

		it->committed = false;
		it->ddone = it->dfailed = 0;
		if (b->rc != DF_OK)
			continue;
		if (res == NULL || of == NULL) {
			b->rc = diag_fail(&b->diag, DF_ENOMEM, "out of memory");
			continue;
		}
		if (!has_record(it->result)) {
			write_failure(s, b, it);
			continue;
		}
		res[n].job_id = it->result->job_id;
		res[n].dump = it->result->dump;
		of[n++] = it;
	}
	if (b->rc == DF_OK && n > 0) {
		b->rc = store_results_put(s, res, n, &b->diag);
		for (size_t i = 0; b->rc == DF_OK && i < n; i++) {
			of[i]->committed = true;
			of[i]->ddone = res[i].ddone;
			of[i]->dfailed = res[i].dfailed;
		}
	}
	free(res);
	free(of);
}

/* Batches come as pointers; a NULL one says stop. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct writer_batch *b;

	while (zmq_recv(w->inner, &b, sizeof(b), 0) == (int)sizeof(b) &&
	       b != NULL) {
		pthread_mutex_lock(&w->lock);
		uint64_t t0 = now_us();

		writer_write_batch(w->store, b);
		b->write_us = now_us() - t0;
		pthread_mutex_unlock(&w->lock);
		if (zmq_send(w->inner, &b, sizeof(b), 0) != (int)sizeof(b))
			break;
	}
	return NULL;
}

static void *pair_socket(void *ctx)
{
	void *s = zmq_socket(ctx, ZMQ_PAIR);
	int linger = 0;

	if (s != NULL)
		zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	return s;
}

static int pair_open(struct writer *w, void *ctx, struct diag *d)
{
	char ep[96];

	w->outer = pair_socket(ctx);
	w->inner = pair_socket(ctx);
	if (w->outer == NULL || w->inner == NULL)
		return diag_fail(d, DF_EIO, "socket: %s",
				 zmq_strerror(zmq_errno()));
	for (int i = 0; i < WRITER_BIND_TRIES; i++) {
		snprintf(ep, sizeof(ep), "inproc://dumpfleet-writer-%p-%d",
			 (void *)w, i);
		if (zmq_bind(w->outer, ep) == 0)
			break;
		if (zmq_errno() != EADDRINUSE || i + 1 == WRITER_BIND_TRIES)
			return diag_fail(d, DF_EIO, "cannot bind %s: %s", ep,
					 zmq_strerror(zmq_errno()));
	}
	if (zmq_connect(w->inner, ep) != 0)
		return diag_fail(d, DF_EIO, "cannot connect %s: %s", ep,
				 zmq_strerror(zmq_errno()));
	return DF_OK;
}

int writer_start(struct writer **out, void *zmq_ctx, struct store *s,
		 struct diag *d)
{
	struct writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return diag_fail(d, DF_ENOMEM, "out of memory");
	w->store = s;
	pthread_mutex_init(&w->lock, NULL);
	int rc = pair_open(w, zmq_ctx, d);

	if (rc == DF_OK &&
	    pthread_create(&w->thread, NULL, writer_main, w) != 0)
		rc = diag_fail(d, DF_EIO, "cannot start the writer thread");
	w->started = rc == DF_OK;
	if (rc != DF_OK) {
		writer_stop(&w);
		return rc;
	}
	*out = w;
	return DF_OK;
}

void writer_stop(struct writer **wp)
{
	struct writer *w = *wp;

	if (w == NULL)
		return;
	if (w->started) {
		struct writer_batch *none = NULL;

		/*
		 * In order behind any batch handed over; if the send fails
		 * the context is ending and the thread's recv fails too.
		 */
		zmq_send(w->outer, &none, sizeof(none), 0);
		pthread_join(w->thread, NULL);
	}
	if (w->outer != NULL)
		zmq_close(w->outer);
	if (w->inner != NULL)
		zmq_close(w->inner);
	pthread_mutex_destroy(&w->lock);
	free(w);
	*wp = NULL;
}

int writer_submit(struct writer *w, struct writer_batch *b)
{
	if (zmq_send(w->outer, &b, sizeof(b), 0) != (int)sizeof(b)) {
		log_msg(LL_ERROR, "event=writer_failed err=\"%s\"",
			zmq_strerror(zmq_errno()));
		return DF_EIO;
	}
	return DF_OK;
}

struct writer_batch *writer_collect(struct writer *w, bool wait)
{
	struct writer_batch *b = NULL;

	for (;;) {
		int n = zmq_recv(w->outer, &b, sizeof(b),
				 wait ? 0 : ZMQ_DONTWAIT);

		if (n == (int)sizeof(b))
			return b;
		if (n < 0 && zmq_errno() == EINTR)
			continue;
		return NULL;
	}
}

void *writer_socket(struct writer *w)
{
	return w->outer;
}

void writer_lock(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
}

void writer_unlock(struct writer *w)
{
	pthread_mutex_unlock(&w->lock);
}
