#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
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

static const char *const level_names[] = { "error", "warn", "info",
					   "debug" };

void log_setup(const char *program, enum log_level max)
{
	if (program != NULL)
		log_program = program;
	atomic_store(&log_max, (int)max);
}

enum log_level log_level_get(void)
{
	return (enum log_level)atomic_load(&log_max);
}

int log_level_lookup(const char *s, enum log_level *out)
{
	for (int i = 0; s != NULL && i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

enum log_level log_level_parse(const char *s)
{
	enum log_level l = LL_WARN;

	log_level_lookup(s, &l);
	return l;
}

/* Append byte C to OUT (at *K, N bytes) escaped when it is not plain. */
static void put_escaped(char *out, size_t n, size_t *k, unsigned char c,
			bool quoting)
{
	char esc[5];
	size_t len;

	if (c == '\n' || c == '\t' || c == '\r')
		len = (size_t)snprintf(esc, sizeof(esc), "\\%c",
				       c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
	else if (c < 32 || c == 127 || (quoting && c >= 128))
		len = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
	else if (quoting && (c == '"' || c == '\\'))
		len = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
	else
		len = (size_t)snprintf(esc, sizeof(esc), "%c", c);
	if (*k + len < n) {
		memcpy(out + *k, esc, len);
		*k += len;
	}
}

const char *log_quote(char *out, size_t n, const char *s)
{
	size_t k = 0;

	if (n < 8) {
		if (n > 0)
			out[0] = '\0';
		return out;
	}
	out[k++] = '"';
	for (size_t i = 0; s != NULL && s[i] != '\0'; i++) {
		/* Room for the longest escape, "..." and the closing quote. */
		if (k + 4 + 4 >= n) {
			memcpy(out + k, "...", 3);
			k += 3;
			break;
		}
		put_escaped(out, n, &k, (unsigned char)s[i], true);
	}
	out[k++] = '"';
	out[k] = '\0';
	return out;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if ((int)lvl > atomic_load(&log_max))
		return;
	char raw[LOG_MAX_LINE], line[LOG_MAX_LINE];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t k = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* One event, one line, whatever a formatted value held. */
	for (size_t i = 0; raw[i] != '\0'; i++)
		put_escaped(line, sizeof(line), &k, (unsigned char)raw[i],
			    false);
	line[k] = '\0';
	fprintf(stderr, "ts=%s.%03ldZ prog=%s pid=%ld level=%s %s\n", stamp,
		ts.tv_nsec / 1000000, log_program, (long)getpid(),
		level_names[lvl], line);
}
