/*
 * mkarchive - write test archives (see archwrite.h).
 *
 *   mkarchive [-e zipcrypt|aes128|aes256 -p PASSPHRASE] FORMAT OUT
 *             NAME SOURCE [NAME SOURCE]...
 *   mkarchive --sample NAME SAMPLES_DIR OUT
 *
 * SOURCE is a file, or zeros:N for N zero bytes (an archive bomb). The
 * second form writes a bundled sample archive from the files under
 * SAMPLES_DIR, so that samples/archives/ is provably this tool's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archwrite.h"

struct sample_member {
	const char *name; /* inside the archive */
	const char *file; /* under SAMPLES_DIR */
};

struct sample {
	const char *name;
	const char *format;
	struct sample_member m[8];
};

/* A customer's case: a few dumps, one of them twice under two names. */
static const struct sample samples[] = {
	{ "case-1042", "zip", {
		{ "case-1042/Minidump/x86-null-write.dmp",
		  "minidumps/x86-null-write.dmp" },
		{ "case-1042/Minidump/amd64-read-av.dmp",
		  "minidumps/amd64-read-av.dmp" },
		{ "case-1042/MEMORY/9f-acmeusb.dmp", "kernel/9f-acmeusb.dmp" },
		{ "case-1042/logs/kernel_d1_wwfilter_x64.log",
		  "logs/kernel_d1_wwfilter_x64.log" },
		{ "case-1042/sent-again/x86-null-write.dmp",
		  "minidumps/x86-null-write.dmp" },
		{ NULL, NULL } } },
};

static void *slurp(const char *path, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "mkarchive: cannot read %s\n", path);
		exit(3);
	}
	fclose(f);
	*size = (uint64_t)n;
	return p;
}

static void source(struct archmember *m, const char *name, const char *src)
{
	m->name = name;
	m->data = NULL;
	if (strncmp(src, "zeros:", 6) == 0)
		m->size = strtoull(src + 6, NULL, 10);
	else
		m->data = slurp(src, &m->size);
}

static int write_sample(const char *name, const char *dir, const char *out)
{
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		struct archmember m[8];
		char path[4096];
		size_t n = 0;

		if (strcmp(s->name, name) != 0)
			continue;
		for (; s->m[n].name != NULL; n++) {
			snprintf(path, sizeof(path), "%s/%s", dir, s->m[n].file);
			source(&m[n], s->m[n].name, path);
		}
		int rc = archwrite(out, s->format, m, n, NULL, NULL);

		for (size_t j = 0; j < n; j++)
			free((void *)m[j].data);
		return rc == 0 ? 0 : 3;
	}
	fprintf(stderr, "mkarchive: no sample %s\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	const char *enc = NULL, *pass = NULL;
	int i = 1;

	if (argc == 5 && strcmp(argv[1], "--sample") == 0)
		return write_sample(argv[2], argv[3], argv[4]);
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "-e") == 0)
			enc = argv[i + 1];
		else if (strcmp(argv[i], "-p") == 0)
			pass = argv[i + 1];
		else
			break;
	}
	if (argc - i < 4 || (argc - i) % 2 != 0) {
		fprintf(stderr, "usage: mkarchive [-e ENC -p PASS] FORMAT OUT "
				"NAME SOURCE...\n       mkarchive --sample "
				"NAME SAMPLES_DIR OUT\n");
		return 2;
	}
	size_t n = (size_t)(argc - i - 2) / 2;
	struct archmember *m = calloc(n, sizeof(*m));

	if (m == NULL)
		return 3;
	for (size_t k = 0; k < n; k++)
		source(&m[k], argv[i + 2 + 2 * k], argv[i + 3 + 2 * k]);
	int rc = archwrite(argv[i + 1], argv[i], m, n, enc, pass);

	for (size_t k = 0; k < n; k++)
		free((void *)m[k].data);
	free(m);
	return rc == 0 ? 0 : 3;
}
