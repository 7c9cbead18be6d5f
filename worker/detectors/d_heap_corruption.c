/*
 * heap-corruption: a user-mode process heap is corrupt.
 *
 * The Windows heap manager reports corruption it detects by raising
 * STATUS_HEAP_CORRUPTION (0xC0000374) through RtlReportCriticalFailure, by
 * breaking into an attached debugger (RtlpBreakPointHeap, with a
 * "HEAP[app.exe]: ..." message), or through Application Verifier / page
 * heap stops. Its own frames (RtlpLogHeapFailure, RtlpReportHeapFailure,
 * RtlpHeapHandleError, ...) stay on the stack of the thread that noticed.
 * Kernel pool and kernel heap corruption (bugchecks) belong to
 * dynamic-memory-corruption, not here.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define STATUS_HEAP_CORRUPTION 0xC0000374u
#define QUOTE_MAX 160
#define MAX_THREAD_EVIDENCE 4

/* Frames only the heap manager's failure path runs. */
static const struct {
	const char *module;
	const char *function;
} heap_failure_frames[] = {
	{ "ntdll", "RtlpLogHeapFailure" },
	{ "ntdll", "RtlpReportHeapFailure" },
	{ "ntdll", "RtlpHeapHandleError" },
	{ "ntdll", "RtlpHpHeapHandleError" },
	{ "ntdll", "RtlpBreakPointHeap" },
	{ "ntdll", "RtlpHeapFailure*" },
	{ "ntdll", "RtlpDph*Corrupt*" },    /* page heap */
	{ "verifier", "AVrfpDph*Corrupt*" }, /* Application Verifier */
	{ "verifier", "*HeapCorruption*" },
};

/* Texts the heap manager, the CRT debug heap or Application Verifier print. */
static const struct {
	const char *phrase;
	const char *also; /* must be on the same line too; NULL: no */
	const char *what;
	bool stack;       /* stack text: only when no frame said it */
} heap_phrases[] = {
	{ "Critical error detected c0000374", NULL,
	  "the heap manager reported a critical error", false },
	{ "HEAP[", "]: ", "the heap manager's debug output", false },
	{ "HEAP: Free Heap block", NULL, "the heap manager's debug output",
	  false },
	{ "HEAP CORRUPTION DETECTED", NULL, "the CRT debug heap", false },
	{ "VERIFIER STOP", "heap", "an Application Verifier heap stop",
	  false },
	{ "ntdll!RtlpLogHeapFailure", NULL, "heap failure frame", true },
	{ "ntdll!RtlpReportHeapFailure", NULL, "heap failure frame", true },
	{ "ntdll!RtlpHeapHandleError", NULL, "heap failure frame", true },
	{ "ntdll!RtlpBreakPointHeap", NULL, "heap failure frame", true },
};

/* !analyze keys whose value names heap corruption. */
static const char *const bucket_keys[] = {
	"FAILURE_BUCKET_ID", "BUCKET_ID", "DEFAULT_BUCKET_ID",
	"PRIMARY_PROBLEM_CLASS", "BUGCHECK_STR", "FAILURE_ID_HASH_STRING",
	"EXCEPTION_CODE_STR", "ERROR_CODE",
};

struct state {
	struct analysis *a;
	struct finding *f;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "heap-corruption",                  \
		   "User-mode heap corruption",                         \
		   (confidence), __VA_ARGS__)

static int check_exception(struct state *s)
{
	const struct crash *c = &s->a->crash;

	if (c->has_code && c->code == STATUS_HEAP_CORRUPTION)
		return add(s, 95,
			   "exception 0x%08" PRIX32
			   " STATUS_HEAP_CORRUPTION raised by the heap manager",
			   c->code);
	if (dmatch_has(c->type, "HEAP_CORRUPTION"))
		return add(s, 90, "crash reason %s", c->type);
	return DF_OK;
}

static bool heap_failure_frame(const struct frame *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(heap_failure_frames); i++)
		if (dmatch_frame(f, heap_failure_frames[i].module,
				 heap_failure_frames[i].function))
			return true;
	return false;
}

/* Heap failure frames on any thread; *REPORTED counts the threads. */
static int check_frames(struct state *s, size_t *reported)
{
	const struct analysis *a = s->a;
	const struct thread *crashed = model_crashing_thread(a);

	char name[192];

	for (size_t t = 0; t < a->threads.n; t++) {
		const struct thread *th = &a->threads.v[t];

		for (size_t i = 0; i < th->frames.n; i++) {
			const struct frame *f = &th->frames.v[i];

			if (!heap_failure_frame(f))
				continue;
			dmatch_thread_name(a, t, name, sizeof(name));
			int rc = add(s, th == crashed ? 90 : 75,
				     "%s: frame %zu %s!%s", name, i, f->module,
				     f->function);

			if (rc != DF_OK)
				return rc;
			(*reported)++;
			break; /* one frame per thread says enough */
		}
		if (*reported == MAX_THREAD_EVIDENCE)
			break;
	}
	return DF_OK;
}

static int check_text(struct state *s, bool have_frames)
{
	const struct analysis *a = s->a;
	char quote[QUOTE_MAX + 1];

	if (a->text == NULL)
		return DF_OK;
	for (size_t i = 0; i < ARRAY_SIZE(heap_phrases); i++) {
		const char *p = a->text, *line = NULL;
		size_t n = 0;

		if (heap_phrases[i].stack && have_frames)
			continue;
		while ((p = dmatch_find(p, a->text_len - (size_t)(p - a->text),
					heap_phrases[i].phrase)) != NULL) {
			n = dmatch_line(a, p, &line);
			if (heap_phrases[i].also == NULL ||
			    dmatch_find(p, n - (size_t)(p - line),
					heap_phrases[i].also) != NULL)
				break;
			p += strlen(heap_phrases[i].phrase);
		}
		if (p == NULL)
			continue;
		if (n > QUOTE_MAX)
			n = QUOTE_MAX;
		memcpy(quote, line, n);
		quote[n] = '\0';

		int rc = add(s, heap_phrases[i].stack ? 75 : 85, "%s: \"%s\"",
			     heap_phrases[i].what, quote);

		if (rc != DF_OK)
			return rc;
		have_frames = have_frames || heap_phrases[i].stack;
	}
	return DF_OK;
}

static int check_buckets(struct state *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(bucket_keys); i++) {
		const char *v = model_field(s->a, bucket_keys[i]);

		if (v == NULL || dmatch_has(v, "KERNEL_MODE_HEAP"))
			continue;
		if (dmatch_has(v, "HEAP_CORRUPTION") ||
		    dmatch_has(v, "c0000374"))
			return add(s, 90, "debugger reports %s: %s",
				   bucket_keys[i], v);
	}
	return DF_OK;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	size_t threads = 0;
	int rc;

	/* A bugcheck means kernel mode: that is pool corruption. */
	if (a->bugcheck.present || a->format == FORMAT_KERNEL_DUMP)
		return DF_OK;
	rc = check_exception(&s);
	if (rc == DF_OK)
		rc = check_frames(&s, &threads);
	if (rc == DF_OK)
		rc = check_text(&s, threads > 0);
	if (rc == DF_OK)
		rc = check_buckets(&s);
	if (rc != DF_OK || s.f == NULL || a->blame_module == NULL)
		return rc;
	return model_add_evidence(a, s.f,
				  "suspect module: %s (%s); the heap may have "
				  "been corrupted earlier by other code",
				  a->blame_module,
				  a->blame_reason != NULL ? a->blame_reason
							  : "blamed") ==
			       DF_ENOMEM
		       ? DF_ENOMEM
		       : DF_OK;
}

const struct detector detector_heap_corruption = {
	.id = "heap-corruption",
	.title = "User-mode heap corruption",
	.description = "exception 0xC0000374, heap-failure frames (RtlpLogHeapFailure...), HEAP[...] and verifier heap text",
	.run = run,
};
