/*
 * wild-code: the processor executed something that is not code.
 *
 * Seed: Crash Dump Analysis Patterns, part 55. When the instruction
 * pointer lands inside some valid memory that is not code, the crash is
 * Wild Code: !analyze says IP_ON_STACK, the stack listing shows "Frame IP
 * not in any known module" for frame 0, the minidump's crash IP lies in a
 * thread's stack or outside every module, the exception is an execute
 * access violation (data execution prevention), or the kernel bugchecked
 * with 0xFC ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY, or the minidump's
 * MemoryInfoList says the crash IP's page is not committed executable
 * memory (formats.md 1.17). An instruction pointer
 * whose bytes are text is the wild-pointer pattern instead, and a jump to
 * the first 64 KiB (a NULL function pointer) is neither.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define NULL_PAGES 0x10000 /* never mapped on Windows */
#define QUOTE_MAX 160
#define MAX_TEXT_HITS 16

/* Lines that head a stack listing: the line after one is frame 0. */
static const char *const stack_headers[] = {
	"ChildEBP", "Child-SP", "RetAddr", "Call Site", "STACK_TEXT:",
};

/* Exception texts of an execute access violation, address after them. */
static const char *const execute_phrases[] = {
	"Attempt to execute non-executable address ",
};

struct state {
	struct analysis *a;
	struct finding *f;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "wild-code",                        \
		   "Wild code",                                         \
		   (confidence), __VA_ARGS__)

/* Hex at S (backticks skipped, "0x" allowed) up to a space; false if none. */
static bool parse_hex(const char *s, const char *end, uint64_t *v)
{
	size_t digits = 0;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	*v = 0;
	for (; s < end && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n';
	     s++) {
		int c = (unsigned char)*s;

		if (c == '`')
			continue;
		if (!isxdigit(c) || ++digits > 16)
			return false;
		*v = *v << 4 |
		     (uint64_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	return digits > 0;
}

/* A code address that is neither NULL-ish nor text (wild-pointer's). */
static bool wild_candidate(uint64_t ip)
{
	struct dmatch_text t;

	return ip >= NULL_PAGES && !dmatch_value_text(ip, &t);
}

static int check_ip_on_stack(struct state *s)
{
	const char *v = model_field(s->a, "IP_ON_STACK");

	if (v == NULL)
		return DF_OK;
	return add(s, 90,
		   "!analyze reports IP_ON_STACK: %.40s: the instruction "
		   "pointer lies in stack memory",
		   *v != '\0' ? v : "(no value)");
}

static int check_bugcheck(struct state *s)
{
	const struct bugcheck *b = &s->a->bugcheck;

	if (!b->present || b->code != 0xFC)
		return DF_OK;
	return add(s, 90,
		   "bugcheck 0xFC ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY: "
		   "execution at 0x%" PRIx64
		   " (Arg1), in non-executable memory",
		   b->args[0]);
}

/* Minidumps: the crash IP inside a thread's stack memory. */
static int check_stack_range(struct state *s)
{
	const struct analysis *a = s->a;
	char name[192];

	if (!a->crash.has_ip || !wild_candidate(a->crash.ip))
		return DF_OK;
	for (size_t i = 0; i < a->threads.n; i++) {
		const struct thread *t = &a->threads.v[i];

		if (t->stack_size == 0 || a->crash.ip < t->stack_start ||
		    a->crash.ip - t->stack_start >= t->stack_size)
			continue;
		dmatch_thread_name(a, i, name, sizeof(name));
		return add(s, 90,
			   "instruction pointer 0x%" PRIx64
			   " lies in the stack "
			   "of %s (0x%" PRIx64 "-0x%" PRIx64 ")",
			   a->crash.ip, name, t->stack_start,
			   t->stack_start + t->stack_size);
	}
	return DF_OK;
}

/* The module list names no unloaded module at ADDR; else that module. */
static const struct module *unloaded_at(const struct analysis *a, uint64_t addr)
{
	for (size_t i = 0; i < a->modules.n; i++) {
		const struct module *m = &a->modules.v[i];

		if (m->unloaded && addr >= m->base && addr <= m->end)
			return m;
	}
	return NULL;
}

/*
 * The crash IP outside every loaded module. A log's module list is often
 * a partial `lm m` listing, so there the crashing stack's frame 0 must
 * have no module either; a minidump's list is the process's.
 */
static int check_outside_modules(struct state *s)
{
	const struct analysis *a = s->a;
	const struct thread *t = model_crashing_thread(a);
	uint64_t ip = a->crash.ip;
	size_t loaded = 0;

	if (!a->crash.has_ip || !wild_candidate(ip) ||
	    model_module_at(a, ip) != NULL)
		return DF_OK;
	for (size_t i = 0; i < a->modules.n; i++)
		loaded += !a->modules.v[i].unloaded;
	if (loaded == 0)
		return DF_OK;
	if (a->format != FORMAT_MINIDUMP &&
	    (t == NULL || t->frames.n == 0 || t->frames.v[0].module != NULL ||
	     t->frames.v[0].function != NULL))
		return DF_OK;

	const struct module *u = unloaded_at(a, ip);

	if (u != NULL)
		return add(s, 85,
			   "instruction pointer 0x%" PRIx64 " lies in %s, "
			   "a module that was unloaded",
			   ip, u->filename != NULL ? u->filename : "(no name)");
	return add(s, 80,
		   "instruction pointer 0x%" PRIx64 " is outside every loaded "
		   "module (%zu listed)",
		   ip, loaded);
}

/*
 * The minidump's own map of the address space: an IP in memory that is
 * free, only reserved, or committed without execute rights.
 */
static int check_ip_memory(struct state *s)
{
	const struct analysis *a = s->a;
	const struct mem_region *r = a->memory.ip_region;
	uint64_t ip = a->crash.ip;

	if (r == NULL || !wild_candidate(ip))
		return DF_OK;
	if (r->state != 0x1000) /* MEM_COMMIT */
		return add(s, 85,
			   "instruction pointer 0x%" PRIx64 " lies in memory "
			   "that is not committed (state 0x%x, region 0x%" PRIx64
			   " + 0x%" PRIx64 ")",
			   ip, r->state, r->base, r->size);
	if (!model_protect_executable(r->protect))
		return add(s, 85,
			   "instruction pointer 0x%" PRIx64 " lies in "
			   "committed memory without execute rights "
			   "(protection 0x%x, type 0x%x)",
			   ip, r->protect, r->type);
	return DF_OK;
}

/* An execute access violation: the CPU was sent into data memory. */
static int check_execute(struct state *s)
{
	const struct analysis *a = s->a;
	const char *v = model_field(a, "EXECUTE_ADDRESS");
	uint64_t x;

	if (v != NULL && parse_hex(v, v + strlen(v), &x) && wild_candidate(x) &&
	    model_module_at(a, x) == NULL)
		return add(s, 80,
			   "execute access violation at 0x%" PRIx64
			   " (EXECUTE_ADDRESS): code ran in non-executable "
			   "memory",
			   x);
	if (dmatch_has(a->crash.type, "_EXEC") && a->crash.has_address &&
	    wild_candidate(a->crash.address) &&
	    model_module_at(a, a->crash.address) == NULL)
		return add(s, 80,
			   "%s at 0x%" PRIx64 ": code ran in memory that is "
			   "not a module's code",
			   a->crash.type, a->crash.address);
	for (size_t i = 0; a->text != NULL && i < ARRAY_SIZE(execute_phrases);
	     i++) {
		const char *p = dmatch_text(a, execute_phrases[i]);

		if (p == NULL)
			continue;
		p += strlen(execute_phrases[i]);
		if (parse_hex(p, a->text + a->text_len, &x) &&
		    wild_candidate(x) && model_module_at(a, x) == NULL)
			return add(s, 75, "exception record: \"%s%" PRIx64 "\"",
				   execute_phrases[i], x);
	}
	return DF_OK;
}

/* The nearest non-blank line before the line holding P: its length. */
static size_t previous_line(const struct analysis *a, const char *p,
			    const char **start)
{
	while (p > a->text && p[-1] != '\n')
		p--; /* the start of P's line */
	while (p > a->text) {
		const char *b = p - 1; /* the previous line's '\n' */

		while (b > a->text && b[-1] != '\n')
			b--;
		size_t n = dmatch_line(a, b, start);

		if (n > 0)
			return n;
		p = b;
	}
	return 0;
}

static bool stack_header(const char *line, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(stack_headers); i++)
		if (dmatch_find(line, n, stack_headers[i]) != NULL)
			return true;
	return false;
}

/*
 * "WARNING: Frame IP not in any known module" right under a stack
 * header: frame 0 itself, the instruction pointer, is outside every
 * module. Lower down it only says the walk went astray
 * (incorrect-stack-trace).
 */
static int check_frame_ip_text(struct state *s)
{
	const struct analysis *a = s->a;
	const char *p = a->text, *end = a->text + a->text_len, *line, *prev;
	char quote[QUOTE_MAX + 1];

	for (size_t hits = 0;
	     hits < MAX_TEXT_HITS &&
	     (p = dmatch_find(p, (size_t)(end - p),
			      "Frame IP not in any known module")) != NULL;
	     hits++, p++) {
		size_t n = dmatch_line(a, p, &line);
		size_t pn = previous_line(a, line, &prev);

		if (pn == 0 || !stack_header(prev, pn))
			continue;
		if (n > QUOTE_MAX)
			n = QUOTE_MAX;
		memcpy(quote, line, n);
		quote[n] = '\0';
		return add(s, 75, "frame 0 of a stack listing: \"%s\"", quote);
	}
	return DF_OK;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = check_ip_on_stack(&s);

	if (rc == DF_OK)
		rc = check_bugcheck(&s);
	if (rc == DF_OK)
		rc = check_stack_range(&s);
	if (rc == DF_OK)
		rc = check_outside_modules(&s);
	if (rc == DF_OK)
		rc = check_ip_memory(&s);
	if (rc == DF_OK)
		rc = check_execute(&s);
	if (rc == DF_OK && a->text != NULL)
		rc = check_frame_ip_text(&s);
	return rc;
}

const struct detector detector_wild_code = {
	.id = "wild-code",
	.title = "Wild code: the instruction pointer is in the stack, outside "
		 "every module or in non-executable memory",
	.description = "IP_ON_STACK, bugcheck 0xFC, a crash IP in a thread's "
		       "stack, outside every module or (MemoryInfoList) in "
		       "memory that is not committed executable, execute "
		       "access violations, \"Frame IP not in any known "
		       "module\" at frame 0",
	.run = run,
};
