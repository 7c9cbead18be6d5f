/*
 * log - one line per event on stderr, every field key=value:
 *
 *   ts=2026-01-02T03:04:05.678Z prog=dumpfleet pid=42 level=warn event=...
 *
 * The threshold is process-wide and set by main() before any thread
 * starts (DUMPFLEET_LOG, --log-level, -v); it is read-only afterwards.
 * Quiet by default: only errors and warnings are printed. A message can
 * never span lines: control characters in it are written as \n, \t or
 * \xNN. Values that come from peers or files go through log_quote().
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>

enum log_level {
	LL_ERROR = 0,
	LL_WARN = 1,
	LL_INFO = 2,
	LL_DEBUG = 3,
};

#define LOG_MAX_LINE 1024 /* bytes of one message; longer ones are cut */

/* Set the program name and the most verbose level printed. */
void log_setup(const char *program, enum log_level max);

/* The most verbose level printed now. */
enum log_level log_level_get(void);

/* Parse "error", "warn", "info" or "debug"; returns LL_WARN otherwise. */
enum log_level log_level_parse(const char *s);

/* As log_level_parse, but 0 on success and -1 for any other S. */
int log_level_lookup(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * S as a double-quoted value for a key=value field, into OUT (N bytes):
 * '"' and '\' escaped, control and non-ASCII bytes as \xNN, cut to fit
 * (a cut value ends in "..."). Returns OUT.
 */
const char *log_quote(char *out, size_t n, const char *s);

#endif /* COMMON_LOG_H */
