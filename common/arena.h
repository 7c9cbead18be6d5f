/*
 * arena - a bump allocator with a hard cap, one per analysed dump.
 *
 * Everything a parse or a detector allocates for one dump comes from its
 * arena and is released in one arena_destroy(). The cap is the per-dump
 * memory limit against hostile input: past it every allocation returns NULL
 * and the parser reports DF_ENOMEM/DF_ELIMIT for that dump only.
 */
#ifndef COMMON_ARENA_H
#define COMMON_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* New arena that will hand out at most CAP bytes in total. NULL on ENOMEM. */
struct arena *arena_new(size_t cap);

/* Free every block of *AP and set *AP to NULL. NULL-safe. */
void arena_destroy(struct arena **ap);

/* N zeroed bytes aligned for any type, or NULL past the cap. */
void *arena_alloc(struct arena *a, size_t n);

/* Bytes handed out so far. */
size_t arena_used(const struct arena *a);

/* Copy of the NUL-terminated S, or NULL. S may be NULL (returns NULL). */
char *arena_strdup(struct arena *a, const char *s);

/* Copy of the first N bytes of S plus a NUL, or NULL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* printf into a fresh arena string, or NULL. */
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Make room for one more element in the array *V holding *N elements of
 * ELEM bytes with capacity *CAP, doubling as needed (old space is left to
 * the arena). Returns a pointer to the new zeroed element at index *N and
 * increments *N, or NULL when the arena is exhausted or MAXN is reached.
 */
void *arena_push(struct arena *a, void **v, size_t *n, size_t *cap,
		 size_t elem, size_t maxn);

/* Typed convenience over arena_push for a DF_VEC. */
#define DF_VEC(T)                                                              \
	struct {                                                               \
		T *v;                                                          \
		size_t n;                                                      \
		size_t cap;                                                    \
	}
#define DF_VEC_PUSH(a, vec, maxn)                                              \
	arena_push((a), (void **)&(vec).v, &(vec).n, &(vec).cap,               \
		   sizeof(*(vec).v), (maxn))

#endif /* COMMON_ARENA_H */
