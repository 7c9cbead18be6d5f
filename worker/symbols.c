#include "symbols.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "df.h"
#include "diag.h"
#include "mapfile.h"
#include "model.h"

/* Cache bounds: entries and bytes of parsed files held. */
#define SYMSTORE_MAX_ENTRIES 512
#define SYMSTORE_MAX_BYTES ((size_t)1 << 30)
/* A file found missing is looked for again after this many seconds. */
#define SYMSTORE_MISS_TTL 60
#define SYMSTORE_PATH_MAX 4096
#define SYMSTORE_KEY_MAX 512
#define SYMSTORE_ID_MAX 64

/* ---- parsing -------------------------------------------------------------- */

struct sym_func {
	uint64_t addr;
	uint64_t end; /* exclusive */
	const char *name;
	size_t seq;   /* file order, to keep the first of equal addresses */
};

struct sym_pub {
	uint64_t addr;
	const char *name;
	size_t seq;
};

struct symfile {
	struct arena *names;
	struct sym_func *funcs;
	size_t nfuncs, capfuncs;
	struct sym_pub *pubs;
	size_t npubs, cappubs;
	size_t skipped;
};

/* A bounded view of one line. */
struct cursor {
	const char *p;
	const char *end;
};

static bool take_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n + 1 || memcmp(c->p, w, n) != 0 ||
	    c->p[n] != ' ')
		return false;
	c->p += n + 1;
	return true;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 1..16 hex digits ending at a space (consumed) or the end of the line. */
static bool take_hex(struct cursor *c, uint64_t *v)
{
	uint64_t x = 0;
	size_t n = 0;

	while (c->p < c->end && *c->p != ' ') {
		int d = hex_digit(*c->p);

		if (d < 0 || ++n > 16)
			return false;
		x = x << 4 | (uint64_t)d;
		c->p++;
	}
	if (n == 0)
		return false;
	if (c->p < c->end)
		c->p++;
	*v = x;
	return true;
}

/* The rest of the line as a name (cut at SYMFILE_MAX_NAME), or NULL. */
static const char *take_name(struct symfile *f, const struct cursor *c)
{
	size_t n = (size_t)(c->end - c->p);

	if (n == 0)
		return NULL;
	if (n > SYMFILE_MAX_NAME)
		n = SYMFILE_MAX_NAME;
	return arena_strndup(f->names, c->p, n);
}

static bool grow(void **v, size_t *cap, size_t n, size_t elem, size_t maxn)
{
	if (n < *cap)
		return true;
	if (n >= maxn)
		return false;
	size_t ncap = *cap ? *cap * 2 : 256;

	if (ncap > maxn)
		ncap = maxn;
	void *nv = realloc(*v, ncap * elem);

	if (nv == NULL)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* FUNC [m] addr size param_size name */
static bool parse_func(struct symfile *f, struct cursor *c, size_t seq)
{
	uint64_t addr, size, param;

	take_word(c, "m");
	if (!take_hex(c, &addr) || !take_hex(c, &size) ||
	    !take_hex(c, &param) || size == 0 || addr > UINT64_MAX - size)
		return false;
	if (!grow((void **)&f->funcs, &f->capfuncs, f->nfuncs,
		  sizeof(*f->funcs), SYMFILE_MAX_FUNCS))
		return false;
	const char *name = take_name(f, c);

	if (name == NULL)
		return false;
	f->funcs[f->nfuncs++] = (struct sym_func){ addr, addr + size, name,
						   seq };
	return true;
}

/* PUBLIC [m] addr param_size name; address 0 is ignored (Breakpad). */
static bool parse_public(struct symfile *f, struct cursor *c, size_t seq)
{
	uint64_t addr, param;

	take_word(c, "m");
	if (!take_hex(c, &addr) || !take_hex(c, &param))
		return false;
	if (addr == 0)
		return true;
	if (!grow((void **)&f->pubs, &f->cappubs, f->npubs, sizeof(*f->pubs),
		  SYMFILE_MAX_PUBLICS))
		return false;
	const char *name = take_name(f, c);

	if (name == NULL)
		return false;
	f->pubs[f->npubs++] = (struct sym_pub){ addr, name, seq };
	return true;
}

/* One line; false when it is malformed (the caller counts it). */
static bool parse_line(struct symfile *f, struct cursor *c, size_t seq)
{
	if (memchr(c->p, '\0', (size_t)(c->end - c->p)) != NULL)
		return false;
	if (take_word(c, "FUNC"))
		return parse_func(f, c, seq);
	if (take_word(c, "PUBLIC"))
		return parse_public(f, c, seq);
	/*
	 * MODULE, FILE, INFO, INLINE, INLINE_ORIGIN, STACK and line records
	 * carry nothing this reader uses.
	 */
	return true;
}

static int cmp_func(const void *x, const void *y)
{
	const struct sym_func *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_pub(const void *x, const void *y)
{
	const struct sym_pub *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Sort; drop FUNCs overlapping an earlier kept one, and duplicate PUBLICs. */
static void finish(struct symfile *f)
{
	size_t k = 0;

	if (f->nfuncs > 1)
		qsort(f->funcs, f->nfuncs, sizeof(*f->funcs), cmp_func);
	for (size_t i = 0; i < f->nfuncs; i++) {
		if (k > 0 && f->funcs[i].addr < f->funcs[k - 1].end)
			continue;
		f->funcs[k++] = f->funcs[i];
	}
	f->nfuncs = k;
	k = 0;
	if (f->npubs > 1)
		qsort(f->pubs, f->npubs, sizeof(*f->pubs), cmp_pub);
	for (size_t i = 0; i < f->npubs; i++) {
		if (k > 0 && f->pubs[i].addr == f->pubs[k - 1].addr)
			continue;
		f->pubs[k++] = f->pubs[i];
	}
	f->npubs = k;
}

static bool is_eol(char ch)
{
	return ch == '\n' || ch == '\r';
}

int symfile_parse(struct symfile **out, const uint8_t *data, size_t len)
{
	*out = NULL;
	if (len > SYMFILE_MAX_BYTES)
		return DF_ELIMIT;
	struct symfile *f = calloc(1, sizeof(*f));

	/* Names are copied with a NUL and 16-byte rounding: at most 2x. */
	if (f == NULL || (f->names = arena_new(2 * len + 4096)) == NULL) {
		free(f);
		return DF_ENOMEM;
	}
	const char *p = (const char *)data, *end = p + len;
	size_t seq = 0;

	while (p < end) {
		const char *e = p;

		while (e < end && !is_eol(*e))
			e++;
		struct cursor c = { p, e };

		if (e > p && !parse_line(f, &c, seq++))
			f->skipped++;
		p = e < end ? e + 1 : e;
	}
	finish(f);
	*out = f;
	return DF_OK;
}

int symfile_load(struct symfile **out, const char *path)
{
	struct mapfile m;
	struct diag d;

	*out = NULL;
	diag_init(&d);
	if (mapfile_open(&m, path, &d) != DF_OK)
		return DF_EIO;
	int rc = symfile_parse(out, m.data, m.len);

	mapfile_close(&m);
	return rc;
}

void symfile_destroy(struct symfile **fp)
{
	struct symfile *f = *fp;

	if (f == NULL)
		return;
	arena_destroy(&f->names);
	free(f->funcs);
	free(f->pubs);
	free(f);
	*fp = NULL;
}

void symfile_stats(const struct symfile *f, struct symfile_stats *st)
{
	st->funcs = f->nfuncs;
	st->publics = f->npubs;
	st->skipped = f->skipped;
	st->bytes = sizeof(*f) + arena_used(f->names) +
		    f->capfuncs * sizeof(*f->funcs) +
		    f->cappubs * sizeof(*f->pubs);
}

/* Index of the last FUNC with addr <= REL, or SIZE_MAX. */
static size_t func_below(const struct symfile *f, uint64_t rel)
{
	size_t lo = 0, hi = f->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->funcs[mid].addr <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? SIZE_MAX : lo - 1;
}

static size_t pub_below(const struct symfile *f, uint64_t rel)
{
	size_t lo = 0, hi = f->npubs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->pubs[mid].addr <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? SIZE_MAX : lo - 1;
}

bool symfile_lookup(const struct symfile *f, uint64_t rel, const char **name,
		    uint64_t *offset)
{
	size_t i = func_below(f, rel);

	if (i != SIZE_MAX && rel < f->funcs[i].end) {
		*name = f->funcs[i].name;
		*offset = rel - f->funcs[i].addr;
		return true;
	}
	size_t j = pub_below(f, rel);

	/* A FUNC between the PUBLIC and REL ends the PUBLIC's reach. */
	if (j == SIZE_MAX || (i != SIZE_MAX && f->pubs[j].addr <= f->funcs[i].addr))
		return false;
	*name = f->pubs[j].name;
	*offset = rel - f->pubs[j].addr;
	return true;
}

/* ---- store paths ------------------------------------------------------------ */

static const char *base_name(const char *s)
{
	const char *b = s;

	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	return b;
}

static bool safe_file_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < SYMSTORE_KEY_MAX / 2 && s[0] != '.' &&
	       strstr(s, "..") == NULL && strchr(s, '/') == NULL &&
	       strchr(s, '\\') == NULL;
}

static bool safe_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SYMSTORE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hex_digit(s[i]) < 0)
			return false;
	return true;
}

int symstore_sym_path(char *out, size_t size, const char *root,
		      const char *debug_file, const char *debug_id)
{
	if (debug_file == NULL || debug_id == NULL)
		return DF_EUSAGE;
	const char *file = base_name(debug_file);

	if (!safe_file_name(file) || !safe_id(debug_id))
		return DF_EUSAGE;
	size_t n = strlen(file);
	int stem = (int)n;

	if (n > 4 && strcasecmp(file + n - 4, ".pdb") == 0)
		stem = (int)n - 4;
	int w = snprintf(out, size, "%s/%s/%s/%.*s.sym", root, file, debug_id,
			 stem, file);

	return w < 0 || (size_t)w >= size ? DF_ELIMIT : DF_OK;
}

/* ---- the cache ---------------------------------------------------------------- */

struct symentry {
	char key[SYMSTORE_KEY_MAX]; /* "debug_file/debug_id" */
	struct symfile *file;       /* NULL: not found (until miss_until) */
	size_t refs;                /* users outside the lock */
	size_t bytes;
	uint64_t last_used;
	uint64_t born;              /* the clock when it was inserted */
	time_t miss_until;
	bool doomed;                /* evicted while in use: free on release */
};

struct symstore {
	char **dirs;
	size_t ndirs;
	pthread_mutex_t mu;
	struct symentry **entries;
	size_t nentries;
	size_t bytes;
	uint64_t clock;
};

struct symstore *symstore_new(const char *const *dirs, size_t n)
{
	struct symstore *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->dirs = calloc(n ? n : 1, sizeof(*s->dirs));
	s->entries = calloc(SYMSTORE_MAX_ENTRIES, sizeof(*s->entries));
	if (s->dirs == NULL || s->entries == NULL ||
	    pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s->dirs);
		free(s->entries);
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		s->dirs[i] = strdup(dirs[i]);
		if (s->dirs[i] == NULL) {
			s->ndirs = i;
			symstore_destroy(&s);
			return NULL;
		}
	}
	s->ndirs = n;
	return s;
}

static void entry_free(struct symentry *e)
{
	symfile_destroy(&e->file);
	free(e);
}

void symstore_destroy(struct symstore **sp)
{
	struct symstore *s = *sp;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nentries; i++)
		entry_free(s->entries[i]);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->dirs);
	free(s->entries);
	pthread_mutex_destroy(&s->mu);
	free(s);
	*sp = NULL;
}

void symstore_fork_prepare(struct symstore *s)
{
	if (s != NULL)
		pthread_mutex_lock(&s->mu);
}

void symstore_fork_done(struct symstore *s)
{
	if (s != NULL)
		pthread_mutex_unlock(&s->mu);
}

/* Remove entry I from the table (under the lock). */
static void drop_entry(struct symstore *s, size_t i)
{
	struct symentry *e = s->entries[i];

	s->bytes -= e->bytes;
	s->entries[i] = s->entries[--s->nentries];
	if (e->refs > 0)
		e->doomed = true;
	else
		entry_free(e);
}

/* Evict least recently used entries until one more of BYTES fits. */
static void make_room(struct symstore *s, size_t bytes)
{
	while (s->nentries > 0 && (s->nentries >= SYMSTORE_MAX_ENTRIES ||
				   s->bytes + bytes > SYMSTORE_MAX_BYTES)) {
		size_t old = 0;

		for (size_t i = 1; i < s->nentries; i++)
			if (s->entries[i]->last_used <
			    s->entries[old]->last_used)
				old = i;
		drop_entry(s, old);
	}
}

/* The cached entry for KEY (a reference taken), or NULL. Under the lock. */
static struct symentry *find_entry(struct symstore *s, const char *key)
{
	for (size_t i = 0; i < s->nentries; i++) {
		struct symentry *e = s->entries[i];

		if (strcmp(e->key, key) != 0)
			continue;
		if (e->file == NULL && time(NULL) >= e->miss_until) {
			drop_entry(s, i);
			return NULL;
		}
		e->refs++;
		e->last_used = ++s->clock;
		return e;
	}
	return NULL;
}

static void release_entry(struct symstore *s, struct symentry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (--e->refs == 0 && e->doomed)
		entry_free(e);
	pthread_mutex_unlock(&s->mu);
}

/* Parse the module's file from the first root that has it; NULL if none. */
static struct symfile *load_from_roots(const struct symstore *s,
				       const struct module *m)
{
	char path[SYMSTORE_PATH_MAX];

	for (size_t i = 0; i < s->ndirs; i++) {
		struct symfile *f = NULL;

		if (symstore_sym_path(path, sizeof(path), s->dirs[i],
				      m->debug_file, m->debug_id) != DF_OK)
			return NULL;
		if (symfile_load(&f, path) == DF_OK)
			return f;
	}
	return NULL;
}

/* Insert a fresh entry (or adopt one a racing thread put there first). */
static struct symentry *insert_entry(struct symstore *s, const char *key,
				     struct symfile *f)
{
	struct symentry *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		symfile_destroy(&f);
		return NULL;
	}
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->file = f;
	if (f != NULL) {
		struct symfile_stats st;

		symfile_stats(f, &st);
		e->bytes = st.bytes;
	} else {
		e->miss_until = time(NULL) + SYMSTORE_MISS_TTL;
	}
	pthread_mutex_lock(&s->mu);
	struct symentry *had = find_entry(s, key);

	if (had != NULL) {
		pthread_mutex_unlock(&s->mu);
		entry_free(e);
		return had;
	}
	make_room(s, e->bytes);
	e->refs = 1;
	e->last_used = ++s->clock;
	e->born = e->last_used;
	s->entries[s->nentries++] = e;
	s->bytes += e->bytes;
	pthread_mutex_unlock(&s->mu);
	return e;
}

/* The entry for module M with a reference taken, or NULL. */
static struct symentry *acquire(struct symstore *s, const struct module *m)
{
	char key[SYMSTORE_KEY_MAX];

	if (m->debug_file == NULL || m->debug_id == NULL)
		return NULL;
	int w = snprintf(key, sizeof(key), "%s/%s", base_name(m->debug_file),
			 m->debug_id);

	if (w < 0 || (size_t)w >= sizeof(key))
		return NULL;
	pthread_mutex_lock(&s->mu);
	struct symentry *e = find_entry(s, key);

	pthread_mutex_unlock(&s->mu);
	if (e != NULL)
		return e;
	/* Parse outside the lock: other threads keep working meanwhile. */
	return insert_entry(s, key, load_from_roots(s, m));
}

uint64_t symstore_mark(struct symstore *s)
{
	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	uint64_t mark = s->clock;

	pthread_mutex_unlock(&s->mu);
	return mark;
}

size_t symstore_loaded_since(struct symstore *s, uint64_t mark,
			     void (*fn)(void *ctx, const char *key), void *ctx)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nentries; i++) {
		const struct symentry *e = s->entries[i];

		if (e->born > mark && e->file != NULL) {
			fn(ctx, e->key);
			n++;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

int symstore_warm(struct symstore *s, const char *key)
{
	char file[SYMSTORE_KEY_MAX];
	const char *slash = strrchr(key, '/');
	struct module m;

	if (s == NULL || slash == NULL || (size_t)(slash - key) >= sizeof(file))
		return DF_EUSAGE;
	memcpy(file, key, (size_t)(slash - key));
	file[slash - key] = '\0';
	memset(&m, 0, sizeof(m));
	m.debug_file = file;
	m.debug_id = slash + 1;
	/* Names from a child are checked like names from a dump. */
	char path[SYMSTORE_PATH_MAX];

	if (s->ndirs == 0 || symstore_sym_path(path, sizeof(path), s->dirs[0],
					       file, m.debug_id) != DF_OK)
		return DF_EUSAGE;
	release_entry(s, acquire(s, &m));
	return DF_OK;
}

/* ---- naming frames ---------------------------------------------------------- */

/* Per analysis: one acquired entry per module, loaded on first use. */
struct symctx {
	struct symstore *s;
	struct analysis *a;
	struct symentry **ent;
	bool *tried;
	int named;
	bool nomem;
};

static const struct module *frame_module(const struct analysis *a,
					 const struct frame *fr, size_t *idx)
{
	for (size_t i = 0; i < a->modules.n; i++) {
		const struct module *m = &a->modules.v[i];

		if (m->unloaded || m->filename == NULL ||
		    strcmp(m->filename, fr->module) != 0)
			continue;
		if (fr->has_address &&
		    (fr->address < m->base || fr->address > m->end))
			continue;
		*idx = i;
		return m;
	}
	return NULL;
}

static void name_frame(struct symctx *c, struct frame *fr)
{
	size_t i;

	if (fr->module == NULL || !fr->has_module_offset ||
	    fr->function != NULL)
		return;
	const struct module *m = frame_module(c->a, fr, &i);

	if (m == NULL)
		return;
	if (!c->tried[i]) {
		c->tried[i] = true;
		c->ent[i] = acquire(c->s, m);
	}
	const char *name;
	uint64_t off;

	if (c->ent[i] == NULL || c->ent[i]->file == NULL ||
	    !symfile_lookup(c->ent[i]->file, fr->module_offset, &name, &off))
		return;
	fr->function = arena_strdup(c->a->arena, name);
	if (fr->function == NULL) {
		c->nomem = true;
		return;
	}
	fr->func_offset = off;
	fr->has_func_offset = true;
	c->named++;
}

static void name_thread(struct symctx *c, struct thread *t)
{
	for (size_t k = 0; k < t->frames.n; k++)
		name_frame(c, &t->frames.v[k]);
	for (size_t k = 0; k < t->own_frames.n; k++)
		name_frame(c, &t->own_frames.v[k]);
}

int symstore_symbolize(struct symstore *s, struct analysis *a)
{
	size_t n = a->modules.n;

	if (s == NULL || s->ndirs == 0 || n == 0)
		return 0;
	struct symctx c = { s, a, calloc(n, sizeof(*c.ent)),
			    calloc(n, sizeof(*c.tried)), 0, false };

	if (c.ent == NULL || c.tried == NULL) {
		free(c.ent);
		free(c.tried);
		return DF_ENOMEM;
	}
	for (size_t t = 0; t < a->threads.n; t++)
		name_thread(&c, &a->threads.v[t]);
	for (size_t i = 0; i < n; i++)
		release_entry(s, c.ent[i]);
	free(c.ent);
	free(c.tried);
	return c.nomem ? DF_ENOMEM : c.named;
}
