/*
 * The bundled sample archive and its generator.
 *
 * 1. samples/archives/case-1042.zip is byte for byte what `mkarchive
 *    --sample case-1042 samples/ OUT` writes, so it is provably the
 *    generator's output (fixed times and order), not an opaque blob.
 * 2. Its members unpack to the samples they were made from, the
 *    duplicate member into the same spool object.
 *
 * The generator is found as $MKARCHIVE or $DF_BUILD/tests/mkarchive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "df.h"
#include "diag.h"
#include "hash.h"
#include "ingest.h"
#include "testutil.h"

#define SAMPLE "samples/archives/case-1042.zip"

static char *generator(void)
{
	const char *env = getenv("MKARCHIVE");
	const char *build = getenv("DF_BUILD");
	char *p = NULL;

	if (env != NULL && *env)
		return strdup(env);
	if (build == NULL || asprintf(&p, "%s/tests/mkarchive", build) < 0)
		return NULL;
	return p;
}

static void test_mkarchive__sample_is_generator_output(void **state)
{
	(void)state;
	char *gen = generator();
	char *tmp = test_tmpdir();
	char out[4200], samples[4200], committed[4200];

	if (gen == NULL || access(gen, X_OK) != 0) {
		free(gen);
		test_rmtree(tmp);
		free(tmp);
		skip();
	}
	snprintf(out, sizeof(out), "%s/case-1042.zip", tmp);
	snprintf(samples, sizeof(samples), "%s/samples", test_source_dir());
	snprintf(committed, sizeof(committed), "%s/" SAMPLE,
		 test_source_dir());
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(gen, "mkarchive", "--sample", "case-1042", samples, out,
		      (char *)NULL);
		_exit(127);
	}
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	size_t na = 0, nb = 0;
	uint8_t *a = test_read_file(out, &na);
	uint8_t *b = test_read_file(committed, &nb);

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
	test_rmtree(tmp);
	free(tmp);
	free(gen);
}

struct got {
	size_t n;
	char path[8][4400];
	char member[8][256];
};

static int on_item(void *ctx, const struct ingest_item *it)
{
	struct got *g = ctx;

	assert_true(g->n < 8);
	assert_non_null(it->member);
	snprintf(g->path[g->n], sizeof(g->path[0]), "%s", it->path);
	snprintf(g->member[g->n], sizeof(g->member[0]), "%s", it->member);
	g->n++;
	return DF_OK;
}

static void on_problem(void *ctx, const struct ingest_problem *p)
{
	(void)ctx;
	fail_msg("problem: %s", p->reason);
}

/* Member I unpacks to the bytes of samples/REL. */
static void assert_same(const struct got *g, size_t i, const char *rel)
{
	char path[4200];
	size_t na = 0, nb = 0;

	snprintf(path, sizeof(path), "%s/samples/%s", test_source_dir(), rel);
	uint8_t *a = test_read_file(g->path[i], &na);
	uint8_t *b = test_read_file(path, &nb);

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
}

static void test_mkarchive__sample_members(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char spool[4200], zip[4200];
	struct got g;
	struct ingest_sink sink = { on_item, on_problem, &g };
	struct ingest *in = NULL;
	struct diag d;

	memset(&g, 0, sizeof(g));
	diag_init(&d);
	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	snprintf(zip, sizeof(zip), "%s/" SAMPLE, test_source_dir());
	assert_int_equal(ingest_new(&in, spool, NULL, &sink, &d), DF_OK);
	assert_int_equal(ingest_file(in, zip, &d), DF_OK);
	assert_int_equal(ingest_stats(in)->stored, 4);
	assert_int_equal(ingest_stats(in)->deduped, 1);
	ingest_destroy(&in);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.member[0], "case-1042/Minidump/x86-null-write.dmp");
	assert_same(&g, 0, "minidumps/x86-null-write.dmp");
	assert_same(&g, 1, "minidumps/amd64-read-av.dmp");
	assert_same(&g, 2, "kernel/9f-acmeusb.dmp");
	assert_same(&g, 3, "logs/kernel_d1_wwfilter_x64.log");
	assert_string_equal(g.member[4], "case-1042/sent-again/x86-null-write.dmp");
	assert_string_equal(g.path[4], g.path[0]);
	test_rmtree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkarchive__sample_is_generator_output),
		cmocka_unit_test(test_mkarchive__sample_members),
	};

	hash_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
