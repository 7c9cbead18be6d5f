#include "textsafe.h"

#include <stdio.h>

/* Lead byte -> sequence length, smallest value and first continuation range
 * (RFC 3629 table 2; narrowing the second byte's range is what rejects
 * overlong forms, surrogates and values past U+10FFFF). */
struct lead {
	unsigned char lo, hi;   /* lead byte range */
	unsigned len;           /* bytes in the sequence */
	unsigned char lo2, hi2; /* allowed second byte */
	uint32_t mask;          /* payload bits of the lead byte */
};

static const struct lead leads[] = {
	{ 0xC2, 0xDF, 2, 0x80, 0xBF, 0x1F },
	{ 0xE0, 0xE0, 3, 0xA0, 0xBF, 0x0F },
	{ 0xE1, 0xEC, 3, 0x80, 0xBF, 0x0F },
	{ 0xED, 0xED, 3, 0x80, 0x9F, 0x0F },
	{ 0xEE, 0xEF, 3, 0x80, 0xBF, 0x0F },
	{ 0xF0, 0xF0, 4, 0x90, 0xBF, 0x07 },
	{ 0xF1, 0xF3, 4, 0x80, 0xBF, 0x07 },
	{ 0xF4, 0xF4, 4, 0x80, 0x8F, 0x07 },
};

static const struct lead *lead_find(unsigned char b)
{
	for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++)
		if (b >= leads[i].lo && b <= leads[i].hi)
			return &leads[i];
	return NULL;
}

void textsafe_next(const char *s, size_t len, size_t *pos, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s + *pos;
	size_t left = len - *pos;
	const struct lead *l;

	*cp = TEXTSAFE_REPLACEMENT;
	if (p[0] < 0x80) {
		*cp = p[0];
		*pos += 1;
		return;
	}
	l = lead_find(p[0]);
	*pos += 1;
	if (l == NULL || left < l->len || p[1] < l->lo2 || p[1] > l->hi2)
		return;
	uint32_t v = p[0] & l->mask;

	for (unsigned i = 1; i < l->len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return;
		v = (v << 6) | (p[i] & 0x3Fu);
	}
	*cp = v;
	*pos += l->len - 1;
}

bool textsafe_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
	       (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
	       cp == 0x200F || cp == 0x061C;
}

size_t textsafe_escape(uint32_t cp, char buf[TEXTSAFE_ESCAPE_MAX])
{
	int n;

	if (cp < 0x80)
		n = snprintf(buf, TEXTSAFE_ESCAPE_MAX, "\\x%02x", (unsigned)cp);
	else
		n = snprintf(buf, TEXTSAFE_ESCAPE_MAX, "\\u%04x",
			     (unsigned)(cp & 0xFFFF));
	return n > 0 && n < TEXTSAFE_ESCAPE_MAX ? (size_t)n : 0;
}

size_t textsafe_encode(uint32_t cp, char buf[TEXTSAFE_UTF8_MAX])
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xC0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xE0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		buf[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	buf[0] = (char)(0xF0 | (cp >> 18));
	buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	buf[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}
