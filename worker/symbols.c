#include "symbols.h"
#include "text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "df.h"
#include "diag.h"
#include "mapfile.h"
#include "model.h"

/* Inlined functions: per frame, and added per list of frames. */
#define SYMSTORE_MAX_INLINE_DEPTH 32
#define SYMSTORE_MAX_INLINE_FRAMES 1024

/* Cache bounds: entries and bytes of parsed files held. */
#define SYMSTORE_MAX_ENTRIES 512
#define SYMSTORE_MAX_BYTES ((size_t)1 << 30)
/* A file found missing is looked for again after this many seconds. */
#define SYMSTORE_MISS_TTL 60
#define SYMSTORE_PATH_MAX 4096
#define SYMSTORE_KEY_MAX 512
#define SYMSTORE_ID_MAX 64

/* ---- parsing -------------------------------------------------------------- */

/*
 * Where a record applies: [addr, end), and its place in the file, to keep
 * the first of records at one address. Every record kind begins with one,
 * so that one sort, one overlap rule and one search serve them all.
 */
struct sym_range {
	uint64_t addr;
	uint64_t end; /* exclusive */
	size_t seq;
};

struct sym_func {
	struct sym_range r;
	const char *name;
	uint32_t param_size;
};

/* A STACK WIN record of type 0 (FPO) or 4 (frame data). */
struct sym_win {
	struct sym_range r;
	struct symfile_win info;
};

/*
 * A STACK CFI record: an INIT's range and rules, or a delta's address
 * (end == addr) and rules, which apply from that address on.
 */
struct sym_cfi {
	struct sym_range r;
	const char *rules;
};

struct sym_win_vec {
	struct sym_win *v;
	size_t n, cap;
};

struct sym_cfi_vec {
	struct sym_cfi *v;
	size_t n, cap;
};

/* A PUBLIC symbol: its range is its one address (end = addr + 1). */
struct sym_pub {
	struct sym_range r;
	const char *name;
};

/* A FUNC's line record: its range is LINE of FILE (a FILE number). */
struct sym_line {
	struct sym_range r;
	uint32_t line;
	uint32_t file;
};

struct sym_file {
	uint32_t num;
	const char *name;
	size_t seq;
};

/* One range of an INLINE record: code of ORIGIN inlined at a call site. */
struct sym_inline {
	struct sym_range r;
	uint32_t level;      /* nesting depth, 0 outermost */
	uint32_t line;       /* call site line */
	uint32_t file;       /* call site FILE number, if has_file */
	uint32_t origin;     /* INLINE_ORIGIN number */
	bool has_file;
};

struct sym_origin {
	uint32_t id;
	const char *name;
	size_t seq;
};

struct sym_inline_vec {
	struct sym_inline *v;
	size_t n, cap;
};

struct sym_origin_vec {
	struct sym_origin *v;
	size_t n, cap;
};

struct symfile {
	struct arena *names;
	struct sym_func *funcs;
	size_t nfuncs, capfuncs;
	struct sym_pub *pubs;
	size_t npubs, cappubs;
	struct sym_line *lines;
	size_t nlines, caplines;
	struct sym_file *files;
	size_t nfiles, capfiles;
	struct sym_win_vec win[2]; /* [0]: type 4, [1]: type 0 */
	struct sym_cfi_vec cfi_init, cfi_delta;
	struct sym_inline_vec inlines;
	struct sym_origin_vec origins;
	bool in_func; /* line records follow a FUNC that was kept */
	long inline_level; /* deepest INLINE level so far in the FUNC */
	size_t skipped;
};

/* A bounded view of one line. */
struct cursor {
	const char *p;
	const char *end;
};

static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n + 1 || memcmp(c->p, w, n) != 0 ||
	    c->p[n] != ' ')
		return false;
	c->p += n + 1;
	return true;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 1..16 hex digits ending at a space (consumed) or the end of the line. */
static bool take_hex(struct cursor *c, uint64_t *v)
{
	uint64_t x = 0;
	size_t n = 0;

	while (c->p < c->end && *c->p != ' ') {
		int d = hex_digit(*c->p);

		if (d < 0 || ++n > 16)
			return false;
		x = x << 4 | (uint64_t)d;
		c->p++;
	}
	if (n == 0)
		return false;
	if (c->p < c->end)
		c->p++;
	*v = x;
	return true;
}

/* 1..10 decimal digits (a uint32_t) ending at a space or the line. */
static bool take_dec(struct cursor *c, uint32_t *v)
{
	uint64_t x = 0;
	size_t n = 0;

	while (c->p < c->end && *c->p != ' ') {
		if (*c->p < '0' || *c->p > '9' || ++n > 10)
			return false;
		x = x * 10 + (uint64_t)(*c->p - '0');
		c->p++;
	}
	if (n == 0 || x > UINT32_MAX)
		return false;
	if (c->p < c->end)
		c->p++;
	*v = (uint32_t)x;
	return true;
}

/* The rest of the line as a name (cut at SYMFILE_MAX_NAME), or NULL. */
static const char *take_name(struct symfile *f, const struct cursor *c)
{
	size_t n = (size_t)(c->end - c->p);

	if (n == 0)
		return NULL;
	if (n > SYMFILE_MAX_NAME)
		n = SYMFILE_MAX_NAME;
	return arena_strndup(f->names, c->p, n);
}

static bool grow(void **v, size_t *cap, size_t n, size_t elem, size_t maxn)
{
	if (n < *cap)
		return true;
	if (n >= maxn)
		return false;
	size_t ncap = *cap ? *cap * 2 : 256;

	if (ncap > maxn)
		ncap = maxn;
	void *nv = realloc(*v, ncap * elem);

	if (nv == NULL)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* FUNC [m] addr size param_size name */
static bool parse_func(struct symfile *f, struct cursor *c, size_t seq)
{
	uint64_t addr, size, param;

	take_word(c, "m");
	if (!take_hex(c, &addr) || !take_hex(c, &size) ||
	    !take_hex(c, &param) || size == 0 || addr > UINT64_MAX - size ||
	    param > UINT32_MAX)
		return false;
	if (!grow((void **)&f->funcs, &f->capfuncs, f->nfuncs,
		  sizeof(*f->funcs), SYMFILE_MAX_FUNCS))
		return false;
	const char *name = take_name(f, c);

	if (name == NULL)
		return false;
	f->funcs[f->nfuncs++] = (struct sym_func){
		{ addr, addr + size, seq }, name, (uint32_t)param };
	f->in_func = true;
	f->inline_level = -1;
	return true;
}

/* FILE number name */
static bool parse_file(struct symfile *f, struct cursor *c, size_t seq)
{
	uint32_t num;

	if (!take_dec(c, &num) ||
	    !grow((void **)&f->files, &f->capfiles, f->nfiles,
		  sizeof(*f->files), SYMFILE_MAX_FILES))
		return false;
	const char *name = take_name(f, c);

	if (name == NULL)
		return false;
	f->files[f->nfiles++] = (struct sym_file){ num, name, seq };
	return true;
}

/* A FUNC's line record: addr size line file (hex, hex, decimal, decimal). */
static bool parse_line_record(struct symfile *f, struct cursor *c, size_t seq)
{
	uint64_t addr, size;
	uint32_t line, file;

	if (!f->in_func)
		return false;
	if (!take_hex(c, &addr) || !take_hex(c, &size) ||
	    !take_dec(c, &line) || !take_dec(c, &file) || c->p != c->end ||
	    addr > UINT64_MAX - size)
		return false;
	if (size == 0)
		return true; /* Breakpad keeps no empty ranges */
	if (!grow((void **)&f->lines, &f->caplines, f->nlines,
		  sizeof(*f->lines), SYMFILE_MAX_LINES))
		return false;
	f->lines[f->nlines++] = (struct sym_line){ { addr, addr + size, seq },
						   line, file };
	return true;
}

/* PUBLIC [m] addr param_size name; address 0 is ignored (Breakpad). */
static bool parse_public(struct symfile *f, struct cursor *c, size_t seq)
{
	uint64_t addr, param;

	take_word(c, "m");
	if (!take_hex(c, &addr) || !take_hex(c, &param))
		return false;
	if (addr == 0 || addr == UINT64_MAX)
		return true;
	if (!grow((void **)&f->pubs, &f->cappubs, f->npubs, sizeof(*f->pubs),
		  SYMFILE_MAX_PUBLICS))
		return false;
	const char *name = take_name(f, c);

	if (name == NULL)
		return false;
	f->pubs[f->npubs++] = (struct sym_pub){ { addr, addr + 1, seq }, name };
	return true;
}

/* A decimal number or -1 (Breakpad's "no file"), into *V and *HAS. */
static bool take_file_num(struct cursor *c, uint32_t *v, bool *has)
{
	if ((size_t)(c->end - c->p) >= 3 && memcmp(c->p, "-1 ", 3) == 0) {
		c->p += 3;
		*has = false;
		return true;
	}
	*has = true;
	return take_dec(c, v);
}

/* Count the space-separated tokens of the rest of the line. */
static size_t count_tokens(const struct cursor *c)
{
	size_t n = 0;

	for (const char *p = c->p; p < c->end; p++)
		n += *p != ' ' && (p == c->p || p[-1] == ' ');
	return n;
}

/*
 * INLINE level call_line [call_file] origin (addr size)+ inside a FUNC;
 * the old form has no call_file: an odd count of tokens tells them apart,
 * as in Breakpad. A level more than one deeper than the last is refused
 * (its parent was malformed).
 */
static bool parse_inline(struct symfile *f, struct cursor *c, size_t seq)
{
	struct sym_inline in = { .r.seq = seq };
	size_t tokens = count_tokens(c);

	in.has_file = tokens % 2 == 0;
	if (!f->in_func || tokens < 5 || !take_dec(c, &in.level) ||
	    !take_dec(c, &in.line) ||
	    (in.has_file && !take_file_num(c, &in.file, &in.has_file)) ||
	    !take_dec(c, &in.origin) || (long)in.level > f->inline_level + 1)
		return false;
	f->inline_level = in.level;
	while (c->p < c->end) {
		uint64_t size;

		if (!take_hex(c, &in.r.addr) || !take_hex(c, &size) ||
		    in.r.addr > UINT64_MAX - size)
			return false;
		in.r.end = in.r.addr + size;
		if (size == 0)
			continue;
		if (!grow((void **)&f->inlines.v, &f->inlines.cap,
			  f->inlines.n, sizeof(in), SYMFILE_MAX_INLINES))
			return false;
		f->inlines.v[f->inlines.n++] = in;
	}
	return true;
}

/* INLINE_ORIGIN id [file] name; an old-form file number is skipped. */
static bool parse_inline_origin(struct symfile *f, struct cursor *c,
				size_t seq)
{
	struct sym_origin o = { .seq = seq };
	uint32_t file;
	bool has;

	if (!take_dec(c, &o.id))
		return false;
	const char *p = c->p;

	if (p < c->end && *p == '-')
		p++;
	while (p < c->end && *p >= '0' && *p <= '9')
		p++;
	if (p > c->p && (p == c->end || *p == ' ') &&
	    !take_file_num(c, &file, &has))
		return false;
	o.name = take_name(f, c);
	if (o.name == NULL ||
	    !grow((void **)&f->origins.v, &f->origins.cap, f->origins.n,
		  sizeof(o), SYMFILE_MAX_INLINES))
		return false;
	f->origins.v[f->origins.n++] = o;
	return true;
}

/* Up to 8 hex digits, for the 32-bit fields of STACK WIN. */
static bool take_hex32(struct cursor *c, uint32_t *v)
{
	uint64_t x;

	if (!take_hex(c, &x) || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/*
 * STACK WIN type rva size prolog epilog params saved_regs locals
 * max_stack has_program (program | allocates_base_pointer)
 */
static bool parse_stack_win(struct symfile *f, struct cursor *c, size_t seq)
{
	struct sym_win w = { .r.seq = seq };
	struct symfile_win *i = &w.info;
	uint64_t size;
	uint32_t has_program;

	if (!take_hex32(c, &i->type) || !take_hex(c, &w.r.addr) ||
	    !take_hex(c, &size) || !take_hex32(c, &i->prolog_size) ||
	    !take_hex32(c, &i->epilog_size) ||
	    !take_hex32(c, &i->param_size) ||
	    !take_hex32(c, &i->saved_regs_size) ||
	    !take_hex32(c, &i->local_size) ||
	    !take_hex32(c, &i->max_stack_size) ||
	    !take_hex32(c, &has_program) || w.r.addr > UINT64_MAX - size)
		return false;
	w.r.end = w.r.addr + size;
	if (has_program) {
		i->program = take_name(f, c);
		if (i->program == NULL)
			return false;
	} else {
		uint32_t bp;

		if (!take_hex32(c, &bp))
			return false;
		i->allocates_base_pointer = bp != 0;
	}
	/* Breakpad walks with types 4 and 0 only; others are kept out. */
	if ((i->type != 4 && i->type != 0) || size == 0)
		return true;
	struct sym_win_vec *a = &f->win[i->type == 4 ? 0 : 1];

	if (!grow((void **)&a->v, &a->cap, a->n, sizeof(*a->v),
		  SYMFILE_MAX_STACK))
		return false;
	a->v[a->n++] = w;
	return true;
}

/* STACK CFI INIT addr size rules | STACK CFI addr rules */
static bool parse_stack_cfi(struct symfile *f, struct cursor *c, size_t seq)
{
	struct sym_cfi r = { .r.seq = seq };
	bool init = take_word(c, "INIT");
	uint64_t size = 0;

	if (!take_hex(c, &r.r.addr) || (init && !take_hex(c, &size)) ||
	    r.r.addr > UINT64_MAX - size || (init && size == 0))
		return false;
	r.r.end = r.r.addr + size;
	r.rules = take_name(f, c);
	if (r.rules == NULL)
		return false;
	struct sym_cfi_vec *a = init ? &f->cfi_init : &f->cfi_delta;

	if (!grow((void **)&a->v, &a->cap, a->n, sizeof(*a->v),
		  SYMFILE_MAX_STACK))
		return false;
	a->v[a->n++] = r;
	return true;
}

static bool parse_stack(struct symfile *f, struct cursor *c, size_t seq)
{
	if (take_word(c, "WIN"))
		return parse_stack_win(f, c, seq);
	if (take_word(c, "CFI"))
		return parse_stack_cfi(f, c, seq);
	return false;
}

/* One line; false when it is malformed (the caller counts it). */
static bool parse_line(struct symfile *f, struct cursor *c, size_t seq)
{
	if (memchr(c->p, '\0', (size_t)(c->end - c->p)) != NULL)
		return false;
	if (take_word(c, "FUNC")) {
		f->in_func = false;
		return parse_func(f, c, seq);
	}
	/* "FILE" and "FUNC" start with hex digits: keywords first. */
	if (take_word(c, "FILE")) {
		f->in_func = false;
		return parse_file(f, c, seq);
	}
	if (hex_digit(*c->p) >= 0)
		return parse_line_record(f, c, seq);
	if (take_word(c, "INLINE"))
		return parse_inline(f, c, seq); /* the FUNC's lines may follow */
	f->in_func = false;
	if (take_word(c, "INLINE_ORIGIN"))
		return parse_inline_origin(f, c, seq);
	if (take_word(c, "PUBLIC"))
		return parse_public(f, c, seq);
	if (take_word(c, "STACK"))
		return parse_stack(f, c, seq);
	/*
	 * MODULE and INFO records carry nothing this reader uses.
	 */
	return true;
}

/* Order by address, then file order (a record's first member is a range). */
static int cmp_range(const void *x, const void *y)
{
	const struct sym_range *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static const struct sym_range *range_at(const void *v, size_t size, size_t i)
{
	return (const struct sym_range *)((const char *)v + i * size);
}

/*
 * qsort, unless the records are in order already: dump_syms writes most
 * of them so, and sorting them anyway was a twelfth of `analyze
 * --symbols`. Every comparison ends on a unique sequence number, so the
 * order is total and the result the same either way.
 */
static void sort_records(void *v, size_t n, size_t size,
			 int (*cmp)(const void *, const void *))
{
	const char *p = v;

	for (size_t i = 1; i < n; i++) {
		if (cmp(p + (i - 1) * size, p + i * size) > 0) {
			qsort(v, n, size, cmp);
			return;
		}
	}
}

/*
 * Sort the N records of SIZE bytes at V by address; with DROP, keep the
 * first of records that overlap, as Breakpad's range maps refuse a range
 * overlapping a stored one. Returns the records kept.
 */
static size_t sort_ranges(void *v, size_t n, size_t size, bool drop)
{
	size_t k = 0;

	sort_records(v, n, size, cmp_range);
	if (!drop)
		return n;
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && range_at(v, size, i)->addr <
				     range_at(v, size, k - 1)->end)
			continue;
		if (k != i)
			memcpy((char *)v + k * size, range_at(v, size, i), size);
		k++;
	}
	return k;
}

static int cmp_file(const void *x, const void *y)
{
	const struct sym_file *a = x, *b = y;

	if (a->num != b->num)
		return a->num < b->num ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sort FILE records by number; keep the first of equal numbers. */
static void finish_files(struct symfile *f)
{
	size_t k = 0;

	sort_records(f->files, f->nfiles, sizeof(*f->files), cmp_file);
	for (size_t i = 0; i < f->nfiles; i++) {
		if (k > 0 && f->files[i].num == f->files[k - 1].num)
			continue;
		f->files[k++] = f->files[i];
	}
	f->nfiles = k;
}

static int cmp_origin(const void *x, const void *y)
{
	const struct sym_origin *a = x, *b = y;

	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sort INLINE_ORIGINs by number; the first of equal numbers counts. */
static void finish_origins(struct symfile *f)
{
	struct sym_origin_vec *o = &f->origins;
	size_t k = 0;

	sort_records(o->v, o->n, sizeof(*o->v), cmp_origin);
	for (size_t i = 0; i < o->n; i++) {
		if (k > 0 && o->v[i].id == o->v[k - 1].id)
			continue;
		o->v[k++] = o->v[i];
	}
	o->n = k;
}

/*
 * Sort every kind of record; CFI deltas may share addresses with INITs,
 * inlined ranges nest.
 */
static void finish(struct symfile *f)
{
	f->nfuncs = sort_ranges(f->funcs, f->nfuncs, sizeof(*f->funcs), true);
	f->npubs = sort_ranges(f->pubs, f->npubs, sizeof(*f->pubs), true);
	f->nlines = sort_ranges(f->lines, f->nlines, sizeof(*f->lines), true);
	for (int t = 0; t < 2; t++)
		f->win[t].n = sort_ranges(f->win[t].v, f->win[t].n,
					  sizeof(*f->win[t].v), true);
	f->cfi_init.n = sort_ranges(f->cfi_init.v, f->cfi_init.n,
				    sizeof(*f->cfi_init.v), true);
	f->cfi_delta.n = sort_ranges(f->cfi_delta.v, f->cfi_delta.n,
				     sizeof(*f->cfi_delta.v), false);
	f->inlines.n = sort_ranges(f->inlines.v, f->inlines.n,
				   sizeof(*f->inlines.v), false);
	finish_files(f);
	finish_origins(f);
}

static bool is_eol(char ch)
{
	return ch == '\n' || ch == '\r';
}

int symfile_parse(struct symfile **out, const uint8_t *data, size_t len)
{
	*out = NULL;
	if (len > SYMFILE_MAX_BYTES)
		return DF_ELIMIT;
	struct symfile *f = calloc(1, sizeof(*f));

	/* Names are copied with a NUL and 16-byte rounding: at most 2x. */
	if (f == NULL || (f->names = arena_new(2 * len + 4096)) == NULL) {
		free(f);
		return DF_ENOMEM;
	}
	const char *p = (const char *)data, *end = p + len;
	size_t seq = 0;

	while (p < end) {
		const char *e = p;

		while (e < end && !is_eol(*e))
			e++;
		struct cursor c = { p, e };

		if (e > p && !parse_line(f, &c, seq++))
			f->skipped++;
		p = e < end ? e + 1 : e;
	}
	finish(f);
	*out = f;
	return DF_OK;
}

int symfile_load(struct symfile **out, const char *path)
{
	struct mapfile m;
	struct diag d;

	*out = NULL;
	diag_init(&d);
	if (mapfile_open(&m, path, &d) != DF_OK)
		return DF_EIO;
	int rc = symfile_parse(out, m.data, m.len);

	mapfile_close(&m);
	return rc;
}

void symfile_destroy(struct symfile **fp)
{
	struct symfile *f = *fp;

	if (f == NULL)
		return;
	arena_destroy(&f->names);
	free(f->funcs);
	free(f->pubs);
	free(f->lines);
	free(f->files);
	free(f->win[0].v);
	free(f->win[1].v);
	free(f->cfi_init.v);
	free(f->cfi_delta.v);
	free(f->inlines.v);
	free(f->origins.v);
	free(f);
	*fp = NULL;
}

void symfile_stats(const struct symfile *f, struct symfile_stats *st)
{
	st->funcs = f->nfuncs;
	st->publics = f->npubs;
	st->lines = f->nlines;
	st->files = f->nfiles;
	st->stack_win = f->win[0].n + f->win[1].n;
	st->stack_cfi = f->cfi_init.n + f->cfi_delta.n;
	st->inlines = f->inlines.n;
	st->origins = f->origins.n;
	st->skipped = f->skipped;
	st->bytes = sizeof(*f) + arena_used(f->names) +
		    f->capfuncs * sizeof(*f->funcs) +
		    f->cappubs * sizeof(*f->pubs) +
		    f->caplines * sizeof(*f->lines) +
		    f->capfiles * sizeof(*f->files) +
		    (f->win[0].cap + f->win[1].cap) * sizeof(struct sym_win) +
		    (f->cfi_init.cap + f->cfi_delta.cap) *
			    sizeof(struct sym_cfi) +
		    f->inlines.cap * sizeof(struct sym_inline) +
		    f->origins.cap * sizeof(struct sym_origin);
}

/* Index of the last of N sorted records at V with addr <= REL, or SIZE_MAX. */
static size_t last_at_or_below(const void *v, size_t n, size_t size,
			       uint64_t rel)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (range_at(v, size, mid)->addr <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? SIZE_MAX : lo - 1;
}

static size_t func_below(const struct symfile *f, uint64_t rel)
{
	return last_at_or_below(f->funcs, f->nfuncs, sizeof(*f->funcs), rel);
}

bool symfile_lookup(const struct symfile *f, uint64_t rel, const char **name,
		    uint64_t *offset)
{
	size_t i = func_below(f, rel);

	if (i != SIZE_MAX && rel < f->funcs[i].r.end) {
		*name = f->funcs[i].name;
		*offset = rel - f->funcs[i].r.addr;
		return true;
	}
	size_t j = last_at_or_below(f->pubs, f->npubs, sizeof(*f->pubs), rel);

	/* A FUNC between the PUBLIC and REL ends the PUBLIC's reach. */
	if (j == SIZE_MAX ||
	    (i != SIZE_MAX && f->pubs[j].r.addr <= f->funcs[i].r.addr))
		return false;
	*name = f->pubs[j].name;
	*offset = rel - f->pubs[j].r.addr;
	return true;
}

static const char *file_name(const struct symfile *f, uint32_t num)
{
	size_t lo = 0, hi = f->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->files[mid].num == num)
			return f->files[mid].name;
		if (f->files[mid].num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool symfile_lookup_line(const struct symfile *f, uint64_t rel,
			 const char **file, uint32_t *line, uint64_t *offset)
{
	size_t i = func_below(f, rel);
	size_t j = last_at_or_below(f->lines, f->nlines, sizeof(*f->lines), rel);

	/* Only a line of the function that covers REL counts. */
	if (i == SIZE_MAX || rel >= f->funcs[i].r.end || j == SIZE_MAX ||
	    rel >= f->lines[j].r.end || f->lines[j].r.addr < f->funcs[i].r.addr)
		return false;
	*file = file_name(f, f->lines[j].file);
	if (*file == NULL)
		return false;
	*line = f->lines[j].line;
	*offset = rel - f->lines[j].r.addr;
	return true;
}

static const char *origin_name(const struct symfile *f, uint32_t id)
{
	size_t lo = 0, hi = f->origins.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->origins.v[mid].id == id)
			return f->origins.v[mid].name;
		if (f->origins.v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "<name omitted>"; /* as Breakpad names an unknown origin */
}

/* Insert IN into OUT (N of MAX, innermost first); false when full. */
static bool add_inline(const struct symfile *f, const struct sym_inline *in,
		       struct symfile_inline *out, size_t *n, size_t max)
{
	size_t i = *n;

	if (*n == max)
		return false;
	/* deeper first; of equal depth, the one earlier in the file */
	while (i > 0 && (out[i - 1].level < in->level ||
			 (out[i - 1].level == in->level &&
			  out[i - 1].seq > in->r.seq))) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = (struct symfile_inline){
		.name = origin_name(f, in->origin),
		.call_file = in->has_file ? file_name(f, in->file) : NULL,
		.call_line = in->line,
		.base = in->r.addr,
		.level = in->level,
		.seq = in->r.seq,
	};
	(*n)++;
	return true;
}

size_t symfile_lookup_inlines(const struct symfile *f, uint64_t rel,
			      struct symfile_inline *out, size_t max)
{
	size_t i = func_below(f, rel), n = 0, steps = 0;
	const struct sym_inline_vec *v = &f->inlines;

	if (i == SIZE_MAX || rel >= f->funcs[i].r.end)
		return 0;
	/* The FUNC's ranges that start at or below REL, walking back. */
	for (size_t j = last_at_or_below(v->v, v->n, sizeof(*v->v), rel);
	     j != SIZE_MAX && v->v[j].r.addr >= f->funcs[i].r.addr &&
	     steps < SYMFILE_MAX_INLINE_SCAN;
	     j = j == 0 ? SIZE_MAX : j - 1, steps++)
		if (rel < v->v[j].r.end && !add_inline(f, &v->v[j], out, &n, max))
			break;
	return n;
}

bool symfile_find_win(const struct symfile *f, uint64_t rel,
		      struct symfile_win *out)
{
	for (int t = 0; t < 2; t++) {
		const struct sym_win_vec *w = &f->win[t];
		size_t i = last_at_or_below(w->v, w->n, sizeof(*w->v), rel);

		if (i != SIZE_MAX && rel < w->v[i].r.end) {
			*out = w->v[i].info;
			return true;
		}
	}
	return false;
}

bool symfile_param_size(const struct symfile *f, uint64_t rel,
			uint32_t *out)
{
	size_t i = func_below(f, rel);

	if (i == SIZE_MAX || rel >= f->funcs[i].r.end)
		return false;
	*out = f->funcs[i].param_size;
	return true;
}

size_t symfile_find_cfi(const struct symfile *f, uint64_t rel,
			const char **rules, size_t max)
{
	const struct sym_cfi_vec *d = &f->cfi_delta;
	size_t n = 0, i = last_at_or_below(f->cfi_init.v, f->cfi_init.n,
					   sizeof(*f->cfi_init.v), rel);

	if (max == 0 || i == SIZE_MAX || rel >= f->cfi_init.v[i].r.end)
		return 0;
	const struct sym_cfi *init = &f->cfi_init.v[i];

	rules[n++] = init->rules;
	/* The deltas from the INIT's start up to REL, in address order. */
	size_t j = init->r.addr == 0
			   ? SIZE_MAX
			   : last_at_or_below(d->v, d->n, sizeof(*d->v),
					      init->r.addr - 1);

	for (j = j == SIZE_MAX ? 0 : j + 1; j < d->n && d->v[j].r.addr <= rel;
	     j++) {
		if (n == max)
			return SIZE_MAX;
		rules[n++] = d->v[j].rules;
	}
	return n;
}

/* ---- store paths ------------------------------------------------------------ */

static bool safe_file_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < SYMSTORE_KEY_MAX / 2 && s[0] != '.' &&
	       strstr(s, "..") == NULL && strchr(s, '/') == NULL &&
	       strchr(s, '\\') == NULL;
}

static bool safe_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SYMSTORE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hex_digit(s[i]) < 0)
			return false;
	return true;
}

int symstore_sym_path(char *out, size_t size, const char *root,
		      const char *debug_file, const char *debug_id)
{
	if (debug_file == NULL || debug_id == NULL)
		return DF_EUSAGE;
	const char *file = text_path_base(debug_file);

	if (!safe_file_name(file) || !safe_id(debug_id))
		return DF_EUSAGE;
	size_t n = strlen(file);
	int stem = (int)n;

	if (n > 4 && strcasecmp(file + n - 4, ".pdb") == 0)
		stem = (int)n - 4;
	int w = snprintf(out, size, "%s/%s/%s/%.*s.sym", root, file, debug_id,
			 stem, file);

	return w < 0 || (size_t)w >= size ? DF_ELIMIT : DF_OK;
}

/* ---- the cache ---------------------------------------------------------------- */

struct symentry {
	char key[SYMSTORE_KEY_MAX]; /* "debug_file/debug_id" */
	struct symfile *file;       /* NULL: not found (until miss_until) */
	size_t refs;                /* users outside the lock */
	size_t bytes;
	uint64_t last_used;
	uint64_t born;              /* the clock when it was inserted */
	time_t miss_until;
	bool doomed;                /* evicted while in use: free on release */
};

struct symstore {
	char **dirs;
	size_t ndirs;
	pthread_mutex_t mu;
	struct symentry **entries;
	size_t nentries;
	size_t bytes;
	uint64_t clock;
};

struct symstore *symstore_new(const char *const *dirs, size_t n)
{
	struct symstore *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->dirs = calloc(n ? n : 1, sizeof(*s->dirs));
	s->entries = calloc(SYMSTORE_MAX_ENTRIES, sizeof(*s->entries));
	if (s->dirs == NULL || s->entries == NULL ||
	    pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->dirs);
		free(s->entries);
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		s->dirs[i] = strdup(dirs[i]);
		if (s->dirs[i] == NULL) {
			s->ndirs = i;
			symstore_destroy(&s);
			return NULL;
		}
	}
	s->ndirs = n;
	return s;
}

static void entry_free(struct symentry *e)
{
	symfile_destroy(&e->file);
	free(e);
}

void symstore_destroy(struct symstore **sp)
{
	struct symstore *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nentries; i++)
		entry_free(s->entries[i]);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->dirs);
	free(s->entries);
	pthread_mutex_destroy(&s->mu);
	free(s);
	*sp = NULL;
}

void symstore_fork_prepare(struct symstore *s)
{
	if (s != NULL)
		pthread_mutex_lock(&s->mu);
}

void symstore_fork_done(struct symstore *s)
{
	if (s != NULL)
		pthread_mutex_unlock(&s->mu);
}

/* Remove entry I from the table (under the lock). */
static void drop_entry(struct symstore *s, size_t i)
{
	struct symentry *e = s->entries[i];

	s->bytes -= e->bytes;
	s->entries[i] = s->entries[--s->nentries];
	if (e->refs > 0)
		e->doomed = true;
	else
		entry_free(e);
}

/* Evict least recently used entries until one more of BYTES fits. */
static void make_room(struct symstore *s, size_t bytes)
{
	while (s->nentries > 0 && (s->nentries >= SYMSTORE_MAX_ENTRIES ||
				   s->bytes + bytes > SYMSTORE_MAX_BYTES)) {
		size_t old = 0;

		for (size_t i = 1; i < s->nentries; i++)
			if (s->entries[i]->last_used <
			    s->entries[old]->last_used)
				old = i;
		drop_entry(s, old);
	}
}

/* The cached entry for KEY (a reference taken), or NULL. Under the lock. */
static struct symentry *find_entry(struct symstore *s, const char *key)
{
	for (size_t i = 0; i < s->nentries; i++) {
		struct symentry *e = s->entries[i];

		if (strcmp(e->key, key) != 0)
			continue;
		if (e->file == NULL && time(NULL) >= e->miss_until) {
			drop_entry(s, i);
			return NULL;
		}
		e->refs++;
		e->last_used = ++s->clock;
		return e;
	}
	return NULL;
}

static void release_entry(struct symstore *s, struct symentry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (--e->refs == 0 && e->doomed)
		entry_free(e);
	pthread_mutex_unlock(&s->mu);
}

/* Parse the module's file from the first root that has it; NULL if none. */
static struct symfile *load_from_roots(const struct symstore *s,
				       const struct module *m)
{
	char path[SYMSTORE_PATH_MAX];

	for (size_t i = 0; i < s->ndirs; i++) {
		struct symfile *f = NULL;

		if (symstore_sym_path(path, sizeof(path), s->dirs[i],
				      m->debug_file, m->debug_id) != DF_OK)
			return NULL;
		if (symfile_load(&f, path) == DF_OK)
			return f;
	}
	return NULL;
}

/* Insert a fresh entry (or adopt one a racing thread put there first). */
static struct symentry *insert_entry(struct symstore *s, const char *key,
				     struct symfile *f)
{
	struct symentry *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		symfile_destroy(&f);
		return NULL;
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->file = f;
	if (f != NULL) {
		struct symfile_stats st;

		symfile_stats(f, &st);
		e->bytes = st.bytes;
	} else {
		e->miss_until = time(NULL) + SYMSTORE_MISS_TTL;
	}
	pthread_mutex_lock(&s->mu);
	struct symentry *had = find_entry(s, key);

	if (had != NULL) {
		pthread_mutex_unlock(&s->mu);
		entry_free(e);
		return had;
	}
	make_room(s, e->bytes);
	e->refs = 1;
	e->last_used = ++s->clock;
	e->born = e->last_used;
	s->entries[s->nentries++] = e;
	s->bytes += e->bytes;
	pthread_mutex_unlock(&s->mu);
	return e;
}

/* The entry for module M with a reference taken, or NULL. */
static struct symentry *acquire(struct symstore *s, const struct module *m)
{
	char key[SYMSTORE_KEY_MAX];

	if (m->debug_file == NULL || m->debug_id == NULL)
		return NULL;
	int w = snprintf(key, sizeof(key), "%s/%s", text_path_base(m->debug_file),
			 m->debug_id);

	if (w < 0 || (size_t)w >= sizeof(key))
		return NULL;
	pthread_mutex_lock(&s->mu);
	struct symentry *e = find_entry(s, key);

	pthread_mutex_unlock(&s->mu);
	if (e != NULL)
		return e;
	/* Parse outside the lock: other threads keep working meanwhile. */
	return insert_entry(s, key, load_from_roots(s, m));
}

uint64_t symstore_mark(struct symstore *s)
{
	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	uint64_t mark = s->clock;

	pthread_mutex_unlock(&s->mu);
	return mark;
}

size_t symstore_loaded_since(struct symstore *s, uint64_t mark,
			     void (*fn)(void *ctx, const char *key), void *ctx)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nentries; i++) {
		const struct symentry *e = s->entries[i];

		if (e->born > mark && e->file != NULL) {
			fn(ctx, e->key);
			n++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

int symstore_warm(struct symstore *s, const char *key)
{
	char file[SYMSTORE_KEY_MAX];
	const char *slash = strrchr(key, '/');
	struct module m;

	if (s == NULL || slash == NULL || (size_t)(slash - key) >= sizeof(file))
		return DF_EUSAGE;
	memcpy(file, key, (size_t)(slash - key));
	file[slash - key] = '\0';
	memset(&m, 0, sizeof(m));
	m.debug_file = file;
	m.debug_id = slash + 1;
	/* Names from a child are checked like names from a dump. */
	char path[SYMSTORE_PATH_MAX];

	if (s->ndirs == 0 || symstore_sym_path(path, sizeof(path), s->dirs[0],
					       file, m.debug_id) != DF_OK)
		return DF_EUSAGE;
	release_entry(s, acquire(s, &m));
	return DF_OK;
}

/* ---- one analysis' view of the store ------------------------------------- */

/* One acquired entry per module, loaded on first use. */
struct symsession {
	struct symstore *s;
	const struct analysis *a;
	size_t n; /* modules when the session began */
	struct symentry **ent;
	bool *tried;
	const struct symfile *only; /* symsession_for_file: every module's */
};

struct symsession *symsession_new(struct symstore *s,
				  const struct analysis *a)
{
	struct symsession *ss;

	if (s == NULL || s->ndirs == 0 || a->modules.n == 0)
		return NULL;
	ss = calloc(1, sizeof(*ss));
	if (ss == NULL)
		return NULL;
	*ss = (struct symsession){
		.s = s,
		.a = a,
		.n = a->modules.n,
		.ent = calloc(a->modules.n, sizeof(*ss->ent)),
		.tried = calloc(a->modules.n, sizeof(*ss->tried)),
	};
	if (ss->ent == NULL || ss->tried == NULL)
		symsession_destroy(&ss);
	return ss;
}

struct symsession *symsession_for_file(const struct analysis *a,
				      const struct symfile *f)
{
	struct symsession *ss = calloc(1, sizeof(*ss));

	if (ss != NULL) {
		ss->a = a;
		ss->only = f;
	}
	return ss;
}

const struct symfile *symsession_file(struct symsession *ss,
				      const struct module *m)
{
	if (ss != NULL && ss->only != NULL)
		return ss->only;
	if (ss == NULL || m < ss->a->modules.v ||
	    m >= ss->a->modules.v + ss->n)
		return NULL;
	size_t i = (size_t)(m - ss->a->modules.v);

	if (!ss->tried[i]) {
		ss->tried[i] = true;
		ss->ent[i] = acquire(ss->s, m);
	}
	return ss->ent[i] != NULL ? ss->ent[i]->file : NULL;
}

void symsession_destroy(struct symsession **ssp)
{
	struct symsession *ss = *ssp;

	if (ss == NULL)
		return;
	for (size_t i = 0; ss->ent != NULL && i < ss->n; i++)
		release_entry(ss->s, ss->ent[i]);
	free(ss->ent);
	free(ss->tried);
	free(ss);
	*ssp = NULL;
}

/* ---- naming frames ---------------------------------------------------------- */

struct symctx {
	struct symsession *ss;
	struct analysis *a;
	int named;
	bool nomem;
};

static const struct module *frame_module(const struct analysis *a,
					 const struct frame *fr, size_t *idx)
{
	for (size_t i = 0; i < a->modules.n; i++) {
		const struct module *m = &a->modules.v[i];

		/* The first byte before strcmp: most modules differ there. */
		if (m->unloaded || m->filename == NULL ||
		    m->filename[0] != fr->module[0] ||
		    strcmp(m->filename, fr->module) != 0)
			continue;
		if (fr->has_address &&
		    (fr->address < m->base || fr->address > m->end))
			continue;
		*idx = i;
		return m;
	}
	return NULL;
}

/*
 * Name FR; returns its module's symbol file when FR was named from it (so
 * inlined functions may be looked up there too), else NULL.
 */
static const struct symfile *name_frame(struct symctx *c, struct frame *fr)
{
	size_t i;

	if (fr->module == NULL || !fr->has_module_offset ||
	    fr->function != NULL)
		return NULL;
	const struct module *m = frame_module(c->a, fr, &i);
	const struct symfile *f = m != NULL ? symsession_file(c->ss, m) : NULL;
	const char *name;
	uint64_t off;

	if (f == NULL || !symfile_lookup(f, fr->module_offset, &name, &off))
		return NULL;
	fr->function = arena_strdup(c->a->arena, name);
	if (fr->function == NULL) {
		c->nomem = true;
		return NULL;
	}
	fr->func_offset = off;
	fr->has_func_offset = true;
	c->named++;
	const char *file;
	uint32_t line;

	if (!symfile_lookup_line(f, fr->module_offset, &file, &line, &off))
		return f;
	fr->source_file = arena_strdup(c->a->arena, file);
	if (fr->source_file == NULL) {
		c->nomem = true;
		return NULL;
	}
	fr->source_line = line;
	fr->line_offset = off;
	return f;
}

/*
 * The N frames for the functions inlined at FR (IN, innermost first),
 * into OUT, as Breakpad builds them: each a copy of FR named after its
 * origin, offset from its inlined range; the innermost takes FR's source
 * line, each outer one the call site of the one inside it, and FR the
 * outermost call site. A call site without a known file keeps FR's.
 */
static void inline_frames(struct symctx *c, struct frame *fr,
			  const struct symfile_inline *in, size_t n,
			  struct frame *out)
{
	const char *file = fr->source_file;
	uint32_t line = fr->source_line;
	bool had_line = fr->source_file != NULL;

	for (size_t k = 0; k < n; k++) {
		out[k] = *fr;
		out[k].function = arena_strdup(c->a->arena, in[k].name);
		out[k].func_offset = fr->module_offset - in[k].base;
		out[k].trust = TRUST_INLINE;
		out[k].source_file = file;
		out[k].source_line = line;
		file = in[k].call_file != NULL
			       ? arena_strdup(c->a->arena, in[k].call_file)
			       : fr->source_file;
		line = in[k].call_line;
		c->nomem |= out[k].function == NULL ||
			    (in[k].call_file != NULL && file == NULL);
	}
	fr->source_file = file;
	fr->source_line = line;
	/* A call site line where FR had none: Breakpad's line base is 0. */
	for (size_t k = 0; !had_line && k <= n; k++) {
		struct frame *x = k < n ? &out[k] : fr;

		if (x->source_file != NULL)
			x->line_offset = x->address;
	}
}

/*
 * Name the frames of V (N of them); with inlined functions, a longer list
 * with their frames before each, in the analysis' arena.
 */
static void name_frames(struct symctx *c, struct frame **v, size_t *n,
			size_t *cap)
{
	struct symfile_inline in[SYMSTORE_MAX_INLINE_DEPTH];
	struct frame *out = NULL;
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		const struct symfile *f = name_frame(c, &(*v)[i]);
		size_t ni = f != NULL ? symfile_lookup_inlines(
						f, (*v)[i].module_offset, in,
						SYMSTORE_MAX_INLINE_DEPTH)
				      : 0;

		if (ni > 0 && out == NULL) {
			/* the first inlined call: copy into a list with room */
			size_t room = *n + SYMSTORE_MAX_INLINE_FRAMES;

			out = arena_alloc(c->a->arena, room * sizeof(*out));
			if (out == NULL) {
				c->nomem = true;
				return;
			}
			memcpy(out, *v, i * sizeof(*out));
			k = i;
			*cap = room;
		}
		if (out == NULL)
			continue;
		if (k + ni + (*n - i) > *cap)
			ni = 0; /* out of room: no more inlined frames */
		inline_frames(c, &(*v)[i], in, ni, out + k);
		k += ni;
		out[k++] = (*v)[i];
	}
	if (out != NULL) {
		*v = out;
		*n = k;
	}
}

static void name_thread(struct symctx *c, struct thread *t)
{
	name_frames(c, &t->frames.v, &t->frames.n, &t->frames.cap);
	name_frames(c, &t->own_frames.v, &t->own_frames.n,
		    &t->own_frames.cap);
}

int symstore_symbolize(struct symstore *s, struct analysis *a)
{
	if (s == NULL || s->ndirs == 0 || a->modules.n == 0)
		return 0;
	struct symctx c = { symsession_new(s, a), a, 0, false };

	if (c.ss == NULL)
		return DF_ENOMEM;
	for (size_t t = 0; t < a->threads.n; t++)
		name_thread(&c, &a->threads.v[t]);
	symsession_destroy(&c.ss);
	return c.nomem ? DF_ENOMEM : c.named;
}
