/*
 * Unit tests for common/hash: FIPS 180 vectors through every SHA-256
 * code this CPU runs, and the SHA-NI code against libsodium's over many
 * lengths, contents and split points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "df.h"
#include "hash.h"
#include "testutil.h"

static const enum hash_impl impls[] = {
	HASH_IMPL_AUTO,
	HASH_IMPL_PORTABLE,
	HASH_IMPL_SHANI,
};

/* xorshift64: the same "random" bytes on every run. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill_random(uint8_t *p, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(next_random(s) >> 24);
}

static void assert_hex(const uint8_t h[HASH_LEN], const char *want)
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex(h, HASH_LEN, hex);
	assert_string_equal(hex, want);
}

/* The digest of DATA through a stream of IMPL, in one update. */
static void stream_once(enum hash_impl impl, const void *data, size_t n,
			uint8_t out[HASH_LEN])
{
	struct hash_stream *h = hash_stream_new_with(impl);

	assert_non_null(h);
	hash_stream_update(h, data, n);
	hash_stream_final(h, out);
	hash_stream_destroy(&h);
	assert_null(h);
}

/* FIPS 180-2 appendix B and the NIST example values. */
static void test_hash__fips_vectors_every_impl(void **state)
{
	(void)state;
	static const struct {
		const char *msg;
		const char *digest;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	uint8_t h[HASH_LEN];
	size_t tested = 0;

	assert_int_equal(hash_global_init(), DF_OK);
	for (size_t i = 0; i < ARRAY_SIZE(impls); i++) {
		if (!hash_impl_available(impls[i])) {
			assert_null(hash_stream_new_with(impls[i]));
			assert_int_equal(hash_sha256_with(impls[i], "", 0, h),
					 DF_EUNSUPPORTED);
			printf("# impl %d not on this CPU\n", (int)impls[i]);
			continue;
		}
		tested++;
		for (size_t j = 0; j < ARRAY_SIZE(v); j++) {
			size_t n = strlen(v[j].msg);

			assert_int_equal(hash_sha256_with(impls[i], v[j].msg,
							  n, h), DF_OK);
			assert_hex(h, v[j].digest);
			stream_once(impls[i], v[j].msg, n, h);
			assert_hex(h, v[j].digest);
		}
		/* A million 'a', fed in uneven pieces. */
		struct hash_stream *s = hash_stream_new_with(impls[i]);
		static char a[1000];

		memset(a, 'a', sizeof(a));
		assert_non_null(s);
		for (size_t left = 1000000, k = 1; left > 0; k = k % 997 + 1) {
			size_t c = k < left ? k : left;

			hash_stream_update(s, a, c);
			left -= c;
		}
		hash_stream_final(s, h);
		hash_stream_destroy(&s);
		assert_hex(h, "cdc76e5c9914fb9281a1c7e284d73e67"
			      "f1809a48a497200e046d39ccc7112cd0");
	}
	assert_true(tested >= 2);
	assert_true(strcmp(hash_impl_name(), "sha-ni") == 0 ||
		    strcmp(hash_impl_name(), "portable") == 0);
	assert_int_equal(hash_impl_available(HASH_IMPL_SHANI),
			 strcmp(hash_impl_name(), "sha-ni") == 0);
}

/* Every length across the block and padding boundaries, random bytes. */
static void test_hash__shani_matches_portable_every_length(void **state)
{
	(void)state;
	if (!hash_impl_available(HASH_IMPL_SHANI))
		skip();
	uint64_t seed = 0x9e3779b97f4a7c15u;
	uint8_t buf[1101], ni[HASH_LEN], port[HASH_LEN], auto_[HASH_LEN];

	fill_random(buf, sizeof(buf), &seed);
	for (size_t len = 0; len <= 1100; len++) {
		/* Odd starts too, so no load relies on alignment. */
		const uint8_t *p = buf + len % 2;

		assert_int_equal(hash_sha256_with(HASH_IMPL_SHANI, p, len, ni),
				 DF_OK);
		assert_int_equal(hash_sha256_with(HASH_IMPL_PORTABLE, p, len,
						  port), DF_OK);
		hash_sha256(p, len, auto_);
		assert_memory_equal(ni, port, HASH_LEN);
		assert_memory_equal(ni, auto_, HASH_LEN);
	}
}

/* Megabytes fed to both streams in random pieces, some tiny, some huge. */
static void test_hash__shani_streams_with_random_splits(void **state)
{
	(void)state;
	if (!hash_impl_available(HASH_IMPL_SHANI))
		skip();
	uint64_t seed = 0x0123456789abcdefu;
	static const size_t sizes[] = { 1 << 20, 3 * (1 << 20) + 17,
					4 * (1 << 20) - 1 };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];
		uint8_t *buf = malloc(n);
		uint8_t ni[HASH_LEN], port[HASH_LEN], once[HASH_LEN];

		assert_non_null(buf);
		fill_random(buf, n, &seed);
		struct hash_stream *a = hash_stream_new_with(HASH_IMPL_SHANI);
		struct hash_stream *b =
			hash_stream_new_with(HASH_IMPL_PORTABLE);

		assert_non_null(a);
		assert_non_null(b);
		for (size_t off = 0; off < n;) {
			uint64_t r = next_random(&seed);
			/* Mostly under a block, sometimes up to 256 KiB. */
			size_t c = (r & 3) ? (r >> 8) % 130
					   : (r >> 8) % (256 * 1024);

			if (c > n - off)
				c = n - off;
			hash_stream_update(a, buf + off, c);
			hash_stream_update(b, buf + off, c);
			off += c;
		}
		hash_stream_final(a, ni);
		hash_stream_final(b, port);
		hash_stream_destroy(&a);
		hash_stream_destroy(&b);
		assert_memory_equal(ni, port, HASH_LEN);
		hash_sha256_chunked(buf, n, 65536 + 13, NULL, NULL, once);
		assert_memory_equal(ni, once, HASH_LEN);
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash__fips_vectors_every_impl),
		cmocka_unit_test(test_hash__shani_matches_portable_every_length),
		cmocka_unit_test(test_hash__shani_streams_with_random_splits),
	};
	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
