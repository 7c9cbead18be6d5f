/*
 * test_corpus_logs - the debugger-log reader against real, published logs.
 *
 * For every .txt file in ../shared/corpus/logs the expectation is read
 * from the file itself, independently of the reader and deliberately
 * simply: sscanf on the exact line shapes that state a bugcheck
 * ("BugCheck X, {a, b, c, d}", the !analyze title "NAME (code)" with
 * Arg1..Arg4, BUGCHECK_CODE and BUGCHECK_P1..P4) and the blamed module
 * (MODULE_NAME, else "Probably caused by : X ( ... )"). analysis_run()
 * must agree on at least AGREEMENT_MIN percent of the files that state
 * something; every mismatch is printed. Skips (exit 77) without the
 * shared corpus.
 */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
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

#define AGREEMENT_MIN 95.0
#define MAX_FILES 4096
#define LINE_MAX_TEST 4096

/* What a log says about itself. */
struct expect {
	bool has_code;
	unsigned code;
	bool has_arg[4];
	uint64_t args[4];
	char module[256]; /* "" when the log names none */
};

/* One way of stating the bugcheck; the first occurrence of each counts. */
struct statement {
	bool has_code;
	unsigned code;
	bool has_arg[4];
	uint64_t args[4];
};

struct scan {
	struct statement field, line, title;
	bool in_title;      /* the last title's ArgN lines may follow */
	char module_name[256];
	char probably[256];
};

/* Drop CR/LF and leading e-mail quote marks ("> "). */
static char *clean(char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	while (line[0] == '>' && (line[1] == ' ' || line[1] == '\0' ||
				  line[1] == '>'))
		line += line[1] == ' ' ? 2 : 1;
	return line;
}

static void scan_bugcheck_line(struct scan *s, const char *l)
{
	unsigned code;
	uint64_t a[4];

	if (s->line.has_code ||
	    sscanf(l, "BugCheck %x, {%" SCNx64 ", %" SCNx64 ", %" SCNx64
		      ", %" SCNx64 "}",
		   &code, &a[0], &a[1], &a[2], &a[3]) != 5)
		return;
	s->line.has_code = true;
	s->line.code = code;
	for (int i = 0; i < 4; i++) {
		s->line.has_arg[i] = true;
		s->line.args[i] = a[i];
	}
}

static void scan_fields(struct scan *s, const char *l)
{
	unsigned code;
	int i;
	uint64_t v;

	if (!s->field.has_code && sscanf(l, "BUGCHECK_CODE: %x", &code) == 1) {
		s->field.has_code = true;
		s->field.code = code;
	}
	if (sscanf(l, "BUGCHECK_P%d: %" SCNx64, &i, &v) == 2 && i >= 1 &&
	    i <= 4 && !s->field.has_arg[i - 1]) {
		s->field.has_arg[i - 1] = true;
		s->field.args[i - 1] = v;
	}
}

/* "DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)" alone on its line. */
static void scan_title(struct scan *s, const char *l)
{
	char name[128];
	unsigned code;
	int used = 0;
	int i;
	uint64_t v;

	if (sscanf(l, "%127[A-Z0-9_] (%x)%n", name, &code, &used) == 2 &&
	    (size_t)used == strlen(l)) {
		s->in_title = !s->title.has_code || s->title.code == code;
		if (!s->title.has_code) {
			s->title.has_code = true;
			s->title.code = code;
		}
		return;
	}
	if (s->in_title && sscanf(l, "Arg%d: %" SCNx64, &i, &v) == 2 &&
	    i >= 1 && i <= 4 && !s->title.has_arg[i - 1]) {
		s->title.has_arg[i - 1] = true;
		s->title.args[i - 1] = v;
	}
}

static void scan_blame(struct scan *s, const char *l)
{
	char word[256];

	if (s->module_name[0] == '\0' &&
	    sscanf(l, "MODULE_NAME: %255s", word) == 1)
		snprintf(s->module_name, sizeof(s->module_name), "%s", word);
	if (s->probably[0] == '\0' &&
	    sscanf(l, "Probably caused by : %255s", word) == 1)
		snprintf(s->probably, sizeof(s->probably), "%s", word);
}

/* The title counts only with all four arguments (formats.md 4.2). */
static bool title_complete(const struct statement *t)
{
	return t->has_code && t->has_arg[0] && t->has_arg[1] &&
	       t->has_arg[2] && t->has_arg[3];
}

static void merge(struct expect *e, const struct scan *s)
{
	const struct statement *order[3] = { &s->field, &s->line, &s->title };

	for (int k = 0; k < 3 && !e->has_code; k++) {
		if (!order[k]->has_code ||
		    (order[k] == &s->title && !title_complete(&s->title)))
			continue;
		e->has_code = true;
		e->code = order[k]->code;
	}
	for (int i = 0; i < 4 && e->has_code; i++) {
		for (int k = 0; k < 3; k++) {
			const struct statement *st = order[k];

			if (st->has_arg[i] &&
			    (!st->has_code || st->code == e->code)) {
				e->has_arg[i] = true;
				e->args[i] = st->args[i];
				break;
			}
		}
	}
	snprintf(e->module, sizeof(e->module), "%s",
		 s->module_name[0] ? s->module_name : s->probably);
}

static void expect_read(const char *path, struct expect *e)
{
	FILE *f = fopen(path, "r");
	char buf[LINE_MAX_TEST];
	struct scan s;

	memset(e, 0, sizeof(*e));
	memset(&s, 0, sizeof(s));
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		const char *l = clean(buf);

		scan_bugcheck_line(&s, l);
		scan_fields(&s, l);
		scan_title(&s, l);
		scan_blame(&s, l);
	}
	fclose(f);
	merge(e, &s);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the *.txt files in DIR; returns how many. */
static size_t list_logs(const char *dir, char **names, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	return n;
}

/* Compare one file; prints its mismatches. True when it agrees. */
static bool check_file(const char *name,
		       const struct expect *e, const struct analysis *a)
{
	bool ok = true;
	const struct bugcheck *b = &a->bugcheck;

	if (e->has_code && (!b->present || b->code != e->code)) {
		printf("MISMATCH %s: bugcheck %s%x, log says %x\n", name,
		       b->present ? "" : "absent ", b->code, e->code);
		ok = false;
	}
	for (int i = 0; e->has_code && i < 4; i++) {
		if (e->has_arg[i] && b->args[i] != e->args[i]) {
			printf("MISMATCH %s: arg%d %" PRIx64
			       ", log says %" PRIx64 "\n",
			       name, i + 1, b->args[i], e->args[i]);
			ok = false;
		}
	}
	if (e->module[0] != '\0' &&
	    (a->blame_module == NULL || strcmp(a->blame_module, e->module))) {
		printf("MISMATCH %s: blame %s, log says %s\n", name,
		       a->blame_module ? a->blame_module : "(none)", e->module);
		ok = false;
	}
	return ok;
}

static void test_corpus_logs__agree_with_what_the_log_states(void **state)
{
	(void)state;
	const char *dir = test_shared_path("corpus/logs");
	char *names[MAX_FILES];
	size_t n = list_logs(dir, names, MAX_FILES);
	size_t checked = 0, agreed = 0;

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct expect e;
		struct analysis *a = NULL;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		expect_read(path, &e);
		if (!e.has_code && e.module[0] == '\0') {
			free(names[i]);
			continue;
		}
		assert_int_equal(analysis_run_file(&a, path, NULL), DF_OK);
		checked++;
		if (check_file(names[i], &e, a))
			agreed++;
		analysis_destroy(&a);
		free(names[i]);
	}
	double pct = checked ? 100.0 * (double)agreed / (double)checked : 0;

	printf("corpus logs: %zu of %zu checked files agree (%.1f%%)\n",
	       agreed, checked, pct);
	assert_true(checked > 0);
	assert_true(pct >= AGREEMENT_MIN);
}

/* Every published log is recognised as debugger output by its content. */
static void test_corpus_logs__all_detected_as_debugger_logs(void **state)
{
	(void)state;
	const char *dir = test_shared_path("corpus/logs");
	char *names[MAX_FILES];
	size_t n = list_logs(dir, names, MAX_FILES);

	for (size_t i = 0; i < n; i++) {
		char path[4096];
		size_t len;
		uint8_t *buf;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		buf = test_read_file(path, &len);
		assert_non_null(buf);
		if (analysis_detect_format(buf, len) != FORMAT_DEBUGGER_LOG)
			printf("NOT DETECTED %s\n", names[i]);
		assert_int_equal(analysis_detect_format(buf, len),
				 FORMAT_DEBUGGER_LOG);
		free(buf);
		free(names[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_corpus_logs__agree_with_what_the_log_states),
		cmocka_unit_test(
			test_corpus_logs__all_detected_as_debugger_logs),
	};

	DIR *d = test_shared_dir() != NULL ?
			 opendir(test_shared_path("corpus/logs")) :
			 NULL;

	if (d == NULL)
		return 77; /* no shared corpus here: skip */
	closedir(d);
	return cmocka_run_group_tests_name("corpus_logs", tests, NULL, NULL);
}
