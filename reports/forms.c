#include "forms.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "df.h"
#include "diag.h"
#include "csv.h"
#include "html.h"
#include "report.h"
#include "report_text.h"

static int write_json(FILE *out, const json_t *report,
		      const struct report_form_opts *o)
{
	(void)o;
	int rc = json_dumpf(report, out,
			    JSON_INDENT(2) | JSON_REAL_PRECISION(6));

	fputc('\n', out);
	return rc == 0 && !ferror(out) ? DF_OK : DF_EIO;
}

static int write_text(FILE *out, const json_t *report,
		      const struct report_form_opts *o)
{
	struct report_text_opts to = { o != NULL ? o->width : 0,
				       o != NULL && o->colour };

	return report_text_write(out, report, &to);
}

static int write_html(FILE *out, const json_t *report,
		      const struct report_form_opts *o)
{
	struct diag d;

	(void)o;
	diag_init(&d);
	return report_html_write(out, report, &d);
}

static int write_csv(FILE *out, const json_t *report,
		     const struct report_form_opts *o)
{
	struct diag d;

	(void)o;
	diag_init(&d);
	return report_csv_write(out, report, &d);
}

/*
 * The first nightly form is the one DIR/latest points at: the page people
 * open in the morning.
 */
static const struct report_form forms[] = {
	{ "html", "html", true, write_html },
	{ "json", "json", true, write_json },
	{ "csv", "csv", true, write_csv },
	{ "text", "txt", false, write_text },
};

const struct report_form *report_form_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++)
		if (strcmp(forms[i].name, name) == 0)
			return &forms[i];
	return NULL;
}

size_t report_forms_count(void)
{
	return ARRAY_SIZE(forms);
}

const struct report_form *report_form_at(size_t i)
{
	return i < ARRAY_SIZE(forms) ? &forms[i] : NULL;
}

static bool day_ok(const char *day)
{
	int64_t v;

	return report_day_parse(day, &v);
}

/* Write FORM of REPORT to DIR/NAME through a temporary file and rename. */
static int write_file(const struct report_form *form, const json_t *report,
		      const char *dir, const char *name, struct diag *d)
{
	char tmp[4096], path[4096];
	struct report_form_opts o = { 0, false };
	int n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
	int m = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(tmp) || m < 0 ||
	    (size_t)m >= sizeof(path))
		return diag_fail(d, DF_EUSAGE, "output folder name too long");
	int fd = mkstemp(tmp);

	if (fd < 0)
		return diag_fail(d, DF_EIO, "cannot write in %s: %s", dir,
				 strerror(errno));
	FILE *f = fdopen(fd, "w");
	int rc = f != NULL ? form->write(f, report, &o) : DF_EIO;

	if (f != NULL && (fflush(f) != 0 || fsync(fd) != 0))
		rc = DF_EIO;
	if (f != NULL ? fclose(f) != 0 : close(fd) != 0)
		rc = DF_EIO;
	/* mkstemp made it private; a report is for everyone who can see DIR. */
	if (rc == DF_OK && chmod(tmp, 0644) == 0 && rename(tmp, path) == 0)
		return DF_OK;
	unlink(tmp);
	return diag_fail(d, DF_EIO, "cannot write %s: %s", path,
			 strerror(errno));
}

/* Point DIR/LINK at TARGET (a name in DIR), replacing it atomically. */
static int link_latest(const char *dir, const char *link, const char *target,
		       struct diag *d)
{
	char tmp[4096], path[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir, link,
			 (long)getpid());
	int m = snprintf(path, sizeof(path), "%s/%s", dir, link);

	if (n < 0 || (size_t)n >= sizeof(tmp) || m < 0 ||
	    (size_t)m >= sizeof(path))
		return diag_fail(d, DF_EUSAGE, "output folder name too long");
	unlink(tmp); /* left by a run killed at this point */
	if (symlink(target, tmp) == 0 && rename(tmp, path) == 0)
		return DF_OK;
	unlink(tmp);
	return diag_fail(d, DF_EIO, "cannot link %s: %s", path,
			 strerror(errno));
}

int report_nightly_write(const json_t *report, const char *dir,
			 const char *day, struct diag *d)
{
	bool first = true;
	int rc = DF_OK;

	if (!day_ok(day))
		return diag_fail(d, DF_EUSAGE, "not a day: %.16s", day);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return diag_fail(d, DF_EIO, "cannot create %s: %s", dir,
				 strerror(errno));
	for (size_t i = 0; rc == DF_OK && i < ARRAY_SIZE(forms); i++) {
		char name[64], link[64];

		if (!forms[i].nightly)
			continue;
		snprintf(name, sizeof(name), "%s.%s", day, forms[i].ext);
		snprintf(link, sizeof(link), "latest.%s", forms[i].ext);
		rc = write_file(&forms[i], report, dir, name, d);
		if (rc == DF_OK)
			rc = link_latest(dir, link, name, d);
		if (rc == DF_OK && first)
			rc = link_latest(dir, "latest", name, d);
		first = false;
	}
	return rc;
}
