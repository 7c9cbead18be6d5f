/*
 * kdump - reader for Windows kernel crash dumps (PAGEDUMP / PAGEDU64).
 *
 * Layout reference: shared docs/formats.md section 2 (2.2-2.5 header,
 * 2.6/2.8 memory of full and bitmap dumps, 2.10 small memory dumps, 2.12
 * translation, 2.13 KDBG, 2.14 loader entries, 2.17 parse order).
 *
 * Shape: the header is read field by field from a table (32- and 64-bit
 * offsets side by side); a field that is not in the file or holds the
 * kernel's "PAGE" fill is absent. Small memory dumps (DumpType 4) then get
 * their TRIAGE_DUMP header, read from a second table, and its parts: the
 * driver list with names from the string pool, unloaded drivers, the
 * crashing processor's context, the call stack (scanned for return
 * addresses inside drivers) and the process image name. Full dumps
 * (DumpType 1) and bitmap dumps (5, 6) get their physical pages mapped by
 * kmem (runs or bitmap) and their virtual addresses translated through
 * DirectoryTableBase; then PsLoadedModuleList (from the header, else from
 * a plain KDBG block) gives the drivers, and the stack is read through
 * the page tables from the header's context: x86 EBP chain, then a scan
 * for return addresses inside drivers. Summary dumps (2) are read the
 * same way once their unconfirmed layout checks out. RDMP dumps keep
 * their header facts only.
 * Damage is recorded with model_add_error() and parsing goes on with what
 * is known. Every string put in the model is copied into the arena.
 */
#include "kdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "diag.h"
#include "kmem.h"
#include "model.h"
#include "reader.h"
#include "text.h"

/* ---- constants (formats.md 2.1-2.5, 2.10) -------------------------------- */

#define KD_HEADER32_SIZE 0x1000u
#define KD_HEADER64_SIZE 0x2000u
#define KD_TRIAGE32_SIZE 0x68u
#define KD_TRIAGE64_SIZE 0x80u
#define KD_PAGE32 0x45474150u                 /* "PAGE" */
#define KD_PAGE64 UINT64_C(0x4547415045474150) /* "PAGEPAGE" */
#define KD_TRIAGE_VALID 0x44475254u /* bytes "TRGD" (formats.md: 54 52 47 44) */
#define KD_COMMENT_LEN 128u
#define KD_COMMENT32_OFF 0x820u
#define KD_COMMENT64_OFF 0x0FB0u
#define KD_CONTEXT32_OFF 0x320u
#define KD_CONTEXT32_LEN 1200u
#define KD_CONTEXT64_OFF 0x348u
#define KD_CONTEXT64_LEN 3000u
#define KD_FILETIME_UNIX UINT64_C(116444736000000000)
#define KD_TICKS_PER_SEC UINT64_C(10000000)
#define KD_IMAGE_NAME_LEN 16u /* EPROCESS.ImageFileName: 15 chars + NUL */
#define KD_UNLOADED_NAME_UNITS 12u
#define KD_ATTR_INSUFFICIENT_SIZE (1u << 2)
#define KD_ATTR_ENCRYPTED (1u << 8)

/* Entries looked at when choosing the driver-entry stride. */
#define KD_STRIDE_PROBE 32u

enum kd_machine {
	MACH_I386 = 0x014C,
	MACH_ARMNT = 0x01C4,
	MACH_IA64 = 0x0200,
	MACH_AMD64 = 0x8664,
	MACH_ARM64 = 0xAA64,
};

enum kd_dump_type {
	DT_FULL = 1,
	DT_SUMMARY = 2,
	DT_HEADER = 3,
	DT_TRIAGE = 4,
	DT_BITMAP_FULL = 5,
	DT_BITMAP_KERNEL = 6,
	DT_AUTOMATIC = 7,
	DT_RDMP_KERNEL = 8,
	DT_RDMP_KERNEL_USER = 9,
	DT_RDMP_COMPLETE = 10,
};

/* ---- field tables -------------------------------------------------------- */

/* A header field: offset and size in the 32- and 64-bit layouts. */
struct kd_fdesc {
	const char *name;
	uint16_t off32;
	uint8_t size32;
	uint16_t off64;
	uint8_t size64;
};

/* DUMP_HEADER32 / DUMP_HEADER64 (2.2, 2.3). */
enum kd_hf {
	HF_MAJOR,
	HF_MINOR,
	HF_PS_LOADED,
	HF_MACHINE,
	HF_NPROC,
	HF_BUGCODE,
	HF_P1,
	HF_P2,
	HF_P3,
	HF_P4,
	HF_KDBG,
	HF_DUMP_TYPE,
	HF_MD_FIELDS,
	HF_PRODUCT,
	HF_SUITE,
	HF_WRITER,
	HF_REQUIRED,
	HF_UPTIME,
	HF_SYSTIME,
	HF_ATTRIBUTES,
	HF_DTB,
	HF_COUNT
};

static const struct kd_fdesc header_fields[HF_COUNT] = {
	[HF_MAJOR] = { "MajorVersion", 0x008, 4, 0x0008, 4 },
	[HF_MINOR] = { "MinorVersion", 0x00C, 4, 0x000C, 4 },
	[HF_PS_LOADED] = { "PsLoadedModuleList", 0x018, 4, 0x0020, 8 },
	[HF_MACHINE] = { "MachineImageType", 0x020, 4, 0x0030, 4 },
	[HF_NPROC] = { "NumberProcessors", 0x024, 4, 0x0034, 4 },
	[HF_BUGCODE] = { "BugCheckCode", 0x028, 4, 0x0038, 4 },
	[HF_P1] = { "BugCheckParameter1", 0x02C, 4, 0x0040, 8 },
	[HF_P2] = { "BugCheckParameter2", 0x030, 4, 0x0048, 8 },
	[HF_P3] = { "BugCheckParameter3", 0x034, 4, 0x0050, 8 },
	[HF_P4] = { "BugCheckParameter4", 0x038, 4, 0x0058, 8 },
	[HF_KDBG] = { "KdDebuggerDataBlock", 0x060, 4, 0x0080, 8 },
	[HF_DUMP_TYPE] = { "DumpType", 0xF88, 4, 0x0F98, 4 },
	[HF_MD_FIELDS] = { "MiniDumpFields", 0xF8C, 4, 0x1038, 4 },
	[HF_PRODUCT] = { "ProductType", 0xF94, 4, 0x1040, 4 },
	[HF_SUITE] = { "SuiteMask", 0xF98, 4, 0x1044, 4 },
	[HF_WRITER] = { "WriterStatus", 0xF9C, 4, 0x1048, 4 },
	[HF_REQUIRED] = { "RequiredDumpSpace", 0xFA0, 8, 0x0FA0, 8 },
	[HF_UPTIME] = { "SystemUpTime", 0xFB8, 8, 0x1030, 8 },
	[HF_SYSTIME] = { "SystemTime", 0xFC0, 8, 0x0FA8, 8 },
	[HF_ATTRIBUTES] = { "Attributes", 0x8A0, 4, 0x1050, 4 },
	[HF_DTB] = { "DirectoryTableBase", 0x010, 4, 0x0010, 8 },
};

/* TRIAGE_DUMP32 / TRIAGE_DUMP64 (2.10); offsets from the triage header. */
enum kd_tf {
	TF_SIZE_OF_DUMP,
	TF_VALID_OFFSET,
	TF_CONTEXT_OFFSET,
	TF_UNLOADED_OFFSET,
	TF_PROCESS_OFFSET,
	TF_THREAD_OFFSET,
	TF_CALLSTACK_OFFSET,
	TF_CALLSTACK_SIZE,
	TF_DRIVER_LIST_OFFSET,
	TF_DRIVER_COUNT,
	TF_STRING_POOL_OFFSET,
	TF_STRING_POOL_SIZE,
	TF_TRIAGE_OPTIONS,
	TF_TOP_OF_STACK,
	TF_COUNT
};

static const struct kd_fdesc triage_fields[TF_COUNT] = {
	[TF_SIZE_OF_DUMP] = { "SizeOfDump", 0x04, 4, 0x04, 4 },
	[TF_VALID_OFFSET] = { "ValidOffset", 0x08, 4, 0x08, 4 },
	[TF_CONTEXT_OFFSET] = { "ContextOffset", 0x0C, 4, 0x0C, 4 },
	[TF_UNLOADED_OFFSET] = { "UnloadedDriversOffset", 0x18, 4, 0x18, 4 },
	[TF_PROCESS_OFFSET] = { "ProcessOffset", 0x20, 4, 0x20, 4 },
	[TF_THREAD_OFFSET] = { "ThreadOffset", 0x24, 4, 0x24, 4 },
	[TF_CALLSTACK_OFFSET] = { "CallStackOffset", 0x28, 4, 0x28, 4 },
	[TF_CALLSTACK_SIZE] = { "SizeOfCallStack", 0x2C, 4, 0x2C, 4 },
	[TF_DRIVER_LIST_OFFSET] = { "DriverListOffset", 0x30, 4, 0x30, 4 },
	[TF_DRIVER_COUNT] = { "DriverCount", 0x34, 4, 0x34, 4 },
	[TF_STRING_POOL_OFFSET] = { "StringPoolOffset", 0x38, 4, 0x38, 4 },
	[TF_STRING_POOL_SIZE] = { "StringPoolSize", 0x3C, 4, 0x3C, 4 },
	[TF_TRIAGE_OPTIONS] = { "TriageOptions", 0x44, 4, 0x44, 4 },
	[TF_TOP_OF_STACK] = { "TopOfStack", 0x48, 4, 0x48, 8 },
};

#define KD_TRIAGE_OVERFLOWED 0x100u

/* Where the registers are in one machine's CONTEXT (1.24). */
static const struct kd_ctx_layout {
	uint32_t machine;
	uint32_t flags_off;
	uint32_t cpu_bit;
	uint32_t ip_off, sp_off, fp_off;
	uint8_t reg_size;
	uint8_t insn_align; /* a return address is a multiple of this */
	uint32_t min_size;  /* bytes up to the last register read */
} ctx_layouts[] = {
	{ MACH_I386, 0x00, 0x00010000u, 0xB8, 0xC4, 0xB4, 4, 1, 0xC8 },
	{ MACH_AMD64, 0x30, 0x00100000u, 0xF8, 0x98, 0xA0, 8, 1, 0x100 },
	{ MACH_ARM64, 0x00, 0x00400000u, 0x108, 0x100, 0xF0, 8, 4, 0x110 },
};

/* IMAGE_FILE_MACHINE -> the model's cpu_arch. */
static const struct {
	uint32_t machine;
	const char *arch;
} machine_names[] = {
	{ MACH_I386, "x86" },
	{ MACH_AMD64, "amd64" },
	{ MACH_ARM64, "arm64" },
	{ MACH_ARMNT, "arm" },
	{ MACH_IA64, "ia64" },
};

static const char *const dump_type_names[] = {
	[DT_FULL] = "full",
	[DT_SUMMARY] = "summary",
	[DT_HEADER] = "header",
	[DT_TRIAGE] = "triage",
	[DT_BITMAP_FULL] = "bitmap-full",
	[DT_BITMAP_KERNEL] = "bitmap-kernel",
	[DT_AUTOMATIC] = "automatic",
	[DT_RDMP_KERNEL] = "rdmp-kernel",
	[DT_RDMP_KERNEL_USER] = "rdmp-kernel-user",
	[DT_RDMP_COMPLETE] = "rdmp-complete",
};

/* Build number -> NT version (2.4); the first row whose min is <= build. */
static const struct {
	uint32_t min_build;
	unsigned major, minor;
	const char *release;
} nt_versions[] = {
	{ 22000, 10, 0, "Windows 11" },
	{ 20348, 10, 0, "Windows Server 2022" },
	{ 10240, 10, 0, "Windows 10" },
	{ 9600, 6, 3, "Windows 8.1" },
	{ 9200, 6, 2, "Windows 8" },
	{ 7600, 6, 1, "Windows 7" },
	{ 6000, 6, 0, "Windows Vista" },
	{ 3790, 5, 2, "Windows Server 2003" },
	{ 2600, 5, 1, "Windows XP" },
	{ 2195, 5, 0, "Windows 2000" },
};

static const char *const product_types[] = {
	[1] = "WinNt",
	[2] = "LanManNt",
	[3] = "ServerNt",
};

/*
 * EPROCESS.ImageFileName per machine and build range. The kernel moves it
 * between builds and no KDBG field names it (2.10): x64 offsets from the
 * public symbol layouts, ARM64 22000 from the corpus dump. A hit is still
 * checked to be a printable, NUL-terminated name.
 */
static const struct {
	uint32_t machine;
	uint32_t build_lo, build_hi;
	uint32_t off;
} image_name_offsets[] = {
	{ MACH_AMD64, 18362, 18363, 0x450 },
	{ MACH_AMD64, 19041, 22631, 0x5A8 },
	{ MACH_AMD64, 26100, 26100, 0x338 },
	{ MACH_ARM64, 22000, 22000, 0x560 },
};

/* ---- parse state --------------------------------------------------------- */

struct kd_regs {
	uint64_t ip, sp, fp;
	unsigned psize;
	unsigned insn_align;
	bool ok;
};

struct kd {
	struct analysis *a;
	struct reader file;
	bool is64;
	uint32_t header_size;

	uint64_t hv[HF_COUNT];
	bool hp[HF_COUNT];     /* in the file and not the PAGE fill */

	uint64_t tv[TF_COUNT]; /* triage header, when has_triage */
	bool has_triage;

	struct kmem *mem;      /* full/bitmap dumps: physical + virtual memory */
	bool has_paging;       /* virtual addresses translate */
};

/* ---- small helpers ------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

/* Borrow N bytes at OFF of R, or NULL when they are not all there. */
static const uint8_t *view_at(const struct reader *r, uint64_t off, size_t n)
{
	return reader_at(r, off, n);
}

/* A value of SIZE (4 or 8) bytes at OFF of R; false when not there. */
static bool value_at(const struct reader *r, uint64_t off, unsigned size,
		     uint64_t *out)
{
	const uint8_t *p = view_at(r, off, size);

	if (p == NULL)
		return false;
	*out = size == 8 ? le64(p) : le32(p);
	return true;
}

static bool is_page_fill(uint64_t v, unsigned size)
{
	return size == 8 ? v == KD_PAGE64 : v == KD_PAGE32;
}

/*
 * UTF-16LE at P (UNITS units, at most KDUMP_MAX_STRING_UNITS) as an arena
 * string; stops at a NUL unit, bad surrogates become U+FFFD.
 */
static const char *utf16_dup(struct kd *k, const uint8_t *p, size_t units)
{
	char buf[3 * KDUMP_MAX_STRING_UNITS + 4];

	text_utf16le_to_utf8(p, units, buf);
	return arena_strdup(k->a->arena, buf);
}

/* ---- the main header ----------------------------------------------------- */

static void read_header_fields(struct kd *k)
{
	for (size_t i = 0; i < HF_COUNT; i++) {
		const struct kd_fdesc *f = &header_fields[i];
		unsigned size = k->is64 ? f->size64 : f->size32;
		uint64_t off = k->is64 ? f->off64 : f->off32;

		k->hp[i] = value_at(&k->file, off, size, &k->hv[i]) &&
			   !is_page_fill(k->hv[i], size);
	}
}

static const char *machine_arch(struct kd *k, uint32_t machine)
{
	for (size_t i = 0; i < ARRAY_SIZE(machine_names); i++)
		if (machine_names[i].machine == machine)
			return machine_names[i].arch;
	return arena_printf(k->a->arena, "0x%04x", machine);
}

static void set_bugcheck(struct kd *k)
{
	struct bugcheck *b = &k->a->bugcheck;

	if (!k->hp[HF_BUGCODE])
		return;
	b->present = true;
	b->code = (uint32_t)k->hv[HF_BUGCODE];
	for (int i = 0; i < 4; i++)
		b->args[i] = k->hp[HF_P1 + i] ? k->hv[HF_P1 + i] : 0;
}

static void set_version(struct kd *k)
{
	struct system_info *si = &k->a->system;

	si->os = "Windows NT";
	if (k->hp[HF_MAJOR])
		model_add_field(k->a, "KD_BUILD_KIND",
				k->hv[HF_MAJOR] == 0xF	 ? "free"
				: k->hv[HF_MAJOR] == 0xC ? "checked"
							 : "unknown");
	if (!k->hp[HF_MINOR])
		return;
	uint32_t build = (uint32_t)k->hv[HF_MINOR];

	si->build = build;
	for (size_t i = 0; i < ARRAY_SIZE(nt_versions); i++) {
		if (build < nt_versions[i].min_build)
			continue;
		si->os_ver = arena_printf(k->a->arena, "%u.%u.%u",
					  nt_versions[i].major,
					  nt_versions[i].minor, build);
		model_add_field(k->a, "OS_RELEASE", nt_versions[i].release);
		return;
	}
	si->os_ver = arena_printf(k->a->arena, "%u", build);
}

static void set_machine(struct kd *k)
{
	struct system_info *si = &k->a->system;

	if (k->hp[HF_MACHINE])
		si->cpu_arch = machine_arch(k, (uint32_t)k->hv[HF_MACHINE]);
	if (k->hp[HF_NPROC])
		si->cpu_count = (uint32_t)k->hv[HF_NPROC];
}

static const char *dump_type_name(struct kd *k)
{
	uint64_t t = k->hv[HF_DUMP_TYPE];

	if (!k->hp[HF_DUMP_TYPE])
		return "unknown";
	if (t < ARRAY_SIZE(dump_type_names) && dump_type_names[t] != NULL)
		return dump_type_names[t];
	return arena_printf(k->a->arena, "0x%llx", (unsigned long long)t);
}

static void set_times(struct kd *k)
{
	if (k->hp[HF_SYSTIME] && k->hv[HF_SYSTIME] >= KD_FILETIME_UNIX)
		k->a->crash_time = (k->hv[HF_SYSTIME] - KD_FILETIME_UNIX) /
				   KD_TICKS_PER_SEC;
	if (k->hp[HF_UPTIME] && k->hv[HF_UPTIME] < (UINT64_C(1) << 63))
		k->a->uptime = k->hv[HF_UPTIME] / KD_TICKS_PER_SEC;
}

/* True when S (N bytes) is nothing but the PAGE fill. */
static bool all_page_fill(const uint8_t *s, size_t n)
{
	static const char fill[4] = { 'P', 'A', 'G', 'E' };

	for (size_t i = 0; i < n; i++)
		if (s[i] != (uint8_t)fill[i % 4])
			return false;
	return n > 0;
}

static void read_comment(struct kd *k)
{
	uint64_t off = k->is64 ? KD_COMMENT64_OFF : KD_COMMENT32_OFF;
	const uint8_t *p = view_at(&k->file, off, KD_COMMENT_LEN);
	char buf[KD_COMMENT_LEN + 1];
	size_t n = 0;

	if (p == NULL)
		return;
	while (n < KD_COMMENT_LEN && p[n] != 0)
		n++;
	if (n == 0 || all_page_fill(p, n))
		return;
	for (size_t i = 0; i < n; i++)
		buf[i] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
	buf[n] = '\0';
	model_add_field(k->a, "COMMENT", buf);
}

static void hex_field(struct kd *k, const char *key, uint64_t v)
{
	char buf[24];

	if (snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v) > 0)
		model_add_field(k->a, key, buf);
}

static void set_product_and_status(struct kd *k)
{
	uint64_t pt = k->hv[HF_PRODUCT];

	if (k->hp[HF_PRODUCT]) {
		if (pt < ARRAY_SIZE(product_types) && product_types[pt])
			model_add_field(k->a, "PRODUCT_TYPE",
					product_types[pt]);
		else
			hex_field(k, "PRODUCT_TYPE", pt);
	}
	if (k->hp[HF_SUITE])
		hex_field(k, "SUITE_MASK", k->hv[HF_SUITE]);
	if (k->hp[HF_WRITER])
		hex_field(k, "WRITER_STATUS", k->hv[HF_WRITER]);
	if (k->hp[HF_ATTRIBUTES]) {
		uint64_t at = k->hv[HF_ATTRIBUTES];

		hex_field(k, "DUMP_ATTRIBUTES", at);
		if (at & KD_ATTR_INSUFFICIENT_SIZE)
			model_add_error(k->a, DF_ETRUNC, false, 0,
					"the dump says the dump file was too "
					"small (InsufficientDumpfileSize)");
		if (at & KD_ATTR_ENCRYPTED)
			model_add_error(k->a, DF_EUNSUPPORTED, false, 0,
					"the dump's page data is encrypted");
	}
}

static bool is_memory_dump(uint64_t t)
{
	return t == DT_FULL || t == DT_SUMMARY || t == DT_BITMAP_FULL ||
	       t == DT_BITMAP_KERNEL || t == DT_AUTOMATIC ||
	       t == DT_RDMP_KERNEL || t == DT_RDMP_KERNEL_USER ||
	       t == DT_RDMP_COMPLETE;
}

/* Dump types whose pages are mapped: full (runs), summary and bitmap. */
static bool has_memory_map(uint64_t t)
{
	return t == DT_FULL || t == DT_SUMMARY || t == DT_BITMAP_FULL ||
	       t == DT_BITMAP_KERNEL;
}

/* What is done for the dump type: triage parts, or a note on the rest. */
static void check_dump_type(struct kd *k, const char *tname)
{
	uint64_t t = k->hv[HF_DUMP_TYPE];

	model_add_field(k->a, "DUMP_TYPE", tname);
	if (!k->hp[HF_DUMP_TYPE]) {
		model_add_error(k->a, DF_EFORMAT, false, 0,
				"the dump type is not in the header");
		return;
	}
	if (!is_memory_dump(t))
		return;
	if (!has_memory_map(t))
		model_add_error(k->a, DF_EUNSUPPORTED, false, 0,
				"%s kernel dump: the memory pages of this "
				"dump type are not read",
				tname);
	if (k->hp[HF_REQUIRED] && k->hv[HF_REQUIRED] > k->file.len)
		model_add_error(k->a, DF_ETRUNC, false, 0,
				"file of %zu bytes is shorter than the %llu "
				"bytes the header says the dump needs",
				k->file.len,
				(unsigned long long)k->hv[HF_REQUIRED]);
}

/* ---- triage parts -------------------------------------------------------- */

static uint64_t tval(const struct kd *k, enum kd_tf f)
{
	return k->tv[f];
}

static void read_triage_header(struct kd *k)
{
	uint32_t size = k->is64 ? KD_TRIAGE64_SIZE : KD_TRIAGE32_SIZE;
	struct reader t;

	if (reader_sub(&k->file, k->header_size, size, &t) != DF_OK) {
		model_add_error(k->a, DF_ETRUNC, true, k->header_size,
				"triage dump header (%u bytes) at offset "
				"0x%x is not in the file (%zu bytes)",
				size, k->header_size, k->file.len);
		return;
	}
	for (size_t i = 0; i < TF_COUNT; i++) {
		const struct kd_fdesc *f = &triage_fields[i];

		value_at(&t, k->is64 ? f->off64 : f->off32,
			 k->is64 ? f->size64 : f->size32, &k->tv[i]);
	}
	k->has_triage = true;
}

static void check_triage_valid(struct kd *k)
{
	uint64_t v = 0, size = tval(k, TF_SIZE_OF_DUMP);
	bool ok = value_at(&k->file, tval(k, TF_VALID_OFFSET), 4, &v) &&
		  v == KD_TRIAGE_VALID;

	if (!ok && size >= 4)
		ok = value_at(&k->file, size - 4, 4, &v) &&
		     v == KD_TRIAGE_VALID;
	if (!ok)
		model_add_error(k->a, DF_EFORMAT, true,
				tval(k, TF_VALID_OFFSET),
				"triage dump validity marker \"TRGD\" not "
				"found at ValidOffset 0x%llx nor at the end "
				"of the dump: the triage parts may be invalid",
				(unsigned long long)tval(k, TF_VALID_OFFSET));
	if (size > k->file.len)
		model_add_error(k->a, DF_ETRUNC, true, 0,
				"file of %zu bytes is shorter than the triage "
				"dump's SizeOfDump (%llu bytes)",
				k->file.len, (unsigned long long)size);
	if (tval(k, TF_TRIAGE_OPTIONS) != KD_PAGE32 &&
	    tval(k, TF_TRIAGE_OPTIONS) != UINT32_MAX &&
	    (tval(k, TF_TRIAGE_OPTIONS) & KD_TRIAGE_OVERFLOWED))
		model_add_error(k->a, DF_ELIMIT, false, 0,
				"the triage dump says its lists were cut "
				"(TRIAGE_OPTION_OVERFLOWED)");
}

/*
 * A view of the part at OFF, N bytes, clamped to the file: records when it
 * starts past the end or is cut. False when nothing of it is there.
 */
static bool part_view(struct kd *k, uint64_t off, uint64_t n,
		      const char *what, struct reader *out)
{
	uint64_t len = k->file.len;

	if (off > len || (off == len && n > 0)) {
		model_add_error(k->a, DF_ETRUNC, true, off,
				"%s at offset 0x%llx starts past the end of "
				"the file (%llu bytes)",
				what, (unsigned long long)off,
				(unsigned long long)len);
		return false;
	}
	if (n > len - off) {
		model_add_error(k->a, DF_ETRUNC, true, off,
				"%s at offset 0x%llx is cut by the end of the "
				"file: %llu of %llu bytes",
				what, (unsigned long long)off,
				(unsigned long long)(len - off),
				(unsigned long long)n);
		n = len - off;
	}
	return reader_sub(&k->file, off, n, out) == DF_OK;
}

/*
 * The DUMP_STRING at absolute offset OFF inside POOL (a view whose base is
 * its file offset). Length is in UTF-16 units, else retried as bytes
 * (2.10). NULL (and an error recorded) when it does not fit.
 */
static const char *pool_string(struct kd *k, const struct reader *pool,
			       uint64_t off, size_t index, unsigned *bad)
{
	uint64_t rel = off - pool->base;
	uint64_t units = 0;

	if (off < pool->base || !value_at(pool, rel, 4, &units)) {
		if ((*bad)++ == 0)
			model_add_error(k->a, DF_EFORMAT, true, off,
					"driver %zu: name offset 0x%llx is "
					"outside the string pool",
					index, (unsigned long long)off);
		return NULL;
	}
	uint64_t room = (pool->len - rel - 4) / 2;

	if (units > room && units % 2 == 0 && units / 2 <= room)
		units /= 2; /* a byte count after all */
	if (units > room || units > KDUMP_MAX_STRING_UNITS) {
		if ((*bad)++ == 0)
			model_add_error(k->a, DF_EFORMAT, true, off,
					"driver %zu: name of %llu units at "
					"offset 0x%llx does not fit the "
					"string pool (%llu units left, at "
					"most %u)",
					index, (unsigned long long)units,
					(unsigned long long)off,
					(unsigned long long)room,
					KDUMP_MAX_STRING_UNITS);
		return NULL;
	}
	const uint8_t *p = reader_at(pool, rel + 4, (size_t)units * 2);

	return p != NULL ? utf16_dup(k, p, (size_t)units) : NULL;
}

/* After a list: how many entries were damaged beyond the first recorded. */
static void bad_summary(struct kd *k, unsigned bad, const char *what,
			uint64_t off)
{
	if (bad > 1)
		model_add_error(k->a, DF_EFORMAT, true, off,
				"%u more damaged %s entries in the list at "
				"offset 0x%llx",
				bad - 1, what, (unsigned long long)off);
}

/* Loader-entry layout of one DUMP_DRIVER_ENTRY of STRIDE bytes. */
struct kd_drv_layout {
	uint32_t stride;
	uint32_t base_off, size_off, ts_off; /* ts_off 0: none */
};

static struct kd_drv_layout driver_layout(const struct kd *k, uint32_t stride)
{
	if (k->is64) {
		/* u32 name offset, u32 pad, KLDR_DATA_TABLE_ENTRY64 (2.14) */
		uint32_t ts = stride >= 8 + 0xA0 ? 8 + 0x9C
			      : stride >= 8 + 0x84 ? 8 + 0x80
						   : 0;
		return (struct kd_drv_layout){ stride, 8 + 0x30, 8 + 0x40,
					       ts };
	}
	/* u32 name offset, then LDR_DATA_TABLE_ENTRY32 */
	return (struct kd_drv_layout){ stride, 4 + 0x18, 4 + 0x20,
				       stride >= 4 + 0x48 ? 4 + 0x44 : 0 };
}

/* How many of the first entries look right under layout L. */
static unsigned stride_score(const struct kd *k, const struct reader *pool,
			     struct kd_drv_layout l, uint64_t list, uint64_t n)
{
	unsigned good = 0;

	for (uint64_t i = 0; i < n && i < KD_STRIDE_PROBE; i++) {
		uint64_t e = list + i * l.stride, name, base, size;
		unsigned ps = k->is64 ? 8 : 4;

		if (!value_at(&k->file, e, 4, &name) ||
		    !value_at(&k->file, e + l.base_off, ps, &base) ||
		    !value_at(&k->file, e + l.size_off, 4, &size))
			break;
		if (name >= pool->base && name - pool->base < pool->len &&
		    size != 0 && base % 0x1000 == 0 &&
		    base >= (k->is64 ? UINT64_C(0xFFFF800000000000)
				     : UINT64_C(0x80000000)))
			good++;
	}
	return good;
}

/* The entry stride: derived from the pool offset, else the best guess. */
static uint32_t pick_stride(const struct kd *k, const struct reader *pool,
			    uint64_t list, uint64_t n)
{
	static const uint32_t cand64[] = { 0xA8, 0x98, 0x90 };
	static const uint32_t cand32[] = { 0x4C, 0x54, 0x7C };
	const uint32_t *cand = k->is64 ? cand64 : cand32;
	size_t ncand = k->is64 ? ARRAY_SIZE(cand64) : ARRAY_SIZE(cand32);
	uint64_t pool_off = tval(k, TF_STRING_POOL_OFFSET);
	uint32_t min = k->is64 ? 0x90 : 0x4C, best = cand[0];
	unsigned best_score = 0;

	if (n > 0 && pool_off > list) {
		uint64_t d = (pool_off - list) / n;

		if (d >= min && d <= 0x100) {
			best = (uint32_t)d;
			best_score = stride_score(
				k, pool, driver_layout(k, best), list, n);
		}
	}
	for (size_t i = 0; i < ncand; i++) {
		unsigned s = stride_score(k, pool, driver_layout(k, cand[i]),
					  list, n);

		if (s > best_score) {
			best_score = s;
			best = cand[i];
		}
	}
	return best;
}

static void add_driver(struct kd *k, const char *name, uint64_t base,
		       uint64_t size, uint32_t ts, uint64_t off)
{
	struct module *mod = model_add_module(k->a);

	if (mod == NULL) {
		model_add_error(k->a, DF_ELIMIT, true, off,
				"driver list: model cap of %d modules reached",
				MODEL_MAX_MODULES);
		return;
	}
	mod->filename = text_path_base(name);
	if (mod->filename != name)
		mod->path = name;
	mod->base = base;
	mod->size = size;
	mod->end = base + size - 1;
	mod->timestamp = ts;
	mod->code_id = arena_printf(k->a->arena, "%08X%llx", ts,
				    (unsigned long long)size);
}

/* One driver entry at E; the first damaged entry is recorded, *BAD counts. */
static void read_driver(struct kd *k, const struct reader *pool,
			struct kd_drv_layout l, uint64_t e, size_t index,
			unsigned *bad)
{
	uint64_t name_off = 0, base = 0, size = 0, ts = 0;
	unsigned ps = k->is64 ? 8 : 4;

	if (!value_at(&k->file, e, 4, &name_off) ||
	    !value_at(&k->file, e + l.base_off, ps, &base) ||
	    !value_at(&k->file, e + l.size_off, 4, &size) ||
	    (l.ts_off != 0 && !value_at(&k->file, e + l.ts_off, 4, &ts)))
		return; /* the caller checked the entry is in the file */
	if (size == 0 || base > UINT64_MAX - (size - 1)) {
		if ((*bad)++ == 0)
			model_add_error(k->a, DF_EFORMAT, true, e,
					"driver %zu at offset 0x%llx has an "
					"invalid range 0x%llx+0x%llx",
					index, (unsigned long long)e,
					(unsigned long long)base,
					(unsigned long long)size);
		return;
	}
	const char *name = pool_string(k, pool, name_off, index, bad);

	if (name != NULL)
		add_driver(k, name, base, size, (uint32_t)ts, e);
}

static void read_driver_list(struct kd *k)
{
	uint64_t list = tval(k, TF_DRIVER_LIST_OFFSET);
	uint64_t n = tval(k, TF_DRIVER_COUNT);
	struct reader pool;

	if (n == 0 || list == 0)
		return;
	if (n > KDUMP_MAX_DRIVERS) {
		model_add_error(k->a, DF_ELIMIT, true, list,
				"%llu drivers in the triage dump, only the "
				"first %u are read",
				(unsigned long long)n, KDUMP_MAX_DRIVERS);
		n = KDUMP_MAX_DRIVERS;
	}
	if (!part_view(k, tval(k, TF_STRING_POOL_OFFSET),
		       tval(k, TF_STRING_POOL_SIZE), "string pool", &pool))
		reader_init(&pool, NULL, 0);
	pool.base = tval(k, TF_STRING_POOL_OFFSET);

	struct kd_drv_layout l = driver_layout(k, pick_stride(k, &pool, list,
							      n));
	unsigned bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = list + i * l.stride;

		if (view_at(&k->file, e, l.stride) == NULL) {
			model_add_error(k->a, DF_ETRUNC, true, e,
					"driver list cut at entry %llu of %llu "
					"(offset 0x%llx)",
					(unsigned long long)i,
					(unsigned long long)n,
					(unsigned long long)e);
			break;
		}
		read_driver(k, &pool, l, e, (size_t)i, &bad);
	}
	bad_summary(k, bad, "driver", list);
}

/* DUMP_UNLOADED_DRIVERS32/64 (2.10). */
struct kd_unl_layout {
	uint32_t size, name_len_off, name_off, start_off, end_off;
};

static const struct kd_unl_layout unl32 = { 40, 0x00, 0x08, 0x20, 0x24 };
static const struct kd_unl_layout unl64 = { 56, 0x00, 0x10, 0x28, 0x30 };

static bool unloaded_plausible(const struct kd *k, uint64_t e,
			       const struct kd_unl_layout *l)
{
	unsigned ps = k->is64 ? 8 : 4;
	uint64_t s, en;

	return value_at(&k->file, e + l->start_off, ps, &s) &&
	       value_at(&k->file, e + l->end_off, ps, &en) && s < en;
}

static void read_unloaded_entry(struct kd *k, const struct kd_unl_layout *l,
				uint64_t e, size_t index, unsigned *bad)
{
	unsigned ps = k->is64 ? 8 : 4;
	uint64_t start = 0, end = 0, nlen = 0;
	const uint8_t *name = view_at(&k->file, e + l->name_off,
				      2 * KD_UNLOADED_NAME_UNITS);

	if (name == NULL || !value_at(&k->file, e + l->start_off, ps, &start) ||
	    !value_at(&k->file, e + l->end_off, ps, &end) ||
	    !value_at(&k->file, e + l->name_len_off, 4, &nlen))
		return; /* the caller checked the entry is in the file */
	if (start >= end) {
		if ((*bad)++ == 0)
			model_add_error(k->a, DF_EFORMAT, true, e,
					"unloaded driver %zu at offset 0x%llx "
					"has an invalid range 0x%llx-0x%llx",
					index, (unsigned long long)e,
					(unsigned long long)start,
					(unsigned long long)end);
		return;
	}
	size_t units = (size_t)(nlen & 0xFFFF) / 2;

	if (units == 0 || units > KD_UNLOADED_NAME_UNITS)
		units = KD_UNLOADED_NAME_UNITS;
	struct module *mod = model_add_module(k->a);

	if (mod == NULL) {
		model_add_error(k->a, DF_ELIMIT, true, e,
				"unloaded drivers: model cap of %d modules "
				"reached",
				MODEL_MAX_MODULES);
		return;
	}
	mod->filename = utf16_dup(k, name, units);
	mod->base = start;
	mod->size = end - start;
	mod->end = end - 1;
	mod->unloaded = true;
}

static void read_unloaded(struct kd *k)
{
	uint64_t off = tval(k, TF_UNLOADED_OFFSET), n = 0;
	const struct kd_unl_layout *l = k->is64 ? &unl64 : &unl32;

	if (off == 0)
		return;
	if (!value_at(&k->file, off, 4, &n)) {
		model_add_error(k->a, DF_ETRUNC, true, off,
				"unloaded driver list at offset 0x%llx is "
				"not in the file",
				(unsigned long long)off);
		return;
	}
	if (n > KDUMP_MAX_UNLOADED) {
		model_add_error(k->a, DF_ELIMIT, true, off,
				"%llu unloaded drivers, only the first %u "
				"are read",
				(unsigned long long)n, KDUMP_MAX_UNLOADED);
		n = KDUMP_MAX_UNLOADED;
	}
	/* The first entry follows the count at +8 (64-bit) or +4 (2.10). */
	uint64_t first = off + (k->is64 ? 8 : 4);

	if (k->is64 && n > 0 && !unloaded_plausible(k, first, l) &&
	    unloaded_plausible(k, off + 4, l))
		first = off + 4;
	unsigned bad = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = first + i * l->size;

		if (view_at(&k->file, e, l->size) == NULL) {
			model_add_error(k->a, DF_ETRUNC, true, e,
					"unloaded driver list cut at entry "
					"%llu of %llu (offset 0x%llx)",
					(unsigned long long)i,
					(unsigned long long)n,
					(unsigned long long)e);
			break;
		}
		read_unloaded_entry(k, l, e, (size_t)i, &bad);
	}
	bad_summary(k, bad, "unloaded driver", off);
}

/* ---- context, stack, process --------------------------------------------- */

static const struct kd_ctx_layout *ctx_layout(uint32_t machine)
{
	for (size_t i = 0; i < ARRAY_SIZE(ctx_layouts); i++)
		if (ctx_layouts[i].machine == machine)
			return &ctx_layouts[i];
	return NULL;
}

/* Registers from the CONTEXT at OFF (triage ContextOffset or header). */
static struct kd_regs read_context(struct kd *k, uint64_t off)
{
	struct kd_regs r = { 0, 0, 0, 0, 1, false };
	uint32_t machine = (uint32_t)k->hv[HF_MACHINE];
	const struct kd_ctx_layout *l = ctx_layout(machine);
	uint64_t flags = 0;

	if (!k->hp[HF_MACHINE])
		return r; /* no machine, no layout: nothing to say */
	if (l == NULL) {
		model_add_error(k->a, DF_EUNSUPPORTED, false, 0,
				"no context layout for machine 0x%04x",
				machine);
		return r;
	}
	const uint8_t *p = view_at(&k->file, off, l->min_size);

	if (p == NULL) {
		model_add_error(k->a, DF_ETRUNC, true, off,
				"context record at offset 0x%llx is not in "
				"the file",
				(unsigned long long)off);
		return r;
	}
	flags = le32(p + l->flags_off);
	if ((flags & l->cpu_bit) == 0 || (flags & 0x3) == 0) {
		model_add_error(k->a, DF_EFORMAT, true, off,
				"context record at offset 0x%llx: "
				"ContextFlags 0x%08llx lack the CPU or "
				"control bits of machine 0x%04x",
				(unsigned long long)off,
				(unsigned long long)flags, machine);
		return r;
	}
	bool w = l->reg_size == 8;

	r.ip = w ? le64(p + l->ip_off) : le32(p + l->ip_off);
	r.sp = w ? le64(p + l->sp_off) : le32(p + l->sp_off);
	r.fp = w ? le64(p + l->fp_off) : le32(p + l->fp_off);
	r.psize = l->reg_size;
	r.insn_align = l->insn_align;
	r.ok = true;
	return r;
}

/* Append a frame at ADDR; callers are reported at the call (ADDR - 1). */
static bool add_frame(struct kd *k, struct thread *t, uint64_t addr,
		      enum frame_trust trust)
{
	if (t->frames.n >= KDUMP_MAX_FRAMES)
		return false;
	struct frame *f = model_add_frame(k->a, t);

	if (f == NULL)
		return false;
	/* As minidump.c: a return address points past the call. */
	if (trust != TRUST_CONTEXT && addr > 0)
		addr--;
	const struct module *mod = model_module_at(k->a, addr);

	f->address = addr;
	f->has_address = true;
	f->trust = trust;
	if (mod != NULL) {
		f->module = mod->filename;
		f->module_offset = addr - mod->base;
		f->has_module_offset = true;
	}
	return true;
}

/* ---- full and bitmap dumps: memory (2.6, 2.8, 2.12) ---------------------- */

#define KD_DESC32_OFF 0x064u
#define KD_DESC64_OFF 0x088u
#define KD_DESC_LEN 700u
#define KD_PAE32_OFF 0x05Cu
#define KD_SUB_SDMP 0x504D4453u /* "SDMP" */
#define KD_SUB_FDMP 0x504D4446u /* "FDMP" */
#define KD_SUB_DUMP 0x504D5544u /* "DUMP" */
#define KD_SUB_LEN 0x38u        /* bitmap sub-header up to the bitmap */
#define KD_KDBG_TAG 0x4742444Bu /* "KDBG" */
#define KD_KDBG_PSLOADED 0x48u
#define KD_KDBG_SIZE_MIN 0x50u

/* PHYSICAL_MEMORY_DESCRIPTOR32/64 of the header (2.6) as kmem runs. */
static bool map_runs(struct kd *k)
{
	uint64_t at = k->is64 ? KD_DESC64_OFF : KD_DESC32_OFF;
	unsigned w = k->is64 ? 8 : 4, hdr = k->is64 ? 16 : 8;
	uint64_t nruns = 0, npages = 0, sum = 0;
	struct kmem_run runs[KD_DESC_LEN / 8] = { { 0, 0 } };
	struct diag d;

	if (view_at(&k->file, at, KD_DESC_LEN) == NULL) {
		model_add_error(k->a, DF_ETRUNC, true, at,
				"physical memory descriptor at offset 0x%llx "
				"is not in the file",
				(unsigned long long)at);
		return false;
	}
	value_at(&k->file, at, 4, &nruns);
	value_at(&k->file, at + (k->is64 ? 8 : 4), w, &npages);
	if (is_page_fill(nruns, 4)) {
		model_add_error(k->a, DF_EFORMAT, true, at,
				"full dump without a physical memory "
				"descriptor: no memory pages can be read");
		return false;
	}
	if (nruns > (KD_DESC_LEN - hdr) / (2 * w)) {
		model_add_error(k->a, DF_EFORMAT, true, at,
				"physical memory descriptor claims %llu runs, "
				"%u fit the header",
				(unsigned long long)nruns,
				(KD_DESC_LEN - hdr) / (2 * w));
		return false;
	}
	for (uint64_t i = 0; i < nruns; i++) {
		value_at(&k->file, at + hdr + 2 * w * i, w, &runs[i].base_page);
		value_at(&k->file, at + hdr + 2 * w * i + w, w, &runs[i].pages);
		sum += runs[i].pages < KMEM_MAX_PFNS ? runs[i].pages : 0;
	}
	diag_init(&d);
	if (kmem_map_runs(k->mem, k->header_size, runs, (size_t)nruns, &d) !=
	    DF_OK) {
		model_add_error(k->a, d.code, true, at,
				"physical memory descriptor: %s", d.msg);
		return false;
	}
	if (sum != npages)
		model_add_error(k->a, DF_EFORMAT, true, at,
				"physical memory descriptor: the runs hold "
				"%llu pages, NumberOfPages says %llu",
				(unsigned long long)sum,
				(unsigned long long)npages);
	return true;
}

/* The SDMP/FDMP sub-header and its page bitmap (2.8). */
static bool map_bitmap(struct kd *k)
{
	uint64_t at = k->header_size, sig = 0, valid = 0;
	uint64_t first = 0, present = 0, bits = 0;
	struct diag d;

	if (!value_at(&k->file, at, 4, &sig) ||
	    !value_at(&k->file, at + 4, 4, &valid) ||
	    !value_at(&k->file, at + 0x20, 8, &first) ||
	    !value_at(&k->file, at + 0x28, 8, &present) ||
	    !value_at(&k->file, at + 0x30, 8, &bits)) {
		model_add_error(k->a, DF_ETRUNC, true, at,
				"bitmap dump sub-header at offset 0x%llx is "
				"not in the file",
				(unsigned long long)at);
		return false;
	}
	if ((sig != KD_SUB_SDMP && sig != KD_SUB_FDMP) ||
	    valid != KD_SUB_DUMP) {
		model_add_error(k->a, DF_EFORMAT, true, at,
				"bitmap dump sub-header signature 0x%08llx/"
				"0x%08llx is not SDMP or FDMP / DUMP",
				(unsigned long long)sig,
				(unsigned long long)valid);
		return false;
	}
	model_add_field(k->a, "BITMAP_KIND",
			sig == KD_SUB_FDMP ? "complete" : "kernel");
	diag_init(&d);
	if (kmem_map_bitmap(k->mem, at + KD_SUB_LEN, bits, first, present,
			    &d) != DF_OK) {
		model_add_error(k->a, d.code, true, at, "bitmap dump: %s",
				d.msg);
		return false;
	}
	return true;
}

/*
 * SUMMARY_DUMP32/64 (2.7): the layout is unconfirmed, so it is used only
 * when its bitmap has exactly Pages bits set and the pages start after
 * it; otherwise the bitmap-dump layout (2.8) is tried at the same place.
 * The field SUMMARY_LAYOUT says which one was used.
 */
static bool map_summary(struct kd *k)
{
	uint64_t at = k->header_size, first = 0, bits = 0, pages = 0;
	uint64_t bitmap = at + (k->is64 ? 0x28 : 0x20);
	struct diag d;

	diag_init(&d);
	if (value_at(&k->file, at + 0x0C, 4, &first) &&
	    value_at(&k->file, at + 0x10, 4, &bits) &&
	    value_at(&k->file, at + 0x14, 4, &pages) &&
	    kmem_map_bitmap(k->mem, bitmap, bits, first, pages, &d) == DF_OK &&
	    kmem_pages_mapped(k->mem) == pages) {
		model_add_field(k->a, "SUMMARY_LAYOUT", "summary");
		return true;
	}
	if (!map_bitmap(k) || kmem_pages_claimed(k->mem) == 0 ||
	    kmem_pages_mapped(k->mem) != kmem_pages_claimed(k->mem)) {
		model_add_error(k->a, DF_EFORMAT, true, at,
				"summary dump: neither the SUMMARY_DUMP nor "
				"the bitmap layout checks out (%s)",
				d.msg[0] ? d.msg : "page count differs");
		return false;
	}
	model_add_field(k->a, "SUMMARY_LAYOUT", "bitmap");
	return true;
}

/* 32-bit paging: the header's PaeEnabled, or a probe when it is unset. */
static enum kmem_paging paging_x86(struct kd *k)
{
	const uint8_t *pae = view_at(&k->file, KD_PAE32_OFF, 1);

	if (pae != NULL && (*pae == 0 || *pae == 1))
		return *pae ? KMEM_PAGING_PAE : KMEM_PAGING_X86;
	/*
	 * PAGE fill or another value (2.12): PAE has been the default since
	 * XP SP2; keep it when it reads PsLoadedModuleList back.
	 */
	uint8_t b[8];

	kmem_set_paging(k->mem, KMEM_PAGING_PAE, k->hv[HF_DTB]);
	if (k->hp[HF_PS_LOADED] &&
	    kmem_read_virt(k->mem, k->hv[HF_PS_LOADED], b, sizeof(b)) == DF_OK)
		return KMEM_PAGING_PAE;
	return KMEM_PAGING_X86;
}

static void set_paging(struct kd *k)
{
	uint32_t machine = (uint32_t)k->hv[HF_MACHINE];
	enum kmem_paging mode = KMEM_PAGING_NONE;

	if (!k->hp[HF_DTB]) {
		model_add_error(k->a, DF_EFORMAT, false, 0,
				"no DirectoryTableBase in the header: virtual "
				"addresses cannot be translated");
		return;
	}
	if (k->hp[HF_MACHINE] && machine == MACH_AMD64)
		mode = KMEM_PAGING_X64;
	else if (k->hp[HF_MACHINE] && machine == MACH_I386)
		mode = paging_x86(k);
	if (mode == KMEM_PAGING_NONE) {
		model_add_error(k->a, DF_EUNSUPPORTED, false, 0,
				"page tables of machine 0x%04x are not read: "
				"no driver list or stack from memory",
				machine);
		return;
	}
	kmem_set_paging(k->mem, mode, k->hv[HF_DTB]);
	k->has_paging = true;
	model_add_field(k->a, "PAGING",
			mode == KMEM_PAGING_X64	  ? "x64"
			: mode == KMEM_PAGING_PAE ? "x86-pae"
						  : "x86");
}

/* Map the physical pages by dump type; false when there are none. */
static bool open_memory(struct kd *k)
{
	uint64_t t = k->hv[HF_DUMP_TYPE];

	if (k->hp[HF_ATTRIBUTES] && (k->hv[HF_ATTRIBUTES] & KD_ATTR_ENCRYPTED))
		return false; /* recorded with the attributes */
	k->mem = kmem_new(k->file.data, k->file.len);
	if (k->mem != NULL)
		kmem_set_src(k->mem, k->file.src);
	if (k->mem == NULL) {
		model_add_error(k->a, DF_ENOMEM, false, 0,
				"no memory to map the dump's pages");
		return false;
	}
	if (!(t == DT_FULL      ? map_runs(k)
	      : t == DT_SUMMARY ? map_summary(k)
				: map_bitmap(k)))
		return false;
	uint64_t claimed = kmem_pages_claimed(k->mem);
	uint64_t have = kmem_pages_in_file(k->mem);

	if (claimed == 0)
		model_add_error(k->a, DF_EFORMAT, false, 0,
				"the dump's memory map claims no pages");
	else if (have < claimed)
		model_add_error(k->a, DF_ETRUNC, false, 0,
				"the file holds %llu of the %llu memory "
				"pages the dump claims",
				(unsigned long long)have,
				(unsigned long long)claimed);
	hex_field(k, "MEMORY_PAGES", claimed);
	set_paging(k);
	return k->has_paging;
}

/* A pointer (4 or 8 bytes) at VA; false when not readable. */
static bool read_ptr(struct kd *k, uint64_t va, uint64_t *out)
{
	uint8_t b[8];

	if (kmem_read_virt(k->mem, va, b, k->is64 ? 8 : 4) != DF_OK)
		return false;
	*out = k->is64 ? le64(b) : le32(b);
	return true;
}

/* ---- PsLoadedModuleList (2.13, 2.14) ------------------------------------- */

/* KLDR_DATA_TABLE_ENTRY fields used, 32- and 64-bit. */
struct kd_ldr_layout {
	uint32_t len;      /* bytes read: through BaseDllName */
	uint32_t blink, base, size, full_name, base_name;
	uint32_t str_buf;  /* UNICODE_STRING.Buffer offset */
};

static const struct kd_ldr_layout ldr64 = { 0x68, 0x08, 0x30, 0x40,
					    0x48, 0x58, 0x08 };
static const struct kd_ldr_layout ldr32 = { 0x34, 0x04, 0x18, 0x20,
					    0x24, 0x2C, 0x04 };

/*
 * The loader entry's TimeDateStamp: x64 0x9C from Windows 10 (WDK 10),
 * 0x80 before (the debugger's fixed KLDR_DATA_TABLE_ENTRY64); x86 0x44
 * (KLDR_DATA_TABLE_ENTRY32; unconfirmed for Windows 8+ x86).
 */
static uint32_t ldr_ts_off(const struct kd *k)
{
	if (!k->is64)
		return 0x44;
	return k->hp[HF_MINOR] && k->hv[HF_MINOR] >= 10240 ? 0x9C : 0x80;
}

/*
 * The list head: the header's PsLoadedModuleList, else the one in the
 * KDBG block (KdDebuggerDataBlock) when it is stored plain ("KDBG" tag).
 */
static bool module_list_head(struct kd *k, uint64_t *head)
{
	uint8_t b[KD_KDBG_SIZE_MIN];
	uint64_t kdbg = k->hv[HF_KDBG];

	if (k->hp[HF_PS_LOADED]) {
		*head = k->hv[HF_PS_LOADED];
		model_add_field(k->a, "MODULE_LIST_FROM", "header");
		return true;
	}
	if (!k->hp[HF_KDBG] ||
	    kmem_read_virt(k->mem, kdbg, b, sizeof(b)) != DF_OK ||
	    le32(b + 0x10) != KD_KDBG_TAG || le32(b + 0x14) < sizeof(b)) {
		model_add_error(k->a, DF_EFORMAT, false, 0,
				"no PsLoadedModuleList in the header and no "
				"readable KDBG block: no driver list");
		return false;
	}
	/* 32-bit kernels store sign-extended pointers in the KDBG (2.13). */
	*head = k->is64 ? le64(b + KD_KDBG_PSLOADED)
			: le32(b + KD_KDBG_PSLOADED);
	model_add_field(k->a, "MODULE_LIST_FROM", "KdDebuggerDataBlock");
	return true;
}

/* A UNICODE_STRING at E+OFF of entry bytes P, as an arena string. */
static const char *ldr_string(struct kd *k, const uint8_t *p, uint32_t off,
			      uint32_t buf_off)
{
	uint8_t text[2 * KDUMP_MAX_STRING_UNITS];
	uint32_t len = (uint32_t)(p[off] | (p[off + 1] << 8));
	uint32_t max = (uint32_t)(p[off + 2] | (p[off + 3] << 8));
	uint64_t buf = k->is64 ? le64(p + off + buf_off)
			       : le32(p + off + buf_off);

	if (len == 0 || len % 2 != 0 || len > max || len > sizeof(text) ||
	    kmem_read_virt(k->mem, buf, text, len) != DF_OK)
		return NULL;
	return utf16_dup(k, text, len / 2);
}

/* IMAGE_FILE_HEADER.TimeDateStamp of the image at BASE, when readable. */
static bool pe_timestamp(struct kd *k, uint64_t base, uint32_t *ts)
{
	uint8_t dos[0x40], nt[12];

	if (kmem_read_virt(k->mem, base, dos, sizeof(dos)) != DF_OK ||
	    dos[0] != 'M' || dos[1] != 'Z')
		return false;
	uint32_t lfanew = le32(dos + 0x3C);

	if (lfanew >= KMEM_PAGE_SIZE ||
	    kmem_read_virt(k->mem, base + lfanew, nt, sizeof(nt)) != DF_OK ||
	    memcmp(nt, "PE\0\0", 4) != 0)
		return false;
	*ts = le32(nt + 8);
	return true;
}

/* One loader entry at VA; false (recorded) when it cannot be read. */
static bool read_ldr_entry(struct kd *k, uint64_t va, uint64_t prev,
			   size_t index, uint64_t *next)
{
	const struct kd_ldr_layout *l = k->is64 ? &ldr64 : &ldr32;
	uint8_t p[0x68];
	uint8_t tsb[4];
	uint32_t ts = 0;

	if (kmem_read_virt(k->mem, va, p, l->len) != DF_OK) {
		model_add_error(k->a, DF_ETRUNC, false, 0,
				"module list cut at entry %zu: 0x%llx is not "
				"in the dump",
				index, (unsigned long long)va);
		return false;
	}
	uint64_t blink = k->is64 ? le64(p + l->blink) : le32(p + l->blink);

	/* A doubly linked list: a wrong Blink means a loop or damage. */
	if (blink != prev) {
		model_add_error(k->a, DF_EFORMAT, false, 0,
				"module list broken at entry %zu (0x%llx): "
				"Blink 0x%llx is not the previous entry 0x%llx",
				index, (unsigned long long)va,
				(unsigned long long)blink,
				(unsigned long long)prev);
		return false;
	}
	*next = k->is64 ? le64(p) : le32(p);
	uint64_t base = k->is64 ? le64(p + l->base) : le32(p + l->base);
	uint64_t size = le32(p + l->size);
	const char *full = ldr_string(k, p, l->full_name, l->str_buf);
	const char *name = ldr_string(k, p, l->base_name, l->str_buf);

	if (name == NULL && full != NULL)
		name = text_path_base(full);
	if (name == NULL || size == 0 || base > UINT64_MAX - (size - 1)) {
		model_add_error(k->a, DF_EFORMAT, false, 0,
				"module list entry %zu (0x%llx) has no name "
				"or an invalid range 0x%llx+0x%llx",
				index, (unsigned long long)va,
				(unsigned long long)base,
				(unsigned long long)size);
		return true; /* skip it, the links are sound */
	}
	if (!pe_timestamp(k, base, &ts) &&
	    kmem_read_virt(k->mem, va + ldr_ts_off(k), tsb, 4) == DF_OK)
		ts = le32(tsb);
	size_t before = k->a->modules.n;

	add_driver(k, full != NULL ? full : name, base, size, ts, va);
	/* The file name is BaseDllName, whatever FullDllName ends with. */
	if (k->a->modules.n > before)
		k->a->modules.v[before].filename = name;
	return true;
}

/* Walk PsLoadedModuleList: cap, Blink check, stop on unreadable entries. */
static void read_module_list(struct kd *k)
{
	uint64_t head, cur, prev;
	size_t n = 0;

	if (!module_list_head(k, &head))
		return;
	if (!read_ptr(k, head, &cur)) {
		model_add_error(k->a, DF_ETRUNC, false, 0,
				"PsLoadedModuleList 0x%llx is not in the dump",
				(unsigned long long)head);
		return;
	}
	for (prev = head; cur != head; n++) {
		uint64_t next = 0;

		if (n == KDUMP_MAX_DRIVERS) {
			model_add_error(k->a, DF_ELIMIT, false, 0,
					"module list longer than %u entries: "
					"only the first are read",
					KDUMP_MAX_DRIVERS);
			break;
		}
		if (!read_ldr_entry(k, cur, prev, n, &next))
			break;
		prev = cur;
		cur = next;
	}
}

/* ---- the stack, read through the page tables ----------------------------- */

/* x86 EBP chain from FP while it climbs the stack above SP; *END past it. */
static void walk_frame_pointers(struct kd *k, struct thread *t,
				struct kd_regs r, uint64_t *end)
{
	uint64_t fp = r.fp;

	while (t->frames.n < KDUMP_MAX_FRAMES) {
		uint8_t b[8];

		if (fp < r.sp || fp - r.sp > KDUMP_MAX_STACK || fp % 4 != 0 ||
		    kmem_read_virt(k->mem, fp, b, sizeof(b)) != DF_OK)
			break;
		uint64_t saved = le32(b), ret = le32(b + 4);

		if (model_module_at(k->a, ret) == NULL ||
		    !add_frame(k, t, ret, TRUST_FRAME_POINTER))
			break;
		*end = fp + 8;
		if (saved <= fp)
			break;
		fp = saved;
	}
}

/*
 * Frames of the crashing processor in a memory dump: the frame-pointer
 * chain where the machine keeps one (x86), then a scan of the stack from
 * where the chain stopped for words that point into loaded drivers, page
 * by page until a page is not in the dump or KDUMP_MAX_SCAN bytes.
 */
static void walk_memory_stack(struct kd *k, struct thread *t,
			      struct kd_regs r)
{
	uint8_t page[KMEM_PAGE_SIZE];
	uint64_t at = r.sp, scanned = 0;

	if (!k->is64)
		walk_frame_pointers(k, t, r, &at);
	at += (r.psize - at % r.psize) % r.psize;
	t->stack_start = r.sp;
	if (at < r.sp)
		return; /* the stack pointer is at the top of the address space */
	while (scanned < KDUMP_MAX_SCAN && t->frames.n < KDUMP_MAX_FRAMES) {
		size_t n = KMEM_PAGE_SIZE - (size_t)(at % KMEM_PAGE_SIZE);

		if (kmem_read_virt(k->mem, at, page, n) != DF_OK)
			break;
		for (size_t i = 0; i + r.psize <= n; i += r.psize) {
			uint64_t v = r.psize == 8 ? le64(page + i)
						  : le32(page + i);

			if (v % r.insn_align == 0 &&
			    model_module_at(k->a, v) != NULL &&
			    !add_frame(k, t, v, TRUST_SCAN))
				break;
		}
		scanned += n;
		if (at > UINT64_MAX - n)
			break;
		at += n;
	}
	t->stack_size = at - t->stack_start;
}

/*
 * The VA of the first call-stack byte: TopOfStack when the stack pointer
 * lies in [Top, Top + size), else Top - size when it lies below Top
 * (2.10, unconfirmed which one Windows means); recorded when neither.
 */
static uint64_t stack_va(struct kd *k, uint64_t sp, uint64_t size,
			 uint64_t off)
{
	uint64_t top = tval(k, TF_TOP_OF_STACK);

	if (sp >= top && sp - top < size)
		return top;
	if (sp < top && top - sp <= size && top >= size)
		return top - size;
	model_add_error(k->a, DF_EFORMAT, true, off,
			"stack pointer 0x%llx is outside the call stack "
			"saved for TopOfStack 0x%llx (%llu bytes)",
			(unsigned long long)sp, (unsigned long long)top,
			(unsigned long long)size);
	return top;
}

/* Scan the saved call stack from SP for return addresses into drivers. */
static void scan_stack(struct kd *k, struct thread *t, struct kd_regs r)
{
	uint64_t off = tval(k, TF_CALLSTACK_OFFSET);
	uint64_t size = tval(k, TF_CALLSTACK_SIZE);
	struct reader st;

	if (off == 0 || size == 0)
		return;
	if (size > KDUMP_MAX_STACK) {
		model_add_error(k->a, DF_ELIMIT, true, off,
				"call stack of %llu bytes, only the first "
				"%llu are read",
				(unsigned long long)size,
				(unsigned long long)KDUMP_MAX_STACK);
		size = KDUMP_MAX_STACK;
	}
	if (!part_view(k, off, size, "call stack", &st))
		return;
	uint64_t va = stack_va(k, r.sp, size, off);
	uint64_t from = r.sp >= va && r.sp - va < st.len ? r.sp - va : 0;

	from += (r.psize - from % r.psize) % r.psize;
	t->stack_start = va;
	t->stack_size = st.len;
	for (uint64_t at = from; t->frames.n < KDUMP_MAX_FRAMES;
	     at += r.psize) {
		uint64_t v;

		if (!value_at(&st, at, r.psize, &v))
			break;
		if (v % r.insn_align == 0 && model_module_at(k->a, v) != NULL &&
		    !add_frame(k, t, v, TRUST_SCAN))
			break;
	}
}

/* EPROCESS.ImageFileName from the triage copy of the current process. */
static const char *process_image(struct kd *k)
{
	uint64_t proc = tval(k, TF_PROCESS_OFFSET);
	uint32_t machine = (uint32_t)k->hv[HF_MACHINE];
	uint32_t build = (uint32_t)k->hv[HF_MINOR];

	if (proc == 0 || !k->hp[HF_MINOR] || !k->hp[HF_MACHINE])
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(image_name_offsets); i++) {
		if (image_name_offsets[i].machine != machine ||
		    build < image_name_offsets[i].build_lo ||
		    build > image_name_offsets[i].build_hi)
			continue;
		const uint8_t *p = view_at(
			&k->file, proc + image_name_offsets[i].off,
			KD_IMAGE_NAME_LEN);
		size_t n = 0;

		if (p == NULL)
			return NULL;
		while (n < KD_IMAGE_NAME_LEN && p[n] >= 0x20 && p[n] < 0x7F)
			n++;
		if (n == 0 || n == KD_IMAGE_NAME_LEN || p[n] != 0)
			return NULL;
		return arena_strndup(k->a->arena, (const char *)p, n);
	}
	return NULL;
}

/* The crashing processor as the crashing thread, with its frames. */
static void read_crashing_thread(struct kd *k)
{
	uint64_t ctx = k->is64 ? KD_CONTEXT64_OFF : KD_CONTEXT32_OFF;

	if (k->has_triage && tval(k, TF_CONTEXT_OFFSET) != 0)
		ctx = tval(k, TF_CONTEXT_OFFSET);
	struct kd_regs r = read_context(k, ctx);

	if (!r.ok)
		return;
	struct thread *t = model_add_thread(k->a);

	if (t == NULL) {
		model_add_error(k->a, DF_ENOMEM, false, 0,
				"no memory for the crashing thread");
		return;
	}
	t->ip = r.ip;
	t->sp = r.sp;
	t->has_context = true;
	t->process = k->a->process_name;
	k->a->crash.crashing_thread = (long)(k->a->threads.n - 1);
	k->a->crash.ip = r.ip;
	k->a->crash.has_ip = true;
	model_index_modules(k->a);
	add_frame(k, t, r.ip, TRUST_CONTEXT);
	if (k->has_triage)
		scan_stack(k, t, r);
	else if (k->has_paging)
		walk_memory_stack(k, t, r);
}

static void read_triage(struct kd *k)
{
	read_triage_header(k);
	if (!k->has_triage)
		return;
	check_triage_valid(k);
	read_driver_list(k);
	read_unloaded(k);
	k->a->process_name = process_image(k);
}

/* ---- driver -------------------------------------------------------------- */

bool kdump_probe(const uint8_t *data, size_t len)
{
	return data != NULL && len >= 8 && memcmp(data, "PAGE", 4) == 0 &&
	       (memcmp(data + 4, "DUMP", 4) == 0 ||
		memcmp(data + 4, "DU64", 4) == 0);
}

static void set_header_facts(struct kd *k)
{
	const char *tname = dump_type_name(k);

	set_bugcheck(k);
	set_version(k);
	set_machine(k);
	set_times(k);
	read_comment(k);
	set_product_and_status(k);
	k->a->format_detail = arena_printf(k->a->arena, "%s %s",
					   k->is64 ? "PAGEDU64" : "PAGEDUMP",
					   tname);
	check_dump_type(k, tname);
}

int kdump_read(struct analysis *a, const uint8_t *data, size_t len)
{
	return kdump_read_src(a, data, len, NULL);
}

int kdump_read_src(struct analysis *a, const uint8_t *data, size_t len,
		   const struct reader_src *src)
{
	struct kd *k = arena_alloc(a->arena, sizeof(*k));

	a->format = FORMAT_KERNEL_DUMP;
	if (k == NULL)
		return model_add_error(a, DF_ENOMEM, false, 0,
				       "no memory to read the kernel dump");
	memset(k, 0, sizeof(*k));
	k->a = a;
	reader_init(&k->file, data, data != NULL ? len : 0);
	reader_set_src(&k->file, src);
	if (!kdump_probe(data, len))
		return model_add_error(a, DF_EFORMAT, true, 0,
				       "not a kernel dump: no PAGEDUMP or "
				       "PAGEDU64 signature");
	k->is64 = memcmp(data + 4, "DU64", 4) == 0;
	k->header_size = k->is64 ? KD_HEADER64_SIZE : KD_HEADER32_SIZE;
	if (len < k->header_size)
		model_add_error(a, DF_ETRUNC, true, 0,
				"file of %zu bytes is shorter than the %s "
				"kernel dump header (%u bytes)",
				len, k->is64 ? "64-bit" : "32-bit",
				k->header_size);
	read_header_fields(k);
	set_header_facts(k);
	if (k->hp[HF_DUMP_TYPE] && k->hv[HF_DUMP_TYPE] == DT_TRIAGE)
		read_triage(k);
	else if (k->hp[HF_DUMP_TYPE] && has_memory_map(k->hv[HF_DUMP_TYPE]) &&
		 open_memory(k))
		read_module_list(k);
	read_crashing_thread(k);
	kmem_destroy(&k->mem);
	return DF_OK;
}
