/*
 * The sandbox against real samples and the test-only fault switch: a
 * child's result equals the in-process analysis; a crash, a deadlock, a
 * CPU spin, runaway allocation and a forbidden system call each end as a
 * failure with its reason, within the limits set, and the sandbox serves
 * the next dump afterwards.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "record.h"
#include "sandbox.h"
#include "symbols.h"
#include "testutil.h"

#define SAMPLE "x86-null-write.dmp"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

static const char *sample_path(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/samples/minidumps/" SAMPLE,
		 test_source_dir());
	return path;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run SAMPLE in a sandbox with FAULT; returns the code, REASON filled. */
static int run_with(struct sandbox_opts *o, const char *fault,
		    Dumpfleet__V1__Dump **out, char *reason, size_t len)
{
	struct sandbox *sb = NULL;

	o->fault = fault;
	assert_int_equal(sandbox_new(&sb, o), DF_OK);
	int rc = sandbox_run(sb, sample_path(), out, reason, len);

	assert_false(sandbox_busy(sb));
	sandbox_destroy(&sb);
	assert_null(sb);
	return rc;
}

static void test_sandbox__result_equals_in_process(void **state)
{
	(void)state;
	struct sandbox_opts o;
	Dumpfleet__V1__Dump *dm = NULL, here;
	struct analysis *a = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	assert_int_equal(run_with(&o, NULL, &dm, reason, sizeof(reason)),
			 DF_OK);
	assert_non_null(dm);
	struct record_origin origin = { sample_path(), NULL, NULL, NULL,
					NULL };

	assert_int_equal(analysis_run_file(&a, sample_path(), NULL), DF_OK);
	assert_int_equal(record_from_analysis(&here, a, &origin), DF_OK);
	assert_int_equal(dm->content_hash.len, HASH_LEN);
	assert_memory_equal(dm->content_hash.data, here.content_hash.data,
			    HASH_LEN);
	assert_string_equal(dm->signature_hash, here.signature_hash);
	assert_string_equal(dm->signature, here.signature);
	assert_string_equal(dm->json, here.json);
	assert_int_equal(dm->n_findings, here.n_findings);
	assert_string_equal(dm->failure, "");
	sandbox_dump_free(dm);
	analysis_destroy(&a);
}

static void test_sandbox__missing_file_is_a_result(void **state)
{
	(void)state;
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	assert_int_equal(sandbox_run(sb, "/nonexistent/x.dmp", &dm, reason,
				     sizeof(reason)),
			 DF_OK);
	assert_non_null(strstr(dm->failure, "cannot open"));
	assert_int_equal(dm->content_hash.len, 0);
	sandbox_dump_free(dm);
	sandbox_destroy(&sb);
}

static void test_sandbox__crash_is_a_failure_and_the_next_dump_works(
	void **state)
{
	(void)state;
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	o.fault = "segv:" SAMPLE;
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	assert_int_equal(sandbox_run(sb, sample_path(), &dm, reason,
				     sizeof(reason)),
			 DF_EIO);
	assert_null(dm);
	assert_string_equal(reason, "parser killed by SIGSEGV");
	/* The fault names one file: another dump in the same sandbox is fine. */
	char other[4096];

	snprintf(other, sizeof(other), "%s/samples/minidumps/amd64-read-av.dmp",
		 test_source_dir());
	assert_int_equal(sandbox_run(sb, other, &dm, reason, sizeof(reason)),
			 DF_OK);
	assert_int_equal(dm->content_hash.len, HASH_LEN);
	sandbox_dump_free(dm);
	sandbox_destroy(&sb);
}

static void test_sandbox__hang_meets_the_watchdog(void **state)
{
	(void)state;
	struct sandbox_opts o;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	o.timeout_s = 1;
	double t0 = now_s();

	assert_int_equal(run_with(&o, "hang:" SAMPLE, &dm, reason,
				  sizeof(reason)),
			 DF_ELIMIT);
	double took = now_s() - t0;

	assert_string_equal(reason, "wall-clock limit 1 s");
	assert_true(took >= 0.9 && took < 5.0);
}

static void test_sandbox__spin_meets_the_cpu_limit(void **state)
{
	(void)state;
	struct sandbox_opts o;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	o.timeout_s = 20;
	o.cpu_s = 1;
	assert_int_equal(run_with(&o, "spin:" SAMPLE, &dm, reason,
				  sizeof(reason)),
			 DF_ELIMIT);
	assert_string_equal(reason, "CPU limit 1 s");
}

static void test_sandbox__runaway_allocation_meets_the_memory_limit(
	void **state)
{
	(void)state;
#ifdef TEST_ASAN
	skip(); /* no RLIMIT_AS under AddressSanitizer */
#else
	struct sandbox_opts o;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	o.memory_mb = 64;
	assert_int_equal(run_with(&o, "oom:" SAMPLE, &dm, reason,
				  sizeof(reason)),
			 DF_ELIMIT);
	assert_string_equal(reason, "memory limit 64 MB");
#endif
}

static void test_sandbox__filter_stops_a_forbidden_call(void **state)
{
	(void)state;
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	/* Where the kernel refuses filters there is nothing to test. */
	sandbox_opts_init(&o);
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	assert_int_equal(sandbox_run(sb, sample_path(), &dm, reason,
				     sizeof(reason)),
			 DF_OK);
	sandbox_dump_free(dm);
	bool skipped = sandbox_filter_skipped(sb);

	sandbox_destroy(&sb);
	if (skipped)
		skip();
	assert_int_equal(run_with(&o, "escape:" SAMPLE, &dm, reason,
				  sizeof(reason)),
			 DF_EIO);
	assert_non_null(strstr(reason, "seccomp"));
	/* Without the filter the same open goes through. */
	o.no_seccomp = true;
	assert_int_equal(run_with(&o, "escape:" SAMPLE, &dm, reason,
				  sizeof(reason)),
			 DF_OK);
	sandbox_dump_free(dm);
}

/*
 * A dump cut short while the child has it mapped (a copy still being
 * written, a share going away) faults on the first page past the new
 * end: SIGBUS used to end the whole worker; now it ends the child.
 */
static void test_sandbox__file_truncated_while_mapped(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char path[4096];
	size_t len = 0;
	uint8_t *bytes = test_read_file(sample_path(), &len);
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];
	struct diag d;

	assert_non_null(bytes);
	snprintf(path, sizeof(path), "%s/cut.dmp", dir);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
	free(bytes);
	sandbox_opts_init(&o);
	/* The child maps the file, then is busy for 1.5 s before parsing. */
	o.fault = "slow:cut.dmp";
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	diag_init(&d);
	struct record_origin origin = { path, NULL, NULL, NULL, NULL };

	assert_int_equal(sandbox_start(sb, &origin, &d), DF_OK);
	usleep(300000);
	assert_int_equal(truncate(path, 0), 0);
	while (!sandbox_pump(sb))
		usleep(10000);
	assert_int_not_equal(sandbox_finish(sb, &dm, reason, sizeof(reason)),
			     DF_OK);
	assert_string_equal(reason, "parser killed by SIGBUS");
	sandbox_destroy(&sb);
	test_rmtree(dir);
	free(dir);
}

static void count_key(void *ctx, const char *key)
{
	(void)key;
	(*(size_t *)ctx)++;
}

/*
 * A child's symbol files die with it; it lists them and the parent loads
 * them, so the next child inherits them parsed. A listed key is checked
 * as a dump's names are.
 */
static void test_sandbox__parent_cache_learns_the_childs_symbols(void **state)
{
	(void)state;
	const char *syms_dir = test_shared_path("corpus/symbols");
	char dmp[4096];

	if (syms_dir == NULL)
		skip();
	char root[4096];

	snprintf(root, sizeof(root), "%s", syms_dir);
	snprintf(dmp, sizeof(dmp), "%s",
		 test_shared_path("corpus/minidumps/breakpad__minidump2.dmp"));
	const char *roots[] = { root };
	struct symstore *syms = symstore_new(roots, 1);
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];
	size_t before = 0, after = 0;

	assert_non_null(syms);
	sandbox_opts_init(&o);
	o.syms = syms;
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	symstore_loaded_since(syms, 0, count_key, &before);
	assert_int_equal(before, 0);
	assert_int_equal(sandbox_run(sb, dmp, &dm, reason, sizeof(reason)),
			 DF_OK);
	assert_non_null(strstr(dm->signature, "CrashFunction"));
	sandbox_dump_free(dm);
	symstore_loaded_since(syms, 0, count_key, &after);
	assert_true(after >= 1);
	assert_int_equal(symstore_warm(syms, ".hidden/1234"), DF_EUSAGE);
	assert_int_equal(symstore_warm(syms, "nokey"), DF_EUSAGE);
	assert_int_equal(symstore_warm(syms, "a.pdb/not-hex"), DF_EUSAGE);
	sandbox_destroy(&sb);
	symstore_destroy(&syms);
}

static void test_sandbox__finish_without_a_child_is_refused(void **state)
{
	(void)state;
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	char reason[SANDBOX_MAX_REASON];

	sandbox_opts_init(&o);
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	assert_true(sandbox_pump(sb));
	assert_int_equal(sandbox_fd(sb), -1);
	assert_int_equal(sandbox_finish(sb, &dm, reason, sizeof(reason)),
			 DF_EUSAGE);
	sandbox_destroy(&sb);
}

/*
 * A known content hash travels through the origin to the child, which
 * takes it instead of hashing the file; in process as well.
 */
static void test_sandbox__known_hash_is_taken_not_computed(void **state)
{
	(void)state;
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	Dumpfleet__V1__Dump *dm = NULL;
	struct analysis *a = NULL;
	uint8_t fake[HASH_LEN];
	struct diag d;
	char reason[SANDBOX_MAX_REASON];

	memset(fake, 0x5A, sizeof(fake));
	sandbox_opts_init(&o);
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	struct record_origin origin = { sample_path(), NULL, NULL, NULL,
					fake };

	diag_init(&d);
	assert_int_equal(sandbox_start(sb, &origin, &d), DF_OK);
	while (!sandbox_pump(sb)) {
		struct pollfd p = { sandbox_fd(sb), POLLIN, 0 };

		poll(&p, 1, (int)sandbox_wait_ms(sb));
	}
	assert_int_equal(sandbox_finish(sb, &dm, reason, sizeof(reason)),
			 DF_OK);
	assert_int_equal(dm->content_hash.len, HASH_LEN);
	assert_memory_equal(dm->content_hash.data, fake, HASH_LEN);
	assert_true(dm->signature_hash[0] != '\0');
	sandbox_dump_free(dm);
	sandbox_destroy(&sb);
	assert_int_equal(analysis_run_file_known(&a, sample_path(), NULL, NULL,
						 fake),
			 DF_OK);
	assert_memory_equal(a->content_hash, fake, HASH_LEN);
	analysis_destroy(&a);
	assert_int_equal(analysis_run_file_known(&a, sample_path(), NULL, NULL,
						 NULL),
			 DF_OK);
	assert_memory_not_equal(a->content_hash, fake, HASH_LEN);
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox__result_equals_in_process),
		cmocka_unit_test(test_sandbox__known_hash_is_taken_not_computed),
		cmocka_unit_test(test_sandbox__missing_file_is_a_result),
		cmocka_unit_test(
			test_sandbox__crash_is_a_failure_and_the_next_dump_works),
		cmocka_unit_test(test_sandbox__hang_meets_the_watchdog),
		cmocka_unit_test(test_sandbox__spin_meets_the_cpu_limit),
		cmocka_unit_test(
			test_sandbox__runaway_allocation_meets_the_memory_limit),
		cmocka_unit_test(test_sandbox__filter_stops_a_forbidden_call),
		cmocka_unit_test(test_sandbox__finish_without_a_child_is_refused),
		cmocka_unit_test(test_sandbox__file_truncated_while_mapped),
		cmocka_unit_test(
			test_sandbox__parent_cache_learns_the_childs_symbols),
	};

	hash_global_init();
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
