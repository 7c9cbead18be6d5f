/*
 * mkminidump - write small, valid, deterministic Windows minidumps.
 *
 *   mkminidump [--extra] --kind NAME OUT.dmp
 *   mkminidump --help            (lists the kinds)
 *
 * Every dump is made from a table below: modules with CodeView (RSDS)
 * records and version resources, threads with CPU contexts and stack
 * memory laid out so that a stack walker finds the intended return
 * addresses (an EBP chain on x86, words to scan on amd64), an exception
 * stream, SystemInfo and MiscInfo, and for some kinds ThreadNames,
 * HandleData and UnloadedModuleList. The output depends only on the kind
 * (and --extra): no clock, no randomness. Layouts follow docs/formats.md
 * section 1.
 *
 * --extra adds the descriptive streams after the others: ThreadInfoList,
 * MemoryInfoList, HandleOperationList, Token, CrashpadInfo and Breakpad's
 * Linux cpuinfo, cmdline, environ, auxv, maps and DSO debug streams. The
 * default output stays as it was (the committed samples are compared with
 * it byte for byte).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbuf.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A MINIDUMP_STRING (UTF-16LE of an ASCII S) at the end; returns its RVA. */
static uint32_t put_string(struct outbuf *o, const char *s)
{
	size_t n = strlen(s);

	outbuf_align(o, 4);
	uint32_t at = outbuf_reserve(o, 4 + 2 * n + 2);

	outbuf_set32(o, at, (uint32_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		outbuf_set16(o, at + 4 + 2 * i, (uint8_t)s[i]);
	return at;
}

/* ---- what a dump holds --------------------------------------------------- */

enum arch { X86, AMD64 };

struct mod {
	const char *path;
	uint64_t base;
	uint32_t size;
	uint32_t stamp;
	uint16_t ver[4]; /* all zero: no version resource */
	const char *pdb;
};

/* An address as module index + offset. */
struct addr {
	int mod;
	uint32_t off;
};

#define MAX_RET 10

struct thr {
	uint32_t id;
	const char *name;
	struct addr ip;            /* where the thread is */
	struct addr ret[MAX_RET];  /* return addresses, innermost first;
				      the list ends at an offset of 0 */
	bool crashed;
};

struct handle {
	const char *type;
	const char *name;
	unsigned count;
};

struct exc {
	uint32_t code;
	uint32_t nparams;
	uint64_t info[3];
};

struct kind {
	const char *name;
	const char *help;
	enum arch arch;
	uint32_t stamp;        /* header TimeDateStamp */
	uint32_t create_time;  /* process create time */
	uint32_t pid;
	uint32_t noise;        /* seed of register and stack noise */
	uint64_t stack_base;   /* VA of the first thread's stack region */
	const struct mod *mods;
	size_t nmods;
	const struct thr *thrs;
	size_t nthrs;
	struct exc exc;
	const struct handle *handles;
	size_t nhandles;
	const struct mod *unloaded;
	size_t nunloaded;
};

/* ---- the made-up process and its modules --------------------------------- */

enum { APP, CORE, DBGHELP, K32, NTDLL, USER32, WIN32U, GFX };

static const struct mod mods_x86[] = {
	[APP] = { "C:\\Program Files (x86)\\Acme\\acmeapp.exe", 0x00400000,
		  0x25000, 0x65A1B2C3, { 2, 3, 1, 0 }, "acmeapp.pdb" },
	[CORE] = { "C:\\Program Files (x86)\\Acme\\acmecore.dll", 0x10000000,
		   0x48000, 0x65A1B2C4, { 2, 3, 1, 0 }, "acmecore.pdb" },
	[DBGHELP] = { "C:\\Windows\\SysWOW64\\dbghelp.dll", 0x6E900000,
		      0x18E000, 0x4F2A7B11, { 10, 0, 19041, 3636 },
		      "dbghelp.pdb" },
	[K32] = { "C:\\Windows\\SysWOW64\\kernel32.dll", 0x76B00000, 0xF0000,
		  0x9C4D0D21, { 10, 0, 19041, 3636 }, "wkernel32.pdb" },
	[NTDLL] = { "C:\\Windows\\SysWOW64\\ntdll.dll", 0x77B00000, 0x1A3000,
		    0x1A2B3C4D, { 10, 0, 19041, 3636 }, "wntdll.pdb" },
	[USER32] = { "C:\\Windows\\SysWOW64\\user32.dll", 0x75F00000,
		     0x19C000, 0x2D3E4F50, { 10, 0, 19041, 3636 },
		     "wuser32.pdb" },
	[WIN32U] = { "C:\\Windows\\SysWOW64\\win32u.dll", 0x75E80000, 0x18000,
		     0x3E4F5061, { 10, 0, 19041, 3636 }, "wwin32u.pdb" },
};

static const struct mod mods_amd64[] = {
	[APP] = { "C:\\Program Files\\Acme\\acmeapp.exe", 0x00007FF6A1C00000,
		  0x3A000, 0x65A1B2D0, { 2, 3, 1, 0 }, "acmeapp.pdb" },
	[CORE] = { "C:\\Program Files\\Acme\\acmecore.dll",
		   0x00007FFB20000000, 0x70000, 0x65A1B2D1, { 2, 3, 1, 0 },
		   "acmecore.pdb" },
	[DBGHELP] = { "C:\\Windows\\System32\\dbghelp.dll",
		      0x00007FFC0A100000, 0x1E4000, 0x4F2A7B22,
		      { 10, 0, 19041, 3636 }, "dbghelp.pdb" },
	[K32] = { "C:\\Windows\\System32\\kernel32.dll", 0x00007FFC1E2A0000,
		  0xBD000, 0x9C4D0D32, { 10, 0, 19041, 3636 }, "kernel32.pdb" },
	[NTDLL] = { "C:\\Windows\\System32\\ntdll.dll", 0x00007FFC1F8D0000,
		    0x1F8000, 0x1A2B3C5E, { 10, 0, 19041, 3636 }, "ntdll.pdb" },
	[USER32] = { "C:\\Windows\\System32\\user32.dll", 0x00007FFC1D9A0000,
		     0x1A0000, 0x2D3E4F61, { 10, 0, 19041, 3636 },
		     "user32.pdb" },
	[WIN32U] = { "C:\\Windows\\System32\\win32u.dll", 0x00007FFC1C8F0000,
		     0x22000, 0x3E4F5072, { 10, 0, 19041, 3636 },
		     "win32u.pdb" },
	[GFX] = { "C:\\Program Files\\Acme\\acmegfx.dll", 0x00007FFB12340000,
		  0x95000, 0x65A1B2D2, { 2, 3, 1, 0 }, "acmegfx.pdb" },
};

/* The common bottom of every thread: kernel32 thunk, ntdll start. */
#define THREAD_START { K32, 0x1FA29 }, { NTDLL, 0x6C0BE }

/* x86: acmecore.dll writes through a NULL pointer; a watchdog dumps. */
static const struct thr thrs_null_write[] = {
	{ 0x1A24, NULL, { CORE, 0x1A2B },
	  { { CORE, 0x2F10 }, { APP, 0x1234 }, { APP, 0x5678 }, THREAD_START },
	  true },
	{ 0x1B0C, NULL, { NTDLL, 0x72E5C },
	  { { DBGHELP, 0x2A3F0 }, { DBGHELP, 0x1B7C2 }, { CORE, 0x3100 },
	    THREAD_START },
	  false },
};

/* The same crash in another run: other thread ids, same stacks. */
static const struct thr thrs_null_write_again[] = {
	{ 0x2F38, NULL, { CORE, 0x1A2B },
	  { { CORE, 0x2F10 }, { APP, 0x1234 }, { APP, 0x5678 }, THREAD_START },
	  true },
	{ 0x30C4, NULL, { NTDLL, 0x72E5C },
	  { { DBGHELP, 0x2A3F0 }, { DBGHELP, 0x1B7C2 }, { CORE, 0x3100 },
	    THREAD_START },
	  false },
};

/* x86: the UI thread sits in a message box while a worker crashes. */
static const struct thr thrs_message_box[] = {
	{ 0x0F14, "main", { WIN32U, 0x1A5C },
	  { { USER32, 0x2B3F1 }, { USER32, 0x5C1E8 }, { USER32, 0x81A3D },
	    { USER32, 0x80A32 }, { APP, 0x2200 }, { APP, 0x5678 },
	    THREAD_START },
	  false },
	{ 0x11E0, "worker", { CORE, 0x4C10 },
	  { { CORE, 0x4D80 }, { CORE, 0x6020 }, THREAD_START }, true },
};

/* amd64: acmegfx.dll reads through a NULL-based pointer. */
static const struct thr thrs_amd64_read[] = {
	{ 0x2350, "render", { GFX, 0x3A7F1 },
	  { { GFX, 0x12C40 }, { CORE, 0x8810 }, { APP, 0x1F3C }, THREAD_START },
	  true },
	{ 0x2368, NULL, { NTDLL, 0x9D1E4 },
	  { { K32, 0x2C9E0 }, { CORE, 0x9120 }, THREAD_START }, false },
};

/* amd64: a /GS stack cookie check fails in acmecore.dll. */
static const struct thr thrs_amd64_gs[] = {
	{ 0x3A10, NULL, { CORE, 0x21F6C },
	  { { CORE, 0x5B7A0 }, { CORE, 0x1E0D4 }, { APP, 0x1F3C },
	    THREAD_START },
	  true },
};

static const struct handle handles_message_box[] = {
	{ "File", "\\Device\\HarddiskVolume3\\Acme\\acme.log", 3 },
	{ "Event", NULL, 5 },
	{ "Key", "\\REGISTRY\\MACHINE\\SOFTWARE\\Acme", 2 },
	{ "Thread", NULL, 2 },
	{ "Mutant", "\\Sessions\\1\\BaseNamedObjects\\AcmeSingleInstance", 1 },
};

static const struct mod unloaded_amd64[] = {
	{ "C:\\Program Files\\Acme\\plugins\\acmeplug.dll", 0x00007FFB30000000,
	  0x21000, 0x65A1B2E0, { 0, 0, 0, 0 }, NULL },
};

static const struct kind kinds[] = {
	{ "x86-null-write",
	  "x86 acmeapp.exe, NULL write in acmecore.dll; a second thread in "
	  "dbghelp.dll (self-dump)",
	  X86, 1700000000, 1699999700, 0x1A10, 11, 0x0019E000, mods_x86, 5,
	  thrs_null_write, ARRAY_LEN(thrs_null_write),
	  { 0xC0000005, 2, { 1, 0, 0 } }, NULL, 0, NULL, 0 },
	{ "x86-null-write-again",
	  "the x86-null-write crash in another run: other time, thread ids "
	  "and registers, same stacks",
	  X86, 1700086400, 1700086000, 0x2F20, 97, 0x0028D000, mods_x86, 5,
	  thrs_null_write_again, ARRAY_LEN(thrs_null_write_again),
	  { 0xC0000005, 2, { 1, 0, 0 } }, NULL, 0, NULL, 0 },
	{ "amd64-read-av",
	  "amd64 acmeapp.exe, read access violation at 0x18 in acmegfx.dll; "
	  "an unloaded plug-in",
	  AMD64, 1700200000, 1700199000, 0x2340, 23, 0x000000A1B2C3D000,
	  mods_amd64, ARRAY_LEN(mods_amd64), thrs_amd64_read,
	  ARRAY_LEN(thrs_amd64_read), { 0xC0000005, 2, { 0, 0x18, 0 } }, NULL,
	  0, unloaded_amd64, ARRAY_LEN(unloaded_amd64) },
	{ "x86-message-box",
	  "x86 acmeapp.exe, the UI thread waits in a message box (user32.dll) "
	  "while a worker thread reads 0x2c",
	  X86, 1700300000, 1700290000, 0x0F00, 31, 0x0019C000, mods_x86,
	  ARRAY_LEN(mods_x86), thrs_message_box, ARRAY_LEN(thrs_message_box),
	  { 0xC0000005, 2, { 0, 0x2C, 0 } }, handles_message_box,
	  ARRAY_LEN(handles_message_box), NULL, 0 },
	{ "amd64-stack-buffer-overrun",
	  "amd64 acmeapp.exe, EXCEPTION_STACK_BUFFER_OVERRUN (0xC0000409) in "
	  "acmecore.dll",
	  AMD64, 1700400000, 1700399990, 0x3A00, 53, 0x000000C4D5E6F000,
	  mods_amd64, 5, thrs_amd64_gs, ARRAY_LEN(thrs_amd64_gs),
	  { 0xC0000409, 0, { 0, 0, 0 } }, NULL, 0, NULL, 0 },
};

/* ---- deterministic noise ------------------------------------------------- */

static uint32_t next_noise(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Number of return addresses of TH. */
static size_t nret_of(const struct thr *th)
{
	size_t n = 0;

	while (n < MAX_RET && th->ret[n].off != 0)
		n++;
	return n;
}

static uint64_t addr_of(const struct kind *k, struct addr a)
{
	return k->mods[a.mod].base + a.off;
}

/* ---- streams ------------------------------------------------------------- */

#define NSTREAMS_MAX 12

struct dump {
	struct outbuf o;
	const struct kind *k;
	uint32_t ndir;
	uint32_t dir_at;
	/* per thread: the stack region and the registers at the fault */
	uint64_t stack_va[8];
	uint32_t stack_size[8];
	uint32_t stack_rva[8];
	uint64_t ip[8], sp[8], fp[8];
	uint32_t exc_ctx_rva, exc_ctx_size;
	bool extra; /* --extra */
};

/* Start directory entry TYPE for a stream of SIZE bytes at the end. */
static uint32_t begin_stream(struct dump *d, uint32_t type, size_t size)
{
	outbuf_align(&d->o, 4);
	uint32_t at = outbuf_reserve(&d->o, size);
	uint32_t e = d->dir_at + 12 * d->ndir++;

	outbuf_set32(&d->o, e, type);
	outbuf_set32(&d->o, e + 4, (uint32_t)size);
	outbuf_set32(&d->o, e + 8, at);
	return at;
}

static void write_system_info(struct dump *d)
{
	struct outbuf *o = &d->o;
	bool x86 = d->k->arch == X86;
	uint32_t at = begin_stream(d, 7, 56);

	outbuf_set16(o, at, x86 ? 0 : 9);     /* ProcessorArchitecture */
	outbuf_set16(o, at + 2, 6);           /* family */
	outbuf_set16(o, at + 4, 0x9E0A);      /* model 158, stepping 10 */
	o->p[at + 6] = 8;              /* processors */
	o->p[at + 7] = 1;              /* workstation */
	outbuf_set32(o, at + 8, 10);
	outbuf_set32(o, at + 12, 0);
	outbuf_set32(o, at + 16, 19045);
	outbuf_set32(o, at + 20, 2);          /* VER_PLATFORM_WIN32_NT */
	outbuf_set16(o, at + 0x1C, 0x0100);   /* SINGLEUSERTS */
	memcpy(o->p + at + 0x20, "GenuineIntel", 12);
	outbuf_set32(o, at + 0x2C, 0x000906EA);
	outbuf_set32(o, at + 0x30, 0xBFEBFBFF);
	uint32_t csd = put_string(o, "");

	outbuf_set32(o, at + 0x18, csd);
}

static void write_misc_info(struct dump *d)
{
	struct outbuf *o = &d->o;
	uint32_t at = begin_stream(d, 15, 24);

	outbuf_set32(o, at, 24);
	outbuf_set32(o, at + 4, 0x3); /* PROCESS_ID | PROCESS_TIMES */
	outbuf_set32(o, at + 8, d->k->pid);
	outbuf_set32(o, at + 12, d->k->create_time);
	outbuf_set32(o, at + 16, 2);
	outbuf_set32(o, at + 20, 1);
}

/* RSDS record for M: GUID from a hash of the PDB name, age 1. */
static uint32_t put_cv(struct outbuf *o, const struct mod *m)
{
	size_t n = strlen(m->pdb);
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)m->pdb[i]) * 16777619u;
	outbuf_align(o, 4);
	uint32_t at = outbuf_reserve(o, 24 + n + 1);

	memcpy(o->p + at, "RSDS", 4);
	for (int i = 0; i < 16; i++) {
		h = h * 1103515245u + 12345u;
		o->p[at + 4 + (size_t)i] = (uint8_t)(h >> 16);
	}
	outbuf_set32(o, at + 20, 1);
	memcpy(o->p + at + 24, m->pdb, n);
	return at;
}

static void write_module(struct outbuf *o, uint32_t at, const struct mod *m)
{
	outbuf_set64(o, at, m->base);
	outbuf_set32(o, at + 8, m->size);
	outbuf_set32(o, at + 12, m->stamp ^ 0x5A5A5A5Au); /* checksum */
	outbuf_set32(o, at + 16, m->stamp);
	if (m->ver[0] || m->ver[1] || m->ver[2] || m->ver[3]) {
		uint32_t v = at + 0x18;

		outbuf_set32(o, v, 0xFEEF04BD);
		outbuf_set32(o, v + 4, 0x00010000);
		outbuf_set32(o, v + 8, (uint32_t)m->ver[0] << 16 | m->ver[1]);
		outbuf_set32(o, v + 12, (uint32_t)m->ver[2] << 16 | m->ver[3]);
		outbuf_set32(o, v + 16, (uint32_t)m->ver[0] << 16 | m->ver[1]);
		outbuf_set32(o, v + 20, (uint32_t)m->ver[2] << 16 | m->ver[3]);
		outbuf_set32(o, v + 24, 0x3F);
		outbuf_set32(o, v + 32, 0x40004);
		outbuf_set32(o, v + 36, strstr(m->path, ".exe") ? 1 : 2);
	}
	uint32_t name = put_string(o, m->path);

	outbuf_set32(o, at + 0x14, name);
	if (m->pdb != NULL) {
		uint32_t cv = put_cv(o, m);

		outbuf_set32(o, at + 0x4C, (uint32_t)(24 + strlen(m->pdb) + 1));
		outbuf_set32(o, at + 0x50, cv);
	}
}

static void write_module_list(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = d->k->nmods;
	uint32_t at = begin_stream(d, 4, 4 + 108 * n);

	outbuf_set32(o, at, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		write_module(o, at + 4 + 108 * (uint32_t)i, &d->k->mods[i]);
}

static void write_unloaded_list(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = d->k->nunloaded;
	uint32_t at = begin_stream(d, 14, 12 + 24 * n);

	outbuf_set32(o, at, 12);
	outbuf_set32(o, at + 4, 24);
	outbuf_set32(o, at + 8, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct mod *m = &d->k->unloaded[i];
		uint32_t e = at + 12 + 24 * (uint32_t)i;

		outbuf_set64(o, e, m->base);
		outbuf_set32(o, e + 8, m->size);
		outbuf_set32(o, e + 16, m->stamp);
		outbuf_set32(o, e + 20, put_string(o, m->path));
	}
}

/* ---- stacks -------------------------------------------------------------- */

#define STACK_X86_SP 0x40    /* fault ESP, from the region start */
#define STACK_X86_REC 0x80   /* first EBP record */
#define STACK_X86_STEP 0x30  /* between EBP records */
#define STACK_AMD64_SP 0x28  /* fault RSP */
#define STACK_AMD64_STEP 0x48 /* between return addresses */

/*
 * A noise word for a stack slot: a small integer or a pointer into the
 * stack itself, never inside a module.
 */
static uint64_t stack_noise(uint32_t *seed, uint64_t va, uint32_t size)
{
	uint32_t r = next_noise(seed);

	if (r & 1)
		return r % 0x4000;
	return va + (r % size & ~7u);
}

/* x86: noise everywhere, then an EBP chain of records holding the returns. */
static uint32_t layout_x86(struct dump *d, size_t t, uint8_t *buf,
			   uint32_t *seed)
{
	const struct thr *th = &d->k->thrs[t];
	size_t nret = nret_of(th);
	uint64_t va = d->stack_va[t];
	uint32_t size = STACK_X86_REC + STACK_X86_STEP * (uint32_t)nret +
			0x20;

	for (uint32_t i = 0; i + 4 <= size; i += 4) {
		uint32_t v = (uint32_t)stack_noise(seed, va, size);

		for (int b = 0; b < 4; b++)
			buf[i + (uint32_t)b] = (uint8_t)(v >> (8 * b));
	}
	for (size_t r = 0; r < nret; r++) {
		uint32_t rec = STACK_X86_REC + STACK_X86_STEP * (uint32_t)r;
		uint32_t next = r + 1 < nret
					? (uint32_t)va + rec + STACK_X86_STEP
					: 0;
		uint32_t ret = (uint32_t)addr_of(d->k, th->ret[r]);

		for (int b = 0; b < 4; b++) {
			buf[rec + (uint32_t)b] = (uint8_t)(next >> (8 * b));
			buf[rec + 4 + (uint32_t)b] = (uint8_t)(ret >> (8 * b));
		}
	}
	/* The outermost record's successor: zero frame pointer and return. */
	memset(buf + STACK_X86_REC + STACK_X86_STEP * nret, 0, 8);
	d->sp[t] = va + STACK_X86_SP;
	d->fp[t] = va + STACK_X86_REC;
	return size;
}

/* amd64: return addresses every STACK_AMD64_STEP bytes, noise between. */
static uint32_t layout_amd64(struct dump *d, size_t t, uint8_t *buf,
			     uint32_t *seed)
{
	const struct thr *th = &d->k->thrs[t];
	size_t nret = nret_of(th);
	uint64_t va = d->stack_va[t];
	uint32_t first = STACK_AMD64_SP + 0x20;
	uint32_t size = first + STACK_AMD64_STEP * (uint32_t)nret + 0x18;

	for (uint32_t i = 0; i + 8 <= size; i += 8) {
		uint64_t v = stack_noise(seed, va, size);

		for (int b = 0; b < 8; b++)
			buf[i + (uint32_t)b] = (uint8_t)(v >> (8 * b));
	}
	for (size_t r = 0; r < nret; r++) {
		uint32_t at = first + STACK_AMD64_STEP * (uint32_t)r;
		uint64_t ret = addr_of(d->k, th->ret[r]);

		for (int b = 0; b < 8; b++)
			buf[at + (uint32_t)b] = (uint8_t)(ret >> (8 * b));
	}
	/* Past the outermost return address the stack is zero. */
	memset(buf + first + STACK_AMD64_STEP * nret, 0,
	       size - first - STACK_AMD64_STEP * nret);
	d->sp[t] = va + STACK_AMD64_SP;
	d->fp[t] = next_noise(seed) % 0x4000; /* RBP as a plain register */
	return size;
}

static void write_stacks(struct dump *d)
{
	uint32_t seed = d->k->noise;

	for (size_t t = 0; t < d->k->nthrs; t++) {
		uint8_t buf[1024];
		uint32_t size;

		memset(buf, 0, sizeof(buf));
		d->stack_va[t] = d->k->stack_base + 0x100000 * (uint64_t)t;
		if (d->k->arch == X86)
			size = layout_x86(d, t, buf, &seed);
		else
			size = layout_amd64(d, t, buf, &seed);
		d->ip[t] = addr_of(d->k, d->k->thrs[t].ip);
		outbuf_align(&d->o, 4);
		d->stack_rva[t] = outbuf_reserve(&d->o, size);
		d->stack_size[t] = size;
		memcpy(d->o.p + d->stack_rva[t], buf, size);
	}
}

/* ---- contexts ------------------------------------------------------------ */

static uint32_t put_context_x86(struct dump *d, uint64_t ip, uint64_t sp,
				uint64_t fp, uint32_t *seed)
{
	struct outbuf *o = &d->o;

	outbuf_align(o, 4);
	uint32_t at = outbuf_reserve(o, 716);

	outbuf_set32(o, at, 0x0001003F); /* CONTEXT_i386 | CONTEXT_ALL */
	outbuf_set32(o, at + 0x8C, 0x2B);  /* gs */
	outbuf_set32(o, at + 0x90, 0x53);  /* fs */
	outbuf_set32(o, at + 0x94, 0x2B);  /* es */
	outbuf_set32(o, at + 0x98, 0x2B);  /* ds */
	for (uint32_t r = 0x9C; r <= 0xB0; r += 4) /* edi..eax */
		outbuf_set32(o, at + r, next_noise(seed));
	outbuf_set32(o, at + 0xB4, (uint32_t)fp);
	outbuf_set32(o, at + 0xB8, (uint32_t)ip);
	outbuf_set32(o, at + 0xBC, 0x23);  /* cs */
	outbuf_set32(o, at + 0xC0, 0x10246);
	outbuf_set32(o, at + 0xC4, (uint32_t)sp);
	outbuf_set32(o, at + 0xC8, 0x2B);  /* ss */
	outbuf_set32(o, at + 0xCC + 0x18, 0x1F80); /* MXCSR in the FXSAVE image */
	return at;
}

static uint32_t put_context_amd64(struct dump *d, uint64_t ip, uint64_t sp,
				  uint64_t fp, uint32_t *seed)
{
	struct outbuf *o = &d->o;

	outbuf_align(o, 4);
	while (o->len % 16)
		outbuf_reserve(o, 1);
	uint32_t at = outbuf_reserve(o, 1232);

	outbuf_set32(o, at + 0x30, 0x0010001F); /* CONTEXT_AMD64 | CONTEXT_ALL */
	outbuf_set32(o, at + 0x34, 0x1F80);
	outbuf_set16(o, at + 0x38, 0x33);
	outbuf_set16(o, at + 0x3A, 0x2B);
	outbuf_set16(o, at + 0x3C, 0x2B);
	outbuf_set16(o, at + 0x3E, 0x53);
	outbuf_set16(o, at + 0x40, 0x2B);
	outbuf_set16(o, at + 0x42, 0x2B);
	outbuf_set32(o, at + 0x44, 0x10246);
	for (uint32_t r = 0x78; r <= 0xF0; r += 8) /* rax..r15 */
		outbuf_set64(o, at + r, next_noise(seed));
	outbuf_set64(o, at + 0x98, sp);
	outbuf_set64(o, at + 0xA0, fp);
	outbuf_set64(o, at + 0xF8, ip);
	outbuf_set32(o, at + 0x100 + 0x18, 0x1F80); /* MxCsr copy in FltSave */
	return at;
}

static uint32_t put_context(struct dump *d, uint64_t ip, uint64_t sp,
			    uint64_t fp, uint32_t *seed, uint32_t *size)
{
	if (d->k->arch == X86) {
		*size = 716;
		return put_context_x86(d, ip, sp, fp, seed);
	}
	*size = 1232;
	return put_context_amd64(d, ip, sp, fp, seed);
}

/*
 * Thread list. The crashed thread's own context is the state inside the
 * exception dispatcher (in ntdll, lower on the stack); the context at the
 * fault goes with the exception stream.
 */
static void write_thread_list(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = d->k->nthrs;
	uint32_t seed = d->k->noise * 7 + 1;
	uint32_t at = begin_stream(d, 3, 4 + 48 * n);

	outbuf_set32(o, at, (uint32_t)n);
	for (size_t t = 0; t < n; t++) {
		const struct thr *th = &d->k->thrs[t];
		uint32_t e = at + 4 + 48 * (uint32_t)t;
		uint64_t ip = d->ip[t], sp = d->sp[t], fp = d->fp[t];
		uint32_t size;

		if (th->crashed) {
			ip = addr_of(d->k, (struct addr){ NTDLL, 0x74A2C });
			sp = d->stack_va[t] + 0x08;
			fp = d->stack_va[t] + 0x10;
		}
		outbuf_set32(o, e, th->id);
		outbuf_set32(o, e + 8, 0x20);     /* NORMAL_PRIORITY_CLASS */
		outbuf_set64(o, e + 0x10, 0x7FFD0000 + 0x3000 * (uint64_t)t); /* TEB */
		outbuf_set64(o, e + 0x18, d->stack_va[t]);
		outbuf_set32(o, e + 0x20, d->stack_size[t]);
		outbuf_set32(o, e + 0x24, d->stack_rva[t]);
		uint32_t ctx = put_context(d, ip, sp, fp, &seed, &size);

		outbuf_set32(o, e + 0x28, size);
		outbuf_set32(o, e + 0x2C, ctx);
		if (th->crashed)
			d->exc_ctx_rva = put_context(d, d->ip[t], d->sp[t],
						     d->fp[t], &seed,
						     &d->exc_ctx_size);
	}
}

/* The stacks again as a MemoryList (as dbghelp writes them). */
static void write_memory_list(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = d->k->nthrs;
	uint32_t at = begin_stream(d, 5, 4 + 16 * n);

	outbuf_set32(o, at, (uint32_t)n);
	for (size_t t = 0; t < n; t++) {
		uint32_t e = at + 4 + 16 * (uint32_t)t;

		outbuf_set64(o, e, d->stack_va[t]);
		outbuf_set32(o, e + 8, d->stack_size[t]);
		outbuf_set32(o, e + 12, d->stack_rva[t]);
	}
}

static void write_exception(struct dump *d)
{
	struct outbuf *o = &d->o;
	const struct exc *x = &d->k->exc;
	size_t t = 0;

	while (t < d->k->nthrs && !d->k->thrs[t].crashed)
		t++;
	uint32_t at = begin_stream(d, 6, 168);

	outbuf_set32(o, at, d->k->thrs[t].id);
	outbuf_set32(o, at + 8, x->code);
	outbuf_set32(o, at + 12, x->code == 0xC0000409 ? 1 : 0); /* NONCONTINUABLE */
	outbuf_set64(o, at + 0x18, d->ip[t]);
	outbuf_set32(o, at + 0x20, x->nparams);
	for (uint32_t i = 0; i < x->nparams && i < 3; i++)
		outbuf_set64(o, at + 0x28 + 8 * i, x->info[i]);
	outbuf_set32(o, at + 0xA0, d->exc_ctx_size);
	outbuf_set32(o, at + 0xA4, d->exc_ctx_rva);
}

static void write_thread_names(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = 0;

	for (size_t t = 0; t < d->k->nthrs; t++)
		n += d->k->thrs[t].name != NULL;
	uint32_t at = begin_stream(d, 24, 4 + 12 * n), k = 0;

	outbuf_set32(o, at, (uint32_t)n);
	for (size_t t = 0; t < d->k->nthrs; t++) {
		if (d->k->thrs[t].name == NULL)
			continue;
		uint32_t e = at + 4 + 12 * k++;

		outbuf_set32(o, e, d->k->thrs[t].id);
		outbuf_set64(o, e + 4, put_string(o, d->k->thrs[t].name));
	}
}

static void write_handles(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = 0;

	for (size_t i = 0; i < d->k->nhandles; i++)
		n += d->k->handles[i].count;
	uint32_t at = begin_stream(d, 12, 16 + 32 * n), k = 0;

	outbuf_set32(o, at, 16);
	outbuf_set32(o, at + 4, 32);
	outbuf_set32(o, at + 8, (uint32_t)n);
	for (size_t i = 0; i < d->k->nhandles; i++) {
		const struct handle *h = &d->k->handles[i];
		uint32_t type = put_string(o, h->type);
		uint32_t name = h->name != NULL ? put_string(o, h->name) : 0;

		for (unsigned c = 0; c < h->count; c++, k++) {
			uint32_t e = at + 16 + 32 * k;

			outbuf_set64(o, e, 0x40 + 4 * (uint64_t)k);
			outbuf_set32(o, e + 8, type);
			outbuf_set32(o, e + 12, name);
			outbuf_set32(o, e + 20, 0x001F0003);
			outbuf_set32(o, e + 24, 1);
			outbuf_set32(o, e + 28, 2);
		}
	}
}

/* ---- --extra: the descriptive streams ------------------------------------ */

#define EXTRA_STREAMS 11

/* One entry per thread, and one for a thread the list lacks. */
static void write_thread_info(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = d->k->nthrs + 1;
	uint32_t at = begin_stream(d, 17, 12 + 64 * n);

	outbuf_set32(o, at, 12);
	outbuf_set32(o, at + 4, 64);
	outbuf_set32(o, at + 8, (uint32_t)n);
	for (size_t t = 0; t < n; t++) {
		uint32_t e = at + 12 + 64 * (uint32_t)t;
		bool gone = t == d->k->nthrs;

		outbuf_set32(o, e, gone ? 0xDEAD : d->k->thrs[t].id);
		outbuf_set32(o, e + 4, gone ? 0x04 : 0);  /* EXITED_THREAD */
		outbuf_set32(o, e + 0x0C, gone ? 0 : 0x103); /* STILL_ACTIVE */
		/* FILETIME of the process start plus T seconds */
		outbuf_set64(o, e + 0x10,
			     ((uint64_t)d->k->create_time + 11644473600u + t) *
				     10000000u);
		outbuf_set64(o, e + 0x20, 1000 * (uint64_t)(t + 1));
		outbuf_set64(o, e + 0x28, 2000 * (uint64_t)(t + 1));
		outbuf_set64(o, e + 0x30, d->k->mods[0].base + 0x1000);
		outbuf_set64(o, e + 0x38, 1ull << t);
	}
}

static void put_region(struct outbuf *o, uint32_t e, uint64_t base,
		       uint64_t size, uint32_t state, uint32_t protect,
		       uint32_t type)
{
	outbuf_set64(o, e, base);
	outbuf_set64(o, e + 8, state == 0x10000 ? 0 : base);
	outbuf_set32(o, e + 0x10, protect);
	outbuf_set64(o, e + 0x18, size);
	outbuf_set32(o, e + 0x20, state);
	outbuf_set32(o, e + 0x24, protect);
	outbuf_set32(o, e + 0x28, type);
}

/*
 * The first 64 KB free, each module an image (execute-read), each stack
 * private read-write: enough to place the crash address and instruction.
 */
static void write_memory_info(struct dump *d)
{
	struct outbuf *o = &d->o;
	size_t n = 1 + d->k->nmods + d->k->nthrs, k = 0;
	uint32_t at = begin_stream(d, 16, 16 + 48 * n);

	outbuf_set32(o, at, 16);
	outbuf_set32(o, at + 4, 48);
	outbuf_set64(o, at + 8, n);
	put_region(o, at + 16, 0, 0x10000, 0x10000, 0x01, 0);
	for (size_t i = 0; i < d->k->nmods; i++)
		put_region(o, at + 16 + 48 * (uint32_t)++k, d->k->mods[i].base,
			   d->k->mods[i].size, 0x1000, 0x20, 0x1000000);
	for (size_t t = 0; t < d->k->nthrs; t++)
		put_region(o, at + 16 + 48 * (uint32_t)++k, d->stack_va[t],
			   0x100000, 0x1000, 0x04, 0x20000);
}

/* Three opaque Application Verifier records of 32 bytes. */
static void write_handle_ops(struct dump *d)
{
	uint32_t at = begin_stream(d, 18, 16 + 3 * 32);

	outbuf_set32(&d->o, at, 16);
	outbuf_set32(&d->o, at + 4, 32);
	outbuf_set32(&d->o, at + 8, 3);
}

/* Two tokens of 16-byte headers plus 8 and 24 bytes of data. */
static void write_tokens(struct dump *d)
{
	struct outbuf *o = &d->o;
	uint32_t at = begin_stream(d, 19, 16 + 24 + 40);

	outbuf_set32(o, at, 16 + 24 + 40);
	outbuf_set32(o, at + 4, 2);
	outbuf_set32(o, at + 8, 16);
	outbuf_set32(o, at + 12, 16);
	outbuf_set32(o, at + 16, 24);
	outbuf_set32(o, at + 20, d->k->pid);
	outbuf_set64(o, at + 24, 0x4C);
	outbuf_set32(o, at + 40, 40);
	outbuf_set32(o, at + 44, d->k->thrs[0].id);
	outbuf_set64(o, at + 48, 0x50);
}

/* A counted list of N entries of ESIZE zero bytes; its location. */
static void put_list(struct outbuf *o, uint32_t loc, uint32_t n,
		     uint32_t esize)
{
	outbuf_align(o, 4);
	uint32_t at = outbuf_reserve(o, 4 + n * esize);

	outbuf_set32(o, at, n);
	outbuf_set32(o, loc, 4 + n * esize);
	outbuf_set32(o, loc + 4, at);
}

/*
 * CrashpadInfo: two process annotations; one module with one list
 * annotation, two simple ones and three annotation objects.
 */
static void write_crashpad(struct dump *d)
{
	struct outbuf *o = &d->o;
	uint32_t at = begin_stream(d, 0x43500001, 0x34);

	outbuf_set32(o, at, 1);
	for (uint32_t i = 0; i < 16; i++) {
		o->p[at + 4 + i] = (uint8_t)(0x10 + i);
		o->p[at + 0x14 + i] = (uint8_t)(0xA0 + i);
	}
	put_list(o, at + 0x24, 2, 8);
	outbuf_align(o, 4);
	uint32_t links = outbuf_reserve(o, 4 + 12);
	uint32_t mod = outbuf_reserve(o, 28);

	outbuf_set32(o, at + 0x2C, 4 + 12);
	outbuf_set32(o, at + 0x30, links);
	outbuf_set32(o, links, 1);
	outbuf_set32(o, links + 4, 0);
	outbuf_set32(o, links + 8, 28);
	outbuf_set32(o, links + 12, mod);
	outbuf_set32(o, mod, 1);
	put_list(o, mod + 4, 1, 4);
	put_list(o, mod + 12, 2, 8);
	put_list(o, mod + 20, 3, 12);
}

/* A Breakpad text stream TYPE holding the N bytes of TEXT. */
static void put_text(struct dump *d, uint32_t type, const char *text,
		     size_t n)
{
	uint32_t at = begin_stream(d, type, n);

	memcpy(d->o.p + at, text, n);
}

static const char linux_cpuinfo[] =
	"processor\t: 0\nvendor_id\t: GenuineIntel\n\n"
	"processor\t: 1\nvendor_id\t: GenuineIntel\n";
static const char linux_cmdline[] = "/opt/acme/acmeapp\0--safe-mode\0";
static const char linux_environ[] = "HOME=/root\0LANG=C\0TERM=xterm\0";
static const char linux_maps[] =
	"00400000-00425000 r-xp 00000000 08:01 1234 /opt/acme/acmeapp\n"
	"00625000-00626000 rw-p 00025000 08:01 1234 /opt/acme/acmeapp\n"
	"7f0000000000-7f0000100000 r-xp 00000000 08:01 99 "
	"/lib/libacme core.so\n"
	"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n"
	"7ffd00000000-7ffd00001000 rw-p 00000000 00:00 0\n";

static void write_linux(struct dump *d)
{
	uint32_t at;

	put_text(d, 0x47670003, linux_cpuinfo, sizeof(linux_cpuinfo) - 1);
	put_text(d, 0x47670006, linux_cmdline, sizeof(linux_cmdline) - 1);
	put_text(d, 0x47670007, linux_environ, sizeof(linux_environ) - 1);
	at = begin_stream(d, 0x47670008, 5 * 16); /* 5 auxv pairs */
	for (uint32_t i = 0; i < 5; i++)
		outbuf_set64(&d->o, at + 16 * i, i == 4 ? 0 : 3 + i);
	put_text(d, 0x47670009, linux_maps, sizeof(linux_maps) - 1);
	at = begin_stream(d, 0x4767000A, 40);
	outbuf_set32(&d->o, at, 1);
	outbuf_set32(&d->o, at + 8, 3);
}

static void write_extra(struct dump *d)
{
	write_thread_info(d);
	write_memory_info(d);
	write_handle_ops(d);
	write_tokens(d);
	write_crashpad(d);
	write_linux(d);
}

/* ---- the whole file ------------------------------------------------------ */

static bool has_names(const struct kind *k)
{
	for (size_t t = 0; t < k->nthrs; t++)
		if (k->thrs[t].name != NULL)
			return true;
	return false;
}

static void write_dump(struct dump *d)
{
	struct outbuf *o = &d->o;
	/* SystemInfo, MiscInfo, ModuleList, ThreadList, MemoryList,
	 * Exception and one unused entry, plus the optional ones. */
	uint32_t nstreams = 7 + (d->k->nhandles > 0) +
			    (d->k->nunloaded > 0) + has_names(d->k) +
			    (d->extra ? EXTRA_STREAMS : 0);
	outbuf_reserve(o, 32);
	memcpy(o->p, "MDMP", 4);
	outbuf_set32(o, 4, 0xA793 | (0x0A05u << 16));
	outbuf_set32(o, 8, nstreams);
	outbuf_set32(o, 12, 32);
	outbuf_set32(o, 20, d->k->stamp);
	outbuf_set64(o, 24, 0x0000000000000021ull); /* DataSegs | UnloadedModules */
	d->dir_at = outbuf_reserve(o, 12 * nstreams);

	write_system_info(d);
	write_misc_info(d);
	write_module_list(d);
	if (d->k->nunloaded > 0)
		write_unloaded_list(d);
	write_stacks(d);
	write_thread_list(d);
	if (has_names(d->k))
		write_thread_names(d);
	write_memory_list(d);
	write_exception(d);
	if (d->k->nhandles > 0)
		write_handles(d);
	if (d->extra)
		write_extra(d);
	uint32_t e = d->dir_at + 12 * d->ndir++;

	outbuf_align(o, 4);
	uint32_t at = outbuf_reserve(o, 0);

	outbuf_set32(o, e, 0); /* UnusedStream padding entry, as dbghelp leaves */
	outbuf_set32(o, e + 4, 0);
	outbuf_set32(o, e + 8, at);
	if (d->ndir != nstreams) {
		fprintf(stderr,
			"mkminidump: internal error: %u of %u streams\n",
			d->ndir, nstreams);
		exit(3);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mkminidump [--extra] --kind NAME OUT.dmp\n"
		   "Writes a small deterministic Windows minidump.\n"
		   "--extra adds ThreadInfoList, MemoryInfoList, "
		   "HandleOperationList,\nToken, CrashpadInfo and the Linux "
		   "streams.\n\n"
		   "kinds:\n");
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		fprintf(f, "  %-28s %s\n", kinds[i].name, kinds[i].help);
}

int main(int argc, char **argv)
{
	const char *kind = NULL, *path = NULL;
	bool extra = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--extra") == 0) {
			extra = true;
		} else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc) {
			kind = argv[++i];
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (kind == NULL || path == NULL) {
		usage(stderr);
		return 2;
	}
	const struct kind *k = NULL;

	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i].name, kind) == 0)
			k = &kinds[i];
	if (k == NULL) {
		fprintf(stderr, "mkminidump: unknown kind \"%s\"\n", kind);
		usage(stderr);
		return 2;
	}
	struct dump d;

	memset(&d, 0, sizeof(d));
	d.k = k;
	d.extra = extra;
	write_dump(&d);

	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(d.o.p, 1, d.o.len, f) != d.o.len ||
	    fclose(f) != 0) {
		perror(path);
		free(d.o.p);
		return 3;
	}
	free(d.o.p);
	return 0;
}
