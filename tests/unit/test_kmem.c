/*
 * kmem: physical pages of full dumps (runs in any order, overlaps,
 * truncation), of bitmap dumps (the lazy rank index against a plain
 * count, bitmaps cut by the end of the file), and the three page walks
 * (x64 with 1 GiB/2 MiB/4 KiB pages, PAE, non-PAE) on page tables built
 * here, including not-present, transition and non-canonical cases.
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
#include "diag.h"
#include "kmem.h"
#include "reader.h"

#define PG 4096u

static void put64(uint8_t *b, uint64_t at, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[at + (uint64_t)i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *b, uint64_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[at + (uint64_t)i] = (uint8_t)(v >> (8 * i));
}

/* ---- runs ---------------------------------------------------------------- */

static void test_kmem__runs_map_pages_in_file_order(void **state)
{
	(void)state;
	/* 0x100 bytes of "header", then pages of PFN 5, 6, 1, 2 */
	size_t len = 0x100 + 4 * PG;
	uint8_t *b = calloc(1, len);
	const struct kmem_run runs[] = {{5, 2}, {1, 2}};
	const uint64_t order[] = {5, 6, 1, 2};
	struct diag d;

	assert_non_null(b);
	for (size_t i = 0; i < 4; i++)
		memset(b + 0x100 + i * PG, (int)order[i], PG);
	struct kmem *m = kmem_new(b, len);

	assert_non_null(m);
	diag_init(&d);
	assert_int_equal(kmem_map_runs(m, 0x100, runs, 2, &d), DF_OK);
	assert_int_equal(kmem_pages_claimed(m), 4);
	assert_int_equal(kmem_pages_in_file(m), 4);
	for (size_t i = 0; i < 4; i++) {
		uint64_t off = 0;
		const uint8_t *p = kmem_page(m, order[i], &off);

		assert_non_null(p);
		assert_int_equal(off, 0x100 + i * PG);
		assert_int_equal(p[0], order[i]);
		assert_int_equal(p[PG - 1], order[i]);
	}
	assert_null(kmem_page(m, 0, NULL));
	assert_null(kmem_page(m, 3, NULL));
	assert_null(kmem_page(m, 7, NULL));
	assert_null(kmem_page(m, UINT64_MAX, NULL));
	/* a read across PFN 1 -> 2 (contiguous physically, not in the file) */
	uint8_t two[2];

	assert_int_equal(kmem_read_phys(m, 2 * PG - 1, two, 2), DF_OK);
	assert_int_equal(two[0], 1);
	assert_int_equal(two[1], 2);
	assert_int_equal(kmem_read_phys(m, 3 * PG - 1, two, 2), DF_ENOTFOUND);
	assert_int_equal(kmem_read_phys(m, UINT64_MAX, two, 2), DF_ENOTFOUND);
	kmem_destroy(&m);
	assert_null(m);

	/* the file cut inside the last page: that page is not in the dump */
	m = kmem_new(b, len - 1);
	assert_int_equal(kmem_map_runs(m, 0x100, runs, 2, &d), DF_OK);
	assert_int_equal(kmem_pages_in_file(m), 3);
	assert_non_null(kmem_page(m, 1, NULL));
	assert_null(kmem_page(m, 2, NULL));
	kmem_destroy(&m);
	free(b);
}

static void test_kmem__runs_rejects_overlap_and_limits(void **state)
{
	(void)state;
	uint8_t b[16] = {0};
	const struct kmem_run overlap[] = {{10, 5}, {14, 1}};
	const struct kmem_run huge[] = {{UINT64_MAX - 1, 4}};
	struct kmem *m = kmem_new(b, sizeof(b));
	struct diag d;

	diag_init(&d);
	assert_int_equal(kmem_map_runs(m, 0, overlap, 2, &d), DF_EFORMAT);
	assert_non_null(strstr(d.msg, "overlap"));
	diag_init(&d);
	assert_int_equal(kmem_map_runs(m, 0, huge, 1, &d), DF_ELIMIT);
	diag_init(&d);
	assert_int_equal(kmem_map_runs(m, 0, overlap, KMEM_MAX_RUNS + 1, &d),
			 DF_ELIMIT);
	/* nothing mapped: every page is absent, no crash */
	assert_null(kmem_page(m, 10, NULL));
	/* the first page offset past the end: nothing is in the file */
	assert_int_equal(kmem_map_runs(m, UINT64_MAX, huge + 0, 0, &d), DF_OK);
	assert_int_equal(kmem_pages_in_file(m), 0);
	kmem_destroy(&m);
	kmem_destroy(&m); /* NULL-safe */
}

/* ---- bitmap -------------------------------------------------------------- */

/* A bitmap dump of BITS bits, every STEP-th bit set, at 0x40. */
static uint8_t *bitmap_dump(uint64_t bits, uint64_t step, uint64_t *first,
			    uint64_t *present, size_t *len)
{
	uint64_t bytes = (bits + 7) / 8, n = 0;

	for (uint64_t p = 0; p < bits; p += step)
		n++;
	*first = (0x40 + bytes + PG - 1) / PG * PG;
	*len = (size_t)(*first + n * PG);
	*present = n;
	uint8_t *b = calloc(1, *len);

	assert_non_null(b);
	uint64_t i = 0;

	for (uint64_t p = 0; p < bits; p += step) {
		b[0x40 + p / 8] |= (uint8_t)(1u << (p % 8));
		put64(b, *first + i * PG, p); /* each page names its PFN */
		i++;
	}
	return b;
}

static void test_kmem__bitmap_rank_matches_count(void **state)
{
	(void)state;
	const uint64_t bits = 3 * KMEM_RANK_BLOCK_BITS + 17, step = 97;
	uint64_t first, present;
	size_t len;
	uint8_t *b = bitmap_dump(bits, step, &first, &present, &len);
	struct kmem *m = kmem_new(b, len);
	struct diag d;

	diag_init(&d);
	assert_int_equal(kmem_map_bitmap(m, 0x40, bits, first, present, &d),
			 DF_OK);
	assert_int_equal(kmem_pages_claimed(m), present);
	assert_int_equal(kmem_pages_mapped(m), present);
	/* high PFN first: the index is built on demand, then reused */
	for (uint64_t p = bits + 5; p-- > 0;) {
		uint64_t off = 0;
		const uint8_t *pg = kmem_page(m, p, &off);

		if (p >= bits || p % step != 0) {
			assert_null(pg);
			continue;
		}
		assert_non_null(pg);
		assert_int_equal(off, first + (p / step) * PG);
		uint64_t v = 0;

		memcpy(&v, pg, 8);
		assert_int_equal(v, p);
	}
	kmem_destroy(&m);

	/* the file cut before the last page: that page only is missing */
	m = kmem_new(b, len - PG);
	assert_int_equal(kmem_map_bitmap(m, 0x40, bits, first, present, &d),
			 DF_OK);
	assert_int_equal(kmem_pages_in_file(m), present - 1);
	uint64_t last = (bits - 1) / step * step;

	assert_null(kmem_page(m, last, NULL));
	assert_non_null(kmem_page(m, last - step, NULL));
	kmem_destroy(&m);
	free(b);
}

/*
 * A source that copies bytes from ORIG into the view on demand, as a
 * fetch from the broker fills the cache file: what was never asked for
 * stays zero. It counts what it copied, and fails once FAIL_AT bytes
 * have been asked for (0: never).
 */
struct lazy {
	const uint8_t *orig;
	uint8_t *view;
	uint8_t *have;   /* one flag a byte */
	size_t len;
	uint64_t copied;
	uint64_t fail_at;
	uint64_t asked;
};

static int lazy_ensure(void *ctx, uint64_t off, uint64_t n)
{
	struct lazy *z = ctx;

	z->asked += n;
	if (z->fail_at != 0 && z->asked >= z->fail_at)
		return DF_EIO;
	assert_true(off <= z->len && n <= z->len - off);
	for (uint64_t i = off; i < off + n; i++)
		if (!z->have[i]) {
			z->view[i] = z->orig[i];
			z->have[i] = 1;
			z->copied++;
		}
	return DF_OK;
}

static void test_kmem__pages_come_from_the_source(void **state)
{
	(void)state;
	const uint64_t bits = 6 * KMEM_RANK_BLOCK_BITS + 3, step = 5;
	uint64_t first, present;
	size_t len;
	uint8_t *b = bitmap_dump(bits, step, &first, &present, &len);
	struct lazy z = { b, calloc(1, len), calloc(1, len), len, 0, 0, 0 };
	struct reader_src src = { lazy_ensure, &z };
	struct kmem *m = kmem_new(z.view, len);
	struct diag d;

	assert_non_null(z.view);
	assert_non_null(z.have);
	kmem_set_src(m, &src);
	diag_init(&d);
	assert_int_equal(kmem_map_bitmap(m, 0x40, bits, first, present, &d),
			 DF_OK);
	/* A page high up: its bitmap blocks and the page, nothing else. */
	uint64_t p = 5 * KMEM_RANK_BLOCK_BITS + 10, v = 0;
	const uint8_t *pg = kmem_page(m, p, NULL);

	assert_non_null(pg);
	memcpy(&v, pg, 8);
	assert_int_equal(v, p);
	assert_true(z.copied <= (bits + 7) / 8 + PG);
	assert_true(z.copied < len / 100);
	assert_int_equal(kmem_pages_mapped(m), present);
	kmem_destroy(&m);

	/* A source that fails: the page is not there, never zeros. */
	memset(z.view, 0, len);
	memset(z.have, 0, len);
	z.asked = 0;
	z.fail_at = 1;
	m = kmem_new(z.view, len);
	kmem_set_src(m, &src);
	assert_int_equal(kmem_map_bitmap(m, 0x40, bits, first, present, &d),
			 DF_OK);
	assert_null(kmem_page(m, 0, NULL));
	assert_null(kmem_page(m, p, NULL));
	kmem_destroy(&m);
	free(z.view);
	free(z.have);
	free(b);
}

static void test_kmem__bitmap_rejects_bad_geometry(void **state)
{
	(void)state;
	uint64_t first, present;
	size_t len;
	uint8_t *b = bitmap_dump(100, 3, &first, &present, &len);
	struct kmem *m = kmem_new(b, len);
	struct diag d;

	diag_init(&d);
	/* the bitmap running past the end of the file */
	assert_int_equal(kmem_map_bitmap(m, len - 2, 100, first, present, &d),
			 DF_ETRUNC);
	diag_init(&d);
	assert_int_equal(
		kmem_map_bitmap(m, UINT64_MAX, 100, first, present, &d),
		DF_ETRUNC);
	/* pages starting inside the bitmap */
	diag_init(&d);
	assert_int_equal(kmem_map_bitmap(m, 0x40, 100, 0x41, present, &d),
			 DF_EFORMAT);
	diag_init(&d);
	assert_int_equal(
		kmem_map_bitmap(m, 0x40, KMEM_MAX_PFNS + 1, first, present, &d),
		DF_ELIMIT);
	/* a header that overstates the pages: lookups stay inside the file */
	assert_int_equal(kmem_map_bitmap(m, 0x40, 100, first, 1000, &d), DF_OK);
	assert_int_equal(kmem_pages_claimed(m), 1000);
	assert_int_equal(kmem_pages_in_file(m), present);
	kmem_destroy(&m);
	free(b);
}

/* ---- page walks ---------------------------------------------------------- */

/* Physical memory of NPAGES pages as one run from file offset 0. */
struct phys {
	uint8_t *b;
	size_t len;
	struct kmem *m;
};

static void phys_new(struct phys *ph, uint64_t npages)
{
	const struct kmem_run run = {0, npages};

	ph->len = (size_t)(npages * PG);
	ph->b = calloc(1, ph->len);
	assert_non_null(ph->b);
	ph->m = kmem_new(ph->b, ph->len);
	assert_int_equal(kmem_map_runs(ph->m, 0, &run, 1, NULL), DF_OK);
}

static void phys_free(struct phys *ph)
{
	kmem_destroy(&ph->m);
	free(ph->b);
}

static void expect_pa(struct kmem *m, uint64_t va, uint64_t want)
{
	uint64_t pa = 0;

	assert_int_equal(kmem_translate(m, va, &pa), DF_OK);
	assert_int_equal(pa, want);
}

static void test_kmem__x64_walk(void **state)
{
	(void)state;
	struct phys ph;
	/* 1 GiB page at PML4 0x1F0 PDPT 1, 2 MiB page, 4 KiB pages */
	const uint64_t va1g = UINT64_C(0xFFFFF80040000000);
	const uint64_t va2m = UINT64_C(0xFFFFF80000200000);
	const uint64_t va4k = UINT64_C(0xFFFFF80000403000);

	phys_new(&ph, 0x400); /* 4 MiB */
	uint8_t *b = ph.b;
	uint64_t pml4 = 1 * PG, pdpt = 2 * PG, pd = 3 * PG, pt = 4 * PG;
	unsigned i4 = (unsigned)((va4k >> 39) & 0x1FF);

	put64(b, pml4 + 8 * i4, pdpt | 0x63);
	put64(b, pdpt + 8 * 1, 0 | 0x80 | 0x63); /* 1 GiB page at PA 0 */
	put64(b, pdpt + 8 * 0, pd | 0x63);
	put64(b, pd + 8 * 1, 0x200000 | 0x80 | 0x63); /* 2 MiB page */
	put64(b, pd + 8 * 2, pt | 0x63);
	put64(b, pt + 8 * 3, 0x7000 | 0x63);
	put64(b, pt + 8 * 4, 0x9000 | 0x63);		/* next VA page */
	put64(b, pt + 8 * 5, 0x8000 | (1u << 11));	/* transition */
	put64(b, pt + 8 * 6, UINT64_C(0x7FFFF000) | 1); /* not in the dump */
	/* PCID in the low bits of CR3 must be ignored */
	kmem_set_paging(ph.m, KMEM_PAGING_X64, pml4 | 0x2);
	expect_pa(ph.m, va1g + 0x5123, 0x5123);
	expect_pa(ph.m, va2m + 0x1ABCD, 0x21ABCD);
	expect_pa(ph.m, va4k + 0x10, 0x7010);
	uint64_t pa;

	assert_int_equal(kmem_translate(ph.m, va4k + 2 * PG, &pa),
			 DF_ENOTFOUND);
	/* translated, but the page itself is not in the dump */
	expect_pa(ph.m, va4k + 3 * PG, UINT64_C(0x7FFFF000));
	assert_int_equal(kmem_read_virt(ph.m, va4k + 3 * PG, &pa, 8),
			 DF_ENOTFOUND);
	assert_int_equal(
		kmem_translate(ph.m, UINT64_C(0x0000800000000000), &pa),
		DF_EFORMAT);
	assert_int_equal(kmem_translate(ph.m, 0x1000, &pa), DF_ENOTFOUND);
	/* a read across two 4 KiB pages that are not contiguous */
	b[0x7FFF] = 0xAA;
	b[0x9000] = 0xBB;
	uint8_t two[2];

	assert_int_equal(kmem_read_virt(ph.m, va4k + PG - 1, two, 2), DF_OK);
	assert_int_equal(two[0], 0xAA);
	assert_int_equal(two[1], 0xBB);
	assert_int_equal(kmem_read_virt(ph.m, UINT64_MAX, two, 2),
			 DF_ENOTFOUND);
	/* no paging: nothing translates */
	kmem_set_paging(ph.m, KMEM_PAGING_NONE, 0);
	assert_int_equal(kmem_translate(ph.m, va4k, &pa), DF_ENOTFOUND);
	phys_free(&ph);
}

static void test_kmem__pae_walk(void **state)
{
	(void)state;
	struct phys ph;

	phys_new(&ph, 0x400);
	uint8_t *b = ph.b;
	uint64_t pdpt = 0x1020, pd = 2 * PG, pt = 3 * PG; /* PDPT 32-aligned */

	put64(b, pdpt + 8 * 2, pd | 1);		      /* 0x80000000.. */
	put64(b, pd + 8 * 1, 0x200000 | 0x80 | 0x63); /* 2 MiB page */
	put64(b, pd + 8 * 2, pt | 0x63);
	put64(b, pt + 8 * 7, 0x6000 | 0x63);
	kmem_set_paging(ph.m, KMEM_PAGING_PAE, pdpt);
	expect_pa(ph.m, 0x80200000u + 0x12345, 0x212345);
	expect_pa(ph.m, 0x80400000u + 7 * PG + 0x44, 0x6044);
	uint64_t pa;

	assert_int_equal(kmem_translate(ph.m, 0x80400000u + 8 * PG, &pa),
			 DF_ENOTFOUND);
	assert_int_equal(kmem_translate(ph.m, 0xC0000000u, &pa), DF_ENOTFOUND);
	assert_int_equal(kmem_translate(ph.m, UINT64_C(0x100000000), &pa),
			 DF_EFORMAT);
	phys_free(&ph);
}

static void test_kmem__x86_walk(void **state)
{
	(void)state;
	struct phys ph;

	phys_new(&ph, 0x800); /* 8 MiB: room for a 4 MiB page */
	uint8_t *b = ph.b;
	uint64_t pd = 1 * PG, pt = 2 * PG;

	put32(b, pd + 4 * 0x204, 0x400000 | 0x80 | 0x63); /* 4 MiB page */
	put32(b, pd + 4 * 0x205, (uint32_t)pt | 0x63);
	put32(b, pt + 4 * 3, 0x5000 | 0x63);
	put32(b, pt + 4 * 4, 0x5000); /* not present */
	kmem_set_paging(ph.m, KMEM_PAGING_X86, pd | 0x18);
	expect_pa(ph.m, 0x81000000u + 0x3FFFFF, 0x7FFFFF);
	expect_pa(ph.m, 0x81400000u + 3 * PG + 0xFFF, 0x5FFF);
	uint64_t pa;

	assert_int_equal(kmem_translate(ph.m, 0x81400000u + 4 * PG, &pa),
			 DF_ENOTFOUND);
	assert_int_equal(kmem_translate(ph.m, UINT64_C(0x100000000), &pa),
			 DF_EFORMAT);
	phys_free(&ph);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kmem__runs_map_pages_in_file_order),
		cmocka_unit_test(test_kmem__runs_rejects_overlap_and_limits),
		cmocka_unit_test(test_kmem__bitmap_rank_matches_count),
		cmocka_unit_test(test_kmem__bitmap_rejects_bad_geometry),
		cmocka_unit_test(test_kmem__pages_come_from_the_source),
		cmocka_unit_test(test_kmem__x64_walk),
		cmocka_unit_test(test_kmem__pae_walk),
		cmocka_unit_test(test_kmem__x86_walk),
	};

	return cmocka_run_group_tests_name("kmem", tests, NULL, NULL);
}
