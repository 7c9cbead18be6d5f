/*
 * reader - a bounds-checked view over untrusted bytes.
 *
 * A reader never owns its bytes and never allocates. Every read checks the
 * remaining length first; on failure it returns DF_ETRUNC and the position
 * does not move. Offsets and sizes from a file are compared against the
 * view's length, never added to a pointer unchecked. Multi-byte values are
 * little-endian and decoded by shifts.
 *
 * The bytes may not all be resident yet (a file fetched from elsewhere
 * range by range): a reader may carry a source whose ensure() makes
 * [off, off+n) of the whole input resident before any byte of it is
 * handed out, and sub-views carry it on. Without a source (NULL, the
 * usual case) every byte is there and the check costs one branch. When
 * ensure() fails the read fails with DF_EIO and the position does not
 * move; the source remembers why.
 */
#ifndef COMMON_READER_H
#define COMMON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where bytes not yet resident come from. */
struct reader_src {
	/*
	 * Make bytes [OFF, OFF+N) of the whole input resident. DF_OK, or a
	 * DF_E* code (the failure is the source's to record, and sticky).
	 */
	int (*ensure)(void *ctx, uint64_t off, uint64_t n);
	void *ctx;
};

struct reader {
	const uint8_t *data; /* first byte of the view */
	size_t len;          /* bytes in the view */
	size_t pos;          /* next byte to read, 0..len */
	uint64_t base;       /* offset of data[0] in the whole input */
	const struct reader_src *src; /* NULL: every byte is resident */
};

/* View LEN bytes at DATA, positioned at 0, with base offset 0, no source. */
void reader_init(struct reader *r, const uint8_t *data, size_t len);

/* Give R (and the views made from it from now on) the source SRC. */
void reader_set_src(struct reader *r, const struct reader_src *src);

/*
 * Borrow N bytes at offset OFF of R (independent of its position), made
 * resident; NULL when they leave R or cannot be made resident.
 */
const uint8_t *reader_at(const struct reader *r, uint64_t off, size_t n);

/*
 * Make OUT a view of N bytes at offset OFF of R (independent of R's
 * position). Returns DF_OK or DF_ETRUNC when the range leaves R.
 */
int reader_sub(const struct reader *r, uint64_t off, uint64_t n,
	       struct reader *out);

/* Move to offset OFF (0..len). DF_ETRUNC past the end. */
int reader_seek(struct reader *r, uint64_t off);

/* Advance by N bytes. DF_ETRUNC past the end. */
int reader_skip(struct reader *r, uint64_t n);

/* Bytes left after the position. */
size_t reader_remaining(const struct reader *r);

/* True when no byte is left. */
bool reader_at_end(const struct reader *r);

/* Offset of the position within the whole input (base + pos). */
uint64_t reader_offset(const struct reader *r);

int reader_u8(struct reader *r, uint8_t *out);
int reader_u16le(struct reader *r, uint16_t *out);
int reader_u32le(struct reader *r, uint32_t *out);
int reader_u64le(struct reader *r, uint64_t *out);

/* Copy N bytes into OUT. */
int reader_bytes(struct reader *r, void *out, size_t n);

/*
 * Borrow a pointer to the next N bytes and advance. The pointer is valid as
 * long as the underlying bytes are.
 */
int reader_ptr(struct reader *r, size_t n, const uint8_t **out);

/* Decode at absolute offset OFF without moving the position. */
int reader_peek_u32le(const struct reader *r, uint64_t off, uint32_t *out);
int reader_peek_u64le(const struct reader *r, uint64_t off, uint64_t *out);

#endif /* COMMON_READER_H */
