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
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model.h"

/* Longest module stem the helpers compare; longer names never match. */
#define DMATCH_STEM_MAX 256

/* Case-insensitive glob: '*' any run, '?' any one character. */
static inline bool dmatch_glob(const char *pat, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s) {
		if (*pat == '*') {
			star = pat++;
			retry = s;
		} else if (*pat == '?' ||
			   (*pat && tolower((unsigned char)*pat) ==
					    tolower((unsigned char)*s))) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
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

	if (f->function == NULL || !dmatch_module(f->module, module_glob))
		return false;
	size_t n = strcspn(f->function, "+");

	if (n >= sizeof(fn))
		n = sizeof(fn) - 1;
	memcpy(fn, f->function, n);
	fn[n] = '\0';
	return dmatch_glob(function_glob, fn);
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

#endif /* DETECTORS_DMATCH_H */
