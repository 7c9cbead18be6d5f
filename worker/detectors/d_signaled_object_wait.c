/*
 * signaled-object-wait: a thread waits on an object that is signaled.
 *
 * Events, mutants, semaphores, timers, processes and threads begin with a
 * _DISPATCHER_HEADER whose SignalState says whether a wait on them is
 * satisfied: 1 (a semaphore: any positive count) means signaled, and a
 * thread waiting on such an object should be ready to run, not waiting
 * (seed: "Signaled Objects": `dt _DISPATCHER_HEADER` on an object that
 * `!thread` lists as waited for; a process object with SignalState 1 has
 * exited). A thread still listed as waiting was caught at the moment the
 * object was signaled, waits for all of several objects (WaitAll) while
 * some are still not signaled, or the object was signaled without the
 * waiter being woken: a lost wake-up worth a look when the wait is long.
 *
 * The debugger-log reader fills a->dispatchers from `dt _DISPATCHER_HEADER
 * <addr>` (and `dt _KEVENT`, `_KMUTANT`... with -r) and `!object`; this
 * detector matches the addresses of every waiting thread's waited objects
 * against the dispatchers with a known positive SignalState.
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

#define MAX_THREAD_EVIDENCE 6
#define CONF_SINGLE 75   /* every waited object we know of is signaled */
#define CONF_SOME 50     /* others are known not to be: WaitAll? */

struct state {
	struct analysis *a;
	struct finding *f;
	uint64_t *signaled; /* sorted addresses of signaled dispatchers */
	size_t nsignaled;
	uint64_t *unsignaled; /* and of those known not to be */
	size_t nunsignaled;
	size_t threads;     /* threads found */
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                            \
	detect_add((s)->a, &(s)->f, "signaled-object-wait",                \
		   "A thread waits on an object that is already signaled", \
		   (confidence), __VA_ARGS__)

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * The address a waited-object entry starts with: "89a65a68
 * SynchronizationEvent", "ffffdc8b`3e30f230 ...", "0x1234 ...".
 */
static bool object_address(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t digits = 0;

	if (s == NULL)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s != '\0' && *s != ' '; s++) {
		int c = *s;

		if (c == '`' && digits > 0)
			continue;
		if (digits >= 16)
			return false;
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint64_t)(c - 'A' + 10);
		else
			return false;
		digits++;
	}
	*out = v;
	return digits > 0 && v != 0;
}

static const struct dispatcher *dispatcher_at(const struct analysis *a,
					      uint64_t addr)
{
	for (size_t i = 0; i < a->dispatchers.n; i++)
		if (a->dispatchers.v[i].has_address &&
		    a->dispatchers.v[i].address == addr)
			return &a->dispatchers.v[i];
	return NULL;
}

static bool signaled(const struct dispatcher *d)
{
	return d != NULL && d->has_signal_state && d->signal_state > 0;
}

/* Waiting, or no state given (a reader that lists waits gives one). */
static bool waiting(const struct thread *t)
{
	return t->state == NULL || strcasecmp(t->state, "WAIT") == 0;
}

static bool listed(const uint64_t *v, size_t n, uint64_t addr)
{
	return n > 0 && bsearch(&addr, v, n, sizeof(addr), cmp_u64) != NULL;
}

static int check_thread(struct state *s, size_t index)
{
	const struct analysis *a = s->a;
	const struct thread *t = &a->threads.v[index];
	size_t hits = 0, unsignaled = 0;
	const char *first = NULL;
	uint64_t addr, first_addr = 0;

	if (!waiting(t))
		return DF_OK;
	for (size_t i = 0; i < t->waited_objects.n; i++) {
		if (!object_address(t->waited_objects.v[i], &addr))
			continue;
		if (listed(s->signaled, s->nsignaled, addr)) {
			if (hits++ == 0) {
				first = t->waited_objects.v[i];
				first_addr = addr;
			}
		} else if (listed(s->unsignaled, s->nunsignaled, addr)) {
			unsignaled++;
		}
	}
	if (hits == 0)
		return DF_OK;
	if (++s->threads > MAX_THREAD_EVIDENCE)
		return DF_OK;

	const struct dispatcher *d = dispatcher_at(a, first_addr);
	char name[192], wait[96] = "";
	size_t pos = 0;

	if (d == NULL)
		return DF_OK;
	dmatch_thread_name(a, index, name, sizeof(name));
	if (t->wait_reason != NULL)
		dmatch_append(wait, sizeof(wait), &pos, " (%.32s)",
			      t->wait_reason);
	if (t->has_wait_ticks)
		dmatch_append(wait, sizeof(wait), &pos, " for %" PRIu64
			      " ticks", t->wait_ticks);
	return add(s, unsignaled > 0 ? CONF_SOME : CONF_SINGLE,
		   "%s waits%s on %.96s, whose dispatcher header shows "
		   "SignalState %" PRId64 "%s%.32s: signaled, the wait should "
		   "be satisfied%s",
		   name, wait, first, d->signal_state,
		   d->type != NULL ? ", type " : "",
		   d->type != NULL ? d->type : "",
		   unsignaled > 0 ? "; it also waits on objects the log "
				    "shows not signaled (a WaitAll wait?)"
				  : (hits > 1 ? "; so are its other waited "
						"objects"
					      : ""));
}

/* Addresses of dispatchers with a known SignalState, SIG or not, sorted. */
static uint64_t *collect(struct analysis *a, bool sig, size_t *n)
{
	uint64_t *v;

	*n = 0;
	for (size_t i = 0; i < a->dispatchers.n; i++) {
		const struct dispatcher *d = &a->dispatchers.v[i];

		*n += d->has_address && d->has_signal_state &&
		      signaled(d) == sig;
	}
	if (*n == 0)
		return NULL;
	v = arena_alloc(a->arena, *n * sizeof(*v));
	if (v == NULL)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < a->dispatchers.n; i++) {
		const struct dispatcher *d = &a->dispatchers.v[i];

		if (d->has_address && d->has_signal_state &&
		    signaled(d) == sig)
			v[(*n)++] = d->address;
	}
	qsort(v, *n, sizeof(*v), cmp_u64);
	return v;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = DF_OK;

	s.signaled = collect(a, true, &s.nsignaled);
	if (s.nsignaled == 0)
		return DF_OK;
	if (s.signaled == NULL)
		return DF_ENOMEM;
	s.unsignaled = collect(a, false, &s.nunsignaled);
	if (s.nunsignaled > 0 && s.unsignaled == NULL)
		return DF_ENOMEM;
	for (size_t i = 0; rc == DF_OK && i < a->threads.n; i++)
		rc = check_thread(&s, i);
	if (rc == DF_OK && s.threads > MAX_THREAD_EVIDENCE)
		rc = add(&s, 0, "%zu more threads wait on signaled objects",
			 s.threads - MAX_THREAD_EVIDENCE);
	if (rc == DF_OK && s.f != NULL)
		rc = add(&s, 0,
			 "a thread still waiting on a signaled object was "
			 "caught as it was being woken, waits for all of "
			 "several objects, or missed its wake-up (suspect "
			 "this when the wait is long)");
	return rc;
}

const struct detector detector_signaled_object_wait = {
	.id = "signaled-object-wait",
	.title = "A thread waits on a dispatcher object that is already "
		 "signaled",
	.description = "waited objects of waiting threads against dt "
		       "_DISPATCHER_HEADER SignalState",
	.run = run,
};
