/*
 * dumpfleet - the command-line front end.
 *
 * One executable, one table of subcommands. Primary output goes to stdout,
 * diagnostics to stderr. Exit codes: 0 ok, 1 findings or errors in the
 * data, 2 usage, 3 system error.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "analysis.h"
#include "analysis_json.h"
#include "analysis_text.h"
#include "broker.h"
#include "client.h"
#include "config.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "ingest.h"
#include "inspect.h"
#include "log.h"
#include "forms.h"
#include "metrics.h"
#include "owners.h"
#include "report.h"
#include "secure.h"
#include "status.h"
#include "store.h"
#include "strbuf.h"
#include "symbols.h"
#include "worker.h"

#define DEFAULT_STORE "dumpfleet-store"
#define DEFAULT_SUBMIT_SPOOL "dumpfleet-spool"
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_DRAIN_MS 30000
#define MAX_SYMBOL_DIRS 64

/*
 * Set by SIGINT/SIGTERM. A signal handler can reach nothing else, so this
 * one flag is process-wide; every loop is handed a pointer to it.
 */
static atomic_bool stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, true);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "dumpfleet %s: %s\nTry 'dumpfleet %s --help'.\n", cmd,
		msg, cmd);
	return DF_EXIT_USAGE;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	unsigned long v = strtoul(s, &end, 10);

	if (errno != 0 || end == s || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* getopt_long value of --log-level (outside the range of characters). */
#define OPT_LOG_LEVEL 0x4c00

/* The logging options, in every fleet command's table. */
#define LOG_OPTIONS                                                       \
	{ "verbose", no_argument, NULL, 'v' },                             \
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL }
#define LOG_HELP                                                          \
	"  -v, --verbose          more event logs on stderr (info; twice:\n"  \
	"                         debug)\n"                                   \
	"      --log-level LEVEL  error, warn (default), info or debug\n"

/*
 * Take -v or --log-level (C, ARG) when it is one: 1 taken, 0 not ours, -1
 * a bad level. Called before any thread starts.
 */
static int take_log_option(int c, const char *arg)
{
	enum log_level l = log_level_get();

	if (c == 'v') {
		log_setup(NULL, l < LL_DEBUG ? l + 1 : LL_DEBUG);
		return 1;
	}
	if (c != OPT_LOG_LEVEL)
		return 0;
	if (log_level_lookup(arg, &l) != 0)
		return -1;
	log_setup(NULL, l);
	return 1;
}

/* Symbol roots given with --symbols DIR (repeatable). */
struct symdirs {
	const char *v[MAX_SYMBOL_DIRS];
	size_t n;
};

/* Add DIR; false (with a message) when it is no folder or too many. */
static bool add_symbol_dir(struct symdirs *sd, const char *cmd, const char *dir)
{
	struct stat st;

	if (sd->n >= MAX_SYMBOL_DIRS) {
		fprintf(stderr, "dumpfleet %s: more than %d --symbols\n", cmd,
			MAX_SYMBOL_DIRS);
		return false;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dumpfleet %s: --symbols %s: not a folder\n",
			cmd, dir);
		return false;
	}
	sd->v[sd->n++] = dir;
	return true;
}

/* ---- archive options ---------------------------------------------------- */

/* Options every command that reads archives takes (long only). */
enum {
	OPT_SPOOL = 0x100,
	OPT_MAX_DEPTH,
	OPT_MAX_MEMBER,
	OPT_MAX_TOTAL,
	OPT_MAX_RATIO,
	OPT_MAX_MEMBERS,
};

#define ARCHIVE_OPTIONS                                                   \
	{ "spool", required_argument, NULL, OPT_SPOOL },                  \
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },          \
	{ "max-member-size", required_argument, NULL, OPT_MAX_MEMBER },   \
	{ "max-total-size", required_argument, NULL, OPT_MAX_TOTAL },     \
	{ "max-ratio", required_argument, NULL, OPT_MAX_RATIO },          \
	{ "max-members", required_argument, NULL, OPT_MAX_MEMBERS }

#define ARCHIVE_HELP                                                        \
	"      --max-depth N     archive levels opened (default 3)\n"        \
	"      --max-member-size SIZE  largest member unpacked (64G)\n"      \
	"      --max-total-size SIZE   most one input unpacks to (256G)\n"   \
	"      --max-ratio N     expansion ratio of a bomb (1000, checked\n" \
	"                        from 16M up)\n"                             \
	"      --max-members N   entries in one input (100000)\n"            \
	"                        (SIZE: bytes, or a number and K, M, G, T)\n"

/* A byte count with an optional K, M, G or T suffix (powers of 1024). */
static bool parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;

	if (errno != 0 || end == s || s[0] == '-')
		return false;
	if (*end != '\0') {
		const char *u = strchr(units, *end);

		if (u == NULL || end[1] != '\0')
			return false;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (shift > 0 && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* Apply archive option C (with OPTARG) to L or *SPOOL; false if invalid. */
static bool archive_option(int c, const char *arg, struct ingest_limits *l,
			   const char **spool)
{
	unsigned long v;

	switch (c) {
	case OPT_SPOOL:
		*spool = arg;
		return *arg != '\0';
	case OPT_MAX_DEPTH:
		return parse_uint(arg, 64, &v) && v > 0 &&
		       (l->depth = (unsigned)v, true);
	case OPT_MAX_MEMBER:
		return parse_size(arg, &l->member_bytes) && l->member_bytes;
	case OPT_MAX_TOTAL:
		return parse_size(arg, &l->total_bytes) && l->total_bytes;
	case OPT_MAX_RATIO:
		return parse_uint(arg, 1000000000, &v) && v > 0 &&
		       (l->ratio = (uint32_t)v, true);
	case OPT_MAX_MEMBERS:
		return parse_uint(arg, 100000000, &v) && v > 0 &&
		       (l->members = v, true);
	default:
		return false;
	}
}

static bool is_archive_option(int c)
{
	return c >= OPT_SPOOL && c <= OPT_MAX_MEMBERS;
}

/* Ingest problems seen while collecting, kept to be recorded. */
struct problems {
	const char *cmd;
	char **archive, **member, **reason;
	size_t n, cap;
};

static void problems_note(void *ctx, const struct ingest_problem *p)
{
	struct problems *ps = ctx;

	fprintf(stderr, "dumpfleet %s: ", ps->cmd);
	text_put_safe(stderr, p->archive);
	if (p->member != NULL) {
		fputs(" \xC2\xBB ", stderr);
		text_put_safe(stderr, p->member);
	}
	fprintf(stderr, ": %s\n", p->reason);
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 16;
		char **a = realloc(ps->archive, ncap * sizeof(*a));

		if (a != NULL)
			ps->archive = a;
		char **m = realloc(ps->member, ncap * sizeof(*m));

		if (m != NULL)
			ps->member = m;
		char **r = realloc(ps->reason, ncap * sizeof(*r));

		if (r != NULL)
			ps->reason = r;
		if (a == NULL || m == NULL || r == NULL)
			return; /* printed; not recorded */
		ps->cap = ncap;
	}
	ps->archive[ps->n] = strdup(p->archive);
	ps->member[ps->n] = strdup(p->member != NULL ? p->member : "");
	ps->reason[ps->n] = strdup(p->reason);
	if (ps->archive[ps->n] && ps->member[ps->n] && ps->reason[ps->n]) {
		ps->n++;
		return;
	}
	free(ps->archive[ps->n]);
	free(ps->member[ps->n]);
	free(ps->reason[ps->n]);
}

static void problems_release(struct problems *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->archive[i]);
		free(ps->member[i]);
		free(ps->reason[i]);
	}
	free(ps->archive);
	free(ps->member);
	free(ps->reason);
}

/*
 * Keep each ingest problem in the store as a failed job (the archive, the
 * member, the reason), so that the report counts it and says so.
 */
static int problems_record(const struct problems *ps, struct store *s,
			   const char *batch, struct diag *d)
{
	for (size_t i = 0; i < ps->n; i++) {
		const char *path = ps->archive[i];
		const char *arc = ps->archive[i];
		const char *mem = ps->member[i];
		uint64_t id = 0;
		int rc = store_jobs_add(s, batch, &path, &arc, &mem, 1, &id, d);

		if (rc == DF_OK)
			rc = store_job_fail(s, id, ps->reason[i], false, d);
		if (rc != DF_OK)
			return rc;
	}
	return DF_OK;
}

/* Per-dump isolation options shared by `run` and `worker`. */
#define SANDBOX_HELP \
	"      --timeout SECONDS   per-dump wall-clock and CPU limit\n" \
	"                          (default 120)\n" \
	"      --memory MB         address space one analysis may add\n" \
	"                          (default 4096; 0: no limit)\n" \
	"      --no-sandbox        analyse in the worker's own process\n" \
	"                          (debugging: a parser crash ends it)\n"

/* Above the archive options' values. */
enum { OPT_TIMEOUT = 0x180, OPT_MEMORY, OPT_NO_SANDBOX };

#define SANDBOX_OPTIONS \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT }, \
	{ "memory", required_argument, NULL, OPT_MEMORY }, \
	{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX }

/* Apply option C to WO; false when C is none of them or invalid. */
static bool sandbox_option(struct worker_opts *wo, int c, const char *arg)
{
	unsigned long v;

	if (c == OPT_TIMEOUT && parse_uint(arg, 86400, &v) && v > 0)
		wo->timeout_s = (uint32_t)v;
	else if (c == OPT_MEMORY && parse_uint(arg, 1UL << 30, &v))
		wo->memory_mb = v;
	else if (c == OPT_NO_SANDBOX)
		wo->no_sandbox = true;
	else
		return false;
	return true;
}

/* ---- analyze ------------------------------------------------------------- */

static const char analyze_help[] =
	"Usage: dumpfleet analyze [--json] [--symbols DIR]... [--no-hash] PATH...\n"
	"Analyse crash dumps and debugger logs locally, without a store:\n"
	"files, and the files under folders (not following links).\n"
	"An archive's members are unpacked into a temporary folder and\n"
	"analysed one by one (shown as ARCHIVE \xC2\xBB MEMBER).\n\n"
	"  -j, --json         one JSON object per file (one per line)\n"
	"      --symbols DIR  Breakpad symbol store (DIR/NAME.pdb/ID/NAME.sym)\n"
	"                     naming frames; repeat to search several\n"
	"      --no-hash      skip the SHA-256 of each file (it reads all of\n"
	"                     a big kernel dump); output says not computed\n"
	"  -h, --help         show this help\n\n"
	"Exit status: 0 nothing found, 1 findings or errors in the data,\n"
	"2 usage error, 3 system error.\n";

/* A as text, or as JSON (through OUT, reused from one dump to the next). */
static void print_analysis(struct analysis *a, const struct ingest_item *it,
			   bool json, struct strbuf *out)
{
	if (json) {
		/*
		 * The temporary spool is gone at exit: name the archive. One
		 * write per object (json_dumpf made one locked fwrite per
		 * token, a tenth of the time of `analyze --json`).
		 */
		const char *source =
			it->archive != NULL ? it->archive : it->path;

		strbuf_reset(out);
		if (analysis_json_write(out, a, source, it->archive,
					it->member) == DF_OK &&
		    strbuf_add(out, "\n", 1) == DF_OK)
			fwrite(out->buf, 1, out->len, stdout);
		else
			fputs("dumpfleet analyze: out of memory\n", stderr);
		return;
	}
	if (it->archive == NULL) {
		analysis_print_text(stdout, a, it->path);
		return;
	}
	char *name = NULL;

	if (asprintf(&name, "%s \xC2\xBB %s", it->archive, it->member) < 0)
		name = NULL;
	analysis_print_text(stdout, a, name != NULL ? name : it->path);
	free(name);
}

struct analyze_ctx {
	bool json;
	bool hash; /* the content hash too */
	struct symstore *syms;
	struct strbuf out; /* JSON text of one dump */
	int status;
};

/* Analyse one file (plain, or unpacked from an archive) as it comes. */
static int analyze_item(void *ctx, const struct ingest_item *it)
{
	struct analyze_ctx *ac = ctx;
	struct analysis *a = NULL;
	/* A spool object's hash was taken as it was unpacked. */
	int rc = !ac->hash ? analysis_run_file_unhashed(&a, it->path, NULL,
							ac->syms)
		 : it->hash != NULL
			 ? analysis_run_file_known(&a, it->path, NULL, ac->syms,
						   it->hash)
			 : analysis_run_file_with(&a, it->path, NULL, ac->syms);

	if (rc != DF_OK) {
		fprintf(stderr, "dumpfleet analyze: out of memory\n");
		return DF_ENOMEM;
	}
	print_analysis(a, it, ac->json, &ac->out);
	if (a->errors.n > 0 || a->findings.n > 0)
		ac->status = DF_EXIT_FINDINGS;
	analysis_destroy(&a);
	return DF_OK;
}

static void analyze_problem(void *ctx, const struct ingest_problem *p)
{
	struct analyze_ctx *ac = ctx;
	struct problems ps = { "analyze", NULL, NULL, NULL, 0, 0 };

	problems_note(&ps, p);
	problems_release(&ps);
	ac->status = DF_EXIT_FINDINGS;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/*
 * The regular files under folder DIR, in name order and not following
 * links (as run and submit take them), each through the ingest G.
 */
static int analyze_folder(struct ingest *g, char *dir, struct analyze_ctx *ac,
			  struct diag *d)
{
	struct pathlist pl = { 0 };
	int rc = client_collect(&pl, &dir, 1, NULL, d);

	if (rc != DF_OK) {
		struct ingest_item it = { dir, NULL, NULL, false, NULL, 0 };

		/* An unreadable folder is one input with an error. */
		pathlist_release(&pl);
		diag_init(d);
		return analyze_item(ac, &it);
	}
	for (size_t i = 0; rc == DF_OK && i < pl.n; i++)
		rc = ingest_file(g, pl.v[i], d);
	pathlist_release(&pl);
	return rc;
}

static int analyze_files(char **files, int n, struct analyze_ctx *ac)
{
	struct ingest_sink sink = { analyze_item, analyze_problem, ac };
	const char *tmpdir = getenv("TMPDIR");
	char spool[4096];
	struct ingest *g = NULL;
	struct diag d;
	int rc = DF_OK;

	diag_init(&d);
	/* The spool is made at the first archive member only. */
	if ((size_t)snprintf(spool, sizeof(spool), "%s/dumpfleet-analyze.%ld",
			     tmpdir != NULL && *tmpdir ? tmpdir : "/tmp",
			     (long)getpid()) >= sizeof(spool) ||
	    ingest_new(&g, spool, NULL, &sink, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet analyze: out of memory\n");
		return DF_EXIT_SYSTEM;
	}
	for (int i = 0; rc == DF_OK && i < n; i++) {
		struct ingest_item plain = { files[i], NULL, NULL, false, NULL,
					     0 };
		struct stat st;

		if (stat(files[i], &st) == 0 && S_ISDIR(st.st_mode))
			rc = analyze_folder(g, files[i], ac, &d);
		else if (stat(files[i], &st) != 0 || !S_ISREG(st.st_mode))
			rc = analyze_item(ac, &plain); /* says what it is */
		else
			rc = ingest_file(g, files[i], &d);
	}
	ingest_destroy(&g);
	nftw(spool, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (rc != DF_OK) {
		if (d.msg[0])
			fprintf(stderr, "dumpfleet analyze: %s\n", d.msg);
		return DF_EXIT_SYSTEM;
	}
	return ac->status;
}

static int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "symbols", required_argument, NULL, 'S' },
		{ "no-hash", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct symdirs sd = { { NULL }, 0 };
	struct analyze_ctx ac = { .hash = true, .status = DF_EXIT_OK };
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			ac.json = true;
		else if (c == 'H')
			ac.hash = false;
		else if (c == 'S' && !add_symbol_dir(&sd, "analyze", optarg))
			return DF_EXIT_USAGE;
		else if (c == 'S')
			continue;
		else if (c == 'h')
			return fputs(analyze_help, stdout), DF_EXIT_OK;
		else
			return usage_error("analyze", "unknown option");
	}
	if (optind >= argc)
		return usage_error("analyze", "no FILE given");
	if (sd.n > 0 && (ac.syms = symstore_new(sd.v, sd.n)) == NULL) {
		fprintf(stderr, "dumpfleet analyze: out of memory\n");
		return DF_EXIT_SYSTEM;
	}
	strbuf_init(&ac.out, SIZE_MAX);
	int status = analyze_files(argv + optind, argc - optind, &ac);

	strbuf_release(&ac.out);
	symstore_destroy(&ac.syms);
	return status;
}

/* ---- report -------------------------------------------------------------- */

/* Text width: COLUMNS when set, else the terminal's, else 100. */
static unsigned term_width(FILE *out)
{
	struct winsize ws;
	unsigned long cols;
	const char *env = getenv("COLUMNS");

	if (env != NULL && parse_uint(env, 10000, &cols) && cols >= 40)
		return (unsigned)cols;
	if (isatty(fileno(out)) && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col >= 40)
		return ws.ws_col;
	return 100;
}

/* Colour only on a terminal, and never when NO_COLOR is set (no-color.org). */
static bool want_colour(FILE *out)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fileno(out)) && (nc == NULL || nc[0] == '\0');
}

struct report_cfg {
	const char *store;
	const char *format;
	const char *output;   /* -o FILE, NULL: stdout */
	const char *nightly;  /* --out DIR with --nightly */
	bool want_nightly;
	const char *owners;
	struct report_opts ro;
};

static int write_report(const struct report_cfg *cfg, struct report *r)
{
	const struct report_form *form = report_form_find(cfg->format);
	json_t *j = report_to_json(r);
	struct diag d;
	int rc;

	diag_init(&d);
	if (cfg->want_nightly) {
		rc = report_nightly_write(j, cfg->nightly, report_until(r), &d);
		if (rc != DF_OK)
			fprintf(stderr, "dumpfleet report: %s\n", d.msg);
		json_decref(j);
		return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
	}
	FILE *out = cfg->output != NULL ? fopen(cfg->output, "w") : stdout;

	if (out == NULL) {
		fprintf(stderr, "dumpfleet report: cannot write %s: %s\n",
			cfg->output, strerror(errno));
		json_decref(j);
		return DF_EXIT_SYSTEM;
	}
	struct report_form_opts fo = { term_width(out), want_colour(out) };

	rc = form->write(out, j, &fo);
	if (out != stdout && fclose(out) != 0)
		rc = DF_EIO;
	json_decref(j);
	if (rc != DF_OK)
		fprintf(stderr, "dumpfleet report: cannot write the report\n");
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

static int make_report(const struct report_cfg *cfg)
{
	struct store *s = NULL;
	struct report *r = NULL;
	struct owners *own = NULL;
	struct report_opts ro = cfg->ro;
	struct diag d;
	int rc;

	diag_init(&d);
	if (cfg->owners != NULL &&
	    (owners_new(&own, &d) != DF_OK ||
	     owners_load_file(own, cfg->owners, &d) != DF_OK)) {
		fprintf(stderr, "dumpfleet report: --owners %s: %s\n",
			cfg->owners, d.msg);
		owners_destroy(&own);
		return DF_EXIT_USAGE;
	}
	ro.owners = own;
	rc = store_open(&s, cfg->store, true, &d);
	if (rc == DF_OK)
		rc = report_build(&r, s, &ro, &d);
	if (rc != DF_OK) {
		fprintf(stderr, "dumpfleet report: %s\n", d.msg);
		store_close(&s);
		owners_destroy(&own);
		return d.code == DF_EUSAGE ? DF_EXIT_USAGE : DF_EXIT_SYSTEM;
	}
	int status = write_report(cfg, r);

	if (status == DF_EXIT_OK && report_errors(r) > 0)
		status = DF_EXIT_FINDINGS;
	report_destroy(&r);
	store_close(&s);
	owners_destroy(&own);
	return status;
}

/* The whole store's report, as `run` prints it. */
static int print_report(const char *dir, bool json, unsigned top)
{
	struct report_cfg cfg = { dir, json ? "json" : "text", NULL, NULL,
				  false, NULL, { .top = top } };

	return make_report(&cfg);
}

/* Formats --format accepts; those this build lacks are refused by name. */
static const char *const format_names[] = { "text", "json", "html", "csv" };

static bool parse_format(const char *s, bool *json)
{
	if (strcmp(s, "json") == 0)
		*json = true;
	else if (strcmp(s, "text") == 0)
		*json = false;
	else
		return false;
	return true;
}

static const char report_help[] =
	"Usage: dumpfleet report [--store DIR] [--format text|json|html|csv]\n"
	"                        [--since DAY] [--until DAY] [--days N]\n"
	"                        [--batch TAG] [--top N] [--owners FILE]\n"
	"                        [-o FILE | --nightly --out DIR]\n"
	"What crashed, what is new, what is rising and whom to call, over a\n"
	"period of days: totals, batches, bugchecks (with their change and\n"
	"the 2008 baseline), exceptions, patterns, virtualization, top,\n"
	"new, rising and falling buckets, blamed modules, bucket spray.\n\n"
	"  -s, --store DIR       the store (default: " DEFAULT_STORE ")\n"
	"  -f, --format FORMAT   text (default), json, html (one self-contained\n"
	"                        page with charts) or csv (RFC 4180 tables)\n"
	"      --since DAY       first day (YYYY-MM-DD, UTC)\n"
	"      --until DAY       last day (default: today)\n"
	"      --days N          period length in days\n"
	"                        (without any: from the first day with data)\n"
	"  -b, --batch TAG       only dumps of this batch\n"
	"  -n, --top N           buckets to list (default 10)\n"
	"      --owners FILE     extra 'GLOB OWNER' lines for whom to call\n"
	"  -o, --output FILE     write to FILE instead of standard output\n"
	"      --nightly         write DIR/DAY.html, .json and .csv and\n"
	"                        DIR/latest links (needs --out); by\n"
	"                        default the 7 days up to yesterday\n"
	"      --out DIR         the nightly folder\n"
	"  -h, --help            show this help\n"
	"Colour only on a terminal and when NO_COLOR is unset; the text is\n"
	"fitted to COLUMNS or the terminal's width.\n";

static bool known_format(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++)
		if (strcmp(s, format_names[i]) == 0)
			return true;
	return false;
}

/* One option of `report`; false when its value is not valid. */
static bool report_option(struct report_cfg *cfg, int c, const char *arg)
{
	struct report_opts *ro = &cfg->ro;
	unsigned long v;

	switch (c) {
	case 's': cfg->store = arg; return true;
	case 'f': cfg->format = arg; return known_format(arg);
	case 'o': cfg->output = arg; return true;
	case 'O': cfg->nightly = arg; return true;
	case 'N': cfg->want_nightly = true; return true;
	case 'w': cfg->owners = arg; return true;
	case 'b': ro->batch = arg; return true;
	case 'S': ro->has_since = true; return report_day_parse(arg, &ro->since);
	case 'U': ro->has_until = true; return report_day_parse(arg, &ro->until);
	case 'D':
		if (!parse_uint(arg, REPORT_MAX_DAYS, &v) || v == 0)
			return false;
		ro->days = (unsigned)v;
		return true;
	case 'n':
		if (!parse_uint(arg, REPORT_MAX_TOP, &v) || v == 0)
			return false;
		ro->top = (unsigned)v;
		return true;
	default:
		return false;
	}
}

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "days", required_argument, NULL, 'D' },
		{ "batch", required_argument, NULL, 'b' },
		{ "owners", required_argument, NULL, 'w' },
		{ "output", required_argument, NULL, 'o' },
		{ "nightly", no_argument, NULL, 'N' },
		{ "out", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report_cfg cfg = { DEFAULT_STORE, "text", NULL, NULL, false,
				  NULL, { .top = REPORT_DEFAULT_TOP } };
	int c;

	while ((c = getopt_long(argc, argv, "s:f:n:b:o:h", opts, NULL)) != -1) {
		if (c == 'h')
			return fputs(report_help, stdout), DF_EXIT_OK;
		if (!report_option(&cfg, c, optarg))
			return usage_error("report", "invalid option");
	}
	if (optind < argc)
		return usage_error("report", "unexpected argument");
	if (cfg.want_nightly != (cfg.nightly != NULL))
		return usage_error("report", "--nightly needs --out DIR");
	if (cfg.want_nightly && cfg.output != NULL)
		return usage_error("report", "-o and --nightly exclude each other");
	if (report_form_find(cfg.format) == NULL) {
		fprintf(stderr, "dumpfleet report: the %s form is not in this "
			"build\n", cfg.format);
		return DF_EXIT_USAGE;
	}
	/* The nightly default: the last 7 whole days, up to yesterday. */
	if (cfg.want_nightly && !cfg.ro.has_since && !cfg.ro.has_until &&
	    cfg.ro.days == 0) {
		cfg.ro.has_until = true;
		cfg.ro.until = (int64_t)(time(NULL) / 86400) - 1;
		cfg.ro.days = 7;
	}
	return make_report(&cfg);
}

/* ---- broker and worker threads for `run` -------------------------------- */

struct bound {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char endpoint[256];
	bool done;
};

static void on_bound(void *ctx, const char *endpoint)
{
	struct bound *b = ctx;

	pthread_mutex_lock(&b->mu);
	snprintf(b->endpoint, sizeof(b->endpoint), "%s", endpoint);
	b->done = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

struct broker_thread {
	struct broker_opts opts;
	int rc;
};

static void *broker_main(void *arg)
{
	struct broker_thread *t = arg;

	t->rc = broker_run(&t->opts);
	/* A broker that failed answers no more: end the client's wait. */
	if (t->rc != DF_OK)
		atomic_store(&stop_flag, true);
	/* Wake a caller still waiting for the bind. */
	on_bound(t->opts.on_bound_ctx, "");
	return NULL;
}

static void *worker_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

/* ---- run ------------------------------------------------------------------- */

static const char run_help[] =
	"Usage: dumpfleet run [--workers N] [--store DIR] [--batch TAG]\n"
	"                     [--format text|json] [--symbols DIR]...\n"
	"                     [--spool DIR] [--max-depth N]\n"
	"                     [--timeout S] [--memory MB] [--no-sandbox] PATH...\n"
	"Start a broker and N workers on this machine, analyse every file\n"
	"under PATH, store the results and print the report. Archives (zip,\n"
	"7z, cab, rar, tar, .gz, .zst, ...) are unpacked into the spool, each\n"
	"content once; what cannot be unpacked is recorded as failed.\n\n"
	"  -w, --workers N       worker slots (default: number of cores)\n"
	"  -s, --store DIR       the store (default: " DEFAULT_STORE ")\n"
	"  -b, --batch TAG       customer or case tag for these jobs\n"
	"  -f, --format FORMAT   report as text (default) or json\n"
	"      --symbols DIR     Breakpad symbol store naming frames\n"
	"                        (DIR/NAME.pdb/ID/NAME.sym); repeatable\n"
	"      --spool DIR       where archive members go (default:\n"
	"                        STORE/spool)\n"
	ARCHIVE_HELP
	SANDBOX_HELP
	"  -h, --help            show this help\n";

struct run_cfg {
	const char *store;
	const char *batch;
	unsigned long workers;
	bool json;
	struct symdirs syms;
	const char *spool;           /* NULL: STORE/spool */
	struct ingest_limits limits;
	struct worker_opts wo;   /* the sandbox options */
};

/*
 * Collect PATHS into PL, unpacking archives; problems go into PS. With
 * HASH_PLAIN plain files are hashed here, so that jobs name their content.
 */
static int collect_inputs(struct pathlist *pl, char *const *paths,
			  size_t npaths, const char *spool,
			  const struct ingest_limits *limits,
			  struct problems *ps, bool hash_plain, struct diag *d)
{
	struct client_collect_opts co = { spool, limits, problems_note, ps,
					  hash_plain };

	return client_collect(pl, paths, npaths, &co, d);
}

static int run_pipeline(const struct run_cfg *cfg, char *const *paths,
			size_t npaths)
{
	void *ctx = zmq_ctx_new();
	struct store *s = NULL;
	struct pathlist pl = { 0 };
	struct bound bd = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER, "", false };
	struct broker_thread bt;
	struct worker_opts wo;
	pthread_t bth, wth;
	struct diag d;
	int status = DF_EXIT_SYSTEM;
	/*
	 * Broker and workers stop on their own flag, raised once the client
	 * is done: a broker that left first would leave the client, or a
	 * worker, blocked in a send to an inproc endpoint that has gone.
	 */
	atomic_bool halt = false;

	diag_init(&d);
	if (ctx == NULL) {
		fprintf(stderr, "dumpfleet run: no ZeroMQ context\n");
		return DF_EXIT_SYSTEM;
	}
	struct problems ps = { "run", NULL, NULL, NULL, 0, 0 };
	char spool[4096];

	if ((size_t)snprintf(spool, sizeof(spool), "%s/spool",
			     cfg->store) >= sizeof(spool)) {
		zmq_ctx_term(ctx);
		return usage_error("run", "store path too long");
	}
	/*
	 * The store first: the default spool lives in it. A PATH (or a
	 * --spool) that cannot be used is a usage error; the store is not.
	 */
	if (store_open(&s, cfg->store, false, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet run: %s\n", d.msg);
		zmq_ctx_term(ctx);
		return DF_EXIT_SYSTEM;
	}
	/*
	 * Not hashed here: the slots share this filesystem and hash their
	 * files in parallel, where one client thread would do it in turn.
	 */
	if (collect_inputs(&pl, paths, npaths,
			   cfg->spool != NULL ? cfg->spool : spool,
			   &cfg->limits, &ps, false, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet run: %s\n", d.msg);
		store_close(&s);
		pathlist_release(&pl);
		problems_release(&ps);
		zmq_ctx_term(ctx);
		return d.code == DF_EIO ? DF_EXIT_USAGE : DF_EXIT_SYSTEM;
	}
	if (problems_record(&ps, s, cfg->batch, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet run: %s\n", d.msg);
		store_close(&s);
		pathlist_release(&pl);
		problems_release(&ps);
		zmq_ctx_term(ctx);
		return DF_EXIT_SYSTEM;
	}
	problems_release(&ps);
	broker_opts_init(&bt.opts);
	bt.opts.endpoint = "inproc://dumpfleet-run";
	bt.opts.zmq_ctx = ctx;
	bt.opts.store = s;
	bt.opts.stop = &halt;
	bt.opts.on_bound = on_bound;
	bt.opts.on_bound_ctx = &bd;
	if (pthread_create(&bth, NULL, broker_main, &bt) != 0) {
		fprintf(stderr, "dumpfleet run: cannot start the broker\n");
		store_close(&s);
		pathlist_release(&pl);
		zmq_ctx_term(ctx);
		return DF_EXIT_SYSTEM;
	}
	pthread_mutex_lock(&bd.mu);
	while (!bd.done)
		pthread_cond_wait(&bd.cv, &bd.mu);
	pthread_mutex_unlock(&bd.mu);

	wo = cfg->wo;
	if (cfg->workers > 0)
		wo.slots = (unsigned)cfg->workers;
	wo.endpoint = bd.endpoint;
	wo.zmq_ctx = ctx;
	wo.stop = &halt;
	wo.name = "local";
	wo.symbol_dirs = cfg->syms.v;
	wo.nsymbol_dirs = cfg->syms.n;
	bool workers_up = bd.endpoint[0] != '\0' &&
			  pthread_create(&wth, NULL, worker_main, &wo) == 0;

	size_t accepted = 0;
	struct client_status st = { 0 };

	struct client_link link = { ctx, bd.endpoint, NULL };

	if (workers_up &&
	    client_submit(&link, cfg->batch, &pl, &accepted,
			  DEFAULT_TIMEOUT_MS, &d) == DF_OK &&
	    client_wait(&link, isatty(STDERR_FILENO),
			DEFAULT_TIMEOUT_MS * 20, &stop_flag, &st, &d) == DF_OK)
		status = DF_EXIT_OK;
	else
		fprintf(stderr, "dumpfleet run: %s\n",
			d.msg[0] ? d.msg : "the broker did not start");
	bool interrupted = atomic_load(&stop_flag);

	atomic_store(&halt, true);
	/*
	 * A slot may be blocked sending a result to the broker that has just
	 * closed its socket; shutting the context down makes every blocking
	 * call return ETERM, so the joins below cannot hang.
	 */
	zmq_ctx_shutdown(ctx);
	if (workers_up)
		pthread_join(wth, NULL);
	pthread_join(bth, NULL);
	store_close(&s);
	zmq_ctx_term(ctx);
	uint64_t problems = pl.problems;

	pathlist_release(&pl);
	if (status != DF_EXIT_OK || interrupted)
		return interrupted ? DF_EXIT_SYSTEM : status;
	fprintf(stderr, "dumpfleet run: %zu files submitted, %zu workers\n",
		accepted, (size_t)wo.slots);
	if (problems > 0)
		fprintf(stderr, "dumpfleet run: %llu archive problems recorded "
				"as failed\n",
			(unsigned long long)problems);
	return print_report(cfg->store, cfg->json, REPORT_DEFAULT_TOP);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workers", required_argument, NULL, 'w' },
		{ "store", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' },
		{ "symbols", required_argument, NULL, 'S' },
		SANDBOX_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		ARCHIVE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct run_cfg cfg = { .store = DEFAULT_STORE, .batch = "" };
	int c;

	ingest_limits_init(&cfg.limits);
	worker_opts_init(&cfg.wo);
	while ((c = getopt_long(argc, argv, "w:s:b:f:h", opts, NULL)) != -1) {
		if (sandbox_option(&cfg.wo, c, optarg))
			continue;
		else if (c == 'w' && parse_uint(optarg, 1024, &cfg.workers) &&
		    cfg.workers > 0)
			continue;
		else if (c == 's')
			cfg.store = optarg;
		else if (c == 'b')
			cfg.batch = optarg;
		else if (c == 'f' && parse_format(optarg, &cfg.json))
			continue;
		else if (c == 'S' && !add_symbol_dir(&cfg.syms, "run", optarg))
			return DF_EXIT_USAGE;
		else if (c == 'S')
			continue;
		else if (is_archive_option(c) &&
			 archive_option(c, optarg, &cfg.limits, &cfg.spool))
			continue;
		else if (c == 'h')
			return fputs(run_help, stdout), DF_EXIT_OK;
		else
			return usage_error("run", "invalid option");
	}
	if (optind >= argc)
		return usage_error("run", "no PATH given");
	return run_pipeline(&cfg, argv + optind, (size_t)(argc - optind));
}

/* ---- broker -------------------------------------------------------------- */

/*
 * An endpoint besides the main one (the content service, its client)
 * follows the same rule: exposed means CURVE, unless --insecure.
 */
static int check_second_endpoint(const char *cmd, const struct secure_opts *so,
				 bool curve, const char *endpoint)
{
	if (endpoint == NULL || curve || !curve_endpoint_exposed(endpoint))
		return DF_EXIT_OK;
	if (so->insecure) {
		log_msg(LL_WARN, "event=insecure endpoint=%s", endpoint);
		return DF_EXIT_OK;
	}
	fprintf(stderr, "dumpfleet %s: CURVE keys or --insecure are needed "
		"for %s\nTry 'dumpfleet %s --help'.\n", cmd, endpoint, cmd);
	return DF_EXIT_USAGE;
}

static const char broker_help[] =
	"Usage: dumpfleet broker --bind ENDPOINT [--store DIR]\n"
	"                        [--heartbeat-ms N] [--lease-ms N]\n"
	"                        [--key FILE --allow-workers P\n"
	"                         --allow-clients P] [--curve] [--insecure]\n"
	"                        [--max-attempts K] [--drain-ms N]\n"
	"Serve jobs to workers and record their results in the store.\n"
	"Prints 'listening on ENDPOINT' once bound (a '*' port resolved).\n"
	"A tcp:// endpoint that is not loopback needs CURVE keys.\n\n"
	"  -B, --bind ENDPOINT    e.g. tcp://127.0.0.1:5555 or tcp://*:5555\n"
	"  -s, --store DIR        the store (default: " DEFAULT_STORE ")\n"
	"      --heartbeat-ms N   heartbeat interval (default 1000)\n"
	"      --lease-ms N       job lease (default 600000)\n"
	"      --metrics ADDR:PORT  serve Prometheus metrics at\n"
	"                         http://ADDR:PORT/metrics (off by default;\n"
	"                         unauthenticated: bind loopback or firewall)\n"
	SECURE_BROKER_HELP
	LOG_HELP
	"      --max-attempts K   quarantine a job after K failed attempts\n"
	"                         (crashes, limits, lost workers; default 3)\n"
	"      --drain-ms N       on SIGTERM, wait this long for leased jobs\n"
	"                         (default 30000; the rest are queued again)\n"
	"      --content-bind ENDPOINT  serve job files to workers that do\n"
	"                         not share the filesystem (their fetch\n"
	"                         option); same keys; prints\n"
	"                         'content on ENDPOINT'\n"
	"  -h, --help             show this help\n";

static void print_content_bound(void *ctx, const char *endpoint)
{
	(void)ctx;
	printf("content on %s\n", endpoint);
	fflush(stdout);
}

static void print_bound(void *ctx, const char *endpoint)
{
	(void)ctx;
	printf("listening on %s\n", endpoint);
	fflush(stdout);
}

static int cmd_broker(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bind", required_argument, NULL, 'B' },
		{ "store", required_argument, NULL, 's' },
		{ "heartbeat-ms", required_argument, NULL, 'H' },
		{ "lease-ms", required_argument, NULL, 'L' },
		{ "metrics", required_argument, NULL, 'M' },
		SECURE_BROKER_OPTIONS,
		LOG_OPTIONS,
		{ "max-attempts", required_argument, NULL, 'A' },
		{ "drain-ms", required_argument, NULL, 'D' },
		{ "content-bind", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct broker_opts bo;
	struct secure_opts so;
	const char *dir = DEFAULT_STORE, *metrics_addr = NULL;
	unsigned long v;
	int c, taken;

	broker_opts_init(&bo);
	bo.drain_ms = DEFAULT_DRAIN_MS;
	secure_opts_init(&so);
	while ((c = getopt_long(argc, argv, "B:s:vh", opts, NULL)) != -1) {
		if ((taken = secure_take(&so, c, optarg)) != 0) {
			if (taken < 0)
				return usage_error("broker", "too many lists");
		} else if ((taken = take_log_option(c, optarg)) != 0) {
			if (taken < 0)
				return usage_error("broker", "invalid level");
		} else if (c == 'B')
			bo.endpoint = optarg;
		else if (c == 's')
			dir = optarg;
		else if (c == 'H' && parse_uint(optarg, 3600000, &v) && v)
			bo.heartbeat_ms = (uint32_t)v;
		else if (c == 'L' && parse_uint(optarg, 86400000, &v) && v)
			bo.lease_ms = v;
		else if (c == 'M')
			metrics_addr = optarg;
		else if (c == 'A' && parse_uint(optarg, 1000, &v) && v)
			bo.max_attempts = (uint32_t)v;
		else if (c == 'D' && parse_uint(optarg, 86400000, &v))
			bo.drain_ms = v;
		else if (c == 'C')
			bo.content_endpoint = optarg;
		else if (c == 'h')
			return fputs(broker_help, stdout), DF_EXIT_OK;
		else
			return usage_error("broker", "invalid option");
	}
	if (bo.endpoint == NULL || optind < argc)
		return usage_error("broker", "--bind ENDPOINT is required");
	struct curve_pair kp;
	struct curve_keyring *allow = NULL;
	int status = secure_broker_setup(&so, bo.endpoint, &kp, &bo.curve,
					 &allow);

	if (status == DF_EXIT_OK)
		status = check_second_endpoint("broker", &so, bo.curve != NULL,
					       bo.content_endpoint);
	if (status != DF_EXIT_OK) {
		curve_keyring_destroy(&allow);
		return status;
	}
	bo.allow = allow;
	bo.on_content_bound = print_content_bound;
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	if (store_open(&s, dir, false, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet broker: %s\n", d.msg);
		curve_keyring_destroy(&allow);
		return DF_EXIT_SYSTEM;
	}
	unsigned port = 0;

	if (metrics_addr != NULL &&
	    metrics_start(&bo.metrics, metrics_addr, &port, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet broker: %s\n", d.msg);
		store_close(&s);
		curve_keyring_destroy(&allow);
		return d.code == DF_EUSAGE ? DF_EXIT_USAGE : DF_EXIT_SYSTEM;
	}
	if (bo.metrics != NULL) {
		printf("metrics on port %u\n", port);
		fflush(stdout);
	}
	void *ctx = zmq_ctx_new();

	bo.zmq_ctx = ctx;
	bo.store = s;
	bo.stop = &stop_flag;
	bo.on_bound = print_bound;
	int rc = broker_run(&bo);

	zmq_ctx_term(ctx);
	metrics_stop(&bo.metrics);
	store_close(&s);
	curve_keyring_destroy(&allow);
	memset(&kp, 0, sizeof(kp));
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

/* ---- worker -------------------------------------------------------------- */

static const char worker_help[] =
	"Usage: dumpfleet worker --connect ENDPOINT [--slots N]\n"
	"                        [--symbols DIR]... [--timeout S]\n"
	"                        [--memory MB] [--no-sandbox]\n"
	"                        [--fetch ENDPOINT [--fetch-mode auto|always]\n"
	"                         [--fetch-dir DIR]]\n"
	"Analyse jobs from a broker until stopped (SIGTERM).\n\n"
	"  -c, --connect ENDPOINT  the broker, e.g. tcp://broker:5555\n"
	"  -n, --slots N           parallel analyses (default: cores)\n"
	"      --heartbeat-ms N    heartbeat interval (default 1000)\n"
	"      --symbols DIR       Breakpad symbol store naming frames\n"
	"                          (DIR/NAME.pdb/ID/NAME.sym); repeatable\n"
	"      --fetch ENDPOINT    the broker's content service (its\n"
	"                          content-bind): read job files from it\n"
	"                          when they are not on this filesystem\n"
	"      --fetch-mode auto|always  auto (default): fetch a file only\n"
	"                          when its path here is not the job's file\n"
	"      --fetch-dir DIR     fetched files, removed once analysed\n"
	"                          (default: $TMPDIR or /tmp)\n"
	SECURE_PEER_HELP
	LOG_HELP
	SANDBOX_HELP
	"  -h, --help              show this help\n";

static int cmd_worker(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "slots", required_argument, NULL, 'n' },
		{ "heartbeat-ms", required_argument, NULL, 'H' },
		{ "symbols", required_argument, NULL, 'S' },
		SECURE_PEER_OPTIONS,
		LOG_OPTIONS,
		SANDBOX_OPTIONS,
		{ "fetch", required_argument, NULL, 'F' },
		{ "fetch-mode", required_argument, NULL, 'M' },
		{ "fetch-dir", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker_opts wo;
	struct secure_opts so;
	struct curve_client keys;
	struct symdirs sd = { { NULL }, 0 };
	unsigned long v;
	char name[128], host[64] = "host";
	int c, taken;

	worker_opts_init(&wo);
	secure_opts_init(&so);
	while ((c = getopt_long(argc, argv, "c:n:vh", opts, NULL)) != -1) {
		if (secure_take(&so, c, optarg) != 0)
			continue;
		else if (sandbox_option(&wo, c, optarg))
			continue;
		else if ((taken = take_log_option(c, optarg)) < 0)
			return usage_error("worker", "invalid level");
		else if (taken > 0)
			continue;
		else if (c == 'c')
			wo.endpoint = optarg;
		else if (c == 'n' && parse_uint(optarg, 1024, &v) && v)
			wo.slots = (unsigned)v;
		else if (c == 'H' && parse_uint(optarg, 3600000, &v) && v)
			wo.heartbeat_ms = (uint32_t)v;
		else if (c == 'S' && !add_symbol_dir(&sd, "worker", optarg))
			return DF_EXIT_USAGE;
		else if (c == 'S')
			continue;
		else if (c == 'F')
			wo.fetch_endpoint = optarg;
		else if (c == 'M' && (strcmp(optarg, "auto") == 0 ||
				      strcmp(optarg, "always") == 0))
			wo.fetch_always = strcmp(optarg, "always") == 0;
		else if (c == 'T' && optarg[0] == '/')
			wo.fetch_dir = optarg;
		else if (c == 'h')
			return fputs(worker_help, stdout), DF_EXIT_OK;
		else
			return usage_error("worker", "invalid option");
	}
	if (wo.endpoint == NULL || optind < argc)
		return usage_error("worker", "--connect ENDPOINT is required");
	int status = secure_peer_setup(&so, "worker", wo.endpoint, &keys,
				       &wo.curve);

	if (status == DF_EXIT_OK)
		status = check_second_endpoint("worker", &so, wo.curve != NULL,
					       wo.fetch_endpoint);
	if (status != DF_EXIT_OK)
		return status;
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "%s:%ld", host, (long)getpid());
	wo.name = name;
	wo.symbol_dirs = sd.v;
	wo.nsymbol_dirs = sd.n;
	wo.zmq_ctx = zmq_ctx_new();
	wo.stop = &stop_flag;
	int rc = worker_run(&wo);

	zmq_ctx_term(wo.zmq_ctx);
	memset(&keys, 0, sizeof(keys));
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

/* ---- submit and status ------------------------------------------------------- */

static const char submit_help[] =
	"Usage: dumpfleet submit --broker ENDPOINT [--batch TAG] [--wait]\n"
	"                        [--spool DIR] [--max-depth N] PATH...\n"
	"Queue every file under PATH with a broker. The files must be\n"
	"readable at the same path by the workers (a shared filesystem).\n"
	"Archives are unpacked into the spool first, which must be on a\n"
	"filesystem the workers share too.\n\n"
	"  -B, --broker ENDPOINT  the broker\n"
	"  -b, --batch TAG        customer or case tag\n"
	"  -w, --wait             wait until the queue is empty\n"
	"      --timeout-ms N     longest wait for an answer (default 30000)\n"
	SECURE_PEER_HELP
	"      --spool DIR        where archive members go (default:\n"
	"                         ./" DEFAULT_SUBMIT_SPOOL ")\n"
	ARCHIVE_HELP
	"  -h, --help             show this help\n"
	"\nExit status 1 when some inputs could not be unpacked (printed)\n"
	"or, with --wait, some jobs failed.\n";

static int cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'B' },
		{ "batch", required_argument, NULL, 'b' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		SECURE_PEER_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		ARCHIVE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *ep = NULL, *batch = "", *spool = DEFAULT_SUBMIT_SPOOL;
	bool wait = false, collected = false;
	struct secure_opts so;
	struct curve_client keys;
	struct ingest_limits limits;
	unsigned long tmo = DEFAULT_TIMEOUT_MS;
	int c;

	secure_opts_init(&so);
	ingest_limits_init(&limits);
	while ((c = getopt_long(argc, argv, "B:b:wh", opts, NULL)) != -1) {
		if (secure_take(&so, c, optarg) != 0)
			continue;
		else if (c == 'T' && parse_uint(optarg, 86400000, &tmo) && tmo)
			continue;
		else if (c == 'B')
			ep = optarg;
		else if (c == 'b')
			batch = optarg;
		else if (c == 'w')
			wait = true;
		else if (is_archive_option(c) &&
			 archive_option(c, optarg, &limits, &spool))
			continue;
		else if (c == 'h')
			return fputs(submit_help, stdout), DF_EXIT_OK;
		else
			return usage_error("submit", "invalid option");
	}
	if (ep == NULL || optind >= argc)
		return usage_error("submit", "--broker and a PATH are required");
	struct client_link link = { NULL, ep, NULL };
	int status = secure_peer_setup(&so, "submit", ep, &keys, &link.curve);

	if (status != DF_EXIT_OK)
		return status;
	struct pathlist pl = { 0 };
	struct client_status st = { 0 }, before = { 0 };
	size_t accepted = 0;
	struct diag d;
	void *ctx = zmq_ctx_new();

	link.ctx = ctx;
	diag_init(&d);
	struct problems ps = { "submit", NULL, NULL, NULL, 0, 0 };
	int rc = collect_inputs(&pl, argv + optind, (size_t)(argc - optind),
				spool, &limits, &ps, true, &d);

	/* Printed as they came; nothing to record them in here. */
	problems_release(&ps);
	collected = rc == DF_OK;
	/* The broker counts failures since it started: take a baseline. */
	if (rc == DF_OK && wait)
		rc = client_status(&link, &before, (uint32_t)tmo, &d);
	if (rc == DF_OK)
		rc = client_submit(&link, batch, &pl, &accepted,
				   (uint32_t)tmo, &d);
	if (rc == DF_OK)
		printf("submitted %zu of %zu files\n", accepted, pl.n);
	if (rc == DF_OK && pl.problems > 0)
		printf("%llu archive problems (not submitted)\n",
		       (unsigned long long)pl.problems);
	uint64_t problems = pl.problems;

	if (rc == DF_OK && wait)
		rc = client_wait(&link, isatty(STDERR_FILENO),
				 (uint32_t)tmo, &stop_flag, &st, &d);
	if (rc == DF_OK && wait)
		printf("done: %llu done, %llu failed\n",
		       (unsigned long long)st.done,
		       (unsigned long long)st.failed);
	if (rc != DF_OK)
		fprintf(stderr, "dumpfleet submit: %s\n", d.msg);
	pathlist_release(&pl);
	zmq_ctx_term(ctx);
	/*
	 * A PATH that cannot be read is a usage error; a broker that does not
	 * answer is a system error (pl.n is 0 here, released above).
	 */
	if (rc != DF_OK)
		return !collected && d.code == DF_EIO ? DF_EXIT_USAGE
						      : DF_EXIT_SYSTEM;
	return st.failed > before.failed || problems > 0 ? DF_EXIT_FINDINGS
							 : DF_EXIT_OK;
}

/* ---- table ------------------------------------------------------------------- */

static int cmd_version(int argc, char **argv)
{
	int maj, min, pat;

	(void)argc;
	(void)argv;
	zmq_version(&maj, &min, &pat);
	printf("dumpfleet %s\nlibzmq %d.%d.%d\n%s\nprotobuf-c %s\njansson %s\n",
	       DF_VERSION, maj, min, pat, MDB_VERSION_STRING,
	       protobuf_c_version(), JANSSON_VERSION);
	return DF_EXIT_OK;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "analyze", cmd_analyze, "analyse dump files locally" },
	{ "run", cmd_run, "broker + workers on this machine, then report" },
	{ "broker", cmd_broker, "serve jobs to workers (fleet)" },
	{ "worker", cmd_worker, "analyse jobs from a broker (fleet)" },
	{ "submit", cmd_submit, "queue files with a broker" },
	{ "status", status_cmd, "show a broker's queue, workers, quarantine" },
	{ "retry", status_cmd_retry, "re-queue quarantined jobs" },
	{ "keygen", secure_cmd_keygen, "make a CURVE key pair" },
	{ "report", cmd_report, "frequencies and top signatures" },
	{ "bucket", inspect_cmd_bucket, "one bucket: dumps, patterns, --explain" },
	{ "resign", inspect_cmd_resign, "signatures again under today's rules" },
	{ "patterns", inspect_cmd_patterns, "the pattern detectors" },
	{ "version", cmd_version, "versions of dumpfleet and its libraries" },
};

static void main_usage(FILE *out)
{
	fprintf(out, "Usage: dumpfleet [--version] [--help] [--config FILE] "
		     "[-v] [--log-level LEVEL]\n                 COMMAND [ARGS]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'dumpfleet COMMAND --help' describes one command.\n"
		     "Event logs (key=value lines on stderr): -v, "
		     "--log-level LEVEL\n(before the command, or after "
		     "broker and worker) or DUMPFLEET_LOG=LEVEL.\n"
		     "Options can be set in --config FILE, else in "
		     "$DUMPFLEET_CONFIG,\nelse in " CONFIG_DEFAULT_PATH
		     " ([COMMAND] or [common]\nsections, key = value); "
		     "the command line wins.\n");
}

static int run_command(int argc, char **argv)
{
	log_setup("dumpfleet", log_level_parse(getenv("DUMPFLEET_LOG")));
	if (hash_global_init() != DF_OK) {
		fprintf(stderr, "dumpfleet: cannot initialise libsodium\n");
		return DF_EXIT_SYSTEM;
	}
	if (argc < 2) {
		main_usage(stderr);
		return DF_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		main_usage(stdout);
		return DF_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return cmd_version(0, NULL);
	/* Logging options may also come before the command. */
	while (argc > 2 && (strcmp(argv[1], "-v") == 0 ||
			    strcmp(argv[1], "--verbose") == 0 ||
			    strcmp(argv[1], "--log-level") == 0)) {
		bool level = strcmp(argv[1], "--log-level") == 0;

		if (take_log_option(level ? OPT_LOG_LEVEL : 'v', argv[2]) < 0) {
			fprintf(stderr, "dumpfleet: invalid log level '%s'\n",
				argv[2]);
			return DF_EXIT_USAGE;
		}
		argc -= level ? 2 : 1;
		argv += level ? 2 : 1;
	}
	if (argc < 2) {
		main_usage(stderr);
		return DF_EXIT_USAGE;
	}
	install_signals();
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "dumpfleet: '%s' is not a command\n", argv[1]);
	main_usage(stderr);
	return DF_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct config_argv *ca = NULL;
	struct diag d;

	diag_init(&d);
	if (config_argv_build(&ca, argc, argv, getenv("DUMPFLEET_CONFIG"),
			      CONFIG_DEFAULT_PATH, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet: %s\n", d.msg);
		return d.code == DF_EUSAGE ? DF_EXIT_USAGE : DF_EXIT_SYSTEM;
	}
	int rc = run_command(config_argv_count(ca), config_argv_vector(ca));

	config_argv_destroy(&ca);
	return rc;
}
