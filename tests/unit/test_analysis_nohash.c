/*
 * An analysis without the content hash (analyze --no-hash) is the same
 * analysis as with it, but for the hash, which it says was not computed
 * (model, JSON, text) and never passes off as a hash (record).
 */
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
#include "analysis_text.h"
#include "df.h"
#include "hash.h"
#include "record.h"
#include "testutil.h"

static const char *const samples[] = {
	"samples/minidumps/x86-null-write.dmp",
	"samples/minidumps/amd64-stack-buffer-overrun.dmp",
	"samples/kernel/d1-acmenet-bitmap.dmp",
	"samples/kernel/9f-acmeusb.dmp",
	"samples/logs/kernel_d1_wwfilter_x64.log",
};

/* The text form of A into *BUF (caller frees). */
static void text_of(const struct analysis *a, char **buf)
{
	size_t len = 0;
	FILE *f = open_memstream(buf, &len);

	assert_non_null(f);
	analysis_print_text(f, a, "x");
	fclose(f);
}

static void test_analysis_nohash__same_but_for_the_hash(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		char path[4200];
		struct analysis *with = NULL, *without = NULL;
		uint8_t file_hash[HASH_LEN], zero[HASH_LEN] = { 0 };

		snprintf(path, sizeof(path), "%s/%s", test_source_dir(),
			 samples[i]);
		assert_int_equal(hash_file(path, file_hash, NULL), DF_OK);
		assert_int_equal(analysis_run_file_with(&with, path, NULL,
							NULL), DF_OK);
		assert_int_equal(analysis_run_file_unhashed(&without, path,
							    NULL, NULL), DF_OK);
		assert_false(with->content_hash_skipped);
		assert_memory_equal(with->content_hash, file_hash, HASH_LEN);
		assert_true(without->content_hash_skipped);
		assert_memory_equal(without->content_hash, zero, HASH_LEN);

		/* JSON: null and a note instead of the digest, else equal. */
		json_t *jw = analysis_to_json(with, "x");
		json_t *jn = analysis_to_json(without, "x");

		assert_true(json_is_string(json_object_get(jw, "sha256")));
		assert_null(json_object_get(jw, "sha256_note"));
		assert_true(json_is_null(json_object_get(jn, "sha256")));
		assert_string_equal(json_string_value(json_object_get(
					    jn, "sha256_note")),
				    "not computed");
		json_object_del(jw, "sha256");
		json_object_del(jn, "sha256");
		json_object_del(jn, "sha256_note");
		assert_true(json_equal(jw, jn));
		json_decref(jw);
		json_decref(jn);

		/* Text: one line more, saying so. */
		static const char note[] = "  content hash   not computed\n";
		char *tw = NULL, *tn = NULL;

		text_of(with, &tw);
		text_of(without, &tn);
		const char *line = strstr(tn, note);

		assert_null(strstr(tw, "content hash"));
		assert_non_null(line);
		size_t at = (size_t)(line - tn);

		assert_memory_equal(tw, tn, at);
		assert_string_equal(tw + at, tn + at + strlen(note));
		free(tw);
		free(tn);

		/* A record has no content hash rather than a zero one. */
		struct record_origin o = { path, NULL, NULL, NULL, NULL };
		Dumpfleet__V1__Dump dm;

		assert_int_equal(record_from_analysis(&dm, without, &o), DF_OK);
		assert_int_equal(dm.content_hash.len, 0);
		assert_int_equal(record_from_analysis(&dm, with, &o), DF_OK);
		assert_int_equal(dm.content_hash.len, HASH_LEN);
		analysis_destroy(&with);
		analysis_destroy(&without);
	}
}

/* An unreadable file: the error, and still no hash claimed. */
static void test_analysis_nohash__unreadable_file(void **state)
{
	(void)state;
	struct analysis *a = NULL;

	assert_int_equal(analysis_run_file_unhashed(&a, "/nonexistent/x.dmp",
						    NULL, NULL), DF_OK);
	assert_true(a->content_hash_skipped);
	assert_true(a->errors.n > 0);
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_analysis_nohash__same_but_for_the_hash),
		cmocka_unit_test(test_analysis_nohash__unreadable_file),
	};
	return cmocka_run_group_tests_name("analysis_nohash", tests, NULL, NULL);
}
