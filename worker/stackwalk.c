/*
 * stackwalk - Breakpad's stack walking rules (src/processor/stackwalker*.cc)
 * restated: one function per way of finding a caller, tried in the order
 * the CPU's walker tries them, and one termination test for all.
 */
#include "stackwalk.h"

#include <string.h>

#include "model.h"

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

#define BIT(r) (1u << (r))

struct walker {
	const struct sw_walk *w;
	unsigned psize;
	uint64_t mask; /* addresses wrap at the CPU's width */
};

/* One stack frame as the walk keeps it: its registers and how found. */
struct state {
	struct sw_regs regs;
	enum frame_trust trust;
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

/* Breakpad's InstructionAddressSeemsValid without symbols. */
static bool seems_valid(const struct walker *k, uint64_t addr)
{
	return model_module_at(k->w->a, addr & k->mask) != NULL;
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

/* The caller of LAST (PREV is LAST's callee, or NULL). */
static bool caller_of(const struct walker *k, const struct state *prev,
		      const struct state *last, struct state *next)
{
	switch (k->w->cpu) {
	case SW_CPU_X86:
		return x86_by_ebp(k, last, next);
	case SW_CPU_AMD64:
		if (last->trust == TRUST_CONTEXT && k->w->windows &&
		    amd64_by_return(k, last, next))
			return true;
		if (!k->w->windows && amd64_by_rbp(k, last, next))
			return true;
		return amd64_by_scan(k, last, next);
	case SW_CPU_ARM64:
		return arm64_by_fp(k, prev, last, next) ||
		       generic_by_scan(k, last, next);
	case SW_CPU_ARM:
		return generic_by_scan(k, last, next);
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
	struct walker k = { w, 8, UINT64_MAX };
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
	s[cur] = (struct state){ *regs, TRUST_CONTEXT };
	for (;;) {
		out[n++] = (struct sw_frame){ s[cur].regs.r[SW_IP] & k.mask,
					      s[cur].regs.r[SW_SP] & k.mask,
					      s[cur].trust };
		if (n >= w->max_frames || !caller_of(&k, prev, &s[cur], &next) ||
		    terminates(&s[cur], &next))
			break;
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
