#include "archwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

typedef int (*setter)(struct archive *);

struct fmt {
	const char *name;
	setter format;
	setter filter;   /* NULL: none */
	int single;      /* one raw member */
};

static const struct fmt fmts[] = {
	{ "zip", archive_write_set_format_zip, NULL, 0 },
	{ "7z", archive_write_set_format_7zip, NULL, 0 },
	{ "tar", archive_write_set_format_pax_restricted, NULL, 0 },
	{ "tar.gz", archive_write_set_format_pax_restricted,
	  archive_write_add_filter_gzip, 0 },
	{ "tar.bz2", archive_write_set_format_pax_restricted,
	  archive_write_add_filter_bzip2, 0 },
	{ "tar.xz", archive_write_set_format_pax_restricted,
	  archive_write_add_filter_xz, 0 },
	{ "tar.zst", archive_write_set_format_pax_restricted,
	  archive_write_add_filter_zstd, 0 },
	{ "cpio", archive_write_set_format_cpio_newc, NULL, 0 },
	{ "gz", archive_write_set_format_raw, archive_write_add_filter_gzip, 1 },
	{ "bz2", archive_write_set_format_raw, archive_write_add_filter_bzip2,
	  1 },
	{ "xz", archive_write_set_format_raw, archive_write_add_filter_xz, 1 },
	{ "zst", archive_write_set_format_raw, archive_write_add_filter_zstd,
	  1 },
};

static const struct fmt *fmt_find(const char *name)
{
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		if (strcmp(fmts[i].name, name) == 0)
			return &fmts[i];
	return NULL;
}

static int fail(struct archive *a, const char *what)
{
	fprintf(stderr, "archwrite: %s: %s\n", what,
		archive_error_string(a) ? archive_error_string(a) : "error");
	return -1;
}

static int write_member(struct archive *a, const struct archmember *m)
{
	static const unsigned char zeros[65536];
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (e == NULL)
		return -1;
	archive_entry_set_pathname(e, m->name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)m->size);
	archive_entry_set_mtime(e, ARCHWRITE_MTIME, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		rc = fail(a, m->name);
	for (uint64_t off = 0; rc == 0 && off < m->size;) {
		uint64_t left = m->size - off;
		size_t n = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
		const void *p = m->data != NULL
					? (const unsigned char *)m->data + off
					: zeros;

		if (archive_write_data(a, p, n) != (la_ssize_t)n)
			rc = fail(a, m->name);
		off += n;
	}
	archive_entry_free(e);
	return rc;
}

static int configure(struct archive *a, const struct fmt *f,
		     const char *encryption, const char *passphrase)
{
	if (f->format(a) != ARCHIVE_OK)
		return fail(a, f->name);
	if (f->filter != NULL && f->filter(a) != ARCHIVE_OK)
		return fail(a, f->name);
	/* gzip would store today's time in its header. */
	if (f->filter == archive_write_add_filter_gzip)
		archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	if (encryption == NULL)
		return 0;
	if (archive_write_set_format_option(a, "zip", "encryption",
					    encryption) != ARCHIVE_OK ||
	    archive_write_set_passphrase(a, passphrase) != ARCHIVE_OK)
		return fail(a, "encryption");
	return 0;
}

int archwrite(const char *out, const char *format,
	      const struct archmember *m, size_t n, const char *encryption,
	      const char *passphrase)
{
	const struct fmt *f = fmt_find(format);

	if (f == NULL || (f->single && n != 1)) {
		fprintf(stderr, "archwrite: bad format %s for %zu members\n",
			format, n);
		return -1;
	}
	struct archive *a = archive_write_new();
	int rc = a != NULL ? configure(a, f, encryption, passphrase) : -1;

	if (rc == 0 && archive_write_open_filename(a, out) != ARCHIVE_OK)
		rc = fail(a, out);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = write_member(a, &m[i]);
	if (a != NULL && archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = fail(a, "close");
	archive_write_free(a);
	return rc;
}
