/*
 * Breakpad .sym symbolization: the parser on crafted text (FUNC, PUBLIC,
 * line records, malformed lines, huge numbers, empty and missing files),
 * the store layout and its guards, the shared cache under threads, and
 * breakpad__minidump2.dmp with the corpus symbols (skipped when the
 * shared corpus is absent; the whole test exits 77 only if every case
 * needing it would).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "analysis.h"
#include "df.h"
#include "model.h"
#include "symbols.h"
#include "testutil.h"

static const char crafted[] =
	"MODULE windows x86 0F1E2D3C4B5A69788796A5B4C3D2E1F01 demo.pdb\r\n"
	"INFO CODE_ID 5A1B2C3D 1F000 demo.dll\n"
	"FILE 0 c:\\src\\demo\\worker.cpp\n"
	"INLINE_ORIGIN 0 Queue::pop()\n"
	"FUNC 1010 5e 4 Worker::run(int)\n"
	"INLINE 0 42 0 0 1022 14\n"
	"1010 12 40 0\n"
	"1022 14 17 1\n"
	"FUNC m 1070 20 0 Worker::stop() const\n"
	"1070 20 60 0\n"
	"PUBLIC 1100 0 _DllMain@12\n"
	"PUBLIC m 2000 4 _second@4\n"
	"PUBLIC 0 0 ignored_at_zero\n"
	"STACK WIN 4 1010 5e 6 0 4 8 10 0 1 $T0 $ebp = $eip $T0 4 + ^ =\n"
	"STACK CFI INIT 1010 5e .cfa: $esp 4 + .ra: .cfa 4 - ^\n"
	"FUNC 3000 10 0 later\n"
	"FUNC 3008 10 0 overlaps_later\n"
	/* malformed: */
	"FUNC zz 10 0 bad_hex\n"
	"FUNC 4000 0 0 zero_size\n"
	"FUNC 4000 10 0\n"
	"FUNC 12345678901234567 10 0 seventeen_digits\n"
	"FUNC ffffffffffffffff 2 0 wraps\n"
	"PUBLIC 5000\n"
	"PUBLIC -1 0 negative\n"
	"FUNC 6000 10 0 with\0nul\n"
	"FUNC\n"
	"\n\n"
	"FUNC ffffffffffffffe0 10 0 at_the_top";

static struct symfile *parse_text(const char *text, size_t len)
{
	struct symfile *f = NULL;

	assert_int_equal(symfile_parse(&f, (const uint8_t *)text, len), DF_OK);
	assert_non_null(f);
	return f;
}

static void expect(const struct symfile *f, uint64_t rel, const char *name,
		   uint64_t off)
{
	const char *n = NULL;
	uint64_t o = 0;

	if (name == NULL) {
		assert_false(symfile_lookup(f, rel, &n, &o));
		return;
	}
	assert_true(symfile_lookup(f, rel, &n, &o));
	assert_string_equal(n, name);
	assert_int_equal(o, off);
}

static void expect_line(const struct symfile *f, uint64_t rel,
			const char *file, uint32_t line, uint64_t off)
{
	const char *fl = NULL;
	uint32_t l = 0;
	uint64_t o = 0;

	if (file == NULL) {
		assert_false(symfile_lookup_line(f, rel, &fl, &l, &o));
		return;
	}
	assert_true(symfile_lookup_line(f, rel, &fl, &l, &o));
	assert_string_equal(fl, file);
	assert_int_equal(l, line);
	assert_int_equal(o, off);
}

/* Line records: only those of the covering FUNC, only with a FILE. */
static void test_line_lookups(void **state)
{
	(void)state;
	struct symfile *f = parse_text(crafted, sizeof(crafted) - 1);

	expect_line(f, 0x1010, "c:\\src\\demo\\worker.cpp", 40, 0);
	expect_line(f, 0x1021, "c:\\src\\demo\\worker.cpp", 40, 0x11);
	expect_line(f, 0x1025, NULL, 0, 0); /* FILE 1 is not declared */
	expect_line(f, 0x1040, NULL, 0, 0); /* in the FUNC, past its lines */
	expect_line(f, 0x1075, "c:\\src\\demo\\worker.cpp", 60, 5);
	expect_line(f, 0x1100, NULL, 0, 0); /* a PUBLIC has no lines */
	symfile_destroy(&f);

	/* A line record before any FUNC, or after a PUBLIC, belongs to none. */
	static const char orphan[] = "FILE 0 a.c\n1000 10 1 0\n"
				     "FUNC 1000 10 0 f\nPUBLIC 1008 0 p\n"
				     "1008 8 2 0\n";

	f = parse_text(orphan, sizeof(orphan) - 1);
	struct symfile_stats st;

	symfile_stats(f, &st);
	assert_int_equal(st.lines, 0);
	assert_int_equal(st.skipped, 2);
	expect_line(f, 0x1000, NULL, 0, 0);
	symfile_destroy(&f);
}

/* STACK records: lookups by range, preference, deltas, malformed lines. */
static void test_stack_records(void **state)
{
	static const char text[] =
		"FUNC 1000 100 c f\n"
		"STACK WIN 0 1000 100 1 2 c 4 8 10 0 1\n"
		"STACK WIN 4 1000 80 0 0 c 0 0 0 1 $eip $esp ^ =\n"
		"STACK WIN 2 2000 10 0 0 0 0 0 0 0 0\n" /* type 2: unused */
		"STACK WIN 4 zz 10 0 0 0 0 0 0 0 0\n"   /* malformed */
		"STACK WIN 4 3000 10 0 0 0 0 0 0 1\n"   /* no program */
		"STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
		"STACK CFI 1010 .cfa: $rsp 16 +\n"
		"STACK CFI 1000 $rbx: .cfa -16 + ^\n" /* at the INIT's start */
		"STACK CFI 1000 $rbp: .cfa -24 + ^\n"
		"STACK CFI 1020 .cfa: $rsp 24 +\n"
		"STACK CFI 2000 .cfa: $rsp 32 +\n"      /* no INIT covers it */
		"STACK CFI INIT 1080 10 .cfa: 0\n"       /* overlaps: dropped */
		"STACK CFI INIT 4000 0 .cfa: 0\n"        /* empty range */
		"STACK FOO 1 2\n";
	(void)state;
	struct symfile *f = parse_text(text, sizeof(text) - 1);
	struct symfile_stats st;
	struct symfile_win w;
	const char *rules[8];
	uint32_t params;

	symfile_stats(f, &st);
	assert_int_equal(st.stack_win, 2);
	assert_int_equal(st.stack_cfi, 6); /* the overlapping INIT is dropped */
	assert_int_equal(st.skipped, 4);
	/* type 4 first where both cover; type 0 past type 4's range */
	assert_true(symfile_find_win(f, 0x1000, &w));
	assert_int_equal(w.type, 4);
	assert_string_equal(w.program, "$eip $esp ^ =");
	assert_true(symfile_find_win(f, 0x1090, &w));
	assert_int_equal(w.type, 0);
	assert_null(w.program);
	assert_int_equal(w.param_size, 0xc);
	assert_int_equal(w.saved_regs_size, 4);
	assert_int_equal(w.local_size, 8);
	assert_true(w.allocates_base_pointer);
	assert_false(symfile_find_win(f, 0x2000, &w));
	assert_true(symfile_param_size(f, 0x10ff, &params));
	assert_int_equal(params, 0xc);
	assert_false(symfile_param_size(f, 0x1100, &params));
	/* the INIT, then the deltas up to the address */
	assert_int_equal(symfile_find_cfi(f, 0x1000, rules, 8), 3);
	assert_string_equal(rules[1], "$rbx: .cfa -16 + ^"); /* file order */
	assert_int_equal(symfile_find_cfi(f, 0x100f, rules, 8), 3);
	assert_int_equal(symfile_find_cfi(f, 0x1010, rules, 8), 4);
	assert_int_equal(symfile_find_cfi(f, 0x10ff, rules, 8), 5);
	assert_string_equal(rules[4], ".cfa: $rsp 24 +");
	assert_int_equal(symfile_find_cfi(f, 0x10ff, rules, 4), SIZE_MAX);
	assert_int_equal(symfile_find_cfi(f, 0x2000, rules, 4), 0);
	assert_int_equal(symfile_find_cfi(f, 0xfff, rules, 4), 0);
	symfile_destroy(&f);
}

/* INLINE records: both forms, nesting order, refused and unnamed ones. */
static void test_inline_records(void **state)
{
	static const char text[] =
		"FILE 7 a.h\n"
		"INLINE_ORIGIN 1 outer()\n"
		"INLINE_ORIGIN 2 5 inner()\n" /* old form: file 5, then name */
		"INLINE_ORIGIN 1 duplicate()\n"
		"INLINE 0 10 7 1 100 10\n"    /* outside any FUNC */
		"FUNC 100 100 0 f\n"
		"INLINE 0 10 7 1 110 20 180 8\n"  /* new form, two ranges */
		"INLINE 1 20 2 118 8\n"           /* old form: no file */
		"INLINE 3 30 7 9 118 4\n"         /* level skips 2: refused */
		"INLINE 1 40 -1 9 184 2\n"        /* file -1, unknown origin */
		"INLINE 0 1\n";                   /* too short */
	(void)state;
	struct symfile *f = parse_text(text, sizeof(text) - 1);
	struct symfile_stats st;
	struct symfile_inline in[4];

	symfile_stats(f, &st);
	assert_int_equal(st.inlines, 4);
	assert_int_equal(st.origins, 2);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(symfile_lookup_inlines(f, 0x10f, in, 4), 0);
	assert_int_equal(symfile_lookup_inlines(f, 0x111, in, 4), 1);
	assert_string_equal(in[0].name, "outer()");
	assert_string_equal(in[0].call_file, "a.h");
	assert_int_equal(in[0].call_line, 10);
	assert_int_equal(in[0].base, 0x110);
	/* innermost first */
	assert_int_equal(symfile_lookup_inlines(f, 0x119, in, 4), 2);
	assert_string_equal(in[0].name, "inner()");
	assert_null(in[0].call_file);
	assert_int_equal(in[0].call_line, 20);
	assert_string_equal(in[1].name, "outer()");
	assert_int_equal(symfile_lookup_inlines(f, 0x119, in, 1), 1);
	/* the second range of the first INLINE, and an unknown origin */
	assert_int_equal(symfile_lookup_inlines(f, 0x185, in, 4), 2);
	assert_string_equal(in[0].name, "<name omitted>");
	assert_null(in[0].call_file);
	assert_int_equal(in[1].base, 0x180);
	symfile_destroy(&f);
}

static void test_crafted_lookups(void **state)
{
	(void)state;
	struct symfile *f = parse_text(crafted, sizeof(crafted) - 1);
	struct symfile_stats st;

	symfile_stats(f, &st);
	assert_int_equal(st.funcs, 4); /* run, stop, later, at_the_top */
	assert_int_equal(st.publics, 2);
	/*
	 * 3008 overlap is dropped in finish(), not counted as malformed; the
	 * bare "FUNC" is (it reads as a line record that does not parse).
	 */
	assert_int_equal(st.skipped, 9);
	assert_int_equal(st.lines, 3);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.stack_win, 1);
	assert_int_equal(st.stack_cfi, 1);
	expect(f, 0x100f, NULL, 0);
	expect(f, 0x1010, "Worker::run(int)", 0);
	expect(f, 0x1025, "Worker::run(int)", 0x15);
	expect(f, 0x106d, "Worker::run(int)", 0x5d);
	/* Gap after a FUNC, before any PUBLIC: nothing. */
	expect(f, 0x106e, NULL, 0);
	expect(f, 0x1071, "Worker::stop() const", 1);
	expect(f, 0x1090, NULL, 0);
	expect(f, 0x1100, "_DllMain@12", 0);
	expect(f, 0x1fff, "_DllMain@12", 0xeff);
	expect(f, 0x2003, "_second@4", 3);
	expect(f, 0x300f, "later", 0xf);
	/* Past a FUNC that lies above the PUBLIC: the PUBLIC's reach ended. */
	expect(f, 0x3010, NULL, 0);
	expect(f, 0x4000, NULL, 0);
	expect(f, 0xffffffffffffffefULL, "at_the_top", 0xf);
	expect(f, 0xffffffffffffffffULL, NULL, 0);
	symfile_destroy(&f);
	assert_null(f);
	symfile_destroy(&f);
}

static void test_empty_and_garbage(void **state)
{
	(void)state;
	struct symfile *f = parse_text("", 0);
	struct symfile_stats st;

	symfile_stats(f, &st);
	assert_int_equal(st.funcs + st.publics + st.skipped, 0);
	expect(f, 0, NULL, 0);
	expect(f, 0x1234, NULL, 0);
	symfile_destroy(&f);

	static const char junk[] = "\xff\xfe\x00garbage\r\r\nFUNC 1 1 1\nPUBLIC";
	f = parse_text(junk, sizeof(junk) - 1);
	symfile_stats(f, &st);
	assert_int_equal(st.funcs + st.publics, 0);
	assert_int_equal(st.skipped, 2);
	symfile_destroy(&f);

	/* A file too large is refused before any parsing. */
	assert_int_equal(symfile_parse(&f, (const uint8_t *)"",
				       SYMFILE_MAX_BYTES + 1),
			 DF_ELIMIT);
	assert_null(f);
}

static void test_long_name_cut(void **state)
{
	(void)state;
	size_t n = SYMFILE_MAX_NAME * 2;
	char *text = malloc(n + 32);

	assert_non_null(text);
	int w = snprintf(text, 32, "FUNC 10 10 0 ");

	memset(text + w, 'x', n);
	struct symfile *f = parse_text(text, (size_t)w + n);
	const char *name;
	uint64_t off;

	assert_true(symfile_lookup(f, 0x12, &name, &off));
	assert_int_equal(strlen(name), SYMFILE_MAX_NAME);
	symfile_destroy(&f);
	free(text);
}

static void test_store_paths(void **state)
{
	(void)state;
	char p[256];

	assert_int_equal(symstore_sym_path(p, sizeof(p), "/s", "app.pdb",
					   "0A1b2"), DF_OK);
	assert_string_equal(p, "/s/app.pdb/0A1b2/app.sym");
	assert_int_equal(symstore_sym_path(p, sizeof(p), "/s", "APP.PDB", "1"),
			 DF_OK);
	assert_string_equal(p, "/s/APP.PDB/1/APP.sym");
	assert_int_equal(symstore_sym_path(p, sizeof(p), "/s", "libfoo.so",
					   "AB"), DF_OK);
	assert_string_equal(p, "/s/libfoo.so/AB/libfoo.so.sym");
	assert_int_equal(symstore_sym_path(p, sizeof(p), "/s",
					   "c:\\build\\x\\app.pdb", "AB"),
			 DF_OK);
	assert_string_equal(p, "/s/app.pdb/AB/app.sym");
	static const char *const bad_files[] = { "", ".hidden", "..", "a..b",
						 "dir/", "x\\" };

	for (size_t i = 0; i < ARRAY_SIZE(bad_files); i++)
		assert_int_equal(symstore_sym_path(p, sizeof(p), "/s",
						   bad_files[i], "AB"),
				 DF_EUSAGE);
	static const char *const bad_ids[] = { "", "../x", "AB/CD", "AB G",
		"0123456789012345678901234567890123456789012345678901234567890123456789" };

	for (size_t i = 0; i < ARRAY_SIZE(bad_ids); i++)
		assert_int_equal(symstore_sym_path(p, sizeof(p), "/s", "a.pdb",
						   bad_ids[i]),
				 DF_EUSAGE);
	assert_int_equal(symstore_sym_path(p, sizeof(p), "/s", NULL, "AB"),
			 DF_EUSAGE);
	assert_int_equal(symstore_sym_path(p, 8, "/s", "app.pdb", "AB"),
			 DF_ELIMIT);
}

/* ---- the store over a temporary folder ---------------------------------- */

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* ROOT/demo.pdb/ID/demo.sym holding the crafted text. */
static void make_store(const char *root)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/demo.pdb", root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/demo.pdb/0F1E2D3C4B5A69788796A5B4C3D2E1F01",
		 root);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p),
		 "%s/demo.pdb/0F1E2D3C4B5A69788796A5B4C3D2E1F01/demo.sym", root);
	write_file(p, crafted, sizeof(crafted) - 1);
}

static void add_module(struct analysis *a, const char *file,
		       const char *debug_file, const char *id, uint64_t base)
{
	struct module *m = model_add_module(a);

	assert_non_null(m);
	m->filename = file;
	m->debug_file = debug_file;
	m->debug_id = id;
	m->base = base;
	m->size = 0x10000;
	m->end = base + m->size - 1;
}

static void add_frame(struct analysis *a, struct thread *t, bool own,
		      const char *module, uint64_t base, uint64_t off)
{
	struct frame *f = own ? model_add_own_frame(a, t) : model_add_frame(a, t);

	assert_non_null(f);
	f->module = module;
	f->address = base + off;
	f->has_address = true;
	f->module_offset = off;
	f->has_module_offset = module != NULL;
	f->trust = TRUST_CFI;
}

/* An analysis with demo.dll (symbols), other.dll (none), evil.dll. */
static struct analysis *fake_analysis(void)
{
	struct analysis *a = analysis_new();

	assert_non_null(a);
	add_module(a, "demo.dll", "demo.pdb",
		   "0F1E2D3C4B5A69788796A5B4C3D2E1F01", 0x10000000);
	add_module(a, "other.dll", "other.pdb", "AB", 0x20000000);
	add_module(a, "evil.dll", "..\\..", "AB", 0x30000000);
	struct thread *t = model_add_thread(a);

	assert_non_null(t);
	add_frame(a, t, false, "demo.dll", 0x10000000, 0x1025);
	add_frame(a, t, false, "other.dll", 0x20000000, 0x1025);
	add_frame(a, t, false, "evil.dll", 0x30000000, 0x1025);
	add_frame(a, t, false, NULL, 0x40000000, 0x1025);
	add_frame(a, t, true, "demo.dll", 0x10000000, 0x1100);
	return a;
}

static void check_fake(const struct analysis *a)
{
	const struct thread *t = &a->threads.v[0];

	/* 0x1025 is in Queue::pop() inlined into Worker::run(int) at line 42 */
	assert_int_equal(t->frames.n, 5);
	assert_string_equal(t->frames.v[0].function, "Queue::pop()");
	assert_int_equal(t->frames.v[0].trust, TRUST_INLINE);
	assert_int_equal(t->frames.v[0].func_offset, 0x3);
	assert_null(t->frames.v[0].source_file); /* its line's FILE is absent */
	assert_string_equal(t->frames.v[1].function, "Worker::run(int)");
	assert_true(t->frames.v[1].has_func_offset);
	assert_int_equal(t->frames.v[1].func_offset, 0x15);
	assert_string_equal(t->frames.v[1].source_file,
			    "c:\\src\\demo\\worker.cpp");
	assert_int_equal(t->frames.v[1].source_line, 42);
	for (size_t i = 2; i < 5; i++) {
		assert_null(t->frames.v[i].function);
		assert_false(t->frames.v[i].has_func_offset);
	}
	assert_string_equal(t->own_frames.v[0].function, "_DllMain@12");
	assert_int_equal(t->own_frames.v[0].func_offset, 0);
}

static void test_store_symbolize(void **state)
{
	(void)state;
	char *root = test_tmpdir();
	char missing[1024];

	snprintf(missing, sizeof(missing), "%s/no-such-root", root);
	make_store(root);
	const char *dirs[] = { missing, root };
	struct symstore *s = symstore_new(dirs, 2);

	assert_non_null(s);
	/* Twice: the second analysis is served from the cache. */
	for (int round = 0; round < 2; round++) {
		struct analysis *a = fake_analysis();

		assert_int_equal(symstore_symbolize(s, a), 2);
		check_fake(a);
		/* Named frames are left alone on a second pass. */
		assert_int_equal(symstore_symbolize(s, a), 0);
		analysis_destroy(&a);
	}
	symstore_destroy(&s);
	assert_null(s);
	symstore_destroy(&s);

	/* No roots, or no store: nothing named, nothing fails. */
	s = symstore_new(NULL, 0);
	assert_non_null(s);
	struct analysis *a = fake_analysis();

	assert_int_equal(symstore_symbolize(s, a), 0);
	assert_int_equal(symstore_symbolize(NULL, a), 0);
	assert_null(a->threads.v[0].frames.v[0].function);
	analysis_destroy(&a);
	symstore_destroy(&s);
	test_rmtree(root);
	free(root);
}

struct shared_run {
	struct symstore *s;
	int failures;
};

static void *symbolize_many(void *arg)
{
	struct shared_run *r = arg;

	for (int i = 0; i < 50; i++) {
		struct analysis *a = analysis_new();

		if (a == NULL) {
			r->failures++;
			continue;
		}
		add_module(a, "demo.dll", "demo.pdb",
			   "0F1E2D3C4B5A69788796A5B4C3D2E1F01", 0x10000000);
		struct thread *t = model_add_thread(a);
		struct frame *f = t ? model_add_frame(a, t) : NULL;

		if (f != NULL) {
			f->module = "demo.dll";
			f->module_offset = 0x1071;
			f->has_module_offset = true;
		}
		if (f == NULL || symstore_symbolize(r->s, a) != 1 ||
		    strcmp(f->function, "Worker::stop() const") != 0)
			r->failures++;
		analysis_destroy(&a);
	}
	return NULL;
}

static void test_store_threads(void **state)
{
	(void)state;
	char *root = test_tmpdir();

	make_store(root);
	const char *dirs[] = { root };
	struct symstore *s = symstore_new(dirs, 1);
	pthread_t th[4];
	struct shared_run runs[4];

	assert_non_null(s);
	for (int i = 0; i < 4; i++) {
		runs[i] = (struct shared_run){ s, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, symbolize_many,
						&runs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(runs[i].failures, 0);
	}
	symstore_destroy(&s);
	test_rmtree(root);
	free(root);
}

/* ---- the corpus ---------------------------------------------------------- */

static void test_minidump2(void **state)
{
	(void)state;
	if (test_shared_dir() == NULL) {
		printf("shared corpus not found: skipped\n");
		skip();
	}
	char dmp[4096], syms[4096];

	snprintf(dmp, sizeof(dmp), "%s",
		 test_shared_path("corpus/minidumps/breakpad__minidump2.dmp"));
	snprintf(syms, sizeof(syms), "%s", test_shared_path("corpus/symbols"));
	const char *dirs[] = { syms };
	struct symstore *s = symstore_new(dirs, 1);
	struct analysis *a = NULL;

	assert_non_null(s);
	assert_int_equal(analysis_run_file_with(&a, dmp, NULL, s), DF_OK);
	const struct thread *t = model_crashing_thread(a);

	assert_non_null(t);
	/* The machine_readable reference: 0|0..3 */
	static const char *const mods[] = { "test_app.exe", "test_app.exe",
					    "test_app.exe", "kernel32.dll" };
	static const char *const fns[] = {
		"`anonymous namespace'::CrashFunction", "main",
		"__tmainCRTStartup", "BaseProcessStart"
	};

	assert_true(t->frames.n >= 4);
	for (size_t i = 0; i < 4; i++) {
		const struct frame *f = &t->frames.v[i];

		printf("frame %zu: %s!%s+0x%llx (module+0x%llx)\n", i, f->module,
		       f->function ? f->function : "?",
		       (unsigned long long)f->func_offset,
		       (unsigned long long)f->module_offset);
		assert_string_equal(f->module, mods[i]);
		assert_non_null(f->function);
		assert_string_equal(f->function, fns[i]);
		assert_true(f->has_func_offset);
	}
	assert_int_equal(t->frames.v[0].func_offset, 0xe);
	assert_non_null(strstr(a->signature, "CrashFunction"));
	/* Source lines, and the callers unwound by STACK WIN, as Breakpad. */
	assert_string_equal(t->frames.v[0].source_file, "c:\\test_app.cc");
	assert_int_equal(t->frames.v[0].source_line, 58);
	assert_int_equal(t->frames.v[1].source_line, 65);
	assert_null(t->frames.v[3].source_file); /* kernel32: no lines */
	assert_int_equal(t->frames.v[0].trust, TRUST_CONTEXT);
	for (size_t i = 1; i < 4; i++)
		assert_int_equal(t->frames.v[i].trust, TRUST_CFI);
	size_t errors = a->errors.n;

	analysis_destroy(&a);

	/* Without symbols the same dump names nothing. */
	assert_int_equal(analysis_run_file(&a, dmp, NULL), DF_OK);
	t = model_crashing_thread(a);
	assert_non_null(t);
	assert_null(t->frames.v[0].function);
	assert_int_equal(a->errors.n, errors);
	analysis_destroy(&a);
	symstore_destroy(&s);

	/*
	 * A store without the files: not an error; the walk is the one
	 * without symbols (frame pointers), nothing is named.
	 */
	char *empty = test_tmpdir();

	assert_non_null(empty);
	dirs[0] = empty;
	s = symstore_new(dirs, 1);
	assert_non_null(s);
	assert_int_equal(analysis_run_file_with(&a, dmp, NULL, s), DF_OK);
	t = model_crashing_thread(a);
	assert_non_null(t);
	assert_int_equal(a->errors.n, errors);
	assert_true(t->frames.n >= 4);
	assert_null(t->frames.v[0].function);
	assert_int_equal(t->frames.v[1].trust, TRUST_FRAME_POINTER);
	analysis_destroy(&a);
	symstore_destroy(&s);
	test_rmtree(empty);
	free(empty);
}

/*
 * Copy corpus/symbols/DIR/ID/NAME into ROOT, with the lines of EXTRA put
 * after the first line that starts with each AFTER (EXTRA[i] after
 * AFTER[i]; an AFTER of "" puts it first).
 */
static void copy_sym(const char *root, const char *dir, const char *id,
		     const char *name, const char *const *after,
		     const char *const *extra, size_t n)
{
	char src[4096], dst[4096];
	size_t len;

	snprintf(src, sizeof(src), "corpus/symbols/%s/%s/%s", dir, id, name);
	snprintf(src, sizeof(src), "%s", test_shared_path(src));
	uint8_t *text = test_read_file(src, &len);

	assert_non_null(text);
	snprintf(dst, sizeof(dst), "%s/%s", root, dir);
	assert_int_equal(mkdir(dst, 0755), 0);
	snprintf(dst, sizeof(dst), "%s/%s/%s", root, dir, id);
	assert_int_equal(mkdir(dst, 0755), 0);
	snprintf(dst, sizeof(dst), "%s/%s/%s/%s", root, dir, id, name);
	FILE *fp = fopen(dst, "wb");

	assert_non_null(fp);
	for (size_t i = 0; i < n; i++)
		if (after[i][0] == '\0')
			fprintf(fp, "%s\n", extra[i]);
	for (char *line = (char *)text, *nl; *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl != NULL ? nl + 1 : line + strlen(line);
		fwrite(line, 1, (size_t)(nl - line), fp);
		for (size_t i = 0; i < n; i++)
			if (after[i][0] != '\0' &&
			    strncmp(line, after[i], strlen(after[i])) == 0)
				fprintf(fp, "%s\n", extra[i]);
	}
	assert_int_equal(fclose(fp), 0);
	free(text);
}

/*
 * INLINE records: minidump2 with inlined functions added to test_app.sym
 * must give the frames Breakpad's minidump_stackwalk -m gave for the same
 * symbol files (0.26.0; its output is the table below).
 */
static void test_inline_frames(void **state)
{
	static const char *const after[] = {
		"", "", "", "FUNC 4290 ", "FUNC 4290 ", "FUNC 41b0 ",
	};
	static const char *const extra[] = {
		"INLINE_ORIGIN 0 Inner0()",
		"INLINE_ORIGIN 1 Inner1(int)",
		"INLINE_ORIGIN 2 MainInline",
		"INLINE 0 57 178 0 4298 8",
		"INLINE 1 99 3 1 429c 4",
		"INLINE 0 64 178 2 41f0 10",
	};
	static const struct {
		const char *function, *file;
		uint32_t line;
		uint64_t offset; /* as Breakpad prints it */
	} want[] = {
		{ "Inner1(int)", "c:\\test_app.cc", 58, 0x3 },
		{ "Inner0()", "c:\\breakpad\\trunk\\src\\common\\windows\\"
			      "guid_string.h", 99, 0x3 },
		{ "`anonymous namespace'::CrashFunction", "c:\\test_app.cc", 57,
		  0x3 },
		{ "MainInline", "c:\\test_app.cc", 65, 0x4 },
		{ "main", "c:\\test_app.cc", 64, 0x5 },
		{ "__tmainCRTStartup",
		  "f:\\sp\\vctools\\crt_bld\\self_x86\\crt\\src\\crt0.c", 327,
		  0x12 },
		{ "BaseProcessStart", NULL, 0, 0x23 },
	};
	char dmp[4096];

	(void)state;
	if (test_shared_dir() == NULL) {
		printf("shared corpus not found: skipped\n");
		skip();
	}
	snprintf(dmp, sizeof(dmp), "%s",
		 test_shared_path("corpus/minidumps/breakpad__minidump2.dmp"));
	char *root = test_tmpdir();

	assert_non_null(root);
	copy_sym(root, "test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1",
		 "test_app.sym", after, extra, 6);
	copy_sym(root, "kernel32.pdb", "BCE8785C57B44245A669896B6A19B9542",
		 "kernel32.sym", after, extra, 0);
	const char *dirs[] = { root };
	struct symstore *s = symstore_new(dirs, 1);
	struct analysis *a = NULL;

	assert_non_null(s);
	assert_int_equal(analysis_run_file_with(&a, dmp, NULL, s), DF_OK);
	const struct thread *t = model_crashing_thread(a);

	assert_non_null(t);
	assert_int_equal(t->frames.n, 7);
	for (size_t i = 0; i < 7; i++) {
		const struct frame *f = &t->frames.v[i];
		/* x86 callers print from the return address, one past */
		uint64_t ret = f->trust == TRUST_CFI;
		uint64_t off = f->source_file != NULL ? f->line_offset + ret
						      : f->func_offset + ret;

		assert_string_equal(f->function, want[i].function);
		if (want[i].file == NULL) {
			assert_null(f->source_file);
		} else {
			assert_string_equal(f->source_file, want[i].file);
			assert_int_equal(f->source_line, want[i].line);
		}
		assert_int_equal(off, want[i].offset);
		assert_int_equal(f->trust == TRUST_INLINE,
				 i == 0 || i == 1 || i == 3);
	}
	analysis_destroy(&a);
	symstore_destroy(&s);
	test_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crafted_lookups),
		cmocka_unit_test(test_line_lookups),
		cmocka_unit_test(test_stack_records),
		cmocka_unit_test(test_inline_records),
		cmocka_unit_test(test_inline_frames),
		cmocka_unit_test(test_empty_and_garbage),
		cmocka_unit_test(test_long_name_cut),
		cmocka_unit_test(test_store_paths),
		cmocka_unit_test(test_store_symbolize),
		cmocka_unit_test(test_store_threads),
		cmocka_unit_test(test_minidump2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
