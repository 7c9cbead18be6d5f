/*
 * outbuf - the growing little-endian byte buffer the sample generators
 * (mkminidump, mkkdump) write dumps into. Out of memory ends the program
 * with exit status 3: these are build-time tools.
 */
#ifndef TOOLS_OUTBUF_H
#define TOOLS_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

struct outbuf {
	uint8_t *p;  /* bytes, zero-filled as they are reserved */
	size_t len;  /* bytes written so far */
	size_t cap;  /* bytes allocated */
};

/* Reserve N zero bytes at the end; returns their offset. */
uint32_t outbuf_reserve(struct outbuf *o, size_t n);

/* Pad with zero bytes until the length is a multiple of A. */
void outbuf_align(struct outbuf *o, size_t a);

/* Store V little-endian at offset AT (already reserved). */
void outbuf_set16(struct outbuf *o, size_t at, uint16_t v);
void outbuf_set32(struct outbuf *o, size_t at, uint32_t v);
void outbuf_set64(struct outbuf *o, size_t at, uint64_t v);

#endif /* TOOLS_OUTBUF_H */
