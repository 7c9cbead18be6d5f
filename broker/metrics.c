#include "metrics.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "df.h"
#include "diag.h"
#include "log.h"
#include "strbuf.h"

#define METRICS_MAX_BODY (64u << 10)
#define METRICS_MAX_CONNECTIONS 16
#define METRICS_TIMEOUT_S 10
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Upper bounds of the commit latency buckets, seconds; +Inf follows. */
static const double bucket_le[METRICS_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05,   0.1,   0.25,   0.5,   1.0,
};

struct metrics {
	struct MHD_Daemon *daemon;
	pthread_mutex_t mu;
	struct metrics_snapshot snap; /* guarded by mu */
};

void metrics_hist_observe(struct metrics_hist *h, double seconds)
{
	size_t i = 0;

	while (i < ARRAY_SIZE(bucket_le) && seconds > bucket_le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

/* ---- rendering ------------------------------------------------------- */

enum kind { K_U64, K_U32, K_DBL };

/* One sample line; rows of one name follow each other. */
static const struct row {
	const char *name;
	const char *type;
	const char *help;
	const char *labels; /* "" or {k="v"} */
	size_t off;
	enum kind kind;
} rows[] = {
	{ "dumpfleet_jobs", "gauge", "Jobs the broker holds, by state.",
	  "{state=\"queued\"}", offsetof(struct metrics_snapshot, queued),
	  K_U64 },
	{ "dumpfleet_jobs", NULL, NULL, "{state=\"running\"}",
	  offsetof(struct metrics_snapshot, leased), K_U64 },
	{ "dumpfleet_jobs", NULL, NULL, "{state=\"done\"}",
	  offsetof(struct metrics_snapshot, done), K_U64 },
	{ "dumpfleet_jobs", NULL, NULL, "{state=\"failed\"}",
	  offsetof(struct metrics_snapshot, failed), K_U64 },
	{ "dumpfleet_queue_depth", "gauge", "Jobs waiting for a worker.", "",
	  offsetof(struct metrics_snapshot, queued), K_U64 },
	{ "dumpfleet_jobs_done_total", "counter",
	  "Jobs done since the broker started.", "",
	  offsetof(struct metrics_snapshot, done_total), K_U64 },
	{ "dumpfleet_jobs_failed_total", "counter",
	  "Jobs failed or quarantined since the broker started.", "",
	  offsetof(struct metrics_snapshot, failed_total), K_U64 },
	{ "dumpfleet_leases_expired_total", "counter",
	  "Job leases that expired since the broker started.", "",
	  offsetof(struct metrics_snapshot, leases_expired), K_U64 },
	{ "dumpfleet_worker_slots", "gauge", "Connected worker slots.", "",
	  offsetof(struct metrics_snapshot, slots), K_U32 },
	{ "dumpfleet_workers", "gauge", "Connected worker processes.", "",
	  offsetof(struct metrics_snapshot, workers), K_U32 },
	{ "dumpfleet_jobs_done_per_second", "gauge",
	  "Jobs done per second over the last minute.", "",
	  offsetof(struct metrics_snapshot, done_per_second), K_DBL },
	{ "dumpfleet_content_requests_total", "counter",
	  "Content requests the content service answered.", "",
	  offsetof(struct metrics_snapshot, content_requests), K_U64 },
	{ "dumpfleet_content_bytes_total", "counter",
	  "File bytes the content service sent to workers.", "",
	  offsetof(struct metrics_snapshot, content_bytes), K_U64 },
	{ "dumpfleet_content_errors_total", "counter",
	  "Content requests answered with an error.", "",
	  offsetof(struct metrics_snapshot, content_errors), K_U64 },
};

static int render_row(const struct metrics_snapshot *s, const struct row *r,
		      struct strbuf *out)
{
	const char *p = (const char *)s + r->off;
	int rc = DF_OK;

	if (r->help != NULL)
		rc = strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", r->name,
				 r->help, r->name, r->type);
	if (rc != DF_OK)
		return rc;
	switch (r->kind) {
	case K_U64: {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		return strbuf_addf(out, "%s%s %llu\n", r->name, r->labels,
				   (unsigned long long)v);
	}
	case K_U32: {
		uint32_t v;

		memcpy(&v, p, sizeof(v));
		return strbuf_addf(out, "%s%s %u\n", r->name, r->labels, v);
	}
	default: {
		double v;

		memcpy(&v, p, sizeof(v));
		return strbuf_addf(out, "%s%s %.6g\n", r->name, r->labels, v);
	}
	}
}

static int render_hist(const char *name, const char *help,
		       const struct metrics_hist *h, struct strbuf *out)
{
	uint64_t cum = 0;
	int rc = strbuf_addf(out, "# HELP %s %s\n# TYPE %s histogram\n", name,
			     help, name);

	for (size_t i = 0; rc == DF_OK && i < METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		if (i < ARRAY_SIZE(bucket_le))
			rc = strbuf_addf(out, "%s_bucket{le=\"%g\"} %llu\n",
					 name, bucket_le[i],
					 (unsigned long long)cum);
		else
			rc = strbuf_addf(out, "%s_bucket{le=\"+Inf\"} %llu\n",
					 name, (unsigned long long)cum);
	}
	if (rc == DF_OK)
		rc = strbuf_addf(out, "%s_sum %.9g\n%s_count %llu\n", name,
				 h->sum, name, (unsigned long long)h->count);
	return rc;
}

int metrics_render(const struct metrics_snapshot *s, struct strbuf *out)
{
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < ARRAY_SIZE(rows); i++)
		rc = render_row(s, &rows[i], out);
	if (rc == DF_OK)
		rc = render_hist("dumpfleet_store_commit_seconds",
				 "Store write transactions (jobs and results).",
				 &s->commit, out);
	return rc;
}

/* ---- HTTP ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *body, size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct metrics *m = cls;
	struct metrics_snapshot s;
	struct strbuf sb;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n", 9,
			     "text/plain");
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "see /metrics\n", 13,
			     "text/plain");
	pthread_mutex_lock(&m->mu);
	s = m->snap;
	pthread_mutex_unlock(&m->mu);
	strbuf_init(&sb, METRICS_MAX_BODY);
	if (metrics_render(&s, &sb) != DF_OK) {
		strbuf_release(&sb);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0,
			     "text/plain");
	}
	enum MHD_Result rc = reply(c, MHD_HTTP_OK, strbuf_str(&sb), sb.len,
				   METRICS_CONTENT_TYPE);

	strbuf_release(&sb);
	return rc;
}

/* Split "HOST:PORT" (HOST may be "[v6]" or "*") and resolve it. */
static int resolve(const char *addr, struct addrinfo **res, struct diag *d)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	struct addrinfo hints;

	if (colon == NULL || colon == addr || colon[1] == '\0' ||
	    (size_t)(colon - addr) >= sizeof(host))
		return diag_fail(d, DF_EUSAGE, "'%.100s' is not ADDR:PORT",
				 addr);
	size_t n = (size_t)(colon - addr);

	if (addr[0] == '[' && addr[n - 1] == ']' && n > 2)
		snprintf(host, sizeof(host), "%.*s", (int)(n - 2), addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)n, addr);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, colon + 1,
			     &hints, res);

	if (rc != 0)
		return diag_fail(d, DF_EUSAGE, "cannot use '%.100s': %s", addr,
				 gai_strerror(rc));
	return DF_OK;
}

int metrics_start(struct metrics **out, const char *addr, unsigned *port_out,
		  struct diag *d)
{
	struct addrinfo *ai = NULL;
	int rc = resolve(addr, &ai, d);

	*out = NULL;
	if (rc != DF_OK)
		return rc;
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		freeaddrinfo(ai);
		return diag_fail(d, DF_ENOMEM, "no memory for metrics");
	}
	pthread_mutex_init(&m->mu, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
			 (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);

	m->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
		ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)METRICS_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)METRICS_TIMEOUT_S, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (m->daemon == NULL) {
		pthread_mutex_destroy(&m->mu);
		free(m);
		return diag_fail(d, DF_EIO, "cannot serve metrics on '%.100s'",
				 addr);
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);

	*port_out = info != NULL ? info->port : 0;
	*out = m;
	return DF_OK;
}

void metrics_publish(struct metrics *m, const struct metrics_snapshot *s)
{
	pthread_mutex_lock(&m->mu);
	m->snap = *s;
	pthread_mutex_unlock(&m->mu);
}

void metrics_stop(struct metrics **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	MHD_stop_daemon((*mp)->daemon);
	pthread_mutex_destroy(&(*mp)->mu);
	free(*mp);
	*mp = NULL;
}
