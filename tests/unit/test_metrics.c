/*
 * The Prometheus exposition: its text format line by line, the latency
 * histogram, and the HTTP server scraped over a plain socket.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "df.h"
#include "diag.h"
#include "metrics.h"
#include "strbuf.h"

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || (!first && c >= '0' && c <= '9');
}

/* Length of the metric name at the start of S (0: none). */
static size_t name_len(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && name_char(s[n], n == 0))
		n++;
	return n;
}

/* The declared TYPE of a sample named NAME (a histogram's _bucket etc.). */
static const char *type_of(char types[][2][64], size_t ntypes,
			   const char *name, size_t len)
{
	static const char *const suffixes[] = { "", "_bucket", "_sum",
						"_count" };

	for (size_t i = 0; i < ntypes; i++)
		for (size_t k = 0; k < ARRAY_SIZE(suffixes); k++) {
			size_t bl = strlen(types[i][0]);

			if (bl + strlen(suffixes[k]) == len &&
			    strncmp(name, types[i][0], bl) == 0 &&
			    strncmp(name + bl, suffixes[k], len - bl) == 0)
				return types[i][1];
		}
	return NULL;
}

/*
 * Check TEXT line by line against the text format 0.0.4: HELP and TYPE
 * comments, then samples `name{label="v",...} value` of a declared type;
 * a histogram's buckets are cumulative and its +Inf bucket equals its
 * count. Returns the number of samples.
 */
static size_t check_format(const char *text)
{
	char types[32][2][64];
	size_t ntypes = 0, samples = 0;
	double last_bucket = -1, inf = -1;
	char line[512];

	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl); /* every line ends with \n */
		assert_true((size_t)(nl - p) < sizeof(line));
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_true(name_len(line + 7) > 0);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t n = name_len(line + 7);

			assert_true(n > 0 && n < 64 && ntypes < 32);
			memcpy(types[ntypes][0], line + 7, n);
			types[ntypes][0][n] = '\0';
			snprintf(types[ntypes][1], 64, "%s", line + 8 + n);
			assert_true(strcmp(types[ntypes][1], "gauge") == 0 ||
				    strcmp(types[ntypes][1], "counter") == 0 ||
				    strcmp(types[ntypes][1], "histogram") == 0);
			ntypes++;
			continue;
		}
		size_t n = name_len(line);
		const char *rest = line + n;

		assert_true(n > 0);
		const char *type = type_of(types, ntypes, line, n);

		if (type == NULL)
			fail_msg("sample before its TYPE: %s", line);
		if (*rest == '{') {
			const char *close = strchr(rest, '}');

			assert_non_null(close);
			assert_non_null(strchr(rest, '='));
			assert_int_equal(rest[strcspn(rest, "\"")], '"');
			rest = close + 1;
		}
		assert_int_equal(*rest, ' ');
		char *end;
		double v = strtod(rest + 1, &end);

		assert_true(end != rest + 1 && *end == '\0');
		assert_true(v >= 0);
		if (strstr(line, "_bucket{") != NULL) {
			assert_true(v >= last_bucket);
			last_bucket = v;
			if (strstr(line, "le=\"+Inf\"") != NULL)
				inf = v;
		}
		if (strncmp(line, "dumpfleet_store_commit_seconds_count ",
			    37) == 0)
			assert_true(v == inf);
		samples++;
	}
	assert_true(inf >= 0); /* the histogram was there */
	return samples;
}

static void test_metrics__text_format(void **state)
{
	(void)state;
	struct metrics_snapshot s;
	struct strbuf sb;

	memset(&s, 0, sizeof(s));
	s.queued = 3;
	s.leased = 2;
	s.done = 40;
	s.failed = 1;
	s.done_per_second = 12.5;
	s.slots = 4;
	s.workers = 2;
	s.content_requests = 9;
	s.content_bytes = 1234567;
	s.content_errors = 1;
	metrics_hist_observe(&s.commit, 0.0001);
	metrics_hist_observe(&s.commit, 0.003);
	metrics_hist_observe(&s.commit, 7.0);
	strbuf_init(&sb, 1 << 16);
	assert_int_equal(metrics_render(&s, &sb), DF_OK);
	assert_true(check_format(strbuf_str(&sb)) >= 20);
	const char *t = strbuf_str(&sb);

	assert_non_null(strstr(t, "\ndumpfleet_jobs{state=\"queued\"} 3\n"));
	assert_non_null(strstr(t, "\ndumpfleet_jobs{state=\"running\"} 2\n"));
	assert_non_null(strstr(t, "\ndumpfleet_queue_depth 3\n"));
	assert_non_null(strstr(t, "\ndumpfleet_worker_slots 4\n"));
	assert_non_null(strstr(t, "\ndumpfleet_jobs_done_per_second 12.5\n"));
	assert_non_null(strstr(t, "\ndumpfleet_content_requests_total 9\n"));
	assert_non_null(
		strstr(t, "\ndumpfleet_content_bytes_total 1234567\n"));
	assert_non_null(strstr(t, "\ndumpfleet_content_errors_total 1\n"));
	assert_non_null(strstr(
		t, "\ndumpfleet_store_commit_seconds_bucket{le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(
		t, "\ndumpfleet_store_commit_seconds_bucket{le=\"0.005\"} 2\n"));
	assert_non_null(strstr(
		t, "\ndumpfleet_store_commit_seconds_bucket{le=\"1\"} 2\n"));
	assert_non_null(strstr(
		t, "\ndumpfleet_store_commit_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "\ndumpfleet_store_commit_seconds_count 3\n"));
	strbuf_release(&sb);
}

static void test_metrics__bucket_bounds_are_inclusive(void **state)
{
	(void)state;
	struct metrics_hist h;

	memset(&h, 0, sizeof(h));
	metrics_hist_observe(&h, 0.0005);
	metrics_hist_observe(&h, 0.00051);
	metrics_hist_observe(&h, 1e9);
	assert_int_equal(h.bucket[0], 1);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[METRICS_BUCKETS - 1], 1);
	assert_int_equal(h.count, 3);
}

/* REQUEST to 127.0.0.1:PORT over a plain socket; the whole answer. */
static char *http(unsigned port, const char *request)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t r;

	assert_true(fd >= 0);
	assert_non_null(buf);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)),
			 (ssize_t)strlen(request));
	while (len + 1 < cap && (r = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return buf;
}

static void test_metrics__served_over_http(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	struct metrics_snapshot s;
	unsigned port = 0;
	struct diag d;

	diag_init(&d);
	assert_int_equal(metrics_start(&m, "127.0.0.1:0", &port, &d), DF_OK);
	assert_true(port > 0);
	memset(&s, 0, sizeof(s));
	s.queued = 7;
	metrics_publish(m, &s);
	char *r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");

	assert_true(strncmp(r, "HTTP/1.1 200", 12) == 0 ||
		    strncmp(r, "HTTP/1.0 200", 12) == 0);
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	char *body = strstr(r, "\r\n\r\n");

	assert_non_null(body);
	check_format(body + 4);
	assert_non_null(strstr(body, "\ndumpfleet_queue_depth 7\n"));
	free(r);
	/* The next scrape shows the next snapshot. */
	s.queued = 8;
	metrics_publish(m, &s);
	r = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "\ndumpfleet_queue_depth 8\n"));
	free(r);
	r = http(port, "GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, " 404 "));
	free(r);
	r = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	assert_non_null(strstr(r, " 405 "));
	free(r);
	metrics_stop(&m);
	assert_null(m);
}

static void test_metrics__bad_addresses(void **state)
{
	(void)state;
	struct metrics *m = NULL;
	unsigned port;
	struct diag d;

	diag_init(&d);
	assert_int_equal(metrics_start(&m, "9100", &port, &d), DF_EUSAGE);
	diag_init(&d);
	assert_int_equal(metrics_start(&m, "127.0.0.1:", &port, &d),
			 DF_EUSAGE);
	diag_init(&d);
	assert_int_equal(metrics_start(&m, "127.0.0.1:http", &port, &d),
			 DF_EUSAGE);
	assert_null(m);
	metrics_stop(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics__text_format),
		cmocka_unit_test(test_metrics__bucket_bounds_are_inclusive),
		cmocka_unit_test(test_metrics__served_over_http),
		cmocka_unit_test(test_metrics__bad_addresses),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
