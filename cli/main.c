/*
 * dumpfleet - the command-line front end.
 *
 * One executable, one table of subcommands. Primary output goes to stdout,
 * diagnostics to stderr. Exit codes: 0 ok, 1 findings or errors in the
 * data, 2 usage, 3 system error.
 */
#include <errno.h>
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
#include <unistd.h>
#include <zmq.h>

#include "analysis.h"
#include "analysis_json.h"
#include "analysis_text.h"
#include "broker.h"
#include "client.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "inspect.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "symbols.h"
#include "worker.h"

#define DEFAULT_STORE "dumpfleet-store"
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

/* Per-dump isolation options shared by `run` and `worker`. */
#define SANDBOX_HELP \
	"      --timeout SECONDS   per-dump wall-clock and CPU limit\n" \
	"                          (default 120)\n" \
	"      --memory MB         address space one analysis may add\n" \
	"                          (default 4096; 0: no limit)\n" \
	"      --no-sandbox        analyse in the worker's own process\n" \
	"                          (debugging: a parser crash ends it)\n"

enum { OPT_TIMEOUT = 0x100, OPT_MEMORY, OPT_NO_SANDBOX };

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
	"Usage: dumpfleet analyze [--json] [--symbols DIR]... FILE...\n"
	"Analyse crash dumps and debugger logs locally, without a store.\n\n"
	"  -j, --json         one JSON object per file (one per line)\n"
	"      --symbols DIR  Breakpad symbol store (DIR/NAME.pdb/ID/NAME.sym)\n"
	"                     naming frames; repeat to search several\n"
	"  -h, --help         show this help\n\n"
	"Exit status: 0 nothing found, 1 findings or errors in the data,\n"
	"2 usage error, 3 system error.\n";

static void print_analysis(struct analysis *a, const char *path, bool json)
{
	if (json) {
		json_t *j = analysis_to_json(a, path);

		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		analysis_print_text(stdout, a, path);
	}
}

static int analyze_files(char **files, int n, bool json, struct symstore *syms)
{
	int status = DF_EXIT_OK;

	for (int i = 0; i < n; i++) {
		struct analysis *a = NULL;

		if (analysis_run_file_with(&a, files[i], NULL, syms) != DF_OK) {
			fprintf(stderr, "dumpfleet analyze: out of memory\n");
			return DF_EXIT_SYSTEM;
		}
		print_analysis(a, files[i], json);
		if (a->errors.n > 0 || a->findings.n > 0)
			status = DF_EXIT_FINDINGS;
		analysis_destroy(&a);
	}
	return status;
}

static int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "symbols", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct symdirs sd = { { NULL }, 0 };
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
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
	struct symstore *syms = NULL;

	if (sd.n > 0 && (syms = symstore_new(sd.v, sd.n)) == NULL) {
		fprintf(stderr, "dumpfleet analyze: out of memory\n");
		return DF_EXIT_SYSTEM;
	}
	int status = analyze_files(argv + optind, argc - optind, json, syms);

	symstore_destroy(&syms);
	return status;
}

/* ---- report -------------------------------------------------------------- */

static unsigned term_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col >= 40)
		return ws.ws_col;
	return 100;
}

static int print_report(const char *dir, bool json, unsigned top)
{
	struct store *s = NULL;
	struct report *r = NULL;
	struct report_opts ro = { top };
	struct diag d;

	diag_init(&d);
	if (store_open(&s, dir, true, &d) != DF_OK ||
	    report_build(&r, s, &ro, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet: %s\n", d.msg);
		store_close(&s);
		return DF_EXIT_SYSTEM;
	}
	if (json)
		report_write_json(stdout, r);
	else
		report_write_text(stdout, r, term_width());
	int status = report_errors(r) > 0 ? DF_EXIT_FINDINGS : DF_EXIT_OK;

	report_destroy(&r);
	store_close(&s);
	return status;
}

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
	"Usage: dumpfleet report [--store DIR] [--format text|json] [--top N]\n"
	"Print bugcheck and pattern frequencies and the top stack signatures.\n\n"
	"  -s, --store DIR       the store (default: " DEFAULT_STORE ")\n"
	"  -f, --format FORMAT   text (default) or json\n"
	"  -n, --top N           buckets to list (default 10)\n"
	"  -h, --help            show this help\n";

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = DEFAULT_STORE;
	bool json = false;
	unsigned long top = REPORT_DEFAULT_TOP;
	int c;

	while ((c = getopt_long(argc, argv, "s:f:n:h", opts, NULL)) != -1) {
		if (c == 's')
			dir = optarg;
		else if (c == 'f' && parse_format(optarg, &json))
			continue;
		else if (c == 'n' && parse_uint(optarg, 100000, &top) && top)
			continue;
		else if (c == 'h')
			return fputs(report_help, stdout), DF_EXIT_OK;
		else
			return usage_error("report", "invalid option");
	}
	if (optind < argc)
		return usage_error("report", "unexpected argument");
	return print_report(dir, json, (unsigned)top);
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
	"                     [--timeout S] [--memory MB] [--no-sandbox] PATH...\n"
	"Start a broker and N workers on this machine, analyse every file\n"
	"under PATH, store the results and print the report.\n\n"
	"  -w, --workers N       worker slots (default: number of cores)\n"
	"  -s, --store DIR       the store (default: " DEFAULT_STORE ")\n"
	"  -b, --batch TAG       customer or case tag for these jobs\n"
	"  -f, --format FORMAT   report as text (default) or json\n"
	"      --symbols DIR     Breakpad symbol store naming frames\n"
	"                        (DIR/NAME.pdb/ID/NAME.sym); repeatable\n"
	SANDBOX_HELP
	"  -h, --help            show this help\n";

struct run_cfg {
	const char *store;
	const char *batch;
	unsigned long workers;
	bool json;
	struct symdirs syms;
	struct worker_opts wo;   /* the sandbox options */
};

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
	/* A PATH that cannot be read is a usage error; the store is not. */
	if (client_collect(&pl, paths, npaths, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet run: %s\n", d.msg);
		pathlist_release(&pl);
		zmq_ctx_term(ctx);
		return d.code == DF_EIO ? DF_EXIT_USAGE : DF_EXIT_SYSTEM;
	}
	if (store_open(&s, cfg->store, false, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet run: %s\n", d.msg);
		pathlist_release(&pl);
		zmq_ctx_term(ctx);
		return DF_EXIT_SYSTEM;
	}
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

	if (workers_up &&
	    client_submit(ctx, bd.endpoint, cfg->batch, &pl, &accepted,
			  DEFAULT_TIMEOUT_MS, &d) == DF_OK &&
	    client_wait(ctx, bd.endpoint, isatty(STDERR_FILENO),
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
	pathlist_release(&pl);
	if (status != DF_EXIT_OK || interrupted)
		return interrupted ? DF_EXIT_SYSTEM : status;
	fprintf(stderr, "dumpfleet run: %zu files submitted, %zu workers\n",
		accepted, (size_t)wo.slots);
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
		{ NULL, 0, NULL, 0 },
	};
	struct run_cfg cfg = { .store = DEFAULT_STORE, .batch = "" };
	int c;

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

static const char broker_help[] =
	"Usage: dumpfleet broker --bind ENDPOINT [--store DIR]\n"
	"                        [--heartbeat-ms N] [--lease-ms N]\n"
	"                        [--max-attempts K] [--drain-ms N]\n"
	"Serve jobs to workers and record their results in the store.\n"
	"Prints 'listening on ENDPOINT' once bound (a '*' port resolved).\n\n"
	"  -B, --bind ENDPOINT    e.g. tcp://127.0.0.1:5555 or tcp://*:5555\n"
	"  -s, --store DIR        the store (default: " DEFAULT_STORE ")\n"
	"      --heartbeat-ms N   heartbeat interval (default 1000)\n"
	"      --lease-ms N       job lease (default 600000)\n"
	"      --max-attempts K   quarantine a job after K failed attempts\n"
	"                         (crashes, limits, lost workers; default 3)\n"
	"      --drain-ms N       on SIGTERM, wait this long for leased jobs\n"
	"                         (default 30000; the rest are queued again)\n"
	"  -h, --help             show this help\n";

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
		{ "max-attempts", required_argument, NULL, 'A' },
		{ "drain-ms", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct broker_opts bo;
	const char *dir = DEFAULT_STORE;
	unsigned long v;
	int c;

	broker_opts_init(&bo);
	bo.drain_ms = DEFAULT_DRAIN_MS;
	while ((c = getopt_long(argc, argv, "B:s:h", opts, NULL)) != -1) {
		if (c == 'B')
			bo.endpoint = optarg;
		else if (c == 's')
			dir = optarg;
		else if (c == 'H' && parse_uint(optarg, 3600000, &v) && v)
			bo.heartbeat_ms = (uint32_t)v;
		else if (c == 'L' && parse_uint(optarg, 86400000, &v) && v)
			bo.lease_ms = v;
		else if (c == 'A' && parse_uint(optarg, 1000, &v) && v)
			bo.max_attempts = (uint32_t)v;
		else if (c == 'D' && parse_uint(optarg, 86400000, &v))
			bo.drain_ms = v;
		else if (c == 'h')
			return fputs(broker_help, stdout), DF_EXIT_OK;
		else
			return usage_error("broker", "invalid option");
	}
	if (bo.endpoint == NULL || optind < argc)
		return usage_error("broker", "--bind ENDPOINT is required");
	struct store *s = NULL;
	struct diag d;

	diag_init(&d);
	if (store_open(&s, dir, false, &d) != DF_OK) {
		fprintf(stderr, "dumpfleet broker: %s\n", d.msg);
		return DF_EXIT_SYSTEM;
	}
	void *ctx = zmq_ctx_new();

	bo.zmq_ctx = ctx;
	bo.store = s;
	bo.stop = &stop_flag;
	bo.on_bound = print_bound;
	int rc = broker_run(&bo);

	zmq_ctx_term(ctx);
	store_close(&s);
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

/* ---- worker -------------------------------------------------------------- */

static const char worker_help[] =
	"Usage: dumpfleet worker --connect ENDPOINT [--slots N]\n"
	"                        [--symbols DIR]... [--timeout S]\n"
	"                        [--memory MB] [--no-sandbox]\n"
	"Analyse jobs from a broker until stopped (SIGTERM).\n\n"
	"  -c, --connect ENDPOINT  the broker, e.g. tcp://broker:5555\n"
	"  -n, --slots N           parallel analyses (default: cores)\n"
	"      --heartbeat-ms N    heartbeat interval (default 1000)\n"
	"      --symbols DIR       Breakpad symbol store naming frames\n"
	"                          (DIR/NAME.pdb/ID/NAME.sym); repeatable\n"
	SANDBOX_HELP
	"  -h, --help              show this help\n";

static int cmd_worker(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "slots", required_argument, NULL, 'n' },
		{ "heartbeat-ms", required_argument, NULL, 'H' },
		{ "symbols", required_argument, NULL, 'S' },
		SANDBOX_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct worker_opts wo;
	struct symdirs sd = { { NULL }, 0 };
	unsigned long v;
	char name[128], host[64] = "host";
	int c;

	worker_opts_init(&wo);
	while ((c = getopt_long(argc, argv, "c:n:h", opts, NULL)) != -1) {
		if (sandbox_option(&wo, c, optarg))
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
		else if (c == 'h')
			return fputs(worker_help, stdout), DF_EXIT_OK;
		else
			return usage_error("worker", "invalid option");
	}
	if (wo.endpoint == NULL || optind < argc)
		return usage_error("worker", "--connect ENDPOINT is required");
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "%s:%ld", host, (long)getpid());
	wo.name = name;
	wo.symbol_dirs = sd.v;
	wo.nsymbol_dirs = sd.n;
	wo.zmq_ctx = zmq_ctx_new();
	wo.stop = &stop_flag;
	int rc = worker_run(&wo);

	zmq_ctx_term(wo.zmq_ctx);
	return rc == DF_OK ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

/* ---- submit and status ------------------------------------------------------- */

static const char submit_help[] =
	"Usage: dumpfleet submit --broker ENDPOINT [--batch TAG] [--wait]\n"
	"                        PATH...\n"
	"Queue every file under PATH with a broker. The files must be\n"
	"readable at the same path by the workers (a shared filesystem).\n\n"
	"  -B, --broker ENDPOINT  the broker\n"
	"  -b, --batch TAG        customer or case tag\n"
	"  -w, --wait             wait until the queue is empty\n"
	"  -h, --help             show this help\n";

static int cmd_submit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'B' },
		{ "batch", required_argument, NULL, 'b' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ep = NULL, *batch = "";
	bool wait = false, collected = false;
	int c;

	while ((c = getopt_long(argc, argv, "B:b:wh", opts, NULL)) != -1) {
		if (c == 'B')
			ep = optarg;
		else if (c == 'b')
			batch = optarg;
		else if (c == 'w')
			wait = true;
		else if (c == 'h')
			return fputs(submit_help, stdout), DF_EXIT_OK;
		else
			return usage_error("submit", "invalid option");
	}
	if (ep == NULL || optind >= argc)
		return usage_error("submit", "--broker and a PATH are required");
	struct pathlist pl = { 0 };
	struct client_status st = { 0 }, before = { 0 };
	size_t accepted = 0;
	struct diag d;
	void *ctx = zmq_ctx_new();

	diag_init(&d);
	int rc = client_collect(&pl, argv + optind, (size_t)(argc - optind), &d);

	collected = rc == DF_OK;
	/* The broker counts failures since it started: take a baseline. */
	if (rc == DF_OK && wait)
		rc = client_status(ctx, ep, &before, DEFAULT_TIMEOUT_MS, &d);
	if (rc == DF_OK)
		rc = client_submit(ctx, ep, batch, &pl, &accepted,
				   DEFAULT_TIMEOUT_MS, &d);
	if (rc == DF_OK)
		printf("submitted %zu of %zu files\n", accepted, pl.n);
	if (rc == DF_OK && wait)
		rc = client_wait(ctx, ep, isatty(STDERR_FILENO),
				 DEFAULT_TIMEOUT_MS, &stop_flag, &st, &d);
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
	return st.failed > before.failed ? DF_EXIT_FINDINGS : DF_EXIT_OK;
}

static const char status_help[] =
	"Usage: dumpfleet status --broker ENDPOINT\n"
	"Show the broker's queue: queued, running, done, failed, worker slots.\n";

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ep = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "B:h", opts, NULL)) != -1) {
		if (c == 'B')
			ep = optarg;
		else if (c == 'h')
			return fputs(status_help, stdout), DF_EXIT_OK;
		else
			return usage_error("status", "invalid option");
	}
	if (ep == NULL)
		return usage_error("status", "--broker ENDPOINT is required");
	struct client_status st;
	struct diag d;
	void *ctx = zmq_ctx_new();

	diag_init(&d);
	int rc = client_status(ctx, ep, &st, 5000, &d);

	zmq_ctx_term(ctx);
	if (rc != DF_OK) {
		fprintf(stderr, "dumpfleet status: %s\n", d.msg);
		return DF_EXIT_SYSTEM;
	}
	printf("queued   %llu\nrunning  %llu\ndone     %llu\nfailed   %llu\n"
	       "slots    %u\n",
	       (unsigned long long)st.queued, (unsigned long long)st.leased,
	       (unsigned long long)st.done, (unsigned long long)st.failed,
	       st.workers);
	return DF_EXIT_OK;
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
	{ "status", cmd_status, "show a broker's queue" },
	{ "report", cmd_report, "frequencies and top signatures" },
	{ "bucket", inspect_cmd_bucket, "one bucket: dumps, patterns, --explain" },
	{ "resign", inspect_cmd_resign, "signatures again under today's rules" },
	{ "patterns", inspect_cmd_patterns, "the pattern detectors" },
	{ "version", cmd_version, "versions of dumpfleet and its libraries" },
};

static void main_usage(FILE *out)
{
	fprintf(out, "Usage: dumpfleet [--version] [--help] COMMAND [ARGS]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\n'dumpfleet COMMAND --help' describes one command.\n"
		     "Set DUMPFLEET_LOG=info or debug for event logs on "
		     "stderr.\n");
}

int main(int argc, char **argv)
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
	install_signals();
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "dumpfleet: '%s' is not a command\n", argv[1]);
	main_usage(stderr);
	return DF_EXIT_USAGE;
}
