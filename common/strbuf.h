/*
 * strbuf - a growable, NUL-terminated byte string with a size cap.
 *
 * Used for output (text reports, signatures). Appends past the cap fail with
 * DF_ELIMIT and leave the content unchanged, so a hostile name cannot make
 * an output buffer grow without bound.
 */
#ifndef COMMON_STRBUF_H
#define COMMON_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;  /* content, always NUL-terminated once non-NULL */
	size_t len; /* bytes before the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* most bytes the content may hold */
};

/* Empty buffer that may hold up to MAX bytes. Does not allocate. */
void strbuf_init(struct strbuf *sb, size_t max);

/* Free the content; SB can be initialised again. */
void strbuf_release(struct strbuf *sb);

int strbuf_add(struct strbuf *sb, const void *data, size_t n);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Content as a C string ("" when empty). Valid until the next change. */
const char *strbuf_str(const struct strbuf *sb);

/* Forget the content, keep the allocation. */
void strbuf_reset(struct strbuf *sb);

#endif /* COMMON_STRBUF_H */
