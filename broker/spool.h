/*
 * spool - a content-addressed directory of files unpacked from archives.
 *
 * An object lives at DIR/ab/<64 hex digits of its SHA-256>, "ab" being the
 * first two digits. It is written by streaming into a temporary file under
 * DIR/tmp while hashing, then renamed into place, so a reader never sees
 * half an object. When the object exists already (same name and size) the
 * temporary file is dropped: identical content is stored once.
 *
 * Durability comes in batches: spool_sync flushes everything renamed in
 * since the last call, once, and must return before a job names any of
 * those objects. A crash before it may leave an object short or empty
 * (never with other content); its size no longer matches, so the next
 * writer of that content replaces it. Nothing but the hash
 * ever names a file here; member names from archives are metadata only.
 * Several processes may share one spool (e.g. on a network filesystem the
 * workers mount): a rename over an equal object is harmless.
 */
#ifndef BROKER_SPOOL_H
#define BROKER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

struct diag;
struct spool;
struct spool_writer;

/* Longest object path: DIR (at most SPOOL_MAX_DIR bytes) + /ab/ + hex. */
#define SPOOL_MAX_DIR 3900
#define SPOOL_MAX_PATH (SPOOL_MAX_DIR + 4 + HASH_HEX_LEN + 1)

/*
 * Open the spool in DIR, creating DIR and DIR/tmp when missing. The spool
 * remembers DIR made absolute. DF_OK, or DF_EIO / DF_ENOMEM / DF_ELIMIT.
 */
int spool_open(struct spool **out, const char *dir, struct diag *d);

/* NULL-safe; sets *SP to NULL. Objects stay on disk. */
void spool_destroy(struct spool **sp);

/* The spool's absolute directory. */
const char *spool_dir(const struct spool *s);

/* Start a new object: a temporary file in DIR/tmp. */
int spool_writer_begin(struct spool *s, struct spool_writer **out,
		       struct diag *d);

/* Append N bytes; DF_EIO when the disk refuses them. */
int spool_writer_write(struct spool_writer *w, const void *buf, size_t n,
		       struct diag *d);

/* Bytes written so far. */
uint64_t spool_writer_size(const struct spool_writer *w);

/* What a committed object is. */
struct spool_object {
	char path[SPOOL_MAX_PATH]; /* absolute */
	uint8_t hash[HASH_LEN];
	uint64_t size;
	bool existed;              /* the spool had it already (dedup) */
};

/*
 * Finish *WP: rename into place (or drop the temporary file when the
 * object exists). Durable after spool_sync. *WP is freed and set to NULL
 * either way.
 */
int spool_writer_commit(struct spool_writer **wp, struct spool_object *obj,
			struct diag *d);

/*
 * Make every object committed since the last call durable (one flush of
 * the spool's filesystem; nothing when there were none). DF_OK or DF_EIO.
 */
int spool_sync(struct spool *s, struct diag *d);

/* Drop *WP and its temporary file. NULL-safe; sets *WP to NULL. */
void spool_writer_abort(struct spool_writer **wp);

/* The path object HASH has (or would have) in S, into OUT (SPOOL_MAX_PATH). */
void spool_object_path(const struct spool *s, const uint8_t hash[HASH_LEN],
		       char *out, size_t outlen);

#endif /* BROKER_SPOOL_H */
