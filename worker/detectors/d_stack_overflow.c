/*
 * stack-overflow: a thread ran out of stack.
 *
 * In user mode the thread hits its stack's guard page and gets
 * EXCEPTION_STACK_OVERFLOW (0xC00000FD), usually from runaway recursion;
 * debuggers print "Stack overflow - code c00000fd" and !analyze buckets it
 * as STACK_OVERFLOW. In kernel mode an overflow shows as a double fault,
 * bugcheck 0x7F (or 0x1000007F) with Arg1 = 8: the kernel could not push
 * a trap frame (a double fault can also be hardware, so it counts for
 * less), or as 0x2B (PANIC_STACK_SWITCH). Once shown, a frame that repeats
 * many times on the crashing thread is named as the recursion.
 */
#include "bctable.h"
#include "registry.h"

#define ID "stack-overflow"
#define TITLE "Stack overflow"
#define MIN_REPEATS 16   /* a frame this often on one stack: recursion */

static const struct bct_code codes[] = {
	{ 0x7F, 1, 0x8, 80, "a double fault in kernel mode, usually a "
			    "kernel stack overflow" },
	{ 0x2B, 0, 0, 85, "the kernel-mode stack was overrun" },
};

static const struct bct_exception exceptions[] = {
	{ 0xC00000FD, 95, "the thread's stack overflowed" },
};

static const struct bct_phrase phrases[] = {
	{ "Stack overflow - code c00000fd", 90, "the debugger saw the stack "
						"overflow exception" },
	{ "c00000fd (Stack overflow)", 90, "the exception record is a stack "
					   "overflow" },
};

static const struct bct_field fields[] = {
	{ "EXCEPTION_CODE", "*c00000fd*", 90, "the exception is a stack "
					      "overflow" },
	{ "EXCEPTION_CODE_STR", "c00000fd", 90, "the exception is a stack "
						"overflow" },
	{ "FAILURE_BUCKET_ID", "STACK_OVERFLOW*", 85, "the debugger's bucket "
						      "for a stack "
						      "overflow" },
	{ "PRIMARY_PROBLEM_CLASS", "STACK_OVERFLOW*", 85, "the debugger's "
							  "problem class" },
};

/* Same code location: same module and function or module offset. */
static bool same_frame(const struct frame *a, const struct frame *b)
{
	if (a->module == NULL || b->module == NULL ||
	    strcmp(a->module, b->module) != 0)
		return false;
	if (a->function != NULL || b->function != NULL)
		return a->function != NULL && b->function != NULL &&
		       strcmp(a->function, b->function) == 0;
	return a->has_module_offset && b->has_module_offset &&
	       a->module_offset == b->module_offset;
}

/* The frame of T repeated most often, and how often (*COUNT). */
static const struct frame *most_repeated(const struct thread *t,
					 size_t *count)
{
	const struct frame *best = NULL;

	*count = 0;
	for (size_t i = 0; i < t->frames.n && *count < t->frames.n - i; i++) {
		size_t k = 1;

		for (size_t j = i + 1; j < t->frames.n; j++)
			k += same_frame(&t->frames.v[i], &t->frames.v[j]);
		if (k > *count) {
			*count = k;
			best = &t->frames.v[i];
		}
	}
	return best;
}

/* Name the recursion on the crashing thread, once the overflow is shown. */
static int recursion(struct bct_run *r)
{
	const struct thread *t = model_crashing_thread(r->a);
	const struct frame *f;
	size_t n;

	if (r->f == NULL || t == NULL)
		return DF_OK;
	f = most_repeated(t, &n);
	if (f == NULL || n < MIN_REPEATS)
		return DF_OK;
	if (f->function != NULL)
		return bct_add(r, 0, "%s!%s appears %zu times among the %zu "
			       "frames of the crashing thread: recursion",
			       f->module, f->function, n, t->frames.n);
	return bct_add(r, 0, "%s+0x%" PRIx64 " appears %zu times among the "
		       "%zu frames of the crashing thread: recursion",
		       f->module, f->module_offset, n, t->frames.n);
}

static const struct bct_spec spec = {
	.id = ID,
	.title = TITLE,
	.codes = codes,
	.n_codes = ARRAY_SIZE(codes),
	.exceptions = exceptions,
	.n_exceptions = ARRAY_SIZE(exceptions),
	.phrases = phrases,
	.n_phrases = ARRAY_SIZE(phrases),
	.fields = fields,
	.n_fields = ARRAY_SIZE(fields),
	.extra = recursion,
};

static int run(struct analysis *a)
{
	return bct_run(a, &spec);
}

const struct detector detector_stack_overflow = {
	.id = ID,
	.title = TITLE,
	.description = "exception C00000FD, bugcheck 7F with Arg1 8 (double "
		       "fault), 2B; debugger stack overflow text and buckets; "
		       "recursion",
	.run = run,
};
