/* Unit tests for reports/textsafe.c: strict UTF-8 decoding and controls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "df.h"
#include "textsafe.h"

/* Decode all of S (LEN bytes) into CPS; returns the code point count. */
static size_t decode(const char *s, size_t len, uint32_t *cps, size_t max)
{
	size_t pos = 0, n = 0;

	while (pos < len) {
		size_t before = pos;

		assert_true(n < max);
		textsafe_next(s, len, &pos, &cps[n++]);
		assert_true(pos > before && pos <= len);
	}
	return n;
}

static void test_textsafe__valid_sequences_decode(void **state)
{
	(void)state;
	const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			 "\xf4\x8f\xbf\xbf";
	uint32_t cps[8];

	assert_int_equal(decode(s, sizeof(s) - 1, cps, 8), 5);
	assert_int_equal(cps[0], 'a');
	assert_int_equal(cps[1], 0xE9);
	assert_int_equal(cps[2], 0x20AC);
	assert_int_equal(cps[3], 0x1F600);
	assert_int_equal(cps[4], 0x10FFFF);
}

static void test_textsafe__invalid_bytes_become_replacements(void **state)
{
	(void)state;
	/* overlong, surrogate, past U+10FFFF, lone continuation, cut short */
	static const struct {
		const char *s;
		size_t replacements;
	} cases[] = {
		{ "\xc0\xaf", 2 },	   { "\xe0\x80\xaf", 3 },
		{ "\xed\xa0\x80", 3 },	   { "\xf4\x90\x80\x80", 4 },
		{ "\x80", 1 },		   { "\xe2\x82", 2 },
		{ "\xf0\x9f\x98", 3 },	   { "\xff", 1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t cps[8];
		size_t n = decode(cases[i].s, strlen(cases[i].s), cps, 8);

		assert_int_equal(n, cases[i].replacements);
		for (size_t j = 0; j < n; j++)
			assert_int_equal(cps[j], TEXTSAFE_REPLACEMENT);
	}
}

static void test_textsafe__encode_inverts_decode(void **state)
{
	(void)state;
	const uint32_t cps[] = { 0x41, 0x7FF, 0x800, 0xFFFD, 0x10000,
				 0x10FFFF };

	for (size_t i = 0; i < ARRAY_SIZE(cps); i++) {
		char buf[TEXTSAFE_UTF8_MAX];
		size_t n = textsafe_encode(cps[i], buf), pos = 0;
		uint32_t back;

		textsafe_next(buf, n, &pos, &back);
		assert_int_equal(pos, n);
		assert_int_equal(back, cps[i]);
	}
}

static void test_textsafe__controls_are_named_and_escaped(void **state)
{
	(void)state;
	char buf[TEXTSAFE_ESCAPE_MAX];

	assert_true(textsafe_is_control(0x1B));
	assert_true(textsafe_is_control('\n'));
	assert_true(textsafe_is_control(0x7F));
	assert_true(textsafe_is_control(0x85));
	assert_true(textsafe_is_control(0x202E));
	assert_true(textsafe_is_control(0x2067));
	assert_false(textsafe_is_control(' '));
	assert_false(textsafe_is_control(0xE9));
	assert_false(textsafe_is_control(0xFFFD));
	assert_int_equal(textsafe_escape(0x1B, buf), 4);
	assert_string_equal(buf, "\\x1b");
	assert_int_equal(textsafe_escape(0x202E, buf), 6);
	assert_string_equal(buf, "\\u202e");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_textsafe__valid_sequences_decode),
		cmocka_unit_test(
			test_textsafe__invalid_bytes_become_replacements),
		cmocka_unit_test(test_textsafe__encode_inverts_decode),
		cmocka_unit_test(
			test_textsafe__controls_are_named_and_escaped),
	};
	return cmocka_run_group_tests_name("textsafe", tests, NULL, NULL);
}
