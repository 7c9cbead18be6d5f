/*
 * self-dump: the process wrote its own dump.
 *
 * Processes dump themselves with the DbgHelp API (MiniDumpWriteDump, in
 * dbghelp.dll or, since Windows 8, dbgcore.dll), from an in-process crash
 * handler (Breakpad, Unreal's, Unity's) or for their own debugging reasons
 * (seed: Crash Dump Analysis Patterns part 52). The dump then shows the
 * writer at work: a thread inside dbghelp/dbgcore, or return addresses into
 * them on its stack (often only found by scanning the raw stack), and that
 * thread's own activity must not be mistaken for the crash. When the
 * crashing thread wrote the dump itself, its `frames` start at the
 * exception context and the writer shows only in `own_frames`, the walk
 * from where the thread really was; both are read by the same rules.
 * Breakpad's in-process handler writes the dump from a thread of its own
 * and names it in the dump (a->dump_thread_id). Evidence names the thread.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define MAX_THREAD_EVIDENCE 4
#define QUOTE_MAX 160
/*
 * A scanned stack word this close to a module's base points into its PE
 * headers: an HMODULE kept in a local variable, not a return address.
 */
#define PE_HEADER_SIZE 0x1000

/* Modules that write minidumps. */
static const char *const writer_modules[] = { "dbghelp", "dbgcore" };

/* In-process dump writers and crash handlers, as module!function globs. */
static const struct {
	const char *module;
	const char *function;
	const char *what;
} writer_frames[] = {
	{ "dbghelp", "MiniDumpWriteDump*", "DbgHelp MiniDumpWriteDump" },
	{ "dbgcore", "MiniDumpWriteDump*", "DbgHelp MiniDumpWriteDump" },
	{ "*", "google_breakpad::ExceptionHandler::WriteMinidump*",
	  "Breakpad's in-process exception handler" },
	{ "*", "google_breakpad::MinidumpGenerator::*",
	  "Breakpad's minidump generator" },
	{ "*", "crashpad::CrashpadClient::DumpWithoutCrash*",
	  "Crashpad dump request" },
	{ "*", "crashpad::CrashpadClient::DumpAndCrash*",
	  "Crashpad dump request" },
	{ "*", "crashpad::*UnhandledExceptionHandler*",
	  "Crashpad's in-process exception handler" },
	{ "*", "*ReportCrashUsingCrashReportClient*",
	  "Unreal Engine's crash reporter" },
	{ "*", "FWindowsPlatformCrashContext::*",
	  "Unreal Engine's crash reporter" },
	{ "*", "*WriteMiniDump*", "an in-process minidump writer" },
	{ "*", "*CreateMiniDump*", "an in-process minidump writer" },
};

/* Raw-stack text (dps/dds output) the model has no place for. */
static const char *const text_phrases[] = {
	"dbghelp!MiniDumpWriteDump",
	"dbgcore!MiniDumpWriteDump",
};

struct state {
	struct analysis *a;
	struct finding *f;
	size_t threads; /* threads reported */
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "self-dump",                        \
		   "The process dumped itself",                         \
		   (confidence), __VA_ARGS__)

static bool writer_module(const char *module)
{
	for (size_t i = 0; i < ARRAY_SIZE(writer_modules); i++)
		if (dmatch_module(module, writer_modules[i]))
			return true;
	return false;
}

/* False for a scanned word that points into a module's headers. */
static bool code_address(const struct frame *f)
{
	return f->trust != TRUST_SCAN || !f->has_module_offset ||
	       f->module_offset >= PE_HEADER_SIZE;
}

static const char *writer_frame(const struct frame *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(writer_frames); i++)
		if (dmatch_frame(f, writer_frames[i].module,
				 writer_frames[i].function))
			return writer_frames[i].what;
	return NULL;
}

/* Evidence text of F: "dbghelp!MiniDumpWriteDump", "dbgcore.dll+0x6a80". */
static void frame_text(const struct frame *f, char *out, size_t size)
{
	if (f->function != NULL)
		snprintf(out, size, "%s!%s", f->module, f->function);
	else if (f->has_module_offset)
		snprintf(out, size, "%s+0x%" PRIx64, f->module,
			 f->module_offset);
	else
		snprintf(out, size, "%s", f->module);
}

/*
 * Confidence that a frame in dbghelp/dbgcore means a dump being written,
 * and how the frame was found, into *WHAT.
 */
static int module_frame(const struct frame *f, size_t index,
			const char **what)
{
	if (f->trust == TRUST_SCAN) {
		*what = "return address found by stack scan";
		return 75; /* may be residue of an earlier call */
	}
	if (index == 0 && f->trust == TRUST_CONTEXT) {
		*what = "instruction pointer";
		return 90;
	}
	*what = "return address";
	return 85;
}

/* The best writer frame found so far on one thread. */
struct best {
	const struct frame *f;
	const char *what;
	int conf;
	size_t at;      /* frame index */
	bool own;       /* in own_frames */
	size_t scanned; /* scanned writer-module addresses in that list */
};

/*
 * One list of frames (N frames at V; OWN: the thread's own_frames): keep
 * in *B the best sign of a dump writer. Ties go to the list read first.
 */
static void check_frames(const struct frame *v, size_t n, bool own,
			 struct best *b)
{
	size_t scanned = 0;
	bool better = false;

	for (size_t i = 0; i < n; i++) {
		const struct frame *f = &v[i];
		const char *w = writer_frame(f);
		int c;

		if (w != NULL) {
			c = 95;
		} else if (writer_module(f->module) && code_address(f)) {
			c = module_frame(f, i, &w);
			scanned += f->trust == TRUST_SCAN;
		} else {
			continue;
		}
		if (c > b->conf) {
			*b = (struct best){ f, w, c, i, own, 0 };
			better = true;
		}
	}
	if (better)
		b->scanned = scanned;
}

/*
 * One thread: the best sign it writes a dump, as evidence. A named writer
 * frame beats an instruction pointer inside dbghelp, which beats a walked
 * return address, which beats a scanned one (stack residue). The frames
 * walked from the exception context come first, then those walked from
 * the thread's own context.
 */
static int check_thread(struct state *s, size_t index)
{
	const struct thread *t = &s->a->threads.v[index];
	struct best b = { .f = NULL };
	char text[256], name[192];

	check_frames(t->frames.v, t->frames.n, false, &b);
	check_frames(t->own_frames.v, t->own_frames.n, true, &b);
	if (b.f == NULL)
		return DF_OK;
	frame_text(b.f, text, sizeof(text));
	s->threads++;
	if (s->threads > MAX_THREAD_EVIDENCE)
		return DF_OK;
	dmatch_thread_name(s->a, index, name, sizeof(name));
	return add(s, b.conf, "%s: %sframe %zu %s (%s)%s", name,
		   b.own ? "walked from its own context (not the exception's), "
			 : "",
		   b.at, text, b.what,
		   b.scanned > 1 ? "; more such addresses on its stack" : "");
}

/* Breakpad's info stream names the thread its handler wrote the dump on. */
static int check_breakpad(struct state *s)
{
	const struct analysis *a = s->a;

	if (!a->has_dump_thread_id)
		return DF_OK;
	return add(s, 90,
		   "dump written by Breakpad's in-process exception handler "
		   "on thread id 0x%" PRIx64 " (%" PRIu64 "), its own thread, "
		   "left out of the thread list",
		   a->dump_thread_id, a->dump_thread_id);
}

static int check_text(struct state *s)
{
	const struct analysis *a = s->a;
	char quote[QUOTE_MAX + 1];

	for (size_t i = 0; a->text != NULL && i < ARRAY_SIZE(text_phrases);
	     i++) {
		const char *p = dmatch_text(a, text_phrases[i]);
		const char *line;

		if (p == NULL)
			continue;
		size_t n = dmatch_line(a, p, &line);

		if (n > QUOTE_MAX)
			n = QUOTE_MAX;
		memcpy(quote, line, n);
		quote[n] = '\0';
		return add(s, 80,
			   "DbgHelp dump writer in the raw stack: \"%s\"",
			   quote);
	}
	return DF_OK;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < a->threads.n; i++)
		rc = check_thread(&s, i);
	if (rc == DF_OK && s.threads > MAX_THREAD_EVIDENCE)
		rc = add(&s, 0, "%zu more threads show the dump writer",
			 s.threads - MAX_THREAD_EVIDENCE);
	if (rc == DF_OK)
		rc = check_breakpad(&s);
	if (rc == DF_OK)
		rc = check_text(&s);
	return rc;
}

const struct detector detector_self_dump = {
	.id = "self-dump",
	.title = "The process dumped itself (DbgHelp or an in-process crash "
		 "handler)",
	.description = "MiniDumpWriteDump or crash-handler frames, return addresses into dbghelp/dbgcore, Breakpad dump thread",
	.run = run,
};
