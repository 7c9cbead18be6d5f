#include "csv.h"

#include <stdbool.h>
#include <string.h>

#include "df.h"
#include "diag.h"
#include "textsafe.h"

#define CSV_SCHEMA_VERSION 2

/* One column: its header and the member of the row it shows. */
struct csv_col {
	const char *header;
	const char *member;
	bool from_parent; /* member of the parent row (child tables) */
};

enum csv_source {
	SRC_OBJECT, /* the object at PATH is the only row */
	SRC_ARRAY,  /* each element of the array at PATH is a row */
	SRC_MAP,    /* each member of the object at PATH: key, value */
	SRC_CHILD,  /* each element of CHILD in each row of the array at PATH */
};

struct csv_table {
	const char *name;
	enum csv_source src;
	const char *path[2]; /* members from the report root; NULL ends */
	const char *child;   /* SRC_CHILD: the array member of each row */
	const struct csv_col *cols;
};

#define COLS(...)                                                             \
	((const struct csv_col[]){ __VA_ARGS__, { NULL, NULL, false } })
#define C(h) { h, h, false }

/* The tables in report order; the layout docs/report-schema.md documents. */
static const struct csv_table tables[] = {
	{ "report", SRC_OBJECT, { NULL }, NULL,
	  COLS(C("schema_version"), C("generated_at")) },
	{ "period", SRC_OBJECT, { "period" }, NULL,
	  COLS(C("since"), C("until"), C("days"), C("previous_since"),
	       C("previous_until"), C("batch")) },
	{ "totals", SRC_OBJECT, { "totals" }, NULL,
	  COLS(C("dumps"), C("distinct"), C("buckets"), C("errors"),
	       C("failed"), C("quarantined")) },
	{ "formats", SRC_MAP, { "totals", "formats" }, NULL,
	  COLS(C("format"), C("count")) },
	{ "batches", SRC_ARRAY, { "batches" }, NULL,
	  COLS(C("batch"), C("dumps"), C("distinct"), C("errors"),
	       C("failed"), C("other")) },
	{ "bugchecks", SRC_ARRAY, { "bugchecks" }, NULL,
	  COLS(C("code"), C("name"), C("category"), C("count"), C("share"),
	       C("previous_count"), C("change"), C("baseline_share")) },
	{ "exceptions", SRC_ARRAY, { "exceptions" }, NULL,
	  COLS(C("code"), C("name"), C("count"), C("share"),
	       C("previous_count")) },
	{ "patterns", SRC_ARRAY, { "patterns" }, NULL,
	  COLS(C("pattern"), C("title"), C("count"), C("confident"),
	       C("share")) },
	{ "virtualization", SRC_OBJECT, { "virtualization" }, NULL,
	  COLS(C("virtualized"), C("share")) },
	{ "hypervisors", SRC_ARRAY, { "virtualization", "hypervisors" }, NULL,
	  COLS(C("name"), C("count")) },
	{ "top_buckets", SRC_ARRAY, { "top_buckets" }, NULL,
	  COLS(C("hash"), C("signature"), C("count"), C("previous_count"),
	       C("total"), C("first_seen"), C("last_seen"), C("daily"),
	       C("bugcheck"), C("exception"), C("blame"), C("low_trust")) },
	{ "top_bucket_os_versions", SRC_CHILD, { "top_buckets" }, "os_versions",
	  COLS({ "bucket", "hash", true }, C("os_ver"), C("count")) },
	{ "top_bucket_patterns", SRC_CHILD, { "top_buckets" }, "patterns",
	  COLS({ "bucket", "hash", true }, C("pattern"), C("count")) },
	{ "top_bucket_samples", SRC_CHILD, { "top_buckets" }, "samples",
	  COLS({ "bucket", "hash", true }, C("hash"), C("source"),
	       C("archive"), C("member"), C("batch")) },
	{ "new_buckets", SRC_ARRAY, { "new_buckets" }, NULL,
	  COLS(C("hash"), C("signature"), C("count"), C("first_seen"),
	       C("blame")) },
	{ "trends", SRC_OBJECT, { "trends" }, NULL, COLS(C("rule")) },
	{ "rising", SRC_ARRAY, { "trends", "rising" }, NULL,
	  COLS(C("hash"), C("signature"), C("count"), C("expected"), C("z")) },
	{ "falling", SRC_ARRAY, { "trends", "falling" }, NULL,
	  COLS(C("hash"), C("signature"), C("count"), C("expected"), C("z")) },
	{ "modules", SRC_ARRAY, { "modules" }, NULL,
	  COLS(C("module"), C("dumps"), C("share"), C("buckets"),
	       C("owner")) },
	{ "spray", SRC_ARRAY, { "spray" }, NULL,
	  COLS(C("key"), C("kind"), C("buckets"), C("dumps"),
	       C("examples")) },
};

/* A spreadsheet treats a cell starting with one of these as a formula. */
static bool formula_start(uint32_t cp)
{
	return cp == '=' || cp == '+' || cp == '-' || cp == '@' ||
	       cp == '\t' || cp == '\r';
}

/*
 * The characters of a string from the report inside a quoted field:
 * quotes doubled, invalid UTF-8 replaced, terminal controls made visible.
 * CELL_START: S begins the field, so a formula character gets the
 * apostrophe.
 */
static void put_chars(FILE *out, const char *s, size_t len, bool cell_start)
{
	size_t pos = 0;

	while (pos < len) {
		uint32_t cp;
		char buf[TEXTSAFE_ESCAPE_MAX];

		textsafe_next(s, len, &pos, &cp);
		if (cell_start && formula_start(cp))
			fputc('\'', out);
		cell_start = false;
		if (cp == '"')
			fputs("\"\"", out);
		else if (textsafe_is_control(cp) && cp != '\t' &&
			 cp != '\r' && cp != '\n')
			fwrite(buf, 1, textsafe_escape(cp, buf), out);
		else
			fwrite(buf, 1, textsafe_encode(cp, buf), out);
	}
}

/*
 * Strings are always quoted, so a field separator of any locale (a
 * semicolon in many) inside one stays inside.
 */
static void put_string(FILE *out, const json_t *v)
{
	fputc('"', out);
	put_chars(out, json_string_value(v), json_string_length(v), true);
	fputc('"', out);
}

static void put_scalar(FILE *out, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		put_string(out, v);
		break;
	case JSON_INTEGER:
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(out, "%.6g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", out);
		break;
	case JSON_FALSE:
		fputs("false", out);
		break;
	default:
		/* null, and nested values no column holds: an empty field */
		break;
	}
}

/*
 * An array of scalars (daily counts, example hashes) as one field, its
 * elements separated by spaces; quoted when it holds a string.
 */
static void put_array(FILE *out, const json_t *v)
{
	bool quoted = false;
	size_t i;
	json_t *e;

	json_array_foreach(v, i, e)
		quoted = quoted || json_is_string(e);
	if (quoted)
		fputc('"', out);
	json_array_foreach(v, i, e) {
		if (i > 0)
			fputc(' ', out);
		if (json_is_string(e))
			put_chars(out, json_string_value(e),
				  json_string_length(e), i == 0);
		else if (!json_is_array(e) && !json_is_object(e))
			put_scalar(out, e);
	}
	if (quoted)
		fputc('"', out);
}

static void put_value(FILE *out, const json_t *v)
{
	if (json_is_array(v))
		put_array(out, v);
	else if (v != NULL)
		put_scalar(out, v);
}

/* One record: the table's name, then each column of ROW. */
static void put_record(FILE *out, const struct csv_table *t,
		       const json_t *row, const json_t *parent)
{
	fputs(t->name, out);
	for (const struct csv_col *c = t->cols; c->header != NULL; c++) {
		const json_t *from = c->from_parent ? parent : row;

		fputc(',', out);
		if (json_is_object(from))
			put_value(out, json_object_get(from, c->member));
	}
	fputs("\r\n", out);
}

static void put_header(FILE *out, const struct csv_table *t)
{
	fputs("table", out);
	for (const struct csv_col *c = t->cols; c->header != NULL; c++)
		fprintf(out, ",%s", c->header);
	fputs("\r\n", out);
}

static const json_t *table_source(const json_t *report,
				  const struct csv_table *t)
{
	const json_t *v = report;

	for (size_t i = 0; i < 2 && t->path[i] != NULL; i++)
		v = json_object_get(v, t->path[i]);
	return v;
}

/* A map's members as records: the key, then its value. */
static void put_map(FILE *out, const struct csv_table *t, const json_t *map)
{
	const char *key;
	json_t *val;

	json_object_foreach ((json_t *)map, key, val) {
		fprintf(out, "%s,\"", t->name);
		put_chars(out, key, strlen(key), true);
		fputs("\",", out);
		put_value(out, val);
		fputs("\r\n", out);
	}
}

static void put_table(FILE *out, const json_t *report,
		      const struct csv_table *t)
{
	const json_t *src = table_source(report, t);
	size_t i, j;
	json_t *row, *child;

	put_header(out, t);
	switch (t->src) {
	case SRC_OBJECT:
		if (json_is_object(src))
			put_record(out, t, src, NULL);
		break;
	case SRC_MAP:
		if (json_is_object(src))
			put_map(out, t, src);
		break;
	case SRC_ARRAY:
		json_array_foreach(src, i, row)
			put_record(out, t, row, NULL);
		break;
	case SRC_CHILD:
		json_array_foreach(src, i, row)
			json_array_foreach(json_object_get(row, t->child), j,
					   child)
				put_record(out, t, child, row);
		break;
	}
}

int report_csv_write(FILE *out, const json_t *report, struct diag *d)
{
	const json_t *ver = json_object_get(report, "schema_version");

	if (!json_is_integer(ver) ||
	    json_integer_value(ver) != CSV_SCHEMA_VERSION)
		return diag_fail(d, DF_EFORMAT,
				 "not a version %d report object",
				 CSV_SCHEMA_VERSION);
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		if (i > 0)
			fputs("\r\n", out);
		put_table(out, report, &tables[i]);
	}
	if (fflush(out) != 0 || ferror(out))
		return diag_fail(d, DF_EIO, "cannot write the CSV report");
	return DF_OK;
}
