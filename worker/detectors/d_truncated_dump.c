/*
 * truncated-dump: the file holds less than its header promises.
 *
 * A dump quality finding (the catalogue's Truncated Dump, seed series
 * part 18): a complete memory dump written to a page file smaller than
 * physical memory, a copy cut short, an upload that stopped. The
 * minidump reader records DF_ETRUNC for streams, memory ranges and
 * records that run past the end of the file or are shorter than their
 * own counts say; the debugger warns "Dump file has been truncated.  Data
 * may be missing."; !analyze shows DUMP_FILE_ATTRIBUTES with bit 2,
 * InsufficientDumpfileSize. Missing pages in a kernel minidump ("Page X
 * not present in the dump file") are the dump kind, not truncation. The
 * registry lowers the confidence of the other findings on such a dump.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define QUOTE_MAX 160
#define MAX_ERRORS_QUOTED 3
#define ATTR_INSUFFICIENT_DUMPFILE_SIZE 0x4u /* DUMP_FILE_ATTRIBUTES bit 2 */

/* Reader messages that say the file ends before the data does. */
static const char *const end_of_file[] = {
	"end of the file",
	"not in the file",
	"too short",
};

/* Debugger and tool output that says the dump was cut short. */
static const struct {
	const char *phrase;
	int confidence;
} phrases[] = {
	{ "Dump file has been truncated", 90 }, /* dbgeng */
	{ "Insufficient Dumpfile Size", 90 },	/* DUMP_FILE_ATTRIBUTES text */
	{ "dump file is truncated", 85 },
	{ "Dump file is incomplete", 75 },
};

struct state {
	struct analysis *a;
	struct finding *f;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "truncated-dump",                   \
		   "Truncated dump",                                    \
		   (confidence), __VA_ARGS__)

static bool says_end_of_file(const char *message)
{
	for (size_t i = 0; i < ARRAY_SIZE(end_of_file); i++)
		if (dmatch_has(message, end_of_file[i]))
			return true;
	return false;
}

/* The reader's DF_ETRUNC errors, the first few quoted. */
static int check_errors(struct state *s)
{
	const struct analysis *a = s->a;
	size_t count = 0;
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < a->errors.n; i++) {
		const struct model_error *e = &a->errors.v[i];

		if (e->code != DF_ETRUNC)
			continue;
		if (++count > MAX_ERRORS_QUOTED)
			continue;
		int conf = says_end_of_file(e->message) ? 90 : 75;

		if (e->has_offset && !dmatch_has(e->message, "offset"))
			rc = add(s, conf, "reader: %s (offset 0x%" PRIx64 ")",
				 e->message != NULL ? e->message : "truncated",
				 e->offset);
		else
			rc = add(s, conf, "reader: %s",
				 e->message != NULL ? e->message : "truncated");
	}
	if (rc == DF_OK && count > MAX_ERRORS_QUOTED)
		rc = add(s, 0, "%zu more truncated structures",
			 count - MAX_ERRORS_QUOTED);
	return rc;
}

static int check_attributes(struct state *s)
{
	const char *v = model_field(s->a, "DUMP_FILE_ATTRIBUTES");
	char *end;

	if (v == NULL)
		return DF_OK;

	unsigned long long x = strtoull(v, &end, 16);

	if (end == v || (x & ATTR_INSUFFICIENT_DUMPFILE_SIZE) == 0)
		return DF_OK;
	return add(
		s, 90,
		"DUMP_FILE_ATTRIBUTES %.60s: bit 2, InsufficientDumpfileSize",
		v);
}

static int check_text(struct state *s)
{
	const struct analysis *a = s->a;
	char quote[QUOTE_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		const char *p = dmatch_text(a, phrases[i].phrase), *line;

		if (p == NULL)
			continue;
		size_t n = dmatch_line(a, p, &line);

		if (n > QUOTE_MAX)
			n = QUOTE_MAX;
		memcpy(quote, line, n);
		quote[n] = '\0';

		int rc = add(s, phrases[i].confidence, "debugger: \"%s\"",
			     quote);

		if (rc != DF_OK)
			return rc;
	}
	return DF_OK;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = check_errors(&s);

	if (rc == DF_OK)
		rc = check_attributes(&s);
	if (rc == DF_OK && a->text != NULL)
		rc = check_text(&s);
	return rc;
}

const struct detector detector_truncated_dump = {
	.id = "truncated-dump",
	.title = "Truncated dump: streams or pages are cut off where the "
		 "header promises them",
	.description = "the reader's truncation errors (DF_ETRUNC), "
		       "\"Dump file has been truncated\", DUMP_FILE_ATTRIBUTES "
		       "InsufficientDumpfileSize",
	.run = run,
};
