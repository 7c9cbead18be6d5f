/*
 * testdetect - helpers shared by the detector tests: run one detector or
 * the whole pipeline, find a finding, check its evidence.
 */
#ifndef TESTS_TESTDETECT_H
#define TESTS_TESTDETECT_H

#include <stdbool.h>

struct analysis;
struct finding;

/* A's finding for pattern ID, or NULL. */
const struct finding *test_found(const struct analysis *a, const char *id);

/* Run detector ID on A (it must exist and succeed); its finding or NULL. */
const struct finding *test_detect(struct analysis *a, const char *id);

/* The whole pipeline on the text LOG; the caller destroys the result. */
struct analysis *test_analyze(const char *log);

/* True when a line of F's evidence contains NEEDLE. */
bool test_evidence_has(const struct finding *f, const char *needle);

/* F with its evidence, on stdout, for failure messages. */
void test_print_finding(const struct finding *f);

#define assert_evidence(f, needle)                                             \
	do {                                                                   \
		if (!test_evidence_has((f), (needle))) {                       \
			test_print_finding(f);                                 \
			fail_msg("no evidence with \"%s\"", (needle));         \
		}                                                              \
	} while (0)

#endif /* TESTS_TESTDETECT_H */
