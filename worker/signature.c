#include "signature.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "df.h"
#include "glob.h"
#include "hash.h"
#include "model.h"
#include "strbuf.h"

/* worker/data/signature-rules.txt, embedded by the build. */
extern const unsigned char sigrules_data[];
extern const unsigned long sigrules_data_len;

/*
 * Longest text one normalised frame may take; longer C++ names are cut, so
 * the cut is the same every time and the bucket stays stable.
 */
#define FRAME_TEXT_MAX 512
#define PREFIX_MAX 128
#define RULE_MAX 1024 /* longest glob kept from a rules line */
/*
 * A word found by stack scanning that points into a module's first page
 * (its PE headers) is an HMODULE in a local variable, not a return
 * address: it is left out like unknown memory.
 */
#define PE_HEADER_SIZE 0x1000

struct sigrule {
	bool stop;  /* "stop": keep the frame, then end; else "skip" */
	char *glob; /* malloc'd */
};

struct sigrules {
	struct sigrule *v;
	size_t n;
	size_t cap;
};


static int rules_add(struct sigrules *r, bool stop, const char *glob,
		     size_t n)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 32;
		struct sigrule *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return DF_ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	char *g = malloc(n + 1);

	if (g == NULL)
		return DF_ENOMEM;
	memcpy(g, glob, n);
	g[n] = '\0';
	r->v[r->n].stop = stop;
	r->v[r->n].glob = g;
	r->n++;
	return DF_OK;
}

/*
 * Parse one line [P, END). Lines that are not "skip X" / "stop X" are
 * ignored: a bad rule must not stop the worker, and the remaining rules
 * still make a usable signature.
 */
static int parse_line(struct sigrules *r, const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end || *p == '#')
		return DF_OK;

	size_t kw = 0;

	while (p + kw < end && !isspace((unsigned char)p[kw]))
		kw++;
	bool stop = kw == 4 && strncasecmp(p, "stop", 4) == 0;
	bool skip = kw == 4 && strncasecmp(p, "skip", 4) == 0;

	if (!stop && !skip)
		return DF_OK;
	p += kw;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end || (size_t)(end - p) > RULE_MAX)
		return DF_OK;
	return rules_add(r, stop, p, (size_t)(end - p));
}

struct sigrules *sigrules_parse(const char *text, size_t len)
{
	struct sigrules *r = calloc(1, sizeof(*r));

	if (r == NULL || text == NULL)
		return r;

	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		if (parse_line(r, p, eol) != DF_OK) {
			sigrules_destroy(&r);
			return NULL;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return r;
}

struct sigrules *sigrules_default(void)
{
	return sigrules_parse((const char *)sigrules_data,
			      (size_t)sigrules_data_len);
}

void sigrules_destroy(struct sigrules **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	for (size_t i = 0; i < (*rp)->n; i++)
		free((*rp)->v[i].glob);
	free((*rp)->v);
	free(*rp);
	*rp = NULL;
}

/* Kernel and HAL image names WinDbg always calls "nt" and "hal". */
static const char *module_alias(const char *stem)
{
	static const struct {
		const char *image;
		const char *alias;
	} aliases[] = {
		{ "ntoskrnl", "nt" }, { "ntkrnlmp", "nt" },
		{ "ntkrnlpa", "nt" }, { "ntkrpamp", "nt" },
		{ "ntkrla57", "nt" }, { "halmacpi", "hal" },
		{ "halacpi", "hal" }, { "halaacpi", "hal" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(stem, aliases[i].image) == 0)
			return aliases[i].alias;
	return stem;
}

/* True when S is exactly N hex digits. */
static bool all_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Normalise a module name into OUT (SIZE bytes): base name, no
 * .dll/.sys/.exe, lower case, no "_<base address>" suffix that WinDbg adds
 * to tell two modules of one name apart, kernel image as "nt".
 */
static void module_norm(const char *module, char *out, size_t size)
{
	const char *b = strrchr(module, '\\');
	const char *f = strrchr(module, '/');
	char tmp[FRAME_TEXT_MAX];

	if (f != NULL && (b == NULL || f > b))
		b = f;
	b = b != NULL ? b + 1 : module;
	snprintf(tmp, sizeof(tmp), "%s", b);
	for (char *p = tmp; *p; p++)
		*p = (char)tolower((unsigned char)*p);

	char *dot = strrchr(tmp, '.');

	if (dot != NULL && (strcmp(dot, ".dll") == 0 ||
			    strcmp(dot, ".sys") == 0 ||
			    strcmp(dot, ".exe") == 0))
		*dot = '\0';

	char *us = strrchr(tmp, '_');

	if (us != NULL && us != tmp &&
	    (all_hex(us + 1, 8) || all_hex(us + 1, 16)))
		*us = '\0';
	snprintf(out, size, "%s", module_alias(tmp));
}

/* Length of FN without a trailing "+0x1c" / "+1c" offset. */
static size_t function_len(const char *fn)
{
	size_t n = strlen(fn);
	const char *plus = strrchr(fn, '+');

	if (plus == NULL || plus == fn || plus[1] == '\0')
		return n;
	const char *h = plus + 1;

	if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X') && h[2] != '\0')
		h += 2;
	for (const char *p = h; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return n;
	return (size_t)(plus - fn);
}

/*
 * Normalised text of frame F into OUT. False when the frame is not code in
 * a module: such frames are left out of signatures.
 */
static bool frame_norm(const struct analysis *a, const struct frame *f,
		       char *out, size_t size)
{
	char mod[FRAME_TEXT_MAX];

	if (f->module == NULL || *f->module == '\0')
		return false;
	if (f->trust == TRUST_SCAN && f->has_module_offset &&
	    f->module_offset < PE_HEADER_SIZE)
		return false;
	module_norm(f->module, mod, sizeof(mod));
	if (f->function != NULL && *f->function != '\0') {
		size_t n = function_len(f->function);

		if (n > (size_t)(FRAME_TEXT_MAX / 2))
			n = FRAME_TEXT_MAX / 2;
		/* A frame too long for OUT is cut, the same way every time. */
		return snprintf(out, size, "%s!%.*s", mod, (int)n,
				f->function) >= 0;
	}
	if (f->has_module_offset) {
		return snprintf(out, size, "%s+0x%" PRIx64, mod,
				f->module_offset) >= 0;
	}
	const struct module *m = model_module_named(a, f->module);

	if (f->has_address && m != NULL && f->address >= m->base)
		return snprintf(out, size, "%s+0x%" PRIx64, mod,
				f->address - m->base) >= 0;
	return snprintf(out, size, "%s", mod) >= 0;
}

/* The rule deciding frame text T: NULL when none matches. */
static const struct sigrule *rule_for(const struct sigrules *r,
				      const char *t)
{
	for (size_t i = 0; i < r->n; i++)
		if (glob_match(r->v[i].glob, t))
			return &r->v[i];
	return NULL;
}

static void prefix_text(const struct analysis *a, char *out, size_t size)
{
	if (a->bugcheck.present)
		/* 0x1000007E is 0x7E: the bit does not change the bucket. */
		snprintf(out, size, "0x%08" PRIX32,
			 a->bugcheck.code & ~(uint32_t)0x10000000);
	else if (a->crash.has_code)
		snprintf(out, size, "0x%08" PRIX32, a->crash.code);
	else if (a->crash.type != NULL && *a->crash.type)
		snprintf(out, size, "%s", a->crash.type);
	else
		snprintf(out, size, "unknown");
}

/*
 * Append the frames of T to SB; returns how many were used (0..MAX), or
 * -1 when the buffer failed for lack of memory.
 */
static int add_frames(const struct analysis *a, const struct sigrules *r,
		      const struct thread *t, struct strbuf *sb)
{
	int used = 0;
	char text[FRAME_TEXT_MAX];

	for (size_t i = 0; t != NULL && i < t->frames.n; i++) {
		if (used == SIGNATURE_MAX_FRAMES)
			break;
		/* Code outside any module makes no stable bucket. */
		if (!frame_norm(a, &t->frames.v[i], text, sizeof(text)))
			continue;
		const struct sigrule *rule = rule_for(r, text);

		if (rule != NULL && !rule->stop)
			continue;
		int rc = strbuf_addf(sb, " | %s", text);

		if (rc == DF_ENOMEM)
			return -1;
		if (rc != DF_OK)
			break; /* SIGNATURE_MAX_TEXT: keep what fits */
		used++;
		if (rule != NULL)
			break;
	}
	return used;
}

int signature_compute(struct analysis *a, const struct sigrules *rules)
{
	struct strbuf sb;
	char prefix[PREFIX_MAX];
	uint8_t digest[HASH_LEN];
	static const struct sigrules none = { NULL, 0, 0 };

	if (rules == NULL)
		rules = &none;
	strbuf_init(&sb, SIGNATURE_MAX_TEXT);
	prefix_text(a, prefix, sizeof(prefix));
	if (strbuf_adds(&sb, prefix) != DF_OK)
		goto out_nomem;

	int used = add_frames(a, rules, model_crashing_thread(a), &sb);

	if (used < 0)
		goto out_nomem;
	if (used == 0 && a->blame_module != NULL && *a->blame_module) {
		char mod[FRAME_TEXT_MAX];

		module_norm(a->blame_module, mod, sizeof(mod));
		if (strbuf_addf(&sb, " | %s", mod) == DF_ENOMEM)
			goto out_nomem;
	}
	a->signature = arena_strdup(a->arena, strbuf_str(&sb));
	if (a->signature == NULL)
		goto out_nomem;
	hash_sha256(a->signature, strlen(a->signature), digest);
	hash_hex(digest, 8, a->signature_hash);
	strbuf_release(&sb);
	return DF_OK;

out_nomem:
	strbuf_release(&sb);
	a->signature = NULL;
	a->signature_hash[0] = '\0';
	return DF_ENOMEM;
}
