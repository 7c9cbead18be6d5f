#include "testdetect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "model.h"
#include "registry.h"

const struct finding *test_found(const struct analysis *a, const char *id)
{
	for (size_t i = 0; i < a->findings.n; i++)
		if (strcmp(a->findings.v[i].pattern, id) == 0)
			return &a->findings.v[i];
	return NULL;
}

const struct finding *test_detect(struct analysis *a, const char *id)
{
	const struct detector *d = detect_find(id);

	assert_non_null(d);
	assert_int_equal(d->run(a), DF_OK);
	return test_found(a, id);
}

struct analysis *test_analyze(const char *log)
{
	struct analysis *a = NULL;

	assert_int_equal(analysis_run(&a, (const uint8_t *)log, strlen(log),
				      NULL),
			 DF_OK);
	assert_non_null(a);
	return a;
}

bool test_evidence_has(const struct finding *f, const char *needle)
{
	for (size_t i = 0; f != NULL && i < f->evidence.n; i++)
		if (strstr(f->evidence.v[i], needle) != NULL)
			return true;
	return false;
}

void test_print_finding(const struct finding *f)
{
	if (f == NULL) {
		printf("  (no finding)\n");
		return;
	}
	printf("  %s (%d): %s\n", f->pattern, f->confidence, f->title);
	for (size_t i = 0; i < f->evidence.n; i++)
		printf("    - %s\n", f->evidence.v[i]);
}
