#include "jsonw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "strbuf.h"

/* Escape for the bytes that need one ('"', '\\', below 0x20), else 0. */
static const char *short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

static int needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/*
 * strbuf_add with the common case (room already allocated) inline: the
 * call per token was a tenth of the instructions of `analyze --json`.
 */
static inline int put(struct strbuf *sb, const void *p, size_t n)
{
	if (sb->buf == NULL || n >= sb->cap - sb->len || n > sb->max - sb->len)
		return strbuf_add(sb, p, n);
	memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return DF_OK;
}

#define BYTES(b) (0x0101010101010101ULL * (b))

/*
 * Whether any of the 8 bytes at P needs an escape, a word at a time (the
 * classic has-zero-byte and has-byte-below tests; a false alarm only
 * sends those bytes through the byte loop).
 */
static bool word_needs_escape(const char *p)
{
	uint64_t x, q, b;

	memcpy(&x, p, sizeof(x));
	q = x ^ BYTES('"');
	b = x ^ BYTES('\\');
	return (((x - BYTES(0x20)) & ~x) | ((q - BYTES(1)) & ~q) |
		((b - BYTES(1)) & ~b)) & BYTES(0x80);
}

/*
 * Runs of plain bytes are copied whole; multi-byte UTF-8 sequences have
 * no byte below 0x80, so a byte at a time finds every escape. Most
 * strings have none: they are scanned 8 bytes at a time.
 */
static int put_string(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;
	int rc = put(sb, "\"", 1);

	for (size_t i = 0; rc == DF_OK && i < len; i++) {
		while (i + 8 <= len && !word_needs_escape(s + i))
			i += 8;
		if (i == len)
			break;
		unsigned char c = (unsigned char)s[i];

		if (!needs_escape(c))
			continue;
		rc = put(sb, s + run, i - run);
		run = i + 1;
		const char *e = short_escape(c);

		if (rc != DF_OK)
			break;
		if (e != NULL) {
			rc = put(sb, e, 2);
		} else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15] };

			rc = put(sb, u, sizeof(u));
		}
	}
	if (rc == DF_OK)
		rc = put(sb, s + run, len - run);
	return rc == DF_OK ? put(sb, "\"", 1) : rc;
}

static int put_integer(struct strbuf *sb, json_int_t v)
{
	char buf[24];
	size_t i = sizeof(buf);
	/* In unsigned arithmetic, so that the most negative value works. */
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;

	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		buf[--i] = '-';
	return put(sb, buf + i, sizeof(buf) - i);
}

void jsonw_init(struct jsonw *w, struct strbuf *sb)
{
	w->sb = sb;
	w->rc = DF_OK;
	w->comma = false;
}

int jsonw_status(const struct jsonw *w)
{
	return w->rc;
}

/* Before a key or a value: the comma after the one before. */
static bool start(struct jsonw *w)
{
	if (w->rc == DF_OK && w->comma)
		w->rc = put(w->sb, ",", 1);
	return w->rc == DF_OK;
}

static void token(struct jsonw *w, const char *t, size_t n, bool value_done)
{
	if (w->rc == DF_OK)
		w->rc = put(w->sb, t, n);
	w->comma = value_done;
}

void jsonw_object_begin(struct jsonw *w)
{
	if (start(w))
		token(w, "{", 1, false);
}

void jsonw_object_end(struct jsonw *w)
{
	token(w, "}", 1, true);
}

void jsonw_array_begin(struct jsonw *w)
{
	if (start(w))
		token(w, "[", 1, false);
}

void jsonw_array_end(struct jsonw *w)
{
	token(w, "]", 1, true);
}

/*
 * A short key without escapes (every key the analysis writes) goes out
 * with its comma, quotes and colon in one append: keys are a third of
 * the tokens.
 */
static bool key_fast(struct jsonw *w, const char *key)
{
	char buf[64]; /* ",\"", the key, "\":" */
	size_t n = 2;

	buf[0] = ',';
	buf[1] = '"';

	for (const char *k = key; *k; k++) {
		if (n + 2 >= sizeof(buf) || needs_escape((unsigned char)*k))
			return false;
		buf[n++] = *k;
	}
	buf[n++] = '"';
	buf[n++] = ':';
	w->rc = w->comma ? put(w->sb, buf, n) : put(w->sb, buf + 1, n - 1);
	w->comma = false;
	return true;
}

void jsonw_key(struct jsonw *w, const char *key)
{
	if (w->rc == DF_OK && key_fast(w, key))
		return;
	if (start(w))
		w->rc = put_string(w->sb, key, strlen(key));
	token(w, ":", 1, false);
}

void jsonw_string(struct jsonw *w, const char *s)
{
	if (s == NULL) {
		jsonw_null(w);
		return;
	}
	if (start(w))
		w->rc = put_string(w->sb, s, strlen(s));
	w->comma = true;
}

void jsonw_integer(struct jsonw *w, json_int_t v)
{
	if (start(w))
		w->rc = put_integer(w->sb, v);
	w->comma = true;
}

void jsonw_bool(struct jsonw *w, bool v)
{
	if (start(w))
		token(w, v ? "true" : "false", v ? 4 : 5, true);
	w->comma = true;
}

void jsonw_null(struct jsonw *w)
{
	if (start(w))
		token(w, "null", 4, true);
	w->comma = true;
}
