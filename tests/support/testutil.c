#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <ftw.h>

const char *test_source_dir(void)
{
	const char *s = getenv("DF_SOURCE");

	return s != NULL && *s ? s : ".";
}

const char *test_shared_dir(void)
{
	static char buf[4096];
	const char *s = getenv("DF_SHARED");
	struct stat st;

	if (s == NULL || !*s) {
		snprintf(buf, sizeof(buf), "%s/../shared", test_source_dir());
		s = buf;
	}
	if (stat(s, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return s;
}

const char *test_shared_path(const char *rel)
{
	static char buf[4096];
	const char *dir = test_shared_dir();

	if (dir == NULL)
		return NULL;
	int n = snprintf(buf, sizeof(buf), "%s/%s", dir, rel);

	return n > 0 && (size_t)n < sizeof(buf) ? buf : NULL;
}

uint8_t *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0) {
		fclose(f);
		return NULL;
	}
	long n = ftell(f);

	if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	uint8_t *buf = malloc((size_t)n + 1);

	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

char *test_tmpdir(void)
{
	char tmpl[] = "/tmp/dftest.XXXXXX";
	char *p = mkdtemp(tmpl);

	return p != NULL ? strdup(p) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void test_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
