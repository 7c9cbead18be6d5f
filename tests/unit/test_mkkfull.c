/*
 * Full and bitmap kernel dumps from the generator (tests/tools/mkkfull.c).
 *
 * 1. Round trip: for every dump type (full, bitmap, kernel bitmap,
 *    summary; summary layouts that do or do not check out) and
 *    machine (x64, x86 PAE, x86), every fact the generator prints with
 *    --facts is what analysis_run() reports: header facts, drivers (name,
 *    path, base, size, timestamp, code id), context, frames with trust.
 * 2. samples/kernel/d1-acmenet-bitmap.dmp is the generator's output.
 * 3. Damage: every cut of the file, bytes flipped across it, and crafted
 *    faults (module list loop, bad Blink and over the count cap, header
 *    PsLoadedModuleList unset so the KDBG block is used, PaeEnabled
 *    unset, overlapping runs, an oversized bitmap) give recorded errors
 *    and no crash.
 *
 * The generator is found as $MKKFULL or $DF_BUILD/tests/mkkfull.
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
#include "df.h"
#include "hash.h"
#include "kdump.h"
#include "model.h"
#include "testutil.h"

#define PG 4096u

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, f);
	int n = vasprintf(&p, f, ap);

	va_end(ap);
	assert_true(n > 0);
	return p;
}

struct env {
	char *gen; /* the generator */
	char *dir; /* scratch directory */
};

static int setup(void **state)
{
	const char *env = getenv("MKKFULL");
	const char *build = getenv("DF_BUILD");
	struct env *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return -1;
	if (env != NULL && *env)
		e->gen = fmt("%s", env);
	else if (build != NULL && *build)
		e->gen = fmt("%s/tests/mkkfull", build);
	if (e->gen != NULL && access(e->gen, X_OK) != 0) {
		free(e->gen);
		e->gen = NULL;
	}
	e->dir = test_tmpdir();
	*state = e;
	return e->dir != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct env *e = *state;

	test_rmtree(e->dir);
	free(e->dir);
	free(e->gen);
	free(e);
	return 0;
}

static void need_generator(const struct env *e)
{
	if (e->gen == NULL) {
		printf("mkkfull not found (set MKKFULL or DF_BUILD)\n");
		skip();
	}
}

/* Run the generator; the dump's bytes, and its facts in *FACTS. */
static uint8_t *generate(const struct env *e, const char *type,
			 const char *arch, const char *phys, size_t *len,
			 char **facts)
{
	char *out = fmt("%s/%s-%s-%s.dmp", e->dir, type, arch, phys);
	char *fpath = fmt("%s.facts", out);
	char *cmd =
		fmt("'%s' --type %s --arch %s --phys %s --facts '%s' > '%s'",
		    e->gen, type, arch, phys, out, fpath);
	size_t flen;

	assert_int_equal(system(cmd), 0);
	uint8_t *d = test_read_file(out, len);

	assert_non_null(d);
	if (facts != NULL) {
		*facts = (char *)test_read_file(fpath, &flen);
		assert_non_null(*facts);
	}
	free(cmd);
	free(fpath);
	free(out);
	return d;
}

static struct analysis *analyse(const uint8_t *d, size_t len)
{
	struct analysis *a = NULL;

	assert_int_equal(analysis_run(&a, d, len, NULL), DF_OK);
	assert_non_null(a);
	return a;
}

static bool has_error(const struct analysis *a, int code, const char *part)
{
	for (size_t i = 0; i < a->errors.n; i++)
		if ((code == 0 || a->errors.v[i].code == code) &&
		    strstr(a->errors.v[i].message, part) != NULL)
			return true;
	return false;
}

static void print_errors(const struct analysis *a)
{
	for (size_t i = 0; i < a->errors.n; i++)
		printf("    error %d: %s\n", a->errors.v[i].code,
		       a->errors.v[i].message);
}

static void put32(uint8_t *b, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, size_t at, uint64_t v)
{
	put32(b, at, (uint32_t)v);
	put32(b, at + 4, (uint32_t)(v >> 32));
}

/* ---- 1. round trip --------------------------------------------------------
 */

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

/* Compare one fact line with the analysis; counts modules and frames. */
static void check_fact(const struct analysis *a, char *line, size_t *nmod,
		       size_t *nframe)
{
	const struct thread *t = model_crashing_thread(a);
	char *w[6] = {0};
	size_t n = 0;

	for (char *save = NULL, *tok = strtok_r(line, " ", &save);
	     tok != NULL && n < 6; tok = strtok_r(NULL, " ", &save))
		w[n++] = tok;
	if (n < 2)
		return;
	assert_non_null(t);
	if (strcmp(w[0], "arch") == 0) {
		assert_string_equal(a->system.cpu_arch, w[1]);
	} else if (strcmp(w[0], "paging") == 0) {
		assert_string_equal(model_field(a, "PAGING"), w[1]);
	} else if (strcmp(w[0], "build") == 0) {
		assert_int_equal(a->system.build, num(w[1]));
	} else if (strcmp(w[0], "nproc") == 0) {
		assert_int_equal(a->system.cpu_count, num(w[1]));
	} else if (strcmp(w[0], "bugcheck") == 0) {
		assert_true(a->bugcheck.present);
		assert_int_equal(a->bugcheck.code, num(w[1]));
	} else if (strcmp(w[0], "param") == 0) {
		assert_int_equal(a->bugcheck.args[num(w[1])], num(w[2]));
	} else if (strcmp(w[0], "crash_time") == 0) {
		assert_int_equal(a->crash_time, num(w[1]));
	} else if (strcmp(w[0], "uptime") == 0) {
		assert_int_equal(a->uptime, num(w[1]));
	} else if (strcmp(w[0], "module") == 0) {
		const struct module *m = &a->modules.v[*nmod];
		uint64_t base = num(w[3]), size = num(w[4]);
		char *code = fmt("%s%llx", w[5], (unsigned long long)size);

		assert_true(*nmod < a->modules.n);
		assert_string_equal(m->filename, w[1]);
		assert_string_equal(m->path, w[2]);
		assert_int_equal(m->base, base);
		assert_int_equal(m->size, size);
		assert_int_equal(m->end, base + size - 1);
		assert_int_equal(m->timestamp, strtoul(w[5], NULL, 16));
		assert_string_equal(m->code_id, code);
		assert_false(m->unloaded);
		free(code);
		(*nmod)++;
	} else if (strcmp(w[0], "ip") == 0) {
		assert_true(a->crash.has_ip);
		assert_int_equal(a->crash.ip, num(w[1]));
		assert_int_equal(t->ip, num(w[1]));
	} else if (strcmp(w[0], "sp") == 0) {
		assert_int_equal(t->sp, num(w[1]));
	} else if (strcmp(w[0], "frame") == 0) {
		const struct frame *f = &t->frames.v[*nframe];

		assert_true(*nframe < t->frames.n);
		assert_string_equal(f->module, w[1]);
		assert_true(f->has_module_offset);
		assert_int_equal(f->module_offset, num(w[2]));
		assert_string_equal(model_trust_name(f->trust), w[3]);
		(*nframe)++;
	}
}

static void round_trip(const struct env *e, const char *type, const char *arch,
		       const char *phys)
{
	static const char *const detail[] = {"full", "bitmap-full",
					     "bitmap-full", "summary"};
	static const char *const types[] = {"full", "bitmap", "kernel",
					    "summary"};
	static const char *const kinds[] = {"none", "complete", "kernel",
					    "none"};
	const char *kind = NULL;
	size_t len, nmod = 0, nframe = 0;
	char *facts;
	uint8_t *d = generate(e, type, arch, phys, &len, &facts);
	struct analysis *a = analyse(d, len);
	char *want = NULL;

	printf("%s %s %s: %zu bytes\n", type, arch, phys, len);
	print_errors(a);
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->format, FORMAT_KERNEL_DUMP);
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(types[i], type) != 0)
			continue;
		kind = kinds[i];
		want = fmt("%s %s",
			   strcmp(arch, "x64") == 0 ? "PAGEDU64" : "PAGEDUMP",
			   detail[i]);
	}
	assert_non_null(want);
	assert_string_equal(a->format_detail, want);
	assert_string_equal(model_field(a, "BITMAP_KIND") != NULL
				    ? model_field(a, "BITMAP_KIND")
				    : "none",
			    kind);
	if (strcmp(type, "summary") == 0)
		assert_string_equal(model_field(a, "SUMMARY_LAYOUT"),
				    "summary");
	for (char *save = NULL, *l = strtok_r(facts, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save))
		check_fact(a, l, &nmod, &nframe);
	assert_int_equal(nmod, a->modules.n);
	assert_int_equal(nframe, model_crashing_thread(a)->frames.n);
	assert_int_equal(nmod, 4);
	assert_int_equal(nframe, 7);
	assert_string_equal(a->blame_module, "acmenet.sys");
	assert_non_null(a->signature);
	free(want);
	free(facts);
	free(d);
	analysis_destroy(&a);
}

static void test_round_trip_every_type_and_machine(void **state)
{
	static const char *const types[] = {"full", "bitmap", "kernel",
					    "summary"};
	static const char *const arches[] = {"x64", "pae", "x86"};
	struct env *e = *state;

	need_generator(e);
	for (size_t t = 0; t < 4; t++) {
		for (size_t m = 0; m < 3; m++)
			round_trip(e, types[t], arches[m], "128K");
		/* past the legacy hole: two runs, a gap in the bitmap */
		round_trip(e, types[t], "x64", "2M");
	}
	/* the same content behind a larger sparse memory */
	round_trip(e, "bitmap", "x64", "16M");
	round_trip(e, "full", "pae", "16M");
}

/*
 * From the file (mapped; hashed chunk by chunk with the hashed pages
 * handed back) the analysis is the one of the same bytes in memory, and
 * the content hash is the file's SHA-256.
 */
static void test_file_and_memory_agree(void **state)
{
	struct env *e = *state;
	size_t len;

	need_generator(e);
	uint8_t *d = generate(e, "bitmap", "x64", "40M", &len, NULL);
	char *path = fmt("%s/bitmap-x64-40M.dmp", e->dir);
	struct analysis *a = analyse(d, len), *b = NULL;
	uint8_t h[HASH_LEN];
	uint64_t size = 0;

	assert_int_equal(analysis_run_file(&b, path, NULL), DF_OK);
	assert_int_equal(hash_file(path, h, &size), DF_OK);
	assert_int_equal(size, len);
	assert_memory_equal(b->content_hash, h, HASH_LEN);
	assert_memory_equal(a->content_hash, h, HASH_LEN);
	assert_int_equal(b->errors.n, 0);
	assert_int_equal(b->modules.n, 4);
	assert_string_equal(a->signature, b->signature);
	assert_int_equal(model_crashing_thread(b)->frames.n, 7);
	analysis_destroy(&a);
	analysis_destroy(&b);
	free(path);
	free(d);
}

/* A too small memory and bad options are usage errors. */
static void test_generator_usage(void **state)
{
	struct env *e = *state;

	need_generator(e);
	static const char *const bad[] = {
		"--phys 64K",		"--phys 1X",
		"--type summary",	"--arch arm64",
		"--arch x86 --phys 8G", "",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *cmd =
			fmt("'%s' %s %s 2>/dev/null", e->gen, bad[i],
			    i + 1 < sizeof(bad) / sizeof(bad[0]) ? "/dev/null"
								 : "");

		assert_int_not_equal(system(cmd), 0);
		free(cmd);
	}
}

/*
 * Summary dumps: the SUMMARY_DUMP layout is unconfirmed, so it must prove
 * itself (set bits == Pages); a summary dump in the bitmap-dump layout is
 * read with that one; when neither checks out, that is recorded.
 */
static void test_summary_layouts(void **state)
{
	struct env *e = *state;
	size_t len;

	need_generator(e);
	uint8_t *d = generate(e, "kernel", "x64", "1M", &len, NULL);
	struct analysis *a;

	put32(d, 0x0F98, 2); /* DumpType: summary, bitmap-dump sub-header */
	a = analyse(d, len);
	print_errors(a);
	assert_int_equal(a->errors.n, 0);
	assert_string_equal(model_field(a, "SUMMARY_LAYOUT"), "bitmap");
	assert_int_equal(a->modules.n, 4);
	analysis_destroy(&a);
	free(d);

	d = generate(e, "summary", "pae", "1M", &len, NULL);
	put32(d, 0x1000 + 0x14, 5); /* Pages: not the bitmap's count */
	a = analyse(d, len);
	assert_true(has_error(a, DF_EFORMAT, "summary dump: neither"));
	assert_int_equal(a->modules.n, 0);
	assert_int_equal(a->threads.n, 1);
	analysis_destroy(&a);
	free(d);
}

/* ---- 2. the committed sample ----------------------------------------------
 */

static void test_sample_is_generated(void **state)
{
	struct env *e = *state;

	need_generator(e);
	char *path = fmt("%s/samples/kernel/d1-acmenet-bitmap.dmp",
			 test_source_dir());
	size_t slen, glen;
	uint8_t *s = test_read_file(path, &slen);
	uint8_t *g = generate(e, "kernel", "x64", "1M", &glen, NULL);

	assert_non_null(s);
	assert_int_equal(slen, glen);
	assert_memory_equal(s, g, glen);
	assert_true(slen < 300 * 1024);
	/* it buckets with the triage dumps of the same crash */
	char *tpath =
		fmt("%s/samples/kernel/d1-acmenet.dmp", test_source_dir());
	size_t tlen;
	uint8_t *t = test_read_file(tpath, &tlen);
	struct analysis *a = analyse(s, slen), *b;

	assert_non_null(t);
	b = analyse(t, tlen);
	assert_string_equal(a->signature, b->signature);
	analysis_destroy(&a);
	analysis_destroy(&b);
	free(t);
	free(tpath);
	free(s);
	free(g);
	free(path);
}

/* ---- 3. damage ------------------------------------------------------------
 */

/* Every cut: errors recorded, the bugcheck kept once it is in. */
static void cuts(const uint8_t *d, size_t len, size_t bug_end)
{
	for (size_t n = 0; n < len; n += n < 0x3000 ? 61 : 1021) {
		uint8_t *p = malloc(n ? n : 1);

		assert_non_null(p);
		memcpy(p, d, n);
		struct analysis *a = analyse(p, n);

		assert_true(a->errors.n > 0);
		if (n >= bug_end)
			assert_true(a->bugcheck.present);
		analysis_destroy(&a);
		free(p);
	}
}

static void test_every_cut_is_recorded(void **state)
{
	struct env *e = *state;
	size_t len;

	need_generator(e);
	uint8_t *d = generate(e, "full", "x64", "128K", &len, NULL);

	cuts(d, len, 0x60);
	/* a cut inside the pages names the missing pages */
	struct analysis *a = analyse(d, len - PG);

	assert_true(has_error(a, DF_ETRUNC, "the file holds 31 of the 32"));
	analysis_destroy(&a);
	free(d);
	d = generate(e, "kernel", "pae", "1M", &len, NULL);
	cuts(d, len, 0x3C);
	free(d);
}

/* Bytes flipped all over: whatever is read, nothing crashes. */
static void test_flipped_bytes(void **state)
{
	static const char *const arches[] = {"x64", "pae", "x86"};
	struct env *e = *state;

	need_generator(e);
	for (size_t m = 0; m < 3; m++) {
		size_t len;
		uint8_t *d =
			generate(e, "bitmap", arches[m], "128K", &len, NULL);

		for (size_t at = 0; at < len; at += at < 0x3000 ? 29 : 2039) {
			d[at] ^= 0xFF;
			struct analysis *a = analyse(d, len);

			analysis_destroy(&a);
			d[at] ^= 0xFF;
		}
		free(d);
	}
}

/*
 * Where the generator puts things in a full dump of 128K: page P at
 * header + P * 4096; the loader page is PFN 2 (head at 0, entries from
 * 0x100, KDBG at 0x800).
 */
#define LDR_PFN 2u

static size_t ldr_at(bool is64, size_t off)
{
	return (is64 ? 0x2000u : 0x1000u) + LDR_PFN * PG + off;
}

static void test_module_list_faults(void **state)
{
	struct env *e = *state;
	size_t len;

	need_generator(e);
	uint8_t *d = generate(e, "full", "x64", "128K", &len, NULL);
	uint8_t *c = malloc(len);
	uint64_t head = 0;

	assert_non_null(c);
	for (int i = 0; i < 8; i++)
		head |= (uint64_t)d[0x20 + i] << (8 * i);

	/* entry 1's Blink does not point back at entry 0 */
	memcpy(c, d, len);
	put64(c, ldr_at(true, 0x100 + 0xA0 + 8), head + 0x40);
	struct analysis *a = analyse(c, len);

	assert_true(has_error(a, DF_EFORMAT, "module list broken at entry 1"));
	assert_int_equal(a->modules.n, 1);
	analysis_destroy(&a);

	/* entry 0 links to itself: a loop, stopped at the second visit */
	memcpy(c, d, len);
	put64(c, ldr_at(true, 0x100), head + 0x100);
	a = analyse(c, len);
	assert_true(has_error(a, DF_EFORMAT, "module list broken at entry 1"));
	assert_int_equal(a->modules.n, 1);
	analysis_destroy(&a);

	/* an entry outside the dump */
	memcpy(c, d, len);
	put64(c, ldr_at(true, 0x100), UINT64_C(0xffffc08a7fff0000));
	a = analyse(c, len);
	assert_true(has_error(a, DF_ETRUNC, "module list cut at entry 1"));
	analysis_destroy(&a);

	/* no list head in the header: the KDBG block names it */
	memcpy(c, d, len);
	memcpy(c + 0x20, "PAGEPAGE", 8);
	a = analyse(c, len);
	print_errors(a);
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->modules.n, 4);
	assert_string_equal(model_field(a, "MODULE_LIST_FROM"),
			    "KdDebuggerDataBlock");
	analysis_destroy(&a);

	/* ... and without the KDBG tag either: no drivers, said so */
	put32(c, ldr_at(true, 0x810), 0);
	a = analyse(c, len);
	assert_true(has_error(a, DF_EFORMAT, "no readable KDBG block"));
	assert_int_equal(a->modules.n, 0);
	analysis_destroy(&a);

	/* a name buffer outside the dump: the entry is skipped, said so */
	memcpy(c, d, len);
	put64(c, ldr_at(true, 0x100 + 0x48 + 8), UINT64_C(0xffffc08a7fff0000));
	put64(c, ldr_at(true, 0x100 + 0x58 + 8), UINT64_C(0xffffc08a7fff0000));
	a = analyse(c, len);
	assert_true(has_error(a, DF_EFORMAT, "entry 0"));
	assert_int_equal(a->modules.n, 3);
	analysis_destroy(&a);
	free(c);
	free(d);
}

/*
 * A consistent list longer than KDUMP_MAX_DRIVERS: 4100 copies of entry 0
 * linked in the pages above the hole of a 2M full dump (PFN 0x100 is at
 * file page 0xA0), seen through the generator's 2 MiB window onto PA 0.
 */
static void test_module_list_count_cap(void **state)
{
	struct env *e = *state;
	const size_t count = KDUMP_MAX_DRIVERS + 4, stride = 0x70;
	size_t len;

	need_generator(e);
	uint8_t *d = generate(e, "full", "x64", "2M", &len, NULL);
	uint64_t head = 0;

	for (int i = 0; i < 8; i++)
		head |= (uint64_t)d[0x20 + i] << (8 * i);
	const uint64_t win = head - LDR_PFN * PG, pa0 = 0x100 * PG;
	const size_t file0 = 0x2000 + 0xA0 * PG;
	uint8_t entry0[0x68];

	assert_true(file0 + count * stride <= len);
	memcpy(entry0, d + ldr_at(true, 0x100), sizeof(entry0));
	for (size_t i = 0; i < count; i++) {
		uint8_t *p = d + file0 + i * stride;

		memcpy(p, entry0, sizeof(entry0));
		put64(p, 0, i + 1 < count ? win + pa0 + (i + 1) * stride : head);
		put64(p, 8, i > 0 ? win + pa0 + (i - 1) * stride : head);
	}
	put64(d, ldr_at(true, 0), win + pa0);
	put64(d, ldr_at(true, 8), win + pa0 + (count - 1) * stride);
	struct analysis *a = analyse(d, len);

	assert_true(has_error(a, DF_ELIMIT, "module list longer than"));
	assert_int_equal(a->modules.n, KDUMP_MAX_DRIVERS);
	assert_string_equal(a->modules.v[KDUMP_MAX_DRIVERS - 1].filename,
			    "ntoskrnl.exe");
	analysis_destroy(&a);
	free(d);
}

static void test_paging_and_map_faults(void **state)
{
	struct env *e = *state;
	size_t len;

	need_generator(e);
	/* PaeEnabled unset (PAGE fill): PAE is probed and kept */
	uint8_t *d = generate(e, "full", "pae", "128K", &len, NULL);
	struct analysis *a;

	d[0x5C] = 'P';
	a = analyse(d, len);
	print_errors(a);
	assert_int_equal(a->errors.n, 0);
	assert_string_equal(model_field(a, "PAGING"), "x86-pae");
	assert_int_equal(a->modules.n, 4);
	analysis_destroy(&a);
	/* a wrong PaeEnabled: nothing translates, the errors say so */
	d[0x5C] = 0;
	a = analyse(d, len);
	assert_true(has_error(a, DF_ETRUNC, "PsLoadedModuleList"));
	assert_int_equal(a->modules.n, 0);
	assert_int_equal(model_crashing_thread(a)->frames.n, 1);
	analysis_destroy(&a);
	free(d);

	/* a stack pointer at the very top, or not canonical: frame 0 only */
	d = generate(e, "full", "x64", "128K", &len, NULL);
	static const uint64_t sps[] = { UINT64_MAX - 2, UINT64_C(1) << 63 };

	for (size_t i = 0; i < 2; i++) {
		put64(d, 0x348 + 0x98, sps[i]);
		a = analyse(d, len);
		assert_int_equal(a->modules.n, 4);
		assert_int_equal(model_crashing_thread(a)->frames.n, 1);
		assert_int_equal(model_crashing_thread(a)->stack_size, 0);
		analysis_destroy(&a);
	}
	free(d);

	/* overlapping runs (x64 descriptor at 0x88, run 1 at 0xA8) */
	d = generate(e, "full", "x64", "2M", &len, NULL);
	put64(d, 0xA8, 0x10);
	a = analyse(d, len);
	assert_true(has_error(a, DF_EFORMAT, "overlap"));
	analysis_destroy(&a);
	/* more runs than the header holds */
	put32(d, 0x88, 1000);
	a = analyse(d, len);
	assert_true(has_error(a, DF_EFORMAT, "runs"));
	analysis_destroy(&a);
	free(d);

	/* a bitmap claiming more bits than the file holds */
	d = generate(e, "bitmap", "x64", "128K", &len, NULL);
	put64(d, 0x2030, UINT64_C(1) << 40);
	a = analyse(d, len);
	assert_true(has_error(a, DF_ELIMIT, "bitmap"));
	analysis_destroy(&a);
	put64(d, 0x2030, UINT64_C(1) << 30);
	a = analyse(d, len);
	assert_true(has_error(a, DF_ETRUNC, "bitmap"));
	analysis_destroy(&a);
	/* a sub-header that is not SDMP/FDMP */
	memcpy(d + 0x2000, "XDMP", 4);
	a = analyse(d, len);
	assert_true(has_error(a, DF_EFORMAT, "not SDMP or FDMP"));
	assert_int_equal(a->threads.n, 1); /* the context is still read */
	analysis_destroy(&a);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type_and_machine),
		cmocka_unit_test(test_generator_usage),
		cmocka_unit_test(test_file_and_memory_agree),
		cmocka_unit_test(test_summary_layouts),
		cmocka_unit_test(test_sample_is_generated),
		cmocka_unit_test(test_every_cut_is_recorded),
		cmocka_unit_test(test_flipped_bytes),
		cmocka_unit_test(test_module_list_faults),
		cmocka_unit_test(test_module_list_count_cap),
		cmocka_unit_test(test_paging_and_map_faults),
	};

	return cmocka_run_group_tests_name("mkkfull", tests, setup, teardown);
}
