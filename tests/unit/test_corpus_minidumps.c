/*
 * The minidump reader against Breakpad on the shared corpus: for every
 * X.dmp in corpus/minidumps with X.stackwalk.machine_readable.out beside
 * it, compare OS, CPU, crash reason, crash address, crashing thread and
 * the module list with what Breakpad's minidump_stackwalk printed.
 * Prints each disagreement and the share of files that agree fully; passes
 * at 95 % or more, and breakpad__minidump2.dmp must agree exactly.
 * Skips (exit 77) without the shared corpus.
 */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "df.h"
#include "minidump.h"
#include "model.h"
#include "testutil.h"

#define CORPUS_DIR "corpus/minidumps"
#define OUT_SUFFIX ".stackwalk.machine_readable.out"
#define MAX_FIELDS 12

/* One Module| line of Breakpad's output. */
struct bp_module {
	char *file, *version, *debug_file, *debug_id;
	uint64_t base, end;
	int main;
};

/* What Breakpad said about one dump. */
struct bp_ref {
	char *buf; /* the .out text, split in place */
	char *os, *os_ver, *cpu, *cpu_info, *cpu_count;
	char *reason, *address, *thread;
	struct bp_module *mods;
	size_t nmods;
	/* frames of the crashing thread: module and offset text */
	char **fmod, **foff;
	size_t nframes;
};

/* Split LINE at '|' into at most MAX_FIELDS fields; returns the count. */
static size_t split_fields(char *line, char **f)
{
	size_t n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < MAX_FIELDS; p++) {
		if (*p == '|') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

static void ref_line(struct bp_ref *r, char *line)
{
	char *f[MAX_FIELDS];
	size_t n = split_fields(line, f);

	if (strcmp(f[0], "OS") == 0 && n >= 3) {
		r->os = f[1];
		r->os_ver = f[2];
	} else if (strcmp(f[0], "CPU") == 0 && n >= 4) {
		r->cpu = f[1];
		r->cpu_info = f[2];
		r->cpu_count = f[3];
	} else if (strcmp(f[0], "Crash") == 0 && n >= 4) {
		r->reason = f[1];
		r->address = f[2];
		r->thread = f[3];
	} else if (strcmp(f[0], "Module") == 0 && n >= 8) {
		struct bp_module *m = &r->mods[r->nmods++];

		m->file = f[1];
		m->version = f[2];
		m->debug_file = f[3];
		m->debug_id = f[4];
		m->base = strtoull(f[5], NULL, 16);
		m->end = strtoull(f[6], NULL, 16);
		m->main = atoi(f[7]);
	}
}

/* A frame line "thread|frame|module|function|file|line|offset". */
static void ref_frame(struct bp_ref *r, char *line)
{
	char *f[MAX_FIELDS];
	size_t n = split_fields(line, f);

	if (n < 7 || r->thread == NULL || *r->thread == '\0' ||
	    strcmp(f[0], r->thread) != 0)
		return;
	/* With a function name the offset is function-relative: skip. */
	r->fmod[r->nframes] = *f[3] ? NULL : f[2];
	r->foff[r->nframes++] = f[6];
}

static int ref_load(struct bp_ref *r, const char *path)
{
	size_t len, lines = 1;
	bool frames = false;

	memset(r, 0, sizeof(*r));
	r->buf = (char *)test_read_file(path, &len);
	if (r->buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		lines += r->buf[i] == '\n';
	r->mods = calloc(lines, sizeof(*r->mods));
	r->fmod = calloc(lines, sizeof(*r->fmod));
	r->foff = calloc(lines, sizeof(*r->foff));
	if (r->mods == NULL || r->fmod == NULL || r->foff == NULL)
		return -1;
	for (char *line = r->buf, *nl; line != NULL && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (*line == '\0')
			frames = true; /* the blank line before the threads */
		else if (frames)
			ref_frame(r, line);
		else
			ref_line(r, line);
	}
	return 0;
}

static void ref_free(struct bp_ref *r)
{
	free(r->buf);
	free(r->mods);
	free(r->fmod);
	free(r->foff);
}

/* Breakpad replaces its separator in printed strings. */
static const char *strip_sep(const char *s, char *buf, size_t cap)
{
	size_t i = 0;

	if (s == NULL)
		s = "";
	for (; s[i] && i + 1 < cap; i++)
		buf[i] = s[i] == '|' ? '_' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Count of disagreements for the file being compared. */
struct cmp {
	const char *file;
	int mismatches;
	size_t frames_same, frames_ref; /* informational */
};

static void mismatch(struct cmp *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mismatch(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	printf("  %s: ", c->file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	c->mismatches++;
}

static void cmp_str(struct cmp *c, const char *what, const char *want,
		    const char *got)
{
	char buf[4096];

	strip_sep(got, buf, sizeof(buf));
	if (strcmp(want != NULL ? want : "", buf) != 0)
		mismatch(c, "%s: breakpad \"%s\", ours \"%s\"", what,
			 want != NULL ? want : "", buf);
}

static int mod_cmp(const void *x, const void *y)
{
	const struct module *const *p = x, *const *q = y;

	if ((*p)->base != (*q)->base)
		return (*p)->base < (*q)->base ? -1 : 1;
	return 0;
}

static void cmp_modules(struct cmp *c, const struct bp_ref *r,
			const struct analysis *a)
{
	const struct module **ours = calloc(a->modules.n + 1, sizeof(*ours));
	const struct module *main_mod = NULL;
	size_t n = 0;

	assert_non_null(ours);
	for (size_t i = 0; i < a->modules.n; i++) {
		if (a->modules.v[i].unloaded)
			continue;
		if (main_mod == NULL)
			main_mod = &a->modules.v[i];
		ours[n++] = &a->modules.v[i];
	}
	qsort(ours, n, sizeof(*ours), mod_cmp);
	if (n != r->nmods)
		mismatch(c, "module count: breakpad %zu, ours %zu", r->nmods,
			 n);
	for (size_t i = 0, j = 0; i < r->nmods && j < n;) {
		const struct bp_module *b = &r->mods[i];
		const struct module *o = ours[j];
		char what[96];

		if (b->base != o->base) {
			mismatch(c, "module base 0x%" PRIx64 " (%s) vs ours "
				 "0x%" PRIx64 " (%s)",
				 b->base, b->file, o->base, o->filename);
			if (b->base < o->base)
				i++;
			else
				j++;
			continue;
		}
		snprintf(what, sizeof(what), "module 0x%" PRIx64 " file",
			 b->base);
		cmp_str(c, what, b->file, o->filename);
		snprintf(what, sizeof(what), "module %s version", b->file);
		cmp_str(c, what, b->version, o->version);
		snprintf(what, sizeof(what), "module %s debug file", b->file);
		cmp_str(c, what, b->debug_file, o->debug_file);
		snprintf(what, sizeof(what), "module %s debug id", b->file);
		cmp_str(c, what, b->debug_id, o->debug_id);
		if (b->end != o->end)
			mismatch(c, "module %s end: breakpad 0x%" PRIx64
				 ", ours 0x%" PRIx64,
				 b->file, b->end, o->end);
		if (b->main != (o == main_mod))
			mismatch(c, "module %s main: breakpad %d", b->file,
				 b->main);
		i++, j++;
	}
	free(ours);
}

static void cmp_crash(struct cmp *c, const struct bp_ref *r,
		      const struct analysis *a)
{
	char buf[64];

	if (!a->crash.present) {
		cmp_str(c, "crash reason", r->reason, "No crash");
		cmp_str(c, "crash address", r->address, "");
	} else {
		cmp_str(c, "crash reason", r->reason, a->crash.type);
		snprintf(buf, sizeof(buf), "0x%" PRIx64, a->crash.address);
		cmp_str(c, "crash address", r->address,
			a->crash.has_address ? buf : "");
	}
	if (a->crash.crashing_thread >= 0)
		snprintf(buf, sizeof(buf), "%ld", a->crash.crashing_thread);
	else
		buf[0] = '\0';
	cmp_str(c, "crashing thread", r->thread, buf);
}

/*
 * Informational, not part of the agreement: how many of Breakpad's
 * crashing-thread frames (Breakpad had symbols only for minidump2) we
 * find at the same position with the same module and offset.
 */
static void cmp_frames(struct cmp *c, const struct bp_ref *r,
		       const struct analysis *a)
{
	const struct thread *t = model_crashing_thread(a);
	char off[32];

	for (size_t i = 0; i < r->nframes; i++)
		c->frames_ref += r->fmod[i] != NULL;
	for (size_t i = 0; t != NULL && i < r->nframes && i < t->frames.n;
	     i++) {
		const struct frame *f = &t->frames.v[i];

		if (r->fmod[i] == NULL)
			continue;
		/* Breakpad prints caller frames at the return address. */
		snprintf(off, sizeof(off), "0x%" PRIx64,
			 f->module_offset + (f->trust != TRUST_CONTEXT));
		if (f->module != NULL && strcmp(r->fmod[i], f->module) == 0 &&
		    strcmp(r->foff[i], off) == 0)
			c->frames_same++;
	}
}

/* Malloc'd "A/B" with the last CUT bytes of B replaced by C. */
static char *join_path(const char *a, const char *b, size_t cut, const char *c)
{
	size_t lb = strlen(b) - cut;
	size_t n = strlen(a) + 1 + lb + strlen(c) + 1;
	char *p = malloc(n);

	assert_non_null(p);
	memcpy(p, a, strlen(a));
	p[strlen(a)] = '/';
	memcpy(p + strlen(a) + 1, b, lb);
	strcpy(p + strlen(a) + 1 + lb, c);
	return p;
}

/* Compare one dump with its reference; returns the mismatch count. */
static int compare_one(const char *dir, const char *name, size_t *fsame,
		       size_t *fref)
{
	char *path = join_path(dir, name, 0, "");
	char *ref_path = join_path(dir, name, 4, OUT_SUFFIX);
	char buf[32];
	struct bp_ref r;
	struct cmp c = { name, 0, 0, 0 };
	size_t len;
	int rc = ref_load(&r, ref_path);

	free(ref_path);
	assert_int_equal(rc, 0);
	uint8_t *data = test_read_file(path, &len);

	free(path);
	struct analysis *a = analysis_new();

	assert_non_null(data);
	assert_non_null(a);
	minidump_read(a, data, len);
	cmp_str(&c, "OS", r.os, a->system.os);
	cmp_str(&c, "OS version", r.os_ver, a->system.os_ver);
	cmp_str(&c, "CPU", r.cpu, a->system.cpu_arch);
	cmp_str(&c, "CPU info", r.cpu_info, a->system.cpu_info);
	snprintf(buf, sizeof(buf), "%u", a->system.cpu_count);
	cmp_str(&c, "CPU count", r.cpu_count, buf);
	cmp_crash(&c, &r, a);
	cmp_modules(&c, &r, a);
	cmp_frames(&c, &r, a);
	*fsame += c.frames_same;
	*fref += c.frames_ref;
	printf("%-50s crashing-thread frames as Breakpad: %zu of %zu\n", name,
	       c.frames_same, c.frames_ref);
	analysis_destroy(&a);
	free(data);
	ref_free(&r);
	return c.mismatches;
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted names of the .dmp files that have a reference beside them. */
static char **list_dumps(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t cap = 0;
	struct dirent *e;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char *ref;
		FILE *f;

		if (l < 5 || strcmp(e->d_name + l - 4, ".dmp") != 0)
			continue;
		ref = join_path(dir, e->d_name, 4, OUT_SUFFIX);
		f = fopen(ref, "r");
		free(ref);
		if (f == NULL)
			continue;
		fclose(f);
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			assert_non_null(names);
		}
		names[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

static void test_corpus_agreement(void **state)
{
	const char *dir = test_shared_path(CORPUS_DIR);
	char dirbuf[4096];
	size_t n, agree = 0, fsame = 0, fref = 0;

	(void)state;
	assert_non_null(dir);
	snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
	char **names = list_dumps(dirbuf, &n);

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		int mm = compare_one(dirbuf, names[i], &fsame, &fref);

		if (mm == 0)
			agree++;
		printf("%-50s %s\n", names[i],
		       mm == 0 ? "agrees" : "DISAGREES");
		free(names[i]);
	}
	free(names);
	printf("agreement with Breakpad: %zu of %zu files (%.1f %%)\n", agree,
	       n, 100.0 * (double)agree / (double)n);
	printf("crashing-thread frames as Breakpad (informational): %zu of "
	       "%zu\n",
	       fsame, fref);
	assert_true(agree * 100 >= n * 95);
}

static void test_minidump2_exact(void **state)
{
	const char *dir = test_shared_path(CORPUS_DIR);
	char dirbuf[4096];
	size_t len;

	(void)state;
	assert_non_null(dir);
	snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
	size_t fsame = 0, fref = 0;

	assert_int_equal(
		compare_one(dirbuf, "breakpad__minidump2.dmp", &fsame, &fref),
		0);

	/* The facts the brief names, checked directly as well. */
	char *path = join_path(dirbuf, "breakpad__minidump2.dmp", 0, "");
	uint8_t *data = test_read_file(path, &len);

	free(path);
	struct analysis *a = analysis_new();

	assert_non_null(data);
	assert_int_equal(minidump_read(a, data, len), DF_OK);
	assert_string_equal(a->crash.type, "EXCEPTION_ACCESS_VIOLATION_WRITE");
	assert_int_equal(a->crash.address, 0x45);
	assert_int_equal(a->crash.crashing_thread, 0);
	assert_int_equal(a->modules.n, 13);
	assert_string_equal(a->modules.v[0].filename, "test_app.exe");
	assert_int_equal(a->modules.v[0].base, 0x400000);
	assert_int_equal(a->modules.v[0].end, 0x42cfff);
	assert_string_equal(a->modules.v[0].debug_id,
			    "5A9832E5287241C1838ED98914E9B7FF1");
	assert_string_equal(a->system.os_ver, "5.1.2600 Service Pack 2");
	assert_string_equal(a->format_detail, "MDMP x86");
	analysis_destroy(&a);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minidump2_exact),
		cmocka_unit_test(test_corpus_agreement),
	};

	if (test_shared_dir() == NULL) {
		printf("shared corpus not found: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
