/*
 * The minidump reader and stack walker against Breakpad on the shared
 * corpus: for every X.dmp in corpus/minidumps with
 * X.stackwalk.machine_readable.out beside it, analyse X with the symbol
 * store corpus/symbols (as Breakpad was run) and compare, field by field,
 * OS, CPU, crash reason, crash address, crashing thread, every field of
 * every module, and every crashing-thread frame (module, function, source
 * file, line, offset) with what minidump_stackwalk -m printed. Prints the
 * disagreements (a few per file), the agreement per class of field and in
 * total; passes when AGREEMENT_MIN_PCT of all fields agree, and
 * breakpad__minidump2.dmp (the dump with symbols) must agree exactly.
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

#include "analysis.h"
#include "df.h"
#include "minidump.h"
#include "model.h"
#include "symbols.h"
#include "testutil.h"

#define CORPUS_DIR "corpus/minidumps"
#define SYMBOLS_DIR "corpus/symbols"
/* The share of compared fields that must agree (the bar). */
#define AGREEMENT_MIN_PCT 98
#define OUT_SUFFIX ".stackwalk.machine_readable.out"
#define MAX_FIELDS 12

/* One Module| line of Breakpad's output. */
struct bp_module {
	char *file, *version, *debug_file, *debug_id;
	uint64_t base, end;
	int main;
};

/* One frame of the crashing thread as Breakpad printed it. */
struct bp_frame {
	char *module, *function, *file, *line, *offset;
};

/* What Breakpad said about one dump. */
struct bp_ref {
	char *buf; /* the .out text, split in place */
	char *os, *os_ver, *cpu, *cpu_info, *cpu_count;
	char *reason, *address, *thread;
	struct bp_module *mods;
	size_t nmods;
	struct bp_frame *frames; /* the crashing thread's */
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
	r->frames[r->nframes++] = (struct bp_frame){ f[2], f[3], f[4], f[5],
						     f[6] };
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
	r->frames = calloc(lines, sizeof(*r->frames));
	if (r->mods == NULL || r->frames == NULL)
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
	free(r->frames);
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

/* The classes of compared fields, as the agreement is reported. */
enum field_class { FC_SYSTEM, FC_CRASH, FC_MODULES, FC_FRAMES, FC_N };

static const char *const class_names[FC_N] = {
	[FC_SYSTEM] = "system (OS, CPU)",
	[FC_CRASH] = "crash (reason, address, thread)",
	[FC_MODULES] = "modules (every field)",
	[FC_FRAMES] = "crashing-thread frames",
};

/* Fields compared and fields that agree, per class. */
struct tally {
	size_t same[FC_N], total[FC_N];
};

/* The comparison of one file. */
struct cmp {
	const char *file;
	struct tally t;
	int shown; /* disagreements printed, capped per file */
};

#define MAX_SHOWN 8

static void mismatch(struct cmp *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mismatch(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	if (c->shown++ >= MAX_SHOWN)
		return;
	printf("  %s: ", c->file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* Count one field of class FC; SAME says whether it agrees. */
static void count(struct cmp *c, enum field_class fc, bool same)
{
	c->t.total[fc]++;
	c->t.same[fc] += same;
}

static void cmp_str(struct cmp *c, enum field_class fc, const char *what,
		    const char *want, const char *got)
{
	char buf[4096];
	bool same;

	strip_sep(got, buf, sizeof(buf));
	same = strcmp(want != NULL ? want : "", buf) == 0;
	count(c, fc, same);
	if (!same)
		mismatch(c, "%s: breakpad \"%s\", ours \"%s\"", what,
			 want != NULL ? want : "", buf);
}

static void cmp_hex(struct cmp *c, enum field_class fc, const char *what,
		    uint64_t want, uint64_t got)
{
	count(c, fc, want == got);
	if (want != got)
		mismatch(c, "%s: breakpad 0x%" PRIx64 ", ours 0x%" PRIx64,
			 what, want, got);
}

static int mod_cmp(const void *x, const void *y)
{
	const struct module *const *p = x, *const *q = y;

	if ((*p)->base != (*q)->base)
		return (*p)->base < (*q)->base ? -1 : 1;
	return 0;
}

/* Fields of a Breakpad Module| line, each counted. */
#define MODULE_FIELDS 7

static void cmp_module(struct cmp *c, const struct bp_module *b,
		       const struct module *o, const struct module *main_mod)
{
	char what[96];

	snprintf(what, sizeof(what), "module 0x%" PRIx64 " file", b->base);
	cmp_str(c, FC_MODULES, what, b->file, o->filename);
	snprintf(what, sizeof(what), "module %s version", b->file);
	cmp_str(c, FC_MODULES, what, b->version, o->version);
	snprintf(what, sizeof(what), "module %s debug file", b->file);
	cmp_str(c, FC_MODULES, what, b->debug_file, o->debug_file);
	snprintf(what, sizeof(what), "module %s debug id", b->file);
	cmp_str(c, FC_MODULES, what, b->debug_id, o->debug_id);
	snprintf(what, sizeof(what), "module %s base", b->file);
	cmp_hex(c, FC_MODULES, what, b->base, o->base);
	snprintf(what, sizeof(what), "module %s end", b->file);
	cmp_hex(c, FC_MODULES, what, b->end, o->end);
	snprintf(what, sizeof(what), "module %s main", b->file);
	cmp_hex(c, FC_MODULES, what, (uint64_t)b->main, o == main_mod);
}

/*
 * Modules matched by base address. A module only one side has counts as
 * MODULE_FIELDS disagreeing fields.
 */
static void cmp_modules(struct cmp *c, const struct bp_ref *r,
			const struct analysis *a)
{
	const struct module **ours = calloc(a->modules.n + 1, sizeof(*ours));
	const struct module *main_mod = NULL;
	size_t n = 0, i = 0, j = 0;

	assert_non_null(ours);
	for (size_t k = 0; k < a->modules.n; k++) {
		if (a->modules.v[k].unloaded)
			continue;
		if (main_mod == NULL)
			main_mod = &a->modules.v[k];
		ours[n++] = &a->modules.v[k];
	}
	qsort(ours, n, sizeof(*ours), mod_cmp);
	while (i < r->nmods || j < n) {
		bool only_bp = j == n ||
			       (i < r->nmods && r->mods[i].base < ours[j]->base);
		bool only_ours = i == r->nmods ||
				 (j < n && ours[j]->base < r->mods[i].base);

		if (only_bp || only_ours) {
			mismatch(c, "module at 0x%" PRIx64 " only in %s",
				 only_bp ? r->mods[i].base : ours[j]->base,
				 only_bp ? "breakpad's list" : "ours");
			for (int k = 0; k < MODULE_FIELDS; k++)
				count(c, FC_MODULES, false);
			i += only_bp;
			j += only_ours;
			continue;
		}
		cmp_module(c, &r->mods[i++], ours[j++], main_mod);
	}
	free(ours);
}

static void cmp_crash(struct cmp *c, const struct bp_ref *r,
		      const struct analysis *a)
{
	char buf[64];

	if (!a->crash.present) {
		cmp_str(c, FC_CRASH, "crash reason", r->reason, "No crash");
		cmp_str(c, FC_CRASH, "crash address", r->address, "");
	} else {
		cmp_str(c, FC_CRASH, "crash reason", r->reason, a->crash.type);
		snprintf(buf, sizeof(buf), "0x%" PRIx64, a->crash.address);
		cmp_str(c, FC_CRASH, "crash address", r->address,
			a->crash.has_address ? buf : "");
	}
	if (a->crash.crashing_thread >= 0)
		snprintf(buf, sizeof(buf), "%ld", a->crash.crashing_thread);
	else
		buf[0] = '\0';
	cmp_str(c, FC_CRASH, "crashing thread", r->thread, buf);
}

/*
 * The offset Breakpad prints for a frame: from the source line's start,
 * else the function's, else the module's, else the address itself; for
 * an x86 or amd64 caller frame from its return address, one past our
 * address (arm and arm64 frames print the address inside the call).
 */
static uint64_t frame_offset(const struct frame *f, const char *cpu)
{
	bool x86 = cpu != NULL &&
		   (strcmp(cpu, "x86") == 0 || strcmp(cpu, "amd64") == 0);
	/* an inlined frame is a plain frame to Breakpad: at its address */
	uint64_t ret = x86 && f->trust != TRUST_CONTEXT &&
		       f->trust != TRUST_INLINE;

	if (f->function != NULL && f->source_file != NULL)
		return f->line_offset + ret;
	if (f->function != NULL && f->has_func_offset)
		return f->func_offset + ret;
	if (f->module != NULL && f->has_module_offset)
		return f->module_offset + ret;
	return f->address + ret;
}

/* Fields of a Breakpad frame line, each counted. */
#define FRAME_FIELDS 5

static void cmp_frame(struct cmp *c, size_t i, const struct bp_frame *b,
		      const struct frame *f, const char *cpu)
{
	char what[64], buf[64];

	snprintf(what, sizeof(what), "frame %zu module", i);
	cmp_str(c, FC_FRAMES, what, b->module, f->module);
	snprintf(what, sizeof(what), "frame %zu function", i);
	cmp_str(c, FC_FRAMES, what, b->function, f->function);
	snprintf(what, sizeof(what), "frame %zu file", i);
	cmp_str(c, FC_FRAMES, what, b->file, f->source_file);
	snprintf(what, sizeof(what), "frame %zu line", i);
	if (f->source_file != NULL)
		snprintf(buf, sizeof(buf), "%" PRIu32, f->source_line);
	else
		buf[0] = '\0';
	cmp_str(c, FC_FRAMES, what, b->line, buf);
	snprintf(what, sizeof(what), "frame %zu offset", i);
	snprintf(buf, sizeof(buf), "0x%" PRIx64, frame_offset(f, cpu));
	cmp_str(c, FC_FRAMES, what, b->offset, buf);
}

/*
 * Every frame of Breakpad's crashing thread, field by field, at the same
 * position; a frame only one side has counts as FRAME_FIELDS disagreeing.
 */
static void cmp_frames(struct cmp *c, const struct bp_ref *r,
		       const struct analysis *a)
{
	const struct thread *t = model_crashing_thread(a);
	size_t ours = t != NULL ? t->frames.n : 0;
	size_t n = ours > r->nframes ? ours : r->nframes;

	for (size_t i = 0; i < n; i++) {
		if (i < r->nframes && i < ours) {
			cmp_frame(c, i, &r->frames[i], &t->frames.v[i],
				  a->system.cpu_arch);
			continue;
		}
		mismatch(c, "frame %zu only in %s", i,
			 i < ours ? "ours" : "breakpad's");
		for (int k = 0; k < FRAME_FIELDS; k++)
			count(c, FC_FRAMES, false);
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

/* The symbol store over corpus/symbols, or NULL without one. */
static struct symstore *corpus_symbols(void)
{
	const char *dir = test_shared_path(SYMBOLS_DIR);
	char buf[4096];
	const char *dirs[1] = { buf };

	if (dir == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", dir);
	return symstore_new(dirs, 1);
}

/* Compare one dump with its reference, adding to SUM; true if all agree. */
static bool compare_one(const char *dir, const char *name,
			struct symstore *syms, struct tally *sum)
{
	char *path = join_path(dir, name, 0, "");
	char *ref_path = join_path(dir, name, 4, OUT_SUFFIX);
	char buf[32];
	struct bp_ref r;
	struct cmp c = { .file = name };
	struct analysis *a = NULL;
	size_t len, same = 0, total = 0;
	int rc = ref_load(&r, ref_path);

	free(ref_path);
	assert_int_equal(rc, 0);
	uint8_t *data = test_read_file(path, &len);

	free(path);
	assert_non_null(data);
	assert_int_equal(analysis_run_with(&a, data, len, NULL, syms), DF_OK);
	cmp_str(&c, FC_SYSTEM, "OS", r.os, a->system.os);
	cmp_str(&c, FC_SYSTEM, "OS version", r.os_ver, a->system.os_ver);
	cmp_str(&c, FC_SYSTEM, "CPU", r.cpu, a->system.cpu_arch);
	cmp_str(&c, FC_SYSTEM, "CPU info", r.cpu_info, a->system.cpu_info);
	snprintf(buf, sizeof(buf), "%u", a->system.cpu_count);
	cmp_str(&c, FC_SYSTEM, "CPU count", r.cpu_count, buf);
	cmp_crash(&c, &r, a);
	cmp_modules(&c, &r, a);
	cmp_frames(&c, &r, a);
	for (int k = 0; k < FC_N; k++) {
		sum->same[k] += c.t.same[k];
		sum->total[k] += c.t.total[k];
		same += c.t.same[k];
		total += c.t.total[k];
	}
	printf("%-50s %zu of %zu fields agree\n", name, same, total);
	analysis_destroy(&a);
	free(data);
	ref_free(&r);
	return same == total;
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

static double pct(size_t same, size_t total)
{
	return total ? 100.0 * (double)same / (double)total : 100.0;
}

static void test_corpus_agreement(void **state)
{
	const char *dir = test_shared_path(CORPUS_DIR);
	char dirbuf[4096];
	struct tally sum = { { 0 }, { 0 } };
	struct symstore *syms;
	size_t n, agree = 0, same = 0, total = 0;

	(void)state;
	assert_non_null(dir);
	snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
	syms = corpus_symbols(); /* test_shared_path's buffer is reused */
	char **names = list_dumps(dirbuf, &n);

	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		agree += compare_one(dirbuf, names[i], syms, &sum);
		free(names[i]);
	}
	free(names);
	symstore_destroy(&syms);
	printf("agreement with Breakpad over %zu dumps (%zu agree fully):\n",
	       n, agree);
	for (int k = 0; k < FC_N; k++) {
		printf("  %-34s %6zu of %6zu fields  %6.2f %%\n",
		       class_names[k], sum.same[k], sum.total[k],
		       pct(sum.same[k], sum.total[k]));
		same += sum.same[k];
		total += sum.total[k];
	}
	printf("  %-34s %6zu of %6zu fields  %6.2f %%\n", "total", same,
	       total, pct(same, total));
	assert_true(same * 100 >= total * AGREEMENT_MIN_PCT);
}

static void test_minidump2_exact(void **state)
{
	const char *dir = test_shared_path(CORPUS_DIR);
	char dirbuf[4096];
	struct tally sum = { { 0 }, { 0 } };
	struct symstore *syms;
	size_t len;

	(void)state;
	assert_non_null(dir);
	snprintf(dirbuf, sizeof(dirbuf), "%s", dir);
	syms = corpus_symbols(); /* test_shared_path's buffer is reused */
	assert_true(compare_one(dirbuf, "breakpad__minidump2.dmp", syms, &sum));
	/* Symbols were used: functions, files and lines were compared. */
	assert_int_equal(sum.total[FC_FRAMES], 4 * FRAME_FIELDS);
	symstore_destroy(&syms);

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
