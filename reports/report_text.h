/*
 * report_text - the report for people at a terminal.
 *
 * Renders the report's JSON object (report_to_json, schema 2) as aligned
 * tables fitted to a width: the widest text column (names, signatures,
 * owners) gives way first and long cells are cut with '~'. Names from
 * dumps are shown with control characters (C0, DEL, C1, tab) escaped as
 * \xHH and invalid UTF-8 replaced, so no input can drive the terminal.
 * Colour (ANSI) only when asked for: the caller decides (a terminal, and
 * NO_COLOR unset).
 */
#ifndef REPORTS_REPORT_TEXT_H
#define REPORTS_REPORT_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define REPORT_TEXT_MIN_WIDTH 60
#define REPORT_TEXT_DEFAULT_WIDTH 100

struct report_text_opts {
	unsigned width;  /* columns; 0: REPORT_TEXT_DEFAULT_WIDTH */
	bool colour;
};

/* Write REPORT to OUT. DF_OK, DF_ENOMEM or DF_EIO. */
int report_text_write(FILE *out, const json_t *report,
		      const struct report_text_opts *o);

/*
 * S as it may be shown on a terminal: invalid UTF-8 replaced by U+FFFD,
 * control characters written \xHH. Caller frees; NULL on ENOMEM; NULL S
 * gives "-".
 */
char *report_text_escape(const char *s);

#endif /* REPORTS_REPORT_TEXT_H */
