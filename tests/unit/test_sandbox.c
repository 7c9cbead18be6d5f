/*
 * The sandbox against real samples and the test-only fault switch: a
 * child's result equals the in-process analysis; a crash, a deadlock, a
 * CPU spin, runaway allocation and a forbidden system call each end as a
 * failure with its reason, within the limits set, and the sandbox serves
 * the next dump afterwards.
 */
#include <fcntl.h>
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

/*
 * Range mode: the parent fills a sparse copy of a kernel dump from the
 * original as the filtered child asks, chunk by chunk. The result equals
 * the analysis of the original; a parent that cannot fill leaves the
 * child to report missing bytes, never to die.
 */
struct filler {
	const uint8_t *orig;
	size_t len;
	int fd;              /* the sparse copy */
	uint32_t chunk;
	unsigned calls;
	uint64_t bytes;
	bool refuse;
};

static int filler_fill(void *ctx, uint64_t off, uint64_t n)
{
	struct filler *f = ctx;
	uint64_t from = off / f->chunk * f->chunk;
	uint64_t to = (off + n + f->chunk - 1) / f->chunk * f->chunk;

	f->calls++;
	if (f->refuse)
		return DF_EIO;
	if (to > f->len)
		to = f->len;
	assert_true(from < to);
	assert_int_equal(pwrite(f->fd, f->orig + from, to - from, (off_t)from),
			 (ssize_t)(to - from));
	f->bytes += to - from;
	return DF_OK;
}

/* Run the analysis of COPY in range mode, child under FAULT (or NULL). */
static int run_ranges_with(struct filler *f, const char *copy,
			   const char *fault, Dumpfleet__V1__Dump **dm)
{
	struct sandbox_opts o;
	struct sandbox *sb = NULL;
	struct diag d;
	uint8_t hash[HASH_LEN];
	char reason[SANDBOX_MAX_REASON];

	hash_sha256(f->orig, f->len, hash);
	sandbox_opts_init(&o);
	o.fault = fault;
	assert_int_equal(sandbox_new(&sb, &o), DF_OK);
	struct record_origin origin = { "/broker/side/path.dmp", NULL, NULL,
					NULL, hash };
	struct sandbox_fill fill = { filler_fill, f, f->chunk, f->len };

	diag_init(&d);
	assert_int_equal(sandbox_start_ranges(sb, copy, &origin, &fill, &d),
			 DF_OK);
	while (!sandbox_pump(sb)) {
		struct pollfd p[2] = { { sandbox_fd(sb), POLLIN, 0 },
				       { sandbox_fill_fd(sb), POLLIN, 0 } };

		poll(p, 2, (int)sandbox_wait_ms(sb));
		if (p[1].revents & POLLIN)
			sandbox_serve_fill(sb);
	}
	int rc = sandbox_finish(sb, dm, reason, sizeof(reason));

	sandbox_destroy(&sb);
	return rc;
}

static void run_ranges(struct filler *f, const char *copy,
		       Dumpfleet__V1__Dump **dm)
{
	assert_int_equal(run_ranges_with(f, copy, NULL, dm), DF_OK);
}

static void test_sandbox__ranges_are_filled_on_demand(void **state)
{
	(void)state;
	char orig_path[4096], copy[4096];
	size_t len = 0;
	char *dir = test_tmpdir();

	snprintf(orig_path, sizeof(orig_path),
		 "%s/samples/kernel/d1-acmenet-bitmap.dmp", test_source_dir());
	snprintf(copy, sizeof(copy), "%s/sparse.dmp", dir);
	uint8_t *orig = test_read_file(orig_path, &len);

	assert_non_null(orig);
	struct filler f = { orig, len, -1, 4096, 0, 0, false };

	f.fd = open(copy, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(f.fd >= 0);
	assert_int_equal(ftruncate(f.fd, (off_t)len), 0);
	Dumpfleet__V1__Dump *dm = NULL;

	run_ranges(&f, copy, &dm);
	struct analysis *a = NULL;
	Dumpfleet__V1__Dump here;
	struct record_origin origin = { "/broker/side/path.dmp", NULL, NULL,
					NULL, NULL };

	assert_int_equal(analysis_run_file(&a, orig_path, NULL), DF_OK);
	assert_int_equal(record_from_analysis(&here, a, &origin), DF_OK);
	assert_string_equal(dm->format, "kernel-dump");
	assert_string_equal(dm->signature, here.signature);
	assert_string_equal(dm->signature_hash, here.signature_hash);
	assert_string_equal(dm->json, here.json);
	assert_memory_equal(dm->content_hash.data, here.content_hash.data,
			    HASH_LEN);
	assert_true(f.calls > 1);
	assert_true(f.bytes < len);
	sandbox_dump_free(dm);
	analysis_destroy(&a);

	/* A parent that cannot fill: a result with errors, no crash. */
	assert_int_equal(ftruncate(f.fd, 0), 0);
	assert_int_equal(ftruncate(f.fd, (off_t)len), 0);
	f.refuse = true;
	f.calls = 0;
	run_ranges(&f, copy, &dm);
	assert_true(f.calls >= 1);
	assert_true(dm->n_errors > 0);
	sandbox_dump_free(dm);

	/*
	 * A child that asks without end and never reads the answers is
	 * killed; it used to block the slot in send() for good (the alarm
	 * turns such a hang into a failure).
	 */
	f.refuse = false;
	dm = NULL;
	alarm(60);
	assert_int_not_equal(run_ranges_with(&f, copy,
					     "flood:path.dmp", &dm),
			     DF_OK);
	alarm(0);
	assert_null(dm);
	close(f.fd);
	free(orig);
	test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sandbox__result_equals_in_process),
		cmocka_unit_test(test_sandbox__known_hash_is_taken_not_computed),
		cmocka_unit_test(test_sandbox__ranges_are_filled_on_demand),
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
