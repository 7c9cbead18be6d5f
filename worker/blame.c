#include "blame.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "df.h"
#include "glob.h"
#include "model.h"

extern const unsigned char osmodules_data[];
extern const unsigned long osmodules_data_len;

#define BLAME_MAX_OS_MODULES 512
#define BLAME_NAME_MAX 64

/*
 * The embedded list, parsed once: immutable after pthread_once, so the
 * worker threads share it without locks.
 */
static char os_names[BLAME_MAX_OS_MODULES][BLAME_NAME_MAX];
static size_t os_count;
static pthread_once_t os_once = PTHREAD_ONCE_INIT;

static void os_load(void)
{
	const char *p = (const char *)osmodules_data;
	const char *end = p + osmodules_data_len;

	while (p < end && os_count < BLAME_MAX_OS_MODULES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end;
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n > 0 && p[0] != '#' && n < BLAME_NAME_MAX) {
			memcpy(os_names[os_count], p, n);
			os_names[os_count][n] = '\0';
			os_count++;
		}
		p = next;
	}
}

/* MODULE without directories and without .dll/.sys/.exe, into OUT. */
static void stem(const char *module, char *out, size_t size)
{
	const char *b = module;

	for (const char *q = module; *q; q++)
		if (*q == '\\' || *q == '/')
			b = q + 1;
	size_t n = strlen(b);
	const char *dot = strrchr(b, '.');

	if (dot != NULL && (strcasecmp(dot, ".dll") == 0 ||
			    strcasecmp(dot, ".sys") == 0 ||
			    strcasecmp(dot, ".exe") == 0))
		n = (size_t)(dot - b);
	if (n >= size)
		n = size - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

bool blame_is_os_module(const char *module)
{
	char s[BLAME_NAME_MAX * 4];

	if (module == NULL)
		return false;
	pthread_once(&os_once, os_load);
	stem(module, s, sizeof(s));
	for (size_t i = 0; i < os_count; i++)
		if (glob_match(os_names[i], s))
			return true;
	return false;
}

static bool from_field(struct analysis *a, const char *key, const char *why)
{
	const char *m = model_field(a, key);

	if (m == NULL || *m == '\0')
		return false;
	a->blame_module = m;
	a->blame_reason = why;
	return true;
}

/* Bugchecks that report a damaged pool block (normalised codes). */
static bool pool_bugcheck(const struct analysis *a)
{
	static const uint32_t codes[] = { 0x19, 0xC2, 0xC5, 0xDE, 0xD0, 0xD6,
					  0xCD, 0xC6, 0xC1, 0xD5, 0xCC, 0x13A };
	uint32_t c = a->bugcheck.code;

	if (!a->bugcheck.present)
		return false;
	if ((c >> 28) == 1)
		c &= 0x0FFFFFFF;
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (codes[i] == c)
			return true;
	return false;
}

/*
 * !pool names the owner of a tag it knows: "Pooltag Ntfx : General
 * Allocation, Binary : ntfs.sys". The first owner that is not the
 * operating system's is the suspect for a corrupted pool block.
 */
static bool from_pool_tag(struct analysis *a)
{
	static const char key[] = ", Binary : ";

	if (a->text == NULL || !pool_bugcheck(a))
		return false;
	const char *p = a->text, *end = a->text + a->text_len;

	while (p < end) {
		const char *hit = NULL;

		for (const char *q = p; q + sizeof(key) - 1 <= end; q++)
			if (memcmp(q, key, sizeof(key) - 1) == 0) {
				hit = q;
				break;
			}
		if (hit == NULL)
			return false;
		const char *o = hit + sizeof(key) - 1;
		size_t n = 0;

		while (o + n < end && n < BLAME_NAME_MAX &&
		       o[n] > ' ' && o[n] != ',' && o[n] != ')')
			n++;
		p = o + n;
		if (n == 0 || n >= BLAME_NAME_MAX)
			continue;
		char name[BLAME_NAME_MAX];

		memcpy(name, o, n);
		name[n] = '\0';
		/* "nt!mm" names a kernel component: the kernel's own tag. */
		char *bang = strchr(name, '!');

		if (bang != NULL)
			*bang = '\0';
		if (blame_is_os_module(name))
			continue;
		a->blame_module = arena_strdup(a->arena, name);
		a->blame_reason = "pool-tag-owner";
		return a->blame_module != NULL;
	}
	return false;
}

static bool from_frames(struct analysis *a)
{
	const struct thread *t = model_crashing_thread(a);
	const char *top = NULL;

	for (size_t i = 0; t != NULL && i < t->frames.n; i++) {
		const char *fm = t->frames.v[i].module;

		if (fm == NULL)
			continue;
		if (top == NULL)
			top = fm;
		if (!blame_is_os_module(fm)) {
			a->blame_module = fm;
			a->blame_reason = "first-non-os-frame";
			return true;
		}
	}
	if (top == NULL)
		return false;
	a->blame_module = top;
	a->blame_reason = "top-frame-os-only";
	return true;
}

void blame_pick(struct analysis *a)
{
	if (from_field(a, "MODULE_NAME", "MODULE_NAME") ||
	    from_field(a, "IMAGE_NAME", "IMAGE_NAME") ||
	    from_field(a, "PROBABLY_CAUSED_BY", "probably-caused-by") ||
	    from_pool_tag(a) || from_frames(a))
		return;
	if (a->crash.has_address) {
		const struct module *mod = model_module_at(a, a->crash.address);

		if (mod != NULL && mod->filename != NULL) {
			a->blame_module = mod->filename;
			a->blame_reason = "crash-address";
		}
	}
}
