#include "owners.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "df.h"
#include "diag.h"
#include "glob.h"

extern const unsigned char owners_data[];
extern const unsigned long owners_data_len;

struct owner_entry {
	char *glob;
	char *owner;
};

struct owners {
	struct owner_entry *v;  /* in match order */
	size_t n;
};

static void entries_free(struct owner_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].glob);
		free(v[i].owner);
	}
	free(v);
}

/* Split one line into glob and owner; false for blank and comment lines. */
static bool parse_line(char *line, char **glob, char **owner)
{
	char *p = line + strspn(line, " \t");
	size_t n;

	line[strcspn(line, "\r\n")] = '\0';
	if (*p == '\0' || *p == '#')
		return false;
	n = strcspn(p, " \t");
	*glob = p;
	p += n;
	if (*p != '\0')
		*p++ = '\0';
	p += strspn(p, " \t");
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		p[--n] = '\0';
	*owner = p;
	return true;
}

/* Parse TEXT into a fresh array; the caller puts it in front of O's. */
static int parse_text(const char *text, size_t len, struct owner_entry **out,
		      size_t *nout, struct diag *d)
{
	struct owner_entry *v = NULL;
	size_t n = 0, lineno = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *start = p;
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((eol != NULL ? eol : end) - p);
		char line[OWNERS_MAX_LINE], *glob, *owner;

		lineno++;
		p = eol != NULL ? eol + 1 : end;
		if (ll >= sizeof(line)) {
			entries_free(v, n);
			return diag_fail(d, DF_ELIMIT, "owners line %zu is too "
					 "long", lineno);
		}
		memcpy(line, start, ll);
		line[ll] = '\0';
		if (!parse_line(line, &glob, &owner))
			continue;
		if (*owner == '\0') {
			entries_free(v, n);
			return diag_fail(d, DF_EFORMAT, "owners line %zu has no "
					 "owner", lineno);
		}
		if (n >= OWNERS_MAX_ENTRIES) {
			entries_free(v, n);
			return diag_fail(d, DF_ELIMIT, "more than %d owners",
					 OWNERS_MAX_ENTRIES);
		}
		struct owner_entry *nv = realloc(v, (n + 1) * sizeof(*v));

		if (nv == NULL) {
			entries_free(v, n);
			return diag_fail(d, DF_ENOMEM, "no memory for owners");
		}
		v = nv;
		v[n].glob = strdup(glob);
		v[n].owner = strdup(owner);
		n++;
		if (v[n - 1].glob == NULL || v[n - 1].owner == NULL) {
			entries_free(v, n);
			return diag_fail(d, DF_ENOMEM, "no memory for owners");
		}
	}
	*out = v;
	*nout = n;
	return DF_OK;
}

int owners_load_text(struct owners *o, const char *text, unsigned long len,
		     struct diag *d)
{
	struct owner_entry *v = NULL;
	size_t n = 0;
	int rc = parse_text(text, len, &v, &n, d);

	if (rc != DF_OK)
		return rc;
	if (o->n + n > OWNERS_MAX_ENTRIES) {
		entries_free(v, n);
		return diag_fail(d, DF_ELIMIT, "more than %d owners",
				 OWNERS_MAX_ENTRIES);
	}
	struct owner_entry *all = realloc(v, (n + o->n + 1) * sizeof(*all));

	if (all == NULL) {
		entries_free(v, n);
		return diag_fail(d, DF_ENOMEM, "no memory for owners");
	}
	if (o->n > 0)
		memcpy(all + n, o->v, o->n * sizeof(*all));
	free(o->v);
	o->v = all;
	o->n += n;
	return DF_OK;
}

int owners_new(struct owners **out, struct diag *d)
{
	struct owners *o = calloc(1, sizeof(*o));
	int rc;

	*out = NULL;
	if (o == NULL)
		return diag_fail(d, DF_ENOMEM, "no memory for owners");
	rc = owners_load_text(o, (const char *)owners_data, owners_data_len, d);
	if (rc != DF_OK) {
		owners_destroy(&o);
		return rc;
	}
	*out = o;
	return DF_OK;
}

int owners_load_file(struct owners *o, const char *path, struct diag *d)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = DF_OK;

	if (f == NULL)
		return diag_fail(d, DF_EIO, "cannot read owners file: %s",
				 strerror(errno));
	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)OWNERS_MAX_ENTRIES * OWNERS_MAX_LINE) {
				rc = diag_fail(d, DF_ELIMIT,
					       "owners file too large");
				break;
			}
			char *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (nb == NULL) {
				rc = diag_fail(d, DF_ENOMEM,
					       "no memory for owners");
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		size_t got = fread(buf + len, 1, cap - len, f);

		len += got;
		if (got == 0)
			break;
	}
	if (rc == DF_OK && ferror(f))
		rc = diag_fail(d, DF_EIO, "cannot read owners file");
	fclose(f);
	if (rc == DF_OK)
		rc = owners_load_text(o, buf != NULL ? buf : "", len, d);
	free(buf);
	return rc;
}

const char *owners_lookup(const struct owners *o, const char *module)
{
	char stem[256];
	const char *dot;

	if (o == NULL || module == NULL || *module == '\0')
		return NULL;
	dot = strrchr(module, '.');
	snprintf(stem, sizeof(stem), "%.*s",
		 (int)(dot != NULL && dot - module < 255 ? dot - module : 255),
		 module);
	for (size_t i = 0; i < o->n; i++)
		if (glob_match(o->v[i].glob, module) ||
		    (dot != NULL && glob_match(o->v[i].glob, stem)))
			return o->v[i].owner;
	return NULL;
}

void owners_destroy(struct owners **op)
{
	if (op == NULL || *op == NULL)
		return;
	entries_free((*op)->v, (*op)->n);
	free(*op);
	*op = NULL;
}
