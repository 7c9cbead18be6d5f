/*
 * minidump - reader for Windows user-mode minidumps (and the Breakpad /
 * Crashpad variants of the container).
 *
 * Layout reference: shared docs/formats.md section 1. Names and numbers the
 * model carries (OS, CPU, crash reason, crash address, module identifiers)
 * follow what Breakpad's minidump_stackwalk prints, so that the two can be
 * compared dump by dump.
 *
 * Shape: the header and directory are read first; then a table of stream
 * handlers (stream type -> function) is walked in a fixed order, each
 * handler getting a bounds-checked view of its stream; then the stacks are
 * walked (the crashing thread's from the exception context into `frames`
 * and, when it differs, from its own saved context into `own_frames`).
 * Damage in one stream is recorded with model_add_error() and the other
 * streams are still read. Every string put in the model is copied into the
 * analysis arena.
 */
#include "minidump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "mdstreams.h"
#include "model.h"
#include "reader.h"
#include "text.h"
#include "stackwalk.h"
#include "symbols.h"

/* ---- constants (formats.md 1.2-1.25) ---------------------------------- */

#define MD_SIGNATURE 0x504D444Du /* "MDMP" */
#define MD_SIGNATURE_SWAPPED 0x4D444D50u
#define MD_VERSION 0xA793u
#define MD_HEADER_SIZE 32u
#define MD_DIRENT_SIZE 12u

enum md_stream_type {
	MD_THREAD_LIST = 3,
	MD_MODULE_LIST = 4,
	MD_MEMORY_LIST = 5,
	MD_EXCEPTION = 6,
	MD_SYSTEM_INFO = 7,
	MD_THREAD_EX_LIST = 8,
	MD_MEMORY64_LIST = 9,
	MD_COMMENT_A = 10,
	MD_COMMENT_W = 11,
	MD_HANDLE_DATA = 12,
	MD_UNLOADED_MODULE_LIST = 14,
	MD_MISC_INFO = 15,
	MD_MEMORY_INFO_LIST = 16,
	MD_THREAD_INFO_LIST = 17,
	MD_HANDLE_OPERATION_LIST = 18,
	MD_TOKEN = 19,
	MD_THREAD_NAMES = 24,
	MD_BREAKPAD_INFO = 0x47670001,
	MD_LINUX_CPU_INFO = 0x47670003,
	MD_LINUX_PROC_STATUS = 0x47670004,
	MD_LINUX_LSB_RELEASE = 0x47670005,
	MD_LINUX_CMD_LINE = 0x47670006,
	MD_LINUX_ENVIRON = 0x47670007,
	MD_LINUX_AUXV = 0x47670008,
	MD_LINUX_MAPS = 0x47670009,
	MD_LINUX_DSO_DEBUG = 0x4767000A,
	MD_CRASHPAD_INFO = 0x43500001,
};

#define MD_THREAD_SIZE 48u
#define MD_THREAD_EX_SIZE 64u
#define MD_MODULE_SIZE 108u
#define MD_MEMDESC_SIZE 16u
#define MD_EXCEPTION_STREAM_SIZE 168u
#define MD_SYSTEM_INFO_SIZE 56u
#define MD_UNLOADED_MODULE_SIZE 24u
#define MD_HANDLE_DESC_SIZE 32u
#define MD_THREAD_NAME_SIZE 12u
#define MD_MISC_INFO_MIN 24u
#define MD_EXCEPTION_MAX_PARAMS 15u
#define MD_MAX_HANDLES (1u << 20)
#define MD_VSFIXED_SIGNATURE 0xFEEF04BDu
#define MD_VSFIXED_VERSION 0x00010000u

#define CV_RSDS 0x53445352u /* "RSDS" */
#define CV_NB10 0x3031424Eu /* "NB10" */
#define CV_ELF 0x4270454Cu  /* "LEpB" */
#define CV_RSDS_MIN 24u
#define CV_NB10_MIN 16u
#define MISC_RECORD_MIN 12u

/* ProcessorArchitecture (1.13). */
enum md_arch {
	ARCH_X86 = 0,
	ARCH_MIPS = 1,
	ARCH_ALPHA = 2,
	ARCH_PPC = 3,
	ARCH_SHX = 4,
	ARCH_ARM = 5,
	ARCH_IA64 = 6,
	ARCH_ALPHA64 = 7,
	ARCH_MSIL = 8,
	ARCH_AMD64 = 9,
	ARCH_X86_WIN64 = 10,
	ARCH_ARM64 = 12,
	ARCH_SPARC = 0x8001,
	ARCH_PPC64 = 0x8002,
	ARCH_ARM64_OLD = 0x8003,
	ARCH_MIPS64 = 0x8004,
	ARCH_RISCV = 0x8005,
	ARCH_RISCV64 = 0x8006,
};

/* PlatformId (1.13). */
enum md_platform {
	OS_WIN32S = 0,
	OS_WIN32_WINDOWS = 1,
	OS_WIN32_NT = 2,
	OS_WIN32_CE = 3,
	OS_UNIX = 0x8000,
	OS_MAC = 0x8101,
	OS_IOS = 0x8102,
	OS_LINUX = 0x8201,
	OS_SOLARIS = 0x8202,
	OS_ANDROID = 0x8203,
	OS_PS3 = 0x8204,
	OS_NACL = 0x8205,
	OS_FUCHSIA = 0x8206,
};

/* Context layouts the walker knows (1.24). */
enum md_cpu {
	CPU_UNKNOWN = 0,
	CPU_X86,
	CPU_AMD64,
	CPU_ARM,
	CPU_ARM64,
};

/* Stack walking bounds. */
#define WALK_MAX_FRAMES 1024
#define WALK_SCAN_BUDGET ((uint64_t)64 << 20) /* words scanned per dump */

/* UTF-8 bytes for one MINIDUMP_STRING at most (3 per UTF-16 unit). */
#define MD_STRBUF (3 * MINIDUMP_MAX_STRING_UNITS + 4)

/* ---- parse state ------------------------------------------------------- */

struct md_dirent {
	uint32_t type;
	uint32_t size;
	uint32_t rva;
	bool duplicate;
};

struct md_loc {
	uint32_t size;
	uint32_t rva;
};

/* A memory range: VA START, SIZE bytes at file offset OFF. */
struct md_range {
	uint64_t start;
	uint64_t size;
	uint64_t off;
};

/* What a thread record says, kept until the walk. */
struct md_thread_raw {
	uint32_t id;
	uint64_t stack_start;
	struct md_loc stack;
	struct md_loc context;
};

/* Registers the walker needs, and the context's CPU. */
struct md_regs {
	struct sw_regs sw;
	enum md_cpu cpu;
	bool ok;
};

struct md {
	struct analysis *a;
	struct reader file;
	uint32_t time_date_stamp;

	struct md_dirent dir[MINIDUMP_MAX_STREAMS];
	size_t ndir;

	bool has_system;
	uint16_t arch;
	uint32_t platform;

	bool has_exception;
	uint32_t exc_thread_id;
	struct md_loc exc_context;

	bool has_dump_thread, has_requesting_thread;
	uint32_t dump_thread_id, requesting_thread_id;

	bool has_create_time;
	uint32_t create_time;

	bool threads_read;
	struct md_thread_raw *raw; /* parallel to a->threads */
	size_t nraw;

	struct md_range *mem;
	size_t nmem, memcap;
	bool mem_sorted;

	uint64_t scan_budget;
	struct sw_frame *frames; /* one walk's frames, WALK_MAX_FRAMES */
	struct symstore *store;  /* NULL: no symbols */
	struct symsession *syms; /* during the walks */
};

/* ---- small helpers ----------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

/*
 * Borrow N bytes at OFF of R (a view already known to be N long after
 * reader_sub), or NULL when they are not all there.
 */
static const uint8_t *view_at(const struct reader *r, uint64_t off, size_t n)
{
	if (off > r->len || n > r->len - off)
		return NULL;
	return r->data + off;
}

/* A view of N bytes at file offset RVA, or DF_ETRUNC. */
static int file_view(const struct md *m, uint64_t rva, uint64_t n,
		     struct reader *out)
{
	return reader_sub(&m->file, rva, n, out);
}

/*
 * Read the MINIDUMP_STRING at file offset RVA into the arena. Returns NULL
 * (and sets *ERR to a DF_E* code) when it cannot be read: odd length, more
 * than MINIDUMP_MAX_STRING_UNITS units, or bytes past EOF.
 */
static const char *read_string(const struct md *m, uint64_t rva, int *err)
{
	struct reader r;
	uint32_t bytes;
	char buf[MD_STRBUF];

	*err = DF_OK;
	if (reader_peek_u32le(&m->file, rva, &bytes) != DF_OK ||
	    rva > UINT64_MAX - 4) {
		*err = DF_ETRUNC;
		return NULL;
	}
	if (bytes % 2 != 0 || bytes / 2 > MINIDUMP_MAX_STRING_UNITS) {
		*err = bytes % 2 != 0 ? DF_EFORMAT : DF_ELIMIT;
		return NULL;
	}
	if (file_view(m, rva + 4, bytes, &r) != DF_OK) {
		*err = DF_ETRUNC;
		return NULL;
	}
	text_utf16le_to_utf8(r.data, bytes / 2, buf);
	const char *s = arena_strdup(m->a->arena, buf);

	if (s == NULL)
		*err = DF_ENOMEM;
	return s;
}

/* Record that the string at RVA (for WHAT) could not be read. */
static void string_error(struct md *m, int err, uint64_t rva, const char *what)
{
	model_add_error(m->a, err, true, rva,
			"%s: unreadable string at offset 0x%llx (%s)", what,
			(unsigned long long)rva, df_strerror(err));
}

/*
 * Parse a list header "u32 count, entries" of ENTRY-byte entries in S.
 * Breakpad's quirk: 4 bytes of padding after the count when the stream is
 * exactly 4 bytes longer. Sets *COUNT to the entries that fit (recording
 * an error when fewer than claimed) and *FIRST to the offset of entry 0.
 */
static void list_shape(struct md *m, const struct reader *s, const char *what,
		       uint32_t entry, uint32_t cap, uint32_t *count,
		       uint64_t *first)
{
	uint32_t n = le32(s->data);
	uint64_t need = 4 + (uint64_t)n * entry;

	*first = 4;
	if (s->len == need + 4)
		*first = 8;
	uint64_t fit = (s->len - *first) / entry;

	if (n > fit) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"%s: %u entries claimed, %llu fit in the "
				"stream at offset 0x%llx",
				what, n, (unsigned long long)fit,
				(unsigned long long)s->base);
		n = (uint32_t)fit;
	}
	if (n > cap) {
		model_add_error(m->a, DF_ELIMIT, true, s->base,
				"%s: %u entries, only the first %u are read",
				what, n, cap);
		n = cap;
	}
	*count = n;
}

/* ---- SystemInfo (1.13) -------------------------------------------------- */

static const char *os_name(uint32_t platform)
{
	static const struct {
		uint32_t id;
		const char *name;
	} names[] = {
		{ OS_WIN32_NT, "Windows NT" }, { OS_WIN32_WINDOWS, "Windows" },
		{ OS_MAC, "Mac OS X" },        { OS_IOS, "iOS" },
		{ OS_LINUX, "Linux" },         { OS_SOLARIS, "Solaris" },
		{ OS_ANDROID, "Android" },     { OS_PS3, "PS3" },
		{ OS_NACL, "NaCl" },           { OS_FUCHSIA, "Fuchsia" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].id == platform)
			return names[i].name;
	return NULL;
}

static const char *cpu_name(uint16_t arch)
{
	switch (arch) {
	case ARCH_X86:
		return "x86";
	case ARCH_AMD64:
		return "amd64";
	case ARCH_PPC:
		return "ppc";
	case ARCH_PPC64:
		return "ppc64";
	case ARCH_SPARC:
		return "sparc";
	case ARCH_ARM:
		return "arm";
	case ARCH_ARM64:
	case ARCH_ARM64_OLD:
		return "arm64";
	case ARCH_MIPS:
		return "mips";
	case ARCH_MIPS64:
		return "mips64";
	case ARCH_RISCV:
		return "riscv";
	case ARCH_RISCV64:
		return "riscv64";
	default:
		return NULL;
	}
}

/* Breakpad's ARM CPU text: "ARMv7 ARM Cortex-A9 features: swp,half,...". */
static const char *arm_cpu_info(struct md *m, uint16_t level, uint32_t cpuid,
				uint32_t hwcaps)
{
	static const struct {
		uint32_t id;
		const char *name;
	} vendors[] = {
		{ 0x41, "ARM" },
		{ 0x51, "Qualcomm" },
		{ 0x56, "Marvell" },
		{ 0x69, "Intel/Marvell" },
	};
	static const struct {
		uint32_t id;
		const char *name;
	} parts[] = {
		{ 0x4100c050, "Cortex-A5" },  { 0x4100c080, "Cortex-A8" },
		{ 0x4100c090, "Cortex-A9" },  { 0x4100c0f0, "Cortex-A15" },
		{ 0x4100c140, "Cortex-R4" },  { 0x4100c150, "Cortex-R5" },
		{ 0x4100b360, "ARM1136" },    { 0x4100b560, "ARM1156" },
		{ 0x4100b760, "ARM1176" },    { 0x4100b020, "ARM11-MPCore" },
		{ 0x41009260, "ARM926" },     { 0x41009460, "ARM946" },
		{ 0x41009660, "ARM966" },     { 0x510006f0, "Krait" },
		{ 0x510000f0, "Scorpion" },
	};
	static const char *const features[] = {
		"swp",	  "half",  "thumb", "26bit", "fastmult",
		"fpa",	  "vfpv2", "edsp",  "java",  "iwmmxt",
		"crunch", "thumbee", "neon", "vfpv3", "vfpv3d16",
		"tls",	  "vfpv4", "idiva", "idivt",
	};
	char buf[512];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "ARMv%u", level);

	if (cpuid != 0) {
		const char *vendor = NULL, *part = NULL;
		uint32_t vid = (cpuid >> 24) & 0xff, pid = cpuid & 0xff00fff0;

		for (size_t i = 0; i < ARRAY_SIZE(vendors); i++)
			if (vendors[i].id == vid)
				vendor = vendors[i].name;
		for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
			if (parts[i].id == pid)
				part = parts[i].name;
		if (vendor != NULL)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s",
					      vendor);
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      " vendor(0x%x)", vid);
		if (part != NULL)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s",
					      part);
		else
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      " part(0x%x)", pid);
	}
	if (hwcaps != 0) {
		const char *sep = " features: ";

		for (size_t i = 0; i < ARRAY_SIZE(features); i++) {
			if (!(hwcaps & (1u << i)) || n >= sizeof(buf))
				continue;
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
					      sep, features[i]);
			sep = ",";
		}
	}
	return arena_strdup(m->a->arena, buf);
}

/*
 * Breakpad's x86 CPU text: "<vendor> family L model M stepping S", the
 * vendor only for x86 (not amd64) and cut at its first NUL.
 */
static const char *x86_cpu_info(struct md *m, const uint8_t *p, uint16_t arch)
{
	char vendor[13] = "";
	uint16_t level = le16(p + 2), rev = le16(p + 4);

	if (arch == ARCH_X86 || arch == ARCH_X86_WIN64) {
		memcpy(vendor, p + 0x20, 12);
		vendor[12] = '\0';
		return arena_printf(m->a->arena,
				    "%s family %u model %u stepping %u",
				    vendor, level, rev >> 8, rev & 0xff);
	}
	return arena_printf(m->a->arena, "family %u model %u stepping %u",
			    level, rev >> 8, rev & 0xff);
}

static void read_system_info(struct md *m, const struct reader *s)
{
	struct system_info *si = &m->a->system;
	const uint8_t *p = view_at(s, 0, MD_SYSTEM_INFO_SIZE);

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"SystemInfo stream is %zu bytes, needs %u",
				s->len, MD_SYSTEM_INFO_SIZE);
		return;
	}
	m->has_system = true;
	m->arch = le16(p);
	m->platform = le32(p + 0x14);

	const char *os = os_name(m->platform);
	const char *cpu = cpu_name(m->arch);

	si->os = os != NULL ? arena_strdup(m->a->arena, os)
			    : arena_printf(m->a->arena, "0x%08x", m->platform);
	si->cpu_arch = cpu != NULL ? arena_strdup(m->a->arena, cpu)
				   : arena_printf(m->a->arena, "0x%04x",
						  m->arch);
	si->cpu_count = p[6];
	si->build = le32(p + 0x10);

	uint32_t csd_rva = le32(p + 0x18);
	int err = DF_OK;
	const char *csd = csd_rva != 0 ? read_string(m, csd_rva, &err) : NULL;

	if (err != DF_OK)
		string_error(m, err, csd_rva, "SystemInfo CSD version");
	si->os_ver = arena_printf(m->a->arena, "%u.%u.%u%s%s", le32(p + 8),
				  le32(p + 12), le32(p + 16),
				  csd != NULL ? " " : "",
				  csd != NULL ? csd : "");
	if (m->arch == ARCH_X86 || m->arch == ARCH_AMD64 ||
	    m->arch == ARCH_X86_WIN64)
		si->cpu_info = x86_cpu_info(m, p, m->arch);
	else if (m->arch == ARCH_ARM)
		si->cpu_info = arm_cpu_info(m, le16(p + 2), le32(p + 0x20),
					    le32(p + 0x24));
}

/* ---- MiscInfo (1.14) ---------------------------------------------------- */

static void read_misc_info(struct md *m, const struct reader *s)
{
	const uint8_t *p = view_at(s, 0, MD_MISC_INFO_MIN);

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"MiscInfo stream is %zu bytes, needs %u",
				s->len, MD_MISC_INFO_MIN);
		return;
	}
	uint32_t size = le32(p), flags = le32(p + 4);

	if (size < MD_MISC_INFO_MIN) {
		model_add_error(m->a, DF_EFORMAT, true, s->base,
				"MiscInfo SizeOfInfo %u is below %u", size,
				MD_MISC_INFO_MIN);
		return;
	}
	if (flags & 0x2) { /* MINIDUMP_MISC1_PROCESS_TIMES */
		m->has_create_time = true;
		m->create_time = le32(p + 0x0C);
	}
	/* BuildString (v4+, Flags1 0x100): the full OS build text. */
	const uint8_t *b = view_at(s, 0xE8, 520);

	if ((flags & 0x100) && size >= 0xE8 + 520 && b != NULL) {
		char buf[3 * 260 + 4];

		if (text_utf16le_to_utf8(b, 260, buf) > 0)
			model_add_field(m->a, "OS_BUILD_STRING", buf);
	}
}

/* ---- BreakpadInfo (1.23) ------------------------------------------------- */

static void read_breakpad_info(struct md *m, const struct reader *s)
{
	const uint8_t *p = view_at(s, 0, 12);

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"BreakpadInfo stream is %zu bytes, needs 12",
				s->len);
		return;
	}
	uint32_t validity = le32(p);

	m->has_dump_thread = (validity & 1) != 0;
	m->dump_thread_id = le32(p + 4);
	m->has_requesting_thread = (validity & 2) != 0;
	m->requesting_thread_id = le32(p + 8);
	/* The handler thread stays out of the thread list (read_threads). */
	m->a->has_dump_thread_id = m->has_dump_thread;
	m->a->dump_thread_id = m->has_dump_thread ? m->dump_thread_id : 0;
}

/* ---- ModuleList (1.8, 1.9) ----------------------------------------------- */

/* DIGITS hex digits of V (from DIGITSET) at P, zero-padded; the end. */
static char *put_hex(char *p, uint32_t v, int digits, const char *digitset)
{
	for (int i = digits - 1; i >= 0; i--)
		p[digits - 1 - i] = digitset[v >> (4 * i) & 15];
	return p + digits;
}

/*
 * Breakpad's debug id: GUID as %08X%04X%04X + 8 x %02X, then age %x.
 * Written by hand: one per module, printf was a tenth of the reader.
 */
static const char *guid_age_id(struct md *m, const uint8_t *g, uint32_t age)
{
	static const char upper[] = "0123456789ABCDEF";
	static const char lower[] = "0123456789abcdef";
	char id[32 + 8 + 1], *p = id;
	int age_digits = 1;

	p = put_hex(p, le32(g), 8, upper);
	p = put_hex(p, le16(g + 4), 4, upper);
	p = put_hex(p, le16(g + 6), 4, upper);
	for (int i = 8; i < 16; i++)
		p = put_hex(p, g[i], 2, upper);
	while (age_digits < 8 && age >> (4 * age_digits) != 0)
		age_digits++;
	p = put_hex(p, age, age_digits, lower);
	*p = '\0';
	return arena_strdup(m->a->arena, id);
}

/* The NUL-terminated name at OFF of a CodeView record, base name only. */
static const char *cv_name(struct md *m, const uint8_t *p, size_t len,
			   size_t off)
{
	size_t n = 0;

	while (off + n < len && p[off + n] != 0)
		n++;
	const char *full = arena_strndup(m->a->arena, (const char *)p + off, n);

	return full != NULL ? text_path_base(full) : NULL;
}

/*
 * Fill debug_file, debug_id (and for ELF the code id) from the CodeView
 * record. Breakpad requires the RSDS/NB10 name to be NUL-terminated inside
 * the record; without that it gives no debug information at all.
 */
static void read_cv_record(struct md *m, struct module *mod,
			   struct md_loc loc, const char *code_file)
{
	struct reader r;

	if (loc.size == 0)
		return;
	if (loc.size > MINIDUMP_MAX_RECORD) {
		model_add_error(m->a, DF_ELIMIT, true, loc.rva,
				"module %s: CodeView record of %u bytes "
				"exceeds %u",
				mod->filename, loc.size, MINIDUMP_MAX_RECORD);
		return;
	}
	if (file_view(m, loc.rva, loc.size, &r) != DF_OK) {
		model_add_error(m->a, DF_ETRUNC, true, loc.rva,
				"module %s: CodeView record at offset 0x%x "
				"runs past the end of the file",
				mod->filename, loc.rva);
		return;
	}
	const uint8_t *p = r.data;
	size_t n = r.len;
	uint32_t sig = n > 4 ? le32(p) : 0;

	if (sig == CV_RSDS && n >= CV_RSDS_MIN + 1 && p[n - 1] == 0) {
		mod->debug_id = guid_age_id(m, p + 4, le32(p + 20));
		mod->debug_file = cv_name(m, p, n, CV_RSDS_MIN);
	} else if (sig == CV_NB10 && n >= CV_NB10_MIN + 1 && p[n - 1] == 0) {
		mod->debug_id = arena_printf(m->a->arena, "%08X%x",
					     le32(p + 8), le32(p + 12));
		mod->debug_file = cv_name(m, p, n, CV_NB10_MIN);
	} else if (sig == CV_ELF) {
		uint8_t guid[16] = { 0 };
		size_t idlen = n - 4;
		char hex[2 * 64 + 1];
		size_t hn = 0;

		memcpy(guid, p + 4, idlen < 16 ? idlen : 16);
		mod->debug_id = guid_age_id(m, guid, 0);
		mod->debug_file = code_file != NULL ? text_path_base(code_file)
						    : NULL;
		for (size_t i = 0; i < idlen && i < 64; i++)
			hn += (size_t)snprintf(hex + hn, sizeof(hex) - hn,
					       "%02x", p[4 + i]);
		hex[hn] = '\0';
		mod->code_id = arena_strdup(m->a->arena, hex);
	}
}

/* Debug file from an IMAGE_DEBUG_MISC record, when CodeView gave none. */
static void read_misc_record(struct md *m, struct module *mod,
			     struct md_loc loc)
{
	struct reader r;
	char buf[3 * 1024 + 4];

	if (mod->debug_file != NULL || loc.size < MISC_RECORD_MIN ||
	    loc.size > MINIDUMP_MAX_RECORD ||
	    file_view(m, loc.rva, loc.size, &r) != DF_OK)
		return;
	size_t dn = r.len - MISC_RECORD_MIN;
	const uint8_t *d = r.data + MISC_RECORD_MIN;

	if (r.data[8] != 0) {
		size_t units = dn / 2 < 1024 ? dn / 2 : 1024;

		text_utf16le_to_utf8(d, units, buf);
	} else {
		size_t k = 0;

		while (k < dn && k < sizeof(buf) - 1 && d[k] != 0) {
			buf[k] = (char)d[k];
			k++;
		}
		buf[k] = '\0';
	}
	const char *full = buf[0] != '\0' ? arena_strdup(m->a->arena, buf)
					   : NULL;

	if (full != NULL)
		mod->debug_file = text_path_base(full);
}

/* "a.b.c.d" from VS_FIXEDFILEINFO at P when its signature is valid. */
static const char *module_version(struct md *m, const uint8_t *p)
{
	if (le32(p) != MD_VSFIXED_SIGNATURE ||
	    !(le32(p + 4) & MD_VSFIXED_VERSION))
		return NULL;
	uint32_t hi = le32(p + 8), lo = le32(p + 12);

	return arena_printf(m->a->arena, "%u.%u.%u.%u", hi >> 16, hi & 0xffff,
			    lo >> 16, lo & 0xffff);
}

/* Set filename (base) and path (full, when different) from NAME. */
static void module_names(struct module *mod, const char *name)
{
	const char *base = text_path_base(name);

	mod->filename = base;
	if (base != name)
		mod->path = name;
}

/* Code id as Breakpad's processor prints it (Windows: stamp + size). */
static void module_code_id(struct md *m, struct module *mod)
{
	if (mod->code_id != NULL)
		return;
	if (m->platform == OS_WIN32_NT || m->platform == OS_WIN32_WINDOWS ||
	    !m->has_system)
		mod->code_id = arena_printf(m->a->arena, "%08X%llx",
					    mod->timestamp,
					    (unsigned long long)mod->size);
}

/* True when an equal module (base, size, name) was already added. */
static bool module_duplicate(const struct md *m, uint64_t base, uint64_t size,
			     const char *name)
{
	for (size_t i = 0; i < m->a->modules.n; i++) {
		const struct module *o = &m->a->modules.v[i];
		const char *oname = o->path != NULL ? o->path : o->filename;

		if (!o->unloaded && o->base == base && o->size == size &&
		    oname != NULL && strcmp(oname, name) == 0)
			return true;
	}
	return false;
}

/* One MINIDUMP_MODULE at P (108 bytes, file offset OFF). */
static void read_module(struct md *m, const uint8_t *p, uint64_t off)
{
	uint64_t base = le64(p);
	uint32_t size = le32(p + 8);
	uint32_t name_rva = le32(p + 0x14);
	int err;

	if (size == 0 || base == UINT64_MAX || base > UINT64_MAX - size) {
		model_add_error(m->a, DF_EFORMAT, true, off,
				"module at offset 0x%llx has an invalid range "
				"0x%llx+0x%x",
				(unsigned long long)off,
				(unsigned long long)base, size);
		return;
	}
	const char *name = read_string(m, name_rva, &err);

	if (name == NULL) {
		string_error(m, err, name_rva, "module name");
		return;
	}
	if (module_duplicate(m, base, size, name))
		return;
	struct module *mod = model_add_module(m->a);

	if (mod == NULL) {
		model_add_error(m->a, DF_ELIMIT, true, off,
				"module list: model cap of %d modules reached",
				MODEL_MAX_MODULES);
		return;
	}
	module_names(mod, name);
	mod->base = base;
	mod->size = size;
	mod->end = base + size - 1;
	mod->timestamp = le32(p + 0x10);
	mod->version = module_version(m, p + 0x18);
	read_cv_record(m, mod,
		       (struct md_loc){ le32(p + 0x4C), le32(p + 0x50) },
		       name);
	read_misc_record(m, mod,
			 (struct md_loc){ le32(p + 0x54), le32(p + 0x58) });
	module_code_id(m, mod);
}

static void read_module_list(struct md *m, const struct reader *s)
{
	uint32_t n;
	uint64_t first;

	if (s->len < 4) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"ModuleList stream is %zu bytes", s->len);
		return;
	}
	list_shape(m, s, "ModuleList", MD_MODULE_SIZE, MINIDUMP_MAX_MODULES,
		   &n, &first);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t at = first + (uint64_t)i * MD_MODULE_SIZE;

		read_module(m, s->data + at, s->base + at);
	}
}

/* ---- UnloadedModuleList (1.10) ------------------------------------------- */

static void read_unloaded_module(struct md *m, const uint8_t *p, uint64_t off)
{
	uint64_t base = le64(p);
	uint32_t size = le32(p + 8), name_rva = le32(p + 0x14);
	int err;

	if (size == 0 || base > UINT64_MAX - size) {
		model_add_error(m->a, DF_EFORMAT, true, off,
				"unloaded module at offset 0x%llx has an "
				"invalid range",
				(unsigned long long)off);
		return;
	}
	const char *name = read_string(m, name_rva, &err);

	if (name == NULL) {
		string_error(m, err, name_rva, "unloaded module name");
		return;
	}
	struct module *mod = model_add_module(m->a);

	if (mod == NULL)
		return;
	module_names(mod, name);
	mod->base = base;
	mod->size = size;
	mod->end = base + size - 1;
	mod->timestamp = le32(p + 0x10);
	mod->unloaded = true;
	module_code_id(m, mod);
}

static void read_unloaded_modules(struct md *m, const struct reader *s)
{
	const uint8_t *p = view_at(s, 0, 12);

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"UnloadedModuleList stream is %zu bytes",
				s->len);
		return;
	}
	uint32_t hsize = le32(p), esize = le32(p + 4), n = le32(p + 8);

	if (hsize < 12 || hsize > s->len || esize < MD_UNLOADED_MODULE_SIZE) {
		model_add_error(m->a, DF_EFORMAT, true, s->base,
				"UnloadedModuleList header %u / entry %u "
				"sizes are invalid",
				hsize, esize);
		return;
	}
	uint64_t fit = (s->len - hsize) / esize;

	if (n > fit) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"UnloadedModuleList: %u entries claimed, %llu "
				"fit",
				n, (unsigned long long)fit);
		n = (uint32_t)fit;
	}
	if (n > MINIDUMP_MAX_MODULES) {
		model_add_error(m->a, DF_ELIMIT, true, s->base,
				"UnloadedModuleList: %u entries, only the "
				"first %u are read",
				n, MINIDUMP_MAX_MODULES);
		n = MINIDUMP_MAX_MODULES;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t at = hsize + (uint64_t)i * esize;

		read_unloaded_module(m, s->data + at, s->base + at);
	}
}

/* ---- MemoryList / Memory64List (1.11) ------------------------------------ */

static void add_range(struct md *m, uint64_t start, uint64_t size,
		      uint64_t off)
{
	if (size == 0 || start > UINT64_MAX - size)
		return;
	if (m->nmem == m->memcap)
		return;
	m->mem[m->nmem++] = (struct md_range){ start, size, off };
	m->mem_sorted = false;
}

/* Make room for N more ranges (arena). False on ENOMEM. */
static bool reserve_ranges(struct md *m, size_t n)
{
	size_t cap = m->nmem + n;
	struct md_range *v = arena_alloc(m->a->arena, cap * sizeof(*v));

	if (v == NULL) {
		model_add_error(m->a, DF_ENOMEM, false, 0,
				"no memory for %zu memory ranges", cap);
		return false;
	}
	if (m->nmem > 0)
		memcpy(v, m->mem, m->nmem * sizeof(*v));
	m->mem = v;
	m->memcap = cap;
	return true;
}

static void read_memory_list(struct md *m, const struct reader *s)
{
	uint32_t n;
	uint64_t first;

	if (s->len < 4) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"MemoryList stream is %zu bytes", s->len);
		return;
	}
	list_shape(m, s, "MemoryList", MD_MEMDESC_SIZE,
		   MINIDUMP_MAX_MEMORY_RANGES, &n, &first);
	if (!reserve_ranges(m, n))
		return;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p =
			s->data + first + (uint64_t)i * MD_MEMDESC_SIZE;
		uint64_t start = le64(p);
		uint32_t size = le32(p + 8), rva = le32(p + 12);

		if ((uint64_t)rva > m->file.len ||
		    size > m->file.len - rva) {
			model_add_error(m->a, DF_ETRUNC, true, rva,
					"memory range 0x%llx+0x%x: bytes at "
					"offset 0x%x run past the end of the "
					"file",
					(unsigned long long)start, size, rva);
			continue;
		}
		add_range(m, start, size, rva);
	}
}

static void read_memory64_list(struct md *m, const struct reader *s)
{
	const uint8_t *p = view_at(s, 0, 16);

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"Memory64List stream is %zu bytes", s->len);
		return;
	}
	uint64_t n = le64(p), off = le64(p + 8);
	uint64_t fit = (s->len - 16) / MD_MEMDESC_SIZE;

	if (n > fit) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"Memory64List: %llu ranges claimed, %llu fit",
				(unsigned long long)n, (unsigned long long)fit);
		n = fit;
	}
	if (n > MINIDUMP_MAX_MEMORY_RANGES) {
		model_add_error(m->a, DF_ELIMIT, true, s->base,
				"Memory64List: %llu ranges, only the first %u "
				"are read",
				(unsigned long long)n,
				MINIDUMP_MAX_MEMORY_RANGES);
		n = MINIDUMP_MAX_MEMORY_RANGES;
	}
	if (!reserve_ranges(m, (size_t)n))
		return;
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *d = s->data + 16 + i * MD_MEMDESC_SIZE;
		uint64_t start = le64(d), size = le64(d + 8);

		if (off > m->file.len) {
			model_add_error(m->a, DF_ETRUNC, true, s->base,
					"Memory64List: range %llu starts past "
					"the end of the file",
					(unsigned long long)i);
			return;
		}
		uint64_t have = m->file.len - off;

		add_range(m, start, size < have ? size : have, off);
		if (size > have) {
			model_add_error(m->a, DF_ETRUNC, true, off,
					"Memory64List: range 0x%llx+0x%llx is "
					"cut by the end of the file",
					(unsigned long long)start,
					(unsigned long long)size);
			return;
		}
		off += size;
	}
}

static int range_cmp(const void *x, const void *y)
{
	const struct md_range *p = x, *q = y;

	if (p->start != q->start)
		return p->start < q->start ? -1 : 1;
	return p->size < q->size ? -1 : p->size > q->size;
}

/*
 * Sort the memory ranges by start, once, when first looked up: only a
 * thread without its own stack descriptor needs them, and a dump with
 * the process' memory lists tens of thousands, rarely in order.
 */
static void sort_ranges(struct md *m)
{
	if (m->mem_sorted)
		return;
	m->mem_sorted = true;
	for (size_t i = 1; i < m->nmem; i++) {
		if (range_cmp(&m->mem[i - 1], &m->mem[i]) > 0) {
			qsort(m->mem, m->nmem, sizeof(*m->mem), range_cmp);
			return;
		}
	}
}

/*
 * The largest captured range holding ADDR, as a reader and its VA, or
 * false. Ranges are sorted by start; overlapping ones are searched a few
 * entries back.
 */
static bool memory_at(struct md *m, uint64_t addr, struct reader *out,
		      uint64_t *va)
{
	sort_ranges(m);
	size_t lo = 0, hi = m->nmem;
	const struct md_range *best = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->mem[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = 0; k < 16 && lo > 0; k++, lo--) {
		const struct md_range *r = &m->mem[lo - 1];

		if (addr - r->start < r->size &&
		    (best == NULL || r->size > best->size))
			best = r;
	}
	if (best == NULL ||
	    file_view(m, best->off, best->size, out) != DF_OK)
		return false;
	*va = best->start;
	return true;
}

/* ---- Exception (1.12, 1.25) ---------------------------------------------- */

static const char *win_code_name(uint32_t code)
{
	static const struct {
		uint32_t code;
		const char *name;
	} names[] = {
		{ 0x40010005, "DBG_CONTROL_C" },
		{ 0x80000001, "EXCEPTION_GUARD_PAGE" },
		{ 0x80000002, "EXCEPTION_DATATYPE_MISALIGNMENT" },
		{ 0x80000003, "EXCEPTION_BREAKPOINT" },
		{ 0x80000004, "EXCEPTION_SINGLE_STEP" },
		{ 0xc0000008, "EXCEPTION_INVALID_HANDLE" },
		{ 0xc000001d, "EXCEPTION_ILLEGAL_INSTRUCTION" },
		{ 0xc0000025, "EXCEPTION_NONCONTINUABLE_EXCEPTION" },
		{ 0xc0000026, "EXCEPTION_INVALID_DISPOSITION" },
		{ 0xc000008c, "EXCEPTION_BOUNDS_EXCEEDED" },
		{ 0xc000008d, "EXCEPTION_FLT_DENORMAL_OPERAND" },
		{ 0xc000008e, "EXCEPTION_FLT_DIVIDE_BY_ZERO" },
		{ 0xc000008f, "EXCEPTION_FLT_INEXACT_RESULT" },
		{ 0xc0000090, "EXCEPTION_FLT_INVALID_OPERATION" },
		{ 0xc0000091, "EXCEPTION_FLT_OVERFLOW" },
		{ 0xc0000092, "EXCEPTION_FLT_STACK_CHECK" },
		{ 0xc0000093, "EXCEPTION_FLT_UNDERFLOW" },
		{ 0xc0000094, "EXCEPTION_INT_DIVIDE_BY_ZERO" },
		{ 0xc0000095, "EXCEPTION_INT_OVERFLOW" },
		{ 0xc0000096, "EXCEPTION_PRIV_INSTRUCTION" },
		{ 0xc00000fd, "EXCEPTION_STACK_OVERFLOW" },
		{ 0xc00000ff, "EXCEPTION_BAD_FUNCTION_TABLE" },
		{ 0xc0000194, "EXCEPTION_POSSIBLE_DEADLOCK" },
		{ 0xc0000374, "EXCEPTION_HEAP_CORRUPTION" },
		{ 0xe0000008, "Out of Memory" },
		{ 0xe06d7363, "Unhandled C++ Exception" },
		{ 0x0517a7ed, "Simulated Exception" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].code == code)
			return names[i].name;
	return NULL;
}

/* FAST_FAIL_* names by code (Breakpad skips 0, the legacy GS case). */
static const char *fast_fail_name(uint64_t code)
{
	static const char *const names[] = {
		[1] = "VTGUARD_CHECK_FAILURE",
		[2] = "STACK_COOKIE_CHECK_FAILURE",
		[3] = "CORRUPT_LIST_ENTRY",
		[4] = "INCORRECT_STACK",
		[5] = "INVALID_ARG",
		[6] = "GS_COOKIE_INIT",
		[7] = "FATAL_APP_EXIT",
		[8] = "RANGE_CHECK_FAILURE",
		[9] = "UNSAFE_REGISTRY_ACCESS",
		[10] = "GUARD_ICALL_CHECK_FAILURE",
		[11] = "GUARD_WRITE_CHECK_FAILURE",
		[12] = "INVALID_FIBER_SWITCH",
		[13] = "INVALID_SET_OF_CONTEXT",
		[14] = "INVALID_REFERENCE_COUNT",
		[18] = "INVALID_JUMP_BUFFER",
		[19] = "MRDATA_MODIFIED",
		[20] = "CERTIFICATION_FAILURE",
		[21] = "INVALID_EXCEPTION_CHAIN",
		[22] = "CRYPTO_LIBRARY",
		[23] = "INVALID_CALL_IN_DLL_CALLOUT",
		[24] = "INVALID_IMAGE_BASE",
		[25] = "DLOAD_PROTECTION_FAILURE",
		[26] = "UNSAFE_EXTENSION_CALL",
		[27] = "DEPRECATED_SERVICE_INVOKED",
		[28] = "INVALID_BUFFER_ACCESS",
		[29] = "INVALID_BALANCED_TREE",
		[30] = "INVALID_NEXT_THREAD",
		[31] = "GUARD_ICALL_CHECK_SUPPRESSED",
		[32] = "APCS_DISABLED",
		[33] = "INVALID_IDLE_STATE",
		[34] = "MRDATA_PROTECTION_FAILURE",
		[35] = "UNEXPECTED_HEAP_EXCEPTION",
		[36] = "INVALID_LOCK_STATE",
		[37] = "GUARD_JUMPTABLE",
		[38] = "INVALID_LONGJUMP_TARGET",
		[39] = "INVALID_DISPATCH_CONTEXT",
		[40] = "INVALID_THREAD",
		[41] = "INVALID_SYSCALL_NUMBER",
		[42] = "INVALID_FILE_OPERATION",
		[43] = "LPAC_ACCESS_DENIED",
		[44] = "GUARD_SS_FAILURE",
		[45] = "LOADER_CONTINUITY_FAILURE",
		[46] = "GUARD_EXPORT_SUPPRESSION_FAILURE",
		[47] = "INVALID_CONTROL_STACK",
		[48] = "SET_CONTEXT_DENIED",
		[49] = "INVALID_IAT",
		[50] = "HEAP_METADATA_CORRUPTION",
		[51] = "PAYLOAD_RESTRICTION_VIOLATION",
		[52] = "LOW_LABEL_ACCESS_DENIED",
		[53] = "ENCLAVE_CALL_FAILURE",
		[54] = "UNHANDLED_LSS_EXCEPTON",
		[55] = "ADMINLESS_ACCESS_DENIED",
		[56] = "UNEXPECTED_CALL",
		[57] = "CONTROL_INVALID_RETURN_ADDRESS",
		[58] = "UNEXPECTED_HOST_BEHAVIOR",
		[59] = "FLAGS_CORRUPTION",
		[60] = "VEH_CORRUPTION",
		[61] = "ETW_CORRUPTION",
		[62] = "RIO_ABORT",
		[63] = "INVALID_PFN",
		[64] = "GUARD_ICALL_CHECK_FAILURE_XFG",
		[65] = "CAST_GUARD",
		[66] = "HOST_VISIBILITY_CHANGE",
		[67] = "KERNEL_CET_SHADOW_STACK_ASSIST",
		[68] = "PATCH_CALLBACK_FAILED",
		[69] = "NTDLL_PATCH_FAILED",
		[70] = "INVALID_FLS_DATA",
	};

	if (code >= ARRAY_SIZE(names))
		return NULL;
	return names[code];
}

/* NTSTATUS names Breakpad appends to EXCEPTION_IN_PAGE_ERROR. */
static const char *ntstatus_name(uint32_t st)
{
	static const struct {
		uint32_t code;
		const char *name;
	} names[] = {
		{ 0xC0000001, "STATUS_UNSUCCESSFUL" },
		{ 0xC0000005, "STATUS_ACCESS_VIOLATION" },
		{ 0xC0000006, "STATUS_IN_PAGE_ERROR" },
		{ 0xC000000E, "STATUS_NO_SUCH_DEVICE" },
		{ 0xC0000011, "STATUS_END_OF_FILE" },
		{ 0xC0000015, "STATUS_NONEXISTENT_SECTOR" },
		{ 0xC0000017, "STATUS_NO_MEMORY" },
		{ 0xC0000022, "STATUS_ACCESS_DENIED" },
		{ 0xC0000034, "STATUS_OBJECT_NAME_NOT_FOUND" },
		{ 0xC000003F, "STATUS_CRC_ERROR" },
		{ 0xC0000054, "STATUS_FILE_LOCK_CONFLICT" },
		{ 0xC000007F, "STATUS_DISK_FULL" },
		{ 0xC0000098, "STATUS_FILE_INVALID" },
		{ 0xC000009A, "STATUS_INSUFFICIENT_RESOURCES" },
		{ 0xC000009C, "STATUS_DEVICE_DATA_ERROR" },
		{ 0xC000009D, "STATUS_DEVICE_NOT_CONNECTED" },
		{ 0xC00000A3, "STATUS_DEVICE_NOT_READY" },
		{ 0xC00000B5, "STATUS_IO_TIMEOUT" },
		{ 0xC00000C4, "STATUS_UNEXPECTED_NETWORK_ERROR" },
		{ 0xC00000C9, "STATUS_NETWORK_NAME_DELETED" },
		{ 0xC0000102, "STATUS_FILE_CORRUPT_ERROR" },
		{ 0xC000016A, "STATUS_DISK_OPERATION_FAILED" },
		{ 0xC0000185, "STATUS_IO_DEVICE_ERROR" },
		{ 0xC0000225, "STATUS_NOT_FOUND" },
		{ 0xC000026E, "STATUS_VOLUME_DISMOUNTED" },
		{ 0xC0000483, "STATUS_DEVICE_HARDWARE_ERROR" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].code == st)
			return names[i].name;
	return NULL;
}

/* The exception record fields the naming needs. */
struct md_exc {
	uint32_t code, flags, nparams;
	uint64_t address;
	uint64_t info[MD_EXCEPTION_MAX_PARAMS];
};

/* EXCEPTION_ACCESS_VIOLATION / IN_PAGE_ERROR with _READ/_WRITE/_EXEC. */
static const char *av_name(struct md *m, const struct md_exc *e,
			   const char *base, uint64_t *addr)
{
	const char *suffix = "";

	if (e->nparams >= 1) {
		if (e->info[0] == 0)
			suffix = "_READ";
		else if (e->info[0] == 1)
			suffix = "_WRITE";
		else if (e->info[0] == 8)
			suffix = "_EXEC";
	}
	if (e->nparams >= 2)
		*addr = e->info[1];
	if (e->code == 0xc0000006 && e->nparams >= 3) {
		uint32_t st = (uint32_t)e->info[2];
		const char *sn = ntstatus_name(st);

		if (sn != NULL)
			return arena_printf(m->a->arena, "%s%s / %s", base,
					    suffix, sn);
		return arena_printf(m->a->arena, "%s%s / 0x%08x", base, suffix,
				    st);
	}
	return arena_printf(m->a->arena, "%s%s", base, suffix);
}

/* Windows crash reason as Breakpad's GetCrashReason() names it. */
static const char *win_reason(struct md *m, const struct md_exc *e,
			      uint64_t *addr)
{
	const char *n;

	if (e->code == 0xc0000005)
		return av_name(m, e, "EXCEPTION_ACCESS_VIOLATION", addr);
	if (e->code == 0xc0000006)
		return av_name(m, e, "EXCEPTION_IN_PAGE_ERROR", addr);
	if (e->code == 0xc0000409) {
		n = e->nparams >= 1 && e->info[0] != 0
			    ? fast_fail_name(e->info[0])
			    : NULL;
		if (n != NULL)
			return arena_printf(m->a->arena, "FAST_FAIL_%s", n);
		return arena_strdup(m->a->arena,
				    "EXCEPTION_STACK_BUFFER_OVERRUN");
	}
	n = win_code_name(e->code);
	return n != NULL ? arena_strdup(m->a->arena, n) : NULL;
}

/* Linux signal names and the si_code names Breakpad appends. */
static const char *linux_reason(struct md *m, const struct md_exc *e)
{
	static const char *const sig[] = {
		[1] = "SIGHUP",	    [2] = "SIGINT",   [3] = "SIGQUIT",
		[4] = "SIGILL",	    [5] = "SIGTRAP",  [6] = "SIGABRT",
		[7] = "SIGBUS",	    [8] = "SIGFPE",   [9] = "SIGKILL",
		[10] = "SIGUSR1",   [11] = "SIGSEGV", [12] = "SIGUSR2",
		[13] = "SIGPIPE",   [14] = "SIGALRM", [15] = "SIGTERM",
		[16] = "SIGSTKFLT", [17] = "SIGCHLD", [18] = "SIGCONT",
		[19] = "SIGSTOP",   [20] = "SIGTSTP", [21] = "SIGTTIN",
		[22] = "SIGTTOU",   [23] = "SIGURG",  [24] = "SIGXCPU",
		[25] = "SIGXFSZ",   [26] = "SIGVTALRM", [27] = "SIGPROF",
		[28] = "SIGWINCH",  [29] = "SIGIO",   [30] = "SIGPWR",
		[31] = "SIGSYS",
	};
	static const char *const ill[] = { NULL,	 "ILL_ILLOPC",
					   "ILL_ILLOPN", "ILL_ILLADR",
					   "ILL_ILLTRP", "ILL_PRVOPC",
					   "ILL_PRVREG", "ILL_COPROC",
					   "ILL_BADSTK" };
	static const char *const bus[] = { NULL,	 "BUS_ADRALN",
					   "BUS_ADRERR", "BUS_OBJERR",
					   "BUS_MCEERR_AR", "BUS_MCEERR_AO" };
	static const char *const fpe[] = { NULL,	 "FPE_INTDIV",
					   "FPE_INTOVF", "FPE_FLTDIV",
					   "FPE_FLTOVF", "FPE_FLTUND",
					   "FPE_FLTRES", "FPE_FLTINV",
					   "FPE_FLTSUB" };
	static const char *const segv[] = { NULL,	   "SEGV_MAPERR",
					    "SEGV_ACCERR",  "SEGV_BNDERR",
					    "SEGV_PKUERR",  "SEGV_ACCADI",
					    "SEGV_ADIDERR", "SEGV_ADIPERR",
					    "SEGV_MTEAERR", "SEGV_MTESERR" };
	const char *const *sub = NULL;
	size_t nsub = 0;
	const char *sep = " / ";

	if (e->code == 0xFFFFFFFFu)
		return arena_strdup(m->a->arena, "DUMP_REQUESTED");
	if (e->code >= ARRAY_SIZE(sig) || sig[e->code] == NULL)
		return NULL;
	switch (e->code) {
	case 4:
		sub = ill, nsub = ARRAY_SIZE(ill);
		break;
	case 7:
		sub = bus, nsub = ARRAY_SIZE(bus);
		break;
	case 8:
		sub = fpe, nsub = ARRAY_SIZE(fpe);
		break;
	case 11:
		sub = segv, nsub = ARRAY_SIZE(segv), sep = " /";
		break;
	default:
		return arena_strdup(m->a->arena, sig[e->code]);
	}
	if (e->flags < nsub && sub[e->flags] != NULL)
		return arena_printf(m->a->arena, "%s%s%s", sig[e->code], sep,
				    sub[e->flags]);
	return arena_printf(m->a->arena, "%s%s0x%08x", sig[e->code], sep,
			    e->flags);
}

/* The CPU-specific Mach code names Breakpad knows, for x86/amd64. */
static const char *mac_x86_code(uint32_t type, uint32_t flags)
{
	static const char *const arith[] = {
		NULL,		  "EXC_I386_DIV",    "EXC_I386_INTO",
		"EXC_I386_NOEXT", "EXC_I386_EXTOVR", "EXC_I386_EXTERR",
		"EXC_I386_EMERR", "EXC_I386_BOUND",  "EXC_I386_SSEEXTERR",
	};

	switch (type) {
	case 1: /* EXC_BAD_ACCESS */
		return flags == 13 ? "EXC_I386_GPFLT" : NULL;
	case 2: /* EXC_BAD_INSTRUCTION */
		switch (flags) {
		case 1:
			return "EXC_I386_INVOP";
		case 10:
			return "EXC_I386_INVTSSFLT";
		case 11:
			return "EXC_I386_SEGNPFLT";
		case 12:
			return "EXC_I386_STKFLT";
		case 13:
			return "EXC_I386_GPFLT";
		case 17:
			return "EXC_I386_ALIGNFLT";
		default:
			return NULL;
		}
	case 3: /* EXC_ARITHMETIC */
		return flags < ARRAY_SIZE(arith) ? arith[flags] : NULL;
	case 6: /* EXC_BREAKPOINT */
		return flags == 1 ? "EXC_I386_SGL"
				  : flags == 2 ? "EXC_I386_BPT" : NULL;
	default:
		return NULL;
	}
}

/* macOS / iOS reasons (the x86 and generic parts of Breakpad's table). */
static const char *mac_reason(struct md *m, const struct md_exc *e)
{
	static const char *const types[] = {
		[1] = "EXC_BAD_ACCESS",	 [2] = "EXC_BAD_INSTRUCTION",
		[3] = "EXC_ARITHMETIC",	 [4] = "EXC_EMULATION",
		[5] = "EXC_SOFTWARE",	 [6] = "EXC_BREAKPOINT",
		[7] = "EXC_SYSCALL",	 [8] = "EXC_MACH_SYSCALL",
		[9] = "EXC_RPC_ALERT",	 [11] = "EXC_RESOURCE",
		[12] = "EXC_GUARD",
	};
	const char *sub = NULL;

	if (e->code == 0x43507378)
		return arena_strdup(m->a->arena, "Simulated Exception");
	if (e->code == 0x43506E78)
		return arena_strdup(m->a->arena, "Uncaught NSException");
	if (e->code >= ARRAY_SIZE(types) || types[e->code] == NULL)
		return NULL;
	if (e->code == 1) {
		static const struct {
			uint32_t v;
			const char *n;
		} kern[] = {
			{ 1, "KERN_INVALID_ADDRESS" },
			{ 2, "KERN_PROTECTION_FAILURE" },
			{ 8, "KERN_NO_ACCESS" },
			{ 9, "KERN_MEMORY_FAILURE" },
			{ 10, "KERN_MEMORY_ERROR" },
			{ 50, "KERN_CODESIGN_ERROR" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(kern); i++)
			if (kern[i].v == e->flags)
				sub = kern[i].n;
	} else if (e->code == 5) {
		sub = e->flags == 0x00010002   ? "SIGABRT"
		      : e->flags == 0xDEADC0DE ? "UNCAUGHT_NS_EXCEPTION"
					       : NULL;
	}
	if (sub == NULL && (m->arch == ARCH_X86 || m->arch == ARCH_AMD64))
		sub = mac_x86_code(e->code, e->flags);
	if (sub != NULL)
		return arena_printf(m->a->arena, "%s / %s", types[e->code],
				    sub);
	return arena_printf(m->a->arena, "%s / 0x%08x", types[e->code],
			    e->flags);
}

/* True for architectures whose addresses Breakpad masks to 32 bits. */
static bool arch_is_32bit(uint16_t arch)
{
	return arch == ARCH_X86 || arch == ARCH_MIPS || arch == ARCH_PPC ||
	       arch == ARCH_SHX || arch == ARCH_ARM || arch == ARCH_X86_WIN64;
}

/* Crash reason and address as Breakpad prints them. */
static void name_crash(struct md *m, const struct md_exc *e)
{
	struct crash *c = &m->a->crash;
	uint64_t addr = e->address;
	const char *reason = NULL;

	if (m->has_system) {
		switch (m->platform) {
		case OS_WIN32_NT:
		case OS_WIN32_WINDOWS:
			reason = win_reason(m, e, &addr);
			break;
		case OS_LINUX:
		case OS_ANDROID:
			reason = linux_reason(m, e);
			break;
		case OS_MAC:
		case OS_IOS:
			reason = mac_reason(m, e);
			break;
		default:
			break;
		}
		if (arch_is_32bit(m->arch))
			addr &= 0xffffffffu;
	}
	if (reason == NULL)
		reason = arena_printf(m->a->arena, "0x%08x / 0x%08x", e->code,
				      e->flags);
	c->type = reason;
	c->address = addr;
	c->has_address = true;
}

static void read_exception(struct md *m, const struct reader *s)
{
	const uint8_t *p = view_at(s, 0, MD_EXCEPTION_STREAM_SIZE);
	struct md_exc e;

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"Exception stream is %zu bytes, needs %u",
				s->len, MD_EXCEPTION_STREAM_SIZE);
		return;
	}
	memset(&e, 0, sizeof(e));
	m->has_exception = true;
	m->exc_thread_id = le32(p);
	e.code = le32(p + 0x08);
	e.flags = le32(p + 0x0C);
	e.address = le64(p + 0x18);
	e.nparams = le32(p + 0x20);
	for (uint32_t i = 0; i < MD_EXCEPTION_MAX_PARAMS; i++)
		e.info[i] = le64(p + 0x28 + 8 * i);
	m->exc_context = (struct md_loc){ le32(p + 0xA0), le32(p + 0xA4) };

	struct crash *c = &m->a->crash;

	c->present = true;
	c->code = e.code;
	c->has_code = true;
	name_crash(m, &e);
}

/* ---- Contexts (1.24) ----------------------------------------------------- */

/* Which context layout to use: by architecture, else by the flags. */
static enum md_cpu context_cpu(const struct md *m, const struct reader *c)
{
	if (m->has_system) {
		switch (m->arch) {
		case ARCH_X86:
		case ARCH_X86_WIN64:
			return CPU_X86;
		case ARCH_AMD64:
			return CPU_AMD64;
		case ARCH_ARM:
			return CPU_ARM;
		case ARCH_ARM64:
		case ARCH_ARM64_OLD:
			return CPU_ARM64;
		default:
			return CPU_UNKNOWN;
		}
	}
	uint32_t f0 = c->len >= 4 ? le32(c->data) : 0;
	uint32_t f30 = c->len >= 0x34 ? le32(c->data + 0x30) : 0;

	if (f30 & 0x00100000)
		return CPU_AMD64;
	if (f0 & 0x00400000)
		return CPU_ARM64;
	if (f0 & 0x00010000)
		return CPU_X86;
	if (f0 & 0x40000000)
		return CPU_ARM;
	return CPU_UNKNOWN;
}

/*
 * Where each CPU's context keeps the registers the walker needs (1.24):
 * the smallest context that holds them, register width, offsets.
 */
static const struct ctx_layout {
	uint32_t size;
	uint8_t width;
	uint16_t off[SW_NREGS]; /* by enum sw_reg; 0: not kept */
} ctx_layouts[] = {
	[CPU_UNKNOWN] = { 0, 0, { 0 } },
	/* eip esp ebp - ebx esi edi */
	[CPU_X86] = { 0xCC, 4, { 0xB8, 0xC4, 0xB4, 0, 0xA4, 0xA0, 0x9C } },
	/* rip rsp rbp - rbx r12 r13 r14 r15 */
	[CPU_AMD64] = { 0x100, 8,
			{ 0xF8, 0x98, 0xA0, 0, 0x90, 0xD8, 0xE0, 0xE8, 0xF0 } },
	/* pc sp r11 lr r4..r10 */
	[CPU_ARM] = { 0x44, 4,
		      { 0x40, 0x38, 0x30, 0x3C, 0x14, 0x18, 0x1C, 0x20, 0x24,
			0x28, 0x2C } },
	/* pc sp x29 x30 x19..x28 */
	[CPU_ARM64] = { 0x110, 8,
			{ 0x108, 0x100, 0xF0, 0xF8, 0xA0, 0xA8, 0xB0, 0xB8,
			  0xC0, 0xC8, 0xD0, 0xD8, 0xE0, 0xE8 } },
};

/* A register of WIDTH bytes at OFF; the layout guarantees it fits. */
static uint64_t ctx_reg(const struct reader *c, uint8_t width, uint16_t off)
{
	return width == 8 ? le64(c->data + off) : le32(c->data + off);
}

/* The registers of ctx_layouts from the context at LOC. */
static struct md_regs read_context(struct md *m, struct md_loc loc)
{
	struct md_regs r = { .ok = false };
	struct reader c;

	if (loc.size == 0)
		return r;
	if (file_view(m, loc.rva, loc.size, &c) != DF_OK) {
		model_add_error(m->a, DF_ETRUNC, true, loc.rva,
				"CPU context of %u bytes at offset 0x%x runs "
				"past the end of the file",
				loc.size, loc.rva);
		return r;
	}
	r.cpu = context_cpu(m, &c);
	const struct ctx_layout *l = &ctx_layouts[r.cpu];

	if (l->size == 0 || c.len < l->size)
		return r;
	for (int i = 0; i < SW_NREGS; i++) {
		if (l->off[i] == 0)
			continue;
		r.sw.r[i] = ctx_reg(&c, l->width, l->off[i]);
		r.sw.valid |= 1u << i;
	}
	r.ok = true;
	return r;
}

/* ---- ThreadList / ThreadListEx (1.7) ------------------------------------- */

static void read_threads(struct md *m, const struct reader *s, uint32_t esize,
			 const char *what)
{
	uint32_t n;
	uint64_t first;

	if (m->threads_read)
		return; /* ThreadList wins over ThreadListEx */
	if (s->len < 4) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"%s stream is %zu bytes", what, s->len);
		return;
	}
	m->threads_read = true;
	list_shape(m, s, what, esize, MINIDUMP_MAX_THREADS, &n, &first);
	m->raw = arena_alloc(m->a->arena, (n ? n : 1) * sizeof(*m->raw));
	if (m->raw == NULL) {
		model_add_error(m->a, DF_ENOMEM, false, 0,
				"no memory for %u threads", n);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p = s->data + first + (uint64_t)i * esize;
		uint32_t id = le32(p);

		if (m->has_dump_thread && id == m->dump_thread_id)
			continue; /* Breakpad's own handler thread */
		struct thread *t = model_add_thread(m->a);

		if (t == NULL)
			break;
		t->id = id;
		t->stack_start = le64(p + 0x18);
		t->stack_size = le32(p + 0x20);
		m->raw[m->nraw++] = (struct md_thread_raw){
			.id = id,
			.stack_start = t->stack_start,
			.stack = { le32(p + 0x20), le32(p + 0x24) },
			.context = { le32(p + 0x28), le32(p + 0x2C) },
		};
	}
}

static void read_thread_list(struct md *m, const struct reader *s)
{
	read_threads(m, s, MD_THREAD_SIZE, "ThreadList");
}

static void read_thread_ex_list(struct md *m, const struct reader *s)
{
	read_threads(m, s, MD_THREAD_EX_SIZE, "ThreadListEx");
}

/* ---- ThreadNames (1.18) -------------------------------------------------- */

static void read_thread_names(struct md *m, const struct reader *s)
{
	uint32_t n;
	uint64_t first;

	if (s->len < 4) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"ThreadNames stream is %zu bytes", s->len);
		return;
	}
	list_shape(m, s, "ThreadNames", MD_THREAD_NAME_SIZE,
		   MINIDUMP_MAX_THREADS, &n, &first);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *p =
			s->data + first + (uint64_t)i * MD_THREAD_NAME_SIZE;
		uint32_t id = le32(p);
		uint64_t rva = le64(p + 4);
		int err;

		for (size_t k = 0; k < m->a->threads.n; k++) {
			struct thread *t = &m->a->threads.v[k];

			if (t->id != id || t->name != NULL)
				continue;
			t->name = read_string(m, rva, &err);
			if (t->name == NULL)
				string_error(m, err, rva, "thread name");
			else if (*t->name == '\0')
				t->name = NULL;
			break;
		}
	}
}

/* ---- HandleData (1.15) --------------------------------------------------- */

static void count_handle_type(struct md *m, const char *type)
{
	struct analysis *a = m->a;

	for (size_t i = 0; i < a->handle_types.n; i++) {
		if (strcmp(a->handle_types.v[i].type, type) == 0) {
			a->handle_types.v[i].count++;
			return;
		}
	}
	struct handle_type *h = model_add_handle_type(a);

	if (h == NULL)
		return;
	h->type = arena_strdup(a->arena, type);
	h->count = 1;
	if (h->type == NULL)
		a->handle_types.n--;
}

static void read_handle_data(struct md *m, const struct reader *s)
{
	const uint8_t *p = view_at(s, 0, 16);

	if (p == NULL) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"HandleData stream is %zu bytes", s->len);
		return;
	}
	uint32_t hsize = le32(p), dsize = le32(p + 4), n = le32(p + 8);

	if (hsize < 16 || hsize > s->len || dsize < MD_HANDLE_DESC_SIZE) {
		model_add_error(m->a, DF_EFORMAT, true, s->base,
				"HandleData header %u / descriptor %u sizes "
				"are invalid",
				hsize, dsize);
		return;
	}
	uint64_t fit = (s->len - hsize) / dsize;

	if (n > fit) {
		model_add_error(m->a, DF_ETRUNC, true, s->base,
				"HandleData: %u descriptors claimed, %llu fit",
				n, (unsigned long long)fit);
		n = (uint32_t)fit;
	}
	if (n > MD_MAX_HANDLES) {
		model_add_error(m->a, DF_ELIMIT, true, s->base,
				"HandleData: %u descriptors, only the first %u "
				"are counted",
				n, MD_MAX_HANDLES);
		n = MD_MAX_HANDLES;
	}
	uint32_t bad = 0, bad_rva = 0;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *d = s->data + hsize + (uint64_t)i * dsize;
		uint32_t rva = le32(d + 8);
		char buf[MD_STRBUF];
		uint32_t bytes;
		struct reader r;

		/* Decoded into a stack buffer: only new type names are kept. */
		if (rva != 0 &&
		    (reader_peek_u32le(&m->file, rva, &bytes) != DF_OK ||
		     bytes % 2 != 0 || bytes / 2 > MINIDUMP_MAX_STRING_UNITS ||
		     file_view(m, (uint64_t)rva + 4, bytes, &r) != DF_OK)) {
			if (bad++ == 0)
				bad_rva = rva;
			rva = 0;
		}
		if (rva == 0 || text_utf16le_to_utf8(r.data, bytes / 2, buf) == 0)
			snprintf(buf, sizeof(buf), "(unknown)");
		count_handle_type(m, buf);
	}
	if (bad > 0)
		model_add_error(m->a, DF_ETRUNC, true, bad_rva,
				"HandleData: %u handle type names unreadable, "
				"first at offset 0x%x",
				bad, bad_rva);
}

/* ---- Comments and Linux text streams (1.19, 1.23) ------------------------ */

/* Add KEY = the first line of the N bytes of text at P (trimmed). */
static void add_text_field(struct md *m, const char *key, const char *p,
			   size_t n)
{
	char buf[1024];
	size_t k = 0;

	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++, n--;
	while (k < n && k < sizeof(buf) - 1 && p[k] != '\0' && p[k] != '\n' &&
	       p[k] != '\r')
		k++;
	memcpy(buf, p, k);
	while (k > 0 && (buf[k - 1] == ' ' || buf[k - 1] == '\t'))
		k--;
	buf[k] = '\0';
	if (k > 0)
		model_add_field(m->a, key, buf);
}

static void read_comment_a(struct md *m, const struct reader *s)
{
	add_text_field(m, "COMMENT", (const char *)s->data, s->len);
}

static void read_comment_w(struct md *m, const struct reader *s)
{
	char buf[3 * 1024 + 4];
	size_t units = s->len / 2 < 1024 ? s->len / 2 : 1024;

	text_utf16le_to_utf8(s->data, units, buf);
	add_text_field(m, "COMMENT", buf, strlen(buf));
}

/* The value of "KEY<sep>value" lines in Linux text streams. */
static bool text_value(const struct reader *s, const char *key, char sep,
		       const char **val, size_t *vlen)
{
	const char *p = (const char *)s->data, *end = p + s->len;
	size_t klen = strlen(key);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;

		if ((size_t)(eol - p) > klen && memcmp(p, key, klen) == 0 &&
		    p[klen] == sep) {
			const char *v = p + klen + 1;

			while (v < eol &&
			       (*v == ' ' || *v == '\t' || *v == '"'))
				v++;
			const char *ve = eol;

			while (ve > v && (ve[-1] == '"' || ve[-1] == ' ' ||
					  ve[-1] == '\r' || ve[-1] == '\t'))
				ve--;
			*val = v;
			*vlen = (size_t)(ve - v);
			return true;
		}
		p = eol + 1;
	}
	return false;
}

static void read_lsb_release(struct md *m, const struct reader *s)
{
	const char *v;
	size_t n;

	if (text_value(s, "DISTRIB_DESCRIPTION", '=', &v, &n) ||
	    text_value(s, "PRETTY_NAME", '=', &v, &n))
		add_text_field(m, "OS_DISTRIBUTION", v, n);
}

static void read_proc_status(struct md *m, const struct reader *s)
{
	const char *v;
	size_t n;

	if (text_value(s, "Name", ':', &v, &n))
		add_text_field(m, "PROCESS_STATUS_NAME", v, n);
}

/* ---- descriptive streams (mdstreams.c) ------------------------------------ */

static void read_memory_info(struct md *m, const struct reader *s)
{
	mdstreams_read_memory_info(m->a, s);
}

static void read_thread_info(struct md *m, const struct reader *s)
{
	mdstreams_read_thread_info(m->a, s);
}

static void read_handle_ops(struct md *m, const struct reader *s)
{
	mdstreams_read_handle_ops(m->a, s);
}

static void read_tokens(struct md *m, const struct reader *s)
{
	mdstreams_read_tokens(m->a, s);
}

static void read_crashpad_info(struct md *m, const struct reader *s)
{
	mdstreams_read_crashpad(m->a, &m->file, s);
}

static void read_linux(struct md *m, const struct reader *s,
		       enum mdstreams_linux kind)
{
	unsigned word = m->has_system && arch_is_32bit(m->arch) ? 4 : 8;

	mdstreams_read_linux(m->a, kind, word, s);
}

static void read_linux_cpu_info(struct md *m, const struct reader *s)
{
	read_linux(m, s, MDSTREAMS_LINUX_CPU_INFO);
}

static void read_linux_cmd_line(struct md *m, const struct reader *s)
{
	read_linux(m, s, MDSTREAMS_LINUX_CMD_LINE);
}

static void read_linux_environ(struct md *m, const struct reader *s)
{
	read_linux(m, s, MDSTREAMS_LINUX_ENVIRON);
}

static void read_linux_auxv(struct md *m, const struct reader *s)
{
	read_linux(m, s, MDSTREAMS_LINUX_AUXV);
}

static void read_linux_maps(struct md *m, const struct reader *s)
{
	read_linux(m, s, MDSTREAMS_LINUX_MAPS);
}

static void read_linux_dso_debug(struct md *m, const struct reader *s)
{
	read_linux(m, s, MDSTREAMS_LINUX_DSO_DEBUG);
}

/* ---- stack walking ------------------------------------------------------- */

/*
 * Where a walk puts its frames: the thread's `frames`, or its `own_frames`
 * (the walk from its own saved context when `frames` start at the
 * exception context).
 */
struct md_walk {
	struct thread *t;
	bool own;
};

/* Frames the walk has found so far. */
static size_t walk_count(const struct md_walk *w)
{
	return w->own ? w->t->own_frames.n : w->t->frames.n;
}

/*
 * Append a frame at ADDR with TRUST. False when the walk is full.
 * A caller frame is known by its return address, which points past the
 * call; ADDR is inside the call (stackwalk.h), as Breakpad and
 * rust-minidump report it, so that offsets and signatures agree.
 */
static bool add_frame(struct md *m, const struct md_walk *w, uint64_t addr,
		      enum frame_trust trust)
{
	if (walk_count(w) >= WALK_MAX_FRAMES)
		return false;
	struct frame *f = w->own ? model_add_own_frame(m->a, w->t)
				 : model_add_frame(m->a, w->t);

	if (f == NULL)
		return false;
	const struct module *mod = model_module_at(m->a, addr);

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

/* The captured stack of one thread: bytes R covering VAs from VA. */
struct md_stack {
	struct reader r;
	uint64_t va;
	bool ok;
};

/*
 * Find the stack bytes as Breakpad does: the thread's own descriptor, else
 * the memory-list range holding the stack's start.
 * REPORT: record a descriptor that points past the file (once per thread).
 */
static struct md_stack thread_stack(struct md *m,
				    const struct md_thread_raw *raw,
				    bool report)
{
	struct md_stack st = { .ok = false };

	if (raw->stack.size > 0 &&
	    raw->stack.size <= MINIDUMP_MAX_REGION &&
	    file_view(m, raw->stack.rva, raw->stack.size, &st.r) == DF_OK) {
		st.va = raw->stack_start;
		st.ok = true;
		return st;
	}
	if (report && raw->stack.size > 0 && raw->stack.rva != 0)
		model_add_error(m->a, DF_ETRUNC, true, raw->stack.rva,
				"thread %u: stack memory of %u bytes at "
				"offset 0x%x is not in the file",
				raw->id, raw->stack.size, raw->stack.rva);
	if (raw->stack_start != 0 &&
	    memory_at(m, raw->stack_start, &st.r, &st.va))
		st.ok = true;
	return st;
}

static enum sw_cpu walk_cpu(enum md_cpu cpu)
{
	static const enum sw_cpu cpus[] = {
		[CPU_UNKNOWN] = SW_CPU_OTHER, [CPU_X86] = SW_CPU_X86,
		[CPU_AMD64] = SW_CPU_AMD64,   [CPU_ARM] = SW_CPU_ARM,
		[CPU_ARM64] = SW_CPU_ARM64,
	};

	return cpus[cpu];
}

/*
 * Frames for one walk from registers R and the thread's stack memory, by
 * Breakpad's rules (stackwalk.h). REPORT as for thread_stack().
 */
static void walk_thread(struct md *m, const struct md_walk *w,
			const struct md_thread_raw *raw,
			const struct md_regs *r, bool report)
{
	struct md_stack st = thread_stack(m, raw, report);
	struct sw_walk sw = {
		.cpu = walk_cpu(r->cpu),
		.windows = m->has_system && (m->platform == OS_WIN32_NT ||
					     m->platform == OS_WIN32_WINDOWS),
		.a = m->a,
		.stack = { st.ok ? st.r.data : NULL, st.ok ? st.r.len : 0,
			   st.va },
		.syms = m->syms,
		.max_frames = WALK_MAX_FRAMES,
		.scan_budget = &m->scan_budget,
	};
	size_t n = stackwalk_run(&sw, &r->sw, m->frames);

	for (size_t i = 0; i < n; i++)
		if (!add_frame(m, w, m->frames[i].instruction,
			       m->frames[i].trust))
			break;
}

/* Registers of every thread, frames, and the crashing thread's index. */
static void finish_threads(struct md *m)
{
	struct crash *c = &m->a->crash;
	uint32_t want = m->has_exception ? m->exc_thread_id
					 : m->requesting_thread_id;
	bool have_want = m->has_exception || m->has_requesting_thread;

	/* The crashing thread's own context, when its frames are not. */
	struct md_regs own = { .ok = false };
	size_t own_index = 0;

	model_index_modules(m->a);
	m->scan_budget = WALK_SCAN_BUDGET;
	m->frames = arena_alloc(m->a->arena,
				WALK_MAX_FRAMES * sizeof(*m->frames));
	if (m->frames == NULL) {
		model_add_error(m->a, DF_ENOMEM, false, 0,
				"no memory to walk stacks");
		return;
	}
	for (size_t i = 0; i < m->nraw && i < m->a->threads.n; i++) {
		struct thread *t = &m->a->threads.v[i];
		const struct md_thread_raw *raw = &m->raw[i];
		struct md_regs r = read_context(m, raw->context);
		bool crashed = have_want && raw->id == want &&
			       c->crashing_thread < 0;

		if (crashed) {
			c->crashing_thread = (long)i;
			if (m->has_exception) {
				struct md_regs e =
					read_context(m, m->exc_context);

				if (e.ok) {
					if (r.ok &&
					    r.sw.r[SW_IP] != e.sw.r[SW_IP]) {
						own = r;
						own_index = i;
					}
					r = e;
				}
			}
		}
		if (!r.ok)
			continue;
		t->ip = r.sw.r[SW_IP];
		t->sp = r.sw.r[SW_SP];
		t->has_context = true;
		walk_thread(m, &(struct md_walk){ t, false }, raw, &r, true);
	}
	/*
	 * After every thread, so that its frames (and so the agreement with
	 * Breakpad) never depend on it: where the crashing thread itself was
	 * when the dump was written, often inside an in-process dump writer.
	 * Same caps, and what is left of the same scanning budget.
	 */
	if (own.ok)
		walk_thread(m, &(struct md_walk){ &m->a->threads.v[own_index],
						  true },
			    &m->raw[own_index], &own, false);
	if (m->has_exception && !c->has_ip) {
		struct md_regs e = read_context(m, m->exc_context);

		if (e.ok) {
			c->ip = e.sw.r[SW_IP];
			c->has_ip = true;
		}
	}
}

/* ---- header, directory, driver ------------------------------------------- */

typedef void (*stream_fn)(struct md *m, const struct reader *s);

static const struct stream_handler {
	uint32_t type;
	const char *name;
	stream_fn read;
} stream_handlers[] = {
	/* Order matters: SystemInfo decides names and context layouts. */
	{ MD_SYSTEM_INFO, "SystemInfo", read_system_info },
	{ MD_MISC_INFO, "MiscInfo", read_misc_info },
	{ MD_BREAKPAD_INFO, "BreakpadInfo", read_breakpad_info },
	{ MD_MODULE_LIST, "ModuleList", read_module_list },
	{ MD_UNLOADED_MODULE_LIST, "UnloadedModuleList",
	  read_unloaded_modules },
	{ MD_MEMORY_LIST, "MemoryList", read_memory_list },
	{ MD_MEMORY64_LIST, "Memory64List", read_memory64_list },
	{ MD_EXCEPTION, "Exception", read_exception },
	{ MD_THREAD_LIST, "ThreadList", read_thread_list },
	{ MD_THREAD_EX_LIST, "ThreadListEx", read_thread_ex_list },
	{ MD_THREAD_NAMES, "ThreadNames", read_thread_names },
	{ MD_HANDLE_DATA, "HandleData", read_handle_data },
	{ MD_COMMENT_A, "CommentA", read_comment_a },
	{ MD_COMMENT_W, "CommentW", read_comment_w },
	{ MD_LINUX_LSB_RELEASE, "LinuxLsbRelease", read_lsb_release },
	{ MD_LINUX_PROC_STATUS, "LinuxProcStatus", read_proc_status },
	/* After the thread lists: ThreadInfoList links to threads by id. */
	{ MD_THREAD_INFO_LIST, "ThreadInfoList", read_thread_info },
	{ MD_MEMORY_INFO_LIST, "MemoryInfoList", read_memory_info },
	{ MD_HANDLE_OPERATION_LIST, "HandleOperationList", read_handle_ops },
	{ MD_TOKEN, "Token", read_tokens },
	{ MD_CRASHPAD_INFO, "CrashpadInfo", read_crashpad_info },
	{ MD_LINUX_CPU_INFO, "LinuxCpuInfo", read_linux_cpu_info },
	{ MD_LINUX_CMD_LINE, "LinuxCmdLine", read_linux_cmd_line },
	{ MD_LINUX_ENVIRON, "LinuxEnviron", read_linux_environ },
	{ MD_LINUX_AUXV, "LinuxAuxv", read_linux_auxv },
	{ MD_LINUX_MAPS, "LinuxMaps", read_linux_maps },
	{ MD_LINUX_DSO_DEBUG, "LinuxDsoDebug", read_linux_dso_debug },
};

/* The view of directory entry D, clamped to the file; false if unusable. */
static bool stream_view(struct md *m, const struct md_dirent *d,
			const char *name, struct reader *out)
{
	uint64_t len = m->file.len;

	if (d->rva > len) {
		model_add_error(m->a, DF_ETRUNC, true, d->rva,
				"%s stream (type %u) at offset 0x%x starts "
				"past the end of the file (%llu bytes)",
				name, d->type, d->rva,
				(unsigned long long)len);
		return false;
	}
	uint64_t n = d->size;

	if (n > len - d->rva) {
		n = len - d->rva;
		model_add_error(m->a, DF_ETRUNC, true, d->rva,
				"%s stream (type %u) at offset 0x%x is cut "
				"by the end of the file: %llu of %u bytes",
				name, d->type, d->rva, (unsigned long long)n,
				d->size);
	}
	return file_view(m, d->rva, n, out) == DF_OK;
}

static void read_streams(struct md *m)
{
	for (size_t h = 0; h < ARRAY_SIZE(stream_handlers); h++) {
		const struct stream_handler *sh = &stream_handlers[h];

		for (size_t i = 0; i < m->ndir; i++) {
			struct reader s;

			if (m->dir[i].type != sh->type || m->dir[i].duplicate)
				continue;
			if (stream_view(m, &m->dir[i], sh->name, &s))
				sh->read(m, &s);
			break;
		}
	}
}

/* Header fields; DF_OK or the error that makes the file unreadable. */
static int read_header(struct md *m, uint32_t *count, uint32_t *dir_rva)
{
	const uint8_t *p = view_at(&m->file, 0, MD_HEADER_SIZE);

	if (p == NULL)
		return model_add_error(m->a, DF_ETRUNC, true, 0,
				       "file of %zu bytes is too short for a "
				       "minidump header (%u bytes)",
				       m->file.len, MD_HEADER_SIZE);
	uint32_t sig = le32(p), ver = le32(p + 4);

	if (sig == MD_SIGNATURE_SWAPPED)
		return model_add_error(m->a, DF_EUNSUPPORTED, true, 0,
				       "big-endian minidumps are not "
				       "supported");
	if (sig != MD_SIGNATURE)
		return model_add_error(m->a, DF_EFORMAT, true, 0,
				       "bad minidump signature 0x%08x", sig);
	if ((ver & 0xffff) != MD_VERSION)
		return model_add_error(m->a, DF_EFORMAT, true, 4,
				       "unknown minidump version 0x%04x "
				       "(expected 0x%04x)",
				       ver & 0xffff, MD_VERSION);
	*count = le32(p + 8);
	*dir_rva = le32(p + 12);
	m->time_date_stamp = le32(p + 0x14);
	return DF_OK;
}

/* Note types seen twice: the first occurrence is kept. */
static void mark_duplicates(struct md *m)
{
	for (size_t i = 0; i < m->ndir; i++) {
		for (size_t j = 0; j < i; j++) {
			if (m->dir[i].type == 0 ||
			    m->dir[j].type != m->dir[i].type ||
			    m->dir[j].duplicate)
				continue;
			m->dir[i].duplicate = true;
			model_add_error(m->a, DF_EFORMAT, true, m->dir[i].rva,
					"duplicate stream of type %u at "
					"offset 0x%x ignored",
					m->dir[i].type, m->dir[i].rva);
			break;
		}
	}
}

static int read_directory(struct md *m, uint32_t count, uint32_t rva)
{
	if (count > MINIDUMP_MAX_STREAMS) {
		model_add_error(m->a, DF_ELIMIT, true, 8,
				"%u streams in the directory, only the first "
				"%u are read",
				count, MINIDUMP_MAX_STREAMS);
		count = MINIDUMP_MAX_STREAMS;
	}
	uint64_t want = (uint64_t)count * MD_DIRENT_SIZE;
	uint64_t have = rva <= m->file.len ? m->file.len - rva : 0;

	if (want > have) {
		model_add_error(m->a, DF_ETRUNC, true, rva,
				"truncated stream directory at offset 0x%llx: "
				"%u entries need %llu bytes, %llu left",
				(unsigned long long)rva, count,
				(unsigned long long)want,
				(unsigned long long)have);
		count = (uint32_t)(have / MD_DIRENT_SIZE);
		if (count == 0)
			return DF_ETRUNC;
	}
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *p = m->file.data + rva + (uint64_t)i * 12;

		m->dir[m->ndir++] = (struct md_dirent){
			le32(p), le32(p + 4), le32(p + 8), false
		};
	}
	mark_duplicates(m);
	return DF_OK;
}

/* Process name, times and the format detail once everything is read. */
static void finish_summary(struct md *m)
{
	struct analysis *a = m->a;

	for (size_t i = 0; i < a->modules.n; i++) {
		if (!a->modules.v[i].unloaded) {
			a->process_name = a->modules.v[i].filename;
			break;
		}
	}
	if (a->process_name == NULL)
		a->process_name = model_field(a, "PROCESS_STATUS_NAME");
	if (m->time_date_stamp != 0) {
		a->crash_time = m->time_date_stamp;
		if (m->has_create_time && m->create_time != 0 &&
		    m->create_time <= m->time_date_stamp)
			a->uptime = m->time_date_stamp - m->create_time;
	}
	a->format_detail =
		a->system.cpu_arch != NULL
			? arena_printf(a->arena, "MDMP %s", a->system.cpu_arch)
			: arena_strdup(a->arena, "MDMP");
}

bool minidump_probe(const uint8_t *data, size_t len)
{
	return data != NULL && len >= 4 && memcmp(data, "MDMP", 4) == 0;
}

int minidump_read(struct analysis *a, const uint8_t *data, size_t len)
{
	return minidump_read_with(a, data, len, NULL);
}

int minidump_read_with(struct analysis *a, const uint8_t *data, size_t len,
		       struct symstore *syms)
{
	struct md *m = arena_alloc(a->arena, sizeof(*m));
	uint32_t count = 0, dir_rva = 0;
	int rc;

	a->format = FORMAT_MINIDUMP;
	if (m == NULL)
		return model_add_error(a, DF_ENOMEM, false, 0,
				       "no memory to read the minidump");
	m->a = a;
	m->store = syms;
	reader_init(&m->file, data, data != NULL ? len : 0);
	rc = read_header(m, &count, &dir_rva);
	if (rc != DF_OK)
		return rc;
	a->format_detail = arena_strdup(a->arena, "MDMP");
	rc = read_directory(m, count, dir_rva);
	if (rc != DF_OK)
		return rc;
	read_streams(m);
	/* Without symbols (or memory for them) walk as Breakpad does then. */
	m->syms = symsession_new(m->store, a);
	finish_threads(m);
	symsession_destroy(&m->syms);
	mdstreams_locate_crash(a);
	finish_summary(m);
	return DF_OK;
}
