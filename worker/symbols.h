/*
 * symbols - function names for frames from Breakpad text symbol files.
 *
 * A symbol store is one or more root folders laid out as Breakpad's
 * simple symbol supplier expects (formats.md 3.4):
 * ROOT/DEBUG_FILE/DEBUG_ID/NAME.sym, NAME being DEBUG_FILE with a trailing
 * ".pdb" replaced by ".sym" (else DEBUG_FILE + ".sym"). Only FUNC and
 * PUBLIC records are used (names and offsets, formats.md 3.5); line, INLINE
 * and STACK records are read past. Stack walking with CFI is not done here.
 *
 * Parsed files are cached in the store, shared by every thread that uses
 * it (a mutex guards the cache; the parsed files themselves are read-only
 * and reference-counted). The cache is bounded in entries and bytes; a
 * missing file is remembered for a short while, then looked for again.
 *
 * Hostile input: the dump's debug file and debug id never leave the root
 * (names with '/', '\\', "..", a leading '.' or a NUL are refused, ids must
 * be hex); symbol files are capped in size and record count, every number
 * is checked, and a malformed line is skipped, never fatal.
 */
#ifndef WORKER_SYMBOLS_H
#define WORKER_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analysis;

#define SYMFILE_MAX_BYTES ((size_t)256 << 20) /* larger files are refused */
#define SYMFILE_MAX_FUNCS ((size_t)4 << 20)
#define SYMFILE_MAX_PUBLICS ((size_t)4 << 20)
#define SYMFILE_MAX_NAME 8192 /* longer names are cut */

/* ---- one parsed symbol file -------------------------------------------- */

struct symfile;

struct symfile_stats {
	size_t funcs;     /* FUNC records kept (overlaps dropped) */
	size_t publics;   /* PUBLIC records kept */
	size_t skipped;   /* malformed or over-cap lines */
	size_t bytes;     /* memory held */
};

/*
 * Parse LEN bytes of .sym text into *OUT. Malformed lines are counted and
 * skipped. DF_OK, DF_ENOMEM, or DF_ELIMIT for input over SYMFILE_MAX_BYTES.
 */
int symfile_parse(struct symfile **out, const uint8_t *data, size_t len);

/* Map and parse the file at PATH. DF_OK, DF_EIO (absent), DF_ELIMIT... */
int symfile_load(struct symfile **out, const char *path);

void symfile_destroy(struct symfile **fp);

void symfile_stats(const struct symfile *f, struct symfile_stats *st);

/*
 * The symbol covering module offset REL: the FUNC containing it, else the
 * nearest PUBLIC at or below it (unless a FUNC lies between them). The name
 * stays valid while F lives. False when nothing names REL.
 */
bool symfile_lookup(const struct symfile *f, uint64_t rel, const char **name,
		    uint64_t *offset);

/*
 * "ROOT/DEBUG_FILE/DEBUG_ID/NAME.sym" into OUT. DEBUG_FILE may carry a
 * Windows or POSIX directory (its base name is used). DF_OK, DF_EUSAGE for
 * an unsafe name or id, DF_ELIMIT when OUT is too small.
 */
int symstore_sym_path(char *out, size_t size, const char *root,
		      const char *debug_file, const char *debug_id);

/* ---- the store ------------------------------------------------------------ */

struct symstore;

/* A store over the N roots in DIRS (copied), searched in order. */
struct symstore *symstore_new(const char *const *dirs, size_t n);

/* Free the store and its cache. NULL-safe. */
void symstore_destroy(struct symstore **sp);

/*
 * Around fork() in a process whose other threads use S: prepare takes the
 * cache's lock, so that no thread holds it at the fork; done releases it,
 * called in both the parent and the child (the forking thread owns it in
 * both). A child works on a copy-on-write view: files it loads do not warm
 * the parent's cache. NULL-safe.
 */
void symstore_fork_prepare(struct symstore *s);
void symstore_fork_done(struct symstore *s);

/*
 * So that a parent learns what its forked children loaded: take a mark
 * before the fork; in the child, symstore_loaded_since(MARK) calls FN with
 * the key ("DEBUG_FILE/DEBUG_ID") of every symbol file found since (misses
 * are not listed) and returns their number; the parent passes each key to
 * symstore_warm(), which loads that file into its own cache as a lookup
 * would, so that later children inherit it parsed. A key is checked as a
 * dump's names are (DF_EUSAGE when unsafe or malformed). NULL-safe.
 */
uint64_t symstore_mark(struct symstore *s);
size_t symstore_loaded_since(struct symstore *s, uint64_t mark,
			     void (*fn)(void *ctx, const char *key), void *ctx);
int symstore_warm(struct symstore *s, const char *key);

/*
 * Name every frame (frames and own_frames of every thread) that has a
 * module and a module offset but no function yet: sets function (copied
 * into A's arena), func_offset and has_func_offset. Thread-safe for one
 * store shared by several threads, each with its own analysis. Returns the
 * number of frames named (>= 0), or DF_ENOMEM.
 */
int symstore_symbolize(struct symstore *s, struct analysis *a);

#endif /* WORKER_SYMBOLS_H */
