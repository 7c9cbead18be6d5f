/*
 * hash - content and signature hashes (SHA-256: the x86 SHA extensions
 * where the CPU has them, libsodium's portable code elsewhere; the same
 * digests either way).
 */
#ifndef COMMON_HASH_H
#define COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32
#define HASH_HEX_LEN (2 * HASH_LEN)

/*
 * Initialise libsodium and find out which SHA-256 code this CPU runs,
 * once per process. Returns DF_OK or DF_ENOMEM.
 */
int hash_global_init(void);

/* SHA-256 of N bytes at DATA into OUT. */
void hash_sha256(const void *data, size_t n, uint8_t out[HASH_LEN]);

/*
 * SHA-256 of N bytes at DATA, CHUNK bytes at a time; after each chunk
 * DONE (if not NULL) is called with the chunk, so a caller can give
 * mapped pages back to the kernel during one pass over a big file.
 */
void hash_sha256_chunked(const void *data, size_t n, size_t chunk,
			 void (*done)(const void *p, size_t n, void *ctx),
			 void *ctx, uint8_t out[HASH_LEN]);

/* Lower-case hex of N bytes into OUT, which holds 2*N+1 chars. */
void hash_hex(const uint8_t *bytes, size_t n, char *out);

/*
 * Parse 2*N hex digits from HEX into OUT. Returns DF_OK or DF_EFORMAT.
 */
int hash_unhex(const char *hex, uint8_t *out, size_t n);

/*
 * Incremental SHA-256, for data that is hashed while it streams past
 * (archive members on their way into the spool).
 */
struct hash_stream;

/* A fresh stream; NULL on ENOMEM. */
struct hash_stream *hash_stream_new(void);
void hash_stream_update(struct hash_stream *h, const void *data, size_t n);
/* The digest of everything added; the stream is spent afterwards. */
void hash_stream_final(struct hash_stream *h, uint8_t out[HASH_LEN]);
/* NULL-safe; sets *HP to NULL. */
void hash_stream_destroy(struct hash_stream **hp);

/* SHA-256 of the file at PATH, streamed. DF_OK or DF_EIO. */
int hash_file(const char *path, uint8_t out[HASH_LEN], uint64_t *size);

/*
 * The SHA-256 code in use, chosen at run time; for tests and benchmarks
 * that compare the two. Everything above uses HASH_IMPL_AUTO.
 */
enum hash_impl {
	HASH_IMPL_AUTO,	    /* the fastest this CPU runs */
	HASH_IMPL_PORTABLE, /* libsodium */
	HASH_IMPL_SHANI,    /* x86 SHA extensions */
};

/* 1 if IMPL runs on this CPU and build, else 0. */
int hash_impl_available(enum hash_impl impl);
/* What HASH_IMPL_AUTO is here: "sha-ni" or "portable". */
const char *hash_impl_name(void);
/* hash_sha256() with IMPL. DF_OK, or DF_EUNSUPPORTED if unavailable. */
int hash_sha256_with(enum hash_impl impl, const void *data, size_t n,
		     uint8_t out[HASH_LEN]);
/* hash_stream_new() with IMPL; NULL on ENOMEM or if unavailable. */
struct hash_stream *hash_stream_new_with(enum hash_impl impl);

#endif /* COMMON_HASH_H */
