/* Unit tests for reports/: totals, frequencies, top buckets, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "df.h"
#include "diag.h"
#include "hash.h"
#include "report.h"
#include "store.h"
#include "testutil.h"

static void put_dump(struct store *s, int n, const char *sighash,
		     uint32_t bugcheck, const char *blame)
{
	char path[64], text[64];
	const char *paths[1] = { path };
	uint8_t h[HASH_LEN];
	uint64_t id;
	store_dump dm = DUMPFLEET__V1__DUMP__INIT;
	struct store_result r = { 0, &dm, false, 0, 0 };
	struct diag d;

	diag_init(&d);
	snprintf(path, sizeof(path), "/dumps/%d", n);
	snprintf(text, sizeof(text), "bytes %d", n);
	hash_sha256(text, strlen(text), h);
	assert_int_equal(store_jobs_add(s, "", paths, NULL, NULL,
					1, &id, &d), DF_OK);
	dm.content_hash.data = h;
	dm.content_hash.len = HASH_LEN;
	dm.format = (char *)"debugger-log";
	dm.has_bugcheck = true;
	dm.bugcheck_code = bugcheck;
	dm.signature = (char *)blame;
	dm.signature_hash = (char *)sighash;
	dm.blame_module = (char *)blame;
	r.job_id = id;
	assert_int_equal(store_results_put(s, &r, 1, &d), DF_OK);
}

static char *render(struct store *s, bool json, unsigned top)
{
	struct report *r = NULL;
	struct report_opts o = { top };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct diag d;

	diag_init(&d);
	assert_int_equal(report_build(&r, s, &o, &d), DF_OK);
	if (json)
		assert_int_equal(report_write_json(f, r), DF_OK);
	else
		report_write_text(f, r, 100);
	report_destroy(&r);
	fclose(f);
	return buf;
}

static void test_report__frequencies_and_top_buckets(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	hash_global_init();
	assert_int_equal(store_open(&s, dir, false, &d), DF_OK);
	for (int i = 0; i < 3; i++)
		put_dump(s, i, "1111111111111111", 0xD1, "acme.sys");
	put_dump(s, 10, "2222222222222222", 0x19, "pool.sys");

	char *js = render(s, true, 1);
	json_error_t err;
	json_t *j = json_loads(js, 0, &err);

	assert_non_null(j);
	json_t *t = json_object_get(j, "totals");

	assert_int_equal(json_integer_value(json_object_get(t, "dumps")), 4);
	assert_int_equal(json_integer_value(json_object_get(t, "distinct")), 4);
	assert_int_equal(json_integer_value(json_object_get(t, "buckets")), 2);
	assert_int_equal(json_integer_value(json_object_get(t, "errors")), 0);
	json_t *bc = json_object_get(j, "bugchecks");

	assert_int_equal(json_array_size(bc), 2);
	json_t *first = json_array_get(bc, 0);

	assert_string_equal(json_string_value(json_object_get(first, "code")),
			    "0x000000D1");
	assert_string_equal(json_string_value(json_object_get(first, "name")),
			    "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
	assert_int_equal(json_integer_value(json_object_get(first, "count")), 3);
	json_t *bk = json_object_get(j, "buckets");

	assert_int_equal(json_array_size(bk), 1); /* --top 1 */
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(bk, 0), "hash")),
		"1111111111111111");
	json_decref(j);
	free(js);

	char *txt = render(s, false, 10);

	assert_non_null(strstr(txt, "DRIVER_IRQL_NOT_LESS_OR_EQUAL"));
	assert_non_null(strstr(txt, "BAD_POOL_HEADER"));
	assert_non_null(strstr(txt, "  dumps              4\n"));
	free(txt);
	store_close(&s);
	test_rmtree(dir);
	free(dir);
}

static void test_report__hostile_names_are_escaped(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_open(&s, dir, false, &d), DF_OK);
	put_dump(s, 1, "3333333333333333", 0x50,
		 "<script>\x1b[31mevil\xff\xfe\"q\",\n.sys");
	char *txt = render(s, false, 10);

	assert_null(strchr(txt, '\x1b'));
	assert_non_null(strstr(txt, "\\x1b[31mevil"));
	free(txt);
	char *js = render(s, true, 10);
	json_error_t err;
	json_t *j = json_loads(js, 0, &err);

	assert_non_null(j); /* invalid UTF-8 was replaced, so it parses */
	const char *blame = json_string_value(json_object_get(
		json_array_get(json_object_get(j, "buckets"), 0),
		"blame_module"));

	assert_non_null(strstr(blame, "\xEF\xBF\xBD"));
	json_decref(j);
	free(js);
	store_close(&s);
	test_rmtree(dir);
	free(dir);
}

static void test_report__empty_store(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_open(&s, dir, false, &d), DF_OK);
	char *txt = render(s, false, 10);

	assert_non_null(strstr(txt, "  dumps              0\n"));
	free(txt);
	/* A code no table knows is shown, named as unknown, never dropped. */
	put_dump(s, 77, "4444444444444444", 0x0BADC0DE, "x.sys");
	txt = render(s, false, 10);
	assert_non_null(strstr(txt, "0x0BADC0DE  unknown bugcheck"));
	free(txt);
	store_close(&s);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report__frequencies_and_top_buckets),
		cmocka_unit_test(test_report__hostile_names_are_escaped),
		cmocka_unit_test(test_report__empty_store),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
