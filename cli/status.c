#include "status.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client.h"
#include "df.h"
#include "diag.h"
#include "secure.h"
#include "wire.h"

#define STATUS_TIMEOUT_MS 5000
#define RETRY_MAX_IDS 10000

typedef Dumpfleet__V1__StatusReply status_reply;

static int usage(const char *cmd, const char *msg)
{
	fprintf(stderr, "dumpfleet %s: %s\nTry 'dumpfleet %s --help'.\n", cmd,
		msg, cmd);
	return DF_EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);

	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

/* Options every command here shares. */
struct common {
	const char *ep;
	unsigned long long timeout_ms;
	struct secure_opts so;
};

/* 1: taken, 0: not ours, -1: bad value. */
static int take_common(struct common *c, int opt, const char *arg)
{
	uint64_t v;

	if (secure_take(&c->so, opt, arg) != 0)
		return 1;
	if (opt == 'B') {
		c->ep = arg;
		return 1;
	}
	if (opt == 'T') {
		if (!parse_u64(arg, 86400000, &v) || v == 0)
			return -1;
		c->timeout_ms = v;
		return 1;
	}
	return 0;
}

/* Connect LINK (ctx made here) for CMD; a DF_EXIT_* code. */
static int link_open(const struct common *c, const char *cmd,
		     struct client_link *link, struct curve_client *keys)
{
	if (c->ep == NULL)
		return usage(cmd, "--broker ENDPOINT is required");
	link->endpoint = c->ep;
	int status = secure_peer_setup(&c->so, cmd, c->ep, keys, &link->curve);

	if (status != DF_EXIT_OK)
		return status;
	link->ctx = zmq_ctx_new();
	return link->ctx != NULL ? DF_EXIT_OK : DF_EXIT_SYSTEM;
}

/* Text of a path or reason from the store: control bytes shown as '?'. */
static void print_clean(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s[i] != '\0' && i < max; i++)
		fputc((unsigned char)s[i] < 32 || s[i] == 127 ? '?' : s[i],
		      out);
}

static double per_second(const status_reply *r)
{
	return r->rate_window_ms > 0 ? (double)r->done_last_minute * 1000.0 /
					       (double)r->rate_window_ms
				     : 0.0;
}

static void print_text(const status_reply *r)
{
	printf("queued   %llu\nrunning  %llu\ndone     %llu\nfailed   %llu\n"
	       "slots    %u\n",
	       (unsigned long long)r->queued, (unsigned long long)r->leased,
	       (unsigned long long)r->done, (unsigned long long)r->failed,
	       r->workers);
	if (r->detailed)
		printf("quarantined %llu\n",
		       (unsigned long long)r->quarantined);
	printf("throughput %.2f/s (%llu done in the last %.1f s)\n",
	       per_second(r), (unsigned long long)r->done_last_minute,
	       (double)r->rate_window_ms / 1000.0);
	printf("expired  %llu leases\n", (unsigned long long)r->leases_expired);
	if (r->n_worker_info > 0)
		printf("\n%-32s %5s %7s %9s %10s\n", "worker", "slots",
		       "running", "jobs done", "last heard");
	for (size_t i = 0; i < r->n_worker_info; i++) {
		const Dumpfleet__V1__WorkerInfo *w = r->worker_info[i];

		print_clean(stdout, w->name, 32);
		printf("%*s %5u %7u %9llu %8.1fs\n",
		       (int)(strlen(w->name) < 32 ? 32 - strlen(w->name) : 0),
		       "", w->slots, w->running,
		       (unsigned long long)w->jobs_done, w->idle_ms / 1000.0);
	}
	if (r->n_quarantine > 0)
		printf("\nquarantined jobs (job, attempts, path: reason)\n");
	for (size_t i = 0; i < r->n_quarantine; i++) {
		const Dumpfleet__V1__QuarantinedJob *q = r->quarantine[i];

		printf("%llu %u ", (unsigned long long)q->job_id, q->attempts);
		print_clean(stdout, q->path, 4096);
		fputs(": ", stdout);
		print_clean(stdout, q->reason, 1024);
		fputc('\n', stdout);
	}
	if (r->quarantined > r->n_quarantine)
		printf("(%llu more)\n", (unsigned long long)(r->quarantined -
							     r->n_quarantine));
}

/* A JSON string of S; bytes that are not UTF-8 become '?'. */
static json_t *text_json(const char *s)
{
	json_t *j = json_string(s);

	if (j != NULL)
		return j;
	char *copy = strdup(s);

	if (copy == NULL)
		return json_null();
	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 128)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *workers_json(const status_reply *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->n_worker_info; i++) {
		const Dumpfleet__V1__WorkerInfo *w = r->worker_info[i];

		json_array_append_new(
			a, json_pack("{s:o, s:I, s:I, s:I, s:I}", "name",
				     text_json(w->name), "slots", (json_int_t)w->slots,
				     "running", (json_int_t)w->running,
				     "jobs_done", (json_int_t)w->jobs_done,
				     "idle_ms", (json_int_t)w->idle_ms));
	}
	return a;
}

static json_t *quarantine_json(const status_reply *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->n_quarantine; i++) {
		const Dumpfleet__V1__QuarantinedJob *q = r->quarantine[i];

		json_array_append_new(
			a, json_pack("{s:I, s:o, s:o, s:I}", "job_id",
				     (json_int_t)q->job_id, "path",
				     text_json(q->path), "reason",
				     text_json(q->reason), "attempts",
				     (json_int_t)q->attempts));
	}
	return a;
}

static void print_json(const status_reply *r)
{
	json_t *o = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:o}", "queued",
		(json_int_t)r->queued, "running", (json_int_t)r->leased, "done",
		(json_int_t)r->done, "failed", (json_int_t)r->failed, "slots",
		(json_int_t)r->workers, "done_last_minute",
		(json_int_t)r->done_last_minute, "window_ms",
		(json_int_t)r->rate_window_ms, "per_second", per_second(r),
		"leases_expired", (json_int_t)r->leases_expired, "workers",
		workers_json(r));

	if (o != NULL && r->detailed) {
		json_object_set_new(o, "quarantined",
				    json_integer((json_int_t)r->quarantined));
		json_object_set_new(o, "quarantine", quarantine_json(r));
	}
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(o);
}

static const char status_help[] =
	"Usage: dumpfleet status --broker ENDPOINT [--json] [--timeout-ms N]\n"
	"Show the broker's queue by state, its workers (slots, jobs running,\n"
	"jobs done, last heard), jobs done per second over the last minute\n"
	"and the quarantined jobs with their reasons.\n\n"
	"  -B, --broker ENDPOINT  the broker\n"
	"  -j, --json             one JSON object\n"
	"      --timeout-ms N     longest wait for the answer (default 5000)\n"
	SECURE_PEER_HELP
	"  -h, --help             show this help\n";

int status_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		SECURE_PEER_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct common c = { NULL, STATUS_TIMEOUT_MS, { 0 } };
	struct client_link link = { NULL, NULL, NULL };
	struct curve_client keys;
	bool json = false;
	int opt, taken;

	secure_opts_init(&c.so);
	while ((opt = getopt_long(argc, argv, "B:jh", opts, NULL)) != -1) {
		if ((taken = take_common(&c, opt, optarg)) < 0)
			return usage("status", "invalid --timeout-ms");
		else if (taken > 0)
			continue;
		else if (opt == 'j')
			json = true;
		else if (opt == 'h')
			return fputs(status_help, stdout), DF_EXIT_OK;
		else
			return usage("status", "invalid option");
	}
	if (optind < argc)
		return usage("status", "unexpected argument");
	int status = link_open(&c, "status", &link, &keys);

	if (status != DF_EXIT_OK)
		return status;
	wire_env *rep = NULL;
	struct diag d;

	diag_init(&d);
	int rc = client_status_full(&link, true, (uint32_t)c.timeout_ms, &rep,
				    &d);

	zmq_ctx_term(link.ctx);
	memset(&keys, 0, sizeof(keys));
	if (rc != DF_OK) {
		fprintf(stderr, "dumpfleet status: %s\n", d.msg);
		return DF_EXIT_SYSTEM;
	}
	if (json)
		print_json(rep->status_reply);
	else
		print_text(rep->status_reply);
	wire_env_free(rep);
	return DF_EXIT_OK;
}

static const char retry_help[] =
	"Usage: dumpfleet retry --broker ENDPOINT (--all | JOB-ID...)\n"
	"Put quarantined jobs back in the broker's queue; their attempts\n"
	"count from zero again. Other jobs are left alone (skipped).\n\n"
	"  -B, --broker ENDPOINT  the broker\n"
	"  -a, --all              every quarantined job\n"
	"  -j, --json             the counts as one JSON object\n"
	"      --timeout-ms N     longest wait for the answer (default 5000)\n"
	SECURE_PEER_HELP
	"  -h, --help             show this help\n";

static int retry_ids(char **args, int n, uint64_t *ids)
{
	if (n > RETRY_MAX_IDS)
		return usage("retry", "more than 10000 JOB-IDs");
	for (int i = 0; i < n; i++)
		if (!parse_u64(args[i], UINT64_MAX, &ids[i]) || ids[i] == 0)
			return usage("retry", "a JOB-ID is a positive number");
	return DF_EXIT_OK;
}

int status_cmd_retry(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'B' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		SECURE_PEER_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct common c = { NULL, STATUS_TIMEOUT_MS, { 0 } };
	struct client_link link = { NULL, NULL, NULL };
	struct curve_client keys;
	bool all = false, json = false;
	int opt, taken;

	secure_opts_init(&c.so);
	while ((opt = getopt_long(argc, argv, "B:ajh", opts, NULL)) != -1) {
		if ((taken = take_common(&c, opt, optarg)) < 0)
			return usage("retry", "invalid --timeout-ms");
		else if (taken > 0)
			continue;
		else if (opt == 'a')
			all = true;
		else if (opt == 'j')
			json = true;
		else if (opt == 'h')
			return fputs(retry_help, stdout), DF_EXIT_OK;
		else
			return usage("retry", "invalid option");
	}
	int n = argc - optind;

	if (all == (n > 0))
		return usage("retry", "give either --all or JOB-IDs");
	uint64_t *ids = calloc(n > 0 ? (size_t)n : 1, sizeof(*ids));

	if (ids == NULL)
		return DF_EXIT_SYSTEM;
	int status = retry_ids(argv + optind, n, ids);

	if (status == DF_EXIT_OK)
		status = link_open(&c, "retry", &link, &keys);
	if (status != DF_EXIT_OK) {
		free(ids);
		return status;
	}
	struct client_retried r;
	struct diag d;

	diag_init(&d);
	int rc = client_retry(&link, all, ids, (size_t)n, &r,
			      (uint32_t)c.timeout_ms, &d);

	free(ids);
	zmq_ctx_term(link.ctx);
	memset(&keys, 0, sizeof(keys));
	if (rc != DF_OK) {
		fprintf(stderr, "dumpfleet retry: %s\n", d.msg);
		return DF_EXIT_SYSTEM;
	}
	if (json)
		printf("{\"requeued\":%u,\"skipped\":%u}\n", r.requeued,
		       r.skipped);
	else
		printf("requeued %u\nskipped  %u\n", r.requeued, r.skipped);
	return DF_EXIT_OK;
}
