#include "reader.h"

#include <string.h>

#include "df.h"

void reader_init(struct reader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = data != NULL ? len : 0;
	r->pos = 0;
	r->base = 0;
	r->src = NULL;
}

void reader_set_src(struct reader *r, const struct reader_src *src)
{
	r->src = src;
}

/* Bytes [OFF, OFF+N) of the view made resident; DF_EIO when they cannot. */
static int resident(const struct reader *r, uint64_t off, uint64_t n)
{
	if (r->src == NULL || n == 0)
		return DF_OK;
	return r->src->ensure(r->src->ctx, r->base + off, n) == DF_OK
		       ? DF_OK
		       : DF_EIO;
}

int reader_sub(const struct reader *r, uint64_t off, uint64_t n,
	       struct reader *out)
{
	if (off > r->len || n > r->len - off)
		return DF_ETRUNC;
	out->data = r->data + off;
	out->len = (size_t)n;
	out->pos = 0;
	out->base = r->base + off;
	out->src = r->src;
	return DF_OK;
}

const uint8_t *reader_at(const struct reader *r, uint64_t off, size_t n)
{
	if (off > r->len || n > r->len - off || resident(r, off, n) != DF_OK)
		return NULL;
	return r->data + off;
}

int reader_seek(struct reader *r, uint64_t off)
{
	if (off > r->len)
		return DF_ETRUNC;
	r->pos = (size_t)off;
	return DF_OK;
}

int reader_skip(struct reader *r, uint64_t n)
{
	if (n > r->len - r->pos)
		return DF_ETRUNC;
	r->pos += (size_t)n;
	return DF_OK;
}

size_t reader_remaining(const struct reader *r)
{
	return r->len - r->pos;
}

bool reader_at_end(const struct reader *r)
{
	return r->pos >= r->len;
}

uint64_t reader_offset(const struct reader *r)
{
	return r->base + r->pos;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

static int read_le(struct reader *r, size_t n, uint64_t *out)
{
	if (n > r->len - r->pos)
		return DF_ETRUNC;
	if (resident(r, r->pos, n) != DF_OK)
		return DF_EIO;
	*out = load_le(r->data + r->pos, n);
	r->pos += n;
	return DF_OK;
}

int reader_u8(struct reader *r, uint8_t *out)
{
	uint64_t v;
	int rc = read_le(r, 1, &v);

	if (rc == DF_OK)
		*out = (uint8_t)v;
	return rc;
}

int reader_u16le(struct reader *r, uint16_t *out)
{
	uint64_t v;
	int rc = read_le(r, 2, &v);

	if (rc == DF_OK)
		*out = (uint16_t)v;
	return rc;
}

int reader_u32le(struct reader *r, uint32_t *out)
{
	uint64_t v;
	int rc = read_le(r, 4, &v);

	if (rc == DF_OK)
		*out = (uint32_t)v;
	return rc;
}

int reader_u64le(struct reader *r, uint64_t *out)
{
	return read_le(r, 8, out);
}

int reader_bytes(struct reader *r, void *out, size_t n)
{
	if (n > r->len - r->pos)
		return DF_ETRUNC;
	if (resident(r, r->pos, n) != DF_OK)
		return DF_EIO;
	if (n > 0)
		memcpy(out, r->data + r->pos, n);
	r->pos += n;
	return DF_OK;
}

int reader_ptr(struct reader *r, size_t n, const uint8_t **out)
{
	if (n > r->len - r->pos)
		return DF_ETRUNC;
	if (resident(r, r->pos, n) != DF_OK)
		return DF_EIO;
	*out = r->data + r->pos;
	r->pos += n;
	return DF_OK;
}

int reader_peek_u32le(const struct reader *r, uint64_t off, uint32_t *out)
{
	if (off > r->len || 4 > r->len - off)
		return DF_ETRUNC;
	if (resident(r, off, 4) != DF_OK)
		return DF_EIO;
	*out = (uint32_t)load_le(r->data + off, 4);
	return DF_OK;
}

int reader_peek_u64le(const struct reader *r, uint64_t off, uint64_t *out)
{
	if (off > r->len || 8 > r->len - off)
		return DF_ETRUNC;
	if (resident(r, off, 8) != DF_OK)
		return DF_EIO;
	*out = load_le(r->data + off, 8);
	return DF_OK;
}
