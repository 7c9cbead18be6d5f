#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 65536
#define ARENA_ALIGN 16

struct block {
	struct block *next; /* previously filled block */
	size_t size;        /* usable bytes in data */
	size_t used;        /* bytes handed out from data */
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct block *head; /* block being filled */
	size_t cap;         /* most bytes this arena may hand out */
	size_t used;        /* bytes handed out (rounded up to alignment) */
};

struct arena *arena_new(size_t cap)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (a != NULL)
		a->cap = cap;
	return a;
}

void arena_destroy(struct arena **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	struct block *b = (*ap)->head;

	while (b != NULL) {
		struct block *next = b->next;

		free(b);
		b = next;
	}
	free(*ap);
	*ap = NULL;
}

static struct block *block_new(size_t need)
{
	size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
	struct block *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	size_t rounded = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (rounded > a->cap - a->used)
		return NULL;
	if (a->head == NULL || rounded > a->head->size - a->head->used) {
		struct block *b = block_new(rounded);

		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	void *p = a->head->data + a->head->used;

	a->head->used += rounded;
	a->used += rounded;
	memset(p, 0, n);
	return p;
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (s == NULL || n == SIZE_MAX)
		return NULL;
	char *p = arena_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	/*
	 * Most results are short: formatted once into BUF and copied, not
	 * measured first and formatted again (readers call this for every
	 * module's ids and versions: a tenth of a minidump's analysis).
	 */
	char buf[256];
	va_list cp;

	va_copy(cp, ap);
	int n = vsnprintf(buf, sizeof(buf), fmt, cp);

	va_end(cp);
	if (n < 0)
		return NULL;
	char *p = arena_alloc(a, (size_t)n + 1);

	if (p == NULL)
		return NULL;
	if ((size_t)n < sizeof(buf))
		memcpy(p, buf, (size_t)n + 1);
	else
		vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);

	va_end(ap);
	return p;
}

void *arena_push(struct arena *a, void **v, size_t *n, size_t *cap,
		 size_t elem, size_t maxn)
{
	if (*n >= maxn)
		return NULL;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;

		if (ncap > maxn)
			ncap = maxn;
		if (ncap > SIZE_MAX / elem)
			return NULL;
		void *nv = arena_alloc(a, ncap * elem);

		if (nv == NULL)
			return NULL;
		if (*n > 0)
			memcpy(nv, *v, *n * elem);
		*v = nv;
		*cap = ncap;
	}
	void *slot = (unsigned char *)*v + *n * elem;

	memset(slot, 0, elem);
	(*n)++;
	return slot;
}
