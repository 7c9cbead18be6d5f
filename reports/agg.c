#include "agg.h"

#include "df.h"

#include <stdlib.h>
#include <string.h>

struct agg {
	struct agg_row *rows;
	size_t n, cap;
	uint32_t *slots;  /* row index + 1, 0 = empty; open addressing */
	size_t nslots;    /* a power of two, at least twice n */
};

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct agg *agg_new(void)
{
	return calloc(1, sizeof(struct agg));
}

void agg_destroy(struct agg **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	for (size_t i = 0; i < (*ap)->n; i++) {
		free((*ap)->rows[i].key);
		free((*ap)->rows[i].label);
	}
	free((*ap)->rows);
	free((*ap)->slots);
	free(*ap);
	*ap = NULL;
}

static size_t slot_of(const struct agg *a, const char *key, size_t len)
{
	size_t mask = a->nslots - 1;
	size_t i = (size_t)fnv1a(key, len) & mask;

	while (a->slots[i] != 0) {
		const struct agg_row *r = &a->rows[a->slots[i] - 1];

		if (strncmp(r->key, key, len) == 0 && r->key[len] == '\0')
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static int rehash(struct agg *a)
{
	size_t n = a->nslots ? a->nslots * 2 : 64;
	uint32_t *ns = calloc(n, sizeof(*ns));

	if (ns == NULL)
		return -1;
	free(a->slots);
	a->slots = ns;
	a->nslots = n;
	for (size_t r = 0; r < a->n; r++) {
		const char *k = a->rows[r].key;

		a->slots[slot_of(a, k, strlen(k))] = (uint32_t)(r + 1);
	}
	return 0;
}

struct agg_row *agg_get(struct agg *a, const char *key, size_t len)
{
	if ((a->n + 1) * 2 > a->nslots && rehash(a) != 0)
		return NULL;
	size_t i = slot_of(a, key, len);

	if (a->slots[i] != 0)
		return &a->rows[a->slots[i] - 1];
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 32;
		struct agg_row *nr = ncap < UINT32_MAX
					     ? realloc(a->rows, ncap * sizeof(*nr))
					     : NULL;

		if (nr == NULL)
			return NULL;
		a->rows = nr;
		a->cap = ncap;
	}
	struct agg_row *r = &a->rows[a->n];

	memset(r, 0, sizeof(*r));
	r->key = strndup(key, len);
	if (r->key == NULL)
		return NULL;
	a->slots[i] = (uint32_t)(++a->n);
	return r;
}

const struct agg_row *agg_find(const struct agg *a, const char *key)
{
	if (a->nslots == 0)
		return NULL;
	size_t i = slot_of(a, key, strlen(key));

	return a->slots[i] != 0 ? &a->rows[a->slots[i] - 1] : NULL;
}

size_t agg_len(const struct agg *a)
{
	return a->n;
}

struct agg_row *agg_row_at(const struct agg *a, size_t i)
{
	return &a->rows[i];
}

int agg_row_label(struct agg_row *r, const char *label)
{
	char *l = strdup(label);

	if (l == NULL)
		return DF_ENOMEM;
	free(r->label);
	r->label = l;
	return DF_OK;
}
