/*
 * analysis_json - the analysis as JSON.
 *
 * Field names follow rust-minidump's published JSON schema where the meaning
 * is the same (system_info, crash_info, crashing_thread, threads[].frames[],
 * modules[]); dumpfleet's own additions are format, bugcheck, blame,
 * signature, findings and errors. Addresses are hex strings. Every string
 * from the input is passed through as valid UTF-8 (invalid bytes replaced).
 */
#ifndef WORKER_ANALYSIS_JSON_H
#define WORKER_ANALYSIS_JSON_H

#include <jansson.h>

struct analysis;
struct strbuf;

/*
 * Append A as one compact JSON object to SB, written directly (no tree:
 * `analyze --json` and every stored record go this way). SOURCE, if not
 * NULL, is recorded as "source"; ARCHIVE and MEMBER as in
 * analysis_json_set_origin(). The bytes are json_dumps(JSON_COMPACT) of
 * the same object. DF_OK, DF_ELIMIT (SB's cap) or DF_ENOMEM.
 */
int analysis_json_write(struct strbuf *sb, const struct analysis *a,
			const char *source, const char *archive,
			const char *member);

/*
 * New JSON object for A (caller owns the reference): the text of
 * analysis_json_write() read back, for callers that want a tree. NULL
 * on ENOMEM.
 */
json_t *analysis_to_json(const struct analysis *a, const char *source);

/*
 * Add where the input came from to O: "archive" and "member" when ARCHIVE
 * is set and not empty (a file unpacked from an archive), else nothing.
 */
void analysis_json_set_origin(json_t *o, const char *archive,
			      const char *member);

/*
 * Copy of S with every byte sequence that is not valid UTF-8 replaced by
 * U+FFFD and control characters other than tab/newline kept (JSON escapes
 * them). Caller frees. NULL on ENOMEM. S NULL gives NULL.
 */
char *utf8_sanitize(const char *s);

#endif /* WORKER_ANALYSIS_JSON_H */
