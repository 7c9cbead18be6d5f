/*
 * kmem - physical pages of full and bitmap kernel dumps, and the page walk.
 *
 * Facts: formats.md 2.6 (runs), 2.8 (bitmap), 2.12 (translation). The
 * runs are kept sorted by base page with the file page index of their
 * first page, so a lookup is a binary search. The bitmap is left in the
 * file; rank[b] = set bits in blocks 0..b-1, filled on demand up to
 * rank_built blocks.
 */
#include "kmem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "diag.h"
#include "reader.h"

enum kmem_kind {
	KMEM_NONE,
	KMEM_RUNS,
	KMEM_BITMAP,
};

/* A run with the index of its first page among the stored pages. */
struct run {
	uint64_t base, pages, index;
};

struct kmem {
	const uint8_t *data;
	size_t len;
	enum kmem_kind kind;
	uint64_t first;	  /* file offset of stored page 0 */
	uint64_t claimed; /* pages the dump says it holds */

	struct run *runs; /* KMEM_RUNS: sorted by base */
	size_t nruns;

	const uint8_t *bitmap; /* KMEM_BITMAP: in the file */
	uint64_t bits;
	uint64_t *rank; /* set bits before each block */
	uint64_t nblocks;
	uint64_t rank_built; /* entries of rank that are valid */

	enum kmem_paging paging;
	uint64_t dtb;
	const struct reader_src *src; /* NULL: every byte is resident */
	uint64_t bitmap_off;          /* file offset of the bitmap */
};

/* Entry bits shared by every mode (2.12). */
#define PTE_PRESENT UINT64_C(0x1)
#define PTE_LARGE   UINT64_C(0x80)
#define FRAME_MASK  UINT64_C(0x000FFFFFFFFFF000)
#define FRAME_1G    UINT64_C(0x000FFFFFC0000000)
#define FRAME_2M    UINT64_C(0x000FFFFFFFE00000)

struct kmem *kmem_new(const uint8_t *data, size_t len)
{
	struct kmem *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->data = data;
	m->len = data != NULL ? len : 0;
	return m;
}

void kmem_destroy(struct kmem **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	free((*mp)->runs);
	free((*mp)->rank);
	free(*mp);
	*mp = NULL;
}

/* Stored pages the file has room for after FIRST. */
static uint64_t room_pages(const struct kmem *m)
{
	return m->first < m->len ? (m->len - m->first) / KMEM_PAGE_SIZE : 0;
}

uint64_t kmem_pages_claimed(const struct kmem *m)
{
	return m->claimed;
}

uint64_t kmem_pages_in_file(const struct kmem *m)
{
	uint64_t room = room_pages(m);

	return m->claimed < room ? m->claimed : room;
}

/* ---- full dumps: runs ---------------------------------------------------- */

static int cmp_run(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

int kmem_map_runs(struct kmem *m, uint64_t first, const struct kmem_run *runs,
		  size_t n, struct diag *d)
{
	if (n > KMEM_MAX_RUNS)
		return diag_fail(d, DF_ELIMIT, "%zu memory runs (limit %u)", n,
				 KMEM_MAX_RUNS);
	struct run *r = calloc(n ? n : 1, sizeof(*r));
	uint64_t index = 0;

	if (r == NULL)
		return diag_fail(d, DF_ENOMEM, "no memory for %zu runs", n);
	for (size_t i = 0; i < n; i++) {
		if (runs[i].pages > KMEM_MAX_PFNS ||
		    runs[i].base_page > KMEM_MAX_PFNS - runs[i].pages) {
			free(r);
			return diag_fail(d, DF_ELIMIT,
					 "memory run %zu (page 0x%llx, %llu "
					 "pages) is beyond %llu pages",
					 i,
					 (unsigned long long)runs[i].base_page,
					 (unsigned long long)runs[i].pages,
					 (unsigned long long)KMEM_MAX_PFNS);
		}
		r[i] = (struct run){runs[i].base_page, runs[i].pages, index};
		index += runs[i].pages; /* <= n * 2^32: no overflow */
	}
	qsort(r, n, sizeof(*r), cmp_run);
	for (size_t i = 1; i < n; i++) {
		if (r[i].base < r[i - 1].base + r[i - 1].pages) {
			uint64_t at = r[i].base;

			free(r);
			return diag_fail(d, DF_EFORMAT,
					 "memory runs overlap at page 0x%llx",
					 (unsigned long long)at);
		}
	}
	free(m->runs);
	m->runs = r;
	m->nruns = n;
	m->kind = KMEM_RUNS;
	m->first = first;
	m->claimed = index;
	return DF_OK;
}

/* Stored-page index of PFN in the runs, or false. */
static bool runs_index(const struct kmem *m, uint64_t pfn, uint64_t *index)
{
	size_t lo = 0, hi = m->nruns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct run *r = &m->runs[mid];

		if (pfn < r->base) {
			hi = mid;
		} else if (pfn - r->base >= r->pages) {
			lo = mid + 1;
		} else {
			*index = r->index + (pfn - r->base);
			return true;
		}
	}
	return false;
}

/* ---- bitmap dumps: lazy rank index --------------------------------------- */

int kmem_map_bitmap(struct kmem *m, uint64_t bitmap, uint64_t bits,
		    uint64_t first, uint64_t present, struct diag *d)
{
	uint64_t bytes = bits / 8 + (bits % 8 != 0);

	if (bits > KMEM_MAX_PFNS)
		return diag_fail(d, DF_ELIMIT,
				 "page bitmap of %llu bits (limit %llu)",
				 (unsigned long long)bits,
				 (unsigned long long)KMEM_MAX_PFNS);
	if (bitmap > m->len || bytes > m->len - bitmap)
		return diag_fail_at(d, DF_ETRUNC, bitmap,
				    "page bitmap of %llu bytes at offset "
				    "0x%llx is not in the file (%zu bytes)",
				    (unsigned long long)bytes,
				    (unsigned long long)bitmap, m->len);
	if (first < bitmap + bytes)
		return diag_fail_at(d, DF_EFORMAT, bitmap,
				    "first page at offset 0x%llx lies inside "
				    "the page bitmap (0x%llx..0x%llx)",
				    (unsigned long long)first,
				    (unsigned long long)bitmap,
				    (unsigned long long)(bitmap + bytes));
	free(m->rank);
	m->rank = NULL;
	m->rank_built = 0;
	m->nblocks = bits / KMEM_RANK_BLOCK_BITS +
		     (bits % KMEM_RANK_BLOCK_BITS != 0);
	m->bitmap = m->data + bitmap;
	m->bitmap_off = bitmap;
	m->bits = bits;
	m->kind = KMEM_BITMAP;
	m->first = first;
	m->claimed = present;
	return DF_OK;
}

void kmem_set_src(struct kmem *m, const struct reader_src *src)
{
	m->src = src;
}

/* Bytes [OFF, OFF+N) of the file made resident (they are inside it). */
static bool resident(const struct kmem *m, uint64_t off, uint64_t n)
{
	return m->src == NULL || n == 0 ||
	       m->src->ensure(m->src->ctx, off, n) == DF_OK;
}

/* Bitmap bytes for bits [FROM, FROM+NBITS) made resident. */
static bool bits_resident(const struct kmem *m, uint64_t from, uint64_t nbits)
{
	uint64_t end = (from + nbits + 7) / 8;

	return resident(m, m->bitmap_off + from / 8, end - from / 8);
}

/* Set bits among the first NBITS bits from byte P (whole bytes first). */
static uint64_t popcount_bits(const uint8_t *p, uint64_t nbits)
{
	uint64_t n = 0, i = 0;

	for (; i + 64 <= nbits; i += 64) {
		uint64_t w = 0;

		memcpy(&w, p + i / 8, 8);
		n += (uint64_t)__builtin_popcountll(w);
	}
	for (; i + 8 <= nbits; i += 8)
		n += (uint64_t)__builtin_popcount(p[i / 8]);
	if (i < nbits)
		n += (uint64_t)__builtin_popcount(p[i / 8] &
						  ((1u << (nbits - i)) - 1));
	return n;
}

/* Set bits in the whole block B (never the last, partial one). */
static uint64_t block_count(const struct kmem *m, uint64_t b)
{
	return popcount_bits(m->bitmap + b * (KMEM_RANK_BLOCK_BITS / 8),
			     KMEM_RANK_BLOCK_BITS);
}

/* Make rank[0..block] valid; false on ENOMEM. */
static bool rank_upto(struct kmem *m, uint64_t block)
{
	if (m->rank == NULL) {
		m->rank = malloc(m->nblocks * sizeof(*m->rank));
		if (m->rank == NULL)
			return false;
	}
	while (m->rank_built <= block) {
		uint64_t b = m->rank_built;

		if (b > 0 && !bits_resident(m, (b - 1) * KMEM_RANK_BLOCK_BITS,
					    KMEM_RANK_BLOCK_BITS))
			return false;
		m->rank[b] =
			b == 0 ? 0 : m->rank[b - 1] + block_count(m, b - 1);
		m->rank_built++;
	}
	return true;
}

uint64_t kmem_pages_mapped(struct kmem *m)
{
	if (m->kind == KMEM_RUNS)
		return m->claimed;
	if (m->kind != KMEM_BITMAP || m->nblocks == 0)
		return 0;
	uint64_t last = m->nblocks - 1;

	if (!rank_upto(m, last) ||
	    !bits_resident(m, last * KMEM_RANK_BLOCK_BITS,
			   m->bits - last * KMEM_RANK_BLOCK_BITS))
		return UINT64_MAX;
	return m->rank[last] +
	       popcount_bits(m->bitmap + last * (KMEM_RANK_BLOCK_BITS / 8),
			     m->bits - last * KMEM_RANK_BLOCK_BITS);
}

/* Stored-page index of PFN in the bitmap, or false. */
static bool bitmap_index(struct kmem *m, uint64_t pfn, uint64_t *index)
{
	if (pfn >= m->bits || !bits_resident(m, pfn, 1) ||
	    !(m->bitmap[pfn / 8] & (1u << (pfn % 8))))
		return false;
	uint64_t block = pfn / KMEM_RANK_BLOCK_BITS;

	if (!rank_upto(m, block))
		return false;
	uint64_t start = block * KMEM_RANK_BLOCK_BITS;

	if (!bits_resident(m, start, pfn - start))
		return false;

	*index = m->rank[block] +
		 popcount_bits(m->bitmap + start / 8, pfn - start);
	return true;
}

/* ---- physical reads ------------------------------------------------------ */

const uint8_t *kmem_page(struct kmem *m, uint64_t pfn, uint64_t *off)
{
	uint64_t index;
	bool found = false;

	if (m->kind == KMEM_RUNS)
		found = runs_index(m, pfn, &index);
	else if (m->kind == KMEM_BITMAP)
		found = bitmap_index(m, pfn, &index);
	if (!found || index >= room_pages(m))
		return NULL;
	uint64_t at = m->first + index * KMEM_PAGE_SIZE;

	if (!resident(m, at, KMEM_PAGE_SIZE))
		return NULL;
	if (off != NULL)
		*off = at;
	return m->data + at;
}

int kmem_read_phys(struct kmem *m, uint64_t pa, void *out, size_t n)
{
	uint8_t *o = out;

	while (n > 0) {
		uint64_t in = pa % KMEM_PAGE_SIZE;
		size_t chunk = KMEM_PAGE_SIZE - in < n
				       ? (size_t)(KMEM_PAGE_SIZE - in)
				       : n;
		const uint8_t *p = kmem_page(m, pa / KMEM_PAGE_SIZE, NULL);

		if (p == NULL)
			return DF_ENOTFOUND;
		memcpy(o, p + in, chunk);
		o += chunk;
		n -= chunk;
		if (n > 0 && pa > UINT64_MAX - chunk)
			return DF_ENOTFOUND;
		pa += chunk;
	}
	return DF_OK;
}

/* ---- translation (2.12) -------------------------------------------------- */

void kmem_set_paging(struct kmem *m, enum kmem_paging mode, uint64_t dtb)
{
	m->paging = mode;
	m->dtb = dtb;
}

/*
 * The entry at physical address PA (SIZE 4 or 8 bytes), if present.
 * Transition and prototype PTEs (Present clear, bits 10/11 set) may still
 * name a page in RAM, but reading them needs knowledge of the memory
 * manager's software formats that differs between builds: every entry
 * without the Present bit is treated as unreadable.
 */
static int entry_at(struct kmem *m, uint64_t pa, unsigned size, uint64_t *entry)
{
	uint8_t b[8] = {0};

	if (kmem_read_phys(m, pa, b, size) != DF_OK)
		return DF_ENOTFOUND;
	*entry = 0;
	for (unsigned i = 0; i < size; i++)
		*entry |= (uint64_t)b[i] << (8 * i);
	return (*entry & PTE_PRESENT) ? DF_OK : DF_ENOTFOUND;
}

static int walk_x64(struct kmem *m, uint64_t va, uint64_t *pa)
{
	uint64_t top = va >> 47;
	uint64_t e;

	if (top != 0 && top != 0x1FFFF)
		return DF_EFORMAT; /* not canonical */
	/* Low 12 bits of CR3 may hold a PCID, bit 63 a flag: drop both. */
	if (entry_at(m, (m->dtb & FRAME_MASK) + 8 * ((va >> 39) & 0x1FF), 8,
		     &e) != DF_OK ||
	    entry_at(m, (e & FRAME_MASK) + 8 * ((va >> 30) & 0x1FF), 8, &e) !=
		    DF_OK)
		return DF_ENOTFOUND;
	if (e & PTE_LARGE) {
		*pa = (e & FRAME_1G) | (va & 0x3FFFFFFF);
		return DF_OK;
	}
	if (entry_at(m, (e & FRAME_MASK) + 8 * ((va >> 21) & 0x1FF), 8, &e) !=
	    DF_OK)
		return DF_ENOTFOUND;
	if (e & PTE_LARGE) {
		*pa = (e & FRAME_2M) | (va & 0x1FFFFF);
		return DF_OK;
	}
	if (entry_at(m, (e & FRAME_MASK) + 8 * ((va >> 12) & 0x1FF), 8, &e) !=
	    DF_OK)
		return DF_ENOTFOUND;
	*pa = (e & FRAME_MASK) | (va & 0xFFF);
	return DF_OK;
}

static int walk_pae(struct kmem *m, uint64_t va, uint64_t *pa)
{
	uint64_t e;

	if (va > UINT32_MAX)
		return DF_EFORMAT;
	/* PDPTEs have no large-page bit in PAE mode. */
	if (entry_at(m, (m->dtb & 0xFFFFFFE0u) + 8 * ((va >> 30) & 3), 8, &e) !=
		    DF_OK ||
	    entry_at(m, (e & FRAME_MASK) + 8 * ((va >> 21) & 0x1FF), 8, &e) !=
		    DF_OK)
		return DF_ENOTFOUND;
	if (e & PTE_LARGE) {
		*pa = (e & FRAME_2M) | (va & 0x1FFFFF);
		return DF_OK;
	}
	if (entry_at(m, (e & FRAME_MASK) + 8 * ((va >> 12) & 0x1FF), 8, &e) !=
	    DF_OK)
		return DF_ENOTFOUND;
	*pa = (e & FRAME_MASK) | (va & 0xFFF);
	return DF_OK;
}

static int walk_x86(struct kmem *m, uint64_t va, uint64_t *pa)
{
	uint64_t e;

	if (va > UINT32_MAX)
		return DF_EFORMAT;
	if (entry_at(m, (m->dtb & 0xFFFFF000u) + 4 * ((va >> 22) & 0x3FF), 4,
		     &e) != DF_OK)
		return DF_ENOTFOUND;
	if (e & PTE_LARGE) {
		/* 4 MiB page; PSE-36 high address bits are ignored. */
		*pa = (e & 0xFFC00000u) | (va & 0x3FFFFF);
		return DF_OK;
	}
	if (entry_at(m, (e & 0xFFFFF000u) + 4 * ((va >> 12) & 0x3FF), 4, &e) !=
	    DF_OK)
		return DF_ENOTFOUND;
	*pa = (e & 0xFFFFF000u) | (va & 0xFFF);
	return DF_OK;
}

int kmem_translate(struct kmem *m, uint64_t va, uint64_t *pa)
{
	switch (m->paging) {
	case KMEM_PAGING_X64:
		return walk_x64(m, va, pa);
	case KMEM_PAGING_PAE:
		return walk_pae(m, va, pa);
	case KMEM_PAGING_X86:
		return walk_x86(m, va, pa);
	case KMEM_PAGING_NONE:
		break;
	}
	return DF_ENOTFOUND;
}

int kmem_read_virt(struct kmem *m, uint64_t va, void *out, size_t n)
{
	uint8_t *o = out;

	while (n > 0) {
		uint64_t in = va % KMEM_PAGE_SIZE, pa;
		size_t chunk = KMEM_PAGE_SIZE - in < n
				       ? (size_t)(KMEM_PAGE_SIZE - in)
				       : n;
		int rc = kmem_translate(m, va, &pa);

		if (rc != DF_OK)
			return rc;
		rc = kmem_read_phys(m, pa, o, chunk);
		if (rc != DF_OK)
			return rc;
		o += chunk;
		n -= chunk;
		if (n > 0 && va > UINT64_MAX - chunk)
			return DF_EFORMAT; /* the range wraps */
		va += chunk;
	}
	return DF_OK;
}
