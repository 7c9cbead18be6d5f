/*
 * dbglog - WinDbg / CDB / KD text output into the dump model.
 *
 * The log is read one line at a time, at most DBGLOG_MAX_LINE bytes of a
 * line (the rest of a longer line is dropped). Every line is normalised
 * first, because published logs are rarely what the debugger printed:
 * e-mail quote marks, CR, tabs, no-break spaces, the typographic "0×" of
 * blog software and HTML entities are undone. Then, in this order:
 *
 *   1. a debugger prompt ends every open block and may open one (k*, !vm);
 *   2. a few sub-blocks that own their lines (thread wait objects, process
 *      details) and the open block (stack, lm, !sysinfo, !vm) see it;
 *   3. a table of line prefixes, then a table of line shapes (stack
 *      headers, !analyze keys, the bugcheck title...) pick a handler.
 *
 * Facts that several commands print (the bugcheck code and arguments, the
 * exception code, the faulting address) are collected per source and
 * resolved after the last line, so the order of commands in the log does
 * not matter and the most precise source wins.
 *
 * Everything stored in the model is copied into the analysis arena: the
 * input is unmapped after the analysis. The parser keeps its state in one
 * struct allocated from that arena; there is no global state.
 */
#include "dbglog.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "df.h"
#include "model.h"

#define MAX_TOKS 32            /* tokens looked at in one line */
#define KEY_MAX 64             /* !analyze keys are short upper-case words */
#define KV_KEY_MAX 128         /* KEY_VALUES_STRING names (Analysis.CPU.mSec) */
#define PROBE_WINDOW ((size_t)1 << 20) /* bytes searched for markers */
#define PROBE_BINARY_CHECK 4096        /* a NUL in here: not text */
#define PROBE_PROMPT_LINE 64   /* prompts are short */
#define MAX_WAIT_OBJECTS 64    /* MAXIMUM_WAIT_OBJECTS in Windows */
#define INTERN_SLOTS 64        /* cache of repeated names (modules, states) */
#define MAP_MIN_CAP 64

/* ------------------------------------------------------------------ */
/* Parser state                                                        */
/* ------------------------------------------------------------------ */

struct tok {
	const char *s;
	size_t n;
};

/* Open-addressing map from 64-bit keys to indexes, grown in the arena. */
struct u64map {
	uint64_t *key;
	uint32_t *val;
	uint8_t *used;
	size_t cap;
	size_t n;
};

/* Where a bugcheck fact came from, best first (formats.md 4.2). */
enum bc_src {
	BC_FIELD, /* BUGCHECK_CODE / BUGCHECK_P1..P4 */
	BC_LINE,  /* "BugCheck D1, {a, b, c, d}" */
	BC_TITLE, /* "DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)" + Arg1..Arg4 */
	BC_STR,   /* BUGCHECK_STR "0xD1" */
	BC_OTHER, /* mex !di, !crash, "Fatal System Error", EMS/SAC */
	BC_NSRC,
};

struct bc_cand {
	bool has_code;
	uint32_t code;
	bool has_arg[4];
	uint64_t args[4];
	const char *name; /* arena copy */
};

/* A value that several lines may give; the lowest priority number wins. */
struct cand {
	bool has;
	int gen;  /* which !analyze run gave it */
	int prio;
	uint64_t v;
};

/* Exception code sources, best first. */
enum { CODE_EXC, CODE_STR, CODE_FIELD, CODE_ERROR };
/* Faulting data address sources. */
enum { ADDR_FIELD, ADDR_ATTEMPT, ADDR_EXC };
/* Faulting instruction sources. */
enum { IP_FAILED, IP_EXC, IP_ON, IP_FAULTING };

enum block {
	BLK_NONE,
	BLK_STACK,   /* frames of one thread */
	BLK_LM,      /* lm module lines (and lm v details) */
	BLK_MEXMODS, /* mex !mods table */
	BLK_SYSINFO, /* !sysinfo machineid */
	BLK_VM,      /* !vm counters and per-process table */
};

/* Kinds of limits met, each reported once. */
enum errkind {
	ERR_THREADS,
	ERR_FRAMES,
	ERR_MODULES,
	ERR_PROCS,
	ERR_FIELDS,
	ERR_OBJECTS,
	ERR_HANDLES,
	ERR_DISPATCHERS,
	ERR_N,
};

struct istr {
	uint64_t h;
	const char *s;
};

struct dbglog {
	struct analysis *a;
	uint64_t off;                  /* input offset of the current line */
	char buf[DBGLOG_MAX_LINE + 4]; /* the current line, normalised */
	size_t len;                    /* bytes in buf */
	const char *t;                 /* buf without its indentation */
	size_t tlen;
	size_t indent;

	enum block blk;
	long stk;          /* thread taking frames; -1 until the first frame */
	bool stk_skip;     /* that thread was listed before: ignore this */
	bool stk_noaddr;   /* kc layout: frames have no addresses */
	long thr;          /* thread of the open THREAD / mex / Id: block */
	bool thr_objs;     /* its waited-object lines may follow */
	bool waitlist;     /* inside a mex WaitBlockList */
	long proc;         /* process of the open PROCESS block */
	uint64_t proc_addr; /* its EPROCESS address */
	bool proc_details; /* its indented detail lines may follow */
	long mod;          /* module of the open lm block, for lm v details */
	bool lm_unloaded;
	bool vm_rows;      /* !vm per-process table */
	bool handles;      /* inside a kernel !handle listing */
	bool handle_sum;   /* inside a user-mode !handle summary */
	bool mex_thdr;     /* previous line was mex's thread table header */
	bool dt_open;      /* inside `dt <dispatcher type> <address>` output */
	bool dt_type_seen, dt_signal_seen; /* its first Type / SignalState */
	uint64_t dt_addr;  /* the object's address, from the command */
	const char *dt_hint; /* object type the command's type names */

	bool in_analyze;   /* between the banner and "Followup:" */
	bool analyze_seen;
	bool kernel, user; /* what kind of target the log shows */
	bool title_seen;   /* a bugcheck title opened an Arguments block */
	bool show_only;    /* `!analyze -show <code>`: not this dump's */
	char pend_key[KEY_MAX]; /* key whose value is on the next line */
	char addr_key[KEY_MAX]; /* key whose address is on a later line */
	char kv_key[KV_KEY_MAX];
	bool fatal_args;   /* "(a,b,c,d)" after "Fatal System Error" */
	bool crash_args;   /* "Arguments ..." after mex "Bugcheck code" */
	bool sac;          /* EMS/SAC bugcheck output */
	bool sac_name_next;
	int sac_nargs;
	bool windows;      /* saw anything that names a Windows target */
	bool osver_field;  /* os_ver came from OS_VERSION */

	struct bc_cand bc[BC_NSRC];
	struct cand code, ev_code, addr, ip;
	int analyses;      /* !analyze banners seen */
	bool event_seen;   /* a bugcheck or exception was stated */
	size_t event_threads; /* threads that existed before it */
	long stack_text;   /* thread of the first STACK_TEXT */
	long hash_thread;  /* "#" thread of ~*k (the event thread) */

	struct u64map fields;    /* hashes of recorded field keys */
	struct u64map thread_at; /* THREAD address -> index */
	struct u64map proc_at;   /* EPROCESS address -> index */
	struct u64map proc_pid;  /* pid -> first process index */
	struct u64map vm_pid;    /* pid -> index, for !vm-only entries */
	struct u64map mod_at;    /* module base -> index */
	struct u64map disp_at;   /* dispatcher object address -> index */
	struct istr intern[INTERN_SLOTS];
	bool err[ERR_N];
};

typedef bool (*line_fn)(struct dbglog *st, const char *rest);

/* ------------------------------------------------------------------ */
/* Small text helpers (all on NUL-terminated, normalised lines)        */
/* ------------------------------------------------------------------ */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_alnum(int c)
{
	return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z');
}

static unsigned hexval(int c)
{
	if (is_digit(c))
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	return (unsigned)(c - 'A' + 10);
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static const char *skip_spaces(const char *s)
{
	while (*s == ' ')
		s++;
	return s;
}

/* Length of S[0..N) without trailing spaces. */
static size_t rtrim_len(const char *s, size_t n)
{
	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Parse the hex number at S (at most N bytes): an optional "0x", digits,
 * and backticks between digits (how the debugger splits 64-bit values).
 * Returns the bytes used, or 0 when there is no number or it does not fit
 * in 64 bits (then *OUT is 0).
 */
static size_t scan_hex(const char *s, size_t n, uint64_t *out)
{
	size_t i = 0, digits = 0, sig = 0;
	uint64_t v = 0;

	*out = 0;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    is_hex(s[2]))
		i = 2;
	for (; i < n; i++) {
		if (s[i] == '`' && digits > 0 && i + 1 < n && is_hex(s[i + 1]))
			continue;
		if (!is_hex(s[i]))
			break;
		digits++;
		if (v == 0 && hexval(s[i]) == 0)
			continue;
		if (++sig > 16)
			return 0;
		v = v << 4 | hexval(s[i]);
	}
	if (digits == 0)
		return 0;
	*out = v;
	return i;
}

/* Parse decimal digits at S (at most N bytes). Returns the bytes used. */
static size_t scan_dec(const char *s, size_t n, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;

	*out = 0;
	while (i < n && is_digit(s[i])) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		i++;
	}
	if (i > 0)
		*out = v;
	return i;
}

static size_t tokenize(const char *s, struct tok *tv, size_t max)
{
	size_t n = 0;

	while (n < max) {
		s = skip_spaces(s);
		if (*s == '\0')
			break;
		tv[n].s = s;
		while (*s != '\0' && *s != ' ')
			s++;
		tv[n].n = (size_t)(s - tv[n].s);
		n++;
	}
	return n;
}

static bool tok_eq(struct tok t, const char *lit)
{
	return t.n == strlen(lit) && memcmp(t.s, lit, t.n) == 0;
}

static bool tok_hex(struct tok t, uint64_t *v)
{
	return t.n > 0 && scan_hex(t.s, t.n, v) == t.n;
}

static bool tok_dec(struct tok t, uint64_t *v)
{
	return t.n > 0 && scan_dec(t.s, t.n, v) == t.n;
}

/*
 * An address column: 8 or 16 hex digits, the 16 possibly split by one
 * backtick ("fffff806`20e72bc8"). No "0x": that is how symbols print.
 */
static bool tok_is_addr(struct tok t)
{
	size_t digits = 0, ticks = 0;

	if (t.n < 8 || t.n > 17)
		return false;
	for (size_t i = 0; i < t.n; i++) {
		if (is_hex(t.s[i]))
			digits++;
		else if (t.s[i] == '`' && i > 0 && ticks++ == 0)
			continue;
		else
			return false;
	}
	return digits == 8 || digits == 16;
}

/* A frame number of kn / mex output: 1 to 4 hex digits. */
static bool tok_is_frame_number(struct tok t)
{
	uint64_t v;

	return t.n >= 1 && t.n <= 4 && tok_hex(t, &v);
}

/* A kf "Memory" column: a short decimal or hex byte count. */
static bool tok_is_short_num(struct tok t)
{
	uint64_t v;

	return t.n >= 1 && t.n <= 6 && tok_hex(t, &v);
}

/* Read a hex value right after "LABEL" somewhere in S. */
static bool hex_after(const char *s, const char *label, uint64_t *v)
{
	const char *p = strstr(s, label);

	if (p == NULL)
		return false;
	p = skip_spaces(p + strlen(label));
	return scan_hex(p, strlen(p), v) > 0;
}

static bool dec_after(const char *s, const char *label, uint64_t *v)
{
	const char *p = strstr(s, label);

	if (p == NULL)
		return false;
	p = skip_spaces(p + strlen(label));
	return scan_dec(p, strlen(p), v) > 0;
}

/* The low 32 bits of a status printed sign-extended (ffffffffc0000005). */
static bool status32(uint64_t v, uint32_t *out)
{
	if (v > UINT32_MAX && (v >> 32) != UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/*
 * An NTSTATUS as !analyze prints it: "c0000005", "0xc0000005",
 * "(NTSTATUS) 0xc0000005 - The instruction at...".
 */
static bool parse_status(const char *v, uint32_t *code)
{
	uint64_t x;

	v = skip_spaces(v);
	if (*v == '(') {
		const char *e = strchr(v, ')');

		if (e == NULL)
			return false;
		v = skip_spaces(e + 1);
	}
	return scan_hex(v, strlen(v), &x) > 0 && status32(x, code);
}

/*
 * Four hex values in OPEN ... CLOSE, separated by commas:
 * "{d1, 2, 0, fffff806}" or "(0x7E,0xC0000005,...)".
 */
static bool parse_arglist(const char *s, char open, char close,
			  uint64_t args[4])
{
	const char *p = strchr(s, open);

	if (p == NULL)
		return false;
	p++;
	for (int i = 0; i < 4; i++) {
		p = skip_spaces(p);
		size_t n = scan_hex(p, strlen(p), &args[i]);

		if (n == 0)
			return false;
		p = skip_spaces(p + n);
		if (*p != (i == 3 ? close : ','))
			return false;
		p++;
	}
	return true;
}

/* Base name of a Windows or POSIX path. */
static const char *base_name(const char *s, size_t n, size_t *bn)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '\\' || s[i] == '/')
			b = i + 1;
	*bn = n - b;
	return s + b;
}

/* ------------------------------------------------------------------ */
/* Model helpers                                                       */
/* ------------------------------------------------------------------ */

static const char *sdup(struct dbglog *st, const char *s, size_t n)
{
	return arena_strndup(st->a->arena, s, n);
}

/*
 * Names repeat a lot in a log (every frame of ntoskrnl says "nt"): keep
 * one arena copy of recent ones.
 */
static const char *intern(struct dbglog *st, const char *s, size_t n)
{
	uint64_t h = fnv1a(s, n);
	struct istr *e = &st->intern[h % INTERN_SLOTS];

	if (e->s != NULL && e->h == h && strlen(e->s) == n &&
	    memcmp(e->s, s, n) == 0)
		return e->s;
	const char *c = sdup(st, s, n);

	if (c != NULL) {
		e->h = h;
		e->s = c;
	}
	return c;
}

/* Report once that a list is full (cap) or the arena is (memory). */
static void note_full(struct dbglog *st, enum errkind k, const char *what,
		      size_t have, size_t cap)
{
	if (st->err[k])
		return;
	st->err[k] = true;
	if (have >= cap)
		model_add_error(st->a, DF_ELIMIT, true, st->off,
				"debugger log: more than %zu %s; the rest "
				"are ignored",
				cap, what);
	else
		model_add_error(st->a, DF_ENOMEM, true, st->off,
				"debugger log: out of memory adding %s", what);
}

static uint64_t map_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static bool map_get(const struct u64map *m, uint64_t k, uint32_t *v)
{
	if (m->cap == 0)
		return false;
	size_t i = (size_t)map_hash(k) & (m->cap - 1);

	while (m->used[i]) {
		if (m->key[i] == k) {
			if (v != NULL)
				*v = m->val[i];
			return true;
		}
		i = (i + 1) & (m->cap - 1);
	}
	return false;
}

static void map_insert(struct u64map *m, uint64_t k, uint32_t v)
{
	size_t i = (size_t)map_hash(k) & (m->cap - 1);

	while (m->used[i] && m->key[i] != k)
		i = (i + 1) & (m->cap - 1);
	if (!m->used[i])
		m->n++;
	m->used[i] = 1;
	m->key[i] = k;
	m->val[i] = v;
}

/* Double the table (the old one is left to the arena). */
static bool map_grow(struct arena *ar, struct u64map *m)
{
	struct u64map nm = { .cap = m->cap ? m->cap * 2 : MAP_MIN_CAP };

	nm.key = arena_alloc(ar, nm.cap * sizeof(*nm.key));
	nm.val = arena_alloc(ar, nm.cap * sizeof(*nm.val));
	nm.used = arena_alloc(ar, nm.cap);
	if (nm.key == NULL || nm.val == NULL || nm.used == NULL)
		return false;
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i])
			map_insert(&nm, m->key[i], m->val[i]);
	*m = nm;
	return true;
}

/* Insert or overwrite. False when the arena is full (then nothing changes). */
static bool map_put(struct dbglog *st, struct u64map *m, uint64_t k,
		    uint32_t v)
{
	if ((m->n + 1) * 2 > m->cap && !map_grow(st->a->arena, m))
		return false;
	map_insert(m, k, v);
	return true;
}

/* Record KEY=VALUE once: the first occurrence of a key wins. */
static void field_add(struct dbglog *st, const char *key, const char *val)
{
	uint64_t h = fnv1a(key, strlen(key));

	if (st->err[ERR_FIELDS] || map_get(&st->fields, h, NULL))
		return;
	size_t have = st->a->fields.n;
	int rc = model_add_field(st->a, key, val);

	if (rc != DF_OK) {
		note_full(st, ERR_FIELDS, "named values", have,
			  MODEL_MAX_FIELDS);
		return;
	}
	map_put(st, &st->fields, h, 0);
}

static long new_thread(struct dbglog *st)
{
	size_t have = st->a->threads.n;
	struct thread *t = model_add_thread(st->a);

	if (t == NULL) {
		note_full(st, ERR_THREADS, "threads", have, MODEL_MAX_THREADS);
		return -1;
	}
	return (long)have;
}

static struct thread *thread_at(struct dbglog *st, long i)
{
	if (i < 0 || (size_t)i >= st->a->threads.n)
		return NULL;
	return &st->a->threads.v[i];
}

static struct process *proc_at(struct dbglog *st, long i)
{
	if (i < 0 || (size_t)i >= st->a->processes.n)
		return NULL;
	return &st->a->processes.v[i];
}

static long new_process(struct dbglog *st)
{
	size_t have = st->a->processes.n;

	if (model_add_process(st->a) == NULL) {
		note_full(st, ERR_PROCS, "processes", have,
			  MODEL_MAX_PROCESSES);
		return -1;
	}
	return (long)have;
}

/* ------------------------------------------------------------------ */
/* Bugcheck and crash facts                                            */
/* ------------------------------------------------------------------ */

/* A bugcheck or exception was stated: stacks after it may be the crash. */
static void note_event(struct dbglog *st)
{
	if (!st->event_seen)
		st->event_threads = st->a->threads.n;
	st->event_seen = true;
}

static void bc_code(struct dbglog *st, enum bc_src s, uint64_t code)
{
	struct bc_cand *c = &st->bc[s];

	if (code > UINT32_MAX)
		return;
	note_event(st);
	st->windows = true;
	st->kernel = true; /* bugchecks stop the kernel */
	if (!c->has_code) {
		c->has_code = true;
		c->code = (uint32_t)code;
	}
}

static void bc_arg(struct dbglog *st, enum bc_src s, int i, uint64_t v)
{
	struct bc_cand *c = &st->bc[s];

	if (i >= 0 && i < 4 && !c->has_arg[i]) {
		c->has_arg[i] = true;
		c->args[i] = v;
	}
}

static void bc_args(struct dbglog *st, enum bc_src s, const uint64_t v[4])
{
	for (int i = 0; i < 4; i++)
		bc_arg(st, s, i, v[i]);
}

static void bc_name(struct dbglog *st, enum bc_src s, const char *n,
		    size_t len)
{
	if (st->bc[s].name == NULL)
		st->bc[s].name = sdup(st, n, len);
}

/*
 * Offer a value. Within one !analyze run the better source wins; a later
 * run (logs often hold several dumps' analyses) never overrides an
 * earlier one.
 */
static void cand_set(struct dbglog *st, struct cand *c, int prio, uint64_t v)
{
	if (!c->has || (c->gen == st->analyses && prio < c->prio)) {
		c->has = true;
		c->gen = st->analyses;
		c->prio = prio;
		c->v = v;
	}
}

static void crash_code(struct dbglog *st, int prio, uint32_t code)
{
	cand_set(st, &st->code, prio, code);
	note_event(st);
}

/* ------------------------------------------------------------------ */
/* Line normalisation                                                  */
/* ------------------------------------------------------------------ */

/* "0×1b": U+00D7 in UTF-8 (C3 97) or Latin-1 (D7) before a hex digit. */
static size_t times_sign(const uint8_t *p, size_t i, size_t n)
{
	if (i + 2 < n && p[i] == 0xC3 && p[i + 1] == 0x97 && is_hex(p[i + 2]))
		return 2;
	if (i + 1 < n && p[i] == 0xD7 && is_hex(p[i + 1]))
		return 1;
	return 0;
}

static const struct {
	const char *ent;
	char c;
} entities[] = { { "&gt;", '>' }, { "&lt;", '<' }, { "&amp;", '&' } };

/*
 * Map the byte(s) at P[I] to one output character; returns the input
 * bytes used. A lone A0 after an ASCII byte is a Latin-1 no-break space;
 * after a lead byte it is part of a UTF-8 character.
 */
static size_t norm_char(const uint8_t *p, size_t i, size_t n, char *c)
{
	uint8_t b = p[i];

	if (b < 0x20 || b == 0x7f) {
		*c = ' ';
		return 1;
	}
	if (b == 0xC2 && i + 1 < n && p[i + 1] == 0xA0) {
		*c = ' ';
		return 2;
	}
	if (b == 0xA0 && (i == 0 || p[i - 1] < 0x80)) {
		*c = ' ';
		return 1;
	}
	if (b == 0xE2 && i + 2 < n && p[i + 1] == 0x80 &&
	    (p[i + 2] == 0x98 || p[i + 2] == 0x99 || p[i + 2] == 0x9C ||
	     p[i + 2] == 0x9D)) {
		*c = p[i + 2] >= 0x9C ? '"' : '\'';
		return 3;
	}
	if (b == '&') {
		for (size_t k = 0; k < ARRAY_SIZE(entities); k++) {
			size_t el = strlen(entities[k].ent);

			if (i + el <= n &&
			    memcmp(p + i, entities[k].ent, el) == 0) {
				*c = entities[k].c;
				return el;
			}
		}
	}
	*c = (char)b;
	return 1;
}

/*
 * Copy the raw line P[0..N) into OUT (CAP bytes) in normalised form;
 * returns its length. Leading e-mail quote marks ("> ", ">> ") go, tabs
 * and odd spaces become spaces, "0×" becomes "0x", trailing blanks go.
 */
static size_t normalise(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n && p[i] == '>' &&
	       (i + 1 == n || p[i + 1] == ' ' || p[i + 1] == '>' ||
		p[i + 1] == '\r')) {
		i++;
		if (i < n && p[i] == ' ')
			i++;
	}
	while (i < n && o + 3 < cap) {
		size_t ts = p[i] == '0' ? times_sign(p, i + 1, n) : 0;

		if (ts > 0) {
			out[o++] = '0';
			out[o++] = 'x';
			i += 1 + ts;
			continue;
		}
		char c;

		i += norm_char(p, i, n, &c);
		out[o++] = c;
	}
	o = rtrim_len(out, o);
	out[o] = '\0';
	return o;
}

/* ------------------------------------------------------------------ */
/* Prompts                                                             */
/* ------------------------------------------------------------------ */

/* "kd>" or "lkd>" at S: the offset after '>', or 0. */
static size_t kd_prompt(const char *s, size_t n)
{
	if (n >= 3 && memcmp(s, "kd>", 3) == 0)
		return 3;
	if (n >= 4 && memcmp(s, "lkd>", 4) == 0)
		return 4;
	return 0;
}

/*
 * When S[0..N) starts with a debugger prompt, the offset of the command
 * after it, else -1. Kernel: "kd> ", "0: kd> ", "lkd> "; user: "0:000> ",
 * "0:000:x86> ", "1:2:005> ". *KERNEL tells which.
 */
static long prompt_cmd(const char *s, size_t n, bool *kernel)
{
	size_t i = 0, d;

	while (i < n && s[i] == ' ')
		i++;
	d = i;
	while (i < n && is_digit(s[i]))
		i++;
	size_t j = d, k;

	if (i > d && i < n && s[i] == ':') {
		for (j = i + 1; j < n && s[j] == ' '; j++)
			;
	}
	k = kd_prompt(s + j, n - j);
	if (k > 0) {
		*kernel = true;
		j += k;
		return (long)(j < n && s[j] == ' ' ? j + 1 : j);
	}
	if (i == d)
		return -1;
	int parts = 0;

	for (j = i; j < n && s[j] == ':'; parts++) {
		size_t b = ++j;

		while (j < n && is_alnum(s[j]))
			j++;
		if (j == b)
			return -1;
	}
	if (parts == 0 || j >= n || s[j] != '>')
		return -1;
	*kernel = false;
	j++;
	return (long)(j < n && s[j] == ' ' ? j + 1 : j);
}

/* k, kb, kv, kn, kL, kP, kc, kf, "k L=...", "~*kb", "~0k"... */
static bool is_stack_cmd(const char *c)
{
	if (*c == '~') {
		c++;
		while (*c == '*' || *c == '.' || *c == '#' || is_digit(*c))
			c++;
		c = skip_spaces(c);
	}
	if (*c != 'k' && *c != 'K')
		return false;
	for (c++; *c != '\0' && *c != ' '; c++)
		if (strchr("bBvVnNpPLfcd", *c) == NULL && !is_digit(*c))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Stacks                                                              */
/* ------------------------------------------------------------------ */

struct pframe {
	int naddr;        /* address columns before the symbol: 0, 1 or 2 */
	uint64_t a1, a2;
	const char *sym;  /* call site text, annotations cut off */
	size_t symlen;
};

static void stack_end(struct dbglog *st)
{
	if (st->blk != BLK_STACK)
		return;
	st->blk = BLK_NONE;
	if (st->stk >= 0 && st->stk == st->thr)
		st->thr = -1;
	st->stk = -1;
	st->stk_skip = false;
}

/* Open a stack listing; its thread is made when the first frame comes. */
static void stack_begin(struct dbglog *st, bool noaddr)
{
	stack_end(st);
	st->blk = BLK_STACK;
	st->stk = -1;
	st->stk_skip = false;
	st->stk_noaddr = noaddr;
}

/* The thread taking this listing's frames, or -1 (skip them). */
static long stack_thread(struct dbglog *st)
{
	if (st->stk >= 0 || st->stk_skip)
		return st->stk;
	struct thread *t = thread_at(st, st->thr);
	long idx;

	if (t != NULL) {
		if (t->frames.n > 0) {
			/* The same thread listed again: keep the first. */
			st->stk_skip = true;
			return -1;
		}
		idx = st->thr;
	} else {
		idx = new_thread(st);
		if (idx < 0) {
			st->stk_skip = true;
			return -1;
		}
	}
	st->stk = idx;
	return idx;
}

/* Where a call-site text ends: annotations and extra columns are cut. */
static size_t symbol_len(const char *s)
{
	static const char *const stops[] = {
		" (FPO:", " (CONV:", " (TrapFrame", " (Inline", " [",
		"  ",     " Thread: ",
	};
	size_t n = strlen(s);

	for (size_t i = 0; i < ARRAY_SIZE(stops); i++) {
		const char *p = strstr(s, stops[i]);

		if (p != NULL && (size_t)(p - s) < n)
			n = (size_t)(p - s);
	}
	return rtrim_len(s, n);
}

static bool is_dashes(struct tok t)
{
	for (size_t i = 0; i < t.n; i++)
		if (t.s[i] != '-' && t.s[i] != '`')
			return false;
	return t.n > 0;
}

/* Skip the columns that come before the addresses: number, kf memory. */
static size_t frame_lead(const struct tok *tv, size_t n, bool noaddr)
{
	size_t i = 0;

	if (n >= 2 && tok_is_frame_number(tv[0]) &&
	    (tok_is_addr(tv[1]) || tok_eq(tv[1], "(Inline") || noaddr))
		i = 1;
	if (i + 2 < n && tok_is_short_num(tv[i]) && tok_is_addr(tv[i + 1]) &&
	    tok_is_addr(tv[i + 2]))
		i++;
	return i;
}

/* Read the address columns at TV[I..]; returns the index after them. */
static size_t frame_addrs(const struct tok *tv, size_t n, size_t i,
			  struct pframe *pf)
{
	if (i + 1 < n && tok_eq(tv[i], "(Inline") &&
	    tok_eq(tv[i + 1], "Function)")) {
		i += 2;
		if (i < n && is_dashes(tv[i]))
			i++;
		return i;
	}
	if (i < n && tok_is_addr(tv[i])) {
		tok_hex(tv[i++], &pf->a1);
		pf->naddr = 1;
		if (i < n && tok_is_addr(tv[i])) {
			tok_hex(tv[i++], &pf->a2);
			pf->naddr = 2;
		}
	}
	return i;
}

/* Skip argument columns: x64 ": a b c d :" or x86 "a b c" (kb). */
static size_t frame_args(const struct tok *tv, size_t n, size_t i,
			 const struct pframe *pf)
{
	if (i < n && tok_eq(tv[i], ":")) {
		for (size_t j = i + 1; j < n; j++)
			if (tok_eq(tv[j], ":"))
				return j + 1;
		return n;
	}
	if (pf->naddr == 2 && i + 3 < n && tok_is_addr(tv[i]) &&
	    tok_is_addr(tv[i + 1]) && tok_is_addr(tv[i + 2]))
		return i + 3;
	return i;
}

/*
 * Split a stack line into its address columns and call site. Handles
 * every k layout (formats.md 4.3): [num] [memory] addr1 addr2 [args]
 * symbol [annotations], the x64 ": args :" form, inline frames, mex's
 * one-column listings, and kc's symbol-only frames when NOADDR.
 */
static bool frame_split(const char *line, struct pframe *pf, bool noaddr)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(line, tv, MAX_TOKS);

	memset(pf, 0, sizeof(*pf));
	if (n == 0)
		return false;
	size_t i = frame_lead(tv, n, noaddr);
	size_t j = frame_addrs(tv, n, i, pf);

	if (j == i && !noaddr && !tok_eq(tv[i], "(Inline"))
		return false;
	j = frame_args(tv, n, j, pf);
	if (j >= n)
		return false;
	if (!is_alnum(tv[j].s[0]) && tv[j].s[0] != '_' && tv[j].s[0] != '?')
		return false;
	pf->sym = tv[j].s;
	pf->symlen = symbol_len(pf->sym);
	if (noaddr && pf->naddr == 0 &&
	    memchr(pf->sym, '!', pf->symlen) == NULL)
		return false;
	return pf->symlen > 0;
}

/* Index of the last "+offset" in S[0..N) whose tail is all hex, or N. */
static size_t offset_pos(const char *s, size_t n, uint64_t *off)
{
	for (size_t i = n; i-- > 0;) {
		if (s[i] != '+')
			continue;
		size_t rest = n - i - 1;

		if (rest > 0 && scan_hex(s + i + 1, rest, off) == rest)
			return i;
		return n;
	}
	return n;
}

/*
 * Function name without kp's "(args)": "f(int a = 0n1)" -> "f". A '('
 * inside template arguments ("thread_start<void (__cdecl*)(void *)>") or
 * of "operator()" is part of the name.
 */
static size_t function_len(const char *s, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<')
			depth++;
		else if (s[i] == '>' && depth > 0)
			depth--;
		else if (s[i] == '(' && depth == 0 && i > 0 &&
			 memchr(s + i, ')', n - i) != NULL &&
			 !(i >= 8 && memcmp(s + i - 8, "operator", 8) == 0))
			return rtrim_len(s, i);
	}
	return rtrim_len(s, n);
}

/* A bare address call site ("0x8000000", "0xffffc40b`12ae26a0"). */
static bool bare_address(const char *s, size_t n, uint64_t *v)
{
	size_t used = scan_hex(s, n, v);

	return used == n && (n >= 8 || (n > 2 && s[0] == '0' && s[1] == 'x'));
}

static void frame_symbol(struct dbglog *st, struct frame *f, const char *s,
			 size_t n)
{
	const char *bang = memchr(s, '!', n);
	const char *fs = bang != NULL ? bang + 1 : s;
	size_t fn = n - (size_t)(fs - s);
	uint64_t off = 0;
	size_t plus = offset_pos(fs, fn, &off);

	if (bang != NULL) {
		size_t ml = rtrim_len(s, (size_t)(bang - s));
		size_t lead = 0;

		/* "ntdll! ?? ::FNODOBFM::`string'": spaces after the '!'. */
		while (lead < plus && fs[lead] == ' ')
			lead++;
		const char *func = fs + lead;
		size_t fl = function_len(func, plus - lead);

		f->module = ml > 0 ? intern(st, s, ml) : NULL;
		f->function = fl > 0 ? sdup(st, func, fl) : NULL;
		f->func_offset = off;
		f->has_func_offset = plus < fn;
	} else {
		size_t ml = rtrim_len(s, plus);

		f->module = ml > 0 ? intern(st, s, ml) : NULL;
		f->module_offset = off;
		f->has_module_offset = plus < fn;
	}
}

/*
 * Fill a frame. The address is the return-address column (or the one
 * address mex prints); a bare-address call site is where that frame runs,
 * so its value is the address.
 */
static void frame_fill(struct dbglog *st, struct frame *f,
		       const struct pframe *pf)
{
	uint64_t v;

	f->trust = TRUST_PREWALKED;
	if (pf->naddr > 0) {
		f->address = pf->naddr == 2 ? pf->a2 : pf->a1;
		f->has_address = true;
	}
	if (bare_address(pf->sym, pf->symlen, &v)) {
		f->address = v;
		f->has_address = true;
		return;
	}
	frame_symbol(st, f, pf->sym, pf->symlen);
}

static void stack_add(struct dbglog *st, const struct pframe *pf)
{
	struct thread *t = thread_at(st, stack_thread(st));

	if (t == NULL)
		return;
	size_t have = t->frames.n;
	struct frame *f = model_add_frame(st->a, t);

	if (f == NULL) {
		note_full(st, ERR_FRAMES, "frames in a stack", have,
			  MODEL_MAX_FRAMES);
		return;
	}
	frame_fill(st, f, pf);
}

/* "ChildEBP RetAddr", " # Child-SP ...", " Memory  ChildEBP", " # Call Site" */
static bool is_stack_header(const char *t, bool *noaddr)
{
	if (*t == '#')
		t = skip_spaces(t + 1);
	if (starts_with(t, "Memory "))
		t = skip_spaces(t + 7);
	*noaddr = starts_with(t, "Call Site");
	return starts_with(t, "ChildEBP") || starts_with(t, "Child-SP") ||
	       *noaddr;
}

/* ------------------------------------------------------------------ */
/* Banner                                                              */
/* ------------------------------------------------------------------ */

static void set_arch(struct dbglog *st, const char *arch)
{
	if (st->a->system.cpu_arch == NULL)
		st->a->system.cpu_arch = arena_strdup(st->a->arena, arch);
}

/* Architecture named by a banner word or a build-lab tag. */
static const char *arch_word(const char *w, size_t n)
{
	static const struct {
		const char *w;
		const char *arch;
	} words[] = {
		{ "x86", "x86" },     { "x64", "amd64" },
		{ "AMD64", "amd64" }, { "amd64", "amd64" },
		{ "ARM64", "arm64" }, { "arm64", "arm64" },
		{ "AArch64", "arm64" }, { "(AArch64)", "arm64" },
		{ "ARM", "arm" },     { "x86fre", "x86" },
		{ "amd64fre", "amd64" }, { "arm64fre", "arm64" },
		{ "x86chk", "x86" },  { "amd64chk", "amd64" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i].w) == n && memcmp(words[i].w, w, n) == 0)
			return words[i].arch;
	return NULL;
}

/* NT version for a build number: Windows names are not reliable. */
static const char *nt_version(uint64_t build)
{
	static const struct {
		uint64_t min;
		const char *ver;
	} v[] = {
		{ 10240, "10.0" }, { 9600, "6.3" }, { 9200, "6.2" },
		{ 7600, "6.1" },   { 6000, "6.0" }, { 3790, "5.2" },
		{ 2600, "5.1" },   { 2195, "5.0" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (build >= v[i].min)
			return v[i].ver;
	return NULL;
}

static void set_build(struct dbglog *st, uint64_t build)
{
	struct system_info *s = &st->a->system;

	if (s->build != 0 || build == 0 || build > UINT32_MAX)
		return;
	s->build = (uint32_t)build;
	const char *v = nt_version(build);

	if (s->os_ver == NULL && v != NULL)
		s->os_ver = arena_printf(st->a->arena, "%s.%u", v,
					 (unsigned)build);
}

/* Words of the version line after the build: SP, UP/MP, procs, arch. */
static void windows_tail(struct dbglog *st, const char *p)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(p, tv, MAX_TOKS);
	uint64_t v;

	for (size_t i = 0; i < n; i++) {
		const char *arch = arch_word(tv[i].s, tv[i].n);

		if (tok_eq(tv[i], "UP") && st->a->system.cpu_count == 0)
			st->a->system.cpu_count = 1;
		else if (tok_eq(tv[i], "procs)") && i > 0 &&
			 tv[i - 1].s[0] == '(' &&
			 st->a->system.cpu_count == 0 &&
			 scan_dec(tv[i - 1].s + 1, tv[i - 1].n - 1, &v) > 0 &&
			 v <= UINT32_MAX)
			st->a->system.cpu_count = (uint32_t)v;
		else if (arch != NULL && !(tok_eq(tv[i], "ARM") && i + 1 < n &&
					   starts_with(tv[i + 1].s, "64")))
			set_arch(st, arch);
	}
}

/*
 * "Windows 10 Kernel Version 19041 MP (4 procs) Free x64",
 * "Windows XP Kernel Version 2600 (Service Pack 2) MP (2 procs) Free x86
 * compatible", "Windows 10 Version 19045 MP (8 procs) Free x64" (user).
 */
static bool on_windows(struct dbglog *st, const char *rest)
{
	const char *p = strstr(rest, " Version ");
	uint64_t build;

	if (p == NULL || p - rest > 40)
		return false;
	p += 9;
	size_t n = scan_dec(p, strlen(p), &build);

	if (n == 0)
		return false;
	st->windows = true;
	if (strstr(rest, "Kernel Version") != NULL)
		st->kernel = true;
	set_build(st, build);
	const char *sp = strstr(p, "(Service Pack ");
	struct system_info *s = &st->a->system;

	if (sp != NULL && s->os_ver != NULL && !st->osver_field) {
		const char *e = strchr(sp, ')');

		if (e != NULL)
			s->os_ver = arena_printf(st->a->arena, "%s %.*s",
						 s->os_ver,
						 (int)(e - sp - 1), sp + 1);
	}
	windows_tail(st, p + n);
	return true;
}

/* "Connected to Windows 10 19041 x64 target at (...)" (live kd). */
static bool on_connected(struct dbglog *st, const char *rest)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(rest, tv, MAX_TOKS);
	uint64_t v;

	st->windows = true;
	for (size_t i = 0; i + 1 < n && !tok_eq(tv[i], "target"); i++) {
		const char *arch = arch_word(tv[i].s, tv[i].n);

		if (tv[i].n >= 4 && tok_dec(tv[i], &v))
			set_build(st, v);
		else if (arch != NULL)
			set_arch(st, arch);
	}
	return true;
}

/* "Built by: 19041.1.amd64fre.vb_release.191206-1406". */
static void build_lab(struct dbglog *st, const char *p)
{
	uint64_t build, rev;
	size_t n = scan_dec(p, strlen(p), &build);
	const char *dot;

	if (n == 0)
		return;
	set_build(st, build);
	for (dot = strchr(p, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
		const char *e = strchr(dot + 1, '.');
		size_t wl = e != NULL ? (size_t)(e - dot - 1) : strlen(dot + 1);
		const char *arch = arch_word(dot + 1, wl);

		if (arch != NULL)
			set_arch(st, arch);
	}
	/* "19041.1.": the revision makes os_ver as precise as OS_VERSION. */
	struct system_info *s = &st->a->system;

	if (p[n] == '.' && scan_dec(p + n + 1, strlen(p + n + 1), &rev) > 0 &&
	    s->build == build && !st->osver_field && nt_version(build) != NULL)
		s->os_ver = arena_printf(st->a->arena, "%s.%u.%u",
					 nt_version(build), (unsigned)build,
					 (unsigned)rev);
}

static bool on_buildlab(struct dbglog *st, const char *rest)
{
	st->windows = true;
	build_lab(st, skip_spaces(strchr(rest, ':') + 1));
	return true;
}

static bool on_kernel_base(struct dbglog *st, const char *rest)
{
	(void)rest;
	st->windows = true;
	st->kernel = true;
	return true;
}

static bool on_product(struct dbglog *st, const char *rest)
{
	(void)rest;
	st->windows = true;
	return true;
}

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

/* "(UTC + 8:00)", "(UTC - 7:00)", "(GMT+1)": offset in seconds. */
static int64_t zone_offset(const char *z)
{
	const char *p = strchr(z, '(');
	uint64_t h = 0, m = 0;
	int sign = 1;

	if (p == NULL)
		return 0;
	p = skip_spaces(p + 1);
	if (starts_with(p, "UTC") || starts_with(p, "GMT"))
		p = skip_spaces(p + 3);
	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	p = skip_spaces(p);
	size_t n = scan_dec(p, strlen(p), &h);

	if (n > 0 && p[n] == ':')
		scan_dec(p + n + 1, strlen(p + n + 1), &m);
	if (h > 14 || m > 59)
		return 0;
	return sign * (int64_t)(h * 3600 + m * 60);
}

/* "Thu Mar 13 10:15:42.687 2008 (GMT+0)" -> Unix seconds (UTC). */
static bool on_session_time(struct dbglog *st, const char *rest)
{
	struct tok tv[8];
	size_t n = tokenize(strchr(rest, ':') + 1, tv, 8);
	uint64_t d, y, hh, mm, ss;
	int mon = -1;

	st->windows = true;
	if (n < 5 || st->a->crash_time != 0)
		return true;
	for (int i = 0; i < 12; i++)
		if (tok_eq(tv[1], month_names[i]))
			mon = i + 1;
	const char *tm = tv[3].s;

	if (mon < 0 || !tok_dec(tv[2], &d) || !tok_dec(tv[4], &y) ||
	    d < 1 || d > 31 || y < 1970 || y > 9999)
		return true;
	if (sscanf(tm, "%2" SCNu64 ":%2" SCNu64 ":%2" SCNu64, &hh, &mm,
		   &ss) != 3)
		return true;
	int64_t t = days_from_civil((int64_t)y, mon, (int)d) * 86400 +
		    (int64_t)(hh * 3600 + mm * 60 + ss) - zone_offset(tv[4].s);

	if (t > 0)
		st->a->crash_time = (uint64_t)t;
	return true;
}

/* "System Uptime: 0 days 2:31:07.265". */
static bool on_uptime(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(strchr(rest, ':') + 1);
	uint64_t days, hh, mm, ss;

	if (st->a->uptime == 0 &&
	    sscanf(p, "%" SCNu64 " day%*[s ] %" SCNu64 ":%" SCNu64 ":%" SCNu64,
		   &days, &hh, &mm, &ss) == 4 &&
	    days < 100000 && hh < 24 && mm < 60 && ss < 60)
		st->a->uptime = days * 86400 + hh * 3600 + mm * 60 + ss;
	return true;
}

/* mex !di: "Processor: 11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz". */
static bool on_processor(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(rest + strlen("Processor:"));

	if (st->a->system.cpu_info == NULL && *p != '\0')
		st->a->system.cpu_info = sdup(st, p, strlen(p));
	return true;
}

/* "Mini Kernel Dump File: ...", "User Mini Dump File with Full Memory". */
static bool on_dump_kind(struct dbglog *st, const char *t)
{
	const char *p = strstr(t, "Dump File");

	if (p == NULL || p - t > 40 || (p[9] != ':' && p[9] != ' '))
		return false;
	if (strstr(t, "Kernel") != NULL && strstr(t, "Kernel") < p)
		st->kernel = true;
	else if (starts_with(t, "User "))
		st->user = true;
	else
		return false;
	st->windows = true;
	return true;
}

/* ------------------------------------------------------------------ */
/* Bugcheck statements                                                 */
/* ------------------------------------------------------------------ */

/* "BugCheck D1, {ffffd1052a8b7000, 2, 0, fffff8061a3b14f2}". */
static bool on_bugcheck_line(struct dbglog *st, const char *rest)
{
	const char *p = rest + strlen("BugCheck ");
	uint64_t code, args[4];
	size_t n = scan_hex(p, strlen(p), &code);

	/* Blog headings "BugCheck C2: BAD_POOL_CALLER" are not output. */
	if (n == 0 || p[n] != ',' || !parse_arglist(p + n, '{', '}', args))
		return false;
	bc_code(st, BC_LINE, code);
	bc_args(st, BC_LINE, args);
	st->kernel = true;
	return true;
}

/* mex !di: "Bugcheck: D1 (FFFF80091002AC08, 2, 1, FFFFF802084D9062)". */
static bool on_mex_bugcheck(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(rest + strlen("Bugcheck:"));
	uint64_t code, args[4];
	size_t n = scan_hex(p, strlen(p), &code);

	if (n == 0 || p[n] != ' ' || !parse_arglist(p + n, '(', ')', args))
		return false;
	bc_code(st, BC_OTHER, code);
	bc_args(st, BC_OTHER, args);
	st->kernel = true;
	return true;
}

/* mex !crash: "Bugcheck code 00000019", then "Arguments a b c d". */
static bool on_crash_bugcheck(struct dbglog *st, const char *rest)
{
	uint64_t code;
	struct tok tv[4];

	if (tokenize(rest, tv, 4) != 3 || !tok_hex(tv[2], &code))
		return false;
	bc_code(st, BC_OTHER, code);
	st->crash_args = true;
	return true;
}

static bool on_crash_arguments(struct dbglog *st, const char *rest)
{
	struct tok tv[6];
	uint64_t v[4];

	if (!st->crash_args || tokenize(rest, tv, 6) != 5)
		return false;
	st->crash_args = false;
	for (int i = 0; i < 4; i++)
		if (!tok_hex(tv[i + 1], &v[i]))
			return false;
	bc_args(st, BC_OTHER, v);
	return true;
}

/* "*** Fatal System Error: 0x0000007e" then "(0x...,0x...,0x...,0x...)". */
static bool on_fatal(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(rest + strlen("*** Fatal System Error:"));
	uint64_t code;

	if (scan_hex(p, strlen(p), &code) == 0)
		return false;
	bc_code(st, BC_OTHER, code);
	st->kernel = true;
	st->fatal_args = true;
	return true;
}

static bool fatal_args_line(struct dbglog *st)
{
	uint64_t args[4];

	if (!st->fatal_args || st->tlen == 0)
		return false;
	st->fatal_args = false;
	if (st->t[0] != '(' || !parse_arglist(st->t, '(', ')', args))
		return false;
	if (st->bc[BC_OTHER].has_code)
		bc_args(st, BC_OTHER, args);
	return true;
}

/* The !analyze title: "DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)". */
static bool on_title(struct dbglog *st, const char *t)
{
	const char *sp = strchr(t, ' ');
	uint64_t code;

	if (st->indent > 0 || !is_upper(t[0]) || sp == NULL || sp[1] != '(')
		return false;
	for (const char *p = t; p < sp; p++)
		if (!is_upper(*p) && !is_digit(*p) && *p != '_')
			return false;
	size_t n = scan_hex(sp + 2, strlen(sp + 2), &code);

	if (n == 0 || n > 8 || strcmp(sp + 2 + n, ")") != 0)
		return false;
	st->title_seen = true;
	if (st->show_only)
		return true;
	bc_code(st, BC_TITLE, code);
	if (st->bc[BC_TITLE].code == code)
		bc_name(st, BC_TITLE, t, (size_t)(sp - t));
	st->kernel = true;
	return true;
}

static bool on_arguments(struct dbglog *st, const char *rest)
{
	(void)rest;
	return st->title_seen;
}

/* "Arg1: ffffd1052a8b7000, memory referenced" (the comma may be absent). */
static bool on_arg(struct dbglog *st, const char *rest)
{
	uint64_t v;
	int i = rest[3] - '1';

	if (i < 0 || i > 3 || rest[4] != ':' || !st->title_seen)
		return false;
	const char *p = skip_spaces(rest + 5);

	if (scan_hex(p, strlen(p), &v) == 0)
		return true;
	if (!st->show_only && st->bc[BC_TITLE].has_code)
		bc_arg(st, BC_TITLE, i, v);
	if (i == 3)
		st->show_only = false; /* that was all of -show's output */
	return true;
}

/* "Probably caused by : e1g60i32.sys ( e1g60i32!E1000ReceiveIndicate+1c7 )". */
static bool on_probably(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(rest + strlen("Probably caused by"));

	if (*p != ':')
		return false;
	p = skip_spaces(p + 1);
	const char *e = strstr(p, " (");
	size_t n = rtrim_len(p, e != NULL ? (size_t)(e - p) : strlen(p));
	char mod[KV_KEY_MAX];

	if (n == 0 || n >= sizeof(mod))
		return true;
	memcpy(mod, p, n);
	mod[n] = '\0';
	field_add(st, "PROBABLY_CAUSED_BY", mod);
	note_event(st);
	return true;
}

/* ------------------------------------------------------------------ */
/* Exceptions                                                          */
/* ------------------------------------------------------------------ */

/* "   ExceptionCode: c0000005 (Access violation)". */
static bool on_exception_code(struct dbglog *st, const char *rest)
{
	uint32_t code;

	if (parse_status(rest + strlen("ExceptionCode:"), &code))
		crash_code(st, CODE_EXC, code);
	return true;
}

/* "ExceptionAddress: 00007ff8329aa826 (ntdll!RtlInitUnicodeStringEx+0x16)". */
static bool on_exception_address(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(rest + strlen("ExceptionAddress:"));
	uint64_t v;

	if (scan_hex(p, strlen(p), &v) == 0)
		return true;
	cand_set(st, &st->ip, IP_EXC, v);
	cand_set(st, &st->addr, ADDR_EXC, v);
	note_event(st);
	return true;
}

/* "Attempt to read from address 0000000000000000" (also write/execute). */
static bool on_attempt(struct dbglog *st, const char *rest)
{
	const char *p = strstr(rest, "address ");
	uint64_t v;

	if (p == NULL)
		return false;
	p += strlen("address ");
	if (scan_hex(p, strlen(p), &v) == strlen(p))
		cand_set(st, &st->addr, ADDR_ATTEMPT, v);
	return true;
}

/*
 * "(12ac.3b4): Access violation - code c0000005 (first chance)",
 * "Break instruction exception - code 80000003 (first chance)". Used only
 * when nothing better names the crash: in a kernel session these are the
 * debugger breaking in.
 */
static bool on_exception_event(struct dbglog *st, const char *t)
{
	const char *p = strstr(t, " - code ");
	uint64_t v;
	uint32_t code;

	if (p == NULL)
		return false;
	p += strlen(" - code ");
	size_t n = scan_hex(p, strlen(p), &v);

	if (n == 0 || (p[n] != '\0' && p[n] != ' ') || !status32(v, &code))
		return false;
	cand_set(st, &st->ev_code, 0, code);
	note_event(st);
	return true;
}

/* "Critical error detected c0000374" (heap corruption, before the break). */
static bool on_critical(struct dbglog *st, const char *rest)
{
	const char *p = rest + strlen("Critical error detected ");
	uint64_t v;
	uint32_t code;

	if (scan_hex(p, strlen(p), &v) > 0 && status32(v, &code)) {
		cand_set(st, &st->ev_code, 0, code);
		note_event(st);
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* !analyze -v                                                         */
/* ------------------------------------------------------------------ */

static bool on_analyze_banner(struct dbglog *st, const char *t)
{
	if (t[0] != '*')
		return false;
	if (strstr(t, "Bugcheck Analysis") != NULL)
		st->kernel = true;
	else if (strstr(t, "Exception Analysis") != NULL)
		st->user = true;
	else
		return false;
	st->in_analyze = true;
	st->analyze_seen = true;
	st->analyses++;
	st->windows = true;
	return true;
}

static bool on_followup(struct dbglog *st, const char *rest)
{
	(void)rest;
	st->in_analyze = false;
	return true;
}

/*
 * Length of the !analyze key at the start of T ("MODULE_NAME:" -> 11),
 * or 0. Keys are upper case, digits and '_', then ':' and a space or the
 * end. Outside an analysis a key must contain '_' so that "WARNING:" and
 * "KDTARGET:" lines are not taken for keys.
 */
static size_t key_len(const struct dbglog *st, const char *t)
{
	size_t n = 0;
	bool underscore = false;

	if (st->indent > 2 || !is_upper(t[0]))
		return 0;
	while (is_upper(t[n]) || is_digit(t[n]) || t[n] == '_') {
		underscore |= t[n] == '_';
		n++;
	}
	if (t[n] != ':' || (t[n + 1] != ' ' && t[n + 1] != '\0') ||
	    n >= KEY_MAX)
		return 0;
	if (!underscore && !st->in_analyze)
		return 0;
	if (strncmp(t, "WARNING", n) == 0 || strncmp(t, "ERROR", n) == 0 ||
	    strncmp(t, "NOTE", n) == 0)
		return 0;
	return n;
}

static void set_system_str(struct dbglog *st, const char **slot,
			   const char *v)
{
	if (*slot == NULL && *v != '\0')
		*slot = sdup(st, v, strlen(v));
}

static void key_bugcheck(struct dbglog *st, const char *key, const char *v)
{
	uint64_t x;

	if (scan_hex(v, strlen(v), &x) == 0)
		return;
	if (strcmp(key, "BUGCHECK_CODE") == 0)
		bc_code(st, BC_FIELD, x);
	else
		bc_arg(st, BC_FIELD, key[strlen(key) - 1] - '1', x);
}

static void key_bugcheck_str(struct dbglog *st, const char *v)
{
	uint64_t x;

	if (starts_with(v, "0x") && scan_hex(v, strlen(v), &x) > 0)
		bc_code(st, BC_STR, x);
}

static void key_exception(struct dbglog *st, const char *key, const char *v)
{
	uint32_t code;

	if (!parse_status(v, &code))
		return;
	if (strcmp(key, "EXCEPTION_CODE_STR") == 0)
		crash_code(st, CODE_STR, code);
	else if (strcmp(key, "EXCEPTION_CODE") == 0)
		crash_code(st, CODE_FIELD, code);
	else
		crash_code(st, CODE_ERROR, code);
}

/* READ_ADDRESS: "ffffd1052a8b7000 Nonpaged pool" or "1f3ef330000". */
static void key_address(struct dbglog *st, const char *v)
{
	uint64_t x;
	size_t n = scan_hex(v, strlen(v), &x);

	if (n > 0 && (v[n] == '\0' || v[n] == ' '))
		cand_set(st, &st->addr, ADDR_FIELD, x);
}

static void key_os(struct dbglog *st, const char *key, const char *v)
{
	struct system_info *s = &st->a->system;
	uint64_t x;

	st->windows = true;
	if (strcmp(key, "OS_VERSION") == 0 && !st->osver_field) {
		s->os_ver = sdup(st, v, strlen(v));
		st->osver_field = true;
	} else if (strcmp(key, "OSPLATFORM_TYPE") == 0) {
		const char *arch = arch_word(v, strlen(v));

		if (arch != NULL)
			set_arch(st, arch);
	} else if (strcmp(key, "BUILD_VERSION_STRING") == 0 ||
		   strcmp(key, "BUILDLAB_STR") == 0) {
		build_lab(st, v);
	} else if (strcmp(key, "CPU_COUNT") == 0 && s->cpu_count == 0 &&
		   scan_hex(v, strlen(v), &x) > 0 && x <= UINT32_MAX) {
		s->cpu_count = (uint32_t)x;
	}
}

static void key_machine(struct dbglog *st, const char *key, const char *v)
{
	struct system_info *s = &st->a->system;

	if (strcmp(key, "SYSTEM_MANUFACTURER") == 0)
		set_system_str(st, &s->system_manufacturer, v);
	else if (strcmp(key, "SYSTEM_PRODUCT_NAME") == 0)
		set_system_str(st, &s->system_product, v);
	else if (strcmp(key, "BIOS_VENDOR") == 0)
		set_system_str(st, &s->bios_vendor, v);
	else if (strcmp(key, "CPU_VENDOR") == 0)
		set_system_str(st, &s->cpu_info, v);
}

/* IP_ON_HEAP:  000001f3ef330000 / IP_ON_STACK: +e11ffa8 (same line). */
static void key_ip_on(struct dbglog *st, const char *v)
{
	uint64_t x;

	if (*v == '+')
		v++;
	if (*v != '\0' && scan_hex(v, strlen(v), &x) == strlen(v))
		cand_set(st, &st->ip, IP_ON, x);
}

/* Keys whose value the model wants, beyond the field itself. */
static void key_model(struct dbglog *st, const char *key, const char *v)
{
	if (strcmp(key, "BUGCHECK_CODE") == 0 ||
	    (starts_with(key, "BUGCHECK_P") && strlen(key) == 11))
		key_bugcheck(st, key, v);
	else if (strcmp(key, "BUGCHECK_STR") == 0)
		key_bugcheck_str(st, v);
	else if (strcmp(key, "PROCESS_NAME") == 0)
		set_system_str(st, &st->a->process_name, v);
	else if (strcmp(key, "EXCEPTION_CODE") == 0 ||
		 strcmp(key, "EXCEPTION_CODE_STR") == 0 ||
		 strcmp(key, "ERROR_CODE") == 0)
		key_exception(st, key, v);
	else if (strcmp(key, "READ_ADDRESS") == 0 ||
		 strcmp(key, "WRITE_ADDRESS") == 0 ||
		 strcmp(key, "EXECUTE_ADDRESS") == 0)
		key_address(st, v);
	else if (strcmp(key, "IP_ON_HEAP") == 0 ||
		 strcmp(key, "IP_ON_STACK") == 0)
		key_ip_on(st, v);
	else if (starts_with(key, "OS") || starts_with(key, "BUILD") ||
		 strcmp(key, "CPU_COUNT") == 0)
		key_os(st, key, v);
	else
		key_machine(st, key, v);
}

/* Keys whose address is printed on a following line. */
static bool key_wants_address(const char *key)
{
	return strcmp(key, "FAILED_INSTRUCTION_ADDRESS") == 0 ||
	       strcmp(key, "FAULTING_IP") == 0 ||
	       strcmp(key, "IP_ON_HEAP") == 0 ||
	       strcmp(key, "IP_ON_STACK") == 0;
}

static void copy_key(char *dst, const char *key, size_t n)
{
	memcpy(dst, key, n);
	dst[n] = '\0';
}

/* Begin the crashing thread's STACK_TEXT listing. */
static void stack_text_begin(struct dbglog *st)
{
	st->thr = -1;
	stack_begin(st, false);
	long idx = new_thread(st);

	if (idx < 0)
		return;
	st->stk = idx;
	if (st->stack_text < 0)
		st->stack_text = idx;
}

/* "KEY:  value" of !analyze -v (or a key line quoted on its own). */
static bool on_key_line(struct dbglog *st, const char *t)
{
	size_t n = key_len(st, t);
	char key[KEY_MAX];

	if (n == 0)
		return false;
	copy_key(key, t, n);
	const char *v = skip_spaces(t + n + 1);

	if (*v == '\0')
		copy_key(st->pend_key, key, n);
	else {
		field_add(st, key, v);
		key_model(st, key, v);
	}
	st->addr_key[0] = '\0';
	if (key_wants_address(key) && *v == '\0')
		copy_key(st->addr_key, key, n);
	if (strcmp(key, "STACK_TEXT") == 0)
		stack_text_begin(st);
	st->windows = true;
	return true;
}

/*
 * The value of a key printed on the line after it. Records the field and
 * lets the line go on to the other handlers.
 */
static void pending_value(struct dbglog *st)
{
	if (st->pend_key[0] == '\0')
		return;
	const char *v = st->tlen > 0 && key_len(st, st->t) == 0 ? st->t : "";

	field_add(st, st->pend_key, v);
	if (*v != '\0')
		key_model(st, st->pend_key, v);
	st->pend_key[0] = '\0';
}

/*
 * FAILED_INSTRUCTION_ADDRESS / FAULTING_IP / IP_ON_*: the address is on a
 * following line ("65747379`735c5357 ??  ???", after a "+0" or symbol
 * line), or is the "+e11ffa8" line itself for IP_ON_STACK.
 */
static void pending_address(struct dbglog *st)
{
	struct tok tv[2];
	uint64_t v;

	if (st->addr_key[0] == '\0')
		return;
	if (st->tlen == 0 || key_len(st, st->t) > 0) {
		st->addr_key[0] = '\0';
		return;
	}
	size_t n = tokenize(st->t, tv, 2);
	bool ip_on = starts_with(st->addr_key, "IP_ON_");

	if (n >= 1 && ip_on && tv[0].s[0] == '+' && tv[0].n > 1 &&
	    scan_hex(tv[0].s + 1, tv[0].n - 1, &v) == tv[0].n - 1) {
		cand_set(st, &st->ip, IP_ON, v);
		st->addr_key[0] = '\0';
	} else if (n >= 1 && tok_is_addr(tv[0]) && tok_hex(tv[0], &v)) {
		cand_set(st, &st->ip, strcmp(st->addr_key, "FAULTING_IP") == 0 ?
					  IP_FAULTING :
				  ip_on ? IP_ON : IP_FAILED,
			 v);
		st->addr_key[0] = '\0';
	}
}

/* KEY_VALUES_STRING: "    Key  : Analysis.CPU.mSec" / "    Value: 1546". */
static bool on_kv_key(struct dbglog *st, const char *rest)
{
	const char *p = skip_spaces(rest + 3);
	size_t n;

	if (*p != ':')
		return false;
	p = skip_spaces(p + 1);
	n = strlen(p);
	if (n == 0 || n >= sizeof(st->kv_key))
		return true;
	memcpy(st->kv_key, p, n + 1);
	return true;
}

static bool on_kv_value(struct dbglog *st, const char *rest)
{
	if (st->kv_key[0] == '\0')
		return false;
	field_add(st, st->kv_key, skip_spaces(rest + strlen("Value:")));
	st->kv_key[0] = '\0';
	return true;
}

/* ------------------------------------------------------------------ */
/* !sysinfo machineid                                                  */
/* ------------------------------------------------------------------ */

static bool on_sysinfo(struct dbglog *st, const char *rest)
{
	(void)rest;
	stack_end(st);
	st->blk = BLK_SYSINFO;
	st->windows = true;
	return true;
}

/* "BiosVendor = Xen": SMBIOS strings (also printed by mex !di). */
static bool smbios_kv(struct dbglog *st, const char *t)
{
	const char *eq = strstr(t, " = ");
	struct system_info *s = &st->a->system;
	char key[KEY_MAX];
	size_t kn;

	if (eq == NULL || (kn = (size_t)(eq - t)) == 0 || kn >= KEY_MAX ||
	    memchr(t, ' ', kn) != NULL)
		return false;
	const char *v = eq + 3;

	copy_key(key, t, kn);
	field_add(st, key, v);
	if (strcmp(key, "BiosVendor") == 0)
		set_system_str(st, &s->bios_vendor, v);
	else if (strcmp(key, "SystemManufacturer") == 0)
		set_system_str(st, &s->system_manufacturer, v);
	else if (strcmp(key, "SystemProductName") == 0)
		set_system_str(st, &s->system_product, v);
	return true;
}

static bool on_smbios(struct dbglog *st, const char *rest)
{
	return smbios_kv(st, rest);
}

static bool blk_sysinfo(struct dbglog *st)
{
	if (st->tlen > 0 && smbios_kv(st, st->t))
		return true;
	/* "SystemFamily =" has an empty value and no space after '='. */
	if (st->tlen > 0 && st->t[st->tlen - 1] == '=')
		return true;
	st->blk = BLK_NONE;
	return st->tlen == 0;
}

/* ------------------------------------------------------------------ */
/* lm                                                                  */
/* ------------------------------------------------------------------ */

static bool is_lm_header(const char *t)
{
	struct tok tv[5];

	return tokenize(t, tv, 5) == 4 && tok_eq(tv[0], "start") &&
	       tok_eq(tv[1], "end") && tok_eq(tv[2], "module") &&
	       tok_eq(tv[3], "name");
}

static bool on_lm_header(struct dbglog *st, const char *t)
{
	if (!is_lm_header(t))
		return false;
	stack_end(st);
	st->blk = BLK_LM;
	st->lm_unloaded = false;
	st->mod = -1;
	return true;
}

static bool on_unloaded(struct dbglog *st, const char *rest)
{
	(void)rest;
	stack_end(st);
	st->blk = BLK_LM;
	st->lm_unloaded = true;
	st->mod = -1;
	return true;
}

/* A module for [BASE, END) (END exclusive, as lm prints), or -1. */
static long module_for(struct dbglog *st, uint64_t base, uint64_t end,
		       bool unloaded)
{
	uint32_t idx;

	if (!unloaded && map_get(&st->mod_at, base, &idx))
		return (long)idx;
	size_t have = st->a->modules.n;
	struct module *m = model_add_module(st->a);

	if (m == NULL) {
		note_full(st, ERR_MODULES, "modules", have, MODEL_MAX_MODULES);
		return -1;
	}
	m->base = base;
	m->unloaded = unloaded;
	if (end > base) {
		m->end = end - 1;
		m->size = end - base;
	} else {
		m->end = base;
	}
	if (!unloaded)
		map_put(st, &st->mod_at, base, (uint32_t)have);
	return (long)have;
}

/*
 * The pdb path after "(pdb symbols)" (it may hold spaces): its base name
 * is the debug file.
 */
static void lm_debug_file(struct dbglog *st, struct module *m,
			  const struct tok *tv, size_t n)
{
	const char *close;
	size_t bn;

	if (n < 5 || tv[3].s[0] != '(' || m->debug_file != NULL ||
	    (close = strchr(tv[3].s, ')')) == NULL)
		return;
	const char *path = skip_spaces(close + 1);
	const char *b = base_name(path, strlen(path), &bn);

	if (bn > 4 && memcmp(b + bn - 4, ".pdb", 4) == 0)
		m->debug_file = sdup(st, b, bn);
}

/* "(45D1A2B9)" at the end of an lm v Timestamp line. */
static void lm_timestamp(struct module *m, const char *v)
{
	const char *p = strrchr(v, '(');
	uint64_t x;

	if (p != NULL && scan_hex(p + 1, strlen(p + 1), &x) == 8 &&
	    p[9] == ')' && m->timestamp == 0)
		m->timestamp = (uint32_t)x;
}

/* "804d7000 806cd280   nt   (pdb symbols)   c:\symbols\...\ntkrnlmp.pdb". */
static bool lm_line(struct dbglog *st)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(st->t, tv, MAX_TOKS);
	uint64_t base, end;

	if (n < 3 || !tok_is_addr(tv[0]) || !tok_is_addr(tv[1]) ||
	    !tok_hex(tv[0], &base) || !tok_hex(tv[1], &end))
		return false;
	long idx = module_for(st, base, end, st->lm_unloaded);

	st->mod = idx;
	if (idx < 0)
		return true;
	struct module *m = &st->a->modules.v[idx];

	/* lm t n prints the image name after the module name. */
	if (n > 3 && tv[3].s[0] != '(' && memchr(tv[3].s, '.', tv[3].n) != NULL)
		m->filename = sdup(st, tv[3].s, tv[3].n);
	else if (m->filename == NULL)
		m->filename = sdup(st, tv[2].s, tv[2].n);
	lm_timestamp(m, st->t);
	lm_debug_file(st, m, tv, n);
	st->windows = true;
	return true;
}

/* Indented lm v lines: "Image path:", "Image name:", "Timestamp:"... */
static void lm_detail(struct dbglog *st, struct module *m)
{
	const char *t = st->t, *colon = strchr(t, ':');

	if (colon == NULL)
		return;
	const char *v = skip_spaces(colon + 1);
	size_t vn = strlen(v), bn;

	if (vn == 0)
		return;
	if (starts_with(t, "Image name:")) {
		m->filename = sdup(st, v, vn);
	} else if (starts_with(t, "Image path:") && m->path == NULL) {
		const char *b = base_name(v, vn, &bn);

		m->path = sdup(st, v, vn);
		if (m->filename == NULL)
			m->filename = sdup(st, b, bn);
	} else if (starts_with(t, "Timestamp:")) {
		lm_timestamp(m, v);
	} else if (starts_with(t, "File version:") && m->version == NULL) {
		m->version = sdup(st, v, vn);
	}
}

static bool blk_lm(struct dbglog *st)
{
	if (st->tlen == 0) {
		st->blk = BLK_NONE;
		return true;
	}
	if (lm_line(st))
		return true;
	if (st->indent >= 4 && st->mod >= 0) {
		lm_detail(st, &st->a->modules.v[st->mod]);
		return true;
	}
	st->blk = BLK_NONE;
	return false;
}

/* mex !mods: "Base End Flags Time stamp CLR Module name Version Path". */
static bool on_mex_mods_header(struct dbglog *st, const char *t)
{
	if (!starts_with(t, "Base ") || strstr(t, "Module name") == NULL)
		return false;
	stack_end(st);
	st->blk = BLK_MEXMODS;
	return true;
}

/* Column I (0-based) of a '|'-separated row, trimmed. */
static const char *column(const char *s, int i, size_t *n)
{
	for (; i > 0 && s != NULL; i--) {
		s = strchr(s, '|');
		if (s != NULL)
			s++;
	}
	if (s == NULL)
		return NULL;
	s = skip_spaces(s);
	const char *e = strchr(s, '|');

	*n = rtrim_len(s, e != NULL ? (size_t)(e - s) : strlen(s));
	return s;
}

/*
 * "00007ff7d9ad0000 00007ff7d9daf000 |  | 2023-08-25 ... | Beacon_x64 |
 * 0.0.0.0 | C:\...\Beacon_x64.exe": base, end, then '|' columns.
 */
static bool blk_mexmods(struct dbglog *st)
{
	struct tok tv[3];
	uint64_t base, end;
	size_t nn = 0, vn = 0, pn = 0, bn;

	if (st->tlen == 0 || st->t[0] == '=')
		return st->t[0] == '=';
	if (tokenize(st->t, tv, 3) < 3 || !tok_is_addr(tv[0]) ||
	    !tok_hex(tv[0], &base) || !tok_hex(tv[1], &end) ||
	    !tok_eq(tv[2], "|")) {
		st->blk = BLK_NONE;
		return false;
	}
	long idx = module_for(st, base, end, false);
	const char *name = column(st->t, 4, &nn);
	const char *ver = column(st->t, 5, &vn);
	const char *path = column(st->t, 6, &pn);

	if (idx < 0)
		return true;
	struct module *m = &st->a->modules.v[idx];

	if (path != NULL && pn > 0 && m->path == NULL) {
		m->path = sdup(st, path, pn);
		const char *b = base_name(path, pn, &bn);

		m->filename = sdup(st, b, bn);
	} else if (name != NULL && nn > 0 && m->filename == NULL) {
		m->filename = sdup(st, name, nn);
	}
	if (ver != NULL && vn > 0 && m->version == NULL)
		m->version = sdup(st, ver, vn);
	return true;
}

/* ------------------------------------------------------------------ */
/* !process                                                            */
/* ------------------------------------------------------------------ */

/*
 * A PROCESS block for a pid that !vm listed first: fold the new entry
 * (the last one) into the !vm one so a process is listed once.
 */
static void proc_merge_vm(struct dbglog *st, uint64_t pid)
{
	uint32_t vi;
	long last = (long)st->a->processes.n - 1;

	if (!map_get(&st->vm_pid, pid, &vi) || st->proc != last ||
	    (long)vi == last)
		return;
	struct process *np = &st->a->processes.v[last], *vp;

	vp = &st->a->processes.v[vi];
	vp->ppid = np->ppid;
	st->a->processes.n--;
	st->proc = (long)vi;
	map_put(st, &st->vm_pid, pid, UINT32_MAX); /* merged: not again */
	map_put(st, &st->proc_at, st->proc_addr, vi);
}

static void proc_pid(struct dbglog *st, struct process *p, uint64_t pid)
{
	uint32_t vi;

	p->pid = pid;
	if (map_get(&st->vm_pid, pid, &vi) && vi != UINT32_MAX) {
		proc_merge_vm(st, pid);
		return;
	}
	if (!map_get(&st->proc_pid, pid, NULL))
		map_put(st, &st->proc_pid, pid, (uint32_t)st->proc);
}

/* One "Label: value" pair of a PROCESS block; returns tokens used. */
static size_t proc_pair(struct dbglog *st, const struct tok *tv, size_t n,
			size_t i)
{
	struct process *p = proc_at(st, st->proc);
	uint64_t v;

	if (p == NULL || i + 1 >= n)
		return 1;
	struct tok val = tv[i + 1];

	if (val.n > 1 && val.s[val.n - 1] == '.')
		val.n--; /* "HandleCount: 500." */
	if (tok_eq(tv[i], "Cid:") && tok_hex(val, &v))
		proc_pid(st, p, v);
	else if (tok_eq(tv[i], "ParentCid:") && tok_hex(val, &v))
		p->ppid = v;
	else if (tok_eq(tv[i], "ObjectTable:") && tok_hex(val, &v))
		p->object_table_null = v == 0;
	else if (tok_eq(tv[i], "HandleCount:") && tok_dec(val, &v)) {
		p->handle_count = v;
		p->has_handle_count = true;
	} else if (tok_eq(tv[i], "Private") && tok_dec(val, &v)) {
		p->private_pages = v;
		p->has_private = true;
	} else {
		return 1;
	}
	return 2;
}

/* Fields of a PROCESS line or of the indented lines after it. */
static void proc_kv(struct dbglog *st, const char *line)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(line, tv, MAX_TOKS);
	const char *img = strstr(line, "Image: ");

	for (size_t i = 0; i < n;)
		i += proc_pair(st, tv, n, i);
	struct process *p = proc_at(st, st->proc);

	if (img != NULL && p != NULL && p->image == NULL &&
	    (img == line || img[-1] == ' ')) {
		const char *v = skip_spaces(img + 7);

		if (*v != '\0')
			p->image = sdup(st, v, strlen(v));
	}
}

/* "PROCESS 8a8fa8c0  SessionId: 0  Cid: 037c  Peb: 7ffd8000  ParentCid: 4ac" */
static bool on_process(struct dbglog *st, const char *rest)
{
	struct tok tv[2];
	uint64_t addr;
	uint32_t idx;

	if (tokenize(rest, tv, 2) != 2 || !tok_is_addr(tv[1]) ||
	    !tok_hex(tv[1], &addr))
		return false;
	stack_end(st);
	st->thr = -1;
	st->proc_addr = addr;
	if (map_get(&st->proc_at, addr, &idx)) {
		st->proc = (long)idx;
	} else {
		st->proc = new_process(st);
		if (st->proc >= 0)
			map_put(st, &st->proc_at, addr, (uint32_t)st->proc);
	}
	st->proc_details = st->proc >= 0;
	st->windows = true;
	proc_kv(st, rest + 8);
	return true;
}

/* Indented lines right after PROCESS: DirBase, Image, VadRoot... */
static bool proc_detail_line(struct dbglog *st)
{
	if (!st->proc_details)
		return false;
	if (st->tlen == 0 || st->indent == 0 || starts_with(st->t, "THREAD ")) {
		st->proc_details = false;
		return false;
	}
	proc_kv(st, st->t);
	return true;
}

static bool on_no_threads(struct dbglog *st, const char *rest)
{
	struct process *p = proc_at(st, st->proc);

	(void)rest;
	if (p != NULL) {
		p->active_threads = 0;
		p->has_threads = true;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* !vm                                                                 */
/* ------------------------------------------------------------------ */

static bool on_vm(struct dbglog *st, const char *rest)
{
	(void)rest;
	stack_end(st);
	st->blk = BLK_VM;
	st->vm_rows = false;
	return true;
}

/* " NonPagedPool Usage:    12304 (     49216 Kb)": field "vm.<name>". */
static bool vm_counter(struct dbglog *st)
{
	const char *colon = strchr(st->t, ':');
	uint64_t pages;
	char key[KV_KEY_MAX], val[24];

	if (colon == NULL || strstr(colon, "Kb)") == NULL)
		return false;
	const char *v = skip_spaces(colon + 1);

	if (scan_dec(v, strlen(v), &pages) == 0 ||
	    (size_t)(colon - st->t) + 4 >= sizeof(key))
		return false;
	snprintf(key, sizeof(key), "vm.%.*s", (int)(colon - st->t), st->t);
	snprintf(val, sizeof(val), "%" PRIu64, pages);
	field_add(st, key, val);
	if (starts_with(st->t, "Total Private:"))
		st->vm_rows = true;
	return true;
}

/* "         037c MyService.exe     2082 (      8328 Kb)". */
static bool vm_row(struct dbglog *st)
{
	struct tok tv[8];
	size_t n = tokenize(st->t, tv, 8);
	uint64_t pid, pages;
	uint32_t idx;

	if (!st->vm_rows || n < 4 || tv[0].n > 8 || !tok_hex(tv[0], &pid) ||
	    !tok_dec(tv[2], &pages) || strstr(st->t, "Kb)") == NULL)
		return false;
	long pi;

	if (map_get(&st->proc_pid, pid, &idx)) {
		pi = (long)idx;
	} else {
		pi = new_process(st);
		if (pi < 0)
			return true;
		map_put(st, &st->proc_pid, pid, (uint32_t)pi);
		map_put(st, &st->vm_pid, pid, (uint32_t)pi);
		st->a->processes.v[pi].pid = pid;
		st->a->processes.v[pi].image = sdup(st, tv[1].s, tv[1].n);
	}
	struct process *p = &st->a->processes.v[pi];

	if (!p->has_private) {
		p->private_pages = pages;
		p->has_private = true;
	}
	return true;
}

static bool blk_vm(struct dbglog *st)
{
	return st->tlen > 0 && (vm_row(st) || vm_counter(st));
}

/* ------------------------------------------------------------------ */
/* Threads: !thread, !process 0 ff, ~*k, mex                           */
/* ------------------------------------------------------------------ */

/* The thread for a THREAD/mex address, new or seen before. */
static long thread_for(struct dbglog *st, uint64_t addr, bool *dup)
{
	uint32_t idx;

	*dup = map_get(&st->thread_at, addr, &idx);
	if (*dup)
		return (long)idx;
	long i = new_thread(st);

	if (i >= 0) {
		map_put(st, &st->thread_at, addr, (uint32_t)i);
		st->a->threads.v[i].id = addr;
	}
	return i;
}

/* Open a thread block: its details and stack follow. */
static void thread_open(struct dbglog *st, long idx, bool objs)
{
	stack_end(st);
	st->thr = idx;
	st->thr_objs = objs && idx >= 0;
	st->waitlist = false;
}

/* "WAIT: (UserRequest) UserMode Non-Alertable", "RUNNING on processor 2". */
static void thread_state(struct dbglog *st, struct thread *t,
			 const struct tok *tv, size_t n, size_t i)
{
	struct tok w = tv[i];

	if (w.n > 0 && w.s[w.n - 1] == ':')
		w.n--;
	t->state = intern(st, w.s, w.n);
	if (!tok_eq(w, "WAIT") || i + 1 >= n)
		return;
	struct tok r = tv[i + 1];

	if (r.n > 2 && r.s[0] == '(' && r.s[r.n - 1] == ')')
		t->wait_reason = intern(st, r.s + 1, r.n - 2);
	if (i + 2 < n)
		t->wait_mode = intern(st, tv[i + 2].s, tv[i + 2].n);
}

static bool is_state_word(struct tok w)
{
	if (w.n > 0 && w.s[w.n - 1] == ':')
		w.n--;
	if (w.n < 4)
		return false;
	for (size_t i = 0; i < w.n; i++)
		if (!is_upper(w.s[i]))
			return false;
	return true;
}

/* "Cid 05d0.5ea8": the thread id part. */
static bool cid_tid(struct tok t, uint64_t *tid)
{
	const char *dot = memchr(t.s, '.', t.n);
	size_t rest;

	if (dot == NULL)
		return false;
	rest = t.n - (size_t)(dot + 1 - t.s);
	return rest > 0 && scan_hex(dot + 1, rest, tid) == rest;
}

static void thread_fill(struct dbglog *st, long idx, const struct tok *tv,
			size_t n)
{
	struct thread *t = thread_at(st, idx);
	struct process *p = proc_at(st, st->proc);
	uint64_t tid;

	for (size_t i = 2; i < n; i++) {
		if (tok_eq(tv[i - 1], "Cid") && cid_tid(tv[i], &tid))
			t->id = tid;
		else if (is_state_word(tv[i]) && t->state == NULL)
			thread_state(st, t, tv, n, i);
	}
	if (p != NULL) {
		p->active_threads++;
		p->has_threads = true;
		if (t->process == NULL)
			t->process = p->image;
	}
}

/* "THREAD 88865db0  Cid 05d0.5ea8  Teb: 7ffaa000 Win32Thread: 0 WAIT: ..." */
static bool on_thread(struct dbglog *st, const char *rest)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(rest, tv, MAX_TOKS);
	uint64_t addr;
	bool dup;

	if (n < 2 || !tok_is_addr(tv[1]) || !tok_hex(tv[1], &addr))
		return false;
	long idx = thread_for(st, addr, &dup);

	thread_open(st, idx, !dup);
	if (idx >= 0 && !dup)
		thread_fill(st, idx, tv, n);
	st->windows = true;
	st->kernel = true;
	return true;
}

/* "    89a65a68  SynchronizationEvent" right after a THREAD line. */
/* TV[0..N) joined by single spaces into OUT; tokens that do not fit go. */
static void join_tokens(const struct tok *tv, size_t n, char *out,
			size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (o + tv[i].n + 1 >= cap)
			break;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, tv[i].s, tv[i].n);
		o += tv[i].n;
	}
	out[o] = '\0';
}

static void thread_object(struct dbglog *st, const struct tok *tv, size_t n)
{
	struct thread *t = thread_at(st, st->thr);
	char obj[160];

	if (t == NULL)
		return;
	join_tokens(tv, n, obj, sizeof(obj));
	size_t have = t->waited_objects.n;

	/* The same thread printed twice lists its objects twice. */
	for (size_t i = 0; i < have; i++)
		if (t->waited_objects.v[i] != NULL &&
		    strcmp(t->waited_objects.v[i], obj) == 0)
			return;
	const char **slot = DF_VEC_PUSH(st->a->arena, t->waited_objects,
					MAX_WAIT_OBJECTS);

	if (slot == NULL) {
		note_full(st, ERR_OBJECTS, "wait objects of a thread", have,
			  MAX_WAIT_OBJECTS);
		return;
	}
	*slot = sdup(st, obj, strlen(obj));
}

/* Waited objects after THREAD, rows of a mex WaitBlockList. */
static bool thread_object_line(struct dbglog *st)
{
	struct tok tv[8];

	if (!st->thr_objs && !st->waitlist)
		return false;
	size_t n = tokenize(st->t, tv, 8);

	if (st->waitlist && n >= 1 && tok_eq(tv[0], "Object"))
		return true; /* the table's header */
	if (st->indent == 0 || n < 2 || !tok_is_addr(tv[0])) {
		st->thr_objs = false;
		st->waitlist = false;
		return false;
	}
	if (st->waitlist && n >= 3)
		n = 2; /* drop the "Other Waiters" count */
	thread_object(st, tv, n);
	return true;
}

static bool on_waitblocklist(struct dbglog *st, const char *rest)
{
	(void)rest;
	if (st->thr < 0)
		return false;
	st->waitlist = true;
	return true;
}

/* "Owning Process            8abbdd88       Image:         svchost.exe". */
static bool on_owning_process(struct dbglog *st, const char *rest)
{
	struct thread *t = thread_at(st, st->thr);
	const char *img = strstr(rest, "Image:");

	if (t == NULL || img == NULL)
		return false;
	img = skip_spaces(img + 6);
	if (t->process == NULL && *img != '\0')
		t->process = intern(st, img, strlen(img));
	return true;
}

/* "Wait Start TickCount  5303768  Ticks: 1132797 (0:04:54:59.953)". */
static bool on_ticks(struct dbglog *st, const char *rest)
{
	struct thread *t = thread_at(st, st->thr);
	uint64_t v;

	if (t == NULL || !dec_after(rest, "Ticks:", &v))
		return false;
	t->wait_ticks = v;
	t->has_wait_ticks = true;
	return true;
}

/* "Stack Init b8ca2000 Current b8ca1c60 Base b8ca2000 Limit b8c9f000 ..." */
static bool on_stack_init(struct dbglog *st, const char *rest)
{
	struct thread *t = thread_at(st, st->thr);
	uint64_t base, limit;

	if (t == NULL)
		return false;
	if (hex_after(rest, " Base ", &base) &&
	    hex_after(rest, " Limit ", &limit) && base > limit) {
		t->stack_start = limit;
		t->stack_size = base - limit;
	}
	return true;
}

/*
 * ~*k: "   0  Id: c10.18a0 Suspend: 1 Teb: 000007ff`fffdd000 Unfrozen",
 * "#  2  Id: ..." marks the thread of the last event (the crash).
 */
static bool on_id_line(struct dbglog *st, const char *t)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(t, tv, MAX_TOKS), i = 0;
	uint64_t num, tid;
	bool hash = false;

	if (n > 0 && (tok_eq(tv[0], ".") || tok_eq(tv[0], "#"))) {
		hash = tok_eq(tv[0], "#");
		i = 1;
	}
	if (i + 3 >= n || !tok_dec(tv[i], &num) || !tok_eq(tv[i + 1], "Id:") ||
	    !cid_tid(tv[i + 2], &tid) || !tok_eq(tv[i + 3], "Suspend:"))
		return false;
	long idx = new_thread(st);

	thread_open(st, idx, false);
	if (idx < 0)
		return true;
	st->a->threads.v[idx].id = tid;
	const char *q = strchr(t, '"'), *qe;

	if (q != NULL && (qe = strchr(q + 1, '"')) != NULL && qe > q + 1)
		st->a->threads.v[idx].name =
			sdup(st, q + 1, (size_t)(qe - q - 1));
	if (hash && st->hash_thread < 0)
		st->hash_thread = idx;
	st->user = true;
	return true;
}

/* mex !t header: "Process Thread CID UserTime ... Wait Reason Time State". */
static bool on_mex_thread_header(struct dbglog *st, const char *t)
{
	if (!starts_with(t, "Process ") || strstr(t, " Thread ") == NULL ||
	    strstr(t, "Wait Reason") == NULL)
		return false;
	st->mex_thdr = true;
	return true;
}

static const struct {
	const char *mex;
	const char *state;
} mex_states[] = {
	{ "Waiting", "WAIT" },       { "Running", "RUNNING" },
	{ "Ready", "READY" },        { "Terminated", "TERMINATED" },
	{ "Standby", "STANDBY" },    { "Transition", "TRANSITION" },
	{ "Initialized", "INITIALIZED" }, { "DeferredReady", "DEFERREDREADY" },
};

static const char *mex_state(struct tok w)
{
	for (size_t i = 0; i < ARRAY_SIZE(mex_states); i++)
		if (tok_eq(w, mex_states[i].mex))
			return mex_states[i].state;
	return NULL;
}

static void mex_thread_fill(struct dbglog *st, struct thread *t,
			    const struct tok *tv, size_t n)
{
	for (size_t i = 5; i < n; i++) {
		const char *state = mex_state(tv[i]);

		if (state == NULL)
			continue;
		t->state = intern(st, state, strlen(state));
		if (strcmp(state, "WAIT") == 0 && i >= 2)
			t->wait_reason = intern(st, tv[i - 2].s, tv[i - 2].n);
		break;
	}
	if (t->process == NULL)
		t->process = intern(st, tv[0].s, tv[0].n);
}

/*
 * "System (ffff8b034a09a040) ffff8b03515d5040 (E|K|W|R|V) 4.2018  0  0  1
 * WrResource  15ms Waiting": process, thread, CID, times, reason, state.
 */
static bool mex_thread_line(struct dbglog *st)
{
	struct tok tv[MAX_TOKS];
	size_t n = tokenize(st->t, tv, MAX_TOKS);
	uint64_t addr, tid;
	bool dup;

	st->mex_thdr = false;
	if (n < 8 || tv[1].s[0] != '(' || !tok_is_addr(tv[2]) ||
	    !tok_hex(tv[2], &addr))
		return false;
	long idx = thread_for(st, addr, &dup);

	thread_open(st, idx, false);
	st->proc = -1;
	struct thread *t = thread_at(st, idx);

	if (t == NULL || dup)
		return true;
	if (cid_tid(tv[4], &tid))
		t->id = tid;
	mex_thread_fill(st, t, tv, n);
	return true;
}

/* mex !us: "4 threads [stats]: 1 2 3 4", then "addr symbol" frames. */
static bool on_mex_us_header(struct dbglog *st, const char *t)
{
	struct tok tv[5];
	uint64_t v, addr;
	bool dup;
	size_t n = tokenize(t, tv, 5);

	if (n < 3 || !tok_dec(tv[0], &v) ||
	    !(tok_eq(tv[1], "thread") || tok_eq(tv[1], "threads")) ||
	    !starts_with(tv[2].s, "[stats]"))
		return false;
	/* "1 thread [stats]: ffff8008e4604040": a kernel thread address. */
	if (n == 4 && v == 1 && tok_is_addr(tv[3]) && tok_hex(tv[3], &addr))
		thread_open(st, thread_for(st, addr, &dup), false);
	else
		st->thr = -1;
	stack_begin(st, false);
	return true;
}

/* ------------------------------------------------------------------ */
/* !handle                                                             */
/* ------------------------------------------------------------------ */

static struct handle_type *handle_type(struct dbglog *st, const char *name,
				       size_t n)
{
	struct analysis *a = st->a;

	for (size_t i = 0; i < a->handle_types.n; i++)
		if (strlen(a->handle_types.v[i].type) == n &&
		    memcmp(a->handle_types.v[i].type, name, n) == 0)
			return &a->handle_types.v[i];
	size_t have = a->handle_types.n;
	struct handle_type *h = model_add_handle_type(a);

	if (h == NULL) {
		note_full(st, ERR_HANDLES, "handle types", have,
			  MODEL_MAX_HANDLE_TYPES);
		return NULL;
	}
	h->type = sdup(st, name, n);
	if (h->type == NULL) {
		a->handle_types.n--;
		return NULL;
	}
	return h;
}

static bool on_handle_table(struct dbglog *st, const char *rest)
{
	(void)rest;
	stack_end(st);
	st->handles = true;
	st->proc_details = false;
	return true;
}

/* "Object: 89237d88  Type: (8ad84900) Process" inside a handle listing. */
static bool on_handle_object(struct dbglog *st, const char *rest)
{
	struct tok tv[5];

	if (!st->handles || st->indent > 0 || tokenize(rest, tv, 5) != 5 ||
	    !tok_eq(tv[2], "Type:") || tv[3].s[0] != '(')
		return false;
	struct handle_type *h = handle_type(st, tv[4].s, tv[4].n);

	if (h != NULL)
		h->count++;
	return true;
}

/* User mode: "67 Handles", then "Type  Count" and "Event  18" rows. */
static bool on_handle_summary(struct dbglog *st, const char *t)
{
	struct tok tv[3];
	size_t n = tokenize(t, tv, 3);
	uint64_t v;

	if (n == 2 && tok_dec(tv[0], &v) && tok_eq(tv[1], "Handles")) {
		st->handle_sum = true;
		return true;
	}
	if (!st->handle_sum || n != 2)
		return false;
	if (tok_eq(tv[0], "Type") && tok_eq(tv[1], "Count"))
		return true;
	if (!tok_dec(tv[1], &v))
		return false;
	struct handle_type *h = handle_type(st, tv[0].s, tv[0].n);

	if (h != NULL)
		h->count = v;
	return true;
}

/* ------------------------------------------------------------------ */
/* Dispatcher objects: `dt _DISPATCHER_HEADER <addr>`, `!object`        */
/* ------------------------------------------------------------------ */

/* dt types that start with a _DISPATCHER_HEADER, and the object kind. */
static const struct {
	const char *type;   /* without "module!" */
	const char *object; /* kind of object, or NULL (only the header) */
} dt_types[] = {
	{ "_DISPATCHER_HEADER", NULL }, { "_KEVENT", "Event" },
	{ "_KMUTANT", "Mutant" },       { "_KSEMAPHORE", "Semaphore" },
	{ "_KTIMER", "Timer" },         { "_KPROCESS", "Process" },
	{ "_EPROCESS", "Process" },     { "_KTHREAD", "Thread" },
	{ "_ETHREAD", "Thread" },       { "_KQUEUE", "Queue" },
	{ "_KGATE", "Gate" },
};

/* _DISPATCHER_HEADER.Type values (KOBJECTS; the same since NT 5). */
static const char *const dispatcher_kinds[] = {
	"NotificationEvent", "SynchronizationEvent", "Mutant",
	"Process",	     "Queue",		     "Semaphore",
	"Thread",	     "Gate",		     "NotificationTimer",
	"SynchronizationTimer",
};

/* Object-manager type names (`!object`) of dispatcher objects. */
static const char *const dispatcher_types[] = {
	"Event", "Mutant", "Semaphore", "Timer",
	"Process", "Thread", "IoCompletion", "Job",
};

/* dt options followed by an argument of their own. */
static bool dt_option_with_arg(struct tok t)
{
	return tok_eq(t, "-l") || tok_eq(t, "-y") || tok_eq(t, "-n");
}

/* The object kind for a dt type token ("nt!_KEVENT"), or false. */
static bool dt_type_token(struct tok t, const char **object)
{
	const char *bang = memchr(t.s, '!', t.n);

	if (bang != NULL) {
		t.n -= (size_t)(bang + 1 - t.s);
		t.s = bang + 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dt_types); i++)
		if (tok_eq(t, dt_types[i].type)) {
			*object = dt_types[i].object;
			return true;
		}
	return false;
}

/*
 * "dt _DISPATCHER_HEADER 89237d88", "dt -r nt!_KEVENT ffffe001`2e3f4a60":
 * the fields that follow describe the object at that address.
 */
static void dt_begin(struct dbglog *st, const char *cmd)
{
	struct tok tv[8];
	size_t n = tokenize(cmd, tv, 8);
	bool typed = false, addressed = false;
	const char *object = NULL;
	uint64_t addr = 0;

	for (size_t i = 1; i < n; i++) {
		if (tv[i].s[0] == '-') {
			i += dt_option_with_arg(tv[i]);
		} else if (!typed && dt_type_token(tv[i], &object)) {
			typed = true;
		} else if (!addressed && tok_hex(tv[i], &addr) && addr != 0) {
			addressed = true;
		}
	}
	st->dt_open = typed && addressed;
	st->dt_addr = addr;
	st->dt_hint = object;
	st->dt_type_seen = st->dt_signal_seen = false;
}

/* The dispatcher at ADDR, made on first use; NULL when full. */
static struct dispatcher *dispatcher_at(struct dbglog *st, uint64_t addr)
{
	struct analysis *a = st->a;
	uint32_t idx;

	if (map_get(&st->disp_at, addr, &idx))
		return &a->dispatchers.v[idx];
	size_t have = a->dispatchers.n;
	struct dispatcher *d = model_add_dispatcher(a);

	if (d == NULL || !map_put(st, &st->disp_at, addr, (uint32_t)have)) {
		if (d != NULL)
			a->dispatchers.n--;
		note_full(st, ERR_DISPATCHERS, "dispatcher objects", have,
			  MODEL_MAX_DISPATCHERS);
		return NULL;
	}
	d->address = addr;
	d->has_address = true;
	return d;
}

static void dispatcher_kind(struct dbglog *st, struct dispatcher *d,
			    const char *kind, bool overwrite)
{
	if (kind != NULL && (d->type == NULL || overwrite))
		d->type = intern(st, kind, strlen(kind));
}

/*
 * A dt value: "1", "-1", "0n1", "0n-1", "0x3 ''" (annotations after it
 * are ignored).
 */
static bool dt_value(const char *v, int64_t *out)
{
	bool neg = false, dec = false;
	uint64_t x;
	size_t n;

	v = skip_spaces(v);
	if (v[0] == '0' && v[1] == 'n') {
		dec = true;
		v += 2;
	}
	if (*v == '-') {
		neg = true;
		v++;
	}
	if (dec)
		n = scan_dec(v, strlen(v), &x);
	else if (v[0] == '0' && v[1] == 'x')
		n = scan_hex(v, strlen(v), &x);
	else
		n = scan_dec(v, strlen(v), &x);
	if (n == 0 || x > INT64_MAX)
		return false;
	*out = neg ? -(int64_t)x : (int64_t)x;
	return true;
}

/*
 * "+0x000 Type : 0x3 ''", "+0x004 SignalState : 1" inside dt output. The
 * object's own header comes first (it is at offset 0, also in `dt -r` of
 * a _KTHREAD or _EPROCESS), so only the first Type and SignalState count.
 */
static bool on_dt_field(struct dbglog *st, const char *rest)
{
	struct tok tv[4];
	uint64_t off;
	int64_t v;

	if (!st->dt_open)
		return false;
	if (tokenize(rest + 1, tv, 4) < 4 || !tok_eq(tv[2], ":") ||
	    !tok_hex(tv[0], &off))
		return true;
	bool type = tok_eq(tv[1], "Type") && off == 0 && !st->dt_type_seen;
	bool signal = tok_eq(tv[1], "SignalState") && off == 4 &&
		      !st->dt_signal_seen;

	if ((!type && !signal) || !dt_value(tv[3].s, &v))
		return true;
	struct dispatcher *d = dispatcher_at(st, st->dt_addr);

	if (d == NULL)
		return true;
	dispatcher_kind(st, d, st->dt_hint, false);
	if (type) {
		st->dt_type_seen = true;
		if (v >= 0 && (uint64_t)v < ARRAY_SIZE(dispatcher_kinds)) {
			dispatcher_kind(st, d, dispatcher_kinds[v], true);
		} else {
			char raw[32];

			snprintf(raw, sizeof(raw), "Type 0x%" PRIx64,
				 (uint64_t)v);
			dispatcher_kind(st, d, raw, true);
		}
	} else {
		st->dt_signal_seen = true;
		d->signal_state = v;
		d->has_signal_state = true;
	}
	return true;
}

/* `!object`: "Object: a301cad8  Type: (a59a0720) Event". */
static bool on_object(struct dbglog *st, const char *rest)
{
	struct tok tv[6];
	uint64_t addr;

	if (st->handles || tokenize(rest, tv, 6) != 5 ||
	    !tok_is_addr(tv[1]) || !tok_hex(tv[1], &addr) ||
	    !tok_eq(tv[2], "Type:") || tv[3].s[0] != '(')
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(dispatcher_types); i++) {
		if (!tok_eq(tv[4], dispatcher_types[i]))
			continue;
		struct dispatcher *d = dispatcher_at(st, addr);

		if (d != NULL)
			dispatcher_kind(st, d, dispatcher_types[i], false);
		break;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* EMS / SAC bugcheck console output                                   */
/* ------------------------------------------------------------------ */

/* Text between "<TAG>" and "</" on one line. */
static const char *xml_value(const char *t, const char *tag, size_t *n)
{
	const char *p = strstr(t, tag), *e;

	if (p == NULL)
		return NULL;
	p += strlen(tag);
	e = strstr(p, "</");
	if (e == NULL)
		return NULL;
	*n = (size_t)(e - p);
	return p;
}

static bool on_sac_xml(struct dbglog *st, const char *rest)
{
	size_t n;
	const char *v;
	uint64_t x;

	if (strstr(rest, "NAME=\"STOPCODE\"") != NULL &&
	    (v = xml_value(rest, "<VALUE>", &n)) != NULL) {
		if (*v == '"')
			v++;
		if (scan_hex(v, strlen(v), &x) > 0) {
			bc_code(st, BC_OTHER, x);
			st->sac = true;
			st->kernel = true;
		}
	} else if ((v = xml_value(rest, "<processor-architecture>", &n)) !=
		   NULL) {
		const char *arch = arch_word(v, n);

		if (arch != NULL)
			set_arch(st, arch);
	} else if ((v = xml_value(rest, "<os-build-number>", &n)) != NULL &&
		   scan_dec(v, n, &x) == n) {
		set_build(st, x);
	} else {
		return false;
	}
	return true;
}

static bool on_sac_info(struct dbglog *st, const char *rest)
{
	(void)rest;
	if (!st->sac)
		return false;
	st->sac_name_next = true;
	return true;
}

/* The stop-code name and the "0x..." parameter lines of a SAC screen. */
static bool on_sac_arg(struct dbglog *st, const char *t)
{
	uint64_t v;

	if (!st->sac)
		return false;
	if (st->sac_name_next) {
		st->sac_name_next = false;
		for (size_t i = 0; i < st->tlen; i++)
			if (!is_upper(t[i]) && !is_digit(t[i]) && t[i] != '_')
				return false;
		bc_name(st, BC_OTHER, t, st->tlen);
		return true;
	}
	if (st->sac_nargs >= 4 || !starts_with(t, "0x") ||
	    scan_hex(t, st->tlen, &v) != st->tlen)
		return false;
	bc_arg(st, BC_OTHER, st->sac_nargs++, v);
	return true;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

struct prefix_handler {
	const char *prefix; /* matched at the start of the trimmed line */
	line_fn fn;         /* returns true when it took the line */
};

static const struct prefix_handler prefix_handlers[] = {
	{ "BugCheck ", on_bugcheck_line },
	{ "Probably caused by", on_probably },
	{ "Arguments:", on_arguments },
	{ "Arguments ", on_crash_arguments },
	{ "Arg", on_arg },
	{ "Built by:", on_buildlab },
	{ "Edition build lab:", on_buildlab },
	{ "Kernel base = ", on_kernel_base },
	{ "Debug session time:", on_session_time },
	{ "System Uptime:", on_uptime },
	{ "Product:", on_product },
	{ "Windows ", on_windows },
	{ "Connected to Windows ", on_connected },
	{ "Machine ID Information", on_sysinfo },
	{ "BiosVendor =", on_smbios },
	{ "SystemManufacturer =", on_smbios },
	{ "SystemProductName =", on_smbios },
	{ "Unloaded modules:", on_unloaded },
	{ "PROCESS ", on_process },
	{ "THREAD ", on_thread },
	{ "*** Virtual Memory Usage ***", on_vm },
	{ "ExceptionCode:", on_exception_code },
	{ "ExceptionAddress:", on_exception_address },
	{ "Attempt to ", on_attempt },
	{ "*** Fatal System Error:", on_fatal },
	{ "Bugcheck: ", on_mex_bugcheck },
	{ "Bugcheck code ", on_crash_bugcheck },
	{ "Followup:", on_followup },
	{ "Owning Process", on_owning_process },
	{ "Wait Start TickCount", on_ticks },
	{ "Stack Init ", on_stack_init },
	{ "No active threads", on_no_threads },
	{ "WaitBlockList:", on_waitblocklist },
	{ "Handle table at ", on_handle_table },
	{ "Object: ", on_handle_object },
	{ "Object: ", on_object },
	{ "+0x", on_dt_field },
	{ "Processor: ", on_processor },
	{ "Key ", on_kv_key },
	{ "Value:", on_kv_value },
	{ "Critical error detected ", on_critical },
	{ "If you call a support person", on_sac_info },
	{ "<", on_sac_xml },
};

static bool on_stack_header(struct dbglog *st, const char *t)
{
	bool noaddr;

	if (!is_stack_header(t, &noaddr))
		return false;
	if (st->blk != BLK_STACK || st->stk >= 0 || st->stk_skip)
		stack_begin(st, noaddr);
	st->stk_noaddr = noaddr;
	st->windows = true;
	return true;
}

/* Line shapes that no fixed prefix identifies, tried in this order. */
static const line_fn pattern_handlers[] = {
	on_stack_header,   on_analyze_banner,     on_key_line,
	on_title,          on_exception_event,    on_id_line,
	on_mex_thread_header, on_mex_us_header,   on_lm_header,
	on_mex_mods_header, on_handle_summary,    on_sac_arg,
	on_dump_kind,
};

/* Lines that end a stack listing and belong to someone else. */
static bool stack_terminator(struct dbglog *st)
{
	const char *t = st->t;
	bool noaddr;

	return is_stack_header(t, &noaddr) || key_len(st, t) > 0 ||
	       starts_with(t, "THREAD ") || starts_with(t, "PROCESS ") ||
	       starts_with(t, "Followup:") || is_lm_header(t) ||
	       (t[0] == '*' && strstr(t, " Analysis") != NULL) ||
	       (starts_with(t, "Process ") &&
		strstr(t, "Wait Reason") != NULL) ||
	       strstr(t, " Id: ") != NULL || strstr(t, "[stats]:") != NULL;
}

static bool blk_stack(struct dbglog *st)
{
	struct pframe pf;

	if (st->tlen == 0) {
		stack_end(st);
		return true;
	}
	if (frame_split(st->t, &pf, st->stk_noaddr)) {
		stack_add(st, &pf);
		return true;
	}
	if (stack_terminator(st)) {
		stack_end(st);
		return false;
	}
	/* Warnings, "..." elisions, "--- ---" separators: skip. */
	return true;
}

/* The open block sees the line first; false lets others have it. */
static bool in_block(struct dbglog *st)
{
	switch (st->blk) {
	case BLK_STACK:
		return blk_stack(st);
	case BLK_LM:
		return blk_lm(st);
	case BLK_MEXMODS:
		return blk_mexmods(st);
	case BLK_SYSINFO:
		return blk_sysinfo(st);
	case BLK_VM:
		return blk_vm(st);
	case BLK_NONE:
		break;
	}
	return false;
}

/* A key waiting for its value gets none when its block ends. */
static void flush_pending(struct dbglog *st)
{
	if (st->pend_key[0] != '\0')
		field_add(st, st->pend_key, "");
	st->pend_key[0] = '\0';
	st->addr_key[0] = '\0';
	st->kv_key[0] = '\0';
}

/* Blank lines end sub-blocks that are printed without gaps. */
static void on_blank(struct dbglog *st)
{
	st->dt_open = false;
	st->thr_objs = false;
	st->waitlist = false;
	st->proc_details = false;
	st->handle_sum = false;
}

/* "!analyze -show c2 ...": documentation of a code, not this dump. */
static bool analyze_show_args(const char *cmd)
{
	struct tok tv[3];

	return tokenize(cmd, tv, 3) == 3 && tok_eq(tv[1], "-show");
}

static void end_all(struct dbglog *st)
{
	stack_end(st);
	flush_pending(st);
	st->blk = BLK_NONE;
	st->thr = -1;
	st->proc = -1;
	st->mod = -1;
	on_blank(st);
	st->vm_rows = false;
	st->handles = false;
	st->dt_open = false;
	st->mex_thdr = false;
	st->in_analyze = false;
	st->title_seen = false;
	st->show_only = false;
	st->fatal_args = false;
	st->crash_args = false;
}

/* A prompt ends everything open; some commands open a block. */
static void on_prompt(struct dbglog *st, const char *cmd, bool kernel)
{
	end_all(st);
	st->windows = true;
	if (kernel)
		st->kernel = true;
	else
		st->user = true;
	cmd = skip_spaces(cmd);
	if (is_stack_cmd(cmd)) {
		const char *k = strpbrk(cmd, "kK");

		stack_begin(st, k != NULL && k[1] == 'c');
	} else if (starts_with(cmd, "!analyze")) {
		st->show_only = analyze_show_args(cmd);
	} else if (starts_with(cmd, "!vm")) {
		st->blk = BLK_VM;
	} else if (starts_with(cmd, "dt ")) {
		dt_begin(st, cmd);
	}
}

static bool by_prefix(struct dbglog *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(prefix_handlers); i++) {
		const struct prefix_handler *h = &prefix_handlers[i];

		if (starts_with(st->t, h->prefix) && h->fn(st, st->t))
			return true;
	}
	return false;
}

static bool by_pattern(struct dbglog *st)
{
	for (size_t i = 0; i < ARRAY_SIZE(pattern_handlers); i++)
		if (pattern_handlers[i](st, st->t))
			return true;
	return false;
}

/* Sub-blocks that own their lines before the open block does. */
static bool owned_line(struct dbglog *st)
{
	if (fatal_args_line(st) || thread_object_line(st) ||
	    proc_detail_line(st))
		return true;
	if (st->mex_thdr) {
		st->mex_thdr = false;
		if (st->tlen > 0 && mex_thread_line(st))
			return true;
	}
	return false;
}

static void handle_line(struct dbglog *st)
{
	bool kernel = false;
	long cmd = prompt_cmd(st->buf, st->len, &kernel);

	if (cmd >= 0) {
		on_prompt(st, st->buf + cmd, kernel);
		return;
	}
	pending_value(st);
	pending_address(st);
	if (owned_line(st) || in_block(st))
		return;
	if (st->tlen == 0) {
		on_blank(st);
		return;
	}
	if (!by_prefix(st))
		by_pattern(st);
}

/* ------------------------------------------------------------------ */
/* Resolution after the last line                                      */
/* ------------------------------------------------------------------ */

static const enum bc_src bc_order[] = {
	BC_FIELD, BC_LINE, BC_TITLE, BC_STR, BC_OTHER,
};

/* Bugchecks whose Arg1 is an exception code and Arg2 its address. */
static bool exception_bugcheck(uint32_t code)
{
	static const uint32_t codes[] = {
		0x1E, 0x3B, 0x7E, 0x8E, 0x1000001E, 0x1000007E, 0x1000008E,
	};

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (codes[i] == code)
			return true;
	return false;
}

static void finish_bugcheck(struct dbglog *st)
{
	struct bugcheck *b = &st->a->bugcheck;
	const struct bc_cand *best = NULL;

	for (size_t s = 0; s < ARRAY_SIZE(bc_order) && best == NULL; s++)
		if (st->bc[bc_order[s]].has_code)
			best = &st->bc[bc_order[s]];
	if (best == NULL)
		return;
	b->present = true;
	b->code = best->code;
	for (int i = 0; i < 4; i++) {
		for (size_t s = 0; s < ARRAY_SIZE(bc_order); s++) {
			const struct bc_cand *c = &st->bc[bc_order[s]];

			if (c->has_arg[i] &&
			    (!c->has_code || c->code == b->code)) {
				b->args[i] = c->args[i];
				break;
			}
		}
	}
	for (size_t s = 0; s < ARRAY_SIZE(bc_order) && b->name == NULL; s++) {
		const struct bc_cand *c = &st->bc[bc_order[s]];

		if (c->name != NULL && c->has_code && c->code == b->code)
			b->name = c->name;
	}
	b->str = model_field(st->a, "BUGCHECK_STR");
	if (b->str == NULL)
		b->str = model_field(st->a, "DEFAULT_BUCKET_ID");
}

/*
 * Bugchecks whose arguments name the faulting access (formats.md 2.16):
 * 0xA/0xD1 (address, IRQL, access, IP), 0x50 (address, access, IP).
 */
static void crash_from_args(struct crash *c, const struct bugcheck *b)
{
	uint64_t ip = 0;

	if (b->code == 0xA || b->code == 0x1000000A || b->code == 0xD1)
		ip = b->args[3];
	else if (b->code == 0x50 || b->code == 0x10000050)
		ip = b->args[2];
	else
		return;
	if (!c->has_address) {
		c->address = b->args[0];
		c->has_address = true;
	}
	if (!c->has_ip && ip != 0) {
		c->ip = ip;
		c->has_ip = true;
	}
}

static void finish_crash(struct dbglog *st)
{
	struct crash *c = &st->a->crash;
	const struct bugcheck *b = &st->a->bugcheck;
	bool exc = b->present && exception_bugcheck(b->code);
	uint32_t code;

	if (st->code.has) {
		c->code = (uint32_t)st->code.v;
		c->has_code = true;
	} else if (!b->present && st->ev_code.has) {
		/* In a kernel session these are the debugger breaking in. */
		c->code = (uint32_t)st->ev_code.v;
		c->has_code = true;
	} else if (exc && status32(b->args[0], &code)) {
		c->code = code;
		c->has_code = true;
	}
	if (st->ip.has) {
		c->ip = st->ip.v;
		c->has_ip = true;
	} else if (exc) {
		c->ip = b->args[1];
		c->has_ip = true;
	}
	if (st->addr.has) {
		c->address = st->addr.v;
		c->has_address = true;
	}
	if (b->present)
		crash_from_args(c, b);
	c->present = c->has_code || c->has_ip || c->has_address;
}

static bool calls_bugcheck(const struct thread *t)
{
	for (size_t i = 0; i < t->frames.n; i++) {
		const char *f = t->frames.v[i].function;

		if (f != NULL && starts_with(f, "KeBugCheck"))
			return true;
	}
	return false;
}

/* A thread the debugger shows waiting or queued did not crash. */
static bool may_be_running(const struct thread *t)
{
	return t->state == NULL || strcmp(t->state, "RUNNING") == 0;
}

/* The first thread from FROM with frames that satisfies OK, or -1. */
static long first_thread(const struct analysis *a, size_t from,
			 bool (*ok)(const struct thread *))
{
	for (size_t i = from; i < a->threads.n; i++)
		if (a->threads.v[i].frames.n > 0 && ok(&a->threads.v[i]))
			return (long)i;
	return -1;
}

static bool any_thread(const struct thread *t)
{
	(void)t;
	return true;
}

/* The one thread with frames, unless it is shown waiting; else -1. */
static long only_thread(const struct analysis *a)
{
	long first = first_thread(a, 0, any_thread);

	if (first < 0 || first_thread(a, (size_t)first + 1, any_thread) >= 0)
		return -1; /* several stacks and nothing to choose by */
	return may_be_running(&a->threads.v[first]) ? first : -1;
}

/*
 * The crashing thread: STACK_TEXT of !analyze, else the event thread of
 * ~*k, else the thread that called KeBugCheckEx, else the first running
 * stack listed after the bugcheck or exception was stated, else the only
 * stack of the log.
 */
static void finish_thread(struct dbglog *st)
{
	const struct analysis *a = st->a;
	long ct = st->stack_text;

	if (ct < 0)
		ct = st->hash_thread;
	if (ct < 0)
		ct = first_thread(a, 0, calls_bugcheck);
	if (ct < 0 && st->event_seen)
		ct = first_thread(a, st->event_threads, may_be_running);
	if (ct < 0)
		ct = only_thread(a);
	st->a->crash.crashing_thread = ct;
}

static void finish_detail(struct dbglog *st)
{
	struct analysis *a = st->a;
	const char *kind = st->sac      ? "EMS/SAC bugcheck screen" :
			   st->kernel   ? "kernel" :
			   st->user     ? "user-mode" :
					  NULL;

	if (st->sac)
		a->format_detail = arena_strdup(a->arena, kind);
	else if (st->analyze_seen)
		a->format_detail = kind != NULL ?
			arena_printf(a->arena, "!analyze -v (%s)", kind) :
			arena_strdup(a->arena, "!analyze -v");
	else
		a->format_detail = kind != NULL ?
			arena_printf(a->arena, "%s debugger log", kind) :
			arena_strdup(a->arena, "debugger log");
	if (st->windows && a->system.os == NULL)
		a->system.os = arena_strdup(a->arena, "Windows NT");
}

static void finish(struct dbglog *st)
{
	end_all(st);
	finish_bugcheck(st);
	finish_crash(st);
	finish_thread(st);
	finish_detail(st);
}

/* ------------------------------------------------------------------ */
/* Probe and entry points                                              */
/* ------------------------------------------------------------------ */

static const char *const markers[] = {
	"BugCheck ",        "Bugcheck Analysis", "Exception Analysis",
	"!analyze",         "STACK_TEXT:",       "Child-SP",
	"ChildEBP",         "Loading Dump File", "BUGCHECK_CODE",
	"MODULE_NAME:",     "FAILURE_BUCKET_ID", "Machine ID Information",
	"Virtual Memory Usage", "kd> ",          ":000> ",
	"Fatal System Error", "CLASSNAME=\"BLUESCREEN\"", "Kernel base = ",
};

static bool is_utf16le(const uint8_t *d, size_t n)
{
	return n >= 2 && d[0] == 0xFF && d[1] == 0xFE;
}

/* ASCII marker M in UTF-16LE text D[0..N). */
static bool find16(const uint8_t *d, size_t n, const char *m)
{
	size_t ml = strlen(m);

	for (size_t i = 0; i + 2 * ml <= n; i += 2) {
		size_t k = 0;

		while (k < ml && d[i + 2 * k] == (uint8_t)m[k] &&
		       d[i + 2 * k + 1] == 0)
			k++;
		if (k == ml)
			return true;
	}
	return false;
}

static bool probe_prompts(const uint8_t *d, size_t n)
{
	size_t pos = 0;

	while (pos < n) {
		const uint8_t *nl = memchr(d + pos, '\n', n - pos);
		size_t end = nl != NULL ? (size_t)(nl - d) : n;
		size_t ln = end - pos < PROBE_PROMPT_LINE ? end - pos :
							    PROBE_PROMPT_LINE;
		bool kernel;

		if (prompt_cmd((const char *)d + pos, ln, &kernel) >= 0)
			return true;
		pos = end + 1;
	}
	return false;
}

bool dbglog_probe(const uint8_t *data, size_t len)
{
	if (data == NULL || len == 0)
		return false;
	size_t win = len < PROBE_WINDOW ? len : PROBE_WINDOW;

	if (is_utf16le(data, len)) {
		for (size_t i = 0; i < ARRAY_SIZE(markers); i++)
			if (find16(data + 2, win - 2, markers[i]))
				return true;
		return false;
	}
	size_t head = len < PROBE_BINARY_CHECK ? len : PROBE_BINARY_CHECK;

	if (memchr(data, 0, head) != NULL)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(markers); i++)
		if (memmem(data, win, markers[i], strlen(markers[i])) != NULL)
			return true;
	return probe_prompts(data, win);
}

/* UTF-16LE (".logopen /u") to UTF-8 in the arena. */
static int utf16_decode(struct analysis *a, const uint8_t *d, size_t n,
			const uint8_t **out, size_t *outn)
{
	size_t units = n / 2, k = 0;
	uint8_t *o = arena_alloc(a->arena, units * 3 + 1);

	if (o == NULL)
		return model_add_error(a, DF_ENOMEM, false, 0,
				       "debugger log: no memory to decode "
				       "UTF-16 text");
	for (size_t i = 0; i < units; i++) {
		unsigned c = (unsigned)d[2 * i] | (unsigned)d[2 * i + 1] << 8;

		if (c < 0x80) {
			o[k++] = (uint8_t)c;
		} else if (c < 0x800) {
			o[k++] = (uint8_t)(0xC0 | c >> 6);
			o[k++] = (uint8_t)(0x80 | (c & 0x3F));
		} else if (c >= 0xD800 && c <= 0xDFFF) {
			o[k++] = '?'; /* astral planes: nothing we parse */
		} else {
			o[k++] = (uint8_t)(0xE0 | c >> 12);
			o[k++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
			o[k++] = (uint8_t)(0x80 | (c & 0x3F));
		}
	}
	*out = o;
	*outn = k;
	return DF_OK;
}

static void read_lines(struct dbglog *st, const uint8_t *data, size_t len)
{
	size_t pos = 0;

	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* UTF-8 byte order mark */
	while (pos < len) {
		const uint8_t *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		size_t n = end - pos;

		/* The rest of a longer line is dropped. */
		if (n > DBGLOG_MAX_LINE)
			n = DBGLOG_MAX_LINE;
		st->off = pos;
		st->len = normalise(data + pos, n, st->buf, sizeof(st->buf));
		st->t = skip_spaces(st->buf);
		st->indent = (size_t)(st->t - st->buf);
		st->tlen = st->len - st->indent;
		handle_line(st);
		pos = end + 1;
	}
}

static struct dbglog *state_new(struct analysis *a)
{
	struct dbglog *st = arena_alloc(a->arena, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->a = a;
	st->stk = st->thr = st->proc = st->mod = -1;
	st->stack_text = st->hash_thread = -1;
	return st;
}

int dbglog_read(struct analysis *a, const uint8_t *data, size_t len)
{
	if (data == NULL)
		len = 0;
	a->format = FORMAT_DEBUGGER_LOG;
	if (len > DBGLOG_MAX_SIZE) {
		model_add_error(a, DF_ELIMIT, true, DBGLOG_MAX_SIZE,
				"debugger log larger than %zu bytes; only the "
				"start is read",
				DBGLOG_MAX_SIZE);
		len = DBGLOG_MAX_SIZE;
	}
	if (is_utf16le(data, len)) {
		int rc = utf16_decode(a, data + 2, len - 2, &data, &len);

		if (rc != DF_OK)
			return rc;
	} else if (len > 0 &&
		   memchr(data, 0, len < PROBE_BINARY_CHECK ?
					   len :
					   PROBE_BINARY_CHECK) != NULL) {
		return model_add_error(a, DF_EFORMAT, true, 0,
				       "not a debugger log: binary data "
				       "(NUL bytes) at the start");
	}
	a->text = (const char *)data;
	a->text_len = len;
	struct dbglog *st = state_new(a);

	if (st == NULL)
		return model_add_error(a, DF_ENOMEM, false, 0,
				       "debugger log: no memory for the "
				       "parser state");
	read_lines(st, data, len);
	finish(st);
	return DF_OK;
}
