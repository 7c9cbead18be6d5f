#include "analysis_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static json_t *jstr(const char *s)
{
	if (s == NULL)
		return json_null();
	char *clean = utf8_sanitize(s);
	json_t *j = clean != NULL ? json_string(clean) : json_null();

	free(clean);
	return j;
}

static json_t *jhex(uint64_t v, int width)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx64, width, v);
	return json_string(buf);
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

	json_object_set_new(o, "frame", json_integer((json_int_t)idx));
	json_object_set_new(o, "module", jstr(f->module));
	json_object_set_new(o, "function", jstr(f->function));
	json_object_set_new(o, "offset", jhex_opt(f->has_address, f->address, w));
	json_object_set_new(o, "function_offset",
			    jhex_opt(f->has_func_offset, f->func_offset, 8));
	json_object_set_new(o, "module_offset",
			    jhex_opt(f->has_module_offset, f->module_offset, 8));
	json_object_set_new(o, "file", jstr(f->source_file));
	json_object_set_new(o, "line",
			    f->source_file != NULL
				    ? json_integer((json_int_t)f->source_line)
				    : json_null());
	json_object_set_new(o, "trust", json_string(model_trust_name(f->trust)));
	return o;
}

static json_t *thread_json(const struct thread *t, int w)
{
	json_t *o = json_object();
	json_t *frames = json_array();

	json_object_set_new(o, "thread_id", json_integer((json_int_t)t->id));
	json_object_set_new(o, "thread_name", jstr(t->name));
	if (t->state != NULL)
		json_object_set_new(o, "state", jstr(t->state));
	if (t->wait_reason != NULL)
		json_object_set_new(o, "wait_reason", jstr(t->wait_reason));
	if (t->process != NULL)
		json_object_set_new(o, "process", jstr(t->process));
	if (t->has_wait_ticks)
		json_object_set_new(o, "wait_ticks",
				    json_integer((json_int_t)t->wait_ticks));
	json_object_set_new(o, "frame_count",
			    json_integer((json_int_t)t->frames.n));
	for (size_t i = 0; i < t->frames.n; i++)
		json_array_append_new(frames, frame_json(&t->frames.v[i], i, w));
	json_object_set_new(o, "frames", frames);
	return o;
}

static json_t *module_json(const struct module *m, int w)
{
	json_t *o = json_object();

	json_object_set_new(o, "filename", jstr(m->filename));
	json_object_set_new(o, "base_addr", jhex(m->base, w));
	json_object_set_new(o, "end_addr", jhex(m->end, w));
	json_object_set_new(o, "debug_file", jstr(m->debug_file));
	json_object_set_new(o, "debug_id", jstr(m->debug_id));
	json_object_set_new(o, "code_id", jstr(m->code_id));
	json_object_set_new(o, "version", jstr(m->version));
	if (m->unloaded)
		json_object_set_new(o, "unloaded", json_true());
	return o;
}

static json_t *system_json(const struct analysis *a)
{
	json_t *o = json_object();
	const struct system_info *s = &a->system;

	json_object_set_new(o, "os", jstr(s->os));
	json_object_set_new(o, "os_ver", jstr(s->os_ver));
	json_object_set_new(o, "cpu_arch", jstr(s->cpu_arch));
	json_object_set_new(o, "cpu_info", jstr(s->cpu_info));
	json_object_set_new(o, "cpu_count",
			    s->cpu_count ? json_integer(s->cpu_count)
					 : json_null());
	if (s->bios_vendor != NULL)
		json_object_set_new(o, "bios_vendor", jstr(s->bios_vendor));
	if (s->system_manufacturer != NULL)
		json_object_set_new(o, "system_manufacturer",
				    jstr(s->system_manufacturer));
	if (s->system_product != NULL)
		json_object_set_new(o, "system_product",
				    jstr(s->system_product));
	return o;
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

static json_t *crash_json(const struct analysis *a, int w)
{
	const struct crash *c = &a->crash;
	bool kernel = kernel_crash(a);

	if (!c->present && !kernel)
		return json_null();
	json_t *o = json_object();

	json_object_set_new(o, "type", jstr(c->type));
	json_object_set_new(o, "code", jhex_opt(c->has_code, c->code, 8));
	if (kernel)
		json_object_set_new(o, "address", jhex(c->ip, w));
	else
		json_object_set_new(o, "address",
				    jhex_opt(c->has_address, c->address, w));
	json_object_set_new(o, "instruction", jhex_opt(c->has_ip, c->ip, w));
	json_object_set_new(o, "crashing_thread",
			    c->crashing_thread >= 0
				    ? json_integer(c->crashing_thread)
				    : json_null());
	return o;
}

static json_t *bugcheck_json(const struct bugcheck *b)
{
	if (!b->present)
		return json_null();
	json_t *o = json_object();
	json_t *args = json_array();

	json_object_set_new(o, "code", jhex(b->code, 8));
	json_object_set_new(o, "name", jstr(b->name));
	for (int i = 0; i < 4; i++)
		json_array_append_new(args, jhex(b->args[i], 16));
	json_object_set_new(o, "args", args);
	if (b->str != NULL)
		json_object_set_new(o, "str", jstr(b->str));
	return o;
}

static json_t *findings_json(const struct analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->findings.n; i++) {
		const struct finding *f = &a->findings.v[i];
		json_t *o = json_object();
		json_t *ev = json_array();

		json_object_set_new(o, "pattern", jstr(f->pattern));
		json_object_set_new(o, "title", jstr(f->title));
		json_object_set_new(o, "confidence",
				    json_integer(f->confidence));
		for (size_t j = 0; j < f->evidence.n; j++)
			json_array_append_new(ev, jstr(f->evidence.v[j]));
		json_object_set_new(o, "evidence", ev);
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

		json_object_set_new(o, "code", json_integer(e->code));
		json_object_set_new(o, "message", jstr(e->message));
		json_object_set_new(o, "offset",
				    jhex_opt(e->has_offset, e->offset, 0));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *blame_json(const struct analysis *a)
{
	if (a->blame_module == NULL)
		return json_null();
	json_t *o = json_object();

	json_object_set_new(o, "module", jstr(a->blame_module));
	json_object_set_new(o, "reason", jstr(a->blame_reason));
	return o;
}

static json_t *signature_json(const struct analysis *a)
{
	if (a->signature == NULL)
		return json_null();
	json_t *o = json_object();

	json_object_set_new(o, "text", jstr(a->signature));
	json_object_set_new(o, "hash", json_string(a->signature_hash));
	json_object_set_new(o, "low_trust", json_boolean(a->signature_low_trust));
	json_object_set_new(o, "rules_version",
			    json_integer(a->sig_rules_version));
	return o;
}

void analysis_json_set_origin(json_t *o, const char *archive,
			      const char *member)
{
	if (o == NULL || archive == NULL || archive[0] == '\0')
		return;
	json_object_set_new(o, "archive", jstr(archive));
	json_object_set_new(o, "member", jstr(member != NULL ? member : ""));
}

json_t *analysis_to_json(const struct analysis *a, const char *source)
{
	json_t *o = json_object();
	int w = addr_width(a);
	char hex[HASH_HEX_LEN + 1];

	if (o == NULL)
		return NULL;
	if (source != NULL)
		json_object_set_new(o, "source", jstr(source));
	json_object_set_new(o, "format",
			    json_string(model_format_name(a->format)));
	if (a->format_detail != NULL)
		json_object_set_new(o, "format_detail", jstr(a->format_detail));
	if (a->format == FORMAT_KERNEL_DUMP)
		json_object_set_new(o, "dump_type",
				    jstr(model_field(a, "DUMP_TYPE")));
	hash_hex(a->content_hash, HASH_LEN, hex);
	json_object_set_new(o, "sha256", json_string(hex));
	json_object_set_new(o, "size", json_integer((json_int_t)a->size));
	json_object_set_new(o, "system_info", system_json(a));
	json_object_set_new(o, "crash_info", crash_json(a, w));
	json_object_set_new(o, "bugcheck", bugcheck_json(&a->bugcheck));
	json_object_set_new(o, "process_name", jstr(a->process_name));
	json_object_set_new(o, "blame", blame_json(a));
	json_object_set_new(o, "signature", signature_json(a));
	json_object_set_new(o, "findings", findings_json(a));
	json_object_set_new(o, "errors", errors_json(a));

	const struct thread *ct = model_crashing_thread(a);

	json_object_set_new(o, "crashing_thread",
			    ct != NULL ? thread_json(ct, w) : json_null());
	json_t *threads = json_array();

	for (size_t i = 0; i < a->threads.n; i++)
		json_array_append_new(threads, thread_json(&a->threads.v[i], w));
	json_object_set_new(o, "thread_count",
			    json_integer((json_int_t)a->threads.n));
	json_object_set_new(o, "threads", threads);
	json_t *mods = json_array();

	for (size_t i = 0; i < a->modules.n; i++)
		if (!a->modules.v[i].unloaded)
			json_array_append_new(mods,
					      module_json(&a->modules.v[i], w));
	json_object_set_new(o, "modules", mods);
	json_t *unl = json_array();

	for (size_t i = 0; i < a->modules.n; i++)
		if (a->modules.v[i].unloaded)
			json_array_append_new(unl,
					      module_json(&a->modules.v[i], w));
	json_object_set_new(o, "unloaded_modules", unl);
	return o;
}
