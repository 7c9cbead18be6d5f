#include "hash.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"

int hash_global_init(void)
{
	return sodium_init() < 0 ? DF_ENOMEM : DF_OK;
}

void hash_sha256(const void *data, size_t n, uint8_t out[HASH_LEN])
{
	crypto_hash_sha256(out, data, n);
}

void hash_sha256_chunked(const void *data, size_t n, size_t chunk,
			 void (*done)(const void *p, size_t n, void *ctx),
			 void *ctx, uint8_t out[HASH_LEN])
{
	const unsigned char *p = data;
	crypto_hash_sha256_state st;

	if (chunk == 0)
		chunk = n;
	crypto_hash_sha256_init(&st);
	while (n > 0) {
		size_t c = n < chunk ? n : chunk;

		crypto_hash_sha256_update(&st, p, c);
		if (done != NULL)
			done(p, c, ctx);
		p += c;
		n -= c;
	}
	crypto_hash_sha256_final(&st, out);
}

void hash_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hash_unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]);
		int lo = hi < 0 ? -1 : nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return DF_EFORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return DF_OK;
}

int hash_file(const char *path, uint8_t out[HASH_LEN], uint64_t *size)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return DF_EIO;
	crypto_hash_sha256_state st;
	unsigned char buf[65536];
	uint64_t total = 0;
	size_t n;

	crypto_hash_sha256_init(&st);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		crypto_hash_sha256_update(&st, buf, n);
		total += n;
	}
	int err = ferror(f);

	fclose(f);
	if (err)
		return DF_EIO;
	crypto_hash_sha256_final(&st, out);
	if (size != NULL)
		*size = total;
	return DF_OK;
}

struct hash_stream {
	crypto_hash_sha256_state st;
};

struct hash_stream *hash_stream_new(void)
{
	struct hash_stream *h = malloc(sizeof(*h));

	if (h != NULL)
		crypto_hash_sha256_init(&h->st);
	return h;
}

void hash_stream_update(struct hash_stream *h, const void *data, size_t n)
{
	crypto_hash_sha256_update(&h->st, data, n);
}

void hash_stream_final(struct hash_stream *h, uint8_t out[HASH_LEN])
{
	crypto_hash_sha256_final(&h->st, out);
}

void hash_stream_destroy(struct hash_stream **hp)
{
	if (hp == NULL || *hp == NULL)
		return;
	sodium_memzero(*hp, sizeof(**hp));
	free(*hp);
	*hp = NULL;
}
