#include "analysis_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "jsonw.h"
#include "model.h"
#include "strbuf.h"

/* Length of the valid UTF-8 sequence at S (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n;
	uint32_t cp;

	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

char *utf8_sanitize(const char *s)
{
	if (s == NULL)
		return NULL;
	size_t len = strlen(s);

	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(len * 3 + 1);
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (out == NULL)
		return NULL;
	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
	return out;
}

/* Length of S if all of it is valid UTF-8, else SIZE_MAX. */
static size_t utf8_valid_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0)
			return SIZE_MAX;
		p += n;
	}
	return (size_t)(p - (const unsigned char *)s);
}

/* S made valid UTF-8 (most strings are already: checked, not copied). */
static void str(struct jsonw *w, const char *s)
{
	if (s == NULL || utf8_valid_len(s) != SIZE_MAX) {
		jsonw_string(w, s);
		return;
	}
	char *clean = utf8_sanitize(s);

	jsonw_string(w, clean); /* null if there was no memory for it */
	free(clean);
}

static void key_str(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	str(w, s);
}

/* "0x" and V in lower-case hex, zero-padded to WIDTH digits. */
static void hex(struct jsonw *w, uint64_t v, int width)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 + 64 + 1];
	int n = 1;

	while (n < 16 && v >> (4 * n) != 0)
		n++;
	if (width > n)
		n = width < 64 ? width : 64;
	buf[0] = '0';
	buf[1] = 'x';
	for (int i = 0; i < n; i++)
		buf[2 + n - 1 - i] = i < 16 ? digits[v >> (4 * i) & 15] : '0';
	buf[2 + n] = '\0';
	jsonw_string(w, buf);
}

static void key_hex(struct jsonw *w, const char *key, uint64_t v, int width)
{
	jsonw_key(w, key);
	hex(w, v, width);
}

static void key_hex_opt(struct jsonw *w, const char *key, bool has,
			uint64_t v, int width)
{
	jsonw_key(w, key);
	if (has)
		hex(w, v, width);
	else
		jsonw_null(w);
}

/* Counts are unsigned in the model, signed in JSON (as jansson has it). */
static void key_count(struct jsonw *w, const char *key, uint64_t n)
{
	jsonw_key(w, key);
	jsonw_integer(w, (json_int_t)n);
}

static void key_bool(struct jsonw *w, const char *key, bool v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}

static int addr_width(const struct analysis *a)
{
	const char *arch = a->system.cpu_arch;

	if (arch != NULL && (strcmp(arch, "x86") == 0 ||
			     strcmp(arch, "arm") == 0))
		return 8;
	return 16;
}

static void frame_json(struct jsonw *w, const struct frame *f, size_t idx,
		       int width)
{
	jsonw_object_begin(w);
	key_count(w, "frame", idx);
	key_str(w, "module", f->module);
	key_str(w, "function", f->function);
	key_hex_opt(w, "offset", f->has_address, f->address, width);
	key_hex_opt(w, "function_offset", f->has_func_offset, f->func_offset,
		    8);
	key_hex_opt(w, "module_offset", f->has_module_offset,
		    f->module_offset, 8);
	key_str(w, "file", f->source_file);
	jsonw_key(w, "line");
	if (f->source_file != NULL)
		jsonw_integer(w, (json_int_t)f->source_line);
	else
		jsonw_null(w);
	key_str(w, "trust", model_trust_name(f->trust));
	jsonw_object_end(w);
}

/* ThreadInfoList entry; names as rust-minidump's MinidumpThreadInfo. */
static void thread_info_json(struct jsonw *w, const struct thread_info *i,
			     int width)
{
	jsonw_object_begin(w);
	key_hex(w, "dump_flags", i->dump_flags, 8);
	key_hex(w, "dump_error", i->dump_error, 8);
	key_hex(w, "exit_status", i->exit_status, 8);
	key_count(w, "create_time", i->create_time);
	key_count(w, "exit_time", i->exit_time);
	key_count(w, "kernel_time", i->kernel_time);
	key_count(w, "user_time", i->user_time);
	key_hex(w, "start_address", i->start_address, width);
	key_hex(w, "affinity", i->affinity, 16);
	jsonw_object_end(w);
}

static void thread_json(struct jsonw *w, const struct thread *t, int width)
{
	jsonw_object_begin(w);
	key_count(w, "thread_id", t->id);
	key_str(w, "thread_name", t->name);
	if (t->state != NULL)
		key_str(w, "state", t->state);
	if (t->wait_reason != NULL)
		key_str(w, "wait_reason", t->wait_reason);
	if (t->process != NULL)
		key_str(w, "process", t->process);
	if (t->has_wait_ticks)
		key_count(w, "wait_ticks", t->wait_ticks);
	if (t->has_info) {
		jsonw_key(w, "thread_info");
		thread_info_json(w, &t->info, width);
	}
	key_count(w, "frame_count", t->frames.n);
	jsonw_key(w, "frames");
	jsonw_array_begin(w);
	for (size_t i = 0; i < t->frames.n; i++)
		frame_json(w, &t->frames.v[i], i, width);
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void module_json(struct jsonw *w, const struct module *m, int width)
{
	jsonw_object_begin(w);
	key_str(w, "filename", m->filename);
	key_hex(w, "base_addr", m->base, width);
	key_hex(w, "end_addr", m->end, width);
	key_str(w, "debug_file", m->debug_file);
	key_str(w, "debug_id", m->debug_id);
	key_str(w, "code_id", m->code_id);
	key_str(w, "version", m->version);
	if (m->unloaded)
		key_bool(w, "unloaded", true);
	jsonw_object_end(w);
}

static void system_json(struct jsonw *w, const struct analysis *a)
{
	const struct system_info *s = &a->system;

	jsonw_object_begin(w);
	key_str(w, "os", s->os);
	key_str(w, "os_ver", s->os_ver);
	key_str(w, "cpu_arch", s->cpu_arch);
	key_str(w, "cpu_info", s->cpu_info);
	jsonw_key(w, "cpu_count");
	if (s->cpu_count)
		jsonw_integer(w, s->cpu_count);
	else
		jsonw_null(w);
	if (s->bios_vendor != NULL)
		key_str(w, "bios_vendor", s->bios_vendor);
	if (s->system_manufacturer != NULL)
		key_str(w, "system_manufacturer", s->system_manufacturer);
	if (s->system_product != NULL)
		key_str(w, "system_product", s->system_product);
	jsonw_object_end(w);
}

/* One MemoryInfoList region, named as rust-minidump's MinidumpMemoryInfo. */
static void region_json(struct jsonw *w, const struct mem_region *r,
			int width)
{
	if (r == NULL) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_hex(w, "base_address", r->base, width);
	key_hex(w, "region_size", r->size, 1);
	key_hex(w, "state", r->state, 8);
	key_hex(w, "protection", r->protect, 8);
	key_hex(w, "type", r->type, 8);
	key_bool(w, "executable", model_protect_executable(r->protect));
	jsonw_object_end(w);
}

static void memory_info_json(struct jsonw *w, const struct memory_info *mi)
{
	if (!mi->present) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_count(w, "region_count", mi->regions.n);
	for (int c = 0; c < MEM_NCLASS; c++) {
		jsonw_key(w, model_mem_class_name((enum mem_class)c));
		jsonw_object_begin(w);
		key_count(w, "count", mi->count[c]);
		key_count(w, "size", mi->bytes[c]);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
}

static void crashpad_json(struct jsonw *w, const struct vendor_info *v)
{
	if (!v->crashpad) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_str(w, "report_id", v->report_id);
	key_str(w, "client_id", v->client_id);
	key_count(w, "simple_annotations", v->simple_annotations);
	key_count(w, "module_count", v->crashpad_modules);
	key_count(w, "module_annotations", v->module_annotations);
	jsonw_object_end(w);
}

/* Breakpad's Linux streams: names of those present, then their facts. */
static void linux_json(struct jsonw *w, const struct vendor_info *v,
		       int width)
{
	static const char *const names[] = {
		[3] = "LinuxCpuInfo", [4] = "LinuxProcStatus",
		[5] = "LinuxLsbRelease", [6] = "LinuxCmdLine",
		[7] = "LinuxEnviron", [8] = "LinuxAuxv",
		[9] = "LinuxMaps", [10] = "LinuxDsoDebug",
	};

	if (v->linux_streams == 0) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_key(w, "streams");
	jsonw_array_begin(w);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i] != NULL && (v->linux_streams >> i & 1))
			jsonw_string(w, names[i]);
	jsonw_array_end(w);
	key_str(w, "cmdline", v->cmdline);
	key_count(w, "environ_count", v->environ_count);
	key_count(w, "auxv_count", v->auxv_count);
	key_count(w, "cpuinfo_processors", v->cpuinfo_count);
	key_count(w, "dso_count", v->dso_count);
	jsonw_key(w, "maps");
	jsonw_array_begin(w);
	for (size_t i = 0; i < v->mappings.n; i++) {
		const struct mapping *m = &v->mappings.v[i];

		jsonw_object_begin(w);
		key_str(w, "path", m->path);
		key_hex(w, "base_addr", m->base, width);
		key_hex(w, "end_addr", m->end, width);
		key_bool(w, "executable", m->executable);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

/*
 * Kernel dumps have no exception: their crash_info is the crashing
 * processor's instruction pointer (the faulting instruction when the
 * dump's context is the faulting one), as the reader records it.
 */
static bool kernel_crash(const struct analysis *a)
{
	return a->format == FORMAT_KERNEL_DUMP && !a->crash.present &&
	       a->crash.has_ip;
}

static void crash_json(struct jsonw *w, const struct analysis *a, int width)
{
	const struct crash *c = &a->crash;
	bool kernel = kernel_crash(a);

	if (!c->present && !kernel) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_str(w, "type", c->type);
	key_hex_opt(w, "code", c->has_code, c->code, 8);
	if (kernel)
		key_hex(w, "address", c->ip, width);
	else
		key_hex_opt(w, "address", c->has_address, c->address, width);
	key_hex_opt(w, "instruction", c->has_ip, c->ip, width);
	jsonw_key(w, "crashing_thread");
	if (c->crashing_thread >= 0)
		jsonw_integer(w, c->crashing_thread);
	else
		jsonw_null(w);
	if (a->memory.present) {
		jsonw_key(w, "address_memory");
		region_json(w, a->memory.address_region, width);
		jsonw_key(w, "instruction_memory");
		region_json(w, a->memory.ip_region, width);
	}
	jsonw_object_end(w);
}

static void bugcheck_json(struct jsonw *w, const struct bugcheck *b)
{
	if (!b->present) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_hex(w, "code", b->code, 8);
	key_str(w, "name", b->name);
	jsonw_key(w, "args");
	jsonw_array_begin(w);
	for (int i = 0; i < 4; i++)
		hex(w, b->args[i], 16);
	jsonw_array_end(w);
	if (b->str != NULL)
		key_str(w, "str", b->str);
	jsonw_object_end(w);
}

static void findings_json(struct jsonw *w, const struct analysis *a)
{
	jsonw_array_begin(w);
	for (size_t i = 0; i < a->findings.n; i++) {
		const struct finding *f = &a->findings.v[i];

		jsonw_object_begin(w);
		key_str(w, "pattern", f->pattern);
		key_str(w, "title", f->title);
		jsonw_key(w, "confidence");
		jsonw_integer(w, f->confidence);
		jsonw_key(w, "evidence");
		jsonw_array_begin(w);
		for (size_t j = 0; j < f->evidence.n; j++)
			str(w, f->evidence.v[j]);
		jsonw_array_end(w);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void errors_json(struct jsonw *w, const struct analysis *a)
{
	jsonw_array_begin(w);
	for (size_t i = 0; i < a->errors.n; i++) {
		const struct model_error *e = &a->errors.v[i];

		jsonw_object_begin(w);
		jsonw_key(w, "code");
		jsonw_integer(w, e->code);
		key_str(w, "message", e->message);
		key_hex_opt(w, "offset", e->has_offset, e->offset, 0);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void blame_json(struct jsonw *w, const struct analysis *a)
{
	if (a->blame_module == NULL) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_str(w, "module", a->blame_module);
	key_str(w, "reason", a->blame_reason);
	jsonw_object_end(w);
}

static void signature_json(struct jsonw *w, const struct analysis *a)
{
	if (a->signature == NULL) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_str(w, "text", a->signature);
	key_str(w, "hash", a->signature_hash);
	key_bool(w, "low_trust", a->signature_low_trust);
	jsonw_key(w, "rules_version");
	jsonw_integer(w, a->sig_rules_version);
	jsonw_object_end(w);
}

/* The descriptive minidump streams (mdstreams.h), where present. */
static void minidump_extras(struct jsonw *w, const struct analysis *a,
			    int width)
{
	const struct vendor_info *v = &a->vendor;

	jsonw_key(w, "memory_info");
	memory_info_json(w, &a->memory);
	jsonw_key(w, "crashpad_info");
	crashpad_json(w, v);
	jsonw_key(w, "linux");
	linux_json(w, v, width);
	if (v->has_handle_operations)
		key_count(w, "handle_operation_count", v->handle_operations);
	if (v->has_tokens)
		key_count(w, "token_count", v->tokens);
}

static void head_json(struct jsonw *w, const struct analysis *a,
		      const char *source)
{
	char digest[HASH_HEX_LEN + 1];

	if (source != NULL)
		key_str(w, "source", source);
	key_str(w, "format", model_format_name(a->format));
	if (a->format_detail != NULL)
		key_str(w, "format_detail", a->format_detail);
	if (a->format == FORMAT_KERNEL_DUMP)
		key_str(w, "dump_type", model_field(a, "DUMP_TYPE"));
	hash_hex(a->content_hash, HASH_LEN, digest);
	key_str(w, "sha256", a->content_hash_skipped ? NULL : digest);
	if (a->content_hash_skipped)
		key_str(w, "sha256_note", "not computed");
	key_count(w, "size", a->size);
}

static void threads_json(struct jsonw *w, const struct analysis *a,
			 int width)
{
	const struct thread *ct = model_crashing_thread(a);

	jsonw_key(w, "crashing_thread");
	if (ct != NULL)
		thread_json(w, ct, width);
	else
		jsonw_null(w);
	key_count(w, "thread_count", a->threads.n);
	jsonw_key(w, "threads");
	jsonw_array_begin(w);
	for (size_t i = 0; i < a->threads.n; i++)
		thread_json(w, &a->threads.v[i], width);
	jsonw_array_end(w);
}

/* The modules loaded (UNLOADED false) or unloaded, as an array. */
static void modules_json(struct jsonw *w, const struct analysis *a,
			 bool unloaded, int width)
{
	jsonw_array_begin(w);
	for (size_t i = 0; i < a->modules.n; i++)
		if (a->modules.v[i].unloaded == unloaded)
			module_json(w, &a->modules.v[i], width);
	jsonw_array_end(w);
}

int analysis_json_write(struct strbuf *sb, const struct analysis *a,
			const char *source, const char *archive,
			const char *member)
{
	struct jsonw w;
	int width = addr_width(a);

	jsonw_init(&w, sb);
	jsonw_object_begin(&w);
	head_json(&w, a, source);
	jsonw_key(&w, "system_info");
	system_json(&w, a);
	jsonw_key(&w, "crash_info");
	crash_json(&w, a, width);
	jsonw_key(&w, "bugcheck");
	bugcheck_json(&w, &a->bugcheck);
	key_str(&w, "process_name", a->process_name);
	jsonw_key(&w, "blame");
	blame_json(&w, a);
	jsonw_key(&w, "signature");
	signature_json(&w, a);
	jsonw_key(&w, "findings");
	findings_json(&w, a);
	jsonw_key(&w, "errors");
	errors_json(&w, a);
	threads_json(&w, a, width);
	jsonw_key(&w, "modules");
	modules_json(&w, a, false, width);
	jsonw_key(&w, "unloaded_modules");
	modules_json(&w, a, true, width);
	if (a->format == FORMAT_MINIDUMP)
		minidump_extras(&w, a, width);
	if (archive != NULL && archive[0] != '\0') {
		key_str(&w, "archive", archive);
		key_str(&w, "member", member != NULL ? member : "");
	}
	jsonw_object_end(&w);
	return jsonw_status(&w);
}

json_t *analysis_to_json(const struct analysis *a, const char *source)
{
	struct strbuf sb;
	json_t *j = NULL;

	strbuf_init(&sb, SIZE_MAX);
	if (analysis_json_write(&sb, a, source, NULL, NULL) == DF_OK)
		j = json_loadb(sb.buf, sb.len, 0, NULL);
	strbuf_release(&sb);
	return j;
}

void analysis_json_set_origin(json_t *o, const char *archive,
			      const char *member)
{
	if (o == NULL || archive == NULL || archive[0] == '\0')
		return;
	char *a = utf8_sanitize(archive);
	char *m = utf8_sanitize(member != NULL ? member : "");

	json_object_set_new(o, "archive", a != NULL ? json_string(a)
						     : json_null());
	json_object_set_new(o, "member", m != NULL ? json_string(m)
						    : json_null());
	free(a);
	free(m);
}
