/*
 * kmem - physical and virtual memory of a kernel memory dump.
 *
 * A view over the dump's bytes (normally a read-only memory map of the
 * file) that answers "where in the file is physical page P" for full dumps
 * (PHYSICAL_MEMORY_DESCRIPTOR runs, formats.md 2.6) and bitmap dumps (one
 * bit per page, pages stored back to back in PFN order, 2.8), and
 * translates virtual addresses through the page tables rooted at the
 * header's DirectoryTableBase (2.12): x64 4-level with 1 GiB and 2 MiB
 * pages, x86 PAE (3-level, 2 MiB pages) and x86 without PAE (2-level,
 * 4 MiB pages).
 *
 * Only the pages asked for are touched. A bitmap is never scanned whole:
 * a rank index (set bits before each block of KMEM_RANK_BLOCK_BITS bits)
 * is built lazily up to the highest block looked up so far, so a lookup
 * costs one index entry plus a popcount inside one block. Memory is one
 * u64 per block, capped through KMEM_MAX_PFNS.
 *
 * Everything in the dump is untrusted: every file offset is checked
 * against the length, a page that is not in the file (not in any run,
 * bit clear, or past the end of a truncated file) is "not in the dump"
 * (DF_ENOTFOUND), never zeros.
 */
#ifndef FORMATS_KMEM_H
#define FORMATS_KMEM_H

#include <stddef.h>
#include <stdint.h>

#define KMEM_PAGE_SIZE	4096u
#define KMEM_PAGE_SHIFT 12
/* Bits per rank-index entry: 512 bytes of bitmap, 16 MiB of memory. */
#define KMEM_RANK_BLOCK_BITS 4096u
/*
 * Physical pages a dump may describe: 2^32 pages = 16 TiB of RAM, more
 * than any dump seen; the rank index is then at most 8 MiB.
 */
#define KMEM_MAX_PFNS (UINT64_C(1) << 32)
/* PHYSICAL_MEMORY_DESCRIPTOR runs: 86 fit the 32-bit header, 42 the 64. */
#define KMEM_MAX_RUNS 128u

struct diag;
struct kmem;

/* How virtual addresses are translated (2.12). */
enum kmem_paging {
	KMEM_PAGING_NONE = 0, /* no translation: every VA is unreadable */
	KMEM_PAGING_X64,      /* 4-level, 8-byte entries */
	KMEM_PAGING_PAE,      /* x86 PAE: 3-level, 8-byte entries */
	KMEM_PAGING_X86,      /* x86 without PAE: 2-level, 4-byte entries */
};

/* One run of physical pages of a full dump. */
struct kmem_run {
	uint64_t base_page; /* first PFN of the run */
	uint64_t pages;	    /* pages in the run */
};

/*
 * A view over the LEN bytes at DATA (borrowed: they must outlive the
 * kmem). No pages are mapped until kmem_map_runs or kmem_map_bitmap.
 * NULL on ENOMEM.
 */
struct kmem *kmem_new(const uint8_t *data, size_t len);

/* Free *MP and set it to NULL. NULL-safe. */
void kmem_destroy(struct kmem **mp);

/*
 * Bytes of the file that may not be resident yet come from SRC
 * (reader.h; borrowed, NULL: all resident): the bitmap and every page are
 * made resident before they are read. A byte that cannot be is "not in
 * the dump".
 */
struct reader_src;
void kmem_set_src(struct kmem *m, const struct reader_src *src);

/*
 * Full dump: the N RUNS are stored back to back from file offset FIRST,
 * in the order given. Rejects (DF_EFORMAT) overlapping runs or a page
 * count that overflows, DF_ELIMIT past KMEM_MAX_RUNS or KMEM_MAX_PFNS.
 * Pages past the end of the file simply stay unreadable: see
 * kmem_pages_claimed() and kmem_pages_in_file(). Reason in D.
 */
int kmem_map_runs(struct kmem *m, uint64_t first, const struct kmem_run *runs,
		  size_t n, struct diag *d);

/*
 * Bitmap dump: BITS bits at file offset BITMAP (bit p & 7 of byte p >> 3
 * set = page p is in the file), pages back to back from file offset
 * FIRST in ascending PFN order; PRESENT is what the header claims is the
 * number of set bits (used for the truncation figures, not trusted for
 * lookups). DF_ETRUNC when the bitmap is not all in the file, DF_EFORMAT
 * when it overlaps the pages, DF_ELIMIT past KMEM_MAX_PFNS. Reason in D.
 */
int kmem_map_bitmap(struct kmem *m, uint64_t bitmap, uint64_t bits,
		    uint64_t first, uint64_t present, struct diag *d);

/* Pages the dump says it holds, and how many of them the file has room for. */
uint64_t kmem_pages_claimed(const struct kmem *m);
uint64_t kmem_pages_in_file(const struct kmem *m);

/*
 * Bitmap dumps: the number of set bits in the whole bitmap (this builds
 * the whole rank index, so it reads the whole bitmap once); runs: the
 * pages of the runs. For layouts that must be checked before use.
 * UINT64_MAX on ENOMEM.
 */
uint64_t kmem_pages_mapped(struct kmem *m);

/*
 * The 4 KiB of physical page PFN inside the file (borrowed), or NULL when
 * the page is not in the dump. *OFF (if not NULL) gets its file offset.
 */
const uint8_t *kmem_page(struct kmem *m, uint64_t pfn, uint64_t *off);

/* Copy N bytes at physical address PA. DF_OK or DF_ENOTFOUND. */
int kmem_read_phys(struct kmem *m, uint64_t pa, void *out, size_t n);

/* Translate from now on with MODE and the root table DTB (CR3). */
void kmem_set_paging(struct kmem *m, enum kmem_paging mode, uint64_t dtb);

/*
 * The physical address of VA. DF_OK; DF_ENOTFOUND when an entry on the
 * way is not present or its page is not in the dump; DF_EFORMAT when VA
 * cannot exist in the mode (non-canonical x64, above 4 GiB on x86).
 */
int kmem_translate(struct kmem *m, uint64_t va, uint64_t *pa);

/* Copy N bytes at virtual address VA (page by page). As kmem_translate. */
int kmem_read_virt(struct kmem *m, uint64_t va, void *out, size_t n);

#endif /* FORMATS_KMEM_H */
