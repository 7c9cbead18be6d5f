/*
 * signature - stack signature v1: how dumps are bucketed.
 *
 * The crashing thread's frames, normalised (`module!function` without
 * offsets when symbolic, `module+0xOFFSET` otherwise, module names lower
 * case without extension), after dropping frames the rules file lists
 * (bugcheck and trap handlers, system-call stubs, wait primitives), at most
 * SIGNATURE_MAX_FRAMES frames, prefixed by the bugcheck or exception code:
 *     "0x000000D1 | e1g60i32!E1000ReceiveIndicate | NDIS!ethFilterDprIndicateReceivePacket"
 * The hash is the first 8 bytes of SHA-256 of that text, as 16 hex digits.
 */
#ifndef WORKER_SIGNATURE_H
#define WORKER_SIGNATURE_H

#include <stddef.h>

struct analysis;
struct sigrules;

#define SIGNATURE_VERSION 1
#define SIGNATURE_MAX_FRAMES 5
#define SIGNATURE_MAX_TEXT 2048

/*
 * Parse rules from TEXT (the rules file format: one rule a line,
 * "skip <glob>" drops matching frames, "stop <glob>" ends the signature
 * after a matching frame, '#' comments). NULL on ENOMEM.
 */
struct sigrules *sigrules_parse(const char *text, size_t len);

/* The rules embedded in the program (worker/data/signature-rules.txt). */
struct sigrules *sigrules_default(void);

void sigrules_destroy(struct sigrules **rp);

/* Compute a->signature and a->signature_hash. Returns DF_OK or DF_ENOMEM. */
int signature_compute(struct analysis *a, const struct sigrules *rules);

#endif /* WORKER_SIGNATURE_H */
