/*
 * Unit tests for reports/html.c: charts have one bar per row, every string
 * from the data is escaped and valid UTF-8, the markup holds only the
 * elements and attributes the writer makes, and the CSP hashes match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "df.h"
#include "diag.h"
#include "html.h"
#include "testreport.h"

static char *render(const json_t *doc, int want_rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct diag d;

	assert_non_null(f);
	diag_init(&d);
	assert_int_equal(report_html_write(f, doc, &d), want_rc);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_report_html__one_bar_per_bugcheck(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *html = render(doc, DF_OK);

	assert_int_equal(count(html, "<rect class=\"bar\""), TR_BUGCHECKS);
	assert_int_equal(count(html, "<rect class=\"baseline\""),
			 TR_BASELINES);
	assert_int_equal(count(html, "<rect class=\"seg "), TR_SEGMENTS);
	assert_int_equal(count(html, "<polyline class=\"spark\""), TR_TOP);
	assert_int_equal(count(html, "<svg id=\"bugcheck-chart\""), 1);
	assert_int_equal(count(html, "<svg id=\"trend-chart\""), 1);
	/* one table row per bugcheck besides the chart */
	const char *t = strstr(html, "id=\"bugcheck-table\"");

	assert_non_null(t);
	const char *end = strstr(t, "</table>");

	size_t rows = 0;
	for (const char *p = strstr(t, "<tr>"); p != NULL && p < end;
	     p = strstr(p + 1, "<tr>"))
		rows++;
	assert_int_equal(rows, 1 + TR_BUGCHECKS);
	free(html);
	json_decref(doc);
}

static void test_report_html__bars_follow_the_data(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	json_t *bcs = json_object_get(doc, "bugchecks");

	/* two more rows, one without a baseline: two more bars, one more
	 * baseline bar */
	json_array_append_new(bcs, json_deep_copy(json_array_get(bcs, 0)));
	json_array_append_new(bcs, json_deep_copy(json_array_get(bcs, 4)));
	char *html = render(doc, DF_OK);

	assert_int_equal(count(html, "<rect class=\"bar\""), TR_BUGCHECKS + 2);
	assert_int_equal(count(html, "<rect class=\"baseline\""),
			 TR_BASELINES + 1);
	free(html);
	json_decref(doc);
}

static void test_report_html__hostile_names_are_text(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *html = render(doc, DF_OK);

	/* our one script element and nothing else that runs or loads */
	assert_int_equal(count(html, "<script"), 1);
	assert_int_equal(count(html, "<img"), 0);
	assert_null(strstr(html, "\" onmouseover"));
	assert_non_null(strstr(html, "&lt;script&gt;document.title=&#39;"
				     "pwned&#39;&lt;/script&gt;"));
	assert_non_null(strstr(html, "x/&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(html, "&quot; onmouseover=&quot;alert(1)"));
	/* controls are shown, never sent: no ESC, BEL or CR in the page */
	assert_null(strchr(html, '\x1b'));
	assert_null(strchr(html, '\x07'));
	assert_null(strchr(html, '\r'));
	assert_non_null(strstr(html, "red\\x1b[31m alarm\\x07"));
	assert_non_null(strstr(html, "evil\\u202etxt.exe"));
	assert_null(strstr(html, "\xe2\x80\xae"));
	free(html);
	json_decref(doc);
}

static void test_report_html__valid_utf8_with_replacements(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *html = render(doc, DF_OK);
	/* jansson refuses a string that is not valid UTF-8 */
	json_t *check = json_stringn(html, strlen(html));

	assert_non_null(check);
	json_decref(check);
	assert_non_null(strstr(html, "bad\xef\xbf\xbd\xef\xbf\xbd "
				     "\xef\xbf\xbd( "));
	free(html);
	json_decref(doc);
}

/* The elements and attributes the writer makes; anything else came from
 * the data. */
static const char *const elements[] = {
	"!DOCTYPE", "html",   "head",	  "meta",   "title", "style", "body",
	"header",   "h1",     "h2",	  "h3",	    "p",     "ul",    "li",
	"b",	    "span",   "section",  "figure", "svg",   "rect",  "text",
	"line",	    "polyline", "figcaption", "div", "table", "thead",
	"tbody",    "tr",     "th",	  "td",	    "script",
};
static const char *const attributes[] = {
	"lang",	       "class",	 "charset", "http-equiv", "content",
	"name",	       "id",	 "viewBox", "width",	  "height",
	"role",	       "aria-label", "aria-hidden", "x", "y", "x1",
	"y1",	       "x2",	 "y2",	    "text-anchor", "points",
	"data-v",
};

static bool listed(const char *const *list, size_t n, const char *s,
		   size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
			return true;
	return false;
}

/* Check one tag's name and attribute names; returns the end of the tag. */
static const char *check_tag(const char *p)
{
	size_t n = strcspn(p, " >/");

	if (!listed(elements, ARRAY_SIZE(elements), p, n))
		fail_msg("element '%.*s'", (int)n, p);
	p += n;
	while (*p != '>') {
		if (*p == '\0' || *p == '<')
			fail_msg("unterminated tag near '%.40s'", p);
		if (*p == ' ' && p[1] != '>' && p[1] != '/') {
			size_t a = strcspn(p + 1, "=> ");

			if (!listed(attributes, ARRAY_SIZE(attributes), p + 1,
				    a) &&
			    strncmp(p + 1, "html", 4) != 0)
				fail_msg("attribute '%.*s'", (int)a, p + 1);
			p += 1 + a;
			if (*p == '=') {
				assert_int_equal(p[1], '"');
				p = strchr(p + 2, '"');
				assert_non_null(p);
				p++;
			}
			continue;
		}
		p++;
	}
	return p;
}

static void test_report_html__markup_is_ours(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *html = render(doc, DF_OK);
	const char *p = html;

	while ((p = strchr(p, '<')) != NULL) {
		p++;
		if (*p == '/')
			continue;
		p = check_tag(p);
		/* style sheet and script are ours and constant: skip them */
		if (strncmp(p - 6, "<style>", 7) == 0 ||
		    strncmp(p - 7, "<script>", 8) == 0)
			p = strstr(p, "</");
	}
	free(html);
	json_decref(doc);
}

static void hash_of(const char *html, const char *open, const char *close,
		    char *out, size_t outlen)
{
	const char *b = strstr(html, open), *e;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char b64[64];

	assert_non_null(b);
	b += strlen(open);
	e = strstr(b, close);
	assert_non_null(e);
	crypto_hash_sha256(digest, (const unsigned char *)b, (size_t)(e - b));
	sodium_bin2base64(b64, sizeof(b64), digest, sizeof(digest),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, outlen, "'sha256-%s'", b64);
}

static void test_report_html__csp_allows_only_our_style_and_script(
	void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *html = render(doc, DF_OK);
	char style[80], script[80], want[256];

	hash_of(html, "<style>", "</style>", style, sizeof(style));
	hash_of(html, "<script>", "</script>", script, sizeof(script));
	snprintf(want, sizeof(want),
		 "content=\"default-src 'none'; style-src %s; script-src %s;",
		 style, script);
	assert_non_null(strstr(html, want));
	/* the policy comes before anything it governs */
	assert_true(strstr(html, "Content-Security-Policy") <
		    strstr(html, "<style>"));
	assert_null(strstr(html, "unsafe-inline"));
	assert_null(strstr(html, "http:"));
	assert_null(strstr(html, "https:"));
	assert_null(strstr(html, " style=\""));
	free(html);
	json_decref(doc);
}

static void test_report_html__empty_report_is_a_page(void **state)
{
	(void)state;
	json_t *doc = json_pack("{s:i}", "schema_version", 2);
	char *html = render(doc, DF_OK);

	assert_int_equal(count(html, "<rect class=\"bar\""), 0);
	assert_null(strstr(html, "trend-chart"));
	assert_true(count(html, "None in this period.") >= 5);
	assert_non_null(strstr(html, "</html>\n"));
	free(html);
	json_decref(doc);
}

static void test_report_html__wrong_types_do_not_crash(void **state)
{
	(void)state;
	json_t *doc = json_pack(
		"{s:i,s:s,s:[i,s,{s:[s,i]}],s:{s:i},s:[{s:[s,{}]}],s:i}",
		"schema_version", 2, "period", "x", "bugchecks", 1, "y",
		"share", "a", 1, "totals", "formats", 3, "top_buckets",
		"daily", "q", "trends", 5);
	char *html = render(doc, DF_OK);

	assert_int_equal(count(html, "<rect class=\"bar\""), 3);
	free(html);
	json_decref(doc);
}

static void test_report_html__no_negative_lengths(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	json_t *bc = json_array_get(json_object_get(doc, "bugchecks"), 1);
	json_t *b = json_array_get(json_object_get(doc, "top_buckets"), 0);

	/* a browser logs a negative SVG length as an error */
	json_object_set_new(bc, "share", json_real(-0.5));
	json_object_set_new(bc, "baseline_share", json_integer(-1));
	json_array_set_new(json_object_get(b, "daily"), 2, json_integer(-9));
	char *html = render(doc, DF_OK);

	assert_null(strstr(html, "width=\"-"));
	assert_null(strstr(html, "height=\"-"));
	assert_int_equal(count(html, "<rect class=\"bar\""), TR_BUGCHECKS);
	assert_int_equal(count(html, "<rect class=\"seg "), TR_SEGMENTS - 1);
	free(html);
	json_decref(doc);
}

static void test_report_html__other_versions_refused(void **state)
{
	(void)state;
	json_t *doc = json_pack("{s:i}", "schema_version", 1);
	char *html = render(doc, DF_EFORMAT);

	assert_string_equal(html, "");
	free(html);
	json_decref(doc);
	html = render(NULL, DF_EFORMAT);
	free(html);
}

static void test_report_html__write_error_is_reported(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	FILE *f = fopen("/dev/full", "w");
	struct diag d;

	if (f == NULL)
		skip();
	diag_init(&d);
	assert_int_equal(report_html_write(f, doc, &d), DF_EIO);
	assert_int_equal(d.code, DF_EIO);
	fclose(f);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_html__one_bar_per_bugcheck),
		cmocka_unit_test(test_report_html__bars_follow_the_data),
		cmocka_unit_test(test_report_html__hostile_names_are_text),
		cmocka_unit_test(
			test_report_html__valid_utf8_with_replacements),
		cmocka_unit_test(test_report_html__markup_is_ours),
		cmocka_unit_test(
			test_report_html__csp_allows_only_our_style_and_script),
		cmocka_unit_test(test_report_html__empty_report_is_a_page),
		cmocka_unit_test(test_report_html__wrong_types_do_not_crash),
		cmocka_unit_test(test_report_html__no_negative_lengths),
		cmocka_unit_test(test_report_html__other_versions_refused),
		cmocka_unit_test(test_report_html__write_error_is_reported),
	};
	return cmocka_run_group_tests_name("report_html", tests, NULL, NULL);
}
