/*
 * incorrect-stack-trace: the stack shown may not be the stack that ran.
 *
 * Seed: the Self-Dump example "might be Incorrect Stack Trace that
 * requires manual reconstruction", and part 2b's "WARNING: Stack unwind
 * information not available. Following frames may be wrong." A debugger
 * that cannot unwind says so; frames with an address but no module are
 * return addresses that point nowhere (data taken for a return address);
 * a crashing stack walked only by scanning the raw stack is a guess; an
 * empty crashing stack is no stack at all. Such a dump's signature is
 * marked low-trust, and the registry lowers the confidence of the other
 * findings. A frame 0 outside every module is not counted when it is the
 * instruction pointer the exception names (that is wild code, a true
 * stack) or comes from the thread's context, nor are the unsymbolised
 * user-mode frames below a kernel stack's system-call entry.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define QUOTE_MAX 160
#define MAX_LISTED 4	    /* addresses quoted per thread */
#define MAX_OTHER_THREADS 2 /* other threads given as evidence */
#define SIGNATURE_FRAMES 5  /* frames after frame 0 a signature reads */

/* Debugger warnings: the unwinder itself says the frames may be wrong. */
static const char *const warnings[] = {
	"Stack unwind information not available",
	"Frame IP not in any known module",
	"Following frames may be wrong",
};

/* !analyze keys whose presence says the walk failed. */
static const char *const bad_stack_keys[] = { "FRAME_ONE_INVALID" };

/* Bucket keys, and the bucket word of a stack that could not be walked. */
static const char *const bucket_keys[] = {
	"DEFAULT_BUCKET_ID",
	"FAILURE_BUCKET_ID",
	"BUCKET_ID",
	"PRIMARY_PROBLEM_CLASS",
};

/*
 * System-call entry frames: below them a kernel stack goes on in user
 * mode, whose modules a kernel dump does not list, so raw addresses there
 * are unsymbolised, not wrong.
 */
static const char *const syscall_frames[] = {
	"KiSystemServiceCopyEnd*", "KiSystemServiceExit*", "KiSystemService",
	"KiSystemCall64*",	   "KiSystemCall32*",	   "KiFastCallEntry*",
	"KiServiceExit*",
};

/* Keys whose value is an instruction pointer a frame 0 may rightly show. */
static const char *const ip_keys[] = {
	"IP_ON_HEAP",
	"IP_ON_STACK",
	"FAILED_INSTRUCTION_ADDRESS",
	"EXECUTE_ADDRESS",
};

struct state {
	struct analysis *a;
	struct finding *f;
	size_t other_threads;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "incorrect-stack-trace",            \
		   "Incorrect stack trace",                             \
		   (confidence), __VA_ARGS__)

/* Each warning once, its first line quoted; one line is quoted once. */
static int check_warnings(struct state *s)
{
	const struct analysis *a = s->a;
	const char *quoted[ARRAY_SIZE(warnings)] = { NULL };
	size_t nquoted = 0;
	char quote[QUOTE_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(warnings); i++) {
		const char *p = dmatch_text(a, warnings[i]), *line;
		bool again = false;

		if (p == NULL)
			continue;
		size_t n = dmatch_line(a, p, &line);

		for (size_t k = 0; k < nquoted; k++)
			again = again || quoted[k] == line;
		if (again)
			continue;
		quoted[nquoted++] = line;
		if (n > QUOTE_MAX)
			n = QUOTE_MAX;
		memcpy(quote, line, n);
		quote[n] = '\0';

		int rc = add(s, 80, "debugger warning: \"%s\"", quote);

		if (rc != DF_OK)
			return rc;
	}
	return DF_OK;
}

static int check_keys(struct state *s)
{
	const struct analysis *a = s->a;
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < ARRAY_SIZE(bad_stack_keys); i++)
		if (model_field(a, bad_stack_keys[i]) != NULL)
			rc = add(s, 75, "!analyze reports %s",
				 bad_stack_keys[i]);
	for (size_t i = 0; rc == DF_OK && i < ARRAY_SIZE(bucket_keys); i++) {
		const char *v = model_field(a, bucket_keys[i]);

		if (dmatch_has(v, "BAD_STACK")) {
			rc = add(s, 75,
				 "!analyze %s: %.100s: the stack could "
				 "not be walked",
				 bucket_keys[i], v);
			break;
		}
	}
	return rc;
}

/* Leading hex of a field value ("000001f3ef330000", "+e11ffa8"). */
static bool field_address(const char *v, uint64_t *out)
{
	char *end;

	if (v == NULL)
		return false;
	if (*v == '+')
		v++;
	if (!isxdigit((unsigned char)*v))
		return false;
	*out = strtoull(v, &end, 16);
	return *end == '\0' || *end == ' ' || *end == '`';
}

/*
 * Frame 0 outside every module is the true instruction pointer when it
 * comes from the thread's context or is the address the exception or
 * !analyze names as the instruction pointer.
 */
static bool true_ip(const struct analysis *a, const struct frame *f)
{
	uint64_t v;

	if (f->trust == TRUST_CONTEXT)
		return true;
	if (a->crash.has_ip && a->crash.ip == f->address)
		return true;
	for (size_t i = 0; i < a->fields.n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(ip_keys); k++)
			if (strcmp(a->fields.v[i].key, ip_keys[k]) == 0 &&
			    field_address(a->fields.v[i].value, &v) &&
			    v == f->address)
				return true;
	return false;
}

/* A frame with an address and no module, not found by a scan. */
static bool stray(const struct analysis *a, const struct frame *f, size_t i)
{
	if (!f->has_address || f->module != NULL || f->function != NULL ||
	    f->trust == TRUST_SCAN)
		return false;
	return i > 0 || !true_ip(a, f);
}

static bool syscall_frame(const struct frame *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscall_frames); i++)
		if (dmatch_frame(f, "nt*", syscall_frames[i]))
			return true;
	return false;
}

/* Frames of thread INDEX outside every module, as evidence. */
static int check_thread_frames(struct state *s, size_t index)
{
	const struct analysis *a = s->a;
	const struct thread *t = &a->threads.v[index];
	bool crashing = t == model_crashing_thread(a);
	char list[160], name[192];
	size_t pos = 0, count = 0, first = 0;

	list[0] = '\0';
	for (size_t i = 0; i < t->frames.n; i++) {
		if (syscall_frame(&t->frames.v[i]))
			break; /* the user-mode part follows */
		if (!stray(a, &t->frames.v[i], i))
			continue;
		if (count == 0)
			first = i;
		if (count < MAX_LISTED)
			dmatch_append(list, sizeof(list), &pos, "%s0x%" PRIx64,
				      count > 0 ? ", " : "",
				      t->frames.v[i].address);
		count++;
	}
	if (count == 0)
		return DF_OK;
	if (!crashing && ++s->other_threads > MAX_OTHER_THREADS)
		return DF_OK;
	dmatch_thread_name(a, index, name, sizeof(name));
	return add(s, crashing ? 85 : 65,
		   "%s: %zu frame%s outside every module from frame %zu (%s%s)",
		   name, count, count > 1 ? "s" : "", first, list,
		   count > MAX_LISTED ? ", ..." : "");
}

/*
 * The crashing stack's frames after frame 0, as far as a signature reads
 * them, were all found by scanning the raw stack for return addresses.
 */
static int check_scanned(struct state *s)
{
	const struct analysis *a = s->a;
	const struct thread *t = model_crashing_thread(a);
	size_t last;

	if (t == NULL || t->frames.n < 2)
		return DF_OK;
	last = t->frames.n - 1;
	if (last > SIGNATURE_FRAMES)
		last = SIGNATURE_FRAMES;
	for (size_t i = 1; i <= last; i++)
		if (t->frames.v[i].trust != TRUST_SCAN)
			return DF_OK;
	return add(s, 50,
		   "crashing thread: frames 1-%zu found only by scanning the "
		   "stack for return addresses (no unwind information); they "
		   "may be stale data",
		   last);
}

/* An exception or bugcheck, and the debugger printed no crashing stack. */
static int check_empty(struct state *s)
{
	const struct analysis *a = s->a;
	const struct thread *t = model_crashing_thread(a);

	if (t == NULL || t->frames.n > 0 ||
	    !(a->crash.present || a->bugcheck.present))
		return DF_OK;
	return add(s, 70,
		   "the crashing thread's stack is empty: the debugger "
		   "could not walk it");
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = DF_OK;

	if (a->text != NULL)
		rc = check_warnings(&s);
	if (rc == DF_OK)
		rc = check_keys(&s);
	for (size_t i = 0; rc == DF_OK && i < a->threads.n; i++)
		rc = check_thread_frames(&s, i);
	if (rc == DF_OK && s.other_threads > MAX_OTHER_THREADS)
		rc = add(&s, 0,
			 "%zu more threads have frames outside every "
			 "module",
			 s.other_threads - MAX_OTHER_THREADS);
	if (rc == DF_OK)
		rc = check_scanned(&s);
	if (rc == DF_OK)
		rc = check_empty(&s);
	if (s.f != NULL)
		a->signature_low_trust = true;
	return rc;
}

const struct detector detector_incorrect_stack_trace = {
	.id = "incorrect-stack-trace",
	.title = "Incorrect stack trace: the debugger could not unwind, or "
		 "frames point outside every module",
	.description = "unwind warnings, frames with an address but no "
		       "module, crashing stacks found only by scanning or "
		       "empty; marks the signature low-trust",
	.run = run,
};
