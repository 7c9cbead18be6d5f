/*
 * report_html_tool - a schema 2 report JSON file as the HTML (or, with
 * --csv, CSV) report, for tests that need the page before the command line
 * offers it. --json writes the JSON again: the baseline of
 * bench/report_forms.sh (same load, jansson's own writer).
 *
 *   report_html_tool [--csv|--json] REPORT.json OUT
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "df.h"
#include "diag.h"
#include "html.h"

int main(int argc, char **argv)
{
	int csv = argc > 1 && strcmp(argv[1], "--csv") == 0;
	int js = argc > 1 && strcmp(argv[1], "--json") == 0;
	json_error_t jerr;
	struct diag d;

	if (js)
		csv = 1; /* one option before the files */
	if (argc != 3 + csv) {
		fprintf(stderr, "usage: report_html_tool [--csv|--json] "
				"REPORT.json OUT\n");
		return DF_EXIT_USAGE;
	}
	json_t *report = json_load_file(argv[1 + csv], 0, &jerr);

	if (report == NULL) {
		fprintf(stderr, "report_html_tool: '%s': %s\n", argv[1 + csv],
			jerr.text);
		return DF_EXIT_FINDINGS;
	}
	FILE *out = fopen(argv[2 + csv], "w");

	if (out == NULL) {
		perror(argv[2 + csv]);
		json_decref(report);
		return DF_EXIT_SYSTEM;
	}
	diag_init(&d);
	int rc;

	if (js)
		rc = json_dumpf(report, out, JSON_INDENT(2)) == 0
			     ? DF_OK
			     : diag_fail(&d, DF_EIO, "cannot write JSON");
	else if (csv)
		rc = report_csv_write(out, report, &d);
	else
		rc = report_html_write(out, report, &d);

	if (fclose(out) != 0 && rc == DF_OK)
		rc = diag_fail(&d, DF_EIO, "cannot write '%s'", argv[2 + csv]);
	json_decref(report);
	if (rc != DF_OK) {
		fprintf(stderr, "report_html_tool: %s\n", d.msg);
		return DF_EXIT_FINDINGS;
	}
	return DF_EXIT_OK;
}
