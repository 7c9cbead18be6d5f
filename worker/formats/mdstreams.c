/*
 * mdstreams - descriptive minidump streams (see mdstreams.h).
 *
 * Layouts: shared docs/formats.md sections 1.15-1.17, 1.22 and 1.23.
 * Every table is sized by its own header and then by the stream: a count
 * that does not fit is cut to what fits, and an error says so.
 */
#include "mdstreams.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "model.h"
#include "reader.h"

#define MEMINFO_HEADER 16u
#define MEMINFO_ENTRY 48u
#define THREADINFO_HEADER 12u
#define THREADINFO_ENTRY 64u
#define HANDLEOPS_HEADER 16u
#define TOKEN_HEADER 16u
#define TOKEN_ELEMENT 16u
#define CRASHPAD_MIN 0x34u
#define CRASHPAD_LINK 12u
#define CRASHPAD_MODULE_MIN 20u /* version + two locations */
#define LINUX_BASE 0x47670000u

/* Read at OFF of a view whose length has been checked; 0 past the end. */
static uint32_t u32at(const struct reader *r, uint64_t off)
{
	uint32_t v = 0;

	(void)reader_peek_u32le(r, off, &v);
	return v;
}

static uint64_t u64at(const struct reader *r, uint64_t off)
{
	uint64_t v = 0;

	(void)reader_peek_u64le(r, off, &v);
	return v;
}

/*
 * The shape of a "SizeOfHeader, SizeOfEntry, count" table in S: how many
 * entries of ESIZE (at least MIN_ENTRY) bytes fit after the header (at
 * least MIN_HEADER), capped at CAP. False (with an
 * error) when the header itself is unusable.
 */
static bool table_shape(struct analysis *a, const struct reader *s,
			const char *what, uint32_t min_header, uint32_t esize,
			uint32_t min_entry, uint64_t n, uint64_t cap,
			uint64_t *count)
{
	uint32_t hsize = u32at(s, 0);

	if (hsize < min_header || hsize > s->len || esize < min_entry) {
		model_add_error(a, DF_EFORMAT, true, s->base,
				"%s: header %u / entry %u sizes are invalid",
				what, hsize, esize);
		return false;
	}
	uint64_t fit = (s->len - hsize) / esize;

	if (n > fit) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"%s: %llu entries claimed, %llu fit", what,
				(unsigned long long)n,
				(unsigned long long)fit);
		n = fit;
	}
	if (n > cap) {
		model_add_error(a, DF_ELIMIT, true, s->base,
				"%s: %llu entries, only the first %llu are "
				"read",
				what, (unsigned long long)n,
				(unsigned long long)cap);
		n = cap;
	}
	*count = n;
	return true;
}

/* ---- MemoryInfoList (1.17) ------------------------------------------------ */

static const struct {
	uint32_t value;
	bool is_type; /* Type field, else State */
	enum mem_class cls;
} mem_classes[] = {
	{ 0x1000, false, MEM_CLASS_COMMIT },
	{ 0x2000, false, MEM_CLASS_RESERVE },
	{ 0x10000, false, MEM_CLASS_FREE },
	{ 0x1000000, true, MEM_CLASS_IMAGE },
	{ 0x40000, true, MEM_CLASS_MAPPED },
	{ 0x20000, true, MEM_CLASS_PRIVATE },
};

static void count_region(struct memory_info *mi, const struct mem_region *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(mem_classes); i++) {
		uint32_t v = mem_classes[i].is_type ? r->type : r->state;

		if (v == mem_classes[i].value) {
			mi->count[mem_classes[i].cls]++;
			mi->bytes[mem_classes[i].cls] += r->size;
		}
	}
}

static int region_cmp(const void *x, const void *y)
{
	const struct mem_region *a = x, *b = y;

	return (a->base > b->base) - (a->base < b->base);
}

/* Sort by base and drop regions overlapping an earlier one. */
static void sort_regions(struct analysis *a, uint64_t at)
{
	struct memory_info *mi = &a->memory;
	size_t n = mi->regions.n, k = 0, dropped = 0;

	if (n == 0)
		return;
	qsort(mi->regions.v, n, sizeof(*mi->regions.v), region_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct mem_region *p = &mi->regions.v[k];

		if (mi->regions.v[i].base - p->base < p->size) {
			dropped++;
			continue;
		}
		mi->regions.v[++k] = mi->regions.v[i];
	}
	mi->regions.n = k + 1;
	if (dropped > 0)
		model_add_error(a, DF_EFORMAT, true, at,
				"MemoryInfoList: %zu regions overlap others "
				"and are ignored",
				dropped);
}

void mdstreams_read_memory_info(struct analysis *a, const struct reader *s)
{
	struct memory_info *mi = &a->memory;
	uint64_t n;

	if (s->len < MEMINFO_HEADER) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"MemoryInfoList stream is %zu bytes, needs %u",
				s->len, MEMINFO_HEADER);
		return;
	}
	uint32_t hsize = u32at(s, 0), esize = u32at(s, 4);

	if (!table_shape(a, s, "MemoryInfoList", MEMINFO_HEADER, esize,
			 MEMINFO_ENTRY,
			 u64at(s, 8), MODEL_MAX_MEMORY_REGIONS, &n))
		return;
	mi->present = true;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = hsize + i * esize;
		struct mem_region r = {
			.base = u64at(s, e),
			.allocation_base = u64at(s, e + 0x08),
			.allocation_protect = u32at(s, e + 0x10),
			.size = u64at(s, e + 0x18),
			.state = u32at(s, e + 0x20),
			.protect = u32at(s, e + 0x24),
			.type = u32at(s, e + 0x28),
		};

		/* Keep base + size - 1 within the address space. */
		if (r.size > 0 && r.size - 1 > UINT64_MAX - r.base)
			r.size = UINT64_MAX - r.base;
		count_region(mi, &r);
		if (r.size == 0)
			continue;
		struct mem_region *slot = DF_VEC_PUSH(
			a->arena, mi->regions, MODEL_MAX_MEMORY_REGIONS);

		if (slot == NULL) {
			model_add_error(a, DF_ENOMEM, true, s->base,
					"MemoryInfoList: no memory for region "
					"%llu",
					(unsigned long long)i);
			break;
		}
		*slot = r;
	}
	sort_regions(a, s->base);
}

void mdstreams_locate_crash(struct analysis *a)
{
	if (!a->memory.present)
		return;
	if (a->crash.has_address)
		a->memory.address_region = model_region_at(a, a->crash.address);
	if (a->crash.has_ip)
		a->memory.ip_region = model_region_at(a, a->crash.ip);
}

/* ---- ThreadInfoList (1.16) ------------------------------------------------ */

static struct thread *thread_by_id(struct analysis *a, uint32_t id)
{
	for (size_t i = 0; i < a->threads.n; i++)
		if (a->threads.v[i].id == id)
			return &a->threads.v[i];
	return NULL;
}

void mdstreams_read_thread_info(struct analysis *a, const struct reader *s)
{
	uint64_t n;

	if (s->len < THREADINFO_HEADER) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"ThreadInfoList stream is %zu bytes, needs %u",
				s->len, THREADINFO_HEADER);
		return;
	}
	uint32_t hsize = u32at(s, 0), esize = u32at(s, 4);

	if (!table_shape(a, s, "ThreadInfoList", THREADINFO_HEADER, esize,
			 THREADINFO_ENTRY, u32at(s, 8),
			 MDSTREAMS_MAX_THREAD_INFOS, &n))
		return;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = hsize + i * esize;
		struct thread *t = thread_by_id(a, u32at(s, e));

		/* Breakpad's handler thread has info but no thread entry. */
		if (t == NULL || t->has_info)
			continue;
		t->has_info = true;
		t->info = (struct thread_info){
			.dump_flags = u32at(s, e + 0x04),
			.dump_error = u32at(s, e + 0x08),
			.exit_status = u32at(s, e + 0x0C),
			.create_time = u64at(s, e + 0x10),
			.exit_time = u64at(s, e + 0x18),
			.kernel_time = u64at(s, e + 0x20),
			.user_time = u64at(s, e + 0x28),
			.start_address = u64at(s, e + 0x30),
			.affinity = u64at(s, e + 0x38),
		};
	}
}

/* ---- HandleOperationList (1.15) and TokenStream (1.22) -------------------- */

void mdstreams_read_handle_ops(struct analysis *a, const struct reader *s)
{
	uint64_t n;

	if (s->len < HANDLEOPS_HEADER) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"HandleOperationList stream is %zu bytes, "
				"needs %u",
				s->len, HANDLEOPS_HEADER);
		return;
	}
	/* Entries are opaque (Application Verifier records): counted. */
	if (!table_shape(a, s, "HandleOperationList", HANDLEOPS_HEADER,
			 u32at(s, 4), 1,
			 u32at(s, 8), MDSTREAMS_MAX_HANDLE_OPS, &n))
		return;
	a->vendor.has_handle_operations = true;
	a->vendor.handle_operations = n;
}

void mdstreams_read_tokens(struct analysis *a, const struct reader *s)
{
	if (s->len < TOKEN_HEADER) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"TokenStream is %zu bytes, needs %u", s->len,
				TOKEN_HEADER);
		return;
	}
	uint32_t claimed = u32at(s, 4), at = u32at(s, 8), n = 0;

	/* Elements are variable: each says its own size (TokenSize). */
	while (n < claimed && n < MDSTREAMS_MAX_TOKENS) {
		uint32_t size = u32at(s, at);

		if ((uint64_t)at + TOKEN_ELEMENT > s->len ||
		    size < TOKEN_ELEMENT || size > s->len - at)
			break;
		n++;
		at += size;
	}
	if (n < claimed)
		model_add_error(a, DF_ETRUNC, true, s->base,
				"TokenStream: %u tokens claimed, %u read",
				claimed, n);
	a->vendor.has_tokens = true;
	a->vendor.tokens = n;
}

/* ---- CrashpadInfo (1.23) -------------------------------------------------- */

/* rust-minidump's GUID text, or NULL for the all-zero GUID. */
static const char *guid_text(struct analysis *a, const struct reader *s,
			     uint64_t off)
{
	const uint8_t *g = s->data + off;
	static const uint8_t zero[16];

	if (memcmp(g, zero, sizeof(zero)) == 0)
		return NULL;
	return arena_printf(a->arena,
			    "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			    u32at(s, off), (unsigned)(g[4] | g[5] << 8),
			    (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10],
			    g[11], g[12], g[13], g[14], g[15]);
}

/*
 * Entries of the counted list ("u32 count, entries of ESIZE bytes") at the
 * location descriptor at OFF of S; 0 for an empty location. *BAD is set
 * when the list does not fit in its location or the file.
 */
static uint32_t located_count(const struct reader *file,
			      const struct reader *s, uint64_t off,
			      uint32_t esize, bool *bad)
{
	uint32_t size = u32at(s, off), rva = u32at(s, off + 4), n;
	struct reader l;

	if (rva == 0 || size == 0)
		return 0;
	if (size < 4 || reader_sub(file, rva, size, &l) != DF_OK) {
		*bad = true;
		return 0;
	}
	n = u32at(&l, 0);
	if (n > (size - 4) / esize) {
		*bad = true;
		n = (size - 4) / esize;
	}
	return n;
}

static void read_crashpad_modules(struct analysis *a,
				  const struct reader *file,
				  const struct reader *s, bool *bad)
{
	struct vendor_info *v = &a->vendor;
	uint32_t size = u32at(s, 0x2C), rva = u32at(s, 0x30);
	struct reader l;

	if (rva == 0 || size == 0)
		return;
	if (size < 4 || reader_sub(file, rva, size, &l) != DF_OK) {
		*bad = true;
		return;
	}
	uint32_t n = u32at(&l, 0);

	if (n > (size - 4) / CRASHPAD_LINK) {
		*bad = true;
		n = (size - 4) / CRASHPAD_LINK;
	}
	if (n > MDSTREAMS_MAX_CRASHPAD_MODULES)
		n = MDSTREAMS_MAX_CRASHPAD_MODULES;
	v->crashpad_modules = n;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = 4 + (uint64_t)i * CRASHPAD_LINK;
		uint32_t msize = u32at(&l, e + 4), mrva = u32at(&l, e + 8);
		struct reader m;

		if (msize < CRASHPAD_MODULE_MIN ||
		    reader_sub(file, mrva, msize, &m) != DF_OK) {
			*bad = true;
			continue;
		}
		v->module_annotations +=
			located_count(file, &m, 4, 4, bad) +
			located_count(file, &m, 12, 8, bad);
		if (msize >= CRASHPAD_MODULE_MIN + 8)
			v->module_annotations +=
				located_count(file, &m, 20, 12, bad);
	}
}

void mdstreams_read_crashpad(struct analysis *a, const struct reader *file,
			     const struct reader *s)
{
	struct vendor_info *v = &a->vendor;
	bool bad = false;

	if (s->len < CRASHPAD_MIN) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"CrashpadInfo stream is %zu bytes, needs %u",
				s->len, CRASHPAD_MIN);
		return;
	}
	v->crashpad = true;
	v->report_id = guid_text(a, s, 0x04);
	v->client_id = guid_text(a, s, 0x14);
	v->simple_annotations = located_count(file, s, 0x24, 8, &bad);
	read_crashpad_modules(a, file, s, &bad);
	if (bad)
		model_add_error(a, DF_ETRUNC, true, s->base,
				"CrashpadInfo: annotation lists do not fit "
				"their locations or the file");
}

/* ---- Breakpad Linux streams (1.23) ---------------------------------------- */

/* Count NUL-separated non-empty entries. */
static uint32_t nul_entries(const struct reader *s)
{
	uint32_t n = 0;
	bool in = false;

	for (size_t i = 0; i < s->len; i++) {
		if (s->data[i] != 0 && !in)
			n++;
		in = s->data[i] != 0;
	}
	return n;
}

/* argv joined by spaces, control bytes shown as '?', at most the cap. */
static void read_cmdline(struct analysis *a, const struct reader *s)
{
	char buf[MDSTREAMS_MAX_CMDLINE + 1];
	size_t n = s->len < MDSTREAMS_MAX_CMDLINE ? s->len
						  : MDSTREAMS_MAX_CMDLINE;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s->data[i];

		buf[k++] = c == 0 ? ' ' : (c < 0x20 || c == 0x7F) ? '?'
								   : (char)c;
	}
	while (k > 0 && buf[k - 1] == ' ')
		k--;
	buf[k] = '\0';
	if (s->len > MDSTREAMS_MAX_CMDLINE)
		model_add_error(a, DF_ELIMIT, true, s->base,
				"LinuxCmdLine: %zu bytes, only the first %u "
				"are kept",
				s->len, MDSTREAMS_MAX_CMDLINE);
	if (k > 0)
		a->vendor.cmdline = arena_strdup(a->arena, buf);
}

static uint32_t cpuinfo_count(const struct reader *s)
{
	static const char key[] = "processor";
	const size_t klen = sizeof(key) - 1;
	uint32_t n = 0;

	for (size_t i = 0; i + klen < s->len; i++) {
		if ((i == 0 || s->data[i - 1] == '\n') &&
		    memcmp(s->data + i, key, klen) == 0 &&
		    (s->data[i + klen] == ' ' || s->data[i + klen] == '\t' ||
		     s->data[i + klen] == ':'))
			n++;
	}
	return n;
}

/* Parse hex digits at *P (before END) into *OUT; false when none. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *q = *p;

	for (; q < end; q++) {
		int d = *q >= '0' && *q <= '9'	 ? *q - '0'
			: *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
			: *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
						 : -1;

		if (d < 0 || v >> 60 != 0)
			break;
		v = v << 4 | (uint64_t)d;
	}
	if (q == *p || (q < end && *q != '-' && *q != ' '))
		return false;
	*out = v;
	*p = q;
	return true;
}

/* Skip one space-separated field and the spaces after it. */
static const char *skip_field(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	return p;
}

struct map_line {
	uint64_t start, end;
	bool exec;
	const char *path;
	size_t path_len;
};

/* "start-end perms offset dev inode path"; false for another shape. */
static bool parse_map_line(const char *p, const char *eol,
			   struct map_line *ml)
{
	if (!parse_hex(&p, eol, &ml->start) || p >= eol || *p++ != '-' ||
	    !parse_hex(&p, eol, &ml->end) || ml->end <= ml->start)
		return false;
	while (p < eol && *p == ' ')
		p++;
	ml->exec = eol - p >= 4 && p[2] == 'x';
	for (int f = 0; f < 4; f++)
		p = skip_field(p, eol);
	while (eol > p && (eol[-1] == ' ' || eol[-1] == '\r'))
		eol--;
	ml->path = p;
	ml->path_len = (size_t)(eol - p);
	return true;
}

/*
 * Merge ML into the last mapping of the same file, or start one. False
 * when the cap (or the arena) is reached.
 */
static bool add_mapping(struct analysis *a, const struct map_line *ml)
{
	struct vendor_info *v = &a->vendor;
	struct mapping *last = v->mappings.n > 0
				       ? &v->mappings.v[v->mappings.n - 1]
				       : NULL;

	if (last != NULL && strlen(last->path) == ml->path_len &&
	    memcmp(last->path, ml->path, ml->path_len) == 0 &&
	    ml->start >= last->base) {
		if (ml->end - 1 > last->end)
			last->end = ml->end - 1;
		last->executable |= ml->exec;
		return true;
	}
	struct mapping *m = DF_VEC_PUSH(a->arena, v->mappings,
					MODEL_MAX_MAPPINGS);

	if (m == NULL)
		return false;
	*m = (struct mapping){ arena_strndup(a->arena, ml->path,
					     ml->path_len),
			       ml->start, ml->end - 1, ml->exec };
	if (m->path == NULL) {
		v->mappings.n--;
		return false;
	}
	return true;
}

/* File-backed regions ("/..." paths) of /proc/PID/maps as mappings. */
static void read_maps(struct analysis *a, const struct reader *s)
{
	const char *p = (const char *)s->data, *end = p + s->len;
	bool full = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		struct map_line ml;

		a->vendor.map_lines++;
		if (!full && parse_map_line(p, eol, &ml) && ml.path_len > 0 &&
		    ml.path[0] == '/' &&
		    memchr(ml.path, 0, ml.path_len) == NULL &&
		    !add_mapping(a, &ml)) {
			full = true;
			model_add_error(a, DF_ELIMIT, true, s->base,
					"LinuxMaps: more than %zu mapped "
					"files, the rest are ignored",
					a->vendor.mappings.n);
		}
		p = eol + 1;
	}
}

static void read_dso_debug(struct analysis *a, const struct reader *s)
{
	if (s->len < 12) {
		model_add_error(a, DF_ETRUNC, true, s->base,
				"LinuxDsoDebug stream is %zu bytes, needs 12",
				s->len);
		return;
	}
	a->vendor.dso_count = u32at(s, 8);
}

void mdstreams_read_linux(struct analysis *a, enum mdstreams_linux kind,
			  unsigned word, const struct reader *s)
{
	struct vendor_info *v = &a->vendor;

	v->linux_streams |= 1u << kind;
	switch (kind) {
	case MDSTREAMS_LINUX_CPU_INFO:
		v->cpuinfo_count = cpuinfo_count(s);
		break;
	case MDSTREAMS_LINUX_CMD_LINE:
		read_cmdline(a, s);
		break;
	case MDSTREAMS_LINUX_ENVIRON:
		v->environ_count = nul_entries(s);
		break;
	case MDSTREAMS_LINUX_AUXV:
		v->auxv_count = (uint32_t)(s->len / (2 * (word == 4 ? 4 : 8)));
		break;
	case MDSTREAMS_LINUX_MAPS:
		read_maps(a, s);
		break;
	case MDSTREAMS_LINUX_DSO_DEBUG:
		read_dso_debug(a, s);
		break;
	}
}
