#include "bugcheck.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"

/* worker/data/bugchecks.tsv, embedded by the build (scripts/embed.cmake). */
extern const unsigned char bugcheck_data[];
extern const unsigned long bugcheck_data_len;
/* worker/data/bugcheck-args.tsv, likewise. */
extern const unsigned char bugcheck_args_data[];
extern const unsigned long bugcheck_args_data_len;

#define MAX_FIELDS 4

struct bc_entry {
	uint32_t code;
	uint32_t baseline;    /* web matches in 2008, 0 when none */
	const char *name;
	const char *category; /* NULL when the file says "-" or nothing */
	size_t line;          /* position in the file: first one wins */
};

/* One row of bugcheck-args.tsv. */
struct bc_arg {
	uint32_t code;   /* base code (bugcheck_base_code) */
	int argno;       /* 1..4 */
	bool any;        /* the '*' row: any value */
	uint64_t value;  /* when !any */
	const char *meaning;
	size_t line;
};

/* A table's rows, in a writable NUL-separated copy of its data. */
struct rows {
	char *text;
	char **line;
	size_t n;
};

/*
 * The one piece of file-scope state: built once by pthread_once() from the
 * embedded data, never changed afterwards, so worker threads may read it
 * concurrently. When memory runs out while building, a table stays empty
 * and every lookup in it answers "unknown".
 */
struct bc_table {
	struct bc_entry *by_code;        /* sorted by code, no duplicates */
	const struct bc_entry **by_name; /* the same entries sorted by name */
	size_t n;
	struct bc_arg *args;             /* sorted by code, argno, any, value */
	size_t n_args;
	char *text;      /* the strings of by_code point into it */
	char *args_text; /* the strings of args point into it */
};

static struct bc_table table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static int cmp_code(const void *pa, const void *pb)
{
	const struct bc_entry *a = pa, *b = pb;

	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int cmp_name(const void *pa, const void *pb)
{
	const struct bc_entry *const *a = pa, *const *b = pb;

	return strcmp((*a)->name, (*b)->name);
}

/* Order of the parameter rows: exact values before the '*' row. */
static int cmp_arg_key(const struct bc_arg *a, const struct bc_arg *b)
{
	if (a->code != b->code)
		return a->code < b->code ? -1 : 1;
	if (a->argno != b->argno)
		return a->argno < b->argno ? -1 : 1;
	if (a->any != b->any)
		return a->any ? 1 : -1;
	if (!a->any && a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

static int cmp_arg(const void *pa, const void *pb)
{
	const struct bc_arg *a = pa, *b = pb;
	int c = cmp_arg_key(a, b);

	if (c != 0)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Parse "0x1A" (or "1A") into *V. False when it is not hex up to MAX. */
static bool parse_hex(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 16);

	if (errno != 0 || *end != '\0' || x > max)
		return false;
	*v = x;
	return true;
}

static bool parse_code(const char *s, uint32_t *code)
{
	uint64_t v;

	if (!parse_hex(s, UINT32_MAX, &v))
		return false;
	*code = (uint32_t)v;
	return true;
}

/* A decimal count; false when S is not one. */
static bool parse_count(const char *s, uint32_t *n)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);

	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return false;
	*n = (uint32_t)v;
	return true;
}

/*
 * Split LINE (NUL-terminated, writable) at tabs into at most MAX_FIELDS
 * fields; the last one keeps any further tabs. Returns the count; 0 for
 * comments and blank lines.
 */
static size_t split(char *line, char *f[MAX_FIELDS])
{
	size_t nf = 0;
	char *p = line;

	if (*line == '#' || *line == '\0')
		return 0;
	while (nf < MAX_FIELDS) {
		f[nf++] = p;
		if (nf == MAX_FIELDS)
			break;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	return nf;
}

/* Code, name and category, then the optional 2008 baseline. */
static bool parse_entry(char *line, struct bc_entry *e)
{
	char *f[MAX_FIELDS];
	size_t nf = split(line, f);

	if (nf < 2 || *f[1] == '\0' || !parse_code(f[0], &e->code))
		return false;
	e->name = f[1];
	e->category = NULL;
	e->baseline = 0;
	if (nf >= 3 && *f[2] != '\0' && strcmp(f[2], "-") != 0)
		e->category = f[2];
	if (nf == 4 && *f[3] != '\0' && !parse_count(f[3], &e->baseline))
		e->baseline = 0;
	return true;
}

/* Code, parameter number, value or '*', meaning. */
static bool parse_arg(char *line, struct bc_arg *r)
{
	char *f[MAX_FIELDS];
	uint64_t argno;

	if (split(line, f) != MAX_FIELDS || *f[3] == '\0' ||
	    !parse_code(f[0], &r->code) || !parse_hex(f[1], 4, &argno) ||
	    argno < 1)
		return false;
	r->code = bugcheck_base_code(r->code);
	r->argno = (int)argno;
	r->meaning = f[3];
	r->any = strcmp(f[2], "*") == 0;
	r->value = 0;
	return r->any || parse_hex(f[2], UINT64_MAX, &r->value);
}

/*
 * Copy LEN bytes of DATA and cut the copy into NUL-terminated lines
 * (without "\r"). False on ENOMEM; ROWS is then empty.
 */
static bool rows_split(const unsigned char *data, size_t len,
		       struct rows *rows)
{
	size_t lines = 1, n = 0;

	rows->text = malloc(len + 1);
	rows->line = NULL;
	rows->n = 0;
	if (rows->text == NULL)
		return false;
	memcpy(rows->text, data, len);
	rows->text[len] = '\0';
	for (size_t i = 0; i < len; i++)
		lines += rows->text[i] == '\n';
	rows->line = calloc(lines, sizeof(*rows->line));
	if (rows->line == NULL) {
		free(rows->text);
		rows->text = NULL;
		return false;
	}
	for (char *line = rows->text; line != NULL && n < lines; n++) {
		char *nl = strchr(line, '\n');
		size_t ll;

		if (nl != NULL)
			*nl = '\0';
		ll = strlen(line);
		if (ll > 0 && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		rows->line[n] = line;
		line = nl != NULL ? nl + 1 : NULL;
	}
	rows->n = n;
	return true;
}

static void load_codes(void)
{
	struct rows r;
	struct bc_entry *v;
	const struct bc_entry **names;
	size_t n = 0, w = 0;

	if (!rows_split(bugcheck_data, (size_t)bugcheck_data_len, &r))
		return;
	v = calloc(r.n + 1, sizeof(*v));
	names = calloc(r.n + 1, sizeof(*names));
	if (v == NULL || names == NULL) {
		free(v);
		free(names);
		free(r.line);
		free(r.text);
		return;
	}
	for (size_t no = 0; no < r.n; no++) {
		v[n].line = no;
		if (parse_entry(r.line[no], &v[n]))
			n++;
	}
	free(r.line);
	qsort(v, n, sizeof(*v), cmp_code);
	/* Drop later duplicates of a code: the first line in the file wins. */
	for (size_t i = 0; i < n; i++)
		if (w == 0 || v[w - 1].code != v[i].code)
			v[w++] = v[i];
	for (size_t i = 0; i < w; i++)
		names[i] = &v[i];
	qsort(names, w, sizeof(*names), cmp_name);
	table.by_code = v;
	table.by_name = names;
	table.n = w;
	table.text = r.text;
}

static void load_args(void)
{
	struct rows r;
	struct bc_arg *v;
	size_t n = 0, w = 0;

	if (!rows_split(bugcheck_args_data, (size_t)bugcheck_args_data_len,
			&r))
		return;
	v = calloc(r.n + 1, sizeof(*v));
	if (v == NULL) {
		free(r.line);
		free(r.text);
		return;
	}
	for (size_t no = 0; no < r.n; no++) {
		v[n].line = no;
		if (parse_arg(r.line[no], &v[n]))
			n++;
	}
	free(r.line);
	qsort(v, n, sizeof(*v), cmp_arg);
	/* The first row for a key wins, as for codes. */
	for (size_t i = 0; i < n; i++)
		if (w == 0 || cmp_arg_key(&v[w - 1], &v[i]) != 0)
			v[w++] = v[i];
	table.args = v;
	table.n_args = w;
	table.args_text = r.text;
}

static void table_load(void)
{
	load_codes();
	load_args();
}

static const struct bc_table *table_get(void)
{
	pthread_once(&table_once, table_load);
	return &table;
}

static const struct bc_entry *find_code(uint32_t code)
{
	const struct bc_table *t = table_get();
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->by_code[mid].code == code)
			return &t->by_code[mid];
		if (t->by_code[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *bugcheck_name(uint32_t code)
{
	const struct bc_entry *e = find_code(code);

	return e != NULL ? e->name : NULL;
}

const char *bugcheck_category(uint32_t code)
{
	const struct bc_entry *e = find_code(code);

	return e != NULL ? e->category : NULL;
}

uint32_t bugcheck_code(const char *name)
{
	const struct bc_table *t = table_get();
	struct bc_entry key = { .name = name };
	const struct bc_entry *kp = &key;
	const struct bc_entry **hit;

	if (name == NULL || t->n == 0)
		return 0;
	hit = bsearch(&kp, t->by_name, t->n, sizeof(*t->by_name), cmp_name);
	return hit != NULL ? (*hit)->code : 0;
}

size_t bugcheck_count(void)
{
	return table_get()->n;
}

uint32_t bugcheck_base_code(uint32_t code)
{
	if ((code & 0xF0000000u) == 0x10000000u)
		return code & ~0x10000000u;
	return code;
}

const char *bugcheck_display_name(uint32_t code)
{
	const char *n = bugcheck_name(code);

	if (n == NULL && bugcheck_base_code(code) != code)
		n = bugcheck_name(bugcheck_base_code(code));
	return n != NULL ? n : "unknown bugcheck";
}

uint32_t bugcheck_baseline_2008(uint32_t code)
{
	const struct bc_entry *e = find_code(code);

	return e != NULL ? e->baseline : 0;
}

/* The row for CODE, ARGNO and VALUE, or for any value when ANY. */
static const struct bc_arg *find_arg(uint32_t code, int argno, bool any,
				     uint64_t value)
{
	const struct bc_table *t = table_get();
	const struct bc_arg key = {
		.code = code, .argno = argno, .any = any, .value = value
	};
	size_t lo = 0, hi = t->n_args;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_arg_key(&t->args[mid], &key);

		if (c == 0)
			return &t->args[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* True when V is a negative 32-bit value sign-extended to 64 bits. */
static bool sign_extended(uint64_t v)
{
	return (v >> 31) == 0x1FFFFFFFFull;
}

const char *bugcheck_arg_value_meaning(uint32_t code, int argno,
				       uint64_t value)
{
	const struct bc_arg *r;

	if (argno < 1 || argno > 4)
		return NULL;
	code = bugcheck_base_code(code);
	r = find_arg(code, argno, false, value);
	if (r == NULL && sign_extended(value))
		r = find_arg(code, argno, false, value & 0xFFFFFFFFu);
	return r != NULL ? r->meaning : NULL;
}

const char *bugcheck_arg_meaning(uint32_t code, int argno, uint64_t value)
{
	const char *m = bugcheck_arg_value_meaning(code, argno, value);
	const struct bc_arg *r;

	if (m != NULL || argno < 1 || argno > 4)
		return m;
	r = find_arg(bugcheck_base_code(code), argno, true, 0); /* '*' row */
	return r != NULL ? r->meaning : NULL;
}

size_t bugcheck_arg_count(void)
{
	return table_get()->n_args;
}

/*
 * Exception codes with the crash-reason string Breakpad's processor gives
 * them (google/breakpad: src/processor/minidump_processor.cc); codes it
 * prints as numbers are left out on purpose. Sorted by code.
 */
static const struct {
	uint32_t code;
	const char *name;
} exceptions[] = {
	{ 0x0517A7ED, "Simulated Exception" }, /* Crashpad DumpWithoutCrash */
	{ 0x40010005, "DBG_CONTROL_C" },
	{ 0x80000001, "EXCEPTION_GUARD_PAGE" },
	{ 0x80000002, "EXCEPTION_DATATYPE_MISALIGNMENT" },
	{ 0x80000003, "EXCEPTION_BREAKPOINT" },
	{ 0x80000004, "EXCEPTION_SINGLE_STEP" },
	{ 0xC0000005, "EXCEPTION_ACCESS_VIOLATION" },
	{ 0xC0000006, "EXCEPTION_IN_PAGE_ERROR" },
	{ 0xC0000008, "EXCEPTION_INVALID_HANDLE" },
	{ 0xC000001D, "EXCEPTION_ILLEGAL_INSTRUCTION" },
	{ 0xC0000025, "EXCEPTION_NONCONTINUABLE_EXCEPTION" },
	{ 0xC0000026, "EXCEPTION_INVALID_DISPOSITION" },
	{ 0xC000008C, "EXCEPTION_BOUNDS_EXCEEDED" },
	{ 0xC000008D, "EXCEPTION_FLT_DENORMAL_OPERAND" },
	{ 0xC000008E, "EXCEPTION_FLT_DIVIDE_BY_ZERO" },
	{ 0xC000008F, "EXCEPTION_FLT_INEXACT_RESULT" },
	{ 0xC0000090, "EXCEPTION_FLT_INVALID_OPERATION" },
	{ 0xC0000091, "EXCEPTION_FLT_OVERFLOW" },
	{ 0xC0000092, "EXCEPTION_FLT_STACK_CHECK" },
	{ 0xC0000093, "EXCEPTION_FLT_UNDERFLOW" },
	{ 0xC0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO" },
	{ 0xC0000095, "EXCEPTION_INT_OVERFLOW" },
	{ 0xC0000096, "EXCEPTION_PRIV_INSTRUCTION" },
	{ 0xC00000FD, "EXCEPTION_STACK_OVERFLOW" },
	{ 0xC00000FF, "EXCEPTION_BAD_FUNCTION_TABLE" },
	{ 0xC0000194, "EXCEPTION_POSSIBLE_DEADLOCK" },
	{ 0xC0000374, "EXCEPTION_HEAP_CORRUPTION" },
	{ 0xC0000409, "EXCEPTION_STACK_BUFFER_OVERRUN" },
	{ 0xE0000008, "Out of Memory" },      /* Chromium allocators */
	{ 0xE06D7363, "Unhandled C++ Exception" }, /* MSVC throw ("msc") */
};

const char *exception_name(uint32_t code)
{
	size_t lo = 0, hi = ARRAY_SIZE(exceptions);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (exceptions[mid].code == code)
			return exceptions[mid].name;
		if (exceptions[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
