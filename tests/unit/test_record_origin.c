/*
 * A record knows which archive member it was analysed from: the Dump's
 * archive and member fields and its JSON, and nothing of the kind for a
 * plain file.
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
#include "df.h"
#include "hash.h"
#include "record.h"
#include "testutil.h"

static struct analysis *analyse_sample(void)
{
	char path[4200];
	struct analysis *a = NULL;

	snprintf(path, sizeof(path), "%s/samples/minidumps/x86-null-write.dmp",
		 test_source_dir());
	assert_int_equal(analysis_run_file(&a, path, NULL), DF_OK);
	return a;
}

static void test_record_origin__member_in_record_and_json(void **state)
{
	(void)state;
	struct analysis *a = analyse_sample();
	struct record_origin o = { "/spool/c4/c4aa", "case-7", "/in/case.zip",
				   "Minidump/Mini0101.dmp", NULL };
	Dumpfleet__V1__Dump dm;

	assert_int_equal(record_from_analysis(&dm, a, &o), DF_OK);
	assert_string_equal(dm.archive, "/in/case.zip");
	assert_string_equal(dm.member, "Minidump/Mini0101.dmp");
	assert_string_equal(dm.source, "/spool/c4/c4aa");
	json_error_t err;
	json_t *j = json_loads(dm.json, 0, &err);

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "archive")),
			    "/in/case.zip");
	assert_string_equal(json_string_value(json_object_get(j, "member")),
			    "Minidump/Mini0101.dmp");
	json_decref(j);
	analysis_destroy(&a);
}

static void test_record_origin__plain_file_has_none(void **state)
{
	(void)state;
	struct analysis *a = analyse_sample();
	struct record_origin o = { "/data/x.dmp", NULL, NULL, NULL, NULL };
	Dumpfleet__V1__Dump dm;

	assert_int_equal(record_from_analysis(&dm, a, &o), DF_OK);
	assert_string_equal(dm.archive, "");
	assert_string_equal(dm.member, "");
	json_error_t err;
	json_t *j = json_loads(dm.json, 0, &err);

	assert_non_null(j);
	assert_null(json_object_get(j, "archive"));
	assert_null(json_object_get(j, "member"));
	json_decref(j);
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_origin__member_in_record_and_json),
		cmocka_unit_test(test_record_origin__plain_file_has_none),
	};

	hash_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
