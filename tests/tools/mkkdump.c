/*
 * mkkdump - write small, valid, deterministic Windows kernel small memory
 * dumps (64-bit triage dumps, "Mini*.dmp").
 *
 *   mkkdump --kind NAME OUT.dmp
 *   mkkdump --help            (lists the kinds)
 *
 * Every dump is made from a table below: the 8 KiB DUMP_HEADER64
 * ("PAGEDU64", DumpType 4, the rest of the header left at the kernel's
 * "PAGE" fill), then the TRIAGE_DUMP64 header and its parts: the AMD64
 * CONTEXT of the crashing processor (also copied into the main header),
 * an EXCEPTION_RECORD64, a copy of the current EPROCESS holding only its
 * ImageFileName, the call-stack bytes from the stack pointer (return
 * addresses inside the listed drivers between noise words), the driver
 * list (DUMP_DRIVER_ENTRY with a KLDR_DATA_TABLE_ENTRY64, stride 0xA8),
 * the string pool and the "TRGD" validity marker in the last 4 bytes.
 * The output depends only on the kind: no clock, no randomness. Layouts
 * follow docs/formats.md sections 2.1-2.5 and 2.10.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbuf.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- what a dump holds --------------------------------------------------- */

struct drv {
	const char *path;   /* NT path as the loader records it */
	uint64_t base;
	uint32_t size;
	uint32_t stamp;     /* PE TimeDateStamp */
};

/* An address as driver index + offset. */
struct addr {
	int drv;
	uint32_t off;
};

#define MAX_DRV 8
#define MAX_RET 10

struct kind {
	const char *name;
	const char *about;
	uint32_t build;
	uint32_t nproc;
	uint32_t bugcheck;
	uint64_t param[4];
	uint64_t filetime;      /* SystemTime, FILETIME UTC */
	uint64_t uptime;        /* SystemUpTime, 100 ns */
	struct drv drv[MAX_DRV];
	struct addr ip;         /* context RIP */
	uint64_t rsp;           /* context RSP = first call-stack byte */
	struct addr ret[MAX_RET]; /* return addresses, innermost first */
	uint32_t seed;          /* noise between the return addresses */
	const char *process;    /* EPROCESS.ImageFileName */
};

/* Drivers shared by the kinds (made-up bases and stamps, real layout). */
#define NT { "\\SystemRoot\\system32\\ntoskrnl.exe", \
	     UINT64_C(0xfffff80312a00000), 0x1046000, 0x5e2d1a4c }
#define HAL { "\\SystemRoot\\system32\\hal.dll", \
	      UINT64_C(0xfffff80312400000), 0x6000, 0x7c1f5a05 }
#define NDIS { "\\SystemRoot\\System32\\drivers\\ndis.sys", \
	       UINT64_C(0xfffff8031a200000), 0x137000, 0x3b6d0e91 }
#define WDF { "\\SystemRoot\\system32\\drivers\\Wdf01000.sys", \
	      UINT64_C(0xfffff80319e00000), 0xd8000, 0x6a1bc2f4 }

/* 2024-03-05 14:22:09 UTC and 2024-03-19 08:03:51 UTC as FILETIME. */
#define FT_0305 UINT64_C(133541221290000000)
#define FT_0319 UINT64_C(133553090310000000)
/* 2024-04-02 21:47:30 UTC */
#define FT_0402 UINT64_C(133565680500000000)

static const struct kind kinds[] = {
	{
		"d1-acmenet",
		"0xD1 DRIVER_IRQL_NOT_LESS_OR_EQUAL in acmenet.sys "
		"(nt, hal, ndis, acmenet)",
		19041, 4, 0xD1,
		{ UINT64_C(0xffffc08a1b2c3d48), 2, 0,
		  UINT64_C(0xfffff8031c601d4b) },
		FT_0305, UINT64_C(36123400000),
		{ NT, HAL, NDIS,
		  { "\\SystemRoot\\System32\\drivers\\acmenet.sys",
		    UINT64_C(0xfffff8031c600000), 0x2c000, 0x65a3b7d2 } },
		{ 3, 0x1d4b },
		UINT64_C(0xfffff8031f45e8c8),
		{ { 3, 0x1a10 }, { 3, 0x2e37 }, { 2, 0x5c8e1 },
		  { 2, 0x1b3c0 }, { 0, 0x3f9a12 }, { 0, 0x41c2b0 } },
		0x1d1,
		"System",
	},
	{
		"d1-acmenet-again",
		"the d1-acmenet crash again: other time, parameters and "
		"stack address, same frames (same signature)",
		19041, 4, 0xD1,
		{ UINT64_C(0xffffc08a1e907a10), 2, 0,
		  UINT64_C(0xfffff8031c601d4b) },
		FT_0319, UINT64_C(4815500000),
		{ NT, HAL, NDIS,
		  { "\\SystemRoot\\System32\\drivers\\acmenet.sys",
		    UINT64_C(0xfffff8031c600000), 0x2c000, 0x65a3b7d2 } },
		{ 3, 0x1d4b },
		UINT64_C(0xfffff8031f4a6a38),
		{ { 3, 0x1a10 }, { 3, 0x2e37 }, { 2, 0x5c8e1 },
		  { 2, 0x1b3c0 }, { 0, 0x3f9a12 }, { 0, 0x41c2b0 } },
		0x2d1,
		"System",
	},
	{
		"9f-acmeusb",
		"0x9F DRIVER_POWER_STATE_FAILURE, an IRP held by acmeusb.sys "
		"(nt, hal, Wdf01000, acmeusb)",
		22621, 8, 0x9F,
		{ 3, UINT64_C(0xffffb70c3a5e2060),
		  UINT64_C(0xfffff80316e77850),
		  UINT64_C(0xffffb70c3f1d6a20) },
		FT_0402, UINT64_C(1729900000000),
		{ NT, HAL, WDF,
		  { "\\SystemRoot\\System32\\drivers\\acmeusb.sys",
		    UINT64_C(0xfffff8031d800000), 0x41000, 0x64f0c3e8 } },
		{ 0, 0x3f7c90 },
		UINT64_C(0xfffff80316e77718),
		{ { 0, 0x2b4e21 }, { 0, 0x2b1a07 }, { 3, 0x8c52 },
		  { 2, 0x1f4b3 }, { 0, 0x23ea51 }, { 0, 0x41c2b0 } },
		0x9f,
		"System",
	},
};

/* ---- layout constants (formats.md 2.3, 2.10, 1.24) ----------------------- */

#define HDR_SIZE 0x2000u
#define TRIAGE_SIZE 0x80u
#define CONTEXT_SIZE 1232u
#define EXCEPTION_SIZE 152u
#define EPROCESS_SIZE 0x600u
#define IMAGE_NAME_OFF 0x5A8u /* x64 builds 19041-22631 */
#define DRV_STRIDE 0xA8u
#define STACK_SIZE 0x200u
#define PAGE_FILL 0x45474150u
#define MINIDUMP_FIELDS 0x006Bu /* CONTEXT EXCEPTION PROCESS STACK DRIVER_LIST */

static uint32_t next_noise(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t nret_of(const struct kind *k)
{
	size_t n = 0;

	while (n < MAX_RET && k->ret[n].off != 0)
		n++;
	return n;
}

static size_t ndrv_of(const struct kind *k)
{
	size_t n = 0;

	while (n < MAX_DRV && k->drv[n].path != NULL)
		n++;
	return n;
}

static uint64_t addr_of(const struct kind *k, struct addr a)
{
	return k->drv[a.drv].base + a.off;
}

/* True when V falls inside a listed driver. */
static bool in_driver(const struct kind *k, uint64_t v)
{
	for (size_t i = 0; i < ndrv_of(k); i++)
		if (v >= k->drv[i].base && v - k->drv[i].base < k->drv[i].size)
			return true;
	return false;
}

/* A stack word that is no return address: pool pointers and small ints. */
static uint64_t stack_noise(const struct kind *k, uint32_t *seed)
{
	for (;;) {
		uint32_t r = next_noise(seed);
		uint64_t v = r % 3 == 0 ? (uint64_t)(r & 0xFF)
			     : r % 3 == 1
				     ? UINT64_C(0xffffc08a00000000) |
					       ((uint64_t)r << 4)
				     : UINT64_C(0xfffff8031f400000) +
					       ((uint64_t)(r & 0xFFFF) << 3);

		if (!in_driver(k, v))
			return v;
	}
}

/* ---- parts --------------------------------------------------------------- */

/* The AMD64 CONTEXT (1.24) at AT. */
static void put_context(struct outbuf *o, size_t at, const struct kind *k)
{
	uint32_t seed = k->seed ^ 0xC0u;

	outbuf_set32(o, at + 0x30, 0x0010000B); /* CONTEXT_FULL (AMD64) */
	outbuf_set32(o, at + 0x34, 0x1F80);     /* MxCsr */
	outbuf_set16(o, at + 0x38, 0x10);       /* SegCs */
	outbuf_set16(o, at + 0x3A, 0x2B);
	outbuf_set16(o, at + 0x3C, 0x2B);
	outbuf_set16(o, at + 0x3E, 0x53);
	outbuf_set16(o, at + 0x40, 0x2B);
	outbuf_set16(o, at + 0x42, 0x18);       /* SegSs */
	outbuf_set32(o, at + 0x44, 0x00040282); /* EFlags */
	for (size_t r = 0x78; r < 0x98; r += 8) /* Rax..Rbx */
		outbuf_set64(o, at + r, stack_noise(k, &seed));
	outbuf_set64(o, at + 0x98, k->rsp);
	outbuf_set64(o, at + 0xA0, k->rsp + 0x80); /* Rbp */
	for (size_t r = 0xA8; r < 0xF8; r += 8) /* Rsi..R15 */
		outbuf_set64(o, at + r, stack_noise(k, &seed));
	outbuf_set64(o, at + 0xF8, addr_of(k, k->ip));
	outbuf_set16(o, at + 0x100, 0x027F); /* FltSave.ControlWord */
	outbuf_set32(o, at + 0x118, 0x1F80); /* FltSave.MxCsr */
}

/* EXCEPTION_RECORD64 for the bugcheck: the code and the faulting IP. */
static void put_exception(struct outbuf *o, size_t at, const struct kind *k)
{
	outbuf_set32(o, at, k->bugcheck == 0xD1 ? 0xC0000005u : 0x80000003u);
	outbuf_set64(o, at + 0x10, addr_of(k, k->ip));
}

static uint32_t put_stack(struct outbuf *o, const struct kind *k)
{
	uint32_t at = outbuf_reserve(o, STACK_SIZE);
	uint32_t seed = k->seed;
	size_t nret = nret_of(k), slot = 0;

	/* Return addresses at every third word from RSP+0x18, noise between. */
	for (size_t w = 0; w < STACK_SIZE / 8; w++) {
		uint64_t v;

		if (w % 3 == 2 && slot < nret)
			v = addr_of(k, k->ret[slot++]);
		else
			v = stack_noise(k, &seed);
		outbuf_set64(o, at + 8 * w, v);
	}
	return at;
}

/* The string pool: one DUMP_STRING per driver, 8-aligned; offsets out. */
static uint32_t put_pool(struct outbuf *o, const struct kind *k, uint32_t *name)
{
	uint32_t start = (uint32_t)o->len;

	for (size_t i = 0; i < ndrv_of(k); i++) {
		const char *s = k->drv[i].path;
		size_t n = strlen(s);
		uint32_t at = outbuf_reserve(o, 4 + 2 * n + 2);

		outbuf_set32(o, at, (uint32_t)n); /* UTF-16 units */
		for (size_t c = 0; c < n; c++)
			outbuf_set16(o, at + 4 + 2 * c, (uint8_t)s[c]);
		outbuf_align(o, 8);
		name[i] = at;
	}
	return (uint32_t)o->len - start;
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '\\');

	return b != NULL ? b + 1 : path;
}

/* DUMP_DRIVER_ENTRY64: name offset, pad, KLDR_DATA_TABLE_ENTRY64 (2.14). */
static void put_driver(struct outbuf *o, size_t at, const struct kind *k,
		       size_t i, uint32_t name)
{
	const struct drv *d = &k->drv[i];
	uint64_t links = UINT64_C(0xffffc08a10000000) + 0xA0 * (uint64_t)i;
	uint64_t strings = UINT64_C(0xffffc08a10100000) + 0x100 * (uint64_t)i;
	size_t full = strlen(d->path), base = strlen(base_name(d->path));
	size_t e = at + 8;

	outbuf_set32(o, at, name);
	outbuf_set64(o, e + 0x00, links + 0xA0);        /* InLoadOrderLinks */
	outbuf_set64(o, e + 0x08, links - 0xA0);
	outbuf_set64(o, e + 0x30, d->base);             /* DllBase */
	outbuf_set64(o, e + 0x38, d->base + 0x1000 + (d->size / 4 & ~0xFFFu));
	outbuf_set32(o, e + 0x40, d->size);             /* SizeOfImage */
	outbuf_set16(o, e + 0x48, (uint16_t)(2 * full)); /* FullDllName */
	outbuf_set16(o, e + 0x4A, (uint16_t)(2 * full + 2));
	outbuf_set64(o, e + 0x50, strings);
	outbuf_set16(o, e + 0x58, (uint16_t)(2 * base)); /* BaseDllName */
	outbuf_set16(o, e + 0x5A, (uint16_t)(2 * base + 2));
	outbuf_set64(o, e + 0x60, strings + 2 * (full - base));
	outbuf_set32(o, e + 0x68, 0x49104000);          /* Flags */
	outbuf_set16(o, e + 0x6C, 1);                   /* LoadCount */
	outbuf_set32(o, e + 0x9C, d->stamp);            /* TimeDateStamp */
}

/* ---- the dump ------------------------------------------------------------ */

static void write_header(struct outbuf *o, const struct kind *k)
{
	const struct drv *nt = &k->drv[0];

	for (size_t at = 0; at < HDR_SIZE; at += 4)
		outbuf_set32(o, at, PAGE_FILL);
	memcpy(o->p, "PAGEDU64", 8);
	outbuf_set32(o, 0x0008, 0x0F);                 /* MajorVersion: free build */
	outbuf_set32(o, 0x000C, k->build);             /* MinorVersion */
	outbuf_set64(o, 0x0010, 0x1AD000);             /* DirectoryTableBase */
	outbuf_set64(o, 0x0018, UINT64_C(0xffffc80000000000)); /* PfnDataBase */
	outbuf_set64(o, 0x0020, nt->base + 0xC2A2D0);  /* PsLoadedModuleList */
	outbuf_set64(o, 0x0028, nt->base + 0xC1E3B0);  /* PsActiveProcessHead */
	outbuf_set32(o, 0x0030, 0x8664);               /* MachineImageType */
	outbuf_set32(o, 0x0034, k->nproc);
	outbuf_set32(o, 0x0038, k->bugcheck);
	outbuf_set32(o, 0x003C, 0);
	for (int i = 0; i < 4; i++)
		outbuf_set64(o, 0x0040 + 8 * (size_t)i, k->param[i]);
	outbuf_set64(o, 0x0080, nt->base + 0xC00B20);  /* KdDebuggerDataBlock */
	memset(o->p + 0x0348, 0, 3000);
	put_context(o, 0x0348, k);
	memset(o->p + 0x0F00, 0, EXCEPTION_SIZE);
	put_exception(o, 0x0F00, k);
	outbuf_set32(o, 0x0F98, 4);                    /* DumpType: triage */
	outbuf_set32(o, 0x0F9C, 0);
	outbuf_set64(o, 0x0FA8, k->filetime);          /* SystemTime */
	outbuf_set64(o, 0x1030, k->uptime);            /* SystemUpTime */
	outbuf_set32(o, 0x1038, MINIDUMP_FIELDS);
	outbuf_set32(o, 0x103C, 0);                    /* SecondaryDataState */
	outbuf_set32(o, 0x1040, 1);                    /* ProductType: WinNt */
	outbuf_set32(o, 0x1044, 0x110);                /* SuiteMask */
}

static void write_dump(struct outbuf *o, const struct kind *k)
{
	uint32_t name[MAX_DRV];
	size_t ndrv = ndrv_of(k);

	outbuf_reserve(o, HDR_SIZE);
	write_header(o, k);
	uint32_t tri = outbuf_reserve(o, TRIAGE_SIZE);
	uint32_t ctx = outbuf_reserve(o, CONTEXT_SIZE);

	put_context(o, ctx, k);
	uint32_t exc = outbuf_reserve(o, EXCEPTION_SIZE);

	put_exception(o, exc, k);
	outbuf_align(o, 16);
	uint32_t proc = outbuf_reserve(o, EPROCESS_SIZE);

	memcpy(o->p + proc + IMAGE_NAME_OFF, k->process, strlen(k->process));
	uint32_t stack = put_stack(o, k);
	uint32_t list = outbuf_reserve(o, DRV_STRIDE * ndrv);
	uint32_t pool = (uint32_t)o->len;
	uint32_t pool_size = put_pool(o, k, name);

	for (size_t i = 0; i < ndrv; i++)
		put_driver(o, list + DRV_STRIDE * i, k, i, name[i]);
	uint32_t valid = outbuf_reserve(o, 4);

	memcpy(o->p + valid, "TRGD", 4);
	outbuf_set64(o, 0x0FA0, o->len); /* RequiredDumpSpace */

	outbuf_set32(o, tri + 0x00, 0);                /* ServicePackBuild */
	outbuf_set32(o, tri + 0x04, (uint32_t)o->len); /* SizeOfDump */
	outbuf_set32(o, tri + 0x08, valid);
	outbuf_set32(o, tri + 0x0C, ctx);
	outbuf_set32(o, tri + 0x10, exc);
	outbuf_set32(o, tri + 0x20, proc);
	outbuf_set32(o, tri + 0x28, stack);
	outbuf_set32(o, tri + 0x2C, STACK_SIZE);
	outbuf_set32(o, tri + 0x30, list);
	outbuf_set32(o, tri + 0x34, (uint32_t)ndrv);
	outbuf_set32(o, tri + 0x38, pool);
	outbuf_set32(o, tri + 0x3C, pool_size);
	outbuf_set32(o, tri + 0x44, 0);                /* TriageOptions */
	outbuf_set64(o, tri + 0x48, k->rsp);           /* TopOfStack */
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: mkkdump --kind NAME OUT.dmp\n"
		   "       mkkdump --help\n"
		   "Writes a small 64-bit kernel triage dump (PAGEDU64).\n"
		   "kinds:\n");
	for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
		fprintf(f, "  %-18s %s\n", kinds[i].name, kinds[i].about);
}

int main(int argc, char **argv)
{
	const char *kind = NULL, *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
			kind = argv[++i];
		else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else {
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
		fprintf(stderr, "mkkdump: unknown kind \"%s\"\n", kind);
		usage(stderr);
		return 2;
	}
	struct outbuf o = { NULL, 0, 0 };

	write_dump(&o, k);
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		perror(path);
		free(o.p);
		return 1;
	}
	size_t n = fwrite(o.p, 1, o.len, f);
	int rc = fclose(f);

	free(o.p);
	if (n != o.len || rc != 0) {
		fprintf(stderr, "mkkdump: cannot write %s\n", path);
		return 1;
	}
	return 0;
}
