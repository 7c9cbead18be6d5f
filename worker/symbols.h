/*
 * symbols - function names for frames from Breakpad text symbol files.
 *
 * A symbol store is one or more root folders laid out as Breakpad's
 * simple symbol supplier expects (formats.md 3.4):
 * ROOT/DEBUG_FILE/DEBUG_ID/NAME.sym, NAME being DEBUG_FILE with a trailing
 * ".pdb" replaced by ".sym" (else DEBUG_FILE + ".sym"). FUNC and PUBLIC
 * records name frames (formats.md 3.5), FUNC line records with FILE
 * records give their source file and line, INLINE and INLINE_ORIGIN
 * records the functions inlined there; STACK WIN and STACK CFI records
 * are the unwind rules stackwalk.h uses.
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
struct module;

#define SYMFILE_MAX_BYTES ((size_t)256 << 20) /* larger files are refused */
#define SYMFILE_MAX_FUNCS ((size_t)4 << 20)
#define SYMFILE_MAX_PUBLICS ((size_t)4 << 20)
#define SYMFILE_MAX_LINES ((size_t)16 << 20)
#define SYMFILE_MAX_FILES ((size_t)1 << 20)
#define SYMFILE_MAX_STACK ((size_t)16 << 20) /* STACK records per kind */
#define SYMFILE_MAX_INLINES ((size_t)16 << 20) /* INLINE ranges, origins */
#define SYMFILE_MAX_INLINE_SCAN 4096 /* inlined ranges looked at per lookup */
#define SYMFILE_MAX_NAME 8192 /* longer names are cut */

/* ---- one parsed symbol file -------------------------------------------- */

struct symfile;

struct symfile_stats {
	size_t funcs;     /* FUNC records kept (overlaps dropped) */
	size_t publics;   /* PUBLIC records kept */
	size_t lines;     /* FUNC line records kept */
	size_t files;     /* FILE records kept */
	size_t stack_win; /* STACK WIN records kept (types 4 and 0) */
	size_t stack_cfi; /* STACK CFI INIT and delta records kept */
	size_t inlines;   /* INLINE ranges kept */
	size_t origins;   /* INLINE_ORIGIN records kept */
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
 * The source line covering module offset REL: a line record of the FUNC
 * that contains REL, with its FILE's name. *OFFSET is REL less the line's
 * first address. False when no line record (or no FILE) covers REL.
 */
bool symfile_lookup_line(const struct symfile *f, uint64_t rel,
			 const char **file, uint32_t *line, uint64_t *offset);

/* A function inlined at an address (INLINE and INLINE_ORIGIN records). */
struct symfile_inline {
	const char *name;      /* the origin's, or "<name omitted>" */
	const char *call_file; /* call site's FILE, NULL when not given */
	uint32_t call_line;    /* call site's line */
	uint64_t base;         /* start of the inlined range holding REL */
	uint32_t level;        /* nesting depth, 0 outermost */
	size_t seq;            /* file order */
};

/*
 * The functions inlined at REL within the FUNC covering it, innermost
 * first, into OUT (at most MAX). Returns the count.
 */
size_t symfile_lookup_inlines(const struct symfile *f, uint64_t rel,
			      struct symfile_inline *out, size_t max);

/* A STACK WIN record's fields (x86 unwinding, formats.md 3.5). */
struct symfile_win {
	uint32_t type; /* 4: frame data, 0: FPO */
	uint32_t prolog_size, epilog_size, param_size;
	uint32_t saved_regs_size, local_size, max_stack_size;
	bool allocates_base_pointer;
	const char *program; /* postfix program, or NULL */
};

/*
 * The STACK WIN record covering REL, type 4 before type 0 as Breakpad
 * prefers them. False when none does.
 */
bool symfile_find_win(const struct symfile *f, uint64_t rel,
		      struct symfile_win *out);

/* The parameter size of the FUNC covering REL. False when none does. */
bool symfile_param_size(const struct symfile *f, uint64_t rel,
			uint32_t *out);

/*
 * The STACK CFI rules in force at REL: the covering INIT record's, then
 * each delta's from the INIT's start up to REL, into RULES (at most MAX;
 * strings live as long as F). Returns the count, 0 when no INIT covers
 * REL, SIZE_MAX when there are more than MAX.
 */
size_t symfile_find_cfi(const struct symfile *f, uint64_t rel,
			const char **rules, size_t max);

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

/* ---- one analysis' view of the store ------------------------------------- */

/*
 * The symbol files of one analysis' modules, each looked up in the store
 * on first use and held until the session ends. Used by one thread.
 */
struct symsession;

/*
 * A session for A's modules from S. NULL when S is NULL or has no roots,
 * A has no modules, or memory is short: callers then walk and name
 * without symbols.
 */
struct symsession *symsession_new(struct symstore *s,
				  const struct analysis *a);

/*
 * A session that gives F (still owned by the caller) for every module of
 * A: for walking with one file at hand, as tests and fuzzers do. NULL on
 * ENOMEM.
 */
struct symsession *symsession_for_file(const struct analysis *a,
				      const struct symfile *f);

/*
 * The parsed symbol file for module M (an element of A's module list),
 * or NULL when the store has none: a missing file is not an error.
 */
const struct symfile *symsession_file(struct symsession *ss,
				      const struct module *m);

/* Release the session's files. NULL-safe. */
void symsession_destroy(struct symsession **ssp);

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
