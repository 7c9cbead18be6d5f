/*
 * Unit tests for reports/csv.c: the stream is read back by a strict
 * RFC 4180 parser written here, table by table, and every hostile string
 * comes back as written, with formulas defused and controls made visible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "csv.h"
#include "df.h"
#include "diag.h"
#include "testreport.h"

#define MAX_FIELDS 16
#define MAX_RECORDS 128

struct field {
	char *s;     /* content, NUL-terminated */
	bool quoted; /* written as a quoted field */
};

struct record {
	struct field f[MAX_FIELDS];
	size_t n;
};

struct csv {
	struct record r[MAX_RECORDS];
	size_t n;
};

/* One field at *P; fails the test on anything RFC 4180 does not allow. */
static void parse_field(const char **pp, struct field *f)
{
	const char *p = *pp;
	char *out = malloc(strlen(p) + 1);
	size_t n = 0;

	assert_non_null(out);
	f->quoted = *p == '"';
	if (f->quoted) {
		for (p++;; p++) {
			if (*p == '\0')
				fail_msg("unterminated quoted field");
			if (*p == '"' && p[1] != '"')
				break;
			if (*p == '"')
				p++;
			out[n++] = *p;
		}
		p++;
	} else {
		for (; *p != ',' && *p != '\r' && *p != '\0'; p++) {
			if (*p == '"' || *p == '\n')
				fail_msg("quote or bare LF in a plain field");
			out[n++] = *p;
		}
	}
	if (*p != ',' && !(p[0] == '\r' && p[1] == '\n'))
		fail_msg("field not followed by a comma or CRLF: '%.20s'", p);
	out[n] = '\0';
	f->s = out;
	*pp = p;
}

static void parse(const char *text, struct csv *c)
{
	const char *p = text;

	c->n = 0;
	while (*p != '\0') {
		struct record *r = &c->r[c->n++];

		assert_true(c->n <= MAX_RECORDS);
		r->n = 0;
		for (;;) {
			assert_true(r->n < MAX_FIELDS);
			parse_field(&p, &r->f[r->n++]);
			if (*p == '\r')
				break;
			p++;
		}
		p += 2;
	}
}

static void csv_free(struct csv *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->r[i].n; j++)
			free(c->r[i].f[j].s);
}

static char *render(const json_t *doc, int want_rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct diag d;

	assert_non_null(f);
	diag_init(&d);
	assert_int_equal(report_csv_write(f, doc, &d), want_rc);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/*
 * The data records of table NAME: the first record naming it, after its
 * header; each has as many fields as the header. Returns its index.
 */
static size_t table(const struct csv *c, const char *name, size_t *rows)
{
	size_t i = 0, n = 0;

	while (i < c->n && strcmp(c->r[i].f[0].s, name) != 0)
		i++;
	assert_true(i > 0 && i < c->n);
	const struct record *h = &c->r[i - 1];

	assert_string_equal(h->f[0].s, "table");
	while (i + n < c->n && strcmp(c->r[i + n].f[0].s, name) == 0) {
		assert_int_equal(c->r[i + n].n, h->n);
		n++;
	}
	*rows = n;
	return i;
}

static const char *cell(const struct csv *c, size_t rec, size_t col)
{
	assert_true(rec < c->n && col < c->r[rec].n);
	return c->r[rec].f[col].s;
}

static void test_report_csv__records_are_rfc4180(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *text = render(doc, DF_OK);
	struct csv c;

	parse(text, &c);
	/* every table: a header record, data records, an empty record */
	size_t tables = 0;

	for (size_t i = 0; i < c.n; i++) {
		if (i == 0 || c.r[i - 1].n == 1) {
			assert_string_equal(cell(&c, i, 0), "table");
			assert_false(c.r[i].f[0].quoted);
			tables++;
		} else if (c.r[i].n == 1) {
			assert_string_equal(cell(&c, i, 0), "");
		}
	}
	assert_int_equal(tables, 20);
	assert_string_equal(cell(&c, 0, 1), "schema_version");
	assert_string_equal(cell(&c, 1, 0), "report");
	assert_string_equal(cell(&c, 1, 1), "2");
	free(text);
	csv_free(&c);
	json_decref(doc);
}

static void test_report_csv__tables_hold_every_row(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *text = render(doc, DF_OK);
	struct csv c;
	size_t rows, at;

	parse(text, &c);
	at = table(&c, "bugchecks", &rows);
	assert_int_equal(rows, TR_BUGCHECKS);
	assert_string_equal(cell(&c, at, 1), "0x000000D1");
	assert_true(c.r[at].f[1].quoted);
	assert_string_equal(cell(&c, at, 4), "40");
	assert_false(c.r[at].f[4].quoted);
	assert_string_equal(cell(&c, at + 1, 7), "-0.08");
	/* null is an empty plain field; a string is never one */
	assert_string_equal(cell(&c, at + 4, 8), "");
	assert_false(c.r[at + 4].f[8].quoted);
	at = table(&c, "top_buckets", &rows);
	assert_int_equal(rows, TR_TOP);
	assert_string_equal(cell(&c, at, 8), "2 5 3 6 4 7 3");
	at = table(&c, "formats", &rows);
	assert_int_equal(rows, 3);
	at = table(&c, "top_bucket_samples", &rows);
	assert_int_equal(rows, 2);
	assert_string_equal(cell(&c, at + 1, 1), "1111111111111111");
	assert_string_equal(cell(&c, at + 1, 6), "case-4711");
	at = table(&c, "spray", &rows);
	assert_int_equal(rows, 1);
	assert_string_equal(cell(&c, at, 5),
			    "4444444444444444 5555555555555555");
	at = table(&c, "batches", &rows);
	assert_int_equal(rows, 3);
	assert_string_equal(cell(&c, at + 2, 6), "true");
	free(text);
	csv_free(&c);
	json_decref(doc);
}

static void test_report_csv__hostile_strings_round_trip(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	char *text = render(doc, DF_OK);
	struct csv c;
	size_t rows, at;

	parse(text, &c);
	at = table(&c, "top_buckets", &rows);
	/* formula defused, comma, quotes, CR LF kept inside the field */
	assert_string_equal(cell(&c, at + 2, 2), "'" TR_FORMULA);
	assert_string_equal(cell(&c, at + 1, 11), TR_SCRIPT);
	assert_string_equal(cell(&c, at + 2, 11), "evil\\u202etxt.exe");
	at = table(&c, "modules", &rows);
	assert_string_equal(cell(&c, at + 1, 1), "red\\x1b[31m alarm\\x07");
	assert_string_equal(cell(&c, at + 1, 5), TR_ATTR);
	at = table(&c, "top_bucket_samples", &rows);
	assert_string_equal(cell(&c, at + 1, 5), TR_IMG);
	assert_string_equal(cell(&c, at + 1, 3),
			    "bad\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd( "
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
			    "\xef\xbf\xbd\xef\xbf\xbd end\xef\xbf\xbd"
			    "\xef\xbf\xbd");
	at = table(&c, "batches", &rows);
	assert_string_equal(cell(&c, at + 1, 1), "'+SUM(A1:A9),@x;-1");
	at = table(&c, "period", &rows);
	assert_string_equal(cell(&c, at, 6), TR_ATTR);
	/* no terminal control reaches the file; the whole stream is UTF-8 */
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\x07'));
	json_t *check = json_stringn(text, strlen(text));

	assert_non_null(check);
	json_decref(check);
	free(text);
	csv_free(&c);
	json_decref(doc);
}

static void test_report_csv__every_formula_start_is_defused(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "=1+2", "'=1+2" },   { "+1", "'+1" },
		{ "-2", "'-2" },       { "@SUM(A1)", "'@SUM(A1)" },
		{ "\tx", "'\tx" },     { "\rx", "'\rx" },
		{ "a=b", "a=b" },      { "", "" },
		{ "'q", "'q" },	       { "x\"y", "x\"y" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *doc = json_pack("{s:i,s:{}}", "schema_version", 2,
					"trends");
		struct csv c;
		size_t rows, at;

		test_report_set(json_object_get(doc, "trends"), "rule",
				cases[i][0]);
		char *text = render(doc, DF_OK);

		parse(text, &c);
		at = table(&c, "trends", &rows);
		assert_int_equal(rows, 1);
		assert_string_equal(cell(&c, at, 1), cases[i][1]);
		assert_true(c.r[at].f[1].quoted);
		free(text);
		csv_free(&c);
		json_decref(doc);
	}
}

static void test_report_csv__empty_report_has_every_header(void **state)
{
	(void)state;
	json_t *doc = json_pack("{s:i,s:s,s:[i,s]}", "schema_version", 2,
				"totals", "x", "bugchecks", 1, "y");
	char *text = render(doc, DF_OK);
	struct csv c;
	size_t headers = 0;

	parse(text, &c);
	for (size_t i = 0; i < c.n; i++)
		headers += strcmp(cell(&c, i, 0), "table") == 0;
	assert_int_equal(headers, 20);
	free(text);
	csv_free(&c);
	json_decref(doc);
}

static void test_report_csv__other_versions_refused(void **state)
{
	(void)state;
	json_t *doc = json_pack("{s:s}", "schema_version", "2");
	char *text = render(doc, DF_EFORMAT);

	assert_string_equal(text, "");
	free(text);
	json_decref(doc);
}

static void test_report_csv__write_error_is_reported(void **state)
{
	(void)state;
	json_t *doc = test_report_doc();
	FILE *f = fopen("/dev/full", "w");
	struct diag d;

	if (f == NULL)
		skip();
	diag_init(&d);
	assert_int_equal(report_csv_write(f, doc, &d), DF_EIO);
	fclose(f);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_csv__records_are_rfc4180),
		cmocka_unit_test(test_report_csv__tables_hold_every_row),
		cmocka_unit_test(test_report_csv__hostile_strings_round_trip),
		cmocka_unit_test(
			test_report_csv__every_formula_start_is_defused),
		cmocka_unit_test(
			test_report_csv__empty_report_has_every_header),
		cmocka_unit_test(test_report_csv__other_versions_refused),
		cmocka_unit_test(test_report_csv__write_error_is_reported),
	};
	return cmocka_run_group_tests_name("report_csv", tests, NULL, NULL);
}
