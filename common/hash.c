#include "hash.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"

#if defined(__x86_64__) || defined(__i386__)
#define HASH_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define HASH_HAVE_SHANI 0
#endif

/* SHA-256 with the x86 SHA extensions, FIPS 180-4 section 6.2. */
struct shani_state {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t buf[64];
	size_t used;
};

/* One running hash: libsodium's portable code or the SHA-NI code. */
struct sha256_ctx {
	enum hash_impl impl;
	union {
		crypto_hash_sha256_state sodium;
		struct shani_state ni;
	} u;
};

#if HASH_HAVE_SHANI
/* FIPS 180-4 4.2.2: cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/*
 * CPUID leaf 7 EBX bit 29 is SHA; the code also needs SSSE3 (byte
 * shuffle) and SSE4.1 (blend), leaf 1 ECX bits 9 and 19.
 */
static int cpu_has_shani(void)
{
	unsigned a, b, c, d;

	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 29)) != 0;
}

#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/*
 * Four rounds: SHA256RNDS2 does two with the low half of W+K, then two
 * with the high half. ABEF and CDGH (the register layout the instruction
 * wants) swap roles after each pair, so after four they are back.
 */
SHANI_TARGET static inline void shani_rounds4(__m128i *abef, __m128i *cdgh,
					       __m128i w, int i)
{
	__m128i wk = _mm_add_epi32(
		w, _mm_loadu_si128((const __m128i *)&sha256_k[i]));

	*cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
	*abef = _mm_sha256rnds2_epu32(*abef, *cdgh,
				      _mm_shuffle_epi32(wk, 0x0e));
}

/*
 * W[t..t+3] from the last sixteen words, held as four vectors (W[t-16..],
 * W[t-12..], W[t-8..], W[t-4..]): MSG1 adds sigma0, the alignr brings in
 * W[t-7..t-4], MSG2 adds sigma1.
 */
SHANI_TARGET static inline __m128i shani_schedule(__m128i w16, __m128i w12,
						  __m128i w8, __m128i w4)
{
	__m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(w16, w12),
				  _mm_alignr_epi8(w4, w8, 4));

	return _mm_sha256msg2_epu32(t, w4);
}

/* Compress NBLOCKS 64-byte blocks at P into H. */
SHANI_TARGET static void shani_blocks(uint32_t h[8], const uint8_t *p,
				      size_t nblocks)
{
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5,
					   6, 7, 0, 1, 2, 3);
	__m128i dcba = _mm_loadu_si128((const __m128i *)&h[0]);
	__m128i hgfe = _mm_loadu_si128((const __m128i *)&h[4]);
	/* From H0..H7 in order to the lanes SHA256RNDS2 reads. */
	__m128i badc = _mm_shuffle_epi32(dcba, 0xb1);
	__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
	__m128i abef = _mm_alignr_epi8(badc, efgh, 8);
	__m128i cdgh = _mm_blend_epi16(efgh, badc, 0xf0);

	for (; nblocks > 0; nblocks--, p += 64) {
		__m128i save_abef = abef, save_cdgh = cdgh;
		__m128i w[4];

		for (int j = 0; j < 4; j++) {
			w[j] = _mm_shuffle_epi8(
				_mm_loadu_si128((const __m128i *)(p + 16 * j)),
				bswap);
			shani_rounds4(&abef, &cdgh, w[j], 4 * j);
		}
		for (int j = 4; j < 16; j++) {
			w[j & 3] = shani_schedule(w[j & 3], w[(j + 1) & 3],
						  w[(j + 2) & 3],
						  w[(j + 3) & 3]);
			shani_rounds4(&abef, &cdgh, w[j & 3], 4 * j);
		}
		abef = _mm_add_epi32(abef, save_abef);
		cdgh = _mm_add_epi32(cdgh, save_cdgh);
	}
	/* And back to H0..H7. */
	__m128i feba = _mm_shuffle_epi32(abef, 0x1b);
	__m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);

	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(feba, dchg, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dchg, feba, 8));
}
#endif /* HASH_HAVE_SHANI */

static void shani_init(struct shani_state *s)
{
	/* FIPS 180-4 5.3.3: square roots of the first 8 primes. */
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->bytes = 0;
	s->used = 0;
}

static void shani_update(struct shani_state *s, const uint8_t *p, size_t n)
{
#if HASH_HAVE_SHANI
	s->bytes += n;
	if (s->used > 0) {
		size_t take = 64 - s->used < n ? 64 - s->used : n;

		memcpy(s->buf + s->used, p, take);
		s->used += take;
		p += take;
		n -= take;
		if (s->used < 64)
			return;
		shani_blocks(s->h, s->buf, 1);
		s->used = 0;
	}
	if (n >= 64) {
		shani_blocks(s->h, p, n / 64);
		p += n & ~(size_t)63;
		n &= 63;
	}
	if (n > 0) /* p may be NULL when the caller gives no bytes */
		memcpy(s->buf, p, n);
	s->used = n;
#else
	(void)s;
	(void)p;
	(void)n;
	abort(); /* never chosen: hash_impl_available() says no */
#endif
}

/* FIPS 180-4 5.1.1: 0x80, zeros, then the length in bits, big-endian. */
static void shani_final(struct shani_state *s, uint8_t out[HASH_LEN])
{
	uint8_t pad[72] = { 0x80 };
	uint64_t bits = s->bytes * 8;
	size_t padlen = (s->used < 56 ? 56 : 120) - s->used;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	shani_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

/*
 * CPUID traps to the hypervisor on virtual machines (15 us a call on the
 * build machine, longer than hashing a small dump), so it is asked once
 * per process. The answer is a fact about the CPU, the same for every
 * thread and every call: a constant that cannot be known at build time,
 * not state.
 */
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static enum hash_impl detected = HASH_IMPL_PORTABLE;

static void detect(void)
{
#if HASH_HAVE_SHANI
	if (cpu_has_shani())
		detected = HASH_IMPL_SHANI;
#endif
}

static enum hash_impl best_impl(void)
{
	pthread_once(&detect_once, detect);
	return detected;
}

int hash_impl_available(enum hash_impl impl)
{
	switch (impl) {
	case HASH_IMPL_AUTO:
	case HASH_IMPL_PORTABLE:
		return 1;
	case HASH_IMPL_SHANI:
		return best_impl() == HASH_IMPL_SHANI;
	}
	return 0;
}

const char *hash_impl_name(void)
{
	return best_impl() == HASH_IMPL_SHANI ? "sha-ni" : "portable";
}

static void ctx_init(struct sha256_ctx *c, enum hash_impl impl)
{
	c->impl = impl == HASH_IMPL_AUTO ? best_impl() : impl;
	if (c->impl == HASH_IMPL_SHANI)
		shani_init(&c->u.ni);
	else
		crypto_hash_sha256_init(&c->u.sodium);
}

static void ctx_update(struct sha256_ctx *c, const void *p, size_t n)
{
	if (c->impl == HASH_IMPL_SHANI)
		shani_update(&c->u.ni, p, n);
	else
		crypto_hash_sha256_update(&c->u.sodium, p, n);
}

static void ctx_final(struct sha256_ctx *c, uint8_t out[HASH_LEN])
{
	if (c->impl == HASH_IMPL_SHANI)
		shani_final(&c->u.ni, out);
	else
		crypto_hash_sha256_final(&c->u.sodium, out);
}

int hash_global_init(void)
{
	if (sodium_init() < 0)
		return DF_ENOMEM;
	best_impl(); /* so that no analysis pays for the CPUID */
	return DF_OK;
}

static void sha256_one(enum hash_impl impl, const void *data, size_t n,
		       uint8_t out[HASH_LEN])
{
	struct sha256_ctx c;

	ctx_init(&c, impl);
	ctx_update(&c, data, n);
	ctx_final(&c, out);
}

int hash_sha256_with(enum hash_impl impl, const void *data, size_t n,
		     uint8_t out[HASH_LEN])
{
	if (!hash_impl_available(impl))
		return DF_EUNSUPPORTED;
	sha256_one(impl, data, n, out);
	return DF_OK;
}

void hash_sha256(const void *data, size_t n, uint8_t out[HASH_LEN])
{
	sha256_one(HASH_IMPL_AUTO, data, n, out);
}

void hash_sha256_chunked(const void *data, size_t n, size_t chunk,
			 void (*done)(const void *p, size_t n, void *ctx),
			 void *ctx, uint8_t out[HASH_LEN])
{
	const unsigned char *p = data;
	struct sha256_ctx c;

	if (chunk == 0)
		chunk = n;
	ctx_init(&c, HASH_IMPL_AUTO);
	while (n > 0) {
		size_t len = n < chunk ? n : chunk;

		ctx_update(&c, p, len);
		if (done != NULL)
			done(p, len, ctx);
		p += len;
		n -= len;
	}
	ctx_final(&c, out);
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
	struct sha256_ctx c;
	unsigned char buf[65536];
	uint64_t total = 0;
	size_t n;

	ctx_init(&c, HASH_IMPL_AUTO);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		ctx_update(&c, buf, n);
		total += n;
	}
	int err = ferror(f);

	fclose(f);
	if (err)
		return DF_EIO;
	ctx_final(&c, out);
	if (size != NULL)
		*size = total;
	return DF_OK;
}

struct hash_stream {
	struct sha256_ctx c;
};

struct hash_stream *hash_stream_new_with(enum hash_impl impl)
{
	if (!hash_impl_available(impl))
		return NULL;
	struct hash_stream *h = malloc(sizeof(*h));

	if (h != NULL)
		ctx_init(&h->c, impl);
	return h;
}

struct hash_stream *hash_stream_new(void)
{
	return hash_stream_new_with(HASH_IMPL_AUTO);
}

void hash_stream_update(struct hash_stream *h, const void *data, size_t n)
{
	ctx_update(&h->c, data, n);
}

void hash_stream_final(struct hash_stream *h, uint8_t out[HASH_LEN])
{
	ctx_final(&h->c, out);
}

void hash_stream_destroy(struct hash_stream **hp)
{
	if (hp == NULL || *hp == NULL)
		return;
	sodium_memzero(*hp, sizeof(**hp));
	free(*hp);
	*hp = NULL;
}
