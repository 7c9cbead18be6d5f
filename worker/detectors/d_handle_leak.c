/*
 * handle-leak: a process holds far more handles than a working one does.
 *
 * Handles that are opened and never closed pile up until the process (or
 * the system) runs out of something: kernel pool, the per-process handle
 * table, memory of the objects they keep alive. The dump shows it as a
 * process with a very high HandleCount (`!process`), or as handle data
 * with thousands of handles of one type (a minidump's handle stream, the
 * `!handle` summary or a kernel `!handle` listing). Handles of exited
 * processes keep those processes in memory as zombies (seed: Crash Dump
 * Analysis Patterns, part 54: MyService.exe kept the process handles of
 * the cmd.exe processes it started; "a specialization of a more general
 * Handle Leak pattern"): when the leaked handles are process handles or
 * the zombies share one parent, the evidence says so and names
 * zombie-processes.
 *
 * The thresholds are the data table `limits` below, one row per rule;
 * a later change can read them from configuration instead. Evidence: the
 * processes and handle types over the limits, the top handle types, and
 * the link to zombie-processes.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define SHOW_PROCESSES 5
#define SHOW_TYPES 5
#define MAX_PARENTS 32
#define CONF_COUNTS 75    /* a count over a limit */
#define CONF_ZOMBIE_LINK 85 /* process handles over a limit, and zombies */
#define CONF_PARENT 60    /* zombies with one parent, counts unknown */

/* The thresholds; see the header comment. */
enum limit_id { LIM_PROCESS, LIM_TYPE, LIM_PROCESS_TYPE };

static const struct {
	const char *name;
	uint64_t value;
	const char *meaning;
} limits[] = {
	[LIM_PROCESS] = { "handles_per_process", 10000,
			  "handles held by one process" },
	[LIM_TYPE] = { "handles_per_type", 5000,
		       "handles of one object type" },
	[LIM_PROCESS_TYPE] = { "process_thread_handles", 1000,
			       "Process or Thread handles (each keeps an "
			       "exited process or thread in memory)" },
};

/* Object types a process rarely holds in bulk (the zombie makers). */
static const char *const process_types[] = { "Process", "Thread" };

struct state {
	struct analysis *a;
	struct finding *f;
	bool counted;   /* Process/Thread handle counts over their limit */
	bool parent;    /* zombies share a parent that kept their handles */
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "handle-leak",                      \
		   "Handle leak: far more handles than normal",         \
		   (confidence), __VA_ARGS__)

static bool process_type(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(process_types); i++)
		if (type != NULL && strcasecmp(type, process_types[i]) == 0)
			return true;
	return false;
}

static bool unknown_type(const char *type)
{
	return type == NULL || *type == '\0' || type[0] == '(';
}

static uint64_t type_limit(const char *type)
{
	return limits[process_type(type) ? LIM_PROCESS_TYPE : LIM_TYPE].value;
}

/* Processes over the per-process limit, the largest first. */
static int check_processes(struct state *s)
{
	const struct analysis *a = s->a;
	uint64_t min = limits[LIM_PROCESS].value;
	size_t shown[SHOW_PROCESSES], ns = 0, over = 0;

	for (size_t i = 0; i < a->processes.n; i++)
		over += a->processes.v[i].has_handle_count &&
			a->processes.v[i].handle_count >= min;
	while (ns < SHOW_PROCESSES && ns < over) {
		size_t best = a->processes.n;

		for (size_t i = 0; i < a->processes.n; i++) {
			const struct process *p = &a->processes.v[i];
			bool done = false;

			for (size_t k = 0; k < ns; k++)
				done |= shown[k] == i;
			if (done || !p->has_handle_count ||
			    p->handle_count < min)
				continue;
			if (best == a->processes.n ||
			    p->handle_count > a->processes.v[best].handle_count)
				best = i;
		}
		if (best == a->processes.n)
			break;
		shown[ns++] = best;

		const struct process *p = &a->processes.v[best];
		int rc = add(s, CONF_COUNTS,
			     "process %04" PRIx64 " %.64s holds %" PRIu64
			     " handles (limit %s=%" PRIu64 ")",
			     p->pid, p->image != NULL ? p->image : "(unnamed)",
			     p->handle_count, limits[LIM_PROCESS].name, min);

		if (rc != DF_OK)
			return rc;
	}
	if (over > ns)
		return add(s, CONF_COUNTS,
			   "%zu more processes over %" PRIu64 " handles",
			   over - ns, min);
	return DF_OK;
}

/* Handle types over their limits, and the dump's total. */
static int check_types(struct state *s)
{
	const struct analysis *a = s->a;
	uint64_t total = 0;
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < a->handle_types.n; i++) {
		const struct handle_type *h = &a->handle_types.v[i];
		bool proc = process_type(h->type);

		total += h->count;
		if (unknown_type(h->type) || h->count < type_limit(h->type))
			continue;
		s->counted |= proc;
		rc = add(s, CONF_COUNTS,
			 "%" PRIu64 " %s handles (limit %s=%" PRIu64 ")",
			 h->count, h->type,
			 limits[proc ? LIM_PROCESS_TYPE : LIM_TYPE].name,
			 type_limit(h->type));
	}
	if (rc == DF_OK && total >= limits[LIM_PROCESS].value)
		rc = add(s, CONF_COUNTS,
			 "the handle data holds %" PRIu64 " handles in all%s%s "
			 "(limit %s=%" PRIu64 ")",
			 total, a->process_name != NULL ? " of " : "",
			 a->process_name != NULL ? a->process_name : "",
			 limits[LIM_PROCESS].name, limits[LIM_PROCESS].value);
	return rc;
}

/* "top handle types: Process 4210, Event 380, ..." */
static int add_top_types(struct state *s)
{
	const struct analysis *a = s->a;
	bool used[MODEL_MAX_HANDLE_TYPES] = { false };
	char line[384];
	size_t pos = 0;

	line[0] = '\0';
	for (size_t k = 0; k < SHOW_TYPES; k++) {
		size_t best = a->handle_types.n;

		for (size_t i = 0; i < a->handle_types.n; i++)
			if (!used[i] &&
			    (best == a->handle_types.n ||
			     a->handle_types.v[i].count >
				     a->handle_types.v[best].count))
				best = i;
		if (best == a->handle_types.n)
			break;
		used[best] = true;
		dmatch_append(line, sizeof(line), &pos, "%s%.40s %" PRIu64,
			      k > 0 ? ", " : "",
			      a->handle_types.v[best].type != NULL
				      ? a->handle_types.v[best].type
				      : "?",
			      a->handle_types.v[best].count);
	}
	if (pos == 0)
		return DF_OK;
	return add(s, 0, "top handle types: %s", line);
}

/* The parent id most zombies share (0 if none is named), and how many. */
static uint64_t zombie_parent(const struct analysis *a, size_t *share,
			      size_t *known)
{
	uint64_t id[MAX_PARENTS];
	size_t cnt[MAX_PARENTS], n = 0, best = 0;

	*share = *known = 0;
	for (size_t i = 0; i < a->processes.n; i++) {
		const struct process *p = &a->processes.v[i];
		size_t k = 0;

		if (!dmatch_zombie(p) || p->ppid == 0)
			continue;
		++*known;
		while (k < n && id[k] != p->ppid)
			k++;
		if (k == n && n < MAX_PARENTS) {
			id[n] = p->ppid;
			cnt[n++] = 0;
		}
		if (k < n && ++cnt[k] > cnt[best])
			best = k;
	}
	if (n == 0)
		return 0;
	*share = cnt[best];
	return id[best];
}

static const struct process *live_process(const struct analysis *a,
					  uint64_t pid)
{
	for (size_t i = 0; i < a->processes.n; i++)
		if (a->processes.v[i].pid == pid &&
		    !dmatch_zombie(&a->processes.v[i]))
			return &a->processes.v[i];
	return NULL;
}

/*
 * Zombies that mostly share one parent: it kept their process handles
 * (the seed's case). Also the link to zombie-processes.
 */
static int check_zombies(struct state *s)
{
	const struct analysis *a = s->a;
	size_t zombies = dmatch_zombie_count(a), share, known;

	if (zombies < DMATCH_ZOMBIE_MIN)
		return DF_OK;
	uint64_t ppid = zombie_parent(a, &share, &known);
	const struct process *pp = live_process(a, ppid);

	if (ppid != 0 && share >= 2 && share * 2 > known) {
		char held[64] = "";

		if (pp != NULL && pp->has_handle_count)
			snprintf(held, sizeof(held), ", which holds %" PRIu64
				 " handles", pp->handle_count);
		int rc = add(s, CONF_PARENT,
			     "%zu of the %zu zombie processes whose parent "
			     "the log names are children of %04" PRIx64
			     " %.64s%s: it probably kept their process "
			     "handles open",
			     share, known, ppid,
			     pp != NULL && pp->image != NULL ? pp->image : "",
			     held);

		if (rc != DF_OK)
			return rc;
		s->parent = true;
	}
	if (!s->counted && !s->parent)
		return DF_OK;
	return add(s, s->counted ? CONF_ZOMBIE_LINK : 0,
		   "leaked process handles and %zu zombie processes: see "
		   "zombie-processes (exited processes stay in memory while "
		   "a handle to them is open)",
		   zombies);
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = check_processes(&s);

	if (rc == DF_OK)
		rc = check_types(&s);
	if (rc == DF_OK)
		rc = check_zombies(&s);
	if (rc == DF_OK && s.f != NULL)
		rc = add_top_types(&s);
	return rc;
}

const struct detector detector_handle_leak = {
	.id = "handle-leak",
	.title = "Handle leak: a process holds far more handles than normal",
	.description = "!process HandleCount, handle counts by type "
		       "(minidump handle data, !handle); zombies' parent",
	.run = run,
};
