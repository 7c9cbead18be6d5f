/*
 * dynamic-memory-corruption: the kernel pool (or kernel heap) is corrupt.
 *
 * If kernel pools are corrupt, calls that allocate or free memory bugcheck
 * with 0xC2 or 0x19, less often with 0xC5, 0xDE, 0xD0, 0xD6, 0xCD, 0xC6;
 * with special pool enabled 0xC1, 0xD5, 0xCC; Windows 10 and later report
 * segment-heap corruption as 0x13A (seed: Crash Dump Analysis Patterns
 * part 2b). The pool subtype is in Arg1 for 0x19, 0xC2 and 0x13A. !pool and
 * !poolval output in a debugger log confirms it ("Pool page [...] is
 * __inVALID"). The corrupt pool is usually not the culprit's own, so the
 * evidence names the module the analysis blames as a suspect only.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bugcheck.h"
#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define LINE_MAX_QUOTE 160

/* The pool bugchecks, with what each says about the pool. */
static const struct {
	uint32_t code;
	const char *meaning;
} pool_bugchecks[] = {
	{ 0x19, "the pool is already corrupt at the time of the request" },
	{ 0xC1, "special pool detected memory corruption" },
	{ 0xC2, "the current thread made a bad pool request" },
	{ 0xC5, "a driver accessed pool memory that was corrupt or freed "
		"at a raised IRQL" },
	{ 0xC6, "a driver wrote to pool memory it had already freed" },
	{ 0xCC, "a reference to freed special pool" },
	{ 0xCD, "a reference beyond the end of a pool allocation" },
	{ 0xD0, "a driver corrupted the memory manager's pool" },
	{ 0xD5, "a driver referenced freed special pool" },
	{ 0xD6, "a driver referenced memory beyond the end of its pool "
		"allocation" },
	{ 0xDE, "pool corruption in the file area (a driver corrupted "
		"pool memory used for holding pages destined for disk)" },
	{ 0x13A, "the kernel mode heap manager detected corruption in a "
		 "heap" },
};

/* Arg1 subtypes worth naming; others are printed as numbers. */
struct subtype {
	uint32_t code;
	uint64_t arg1;
	const char *text;
	bool corruption; /* false: a bad request, not a corrupt pool */
};

static const struct subtype subtypes[] = {
	/* BAD_POOL_HEADER (0x19) */
	{ 0x19, 0x2, "the verifier pool pattern check failed: the owner has "
		     "likely corrupted the pool block", true },
	{ 0x19, 0x3, "the pool free list is corrupt", true },
	{ 0x19, 0x5, "a pair of adjacent pool entries have headers that "
		     "contradict each other", true },
	{ 0x19, 0x20, "a pool block header size is corrupt", true },
	{ 0x19, 0x21, "the data following the pool block being freed is "
		      "corrupt (the block was overrun)", true },
	/* BAD_POOL_CALLER (0xC2) */
	{ 0xC2, 0x0, "the caller is requesting a zero byte pool allocation",
	  false },
	{ 0xC2, 0x1, "the pool header has been corrupted", true },
	{ 0xC2, 0x2, "the pool header has been corrupted", true },
	{ 0xC2, 0x4, "the pool header has been corrupted", true },
	{ 0xC2, 0x6, "attempt to free pool which was already freed", true },
	{ 0xC2, 0x7, "attempt to free pool which was already freed", true },
	{ 0xC2, 0x8, "attempt to allocate pool at an invalid IRQL", false },
	{ 0xC2, 0x9, "attempt to free pool at an invalid IRQL", false },
	{ 0xC2, 0x40, "attempt to free a user-mode address to kernel pool",
	  false },
	{ 0xC2, 0x41, "attempt to free a non-allocated nonpaged pool "
		      "address", true },
	{ 0xC2, 0x42, "attempt to free an address that was never in any "
		      "pool", false },
	{ 0xC2, 0x43, "attempt to free an address that was never in any "
		      "pool", false },
	{ 0xC2, 0x99, "attempt to free pool with an invalid address (or "
		      "corruption in the pool header)", true },
};

/*
 * KERNEL_MODE_HEAP_CORRUPTION (0x13A) Arg1 is the heap failure type
 * (_HEAP_FAILURE_TYPE in ntdll/ntoskrnl symbols).
 */
static const char *const heap_failures[] = {
	"internal", "unknown", "generic", "entry corruption",
	"multiple entries corruption", "virtual block corruption",
	"buffer overrun", "buffer underrun", "block not busy (double free)",
	"invalid argument", "invalid allocation type", "use after free",
	"cross-heap operation", "free lists corruption",
	"list entry corruption", "LFH bitmap mismatch",
	"segment LFH bitmap corruption", "segment LFH double free",
	"VS subsegment corruption", "null heap", "allocation limit",
	"commit limit", "invalid VA manager query",
};

/*
 * !pool / !poolval output that says the pool is corrupt; some phrases are
 * generic enough to need "Pool page" on the same line.
 */
static const struct {
	const char *phrase;
	bool needs_pool_page;
} pool_phrases[] = {
	{ "is __inVALID", true },
	{ "] is INVALID", true },
	{ "is freed (or corrupt) pool", false },
	{ "An error (or corruption) in the pool was detected", false },
	{ "Bad allocation size @", false },
	{ "Bad previous allocation size @", false },
};

/* Bucket strings some debugger versions give pool corruption. */
static const char *const bucket_keys[] = {
	"FAILURE_BUCKET_ID", "BUCKET_ID", "DEFAULT_BUCKET_ID",
	"PRIMARY_PROBLEM_CLASS",
};

static const char *pool_meaning(uint32_t code)
{
	for (size_t i = 0; i < ARRAY_SIZE(pool_bugchecks); i++)
		if (pool_bugchecks[i].code == code)
			return pool_bugchecks[i].meaning;
	return NULL;
}

static const struct subtype *find_subtype(uint32_t code, uint64_t arg1)
{
	for (size_t i = 0; i < ARRAY_SIZE(subtypes); i++)
		if (subtypes[i].code == code && subtypes[i].arg1 == arg1)
			return &subtypes[i];
	return NULL;
}

struct state {
	struct analysis *a;
	struct finding *f;
	int confidence;
	const char *title;
};

static int add(struct state *s, int confidence, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Create the finding on first use; later calls add evidence only. */
static int add(struct state *s, int confidence, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (s->f == NULL) {
		s->f = model_add_finding(s->a, "dynamic-memory-corruption",
					 s->title, confidence);
		if (s->f == NULL)
			return DF_ENOMEM;
	}
	if (confidence > s->f->confidence)
		s->f->confidence = confidence;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return model_add_evidence(s->a, s->f, "%s", line) == DF_ENOMEM
		       ? DF_ENOMEM
		       : DF_OK;
}

static int check_bugcheck(struct state *s)
{
	const struct bugcheck *b = &s->a->bugcheck;
	uint32_t code = b->code & ~(uint32_t)0x10000000;
	const char *meaning = pool_meaning(code);
	const char *name = b->name != NULL ? b->name : bugcheck_name(code);
	char line[512];
	int confidence = 85;

	if (!b->present || meaning == NULL)
		return DF_OK;
	if (code == 0x19 || code == 0xC2) {
		const struct subtype *st = find_subtype(code, b->args[0]);

		if (st != NULL && !st->corruption)
			confidence = 60;
		snprintf(line, sizeof(line),
			 "bugcheck 0x%" PRIX32 " %s: %s; Arg1 0x%" PRIx64
			 ": %s",
			 code, name != NULL ? name : "", meaning, b->args[0],
			 st != NULL ? st->text : "subtype not decoded");
	} else if (code == 0x13A) {
		uint64_t t = b->args[0];

		snprintf(line, sizeof(line),
			 "bugcheck 0x13A %s: %s; Arg1 0x%" PRIx64
			 ": heap failure type %s, heap 0x%" PRIx64
			 ", corrupt address 0x%" PRIx64,
			 name != NULL ? name : "", meaning, t,
			 t < ARRAY_SIZE(heap_failures) ? heap_failures[t]
						       : "(unknown)",
			 b->args[1], b->args[2]);
	} else {
		snprintf(line, sizeof(line), "bugcheck 0x%" PRIX32 " %s: %s",
			 code, name != NULL ? name : "", meaning);
	}
	return add(s, confidence, "%s", line);
}

/* The first line of the text quoting a pool-corruption phrase, or 0. */
static size_t pool_line(const struct analysis *a, const char **line)
{
	for (size_t i = 0; i < ARRAY_SIZE(pool_phrases); i++) {
		const char *p = a->text;

		while ((p = dmatch_find(p, a->text_len - (size_t)(p - a->text),
					pool_phrases[i].phrase)) != NULL) {
			size_t n = dmatch_line(a, p, line);

			if (!pool_phrases[i].needs_pool_page ||
			    dmatch_find(*line, n, "Pool page") != NULL)
				return n;
			p += strlen(pool_phrases[i].phrase);
		}
	}
	return 0;
}

static int check_pool_text(struct state *s)
{
	char quote[LINE_MAX_QUOTE + 1];
	const char *line;
	size_t n = s->a->text != NULL ? pool_line(s->a, &line) : 0;

	if (n == 0)
		return DF_OK;
	if (n > LINE_MAX_QUOTE)
		n = LINE_MAX_QUOTE;
	memcpy(quote, line, n);
	quote[n] = '\0';
	return add(s, 85, "!pool reports a corrupt pool: \"%s\"", quote);
}

static int check_buckets(struct state *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(bucket_keys); i++) {
		const char *v = model_field(s->a, bucket_keys[i]);

		if (dmatch_has(v, "POOL_CORRUPTION"))
			return add(s, 80, "debugger bucket %s", v);
	}
	return DF_OK;
}

static int run(struct analysis *a)
{
	struct state s = {
		.a = a,
		.title = "Dynamic memory corruption (kernel pool)",
	};
	int rc = check_bugcheck(&s);

	if (rc == DF_OK)
		rc = check_pool_text(&s);
	if (rc == DF_OK)
		rc = check_buckets(&s);
	if (rc != DF_OK || s.f == NULL)
		return rc;

	const char *pool = model_field(a, "POOL_ADDRESS");

	if (pool != NULL &&
	    model_add_evidence(a, s.f, "pool address %s", pool) == DF_ENOMEM)
		return DF_ENOMEM;
	if (a->blame_module != NULL &&
	    model_add_evidence(a, s.f,
			       "suspect module: %s (%s); the pool may have "
			       "been corrupted earlier by another component",
			       a->blame_module,
			       a->blame_reason != NULL ? a->blame_reason
						       : "blamed") ==
		    DF_ENOMEM)
		return DF_ENOMEM;
	return DF_OK;
}

const struct detector detector_dynamic_memory_corruption = {
	.id = "dynamic-memory-corruption",
	.title = "Kernel pool corruption (dynamic memory corruption)",
	.run = run,
};
