#include "analysis_text.h"

#include <inttypes.h>
#include <string.h>

#include "bugcheck.h"
#include "df.h"
#include "model.h"

void text_put_safe(FILE *out, const char *s)
{
	if (s == NULL) {
		fputc('-', out);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

static void label(FILE *out, const char *name, const char *value)
{
	fprintf(out, "  %-14s ", name);
	text_put_safe(out, value);
	fputc('\n', out);
}

static void print_frame(FILE *out, size_t i, const struct frame *f)
{
	fprintf(out, "    %2zu  ", i);
	if (f->module != NULL) {
		text_put_safe(out, f->module);
		if (f->function != NULL) {
			fputc('!', out);
			text_put_safe(out, f->function);
			if (f->has_func_offset)
				fprintf(out, "+0x%" PRIx64, f->func_offset);
		} else if (f->has_module_offset) {
			fprintf(out, "+0x%" PRIx64, f->module_offset);
		}
	} else if (f->has_address) {
		fprintf(out, "0x%" PRIx64, f->address);
	} else {
		fputc('?', out);
	}
	if (f->source_file != NULL) {
		fputs(" [", out);
		text_put_safe(out, f->source_file);
		fprintf(out, " : %" PRIu32 "]", f->source_line);
	}
	fprintf(out, "  (%s)\n", model_trust_name(f->trust));
}

static void print_crash(FILE *out, const struct analysis *a)
{
	const struct bugcheck *b = &a->bugcheck;

	if (b->present) {
		fprintf(out, "  %-14s 0x%08X ", "bugcheck", b->code);
		text_put_safe(out, b->name != NULL ? b->name
						   : bugcheck_display_name(b->code));
		fprintf(out, " {0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
			     ", 0x%" PRIx64 "}\n",
			b->args[0], b->args[1], b->args[2], b->args[3]);
	}
	if (a->crash.present) {
		fprintf(out, "  %-14s ", "crash");
		text_put_safe(out, a->crash.type != NULL ? a->crash.type : "?");
		if (a->crash.has_code)
			fprintf(out, " (0x%08X)", a->crash.code);
		if (a->crash.has_address)
			fprintf(out, " at 0x%" PRIx64, a->crash.address);
		fputc('\n', out);
	}
}

/* Names of MemoryInfoList states and types (formats.md 1.17). */
struct mem_name {
	uint32_t value;
	const char *name;
};

static const struct mem_name mem_states[] = {
	{ 0x1000, "committed" }, { 0x2000, "reserved" }, { 0x10000, "free" },
};

static const struct mem_name mem_types[] = {
	{ 0x20000, "private" }, { 0x40000, "mapped" }, { 0x1000000, "image" },
};

static void put_mem_name(FILE *out, uint32_t v, const char *what,
			 const struct mem_name *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].value == v) {
			fprintf(out, " %s", t[i].name);
			return;
		}
	}
	if (v != 0)
		fprintf(out, " %s 0x%x", what, v);
}

static void put_region(FILE *out, const char *what, bool has,
		       const struct mem_region *r)
{
	fprintf(out, "%s", what);
	if (!has) {
		fputs(" unknown", out);
		return;
	}
	if (r == NULL) {
		fputs(" in no listed region", out);
		return;
	}
	fputs(" in", out);
	put_mem_name(out, r->state, "state", mem_states,
		     ARRAY_SIZE(mem_states));
	put_mem_name(out, r->type, "type", mem_types, ARRAY_SIZE(mem_types));
	fprintf(out, " memory, protection 0x%x%s", r->protect,
		model_protect_executable(r->protect) ? " (executable)" : "");
}

/* Where the crash address and instruction lie (MemoryInfoList). */
static void print_memory(FILE *out, const struct analysis *a)
{
	if (!a->memory.present || !a->crash.present)
		return;
	fprintf(out, "  %-14s ", "memory");
	put_region(out, "address", a->crash.has_address,
		   a->memory.address_region);
	fputs("; ", out);
	put_region(out, "instruction", a->crash.has_ip, a->memory.ip_region);
	fputc('\n', out);
}

/* ---- kernel dumps: a BlueScreenView-like row ----------------------------- */

/* Unix seconds T as "YYYY-MM-DD hh:mm:ss UTC" (proleptic Gregorian). */
static void put_utc(FILE *out, uint64_t t)
{
	int64_t z = (int64_t)(t / 86400) + 719468;
	unsigned sec = (unsigned)(t % 86400);
	int64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned day = doy - (153 * mp + 2) / 5 + 1;
	unsigned month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = (int64_t)yoe + era * 400 + (month <= 2);

	fprintf(out, "%04" PRId64 "-%02u-%02u %02u:%02u:%02u UTC", year, month,
		day, sec / 3600, sec / 60 % 60, sec % 60);
}

static int hex_width(const struct analysis *a)
{
	const char *arch = a->system.cpu_arch;

	return arch != NULL && (strcmp(arch, "x86") == 0 ||
				strcmp(arch, "arm") == 0)
		       ? 8
		       : 16;
}

/* "driver.sys+0x1d4b" for ADDR, or the bare address outside drivers. */
static void put_code_addr(FILE *out, const struct analysis *a, uint64_t addr)
{
	const struct module *m = model_module_at(a, addr);

	if (m != NULL && m->filename != NULL && !m->unloaded) {
		text_put_safe(out, m->filename);
		fprintf(out, "+0x%" PRIx64, addr - m->base);
	} else {
		fprintf(out, "0x%0*" PRIx64, hex_width(a), addr);
	}
}

/*
 * One row as BlueScreenView lists a crash: dump file, crash time, bugcheck
 * name and code, the four parameters, the driver it was caused by and the
 * crash address in it, processors, OS version and build, architecture.
 * Two spaces between the columns, "-" for what the dump does not say.
 */
static void print_kernel_row(FILE *out, const struct analysis *a,
			     const char *source)
{
	const struct bugcheck *b = &a->bugcheck;
	const char *release = model_field(a, "OS_RELEASE");
	int w = hex_width(a);

	text_put_safe(out, source != NULL ? source : "(input)");
	fputs("  ", out);
	if (a->crash_time != 0)
		put_utc(out, a->crash_time);
	else
		fputc('-', out);
	fputs("  ", out);
	if (b->present) {
		text_put_safe(out, b->name != NULL
					   ? b->name
					   : bugcheck_display_name(b->code));
		fprintf(out, "  0x%08X", b->code);
		for (int i = 0; i < 4; i++)
			fprintf(out, "  0x%0*" PRIx64, w, b->args[i]);
	} else {
		fputs("-  -  -  -  -  -", out);
	}
	fputs("  ", out);
	text_put_safe(out, a->blame_module);
	fputs("  ", out);
	if (a->crash.has_ip)
		put_code_addr(out, a, a->crash.ip);
	else
		fputc('-', out);
	if (a->system.cpu_count != 0)
		fprintf(out, "  %u %s", a->system.cpu_count,
			a->system.cpu_count == 1 ? "processor" : "processors");
	else
		fputs("  -", out);
	fputs("  ", out);
	if (release != NULL) {
		text_put_safe(out, release);
		fputc(' ', out);
	}
	text_put_safe(out, a->system.os_ver);
	if (a->system.build != 0)
		fprintf(out, " build %u", a->system.build);
	fputs("  ", out);
	text_put_safe(out, a->system.cpu_arch);
}

static void print_findings(FILE *out, const struct analysis *a)
{
	for (size_t i = 0; i < a->findings.n; i++) {
		const struct finding *f = &a->findings.v[i];

		fprintf(out, "  finding        ");
		text_put_safe(out, f->pattern);
		fputs(": ", out);
		text_put_safe(out, f->title);
		fputc('\n', out);
		for (size_t j = 0; j < f->evidence.n; j++) {
			fputs("                   - ", out);
			text_put_safe(out, f->evidence.v[j]);
			fputc('\n', out);
		}
	}
}

void analysis_print_text(FILE *out, const struct analysis *a,
			 const char *source)
{
	char os[256];

	if (a->format == FORMAT_KERNEL_DUMP)
		print_kernel_row(out, a, source);
	else
		text_put_safe(out, source != NULL ? source : "(input)");
	fprintf(out, "\n  %-14s %s", "format", model_format_name(a->format));
	if (a->format_detail != NULL) {
		fputs(" (", out);
		text_put_safe(out, a->format_detail);
		fputc(')', out);
	}
	fputc('\n', out);
	if (a->content_hash_skipped)
		label(out, "content hash", "not computed");
	snprintf(os, sizeof(os), "%s %s %s",
		 a->system.os != NULL ? a->system.os : "",
		 a->system.os_ver != NULL ? a->system.os_ver : "",
		 a->system.cpu_arch != NULL ? a->system.cpu_arch : "");
	if (strspn(os, " ") != strlen(os))
		label(out, "system", os);
	if (a->process_name != NULL)
		label(out, "process", a->process_name);
	print_crash(out, a);
	print_memory(out, a);
	if (a->format == FORMAT_KERNEL_DUMP && !a->crash.present &&
	    a->crash.has_ip) {
		fprintf(out, "  %-14s instruction 0x%" PRIx64 " (", "crash",
			a->crash.ip);
		put_code_addr(out, a, a->crash.ip);
		fputs(")\n", out);
	}
	if (a->blame_module != NULL)
		label(out, "blame", a->blame_module);
	if (a->signature != NULL) {
		fprintf(out, "  %-14s [%s] ", "signature", a->signature_hash);
		text_put_safe(out, a->signature);
		fputc('\n', out);
	}
	print_findings(out, a);
	const struct thread *t = model_crashing_thread(a);

	if (t != NULL && t->frames.n > 0) {
		fprintf(out, "  crashing thread (%zu frames):\n", t->frames.n);
		for (size_t i = 0; i < t->frames.n && i < 32; i++)
			print_frame(out, i, &t->frames.v[i]);
	}
	fprintf(out, "  %-14s %zu threads, %zu modules\n", "contents",
		a->threads.n, a->modules.n);
	for (size_t i = 0; i < a->errors.n; i++) {
		fprintf(out, "  error          ");
		text_put_safe(out, a->errors.v[i].message);
		fputc('\n', out);
	}
	fputc('\n', out);
}
