#include "model.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "df.h"

struct analysis *analysis_new(void)
{
	struct analysis *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->arena = arena_new(MODEL_ARENA_CAP);
	if (a->arena == NULL) {
		free(a);
		return NULL;
	}
	a->crash.crashing_thread = -1;
	return a;
}

void analysis_destroy(struct analysis **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	arena_destroy(&(*ap)->arena);
	free(*ap);
	*ap = NULL;
}

const char *model_format_name(enum model_format f)
{
	static const char *const names[] = {
		[FORMAT_UNKNOWN] = "unknown",
		[FORMAT_MINIDUMP] = "minidump",
		[FORMAT_KERNEL_DUMP] = "kernel-dump",
		[FORMAT_DEBUGGER_LOG] = "debugger-log",
	};

	if ((size_t)f >= ARRAY_SIZE(names))
		return "unknown";
	return names[f];
}

const char *model_trust_name(enum frame_trust t)
{
	static const char *const names[] = {
		[TRUST_NONE] = "none",
		[TRUST_CONTEXT] = "context",
		[TRUST_PREWALKED] = "prewalked",
		[TRUST_CFI] = "cfi",
		[TRUST_FRAME_POINTER] = "frame_pointer",
		[TRUST_SCAN] = "scan",
		[TRUST_INLINE] = "inline",
	};

	if ((size_t)t >= ARRAY_SIZE(names))
		return "none";
	return names[t];
}

int model_add_error(struct analysis *a, int code, bool has_offset,
		    uint64_t offset, const char *fmt, ...)
{
	struct model_error *e =
		DF_VEC_PUSH(a->arena, a->errors, MODEL_MAX_ERRORS);
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	e->has_offset = has_offset;
	e->offset = offset;
	va_start(ap, fmt);
	e->message = arena_vprintf(a->arena, fmt, ap);
	va_end(ap);
	return code;
}

struct thread *model_add_thread(struct analysis *a)
{
	return DF_VEC_PUSH(a->arena, a->threads, MODEL_MAX_THREADS);
}

struct frame *model_add_frame(struct analysis *a, struct thread *t)
{
	return DF_VEC_PUSH(a->arena, t->frames, MODEL_MAX_FRAMES);
}

struct frame *model_add_own_frame(struct analysis *a, struct thread *t)
{
	return DF_VEC_PUSH(a->arena, t->own_frames, MODEL_MAX_FRAMES);
}

struct module *model_add_module(struct analysis *a)
{
	return DF_VEC_PUSH(a->arena, a->modules, MODEL_MAX_MODULES);
}

struct process *model_add_process(struct analysis *a)
{
	return DF_VEC_PUSH(a->arena, a->processes, MODEL_MAX_PROCESSES);
}

struct handle_type *model_add_handle_type(struct analysis *a)
{
	return DF_VEC_PUSH(a->arena, a->handle_types, MODEL_MAX_HANDLE_TYPES);
}

struct dispatcher *model_add_dispatcher(struct analysis *a)
{
	return DF_VEC_PUSH(a->arena, a->dispatchers, MODEL_MAX_DISPATCHERS);
}

int model_add_field(struct analysis *a, const char *key, const char *value)
{
	struct field *f = DF_VEC_PUSH(a->arena, a->fields, MODEL_MAX_FIELDS);

	if (f == NULL)
		return DF_ELIMIT;
	f->key = arena_strdup(a->arena, key);
	f->value = arena_strdup(a->arena, value);
	if (f->key == NULL || f->value == NULL) {
		a->fields.n--;
		return DF_ENOMEM;
	}
	return DF_OK;
}

const char *model_field(const struct analysis *a, const char *key)
{
	for (size_t i = 0; i < a->fields.n; i++)
		if (strcmp(a->fields.v[i].key, key) == 0)
			return a->fields.v[i].value;
	return NULL;
}

static struct finding *finding_find(const struct analysis *a,
				    const char *pattern)
{
	for (size_t i = 0; i < a->findings.n; i++)
		if (strcmp(a->findings.v[i].pattern, pattern) == 0)
			return &a->findings.v[i];
	return NULL;
}

struct finding *model_add_finding(struct analysis *a, const char *pattern,
				  const char *title, int confidence)
{
	struct finding *f = finding_find(a, pattern);

	if (f != NULL)
		return f;
	f = DF_VEC_PUSH(a->arena, a->findings, MODEL_MAX_FINDINGS);
	if (f == NULL)
		return NULL;
	f->pattern = arena_strdup(a->arena, pattern);
	f->title = arena_strdup(a->arena, title);
	f->confidence = confidence;
	if (f->pattern == NULL || f->title == NULL) {
		a->findings.n--;
		return NULL;
	}
	return f;
}

int model_add_evidence(struct analysis *a, struct finding *f,
		       const char *fmt, ...)
{
	const char **slot =
		DF_VEC_PUSH(a->arena, f->evidence, MODEL_MAX_EVIDENCE);
	va_list ap;

	if (slot == NULL)
		return DF_ELIMIT;
	va_start(ap, fmt);
	*slot = arena_vprintf(a->arena, fmt, ap);
	va_end(ap);
	if (*slot == NULL) {
		f->evidence.n--;
		return DF_ENOMEM;
	}
	return DF_OK;
}

bool model_has_finding(const struct analysis *a, const char *pattern)
{
	return finding_find(a, pattern) != NULL;
}

const struct thread *model_crashing_thread(const struct analysis *a)
{
	long i = a->crash.crashing_thread;

	if (i < 0 || (size_t)i >= a->threads.n)
		return NULL;
	return &a->threads.v[i];
}

static int range_cmp(const void *x, const void *y)
{
	const struct module_range *p = x, *q = y;

	if (p->base != q->base)
		return p->base < q->base ? -1 : 1;
	return p->index < q->index ? -1 : p->index > q->index;
}

int model_index_modules(struct analysis *a)
{
	size_t n = a->modules.n;
	struct module_range *v = arena_alloc(a->arena, (n ? n : 1) * sizeof(*v));
	size_t k = 0;

	a->mod_index = NULL;
	a->mod_index_n = 0;
	a->mod_indexed = SIZE_MAX;
	if (v == NULL)
		return DF_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct module *m = &a->modules.v[i];

		if (!m->unloaded && m->end >= m->base)
			v[k++] = (struct module_range){ m->base, m->end, i };
	}
	qsort(v, k, sizeof(*v), range_cmp);
	a->mod_index = v;
	a->mod_index_n = k;
	a->mod_indexed = n;
	return DF_OK;
}

static const struct module *indexed_at(const struct analysis *a, uint64_t addr)
{
	size_t lo = 0, hi = a->mod_index_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->mod_index[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr > a->mod_index[lo - 1].end)
		return NULL;
	return &a->modules.v[a->mod_index[lo - 1].index];
}

const struct module *model_module_at(const struct analysis *a, uint64_t addr)
{
	if (a->mod_index != NULL && a->mod_indexed == a->modules.n)
		return indexed_at(a, addr);
	for (size_t i = 0; i < a->modules.n; i++) {
		const struct module *m = &a->modules.v[i];

		if (!m->unloaded && addr >= m->base && addr <= m->end &&
		    m->end >= m->base)
			return m;
	}
	return NULL;
}

/* Length of NAME without a trailing ".sys", ".dll" or ".exe". */
static size_t stem_len(const char *name)
{
	size_t n = strlen(name);
	const char *dot = strrchr(name, '.');

	if (dot != NULL && (strcasecmp(dot, ".sys") == 0 ||
			    strcasecmp(dot, ".dll") == 0 ||
			    strcasecmp(dot, ".exe") == 0))
		return (size_t)(dot - name);
	return n;
}

const struct module *model_module_named(const struct analysis *a,
					const char *name)
{
	size_t n = stem_len(name);

	for (size_t i = 0; i < a->modules.n; i++) {
		const char *f = a->modules.v[i].filename;

		if (f != NULL && stem_len(f) == n &&
		    strncasecmp(f, name, n) == 0)
			return &a->modules.v[i];
	}
	return NULL;
}

const struct mem_region *model_region_at(const struct analysis *a,
					 uint64_t addr)
{
	const struct mem_region *r = a->memory.regions.v;
	size_t lo = 0, hi = a->memory.regions.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].base > addr)
			hi = mid;
		else if (addr - r[mid].base >= r[mid].size)
			lo = mid + 1;
		else
			return &r[mid];
	}
	return NULL;
}

const char *model_mem_class_name(enum mem_class c)
{
	static const char *const names[MEM_NCLASS] = {
		[MEM_CLASS_COMMIT] = "MEM_COMMIT",
		[MEM_CLASS_RESERVE] = "MEM_RESERVE",
		[MEM_CLASS_FREE] = "MEM_FREE",
		[MEM_CLASS_IMAGE] = "MEM_IMAGE",
		[MEM_CLASS_MAPPED] = "MEM_MAPPED",
		[MEM_CLASS_PRIVATE] = "MEM_PRIVATE",
	};

	return (unsigned)c < MEM_NCLASS ? names[c] : "?";
}

bool model_protect_executable(uint32_t protect)
{
	/* PAGE_EXECUTE, _READ, _READWRITE, _WRITECOPY (the low byte). */
	return (protect & 0xF0u) != 0;
}
