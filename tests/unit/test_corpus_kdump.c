/*
 * The kernel-dump reader on the real dumps of the shared corpus: for every
 * X.dmp in corpus/kernel with X.dmp.expected.txt beside it, check each
 * fact the file states that the model holds (dump type, build, machine,
 * processors, bugcheck code, name and parameters, the exception address,
 * the loaded-driver count, the faulting module's base and size), print
 * the agreement, and require every fact to agree and the file to be read
 * without error. Skips (exit 77) without the shared corpus.
 */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "model.h"
#include "testutil.h"

#define CORPUS_DIR "corpus/kernel"
#define EXP_SUFFIX ".expected.txt"
#define PATH_CAP 4096

struct tally {
	unsigned facts, agree;
};

/* Record one comparison and print it. */
static void fact(struct tally *t, const char *file, const char *what,
		 bool ok, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void fact(struct tally *t, const char *file, const char *what,
		 bool ok, const char *fmt, ...)
{
	va_list ap;

	t->facts++;
	t->agree += ok;
	printf("  %s %-16s %s: ", ok ? "agree   " : "DISAGREE", what, file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static const char *arch_of_machine(unsigned long m)
{
	switch (m) {
	case 0x14C:
		return "x86";
	case 0x8664:
		return "amd64";
	case 0xAA64:
		return "arm64";
	default:
		return "?";
	}
}

static size_t loaded_count(const struct analysis *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->modules.n; i++)
		n += !a->modules.v[i].unloaded;
	return n;
}

static void check_signature(struct tally *t, const char *f,
			    const struct analysis *a, const char *v)
{
	char sig[16] = "";
	unsigned dt = 0;
	const char *p = strstr(v, "DumpType ");

	if (sscanf(v, "%15s", sig) == 1)
		fact(t, f, "signature",
		     a->format_detail != NULL &&
			     strncmp(a->format_detail, sig, strlen(sig)) == 0,
		     "expected %s, got %s", sig,
		     a->format_detail ? a->format_detail : "(none)");
	if (p != NULL && sscanf(p, "DumpType %u", &dt) == 1) {
		const char *got = model_field(a, "DUMP_TYPE");

		fact(t, f, "dump_type",
		     dt == 4 && got != NULL && strcmp(got, "triage") == 0,
		     "expected %u, got %s", dt, got ? got : "(none)");
	}
}

static void check_os(struct tally *t, const char *f, const struct analysis *a,
		     const char *v)
{
	unsigned build = 0, nproc = 0;
	unsigned long mach = 0;
	const char *p;

	if (sscanf(v, "%u", &build) == 1)
		fact(t, f, "os_build", a->system.build == build,
		     "expected %u, got %u (os_ver %s)", build, a->system.build,
		     a->system.os_ver ? a->system.os_ver : "(none)");
	p = strstr(v, "machine: ");
	if (p != NULL && sscanf(p, "machine: %lx", &mach) == 1) {
		const char *want = arch_of_machine(mach);

		fact(t, f, "machine",
		     a->system.cpu_arch != NULL &&
			     strcmp(a->system.cpu_arch, want) == 0,
		     "expected 0x%lX (%s), got %s", mach, want,
		     a->system.cpu_arch ? a->system.cpu_arch : "(none)");
	}
	p = strstr(v, "processors: ");
	if (p != NULL && sscanf(p, "processors: %u", &nproc) == 1)
		fact(t, f, "processors", a->system.cpu_count == nproc,
		     "expected %u, got %u", nproc, a->system.cpu_count);
}

static void check_code(struct tally *t, const char *f,
		       const struct analysis *a, const char *v)
{
	unsigned long code = 0;
	char name[128] = "";

	if (sscanf(v, "%lx (%127[^)])", &code, name) < 1)
		return;
	fact(t, f, "bugcheck_code",
	     a->bugcheck.present && a->bugcheck.code == code,
	     "expected 0x%08lX, got 0x%08X", code, a->bugcheck.code);
	if (name[0] != '\0')
		fact(t, f, "bugcheck_name",
		     a->bugcheck.name != NULL &&
			     strcmp(a->bugcheck.name, name) == 0,
		     "expected %s, got %s", name,
		     a->bugcheck.name ? a->bugcheck.name : "(none)");
}

static void check_params(struct tally *t, const char *f,
			 const struct analysis *a, const char *v)
{
	unsigned long long p[4];
	char buf[256];
	int n = 0, depth = 0;

	/* four hex values; remarks in parentheses are skipped */
	int w = snprintf(buf, sizeof(buf), "%s", v);

	assert_true(w > 0 && (size_t)w < sizeof(buf));
	for (char *tok = strtok(buf, " \t"); tok != NULL && n < 4;
	     tok = strtok(NULL, " \t")) {
		if (tok[0] == '(')
			depth++;
		if (depth == 0)
			p[n++] = strtoull(tok, NULL, 16);
		if (tok[strlen(tok) - 1] == ')')
			depth--;
	}
	if (n != 4)
		return;
	for (int i = 0; i < 4; i++) {
		char what[32];

		w = snprintf(what, sizeof(what), "bugcheck_arg%d", i + 1);
		assert_true(w > 0 && (size_t)w < sizeof(what));
		fact(t, f, what, a->bugcheck.args[i] == p[i],
		     "expected 0x%llx, got 0x%" PRIx64, p[i],
		     a->bugcheck.args[i]);
	}
}

/* "c0000005 access violation at 0xADDR": code in P1, address in IP. */
static void check_exception(struct tally *t, const char *f,
			    const struct analysis *a, const char *v)
{
	unsigned long code = 0;
	unsigned long long addr = 0;
	const char *at = strstr(v, " at ");

	if (sscanf(v, "%lx", &code) == 1)
		fact(t, f, "exception_code",
		     (a->bugcheck.args[0] & 0xFFFFFFFFu) == code,
		     "expected %08lx, got bugcheck Arg1 0x%" PRIx64, code,
		     a->bugcheck.args[0]);
	if (at != NULL && sscanf(at, " at %llx", &addr) == 1) {
		const struct thread *th = model_crashing_thread(a);

		fact(t, f, "exception_addr",
		     th != NULL && th->has_context && th->ip == addr,
		     "expected 0x%llx, got context ip 0x%" PRIx64, addr,
		     th != NULL ? th->ip : 0);
	}
}

static void check_modules(struct tally *t, const char *f,
			  const struct analysis *a, const char *v)
{
	unsigned n = 0;

	if (sscanf(v, "%u", &n) == 1)
		fact(t, f, "loaded_modules", loaded_count(a) == n,
		     "expected %u, got %zu", n, loaded_count(a));
}

/* "name base 0xB size 0xS": the module, and frame 0 inside it. */
static void check_faulting(struct tally *t, const char *f,
			   const struct analysis *a, const char *v)
{
	char name[128];
	unsigned long long base = 0, size = 0;

	if (sscanf(v, "%127s base %llx size %llx", name, &base, &size) != 3)
		return;
	const struct module *m = model_module_named(a, name);

	fact(t, f, "faulting_module",
	     m != NULL && m->base == base && m->size == size,
	     "expected %s 0x%llx+0x%llx, got %s 0x%" PRIx64 "+0x%" PRIx64,
	     name, base, size, m ? m->filename : "(none)", m ? m->base : 0,
	     m ? m->size : 0);
	const struct thread *th = model_crashing_thread(a);
	const char *top = th != NULL && th->frames.n > 0 &&
					  th->frames.v[0].module != NULL
				  ? th->frames.v[0].module
				  : "(none)";

	fact(t, f, "frame0_module", strcmp(top, name) == 0,
	     "expected %s, got %s", name, top);
}

static const struct {
	const char *key;
	void (*check)(struct tally *t, const char *f, const struct analysis *a,
		      const char *v);
} checks[] = {
	{ "signature", check_signature },
	{ "os_build", check_os },
	{ "bugcheck_code", check_code },
	{ "bugcheck_params", check_params },
	{ "exception", check_exception },
	{ "loaded_modules", check_modules },
	{ "faulting_module", check_faulting },
};

static void check_line(struct tally *t, const char *f,
		       const struct analysis *a, char *line)
{
	char *colon = strchr(line, ':');

	if (line[0] == '#' || colon == NULL)
		return;
	*colon = '\0';
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(line, checks[i].key) == 0)
			checks[i].check(t, f, a, colon + 2);
}

static void check_dump(struct tally *t, const char *dir, const char *exp)
{
	char path[PATH_CAP], dump[PATH_CAP];
	size_t n = strlen(exp) - strlen(EXP_SUFFIX), len = 0;
	struct analysis *a = NULL;

	int w = snprintf(path, sizeof(path), "%s/%s", dir, exp);

	assert_true(w > 0 && (size_t)w < sizeof(path));
	w = snprintf(dump, sizeof(dump), "%s/%.*s", dir, (int)n, exp);
	assert_true(w > 0 && (size_t)w < sizeof(dump));
	char *text = (char *)test_read_file(path, &len);

	assert_non_null(text);
	assert_int_equal(analysis_run_file(&a, dump, NULL), DF_OK);
	for (size_t i = 0; i < a->errors.n; i++)
		printf("  error in %s: %s\n", exp, a->errors.v[i].message);
	fact(t, exp, "read_cleanly", a->errors.n == 0, "%zu errors",
	     a->errors.n);
	for (char *line = text, *nl; line != NULL; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		check_line(t, exp, a, line);
	}
	analysis_destroy(&a);
	free(text);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

static void test_corpus_kernel(void **state)
{
	(void)state;
	const char *dir = test_shared_path(CORPUS_DIR);
	struct tally t = { 0, 0 };
	unsigned files = 0;

	assert_non_null(dir);
	char dirbuf[PATH_CAP];

	int w = snprintf(dirbuf, sizeof(dirbuf), "%s", dir);

	assert_true(w > 0 && (size_t)w < sizeof(dirbuf));
	DIR *d = opendir(dirbuf);

	if (d == NULL) {
		printf("no %s: nothing to compare\n", dirbuf);
		return;
	}
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
		if (!has_suffix(e->d_name, EXP_SUFFIX))
			continue;
		files++;
		check_dump(&t, dirbuf, e->d_name);
	}
	closedir(d);
	printf("kernel corpus: %u files, %u of %u facts agree\n", files,
	       t.agree, t.facts);
	assert_true(files > 0);
	assert_int_equal(t.agree, t.facts);
}

int main(void)
{
	if (test_shared_dir() == NULL)
		return 77;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_kernel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
