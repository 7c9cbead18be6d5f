/* Unit tests for worker/model.c: module lookups with and without index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "df.h"
#include "model.h"

static void add(struct analysis *a, const char *name, uint64_t base,
		uint64_t size, bool unloaded)
{
	struct module *m = model_add_module(a);

	m->filename = name;
	m->base = base;
	m->end = base + size - 1;
	m->unloaded = unloaded;
}

static void test_model__module_index_agrees_with_scan(void **state)
{
	(void)state;
	struct analysis *a = analysis_new();

	add(a, "c.dll", 0x30000, 0x1000, false);
	add(a, "a.dll", 0x10000, 0x1000, false);
	add(a, "gone.dll", 0x20000, 0x1000, true);
	for (int pass = 0; pass < 2; pass++) {
		assert_string_equal(model_module_at(a, 0x10000)->filename,
				    "a.dll");
		assert_string_equal(model_module_at(a, 0x30fff)->filename,
				    "c.dll");
		assert_null(model_module_at(a, 0x20010)); /* unloaded */
		assert_null(model_module_at(a, 0x11000));
		assert_null(model_module_at(a, 0));
		assert_null(model_module_at(a, UINT64_MAX));
		assert_int_equal(model_index_modules(a), DF_OK);
	}
	/* A module added after the index is still found (index is stale). */
	add(a, "late.dll", 0x50000, 0x1000, false);
	assert_string_equal(model_module_at(a, 0x50010)->filename,
			    "late.dll");
	analysis_destroy(&a);
}

static void test_model__empty_index(void **state)
{
	(void)state;
	struct analysis *a = analysis_new();

	assert_int_equal(model_index_modules(a), DF_OK);
	assert_null(model_module_at(a, 0x1000));
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model__module_index_agrees_with_scan),
		cmocka_unit_test(test_model__empty_index),
	};
	return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
