/*
 * signature: frame normalisation, rules, prefix, cap and hash of stack
 * signature v1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "df.h"
#include "hash.h"
#include "model.h"
#include "signature.h"
#include "strbuf.h"

/*
 * Add frames to thread T from specs: "mod!fn", "mod!fn+0x1c",
 * "mod+0x1a2b" (module offset), "mod" (module only), "0x1234" (no module).
 */
static void add_frames(struct analysis *a, struct thread *t,
		       const char *const *specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct frame *f = model_add_frame(a, t);
		const char *s = specs[i];
		const char *bang = strchr(s, '!');
		const char *plus = strchr(s, '+');

		assert_non_null(f);
		f->trust = i == 0 ? TRUST_CONTEXT : TRUST_PREWALKED;
		if (strncmp(s, "0x", 2) == 0) {
			f->address = strtoull(s, NULL, 16);
			f->has_address = true;
			continue;
		}
		if (bang != NULL) {
			f->module = arena_strndup(a->arena, s,
						  (size_t)(bang - s));
			if (plus != NULL && plus > bang) {
				f->function = arena_strndup(
					a->arena, bang + 1,
					(size_t)(plus - bang - 1));
				f->func_offset = strtoull(plus + 1, NULL, 16);
				f->has_func_offset = true;
			} else {
				f->function = arena_strdup(a->arena, bang + 1);
			}
		} else if (plus != NULL) {
			f->module =
				arena_strndup(a->arena, s, (size_t)(plus - s));
			f->module_offset = strtoull(plus + 1, NULL, 16);
			f->has_module_offset = true;
		} else {
			f->module = arena_strdup(a->arena, s);
		}
	}
}

/* An analysis whose crashing thread (index 0) has the frames SPECS. */
static struct analysis *with_stack(const char *const *specs, size_t n)
{
	struct analysis *a = analysis_new();

	assert_non_null(a);
	struct thread *t = model_add_thread(a);

	assert_non_null(t);
	add_frames(a, t, specs, n);
	a->crash.crashing_thread = 0;
	return a;
}

static const char *sig(struct analysis *a, const struct sigrules *r)
{
	assert_int_equal(signature_compute(a, r), DF_OK);
	assert_non_null(a->signature);
	return a->signature;
}

static void test_signature__normalises_frames(void **state)
{
	static const char *const stack[] = {
		("C:\\Windows\\System32\\drivers\\E1G60I32.SYS!"
		 "E1000ReceiveIndicate+0x1c"),
		"NDIS!ethFilterDprIndicateReceivePacket+0x1a2",
		"mydrv.sys+0x14F2",
		"ntdll_77a40000!RtlUserThreadStart",
		"ntoskrnl.exe!KiExecuteAllDpcs",
	};
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));
	struct sigrules *none = sigrules_parse("", 0);

	(void)state;
	assert_non_null(none);
	a->bugcheck.present = true;
	a->bugcheck.code = 0xD1;
	assert_string_equal(sig(a, none),
			    "0x000000D1 | e1g60i32!E1000ReceiveIndicate | "
			    "ndis!ethFilterDprIndicateReceivePacket | "
			    "mydrv+0x14f2 | ntdll!RtlUserThreadStart | "
			    "nt!KiExecuteAllDpcs");
	sigrules_destroy(&none);
	analysis_destroy(&a);
}

/* A module-only frame gets its offset from the module list. */
static void test_signature__offset_from_module_list(void **state)
{
	static const char *const stack[] = { "app.exe" };
	struct analysis *a = with_stack(stack, 1);
	struct module *m = model_add_module(a);

	(void)state;
	m->filename = "app.exe";
	m->base = 0x400000;
	m->end = 0x4fffff;
	a->threads.v[0].frames.v[0].address = 0x401234;
	a->threads.v[0].frames.v[0].has_address = true;
	a->crash.has_code = true;
	a->crash.code = 0xC0000005;
	assert_string_equal(sig(a, NULL), "0xC0000005 | app+0x1234");
	analysis_destroy(&a);
}

/* Frames without a module are left out; what is left still counts. */
static void test_signature__skips_unknown_memory(void **state)
{
	static const char *const stack[] = { "0x41414141", "0x8000000",
					     "app!main", "0xdeadbeef" };
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));

	(void)state;
	a->crash.has_code = true;
	a->crash.code = 0xC0000005;
	assert_string_equal(sig(a, NULL), "0xC0000005 | app!main");
	analysis_destroy(&a);
}

/* A scanned pointer to a module's headers is no return address. */
static void test_signature__skips_scanned_header_pointers(void **state)
{
	static const char *const stack[] = {
		"crash.exe+0x1331",   "crash.exe+0x1220", "dbghelp.dll+0x0",
		"dbgcore.dll+0x6a80", "rpcrt4.dll+0xfff",
	};
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));

	(void)state;
	for (size_t i = 1; i < a->threads.v[0].frames.n; i++)
		a->threads.v[0].frames.v[i].trust = TRUST_SCAN;
	assert_string_equal(sig(a, NULL),
			    "unknown | crash+0x1331 | crash+0x1220 | "
			    "dbgcore+0x6a80");
	/* Walked (not scanned) frames keep any offset. */
	a->threads.v[0].frames.v[2].trust = TRUST_CFI;
	assert_string_equal(sig(a, NULL),
			    "unknown | crash+0x1331 | crash+0x1220 | "
			    "dbghelp+0x0 | dbgcore+0x6a80");
	analysis_destroy(&a);
}

static void test_signature__default_rules_drop_handlers(void **state)
{
	static const char *const stack[] = {
		"nt!KeBugCheckEx",
		"nt!KiBugCheckDispatch+0x69",
		"nt!KiPageFault+0x469",
		"mydrv+0x14f2",
		"nt!KiExecuteAllDpcs+0x30e",
	};
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));
	struct sigrules *r = sigrules_default();

	(void)state;
	assert_non_null(r);
	a->bugcheck.present = true;
	a->bugcheck.code = 0xD1;
	assert_string_equal(sig(a, r),
			    "0x000000D1 | mydrv+0x14f2 | nt!KiExecuteAllDpcs");
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

static void test_signature__default_rules_user_mode(void **state)
{
	static const char *const stack[] = {
		"ntdll!NtWaitForSingleObject+0xa",
		"KERNELBASE!WaitForSingleObjectEx+0x8f",
		"ntdll!KiUserExceptionDispatcher+0x2e",
		"KERNELBASE!RaiseException+0x69",
		"VCRUNTIME140!_CxxThrowException+0x97",
		"app!Parser::next+0x34",
		"wow64cpu!CpupSyscallStub+0x9",
		"app!main+0x60",
	};
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));

	(void)state;
	a->crash.has_code = true;
	a->crash.code = 0xE06D7363;
	/* NULL rules in analysis_run mean the defaults; here: explicit. */
	struct sigrules *r = sigrules_default();

	assert_string_equal(sig(a, r),
			    "0xE06D7363 | app!Parser::next | app!main");
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

static void test_signature__skip_and_stop_rules(void **state)
{
	static const char *const stack[] = {
		"mod!helper_one", "mod!helper_two", "app!Work",
		"app!Loop",	  "app!Main",	    "app!Start",
	};
	static const char rules[] = "# test rules\n"
				    "\n"
				    "   skip   MOD!helper_*  \r\n"
				    "stop app!L??p\n";
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));
	struct sigrules *r = sigrules_parse(rules, strlen(rules));

	(void)state;
	assert_non_null(r);
	a->crash.type = "SIGSEGV";
	assert_string_equal(sig(a, r), "SIGSEGV | app!Work | app!Loop");
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

/* '*' crosses the '!' and matches module-offset frames too. */
static void test_signature__glob_forms(void **state)
{
	static const char *const stack[] = { "wow64cpu+0x1234", "wow64!Foo",
					     "wow64win!Bar", "app+0x10" };
	static const char rules[] = "skip wow64*\n";
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));
	struct sigrules *r = sigrules_parse(rules, strlen(rules));

	(void)state;
	assert_string_equal(sig(a, r), "unknown | app+0x10");
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

static void test_signature__frame_cap(void **state)
{
	static const char *const stack[] = { "a!f1", "a!f2", "a!f3", "a!f4",
					     "a!f5", "a!f6", "a!f7" };
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));

	(void)state;
	assert_int_equal(SIGNATURE_MAX_FRAMES, 5);
	assert_string_equal(sig(a, NULL),
			    "unknown | a!f1 | a!f2 | a!f3 | a!f4 | a!f5");
	analysis_destroy(&a);
}

static void test_signature__prefix_choice(void **state)
{
	static const char *const stack[] = { "app!main" };
	struct analysis *a = with_stack(stack, 1);

	(void)state;
	assert_string_equal(sig(a, NULL), "unknown | app!main");
	a->crash.present = true;
	a->crash.type = "EXCEPTION_ACCESS_VIOLATION_READ";
	assert_string_equal(sig(a, NULL),
			    "EXCEPTION_ACCESS_VIOLATION_READ | app!main");
	a->crash.has_code = true;
	a->crash.code = 0xC0000005;
	assert_string_equal(sig(a, NULL), "0xC0000005 | app!main");
	a->bugcheck.present = true;
	a->bugcheck.code = 0x8E;
	assert_string_equal(sig(a, NULL), "0x0000008E | app!main");
	/* 0x1000008E groups with 0x8E. */
	a->bugcheck.code = 0x1000008E;
	assert_string_equal(sig(a, NULL), "0x0000008E | app!main");
	analysis_destroy(&a);
}

static void test_signature__fallback_without_frames(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->bugcheck.present = true;
	a->bugcheck.code = 0xD1;
	assert_string_equal(sig(a, NULL), "0x000000D1");
	a->blame_module = "MyDrv.sys";
	assert_string_equal(sig(a, NULL), "0x000000D1 | mydrv");
	/* A thread that is not the crashing one does not count. */
	struct thread *t = model_add_thread(a);
	static const char *const stack[] = { "other!fn" };

	add_frames(a, t, stack, 1);
	assert_string_equal(sig(a, NULL), "0x000000D1 | mydrv");
	/* Neither does a crashing thread whose frames were all dropped. */
	static const char *const dropped[] = { "0x1234", "nt!KeBugCheckEx" };
	struct sigrules *r = sigrules_default();

	a->threads.v[0].frames.n = 0;
	add_frames(a, t, dropped, ARRAY_SIZE(dropped));
	a->crash.crashing_thread = 0;
	assert_string_equal(sig(a, r), "0x000000D1 | mydrv");
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

/* The hash is the first 8 bytes of SHA-256 of the text, in hex. */
static void test_signature__hash_is_sha256_prefix(void **state)
{
	static const char *const stack[] = { "app!main" };
	struct analysis *a = with_stack(stack, 1);
	uint8_t d[HASH_LEN];
	char hex[17];

	(void)state;
	sig(a, NULL);
	hash_sha256(a->signature, strlen(a->signature), d);
	hash_hex(d, 8, hex);
	assert_string_equal(a->signature_hash, hex);
	assert_int_equal(strlen(a->signature_hash), 16);
	for (const char *p = a->signature_hash; *p; p++)
		assert_true((*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'f'));
	analysis_destroy(&a);
}

static void test_signature__stable_and_distinct(void **state)
{
	static const char *const s1[] = { "nt!KeBugCheckEx", "drv!Foo+0x10",
					  "drv!Bar+0x20" };
	/* Other offsets and addresses, same functions. */
	static const char *const s2[] = { "nt!KeBugCheckEx", "drv!Foo+0x99",
					  "drv!Bar+0x1" };
	static const char *const s3[] = { "nt!KeBugCheckEx", "drv!Foo+0x10",
					  "drv!Baz+0x20" };
	struct analysis *a = with_stack(s1, 3), *b = with_stack(s2, 3),
			*c = with_stack(s3, 3);
	struct sigrules *r = sigrules_default();

	(void)state;
	b->threads.v[0].frames.v[1].address = 0xfffff80012345678;
	b->threads.v[0].frames.v[1].has_address = true;
	sig(a, r);
	sig(b, r);
	sig(c, r);
	assert_string_equal(a->signature, "unknown | drv!Foo | drv!Bar");
	assert_string_equal(a->signature, b->signature);
	assert_string_equal(a->signature_hash, b->signature_hash);
	assert_string_not_equal(a->signature_hash, c->signature_hash);
	/* Same input again: same hash. */
	char first[17];

	memcpy(first, a->signature_hash, sizeof(first));
	sig(a, r);
	assert_string_equal(first, a->signature_hash);
	sigrules_destroy(&r);
	analysis_destroy(&a);
	analysis_destroy(&b);
	analysis_destroy(&c);
}

/* A function name the reader left its offset on is cut like any other. */
static void test_signature__offset_left_in_function(void **state)
{
	static const char *const stack[] = { "app!main" };
	struct analysis *a = with_stack(stack, 1);

	(void)state;
	a->threads.v[0].frames.v[0].function = "main+0x1c";
	assert_string_equal(sig(a, NULL), "unknown | app!main");
	a->threads.v[0].frames.v[0].function = "operator+";
	assert_string_equal(sig(a, NULL), "unknown | app!operator+");
	analysis_destroy(&a);
}

/* Bad rule lines are ignored; the good ones still apply. */
static void test_signature__rules_parse_errors(void **state)
{
	static const char rules[] = "drop app!a\n"  /* unknown keyword */
				    "skip\n"	    /* no glob */
				    "skipapp!b\n"   /* no blank */
				    "skip app!c\n"; /* good */
	static const char *const stack[] = { "app!a", "app!b", "app!c",
					     "app!d" };
	struct analysis *a = with_stack(stack, ARRAY_SIZE(stack));
	struct sigrules *r = sigrules_parse(rules, strlen(rules));

	(void)state;
	assert_non_null(r);
	assert_string_equal(sig(a, r), "unknown | app!a | app!b | app!d");
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

static void test_signature__empty_rules(void **state)
{
	static const char *const stack[] = { "nt!KeBugCheckEx", "drv!Foo" };
	struct analysis *a = with_stack(stack, 2);
	struct sigrules *r = sigrules_parse(NULL, 0);
	struct sigrules *comments = sigrules_parse("# only\n#\n", 9);

	(void)state;
	assert_non_null(r);
	assert_non_null(comments);
	assert_string_equal(sig(a, r), "unknown | nt!KeBugCheckEx | drv!Foo");
	assert_string_equal(sig(a, comments),
			    "unknown | nt!KeBugCheckEx | drv!Foo");
	sigrules_destroy(&r);
	sigrules_destroy(&comments);
	sigrules_destroy(&r); /* NULL-safe */
	sigrules_destroy(NULL);
	analysis_destroy(&a);
}

/* Huge names cannot push the text past SIGNATURE_MAX_TEXT. */
static void test_signature__long_names_are_bounded(void **state)
{
	struct analysis *a = analysis_new();
	struct thread *t = model_add_thread(a);
	char *name = malloc(10000);

	(void)state;
	memset(name, 'x', 9999);
	name[9999] = '\0';
	for (int i = 0; i < 5; i++) {
		struct frame *f = model_add_frame(a, t);

		f->module = name;
		f->function = name;
	}
	a->crash.crashing_thread = 0;
	sig(a, NULL);
	assert_true(strlen(a->signature) <= SIGNATURE_MAX_TEXT);
	assert_int_equal(strlen(a->signature_hash), 16);
	free(name);
	analysis_destroy(&a);
}

static void test_signature__version_and_explain(void **state)
{
	(void)state;
	static const char rules_text[] = "# c\nversion 7\nskip nt!KeBugCheckEx\n"
					 "stop acme!Stop*\n";
	struct sigrules *r = sigrules_parse(rules_text, strlen(rules_text));
	const char *frames[] = { "nt!KeBugCheckEx", "acme!Work",
				 "acme!StopHere", "acme!Never" };
	struct signature_input in = { "0x000000D1", frames, 4, NULL };
	struct strbuf text, ex;
	char hash[17];

	assert_non_null(r);
	assert_int_equal(sigrules_version(r), 7);
	assert_int_equal(sigrules_version(NULL), 0);
	strbuf_init(&text, SIGNATURE_MAX_TEXT);
	strbuf_init(&ex, 1 << 16);
	assert_int_equal(signature_build(&in, r, &text, hash, &ex), DF_OK);
	assert_string_equal(strbuf_str(&text),
			    "0x000000D1 | acme!Work | acme!StopHere");
	assert_non_null(strstr(strbuf_str(&ex),
			       "skipped by line 3 \"skip nt!KeBugCheckEx\""));
	assert_non_null(strstr(strbuf_str(&ex),
			       "kept, then stop by line 4 \"stop acme!Stop*\""));
	assert_non_null(strstr(strbuf_str(&ex), "acme!Never"));
	assert_non_null(strstr(strbuf_str(&ex), "not used"));
	assert_int_equal(strlen(hash), 16);
	strbuf_release(&text);
	strbuf_release(&ex);
	sigrules_destroy(&r);
}

static void test_signature__rebuilt_from_kept_frames(void **state)
{
	(void)state;
	struct analysis *a = analysis_new();
	struct thread *t = model_add_thread(a);
	const char *mods[] = { "nt", "acmenet.sys", "ndis.sys" };
	const char *fns[] = { "KeBugCheckEx", NULL, "ndisMIndicate" };
	struct sigrules *r = sigrules_default();
	struct strbuf text;
	char hash[17];

	for (int i = 0; i < 3; i++) {
		struct frame *f = model_add_frame(a, t);

		f->module = mods[i];
		f->function = fns[i];
		f->module_offset = 0x2c61;
		f->has_module_offset = true;
	}
	a->crash.crashing_thread = 0;
	a->bugcheck.present = true;
	a->bugcheck.code = 0xC2;
	assert_int_equal(signature_compute(a, r), DF_OK);
	assert_true(a->sig_rules_version >= 2);
	assert_int_equal(a->sig_frames.n, 3);
	assert_string_equal(a->sig_frames.v[0], "nt!KeBugCheckEx");

	struct signature_input in = { a->sig_prefix, a->sig_frames.v,
				      a->sig_frames.n, a->sig_fallback };

	strbuf_init(&text, SIGNATURE_MAX_TEXT);
	assert_int_equal(signature_build(&in, r, &text, hash, NULL), DF_OK);
	assert_string_equal(strbuf_str(&text), a->signature);
	assert_string_equal(hash, a->signature_hash);
	strbuf_release(&text);
	sigrules_destroy(&r);
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature__normalises_frames),
		cmocka_unit_test(test_signature__offset_from_module_list),
		cmocka_unit_test(test_signature__skips_unknown_memory),
		cmocka_unit_test(test_signature__skips_scanned_header_pointers),
		cmocka_unit_test(test_signature__default_rules_drop_handlers),
		cmocka_unit_test(test_signature__default_rules_user_mode),
		cmocka_unit_test(test_signature__skip_and_stop_rules),
		cmocka_unit_test(test_signature__glob_forms),
		cmocka_unit_test(test_signature__frame_cap),
		cmocka_unit_test(test_signature__prefix_choice),
		cmocka_unit_test(test_signature__fallback_without_frames),
		cmocka_unit_test(test_signature__hash_is_sha256_prefix),
		cmocka_unit_test(test_signature__stable_and_distinct),
		cmocka_unit_test(test_signature__offset_left_in_function),
		cmocka_unit_test(test_signature__rules_parse_errors),
		cmocka_unit_test(test_signature__empty_rules),
		cmocka_unit_test(test_signature__long_names_are_bounded),
		cmocka_unit_test(test_signature__version_and_explain),
		cmocka_unit_test(test_signature__rebuilt_from_kept_frames),
	};
	return cmocka_run_group_tests_name("signature", tests, NULL, NULL);
}
