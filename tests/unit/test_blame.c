/* Unit tests for worker/blame.c and common/glob.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "blame.h"
#include "glob.h"
#include "model.h"

static struct analysis *with_stack(const char *const *mods, size_t n)
{
	struct analysis *a = analysis_new();
	struct thread *t = model_add_thread(a);

	for (size_t i = 0; i < n; i++) {
		struct frame *f = model_add_frame(a, t);

		f->module = arena_strdup(a->arena, mods[i]);
	}
	a->crash.crashing_thread = 0;
	return a;
}

static void test_blame__debugger_fields_win_in_order(void **state)
{
	(void)state;
	const char *mods[] = { "nt", "acme" };
	struct analysis *a = with_stack(mods, 2);

	model_add_field(a, "PROBABLY_CAUSED_BY", "third.sys");
	model_add_field(a, "IMAGE_NAME", "second.sys");
	blame_pick(a);
	assert_string_equal(a->blame_module, "second.sys");
	assert_string_equal(a->blame_reason, "IMAGE_NAME");
	model_add_field(a, "MODULE_NAME", "first");
	blame_pick(a);
	assert_string_equal(a->blame_module, "first");
	assert_string_equal(a->blame_reason, "MODULE_NAME");
	analysis_destroy(&a);
}

static void test_blame__skips_operating_system_frames(void **state)
{
	(void)state;
	const char *mods[] = { "ntdll.dll", "KERNELBASE.dll", "acmecore.dll",
			       "acmeapp.exe" };
	struct analysis *a = with_stack(mods, 4);

	blame_pick(a);
	assert_string_equal(a->blame_module, "acmecore.dll");
	assert_string_equal(a->blame_reason, "first-non-os-frame");
	analysis_destroy(&a);
}

static void test_blame__os_only_stack_blames_top_frame(void **state)
{
	(void)state;
	const char *mods[] = { "nt", "hal" };
	struct analysis *a = with_stack(mods, 2);

	blame_pick(a);
	assert_string_equal(a->blame_module, "nt");
	assert_string_equal(a->blame_reason, "top-frame-os-only");
	analysis_destroy(&a);
}

static void test_blame__crash_address_module_as_last_resort(void **state)
{
	(void)state;
	struct analysis *a = analysis_new();
	struct module *m = model_add_module(a);

	m->filename = "plugin.dll";
	m->base = 0x10000000;
	m->end = 0x1000ffff;
	a->crash.present = true;
	a->crash.has_address = true;
	a->crash.address = 0x10000420;
	blame_pick(a);
	assert_string_equal(a->blame_module, "plugin.dll");
	assert_string_equal(a->blame_reason, "crash-address");
	analysis_destroy(&a);

	a = analysis_new();
	blame_pick(a);
	assert_null(a->blame_module);
	analysis_destroy(&a);
}

static void test_blame__pool_tag_owner(void **state)
{
	(void)state;
	static const char log[] =
		"*ffffa0012c0f1000 size: 2c0 previous size: 0 (Allocated) *AcNt\n"
		"\t\tPooltag AcNt : Acme network buffers, Binary : acmenet.sys\n";
	static const char os_log[] =
		"\t\tPooltag MmSt : Mm section object prototype ptes, "
		"Binary : nt!mm\n";
	const char *mods[] = { "nt", "ndis" };
	struct analysis *a = with_stack(mods, 2);

	a->bugcheck.present = true;
	a->bugcheck.code = 0x19;
	a->text = log;
	a->text_len = sizeof(log) - 1;
	blame_pick(a);
	assert_string_equal(a->blame_module, "acmenet.sys");
	assert_string_equal(a->blame_reason, "pool-tag-owner");
	/* The kernel's own tag blames nobody; the stack decides. */
	a->text = os_log;
	a->text_len = sizeof(os_log) - 1;
	blame_pick(a);
	assert_string_equal(a->blame_reason, "top-frame-os-only");
	/* Not a pool bugcheck: the tag owner is not asked. */
	a->text = log;
	a->text_len = sizeof(log) - 1;
	a->bugcheck.code = 0xD1;
	blame_pick(a);
	assert_string_equal(a->blame_reason, "top-frame-os-only");
	a->text = NULL;
	analysis_destroy(&a);
}

static void test_blame__os_module_list(void **state)
{
	(void)state;
	assert_true(blame_is_os_module("nt"));
	assert_true(blame_is_os_module("C:\\Windows\\System32\\NTDLL.DLL"));
	assert_true(blame_is_os_module("msvcp140.dll"));
	assert_true(blame_is_os_module("libc.so.6"));
	assert_false(blame_is_os_module("acmenet.sys"));
	assert_false(blame_is_os_module(NULL));
	assert_false(blame_is_os_module(""));
}

static void test_glob__wildcards_and_case(void **state)
{
	(void)state;
	assert_true(glob_match("nt!Ki*", "NT!KiTrap0E"));
	assert_true(glob_match("a?c", "abc"));
	assert_true(glob_match("*", ""));
	assert_false(glob_match("a?c", "ac"));
	assert_false(glob_match("nt!Ke*", "nt!KiTrap"));
	assert_true(glob_match("*a*b*c*", "xxaxxbxxcxx"));
	assert_false(glob_match("*a*b*c*d", "xxaxxbxxcxx"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blame__debugger_fields_win_in_order),
		cmocka_unit_test(test_blame__skips_operating_system_frames),
		cmocka_unit_test(test_blame__os_only_stack_blames_top_frame),
		cmocka_unit_test(test_blame__crash_address_module_as_last_resort),
		cmocka_unit_test(test_blame__pool_tag_owner),
		cmocka_unit_test(test_blame__os_module_list),
		cmocka_unit_test(test_glob__wildcards_and_case),
	};
	return cmocka_run_group_tests_name("blame", tests, NULL, NULL);
}
