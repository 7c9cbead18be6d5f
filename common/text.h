/*
 * text - small string conversions every reader needs.
 *
 * Names in dumps come as Windows paths and as UTF-16LE; the readers of
 * minidumps, kernel dumps and symbol files all turn them into UTF-8 base
 * names the same way.
 */
#ifndef COMMON_TEXT_H
#define COMMON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The part of PATH after its last '/' or '\\' (PATH itself if none). */
const char *text_path_base(const char *path);

/*
 * Convert UNITS UTF-16LE code units at P to UTF-8 in OUT, which must have
 * room for 3 bytes per unit plus the NUL; stops at a NUL unit. Unpaired
 * surrogates become U+FFFD. Returns the byte length (OUT is terminated).
 */
size_t text_utf16le_to_utf8(const uint8_t *p, size_t units, char *out);

#endif /* COMMON_TEXT_H */
