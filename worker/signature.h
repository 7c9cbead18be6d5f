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
struct strbuf;

#define SIGNATURE_VERSION 1
#define SIGNATURE_MAX_FRAMES 5
#define SIGNATURE_MAX_TEXT 2048
#define SIGNATURE_MAX_INPUT_FRAMES 32 /* normalised frames kept per dump */

/*
 * Parse rules from TEXT (the rules file format: one rule a line,
 * "skip <glob>" drops matching frames, "stop <glob>" ends the signature
 * after a matching frame, '#' comments). NULL on ENOMEM.
 */
struct sigrules *sigrules_parse(const char *text, size_t len);

/* The "version N" line of the rules, 0 when they have none or R is NULL. */
unsigned sigrules_version(const struct sigrules *r);

/* The rules embedded in the program (worker/data/signature-rules.txt). */
struct sigrules *sigrules_default(void);

void sigrules_destroy(struct sigrules **rp);

/*
 * Compute a->signature and a->signature_hash, keeping what they were made
 * from (a->sig_prefix, a->sig_frames: the normalised crashing-thread
 * frames before any rule, a->sig_fallback, a->sig_rules_version) so that
 * the signature can be made again under other rules without the dump.
 * Returns DF_OK or DF_ENOMEM.
 */
int signature_compute(struct analysis *a, const struct sigrules *rules);

/* What a signature is made from. */
struct signature_input {
	const char *prefix;          /* bugcheck or exception code */
	const char *const *frames;   /* normalised frames, top first */
	size_t nframes;
	const char *fallback;        /* used when no frame is kept, or NULL */
};

/*
 * Apply RULES to IN: the signature text into TEXT (reset first, its cap
 * bounds the text) and its hash into HASH. With EXPLAIN not NULL, one line
 * per frame saying what each rule did, then the result. DF_OK or
 * DF_ENOMEM.
 */
int signature_build(const struct signature_input *in,
		    const struct sigrules *rules, struct strbuf *text,
		    char hash[17], struct strbuf *explain);

#endif /* WORKER_SIGNATURE_H */
