#include "text.h"

const char *text_path_base(const char *path)
{
	const char *b = path;

	for (const char *p = path; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return b;
}

/* Append the UTF-8 form of CP to OUT at *N (at most 4 bytes). */
static void utf8_put(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xC0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xE0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[(*n)++] = (char)(0xF0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	}
}

static uint32_t unit_at(const uint8_t *p, size_t i)
{
	return (uint32_t)p[2 * i] | ((uint32_t)p[2 * i + 1] << 8);
}

/*
 * A surrogate pair (2 units) gives 4 bytes, every other unit at most 3:
 * 3 bytes per unit always suffice.
 */
size_t text_utf16le_to_utf8(const uint8_t *p, size_t units, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < units; i++) {
		uint32_t u = unit_at(p, i);

		if (u == 0)
			break;
		if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
			uint32_t lo = unit_at(p, i + 1);

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    (lo - 0xDC00);
				i++;
			} else {
				u = 0xFFFD;
			}
		} else if (u >= 0xD800 && u <= 0xDFFF) {
			u = 0xFFFD;
		}
		utf8_put(out, &n, u);
	}
	out[n] = '\0';
	return n;
}
