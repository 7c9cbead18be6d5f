#include "html.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "df.h"
#include "diag.h"
#include "textsafe.h"

/* reports/html/report.css and report.js, embedded at build time */
extern const unsigned char html_css[];
extern const unsigned long html_css_len;
extern const unsigned char html_js[];
extern const unsigned long html_js_len;

#define HTML_SCHEMA_VERSION 2
/* Chart labels and legends are cut to this many code points (the full
 * text is in the element's tooltip and in the tables). */
#define HTML_LABEL_MAX 40
/* Buckets stacked in the trend chart: one colour each in the style sheet. */
#define HTML_TREND_BUCKETS 10
#define HTML_DAY 86400

#define ELLIPSIS "\xE2\x80\xA6"
#define NONE_MARK "&mdash;"

/* ---- text -------------------------------------------------------------- */

/*
 * Untrusted text as HTML text or the inside of a quoted attribute value:
 * the five markup characters as entities, invalid UTF-8 as U+FFFD,
 * controls shown as "\x1b". At most MAX code points (0: no limit), then
 * an ellipsis.
 */
static void put_textn(FILE *out, const char *s, size_t len, size_t max)
{
	size_t pos = 0, n = 0;

	while (pos < len) {
		uint32_t cp;
		char buf[TEXTSAFE_ESCAPE_MAX];

		if (max != 0 && n == max) {
			fputs(ELLIPSIS, out);
			return;
		}
		textsafe_next(s, len, &pos, &cp);
		n++;
		if (cp == '&')
			fputs("&amp;", out);
		else if (cp == '<')
			fputs("&lt;", out);
		else if (cp == '>')
			fputs("&gt;", out);
		else if (cp == '"')
			fputs("&quot;", out);
		else if (cp == '\'')
			fputs("&#39;", out);
		else if (textsafe_is_control(cp))
			fwrite(buf, 1, textsafe_escape(cp, buf), out);
		else
			fwrite(buf, 1, textsafe_encode(cp, buf), out);
	}
}

/* A string member as text (cut to MAX code points), else a dash. */
static void put_str(FILE *out, const json_t *v, size_t max)
{
	if (json_is_string(v))
		put_textn(out, json_string_value(v), json_string_length(v),
			  max);
	else if (json_is_integer(v))
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		fputs(NONE_MARK, out);
}

static bool get_num(const json_t *v, double *x)
{
	if (!json_is_number(v))
		return false;
	*x = json_number_value(v);
	return true;
}

static double num_or(const json_t *v, double dflt)
{
	double x;

	return get_num(v, &x) ? x : dflt;
}

/* A length to draw: SVG refuses negative widths and heights (and says so
 * on the console), so a value below zero draws as zero. */
static double length_of(const json_t *v)
{
	double x = num_or(v, 0);

	return x > 0 ? x : 0;
}

static const char *str_or(const json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* Unix seconds as a UTC date, and time of day when CLOCK; false when out
 * of range. */
static bool put_time(FILE *out, const json_t *v, bool clock)
{
	double x;
	struct tm tm;
	char buf[32];

	if (!get_num(v, &x) || x < 0 || x > 253402300799.0)
		return false;
	time_t t = (time_t)x;

	if (gmtime_r(&t, &tm) == NULL)
		return false;
	if ((clock ? strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm)
		   : strftime(buf, sizeof(buf), "%Y-%m-%d", &tm)) == 0)
		return false;
	fputs(buf, out);
	return true;
}

/* "YYYY-MM-DD" as Unix seconds of that day's start. */
static bool parse_day(const char *s, time_t *t)
{
	struct tm tm = { 0 };

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 +
		     (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	*t = timegm(&tm);
	return *t != (time_t)-1;
}

/* ---- table cells ----------------------------------------------------- */

typedef void cell_fn(FILE *out, const json_t *v);

static void cell_text(FILE *out, const json_t *v)
{
	fputs("<td>", out);
	put_str(out, v, 0);
	fputs("</td>", out);
}

static void cell_mono(FILE *out, const json_t *v)
{
	fputs("<td class=\"mono\">", out);
	put_str(out, v, 0);
	fputs("</td>", out);
}

static void cell_hash(FILE *out, const json_t *v)
{
	fputs("<td class=\"mono hash\">", out);
	put_str(out, v, 0);
	fputs("</td>", out);
}

static void cell_sig(FILE *out, const json_t *v)
{
	fputs("<td class=\"mono sig\">", out);
	put_str(out, v, 0);
	fputs("</td>", out);
}

/* data-v carries the number the sorting script compares. */
static void cell_count(FILE *out, const json_t *v)
{
	double x;

	if (json_is_integer(v))
		fprintf(out,
			"<td class=\"n\" data-v=\"%" JSON_INTEGER_FORMAT
			"\">%" JSON_INTEGER_FORMAT "</td>",
			json_integer_value(v), json_integer_value(v));
	else if (get_num(v, &x))
		fprintf(out, "<td class=\"n\" data-v=\"%.17g\">%.0f</td>", x,
			x);
	else
		fputs("<td class=\"n\">" NONE_MARK "</td>", out);
}

static void cell_share(FILE *out, const json_t *v)
{
	double x;

	if (get_num(v, &x))
		fprintf(out, "<td class=\"n\" data-v=\"%.17g\">%.1f%%</td>", x,
			x * 100);
	else
		fputs("<td class=\"n\">" NONE_MARK "</td>", out);
}

/* A change of share, in percentage points. */
static void cell_change(FILE *out, const json_t *v)
{
	double x;

	if (get_num(v, &x))
		fprintf(out, "<td class=\"n\" data-v=\"%.17g\">%+.1f pp</td>",
			x, x * 100);
	else
		fputs("<td class=\"n\">" NONE_MARK "</td>", out);
}

static void cell_real(FILE *out, const json_t *v)
{
	double x;

	if (get_num(v, &x))
		fprintf(out, "<td class=\"n\" data-v=\"%.17g\">%.2f</td>", x,
			x);
	else
		fputs("<td class=\"n\">" NONE_MARK "</td>", out);
}

static void cell_date(FILE *out, const json_t *v)
{
	double x;

	if (get_num(v, &x))
		fprintf(out, "<td class=\"n\" data-v=\"%.17g\">", x);
	else
		fputs("<td class=\"n\">", out);
	if (!put_time(out, v, false))
		fputs(NONE_MARK, out);
	fputs("</td>", out);
}

static void cell_flag(FILE *out, const json_t *v)
{
	fputs(json_is_true(v) ? "<td>yes</td>" : "<td></td>", out);
}

static void cell_batch(FILE *out, const json_t *v)
{
	if (json_is_string(v))
		cell_text(out, v);
	else
		fputs("<td class=\"note\">other batches</td>", out);
}

/* A daily count series as a 100x20 line. */
static void put_sparkline(FILE *out, const json_t *daily)
{
	size_t n = json_array_size(daily), i;
	double max = 0, sum = 0;
	json_t *e;

	json_array_foreach(daily, i, e) {
		double x = length_of(e);

		max = x > max ? x : max;
		sum += x;
	}
	fprintf(out, "<svg class=\"spark\" viewBox=\"0 0 100 20\" "
		     "width=\"100\" height=\"20\" role=\"img\" "
		     "aria-label=\"daily counts, %zu days, %.0f dumps\">"
		     "<polyline class=\"spark\" points=\"",
		n, sum);
	json_array_foreach(daily, i, e) {
		double x = n > 1 ? 100.0 * (double)i / (double)(n - 1) : 0;
		double y = 19 - (max > 0 ? 18 * length_of(e) / max : 0);

		fprintf(out, "%s%.1f,%.1f", i ? " " : "", x, y);
		if (n == 1)
			fprintf(out, " 100,%.1f", y);
	}
	fputs("\"/></svg>", out);
}

static void cell_spark(FILE *out, const json_t *v)
{
	double sum = 0;
	size_t i;
	json_t *e;

	json_array_foreach(v, i, e)
		sum += num_or(e, 0);
	fprintf(out, "<td data-v=\"%.17g\">", sum);
	put_sparkline(out, v);
	fputs("</td>", out);
}

/* A list of { NAME: string, "count": n } as "name (n)" lines. */
static void put_named_counts(FILE *out, const json_t *v, const char *name)
{
	size_t i;
	json_t *e;

	if (json_array_size(v) == 0) {
		fputs("<td></td>", out);
		return;
	}
	fputs("<td><ul class=\"inline\">", out);
	json_array_foreach(v, i, e) {
		fputs("<li>", out);
		put_str(out, json_object_get(e, name), 0);
		fputs(" (", out);
		put_str(out, json_object_get(e, "count"), 0);
		fputs(")</li>", out);
	}
	fputs("</ul></td>", out);
}

static void cell_os_versions(FILE *out, const json_t *v)
{
	put_named_counts(out, v, "os_ver");
}

static void cell_pattern_mix(FILE *out, const json_t *v)
{
	put_named_counts(out, v, "pattern");
}

/* Sample dumps: source, then archive and member when it came from one. */
static void cell_samples(FILE *out, const json_t *v)
{
	size_t i;
	json_t *e;

	fputs("<td class=\"mono\"><ul class=\"inline\">", out);
	json_array_foreach(v, i, e) {
		const json_t *archive = json_object_get(e, "archive");
		const json_t *batch = json_object_get(e, "batch");

		fputs("<li>", out);
		put_str(out, json_object_get(e, "source"), 0);
		if (json_is_string(archive)) {
			fputs(" [", out);
			put_str(out, archive, 0);
			fputs(" &#8250; ", out);
			put_str(out, json_object_get(e, "member"), 0);
			fputs("]", out);
		}
		if (json_is_string(batch)) {
			fputs(" (batch ", out);
			put_str(out, batch, 0);
			fputs(")", out);
		}
		fputs("</li>", out);
	}
	fputs("</ul></td>", out);
}

static void cell_hashes(FILE *out, const json_t *v)
{
	size_t i;
	json_t *e;

	fputs("<td class=\"mono\">", out);
	json_array_foreach(v, i, e) {
		if (i > 0)
			fputs(" ", out);
		put_str(out, e, 0);
	}
	fputs("</td>", out);
}

/* ---- tables ---------------------------------------------------------- */

struct html_col {
	const char *header; /* column title */
	const char *member; /* member of each row it shows */
	cell_fn *cell;      /* writes the whole <td> */
};

#define COLS(...)                                                             \
	((const struct html_col[]){ __VA_ARGS__, { NULL, NULL, NULL } })

static bool numeric_cell(cell_fn *f)
{
	return f == cell_count || f == cell_share || f == cell_change ||
	       f == cell_real || f == cell_date;
}

/*
 * ROWS as a table whose headers sort it (with script); an empty list is
 * one line saying so.
 */
static void put_table(FILE *out, const char *id, const struct html_col *cols,
		      const json_t *rows)
{
	size_t i;
	json_t *row;

	if (json_array_size(rows) == 0) {
		fputs("<p class=\"empty\">None in this period.</p>\n", out);
		return;
	}
	fprintf(out, "<div class=\"scroll\"><table id=\"%s\" "
		     "class=\"sortable\"><thead><tr>",
		id);
	for (const struct html_col *c = cols; c->header != NULL; c++)
		fprintf(out, "<th%s>%s</th>",
			numeric_cell(c->cell) ? " class=\"n\"" : "", c->header);
	fputs("</tr></thead>\n<tbody>\n", out);
	json_array_foreach(rows, i, row) {
		fputs("<tr>", out);
		for (const struct html_col *c = cols; c->header != NULL; c++)
			c->cell(out, json_object_get(row, c->member));
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
}

static const struct html_col *const bugcheck_cols = COLS(
	{ "Code", "code", cell_mono }, { "Name", "name", cell_text },
	{ "Category", "category", cell_text },
	{ "Dumps", "count", cell_count }, { "Share", "share", cell_share },
	{ "Previous", "previous_count", cell_count },
	{ "Change", "change", cell_change },
	{ "2008 baseline", "baseline_share", cell_share });

static const struct html_col *const exception_cols = COLS(
	{ "Code", "code", cell_mono }, { "Name", "name", cell_text },
	{ "Dumps", "count", cell_count }, { "Share", "share", cell_share },
	{ "Previous", "previous_count", cell_count });

static const struct html_col *const top_cols = COLS(
	{ "Hash", "hash", cell_hash }, { "Signature", "signature", cell_sig },
	{ "Dumps", "count", cell_count },
	{ "Previous", "previous_count", cell_count },
	{ "All time", "total", cell_count },
	{ "First seen", "first_seen", cell_date },
	{ "Last seen", "last_seen", cell_date },
	{ "Daily", "daily", cell_spark },
	{ "Blamed module", "blame", cell_mono },
	{ "Bugcheck", "bugcheck", cell_mono },
	{ "Exception", "exception", cell_mono },
	{ "Low trust", "low_trust", cell_flag });

/* What does not fit beside the counts: a second table, bucket by bucket. */
static const struct html_col *const top_detail_cols = COLS(
	{ "Hash", "hash", cell_hash },
	{ "OS versions", "os_versions", cell_os_versions },
	{ "Patterns", "patterns", cell_pattern_mix },
	{ "Sample dumps", "samples", cell_samples });

static const struct html_col *const new_cols = COLS(
	{ "Hash", "hash", cell_hash }, { "Signature", "signature", cell_sig },
	{ "Dumps", "count", cell_count },
	{ "First seen", "first_seen", cell_date },
	{ "Blamed module", "blame", cell_mono });

static const struct html_col *const trend_cols = COLS(
	{ "Hash", "hash", cell_hash }, { "Signature", "signature", cell_sig },
	{ "Dumps", "count", cell_count },
	{ "Expected", "expected", cell_real }, { "z", "z", cell_real });

static const struct html_col *const module_cols = COLS(
	{ "Module", "module", cell_mono }, { "Dumps", "dumps", cell_count },
	{ "Share", "share", cell_share }, { "Buckets", "buckets", cell_count },
	{ "Whom to call", "owner", cell_text });

static const struct html_col *const pattern_cols = COLS(
	{ "Pattern", "pattern", cell_mono }, { "Title", "title", cell_text },
	{ "Dumps", "count", cell_count },
	{ "Confident", "confident", cell_count },
	{ "Share", "share", cell_share });

static const struct html_col *const hypervisor_cols = COLS(
	{ "Hypervisor", "name", cell_text }, { "Dumps", "count", cell_count });

static const struct html_col *const spray_cols = COLS(
	{ "Shared", "key", cell_mono }, { "Kind", "kind", cell_text },
	{ "Buckets", "buckets", cell_count }, { "Dumps", "dumps", cell_count },
	{ "Example buckets", "examples", cell_hashes });

static const struct html_col *const batch_cols = COLS(
	{ "Batch", "batch", cell_batch }, { "Dumps", "dumps", cell_count },
	{ "Distinct", "distinct", cell_count },
	{ "Errors", "errors", cell_count }, { "Failed", "failed", cell_count });

/* ---- charts ------------------------------------------------------------ */

/* Bugcheck chart geometry, in SVG user units. */
#define BC_WIDTH 900
#define BC_LABEL 340 /* label column, right-aligned text */
#define BC_BARS 380  /* longest bar */
#define BC_ROW 26    /* one bugcheck: observed bar above baseline bar */
#define BC_TOP 26    /* legend */

static void put_bugcheck_label(FILE *out, const json_t *bc, size_t max)
{
	put_str(out, json_object_get(bc, "code"), 0);
	fputs(" ", out);
	put_str(out, json_object_get(bc, "name"), max);
}

/* One row: the observed share bar, the baseline bar beside it, values. */
static void put_bugcheck_row(FILE *out, const json_t *bc, size_t i,
			     double scale)
{
	double y = BC_TOP + (double)i * BC_ROW;
	double share = length_of(json_object_get(bc, "share"));
	const json_t *bv = json_object_get(bc, "baseline_share");
	bool has_base = json_is_number(bv);
	double base = length_of(bv);

	fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
		BC_LABEL - 8, y + 15);
	put_bugcheck_label(out, bc, HTML_LABEL_MAX);
	fprintf(out, "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%.1f\" "
		     "width=\"%.1f\" height=\"10\"><title>",
		BC_LABEL, y + 3, share * scale);
	put_bugcheck_label(out, bc, 0);
	fputs(": ", out);
	put_str(out, json_object_get(bc, "count"), 0);
	fprintf(out, " dumps, %.1f%%</title></rect>\n", share * 100);
	if (has_base)
		fprintf(out, "<rect class=\"baseline\" x=\"%d\" y=\"%.1f\" "
			     "width=\"%.1f\" height=\"8\"><title>2008 "
			     "baseline %.1f%%</title></rect>\n",
			BC_LABEL, y + 14, base * scale, base * 100);
	fprintf(out, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\">%.1f%% "
		     "(",
		BC_LABEL + share * scale + 6, y + 12, share * 100);
	put_str(out, json_object_get(bc, "count"), 0);
	fputs(")", out);
	if (has_base)
		fprintf(out, " &#183; 2008: %.1f%%", base * 100);
	fputs("</text>\n", out);
}

static void put_bugcheck_chart(FILE *out, const json_t *bcs)
{
	size_t n = json_array_size(bcs), i;
	double max = 0;
	json_t *bc;

	if (n == 0)
		return;
	json_array_foreach(bcs, i, bc) {
		double s = length_of(json_object_get(bc, "share"));
		double b = length_of(json_object_get(bc, "baseline_share"));

		max = s > max ? s : max;
		max = b > max ? b : max;
	}
	double scale = BC_BARS / (max > 0 ? max : 1);
	unsigned height = BC_TOP + (unsigned)n * BC_ROW + 4;

	fprintf(out, "<figure><svg id=\"bugcheck-chart\" class=\"chart\" "
		     "viewBox=\"0 0 %d %u\" width=\"%d\" height=\"%u\" "
		     "role=\"img\" aria-label=\"Bugcheck frequency: observed "
		     "share and 2008 baseline share\">\n",
		BC_WIDTH, height, BC_WIDTH, height);
	fprintf(out, "<rect class=\"bar-key\" x=\"%d\" y=\"6\" width=\"12\" "
		     "height=\"10\"/><text x=\"%d\" y=\"15\">share of "
		     "bugchecked dumps</text>\n<rect class=\"baseline-key\" "
		     "x=\"%d\" y=\"6\" width=\"12\" height=\"10\"/><text "
		     "x=\"%d\" y=\"15\">2008 web baseline share</text>\n",
		BC_LABEL, BC_LABEL + 16, BC_LABEL + 200, BC_LABEL + 216);
	json_array_foreach(bcs, i, bc)
		put_bugcheck_row(out, bc, i, scale);
	fputs("</svg></figure>\n", out);
}

/* Trend chart geometry, in SVG user units. */
#define TR_WIDTH 900
#define TR_LEFT 44
#define TR_RIGHT 8
#define TR_TOP 10
#define TR_PLOT 220
#define TR_BOTTOM 22

struct trend {
	const json_t *buckets; /* top_buckets */
	size_t nb;             /* buckets stacked */
	size_t days;           /* longest daily series */
	bool dated;            /* one slice per day: titles name the day */
	time_t first;          /* the period's first day */
};

/* The day (or slice) of column D, for the segment's tooltip. */
static void put_slice_name(FILE *out, const struct trend *t, size_t d)
{
	if (t->dated) {
		time_t day = t->first + (time_t)d * HTML_DAY;
		struct tm tm;
		char buf[16];

		if (gmtime_r(&day, &tm) != NULL &&
		    strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) != 0) {
			fputs(buf, out);
			return;
		}
	}
	fprintf(out, "slice %zu of %zu", d + 1, t->days);
}

static double day_total(const struct trend *t, size_t d)
{
	double sum = 0;

	for (size_t k = 0; k < t->nb; k++) {
		const json_t *daily = json_object_get(
			json_array_get(t->buckets, k), "daily");

		sum += length_of(json_array_get(daily, d));
	}
	return sum;
}

/* One column: each bucket's count that day stacked from the bottom. */
static void put_trend_column(FILE *out, const struct trend *t, size_t d,
			     double scale)
{
	double w = (double)(TR_WIDTH - TR_LEFT - TR_RIGHT) / (double)t->days;
	double x = TR_LEFT + (double)d * w;
	double y = TR_TOP + TR_PLOT;

	for (size_t k = 0; k < t->nb; k++) {
		const json_t *b = json_array_get(t->buckets, k);
		double v = length_of(
			json_array_get(json_object_get(b, "daily"), d));

		if (v <= 0)
			continue;
		y -= v * scale;
		fprintf(out, "<rect class=\"seg s%zu\" x=\"%.2f\" y=\"%.2f\" "
			     "width=\"%.2f\" height=\"%.2f\"><title>",
			k, x, y, w > 3 ? w - 1 : w, v * scale);
		put_slice_name(out, t, d);
		fputs(": ", out);
		put_str(out, json_object_get(b, "hash"), 0);
		fprintf(out, " %.0f dumps</title></rect>\n", v);
	}
}

static void put_trend_axes(FILE *out, const json_t *period, double max)
{
	int bottom = TR_TOP + TR_PLOT;

	fprintf(out, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" "
		     "y2=\"%d\"/>\n<text class=\"axis\" x=\"%d\" y=\"%d\" "
		     "text-anchor=\"end\">%.0f</text>\n<text class=\"axis\" "
		     "x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
		TR_LEFT, bottom, TR_WIDTH - TR_RIGHT, bottom, TR_LEFT - 6,
		TR_TOP + 10, max, TR_LEFT - 6, bottom);
	fprintf(out, "<text class=\"axis\" x=\"%d\" y=\"%d\">", TR_LEFT,
		bottom + 16);
	put_str(out, json_object_get(period, "since"), 0);
	fprintf(out, "</text>\n<text class=\"axis\" x=\"%d\" y=\"%d\" "
		     "text-anchor=\"end\">",
		TR_WIDTH - TR_RIGHT, bottom + 16);
	put_str(out, json_object_get(period, "until"), 0);
	fputs("</text>\n", out);
}

static void put_trend_legend(FILE *out, const struct trend *t)
{
	fputs("<ul class=\"legend\" id=\"trend-legend\">\n", out);
	for (size_t k = 0; k < t->nb; k++) {
		const json_t *b = json_array_get(t->buckets, k);

		fprintf(out, "<li><svg width=\"12\" height=\"12\" "
			     "aria-hidden=\"true\"><rect class=\"s%zu\" "
			     "width=\"12\" height=\"12\"/></svg><span "
			     "class=\"mono\">",
			k);
		put_str(out, json_object_get(b, "hash"), 0);
		fputs("</span> ", out);
		put_str(out, json_object_get(b, "signature"), HTML_LABEL_MAX);
		fputs("</li>\n", out);
	}
	fputs("</ul>\n", out);
}

static void put_trend_chart(FILE *out, const json_t *report)
{
	const json_t *period = json_object_get(report, "period");
	struct trend t = { .buckets = json_object_get(report, "top_buckets") };
	double max = 0;

	t.nb = json_array_size(t.buckets);
	t.nb = t.nb < HTML_TREND_BUCKETS ? t.nb : HTML_TREND_BUCKETS;
	for (size_t k = 0; k < t.nb; k++) {
		size_t n = json_array_size(json_object_get(
			json_array_get(t.buckets, k), "daily"));

		t.days = n > t.days ? n : t.days;
	}
	if (t.days == 0)
		return;
	t.dated = parse_day(str_or(json_object_get(period, "since"), NULL),
			    &t.first) &&
		  num_or(json_object_get(period, "days"), 0) == (double)t.days;
	for (size_t d = 0; d < t.days; d++) {
		double s = day_total(&t, d);

		max = s > max ? s : max;
	}
	double scale = max > 0 ? TR_PLOT / max : 0;

	fprintf(out, "<figure><svg id=\"trend-chart\" class=\"chart\" "
		     "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		     "role=\"img\" aria-label=\"Daily dumps of the top "
		     "buckets, stacked\">\n",
		TR_WIDTH, TR_TOP + TR_PLOT + TR_BOTTOM, TR_WIDTH,
		TR_TOP + TR_PLOT + TR_BOTTOM);
	for (size_t d = 0; d < t.days; d++)
		put_trend_column(out, &t, d, scale);
	put_trend_axes(out, period, max);
	fprintf(out, "</svg><figcaption>Dumps per %s of the %zu largest "
		     "buckets, stacked.</figcaption>\n",
		t.dated ? "day" : "slice", t.nb);
	put_trend_legend(out, &t);
	fputs("</figure>\n", out);
}

/* ---- sections ---------------------------------------------------------- */

static void put_header(FILE *out, const json_t *report)
{
	const json_t *p = json_object_get(report, "period");
	const json_t *batch = json_object_get(p, "batch");

	fputs("<header><h1>Crash dump report</h1>\n<p class=\"meta\" "
	      "id=\"period\">",
	      out);
	put_str(out, json_object_get(p, "since"), 0);
	fputs(" to ", out);
	put_str(out, json_object_get(p, "until"), 0);
	fputs(" (", out);
	put_str(out, json_object_get(p, "days"), 0);
	fputs(" days), compared with ", out);
	put_str(out, json_object_get(p, "previous_since"), 0);
	fputs(" to ", out);
	put_str(out, json_object_get(p, "previous_until"), 0);
	fputs(" &#183; batch: ", out);
	if (json_is_string(batch))
		put_str(out, batch, 0);
	else
		fputs("all", out);
	fputs(" &#183; generated ", out);
	if (!put_time(out, json_object_get(report, "generated_at"), true))
		fputs(NONE_MARK, out);
	fputs("</p></header>\n", out);
}

/* The cards: label and member of totals. */
static const struct {
	const char *label;
	const char *member;
} cards[] = {
	{ "dumps", "dumps" },   { "distinct dumps", "distinct" },
	{ "buckets", "buckets" }, { "with errors", "errors" },
	{ "failed jobs", "failed" }, { "quarantined", "quarantined" },
};

static void put_totals(FILE *out, const json_t *report)
{
	const json_t *t = json_object_get(report, "totals");
	const json_t *formats = json_object_get(t, "formats");
	const char *name;
	json_t *count;
	bool first = true;

	fputs("<ul class=\"cards\" id=\"totals\">\n", out);
	for (size_t i = 0; i < ARRAY_SIZE(cards); i++) {
		fputs("<li><b>", out);
		put_str(out, json_object_get(t, cards[i].member), 0);
		fprintf(out, "</b><span>%s</span></li>\n", cards[i].label);
	}
	fputs("</ul>\n", out);
	if (json_object_size(formats) == 0)
		return;
	fputs("<p class=\"meta\">Formats: ", out);
	json_object_foreach ((json_t *)formats, name, count) {
		fputs(first ? "" : ", ", out);
		put_textn(out, name, strlen(name), 0);
		fputs(" ", out);
		put_str(out, count, 0);
		first = false;
	}
	fputs("</p>\n", out);
}

static void put_bugchecks(FILE *out, const json_t *report)
{
	const json_t *bcs = json_object_get(report, "bugchecks");

	put_bugcheck_chart(out, bcs);
	put_table(out, "bugcheck-table", bugcheck_cols, bcs);
}

static void put_exceptions(FILE *out, const json_t *report)
{
	put_table(out, "exception-table", exception_cols,
		  json_object_get(report, "exceptions"));
}

static void put_top_buckets(FILE *out, const json_t *report)
{
	const json_t *top = json_object_get(report, "top_buckets");

	put_trend_chart(out, report);
	put_table(out, "top-bucket-table", top_cols, top);
	if (json_array_size(top) == 0)
		return;
	fputs("<h3>Versions, patterns and sample dumps</h3>\n", out);
	put_table(out, "top-bucket-detail-table", top_detail_cols, top);
}

static void put_new_buckets(FILE *out, const json_t *report)
{
	put_table(out, "new-bucket-table", new_cols,
		  json_object_get(report, "new_buckets"));
}

static void put_trends(FILE *out, const json_t *report)
{
	const json_t *t = json_object_get(report, "trends");

	fputs("<p class=\"note\" id=\"trend-rule\">Rule: ", out);
	put_str(out, json_object_get(t, "rule"), 0);
	fputs("</p>\n<h3>Rising</h3>\n", out);
	put_table(out, "rising-table", trend_cols,
		  json_object_get(t, "rising"));
	fputs("<h3>Falling</h3>\n", out);
	put_table(out, "falling-table", trend_cols,
		  json_object_get(t, "falling"));
}

static void put_modules(FILE *out, const json_t *report)
{
	put_table(out, "module-table", module_cols,
		  json_object_get(report, "modules"));
}

static void put_patterns(FILE *out, const json_t *report)
{
	put_table(out, "pattern-table", pattern_cols,
		  json_object_get(report, "patterns"));
}

static void put_virtualization(FILE *out, const json_t *report)
{
	const json_t *v = json_object_get(report, "virtualization");
	double share;

	fputs("<p id=\"virtualized\">Virtualized: ", out);
	put_str(out, json_object_get(v, "virtualized"), 0);
	fputs(" dumps", out);
	if (get_num(json_object_get(v, "share"), &share))
		fprintf(out, " (%.1f%%)", share * 100);
	fputs("</p>\n", out);
	put_table(out, "hypervisor-table", hypervisor_cols,
		  json_object_get(v, "hypervisors"));
}

static void put_spray(FILE *out, const json_t *report)
{
	fputs("<p class=\"note\">Many small buckets sharing a top frame or "
	      "module usually mean a signature rule is missing.</p>\n",
	      out);
	put_table(out, "spray-table", spray_cols,
		  json_object_get(report, "spray"));
}

static void put_batches(FILE *out, const json_t *report)
{
	put_table(out, "batch-table", batch_cols,
		  json_object_get(report, "batches"));
}

/* The page's sections in order: id, heading, content. */
static const struct section {
	const char *id;
	const char *title;
	void (*put)(FILE *out, const json_t *report);
} sections[] = {
	{ "bugchecks", "Bugcheck frequency", put_bugchecks },
	{ "exceptions", "Exception frequency", put_exceptions },
	{ "top-buckets", "Top buckets", put_top_buckets },
	{ "new-buckets", "New buckets", put_new_buckets },
	{ "trends", "Rising and falling buckets", put_trends },
	{ "modules", "Module blame", put_modules },
	{ "patterns", "Patterns", put_patterns },
	{ "virtualization", "Virtualization", put_virtualization },
	{ "spray", "Bucket spray warnings", put_spray },
	{ "batches", "Batches", put_batches },
};

/* ---- page ------------------------------------------------------------ */

/* 'sha256-...' of an inline element's exact content, for the CSP. */
static void put_csp_hash(FILE *out, const unsigned char *text, size_t len)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];

	crypto_hash_sha256(digest, text, len);
	sodium_bin2base64(b64, sizeof(b64), digest, sizeof(digest),
			  sodium_base64_VARIANT_ORIGINAL);
	fprintf(out, "'sha256-%s'", b64);
}

/*
 * The policy names the two inline elements by hash, so they run and
 * nothing else does: no other script, style, image, font or connection.
 */
static void put_head(FILE *out, const json_t *report)
{
	const json_t *p = json_object_get(report, "period");

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\""
	      "default-src 'none'; style-src ",
	      out);
	put_csp_hash(out, html_css, (size_t)html_css_len);
	fputs("; script-src ", out);
	put_csp_hash(out, html_js, (size_t)html_js_len);
	fputs("; base-uri 'none'; form-action 'none'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, "
	      "initial-scale=1\">\n<title>Crash dump report ",
	      out);
	put_str(out, json_object_get(p, "since"), 0);
	fputs(" to ", out);
	put_str(out, json_object_get(p, "until"), 0);
	fputs("</title>\n<style>", out);
	fwrite(html_css, 1, (size_t)html_css_len, out);
	fputs("</style>\n</head>\n", out);
}

int report_html_write(FILE *out, const json_t *report, struct diag *d)
{
	const json_t *ver = json_object_get(report, "schema_version");

	if (!json_is_integer(ver) ||
	    json_integer_value(ver) != HTML_SCHEMA_VERSION)
		return diag_fail(d, DF_EFORMAT,
				 "not a version %d report object",
				 HTML_SCHEMA_VERSION);
	put_head(out, report);
	fputs("<body>\n", out);
	put_header(out, report);
	put_totals(out, report);
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		fprintf(out, "<section id=\"%s\"><h2>%s</h2>\n",
			sections[i].id, sections[i].title);
		sections[i].put(out, report);
		fputs("</section>\n", out);
	}
	fputs("<script>", out);
	fwrite(html_js, 1, (size_t)html_js_len, out);
	fputs("</script>\n</body>\n</html>\n", out);
	if (fflush(out) != 0 || ferror(out))
		return diag_fail(d, DF_EIO, "cannot write the HTML report");
	return DF_OK;
}
