/*
 * The pattern labels of the shared corpus, for the detectors
 * virtualized-system, dynamic-memory-corruption, heap-corruption,
 * self-dump and message-box: every file listed in corpus/logs/EXPECTED.tsv
 * and corpus/minidumps/EXPECTED.tsv goes through analysis_run(); each of
 * these ids the file must show is a true positive when found (else a
 * miss), each it must not show is a false positive when found. Prints
 * per-file results and precision/recall; fails on any false positive or
 * when recall is below 80 %. Ids of other detectors are not judged here.
 * Skips (exit 77) without the shared corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "model.h"
#include "testutil.h"

#define MIN_RECALL 0.80

static const char *const judged[] = {
	"virtualized-system", "dynamic-memory-corruption", "heap-corruption",
	"self-dump",	      "message-box",
};

struct tally {
	unsigned tp, fn, fp, tn;
};

/* True when the comma-separated LIST names ID. */
static bool listed(const char *list, const char *id)
{
	size_t k = strlen(id);

	for (const char *p = list; p != NULL && *p;) {
		size_t n = strcspn(p, ",");

		if (n == k && strncmp(p, id, k) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static void judge_file(const char *dir, const char *file, const char *must,
		       const char *must_not, struct tally *t)
{
	char path[8300];
	struct analysis *a = NULL;

	snprintf(path, sizeof(path), "%.4096s/%.4096s", dir, file);
	assert_int_equal(analysis_run_file(&a, path, NULL), DF_OK);
	assert_non_null(a);
	printf("%-66s", file);
	for (size_t i = 0; i < ARRAY_SIZE(judged); i++) {
		const char *id = judged[i];
		bool got = model_has_finding(a, id);

		if (listed(must, id)) {
			if (got) {
				t->tp++;
			} else {
				t->fn++;
				printf(" MISS:%s", id);
			}
		} else if (listed(must_not, id)) {
			if (got) {
				t->fp++;
				printf(" FALSE-POSITIVE:%s", id);
			} else {
				t->tn++;
			}
		} else if (got) {
			printf(" (found, undecided):%s", id);
		}
	}
	printf("%s\n", a->errors.n > 0 ? "  [reader errors]" : "");
	analysis_destroy(&a);
}

static void judge_dir(const char *rel, struct tally *t)
{
	char dir[4096], tsv[4200];
	size_t len;

	snprintf(dir, sizeof(dir), "%s", test_shared_path(rel));
	snprintf(tsv, sizeof(tsv), "%.4000s/EXPECTED.tsv", dir);

	char *text = (char *)test_read_file(tsv, &len);

	assert_non_null(text);
	printf("== %s\n", rel);
	for (char *line = strtok(text, "\n"); line != NULL;
	     line = strtok(NULL, "\n")) {
		char *f[3] = { line, NULL, NULL };
		size_t nf = 1;

		if (*line == '#')
			continue;
		for (char *p = line; *p && nf < 3; p++)
			if (*p == '\t') {
				*p = '\0';
				f[nf++] = p + 1;
			}
		line[strcspn(line, "\r")] = '\0';
		for (size_t i = 1; i < nf; i++)
			f[i][strcspn(f[i], "\r")] = '\0';

		const char *must = f[1] != NULL ? f[1] : "";
		const char *must_not = f[2] != NULL ? f[2] : "";
		/* Only files that say something about the judged ids. */
		bool relevant = false;

		for (size_t i = 0; i < ARRAY_SIZE(judged); i++)
			relevant = relevant || listed(must, judged[i]) ||
				   listed(must_not, judged[i]);
		if (relevant)
			judge_file(dir, f[0], must, must_not, t);
	}
	free(text);
}

static void test_corpus_labels__my_patterns(void **state)
{
	struct tally t = { 0 };

	(void)state;
	judge_dir("corpus/logs", &t);
	judge_dir("corpus/minidumps", &t);

	unsigned found = t.tp + t.fp, want = t.tp + t.fn;
	double precision = found ? (double)t.tp / found : 1.0;
	double recall = want ? (double)t.tp / want : 1.0;

	printf("\ntrue positives %u, misses %u, false positives %u, "
	       "true negatives %u\n",
	       t.tp, t.fn, t.fp, t.tn);
	printf("precision %.1f %%, recall %.1f %%\n", 100 * precision,
	       100 * recall);
	if (t.fp > 0)
		fail_msg("%u false positives", t.fp);
	if (recall < MIN_RECALL)
		fail_msg("recall %.1f %% is below %.0f %%", 100 * recall,
			 100 * MIN_RECALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_labels__my_patterns),
	};

	const char *tsv = test_shared_dir() != NULL
				  ? test_shared_path("corpus/logs/EXPECTED.tsv")
				  : NULL;
	size_t len;
	uint8_t *probe = tsv != NULL ? test_read_file(tsv, &len) : NULL;

	if (probe == NULL) {
		printf("shared corpus not found: skipped\n");
		return 77;
	}
	free(probe);
	return cmocka_run_group_tests_name("corpus_labels", tests, NULL, NULL);
}
