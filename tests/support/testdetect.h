/*
 * testdetect - helpers shared by the detector tests: run one detector or
 * the whole pipeline, find a finding, check its evidence.
 */
#ifndef TESTS_TESTDETECT_H
#define TESTS_TESTDETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

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

/* Make TEXT (borrowed) the debugger text A's detectors read. */
void test_set_text(struct analysis *a, const char *text);

/* Give A bugcheck CODE with parameters A1..A4. */
void test_set_bugcheck(struct analysis *a, uint32_t code, uint64_t a1,
		       uint64_t a2, uint64_t a3, uint64_t a4);

/* Add module NAME at [BASE, BASE + SIZE) to A. */
struct module *test_add_module(struct analysis *a, const char *name,
			       uint64_t base, uint64_t size);

/*
 * Fill F from a spec: "mod!fn+0x1c", "mod+0x1a2b" or "0x1234" (an address,
 * no module). A "scan:" prefix marks a frame found by stack scanning,
 * "ctx:" one from a context; without a prefix the frame has trust DFLT.
 */
void test_fill_frame(struct analysis *a, struct frame *f, const char *spec,
		     enum frame_trust dflt);

/*
 * Add thread ID to A with N frames from SPECS (test_fill_frame); frame 0
 * has trust FIRST unless its spec says otherwise, the others PREWALKED.
 */
struct thread *test_add_thread(struct analysis *a, uint64_t id,
			       const char *const *specs, size_t n,
			       enum frame_trust first);

#define assert_evidence(f, needle)                                             \
	do {                                                                   \
		if (!test_evidence_has((f), (needle))) {                       \
			test_print_finding(f);                                 \
			fail_msg("no evidence with \"%s\"", (needle));         \
		}                                                              \
	} while (0)

#endif /* TESTS_TESTDETECT_H */
