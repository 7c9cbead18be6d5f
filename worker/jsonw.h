/*
 * jsonw - the compact JSON text of a jansson tree, written fast.
 *
 * The bytes are those of json_dumps(j, JSON_COMPACT) for the trees
 * dumpfleet builds (strings valid UTF-8, no cycles): keys in insertion
 * order, no spaces, '"', '\\' and control characters escaped (\b \f \n
 * \r \t, else \u00XX), everything else as it is. jansson checks each
 * character's UTF-8 and every object for cycles on the way out, which
 * was a fifth of the time of `analyze --json`.
 */
#ifndef WORKER_JSONW_H
#define WORKER_JSONW_H

#include <jansson.h>

struct strbuf;

/*
 * Append the text of J to SB. DF_OK; DF_ELIMIT when SB's cap is reached
 * or J nests deeper than JSONW_MAX_DEPTH; DF_ENOMEM; DF_EUSAGE when J is
 * NULL. On failure SB holds part of the text.
 */
int jsonw_append(struct strbuf *sb, const json_t *j);

#define JSONW_MAX_DEPTH 64

#endif /* WORKER_JSONW_H */
