#include "outbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct outbuf *o, size_t n)
{
	if (o->len + n <= o->cap)
		return;
	size_t cap = o->cap ? o->cap : 16384;

	while (cap < o->len + n)
		cap *= 2;
	uint8_t *p = realloc(o->p, cap);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(3);
	}
	memset(p + o->cap, 0, cap - o->cap);
	o->p = p;
	o->cap = cap;
}

uint32_t outbuf_reserve(struct outbuf *o, size_t n)
{
	grow(o, n);
	size_t at = o->len;

	o->len += n;
	return (uint32_t)at;
}

void outbuf_align(struct outbuf *o, size_t a)
{
	while (o->len % a)
		outbuf_reserve(o, 1);
}

void outbuf_set16(struct outbuf *o, size_t at, uint16_t v)
{
	o->p[at] = (uint8_t)v;
	o->p[at + 1] = (uint8_t)(v >> 8);
}

void outbuf_set32(struct outbuf *o, size_t at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		o->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void outbuf_set64(struct outbuf *o, size_t at, uint64_t v)
{
	outbuf_set32(o, at, (uint32_t)v);
	outbuf_set32(o, at + 4, (uint32_t)(v >> 32));
}
