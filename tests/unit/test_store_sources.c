/*
 * Jobs that come from archive members: the store keeps their archive and
 * member, and counts a dump once per (archive, member, content) even
 * though every copy of a content shares one spool path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"
#include "testutil.h"

static uint64_t counter(struct store *s, const char *key)
{
	uint64_t v = 99;
	struct diag d;

	diag_init(&d);
	assert_int_equal(store_counter_get(s, key, &v, &d), DF_OK);
	return v;
}

static void put(struct store *s, uint64_t job, const uint8_t hash[HASH_LEN])
{
	store_dump dm = DUMPFLEET__V1__DUMP__INIT;
	struct store_result r = { job, &dm, false, 0, 0 };
	struct diag d;

	dm.content_hash.data = (uint8_t *)hash;
	dm.content_hash.len = HASH_LEN;
	dm.format = (char *)"minidump";
	diag_init(&d);
	assert_int_equal(store_results_put(s, &r, 1, &d), DF_OK);
}

static void test_store_sources__members_count_by_archive_and_member(
	void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct store *s = NULL;
	struct diag d;
	/* Two members with the same content: one spool object. */
	const char *obj = "/spool/ab/abcd";
	const char *paths[] = { obj, obj, obj, "/plain/file.dmp" };
	const char *archives[] = { "/in/case.zip", "/in/case.zip",
				   "/in/case.zip", NULL };
	const char *members[] = { "a/Mini.dmp", "b/Mini.dmp", "a/Mini.dmp",
				  NULL };
	uint64_t first = 0;
	uint8_t h[HASH_LEN];

	diag_init(&d);
	hash_sha256("same", 4, h);
	assert_int_equal(store_open(&s, tmp, false, &d), DF_OK);
	assert_int_equal(store_jobs_add(s, "case-7", paths, archives, members,
					4, &first, &d),
			 DF_OK);
	store_job *job = NULL;

	assert_int_equal(store_job_get(s, first + 1, &job, &d), DF_OK);
	assert_string_equal(job->path, obj);
	assert_string_equal(job->archive, "/in/case.zip");
	assert_string_equal(job->member, "b/Mini.dmp");
	store_job_free(job);
	assert_int_equal(store_job_get(s, first + 3, &job, &d), DF_OK);
	assert_string_equal(job->archive, "");
	assert_string_equal(job->member, "");
	store_job_free(job);

	put(s, first, h);
	put(s, first + 1, h);
	assert_int_equal(counter(s, "t/dumps"), 2);  /* two members */
	assert_int_equal(counter(s, "t/distinct"), 1);
	put(s, first + 2, h); /* the same member again (a re-run) */
	assert_int_equal(counter(s, "t/dumps"), 2);
	put(s, first + 3, h); /* a plain copy of it */
	assert_int_equal(counter(s, "t/dumps"), 3);
	assert_int_equal(counter(s, "t/distinct"), 1);
	store_close(&s);
	test_rmtree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_store_sources__members_count_by_archive_and_member),
	};

	hash_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
