/*
 * The sample kernel dumps and their generator.
 *
 * 1. samples/kernel/KIND.dmp is byte for byte what `mkkdump --kind KIND`
 *    writes (so the samples are provably the generator's output).
 * 2. analysis_run() reads each sample without errors and finds what the
 *    generator put in: bugcheck, drivers, context, stack frames, blame.
 * 3. The two d1 dumps (other time, parameters and stack address) share a
 *    signature; the 9f dump does not.
 * 4. The JSON has dump_type and crash_info.address; the text form starts
 *    with the BlueScreenView-like row.
 *
 * The generator is found as $MKKDUMP or $DF_BUILD/tests/mkkdump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis.h"
#include "analysis_json.h"
#include "analysis_text.h"
#include "df.h"
#include "model.h"
#include "testutil.h"

static const char *const kinds[] = {
	"d1-acmenet",
	"d1-acmenet-again",
	"9f-acmeusb",
};

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
	const char *env = getenv("MKKDUMP");
	const char *build = getenv("DF_BUILD");
	char *p;

	if (env != NULL && *env)
		p = fmt_path("%s", env);
	else if (build != NULL && *build)
		p = fmt_path("%s/tests/mkkdump", build);
	else
		return NULL;
	if (access(p, X_OK) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

static uint8_t *sample(const char *kind, size_t *len)
{
	char *path = fmt_path("%s/samples/kernel/%s.dmp", test_source_dir(),
			      kind);
	uint8_t *d = test_read_file(path, len);

	if (d == NULL)
		printf("cannot read %s\n", path);
	free(path);
	return d;
}

static struct analysis *run_sample(const char *kind)
{
	size_t len;
	uint8_t *d = sample(kind, &len);
	struct analysis *a = NULL;

	assert_non_null(d);
	assert_int_equal(analysis_run(&a, d, len, NULL), DF_OK);
	assert_non_null(a);
	free(d);
	for (size_t i = 0; i < a->errors.n; i++)
		printf("%s: error: %s\n", kind, a->errors.v[i].message);
	assert_int_equal(a->errors.n, 0);
	return a;
}

/* ---- 1. samples are the generator's output ------------------------------- */

static void test_samples_are_generated(void **state)
{
	char *gen = generator();

	(void)state;
	if (gen == NULL) {
		printf("mkkdump not found (set MKKDUMP or DF_BUILD)\n");
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
		assert_memory_equal(g, "PAGEDU64", 8);
		assert_memory_equal(g + glen - 4, "TRGD", 4);
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

/* ---- 2. what analysis_run finds in the samples --------------------------- */

static void assert_drivers(const struct analysis *a, const char *const *names,
			   size_t n)
{
	assert_int_equal(a->modules.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(a->modules.v[i].filename, names[i]);
		assert_false(a->modules.v[i].unloaded);
		assert_non_null(a->modules.v[i].code_id);
		assert_non_null(a->modules.v[i].path);
	}
}

static bool frames_have(const struct thread *t, const char *mod)
{
	for (size_t i = 0; i < t->frames.n; i++)
		if (t->frames.v[i].module != NULL &&
		    strcmp(t->frames.v[i].module, mod) == 0)
			return true;
	return false;
}

static void test_d1_read(void **state)
{
	static const char *const drivers[] = { "ntoskrnl.exe", "hal.dll",
					       "ndis.sys", "acmenet.sys" };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct analysis *a = run_sample(kinds[k]);

		assert_int_equal(a->format, FORMAT_KERNEL_DUMP);
		assert_string_equal(a->format_detail, "PAGEDU64 triage");
		assert_string_equal(model_field(a, "DUMP_TYPE"), "triage");
		assert_true(a->bugcheck.present);
		assert_int_equal(a->bugcheck.code, 0xD1);
		assert_string_equal(a->bugcheck.name,
				    "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
		assert_int_equal(a->bugcheck.args[1], 2);
		assert_int_equal(a->bugcheck.args[3], 0xfffff8031c601d4bULL);
		assert_string_equal(a->system.cpu_arch, "amd64");
		assert_int_equal(a->system.cpu_count, 4);
		assert_int_equal(a->system.build, 19041);
		assert_string_equal(a->process_name, "System");
		assert_drivers(a, drivers, 4);
		assert_string_equal(a->modules.v[3].code_id, "65A3B7D22c000");
		assert_true(a->crash.has_ip);
		assert_int_equal(a->crash.ip, 0xfffff8031c601d4bULL);
		const struct thread *t = model_crashing_thread(a);

		assert_non_null(t);
		assert_int_equal(t->frames.n, 7);
		assert_string_equal(t->frames.v[0].module, "acmenet.sys");
		assert_int_equal(t->frames.v[0].trust, TRUST_CONTEXT);
		assert_int_equal(t->frames.v[1].trust, TRUST_SCAN);
		assert_true(frames_have(t, "ndis.sys"));
		assert_true(frames_have(t, "ntoskrnl.exe"));
		assert_string_equal(a->blame_module, "acmenet.sys");
		assert_non_null(a->signature);
		analysis_destroy(&a);
	}
}

static void test_9f_read(void **state)
{
	static const char *const drivers[] = { "ntoskrnl.exe", "hal.dll",
					       "Wdf01000.sys", "acmeusb.sys" };
	struct analysis *a = run_sample("9f-acmeusb");

	(void)state;
	assert_int_equal(a->bugcheck.code, 0x9F);
	assert_int_equal(a->bugcheck.args[0], 3);
	assert_int_equal(a->system.build, 22621);
	assert_int_equal(a->system.cpu_count, 8);
	assert_drivers(a, drivers, 4);
	const struct thread *t = model_crashing_thread(a);

	assert_non_null(t);
	assert_string_equal(t->frames.v[0].module, "ntoskrnl.exe");
	assert_true(frames_have(t, "acmeusb.sys"));
	assert_string_equal(a->blame_module, "acmeusb.sys");
	assert_string_equal(a->blame_reason, "first-non-os-frame");
	analysis_destroy(&a);
}

/* ---- 3. signatures ------------------------------------------------------- */

static void test_signatures(void **state)
{
	struct analysis *a = run_sample("d1-acmenet");
	struct analysis *b = run_sample("d1-acmenet-again");
	struct analysis *c = run_sample("9f-acmeusb");

	(void)state;
	assert_true(a->signature_hash[0] != '\0');
	assert_string_equal(a->signature_hash, b->signature_hash);
	assert_string_equal(a->signature, b->signature);
	assert_string_not_equal(a->signature_hash, c->signature_hash);
	/* Same frames, but not the same dump. */
	assert_true(a->crash_time != b->crash_time);
	assert_true(a->bugcheck.args[0] != b->bugcheck.args[0]);
	assert_memory_not_equal(a->content_hash, b->content_hash, HASH_LEN);
	analysis_destroy(&a);
	analysis_destroy(&b);
	analysis_destroy(&c);
}

/* ---- 4. output ----------------------------------------------------------- */

static void test_output(void **state)
{
	struct analysis *a = run_sample("d1-acmenet");
	json_t *j = analysis_to_json(a, "d1-acmenet.dmp");

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "format")),
			    "kernel-dump");
	assert_string_equal(json_string_value(json_object_get(j, "dump_type")),
			    "triage");
	json_t *ci = json_object_get(j, "crash_info");

	assert_true(json_is_object(ci));
	assert_string_equal(json_string_value(json_object_get(ci, "address")),
			    "0xfffff8031c601d4b");
	json_t *mods = json_object_get(j, "modules");

	assert_int_equal(json_array_size(mods), 4);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(mods, 3), "code_id")),
			    "65A3B7D22c000");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "blame"), "module")),
			    "acmenet.sys");
	json_decref(j);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	analysis_print_text(f, a, "d1-acmenet.dmp");
	assert_int_equal(fclose(f), 0);
	printf("%s", buf);
	const char *row = "d1-acmenet.dmp  2024-03-05 14:22:09 UTC  "
			  "DRIVER_IRQL_NOT_LESS_OR_EQUAL  0x000000D1  "
			  "0xffffc08a1b2c3d48  0x0000000000000002  "
			  "0x0000000000000000  0xfffff8031c601d4b  "
			  "acmenet.sys  acmenet.sys+0x1d4b  4 processors  "
			  "Windows 10 10.0.19041 build 19041  amd64\n";

	assert_true(strncmp(buf, row, strlen(row)) == 0);
	assert_non_null(strstr(buf, "  crash          instruction "
				    "0xfffff8031c601d4b (acmenet.sys+0x1d4b)\n"));
	assert_non_null(strstr(buf, "     0  acmenet.sys+0x1d4b  (context)\n"));
	free(buf);
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_are_generated),
		cmocka_unit_test(test_d1_read),
		cmocka_unit_test(test_9f_read),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
