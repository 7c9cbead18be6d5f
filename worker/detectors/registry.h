/*
 * registry - the crash-analysis pattern detectors.
 *
 * Each detector lives in one file detectors/d_<name>.c that defines
 *     const struct detector detector_<name> = { ... };
 * The build generates the table from the files present, so adding a
 * detector is adding one file. Detectors read the common model only and
 * add findings with model_add_finding()/model_add_evidence().
 *
 * Dump quality: when incorrect-stack-trace or truncated-dump is found with
 * a confidence of 60 or more, detect_run_all() lowers the confidence of
 * every other finding on that dump to 60 % of its value (at least 1),
 * since what they read may be wrong or missing; reports count findings of
 * confidence 50 or more apart (STORE_CONFIDENT).
 */
#ifndef DETECTORS_REGISTRY_H
#define DETECTORS_REGISTRY_H

#include <stddef.h>

struct analysis;
struct finding;

struct detector {
	const char *id;     /* stable pattern id, e.g. "self-dump" */
	const char *title;  /* one line for humans */
	const char *description; /* what it looks at, one line; may be NULL */
	/* Look at A and add findings to it. Returns DF_OK or a DF_E* code. */
	int (*run)(struct analysis *a);
};

/* Generated table of every detector, in file-name order. */
extern const struct detector *const detector_table[];
extern const size_t detector_table_len;

/*
 * Run every detector on A. A detector that fails records an error in A and
 * the others still run. Returns DF_OK.
 */
int detect_run_all(struct analysis *a);

/*
 * Add evidence (printf-style, one line, cut at 511 bytes) to *F, A's
 * finding for PATTERN. The finding is made with TITLE on the first
 * evidence, so a detector that collects evidence as it goes reports
 * nothing when it finds nothing; its confidence is the highest any
 * evidence gave. Returns DF_OK or DF_ENOMEM.
 */
int detect_add(struct analysis *a, struct finding **f, const char *pattern,
	       const char *title, int confidence, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The detector with pattern id ID, or NULL. */
const struct detector *detect_find(const char *id);

#endif /* DETECTORS_REGISTRY_H */
