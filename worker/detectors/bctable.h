/*
 * bctable - the table-driven engine behind the bugcheck detectors
 * (hardware-error, manual-crash, driver-verifier, irql-violation,
 * unhandled-kernel-exception, stack-overflow).
 *
 * Each of those detectors is one file d_<id>.c holding a struct bct_spec:
 * constant tables of the bugcheck codes (optionally with one parameter's
 * value), exception codes, frames, text phrases and !analyze fields that
 * show its pattern, each with a confidence and a reason, and an optional
 * extra predicate for what a table cannot say. bct_run() applies a spec to
 * the model and writes one finding with one line of evidence per match.
 * What the parameters mean comes from the bugcheck knowledge base
 * (bugcheck_arg_meaning), so the evidence reads "Arg1 0x8: trap 0x8:
 * double fault ...".
 *
 * The bugcheck is the model's. When the reader found none but the text
 * shows a stack with nt!KeBugCheckEx and its arguments (x64 "Args to
 * Child" after " : ", or x86 kb columns), the code and the parameters
 * shown there are used instead, with less confidence.
 *
 * Header-only (static inline) like dmatch.h, so the registry keeps one
 * file per detector. No state: everything a run needs is on its stack.
 */
#ifndef DETECTORS_BCTABLE_H
#define DETECTORS_BCTABLE_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bugcheck.h"
#include "df.h"
#include "dmatch.h"
#include "model.h"

#define BCT_QUOTE_MAX 160       /* longest quoted line of text */
#define BCT_STACK_PENALTY 10    /* less confidence for a stack-read code */

/* A bugcheck code that shows the pattern. */
struct bct_code {
	uint32_t code;      /* base code: 0x7E also matches 0x1000007E */
	int argno;          /* 0: any parameters; 1-4: that one must be... */
	uint64_t value;     /* ...this value */
	int confidence;
	const char *why;
};

/* An exception code (user mode: the minidump's or the log's). */
struct bct_exception {
	uint32_t code;
	int confidence;
	const char *why;
};

/* A frame on any thread's stack: module and function globs. */
struct bct_frame {
	const char *module;    /* glob on the module's stem ("nt", "kbdhid") */
	const char *function;  /* glob on the function; NULL: any frame of it */
	int confidence;
	const char *why;
	bool with_bugcheck;    /* only on a thread that has nt!KeBugCheck* */
};

/* A phrase of the text (case-insensitive); the line is quoted. */
struct bct_phrase {
	const char *phrase;
	int confidence;
	const char *why;
};

/* A named value of the log (!analyze field) matching a glob. */
struct bct_field {
	const char *key;
	const char *glob;
	int confidence;
	const char *why;
};

/* The bugcheck a run works with. */
struct bct_bugcheck {
	bool present;
	bool from_stack;   /* read from nt!KeBugCheckEx's arguments */
	uint32_t raw;      /* as given, e.g. 0x1000007E */
	uint32_t code;     /* bugcheck_base_code(raw) */
	uint64_t args[4];
	int nargs;         /* how many of args are known */
};

struct bct_run;

struct bct_spec {
	const char *id;
	const char *title;
	const struct bct_code *codes;
	size_t n_codes;
	const struct bct_exception *exceptions;
	size_t n_exceptions;
	const struct bct_frame *frames;
	size_t n_frames;
	const struct bct_phrase *phrases;
	size_t n_phrases;
	const struct bct_field *fields;
	size_t n_fields;
	/*
	 * Called last, whether or not the tables matched: more evidence, or
	 * a finding of its own (bct_add). Returns DF_OK or DF_ENOMEM.
	 */
	int (*extra)(struct bct_run *r);
};

struct bct_run {
	struct analysis *a;
	const struct bct_spec *spec;
	struct finding *f;              /* NULL until something matched */
	struct bct_bugcheck bc;
	const struct bct_code *matched; /* the code row that matched, if any */
};

/* True when V equals WANT, also as the low half of a sign-extended V. */
static inline bool bct_value_is(uint64_t v, uint64_t want)
{
	if (v == want)
		return true;
	return (v >> 31) == 0x1FFFFFFFFull && (v & 0xFFFFFFFFu) == want;
}

/* The low 32 bits of a code that a 64-bit log printed sign-extended. */
static inline uint32_t bct_u32(uint64_t v)
{
	return (uint32_t)(v & 0xFFFFFFFFu);
}

/* True when MODULE is the kernel (nt, ntoskrnl, ntkrnlpa, ntkrnlmp...). */
static inline bool bct_is_nt(const char *module)
{
	return dmatch_module(module, "nt") ||
	       dmatch_module(module, "ntoskrnl") ||
	       dmatch_module(module, "ntkrnl*");
}

static inline int bct_add(struct bct_run *r, int confidence,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Add one line of evidence, creating the finding on first use; the
 * finding's confidence is the highest of its evidence. DF_OK or DF_ENOMEM
 * (a full evidence list is not an error).
 */
static inline int bct_add(struct bct_run *r, int confidence,
			  const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (r->f == NULL) {
		r->f = model_add_finding(r->a, r->spec->id, r->spec->title,
					 confidence);
		if (r->f == NULL)
			return DF_ENOMEM;
	}
	if (confidence > r->f->confidence)
		r->f->confidence = confidence;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return model_add_evidence(r->a, r->f, "%s", line) == DF_ENOMEM
		       ? DF_ENOMEM
		       : DF_OK;
}

/*
 * One hex number at *P (before END): digits with an optional "0x" and
 * WinDbg's "`" between the halves of a 64-bit value. Advances *P.
 */
static inline bool bct_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int digits = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end; s++) {
		int d;

		if (*s == '`')
			continue;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (++digits > 16)
			return false;
		x = x << 4 | (uint64_t)d;
	}
	if (digits == 0 || (s < end && *s != ' ' && *s != '\t'))
		return false;
	*p = s;
	*v = x;
	return true;
}

/* Skip blanks at *P. */
static inline void bct_blanks(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

/*
 * Hex columns of a stack line from B up to the frame's symbol at SYM, into
 * V (at most N). Returns the count; -1 when something else is in the way.
 */
static inline int bct_columns(const char *b, const char *sym, uint64_t *v,
			      int n)
{
	int k = 0;

	for (bct_blanks(&b, sym); b < sym; bct_blanks(&b, sym)) {
		uint64_t x;

		if (*b == ':') {  /* x64 layout: "child-sp retaddr : args :" */
			b++;
			continue;
		}
		if (k == n || !bct_hex(&b, sym, &x))
			return -1;
		v[k++] = x;
	}
	return k;
}

/*
 * The code and parameters on one stack line whose frame is
 * nt!KeBugCheckEx, SYM pointing at the frame's symbol: "[nn] sp ret :
 * code p1 p2 p3 : nt!KeBugCheckEx" (x64) or "[nn] ebp ret code p1 p2
 * nt!KeBugCheckEx+0x1b" (x86 kb). False when the line does not show the
 * arguments, or the code is not a known bugcheck.
 */
static inline bool bct_stack_line(const char *line, const char *sym,
				  struct bct_bugcheck *bc)
{
	uint64_t v[8];
	int k = bct_columns(line, sym, v, 8), first;
	bool x64 = memchr(line, ':', (size_t)(sym - line)) != NULL;

	if (x64 && (k == 6 || k == 7))
		first = k - 4;  /* [frame no.,] sp, ret, 4 argument homes */
	else if (!x64 && (k == 5 || k == 6))
		first = k - 3;  /* [frame no.,] ebp, ret, 3 args */
	else
		return false;
	if (v[first] == 0 || v[first] > UINT32_MAX ||
	    bugcheck_name((uint32_t)v[first]) == NULL)
		return false;
	bc->present = true;
	bc->from_stack = true;
	bc->raw = (uint32_t)v[first];
	bc->code = bugcheck_base_code(bc->raw);
	bc->nargs = k - first - 1;
	for (int i = 0; i < bc->nargs; i++)
		bc->args[i] = v[first + 1 + i];
	return true;
}

/* True when the module name from B to E (before "!") is the kernel's. */
static inline bool bct_nt_token(const char *b, const char *e)
{
	char mod[32];
	size_t n = (size_t)(e - b);

	if (n == 0 || n >= sizeof(mod))
		return false;
	memcpy(mod, b, n);
	mod[n] = '\0';
	return bct_is_nt(mod);
}

/* The bugcheck from nt!KeBugCheckEx's arguments in the text, if shown. */
static inline bool bct_stack_bugcheck(const struct analysis *a,
				      struct bct_bugcheck *bc)
{
	static const char sym[] = "!KeBugCheckEx";
	const char *p = a->text;

	while (p != NULL &&
	       (p = dmatch_find(p, a->text_len - (size_t)(p - a->text),
				sym)) != NULL) {
		const char *line, *mod = p;

		dmatch_line(a, p, &line);
		while (mod > line && mod[-1] != ' ' && mod[-1] != '\t')
			mod--;
		if (bct_nt_token(mod, p) && bct_stack_line(line, mod, bc))
			return true;
		p += sizeof(sym) - 1;
	}
	return false;
}

/* The model's bugcheck, else the one the text's stack shows. */
static inline void bct_bugcheck_of(const struct analysis *a,
				   struct bct_bugcheck *bc)
{
	memset(bc, 0, sizeof(*bc));
	if (a->bugcheck.present) {
		bc->present = true;
		bc->raw = a->bugcheck.code;
		bc->code = bugcheck_base_code(bc->raw);
		memcpy(bc->args, a->bugcheck.args, sizeof(bc->args));
		bc->nargs = 4;
		return;
	}
	if (a->text != NULL)
		bct_stack_bugcheck(a, bc);
}

/* The first code row matching the bugcheck, or NULL. */
static inline const struct bct_code *bct_match_code(const struct bct_run *r)
{
	const struct bct_spec *sp = r->spec;
	const struct bct_bugcheck *bc = &r->bc;

	if (!bc->present)
		return NULL;
	for (size_t i = 0; i < sp->n_codes; i++) {
		const struct bct_code *c = &sp->codes[i];

		if (c->code != bc->code)
			continue;
		if (c->argno == 0 ||
		    (c->argno <= bc->nargs &&
		     bct_value_is(bc->args[c->argno - 1], c->value)))
			return c;
	}
	return NULL;
}

/*
 * Evidence for the bugcheck: its code, name and why it shows the pattern,
 * then one line per parameter the knowledge base has a meaning for.
 */
static inline int bct_bugcheck_evidence(struct bct_run *r,
					const struct bct_code *c)
{
	const struct bct_bugcheck *bc = &r->bc;
	int conf = c->confidence - (bc->from_stack ? BCT_STACK_PENALTY : 0);
	int rc = bct_add(r, conf, "bugcheck 0x%" PRIX32 " %s%s: %s", bc->raw,
			 bugcheck_display_name(bc->raw),
			 bc->from_stack ? " (from the arguments of "
					  "nt!KeBugCheckEx on the stack)"
					: "",
			 c->why);

	for (int i = 0; rc == DF_OK && i < bc->nargs; i++) {
		const char *m = bugcheck_arg_meaning(bc->code, i + 1,
						     bc->args[i]);

		if (m != NULL)
			rc = bct_add(r, conf, "Arg%d 0x%" PRIx64 ": %s", i + 1,
				     bc->args[i], m);
	}
	return rc;
}

/* True when the model's OS is Windows or unknown (not Linux, macOS...). */
static inline bool bct_windows(const struct analysis *a)
{
	return a->system.os == NULL || *a->system.os == '\0' ||
	       dmatch_has(a->system.os, "Windows");
}

static inline int bct_exceptions(struct bct_run *r)
{
	const struct crash *c = &r->a->crash;

	if (!c->present || !c->has_code || !bct_windows(r->a))
		return DF_OK;
	for (size_t i = 0; i < r->spec->n_exceptions; i++) {
		const struct bct_exception *e = &r->spec->exceptions[i];
		const char *n = exception_name(e->code);

		if (e->code == c->code)
			return bct_add(r, e->confidence,
				       "exception 0x%08" PRIX32 " %s: %s",
				       c->code, n != NULL ? n : "", e->why);
	}
	return DF_OK;
}

/* True when thread T has a frame nt!KeBugCheck*. */
static inline bool bct_thread_bugchecked(const struct thread *t)
{
	for (size_t i = 0; i < t->frames.n; i++) {
		const struct frame *f = &t->frames.v[i];

		/* The name first: cheaper than the module's stem. */
		if (f->function != NULL &&
		    strncmp(f->function, "KeBugCheck", 10) == 0 &&
		    bct_is_nt(f->module))
			return true;
	}
	return false;
}

/* True when frame F is what row FR asks for. */
static inline bool bct_frame_is(const struct frame *f,
				const struct bct_frame *fr)
{
	if (fr->function == NULL)
		return dmatch_module(f->module, fr->module);
	return dmatch_frame(f, fr->module, fr->function);
}

/* The first frame of any thread matching row FR: one line of evidence. */
static inline int bct_frame_rule(struct bct_run *r, const struct bct_frame *fr)
{
	const struct analysis *a = r->a;

	for (size_t t = 0; t < a->threads.n; t++) {
		const struct thread *th = &a->threads.v[t];

		if (fr->with_bugcheck && !bct_thread_bugchecked(th))
			continue;
		for (size_t i = 0; i < th->frames.n; i++) {
			const struct frame *f = &th->frames.v[i];
			char who[200];

			if (!bct_frame_is(f, fr))
				continue;
			dmatch_thread_name(a, t, who, sizeof(who));
			return bct_add(r, fr->confidence,
				       "frame %zu of %s: %s!%s: %s", i, who,
				       f->module,
				       f->function != NULL ? f->function : "?",
				       fr->why);
		}
	}
	return DF_OK;
}

static inline int bct_frames(struct bct_run *r)
{
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < r->spec->n_frames; i++)
		rc = bct_frame_rule(r, &r->spec->frames[i]);
	return rc;
}

/* The line of the text at P, quoted into OUT (at most BCT_QUOTE_MAX). */
static inline void bct_quote(const struct analysis *a, const char *p,
			     char out[BCT_QUOTE_MAX + 1])
{
	const char *line;
	size_t n = dmatch_line(a, p, &line);

	if (n > BCT_QUOTE_MAX)
		n = BCT_QUOTE_MAX;
	memcpy(out, line, n);
	out[n] = '\0';
}

static inline int bct_phrases(struct bct_run *r)
{
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < r->spec->n_phrases; i++) {
		const struct bct_phrase *ph = &r->spec->phrases[i];
		const char *p = dmatch_text(r->a, ph->phrase);
		char quote[BCT_QUOTE_MAX + 1];

		if (p == NULL)
			continue;
		bct_quote(r->a, p, quote);
		rc = bct_add(r, ph->confidence, "\"%s\": %s", quote, ph->why);
	}
	return rc;
}

static inline int bct_fields(struct bct_run *r)
{
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < r->spec->n_fields; i++) {
		const struct bct_field *fd = &r->spec->fields[i];
		const char *v = model_field(r->a, fd->key);

		if (v != NULL && dmatch_glob(fd->glob, v))
			rc = bct_add(r, fd->confidence, "%s: %.160s: %s",
				     fd->key, v, fd->why);
	}
	return rc;
}

/* Apply SPEC to A: at most one finding with id SPEC->id. */
static inline int bct_run(struct analysis *a, const struct bct_spec *spec)
{
	struct bct_run r = { .a = a, .spec = spec };
	int rc = DF_OK;

	bct_bugcheck_of(a, &r.bc);
	r.matched = bct_match_code(&r);
	if (r.matched != NULL)
		rc = bct_bugcheck_evidence(&r, r.matched);
	if (rc == DF_OK)
		rc = bct_exceptions(&r);
	if (rc == DF_OK)
		rc = bct_frames(&r);
	if (rc == DF_OK && a->text != NULL)
		rc = bct_phrases(&r);
	if (rc == DF_OK)
		rc = bct_fields(&r);
	if (rc == DF_OK && spec->extra != NULL)
		rc = spec->extra(&r);
	return rc;
}

#endif /* DETECTORS_BCTABLE_H */
