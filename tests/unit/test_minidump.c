/*
 * The minidump reader on small dumps built here byte by byte: every field
 * the model gets, Breakpad's crash-reason naming, and damaged files (bad
 * signature, too many streams, directory or stream or string past the end
 * of the file, every truncation of a valid dump).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "df.h"
#include "minidump.h"
#include "model.h"
#include "testutil.h"

/* ---- a small minidump builder ------------------------------------------ */

#define MB_CAP 16384

struct mb {
	uint8_t b[MB_CAP];
	size_t len;
	uint32_t dir_at, ndir;
	/* where the tests poke */
	uint32_t module_list_at, exc_at, thread_list_at;
};

static uint32_t mb_zero(struct mb *m, size_t n)
{
	while (m->len % 4)
		m->len++;
	uint32_t at = (uint32_t)m->len;

	assert_true(m->len + n <= MB_CAP);
	memset(m->b + at, 0, n);
	m->len += n;
	return at;
}

static void mb16(struct mb *m, size_t at, uint16_t v)
{
	m->b[at] = (uint8_t)v;
	m->b[at + 1] = (uint8_t)(v >> 8);
}

static void mb32(struct mb *m, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void mb64(struct mb *m, size_t at, uint64_t v)
{
	mb32(m, at, (uint32_t)v);
	mb32(m, at + 4, (uint32_t)(v >> 32));
}

static uint32_t mb_str(struct mb *m, const char *s)
{
	size_t n = strlen(s);
	uint32_t at = mb_zero(m, 4 + 2 * n + 2);

	mb32(m, at, (uint32_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		mb16(m, at + 4 + 2 * i, (uint8_t)s[i]);
	return at;
}

static uint32_t mb_stream(struct mb *m, uint32_t type, size_t size)
{
	uint32_t at = mb_zero(m, size);
	uint32_t e = m->dir_at + 12 * m->ndir++;

	mb32(m, e, type);
	mb32(m, e + 4, (uint32_t)size);
	mb32(m, e + 8, at);
	return at;
}

/*
 * One more stream after build(): the directory moves to the end of the
 * file with room for it, and the header points there.
 */
static uint32_t mb_extra_stream(struct mb *m, uint32_t type, size_t size)
{
	uint32_t dir = mb_zero(m, 12 * ((size_t)m->ndir + 1));

	memcpy(m->b + dir, m->b + m->dir_at, 12 * (size_t)m->ndir);
	m->dir_at = dir;
	mb32(m, 8, m->ndir + 1);
	mb32(m, 12, dir);
	return mb_stream(m, type, size);
}

/* What the crafted dump says. */
struct spec {
	uint32_t platform;
	uint16_t arch;
	uint32_t code, flags, nparams;
	uint64_t info[3];
	uint64_t exc_addr;
};

static const struct spec default_spec = {
	2, 0, 0xC0000005, 0, 2, { 1, 0x45, 0 }, 0x402222,
};

#define NSTREAMS 9

static void mb_header(struct mb *m)
{
	mb_zero(m, 32);
	memcpy(m->b, "MDMP", 4);
	mb32(m, 4, 0xA793);
	mb32(m, 8, NSTREAMS);
	mb32(m, 12, 32);
	mb32(m, 20, 1000000100);
	m->dir_at = mb_zero(m, 12 * NSTREAMS);
}

static void mb_system_info(struct mb *m, const struct spec *s)
{
	uint32_t at = mb_stream(m, 7, 56);

	mb16(m, at, s->arch);
	mb16(m, at + 2, 6);
	mb16(m, at + 4, 0x0F0B);
	m->b[at + 6] = 2;
	mb32(m, at + 8, 5);
	mb32(m, at + 12, 1);
	mb32(m, at + 16, 2600);
	mb32(m, at + 20, s->platform);
	memcpy(m->b + at + 0x20, "AuthenticAMD", 12);
	mb32(m, at + 0x18, mb_str(m, "Service Pack 3"));
}

static void mb_misc_info(struct mb *m)
{
	uint32_t at = mb_stream(m, 15, 24);

	mb32(m, at, 24);
	mb32(m, at + 4, 3);
	mb32(m, at + 8, 1234);
	mb32(m, at + 12, 1000000000);
}

static void mb_modules(struct mb *m)
{
	static const uint8_t rsds[] = {
		'R', 'S', 'D', 'S',	/* signature */
		0x78, 0x56, 0x34, 0x12,	/* Data1 */
		0xBC, 0x9A, 0xF0, 0xDE,	/* Data2, Data3 */
		1, 2, 3, 4, 5, 6, 7, 8,	/* Data4 */
		10, 0, 0, 0,		/* age */
	};
	static const char pdb[] = "c:\\build\\crashy.pdb";
	uint32_t at = mb_stream(m, 4, 4 + 2 * 108);

	m->module_list_at = at;
	mb32(m, at, 2);
	/* crashy.exe: version 1.2.3.4, RSDS */
	mb64(m, at + 4, 0x400000);
	mb32(m, at + 4 + 8, 0x10000);
	mb32(m, at + 4 + 16, 0x45A1B2C3);
	mb32(m, at + 4 + 0x14, mb_str(m, "C:\\app\\crashy.exe"));
	mb32(m, at + 4 + 0x18, 0xFEEF04BD);
	mb32(m, at + 4 + 0x1C, 0x00010000);
	mb32(m, at + 4 + 0x20, 0x00010002);
	mb32(m, at + 4 + 0x24, 0x00030004);
	uint32_t cv = mb_zero(m, sizeof(rsds) + sizeof(pdb));

	memcpy(m->b + cv, rsds, sizeof(rsds));
	memcpy(m->b + cv + sizeof(rsds), pdb, sizeof(pdb));
	mb32(m, at + 4 + 0x4C, (uint32_t)(sizeof(rsds) + sizeof(pdb)));
	mb32(m, at + 4 + 0x50, cv);
	/* kernel32.dll: no version, NB10 */
	uint32_t k = at + 4 + 108;

	mb64(m, k, 0x7c800000);
	mb32(m, k + 8, 0xf4000);
	mb32(m, k + 16, 0x44AB9A84);
	mb32(m, k + 0x14, mb_str(m, "C:\\WINDOWS\\system32\\kernel32.dll"));
	cv = mb_zero(m, 16 + 13);
	memcpy(m->b + cv, "NB10", 4);
	mb32(m, cv + 8, 0x45E2A1B3);
	mb32(m, cv + 12, 2);
	memcpy(m->b + cv + 16, "kernel32.pdb", 13);
	mb32(m, k + 0x4C, 16 + 13);
	mb32(m, k + 0x50, cv);
}

static void mb_unloaded(struct mb *m)
{
	uint32_t at = mb_stream(m, 14, 12 + 24);

	mb32(m, at, 12);
	mb32(m, at + 4, 24);
	mb32(m, at + 8, 1);
	mb64(m, at + 12, 0x50000000);
	mb32(m, at + 12 + 8, 0x1000);
	mb32(m, at + 12 + 20, mb_str(m, "C:\\plugins\\old.dll"));
}

/* An x86 context with EIP, ESP, EBP. */
static uint32_t mb_ctx(struct mb *m, uint32_t eip, uint32_t esp, uint32_t ebp)
{
	uint32_t at = mb_zero(m, 716);

	mb32(m, at, 0x0001003F);
	mb32(m, at + 0xB4, ebp);
	mb32(m, at + 0xB8, eip);
	mb32(m, at + 0xC4, esp);
	return at;
}

static void mb_threads(struct mb *m)
{
	/* thread 100: EBP chain crashy+0x1111 -> kernel32+0x16fd7 */
	uint32_t s1 = mb_zero(m, 0x100);

	mb32(m, s1 + 0x20, 0x12f040);
	mb32(m, s1 + 0x24, 0x401111);
	mb32(m, s1 + 0x40, 0);
	mb32(m, s1 + 0x44, 0x7c816fd7);
	/* thread 200: no frame chain, one word to find by scanning */
	uint32_t s2 = mb_zero(m, 0x40);

	mb32(m, s2 + 0x08, 0x7c801234);
	uint32_t c1 = mb_ctx(m, 0x7c90e4f4, 0x12f000, 0x12f000);
	uint32_t c2 = mb_ctx(m, 0x7c90e514, 0x22f000, 0);
	uint32_t at = mb_stream(m, 3, 4 + 2 * 48);

	m->thread_list_at = at;
	mb32(m, at, 2);
	mb32(m, at + 4, 100);
	mb64(m, at + 4 + 0x18, 0x12f000);
	mb32(m, at + 4 + 0x20, 0x100);
	mb32(m, at + 4 + 0x24, s1);
	mb32(m, at + 4 + 0x28, 716);
	mb32(m, at + 4 + 0x2C, c1);
	mb32(m, at + 52, 200);
	mb64(m, at + 52 + 0x18, 0x22f000);
	mb32(m, at + 52 + 0x20, 0x40);
	mb32(m, at + 52 + 0x24, s2);
	mb32(m, at + 52 + 0x28, 716);
	mb32(m, at + 52 + 0x2C, c2);
}

static void mb_thread_names(struct mb *m)
{
	uint32_t at = mb_stream(m, 24, 4 + 12);

	mb32(m, at, 1);
	mb32(m, at + 4, 200);
	mb64(m, at + 8, mb_str(m, "worker"));
}

static void mb_handles(struct mb *m)
{
	static const char *const types[] = { "Event", "File", "Event" };
	uint32_t at = mb_stream(m, 12, 16 + 3 * 32);

	mb32(m, at, 16);
	mb32(m, at + 4, 32);
	mb32(m, at + 8, 3);
	for (uint32_t i = 0; i < 3; i++) {
		mb64(m, at + 16 + 32 * i, 4 + 4 * i);
		mb32(m, at + 16 + 32 * i + 8, mb_str(m, types[i]));
	}
}

static void mb_comment(struct mb *m)
{
	static const char text[] = "  hello\nsecond line";
	uint32_t at = mb_stream(m, 10, sizeof(text) - 1);

	memcpy(m->b + at, text, sizeof(text) - 1);
}

/* The exception stream comes last, so that every truncation cuts it. */
static void mb_exception(struct mb *m, const struct spec *s)
{
	uint32_t ctx = mb_ctx(m, (uint32_t)s->exc_addr, 0x12f010, 0x12f020);
	uint32_t at = mb_stream(m, 6, 168);

	m->exc_at = at;
	mb32(m, at, 100);
	mb32(m, at + 8, s->code);
	mb32(m, at + 12, s->flags);
	mb64(m, at + 0x18, s->exc_addr);
	mb32(m, at + 0x20, s->nparams);
	for (int i = 0; i < 3; i++)
		mb64(m, at + 0x28 + 8 * (size_t)i, s->info[i]);
	mb32(m, at + 0xA0, 716);
	mb32(m, at + 0xA4, ctx);
}

static void build(struct mb *m, const struct spec *s)
{
	memset(m, 0, sizeof(*m));
	mb_header(m);
	mb_system_info(m, s);
	mb_misc_info(m);
	mb_modules(m);
	mb_unloaded(m);
	mb_threads(m);
	mb_thread_names(m);
	mb_handles(m);
	mb_comment(m);
	mb_exception(m, s);
	assert_int_equal(m->ndir, NSTREAMS);
}

/* ---- helpers ------------------------------------------------------------- */

static struct analysis *read_mb(const struct mb *m, size_t len, int *rc)
{
	struct analysis *a = analysis_new();

	assert_non_null(a);
	*rc = minidump_read(a, m->b, len);
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
		printf("  error %d: %s\n", a->errors.v[i].code,
		       a->errors.v[i].message);
}

/* ---- the valid dump ------------------------------------------------------ */

static void test_probe(void **state)
{
	(void)state;
	assert_true(minidump_probe((const uint8_t *)"MDMP\x93\xa7", 6));
	assert_false(minidump_probe((const uint8_t *)"MDM", 3));
	assert_false(minidump_probe((const uint8_t *)"PAGEDU64", 8));
	assert_false(minidump_probe(NULL, 0));
}

static void test_valid_dump(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	struct analysis *a = read_mb(&m, m.len, &rc);

	print_errors(a);
	assert_int_equal(rc, DF_OK);
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->format, FORMAT_MINIDUMP);
	assert_string_equal(a->format_detail, "MDMP x86");
	assert_string_equal(a->system.os, "Windows NT");
	assert_string_equal(a->system.os_ver, "5.1.2600 Service Pack 3");
	assert_string_equal(a->system.cpu_arch, "x86");
	assert_string_equal(a->system.cpu_info,
			    "AuthenticAMD family 6 model 15 stepping 11");
	assert_int_equal(a->system.cpu_count, 2);
	assert_int_equal(a->system.build, 2600);
	assert_int_equal(a->crash_time, 1000000100);
	assert_int_equal(a->uptime, 100);
	assert_string_equal(a->process_name, "crashy.exe");

	assert_true(a->crash.present);
	assert_string_equal(a->crash.type, "EXCEPTION_ACCESS_VIOLATION_WRITE");
	assert_int_equal(a->crash.code, 0xC0000005);
	assert_true(a->crash.has_address);
	assert_int_equal(a->crash.address, 0x45);
	assert_true(a->crash.has_ip);
	assert_int_equal(a->crash.ip, 0x402222);
	assert_int_equal(a->crash.crashing_thread, 0);

	assert_int_equal(a->modules.n, 3);
	const struct module *app = &a->modules.v[0], *k32 = &a->modules.v[1];

	assert_string_equal(app->filename, "crashy.exe");
	assert_string_equal(app->path, "C:\\app\\crashy.exe");
	assert_int_equal(app->base, 0x400000);
	assert_int_equal(app->end, 0x40ffff);
	assert_int_equal(app->size, 0x10000);
	assert_string_equal(app->version, "1.2.3.4");
	assert_string_equal(app->debug_file, "crashy.pdb");
	assert_string_equal(app->debug_id, "123456789ABCDEF00102030405060708a");
	assert_string_equal(app->code_id, "45A1B2C310000");
	assert_false(app->unloaded);
	assert_string_equal(k32->filename, "kernel32.dll");
	assert_null(k32->version);
	assert_string_equal(k32->debug_file, "kernel32.pdb");
	assert_string_equal(k32->debug_id, "45E2A1B32");
	assert_string_equal(a->modules.v[2].filename, "old.dll");
	assert_true(a->modules.v[2].unloaded);

	assert_int_equal(a->threads.n, 2);
	const struct thread *t0 = &a->threads.v[0], *t1 = &a->threads.v[1];

	/* The crashed thread shows the exception context, not its own. */
	assert_int_equal(t0->id, 100);
	assert_true(t0->has_context);
	assert_int_equal(t0->ip, 0x402222);
	assert_int_equal(t0->sp, 0x12f010);
	assert_int_equal(t0->stack_start, 0x12f000);
	assert_int_equal(t0->stack_size, 0x100);
	assert_int_equal(t0->frames.n, 3);
	assert_string_equal(t0->frames.v[0].module, "crashy.exe");
	assert_int_equal(t0->frames.v[0].module_offset, 0x2222);
	assert_int_equal(t0->frames.v[0].trust, TRUST_CONTEXT);
	assert_null(t0->frames.v[0].function);
	assert_int_equal(t0->frames.v[1].address, 0x401110); /* ret - 1 */
	assert_int_equal(t0->frames.v[1].trust, TRUST_FRAME_POINTER);
	assert_string_equal(t0->frames.v[2].module, "kernel32.dll");
	assert_int_equal(t0->frames.v[2].module_offset, 0x16fd6);

	assert_int_equal(t1->id, 200);
	assert_string_equal(t1->name, "worker");
	assert_int_equal(t1->frames.n, 2);
	assert_null(t1->frames.v[0].module);
	assert_false(t1->frames.v[0].has_module_offset);
	assert_int_equal(t1->frames.v[1].address, 0x7c801233); /* ret - 1 */
	assert_int_equal(t1->frames.v[1].trust, TRUST_SCAN);

	assert_int_equal(a->handle_types.n, 2);
	assert_string_equal(a->handle_types.v[0].type, "Event");
	assert_int_equal(a->handle_types.v[0].count, 2);
	assert_string_equal(a->handle_types.v[1].type, "File");
	assert_string_equal(model_field(a, "COMMENT"), "hello");
	analysis_destroy(&a);
}

/* Strings in the model are copies: they outlive the input bytes. */
static void test_strings_are_copies(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	struct analysis *a = read_mb(&m, m.len, &rc);

	memset(m.b, 0xAA, sizeof(m.b));
	assert_string_equal(a->modules.v[0].filename, "crashy.exe");
	assert_string_equal(a->threads.v[1].name, "worker");
	assert_string_equal(a->crash.type, "EXCEPTION_ACCESS_VIOLATION_WRITE");
	analysis_destroy(&a);
}

/* ---- Breakpad's info stream and the crashing thread's own context ------- */

/* MDRawBreakpadInfo: validity, dump_thread_id, requesting_thread_id. */
static void mb_breakpad_info(struct mb *m, uint32_t validity, uint32_t dump,
			     uint32_t requesting, size_t size)
{
	uint32_t at = mb_extra_stream(m, 0x47670001, size);

	mb32(m, at, validity);
	if (size >= 12) {
		mb32(m, at + 4, dump);
		mb32(m, at + 8, requesting);
	}
}

static void test_breakpad_info(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	/* The handler thread (200) is named and left out, as Breakpad does. */
	build(&m, &default_spec);
	mb_breakpad_info(&m, 3, 200, 100, 12);
	struct analysis *a = read_mb(&m, m.len, &rc);

	print_errors(a);
	assert_int_equal(rc, DF_OK);
	assert_int_equal(a->errors.n, 0);
	assert_true(a->has_dump_thread_id);
	assert_int_equal(a->dump_thread_id, 200);
	assert_int_equal(a->threads.n, 1);
	assert_int_equal(a->threads.v[0].id, 100);
	assert_int_equal(a->crash.crashing_thread, 0);
	assert_int_equal(a->threads.v[0].frames.v[0].address, 0x402222);
	analysis_destroy(&a);

	/* Only the validity bit counts: an id without it is no id. */
	build(&m, &default_spec);
	mb_breakpad_info(&m, 2, 200, 100, 12);
	a = read_mb(&m, m.len, &rc);
	assert_false(a->has_dump_thread_id);
	assert_int_equal(a->dump_thread_id, 0);
	assert_int_equal(a->threads.n, 2);
	analysis_destroy(&a);

	/* A short stream is an error, and says nothing. */
	build(&m, &default_spec);
	mb_breakpad_info(&m, 3, 200, 100, 8);
	a = read_mb(&m, m.len, &rc);
	assert_int_equal(rc, DF_OK);
	assert_true(has_error(a, DF_ETRUNC, "BreakpadInfo"));
	assert_false(a->has_dump_thread_id);
	assert_int_equal(a->threads.n, 2);
	analysis_destroy(&a);
}

/*
 * Rename kernel32.dll (0x7c800000, 0xf4000 bytes) to dbghelp.dll, and
 * return the file offset of thread 100's own context.
 */
static uint32_t mb_dbghelp_and_own_context(struct mb *m)
{
	uint32_t name = mb_str(m, "C:\\Windows\\System32\\dbghelp.dll");
	const uint8_t *p = m->b + m->thread_list_at + 4 + 0x2C;

	mb32(m, m->module_list_at + 4 + 108 + 0x14, name);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void test_own_frames(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	/* The crashing thread's own context sits in dbghelp. */
	build(&m, &default_spec);
	uint32_t ctx = mb_dbghelp_and_own_context(&m);

	mb32(&m, ctx + 0xB8, 0x7c812345);
	struct analysis *a = read_mb(&m, m.len, &rc);
	const struct thread *t = &a->threads.v[0];

	print_errors(a);
	assert_int_equal(rc, DF_OK);
	assert_int_equal(a->errors.n, 0);
	assert_int_equal(a->crash.crashing_thread, 0);
	/* frames still start at the exception context... */
	assert_int_equal(t->ip, 0x402222);
	assert_int_equal(t->frames.n, 3);
	assert_string_equal(t->frames.v[0].module, "crashy.exe");
	assert_string_equal(t->frames.v[2].module, "dbghelp.dll");
	/* ...and own_frames at the thread's own. */
	assert_true(t->own_frames.n > 0);
	assert_string_equal(t->own_frames.v[0].module, "dbghelp.dll");
	assert_int_equal(t->own_frames.v[0].module_offset, 0x12345);
	assert_int_equal(t->own_frames.v[0].trust, TRUST_CONTEXT);
	/* Other threads' frames already are their own. */
	assert_int_equal(a->threads.v[1].own_frames.n, 0);
	analysis_destroy(&a);

	/*
	 * The usual case: its own context in ntdll, and a return address into
	 * dbghelp below the exception's stack pointer (0x12f010), where only
	 * the walk from its own stack pointer (0x12f000) finds it.
	 */
	build(&m, &default_spec);
	ctx = mb_dbghelp_and_own_context(&m);
	uint32_t stack = m.b[m.thread_list_at + 4 + 0x24] |
			 (uint32_t)m.b[m.thread_list_at + 4 + 0x25] << 8;

	mb32(&m, stack + 0x08, 0x7c81a0b4);
	/* %ebp off the stack: the x86 walk scans, as Breakpad's does. */
	mb32(&m, ctx + 0xB4, 0);
	a = read_mb(&m, m.len, &rc);
	t = &a->threads.v[0];
	assert_int_equal(t->frames.n, 3);
	for (size_t i = 0; i < t->frames.n; i++)
		assert_int_not_equal(t->frames.v[i].address, 0x7c81a0b3);
	assert_true(t->own_frames.n >= 2);
	assert_int_equal(t->own_frames.v[0].address, 0x7c90e4f4);
	assert_null(t->own_frames.v[0].module);
	assert_int_equal(t->own_frames.v[1].address, 0x7c81a0b3); /* ret-1 */
	assert_string_equal(t->own_frames.v[1].module, "dbghelp.dll");
	assert_int_equal(t->own_frames.v[1].trust, TRUST_SCAN);
	analysis_destroy(&a);

	/* Its own context where the exception's is: nothing more to walk. */
	build(&m, &default_spec);
	ctx = mb_dbghelp_and_own_context(&m);
	mb32(&m, ctx + 0xB8, (uint32_t)default_spec.exc_addr);
	a = read_mb(&m, m.len, &rc);
	assert_int_equal(a->threads.v[0].own_frames.n, 0);
	assert_int_equal(a->threads.v[0].frames.n, 3);
	analysis_destroy(&a);

	/* Without an exception the frames are the thread's own already. */
	build(&m, &default_spec);
	mb32(&m, m.dir_at + 12 * 8, 0xFFFF); /* Exception -> unknown type */
	a = read_mb(&m, m.len, &rc);
	assert_int_equal(a->crash.crashing_thread, -1);
	for (size_t i = 0; i < a->threads.n; i++)
		assert_int_equal(a->threads.v[i].own_frames.n, 0);
	analysis_destroy(&a);
}

/* ---- crash reasons as Breakpad names them -------------------------------- */

struct reason_case {
	uint32_t platform;
	uint16_t arch;
	uint32_t code, flags, nparams;
	uint64_t info0, info1, info2;
	const char *reason;
	uint64_t address;
};

static void test_crash_reasons(void **state)
{
	static const struct reason_case cases[] = {
		{ 2, 0, 0xC0000005, 0, 2, 0, 0x10, 0,
		  "EXCEPTION_ACCESS_VIOLATION_READ", 0x10 },
		{ 2, 0, 0xC0000005, 0, 2, 8, 0x402222, 0,
		  "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x402222 },
		{ 2, 0, 0xC0000005, 0, 2, 3, 0x10, 0,
		  "EXCEPTION_ACCESS_VIOLATION", 0x10 },
		{ 2, 0, 0xC0000005, 0, 0, 0, 0, 0,
		  "EXCEPTION_ACCESS_VIOLATION", 0x402222 },
		{ 2, 0, 0xC0000006, 0, 3, 0, 0x1000, 0xC000009C,
		  "EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR",
		  0x1000 },
		{ 2, 0, 0xC0000006, 0, 3, 1, 0x1000, 0xC0001234,
		  "EXCEPTION_IN_PAGE_ERROR_WRITE / 0xc0001234", 0x1000 },
		{ 2, 9, 0xC0000409, 1, 1, 2, 0, 0,
		  "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE", 0x402222 },
		{ 2, 9, 0xC0000409, 1, 1, 7, 0, 0, "FAST_FAIL_FATAL_APP_EXIT",
		  0x402222 },
		{ 2, 9, 0xC0000409, 1, 1, 0, 0, 0,
		  "EXCEPTION_STACK_BUFFER_OVERRUN", 0x402222 },
		{ 2, 9, 0xC0000409, 1, 0, 0, 0, 0,
		  "EXCEPTION_STACK_BUFFER_OVERRUN", 0x402222 },
		{ 2, 0, 0xC00000FD, 0, 0, 0, 0, 0, "EXCEPTION_STACK_OVERFLOW",
		  0x402222 },
		{ 2, 0, 0xE06D7363, 1, 3, 0x19930520, 0, 0,
		  "Unhandled C++ Exception", 0x402222 },
		{ 2, 0, 0x80000003, 0, 0, 0, 0, 0, "EXCEPTION_BREAKPOINT",
		  0x402222 },
		{ 2, 0, 0xE0434352, 1, 0, 0, 0, 0, "0xe0434352 / 0x00000001",
		  0x402222 },
		{ 0x8201, 9, 11, 1, 0, 0, 0, 0, "SIGSEGV /SEGV_MAPERR",
		  0x402222 },
		{ 0x8201, 9, 11, 0, 0, 0, 0, 0, "SIGSEGV /0x00000000",
		  0x402222 },
		{ 0x8201, 9, 6, 0, 0, 0, 0, 0, "SIGABRT", 0x402222 },
		{ 0x8201, 9, 8, 1, 0, 0, 0, 0, "SIGFPE / FPE_INTDIV",
		  0x402222 },
		{ 0x8201, 9, 0xFFFFFFFF, 0, 0, 0, 0, 0, "DUMP_REQUESTED",
		  0x402222 },
		{ 0x8101, 9, 1, 1, 0, 0, 0, 0,
		  "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", 0x402222 },
		{ 0x8101, 9, 0, 0, 0, 0, 0, 0, "0x00000000 / 0x00000000",
		  0x402222 },
		{ 0x1234, 0, 5, 0, 0, 0, 0, 0, "0x00000005 / 0x00000000",
		  0x402222 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct mb m;
		const struct reason_case *c = &cases[i];
		struct spec s = { c->platform,
				  c->arch,
				  c->code,
				  c->flags,
				  c->nparams,
				  { c->info0, c->info1, c->info2 },
				  0x402222 };
		int rc;

		build(&m, &s);
		struct analysis *a = read_mb(&m, m.len, &rc);

		printf("case %zu: %s\n", i, a->crash.type);
		assert_string_equal(a->crash.type, c->reason);
		assert_int_equal(a->crash.address, c->address);
		analysis_destroy(&a);
	}
}

/* x86 addresses are masked to 32 bits, as Breakpad does. */
static void test_x86_address_mask(void **state)
{
	static struct mb m;
	struct spec s = default_spec;
	int rc;

	(void)state;
	s.info[1] = 0xFFFFFFFF80001000ull;
	build(&m, &s);
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_int_equal(a->crash.address, 0x80001000);
	analysis_destroy(&a);
}

/* ---- damaged files ------------------------------------------------------- */

static void test_bad_signature(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	m.b[0] = 'X';
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_int_equal(rc, DF_EFORMAT);
	assert_true(has_error(a, DF_EFORMAT, "signature"));
	assert_false(a->crash.present);
	analysis_destroy(&a);

	build(&m, &default_spec);
	mb32(&m, 4, 0xA794);
	a = read_mb(&m, m.len, &rc);
	assert_int_equal(rc, DF_EFORMAT);
	assert_true(has_error(a, DF_EFORMAT, "version"));
	analysis_destroy(&a);

	a = read_mb(&m, 31, &rc);
	assert_int_equal(rc, DF_ETRUNC);
	analysis_destroy(&a);
}

static void test_stream_count_over_cap(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	mb32(&m, 8, 0x40000000);
	struct analysis *a = read_mb(&m, m.len, &rc);

	print_errors(a);
	assert_int_equal(rc, DF_OK);
	assert_true(has_error(a, DF_ELIMIT, "streams"));
	/* The real entries come first and are still read. */
	assert_string_equal(a->crash.type, "EXCEPTION_ACCESS_VIOLATION_WRITE");
	assert_int_equal(a->modules.n, 3);
	analysis_destroy(&a);
}

static void test_directory_past_eof(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	mb32(&m, 12, (uint32_t)m.len + 100);
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_int_equal(rc, DF_ETRUNC);
	assert_true(has_error(a, DF_ETRUNC, "truncated stream directory"));
	analysis_destroy(&a);

	/* A directory cut short: the entries that fit are still read. */
	build(&m, &default_spec);
	a = read_mb(&m, m.dir_at + 12 * 3 + 5, &rc);
	assert_int_equal(rc, DF_OK);
	assert_true(has_error(a, DF_ETRUNC, "truncated stream directory"));
	analysis_destroy(&a);
}

static void test_stream_rva_past_eof(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	/* Entry 0 is SystemInfo. */
	mb32(&m, m.dir_at + 8, 0xFFFFFF00);
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_int_equal(rc, DF_OK);
	assert_true(has_error(a, DF_ETRUNC, "SystemInfo"));
	assert_null(a->system.os);
	assert_string_equal(a->format_detail, "MDMP");
	/* Without SystemInfo the reason is Breakpad's numeric form. */
	assert_string_equal(a->crash.type, "0xc0000005 / 0x00000000");
	assert_int_equal(a->modules.n, 3);
	assert_int_equal(a->threads.n, 2);
	analysis_destroy(&a);

	/* A stream whose size runs past the end is cut and still read. */
	build(&m, &default_spec);
	mb32(&m, m.dir_at + 12 * 2 + 4, 0x7FFFFFFF); /* ModuleList size */
	a = read_mb(&m, m.len, &rc);
	assert_true(has_error(a, DF_ETRUNC, "ModuleList"));
	assert_int_equal(a->modules.n, 3);
	analysis_destroy(&a);
}

static void test_module_name_past_eof(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	mb32(&m, m.module_list_at + 4 + 108 + 0x14, (uint32_t)m.len + 4);
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_int_equal(rc, DF_OK);
	assert_true(has_error(a, DF_ETRUNC, "module name"));
	assert_int_equal(a->modules.n, 2); /* crashy.exe and old.dll */
	assert_string_equal(a->modules.v[0].filename, "crashy.exe");
	analysis_destroy(&a);

	/* An odd length and an over-long string are refused too. */
	build(&m, &default_spec);
	uint32_t name = m.b[m.module_list_at + 4 + 0x14] |
			(uint32_t)m.b[m.module_list_at + 4 + 0x15] << 8;

	mb32(&m, name, 7);
	a = read_mb(&m, m.len, &rc);
	assert_true(has_error(a, DF_EFORMAT, "module name"));
	analysis_destroy(&a);
	mb32(&m, name, 2 * (MINIDUMP_MAX_STRING_UNITS + 1));
	a = read_mb(&m, m.len, &rc);
	assert_true(has_error(a, DF_ELIMIT, "module name"));
	analysis_destroy(&a);
}

static void test_cv_record_past_eof(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	mb32(&m, m.module_list_at + 4 + 0x50, (uint32_t)m.len - 8);
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_true(has_error(a, DF_ETRUNC, "CodeView"));
	assert_null(a->modules.v[0].debug_id);
	assert_string_equal(a->modules.v[1].debug_id, "45E2A1B32");
	analysis_destroy(&a);
}

static void test_counts_larger_than_streams(void **state)
{
	static struct mb m;
	int rc;

	(void)state;
	build(&m, &default_spec);
	mb32(&m, m.thread_list_at, 0xFFFFFFFF);
	mb32(&m, m.module_list_at, 0x10000000);
	struct analysis *a = read_mb(&m, m.len, &rc);

	assert_int_equal(rc, DF_OK);
	assert_true(has_error(a, DF_ETRUNC, "ThreadList"));
	assert_true(has_error(a, DF_ETRUNC, "ModuleList"));
	assert_int_equal(a->threads.n, 2);
	assert_int_equal(a->modules.n, 3);
	analysis_destroy(&a);

	/* A short exception stream is refused. */
	build(&m, &default_spec);
	mb32(&m, m.dir_at + 12 * 8 + 4, 100);
	a = read_mb(&m, m.len, &rc);
	assert_true(has_error(a, DF_ETRUNC, "Exception"));
	assert_false(a->crash.present);
	analysis_destroy(&a);
}

/* Every prefix of DATA parses without a crash and records an error. */
static void sweep(const uint8_t *data, size_t len)
{
	for (size_t n = 0; n < len; n++) {
		struct analysis *a = analysis_new();
		uint8_t *copy = malloc(n ? n : 1);

		assert_non_null(a);
		assert_non_null(copy);
		memcpy(copy, data, n);
		minidump_read(a, copy, n);
		if (a->errors.n == 0)
			printf("prefix %zu of %zu: no error\n", n, len);
		assert_true(a->errors.n > 0);
		free(copy);
		analysis_destroy(&a);
	}
}

static void test_truncation_sweep(void **state)
{
	static struct mb m;

	(void)state;
	build(&m, &default_spec);
	sweep(m.b, m.len);
}

/* The same on the generator's sample, when the source tree is there. */
static void test_truncation_sweep_sample(void **state)
{
	char path[4096];
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/samples/minidumps/x86-null-write.dmp",
		 test_source_dir());
	uint8_t *data = test_read_file(path, &len);

	if (data == NULL)
		skip();
	sweep(data, len);
	free(data);
}

/* Random byte flips: never a crash, never a string outside the arena. */
static void test_byte_flips(void **state)
{
	static struct mb m;
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		build(&m, &default_spec);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % m.len;

			seed = seed * 1103515245u + 12345u;
			m.b[at] = (uint8_t)(seed >> 16);
		}
		struct analysis *a = analysis_new();

		minidump_read(a, m.b, m.len);
		analysis_destroy(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_valid_dump),
		cmocka_unit_test(test_strings_are_copies),
		cmocka_unit_test(test_crash_reasons),
		cmocka_unit_test(test_x86_address_mask),
		cmocka_unit_test(test_breakpad_info),
		cmocka_unit_test(test_own_frames),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_stream_count_over_cap),
		cmocka_unit_test(test_directory_past_eof),
		cmocka_unit_test(test_stream_rva_past_eof),
		cmocka_unit_test(test_module_name_past_eof),
		cmocka_unit_test(test_cv_record_past_eof),
		cmocka_unit_test(test_counts_larger_than_streams),
		cmocka_unit_test(test_truncation_sweep),
		cmocka_unit_test(test_truncation_sweep_sample),
		cmocka_unit_test(test_byte_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
