#include "fault.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifdef DF_TEST_FAULTS
/* The fault KIND ("segv", ...) applies to PATH by its file name. */
static bool fault_wanted(const char *fault, const char *kind,
			 const char *path)
{
	size_t k = strlen(kind);
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return fault != NULL && strncmp(fault, kind, k) == 0 &&
	       fault[k] == ':' && strcmp(fault + k + 1, base) == 0;
}

/*
 * Before the filter: a sanitizer's SIGSEGV handler would write a report
 * (and be stopped by the filter); the test wants the plain signal.
 */
void fault_prepare(const char *fault, const char *path)
{
	if (fault_wanted(fault, "segv", path))
		signal(SIGSEGV, SIG_DFL);
}

/* After the filter, where a parser bug would strike. */
void fault_strike(const char *fault, const char *path)
{
	if (fault_wanted(fault, "segv", path)) {
		void *p = mmap(NULL, 4096, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		*(volatile char *)p = 1;
	}
	if (fault_wanted(fault, "hang", path)) {
		/* A parser deadlocked on its own lock: asleep, no CPU. */
		pthread_mutex_t mu;
		pthread_mutexattr_t at;

		pthread_mutexattr_init(&at);
		pthread_mutexattr_settype(&at, PTHREAD_MUTEX_NORMAL);
		pthread_mutex_init(&mu, &at);
		pthread_mutex_lock(&mu);
		pthread_mutex_lock(&mu);
	}
	if (fault_wanted(fault, "escape", path)) {
		/* A parser taken over, reaching for a file it needs not. */
		int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
	}
	if (fault_wanted(fault, "slow", path)) {
		/* A big dump: busy for FAULT_SLOW_MS, then parsed as usual. */
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000 +
			       (t.tv_nsec - t0.tv_nsec) / 1000000 <
		       FAULT_SLOW_MS);
	}
	if (fault_wanted(fault, "flood", path)) {
		/* A parser taken over: asks, never reads, then sleeps. */
		uint8_t req[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10 };

		while (write(FAULT_FILL_FD, req, sizeof(req)) ==
		       (ssize_t)sizeof(req))
			continue;
		fault_strike("hang:x", "x");
	}
	while (fault_wanted(fault, "spin", path))
		continue;
	while (fault_wanted(fault, "oom", path)) {
		char *p = malloc((size_t)1 << 20);

		if (p == NULL)
			_exit(FAULT_EXIT_NOMEM);
		memset(p, 1, (size_t)1 << 20);
	}
}
#else
void fault_prepare(const char *fault, const char *path)
{
	(void)fault;
	(void)path;
}

void fault_strike(const char *fault, const char *path)
{
	(void)fault;
	(void)path;
}
#endif

