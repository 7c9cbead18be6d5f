#include "report_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis_json.h"
#include "df.h"
#include "strbuf.h"

#define MAX_COLS 10
#define MAX_CELL 4096      /* bytes of one escaped cell */
#define MIN_FLEX 12        /* a flexible column never gets narrower */
#define REPORT_MAX_SPARK 400 /* bytes: 90 three-byte bars and a NUL */

/* ---- escaping and widths ------------------------------------------------- */

char *report_text_escape(const char *s)
{
	char *clean = utf8_sanitize(s != NULL ? s : "-");
	struct strbuf sb;

	if (clean == NULL)
		return NULL;
	strbuf_init(&sb, MAX_CELL);
	for (const unsigned char *p = (const unsigned char *)clean; *p; p++) {
		int rc;

		/* C1 controls arrive as 0xC2 0x80..0x9F: CSI is one of them. */
		if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			rc = strbuf_addf(&sb, "\\x%02x", *++p);
		else if (*p < 0x20 || *p == 0x7f)
			rc = strbuf_addf(&sb, "\\x%02x", *p);
		else
			rc = strbuf_add(&sb, p, 1);
		if (rc != DF_OK)
			break; /* capped: the cell is cut */
	}
	free(clean);
	char *out = strdup(strbuf_str(&sb));

	strbuf_release(&sb);
	return out;
}

/* Columns S takes: one per code point (the text is valid UTF-8). */
static size_t text_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/*
 * Write S padded or cut to W columns ('~' marks a cut); the LAST column
 * of a line is not padded.
 */
static void put_cell(FILE *out, const char *s, size_t w, bool right,
		     bool last)
{
	size_t n = text_cols(s);

	if (n > w) {
		size_t c = 0;
		const char *p = s;

		while (*p && c + 1 < w) {
			do
				fputc(*p++, out);
			while (((unsigned char)*p & 0xC0) == 0x80);
			c++;
		}
		if (w > 0)
			fputc('~', out);
		return;
	}
	if (right)
		fprintf(out, "%*s", (int)(w - n), "");
	fputs(s, out);
	if (!right && !last)
		fprintf(out, "%*s", (int)(w - n), "");
}

/* ---- tables ---------------------------------------------------------------- */

struct col {
	const char *head;
	bool right;     /* numbers */
	bool flex;      /* gives way when the table is too wide */
	unsigned drop;  /* left out on narrow terminals, 1 first; 0 never */
};

#define HIDDEN SIZE_MAX  /* the width of a column left out */

struct table {
	const struct col *cols;
	size_t ncols, nrows, cap;
	char **cells;  /* nrows * ncols escaped strings */
	int rc;
};

static void table_init(struct table *t, const struct col *cols, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->ncols = n;
}

/* Add a row of NCOLS cells (copied, escaped); failures are kept in rc. */
static void table_row(struct table *t, const char *const *cells)
{
	if (t->rc != DF_OK)
		return;
	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		char **nv = realloc(t->cells, nc * t->ncols * sizeof(*nv));

		if (nv == NULL) {
			t->rc = DF_ENOMEM;
			return;
		}
		t->cells = nv;
		t->cap = nc;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		char *e = report_text_escape(cells[c]);

		t->cells[t->nrows * t->ncols + c] = e;
		if (e == NULL)
			t->rc = DF_ENOMEM;
	}
	t->nrows++;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* Column widths fitted to WIDTH: flexible columns shrink, widest first. */
static void fit(const struct table *t, size_t width, size_t w[MAX_COLS])
{
	size_t total = 2;

	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = text_cols(t->cols[c].head);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t n = text_cols(t->cells[r * t->ncols + c]);

			if (n > w[c])
				w[c] = n;
		}
		total += w[c] + (c > 0 ? 2 : 0);
	}
	while (total > width) {
		size_t best = MAX_COLS;

		for (size_t c = 0; c < t->ncols; c++)
			if (t->cols[c].flex && w[c] != HIDDEN && w[c] > MIN_FLEX &&
			    (best == MAX_COLS || w[c] > w[best]))
				best = c;
		if (best != MAX_COLS) {
			w[best]--;
			total--;
			continue;
		}
		/* Flexible columns are at their least: leave one out. */
		for (size_t c = 0; c < t->ncols; c++)
			if (t->cols[c].drop > 0 && w[c] != HIDDEN &&
			    (best == MAX_COLS ||
			     t->cols[c].drop < t->cols[best].drop))
				best = c;
		if (best == MAX_COLS)
			break; /* nothing left to give: the line wraps */
		total -= w[best] + 2;
		w[best] = HIDDEN;
	}
}

/* Write one line of a table: the cells whose column is shown. */
static void line_print(FILE *out, const struct table *t, const size_t *w,
		       const char *const *cells)
{
	size_t last = 0;

	for (size_t c = 0; c < t->ncols; c++)
		if (w[c] != HIDDEN)
			last = c;
	fputs("  ", out);
	for (size_t c = 0, shown = 0; c < t->ncols; c++) {
		if (w[c] == HIDDEN)
			continue;
		fputs(shown++ > 0 ? "  " : "", out);
		put_cell(out, cells[c], w[c], t->cols[c].right, c == last);
	}
}

static void heading(FILE *out, const char *title, bool colour)
{
	fprintf(out, colour ? "\n\x1b[1m%s\x1b[0m\n" : "\n%s\n", title);
}

static int table_print(FILE *out, struct table *t, const char *title,
		       size_t width, bool colour)
{
	size_t w[MAX_COLS];
	int rc = t->rc;

	if (rc == DF_OK && t->nrows > 0) {
		heading(out, title, colour);
		const char *heads[MAX_COLS];

		fit(t, width, w);
		for (size_t c = 0; c < t->ncols; c++)
			heads[c] = t->cols[c].head;
		line_print(out, t, w, heads);
		fputc('\n', out);
		for (size_t r = 0; r < t->nrows; r++) {
			line_print(out, t, w,
				   (const char *const *)&t->cells[r * t->ncols]);
			fputc('\n', out);
		}
	}
	table_release(t);
	return rc;
}

/* ---- values ------------------------------------------------------------------- */

/* Small formatted values; each call writes into its own buffer. */
struct cellbuf {
	char v[MAX_COLS][48];
};

static const char *num(char *buf, const json_t *o, const char *key)
{
	snprintf(buf, 48, "%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(o, key)));
	return buf;
}

static const char *pct(char *buf, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, 48, "%.1f%%", 100.0 * json_number_value(v));
	return buf;
}

static const char *change(char *buf, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, 48, "%+.1f", 100.0 * json_number_value(v));
	return buf;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static const char *day_of(char *buf, const json_t *o, const char *key)
{
	time_t t = (time_t)json_integer_value(json_object_get(o, key));
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 48, "%Y-%m-%d", &tm);
	return buf;
}

/* Eight levels of U+2581..U+2588 scaled to the largest daily count. */
static const char *sparkline(char *buf, size_t len, const json_t *daily)
{
	static const char *const bars[8] = { "\u2581", "\u2582", "\u2583",
					     "\u2584", "\u2585", "\u2586",
					     "\u2587", "\u2588" };
	json_int_t max = 0;
	size_t i, o = 0;
	json_t *v;

	json_array_foreach(daily, i, v)
		if (json_integer_value(v) > max)
			max = json_integer_value(v);
	buf[0] = '\0';
	json_array_foreach(daily, i, v) {
		json_int_t n = json_integer_value(v);
		const char *bar = n == 0 ? " " : bars[max ? (n * 7) / max : 0];

		if (o + 4 >= len)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s", bar);
	}
	return buf;
}

/* ---- sections ------------------------------------------------------------------- */

struct ctx {
	FILE *out;
	const json_t *r;
	size_t width;
	bool colour;
};

static int summary(struct ctx *c)
{
	const json_t *p = json_object_get(c->r, "period");
	const json_t *t = json_object_get(c->r, "totals");
	char *batch = report_text_escape(json_string_value(
		json_object_get(p, "batch")));
	struct cellbuf b;

	if (batch == NULL)
		return DF_ENOMEM;
	fprintf(c->out, c->colour ? "\x1b[1mdumpfleet report\x1b[0m" :
				    "dumpfleet report");
	fprintf(c->out, "  %s .. %s (%s day(s))\n", str(p, "since"),
		str(p, "until"), num(b.v[0], p, "days"));
	fprintf(c->out, "  compared with %s .. %s", str(p, "previous_since"),
		str(p, "previous_until"));
	if (json_is_string(json_object_get(p, "batch")))
		fprintf(c->out, "\n  batch %s", batch);
	free(batch);
	fputs("\n\nTotals\n", c->out);
	static const char *const keys[] = { "dumps", "distinct", "buckets",
					    "errors", "failed",
					    "quarantined" };
	static const char *const labels[] = { "dumps", "distinct dumps",
					      "buckets", "errors", "failed",
					      "quarantined" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		fprintf(c->out, "  %-18s %s\n", labels[i], num(b.v[0], t, keys[i]));
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(t, "formats"), k, v) {
		char *e = report_text_escape(k);

		if (e == NULL)
			return DF_ENOMEM;
		fprintf(c->out, "  %-18s %" JSON_INTEGER_FORMAT "\n", e,
			json_integer_value(v));
		free(e);
	}
	return DF_OK;
}

static int batches(struct ctx *c)
{
	static const struct col cols[] = {
		{ "batch", false, true, 0 },  { "dumps", true, false, 0 },
		{ "distinct", true, false, 0 }, { "errors", true, false, 2 },
		{ "failed", true, false, 1 },
	};
	struct table t;
	size_t i;
	json_t *o;
	struct cellbuf b;

	table_init(&t, cols, ARRAY_SIZE(cols));
	json_array_foreach(json_object_get(c->r, "batches"), i, o) {
		const char *cells[] = {
			json_is_true(json_object_get(o, "other")) ? "(others)"
								  : str(o, "batch"),
			num(b.v[1], o, "dumps"), num(b.v[2], o, "distinct"),
			num(b.v[3], o, "errors"), num(b.v[4], o, "failed"),
		};

		table_row(&t, cells);
	}
	return table_print(c->out, &t, "Batches", c->width, c->colour);
}

static int codes(struct ctx *c, const char *key, const char *title,
		 bool bugcheck)
{
	static const struct col bcols[] = {
		{ "code", false, false, 0 },   { "name", false, true, 0 },
		{ "category", false, false, 1 }, { "count", true, false, 0 },
		{ "share", true, false, 0 },   { "previous", true, false, 2 },
		{ "change", true, false, 3 },  { "2008", true, false, 0 },
	};
	static const struct col ecols[] = {
		{ "code", false, false, 0 }, { "name", false, true, 0 },
		{ "count", true, false, 0 }, { "share", true, false, 0 },
		{ "previous", true, false, 1 },
	};
	struct table t;
	size_t i;
	json_t *o;
	struct cellbuf b;

	table_init(&t, bugcheck ? bcols : ecols,
		   bugcheck ? ARRAY_SIZE(bcols) : ARRAY_SIZE(ecols));
	json_array_foreach(json_object_get(c->r, key), i, o) {
		const char *bc[] = {
			str(o, "code"), str(o, "name"), str(o, "category"),
			num(b.v[0], o, "count"), pct(b.v[1], o, "share"),
			num(b.v[2], o, "previous_count"),
			change(b.v[3], o, "change"),
			pct(b.v[4], o, "baseline_share"),
		};
		const char *ec[] = {
			str(o, "code"), str(o, "name"), num(b.v[0], o, "count"),
			pct(b.v[1], o, "share"), num(b.v[2], o, "previous_count"),
		};

		table_row(&t, bugcheck ? bc : ec);
	}
	return table_print(c->out, &t, title, c->width, c->colour);
}

static int patterns(struct ctx *c)
{
	static const struct col cols[] = {
		{ "pattern", false, false, 0 }, { "count", true, false, 0 },
		{ "share", true, false, 2 },    { "confident", true, false, 1 },
		{ "title", false, true, 0 },
	};
	struct table t;
	size_t i;
	json_t *o;
	struct cellbuf b;

	table_init(&t, cols, ARRAY_SIZE(cols));
	json_array_foreach(json_object_get(c->r, "patterns"), i, o) {
		const char *cells[] = {
			str(o, "pattern"), num(b.v[0], o, "count"),
			pct(b.v[1], o, "share"), num(b.v[2], o, "confident"),
			str(o, "title"),
		};

		table_row(&t, cells);
	}
	return table_print(c->out, &t, "Patterns", c->width, c->colour);
}

static int virtualization(struct ctx *c)
{
	const json_t *v = json_object_get(c->r, "virtualization");
	struct cellbuf b;
	size_t i;
	json_t *h;

	if (json_integer_value(json_object_get(v, "virtualized")) == 0)
		return DF_OK;
	heading(c->out, "Virtualization", c->colour);
	fprintf(c->out, "  %s dumps (%s) ran in a virtual machine:",
		num(b.v[0], v, "virtualized"), pct(b.v[1], v, "share"));
	json_array_foreach(json_object_get(v, "hypervisors"), i, h) {
		char *e = report_text_escape(str(h, "name"));

		if (e == NULL)
			return DF_ENOMEM;
		fprintf(c->out, "%s %s %s", i ? "," : "", e,
			num(b.v[0], h, "count"));
		free(e);
	}
	fputc('\n', c->out);
	return DF_OK;
}

/* A signature under its row, broken at " | " to fit the width. */
static int signature_lines(struct ctx *c, const char *sig)
{
	char *e = report_text_escape(sig);
	size_t col = 4, indent = 4;

	if (e == NULL)
		return DF_ENOMEM;
	fputs("    ", c->out);
	for (char *p = e; *p;) {
		const char *sep = strstr(p, " | ");
		size_t n = sep != NULL ? (size_t)(sep - p) + 3 : strlen(p);
		char save = p[n];
		size_t w;

		p[n] = '\0';
		w = text_cols(p);
		if (col > indent && col + w > c->width) {
			fprintf(c->out, "\n%*s", (int)indent + 2, "");
			col = indent + 2;
		}
		fputs(p, c->out);
		p[n] = save;
		col += w;
		p += n;
	}
	fputc('\n', c->out);
	free(e);
	return DF_OK;
}

/* Sample dumps: source, and the member path for archive members. */
static int samples(struct ctx *c, const json_t *arr)
{
	size_t k;
	json_t *s;

	json_array_foreach(arr, k, s) {
		const json_t *member = json_object_get(s, "member");
		char *src = report_text_escape(str(s, "source"));
		char *mem = report_text_escape(json_string_value(member));

		if (src == NULL || mem == NULL) {
			free(src);
			free(mem);
			return DF_ENOMEM;
		}
		fprintf(c->out, "    sample %s", src);
		if (json_is_string(member))
			fprintf(c->out, " (member %s)", mem);
		fputc('\n', c->out);
		free(src);
		free(mem);
	}
	return DF_OK;
}

static int top_buckets(struct ctx *c)
{
	static const struct col cols[] = {
		{ "hash", false, false, 0 },      { "count", true, false, 0 },
		{ "previous", true, false, 2 },   { "total", true, false, 1 },
		{ "last seen", false, false, 0 }, { "blame", false, true, 0 },
	};
	const json_t *arr = json_object_get(c->r, "top_buckets");
	char spark[REPORT_MAX_SPARK];
	size_t i, w[MAX_COLS];
	json_t *o;
	struct table t;
	struct cellbuf b;
	int rc = DF_OK;

	table_init(&t, cols, ARRAY_SIZE(cols));
	json_array_foreach(arr, i, o) {
		const char *cells[] = {
			str(o, "hash"), num(b.v[0], o, "count"),
			num(b.v[1], o, "previous_count"), num(b.v[2], o, "total"),
			day_of(b.v[3], o, "last_seen"), str(o, "blame"),
		};

		table_row(&t, cells);
	}
	if (t.rc != DF_OK || t.nrows == 0) {
		rc = t.rc;
		table_release(&t);
		return rc;
	}
	heading(c->out, "Top buckets", c->colour);
	const char *heads[MAX_COLS];

	fit(&t, c->width - 13, w); /* room for "  (low trust)" */
	for (size_t k = 0; k < t.ncols; k++)
		heads[k] = cols[k].head;
	line_print(c->out, &t, w, heads);
	fputc('\n', c->out);
	json_array_foreach(arr, i, o) {
		line_print(c->out, &t, w,
			   (const char *const *)&t.cells[i * t.ncols]);
		if (json_is_true(json_object_get(o, "low_trust")))
			fputs("  (low trust)", c->out);
		fputc('\n', c->out);
		rc = signature_lines(c, str(o, "signature"));
		if (rc == DF_OK)
			fprintf(c->out, "    daily |%s|\n",
				sparkline(spark, sizeof(spark),
					  json_object_get(o, "daily")));
		if (rc == DF_OK)
			rc = samples(c, json_object_get(o, "samples"));
		if (rc != DF_OK)
			break;
	}
	table_release(&t);
	return rc;
}

static int bucket_list(struct ctx *c, const json_t *arr, const char *title,
		       bool trend)
{
	static const struct col ncols[] = {
		{ "hash", false, false, 0 }, { "count", true, false, 0 },
		{ "first seen", false, false, 1 }, { "signature", false, true, 0 },
	};
	static const struct col tcols[] = {
		{ "hash", false, false, 0 }, { "count", true, false, 0 },
		{ "expected", true, false, 1 }, { "z", true, false, 0 },
		{ "signature", false, true, 0 },
	};
	struct table t;
	size_t i;
	json_t *o;
	struct cellbuf b;

	table_init(&t, trend ? tcols : ncols,
		   trend ? ARRAY_SIZE(tcols) : ARRAY_SIZE(ncols));
	json_array_foreach(arr, i, o) {
		snprintf(b.v[2], 48, "%.1f",
			 json_number_value(json_object_get(o, "expected")));
		snprintf(b.v[3], 48, "%+.1f",
			 json_number_value(json_object_get(o, "z")));
		const char *tc[] = { str(o, "hash"), num(b.v[0], o, "count"),
				     b.v[2], b.v[3], str(o, "signature") };
		const char *nc[] = { str(o, "hash"), num(b.v[0], o, "count"),
				     day_of(b.v[1], o, "first_seen"),
				     str(o, "signature") };

		table_row(&t, trend ? tc : nc);
	}
	return table_print(c->out, &t, title, c->width, c->colour);
}

static int modules(struct ctx *c)
{
	static const struct col cols[] = {
		{ "module", false, true, 0 }, { "dumps", true, false, 0 },
		{ "share", true, false, 1 },  { "buckets", true, false, 2 },
		{ "whom to call", false, true, 0 },
	};
	struct table t;
	size_t i;
	json_t *o;
	struct cellbuf b;

	table_init(&t, cols, ARRAY_SIZE(cols));
	json_array_foreach(json_object_get(c->r, "modules"), i, o) {
		const char *cells[] = {
			str(o, "module"), num(b.v[0], o, "dumps"),
			pct(b.v[1], o, "share"), num(b.v[2], o, "buckets"),
			str(o, "owner"),
		};

		table_row(&t, cells);
	}
	return table_print(c->out, &t, "Blamed modules", c->width, c->colour);
}

static int spray(struct ctx *c)
{
	static const struct col cols[] = {
		{ "kind", false, false, 0 },  { "buckets", true, false, 0 },
		{ "dumps", true, false, 0 },  { "shared frame or module", false, true, 0 },
	};
	struct table t;
	size_t i;
	json_t *o;
	struct cellbuf b;

	table_init(&t, cols, ARRAY_SIZE(cols));
	json_array_foreach(json_object_get(c->r, "spray"), i, o) {
		const char *cells[] = {
			str(o, "kind"), num(b.v[0], o, "buckets"),
			num(b.v[1], o, "dumps"), str(o, "key"),
		};

		table_row(&t, cells);
	}
	return table_print(c->out, &t,
			   "Bucket spray (a signature rule is probably missing)",
			   c->width, c->colour);
}

int report_text_write(FILE *out, const json_t *report,
		      const struct report_text_opts *o)
{
	struct ctx c = { out, report,
			 o != NULL && o->width ? o->width
					       : REPORT_TEXT_DEFAULT_WIDTH,
			 o != NULL && o->colour };
	const json_t *trends = json_object_get(report, "trends");
	int rc;

	if (c.width < REPORT_TEXT_MIN_WIDTH)
		c.width = REPORT_TEXT_MIN_WIDTH;
	rc = summary(&c);
	if (rc == DF_OK)
		rc = batches(&c);
	if (rc == DF_OK)
		rc = codes(&c, "bugchecks", "Bugchecks (share, change in "
			   "points, 2008 web baseline)", true);
	if (rc == DF_OK)
		rc = codes(&c, "exceptions", "Exceptions (user mode)", false);
	if (rc == DF_OK)
		rc = patterns(&c);
	if (rc == DF_OK)
		rc = virtualization(&c);
	if (rc == DF_OK)
		rc = top_buckets(&c);
	if (rc == DF_OK)
		rc = bucket_list(&c, json_object_get(report, "new_buckets"),
				 "New buckets", false);
	if (rc == DF_OK)
		rc = bucket_list(&c, json_object_get(trends, "rising"),
				 "Rising buckets", true);
	if (rc == DF_OK)
		rc = bucket_list(&c, json_object_get(trends, "falling"),
				 "Falling buckets", true);
	if (rc == DF_OK)
		rc = modules(&c);
	if (rc == DF_OK)
		rc = spray(&c);
	if (rc == DF_OK && ferror(out))
		rc = DF_EIO;
	return rc;
}
