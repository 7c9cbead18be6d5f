/*
 * The sample minidumps and their generator.
 *
 * 1. samples/minidumps/KIND.dmp is byte for byte what `mkminidump --kind
 *    KIND` writes (so the samples are provably the generator's output).
 * 2. Our reader gets from each sample what the generator put in.
 * 3. Breakpad's minidump_stackwalk (from $MINIDUMP_STACKWALK or the npm
 *    package unpacked in /tmp/package; skipped when absent) agrees with
 *    our reader on OS, CPU, crash reason, address, crashing thread, the
 *    module list and the crashing thread's frames.
 *
 * The generator is found as $MKMINIDUMP or $DF_BUILD/tests/mkminidump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "df.h"
#include "minidump.h"
#include "model.h"
#include "testutil.h"

static const char *const kinds[] = {
	"x86-null-write", "x86-null-write-again", "amd64-read-av",
	"x86-message-box", "amd64-stack-buffer-overrun",
};

#define DEFAULT_STACKWALK "/tmp/package/bin/linux-x64/minidump_stackwalk"
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static char *fmt_path(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *fmt_path(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	int n = vasprintf(&p, fmt, ap);

	va_end(ap);
	assert_true(n > 0);
	return p;
}

/* The generator binary, or NULL. */
static char *generator(void)
{
	const char *env = getenv("MKMINIDUMP");
	const char *build = getenv("DF_BUILD");
	char *p;

	if (env != NULL && *env)
		p = fmt_path("%s", env);
	else if (build != NULL && *build)
		p = fmt_path("%s/tests/mkminidump", build);
	else
		return NULL;
	if (access(p, X_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static char *stackwalker(void)
{
	const char *env = getenv("MINIDUMP_STACKWALK");
	const char *p = env != NULL && *env ? env : DEFAULT_STACKWALK;

	return access(p, X_OK) == 0 ? fmt_path("%s", p) : NULL;
}

static uint8_t *sample(const char *kind, size_t *len)
{
	char *path = fmt_path("%s/samples/minidumps/%s.dmp", test_source_dir(),
			      kind);
	uint8_t *d = test_read_file(path, len);

	if (d == NULL)
		printf("cannot read %s\n", path);
	free(path);
	return d;
}

static struct analysis *read_sample(const char *kind)
{
	size_t len;
	uint8_t *d = sample(kind, &len);
	struct analysis *a = analysis_new();

	assert_non_null(d);
	assert_non_null(a);
	assert_int_equal(minidump_read(a, d, len), DF_OK);
	free(d);
	return a;
}

/* ---- 1. samples are the generator's output ------------------------------- */

static void test_samples_are_generated(void **state)
{
	char *gen = generator();

	(void)state;
	if (gen == NULL) {
		printf("mkminidump not found (set MKMINIDUMP or DF_BUILD)\n");
		skip();
	}
	char *dir = test_tmpdir();

	assert_non_null(dir);
	for (size_t i = 0; i < NKINDS; i++) {
		char *out = fmt_path("%s/%s.dmp", dir, kinds[i]);
		char *cmd = fmt_path("'%s' --kind '%s' '%s'", gen, kinds[i],
				     out);
		size_t glen, slen;

		assert_int_equal(system(cmd), 0);
		uint8_t *g = test_read_file(out, &glen);
		uint8_t *s = sample(kinds[i], &slen);

		assert_non_null(g);
		assert_non_null(s);
		printf("%s: %zu bytes\n", kinds[i], glen);
		assert_int_equal(glen, slen);
		assert_memory_equal(g, s, glen);
		assert_true(glen < 16384); /* small enough to commit */
		free(g);
		free(s);
		free(cmd);
		free(out);
	}
	/* --help lists every kind; an unknown kind is a usage error. */
	char *cmd = fmt_path("'%s' --help > '%s/help.txt'", gen, dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *help_path = fmt_path("%s/help.txt", dir);
	size_t hlen;
	char *help = (char *)test_read_file(help_path, &hlen);

	assert_non_null(help);
	for (size_t i = 0; i < NKINDS; i++)
		assert_non_null(strstr(help, kinds[i]));
	free(help);
	free(help_path);
	cmd = fmt_path("'%s' --kind no-such-kind '%s/x.dmp' 2>/dev/null", gen,
		       dir);
	assert_int_not_equal(system(cmd), 0);
	free(cmd);
	test_rmtree(dir);
	free(dir);
	free(gen);
}

/* ---- 2. what the reader finds in the samples ----------------------------- */

static bool thread_has_module(const struct thread *t, const char *mod)
{
	for (size_t i = 0; i < t->frames.n; i++)
		if (t->frames.v[i].module != NULL &&
		    strcmp(t->frames.v[i].module, mod) == 0)
			return true;
	return false;
}

static void test_samples_read(void **state)
{
	struct analysis *a;

	(void)state;
	a = read_sample("x86-null-write");
	assert_int_equal(a->errors.n, 0);
	assert_string_equal(a->format_detail, "MDMP x86");
	assert_string_equal(a->process_name, "acmeapp.exe");
	assert_string_equal(a->crash.type, "EXCEPTION_ACCESS_VIOLATION_WRITE");
	assert_int_equal(a->crash.address, 0);
	assert_int_equal(a->crash.crashing_thread, 0);
	assert_int_equal(a->modules.n, 5);
	assert_string_equal(a->modules.v[1].filename, "acmecore.dll");
	assert_non_null(a->modules.v[1].debug_id);
	assert_string_equal(a->modules.v[1].debug_file, "acmecore.pdb");
	assert_string_equal(a->threads.v[0].frames.v[0].module, "acmecore.dll");
	assert_true(thread_has_module(&a->threads.v[0], "acmeapp.exe"));
	assert_true(thread_has_module(&a->threads.v[1], "dbghelp.dll"));
	analysis_destroy(&a);

	a = read_sample("amd64-read-av");
	assert_int_equal(a->errors.n, 0);
	assert_string_equal(a->format_detail, "MDMP amd64");
	assert_string_equal(a->crash.type, "EXCEPTION_ACCESS_VIOLATION_READ");
	assert_int_equal(a->crash.address, 0x18);
	assert_string_equal(a->threads.v[0].frames.v[0].module, "acmegfx.dll");
	assert_string_equal(a->threads.v[0].name, "render");
	assert_true(a->modules.v[a->modules.n - 1].unloaded);
	analysis_destroy(&a);

	a = read_sample("x86-message-box");
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->crash.crashing_thread, 1);
	assert_true(thread_has_module(&a->threads.v[0], "user32.dll"));
	assert_true(a->handle_types.n > 0);
	analysis_destroy(&a);

	a = read_sample("amd64-stack-buffer-overrun");
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->crash.code, 0xC0000409);
	assert_string_equal(a->crash.type, "EXCEPTION_STACK_BUFFER_OVERRUN");
	analysis_destroy(&a);
}

/* The two runs of one crash differ in bytes but not in stack frames. */
static void test_same_crash_same_frames(void **state)
{
	size_t l1, l2;
	uint8_t *d1 = sample("x86-null-write", &l1);
	uint8_t *d2 = sample("x86-null-write-again", &l2);

	(void)state;
	assert_non_null(d1);
	assert_non_null(d2);
	assert_true(l1 != l2 || memcmp(d1, d2, l1) != 0);
	free(d1);
	free(d2);

	struct analysis *a = read_sample("x86-null-write");
	struct analysis *b = read_sample("x86-null-write-again");

	assert_true(a->crash_time != b->crash_time);
	assert_true(a->threads.v[0].id != b->threads.v[0].id);
	assert_string_equal(a->crash.type, b->crash.type);
	for (size_t t = 0; t < a->threads.n; t++) {
		const struct thread *x = &a->threads.v[t];
		const struct thread *y = &b->threads.v[t];

		assert_int_equal(x->frames.n, y->frames.n);
		for (size_t i = 0; i < x->frames.n; i++) {
			assert_string_equal(x->frames.v[i].module,
					    y->frames.v[i].module);
			assert_int_equal(x->frames.v[i].module_offset,
					 y->frames.v[i].module_offset);
		}
	}
	analysis_destroy(&a);
	analysis_destroy(&b);
}

/* ---- 3. Breakpad agrees -------------------------------------------------- */

struct cmp {
	const char *kind;
	int bad;
};

static void expect(struct cmp *c, const char *what, const char *bp,
		   const char *ours)
{
	if (ours == NULL)
		ours = "";
	if (strcmp(bp, ours) != 0) {
		printf("  %s %s: breakpad \"%s\", ours \"%s\"\n", c->kind, what,
		       bp, ours);
		c->bad++;
	}
}

static int base_cmp(const void *x, const void *y)
{
	const struct module *const *p = x, *const *q = y;

	return (*p)->base < (*q)->base ? -1 : (*p)->base > (*q)->base;
}

/* Compare one line of `minidump_stackwalk -m` output with A. */
static void compare_line(struct cmp *c, char *line, const struct analysis *a,
			 const struct module **mods, size_t *mi)
{
	char *f[10];
	size_t n = 0;
	char buf[64];

	f[n++] = line;
	for (char *p = line; *p && n < 10; p++)
		if (*p == '|') {
			*p = '\0';
			f[n++] = p + 1;
		}
	if (strcmp(f[0], "OS") == 0 && n >= 3) {
		expect(c, "OS", f[1], a->system.os);
		expect(c, "OS version", f[2], a->system.os_ver);
	} else if (strcmp(f[0], "CPU") == 0 && n >= 4) {
		expect(c, "CPU", f[1], a->system.cpu_arch);
		expect(c, "CPU info", f[2], a->system.cpu_info);
	} else if (strcmp(f[0], "Crash") == 0 && n >= 4) {
		expect(c, "crash reason", f[1], a->crash.type);
		snprintf(buf, sizeof(buf), "0x%" PRIx64, a->crash.address);
		expect(c, "crash address", f[2], buf);
		snprintf(buf, sizeof(buf), "%ld", a->crash.crashing_thread);
		expect(c, "crashing thread", f[3], buf);
	} else if (strcmp(f[0], "Module") == 0 && n >= 8) {
		const struct module *m = mods[(*mi)++];

		expect(c, "module", f[1], m->filename);
		expect(c, "module version", f[2], m->version);
		expect(c, "module debug file", f[3], m->debug_file);
		expect(c, "module debug id", f[4], m->debug_id);
		snprintf(buf, sizeof(buf), "0x%08" PRIx64, m->base);
		expect(c, "module base", f[5], buf);
		snprintf(buf, sizeof(buf), "0x%08" PRIx64, m->end);
		expect(c, "module end", f[6], buf);
	} else if (n >= 7 && a->crash.crashing_thread >= 0 &&
		   atol(f[0]) == a->crash.crashing_thread) {
		const struct thread *t =
			&a->threads.v[a->crash.crashing_thread];
		size_t fi = (size_t)atol(f[1]);

		if (fi >= t->frames.n) {
			printf("  %s frame %zu: breakpad %s+%s, ours none\n",
			       c->kind, fi, f[2], f[6]);
			c->bad++;
			return;
		}
		expect(c, "frame module", f[2], t->frames.v[fi].module);
		/*
		 * Breakpad prints a caller frame at its return address; we
		 * report the call instruction's last byte, one lower, as
		 * rust-minidump does.
		 */
		const struct frame *fr = &t->frames.v[fi];
		uint64_t off = fr->module_offset +
			       (fr->trust != TRUST_CONTEXT ? 1 : 0);

		snprintf(buf, sizeof(buf), "0x%" PRIx64, off);
		expect(c, "frame offset", f[6], buf);
	}
}

static void test_breakpad_agrees(void **state)
{
	char *walk = stackwalker();

	(void)state;
	if (walk == NULL) {
		printf("minidump_stackwalk not found: skipped\n");
		skip();
	}
	for (size_t k = 0; k < NKINDS; k++) {
		char *cmd = fmt_path("'%s' -m '%s/samples/minidumps/%s.dmp' "
				     "2>/dev/null",
				     walk, test_source_dir(), kinds[k]);
		FILE *p = popen(cmd, "r");
		struct analysis *a = read_sample(kinds[k]);
		const struct module **mods =
			calloc(a->modules.n + 1, sizeof(*mods));
		size_t nm = 0, mi = 0;
		struct cmp c = { kinds[k], 0 };
		char line[4096];

		assert_non_null(p);
		assert_non_null(mods);
		for (size_t i = 0; i < a->modules.n; i++)
			if (!a->modules.v[i].unloaded)
				mods[nm++] = &a->modules.v[i];
		qsort(mods, nm, sizeof(*mods), base_cmp);
		while (fgets(line, sizeof(line), p) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "Module|", 7) == 0 && mi >= nm) {
				printf("  %s: breakpad has more modules\n",
				       kinds[k]);
				c.bad++;
				continue;
			}
			compare_line(&c, line, a, mods, &mi);
		}
		assert_int_equal(pclose(p), 0);
		if (mi != nm) {
			printf("  %s: %zu modules, breakpad %zu\n", kinds[k],
			       nm, mi);
			c.bad++;
		}
		printf("%s: %s\n", kinds[k],
		       c.bad ? "DISAGREES with Breakpad"
			     : "agrees with Breakpad");
		assert_int_equal(c.bad, 0);
		free(mods);
		analysis_destroy(&a);
		free(cmd);
	}
	free(walk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_are_generated),
		cmocka_unit_test(test_samples_read),
		cmocka_unit_test(test_same_crash_same_frames),
		cmocka_unit_test(test_breakpad_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
