/*
 * log - one line per event on stderr: time, program[pid], level, key=value.
 *
 * The threshold is process-wide and set once by main() before any thread
 * starts (DUMPFLEET_LOG or --verbose); it is read-only afterwards. Quiet by
 * default: only errors and warnings are printed.
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

enum log_level {
	LL_ERROR = 0,
	LL_WARN = 1,
	LL_INFO = 2,
	LL_DEBUG = 3,
};

/* Set the program name and the most verbose level printed. */
void log_setup(const char *program, enum log_level max);

/* Parse "error", "warn", "info" or "debug"; returns LL_WARN otherwise. */
enum log_level log_level_parse(const char *s);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* COMMON_LOG_H */
