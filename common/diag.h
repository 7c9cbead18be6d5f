/*
 * diag - the first cause of a failure, with the byte offset where it was seen.
 *
 * A diag lives on the stack or inside a result; it never allocates. The first
 * failure recorded wins: later calls keep the original cause so that a report
 * names what went wrong, not its last symptom.
 */
#ifndef COMMON_DIAG_H
#define COMMON_DIAG_H

#include <stdbool.h>
#include <stdint.h>

#define DIAG_MSG_MAX 256

struct diag {
	int code;                /* DF_OK while nothing failed */
	uint64_t offset;         /* byte offset in the input, if has_offset */
	bool has_offset;         /* offset is meaningful */
	char msg[DIAG_MSG_MAX];  /* human-readable cause, NUL-terminated */
};

/* Reset D to "no failure". */
void diag_init(struct diag *d);

/*
 * Record CODE with a printf-style message unless D already holds a failure.
 * Returns CODE so that callers can write `return diag_fail(d, ...)`.
 * D may be NULL (the code is still returned).
 */
int diag_fail(struct diag *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As diag_fail, and also record the input offset OFF. */
int diag_fail_at(struct diag *d, int code, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* True when D holds a failure. */
bool diag_failed(const struct diag *d);

#endif /* COMMON_DIAG_H */
