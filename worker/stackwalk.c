/*
 * stackwalk - Breakpad's stack walking rules (src/processor/stackwalker*.cc)
 * restated: one function per way of finding a caller, tried in the order
 * the CPU's walker tries them, and one termination test for all.
 */
#include "stackwalk.h"

#include <string.h>

#include "model.h"
#include "symbols.h"

/* Words a scan looks at above the stack pointer (kRASearchWords). */
#define RA_SEARCH_WORDS 40
/* The context frame's caller may be further away (4 * kRASearchWords). */
#define RA_SEARCH_WORDS_CONTEXT (4 * RA_SEARCH_WORDS)
/* x86: a saved %ebp further than this above its slot is not trusted. */
#define MAX_GAP_BETWEEN_FRAMES (128u * 1024)
/* A return address below 4 KiB ends the walk (Breakpad, TerminateWalk). */
#define MIN_RETURN_ADDRESS 0x1000u
/* amd64: user and kernel halves of the canonical address space. */
#define CANONICAL_LOW_MAX 0x00007FFFFFFFFFFFull
#define CANONICAL_HIGH_MIN 0xFFFF800000000000ull

/* x86: words scanned above .raSearchStart for an aligned frame. */
#define RA_SEARCH_ALIGN_WORDS 3
/* Unwind rule evaluation bounds. */
#define EVAL_MAX_STACK 32
#define EVAL_MAX_VARS 32
#define EVAL_MAX_NAME 24
#define EVAL_MAX_TOKENS 512
#define CFI_MAX_RECORDS 256 /* an INIT and its deltas */
#define CFI_MAX_RULES 32

#define BIT(r) (1u << (r))

struct walker {
	const struct sw_walk *w;
	unsigned psize;
	uint64_t mask; /* addresses wrap at the CPU's width */
	/*
	 * x86: the parameter size of the lowest frame that had one. Breakpad
	 * looks at every callee below the frame being unwound and the last
	 * it looks at, the lowest, wins; so do we.
	 */
	bool have_callee_params;
	uint32_t callee_params;
};

/* One stack frame as the walk keeps it: its registers and how found. */
struct state {
	struct sw_regs regs;
	enum frame_trust trust;
	/* x86: the frame's STACK WIN parameter size, when it had one */
	bool has_params;
	uint32_t params;
};

static bool read_word(const struct walker *k, uint64_t addr, uint64_t *out)
{
	const struct sw_memory *m = &k->w->stack;

	addr &= k->mask;
	if (m->data == NULL || addr < m->va)
		return false;
	uint64_t off = addr - m->va;

	if (off > m->len || m->len - off < k->psize)
		return false;
	uint64_t v = 0;

	for (unsigned i = k->psize; i-- > 0;)
		v = v << 8 | m->data[off + i];
	*out = v;
	return true;
}

/*
 * The symbol file of the module holding ADDR, and ADDR's offset in it;
 * NULL without one (or without a module).
 */
static const struct symfile *symbols_at(const struct walker *k, uint64_t addr,
					uint64_t *rel)
{
	const struct module *m = model_module_at(k->w->a, addr & k->mask);

	if (m == NULL || k->w->syms == NULL)
		return NULL;
	*rel = (addr & k->mask) - m->base;
	return symsession_file(k->w->syms, m);
}

/*
 * Breakpad's InstructionAddressSeemsValid: inside a module, and inside a
 * function where the module has symbols.
 */
static bool seems_valid(const struct walker *k, uint64_t addr)
{
	const char *name;
	uint64_t rel, off;

	if (model_module_at(k->w->a, addr & k->mask) == NULL)
		return false;
	const struct symfile *f = symbols_at(k, addr, &rel);

	return f == NULL || symfile_lookup(f, rel, &name, &off);
}

/* Bytes from a return address back into the call, by CPU. */
static const uint8_t call_back[] = {
	[SW_CPU_OTHER] = 1, [SW_CPU_X86] = 1, [SW_CPU_AMD64] = 1,
	[SW_CPU_ARM] = 2,   [SW_CPU_ARM64] = 4,
};

/* Breakpad's frame->instruction: where it looks up the frame's symbols. */
static uint64_t lookup_address(const struct walker *k, const struct state *st)
{
	uint64_t ip = st->regs.r[SW_IP];

	if (st->trust == TRUST_CONTEXT || ip < call_back[k->w->cpu])
		return ip;
	return (ip - call_back[k->w->cpu]) & k->mask;
}

/* ---- unwind rule evaluation ------------------------------------------------ */

struct evar {
	char name[EVAL_MAX_NAME];
	uint64_t v;
	bool assigned; /* by the program (not given beforehand) */
};

/* Breakpad's PostfixEvaluator over a fixed table and stack. */
struct eval {
	const struct walker *k;
	struct evar vars[EVAL_MAX_VARS];
	size_t nvars;
	/* the stack holds tokens: a value, or a name resolved when popped */
	struct {
		const char *p;
		size_t len;
		uint64_t v;
		bool is_value;
	} st[EVAL_MAX_STACK];
	size_t n;
	size_t tokens;
};

static struct evar *eval_var(struct eval *e, const char *name, size_t len,
			     bool create)
{
	for (size_t i = 0; i < e->nvars; i++)
		if (strlen(e->vars[i].name) == len &&
		    memcmp(e->vars[i].name, name, len) == 0)
			return &e->vars[i];
	if (!create || len >= EVAL_MAX_NAME || e->nvars == EVAL_MAX_VARS)
		return NULL;
	struct evar *v = &e->vars[e->nvars++];

	memcpy(v->name, name, len);
	v->name[len] = '\0';
	v->v = 0;
	v->assigned = false;
	return v;
}

static bool eval_set(struct eval *e, const char *name, uint64_t v)
{
	struct evar *x = eval_var(e, name, strlen(name), true);

	if (x == NULL)
		return false;
	x->v = v & e->k->mask;
	return true;
}

static bool eval_get(struct eval *e, const char *name, uint64_t *v)
{
	struct evar *x = eval_var(e, name, strlen(name), false);

	if (x == NULL)
		return false;
	*v = x->v;
	return true;
}

/* A decimal literal, optionally negative, filling the whole token. */
static bool parse_literal(const struct eval *e, const char *p, size_t len,
			  uint64_t *out)
{
	bool neg = len > 0 && *p == '-';
	uint64_t v = 0;

	p += neg;
	len -= neg;
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' ||
		    v > (e->k->mask - (uint64_t)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = (neg ? 0 - v : v) & e->k->mask;
	return true;
}

static bool eval_push_value(struct eval *e, uint64_t v)
{
	if (e->n == EVAL_MAX_STACK)
		return false;
	e->st[e->n].is_value = true;
	e->st[e->n++].v = v & e->k->mask;
	return true;
}

/* Pop a value: a literal, a computed value, or a known variable. */
static bool eval_pop(struct eval *e, uint64_t *v)
{
	if (e->n == 0)
		return false;
	e->n--;
	if (e->st[e->n].is_value) {
		*v = e->st[e->n].v;
		return true;
	}
	const char *p = e->st[e->n].p;
	size_t len = e->st[e->n].len;

	if (parse_literal(e, p, len, v))
		return true;
	struct evar *x = eval_var(e, p, len, false);

	if (x == NULL)
		return false;
	*v = x->v;
	return true;
}

static bool eval_binary(struct eval *e, char op)
{
	uint64_t a, b, r;

	if (!eval_pop(e, &b) || !eval_pop(e, &a))
		return false;
	switch (op) {
	case '+': r = a + b; break;
	case '-': r = a - b; break;
	case '*': r = a * b; break;
	case '/':
		if (b == 0)
			return false;
		r = a / b;
		break;
	case '%':
		if (b == 0)
			return false;
		r = a % b;
		break;
	default: /* '@': align down to a power of two */
		r = a & ~(b - 1);
		break;
	}
	return eval_push_value(e, r);
}

/* '=': pop a value and a name starting with '$', and assign. */
static bool eval_assign(struct eval *e)
{
	uint64_t v;

	if (!eval_pop(e, &v) || e->n == 0 || e->st[e->n - 1].is_value)
		return false;
	e->n--;
	const char *p = e->st[e->n].p;
	size_t len = e->st[e->n].len;
	uint64_t unused;

	if (len == 0 || *p != '$' || parse_literal(e, p, len, &unused))
		return false;
	struct evar *x = eval_var(e, p, len, true);

	if (x == NULL)
		return false;
	x->v = v & e->k->mask;
	x->assigned = true;
	return true;
}

static bool eval_token(struct eval *e, const char *p, size_t len)
{
	uint64_t v;

	if (++e->tokens > EVAL_MAX_TOKENS)
		return false;
	if (len == 1 && strchr("+-*/%@", *p) != NULL)
		return eval_binary(e, *p);
	if (len == 1 && *p == '^')
		return eval_pop(e, &v) && read_word(e->k, v, &v) &&
		       eval_push_value(e, v);
	if (len == 1 && *p == '=')
		return eval_assign(e);
	if (len > 1 && *p == '=') /* "=$x" from old program strings */
		return eval_assign(e) && eval_token(e, p + 1, len - 1);
	if (e->n == EVAL_MAX_STACK)
		return false;
	e->st[e->n].is_value = false;
	e->st[e->n].p = p;
	e->st[e->n++].len = len;
	return true;
}

/* Run the LEN bytes at P; the stack starts empty. */
static bool eval_run(struct eval *e, const char *p, size_t len)
{
	const char *end = p + len;

	e->n = 0;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *t = p;

		while (p < end && *p != ' ')
			p++;
		if (p > t && !eval_token(e, t, (size_t)(p - t)))
			return false;
	}
	return true;
}

/* Breakpad's Evaluate: a program of assignments leaves nothing behind. */
static bool eval_program(struct eval *e, const char *prog)
{
	return eval_run(e, prog, strlen(prog)) && e->n == 0;
}

/* Breakpad's EvaluateForValue: an expression leaves exactly one value. */
static bool eval_value(struct eval *e, const char *p, size_t len,
		       uint64_t *v)
{
	return eval_run(e, p, len) && e->n == 1 && eval_pop(e, v);
}

/* Variables named after the CPU's registers that REGS holds. */
static bool eval_init(struct eval *e, const struct walker *k,
		      const struct sw_regs *regs)
{
	memset(e, 0, sizeof(*e));
	e->k = k;
	for (int r = 0; r < SW_NREGS; r++) {
		const char *name = stackwalk_reg_name(k->w->cpu, r);

		if (name != NULL && (regs->valid & BIT(r)) &&
		    !eval_set(e, name, regs->r[r]))
			return false;
	}
	return true;
}

/*
 * ScanForReturnAddress: the first of WORDS + 1 words from START that, less
 * one (inside the call), seems a valid instruction address.
 */
static bool scan_for_return(const struct walker *k, uint64_t start,
			    unsigned words, uint64_t *loc, uint64_t *ip)
{
	for (unsigned i = 0; i <= words; i++) {
		uint64_t at = (start + (uint64_t)i * k->psize) & k->mask;
		uint64_t v;

		if (k->w->scan_budget != NULL) {
			if (*k->w->scan_budget == 0)
				return false;
			(*k->w->scan_budget)--;
		}
		if (!read_word(k, at, &v))
			return false;
		if (v > 0 && seems_valid(k, v - 1)) {
			*loc = at;
			*ip = v;
			return true;
		}
	}
	return false;
}

static unsigned scan_words(const struct state *last)
{
	return last->trust == TRUST_CONTEXT ? RA_SEARCH_WORDS_CONTEXT
					    : RA_SEARCH_WORDS;
}

/* ---- x86 ------------------------------------------------------------------ */

/* GetCallerByEBPAtBase: the %ebp chain, else a scan that repairs %ebp. */
static bool x86_by_ebp(const struct walker *k, const struct state *last,
		       struct state *next)
{
	uint64_t ebp = last->regs.r[SW_FP], eip, caller_ebp, loc;

	*next = *last;
	next->regs.valid = BIT(SW_IP) | BIT(SW_SP) | BIT(SW_FP);
	if (read_word(k, ebp + 4, &eip) && read_word(k, ebp, &caller_ebp)) {
		next->regs.r[SW_IP] = eip;
		next->regs.r[SW_SP] = (ebp + 8) & k->mask;
		next->regs.r[SW_FP] = caller_ebp;
		next->trust = TRUST_FRAME_POINTER;
		return true;
	}
	if (!scan_for_return(k, last->regs.r[SW_SP], scan_words(last), &loc,
			     &eip))
		return false;
	uint64_t esp = (loc + 4) & k->mask;
	uint64_t slot = (esp - 8) & k->mask;

	/* The caller's %ebp, if saved just below the return address. */
	if (!read_word(k, slot, &caller_ebp) || caller_ebp <= slot ||
	    caller_ebp - slot > MAX_GAP_BETWEEN_FRAMES)
		caller_ebp = ebp;
	next->regs.r[SW_IP] = eip;
	next->regs.r[SW_SP] = esp;
	next->regs.r[SW_FP] = caller_ebp;
	next->trust = TRUST_SCAN;
	return true;
}

/* x86: .raSearchStart, moved to a return address within 3 words. */
static uint64_t x86_ra_search_start(const struct walker *k,
				    const struct state *last,
				    const struct symfile_win *info,
				    uint32_t callee_params)
{
	uint64_t start = (last->regs.r[SW_SP] + callee_params +
			  info->local_size + info->saved_regs_size) &
			 k->mask;
	uint64_t old = start, found = 0, loc;

	if (!scan_for_return(k, start, RA_SEARCH_ALIGN_WORDS, &loc, &found))
		return start;
	start = loc;
	/*
	 * A context frame in an FPO system call stub that has returned: the
	 * word on top is its own instruction pointer; look above it.
	 */
	if (last->trust == TRUST_CONTEXT && info->type == 0 && old == start &&
	    found == last->regs.r[SW_IP]) {
		start = (start + 4) & k->mask;
		if (scan_for_return(k, start, RA_SEARCH_ALIGN_WORDS, &loc,
				    &found))
			start = loc;
	}
	return start;
}

/* The program Breakpad runs for a STACK WIN record without one. */
static const char *x86_default_program(const struct state *last,
				       const struct symfile_win *info,
				       bool *recover_ebp)
{
	*recover_ebp = true;
	if (info->program != NULL)
		return info->program;
	if (info->allocates_base_pointer)
		return "$eip .raSearchStart ^ = "
		       "$ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = "
		       "$esp .raSearchStart 4 + =";
	*recover_ebp = false;
	if (last->regs.valid & BIT(SW_R4))
		return "$eip .raSearchStart ^ = $esp .raSearchStart 4 + = "
		       "$ebx $ebx =";
	return "$eip .raSearchStart ^ = $esp .raSearchStart 4 + =";
}

/*
 * After a scan moved the return address OFFSET bytes up, or when %ebp
 * does not point into the stack: the highest word of the saved-register
 * area that does.
 */
static uint64_t x86_recover_ebp(const struct walker *k,
				const struct state *last,
				const struct symfile_win *info,
				uint32_t callee_params, uint64_t offset)
{
	uint64_t end = (last->regs.r[SW_SP] + callee_params) & k->mask;
	uint64_t at = (end + info->saved_regs_size + offset) & k->mask;
	uint64_t ebp, unused;

	for (; at >= end; at -= 4) {
		if (!read_word(k, at, &ebp))
			break;
		if (read_word(k, ebp, &unused))
			return ebp;
		if (at < 4)
			break;
	}
	return UINT64_MAX;
}

/* GetCallerByWindowsFrameInfo for a full STACK WIN record. */
static bool x86_by_win(const struct walker *k, const struct state *last,
		       const struct symfile_win *info, struct state *next)
{
	uint32_t callee = k->have_callee_params ? k->callee_params : 0;
	uint64_t ra_start = x86_ra_search_start(k, last, info, callee);
	bool recover_ebp;
	const char *prog = x86_default_program(last, info, &recover_ebp);
	enum frame_trust trust = TRUST_CFI;
	struct eval e;
	uint64_t eip = 0, esp = 0, ebp = 0, offset = 0, loc = 0;

	if (strchr(prog, '@') != NULL)
		ra_start = (last->regs.r[SW_FP] + 4) & k->mask;
	if (!eval_init(&e, k, &last->regs) ||
	    !eval_set(&e, ".cbCalleeParams", callee) ||
	    !eval_set(&e, ".cbSavedRegs", info->saved_regs_size) ||
	    !eval_set(&e, ".cbLocals", info->local_size) ||
	    !eval_set(&e, ".cbParams", info->param_size) ||
	    !eval_set(&e, ".raSearchStart", ra_start) ||
	    !eval_set(&e, ".raSearch", ra_start))
		return false;
	struct evar *veip = NULL, *vesp = NULL;

	if (eval_program(&e, prog)) {
		veip = eval_var(&e, "$eip", 4, false);
		vesp = eval_var(&e, "$esp", 4, false);
	}
	if (veip == NULL || !veip->assigned || vesp == NULL ||
	    !vesp->assigned) {
		/* The program failed: scan from %esp. */
		if (!scan_for_return(k, last->regs.r[SW_SP], scan_words(last),
				     &loc, &eip) ||
		    !eval_set(&e, "$eip", eip) ||
		    !eval_set(&e, "$esp", loc + 4))
			return false;
		trust = TRUST_SCAN;
	}
	eval_get(&e, "$eip", &eip);
	eval_get(&e, "$esp", &esp);
	if (!eval_get(&e, "$ebp", &ebp))
		ebp = last->regs.r[SW_FP];
	if (eip != 0 || ebp != 0) {
		uint64_t from = (ra_start + 4) & k->mask, unused;

		if (model_module_at(k->w->a, eip) == NULL &&
		    scan_for_return(k, from, scan_words(last), &loc, &eip)) {
			esp = (loc + 4) & k->mask;
			offset = loc - from;
			trust = TRUST_SCAN; /* Breakpad's "CFI scan" */
		}
		if (recover_ebp &&
		    ((trust != TRUST_CFI && ebp <= ra_start + offset) ||
		     !read_word(k, ebp, &unused))) {
			uint64_t found = x86_recover_ebp(k, last, info, callee,
							 offset);

			if (found != UINT64_MAX)
				ebp = found;
		}
	}
	*next = *last;
	next->regs.r[SW_IP] = eip;
	next->regs.r[SW_SP] = esp;
	next->regs.r[SW_FP] = ebp;
	next->regs.valid = BIT(SW_IP) | BIT(SW_SP) | BIT(SW_FP);
	for (int r = SW_R4; r <= SW_R6; r++) {
		struct evar *v = eval_var(&e, stackwalk_reg_name(k->w->cpu, r),
					  4, false);

		if (v != NULL && v->assigned) {
			next->regs.r[r] = v->v;
			next->regs.valid |= BIT(r);
		}
	}
	next->trust = trust;
	return true;
}

/* ---- STACK CFI --------------------------------------------------------------- */

/* One "NAME: EXPR" rule; the name without its colon. */
struct cfi_rule {
	const char *name, *expr;
	size_t nlen, elen;
};

/* Add the rules of TEXT to R (*N of them); a later rule replaces one. */
static bool cfi_parse(const char *text, struct cfi_rule *r, size_t *n)
{
	struct cfi_rule *cur = NULL;
	const char *p = text;

	while (*p) {
		while (*p == ' ')
			p++;
		const char *t = p;

		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - t);

		if (len == 0)
			break;
		if (t[len - 1] != ':') {
			if (cur == NULL)
				return false; /* an expression without a name */
			if (cur->elen == 0)
				cur->expr = t;
			cur->elen = (size_t)(p - cur->expr);
			continue;
		}
		size_t i = 0;

		while (i < *n && !(r[i].nlen == len - 1 &&
				   memcmp(r[i].name, t, len - 1) == 0))
			i++;
		if (i == *n && (*n)++ == CFI_MAX_RULES)
			return false;
		cur = &r[i];
		*cur = (struct cfi_rule){ t, NULL, len - 1, 0 };
	}
	return true;
}

static const struct cfi_rule *cfi_find(const struct cfi_rule *r, size_t n,
				       const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (r[i].nlen == len && memcmp(r[i].name, name, len) == 0 &&
		    r[i].elen > 0)
			return &r[i];
	return NULL;
}

/* A rule's value, from the callee's registers and .cfa when given. */
static bool cfi_eval(const struct walker *k, const struct state *last,
		     const struct cfi_rule *rule, const uint64_t *cfa,
		     uint64_t *v)
{
	struct eval e;

	return eval_init(&e, k, &last->regs) &&
	       (cfa == NULL || eval_set(&e, ".cfa", *cfa)) &&
	       eval_value(&e, rule->expr, rule->elen, v);
}

/*
 * GetCallerByCFIFrameInfo: .cfa and .ra, then every register with a rule;
 * the stack pointer is the CFA and the instruction pointer the return
 * address unless a rule says otherwise; callee-saved registers without a
 * rule keep their values.
 */
static bool by_cfi(const struct walker *k, const struct state *last,
		   struct state *next)
{
	const char *recs[CFI_MAX_RECORDS];
	struct cfi_rule rules[CFI_MAX_RULES];
	size_t n = 0, nrec;
	uint64_t rel, cfa, ra;
	const struct symfile *f = symbols_at(k, lookup_address(k, last), &rel);

	if (f == NULL)
		return false;
	nrec = symfile_find_cfi(f, rel, recs, CFI_MAX_RECORDS);
	if (nrec == 0 || nrec == SIZE_MAX)
		return false;
	for (size_t i = 0; i < nrec; i++)
		if (!cfi_parse(recs[i], rules, &n))
			return false;
	const struct cfi_rule *rc = cfi_find(rules, n, ".cfa");
	const struct cfi_rule *rr = cfi_find(rules, n, ".ra");

	if (rc == NULL || rr == NULL || !cfi_eval(k, last, rc, NULL, &cfa) ||
	    !cfi_eval(k, last, rr, &cfa, &ra))
		return false;
	*next = *last;
	next->regs.valid = 0;
	next->regs.r[SW_IP] = ra;
	next->regs.r[SW_SP] = cfa;
	for (int r = 0; r < SW_NREGS; r++) {
		const char *name = stackwalk_reg_name(k->w->cpu, r);
		const struct cfi_rule *rule =
			name != NULL ? cfi_find(rules, n, name) : NULL;
		uint64_t v;

		if (rule != NULL && cfi_eval(k, last, rule, &cfa, &v)) {
			next->regs.r[r] = v;
			next->regs.valid |= BIT(r);
		} else if (r == SW_IP || r == SW_SP ||
			   (r != SW_LR && (last->regs.valid & BIT(r)))) {
			next->regs.valid |= BIT(r);
		}
	}
	if (next->regs.r[SW_IP] == 0 || next->regs.r[SW_SP] == 0)
		return false;
	next->trust = TRUST_CFI;
	return true;
}

/* ---- amd64 ---------------------------------------------------------------- */

/*
 * GetCallerBySimulatingReturn (Windows, context frame only): a leaf that
 * has not touched the stack returns to the word at %rsp.
 */
static bool amd64_by_return(const struct walker *k, const struct state *last,
			    struct state *next)
{
	uint64_t loc, rip;

	if (!scan_for_return(k, last->regs.r[SW_SP], 1, &loc, &rip))
		return false;
	*next = *last;
	next->regs.r[SW_IP] = rip;
	next->regs.r[SW_SP] = loc + 8;
	/* Breakpad's "leaf" trust; a word read off the stack, as a scan's. */
	next->trust = TRUST_SCAN;
	return true;
}

static bool non_canonical(uint64_t p)
{
	return p > CANONICAL_LOW_MAX && p < CANONICAL_HIGH_MIN;
}

/* GetCallerByFramePointerRecovery, with its sanity checks. */
static bool amd64_by_rbp(const struct walker *k, const struct state *last,
			 struct state *next)
{
	uint64_t rbp = last->regs.r[SW_FP], rip, caller_rbp, unused;

	if (rbp % 8 != 0 || !read_word(k, rbp + 8, &rip) ||
	    !read_word(k, rbp, &caller_rbp) || non_canonical(rip))
		return false;
	uint64_t rsp = rbp + 16;

	if (rsp <= rbp || caller_rbp < rsp || !read_word(k, caller_rbp, &unused))
		return false;
	*next = *last;
	next->regs.r[SW_IP] = rip;
	next->regs.r[SW_SP] = rsp;
	next->regs.r[SW_FP] = caller_rbp;
	next->regs.valid = BIT(SW_IP) | BIT(SW_SP) | BIT(SW_FP);
	next->trust = TRUST_FRAME_POINTER;
	return true;
}

/* GetCallerByStackScan, passing on a plausible %rbp. */
static bool amd64_by_scan(const struct walker *k, const struct state *last,
			  struct state *next)
{
	uint64_t loc, rip, rbp = last->regs.r[SW_FP];

	if (!scan_for_return(k, last->regs.r[SW_SP], scan_words(last), &loc,
			     &rip))
		return false;
	*next = *last;
	next->regs.r[SW_IP] = rip;
	next->regs.r[SW_SP] = loc + 8;
	next->regs.valid = BIT(SW_IP) | BIT(SW_SP);
	next->trust = TRUST_SCAN;
	if (!(last->regs.valid & BIT(SW_FP)))
		return true;
	if (loc - 8 == rbp) {
		/* The callee pushed the caller's %rbp below the address. */
		uint64_t saved;

		if (read_word(k, rbp, &saved) && saved > loc) {
			next->regs.r[SW_FP] = saved;
			next->regs.valid |= BIT(SW_FP);
		}
	} else if (rbp >= loc + 8) {
		next->regs.valid |= BIT(SW_FP); /* left unchanged */
	}
	return true;
}

/* ---- arm64 ---------------------------------------------------------------- */

/*
 * CorrectRegLRByFramePointer: after a scan lr is unknown; when the
 * callee's frame record links to this frame's fp, its saved lr is ours.
 */
static void arm64_fix_lr(const struct walker *k, const struct state *prev,
			 struct state *last)
{
	uint64_t fp = last->regs.r[SW_FP], cfp, linked, lr;

	if (prev == NULL || fp <= last->regs.r[SW_SP])
		return;
	cfp = prev->regs.r[SW_FP];
	linked = 0;
	lr = 0;
	if (cfp != 0 && !read_word(k, cfp, &linked))
		return;
	if (fp != linked)
		return;
	if (cfp != 0 && !read_word(k, cfp + 8, &lr))
		return;
	last->regs.r[SW_LR] = lr;
}

/* GetCallerByFramePointer: the frame record at x29, the caller at lr. */
static bool arm64_by_fp(const struct walker *k, const struct state *prev,
			const struct state *last, struct state *next)
{
	struct state cur = *last;
	uint64_t fp, caller_fp = 0, caller_lr = 0;

	if (!(cur.regs.valid & BIT(SW_LR)))
		arm64_fix_lr(k, prev, &cur);
	fp = cur.regs.r[SW_FP];
	if (fp != 0 && (!read_word(k, fp, &caller_fp) ||
			!read_word(k, fp + 8, &caller_lr)))
		return false;
	*next = cur;
	next->regs.r[SW_FP] = caller_fp;
	next->regs.r[SW_SP] = fp != 0 ? fp + 16 : cur.regs.r[SW_SP];
	next->regs.r[SW_IP] = cur.regs.r[SW_LR];
	next->regs.r[SW_LR] = caller_lr;
	next->regs.valid = BIT(SW_IP) | BIT(SW_LR) | BIT(SW_FP) | BIT(SW_SP);
	next->trust = TRUST_FRAME_POINTER;
	return true;
}

/* GetCallerByStackScan for the CPUs that keep no frame pointer state. */
static bool generic_by_scan(const struct walker *k, const struct state *last,
			    struct state *next)
{
	uint64_t loc, ip;

	if (!scan_for_return(k, last->regs.r[SW_SP], scan_words(last), &loc,
			     &ip))
		return false;
	*next = *last;
	next->regs.r[SW_IP] = ip;
	next->regs.r[SW_SP] = (loc + k->psize) & k->mask;
	next->regs.valid = BIT(SW_IP) | BIT(SW_SP);
	next->trust = TRUST_SCAN;
	return true;
}

/* ---- the walk ------------------------------------------------------------- */

/*
 * x86: Breakpad's FindWindowsFrameInfo: a STACK WIN record, else the
 * covering FUNC's parameter size alone (which only the frame's callers
 * use); then GetCallerByWindowsFrameInfo for a full record.
 */
static bool x86_by_symbols(const struct walker *k, struct state *last,
			   struct state *next)
{
	struct symfile_win info;
	uint64_t rel;
	const struct symfile *f = symbols_at(k, lookup_address(k, last), &rel);

	if (f == NULL)
		return false;
	if (symfile_find_win(f, rel, &info)) {
		last->has_params = true;
		last->params = info.param_size;
		return x86_by_win(k, last, &info, next);
	}
	last->has_params = symfile_param_size(f, rel, &last->params);
	return false;
}

/* The caller of LAST (PREV is LAST's callee, or NULL). */
static bool caller_of(struct walker *k, const struct state *prev,
		      struct state *last, struct state *next)
{
	switch (k->w->cpu) {
	case SW_CPU_X86:
		return x86_by_symbols(k, last, next) || by_cfi(k, last, next) ||
		       x86_by_ebp(k, last, next);
	case SW_CPU_AMD64:
		if (by_cfi(k, last, next))
			return true;
		if (last->trust == TRUST_CONTEXT && k->w->windows &&
		    amd64_by_return(k, last, next))
			return true;
		if (!k->w->windows && amd64_by_rbp(k, last, next))
			return true;
		return amd64_by_scan(k, last, next);
	case SW_CPU_ARM64:
		return by_cfi(k, last, next) ||
		       arm64_by_fp(k, prev, last, next) ||
		       generic_by_scan(k, last, next);
	case SW_CPU_ARM:
		return by_cfi(k, last, next) || generic_by_scan(k, last, next);
	case SW_CPU_OTHER:
		break;
	}
	return false;
}

/* TerminateWalk: end of stack, or a stack pointer that does not grow. */
static bool terminates(const struct state *last, const struct state *next)
{
	uint64_t sp = next->regs.r[SW_SP], callee_sp = last->regs.r[SW_SP];

	if (next->regs.r[SW_IP] < MIN_RETURN_ADDRESS)
		return true;
	if (last->trust == TRUST_CONTEXT)
		return sp < callee_sp;
	return sp <= callee_sp;
}

size_t stackwalk_run(const struct sw_walk *w, const struct sw_regs *regs,
		     struct sw_frame *out)
{
	struct walker k = { w, 8, UINT64_MAX, false, 0 };
	struct state s[2], next;
	const struct state *prev = NULL;
	size_t n = 0;
	int cur = 0;

	if (w->max_frames == 0 || !(regs->valid & BIT(SW_IP)))
		return 0;
	if (w->cpu == SW_CPU_X86 || w->cpu == SW_CPU_ARM) {
		k.psize = 4;
		k.mask = UINT32_MAX;
	}
	s[cur] = (struct state){ *regs, TRUST_CONTEXT, false, 0 };
	for (;;) {
		out[n++] = (struct sw_frame){
			.ip = s[cur].regs.r[SW_IP] & k.mask,
			.instruction = lookup_address(&k, &s[cur]),
			.sp = s[cur].regs.r[SW_SP] & k.mask,
			.trust = s[cur].trust,
		};
		if (n >= w->max_frames || !caller_of(&k, prev, &s[cur], &next) ||
		    terminates(&s[cur], &next))
			break;
		if (!k.have_callee_params && s[cur].has_params) {
			k.have_callee_params = true;
			k.callee_params = s[cur].params;
		}
		next.has_params = false;
		s[!cur] = next;
		prev = &s[cur];
		cur = !cur;
	}
	return n;
}

/* Register names as STACK WIN and STACK CFI rules spell them. */
static const char *const reg_names[][SW_NREGS] = {
	[SW_CPU_X86] = { "$eip", "$esp", "$ebp", NULL, "$ebx", "$esi",
			 "$edi" },
	[SW_CPU_AMD64] = { "$rip", "$rsp", "$rbp", NULL, "$rbx", "$r12",
			   "$r13", "$r14", "$r15" },
	[SW_CPU_ARM] = { "pc", "sp", "r11", "lr", "r4", "r5", "r6", "r7",
			 "r8", "r9", "r10" },
	[SW_CPU_ARM64] = { "pc", "sp", "x29", "x30", "x19", "x20", "x21",
			   "x22", "x23", "x24", "x25", "x26", "x27", "x28" },
};

const char *stackwalk_reg_name(enum sw_cpu cpu, enum sw_reg r)
{
	if ((unsigned)cpu >= sizeof(reg_names) / sizeof(reg_names[0]) ||
	    (unsigned)r >= SW_NREGS)
		return NULL;
	return reg_names[cpu][r];
}
