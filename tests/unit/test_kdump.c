/*
 * The kernel-dump reader on dumps built here byte by byte: 32- and 64-bit
 * triage dumps (header facts, drivers with the string pool, unloaded
 * drivers, context, scanned stack, process name), PAGE-filled (absent)
 * fields, full, summary and bitmap dumps cut after the header (memory
 * map missing, recorded), RDMP dumps (not read), every
 * truncation of a triage dump, counts over the caps and string-pool
 * offsets past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "kdump.h"
#include "model.h"
#include "testutil.h"

/* ---- a small kernel-dump builder ----------------------------------------- */

#define KB_CAP 16384

struct kb {
	uint8_t b[KB_CAP];
	size_t len;
	bool is64;
	uint32_t hdr;          /* header size = triage header offset */
	uint32_t drivers_at;   /* DriverListOffset */
	uint32_t stride;
	uint32_t pool_at;
	uint32_t unloaded_at;
	uint32_t stack_at;
};

static void kb32(struct kb *k, size_t at, uint32_t v)
{
	assert_true(at + 4 <= KB_CAP);
	for (int i = 0; i < 4; i++)
		k->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void kb64(struct kb *k, size_t at, uint64_t v)
{
	kb32(k, at, (uint32_t)v);
	kb32(k, at + 4, (uint32_t)(v >> 32));
}

/* A pointer-sized value. */
static void kbp(struct kb *k, size_t at, uint64_t v)
{
	if (k->is64)
		kb64(k, at, v);
	else
		kb32(k, at, (uint32_t)v);
}

/* UTF-16LE of ASCII S at AT, N units at most. */
static void kb_utf16(struct kb *k, size_t at, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		k->b[at + 2 * i] = (uint8_t)s[i];
		k->b[at + 2 * i + 1] = 0;
	}
}

/* The header of a dump, PAGE-filled, with signature and dump type. */
static void kb_header(struct kb *k, bool is64, uint32_t dump_type)
{
	memset(k, 0, sizeof(*k));
	k->is64 = is64;
	k->hdr = is64 ? 0x2000 : 0x1000;
	for (size_t i = 0; i < k->hdr; i += 4)
		memcpy(k->b + i, "PAGE", 4);
	memcpy(k->b + 4, is64 ? "DU64" : "DUMP", 4);
	k->len = k->hdr;
	kb32(k, is64 ? 0xF98 : 0xF88, dump_type);
}

#define BUILD 19041u
#define SYSTIME UINT64_C(132500000000000000) /* FILETIME */
#define UPTIME_100NS UINT64_C(37440000000)   /* 3744 s */
#define KBASE64 UINT64_C(0xFFFFF80470000000)
#define FOO64 UINT64_C(0xFFFFF80480000000)
#define KBASE32 0x80400000u
#define FOO32 0x8A000000u
#define RIP_OFF 0x1234u
#define RET_OFF 0x5678u

/* The facts every crafted header carries. */
static void kb_facts(struct kb *k)
{
	bool w = k->is64;

	kb32(k, 0x08, 0xF);
	kb32(k, 0x0C, BUILD);
	kb32(k, w ? 0x30 : 0x20, w ? 0x8664 : 0x014C);
	kb32(k, w ? 0x34 : 0x24, 4);
	kb32(k, w ? 0x38 : 0x28, w ? 0x1000007E : 0xD1);
	for (int i = 0; i < 4; i++)
		kbp(k, (w ? 0x40 : 0x2C) + (size_t)i * (w ? 8 : 4),
		    (w ? UINT64_C(0xFFFF000000000000) : 0) + 0x10 +
			    (uint64_t)i);
	kb64(k, w ? 0x0FA8 : 0xFC0, SYSTIME);
	kb64(k, w ? 0x1030 : 0xFB8, UPTIME_100NS);
	kb32(k, w ? 0x1040 : 0xF94, 1);
	memcpy(k->b + (w ? 0xFB0 : 0x820), "crafted by test\0", 16);
}

/* Append N zero bytes at an 8-aligned offset; returns the offset. */
static uint32_t kb_zero(struct kb *k, size_t n)
{
	while (k->len % 8)
		k->len++;
	uint32_t at = (uint32_t)k->len;

	assert_true(k->len + n <= KB_CAP);
	memset(k->b + at, 0, n);
	k->len += n;
	return at;
}

/* A DUMP_STRING (length in units) in the pool; returns its offset. */
static uint32_t kb_string(struct kb *k, const char *s)
{
	size_t n = strlen(s);
	uint32_t at = kb_zero(k, 4 + 2 * n + 2);

	kb32(k, at, (uint32_t)n);
	kb_utf16(k, at + 4, s);
	return at;
}

/* Where the triage header fields are. */
static size_t tf(const struct kb *k, size_t off)
{
	return k->hdr + off;
}

static void kb_driver(struct kb *k, unsigned i, uint32_t name_at,
		      uint64_t base, uint32_t size, uint32_t ts)
{
	size_t e = k->drivers_at + (size_t)i * k->stride;

	kb32(k, e, name_at);
	if (k->is64) {
		kb64(k, e + 8 + 0x30, base);
		kb32(k, e + 8 + 0x40, size);
		kb32(k, e + 8 + 0x80, ts);
	} else {
		kb32(k, e + 4 + 0x18, (uint32_t)base);
		kb32(k, e + 4 + 0x20, size);
		kb32(k, e + 4 + 0x44, ts);
	}
}

static void kb_context(struct kb *k, uint32_t at, uint64_t ip, uint64_t sp)
{
	if (k->is64) {
		kb32(k, at + 0x30, 0x0010001F);
		kb64(k, at + 0xF8, ip);
		kb64(k, at + 0x98, sp);
	} else {
		kb32(k, at, 0x00010007);
		kb32(k, at + 0xB8, (uint32_t)ip);
		kb32(k, at + 0xC4, (uint32_t)sp);
	}
}

#define STACK_VA64 UINT64_C(0xFFFF850429890000)
#define STACK_VA32 0x9A000000u
#define STACK_SIZE 0x100u

/* A complete triage dump with two drivers, one unloaded driver, a stack. */
static void kb_triage(struct kb *k, bool is64)
{
	bool w = is64;
	uint64_t kbase = w ? KBASE64 : KBASE32, foo = w ? FOO64 : FOO32;
	uint64_t sva = w ? STACK_VA64 : STACK_VA32;

	kb_header(k, is64, 4);
	kb_facts(k);
	kb_zero(k, w ? 0x80 : 0x68);
	/* context in its own block */
	uint32_t ctx = kb_zero(k, w ? 0x4D0 : 0x2CC);

	kb_context(k, ctx, foo + RIP_OFF, sva);
	k->stride = w ? 0x90 : 0x4C;
	k->drivers_at = kb_zero(k, 2 * (size_t)k->stride);
	k->pool_at = (uint32_t)k->len;
	uint32_t n0 = kb_string(k, "\\SystemRoot\\system32\\ntoskrnl.exe");
	uint32_t n1 = kb_string(k, "\\SystemRoot\\system32\\drivers\\foo.sys");
	uint32_t pool_end = (uint32_t)k->len;

	kb_driver(k, 0, n0, kbase, 0x100000, 0x11111111);
	kb_driver(k, 1, n1, foo, 0x20000, 0x22222222);
	/* unloaded drivers: count, then one entry */
	k->unloaded_at = kb_zero(k, 8 + 56);
	kb32(k, k->unloaded_at, 1);
	size_t ue = k->unloaded_at + (w ? 8 : 4);

	kb32(k, ue, 14 | (14u << 16));
	kb_utf16(k, ue + (w ? 0x10 : 0x08), "bar.sys");
	kbp(k, ue + (w ? 0x28 : 0x20), foo + 0x100000);
	kbp(k, ue + (w ? 0x30 : 0x24), foo + 0x108000);
	/* the call stack: a return address into foo.sys, then noise */
	k->stack_at = kb_zero(k, STACK_SIZE);
	kbp(k, k->stack_at + 0x10, foo + RET_OFF);
	kbp(k, k->stack_at + 0x20, 0x1234);
	/* the current process: ImageFileName at 0x5A8 (x64 19041) */
	uint32_t proc = kb_zero(k, 0x5C0);

	memcpy(k->b + proc + 0x5A8, "System", 7);
	uint32_t valid = kb_zero(k, 4);

	memcpy(k->b + valid, "TRGD", 4);

	kb32(k, tf(k, 0x04), (uint32_t)k->len);
	kb32(k, tf(k, 0x08), valid);
	kb32(k, tf(k, 0x0C), ctx);
	kb32(k, tf(k, 0x18), k->unloaded_at);
	kb32(k, tf(k, 0x20), proc);
	kb32(k, tf(k, 0x28), k->stack_at);
	kb32(k, tf(k, 0x2C), STACK_SIZE);
	kb32(k, tf(k, 0x30), k->drivers_at);
	kb32(k, tf(k, 0x34), 2);
	kb32(k, tf(k, 0x38), k->pool_at);
	kb32(k, tf(k, 0x3C), pool_end - k->pool_at);
	kbp(k, tf(k, 0x48), sva);
}

/* ---- helpers ------------------------------------------------------------- */

static struct analysis *read_dump(const uint8_t *data, size_t len)
{
	struct analysis *a = analysis_new();

	assert_non_null(a);
	kdump_read(a, data, len);
	return a;
}

static bool has_error(const struct analysis *a, int code, const char *part)
{
	for (size_t i = 0; i < a->errors.n; i++)
		if (a->errors.v[i].code == code &&
		    (part == NULL ||
		     strstr(a->errors.v[i].message, part) != NULL))
			return true;
	return false;
}

static void print_errors(const struct analysis *a)
{
	for (size_t i = 0; i < a->errors.n; i++)
		printf("    error %d: %s\n", a->errors.v[i].code,
		       a->errors.v[i].message);
}

/* ---- tests --------------------------------------------------------------- */

static void test_probe(void **state)
{
	(void)state;
	assert_true(kdump_probe((const uint8_t *)"PAGEDUMP", 8));
	assert_true(kdump_probe((const uint8_t *)"PAGEDU64", 8));
	assert_false(kdump_probe((const uint8_t *)"PAGEDU6", 7));
	assert_false(kdump_probe((const uint8_t *)"PAGEXXXX", 8));
	assert_false(kdump_probe((const uint8_t *)"USERDU64", 8));
	assert_false(kdump_probe(NULL, 0));
	assert_int_equal(analysis_detect_format((const uint8_t *)"PAGEDU64",
						8),
			 FORMAT_KERNEL_DUMP);
}

static void check_triage(bool is64)
{
	struct kb *k = malloc(sizeof(*k));

	assert_non_null(k);
	kb_triage(k, is64);
	struct analysis *a = read_dump(k->b, k->len);
	uint64_t foo = is64 ? FOO64 : FOO32;

	print_errors(a);
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->format, FORMAT_KERNEL_DUMP);
	assert_string_equal(a->format_detail,
			    is64 ? "PAGEDU64 triage" : "PAGEDUMP triage");
	assert_string_equal(model_field(a, "DUMP_TYPE"), "triage");
	assert_true(a->bugcheck.present);
	assert_int_equal(a->bugcheck.code, is64 ? 0x1000007E : 0xD1);
	for (int i = 0; i < 4; i++)
		assert_true(a->bugcheck.args[i] ==
			    (is64 ? UINT64_C(0xFFFF000000000000) : 0) + 0x10 +
				    (uint64_t)i);
	assert_string_equal(a->system.os, "Windows NT");
	assert_string_equal(a->system.os_ver, "10.0.19041");
	assert_int_equal(a->system.build, BUILD);
	assert_string_equal(a->system.cpu_arch, is64 ? "amd64" : "x86");
	assert_int_equal(a->system.cpu_count, 4);
	assert_true(a->crash_time ==
		    (SYSTIME - UINT64_C(116444736000000000)) / 10000000);
	assert_int_equal(a->uptime, 3744);
	assert_string_equal(model_field(a, "COMMENT"), "crafted by test");
	assert_string_equal(model_field(a, "PRODUCT_TYPE"), "WinNt");

	assert_int_equal(a->modules.n, 3);
	const struct module *m = &a->modules.v[1];

	assert_string_equal(a->modules.v[0].filename, "ntoskrnl.exe");
	assert_string_equal(m->filename, "foo.sys");
	assert_string_equal(m->path,
			    "\\SystemRoot\\system32\\drivers\\foo.sys");
	assert_true(m->base == foo);
	assert_true(m->size == 0x20000);
	assert_true(m->end == foo + 0x1FFFF);
	assert_int_equal(m->timestamp, 0x22222222);
	assert_string_equal(m->code_id, "2222222220000");
	assert_false(m->unloaded);
	m = &a->modules.v[2];
	assert_string_equal(m->filename, "bar.sys");
	assert_true(m->unloaded);
	assert_true(m->base == foo + 0x100000 && m->size == 0x8000);

	const struct thread *t = model_crashing_thread(a);

	assert_non_null(t);
	assert_true(t->has_context);
	assert_true(t->ip == foo + RIP_OFF);
	assert_int_equal(t->frames.n, 2);
	assert_int_equal(t->frames.v[0].trust, TRUST_CONTEXT);
	assert_string_equal(t->frames.v[0].module, "foo.sys");
	assert_true(t->frames.v[0].module_offset == RIP_OFF);
	assert_int_equal(t->frames.v[1].trust, TRUST_SCAN);
	assert_true(t->frames.v[1].module_offset == RET_OFF - 1);
	if (is64)
		assert_string_equal(a->process_name, "System");
	analysis_destroy(&a);
	free(k);
}

static void test_triage64(void **state)
{
	(void)state;
	check_triage(true);
}

static void test_triage32(void **state)
{
	(void)state;
	check_triage(false);
}

/* A header with nothing but the PAGE fill: every fact is absent. */
static void test_page_fill_absent(void **state)
{
	(void)state;
	for (int w = 0; w < 2; w++) {
		struct kb *k = malloc(sizeof(*k));

		assert_non_null(k);
		kb_header(k, w == 1, 3);
		struct analysis *a = read_dump(k->b, k->len);

		print_errors(a);
		assert_int_equal(a->errors.n, 0);
		assert_false(a->bugcheck.present);
		assert_int_equal(a->system.build, 0);
		assert_null(a->system.os_ver);
		assert_null(a->system.cpu_arch);
		assert_int_equal(a->system.cpu_count, 0);
		assert_int_equal(a->crash_time, 0);
		assert_int_equal(a->uptime, 0);
		assert_null(model_field(a, "COMMENT"));
		assert_null(model_field(a, "PRODUCT_TYPE"));
		assert_string_equal(model_field(a, "DUMP_TYPE"), "header");
		assert_int_equal(a->threads.n, 0);
		analysis_destroy(&a);
		free(k);
	}
}

/*
 * Full and bitmap dumps with nothing after the header: the header facts
 * and the context, and the missing memory map recorded.
 */
static void test_memory_dump_header_only(void **state)
{
	(void)state;
	static const uint32_t types[] = { 1, 2, 5, 6 };

	for (int w = 0; w < 2; w++) {
		for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
			struct kb *k = malloc(sizeof(*k));

			assert_non_null(k);
			kb_header(k, w == 1, types[i]);
			kb_facts(k);
			kb_context(k, w ? 0x348 : 0x320, 0x1000, 0x2000);
			struct analysis *a = read_dump(k->b, k->len);

			print_errors(a);
			assert_true(a->bugcheck.present);
			assert_int_equal(a->system.build, BUILD);
			if (types[i] == 1)
				assert_true(has_error(a, DF_EFORMAT,
						      "without a physical "
						      "memory descriptor"));
			else
				assert_true(has_error(a, DF_ETRUNC,
						      "sub-header"));
			assert_false(has_error(a, DF_EUNSUPPORTED, NULL));
			assert_int_equal(a->modules.n, 0);
			assert_int_equal(a->threads.n, 1);
			assert_true(a->threads.v[0].ip == 0x1000);
			analysis_destroy(&a);
			free(k);
		}
	}
}

/* RDMP dumps: header facts, pages recorded as not read. */
static void test_unsupported_memory_dumps(void **state)
{
	(void)state;
	static const uint32_t types[] = { 8, 9, 10 };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct kb *k = malloc(sizeof(*k));

		assert_non_null(k);
		kb_header(k, true, types[i]);
		kb_facts(k);
		struct analysis *a = read_dump(k->b, k->len);

		assert_true(a->bugcheck.present);
		assert_true(has_error(a, DF_EUNSUPPORTED, "are not read"));
		analysis_destroy(&a);
		free(k);
	}
}

/* Every prefix of a triage dump: no crash, damage recorded. */
static void sweep(bool is64)
{
	struct kb *k = malloc(sizeof(*k));

	assert_non_null(k);
	kb_triage(k, is64);
	for (size_t len = 0; len <= k->len; len++) {
		uint8_t *p = malloc(len ? len : 1);

		assert_non_null(p);
		memcpy(p, k->b, len);
		struct analysis *a = read_dump(p, len);

		if (len < k->len)
			assert_true(a->errors.n > 0);
		else
			assert_int_equal(a->errors.n, 0);
		if (len >= (is64 ? 0x60u : 0x3Cu))
			assert_true(a->bugcheck.present);
		analysis_destroy(&a);
		free(p);
	}
	free(k);
}

static void test_truncation_sweep(void **state)
{
	(void)state;
	sweep(true);
	sweep(false);
}

static void test_counts_over_caps(void **state)
{
	(void)state;
	struct kb *k = malloc(sizeof(*k));

	assert_non_null(k);
	kb_triage(k, true);
	kb32(k, tf(k, 0x34), 0xFFFFFFFFu);         /* DriverCount */
	kb32(k, k->unloaded_at, 0xFFFFFFFFu);      /* unloaded count */
	kb32(k, tf(k, 0x2C), 0xFFFFFFFFu);         /* SizeOfCallStack */
	struct analysis *a = read_dump(k->b, k->len);

	assert_true(has_error(a, DF_ELIMIT, "drivers in the triage dump"));
	assert_true(has_error(a, DF_ELIMIT, "unloaded drivers"));
	assert_true(has_error(a, DF_ELIMIT, "call stack"));
	assert_true(has_error(a, DF_ETRUNC, "driver list cut"));
	assert_true(has_error(a, DF_ETRUNC, "unloaded driver list cut"));
	/* the two real drivers are still there */
	assert_non_null(model_module_named(a, "foo.sys"));
	analysis_destroy(&a);
	free(k);
}

static void test_string_pool_past_end(void **state)
{
	(void)state;
	struct kb *k = malloc(sizeof(*k));

	assert_non_null(k);
	kb_triage(k, true);
	/* driver 1's name offset past the end of the file */
	kb32(k, k->drivers_at + k->stride, 0xFFFFFFF0u);
	struct analysis *a = read_dump(k->b, k->len);

	assert_true(has_error(a, DF_EFORMAT, "outside the string pool"));
	assert_null(model_module_named(a, "foo.sys"));
	assert_non_null(model_module_named(a, "ntoskrnl.exe"));
	analysis_destroy(&a);

	/* a name length running past the pool */
	kb_triage(k, true);
	kb32(k, k->pool_at, 0x7FFFFFFFu);
	a = read_dump(k->b, k->len);
	assert_true(has_error(a, DF_EFORMAT, "does not fit the string pool"));
	assert_null(model_module_named(a, "ntoskrnl.exe"));
	analysis_destroy(&a);

	/* the whole pool past the end of the file */
	kb_triage(k, true);
	kb32(k, tf(k, 0x38), 0xFFFFFF00u);
	a = read_dump(k->b, k->len);
	assert_true(has_error(a, DF_ETRUNC, "string pool"));
	assert_int_equal(a->modules.n, 1); /* the unloaded driver only */
	analysis_destroy(&a);
	free(k);
}

static void test_bad_context_flags(void **state)
{
	(void)state;
	struct kb *k = malloc(sizeof(*k));

	assert_non_null(k);
	kb_triage(k, true);
	uint32_t ctx = (uint32_t)(k->b[tf(k, 0x0C)] |
				  (k->b[tf(k, 0x0C) + 1] << 8) |
				  (k->b[tf(k, 0x0C) + 2] << 16));

	kb32(k, ctx + 0x30, 0x00010007); /* x86 bits on an AMD64 dump */
	struct analysis *a = read_dump(k->b, k->len);

	assert_true(has_error(a, DF_EFORMAT, "ContextFlags"));
	assert_int_equal(a->threads.n, 0);
	assert_int_equal(a->modules.n, 3);
	analysis_destroy(&a);
	free(k);
}

/* The pipeline reads kernel dumps now. */
static void test_pipeline(void **state)
{
	(void)state;
	struct kb *k = malloc(sizeof(*k));
	struct analysis *a = NULL;

	assert_non_null(k);
	kb_triage(k, true);
	assert_int_equal(analysis_run(&a, k->b, k->len, NULL), DF_OK);
	assert_int_equal(a->format, FORMAT_KERNEL_DUMP);
	assert_false(has_error(a, DF_EUNSUPPORTED, NULL));
	assert_non_null(a->signature);
	printf("    signature: %s\n", a->signature);
	analysis_destroy(&a);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_triage64),
		cmocka_unit_test(test_triage32),
		cmocka_unit_test(test_page_fill_absent),
		cmocka_unit_test(test_memory_dump_header_only),
		cmocka_unit_test(test_unsupported_memory_dumps),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_counts_over_caps),
		cmocka_unit_test(test_string_pool_past_end),
		cmocka_unit_test(test_bad_context_flags),
		cmocka_unit_test(test_pipeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
