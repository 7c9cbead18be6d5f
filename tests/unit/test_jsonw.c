/*
 * jsonw writes the same bytes as json_dumps(JSON_COMPACT): on trees made
 * to hit every escape and number edge, and on the analysis of every
 * sample; and it stops at its caps.
 */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "analysis.h"
#include "analysis_json.h"
#include "df.h"
#include "jsonw.h"
#include "strbuf.h"
#include "testutil.h"

/* jsonw's text of J equals jansson's. */
static void assert_same_text(const json_t *j)
{
	struct strbuf sb;
	char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	assert_non_null(want);
	strbuf_init(&sb, SIZE_MAX);
	assert_int_equal(jsonw_append(&sb, j), DF_OK);
	assert_string_equal(strbuf_str(&sb), want);
	assert_int_equal(sb.len, strlen(want));
	strbuf_release(&sb);
	free(want);
}

static void test_jsonw__edges_match_jansson(void **state)
{
	(void)state;
	char all[0x81];
	json_t *o = json_object(), *arr = json_array();

	/* Every byte below 0x80 (controls, quotes, slash, DEL), no NUL. */
	for (int c = 1; c < 0x80; c++)
		all[c - 1] = (char)c;
	all[0x7f] = '\0';
	json_object_set_new(o, "ascii", json_string(all));
	json_object_set_new(o, "nul inside", json_stringn("a\0b", 3));
	json_object_set_new(o, "utf8", json_string("\xC3\xA9 \xE2\x82\xAC "
						  "\xF0\x9F\x98\x80 \xEF\xBF\xBD"));
	json_object_set_new(o, "key \"with\" \\ \n escapes\x01", json_true());
	json_object_set_new(o, "", json_string(""));
	json_object_set_new(o, "f", json_false());
	json_object_set_new(o, "n", json_null());
	static const json_int_t ints[] = { 0, 1, -1, 9, 10, -10, 1234567890,
					   LLONG_MAX, LLONG_MIN,
					   LLONG_MIN + 1 };
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		json_array_append_new(arr, json_integer(ints[i]));
	json_array_append_new(arr, json_real(0.1));
	json_array_append_new(arr, json_real(-2.0));
	json_array_append_new(arr, json_real(1e300));
	json_array_append_new(arr, json_object());
	json_array_append_new(arr, json_array());
	json_object_set_new(o, "numbers", arr);
	json_t *nest = json_pack("{s:[{s:[i,{},[]]},n]}", "a", "b", 1);

	assert_non_null(nest);
	json_object_set_new(o, "nest", nest);
	/* Insertion order, not sorted: "z" before "a". */
	json_object_set_new(o, "z", json_integer(1));
	json_object_set_new(o, "a", json_integer(2));
	assert_same_text(o);
	/* Scalars and empty containers on their own. */
	assert_same_text(json_object_get(o, "ascii"));
	assert_same_text(json_object_get(o, "nul inside"));
	assert_same_text(json_object_get(o, "n"));
	assert_same_text(json_object_get(o, "numbers"));
	json_decref(o);
	o = json_object();
	assert_same_text(o);
	json_decref(o);
}

/* The analysis of every sample, as analyze --json prints it. */
static void test_jsonw__every_sample_matches_jansson(void **state)
{
	(void)state;
	static const char *const dirs[] = { "minidumps", "kernel", "logs" };
	size_t seen = 0;

	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		char dir[4200];

		snprintf(dir, sizeof(dir), "%s/samples/%s", test_source_dir(),
			 dirs[d]);
		DIR *dh = opendir(dir);
		struct dirent *e;

		assert_non_null(dh);
		while ((e = readdir(dh)) != NULL) {
			char path[4500];
			struct analysis *a = NULL;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			assert_int_equal(analysis_run_file(&a, path, NULL),
					 DF_OK);
			json_t *j = analysis_to_json(a, path);

			analysis_json_set_origin(j, "case.zip", "dir/a.dmp");
			assert_same_text(j);
			json_decref(j);
			analysis_destroy(&a);
			seen++;
		}
		closedir(dh);
	}
	assert_true(seen >= 10);
}

static void test_jsonw__caps(void **state)
{
	(void)state;
	struct strbuf sb;
	json_t *deep = json_array();

	/* SB's cap: stops with DF_ELIMIT. */
	strbuf_init(&sb, 8);
	json_t *s = json_string("longer than eight");

	assert_int_equal(jsonw_append(&sb, s), DF_ELIMIT);
	assert_true(sb.len <= 8);
	json_decref(s);
	strbuf_release(&sb);

	/* Nesting past JSONW_MAX_DEPTH: refused, not recursed into. */
	strbuf_init(&sb, SIZE_MAX);
	json_t *inner = deep;

	for (int i = 0; i < JSONW_MAX_DEPTH + 5; i++) {
		json_t *next = json_array();

		json_array_append_new(inner, next);
		inner = next;
	}
	assert_int_equal(jsonw_append(&sb, deep), DF_ELIMIT);
	json_decref(deep);
	strbuf_reset(&sb);
	assert_int_equal(jsonw_append(&sb, NULL), DF_EUSAGE);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonw__edges_match_jansson),
		cmocka_unit_test(test_jsonw__every_sample_matches_jansson),
		cmocka_unit_test(test_jsonw__caps),
	};
	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
