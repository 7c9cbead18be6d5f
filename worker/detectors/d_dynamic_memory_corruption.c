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
#include <stdbool.h>
#include <stdint.h>
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

/*
 * BAD_POOL_CALLER (0xC2) subtypes that are a bad request rather than a
 * corrupt pool: a zero-byte or tagless allocation, the wrong IRQL, an
 * address that was never pool. What each subtype means is in the bugcheck
 * knowledge base (worker/data/bugcheck-args.tsv).
 */
static const uint64_t c2_bad_requests[] = {
	0x0, 0x8, 0x9, 0x40, 0x42, 0x43, 0x60, 0x9A, 0x9B, 0x9C, 0x9D,
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

/* True when bugcheck CODE with ARG1 is a bad pool request only. */
static bool bad_request(uint32_t code, uint64_t arg1)
{
	if (code != 0xC2)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(c2_bad_requests); i++)
		if (c2_bad_requests[i] == arg1)
			return true;
	return false;
}

struct state {
	struct analysis *a;
	struct finding *f;
	int confidence;
	const char *title;
};

/* Create the finding on first use; later calls add evidence only. */
/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "dynamic-memory-corruption",        \
		   (s)->title,                                          \
		   (confidence), __VA_ARGS__)

static int check_bugcheck(struct state *s)
{
	const struct bugcheck *b = &s->a->bugcheck;
	uint32_t code = bugcheck_base_code(b->code);
	const char *meaning = pool_meaning(code);
	const char *name = b->name != NULL ? b->name
					   : bugcheck_display_name(code);
	const char *sub = bugcheck_arg_value_meaning(code, 1, b->args[0]);
	char line[512];
	int confidence = 85;

	if (!b->present || meaning == NULL)
		return DF_OK;
	if (code == 0x19 || code == 0xC2) {
		if (bad_request(code, b->args[0]))
			confidence = 60;
		snprintf(line, sizeof(line),
			 "bugcheck 0x%" PRIX32 " %s: %s; Arg1 0x%" PRIx64
			 ": %s",
			 code, name, meaning, b->args[0],
			 sub != NULL ? sub : "subtype not decoded");
	} else if (code == 0x13A) {
		snprintf(line, sizeof(line),
			 "bugcheck 0x13A %s: %s; Arg1 0x%" PRIx64
			 ": heap failure type %s, heap 0x%" PRIx64
			 ", corrupt address 0x%" PRIx64,
			 name, meaning, b->args[0],
			 sub != NULL ? sub : "(unknown)", b->args[1],
			 b->args[2]);
	} else {
		snprintf(line, sizeof(line), "bugcheck 0x%" PRIX32 " %s: %s",
			 code, name, meaning);
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
