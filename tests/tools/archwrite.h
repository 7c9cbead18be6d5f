/*
 * archwrite - write test archives with libarchive's writer: every format
 * the ingest reads that libarchive can write, deterministically (fixed
 * times, owners and modes; members in the order given).
 */
#ifndef TOOLS_ARCHWRITE_H
#define TOOLS_ARCHWRITE_H

#include <stddef.h>
#include <stdint.h>

struct archmember {
	const char *name;   /* stored as given: hostile names welcome */
	const void *data;   /* SIZE bytes, or NULL for SIZE zero bytes */
	uint64_t size;
};

/*
 * Write the N members to OUT in FORMAT: zip, 7z, tar, tar.gz, tar.bz2,
 * tar.xz, tar.zst, cpio, rar (RAR 4, stored members of up to 4 GiB - 1),
 * or a single compressed file gz, bz2, xz, zst
 * (exactly one member; its name is not stored). ENCRYPTION (zipcrypt,
 * aes128, aes256; zip only) with PASSPHRASE encrypts every member; NULL
 * for none. Returns 0, or -1 with a message on stderr.
 */
int archwrite(const char *out, const char *format,
	      const struct archmember *m, size_t n, const char *encryption,
	      const char *passphrase);

/* The fixed modification time of every member (2026-01-01 00:00 UTC). */
#define ARCHWRITE_MTIME 1767225600

#endif /* TOOLS_ARCHWRITE_H */
