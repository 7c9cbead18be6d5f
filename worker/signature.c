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
	bool stop;     /* "stop": keep the frame, then end; else "skip" */
	char *glob;    /* malloc'd */
	unsigned line; /* line in the rules file, for explanations */
};

struct sigrules {
	struct sigrule *v;
	size_t n;
	size_t cap;
	unsigned version; /* from the "version N" line; 0 when absent */
	unsigned line;    /* line being parsed */
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
	r->v[r->n].line = r->line;
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

	if (kw == 7 && strncasecmp(p, "version", 7) == 0) {
		unsigned long v = strtoul(p + 7, NULL, 10);

		r->version = v < 1000000 ? (unsigned)v : 0;
		return DF_OK;
	}

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

		r->line++;
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

unsigned sigrules_version(const struct sigrules *r)
{
	return r != NULL ? r->version : 0;
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

static int explain_frame(struct strbuf *ex, size_t i, const char *text,
			 const char *what, const struct sigrule *rule)
{
	if (ex == NULL)
		return DF_OK;
	if (rule == NULL)
		return strbuf_addf(ex, "  %2zu  %-50s %s\n", i, text, what);
	return strbuf_addf(ex, "  %2zu  %-50s %s by line %u \"%s %s\"\n", i,
			   text, what, rule->line, rule->stop ? "stop" : "skip",
			   rule->glob);
}

/*
 * Append the frames of IN to SB and say what happened to each in EX (may
 * be NULL). Returns how many frames were used, or DF_ENOMEM.
 */
static int add_frames(const struct signature_input *in,
		      const struct sigrules *r, struct strbuf *sb,
		      struct strbuf *ex)
{
	int used = 0;
	bool full = false;

	for (size_t i = 0; i < in->nframes; i++) {
		const char *text = in->frames[i];
		const struct sigrule *rule = rule_for(r, text);
		int rc = DF_OK;

		if (full) {
			rc = explain_frame(ex, i, text, "not used: signature "
							"complete", NULL);
		} else if (rule != NULL && !rule->stop) {
			rc = explain_frame(ex, i, text, "skipped", rule);
		} else {
			rc = strbuf_addf(sb, " | %s", text);
			if (rc == DF_ELIMIT) {
				full = true; /* SIGNATURE_MAX_TEXT: keep what fits */
				rc = explain_frame(ex, i, text,
						   "not used: text limit", NULL);
			} else if (rc == DF_OK) {
				used++;
				rc = explain_frame(ex, i, text,
						   rule != NULL ? "kept, then stop"
								: "kept",
						   rule);
				full = rule != NULL ||
				       used == SIGNATURE_MAX_FRAMES;
			}
		}
		if (rc == DF_ENOMEM)
			return DF_ENOMEM;
	}
	return used;
}

int signature_build(const struct signature_input *in,
		    const struct sigrules *rules, struct strbuf *text,
		    char hash[17], struct strbuf *explain)
{
	static const struct sigrules none = { NULL, 0, 0, 0, 0 };
	uint8_t digest[HASH_LEN];

	if (rules == NULL)
		rules = &none;
	strbuf_reset(text);
	if (strbuf_adds(text, in->prefix != NULL ? in->prefix : "unknown") ==
	    DF_ENOMEM)
		return DF_ENOMEM;

	int used = add_frames(in, rules, text, explain);

	if (used < 0)
		return DF_ENOMEM;
	if (used == 0 && in->fallback != NULL && *in->fallback) {
		if (strbuf_addf(text, " | %s", in->fallback) == DF_ENOMEM)
			return DF_ENOMEM;
		if (explain != NULL &&
		    strbuf_addf(explain, "  no frame kept: the blamed module "
					 "%s stands in\n",
				in->fallback) == DF_ENOMEM)
			return DF_ENOMEM;
	}
	hash_sha256(strbuf_str(text), text->len, digest);
	hash_hex(digest, 8, hash);
	if (explain != NULL &&
	    strbuf_addf(explain, "signature [%s] %s\n", hash,
			strbuf_str(text)) == DF_ENOMEM)
		return DF_ENOMEM;
	return DF_OK;
}

/* Normalised crashing-thread frames into a->sig_frames. */
static int collect_frames(struct analysis *a)
{
	const struct thread *t = model_crashing_thread(a);
	char text[FRAME_TEXT_MAX];

	for (size_t i = 0; t != NULL && i < t->frames.n; i++) {
		if (a->sig_frames.n == SIGNATURE_MAX_INPUT_FRAMES)
			break;
		/* Code outside any module makes no stable bucket. */
		if (!frame_norm(a, &t->frames.v[i], text, sizeof(text)))
			continue;
		const char **slot = DF_VEC_PUSH(a->arena, a->sig_frames,
						SIGNATURE_MAX_INPUT_FRAMES);

		if (slot == NULL)
			return DF_ENOMEM;
		*slot = arena_strdup(a->arena, text);
		if (*slot == NULL)
			return DF_ENOMEM;
	}
	return DF_OK;
}

int signature_compute(struct analysis *a, const struct sigrules *rules)
{
	struct strbuf sb;
	char prefix[PREFIX_MAX];
	char mod[FRAME_TEXT_MAX];
	int rc;

	prefix_text(a, prefix, sizeof(prefix));
	a->sig_prefix = arena_strdup(a->arena, prefix);
	a->sig_frames.n = 0;
	a->sig_fallback = NULL;
	if (a->blame_module != NULL && *a->blame_module) {
		module_norm(a->blame_module, mod, sizeof(mod));
		a->sig_fallback = arena_strdup(a->arena, mod);
	}
	a->sig_rules_version = sigrules_version(rules);
	rc = a->sig_prefix != NULL ? collect_frames(a) : DF_ENOMEM;
	if (rc != DF_OK)
		goto out_nomem;

	struct signature_input in = { a->sig_prefix, a->sig_frames.v,
				      a->sig_frames.n, a->sig_fallback };

	strbuf_init(&sb, SIGNATURE_MAX_TEXT);
	rc = signature_build(&in, rules, &sb, a->signature_hash, NULL);
	if (rc == DF_OK)
		a->signature = arena_strdup(a->arena, strbuf_str(&sb));
	strbuf_release(&sb);
	if (rc == DF_OK && a->signature != NULL)
		return DF_OK;
out_nomem:
	a->signature = NULL;
	a->signature_hash[0] = '\0';
	return DF_ENOMEM;
}
