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

/* Reals are rare here; jansson's own form keeps them byte-identical. */
static int put_real(struct strbuf *sb, const json_t *j)
{
	char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s == NULL)
		return DF_ENOMEM;
	int rc = strbuf_adds(sb, s);

	free(s);
	return rc;
}

static int put_value(struct strbuf *sb, const json_t *j, int depth);

static int put_array(struct strbuf *sb, const json_t *j, int depth)
{
	size_t n = json_array_size(j);
	int rc = strbuf_add(sb, "[", 1);

	for (size_t i = 0; rc == DF_OK && i < n; i++) {
		if (i > 0)
			rc = strbuf_add(sb, ",", 1);
		if (rc == DF_OK)
			rc = put_value(sb, json_array_get(j, i), depth + 1);
	}
	return rc == DF_OK ? strbuf_add(sb, "]", 1) : rc;
}

static int put_object(struct strbuf *sb, const json_t *j, int depth)
{
	int rc = strbuf_add(sb, "{", 1);
	/* jansson's iterator walks in insertion order, as json_dumps does. */
	void *it = json_object_iter((json_t *)j);

	for (int first = 1; rc == DF_OK && it != NULL; first = 0) {
		if (!first)
			rc = strbuf_add(sb, ",", 1);
		if (rc == DF_OK)
			rc = put_string(sb, json_object_iter_key(it),
					json_object_iter_key_len(it));
		if (rc == DF_OK)
			rc = strbuf_add(sb, ":", 1);
		if (rc == DF_OK)
			rc = put_value(sb, json_object_iter_value(it),
				       depth + 1);
		it = json_object_iter_next((json_t *)j, it);
	}
	return rc == DF_OK ? strbuf_add(sb, "}", 1) : rc;
}

static int put_value(struct strbuf *sb, const json_t *j, int depth)
{
	if (j == NULL)
		return DF_EUSAGE;
	if (depth > JSONW_MAX_DEPTH)
		return DF_ELIMIT;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return put_object(sb, j, depth);
	case JSON_ARRAY:
		return put_array(sb, j, depth);
	case JSON_STRING:
		return put_string(sb, json_string_value(j),
				  json_string_length(j));
	case JSON_INTEGER:
		return put_integer(sb, json_integer_value(j));
	case JSON_REAL:
		return put_real(sb, j);
	case JSON_TRUE:
		return strbuf_add(sb, "true", 4);
	case JSON_FALSE:
		return strbuf_add(sb, "false", 5);
	case JSON_NULL:
		return strbuf_add(sb, "null", 4);
	}
	return DF_ELIMIT;
}

int jsonw_append(struct strbuf *sb, const json_t *j)
{
	return put_value(sb, j, 0);
}
