/*
 * The descriptive minidump streams (worker/formats/mdstreams.c):
 *
 * 1. Round trip: `mkminidump --extra` writes ThreadInfoList,
 *    MemoryInfoList, HandleOperationList, Token, CrashpadInfo and the
 *    Linux streams; the model holds what was written. (Skipped when the
 *    generator is not built: set MKMINIDUMP or DF_BUILD.)
 * 2. Damage: those dumps cut at every length and with random byte flips in
 *    the new streams read without a crash, with errors for the cuts and
 *    the model's invariants kept (sorted regions, linked thread info).
 * 3. wild-code takes the crash IP's region as evidence when it is not
 *    committed executable memory.
 * 4. Hostile tables built here: counts past the stream, bad entry sizes,
 *    overlapping and wrapping regions, over-cap maps and command lines,
 *    Crashpad lists outside the file.
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

#include "df.h"
#include "mdstreams.h"
#include "minidump.h"
#include "model.h"
#include "testdetect.h"
#include "testutil.h"

/* ---- the generator ------------------------------------------------------- */

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

/* `mkminidump --extra --kind KIND` into memory, or NULL (skip). */
static uint8_t *extra_dump(const char *kind, size_t *len)
{
	const char *env = getenv("MKMINIDUMP");
	const char *build = getenv("DF_BUILD");
	char *gen;

	if (env != NULL && *env)
		gen = fmt("%s", env);
	else if (build != NULL && *build)
		gen = fmt("%s/tests/mkminidump", build);
	else
		return NULL;
	if (access(gen, X_OK) != 0) {
		free(gen);
		return NULL;
	}
	char *dir = test_tmpdir();

	assert_non_null(dir);
	char *out = fmt("%s/x.dmp", dir);
	char *cmd = fmt("'%s' --extra --kind '%s' '%s'", gen, kind, out);

	assert_int_equal(system(cmd), 0);
	uint8_t *data = test_read_file(out, len);

	assert_non_null(data);
	test_rmtree(dir);
	free(cmd);
	free(out);
	free(dir);
	free(gen);
	return data;
}

static uint8_t *need_dump(const char *kind, size_t *len)
{
	uint8_t *d = extra_dump(kind, len);

	if (d == NULL) {
		printf("mkminidump not found (set MKMINIDUMP or DF_BUILD)\n");
		skip();
	}
	return d;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* File offset of stream TYPE in the dump D (asserted present). */
static uint32_t stream_rva(const uint8_t *d, size_t len, uint32_t type)
{
	uint32_t n = rd32(d + 8), dir = rd32(d + 12);

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = d + dir + 12 * i;

		assert_true(dir + 12 * (size_t)(i + 1) <= len);
		if (rd32(e) == type)
			return rd32(e + 8);
	}
	fail_msg("stream 0x%x not found", type);
	return 0;
}

static struct analysis *read_dump(const uint8_t *d, size_t len)
{
	struct analysis *a = analysis_new();

	assert_non_null(a);
	assert_int_equal(minidump_read(a, d, len), DF_OK);
	return a;
}

static bool has_error(const struct analysis *a, int code, const char *text)
{
	for (size_t i = 0; i < a->errors.n; i++)
		if (a->errors.v[i].code == code &&
		    strstr(a->errors.v[i].message, text) != NULL)
			return true;
	return false;
}

/* ---- 1. round trip --------------------------------------------------------- */

static void check_memory(const struct analysis *a, size_t nmods,
			 size_t nthrs)
{
	const struct memory_info *mi = &a->memory;

	assert_true(mi->present);
	assert_int_equal(mi->regions.n, 1 + nmods + nthrs);
	assert_int_equal(mi->count[MEM_CLASS_FREE], 1);
	assert_int_equal(mi->bytes[MEM_CLASS_FREE], 0x10000);
	assert_int_equal(mi->count[MEM_CLASS_COMMIT], nmods + nthrs);
	assert_int_equal(mi->count[MEM_CLASS_IMAGE], nmods);
	assert_int_equal(mi->count[MEM_CLASS_PRIVATE], nthrs);
	assert_int_equal(mi->bytes[MEM_CLASS_PRIVATE], 0x100000 * nthrs);
	assert_int_equal(mi->count[MEM_CLASS_RESERVE], 0);
	assert_int_equal(mi->count[MEM_CLASS_MAPPED], 0);
	/* The NULL-page access lies in free memory, the code in an image. */
	assert_non_null(mi->address_region);
	assert_int_equal(mi->address_region->state, 0x10000);
	assert_false(model_protect_executable(mi->address_region->protect));
	assert_non_null(mi->ip_region);
	assert_int_equal(mi->ip_region->type, 0x1000000);
	assert_true(model_protect_executable(mi->ip_region->protect));
	const struct module *m = model_module_at(a, a->crash.ip);

	assert_non_null(m);
	assert_int_equal(mi->ip_region->base, m->base);
	assert_int_equal(mi->ip_region->size, m->size);
	assert_null(model_region_at(a, 0x10000)); /* a gap */
}

static void check_threads(const struct analysis *a, uint32_t create_time)
{
	assert_true(a->threads.n > 0);
	for (size_t t = 0; t < a->threads.n; t++) {
		const struct thread *th = &a->threads.v[t];

		assert_true(th->has_info);
		assert_int_equal(th->info.exit_status, 0x103);
		assert_int_equal(th->info.dump_flags, 0);
		assert_int_equal(th->info.affinity, 1ull << t);
		assert_int_equal(th->info.kernel_time, 1000 * (t + 1));
		assert_int_equal(th->info.user_time, 2000 * (t + 1));
		assert_int_equal(th->info.create_time,
				 ((uint64_t)create_time + 11644473600u + t) *
					 10000000u);
		assert_int_equal(th->info.start_address,
				 a->modules.v[0].base + 0x1000);
		assert_int_not_equal(th->id, 0xDEAD);
	}
}

static void check_vendor(const struct analysis *a, uint32_t auxv)
{
	const struct vendor_info *v = &a->vendor;

	assert_true(v->has_handle_operations);
	assert_int_equal(v->handle_operations, 3);
	assert_true(v->has_tokens);
	assert_int_equal(v->tokens, 2);
	assert_true(v->crashpad);
	assert_string_equal(v->report_id,
			    "13121110-1514-1716-1819-1a1b1c1d1e1f");
	assert_string_equal(v->client_id,
			    "a3a2a1a0-a5a4-a7a6-a8a9-aaabacadaeaf");
	assert_int_equal(v->simple_annotations, 2);
	assert_int_equal(v->crashpad_modules, 1);
	assert_int_equal(v->module_annotations, 1 + 2 + 3);
	assert_int_equal(v->linux_streams, (1u << 3) | (1u << 6) | (1u << 7) |
						   (1u << 8) | (1u << 9) |
						   (1u << 10));
	assert_int_equal(v->cpuinfo_count, 2);
	assert_string_equal(v->cmdline, "/opt/acme/acmeapp --safe-mode");
	assert_int_equal(v->environ_count, 3);
	assert_int_equal(v->auxv_count, auxv);
	assert_int_equal(v->dso_count, 3);
	assert_int_equal(v->map_lines, 5);
	/* Two files; the two regions of acmeapp merge into one range. */
	assert_int_equal(v->mappings.n, 2);
	assert_string_equal(v->mappings.v[0].path, "/opt/acme/acmeapp");
	assert_int_equal(v->mappings.v[0].base, 0x400000);
	assert_int_equal(v->mappings.v[0].end, 0x625FFF);
	assert_true(v->mappings.v[0].executable);
	assert_string_equal(v->mappings.v[1].path, "/lib/libacme core.so");
	assert_int_equal(v->mappings.v[1].base, 0x7F0000000000);
	assert_int_equal(v->mappings.v[1].end, 0x7F00000FFFFF);
}

static void test_round_trip_amd64(void **state)
{
	size_t len;
	uint8_t *d = need_dump("amd64-read-av", &len);
	struct analysis *a = read_dump(d, len);

	(void)state;
	for (size_t i = 0; i < a->errors.n; i++)
		printf("error: %s\n", a->errors.v[i].message);
	assert_int_equal(a->errors.n, 0);
	check_memory(a, 8, a->threads.n);
	check_threads(a, 1700199000);
	check_vendor(a, 5);
	analysis_destroy(&a);
	free(d);
}

/* x86: 32-bit auxv words, so the same 80 bytes hold ten pairs. */
static void test_round_trip_x86(void **state)
{
	size_t len;
	uint8_t *d = need_dump("x86-null-write", &len);
	struct analysis *a = read_dump(d, len);

	(void)state;
	assert_int_equal(a->errors.n, 0);
	check_memory(a, 5, a->threads.n);
	check_threads(a, 1699999700);
	check_vendor(a, 10);
	analysis_destroy(&a);
	free(d);
}

/* ---- 2. cuts and flips ----------------------------------------------------- */

static void check_invariants(const struct analysis *a)
{
	const struct memory_info *mi = &a->memory;

	for (size_t i = 1; i < mi->regions.n; i++) {
		const struct mem_region *p = &mi->regions.v[i - 1];

		assert_true(mi->regions.v[i].base > p->base);
		assert_true(mi->regions.v[i].base - p->base >= p->size);
	}
	for (size_t i = 0; i < mi->regions.n; i++)
		assert_true(mi->regions.v[i].size - 1 <=
			    UINT64_MAX - mi->regions.v[i].base);
	for (size_t i = 0; i < a->vendor.mappings.n; i++)
		assert_true(a->vendor.mappings.v[i].end >=
			    a->vendor.mappings.v[i].base);
	if (a->vendor.cmdline != NULL)
		assert_true(strlen(a->vendor.cmdline) <=
			    MDSTREAMS_MAX_CMDLINE);
	for (size_t t = 0; t < a->threads.n; t++)
		if (a->threads.v[t].has_info)
			assert_int_not_equal(a->threads.v[t].id, 0xDEAD);
}

static void test_truncation_sweep(void **state)
{
	size_t len;
	uint8_t *d = need_dump("amd64-read-av", &len);
	/* From the first new stream on: the earlier cuts are test_minidump's. */
	uint32_t from = stream_rva(d, len, 17);

	(void)state;
	for (size_t cut = from; cut < len; cut++) {
		uint8_t *copy = malloc(cut);

		assert_non_null(copy);
		memcpy(copy, d, cut);
		struct analysis *a = analysis_new();

		minidump_read(a, copy, cut);
		assert_true(a->errors.n > 0);
		check_invariants(a);
		analysis_destroy(&a);
		free(copy);
	}
	free(d);
}

static void test_byte_flips(void **state)
{
	size_t len;
	uint8_t *d = need_dump("amd64-read-av", &len);
	uint8_t *copy = malloc(len);
	uint32_t from = stream_rva(d, len, 17), seed = 4711;

	(void)state;
	assert_non_null(copy);
	for (int round = 0; round < 3000; round++) {
		memcpy(copy, d, len);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = from + (seed >> 8) % (len - from);

			seed = seed * 1103515245u + 12345u;
			copy[at] = (uint8_t)(seed >> 16);
		}
		struct analysis *a = analysis_new();

		minidump_read(a, copy, len);
		check_invariants(a);
		analysis_destroy(&a);
	}
	free(copy);
	free(d);
}

/* ---- 3. the crash IP's region as wild-code evidence ------------------------ */

/* The dump with the IP's region given STATE and PROTECT; its wild-code. */
static void ip_region_as(uint8_t *d, size_t len, uint32_t state,
			 uint32_t protect, const char *evidence)
{
	struct analysis *a = read_dump(d, len);
	uint32_t mi = stream_rva(d, len, 16), n = rd32(d + mi + 8);
	uint64_t base = a->memory.ip_region->base;
	bool patched = false;

	analysis_destroy(&a);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = d + mi + 16 + 48 * i;

		if (rd32(e) == (uint32_t)base && rd32(e + 4) == base >> 32) {
			wr32(e + 0x20, state);
			wr32(e + 0x24, protect);
			patched = true;
		}
	}
	assert_true(patched);
	a = read_dump(d, len);
	const struct finding *f = test_detect(a, "wild-code");

	if (evidence == NULL) {
		if (f != NULL)
			test_print_finding(f);
		assert_null(f);
	} else {
		assert_non_null(f);
		assert_evidence(f, evidence);
		assert_int_equal(f->confidence, 85);
	}
	analysis_destroy(&a);
}

static void test_wild_code_evidence(void **state)
{
	size_t len;
	uint8_t *d = need_dump("amd64-read-av", &len);

	(void)state;
	ip_region_as(d, len, 0x1000, 0x20, NULL); /* as written: code */
	ip_region_as(d, len, 0x1000, 0x04,
		     "committed memory without execute rights "
		     "(protection 0x4, type 0x1000000)");
	ip_region_as(d, len, 0x2000, 0x20, "not committed (state 0x2000");
	ip_region_as(d, len, 0x1000, 0x140, NULL); /* guarded RWX: code */
	free(d);
}

/* ---- 4. hostile tables ----------------------------------------------------- */

/* A minidump holding one stream of type TYPE with the N bytes BODY. */
static uint8_t *one_stream(uint32_t type, const void *body, size_t n,
			   size_t *len)
{
	uint8_t *d = calloc(1, 44 + n);

	assert_non_null(d);
	memcpy(d, "MDMP", 4);
	wr32(d + 4, 0xA793);
	wr32(d + 8, 1);
	wr32(d + 12, 32);
	wr32(d + 32, type);
	wr32(d + 36, (uint32_t)n);
	wr32(d + 40, 44);
	memcpy(d + 44, body, n);
	*len = 44 + n;
	return d;
}

static struct analysis *read_one(uint32_t type, const void *body, size_t n)
{
	size_t len;
	uint8_t *d = one_stream(type, body, n, &len);
	struct analysis *a = read_dump(d, len);

	free(d);
	check_invariants(a);
	return a;
}

static void put_region(uint8_t *e, uint64_t base, uint64_t size)
{
	wr64(e, base);
	wr64(e + 0x18, size);
	wr32(e + 0x20, 0x1000);
	wr32(e + 0x24, 0x04);
	wr32(e + 0x28, 0x20000);
}

static void test_memory_info_hostile(void **state)
{
	uint8_t b[16 + 4 * 48];
	struct analysis *a;

	(void)state;
	memset(b, 0, sizeof(b));
	wr32(b, 16);
	wr32(b + 4, 48);
	wr64(b + 8, 4);
	put_region(b + 16, 0x20000, 0x10000);
	put_region(b + 64, 0x10000, 0x20000);    /* overlaps the first */
	put_region(b + 112, 0xFFFFFFFFFFFFF000ull, 0x10000); /* wraps */
	put_region(b + 160, 0x1000, 0x1000);
	a = read_one(16, b, sizeof(b));
	assert_true(has_error(a, DF_EFORMAT, "overlap"));
	assert_int_equal(a->memory.regions.n, 3);
	assert_int_equal(a->memory.count[MEM_CLASS_COMMIT], 4);
	assert_non_null(model_region_at(a, UINT64_MAX - 1));
	assert_non_null(model_region_at(a, 0x1FFFF));
	assert_null(model_region_at(a, 0x30000));
	analysis_destroy(&a);

	wr64(b + 8, 0xFFFFFFFFFFull); /* more than fit */
	a = read_one(16, b, sizeof(b));
	assert_true(has_error(a, DF_ETRUNC, "entries claimed"));
	assert_int_equal(a->memory.count[MEM_CLASS_COMMIT], 4);
	analysis_destroy(&a);

	wr32(b + 4, 40); /* entries smaller than MINIDUMP_MEMORY_INFO */
	a = read_one(16, b, sizeof(b));
	assert_true(has_error(a, DF_EFORMAT, "sizes are invalid"));
	assert_false(a->memory.present);
	analysis_destroy(&a);

	a = read_one(16, b, 8); /* no room for the header */
	assert_true(has_error(a, DF_ETRUNC, "MemoryInfoList stream"));
	analysis_destroy(&a);
}

static void test_thread_info_hostile(void **state)
{
	uint8_t b[12 + 64];
	struct analysis *a;

	(void)state;
	memset(b, 0, sizeof(b));
	wr32(b, 12);
	wr32(b + 4, 64);
	wr32(b + 8, 1000);
	a = read_one(17, b, sizeof(b)); /* no thread list: nothing linked */
	assert_true(has_error(a, DF_ETRUNC, "1000 entries claimed, 1 fit"));
	analysis_destroy(&a);
	wr32(b, 4000); /* header past the stream */
	a = read_one(17, b, sizeof(b));
	assert_true(has_error(a, DF_EFORMAT, "ThreadInfoList"));
	analysis_destroy(&a);
}

static void test_token_and_handle_ops_hostile(void **state)
{
	uint8_t b[16 + 16];
	struct analysis *a;

	(void)state;
	memset(b, 0, sizeof(b));
	wr32(b + 4, 5);  /* five tokens claimed */
	wr32(b + 8, 16); /* first at 16 */
	wr32(b + 16, 16); /* one of 16 bytes, then the stream ends */
	a = read_one(19, b, sizeof(b));
	assert_true(has_error(a, DF_ETRUNC, "5 tokens claimed, 1 read"));
	assert_int_equal(a->vendor.tokens, 1);
	analysis_destroy(&a);
	wr32(b + 16, 0); /* a zero-sized token cannot loop */
	a = read_one(19, b, sizeof(b));
	assert_int_equal(a->vendor.tokens, 0);
	analysis_destroy(&a);

	memset(b, 0, sizeof(b));
	wr32(b, 16);
	wr32(b + 4, 0); /* entry size 0 */
	wr32(b + 8, 7);
	a = read_one(18, b, sizeof(b));
	assert_true(has_error(a, DF_EFORMAT, "HandleOperationList"));
	assert_false(a->vendor.has_handle_operations);
	analysis_destroy(&a);
	wr32(b + 4, 8);
	a = read_one(18, b, sizeof(b));
	assert_true(has_error(a, DF_ETRUNC, "7 entries claimed, 2 fit"));
	assert_int_equal(a->vendor.handle_operations, 2);
	analysis_destroy(&a);
}

static void test_crashpad_hostile(void **state)
{
	uint8_t b[0x34];
	struct analysis *a;

	(void)state;
	memset(b, 0, sizeof(b));
	wr32(b, 1);
	wr32(b + 0x24, 100);        /* annotations: 100 bytes... */
	wr32(b + 0x28, 0x7FFFFFF0); /* ...far past the end of the file */
	wr32(b + 0x2C, 16);
	wr32(b + 0x30, 44); /* module list = the stream itself: count 1 */
	a = read_one(0x43500001, b, sizeof(b));
	assert_true(a->vendor.crashpad);
	assert_null(a->vendor.report_id);
	assert_int_equal(a->vendor.simple_annotations, 0);
	assert_true(has_error(a, DF_ETRUNC, "CrashpadInfo"));
	analysis_destroy(&a);
	a = read_one(0x43500001, b, 0x20);
	assert_false(a->vendor.crashpad);
	assert_true(has_error(a, DF_ETRUNC, "CrashpadInfo stream"));
	analysis_destroy(&a);
}

static void test_linux_caps(void **state)
{
	size_t n = (size_t)(MODEL_MAX_MAPPINGS + 10) * 64;
	char *maps = malloc(n), *p = maps;
	struct analysis *a;

	(void)state;
	assert_non_null(maps);
	for (unsigned i = 0; i < MODEL_MAX_MAPPINGS + 10; i++)
		p += snprintf(p, 64, "%x000-%x000 r-xp 0 0:0 0 /l/%u\n",
			      2 * i + 1, 2 * i + 2, i);
	/* and lines that are not mappings of files */
	a = read_one(0x47670009, maps, (size_t)(p - maps));
	assert_int_equal(a->vendor.mappings.n, MODEL_MAX_MAPPINGS);
	assert_true(has_error(a, DF_ELIMIT, "LinuxMaps"));
	assert_string_equal(a->vendor.mappings.v[1].path, "/l/1");
	assert_int_equal(a->vendor.mappings.v[1].base, 0x3000);
	assert_int_equal(a->vendor.mappings.v[1].end, 0x3FFF);
	analysis_destroy(&a);

	static const char odd[] = "zz-10 r-xp 0 0:0 0 /x\n"
				  "2000-1000 r-xp 0 0:0 0 /backwards\n"
				  "1000-2000 rw-p 0 0:0 0 [heap]\n"
				  "10000000000000000-1 r-xp 0 0:0 0 /big\n"
				  "1000-2000";
	a = read_one(0x47670009, odd, sizeof(odd) - 1);
	assert_int_equal(a->vendor.mappings.n, 0);
	assert_int_equal(a->vendor.map_lines, 5);
	analysis_destroy(&a);

	memset(maps, 'a', n);
	maps[1] = '\0';
	maps[2] = '\n';
	a = read_one(0x47670006, maps, MDSTREAMS_MAX_CMDLINE + 100);
	assert_true(has_error(a, DF_ELIMIT, "LinuxCmdLine"));
	assert_int_equal(strlen(a->vendor.cmdline), MDSTREAMS_MAX_CMDLINE);
	assert_memory_equal(a->vendor.cmdline, "a ?aa", 5);
	analysis_destroy(&a);

	a = read_one(0x4767000A, maps, 8);
	assert_true(has_error(a, DF_ETRUNC, "LinuxDsoDebug"));
	assert_int_equal(a->vendor.linux_streams, 1u << 10);
	analysis_destroy(&a);
	free(maps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_amd64),
		cmocka_unit_test(test_round_trip_x86),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test(test_wild_code_evidence),
		cmocka_unit_test(test_memory_info_hostile),
		cmocka_unit_test(test_thread_info_hostile),
		cmocka_unit_test(test_token_and_handle_ops_hostile),
		cmocka_unit_test(test_crashpad_hostile),
		cmocka_unit_test(test_linux_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
