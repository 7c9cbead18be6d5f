/*
 * writer - the broker's result batches committed on a thread of their own.
 *
 * A synced LMDB commit of a batch costs milliseconds (page writes and an
 * fdatasync), and the store's work per result as much again; done on the
 * broker thread, nothing is dispatched meanwhile. The broker fills one
 * batch while the writer commits the previous one (double buffering):
 * writer_submit hands a batch over, the writer's socket (writer_socket,
 * for zmq_poll) turns readable when it has been written, and
 * writer_collect takes it back with the outcome of every result. At most
 * one batch is with the writer at a time; until it is back the caller
 * must not touch it.
 *
 * The store is shared by two threads, and LMDB allows one write
 * transaction at a time and a map resize only while no transaction is
 * open in the process (store.c grows the map when it fills). So every
 * store call of another thread goes between writer_lock and
 * writer_unlock; the writer holds the lock while it writes a batch.
 */
#ifndef BROKER_WRITER_H
#define BROKER_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "dumpfleet.pb-c.h"

struct store;
struct writer;

/* One result of a batch: in, the result (borrowed); out, what it did. */
struct writer_item {
	const Dumpfleet__V1__JobResult *result;
	bool committed;  /* out: written (or nothing to write: a duplicate) */
	int ddone;       /* out: change in jobs done (0 or 1) */
	int dfailed;     /* out: change in jobs failed (-1..1) */
};

struct writer_batch {
	struct writer_item *v;
	size_t n;
	int rc;              /* out: DF_OK, or the first failure (in diag) */
	struct diag diag;    /* out */
	uint64_t write_us;   /* out: time the writes took, lock held */
};

/*
 * Write batch B to store S now, on the calling thread (the writer's
 * work; the caller holds the lock when a writer shares S). A result
 * without a dump record fails its job (store_job_fail); the others go
 * to the store in one transaction (store_results_put). An unknown or
 * finished job changes nothing and is no failure.
 */
void writer_write_batch(struct store *s, struct writer_batch *b);

/* Start the thread for store S; DF_OK, or DF_EIO/DF_ENOMEM with D. */
int writer_start(struct writer **out, void *zmq_ctx, struct store *s,
		 struct diag *d);

/*
 * Stop: a batch handed over is written first. The caller should have
 * collected it; one not collected is simply not returned. NULL-safe;
 * sets *WP to NULL.
 */
void writer_stop(struct writer **wp);

/* Hand batch B over. DF_OK, or DF_EIO when the writer is gone. */
int writer_submit(struct writer *w, struct writer_batch *b);

/*
 * The batch the writer has finished, or NULL: none yet (with WAIT
 * false), or the writer is gone.
 */
struct writer_batch *writer_collect(struct writer *w, bool wait);

/* Readable (ZMQ_POLLIN) when a finished batch waits for writer_collect. */
void *writer_socket(struct writer *w);

/* Hold the store against the writer's batch, around another store call. */
void writer_lock(struct writer *w);
void writer_unlock(struct writer *w);

#endif /* BROKER_WRITER_H */
