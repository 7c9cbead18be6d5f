/*
 * bucketview - one bucket in full, as JSON, for `dumpfleet bucket`.
 *
 * The bucket record (signature, counts, first and last seen, blame), its
 * pattern mix and OS versions from the store's counters, and the sample
 * dumps the bucket keeps: each with its source, archive and member path,
 * batch, format, codes and findings. Strings from dumps are valid UTF-8.
 */
#ifndef REPORTS_BUCKETVIEW_H
#define REPORTS_BUCKETVIEW_H

#include <jansson.h>

struct diag;
struct store;

/*
 * The bucket with signature hash HASH into *OUT (caller owns it). DF_OK,
 * DF_ENOTFOUND, DF_ENOMEM or DF_ESTORE, with D filled.
 */
int bucketview_json(struct store *s, const char *hash, json_t **out,
		    struct diag *d);

#endif /* REPORTS_BUCKETVIEW_H */
