/*
 * html - the report (schema 2, docs/report-schema.md) as one HTML5 page.
 *
 * The page is self-contained: its style sheet, a small sorting script and
 * SVG charts are inline, it loads nothing and its Content-Security-Policy
 * allows only that style sheet and script (by their SHA-256), so nothing
 * from the data can run even if it slipped through. Every string from the
 * report is written as HTML text or a quoted attribute value, escaped, with
 * invalid UTF-8 replaced by U+FFFD and control characters shown as "\x1b";
 * nothing from the data is written inside the script, the style sheet or a
 * URL. Without script the page shows everything; the script only makes
 * tables sortable. See "HTML" in docs/report-schema.md for the element ids
 * and classes the charts use.
 */
#ifndef REPORTS_HTML_H
#define REPORTS_HTML_H

#include <jansson.h>
#include <stdio.h>

struct diag;

/*
 * Write REPORT, a schema version 2 report object, to OUT. Missing members
 * are shown as empty. Allocates nothing but what stdio does. DF_OK,
 * DF_EFORMAT (not a version 2 report) or DF_EIO (OUT failed), with D
 * filled.
 */
int report_html_write(FILE *out, const json_t *report, struct diag *d);

#endif /* REPORTS_HTML_H */
