/*
 * zombie-processes: many exited processes are still in memory.
 *
 * A process that has exited stays in memory while anything holds a
 * reference to it, usually a process handle its parent (or a monitoring
 * service) never closed. `!vm` lists such processes with no private memory,
 * `!process` with "ObjectTable: 00000000", "HandleCount: 0" and "No active
 * threads" (seed: Crash Dump Analysis Patterns, part 54: over a hundred
 * cmd.exe processes, most with ParentCid 037c, MyService.exe, which kept
 * their process handles). A few are normal; DMATCH_ZOMBIE_MIN (dmatch.h,
 * shared with handle-leak) of them make the pattern. Evidence: their
 * count and why each counts, their image names, the parent most of them
 * share and what the log says of it. mex's `!tl` only counts them
 * ("Warning! Zombie process(es) detected (not displayed). Count: 5"): that
 * line adds to the evidence, but alone it names no process and no parent,
 * and a handful of zombies is everyday Windows 10 (which is why mex hides
 * them), so alone it makes a finding only from MEX_ONLY_MIN zombies on,
 * at a lower confidence.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define MAX_NAMES 32      /* distinct image names counted */
#define MAX_PARENTS 32    /* distinct parent ids counted */
#define SHOW_NAMES 8      /* image names in the evidence */
#define SHOW_PIDS 8       /* process ids in the evidence */
#define QUOTE_MAX 160
#define CONF_EXITED 85    /* ObjectTable 00000000 or no threads */
#define CONF_NO_MEMORY 70 /* only "0 private pages" from !vm */
#define CONF_MEX_COUNT 45 /* only mex's count */
#define MEX_ONLY_MIN 25   /* mex's count alone: a pile, not a handful */

static const char mex_phrase[] = "Zombie process(es) detected";

struct tally {
	const char *name; /* image, or NULL for a parent id */
	uint64_t id;
	size_t n;
	size_t first; /* order of first sight, for ties */
};

struct state {
	struct analysis *a;
	struct finding *f;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                              \
	detect_add((s)->a, &(s)->f, "zombie-processes",                      \
		   "Exited processes are kept in memory (zombie processes)", \
		   (confidence), __VA_ARGS__)

/* Count NAME (case-insensitive) or ID in T[0..*N); *N grows to MAX. */
static void tally(struct tally *t, size_t *n, size_t max, const char *name,
		  uint64_t id)
{
	for (size_t i = 0; i < *n; i++)
		if (name != NULL ? strcasecmp(t[i].name, name) == 0
				 : t[i].id == id) {
			t[i].n++;
			return;
		}
	if (*n < max) {
		t[*n] = (struct tally){ name, id, 1, *n };
		(*n)++;
	}
}

static int by_count(const void *x, const void *y)
{
	const struct tally *a = x, *b = y;

	if (a->n != b->n)
		return a->n < b->n ? 1 : -1;
	return a->first < b->first ? -1 : a->first > b->first;
}

/* The process with id PID, a live one first (ids are reused), or NULL. */
static const struct process *process_by_pid(const struct analysis *a,
					    uint64_t pid)
{
	const struct process *any = NULL;

	for (size_t i = 0; i < a->processes.n; i++) {
		const struct process *p = &a->processes.v[i];

		if (p->pid != pid)
			continue;
		if (!dmatch_zombie(p))
			return p;
		if (any == NULL)
			any = p;
	}
	return any;
}

/* "111 zombie processes: 2 with ObjectTable 00000000, ..." */
static int add_count(struct state *s, size_t zombies)
{
	const struct analysis *a = s->a;
	size_t no_table = 0, no_threads = 0, no_memory = 0;

	for (size_t i = 0; i < a->processes.n; i++) {
		const struct process *p = &a->processes.v[i];

		if (!dmatch_zombie(p))
			continue;
		no_table += p->object_table_null;
		no_threads += p->has_threads && p->active_threads == 0;
		no_memory += p->has_private && p->private_pages == 0;
	}
	return add(s, no_table + no_threads > 0 ? CONF_EXITED : CONF_NO_MEMORY,
		   "%zu zombie processes (exited but still in memory): %zu "
		   "with ObjectTable 00000000, %zu with no active threads, "
		   "%zu with no private memory (!vm)",
		   zombies, no_table, no_threads, no_memory);
}

static int add_names(struct state *s)
{
	const struct analysis *a = s->a;
	struct tally t[MAX_NAMES];
	size_t n = 0, unnamed = 0, pos = 0, shown = 0, pids = 0;
	char line[384], ids[128];

	for (size_t i = 0; i < a->processes.n; i++) {
		const struct process *p = &a->processes.v[i];

		if (!dmatch_zombie(p))
			continue;
		if (p->image != NULL)
			tally(t, &n, MAX_NAMES, p->image, 0);
		else
			unnamed++;
	}
	qsort(t, n, sizeof(t[0]), by_count);
	line[0] = '\0';
	for (size_t i = 0; i < n && i < SHOW_NAMES; i++)
		dmatch_append(line, sizeof(line), &pos, "%s%.40s x%zu",
			      i > 0 ? ", " : "", t[i].name, t[i].n);
	if (n > SHOW_NAMES)
		dmatch_append(line, sizeof(line), &pos, ", ... (%zu names)",
			      n);
	if (unnamed > 0)
		dmatch_append(line, sizeof(line), &pos, "%s%zu unnamed",
			      n > 0 ? ", " : "", unnamed);
	pos = 0;
	ids[0] = '\0';
	for (size_t i = 0; i < a->processes.n && shown < SHOW_PIDS; i++) {
		const struct process *p = &a->processes.v[i];

		if (!dmatch_zombie(p))
			continue;
		dmatch_append(ids, sizeof(ids), &pos, "%s%04" PRIx64,
			      shown++ > 0 ? " " : "", p->pid);
	}
	for (size_t i = 0; i < a->processes.n; i++)
		pids += dmatch_zombie(&a->processes.v[i]);
	return add(s, 0, "images: %s; process ids: %s%s", line, ids,
		   pids > SHOW_PIDS ? " ..." : "");
}

/* The parent most zombies share, when the log gives their parents. */
static int add_parent(struct state *s)
{
	const struct analysis *a = s->a;
	struct tally t[MAX_PARENTS];
	size_t n = 0, known = 0;

	for (size_t i = 0; i < a->processes.n; i++) {
		const struct process *p = &a->processes.v[i];

		/* 0 is "not given" (!vm rows) as well as the Idle process. */
		if (!dmatch_zombie(p) || p->ppid == 0)
			continue;
		known++;
		tally(t, &n, MAX_PARENTS, NULL, p->ppid);
	}
	if (n == 0)
		return DF_OK;
	qsort(t, n, sizeof(t[0]), by_count);

	const struct process *pp = process_by_pid(a, t[0].id);
	char who[160] = "";
	size_t pos = 0;

	if (pp != NULL && pp->image != NULL)
		dmatch_append(who, sizeof(who), &pos, " (%.64s", pp->image);
	if (pp != NULL && pp->has_handle_count)
		dmatch_append(who, sizeof(who), &pos, "%s%" PRIu64 " handles",
			      pos > 0 ? ", " : " (", pp->handle_count);
	if (pos > 0)
		dmatch_append(who, sizeof(who), &pos, ")");
	return add(s, 0,
		   "parent: %zu of the %zu zombies whose parent the log "
		   "names have ParentCid %04" PRIx64 "%s%s",
		   t[0].n, known, t[0].id, who,
		   t[0].n * 2 > known
			   ? ": it probably did not close their process "
			     "handles"
			   : "");
}

/* mex `!tl`: "Warning! Zombie process(es) detected (not displayed). ..." */
static int check_mex(struct state *s, size_t listed)
{
	const struct analysis *a = s->a;
	const char *p = dmatch_text(a, mex_phrase), *line;
	char quote[QUOTE_MAX + 1];

	if (p == NULL)
		return DF_OK;
	size_t n = dmatch_line(a, p, &line);
	const char *c = dmatch_find(line, n, "Count:");
	unsigned long long count = 0;

	if (c == NULL)
		return DF_OK;
	for (c += 6; c < line + n && *c == ' '; c++)
		;
	while (c < line + n && *c >= '0' && *c <= '9' && count < 1000000)
		count = count * 10 + (unsigned long long)(*c++ - '0');
	if (count < (listed >= DMATCH_ZOMBIE_MIN ? DMATCH_ZOMBIE_MIN
						 : MEX_ONLY_MIN))
		return DF_OK;
	if (n > QUOTE_MAX)
		n = QUOTE_MAX;
	memcpy(quote, line, n);
	quote[n] = '\0';
	return add(s, CONF_MEX_COUNT,
		   "mex counts %llu zombie processes (it does not list "
		   "them): \"%s\"",
		   count, quote);
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	size_t zombies = dmatch_zombie_count(a);
	int rc = DF_OK;

	if (zombies >= DMATCH_ZOMBIE_MIN) {
		rc = add_count(&s, zombies);
		if (rc == DF_OK)
			rc = add_names(&s);
		if (rc == DF_OK)
			rc = add_parent(&s);
		if (rc == DF_OK && model_has_finding(a, "handle-leak"))
			rc = add(&s, 0,
				 "see handle-leak: handles left open keep "
				 "exited processes alive");
	}
	if (rc == DF_OK && a->text != NULL)
		rc = check_mex(&s, zombies);
	return rc;
}

const struct detector detector_zombie_processes = {
	.id = "zombie-processes",
	.title = "Exited processes kept in memory by open references "
		 "(zombie processes)",
	.description = "!vm and !process listings: exited processes with no "
		       "private memory, no threads, ObjectTable 00000000",
	.run = run,
};
