#include "inspect.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis_text.h"
#include "bucketview.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "registry.h"
#include "report_text.h"
#include "signature.h"
#include "store.h"
#include "strbuf.h"

static int usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "dumpfleet %s: %s\nTry 'dumpfleet %s --help'.\n", cmd,
		msg, cmd);
	return DF_EXIT_USAGE;
}

static void day_text(uint64_t t, char out[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* ---- patterns -------------------------------------------------------------- */

int inspect_cmd_patterns(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
			 strcmp(argv[1], "-h") == 0)) {
		puts("Usage: dumpfleet patterns\n"
		     "List every pattern detector: id, title, description.");
		return DF_EXIT_OK;
	}
	if (argc > 1)
		return usage("patterns", "unexpected argument");
	for (size_t i = 0; i < detector_table_len; i++) {
		const struct detector *d = detector_table[i];

		printf("%-28s %s\n", d->id, d->title);
		if (d->description != NULL)
			printf("%-28s   %s\n", "", d->description);
	}
	return DF_EXIT_OK;
}

/* ---- bucket ---------------------------------------------------------------- */

/* A name from a dump, escaped for the terminal (C0, C1, DEL, bad UTF-8). */
static void put_esc(const char *s)
{
	char *e = report_text_escape(s);

	fputs(e != NULL ? e : "?", stdout);
	free(e);
}

struct mix_ctx {
	size_t skip;
};

static int print_mix(void *ctx, const char *key, uint64_t v)
{
	const struct mix_ctx *c = ctx;

	fputs("    ", stdout);
	put_esc(key + c->skip);
	printf("  %" PRIu64 "\n", v);
	return 0;
}

static void print_dump(const store_dump *dm)
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex(dm->content_hash.data, dm->content_hash.len == HASH_LEN
						? HASH_LEN : 0, hex);
	printf("    %s\n      source ", hex);
	/* A file unpacked from an archive is shown as "archive » member". */
	if (dm->archive != NULL && dm->archive[0]) {
		put_esc(dm->archive);
		printf(" \xC2\xBB ");
		put_esc(dm->member);
	} else {
		put_esc(dm->source);
	}
	printf("\n      format ");
	put_esc(dm->format);
	if (dm->batch != NULL && dm->batch[0]) {
		printf(", batch ");
		put_esc(dm->batch);
	}
	if (dm->has_bugcheck)
		printf(", bugcheck 0x%08X", dm->bugcheck_code);
	else if (dm->has_exception)
		printf(", exception 0x%08X", dm->exception_code);
	putchar('\n');
	for (size_t i = 0; i < dm->n_findings; i++) {
		printf("      finding ");
		put_esc(dm->findings[i]->pattern);
		printf(" (%u)\n", dm->findings[i]->confidence);
	}
}

/* Explain DM's signature under the embedded rules, frame by frame. */
static int explain(const store_dump *dm)
{
	struct sigrules *r = sigrules_default();
	struct signature_input in = { dm->sig_prefix,
				      (const char *const *)dm->sig_frames,
				      dm->n_sig_frames, dm->sig_fallback };
	struct strbuf text, ex;
	char hash[17];
	int rc;

	if (r == NULL)
		return DF_ENOMEM;
	strbuf_init(&text, SIGNATURE_MAX_TEXT);
	strbuf_init(&ex, 1 << 20);
	printf("\n  explained under the rules in use (version %u; stored "
	       "with version %u):\n  prefix %s\n",
	       sigrules_version(r), dm->sig_rules_version, dm->sig_prefix);
	rc = signature_build(&in, r, &text, hash, &ex);
	/* Frames come from dumps: escape each line, keep the line breaks. */
	for (const char *p = strbuf_str(&ex); rc == DF_OK && *p;) {
		size_t n = strcspn(p, "\n");
		char line[1024];

		snprintf(line, sizeof(line), "%.*s", (int)(n < 1023 ? n : 1023),
			 p);
		text_put_safe(stdout, line);
		putchar('\n');
		p += n + (p[n] == '\n');
	}
	strbuf_release(&text);
	strbuf_release(&ex);
	sigrules_destroy(&r);
	return rc;
}

static int show_bucket(struct store *s, const char *hash, bool want_explain)
{
	store_bucket *b = NULL;
	struct diag d;
	char first[11], last[11], prefix[STORE_MAX_KEY + 1];

	diag_init(&d);
	if (store_bucket_get(s, hash, &b, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet bucket: %s\n", d.msg);
		return d.code == DF_ENOTFOUND ? DF_EXIT_FINDINGS
					      : DF_EXIT_SYSTEM;
	}
	day_text(b->first_seen, first);
	day_text(b->last_seen, last);
	printf("bucket ");
	put_esc(b->signature_hash);
	printf("\n  signature ");
	put_esc(b->signature);
	printf("\n  dumps     %" PRIu64 "\n  seen      %s .. %s\n  blame     ",
	       b->count, first, last);
	put_esc(b->blame_module[0] ? b->blame_module : "-");
	putchar('\n');
	store_counter_key(prefix, sizeof(prefix), "bp/", b->signature_hash);
	strcat(prefix, "/");
	struct mix_ctx mc = { strlen(prefix) };

	printf("  patterns\n");
	store_counters_scan(s, prefix, print_mix, &mc, &d);
	prefix[1] = 'o'; /* "bp/H/" -> "bo/H/": the OS versions */
	printf("  OS versions\n");
	store_counters_scan(s, prefix, print_mix, &mc, &d);
	printf("  sample dumps\n");
	int rc = DF_OK;
	bool explained = !want_explain;

	for (size_t i = 0; i < b->n_samples; i++) {
		store_dump *dm = NULL;

		if (b->samples[i].len != HASH_LEN ||
		    store_dump_get(s, b->samples[i].data, &dm, &d) != DF_OK)
			continue;
		print_dump(dm);
		if (!explained) {
			rc = explain(dm);
			explained = true;
		}
		store_dump_free(dm);
	}
	store_bucket_free(b);
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

/* The bucket as one JSON object (bucketview.h). */
static int show_bucket_json(struct store *s, const char *hash)
{
	json_t *j = NULL;
	struct diag d;

	diag_init(&d);
	if (bucketview_json(s, hash, &j, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet bucket: %s\n", d.msg);
		return d.code == DF_ENOTFOUND ? DF_EXIT_FINDINGS
					      : DF_EXIT_SYSTEM;
	}
	int rc = json_dumpf(j, stdout, JSON_INDENT(2));

	putchar('\n');
	json_decref(j);
	return rc == 0 ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

static const char bucket_help[] =
	"Usage: dumpfleet bucket HASH [--store DIR] [--format text|json]\n"
	"                        [--explain]\n"
	"Show one bucket: its signature, counts, pattern mix and sample\n"
	"dumps with their sources and findings.\n\n"
	"  -s, --store DIR   the store (default: " INSPECT_DEFAULT_STORE ")\n"
	"  -f, --format FORMAT\n"
	"                    text (default) or json: bucket, pattern mix, OS\n"
	"                    versions, sample dumps with findings\n"
	"  -e, --explain     show, frame by frame, what each signature rule\n"
	"                    did to the first sample dump's stack\n"
	"  -h, --help        show this help\n";

int inspect_cmd_bucket(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "explain", no_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = INSPECT_DEFAULT_STORE;
	bool want_explain = false, json = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:ef:h", opts, NULL)) != -1) {
		if (c == 's')
			dir = optarg;
		else if (c == 'f' && (strcmp(optarg, "json") == 0 ||
				      strcmp(optarg, "text") == 0))
			json = strcmp(optarg, "json") == 0;
		else if (c == 'e')
			want_explain = true;
		else if (c == 'h')
			return fputs(bucket_help, stdout), DF_EXIT_OK;
		else
			return usage("bucket", "invalid option");
	}
	if (optind + 1 != argc)
		return usage("bucket", "one signature HASH is required");
	if (json && want_explain)
		return usage("bucket", "--explain is text only");
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	if (store_open(&s, dir, true, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet bucket: %s\n", d.msg);
		return DF_EXIT_SYSTEM;
	}
	int rc = json ? show_bucket_json(s, argv[optind])
		      : show_bucket(s, argv[optind], want_explain);

	store_close(&s);
	return rc;
}

/* ---- resign ---------------------------------------------------------------- */

static int resign_with(void *ctx, const store_dump *dm, char *text,
		       size_t textlen, char hash[17], uint32_t *version)
{
	const struct sigrules *r = ctx;
	struct signature_input in = { dm->sig_prefix,
				      (const char *const *)dm->sig_frames,
				      dm->n_sig_frames, dm->sig_fallback };
	struct strbuf sb;
	int rc;

	/* Dumps stored before signatures kept their inputs stay as they are. */
	if (dm->sig_prefix == NULL || dm->sig_prefix[0] == '\0')
		return DF_ENOTFOUND;
	strbuf_init(&sb, textlen - 1);
	rc = signature_build(&in, r, &sb, hash, NULL);
	if (rc == DF_OK)
		snprintf(text, textlen, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
	*version = sigrules_version(r);
	return rc;
}

static const char resign_help[] =
	"Usage: dumpfleet resign [--store DIR]\n"
	"Compute every stored dump's signature again under the signature\n"
	"rules this program carries, and move dumps and their counts to\n"
	"their new buckets. Safe to run twice or after an interruption.\n\n"
	"  -s, --store DIR   the store (default: " INSPECT_DEFAULT_STORE ")\n"
	"  -h, --help        show this help\n";

int inspect_cmd_resign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = INSPECT_DEFAULT_STORE;
	int c;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		if (c == 's')
			dir = optarg;
		else if (c == 'h')
			return fputs(resign_help, stdout), DF_EXIT_OK;
		else
			return usage("resign", "invalid option");
	}
	if (optind != argc)
		return usage("resign", "unexpected argument");
	struct store *s = NULL;
	struct sigrules *r = sigrules_default();
	struct store_resign_stats st;
	struct diag d;
	struct store_opts so = { false, 0 };

	diag_init(&d);
	if (r == NULL || store_open_ex(&s, dir, &so, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet resign: %s\n",
			r == NULL ? "out of memory" : d.msg);
		sigrules_destroy(&r);
		return DF_EXIT_SYSTEM;
	}
	int rc = store_resign(s, resign_with, r, &st, &d);

	if (rc == DF_OK)
		printf("resigned %" PRIu64 " dumps under rules version %u: "
		       "%" PRIu64 " moved, %" PRIu64 " without stored frames\n",
		       st.seen, sigrules_version(r), st.moved, st.skipped);
	else
		fprintf(stderr, "dumpfleet resign: %s\n", d.msg);
	store_close(&s);
	sigrules_destroy(&r);
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}
