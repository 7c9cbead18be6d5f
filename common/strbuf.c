#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"

void strbuf_init(struct strbuf *sb, size_t max)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->max = max;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb, sb->max);
}

static int grow(struct strbuf *sb, size_t extra)
{
	if (extra > sb->max - sb->len)
		return DF_ELIMIT;
	size_t need = sb->len + extra + 1;

	if (need <= sb->cap)
		return DF_OK;
	size_t ncap = sb->cap ? sb->cap : 64;

	while (ncap < need)
		ncap *= 2;
	char *nb = realloc(sb->buf, ncap);

	if (nb == NULL)
		return DF_ENOMEM;
	sb->buf = nb;
	sb->cap = ncap;
	return DF_OK;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
	int rc = grow(sb, n);

	if (rc != DF_OK)
		return rc;
	if (n > 0)
		memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return DF_OK;
}

int strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;

	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);

	va_end(cp);
	if (n < 0)
		return DF_EFORMAT;
	int rc = grow(sb, (size_t)n);

	if (rc != DF_OK)
		return rc;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return DF_OK;
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int rc = strbuf_vaddf(sb, fmt, ap);

	va_end(ap);
	return rc;
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf != NULL ? sb->buf : "";
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf != NULL)
		sb->buf[0] = '\0';
}
