/*
 * mkkfull - write deterministic Windows kernel memory dumps: full dumps
 * (DumpType 1, PHYSICAL_MEMORY_DESCRIPTOR runs) and bitmap dumps
 * (DumpType 5, "FDMP" complete or "SDMP" kernel) and summary dumps
 * (DumpType 2, the SUMMARY_DUMP layout of formats.md 2.7, unconfirmed
 * there), 64-bit (x64) or 32-bit (x86 with or without PAE), of any
 * physical memory size.
 *
 *   mkkfull [--type full|bitmap|kernel|summary] [--arch x64|pae|x86]
 *           [--phys SIZE[K|M|G]] [--facts] OUT.dmp
 *
 * The machine: physical pages 0..N-1 with the legacy hole 0xA0-0xFF left
 * out (when N reaches past it); page tables rooted at DirectoryTableBase
 * (x64 4-level using 1 GiB, 2 MiB and 4 KiB pages; PAE with 2 MiB and 4 KiB;
 * non-PAE with 4 MiB and 4 KiB); PsLoadedModuleList with four drivers
 * (KLDR_DATA_TABLE_ENTRY, UNICODE_STRING names), PE headers for some of
 * them; a plain KDBG block; the crashing processor's CONTEXT in the header
 * and three stack pages holding return addresses between noise words (on
 * x86 the first three behind an EBP chain). Everything the reader needs
 * lives in the first 0xA0 pages, so dumps of every size hold the same
 * content. Pages that hold nothing are not written: the file is sparse
 * (ftruncate), so a "16G" dump costs well under a megabyte of disk.
 * "kernel" bitmap and summary dumps store only the pages in use.
 *
 * --facts prints what was written, one fact a line, for tests to compare
 * with what the reader reports. Layouts: docs/formats.md 2.2-2.8, 2.12-2.14.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PG	     4096u
#define USED_MAX     0xA0u /* pages below the legacy hole */
#define HOLE_END     0x100u
#define PAGE_FILL    0x45474150u
#define STACK_PAGES  3u
#define MIN_PFN	     32u /* the pages in use fit in 128K */

enum arch { X64, PAE, X86 };
enum dtype { FULL, BITMAP, KERNEL, SUMMARY };

struct drv {
	const char *path;
	uint64_t base;
	uint32_t size;
	uint32_t stamp;
	bool pe_page; /* the image's first page is in the dump */
};

/* An address as driver index + offset. */
struct addr {
	int drv;
	uint32_t off;
};

/* The machine as the 64- and 32-bit kernels lay it out (made-up values). */
struct layout {
	struct drv drv[4];
	uint64_t win_ldr;  /* large-page window onto PA 0: list, KDBG */
	uint64_t win_str;  /* second window onto PA 0: name strings */
	uint64_t stack_va; /* first of STACK_PAGES stack pages */
	uint32_t sp_in;	   /* stack pointer offset in the first page */
};

static const struct layout lay64 = {
	{{"\\SystemRoot\\system32\\ntoskrnl.exe", UINT64_C(0xfffff80312a00000),
	  0x1046000, 0x5e2d1a4c, true},
	 {"\\SystemRoot\\system32\\hal.dll", UINT64_C(0xfffff80312400000),
	  0x6000, 0x7c1f5a05, true},
	 {"\\SystemRoot\\System32\\drivers\\ndis.sys",
	  UINT64_C(0xfffff8031a200000), 0x137000, 0x3b6d0e91, false},
	 {"\\SystemRoot\\System32\\drivers\\acmenet.sys",
	  UINT64_C(0xfffff8031c600000), 0x2c000, 0x65a3b7d2, true}},
	UINT64_C(0xffffc08a10000000), /* 2 MiB page */
	UINT64_C(0xffffc08a40000000), /* 1 GiB page */
	UINT64_C(0xffff850429890000),
	0xF00,
};

static const struct layout lay32 = {
	{{"\\SystemRoot\\system32\\ntkrpamp.exe", 0x82800000u, 0x420000,
	  0x4ce7951a, true},
	 {"\\SystemRoot\\system32\\halmacpi.dll", 0x82c20000u, 0x37000,
	  0x4ce78b6f, true},
	 {"\\SystemRoot\\system32\\drivers\\ndis.sys", 0x8b000000u, 0xcc000,
	  0x4ce78c5e, false},
	 {"\\SystemRoot\\system32\\drivers\\acmenet.sys", 0x8f600000u, 0x2c000,
	  0x65a3b7d2, true}},
	0x81000000u, /* 2 MiB (PAE) or 4 MiB page */
	0x81400000u,
	0x9a3f0000u,
	0xF80,
};

/* The crash: 0xD1 in acmenet.sys, called from ndis.sys and the kernel. */
static const struct addr crash_ip = {3, 0x1d4b};
static const struct addr crash_ret[] = {
	{3, 0x1a10},  {3, 0x2e37},   {2, 0x5c8e1},
	{2, 0x1b3c0}, {0, 0x3f9a12}, {0, 0x41c2b0},
};

#define BUILD64	 19041u
#define BUILD32	 7601u
#define NPROC	 4u
#define FILETIME UINT64_C(133541221290000000) /* 2024-03-05 14:22:09 UTC */
#define UPTIME	 UINT64_C(36123400000)	      /* 3612.34 s */

/* ---- the machine being built ------------------------------------------- */

struct gen {
	enum arch arch;
	enum dtype type;
	uint64_t npfn; /* physical pages */
	const struct layout *l;
	bool is64;
	uint8_t *page[USED_MAX]; /* contents of the pages in use */
	uint32_t next;		 /* next free page */
	uint64_t root;		 /* PFN of the top table */
	uint64_t dtb;
	uint32_t ldr_pfn, str_pfn;
	uint64_t head_va, kdbg_va, sp, fp;
};

static void die(const char *msg)
{
	fprintf(stderr, "mkkfull: %s\n", msg);
	exit(3);
}

static uint32_t alloc_page(struct gen *g)
{
	if (g->next >= USED_MAX)
		die("out of low pages");
	uint32_t p = g->next++;

	g->page[p] = calloc(1, PG);
	if (g->page[p] == NULL)
		die("out of memory");
	return p;
}

static void put(struct gen *g, uint64_t pa, uint64_t v, unsigned size)
{
	uint8_t *p = g->page[pa / PG];

	if (p == NULL || pa % PG + size > PG)
		die("write outside the pages in use");
	for (unsigned i = 0; i < size; i++)
		p[pa % PG + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(struct gen *g, uint64_t pa, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)g->page[pa / PG][pa % PG + i] << (8 * i);
	return v;
}

/* The table named by the entry at PA, made when absent. */
static uint64_t table_at(struct gen *g, uint64_t pa, unsigned esize)
{
	uint64_t e = get(g, pa, esize);

	if (e & 1)
		return e & UINT64_C(0x000FFFFFFFFFF000);
	uint64_t t = (uint64_t)alloc_page(g) * PG;

	put(g, pa, t | 0x63, esize);
	return t;
}

/*
 * Map VA to PA with a page of 1 << SHIFT bytes (12, 21, 22 or 30); the
 * walk follows formats.md 2.12 for the machine's paging mode.
 */
static void map(struct gen *g, uint64_t va, uint64_t pa, unsigned shift)
{
	uint64_t large = shift > 12 ? 0x80 : 0;
	uint64_t t = g->root * PG;

	if (g->arch == X86) {
		uint64_t pde = t + 4 * ((va >> 22) & 0x3FF);

		if (shift == 22) {
			put(g, pde, pa | 0x63 | large, 4);
			return;
		}
		t = table_at(g, pde, 4);
		put(g, t + 4 * ((va >> 12) & 0x3FF), pa | 0x63, 4);
		return;
	}
	if (g->arch == PAE) {
		/* PDPT entries take only the Present bit. */
		uint64_t pdpte = (g->dtb & 0xFFFFFFE0u) + 8 * ((va >> 30) & 3);

		if (!(get(g, pdpte, 8) & 1))
			put(g, pdpte, (uint64_t)alloc_page(g) * PG | 1, 8);
		t = get(g, pdpte, 8) & UINT64_C(0x000FFFFFFFFFF000);
	} else {
		t = table_at(g, t + 8 * ((va >> 39) & 0x1FF), 8);
		if (shift == 30) {
			put(g, t + 8 * ((va >> 30) & 0x1FF), pa | 0x63 | large,
			    8);
			return;
		}
		t = table_at(g, t + 8 * ((va >> 30) & 0x1FF), 8);
	}
	if (shift == 21) {
		put(g, t + 8 * ((va >> 21) & 0x1FF), pa | 0x63 | large, 8);
		return;
	}
	t = table_at(g, t + 8 * ((va >> 21) & 0x1FF), 8);
	put(g, t + 8 * ((va >> 12) & 0x1FF), pa | 0x63, 8);
}

static uint64_t addr_of(const struct gen *g, struct addr a)
{
	return g->l->drv[a.drv].base + a.off;
}

static bool in_driver(const struct gen *g, uint64_t v)
{
	for (size_t i = 0; i < ARRAY_LEN(g->l->drv); i++)
		if (v >= g->l->drv[i].base &&
		    v - g->l->drv[i].base < g->l->drv[i].size)
			return true;
	return false;
}

/* A stack word that is no return address. */
static uint64_t noise(const struct gen *g, uint32_t *s)
{
	for (;;) {
		*s = *s * 1103515245u + 12345u;
		uint32_t r = *s >> 8;
		uint64_t v = r % 2     ? (uint64_t)(r & 0xFF)
			     : g->is64 ? UINT64_C(0xffffc08a00000000) |
						 ((uint64_t)r << 4)
				       : 0x85000000u | ((r & 0xFFFFF) << 2);

		if (!in_driver(g, v))
			return v;
	}
}

/* ---- memory contents ----------------------------------------------------- */

static void put_pe_header(struct gen *g, const struct drv *d)
{
	uint32_t p = alloc_page(g);
	uint64_t pa = (uint64_t)p * PG;

	map(g, d->base, pa, 12);
	put(g, pa, 'M' | ('Z' << 8), 2);
	put(g, pa + 0x3C, 0x80, 4);	  /* e_lfanew */
	put(g, pa + 0x80, 0x00004550, 4); /* "PE\0\0" */
	put(g, pa + 0x84, g->is64 ? 0x8664 : 0x014C, 2);
	put(g, pa + 0x88, d->stamp, 4); /* TimeDateStamp */
}

/* A UNICODE_STRING at PA naming the UTF-16 copy of S at VA. */
static void put_ustring(struct gen *g, uint64_t pa, const char *s, uint64_t va)
{
	size_t n = strlen(s);

	put(g, pa, 2 * n, 2);
	put(g, pa + 2, 2 * n + 2, 2);
	put(g, pa + (g->is64 ? 8 : 4), va, g->is64 ? 8 : 4);
}

/* Strings in the string window; returns the VA of S's copy. */
static uint64_t put_utf16(struct gen *g, uint64_t *at, const char *s)
{
	uint64_t pa = *at;

	for (size_t i = 0; s[i]; i++)
		put(g, pa + 2 * i, (uint8_t)s[i], 2);
	*at += (2 * strlen(s) + 2 + 7) & ~(uint64_t)7;
	return g->l->win_str + pa;
}

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '\\');

	return b != NULL ? b + 1 : path;
}

/*
 * PsLoadedModuleList: the head at the start of the loader page, entries
 * from 0x100 (stride 0xA0 / 0x50), the KDBG block at 0x800.
 */
static void put_module_list(struct gen *g)
{
	const size_t n = ARRAY_LEN(g->l->drv);
	const uint64_t ldr = (uint64_t)g->ldr_pfn * PG;
	const uint32_t stride = g->is64 ? 0xA0 : 0x50;
	const unsigned ps = g->is64 ? 8 : 4;
	uint64_t str = (uint64_t)g->str_pfn * PG;
	uint64_t ent[ARRAY_LEN(g->l->drv)];

	g->head_va = g->l->win_ldr + ldr;
	for (size_t i = 0; i < n; i++)
		ent[i] = g->head_va + 0x100 + stride * i;
	put(g, ldr, ent[0], ps);
	put(g, ldr + ps, ent[n - 1], ps);
	for (size_t i = 0; i < n; i++) {
		const struct drv *d = &g->l->drv[i];
		uint64_t e = ent[i] - g->l->win_ldr;
		uint64_t full = put_utf16(g, &str, d->path);
		uint64_t base =
			full + 2 * (strlen(d->path) - strlen(base_of(d->path)));

		put(g, e, i + 1 < n ? ent[i + 1] : g->head_va, ps);
		put(g, e + ps, i > 0 ? ent[i - 1] : g->head_va, ps);
		if (g->is64) {
			put(g, e + 0x30, d->base, 8);	       /* DllBase */
			put(g, e + 0x38, d->base + 0x1000, 8); /* EntryPoint */
			put(g, e + 0x40, d->size, 4);	       /* SizeOfImage */
			put_ustring(g, e + 0x48, d->path, full);
			put_ustring(g, e + 0x58, base_of(d->path), base);
			put(g, e + 0x68, 0x49104000, 4); /* Flags */
			put(g, e + 0x6C, 1, 2);		 /* LoadCount */
			put(g, e + 0x9C, d->stamp, 4);	 /* TimeDateStamp */
		} else {
			put(g, e + 0x18, d->base, 4);
			put(g, e + 0x1C, d->base + 0x1000, 4);
			put(g, e + 0x20, d->size, 4);
			put_ustring(g, e + 0x24, d->path, full);
			put_ustring(g, e + 0x2C, base_of(d->path), base);
			put(g, e + 0x34, 0x09104000, 4);
			put(g, e + 0x38, 1, 2);
			put(g, e + 0x44, d->stamp, 4);
		}
	}
	/* KDDEBUGGER_DATA64, plain (2.13); 32-bit pointers sign-extended. */
	g->kdbg_va = g->head_va + 0x800;
	put(g, ldr + 0x810, 0x4742444B, 4); /* "KDBG" */
	put(g, ldr + 0x814, 0x340, 4);	    /* Size */
	put(g, ldr + 0x818,
	    g->is64 ? g->l->drv[0].base
		    : (uint64_t)(int64_t)(int32_t)g->l->drv[0].base,
	    8); /* KernBase */
	put(g, ldr + 0x848,
	    g->is64 ? g->head_va : (uint64_t)(int64_t)(int32_t)g->head_va,
	    8); /* PsLoadedModuleList */
}

/*
 * Three stack pages from stack_va, not contiguous in physical memory.
 * x64: return addresses at every third word from SP + 0x10 and again on
 * the second page. x86: the first three behind an EBP chain (frames at
 * SP + 0x10, + 0x28, + 0x40), the rest on the second page.
 */
static void put_stack(struct gen *g)
{
	const unsigned ps = g->is64 ? 8 : 4;
	uint32_t pfn[STACK_PAGES];
	uint32_t seed = 0x5eed;

	for (unsigned i = 0; i < STACK_PAGES; i++) {
		pfn[STACK_PAGES - 1 - i] = alloc_page(g);
		alloc_page(g); /* a gap: the stack is not contiguous */
	}
	for (unsigned i = 0; i < STACK_PAGES; i++)
		map(g, g->l->stack_va + (uint64_t)i * PG, (uint64_t)pfn[i] * PG,
		    12);
	g->sp = g->l->stack_va + g->l->sp_in;
	/* physical address of stack VA v */
#define SPA(v) ((uint64_t)pfn[((v)-g->l->stack_va) / PG] * PG + (v) % PG)
	for (uint64_t v = g->l->stack_va; v < g->l->stack_va + STACK_PAGES * PG;
	     v += ps)
		put(g, SPA(v), noise(g, &seed), ps);
	size_t nret = ARRAY_LEN(crash_ret), r = 0;

	if (g->is64) {
		g->fp = g->sp + 0x80;
		for (; r < 3; r++)
			put(g, SPA(g->sp + 0x10 + 0x18 * r),
			    addr_of(g, crash_ret[r]), 8);
	} else {
		const uint64_t fr[3] = {g->sp + 0x10, g->sp + 0x28,
					g->sp + 0x40};

		g->fp = fr[0];
		for (; r < 3; r++) {
			put(g, SPA(fr[r]), r < 2 ? fr[r + 1] : 0, 4);
			put(g, SPA(fr[r] + 4), addr_of(g, crash_ret[r]), 4);
		}
	}
	for (size_t i = 0; r < nret; r++, i++)
		put(g, SPA(g->l->stack_va + PG + 0x40 + 3 * ps * i),
		    addr_of(g, crash_ret[r]), ps);
#undef SPA
}

static void build_memory(struct gen *g)
{
	g->next = 1;
	g->root = alloc_page(g);
	/* Low bits of CR3: a PCID on x64, the PDPT's place in its page on PAE.
	 */
	g->dtb = g->root * PG | (g->arch == X64	  ? 0x2
				 : g->arch == PAE ? 0x20
						  : 0);
	g->ldr_pfn = alloc_page(g);
	g->str_pfn = alloc_page(g);
	/* The two windows map physical address 0 with large pages. */
	if (g->arch == X64) {
		map(g, g->l->win_ldr, 0, 21);
		map(g, g->l->win_str, 0, 30);
	} else {
		unsigned shift = g->arch == PAE ? 21 : 22;

		map(g, g->l->win_ldr, 0, shift);
		map(g, g->l->win_str, 0, shift);
	}
	for (size_t i = 0; i < ARRAY_LEN(g->l->drv); i++)
		if (g->l->drv[i].pe_page)
			put_pe_header(g, &g->l->drv[i]);
	put_module_list(g);
	put_stack(g);
}

/* ---- the file ------------------------------------------------------------ */

static bool pfn_present(const struct gen *g, uint64_t p)
{
	if (g->type == KERNEL || g->type == SUMMARY)
		return p < USED_MAX && g->page[p] != NULL;
	return p < g->npfn && (p < USED_MAX || p >= HOLE_END);
}

static uint32_t hdr_size(const struct gen *g)
{
	return g->is64 ? 0x2000u : 0x1000u;
}

static void h32(uint8_t *h, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		h[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void h64(uint8_t *h, size_t at, uint64_t v)
{
	h32(h, at, (uint32_t)v);
	h32(h, at + 4, (uint32_t)(v >> 32));
}

static const uint64_t params64[4] = {UINT64_C(0xffffc08a1b2c3d48), 2, 0,
				     UINT64_C(0xfffff8031c601d4b)};

static uint64_t param(const struct gen *g, int i)
{
	if (g->is64)
		return params64[i];
	return i == 0	? 0x8a1b2c48u
	       : i == 3 ? addr_of(g, crash_ip)
			: params64[i];
}

/* Runs of present pages, for full dumps: below and above the hole. */
static size_t runs_of(const struct gen *g, uint64_t run[2][2])
{
	size_t n = 0;

	run[n][0] = 0;
	run[n][1] = g->npfn < USED_MAX ? g->npfn : USED_MAX;
	n++;
	if (g->npfn > HOLE_END) {
		run[n][0] = HOLE_END;
		run[n][1] = g->npfn - HOLE_END;
		n++;
	}
	return n;
}

static void put_context64(struct gen *g, uint8_t *h, size_t at)
{
	h32(h, at + 0x30, 0x0010000B); /* CONTEXT_FULL (AMD64) */
	h32(h, at + 0x34, 0x1F80);     /* MxCsr */
	h[at + 0x38] = 0x10;	       /* SegCs */
	h[at + 0x42] = 0x18;	       /* SegSs */
	h32(h, at + 0x44, 0x00040282); /* EFlags */
	h64(h, at + 0x98, g->sp);      /* Rsp */
	h64(h, at + 0xA0, g->fp);      /* Rbp */
	h64(h, at + 0xF8, addr_of(g, crash_ip));
	h32(h, at + 0x118, 0x1F80); /* FltSave.MxCsr */
}

static void put_context32(struct gen *g, uint8_t *h, size_t at)
{
	h32(h, at + 0x00, 0x00010007); /* CONTROL INTEGER SEGMENTS (x86) */
	h32(h, at + 0xB4, (uint32_t)g->fp);
	h32(h, at + 0xB8, (uint32_t)addr_of(g, crash_ip));
	h32(h, at + 0xBC, 0x08);       /* SegCs */
	h32(h, at + 0xC0, 0x00010282); /* EFlags */
	h32(h, at + 0xC4, (uint32_t)g->sp);
	h32(h, at + 0xC8, 0x10); /* SegSs */
}

static uint32_t dump_type(const struct gen *g)
{
	return g->type == FULL ? 1 : g->type == SUMMARY ? 2 : 5;
}

static void write_header(struct gen *g, uint8_t *h, uint64_t total,
			 uint64_t present)
{
	const bool w = g->is64;
	const struct drv *nt = &g->l->drv[0];
	uint64_t run[2][2];
	size_t nrun = runs_of(g, run);

	for (size_t at = 0; at < hdr_size(g); at += 4)
		h32(h, at, PAGE_FILL);
	memcpy(h, w ? "PAGEDU64" : "PAGEDUMP", 8);
	h32(h, 0x08, 0x0F);
	h32(h, 0x0C, w ? BUILD64 : BUILD32);
	if (w) {
		h64(h, 0x10, g->dtb);
		h64(h, 0x18, UINT64_C(0xfffffa8000000000)); /* PfnDataBase */
		h64(h, 0x20, g->head_va);
		h64(h, 0x28, nt->base + 0xC1E3B0); /* PsActiveProcessHead */
		h32(h, 0x30, 0x8664);
		h32(h, 0x34, NPROC);
		h32(h, 0x38, 0xD1);
		h32(h, 0x3C, 0);
		for (int i = 0; i < 4; i++)
			h64(h, 0x40 + 8 * (size_t)i, param(g, i));
		h64(h, 0x80, g->kdbg_va);
		memset(h + 0x348, 0, 3000);
		put_context64(g, h, 0x348);
		memset(h + 0xF00, 0, 152);
		h32(h, 0xF00, 0xC0000005);
		h64(h, 0xF10, addr_of(g, crash_ip));
		h32(h, 0xF98, dump_type(g));
		h32(h, 0xF9C, 0);
		h64(h, 0xFA0, total); /* RequiredDumpSpace */
		h64(h, 0xFA8, FILETIME);
		h64(h, 0x1030, UPTIME);
		h32(h, 0x1040, 1);     /* ProductType */
		h32(h, 0x1044, 0x110); /* SuiteMask */
	} else {
		h32(h, 0x10, (uint32_t)g->dtb);
		h32(h, 0x14, 0x84000000u);
		h32(h, 0x18, (uint32_t)g->head_va);
		h32(h, 0x1C, (uint32_t)nt->base + 0x1A0B0);
		h32(h, 0x20, 0x014C);
		h32(h, 0x24, NPROC);
		h32(h, 0x28, 0xD1);
		for (int i = 0; i < 4; i++)
			h32(h, 0x2C + 4 * (size_t)i, (uint32_t)param(g, i));
		h[0x5C] = g->arch == PAE; /* PaeEnabled */
		h32(h, 0x60, (uint32_t)g->kdbg_va);
		memset(h + 0x320, 0, 1200);
		put_context32(g, h, 0x320);
		memset(h + 0x7D0, 0, 80);
		h32(h, 0x7D0, 0xC0000005);
		h32(h, 0x7DC, (uint32_t)addr_of(g, crash_ip));
		h32(h, 0xF88, dump_type(g));
		h32(h, 0xF94, 1);
		h32(h, 0xF98, 0x110);
		h64(h, 0xFA0, total);
		h64(h, 0xFB8, UPTIME);
		h64(h, 0xFC0, FILETIME);
	}
	if (g->type != FULL)
		return;
	/* PHYSICAL_MEMORY_DESCRIPTOR32/64 (2.6) */
	size_t d = w ? 0x88 : 0x64;

	h32(h, d, (uint32_t)nrun);
	if (w)
		h32(h, d + 4, 0);
	for (size_t i = 0; i < (w ? 2u : 1u); i++)
		h32(h, d + (w ? 8 : 4) + 4 * i,
		    (uint32_t)(present >> (32 * i)));
	for (size_t r = 0; r < nrun; r++)
		for (size_t f = 0; f < 2; f++) {
			size_t at = d + (w ? 16 : 8) + (w ? 16 : 8) * r +
				    (w ? 8 : 4) * f;

			if (w)
				h64(h, at, run[r][f]);
			else
				h32(h, at, (uint32_t)run[r][f]);
		}
}

static void pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w <= 0)
			die(strerror(errno));
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
}

/*
 * Header, then for bitmap dumps the sub-header and bitmap padded to a
 * page, then the pages in PFN order; only pages in use are written.
 */
static int write_dump(struct gen *g, const char *path)
{
	uint64_t present = 0;
	uint64_t bits = g->npfn, bmbytes = (bits + 7) / 8;

	for (uint64_t p = 0; p < g->npfn; p++)
		present += pfn_present(g, p);
	/* The bitmap: at 0x38 (2.8), or 0x20 / 0x28 in SUMMARY_DUMP (2.7). */
	uint64_t bmoff = g->type != SUMMARY ? 0x38 : g->is64 ? 0x28 : 0x20;
	uint64_t first = hdr_size(g);

	if (g->type != FULL)
		first += (bmoff + bmbytes + PG - 1) / PG * PG;
	uint64_t total = first + present * PG;
	uint8_t *h = calloc(1, hdr_size(g));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (h == NULL || fd < 0)
		die(fd < 0 ? strerror(errno) : "out of memory");
	if (ftruncate(fd, (off_t)total) != 0)
		die(strerror(errno));
	write_header(g, h, total, present);
	pwrite_all(fd, h, hdr_size(g), 0);
	free(h);
	if (g->type != FULL) {
		uint8_t *s = calloc(1, bmoff + bmbytes);

		if (s == NULL)
			die("out of memory");
		memcpy(s, g->type == BITMAP ? "FDMP" : "SDMP", 4);
		memcpy(s + 4, "DUMP", 4);
		if (g->type == SUMMARY) {
			h32(s, 0x08, 1);                /* DumpOptions */
			h32(s, 0x0C, (uint32_t)first);  /* HeaderSize */
			h32(s, 0x10, (uint32_t)bits);   /* BitmapSize */
			h32(s, 0x14, (uint32_t)present); /* Pages */
			h32(s, 0x18, (uint32_t)bits);   /* SizeOfBitMap */
		} else {
			h64(s, 0x08, 1); /* DumpOptions */
			h64(s, 0x20, first);
			h64(s, 0x28, present);
			h64(s, 0x30, bits);
		}
		for (uint64_t p = 0; p < bits; p++)
			if (pfn_present(g, p))
				s[bmoff + p / 8] |= (uint8_t)(1u << (p % 8));
		pwrite_all(fd, s, bmoff + bmbytes, hdr_size(g));
		free(s);
	}
	/* Pages in use all sit below the hole: their index is their rank. */
	uint64_t index = 0;

	for (uint64_t p = 0; p < USED_MAX && p < g->npfn; p++) {
		if (!pfn_present(g, p))
			continue;
		if (g->page[p] != NULL)
			pwrite_all(fd, g->page[p], PG, first + index * PG);
		index++;
	}
	return close(fd) == 0 ? 0 : 1;
}

/* ---- facts --------------------------------------------------------------- */

static void print_facts(const struct gen *g)
{
	const char *arch = g->is64 ? "amd64" : "x86";

	printf("arch %s\npaging %s\nbuild %u\nnproc %u\nbugcheck 0xd1\n", arch,
	       g->arch == X64	? "x64"
	       : g->arch == PAE ? "x86-pae"
				: "x86",
	       g->is64 ? BUILD64 : BUILD32, NPROC);
	for (int i = 0; i < 4; i++)
		printf("param %d 0x%llx\n", i, (unsigned long long)param(g, i));
	printf("crash_time %llu\nuptime %llu\n",
	       (unsigned long long)((FILETIME - UINT64_C(116444736000000000)) /
				    10000000),
	       (unsigned long long)(UPTIME / 10000000));
	for (size_t i = 0; i < ARRAY_LEN(g->l->drv); i++) {
		const struct drv *d = &g->l->drv[i];

		printf("module %s %s 0x%llx 0x%x %08X\n", base_of(d->path),
		       d->path, (unsigned long long)d->base, d->size, d->stamp);
	}
	printf("ip 0x%llx\nsp 0x%llx\n",
	       (unsigned long long)addr_of(g, crash_ip),
	       (unsigned long long)g->sp);
	printf("frame %s 0x%x context\n", base_of(g->l->drv[crash_ip.drv].path),
	       crash_ip.off);
	for (size_t r = 0; r < ARRAY_LEN(crash_ret); r++)
		printf("frame %s 0x%x %s\n",
		       base_of(g->l->drv[crash_ret[r].drv].path),
		       crash_ret[r].off - 1,
		       !g->is64 && r < 3 ? "frame_pointer" : "scan");
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mkkfull [--type full|bitmap|kernel|summary]\n"
		"               [--arch x64|pae|x86]\n"
		"               [--phys SIZE[K|M|G]] [--facts] OUT.dmp\n"
		"Writes a kernel memory dump (full: DumpType 1 with memory runs;\n"
		"bitmap: DumpType 5 FDMP, every page; kernel: DumpType 5 SDMP,\n"
		"pages in use only; summary: DumpType 2 SUMMARY_DUMP, pages in use\n"
		"only) of a machine with SIZE of physical memory\n"
		"(default 1M, at least 128K) as a sparse file. --facts prints what\n"
		"was written.\n");
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = *end == 'K'   ? 10
			 : *end == 'M' ? 20
			 : *end == 'G' ? 30
				       : 0;

	if (end == s || (shift && end[1] != '\0') || (!shift && *end != '\0') ||
	    v > (UINT64_C(1) << 40) >> shift)
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool pick(const char *v, const char *const *names, size_t n, int *out)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = (int)i;
			return true;
		}
	return false;
}

int main(int argc, char **argv)
{
	static const char *const types[] = {"full", "bitmap", "kernel",
					    "summary"};
	static const char *const arches[] = {"x64", "pae", "x86"};
	struct gen g = {.arch = X64, .type = FULL};
	uint64_t phys = UINT64_C(1) << 20;
	const char *path = NULL;
	bool facts = false, ok = true;
	int v = 0;

	for (int i = 1; i < argc && ok; i++) {
		const char *a = argv[i], *n = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--facts") == 0) {
			facts = true;
		} else if (strcmp(a, "--type") == 0 && n != NULL) {
			ok = pick(n, types, ARRAY_LEN(types), &v);
			g.type = (enum dtype)v;
			i++;
		} else if (strcmp(a, "--arch") == 0 && n != NULL) {
			ok = pick(n, arches, ARRAY_LEN(arches), &v);
			g.arch = (enum arch)v;
			i++;
		} else if (strcmp(a, "--phys") == 0 && n != NULL) {
			ok = parse_size(n, &phys);
			i++;
		} else if (path == NULL && a[0] != '-') {
			path = a;
		} else {
			ok = false;
		}
	}
	g.npfn = phys / PG;
	if (!ok || path == NULL || g.npfn < MIN_PFN ||
	    (g.arch == X86 && g.npfn > (UINT64_C(1) << 20))) {
		usage(stderr);
		return 2;
	}
	g.is64 = g.arch == X64;
	g.l = g.is64 ? &lay64 : &lay32;
	build_memory(&g);
	if (g.next > g.npfn)
		die("--phys is too small for the pages in use");
	int rc = write_dump(&g, path);

	if (facts && rc == 0)
		print_facts(&g);
	for (size_t i = 0; i < USED_MAX; i++)
		free(g.page[i]);
	return rc;
}
