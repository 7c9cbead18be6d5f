#include "registry.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "model.h"

/* Findings that say the dump itself is doubtful (see registry.h). */
static const char *const quality_patterns[] = {
	"incorrect-stack-trace",
	"truncated-dump",
};

#define QUALITY_PERCENT 60
#define QUALITY_MIN 60

static bool quality_pattern(const char *id)
{
	for (size_t i = 0; i < ARRAY_SIZE(quality_patterns); i++)
		if (strcmp(id, quality_patterns[i]) == 0)
			return true;
	return false;
}

/*
 * A doubtful dump: every other finding loses confidence. A weak quality
 * finding (below QUALITY_MIN, e.g. frames found by scanning alone) marks
 * the signature but does not discount findings that do not rest on the
 * stack.
 */
static void lower_confidence(struct analysis *a)
{
	bool doubtful = false;

	for (size_t i = 0; i < a->findings.n && !doubtful; i++)
		doubtful = quality_pattern(a->findings.v[i].pattern) &&
			   a->findings.v[i].confidence >= QUALITY_MIN;
	for (size_t i = 0; doubtful && i < a->findings.n; i++) {
		struct finding *f = &a->findings.v[i];

		if (quality_pattern(f->pattern))
			continue;
		f->confidence = f->confidence * QUALITY_PERCENT / 100;
		if (f->confidence < 1)
			f->confidence = 1;
	}
}

int detect_run_all(struct analysis *a)
{
	for (size_t i = 0; i < detector_table_len; i++) {
		const struct detector *d = detector_table[i];
		int rc = d->run(a);

		if (rc != DF_OK)
			model_add_error(a, rc, false, 0, "detector %s: %s",
					d->id, df_strerror(rc));
	}
	lower_confidence(a);
	return DF_OK;
}

int detect_add(struct analysis *a, struct finding **f, const char *pattern,
	       const char *title, int confidence, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (*f == NULL) {
		*f = model_add_finding(a, pattern, title, confidence);
		if (*f == NULL)
			return DF_ENOMEM;
	}
	if (confidence > (*f)->confidence)
		(*f)->confidence = confidence;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return model_add_evidence(a, *f, "%s", line) == DF_ENOMEM ? DF_ENOMEM
								  : DF_OK;
}

const struct detector *detect_find(const char *id)
{
	for (size_t i = 0; i < detector_table_len; i++)
		if (strcmp(detector_table[i]->id, id) == 0)
			return detector_table[i];
	return NULL;
}
