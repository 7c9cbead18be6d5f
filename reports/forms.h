/*
 * forms - the forms a report can be written in, as one table, and the
 * nightly output that writes each of them to a folder.
 *
 * Every form renders the report's JSON object (report_to_json). Adding a
 * form is one row in forms.c's table: its name for --format, the file
 * extension of its nightly file, whether the nightly run writes it, and
 * its writer.
 */
#ifndef REPORTS_FORMS_H
#define REPORTS_FORMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct diag;

struct report_form_opts {
	unsigned width;  /* text: terminal columns, 0 for the default */
	bool colour;     /* text: ANSI colour */
};

struct report_form {
	const char *name;    /* as --format names it */
	const char *ext;     /* nightly file extension */
	bool nightly;        /* written by report_nightly_write */
	int (*write)(FILE *out, const json_t *report,
		     const struct report_form_opts *o);
};

/* The form called NAME, or NULL. */
const struct report_form *report_form_find(const char *name);

/* The table: report_form_at(0 .. report_forms_count() - 1). */
size_t report_forms_count(void);
const struct report_form *report_form_at(size_t i);

/*
 * Write DIR/DAY.EXT for every nightly form and point DIR/latest.EXT (and
 * DIR/latest, at the first nightly form) at them. Each file is written to
 * a temporary name in DIR and renamed, links likewise, so a reader never
 * sees half a file and running it again for the same DAY replaces the
 * files. DAY is "YYYY-MM-DD". DF_OK, DF_EUSAGE (a bad DAY), DF_EIO.
 */
int report_nightly_write(const json_t *report, const char *dir,
			 const char *day, struct diag *d);

#endif /* REPORTS_FORMS_H */
