/*
 * csv - the report (schema 2, docs/report-schema.md) as RFC 4180 CSV.
 *
 * One stream holds every table of the report in the layout documented
 * under "CSV layout" in docs/report-schema.md: each table is a header
 * record followed by its data records, tables are separated by one empty
 * record, and the first field of every record names its table (the header
 * record's first field is "table"). Lines end in CRLF. Strings from the
 * report are always quoted, with invalid UTF-8 replaced by U+FFFD, control
 * characters other than tab, CR and LF written as "\x1b", and a leading
 * apostrophe when they start with = + - @ tab or CR, so a spreadsheet
 * does not run them as a formula (OWASP's CSV injection advice).
 */
#ifndef REPORTS_CSV_H
#define REPORTS_CSV_H

#include <jansson.h>
#include <stdio.h>

struct diag;

/*
 * Write REPORT, a schema version 2 report object, to OUT. Missing members
 * give empty tables or fields. DF_OK, DF_EFORMAT (not a version 2 report)
 * or DF_EIO (OUT failed), with D filled.
 */
int report_csv_write(FILE *out, const json_t *report, struct diag *d);

#endif /* REPORTS_CSV_H */
