#include "analysis_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "model.h"

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

/*
 * A JSON string of S made valid UTF-8. Most strings are valid already:
 * they are checked once here, then neither copied nor checked again by
 * jansson (the _nocheck calls).
 */
static json_t *jstr(const char *s)
{
	if (s == NULL)
		return json_null();
	size_t len = utf8_valid_len(s);

	if (len != SIZE_MAX)
		return json_stringn_nocheck(s, len);
	char *clean = utf8_sanitize(s);
	json_t *j = clean != NULL ? json_string_nocheck(clean) : json_null();

	free(clean);
	return j;
}

/* "0x" and V in lower-case hex, zero-padded to WIDTH digits. */
static json_t *jhex(uint64_t v, int width)
{
	static const char digits[] = "0123456789abcdef";
	char buf[2 + 64];
	int n = 1;

	while (n < 16 && v >> (4 * n) != 0)
		n++;
	if (width > n)
		n = width < 64 ? width : 64;
	buf[0] = '0';
	buf[1] = 'x';
	for (int i = 0; i < n; i++)
		buf[2 + n - 1 - i] = i < 16 ? digits[v >> (4 * i) & 15] : '0';
	return json_stringn_nocheck(buf, (size_t)(2 + n));
}

/* Set KEY, a literal in ASCII, so jansson need not check it is UTF-8. */
static void jset(json_t *o, const char *key, json_t *v)
{
	json_object_set_new_nocheck(o, key, v);
}

static json_t *jhex_opt(bool has, uint64_t v, int width)
{
	return has ? jhex(v, width) : json_null();
}

static int addr_width(const struct analysis *a)
{
	const char *arch = a->system.cpu_arch;

	if (arch != NULL && (strcmp(arch, "x86") == 0 ||
			     strcmp(arch, "arm") == 0))
		return 8;
	return 16;
}

static json_t *frame_json(const struct frame *f, size_t idx, int w)
{
	json_t *o = json_object();

	jset(o, "frame", json_integer((json_int_t)idx));
	jset(o, "module", jstr(f->module));
	jset(o, "function", jstr(f->function));
	jset(o, "offset", jhex_opt(f->has_address, f->address, w));
	jset(o, "function_offset",
	     jhex_opt(f->has_func_offset, f->func_offset, 8));
	jset(o, "module_offset",
	     jhex_opt(f->has_module_offset, f->module_offset, 8));
	jset(o, "file", jstr(f->source_file));
	jset(o, "line",
	     f->source_file != NULL
		     ? json_integer((json_int_t)f->source_line)
		     : json_null());
	jset(o, "trust", json_string(model_trust_name(f->trust)));
	return o;
}

static json_t *jcount(uint64_t n)
{
	return json_integer((json_int_t)n);
}

/* ThreadInfoList entry; names as rust-minidump's MinidumpThreadInfo. */
static json_t *thread_info_json(const struct thread_info *i, int w)
{
	json_t *o = json_object();

	jset(o, "dump_flags", jhex(i->dump_flags, 8));
	jset(o, "dump_error", jhex(i->dump_error, 8));
	jset(o, "exit_status", jhex(i->exit_status, 8));
	jset(o, "create_time", jcount(i->create_time));
	jset(o, "exit_time", jcount(i->exit_time));
	jset(o, "kernel_time", jcount(i->kernel_time));
	jset(o, "user_time", jcount(i->user_time));
	jset(o, "start_address", jhex(i->start_address, w));
	jset(o, "affinity", jhex(i->affinity, 16));
	return o;
}

static json_t *thread_json(const struct thread *t, int w)
{
	json_t *o = json_object();
	json_t *frames = json_array();

	jset(o, "thread_id", json_integer((json_int_t)t->id));
	jset(o, "thread_name", jstr(t->name));
	if (t->state != NULL)
		jset(o, "state", jstr(t->state));
	if (t->wait_reason != NULL)
		jset(o, "wait_reason", jstr(t->wait_reason));
	if (t->process != NULL)
		jset(o, "process", jstr(t->process));
	if (t->has_wait_ticks)
		jset(o, "wait_ticks", json_integer((json_int_t)t->wait_ticks));
	if (t->has_info)
		jset(o, "thread_info", thread_info_json(&t->info, w));
	jset(o, "frame_count", json_integer((json_int_t)t->frames.n));
	for (size_t i = 0; i < t->frames.n; i++)
		json_array_append_new(frames, frame_json(&t->frames.v[i], i, w));
	jset(o, "frames", frames);
	return o;
}

static json_t *module_json(const struct module *m, int w)
{
	json_t *o = json_object();

	jset(o, "filename", jstr(m->filename));
	jset(o, "base_addr", jhex(m->base, w));
	jset(o, "end_addr", jhex(m->end, w));
	jset(o, "debug_file", jstr(m->debug_file));
	jset(o, "debug_id", jstr(m->debug_id));
	jset(o, "code_id", jstr(m->code_id));
	jset(o, "version", jstr(m->version));
	if (m->unloaded)
		jset(o, "unloaded", json_true());
	return o;
}

static json_t *system_json(const struct analysis *a)
{
	json_t *o = json_object();
	const struct system_info *s = &a->system;

	jset(o, "os", jstr(s->os));
	jset(o, "os_ver", jstr(s->os_ver));
	jset(o, "cpu_arch", jstr(s->cpu_arch));
	jset(o, "cpu_info", jstr(s->cpu_info));
	jset(o, "cpu_count",
	     s->cpu_count ? json_integer(s->cpu_count)
			  : json_null());
	if (s->bios_vendor != NULL)
		jset(o, "bios_vendor", jstr(s->bios_vendor));
	if (s->system_manufacturer != NULL)
		jset(o, "system_manufacturer", jstr(s->system_manufacturer));
	if (s->system_product != NULL)
		jset(o, "system_product", jstr(s->system_product));
	return o;
}

/*
 * Kernel dumps have no exception: their crash_info is the crashing
 * processor's instruction pointer (the faulting instruction when the
 * dump's context is the faulting one), as the reader records it.
 */
/* One MemoryInfoList region, named as rust-minidump's MinidumpMemoryInfo. */
static json_t *region_json(const struct mem_region *r, int w)
{
	if (r == NULL)
		return json_null();
	json_t *o = json_object();

	jset(o, "base_address", jhex(r->base, w));
	jset(o, "region_size", jhex(r->size, 1));
	jset(o, "state", jhex(r->state, 8));
	jset(o, "protection", jhex(r->protect, 8));
	jset(o, "type", jhex(r->type, 8));
	jset(o, "executable",
	     json_boolean(model_protect_executable(r->protect)));
	return o;
}

static json_t *memory_info_json(const struct memory_info *mi)
{
	if (!mi->present)
		return json_null();
	json_t *o = json_object();

	jset(o, "region_count", jcount(mi->regions.n));
	for (int c = 0; c < MEM_NCLASS; c++) {
		json_t *k = json_object();

		jset(k, "count", jcount(mi->count[c]));
		jset(k, "size", jcount(mi->bytes[c]));
		jset(o, model_mem_class_name((enum mem_class)c), k);
	}
	return o;
}

static json_t *crashpad_json(const struct vendor_info *v)
{
	if (!v->crashpad)
		return json_null();
	json_t *o = json_object();

	jset(o, "report_id", jstr(v->report_id));
	jset(o, "client_id", jstr(v->client_id));
	jset(o, "simple_annotations", jcount(v->simple_annotations));
	jset(o, "module_count", jcount(v->crashpad_modules));
	jset(o, "module_annotations", jcount(v->module_annotations));
	return o;
}

/* Breakpad's Linux streams: names of those present, then their facts. */
static json_t *linux_json(const struct vendor_info *v, int w)
{
	static const char *const names[] = {
		[3] = "LinuxCpuInfo", [4] = "LinuxProcStatus",
		[5] = "LinuxLsbRelease", [6] = "LinuxCmdLine",
		[7] = "LinuxEnviron", [8] = "LinuxAuxv",
		[9] = "LinuxMaps", [10] = "LinuxDsoDebug",
	};

	if (v->linux_streams == 0)
		return json_null();
	json_t *o = json_object(), *streams = json_array(),
	       *maps = json_array();

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i] != NULL && (v->linux_streams >> i & 1))
			json_array_append_new(streams, json_string(names[i]));
	jset(o, "streams", streams);
	jset(o, "cmdline", jstr(v->cmdline));
	jset(o, "environ_count", jcount(v->environ_count));
	jset(o, "auxv_count", jcount(v->auxv_count));
	jset(o, "cpuinfo_processors", jcount(v->cpuinfo_count));
	jset(o, "dso_count", jcount(v->dso_count));
	for (size_t i = 0; i < v->mappings.n; i++) {
		const struct mapping *m = &v->mappings.v[i];
		json_t *e = json_object();

		jset(e, "path", jstr(m->path));
		jset(e, "base_addr", jhex(m->base, w));
		jset(e, "end_addr", jhex(m->end, w));
		jset(e, "executable", json_boolean(m->executable));
		json_array_append_new(maps, e);
	}
	jset(o, "maps", maps);
	return o;
}

static bool kernel_crash(const struct analysis *a)
{
	return a->format == FORMAT_KERNEL_DUMP && !a->crash.present &&
	       a->crash.has_ip;
}

static json_t *crash_json(const struct analysis *a, int w)
{
	const struct crash *c = &a->crash;
	bool kernel = kernel_crash(a);

	if (!c->present && !kernel)
		return json_null();
	json_t *o = json_object();

	jset(o, "type", jstr(c->type));
	jset(o, "code", jhex_opt(c->has_code, c->code, 8));
	if (kernel)
		jset(o, "address", jhex(c->ip, w));
	else
		jset(o, "address", jhex_opt(c->has_address, c->address, w));
	jset(o, "instruction", jhex_opt(c->has_ip, c->ip, w));
	jset(o, "crashing_thread",
	     c->crashing_thread >= 0
		     ? json_integer(c->crashing_thread)
		     : json_null());
	if (a->memory.present) {
		jset(o, "address_memory",
		     region_json(a->memory.address_region, w));
		jset(o, "instruction_memory",
		     region_json(a->memory.ip_region, w));
	}
	return o;
}

static json_t *bugcheck_json(const struct bugcheck *b)
{
	if (!b->present)
		return json_null();
	json_t *o = json_object();
	json_t *args = json_array();

	jset(o, "code", jhex(b->code, 8));
	jset(o, "name", jstr(b->name));
	for (int i = 0; i < 4; i++)
		json_array_append_new(args, jhex(b->args[i], 16));
	jset(o, "args", args);
	if (b->str != NULL)
		jset(o, "str", jstr(b->str));
	return o;
}

static json_t *findings_json(const struct analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->findings.n; i++) {
		const struct finding *f = &a->findings.v[i];
		json_t *o = json_object();
		json_t *ev = json_array();

		jset(o, "pattern", jstr(f->pattern));
		jset(o, "title", jstr(f->title));
		jset(o, "confidence", json_integer(f->confidence));
		for (size_t j = 0; j < f->evidence.n; j++)
			json_array_append_new(ev, jstr(f->evidence.v[j]));
		jset(o, "evidence", ev);
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *errors_json(const struct analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->errors.n; i++) {
		const struct model_error *e = &a->errors.v[i];
		json_t *o = json_object();

		jset(o, "code", json_integer(e->code));
		jset(o, "message", jstr(e->message));
		jset(o, "offset", jhex_opt(e->has_offset, e->offset, 0));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *blame_json(const struct analysis *a)
{
	if (a->blame_module == NULL)
		return json_null();
	json_t *o = json_object();

	jset(o, "module", jstr(a->blame_module));
	jset(o, "reason", jstr(a->blame_reason));
	return o;
}

static json_t *signature_json(const struct analysis *a)
{
	if (a->signature == NULL)
		return json_null();
	json_t *o = json_object();

	jset(o, "text", jstr(a->signature));
	jset(o, "hash", json_string(a->signature_hash));
	jset(o, "low_trust", json_boolean(a->signature_low_trust));
	jset(o, "rules_version", json_integer(a->sig_rules_version));
	return o;
}

void analysis_json_set_origin(json_t *o, const char *archive,
			      const char *member)
{
	if (o == NULL || archive == NULL || archive[0] == '\0')
		return;
	jset(o, "archive", jstr(archive));
	jset(o, "member", jstr(member != NULL ? member : ""));
}

/* The descriptive minidump streams (mdstreams.h), where present. */
static void add_minidump_extras(json_t *o, const struct analysis *a, int w)
{
	const struct vendor_info *v = &a->vendor;

	jset(o, "memory_info", memory_info_json(&a->memory));
	jset(o, "crashpad_info", crashpad_json(v));
	jset(o, "linux", linux_json(v, w));
	if (v->has_handle_operations)
		jset(o, "handle_operation_count", jcount(v->handle_operations));
	if (v->has_tokens)
		jset(o, "token_count", jcount(v->tokens));
}

json_t *analysis_to_json(const struct analysis *a, const char *source)
{
	json_t *o = json_object();
	int w = addr_width(a);
	char hex[HASH_HEX_LEN + 1];

	if (o == NULL)
		return NULL;
	if (source != NULL)
		jset(o, "source", jstr(source));
	jset(o, "format", json_string(model_format_name(a->format)));
	if (a->format_detail != NULL)
		jset(o, "format_detail", jstr(a->format_detail));
	if (a->format == FORMAT_KERNEL_DUMP)
		jset(o, "dump_type", jstr(model_field(a, "DUMP_TYPE")));
	hash_hex(a->content_hash, HASH_LEN, hex);
	jset(o, "sha256", a->content_hash_skipped
				  ? json_null()
				  : json_string(hex));
	if (a->content_hash_skipped)
		jset(o, "sha256_note", json_string("not computed"));
	jset(o, "size", json_integer((json_int_t)a->size));
	jset(o, "system_info", system_json(a));
	jset(o, "crash_info", crash_json(a, w));
	jset(o, "bugcheck", bugcheck_json(&a->bugcheck));
	jset(o, "process_name", jstr(a->process_name));
	jset(o, "blame", blame_json(a));
	jset(o, "signature", signature_json(a));
	jset(o, "findings", findings_json(a));
	jset(o, "errors", errors_json(a));

	const struct thread *ct = model_crashing_thread(a);

	jset(o, "crashing_thread",
	     ct != NULL ? thread_json(ct, w) : json_null());
	json_t *threads = json_array();

	for (size_t i = 0; i < a->threads.n; i++)
		json_array_append_new(threads, thread_json(&a->threads.v[i], w));
	jset(o, "thread_count", json_integer((json_int_t)a->threads.n));
	jset(o, "threads", threads);
	json_t *mods = json_array();

	for (size_t i = 0; i < a->modules.n; i++)
		if (!a->modules.v[i].unloaded)
			json_array_append_new(mods,
					      module_json(&a->modules.v[i], w));
	jset(o, "modules", mods);
	json_t *unl = json_array();

	for (size_t i = 0; i < a->modules.n; i++)
		if (a->modules.v[i].unloaded)
			json_array_append_new(unl,
					      module_json(&a->modules.v[i], w));
	jset(o, "unloaded_modules", unl);
	if (a->format == FORMAT_MINIDUMP)
		add_minidump_extras(o, a, w);
	return o;
}
