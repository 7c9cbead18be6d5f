#include "jsonw.h"

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
 * Runs of plain bytes are copied whole; multi-byte UTF-8 sequences have
 * no byte below 0x80, so a byte at a time finds every escape.
 */
static int put_string(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0;
	int rc = strbuf_add(sb, "\"", 1);

	for (size_t i = 0; rc == DF_OK && i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!needs_escape(c))
			continue;
		rc = strbuf_add(sb, s + run, i - run);
		run = i + 1;
		const char *e = short_escape(c);

		if (rc != DF_OK)
			break;
		if (e != NULL) {
			rc = strbuf_add(sb, e, 2);
		} else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				      hex[c & 15] };

			rc = strbuf_add(sb, u, sizeof(u));
		}
	}
	if (rc == DF_OK)
		rc = strbuf_add(sb, s + run, len - run);
	return rc == DF_OK ? strbuf_add(sb, "\"", 1) : rc;
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
	return strbuf_add(sb, buf + i, sizeof(buf) - i);
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
		w->rc = strbuf_add(w->sb, ",", 1);
	return w->rc == DF_OK;
}

static void token(struct jsonw *w, const char *t, size_t n, bool value_done)
{
	if (w->rc == DF_OK)
		w->rc = strbuf_add(w->sb, t, n);
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

void jsonw_key(struct jsonw *w, const char *key)
{
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
