/*
 * dmatch - small matching helpers shared by the detectors.
 *
 * Header-only (static inline) so that the detector table stays "one file
 * per detector": nothing here is a detector and nothing needs a build rule.
 * Every helper is NULL-safe where it takes a string from the model, and
 * text searches are bounded by a->text_len (the text is not NUL-terminated).
 */
#ifndef DETECTORS_DMATCH_H
#define DETECTORS_DMATCH_H

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "glob.h"
#include "model.h"

/* Longest module stem the helpers compare; longer names never match. */
#define DMATCH_STEM_MAX 256

/* Case-insensitive glob: '*' any run, '?' any one character. */
static inline bool dmatch_glob(const char *pat, const char *s)
{
	return glob_match(pat, s);
}

/*
 * First case-insensitive occurrence of NEEDLE in the N bytes at HAY, or
 * NULL. HAY need not be NUL-terminated.
 */
static inline const char *dmatch_find(const char *hay, size_t n,
				      const char *needle)
{
	size_t k = strlen(needle);

	if (hay == NULL || k == 0 || k > n)
		return NULL;
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

/* Case-insensitive substring test on a NUL-terminated S (NULL: false). */
static inline bool dmatch_has(const char *s, const char *needle)
{
	return s != NULL && dmatch_find(s, strlen(s), needle) != NULL;
}

/* Position of NEEDLE in the analysed text, or NULL (also without text). */
static inline const char *dmatch_text(const struct analysis *a,
				      const char *needle)
{
	return dmatch_find(a->text, a->text != NULL ? a->text_len : 0, needle);
}

/* The line of the text containing P: start in *START, length returned. */
static inline size_t dmatch_line(const struct analysis *a, const char *p,
				 const char **start)
{
	const char *b = p, *e = p, *end = a->text + a->text_len;

	while (b > a->text && b[-1] != '\n')
		b--;
	while (e < end && *e != '\n' && *e != '\r')
		e++;
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	*start = b;
	return (size_t)(e - b);
}

/*
 * The stem of a module name into OUT: base name without directories and
 * without a .dll/.sys/.exe/.drv extension ("C:\x\USER32.dll" -> "USER32").
 * Case is kept; compare with strcasecmp or dmatch_glob.
 */
static inline void dmatch_stem(const char *module, char *out, size_t size)
{
	const char *b = strrchr(module, '\\');
	const char *f = strrchr(module, '/');
	size_t n;

	if (f != NULL && (b == NULL || f > b))
		b = f;
	b = b != NULL ? b + 1 : module;
	n = strlen(b);
	if (n >= size)
		n = size - 1;
	memcpy(out, b, n);
	out[n] = '\0';

	char *dot = strrchr(out, '.');

	if (dot != NULL && (strcasecmp(dot, ".dll") == 0 ||
			    strcasecmp(dot, ".sys") == 0 ||
			    strcasecmp(dot, ".exe") == 0 ||
			    strcasecmp(dot, ".drv") == 0))
		*dot = '\0';
}

/* True when the stem of MODULE matches GLOB (case-insensitive). */
static inline bool dmatch_module(const char *module, const char *glob)
{
	char stem[DMATCH_STEM_MAX];

	if (module == NULL || *module == '\0')
		return false;
	dmatch_stem(module, stem, sizeof(stem));
	return dmatch_glob(glob, stem);
}

/*
 * True when frame F is MODULE_GLOB!FUNCTION_GLOB. The function is matched
 * without a "+offset" a reader may have left on it.
 */
static inline bool dmatch_frame(const struct frame *f, const char *module_glob,
				const char *function_glob)
{
	char fn[DMATCH_STEM_MAX];

	if (f->function == NULL)
		return false;
	size_t n = strcspn(f->function, "+");

	if (n >= sizeof(fn))
		n = sizeof(fn) - 1;
	memcpy(fn, f->function, n);
	fn[n] = '\0';
	/* The function first: it rules out most frames, and costs less. */
	return dmatch_glob(function_glob, fn) &&
	       dmatch_module(f->module, module_glob);
}

/* Append printf-style text at *POS of OUT (SIZE bytes), truncating. */
static inline void dmatch_append(char *out, size_t size, size_t *pos,
				 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline void dmatch_append(char *out, size_t size, size_t *pos,
				 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *pos, size - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

/*
 * How evidence names thread INDEX: "thread 3 (id 0x1420, "main") of
 * app.exe, the crashing thread". The id is left out when it is 0 (a log
 * that did not give one).
 */
static inline void dmatch_thread_name(const struct analysis *a, size_t index,
				      char *out, size_t size)
{
	const struct thread *t = &a->threads.v[index];
	size_t pos = 0;

	dmatch_append(out, size, &pos, "thread %zu", index);
	if (t->id != 0 && t->name != NULL)
		dmatch_append(out, size, &pos, " (id 0x%" PRIx64 ", \"%.64s\")",
			      t->id, t->name);
	else if (t->id != 0)
		dmatch_append(out, size, &pos, " (id 0x%" PRIx64 ")", t->id);
	else if (t->name != NULL)
		dmatch_append(out, size, &pos, " (\"%.64s\")", t->name);
	if (t->process != NULL)
		dmatch_append(out, size, &pos, " of %.64s", t->process);
	if (t == model_crashing_thread(a))
		dmatch_append(out, size, &pos, ", the crashing thread");
}

/*
 * Zombie processes (seed: Crash Dump Analysis Patterns, part 54): exited
 * processes kept in memory because something still holds a reference,
 * usually a handle. `!vm` shows them with no private memory, `!process`
 * with "ObjectTable: 00000000" and "No active threads". Shared by the
 * zombie-processes and handle-leak detectors so that both count the same.
 */
#define DMATCH_ZOMBIE_MIN 3 /* zombies that make a pattern, not an accident */

static inline bool dmatch_zombie(const struct process *p)
{
	if (p->pid == 0 || /* the Idle process */
	    (p->has_threads && p->active_threads > 0))
		return false;
	return p->object_table_null ||
	       (p->has_threads && p->active_threads == 0) ||
	       (p->has_private && p->private_pages == 0);
}

static inline size_t dmatch_zombie_count(const struct analysis *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->processes.n; i++)
		n += dmatch_zombie(&a->processes.v[i]);
	return n;
}


/*
 * How the bytes of a 64-bit value spell text: the wild-pointer pattern of
 * an address that is string data (seed: Crash Dump Analysis Patterns,
 * part 55). 0x65747379735c5357 is ASCII "WS\syste" in memory order
 * (WinDbg's .formats shows the bytes high first: "etsys\SW"), and
 * 0x0045004c00490046 is UTF-16 "FILE" (.formats: ".E.L.I.F").
 *
 * Only the significant bytes count (a 32-bit 0x41414141 is "AAAA"). ASCII
 * needs at least 4 printable bytes making up all of them, half of them
 * letters or digits; a value of just 4 bytes must be letters, digits and
 * path punctuation only, with two letters at least, since such a value
 * may well be a 32-bit address. UTF-16 needs 3 code units at least, or 2
 * equal letters (the 0x00410041 of an overflowed wide string).
 */
enum dmatch_text_kind {
	DMATCH_NOT_TEXT = 0,
	DMATCH_ASCII,
	DMATCH_UTF16,
};

struct dmatch_text {
	enum dmatch_text_kind kind;
	char text[9];   /* the characters in memory order */
	char chars[17]; /* as .formats "Chars:" shows them, high byte first */
};

/* Printable ASCII: what a byte of text may be. */
static inline bool dmatch_printable(unsigned c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* True when the N significant bytes B are ASCII text (see above). */
static inline bool dmatch_ascii_bytes(const uint8_t *b, size_t n)
{
	size_t alnum = 0, alpha = 0;

	if (n < 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!dmatch_printable(b[i]))
			return false;
		alnum += isalnum(b[i]) != 0;
		alpha += isalpha(b[i]) != 0;
		if (n == 4 && !isalnum(b[i]) && strchr(" ._-\\/:", b[i]) == NULL)
			return false;
	}
	return n == 4 ? alpha >= 2 : alnum * 2 >= n;
}

/* True when the N significant bytes B are UTF-16LE text (see above). */
static inline bool dmatch_utf16_bytes(const uint8_t *b, size_t n)
{
	size_t units = (n + 1) / 2, alnum = 0;

	if (n % 2 == 0 || units < 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i % 2 == 1 ? b[i] != 0 : !dmatch_printable(b[i]))
			return false;
		alnum += i % 2 == 0 && isalnum(b[i]);
	}
	if (units == 2)
		return b[0] == b[2] && isalpha(b[0]);
	return alnum * 2 >= units;
}

/* Whether V reads as text; the text into *T (T->kind DMATCH_NOT_TEXT if not). */
static inline bool dmatch_value_text(uint64_t v, struct dmatch_text *t)
{
	uint8_t b[8];
	size_t n = 0, k = 0;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < 8; i++) {
		b[i] = (uint8_t)(v >> (8 * i));
		if (b[i] != 0)
			n = i + 1;
	}
	if (dmatch_ascii_bytes(b, n))
		t->kind = DMATCH_ASCII;
	else if (dmatch_utf16_bytes(b, n))
		t->kind = DMATCH_UTF16;
	else
		return false;
	if (t->kind == DMATCH_UTF16)
		n++; /* the high byte of the last code unit */
	for (size_t i = 0; i < n; i++) {
		if (t->kind == DMATCH_ASCII || i % 2 == 0)
			t->text[k++] = (char)b[i];
		t->chars[i] = dmatch_printable(b[n - 1 - i]) ? (char)b[n - 1 - i]
							      : '.';
	}
	return true;
}

#endif /* DETECTORS_DMATCH_H */
