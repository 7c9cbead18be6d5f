#include "archwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * RAR 4.x (the format of RAR 2.9 to 4.20) with stored members: libarchive
 * reads RAR but cannot write it, and no free program on Debian makes one.
 * Layout from the RAR 4 technical note: a marker block, an archive header,
 * per member a file header (method 0x30, "store") followed by the bytes,
 * and an end-of-archive block. Every header's CRC is the low 16 bits of
 * the CRC-32 of the header from its type byte on.
 */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n-- > 0) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xFFFF);
	le16(p + 2, v >> 16);
}

/* Fill in the CRC of header H (LEN bytes) and write it. */
static int rar_header(FILE *out, uint8_t *h, size_t len)
{
	le16(h, crc32_update(0, h + 2, len - 2) & 0xFFFF);
	return fwrite(h, 1, len, out) == len ? 0 : -1;
}

static int rar_member(FILE *out, const struct archmember *m)
{
	static const uint8_t zeros[65536];
	size_t nlen = strlen(m->name);
	uint8_t *h = calloc(1, 32 + nlen);
	uint32_t crc = 0;
	int rc;

	if (h == NULL || nlen > 0xFFFF || m->size > 0xFFFFFFFFu) {
		free(h);
		return -1;
	}
	for (uint64_t off = 0; off < m->size; off += sizeof(zeros)) {
		size_t k = m->size - off < sizeof(zeros) ? (size_t)(m->size - off)
							 : sizeof(zeros);

		crc = crc32_update(crc, m->data != NULL
					  ? (const uint8_t *)m->data + off
					  : zeros, k);
	}
	h[2] = 0x74;                       /* file header */
	le16(h + 3, 0x8000);               /* data follows the header */
	le16(h + 5, (uint32_t)(32 + nlen));
	le32(h + 7, (uint32_t)m->size);    /* packed = unpacked: stored */
	le32(h + 11, (uint32_t)m->size);
	h[15] = 2;                         /* host: Windows */
	le32(h + 16, crc);
	le32(h + 20, 0x5C210000);          /* 2026-01-01 00:00 as DOS time */
	h[24] = 29;                        /* version needed: 2.9 */
	h[25] = 0x30;                      /* method: store */
	le16(h + 26, (uint32_t)nlen);
	le32(h + 28, 0x20);                /* attributes: archive */
	memcpy(h + 32, m->name, nlen);
	rc = rar_header(out, h, 32 + nlen);
	free(h);
	for (uint64_t off = 0; rc == 0 && off < m->size; off += sizeof(zeros)) {
		size_t k = m->size - off < sizeof(zeros) ? (size_t)(m->size - off)
							 : sizeof(zeros);
		const uint8_t *p = m->data != NULL
					   ? (const uint8_t *)m->data + off
					   : zeros;

		rc = fwrite(p, 1, k, out) == k ? 0 : -1;
	}
	return rc;
}

static int rar_write(const char *path, const struct archmember *m, size_t n)
{
	static const uint8_t marker[7] = { 'R', 'a', 'r', '!', 0x1A, 0x07, 0 };
	uint8_t main_head[13] = { 0, 0, 0x73, 0, 0, 13, 0 };
	uint8_t end_head[7] = { 0, 0, 0x7B, 0x00, 0x40, 7, 0 };
	FILE *out = fopen(path, "wb");
	int rc = out != NULL && fwrite(marker, 1, 7, out) == 7 ? 0 : -1;

	if (rc == 0)
		rc = rar_header(out, main_head, sizeof(main_head));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = rar_member(out, &m[i]);
	if (rc == 0)
		rc = rar_header(out, end_head, sizeof(end_head));
	if (out != NULL && fclose(out) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "archwrite: cannot write %s as rar\n", path);
	return rc;
}

int archwrite(const char *out, const char *format,
	      const struct archmember *m, size_t n, const char *encryption,
	      const char *passphrase)
{
	const struct fmt *f = fmt_find(format);

	if (strcmp(format, "rar") == 0 && encryption == NULL)
		return rar_write(out, m, n);
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
