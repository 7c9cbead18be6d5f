/* Unit tests for common/: reader, arena, strbuf, diag, hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "arena.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "mapfile.h"
#include "reader.h"
#include "strbuf.h"
#include "testutil.h"

static void test_reader__decodes_little_endian(void **state)
{
	(void)state;
	const uint8_t b[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct reader r;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	reader_init(&r, b, sizeof(b));
	assert_int_equal(reader_u8(&r, &u8), DF_OK);
	assert_int_equal(u8, 1);
	assert_int_equal(reader_u16le(&r, &u16), DF_OK);
	assert_int_equal(u16, 0x0302);
	assert_int_equal(reader_u32le(&r, &u32), DF_OK);
	assert_int_equal(u32, 0x07060504);
	assert_int_equal(reader_u64le(&r, &u64), DF_OK);
	assert_true(u64 == 0x0f0e0d0c0b0a0908ULL);
	assert_true(reader_at_end(&r));
}

static void test_reader__past_end_fails_and_keeps_position(void **state)
{
	(void)state;
	const uint8_t b[6] = { 0 };
	struct reader r;
	uint64_t v;
	uint32_t w;

	reader_init(&r, b, sizeof(b));
	assert_int_equal(reader_skip(&r, 3), DF_OK);
	assert_int_equal(reader_u64le(&r, &v), DF_ETRUNC);
	assert_int_equal(reader_u32le(&r, &w), DF_ETRUNC);
	assert_int_equal(r.pos, 3);
	assert_int_equal(reader_skip(&r, 4), DF_ETRUNC);
	assert_int_equal(reader_seek(&r, 7), DF_ETRUNC);
	assert_int_equal(reader_seek(&r, 6), DF_OK);
	assert_true(reader_at_end(&r));
}

static void test_reader__sub_rejects_offset_overflow(void **state)
{
	(void)state;
	const uint8_t b[16] = { 0 };
	struct reader r, sub;

	reader_init(&r, b, sizeof(b));
	assert_int_equal(reader_sub(&r, UINT64_MAX - 1, 4, &sub), DF_ETRUNC);
	assert_int_equal(reader_sub(&r, 8, UINT64_MAX, &sub), DF_ETRUNC);
	assert_int_equal(reader_sub(&r, 17, 0, &sub), DF_ETRUNC);
	assert_int_equal(reader_sub(&r, 8, 8, &sub), DF_OK);
	assert_int_equal(sub.len, 8);
	assert_int_equal(reader_offset(&sub), 8);
}

static void test_reader__peek_checks_bounds(void **state)
{
	(void)state;
	const uint8_t b[8] = { 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0 };
	struct reader r;
	uint32_t v;
	uint64_t q;

	reader_init(&r, b, sizeof(b));
	assert_int_equal(reader_peek_u32le(&r, 0, &v), DF_OK);
	assert_int_equal(v, 0x12345678);
	assert_int_equal(reader_peek_u32le(&r, 5, &v), DF_ETRUNC);
	assert_int_equal(reader_peek_u64le(&r, 1, &q), DF_ETRUNC);
	assert_int_equal(reader_peek_u64le(&r, UINT64_MAX, &q), DF_ETRUNC);
}

/* A source that records the last range asked for and may refuse. */
struct fill {
	uint64_t off, n;
	unsigned calls;
	bool refuse;
};

static int fill_ensure(void *ctx, uint64_t off, uint64_t n)
{
	struct fill *f = ctx;

	f->off = off;
	f->n = n;
	f->calls++;
	return f->refuse ? DF_EIO : DF_OK;
}

/* Every byte handed out is asked for first, at its offset in the input. */
static void test_reader__source_is_asked_before_bytes(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct fill f = { 0, 0, 0, false };
	struct reader_src src = { fill_ensure, &f };
	struct reader r, sub;
	uint32_t v32;
	uint16_t v16;
	uint64_t v64;
	const uint8_t *p;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	reader_init(&r, buf, sizeof(buf));
	assert_null(r.src);
	reader_set_src(&r, &src);
	assert_int_equal(reader_seek(&r, 4), DF_OK);
	assert_int_equal(f.calls, 0);
	assert_int_equal(reader_u32le(&r, &v32), DF_OK);
	assert_int_equal(f.off, 4);
	assert_int_equal(f.n, 4);
	/* A sub-view carries the source; offsets are the whole input's. */
	assert_int_equal(reader_sub(&r, 16, 32, &sub), DF_OK);
	assert_int_equal(reader_peek_u64le(&sub, 8, &v64), DF_OK);
	assert_int_equal(f.off, 24);
	assert_int_equal(f.n, 8);
	assert_int_equal(reader_ptr(&sub, 10, &p), DF_OK);
	assert_int_equal(f.off, 16);
	assert_int_equal(f.n, 10);
	assert_ptr_equal(reader_at(&sub, 20, 12), buf + 36);
	assert_int_equal(f.off, 36);
	assert_int_equal(f.n, 12);
	/* Out of bounds: refused before the source is bothered. */
	unsigned calls = f.calls;

	assert_null(reader_at(&sub, 30, 3));
	assert_int_equal(f.calls, calls);
	/* A refusal fails the read and keeps the position. */
	f.refuse = true;
	size_t pos = sub.pos;

	assert_int_equal(reader_u16le(&sub, &v16), DF_EIO);
	assert_int_equal(sub.pos, pos);
	assert_int_equal(reader_bytes(&sub, buf, 2), DF_EIO);
	assert_null(reader_at(&sub, 0, 1));
}

static void test_arena__cap_is_enforced(void **state)
{
	(void)state;
	struct arena *a = arena_new(1024);

	assert_non_null(a);
	assert_non_null(arena_alloc(a, 512));
	assert_null(arena_alloc(a, 1024));
	assert_non_null(arena_alloc(a, 100));
	assert_null(arena_alloc(a, SIZE_MAX));
	arena_destroy(&a);
	assert_null(a);
	arena_destroy(&a);
}

static void test_arena__strings_and_push(void **state)
{
	(void)state;
	struct arena *a = arena_new(1 << 20);
	DF_VEC(int) v = { 0 };

	assert_string_equal(arena_strdup(a, "abc"), "abc");
	assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
	assert_string_equal(arena_printf(a, "%d-%s", 7, "x"), "7-x");
	assert_null(arena_strdup(a, NULL));
	for (int i = 0; i < 100; i++) {
		int *slot = DF_VEC_PUSH(a, v, 50);

		if (i < 50) {
			assert_non_null(slot);
			*slot = i;
		} else {
			assert_null(slot);
		}
	}
	assert_int_equal(v.n, 50);
	for (int i = 0; i < 50; i++)
		assert_int_equal(v.v[i], i);
	arena_destroy(&a);
}

static void test_strbuf__cap_leaves_content(void **state)
{
	(void)state;
	struct strbuf sb;

	strbuf_init(&sb, 8);
	assert_string_equal(strbuf_str(&sb), "");
	assert_int_equal(strbuf_adds(&sb, "abcd"), DF_OK);
	assert_int_equal(strbuf_addf(&sb, "%d", 123), DF_OK);
	assert_int_equal(strbuf_adds(&sb, "xyz"), DF_ELIMIT);
	assert_string_equal(strbuf_str(&sb), "abcd123");
	strbuf_reset(&sb);
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_release(&sb);
}

static void test_diag__first_cause_wins(void **state)
{
	(void)state;
	struct diag d;

	diag_init(&d);
	assert_false(diag_failed(&d));
	assert_int_equal(diag_fail_at(&d, DF_ETRUNC, 0x40, "first %d", 1),
			 DF_ETRUNC);
	assert_int_equal(diag_fail(&d, DF_EIO, "second"), DF_EIO);
	assert_true(diag_failed(&d));
	assert_int_equal(d.code, DF_ETRUNC);
	assert_true(d.has_offset);
	assert_string_equal(d.msg, "first 1");
	assert_int_equal(diag_fail(NULL, DF_EIO, "ignored"), DF_EIO);
	assert_string_equal(df_strerror(DF_ETRUNC), "truncated input");
	assert_string_equal(df_strerror(42), "unknown error");
	assert_string_equal(df_strerror(-1000), "unknown error");
}

static void test_hash__sha256_known_value(void **state)
{
	(void)state;
	uint8_t h[HASH_LEN], back[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	assert_int_equal(hash_global_init(), DF_OK);
	hash_sha256("abc", 3, h);
	hash_hex(h, HASH_LEN, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(hash_unhex(hex, back, HASH_LEN), DF_OK);
	assert_memory_equal(h, back, HASH_LEN);
	assert_int_equal(hash_unhex("zz", back, 1), DF_EFORMAT);
}

static void count_chunk(const void *p, size_t n, void *ctx)
{
	size_t *seen = ctx;

	(void)p;
	seen[0]++;
	seen[1] += n;
}

/* Hashing in chunks gives the one-shot hash, whatever the chunk size. */
static void test_hash__chunked_equals_one_shot(void **state)
{
	(void)state;
	uint8_t buf[10000], whole[HASH_LEN], part[HASH_LEN];
	static const size_t chunks[] = { 0, 1, 64, 4096, 9999, 10000, 20000 };

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	hash_sha256(buf, sizeof(buf), whole);
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		size_t seen[2] = { 0, 0 };

		hash_sha256_chunked(buf, sizeof(buf), chunks[i], count_chunk,
				    seen, part);
		assert_memory_equal(whole, part, HASH_LEN);
		assert_int_equal(seen[1], sizeof(buf));
		if (chunks[i] != 0)
			assert_int_equal(seen[0], (sizeof(buf) + chunks[i] - 1) /
							  chunks[i]);
	}
	hash_sha256_chunked(buf, 0, 64, NULL, NULL, part);
	hash_sha256(buf, 0, whole);
	assert_memory_equal(whole, part, HASH_LEN);
}

/* Dropped pages of a mapping read back the same bytes from the file. */
static void test_mapfile__drop_keeps_bytes(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char path[600];
	struct mapfile m;
	struct diag d;
	const size_t len = 3 * 65536 + 123;
	uint8_t *want = malloc(len);

	assert_non_null(dir);
	assert_non_null(want);
	for (size_t i = 0; i < len; i++)
		want[i] = (uint8_t)(i ^ (i >> 9));
	snprintf(path, sizeof(path), "%s/f", dir);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(want, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	diag_init(&d);
	assert_int_equal(mapfile_open(&m, path, &d), DF_OK);
	mapfile_drop(&m, 0, 65536);
	mapfile_drop(&m, 100, 70000);      /* not page aligned */
	mapfile_drop(&m, 65536, len);      /* runs past the end */
	mapfile_drop(&m, len + 5, 10);     /* starts past the end */
	assert_memory_equal(m.data, want, len);
	mapfile_close(&m);
	free(want);
	test_rmtree(dir);
	free(dir);
}

/* A submitted path naming a FIFO used to block the worker slot for ever. */
static void test_mapfile__fifo_is_refused_not_waited_on(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char path[600];
	struct mapfile m;
	struct diag d;

	diag_init(&d);
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10); /* without O_NONBLOCK open() never returns */
	assert_int_equal(mapfile_open(&m, path, &d), DF_EIO);
	alarm(0);
	assert_true(diag_failed(&d));
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader__decodes_little_endian),
		cmocka_unit_test(test_reader__past_end_fails_and_keeps_position),
		cmocka_unit_test(test_reader__sub_rejects_offset_overflow),
		cmocka_unit_test(test_reader__peek_checks_bounds),
		cmocka_unit_test(test_reader__source_is_asked_before_bytes),
		cmocka_unit_test(test_arena__cap_is_enforced),
		cmocka_unit_test(test_arena__strings_and_push),
		cmocka_unit_test(test_strbuf__cap_leaves_content),
		cmocka_unit_test(test_diag__first_cause_wins),
		cmocka_unit_test(test_hash__sha256_known_value),
		cmocka_unit_test(test_mapfile__fifo_is_refused_not_waited_on),
		cmocka_unit_test(test_hash__chunked_equals_one_shot),
		cmocka_unit_test(test_mapfile__drop_keeps_bytes),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
