/*
 * analysis_text - the analysis as text for a terminal.
 *
 * One block per dump: format, system, bugcheck or exception, blame,
 * signature, findings with evidence, the crashing thread's frames and any
 * errors. Control characters from the input are shown escaped, never
 * written raw to the terminal.
 */
#ifndef WORKER_ANALYSIS_TEXT_H
#define WORKER_ANALYSIS_TEXT_H

#include <stdio.h>

struct analysis;

/* Write A to OUT, titled with SOURCE (may be NULL). */
void analysis_print_text(FILE *out, const struct analysis *a,
			 const char *source);

/*
 * Write S to OUT with bytes below 0x20 (but tab) and 0x7f shown as \xHH so
 * that names from a dump cannot drive the terminal. NULL prints "-".
 */
void text_put_safe(FILE *out, const char *s);

#endif /* WORKER_ANALYSIS_TEXT_H */
