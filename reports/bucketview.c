#include "bucketview.h"

#include <stdlib.h>
#include <string.h>

#include "analysis_json.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "store.h"

#define NAME_LEN 512

static json_t *jtext(const char *s)
{
	char *clean = utf8_sanitize(s != NULL ? s : "");
	json_t *j = clean != NULL ? json_string(clean) : NULL;

	free(clean);
	return j;
}

/* A string that may be empty: null when it is. */
static json_t *jopt(const char *s)
{
	return s != NULL && s[0] ? jtext(s) : json_null();
}

static json_t *jcode(bool has, uint32_t code)
{
	char s[16];

	if (!has)
		return json_null();
	snprintf(s, sizeof(s), "0x%08X", code);
	return json_string(s);
}

struct mix_ctx {
	struct store *s;
	size_t skip;
	const char *label;
	json_t *arr;
};

static int mix_cb(void *ctx, const char *key, uint64_t v)
{
	struct mix_ctx *c = ctx;
	const char *name = key + c->skip;
	char text[NAME_LEN];
	struct diag d;
	json_t *o = json_object();

	diag_init(&d);
	if (o == NULL)
		return 1;
	if (name[0] == '#' &&
	    store_name_get(c->s, name, text, sizeof(text), &d) == DF_OK)
		name = text;
	json_object_set_new(o, c->label, jtext(name));
	json_object_set_new(o, "count", json_integer((json_int_t)v));
	json_array_append_new(c->arr, o);
	return 0;
}

/* Counters "<P>/<hash>/<name>" as [ { LABEL: name, "count" } ]. */
static json_t *mix(struct store *s, const char *p, const char *hash,
		   const char *label, struct diag *d)
{
	char prefix[STORE_MAX_KEY + 1];
	struct mix_ctx c = { s, 0, label, json_array() };

	store_counter_key(prefix, sizeof(prefix), p, hash);
	if (strlen(prefix) + 2 > sizeof(prefix) || c.arr == NULL)
		return c.arr;
	strcat(prefix, "/");
	c.skip = strlen(prefix);
	store_counters_scan(s, prefix, mix_cb, &c, d);
	return c.arr;
}

static json_t *finding_json(const Dumpfleet__V1__Finding *f)
{
	json_t *o = json_object(), *ev = json_array();

	for (size_t i = 0; ev != NULL && i < f->n_evidence; i++)
		json_array_append_new(ev, jtext(f->evidence[i]));
	json_object_set_new(o, "pattern", jtext(f->pattern));
	json_object_set_new(o, "title", jtext(f->title));
	json_object_set_new(o, "confidence", json_integer(f->confidence));
	json_object_set_new(o, "evidence", ev);
	return o;
}

static json_t *dump_json(const store_dump *dm)
{
	json_t *o = json_object(), *fs = json_array(), *errs = json_array();
	char hex[HASH_HEX_LEN + 1];

	hash_hex(dm->content_hash.data,
		 dm->content_hash.len == HASH_LEN ? HASH_LEN : 0, hex);
	json_object_set_new(o, "hash", json_string(hex));
	json_object_set_new(o, "source", jtext(dm->source));
	json_object_set_new(o, "archive", jopt(dm->archive));
	json_object_set_new(o, "member",
			    dm->archive != NULL && dm->archive[0]
				    ? jtext(dm->member)
				    : json_null());
	json_object_set_new(o, "batch", jopt(dm->batch));
	json_object_set_new(o, "format", jtext(dm->format));
	json_object_set_new(o, "bugcheck",
			    jcode(dm->has_bugcheck, dm->bugcheck_code));
	json_object_set_new(o, "exception",
			    jcode(!dm->has_bugcheck && dm->has_exception,
				  dm->exception_code));
	json_object_set_new(o, "os_ver", jopt(dm->os_ver));
	json_object_set_new(o, "process", jopt(dm->process_name));
	json_object_set_new(o, "blame", jopt(dm->blame_module));
	json_object_set_new(o, "analysed_at",
			    json_integer((json_int_t)dm->analysed_at));
	for (size_t i = 0; fs != NULL && i < dm->n_findings; i++)
		json_array_append_new(fs, finding_json(dm->findings[i]));
	for (size_t i = 0; errs != NULL && i < dm->n_errors; i++)
		json_array_append_new(errs, jtext(dm->errors[i]->message));
	json_object_set_new(o, "findings", fs);
	json_object_set_new(o, "errors", errs);
	return o;
}

int bucketview_json(struct store *s, const char *hash, json_t **out,
		    struct diag *d)
{
	store_bucket *b = NULL;
	int rc = store_bucket_get(s, hash, &b, d);

	*out = NULL;
	if (rc != DF_OK)
		return rc;
	json_t *o = json_object(), *dumps = json_array();

	if (o == NULL || dumps == NULL) {
		json_decref(o);
		json_decref(dumps);
		store_bucket_free(b);
		return diag_fail(d, DF_ENOMEM, "no memory for the bucket");
	}
	json_object_set_new(o, "hash", jtext(b->signature_hash));
	json_object_set_new(o, "signature", jtext(b->signature));
	json_object_set_new(o, "count", json_integer((json_int_t)b->count));
	json_object_set_new(o, "first_seen",
			    json_integer((json_int_t)b->first_seen));
	json_object_set_new(o, "last_seen",
			    json_integer((json_int_t)b->last_seen));
	json_object_set_new(o, "bugcheck",
			    jcode(b->has_bugcheck, b->bugcheck_code));
	json_object_set_new(o, "exception",
			    jcode(b->has_exception, b->exception_code));
	json_object_set_new(o, "blame", jopt(b->blame_module));
	json_object_set_new(o, "low_trust", json_boolean(b->low_trust));
	json_object_set_new(o, "patterns",
			    mix(s, "bp/", b->signature_hash, "pattern", d));
	json_object_set_new(o, "os_versions",
			    mix(s, "bo/", b->signature_hash, "os_ver", d));
	for (size_t i = 0; i < b->n_samples; i++) {
		store_dump *dm = NULL;
		struct diag dd;

		diag_init(&dd);
		if (b->samples[i].len != HASH_LEN ||
		    store_dump_get(s, b->samples[i].data, &dm, &dd) != DF_OK)
			continue; /* a sample moved away by resign */
		json_array_append_new(dumps, dump_json(dm));
		store_dump_free(dm);
	}
	json_object_set_new(o, "dumps", dumps);
	store_bucket_free(b);
	*out = o;
	return DF_OK;
}
