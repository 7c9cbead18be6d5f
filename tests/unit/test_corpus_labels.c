/*
 * The pattern labels of the shared corpus, for every detector in the
 * registry: every file listed in corpus/logs/EXPECTED.tsv and
 * corpus/minidumps/EXPECTED.tsv goes through analysis_run(); each id the
 * file must show is a true positive when found (else a miss), each it must
 * not show is a false positive when found (else a true negative). Prints
 * per-file results, a table per id and the totals; fails when precision
 * falls below MIN_PRECISION or recall below MIN_RECALL. Label ids with no
 * detector are listed as such, not judged. Skips (exit 77) without the
 * shared corpus.
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
#include "registry.h"
#include "testutil.h"

#define MIN_RECALL 0.80
#define MIN_PRECISION 0.95
#define MAX_IDS 64

struct tally {
	unsigned tp, fn, fp, tn;
};

/* Per detector, in registry order. */
static struct tally per_id[MAX_IDS];

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
	for (size_t i = 0; i < detector_table_len && i < MAX_IDS; i++) {
		const char *id = detector_table[i]->id;
		bool got = model_has_finding(a, id);
		struct tally *u = &per_id[i];

		if (listed(must, id)) {
			if (got) {
				t->tp++;
				u->tp++;
			} else {
				t->fn++;
				u->fn++;
				printf(" MISS:%s", id);
			}
		} else if (listed(must_not, id)) {
			if (got) {
				t->fp++;
				u->fp++;
				printf(" FALSE-POSITIVE:%s", id);
			} else {
				t->tn++;
				u->tn++;
			}
		} else if (got) {
			printf(" (found, undecided):%s", id);
		}
	}
	printf("%s\n", a->errors.n > 0 ? "  [reader errors]" : "");
	analysis_destroy(&a);
}

/* Say once per run which label ids no detector implements. */
static void note_unknown_ids(const char *list)
{
	static char seen[2048];

	for (const char *p = list; p != NULL && *p;) {
		size_t n = strcspn(p, ",");
		char id[64];

		if (n > 0 && n < sizeof(id)) {
			memcpy(id, p, n);
			id[n] = '\0';
			if (detect_find(id) == NULL && strstr(seen, id) == NULL &&
			    strlen(seen) + n + 2 < sizeof(seen)) {
				strcat(seen, id);
				strcat(seen, ",");
				printf("label id with no detector: %s\n", id);
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
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
		judge_file(dir, f[0], must, must_not, t);
		note_unknown_ids(must);
		note_unknown_ids(must_not);
	}
	free(text);
}

static void print_table(void)
{
	printf("\n%-28s %4s %4s %4s %4s\n", "pattern", "TP", "FN", "FP", "TN");
	for (size_t i = 0; i < detector_table_len && i < MAX_IDS; i++) {
		const struct tally *u = &per_id[i];

		printf("%-28s %4u %4u %4u %4u\n", detector_table[i]->id, u->tp,
		       u->fn, u->fp, u->tn);
	}
}

static void test_corpus_labels__all_patterns(void **state)
{
	struct tally t = { 0 };

	(void)state;
	judge_dir("corpus/logs", &t);
	judge_dir("corpus/minidumps", &t);

	print_table();

	unsigned found = t.tp + t.fp, want = t.tp + t.fn;
	double precision = found ? (double)t.tp / found : 1.0;
	double recall = want ? (double)t.tp / want : 1.0;

	printf("\ntrue positives %u, misses %u, false positives %u, "
	       "true negatives %u\n",
	       t.tp, t.fn, t.fp, t.tn);
	printf("precision %.1f %%, recall %.1f %%\n", 100 * precision,
	       100 * recall);
	if (precision < MIN_PRECISION)
		fail_msg("precision %.1f %% is below %.0f %%", 100 * precision,
			 100 * MIN_PRECISION);
	if (recall < MIN_RECALL)
		fail_msg("recall %.1f %% is below %.0f %%", 100 * recall,
			 100 * MIN_RECALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_labels__all_patterns),
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
