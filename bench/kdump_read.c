/*
 * kdump_read - time the kernel-dump reader alone on each FILE: map it,
 * read it with kdump_read() (no content hash, detectors or signature),
 * and print one line per file: wall seconds, the process's peak RSS so
 * far (KiB, getrusage), the file size, and what was found (drivers,
 * frames, errors) so a fast run is seen to have done the work.
 *
 *   kdump_read FILE...
 */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "df.h"
#include "diag.h"
#include "kdump.h"
#include "mapfile.h"
#include "model.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct mapfile m;
		struct diag d;
		struct rusage ru;

		diag_init(&d);
		double t0 = now();

		if (mapfile_open(&m, argv[i], &d) != DF_OK) {
			fprintf(stderr, "kdump_read: %s\n", d.msg);
			rc = 3;
			continue;
		}
		struct analysis *a = analysis_new();

		if (a == NULL) {
			mapfile_close(&m);
			return 3;
		}
		kdump_read(a, m.data, m.len);
		const struct thread *t = model_crashing_thread(a);
		size_t frames = t != NULL ? t->frames.n : 0;
		size_t mods = a->modules.n, errs = a->errors.n, len = m.len;

		analysis_destroy(&a);
		mapfile_close(&m);
		double t1 = now();

		getrusage(RUSAGE_SELF, &ru);
		printf("%.6f %ld %zu drivers=%zu frames=%zu errors=%zu %s\n",
		       t1 - t0, ru.ru_maxrss, len, mods, frames, errs, argv[i]);
	}
	return rc;
}
