/*
 * hash - SHA-256 throughput of every implementation this CPU runs, in
 * the same run: RUNS passes (default 9) over a SIZE MiB buffer (default
 * 256) for each, alternating so that a slower moment of a shared machine
 * falls on both; prints the median MB/s of each and the ratio, and
 * checks that both gave the same digest.
 *
 *   hash [SIZE_MIB] [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "df.h"
#include "hash.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const struct {
	enum hash_impl impl;
	const char *name;
} impls[] = {
	{ HASH_IMPL_PORTABLE, "portable (libsodium)" },
	{ HASH_IMPL_SHANI, "sha-ni" },
};

#define MAX_RUNS 101

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 256;
	int runs = argc > 2 ? atoi(argv[2]) : 9;

	if (mib < 1 || mib > 65536 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: hash [SIZE_MIB 1..65536] [RUNS 1..%d]\n",
			MAX_RUNS);
		return DF_EXIT_USAGE;
	}
	size_t n = (size_t)mib << 20;
	unsigned char *buf = malloc(n);

	if (buf == NULL || hash_global_init() != DF_OK) {
		fprintf(stderr, "hash: out of memory\n");
		return DF_EXIT_SYSTEM;
	}
	for (size_t i = 0; i < n; i++) /* touched, and not all one byte */
		buf[i] = (unsigned char)(i * 2654435761u >> 13);

	double rate[ARRAY_SIZE(impls)][MAX_RUNS];
	uint8_t digest[ARRAY_SIZE(impls)][HASH_LEN];
	int have[ARRAY_SIZE(impls)] = { 0 };

	for (int r = 0; r < runs; r++) {
		for (size_t k = 0; k < ARRAY_SIZE(impls); k++) {
			double t0 = now();

			if (hash_sha256_with(impls[k].impl, buf, n,
					     digest[k]) != DF_OK)
				continue;
			rate[k][r] = (double)n / 1e6 / (now() - t0);
			have[k] = 1;
		}
	}
	printf("SHA-256 of %ld MiB, median of %d runs (auto here: %s)\n", mib,
	       runs, hash_impl_name());
	double base = 0;

	for (size_t k = 0; k < ARRAY_SIZE(impls); k++) {
		if (!have[k]) {
			printf("  %-22s not available on this CPU\n",
			       impls[k].name);
			continue;
		}
		double m = median(rate[k], runs);

		if (k == 0)
			base = m;
		printf("  %-22s %8.1f MB/s", impls[k].name, m);
		if (k > 0)
			printf("  (%.2fx portable)", m / base);
		printf("\n");
	}
	if (have[1] && memcmp(digest[0], digest[1], HASH_LEN) != 0) {
		fprintf(stderr, "hash: the implementations disagree\n");
		return DF_EXIT_FINDINGS;
	}
	free(buf);
	return DF_EXIT_OK;
}
