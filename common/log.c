#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Process-wide logging configuration: written by log_setup() from main()
 * before threads exist, read by every thread after that.
 */
static _Atomic int log_max = LL_WARN;
static const char *log_program = "dumpfleet";

void log_setup(const char *program, enum log_level max)
{
	if (program != NULL)
		log_program = program;
	atomic_store(&log_max, (int)max);
}

enum log_level log_level_parse(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; s != NULL && i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum log_level)i;
	return LL_WARN;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warn", "info", "debug" };

	if ((int)lvl > atomic_load(&log_max))
		return;
	char line[1024];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s[%ld] level=%s %s\n", stamp,
		ts.tv_nsec / 1000000, log_program, (long)getpid(), tags[lvl],
		line);
}
