/*
 * jsonw - compact JSON text, written value by value with no tree.
 *
 * The bytes are those of jansson's json_dumps(j, JSON_COMPACT) for the
 * same values (keys in the order given, no spaces, '"', '\\' and control
 * characters escaped as \b \f \n \r \t or \u00XX, everything else as it
 * is), so text written either way reads back into the same tree and
 * dumps back to the same bytes. jansson checks each character's UTF-8
 * and every object for cycles on the way out, and a tree costs an
 * allocation per value: together most of the time of `analyze --json`.
 */
#ifndef WORKER_JSONW_H
#define WORKER_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf;

/*
 * A writer appending to SB. The caller keeps the order right (a key
 * before each value in an object); commas come by themselves. The first
 * failure (DF_ELIMIT, DF_ENOMEM) sticks: later calls do nothing and
 * jsonw_status() returns it.
 */
struct jsonw {
	struct strbuf *sb;
	int rc;
	bool comma; /* a value came last: the next key or value needs "," */
};

void jsonw_init(struct jsonw *w, struct strbuf *sb);
int jsonw_status(const struct jsonw *w);

void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
/* KEY must be valid UTF-8 (the callers' keys are ASCII literals). */
void jsonw_key(struct jsonw *w, const char *key);
/* S, which must be valid UTF-8, or null when S is NULL. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_integer(struct jsonw *w, json_int_t v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);

#endif /* WORKER_JSONW_H */
