/*
 * record - the stored form (dumpfleet.v1.Dump) of an analysis.
 */
#ifndef WORKER_RECORD_H
#define WORKER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "dumpfleet.pb-c.h"

struct analysis;

#define RECORD_MAX_JSON ((size_t)1 << 20) /* larger JSON is not kept */

/*
 * Where an analysed file came from: SOURCE, the path analysed; BATCH; and
 * for a file unpacked from an archive, ARCHIVE and MEMBER (else NULL or
 * ""), and the content hash the job named (NULL: not known; the
 * analysis computes it). Borrowed.
 */
struct record_origin {
	const char *source, *batch, *archive, *member;
	/* HASH_LEN bytes: the SOURCE's SHA-256 as submitted, or NULL. */
	const uint8_t *content_hash;
};

/*
 * Fill *OUT (initialised here) from A. Strings and arrays are borrowed from
 * A's arena (and from ORIGIN's strings), so OUT is valid as long as A is.
 * A whose input could not be read gets an empty content hash and FAILURE.
 * The JSON form carries "archive" and "member" when set. Returns DF_OK or
 * DF_ENOMEM.
 */
int record_from_analysis(Dumpfleet__V1__Dump *out, struct analysis *a,
			 const struct record_origin *origin);

#endif /* WORKER_RECORD_H */
