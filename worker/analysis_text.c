#include "analysis_text.h"

#include <inttypes.h>
#include <string.h>

#include "bugcheck.h"
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

	text_put_safe(out, source != NULL ? source : "(input)");
	fprintf(out, "\n  %-14s %s", "format", model_format_name(a->format));
	if (a->format_detail != NULL) {
		fputs(" (", out);
		text_put_safe(out, a->format_detail);
		fputc(')', out);
	}
	fputc('\n', out);
	snprintf(os, sizeof(os), "%s %s %s",
		 a->system.os != NULL ? a->system.os : "",
		 a->system.os_ver != NULL ? a->system.os_ver : "",
		 a->system.cpu_arch != NULL ? a->system.cpu_arch : "");
	if (strspn(os, " ") != strlen(os))
		label(out, "system", os);
	if (a->process_name != NULL)
		label(out, "process", a->process_name);
	print_crash(out, a);
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
