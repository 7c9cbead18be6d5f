/*
 * The JSON written without a tree (jsonw, analysis_json_write) is what
 * jansson writes: the same values through both give the same bytes, on
 * values made to hit every escape and number edge and on the analysis of
 * every sample; and a writer stops at its buffer's cap.
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

static void assert_dumps_to(const json_t *j, const struct strbuf *sb)
{
	char *want = json_dumps(j, JSON_COMPACT);

	assert_non_null(want);
	assert_string_equal(strbuf_str(sb), want);
	assert_int_equal(sb->len, strlen(want));
	free(want);
}

/* Set KEY to S in the tree and write it through W: the same value. */
static void both_string(json_t *o, struct jsonw *w, const char *key,
			const char *s)
{
	json_object_set_new(o, key, s != NULL ? json_string(s) : json_null());
	jsonw_key(w, key);
	jsonw_string(w, s);
}

static void test_jsonw__edges_match_jansson(void **state)
{
	(void)state;
	static const json_int_t ints[] = { 0, 1, -1, 9, 10, -10, 1234567890,
					   LLONG_MAX, LLONG_MIN,
					   LLONG_MIN + 1 };
	char all[0x80];
	json_t *o = json_object(), *arr = json_array();
	struct strbuf sb;
	struct jsonw w;

	/* Every byte below 0x80 (controls, quotes, slash, DEL), no NUL. */
	for (int c = 1; c < 0x80; c++)
		all[c - 1] = (char)c;
	all[0x7f] = '\0';
	strbuf_init(&sb, SIZE_MAX);
	jsonw_init(&w, &sb);
	jsonw_object_begin(&w);
	both_string(o, &w, "ascii", all);
	both_string(o, &w, "utf8", "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 "
				   "\xEF\xBF\xBD");
	both_string(o, &w, "key \"with\" \\ \n escapes\x01 \xC3\xA9", "v");
	both_string(o, &w, "", "");
	both_string(o, &w, "null", NULL);
	json_object_set_new(o, "t", json_true());
	jsonw_key(&w, "t");
	jsonw_bool(&w, true);
	json_object_set_new(o, "f", json_false());
	jsonw_key(&w, "f");
	jsonw_bool(&w, false);
	jsonw_key(&w, "numbers");
	jsonw_array_begin(&w);
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		json_array_append_new(arr, json_integer(ints[i]));
		jsonw_integer(&w, ints[i]);
	}
	/* Empty containers and nesting inside an array. */
	json_array_append_new(arr, json_object());
	json_array_append_new(arr, json_array());
	json_array_append_new(arr, json_pack("[{s:[n,b]}]", "k", 0));
	jsonw_object_begin(&w);
	jsonw_object_end(&w);
	jsonw_array_begin(&w);
	jsonw_array_end(&w);
	jsonw_array_begin(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "k");
	jsonw_array_begin(&w);
	jsonw_null(&w);
	jsonw_bool(&w, false);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	jsonw_array_end(&w);
	jsonw_array_end(&w);
	json_object_set_new(o, "numbers", arr);
	/* Insertion order, not sorted: "z" before "a". */
	json_object_set_new(o, "z", json_integer(1));
	json_object_set_new(o, "a", json_integer(2));
	jsonw_key(&w, "z");
	jsonw_integer(&w, 1);
	jsonw_key(&w, "a");
	jsonw_integer(&w, 2);
	jsonw_object_end(&w);
	assert_int_equal(jsonw_status(&w), DF_OK);
	assert_dumps_to(o, &sb);
	json_decref(o);
	strbuf_release(&sb);
}

/* One sample: the text is jansson's, and the tree form agrees with it. */
static void check_sample(const char *path)
{
	struct analysis *a = NULL;
	struct strbuf sb;

	assert_int_equal(analysis_run_file(&a, path, NULL), DF_OK);
	strbuf_init(&sb, SIZE_MAX);
	assert_int_equal(analysis_json_write(&sb, a, path, "c\xC3\xA9.zip",
					     "dir/a \"1\".dmp"), DF_OK);
	json_t *back = json_loadb(sb.buf, sb.len, 0, NULL);

	assert_non_null(back);
	assert_dumps_to(back, &sb);
	json_t *tree = analysis_to_json(a, path);

	analysis_json_set_origin(tree, "c\xC3\xA9.zip", "dir/a \"1\".dmp");
	assert_dumps_to(tree, &sb);
	json_decref(tree);
	json_decref(back);
	strbuf_release(&sb);
	analysis_destroy(&a);
}

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

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			check_sample(path);
			seen++;
		}
		closedir(dh);
	}
	assert_true(seen >= 10);
}

/* The buffer's cap: DF_ELIMIT, and it sticks. */
static void test_jsonw__cap_sticks(void **state)
{
	(void)state;
	struct strbuf sb;
	struct jsonw w;

	strbuf_init(&sb, 8);
	jsonw_init(&w, &sb);
	jsonw_array_begin(&w);
	jsonw_string(&w, "longer than eight");
	assert_int_equal(jsonw_status(&w), DF_ELIMIT);
	size_t len = sb.len;

	jsonw_integer(&w, 1);
	jsonw_array_end(&w);
	assert_int_equal(jsonw_status(&w), DF_ELIMIT);
	assert_int_equal(sb.len, len);
	assert_true(sb.len <= 8);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonw__edges_match_jansson),
		cmocka_unit_test(test_jsonw__every_sample_matches_jansson),
		cmocka_unit_test(test_jsonw__cap_sticks),
	};
	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
