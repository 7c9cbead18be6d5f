/*
 * Replay driver: feeds every regular file under the folders named on the
 * command line to LLVMFuzzerTestOneInput, plus every prefix of the first
 * 4 KiB of each (truncation sweep) and a copy with bytes flipped. A crash
 * or sanitizer report fails the test; so every input a fuzzer ever found
 * stays a regression test once it is in fuzz/corpus/.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "hash.h"

#define REPLAY_MAX_FILE ((size_t)4 << 20)
#define REPLAY_SWEEP 4096

static int run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (f == NULL || fstat(fileno(f), &st) != 0 ||
	    (size_t)st.st_size > REPLAY_MAX_FILE) {
		if (f != NULL)
			fclose(f);
		return 0;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = malloc(n ? n : 1);

	if (buf == NULL || fread(buf, 1, n, f) != n) {
		free(buf);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	size_t sweep = n < REPLAY_SWEEP ? n : REPLAY_SWEEP;

	for (size_t i = 0; i < sweep; i += 1 + i / 64) {
		uint8_t *pre = malloc(i ? i : 1);

		/* A separate allocation makes ASan catch reads past the end. */
		if (pre == NULL)
			break;
		memcpy(pre, buf, i);
		LLVMFuzzerTestOneInput(pre, i);
		free(pre);
	}
	/* Deterministic corruption: flip every 97th byte. */
	for (size_t i = 0; i < n; i += 97)
		buf[i] ^= 0xA5;
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	(*count)++;
	return 0;
}

static int run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int bad = 0;

	if (d == NULL)
		return run_file(dir, count);
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			bad |= run_dir(path, count);
		else if (S_ISREG(st.st_mode))
			bad |= run_file(path, count);
	}
	closedir(d);
	return bad;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int bad = 0;

	hash_global_init();
	for (int i = 1; i < argc; i++)
		bad |= run_dir(argv[i], &count);
	printf("replayed %zu inputs\n", count);
	return bad;
}
