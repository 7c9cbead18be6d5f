/*
 * mapfile - a read-only memory map of a whole file.
 *
 * Dumps are mapped, not read: a parser touches only the pages it needs, so
 * the cost of a 16 GB kernel dump is the pages read, not its size.
 */
#ifndef COMMON_MAPFILE_H
#define COMMON_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

struct diag;

struct mapfile {
	const uint8_t *data; /* mapped bytes, or NULL for an empty file */
	size_t len;          /* file size */
};

/* Map PATH. DF_OK, or DF_EIO with the reason in D. */
int mapfile_open(struct mapfile *m, const char *path, struct diag *d);

/*
 * Give the mapped pages of [OFF, OFF + LEN) of M back to the kernel: the
 * bytes stay readable (touching them reads the file again), the process's
 * resident memory shrinks. For one pass over a whole big file.
 */
void mapfile_drop(const struct mapfile *m, size_t off, size_t len);

/* Unmap; M can be opened again. */
void mapfile_close(struct mapfile *m);

#endif /* COMMON_MAPFILE_H */
