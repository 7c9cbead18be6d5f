#include "testdetect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "model.h"
#include "registry.h"

const struct finding *test_found(const struct analysis *a, const char *id)
{
	for (size_t i = 0; i < a->findings.n; i++)
		if (strcmp(a->findings.v[i].pattern, id) == 0)
			return &a->findings.v[i];
	return NULL;
}

const struct finding *test_detect(struct analysis *a, const char *id)
{
	const struct detector *d = detect_find(id);

	assert_non_null(d);
	assert_int_equal(d->run(a), DF_OK);
	return test_found(a, id);
}

struct analysis *test_analyze(const char *log)
{
	struct analysis *a = NULL;

	assert_int_equal(analysis_run(&a, (const uint8_t *)log, strlen(log),
				      NULL),
			 DF_OK);
	assert_non_null(a);
	return a;
}

bool test_evidence_has(const struct finding *f, const char *needle)
{
	for (size_t i = 0; f != NULL && i < f->evidence.n; i++)
		if (strstr(f->evidence.v[i], needle) != NULL)
			return true;
	return false;
}

void test_print_finding(const struct finding *f)
{
	if (f == NULL) {
		printf("  (no finding)\n");
		return;
	}
	printf("  %s (%d): %s\n", f->pattern, f->confidence, f->title);
	for (size_t i = 0; i < f->evidence.n; i++)
		printf("    - %s\n", f->evidence.v[i]);
}

void test_set_text(struct analysis *a, const char *text)
{
	a->text = text;
	a->text_len = strlen(text);
}

void test_set_bugcheck(struct analysis *a, uint32_t code, uint64_t a1,
		       uint64_t a2, uint64_t a3, uint64_t a4)
{
	a->bugcheck.present = true;
	a->bugcheck.code = code;
	a->bugcheck.args[0] = a1;
	a->bugcheck.args[1] = a2;
	a->bugcheck.args[2] = a3;
	a->bugcheck.args[3] = a4;
}

struct module *test_add_module(struct analysis *a, const char *name,
			       uint64_t base, uint64_t size)
{
	struct module *m = model_add_module(a);

	assert_non_null(m);
	m->filename = arena_strdup(a->arena, name);
	m->base = base;
	m->size = size;
	m->end = base + size - 1;
	return m;
}

void test_fill_frame(struct analysis *a, struct frame *f, const char *s,
		     enum frame_trust dflt)
{
	assert_non_null(f);
	f->trust = dflt;
	if (strncmp(s, "scan:", 5) == 0) {
		f->trust = TRUST_SCAN;
		s += 5;
	} else if (strncmp(s, "ctx:", 4) == 0) {
		f->trust = TRUST_CONTEXT;
		s += 4;
	}
	if (strncmp(s, "0x", 2) == 0) {
		f->address = strtoull(s, NULL, 16);
		f->has_address = true;
		return;
	}
	const char *bang = strchr(s, '!');
	const char *plus = strrchr(s, '+');

	if (bang != NULL) {
		size_t fl = plus != NULL && plus > bang
				    ? (size_t)(plus - bang - 1)
				    : strlen(bang + 1);

		f->module = arena_strndup(a->arena, s, (size_t)(bang - s));
		f->function = arena_strndup(a->arena, bang + 1, fl);
	} else if (plus != NULL) {
		f->module = arena_strndup(a->arena, s, (size_t)(plus - s));
		f->module_offset = strtoull(plus + 1, NULL, 16);
		f->has_module_offset = true;
	} else {
		f->module = arena_strdup(a->arena, s);
	}
}

struct thread *test_add_thread(struct analysis *a, uint64_t id,
			       const char *const *specs, size_t n,
			       enum frame_trust first)
{
	struct thread *t = model_add_thread(a);

	assert_non_null(t);
	t->id = id;
	for (size_t i = 0; i < n; i++)
		test_fill_frame(a, model_add_frame(a, t), specs[i],
				i == 0 ? first : TRUST_PREWALKED);
	return t;
}
