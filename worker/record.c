#include "record.h"

#include <string.h>
#include <time.h>

#include "analysis_json.h"
#include "arena.h"
#include "df.h"
#include "model.h"
#include "strbuf.h"

static int add_findings(Dumpfleet__V1__Dump *out, struct analysis *a)
{
	size_t n = a->findings.n;

	if (n == 0)
		return DF_OK;
	Dumpfleet__V1__Finding **arr = arena_alloc(a->arena, n * sizeof(*arr));
	Dumpfleet__V1__Finding *fs = arena_alloc(a->arena, n * sizeof(*fs));

	if (arr == NULL || fs == NULL)
		return DF_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct finding *f = &a->findings.v[i];

		dumpfleet__v1__finding__init(&fs[i]);
		fs[i].pattern = (char *)f->pattern;
		fs[i].title = (char *)f->title;
		fs[i].confidence = (uint32_t)f->confidence;
		fs[i].n_evidence = f->evidence.n;
		fs[i].evidence = (char **)f->evidence.v;
		arr[i] = &fs[i];
	}
	out->n_findings = n;
	out->findings = arr;
	return DF_OK;
}

static int add_errors(Dumpfleet__V1__Dump *out, struct analysis *a)
{
	size_t n = a->errors.n;

	if (n == 0)
		return DF_OK;
	Dumpfleet__V1__DumpError **arr = arena_alloc(a->arena, n * sizeof(*arr));
	Dumpfleet__V1__DumpError *es = arena_alloc(a->arena, n * sizeof(*es));

	if (arr == NULL || es == NULL)
		return DF_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct model_error *e = &a->errors.v[i];

		dumpfleet__v1__dump_error__init(&es[i]);
		es[i].code = e->code;
		es[i].message = (char *)(e->message != NULL ? e->message : "");
		es[i].has_offset = e->has_offset;
		es[i].offset = e->offset;
		arr[i] = &es[i];
	}
	out->n_errors = n;
	out->errors = arr;
	return DF_OK;
}

static char *str_or_empty(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

/* The JSON form, copied into the arena, or "" when too large. */
static char *json_text(struct analysis *a, const struct record_origin *o)
{
	struct strbuf sb;
	char *copy = NULL;

	strbuf_init(&sb, RECORD_MAX_JSON);
	if (analysis_json_write(&sb, a, o->source, o->archive, o->member) ==
	    DF_OK)
		copy = arena_strdup(a->arena, strbuf_str(&sb));
	strbuf_release(&sb);
	return copy != NULL ? copy : (char *)"";
}

int record_from_analysis(Dumpfleet__V1__Dump *out, struct analysis *a,
			 const struct record_origin *origin)
{
	const char *source = origin->source, *batch = origin->batch;

	dumpfleet__v1__dump__init(out);
	bool unread = a->format == FORMAT_UNKNOWN && a->size == 0 &&
		      a->errors.n > 0 && a->errors.v[0].code == DF_EIO;

	if (!unread && !a->content_hash_skipped) {
		out->content_hash.data = a->content_hash;
		out->content_hash.len = HASH_LEN;
	} else if (unread) {
		out->failure = str_or_empty(a->errors.v[0].message);
	}
	out->size = a->size;
	out->format = (char *)model_format_name(a->format);
	out->source = str_or_empty(source);
	out->batch = str_or_empty(batch);
	out->archive = str_or_empty(origin->archive);
	out->member = str_or_empty(origin->member);
	if (a->bugcheck.present) {
		out->has_bugcheck = true;
		out->bugcheck_code = a->bugcheck.code;
		out->n_bugcheck_args = 4;
		out->bugcheck_args = a->bugcheck.args;
		out->bugcheck_name = str_or_empty(a->bugcheck.name);
	}
	if (a->crash.present && a->crash.has_code) {
		out->has_exception = true;
		out->exception_code = a->crash.code;
	}
	out->crash_type = str_or_empty(a->crash.type);
	out->os = str_or_empty(a->system.os);
	out->os_ver = str_or_empty(a->system.os_ver);
	out->cpu_arch = str_or_empty(a->system.cpu_arch);
	out->process_name = str_or_empty(a->process_name);
	out->blame_module = str_or_empty(a->blame_module);
	out->blame_reason = str_or_empty(a->blame_reason);
	out->signature = str_or_empty(a->signature);
	out->signature_hash = a->signature_hash;
	out->sig_prefix = str_or_empty(a->sig_prefix);
	out->n_sig_frames = a->sig_frames.n;
	out->sig_frames = (char **)a->sig_frames.v;
	out->sig_fallback = str_or_empty(a->sig_fallback);
	out->sig_rules_version = a->sig_rules_version;
	out->signature_low_trust = a->signature_low_trust;
	out->analysed_at = (uint64_t)time(NULL);
	if (add_findings(out, a) != DF_OK || add_errors(out, a) != DF_OK)
		return DF_ENOMEM;
	out->json = json_text(a, origin);
	return DF_OK;
}
