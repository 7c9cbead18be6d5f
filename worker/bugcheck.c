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

struct bc_entry {
	uint32_t code;
	const char *name;
	const char *category; /* NULL when the file says "-" or nothing */
	size_t line;          /* position in the file: first one wins */
};

/*
 * The one piece of file-scope state: built once by pthread_once() from the
 * embedded data, never changed afterwards, so worker threads may read it
 * concurrently. When memory runs out while building, it stays empty and
 * every lookup answers "unknown".
 */
struct bc_table {
	struct bc_entry *by_code;        /* sorted by code, no duplicates */
	const struct bc_entry **by_name; /* the same entries sorted by name */
	size_t n;
	char *text; /* NUL-separated copy of the data the strings point to */
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

/* Parse "0x1A" (or "1A") into *CODE. False when it is not a 32-bit hex. */
static bool parse_code(const char *s, uint32_t *code)
{
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (*s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);

	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return false;
	*code = (uint32_t)v;
	return true;
}

/*
 * Split one line (already NUL-terminated, in the writable copy) into
 * code, name and category. False for comments, blank and malformed lines.
 */
static bool parse_line(char *line, struct bc_entry *e)
{
	char *fields[3] = { NULL, NULL, NULL };
	size_t nf = 0;
	char *p = line;

	if (*line == '#' || *line == '\0')
		return false;
	while (nf < ARRAY_SIZE(fields)) {
		fields[nf++] = p;
		p = strchr(p, '\t');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (nf < 2 || *fields[1] == '\0' || !parse_code(fields[0], &e->code))
		return false;
	e->name = fields[1];
	e->category = NULL;
	if (nf == 3 && *fields[2] != '\0' && strcmp(fields[2], "-") != 0)
		e->category = fields[2];
	return true;
}

static void table_load(void)
{
	size_t len = (size_t)bugcheck_data_len;
	char *text = malloc(len + 1);
	size_t lines = 1;

	if (text == NULL)
		return;
	memcpy(text, bugcheck_data, len);
	text[len] = '\0';
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';

	struct bc_entry *v = calloc(lines, sizeof(*v));
	const struct bc_entry **names = calloc(lines, sizeof(*names));
	size_t n = 0;
	char *line = text;

	if (v == NULL || names == NULL) {
		free(v);
		free(names);
		free(text);
		return;
	}
	for (size_t no = 0; line != NULL; no++) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		size_t ll = strlen(line);

		if (ll > 0 && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		v[n].line = no;
		if (parse_line(line, &v[n]))
			n++;
		line = nl != NULL ? nl + 1 : NULL;
	}
	qsort(v, n, sizeof(*v), cmp_code);
	/* Drop later duplicates of a code: the first line in the file wins. */
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (w == 0 || v[w - 1].code != v[i].code)
			v[w++] = v[i];
	n = w;
	for (size_t i = 0; i < n; i++)
		names[i] = &v[i];
	qsort(names, n, sizeof(*names), cmp_name);
	table.by_code = v;
	table.by_name = names;
	table.n = n;
	table.text = text;
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

	if (name == NULL)
		return 0;
	hit = bsearch(&kp, t->by_name, t->n, sizeof(*t->by_name), cmp_name);
	return hit != NULL ? (*hit)->code : 0;
}

size_t bugcheck_count(void)
{
	return table_get()->n;
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
