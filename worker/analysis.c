#include "analysis.h"

#include <stdio.h>
#include <string.h>

#include "blame.h"
#include "bugcheck.h"
#include "dbglog.h"
#include "df.h"
#include "diag.h"
#include "kdump.h"
#include "mapfile.h"
#include "minidump.h"
#include "reader.h"
#include "registry.h"
#include "signature.h"
#include "symbols.h"

/* Bytes hashed between two hand-backs of mapped pages. */
#define ANALYSIS_HASH_CHUNK ((size_t)1 << 20)

enum model_format analysis_detect_format(const uint8_t *data, size_t len)
{
	if (minidump_probe(data, len))
		return FORMAT_MINIDUMP;
	if (kdump_probe(data, len))
		return FORMAT_KERNEL_DUMP;
	if (dbglog_probe(data, len))
		return FORMAT_DEBUGGER_LOG;
	return FORMAT_UNKNOWN;
}

static void read_by_format(struct analysis *a, const uint8_t *data, size_t len,
			   struct symstore *syms, const struct reader_src *src)
{
	/* The probes read from the start: at most the first few KiB. */
	a->format = analysis_detect_format(data, len);
	/* Only the kernel dump reader reads through a source. */
	if (src != NULL && a->format != FORMAT_KERNEL_DUMP &&
	    src->ensure(src->ctx, 0, len) != DF_OK) {
		model_add_error(a, DF_EIO, false, 0,
				"the file's bytes could not be read");
		return;
	}
	switch (a->format) {
	case FORMAT_MINIDUMP:
		minidump_read_with(a, data, len, syms);
		break;
	case FORMAT_DEBUGGER_LOG:
		dbglog_read(a, data, len);
		break;
	case FORMAT_KERNEL_DUMP:
		kdump_read_src(a, data, len, src);
		break;
	case FORMAT_UNKNOWN:
		model_add_error(a, DF_EFORMAT, true, 0,
				"unknown format: neither a minidump, a kernel "
				"dump nor debugger output (%zu bytes)",
				len);
		break;
	}
}

/* Fill in names the reader left empty from the embedded tables. */
static void name_codes(struct analysis *a)
{
	if (a->bugcheck.present && a->bugcheck.name == NULL)
		a->bugcheck.name = bugcheck_name(a->bugcheck.code);
	if (a->crash.present && a->crash.type == NULL && a->crash.has_code)
		a->crash.type = exception_name(a->crash.code);
}

/* Name frames from SYMS; a failure is recorded, not fatal. */
static void symbolize(struct analysis *a, struct symstore *syms)
{
	if (syms != NULL && symstore_symbolize(syms, a) == DF_ENOMEM)
		model_add_error(a, DF_ENOMEM, false, 0,
				"no memory for symbol names");
}

int analysis_run(struct analysis **out, const uint8_t *data, size_t len,
		 const struct sigrules *rules)
{
	return analysis_run_with(out, data, len, rules, NULL);
}

/* The analysis of DATA whose content hash is HASH (NULL: not computed). */
static int run_hashed(struct analysis **out, const uint8_t *data, size_t len,
		      const struct sigrules *rules, struct symstore *syms,
		      const uint8_t hash[HASH_LEN],
		      const struct reader_src *src)
{
	struct analysis *a = analysis_new();

	*out = NULL;
	if (a == NULL)
		return DF_ENOMEM;
	a->size = len;
	if (hash != NULL)
		memcpy(a->content_hash, hash, HASH_LEN);
	a->content_hash_skipped = hash == NULL;
	read_by_format(a, data, len, syms, src);
	symbolize(a, syms);
	name_codes(a);
	blame_pick(a);
	detect_run_all(a);

	struct sigrules *own = NULL;

	if (rules == NULL) {
		own = sigrules_default();
		rules = own;
	}
	if (rules == NULL || signature_compute(a, rules) != DF_OK)
		model_add_error(a, DF_ENOMEM, false, 0,
				"no memory for the stack signature");
	sigrules_destroy(&own);
	/* The text belongs to the caller; do not let it outlive the call. */
	a->text = NULL;
	a->text_len = 0;
	*out = a;
	return DF_OK;
}

int analysis_run_with(struct analysis **out, const uint8_t *data, size_t len,
		      const struct sigrules *rules, struct symstore *syms)
{
	return analysis_run_known(out, data, len, rules, syms, NULL);
}

int analysis_run_known(struct analysis **out, const uint8_t *data,
		       size_t len, const struct sigrules *rules,
		       struct symstore *syms, const uint8_t hash[HASH_LEN])
{
	uint8_t own[HASH_LEN];

	if (hash == NULL) {
		hash_sha256(data, len, own);
		hash = own;
	}
	return run_hashed(out, data, len, rules, syms, hash, NULL);
}

int analysis_run_src(struct analysis **out, const uint8_t *data, size_t len,
		     const struct sigrules *rules, struct symstore *syms,
		     const uint8_t hash[HASH_LEN],
		     const struct reader_src *src)
{
	return run_hashed(out, data, len, rules, syms, hash, src);
}

/* After hashing a chunk of the mapped file: its pages are not needed. */
static void drop_hashed(const void *p, size_t n, void *ctx)
{
	const struct mapfile *m = ctx;

	mapfile_drop(m, (size_t)((const uint8_t *)p - m->data), n);
}

void analysis_preload(void)
{
	bugcheck_count();
	bugcheck_arg_count();
	blame_is_os_module("ntdll.dll");
}

int analysis_run_file(struct analysis **out, const char *path,
		      const struct sigrules *rules)
{
	return analysis_run_file_with(out, path, rules, NULL);
}

/*
 * Analyse the file at PATH. Its content hash is KNOWN when given, else
 * computed when COMPUTE, else left out (content_hash_skipped).
 */
static int run_file(struct analysis **out, const char *path,
		    const struct sigrules *rules, struct symstore *syms,
		    const uint8_t *known, bool compute)
{
	struct mapfile m;
	struct diag d;

	diag_init(&d);
	if (mapfile_open(&m, path, &d) != DF_OK) {
		struct analysis *a = analysis_new();

		*out = a;
		if (a == NULL)
			return DF_ENOMEM;
		a->content_hash_skipped = known == NULL && !compute;
		model_add_error(a, d.code, false, 0, "%s", d.msg);
		return DF_OK;
	}
	/*
	 * The content hash reads the whole file; a kernel dump can be tens
	 * of GB, so the pages hashed are handed back as the hash goes and
	 * the readers fault in only the few they use. Resident memory then
	 * does not grow with the file (the hashing time still does).
	 */
	uint8_t own[HASH_LEN];

	if (known == NULL && compute) {
		hash_sha256_chunked(m.data, m.len, ANALYSIS_HASH_CHUNK,
				    drop_hashed, &m, own);
		known = own;
	}
	int rc = run_hashed(out, m.data, m.len, rules, syms, known, NULL);

	mapfile_close(&m);
	return rc;
}

int analysis_run_file_known(struct analysis **out, const char *path,
			    const struct sigrules *rules,
			    struct symstore *syms,
			    const uint8_t hash[HASH_LEN])
{
	return run_file(out, path, rules, syms, hash, true);
}

int analysis_run_file_with(struct analysis **out, const char *path,
			   const struct sigrules *rules,
			   struct symstore *syms)
{
	return run_file(out, path, rules, syms, NULL, true);
}

int analysis_run_file_unhashed(struct analysis **out, const char *path,
			       const struct sigrules *rules,
			       struct symstore *syms)
{
	return run_file(out, path, rules, syms, NULL, false);
}
