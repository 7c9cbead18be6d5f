/*
 * analysis - bytes in, analysed dump out.
 *
 * analysis_run() detects the format by content (never by name), runs the
 * reader, names the bugcheck or exception, picks the module to blame, runs
 * every detector and computes the stack signature. A damaged input is a
 * result: its errors are in the analysis and the call still succeeds.
 */
#ifndef WORKER_ANALYSIS_H
#define WORKER_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "model.h"

struct sigrules;
struct symstore;

/*
 * Analyse LEN bytes at DATA into a fresh *OUT (caller destroys it with
 * analysis_destroy). RULES may be NULL for the embedded signature rules.
 * Returns DF_OK, or DF_ENOMEM when no analysis could be made at all.
 */
int analysis_run(struct analysis **out, const uint8_t *data, size_t len,
		 const struct sigrules *rules);

/*
 * Map the file at PATH and analyse it. A file that cannot be opened gives
 * an analysis holding that error. Returns DF_OK or DF_ENOMEM.
 */
int analysis_run_file(struct analysis **out, const char *path,
		      const struct sigrules *rules);

/*
 * As analysis_run() and analysis_run_file(), naming frames from the symbol
 * store SYMS (may be NULL: no symbols) right after the reader, so that the
 * blame, the detectors and the signature see function names.
 */
int analysis_run_with(struct analysis **out, const uint8_t *data, size_t len,
		      const struct sigrules *rules, struct symstore *syms);
int analysis_run_file_with(struct analysis **out, const char *path,
			   const struct sigrules *rules,
			   struct symstore *syms);

/*
 * As analysis_run_file_with() without the content hash, which reads the
 * whole file (a kernel dump of many GB) while the readers touch only the
 * pages they need: for a caller that knows the hash already or does not
 * want it. The analysis says so (content_hash_skipped).
 */
int analysis_run_file_unhashed(struct analysis **out, const char *path,
			       const struct sigrules *rules,
			       struct symstore *syms);

/*
 * As analysis_run_with() and analysis_run_file_with() for content whose
 * SHA-256 is known already (the job named it): HASH is taken as it is,
 * so the time does not grow with the size of a file the readers only
 * sample. HASH NULL computes it.
 */
int analysis_run_known(struct analysis **out, const uint8_t *data,
		       size_t len, const struct sigrules *rules,
		       struct symstore *syms, const uint8_t hash[HASH_LEN]);
int analysis_run_file_known(struct analysis **out, const char *path,
			    const struct sigrules *rules,
			    struct symstore *syms,
			    const uint8_t hash[HASH_LEN]);

/*
 * As analysis_run_known for LEN bytes at DATA of which only the first
 * few are resident: SRC (reader.h) makes the others resident as the
 * reader needs them (a kernel dump read range by range); a format whose
 * reader does not read through a source has all its bytes made resident
 * first. HASH is required: hashing would read everything. The first 8
 * bytes must be resident. A failure of SRC is SRC's to report.
 */
struct reader_src;
int analysis_run_src(struct analysis **out, const uint8_t *data, size_t len,
		     const struct sigrules *rules, struct symstore *syms,
		     const uint8_t hash[HASH_LEN],
		     const struct reader_src *src);

/*
 * Build the embedded tables (bugchecks, their arguments, OS modules) now
 * instead of on first use. A process that forks a child per dump calls it
 * before forking: every child then inherits them built, rather than
 * building its own copy for each dump.
 */
void analysis_preload(void);

/* Detect the format of DATA by its content. */
enum model_format analysis_detect_format(const uint8_t *data, size_t len);

#endif /* WORKER_ANALYSIS_H */
