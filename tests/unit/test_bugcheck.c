/*
 * bugcheck: the bugcheck knowledge base (names, categories, the 2008
 * baseline, parameter meanings, display names) from the embedded tables,
 * and Breakpad's exception names.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bugcheck.h"
#include "df.h"
#include "testutil.h"

static void test_bugcheck__names_of_common_codes(void **state)
{
	(void)state;
	assert_string_equal(bugcheck_name(0xD1),
			    "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
	assert_string_equal(bugcheck_name(0x19), "BAD_POOL_HEADER");
	assert_string_equal(bugcheck_name(0xC2), "BAD_POOL_CALLER");
	assert_string_equal(bugcheck_name(0x1000007E),
			    "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M");
	assert_string_equal(bugcheck_name(0xA), "IRQL_NOT_LESS_OR_EQUAL");
	assert_string_equal(bugcheck_name(0xE2), "MANUALLY_INITIATED_CRASH");
	assert_string_equal(bugcheck_name(0xDEADDEAD),
			    "MANUALLY_INITIATED_CRASH1");
}

static void test_bugcheck__newer_codes(void **state)
{
	static const struct {
		uint32_t code;
		const char *name;
	} want[] = {
		{ 0x20, "KERNEL_APC_PENDING_DURING_EXIT" },
		{ 0x9F, "DRIVER_POWER_STATE_FAILURE" },
		{ 0xE3, "RESOURCE_NOT_OWNED" },
		{ 0xEF, "CRITICAL_PROCESS_DIED" },
		{ 0x124, "WHEA_UNCORRECTABLE_ERROR" },
		{ 0x133, "DPC_WATCHDOG_VIOLATION" },
		{ 0x139, "KERNEL_SECURITY_CHECK_FAILURE" },
		{ 0x13A, "KERNEL_MODE_HEAP_CORRUPTION" },
		{ 0x13C, "INVALID_IO_BOOST_STATE" },
		{ 0x144, "BUGCODE_USB3_DRIVER" },
		{ 0x153, "KERNEL_LOCK_ENTRY_LEAKED_ON_THREAD_TERMINATION" },
		{ 0x154, "UNEXPECTED_STORE_EXCEPTION" },
		{ 0x161, "LIVE_SYSTEM_DUMP" },
		{ 0x18B, "SECURE_KERNEL_ERROR" },
		{ 0x1C8, "MANUALLY_INITIATED_POWER_BUTTON_HOLD" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const char *n = bugcheck_name(want[i].code);

		assert_non_null(n);
		assert_string_equal(n, want[i].name);
	}
}

static void test_bugcheck__categories(void **state)
{
	(void)state;
	assert_string_equal(bugcheck_category(0x19), "pool");
	assert_string_equal(bugcheck_category(0xC2), "pool");
	assert_string_equal(bugcheck_category(0x13A), "pool");
	assert_string_equal(bugcheck_category(0xD1), "irql");
	assert_string_equal(bugcheck_category(0x1E), "exception");
	assert_string_equal(bugcheck_category(0x9C), "hardware");
	assert_string_equal(bugcheck_category(0x124), "hardware");
	assert_string_equal(bugcheck_category(0x24), "filesystem");
	assert_string_equal(bugcheck_category(0x9F), "power");
	assert_string_equal(bugcheck_category(0x139), "security");
	assert_string_equal(bugcheck_category(0xE2), "manual");
	assert_string_equal(bugcheck_category(0x1C8), "manual");
	assert_string_equal(bugcheck_category(0x50), "memory");
	assert_null(bugcheck_category(0x12345));
}

/* Every code has a name and a category; no code appears twice. */
static void test_bugcheck__table_is_complete(void **state)
{
	size_t named = 0;

	(void)state;
	assert_true(bugcheck_count() >= 259 + 7);
	for (uint32_t c = 1; c < 0x400; c++) {
		const char *n = bugcheck_name(c);

		if (n == NULL)
			continue;
		named++;
		assert_non_null(bugcheck_category(c));
		assert_int_equal(bugcheck_code(n), c);
	}
	assert_true(named > 300);
}

static void test_bugcheck__code_by_name(void **state)
{
	(void)state;
	assert_int_equal(bugcheck_code("BAD_POOL_HEADER"), 0x19);
	assert_int_equal(bugcheck_code("KERNEL_MODE_EXCEPTION_NOT_HANDLED_M"),
			 0x1000008E);
	assert_int_equal(bugcheck_code("bad_pool_header"), 0); /* exact */
	assert_int_equal(bugcheck_code("NO_SUCH_BUGCHECK"), 0);
	assert_int_equal(bugcheck_code(""), 0);
}

static void test_bugcheck__unknown_code_is_null(void **state)
{
	(void)state;
	assert_null(bugcheck_name(0));
	assert_null(bugcheck_name(0x12345));
	assert_null(bugcheck_name(0xFFFFFFFF));
	assert_null(bugcheck_name(0x7FFFFFFF));
}

/* Split LINE at tabs into at most N fields; returns the count. */
static size_t split_tabs(char *line, char **f, size_t n)
{
	size_t k = 0;

	f[k++] = line;
	for (char *p = line; *p && k < n; p++) {
		if (*p == '\t') {
			*p = '\0';
			f[k++] = p + 1;
		}
	}
	return k;
}

/* Every code of the 2008 frequency table, with its name and baseline. */
static void test_bugcheck__all_2008_codes(void **state)
{
	const char *path =
		test_shared_path("data/bugcheck-frequencies-2008.tsv");
	size_t len, rows = 0;
	char *text = path != NULL ? (char *)test_read_file(path, &len) : NULL;

	(void)state;
	if (text == NULL) {
		skip();
		return;
	}
	for (char *line = strtok(text, "\r\n"); line != NULL;
	     line = strtok(NULL, "\r\n")) {
		char *f[3];
		size_t nf = *line == '#' ? 0 : split_tabs(line, f, 3);

		if (nf < 2)
			continue;
		uint32_t code = (uint32_t)strtoul(f[0], NULL, 16);
		const char *n = bugcheck_name(code);

		if (n == NULL || strcmp(n, f[1]) != 0)
			fail_msg("code %s: want %s, got %s", f[0], f[1],
				 n != NULL ? n : "(null)");
		assert_non_null(bugcheck_category(code));
		if (nf == 3 && bugcheck_baseline_2008(code) !=
				       (uint32_t)strtoul(f[2], NULL, 10))
			fail_msg("code %s: baseline %u, file says %s", f[0],
				 bugcheck_baseline_2008(code), f[2]);
		rows++;
	}
	free(text);
	assert_int_equal(rows, 259);
}

static void *lookup_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		if (bugcheck_name(0xD1) == NULL ||
		    bugcheck_name(0x13A) == NULL ||
		    bugcheck_arg_meaning(0x19, 1, 0x20) == NULL ||
		    bugcheck_baseline_2008(0xA) != 2890)
			return (void *)1;
	return NULL;
}

/* The first lookups race to build the table; all must see it whole. */
static void test_bugcheck__concurrent_first_use(void **state)
{
	pthread_t t[8];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(pthread_create(&t[i], NULL, lookup_many, NULL),
				 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		void *rv;

		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
	}
}

/* ---- the 2008 baseline ------------------------------------------------- */

static void test_bugcheck__baseline_2008(void **state)
{
	(void)state;
	assert_int_equal(bugcheck_baseline_2008(0x1000008E), 3440);
	assert_int_equal(bugcheck_baseline_2008(0xA), 2890);
	assert_int_equal(bugcheck_baseline_2008(0x8E), 686);
	assert_int_equal(bugcheck_baseline_2008(0xE2), 98);
	/* The _M variant has its own figure; no folding. */
	assert_int_equal(bugcheck_baseline_2008(0x1000007F), 1070);
	assert_int_equal(bugcheck_baseline_2008(0x7F), 834);
	/* Newer codes and unknown codes have none. */
	assert_int_equal(bugcheck_baseline_2008(0x133), 0);
	assert_int_equal(bugcheck_baseline_2008(0x139), 0);
	assert_int_equal(bugcheck_baseline_2008(0x12345), 0);
	assert_int_equal(bugcheck_baseline_2008(0), 0);
}

/* ---- display names and base codes ------------------------------------- */

static void test_bugcheck__display_name(void **state)
{
	(void)state;
	assert_string_equal(bugcheck_display_name(0xD1),
			    "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
	assert_string_equal(bugcheck_display_name(0x1000007E),
			    "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M");
	/* An _M variant the table lacks is named after its base code. */
	assert_string_equal(bugcheck_display_name(0x100000D1),
			    "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
	assert_string_equal(bugcheck_display_name(0xDEADDEAD),
			    "MANUALLY_INITIATED_CRASH1");
	/* Unknown codes are named, never NULL. */
	assert_string_equal(bugcheck_display_name(0), "unknown bugcheck");
	assert_string_equal(bugcheck_display_name(0x12345),
			    "unknown bugcheck");
	assert_string_equal(bugcheck_display_name(0xFFFFFFFF),
			    "unknown bugcheck");
	assert_string_equal(bugcheck_display_name(0x10012345),
			    "unknown bugcheck");
}

static void test_bugcheck__base_code(void **state)
{
	(void)state;
	assert_int_equal(bugcheck_base_code(0x1000007E), 0x7E);
	assert_int_equal(bugcheck_base_code(0x1000008E), 0x8E);
	assert_int_equal(bugcheck_base_code(0x7E), 0x7E);
	/* Only a top nibble of exactly 1 is the _M bit. */
	assert_int_equal(bugcheck_base_code(0xDEADDEAD), 0xDEADDEAD);
	assert_int_equal(bugcheck_base_code(0xC000021A), 0xC000021A);
	assert_int_equal(bugcheck_base_code(0x4000008A), 0x4000008A);
}

/* ---- parameter meanings ------------------------------------------------ */

static void assert_meaning(uint32_t code, int argno, uint64_t value,
			   const char *needle)
{
	const char *m = bugcheck_arg_meaning(code, argno, value);

	if (m == NULL || strstr(m, needle) == NULL)
		fail_msg("0x%X Arg%d 0x%llx: want \"%s\", got \"%s\"",
			 (unsigned)code, argno, (unsigned long long)value,
			 needle, m != NULL ? m : "(null)");
}

static void test_bugcheck__arg_meanings_exact(void **state)
{
	(void)state;
	assert_string_equal(bugcheck_arg_meaning(0x19, 1, 0x20),
			    "a pool block header size is corrupt");
	assert_string_equal(bugcheck_arg_meaning(0xC2, 1, 0x7),
			    "attempt to free pool which was already freed");
	assert_meaning(0xC2, 1, 0x0, "zero byte pool allocation");
	assert_meaning(0xA, 2, 0x2, "DISPATCH_LEVEL");
	assert_meaning(0xA, 3, 0x8, "execute");
	assert_meaning(0xD1, 3, 0x1, "write");
	assert_meaning(0x7F, 1, 0x8, "double fault");
	assert_meaning(0x7F, 1, 0x0, "divide error");
	assert_meaning(0x139, 1, 0x3, "FAST_FAIL_CORRUPT_LIST_ENTRY");
	assert_meaning(0x139, 1, 0x2, "FAST_FAIL_STACK_COOKIE_CHECK_FAILURE");
	assert_meaning(0x9F, 1, 0x3, "blocking an IRP");
	assert_meaning(0xF4, 1, 0x3, "process");
	assert_meaning(0xF4, 1, 0x6, "thread");
	assert_meaning(0x124, 1, 0x0, "machine check");
	assert_meaning(0x1A, 1, 0x41790, "page table page");
	assert_meaning(0x1A, 1, 0x61941, "paging hierarchy");
	assert_meaning(0x133, 1, 0x1, "DISPATCH_LEVEL");
	assert_meaning(0x13A, 1, 0x12, "VS subsegment corruption");
	assert_meaning(0xC4, 1, 0x62, "without freeing its pool");
}

/* No row for the value: the parameter's general meaning. */
static void test_bugcheck__arg_meanings_general(void **state)
{
	(void)state;
	assert_meaning(0xA, 1, 0xfffff80012345678, "memory address");
	assert_meaning(0xA, 3, 0x9, "bitfield");
	assert_meaning(0xA, 4, 0, "instruction");
	assert_meaning(0x19, 1, 0x777, "subtype");
	assert_meaning(0x1E, 1, 0xC0000005, "exception code");
	assert_meaning(0x7E, 4, 0, "context record");
	assert_meaning(0x7F, 1, 0x42, "trap number");
	assert_meaning(0x124, 2, 0xffffe0011234, "WHEA_ERROR_RECORD");
	/* bugcheck_arg_value_meaning() has no general rows. */
	assert_null(bugcheck_arg_value_meaning(0x19, 1, 0x777));
	assert_null(bugcheck_arg_value_meaning(0xA, 1, 0x20));
	assert_string_equal(bugcheck_arg_value_meaning(0x19, 1, 0x20),
			    "a pool block header size is corrupt");
}

/* _M codes and sign-extended 32-bit values find their rows. */
static void test_bugcheck__arg_meanings_normalised(void **state)
{
	(void)state;
	assert_meaning(0x1000007F, 1, 0x8, "double fault");
	assert_meaning(0x1000007E, 1, 0xffffffffc0000005, "exception code");
	assert_meaning(0x1000008E, 3, 0, "trap frame");
	assert_meaning(0x7A, 2, 0xffffffffc000009c,
		       "STATUS_DEVICE_DATA_ERROR");
	assert_meaning(0x7A, 2, 0xc000009c, "STATUS_DEVICE_DATA_ERROR");
	/* A value that is not sign-extended keeps all its bits. */
	assert_meaning(0x7A, 2, 0x1c000009c, "error status");
}

static void test_bugcheck__arg_meanings_unknown(void **state)
{
	(void)state;
	assert_null(bugcheck_arg_meaning(0x12345, 1, 0));   /* no code */
	assert_null(bugcheck_arg_meaning(0xE2, 1, 0));      /* no params */
	assert_null(bugcheck_arg_meaning(0x101, 2, 0));     /* not listed */
	assert_null(bugcheck_arg_meaning(0xA, 0, 0));       /* bad argno */
	assert_null(bugcheck_arg_meaning(0xA, 5, 0));
	assert_null(bugcheck_arg_meaning(0xA, -1, 0));
	assert_null(bugcheck_arg_value_meaning(0xA, 5, 0x2));
}

/*
 * Every row of worker/data/bugcheck-args.tsv is well formed, names a
 * bugcheck of the table, is the one a lookup returns (no duplicate keys)
 * and the loaded table has them all.
 */
static void test_bugcheck__args_file_is_consistent(void **state)
{
	char path[4096];
	size_t len, rows = 0;
	char *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/worker/data/bugcheck-args.tsv",
		 test_source_dir());
	text = (char *)test_read_file(path, &len);
	if (text == NULL) {
		skip();
		return;
	}
	for (char *line = strtok(text, "\r\n"); line != NULL;
	     line = strtok(NULL, "\r\n")) {
		char *f[4];

		if (*line == '#')
			continue;
		if (split_tabs(line, f, 4) != 4)
			fail_msg("malformed row: %s", line);
		uint32_t code = (uint32_t)strtoul(f[0], NULL, 16);
		int argno = atoi(f[1]);
		bool any = strcmp(f[2], "*") == 0;
		uint64_t value = any ? 0 : strtoull(f[2], NULL, 16);
		const char *got = any ? NULL
				      : bugcheck_arg_value_meaning(code, argno,
								   value);

		if (bugcheck_name(code) == NULL)
			fail_msg("row for unknown bugcheck %s", f[0]);
		assert_true(argno >= 1 && argno <= 4);
		if (any)
			got = bugcheck_arg_meaning(code, argno, 0xdeadbeefcafe);
		if (got == NULL || strcmp(got, f[3]) != 0)
			fail_msg("0x%X Arg%d %s: file says \"%s\", lookup "
				 "gives \"%s\" (duplicate key?)",
				 (unsigned)code, argno, f[2], f[3],
				 got != NULL ? got : "(null)");
		rows++;
	}
	free(text);
	assert_int_equal(rows, bugcheck_arg_count());
	assert_true(rows > 300);
}

static void test_bugcheck__exception_names(void **state)
{
	(void)state;
	assert_string_equal(exception_name(0xC0000005),
			    "EXCEPTION_ACCESS_VIOLATION");
	assert_string_equal(exception_name(0xC0000409),
			    "EXCEPTION_STACK_BUFFER_OVERRUN");
	assert_string_equal(exception_name(0xC0000374),
			    "EXCEPTION_HEAP_CORRUPTION");
	assert_string_equal(exception_name(0x80000003), "EXCEPTION_BREAKPOINT");
	assert_string_equal(exception_name(0x80000004),
			    "EXCEPTION_SINGLE_STEP");
	assert_string_equal(exception_name(0xC00000FD),
			    "EXCEPTION_STACK_OVERFLOW");
	assert_string_equal(exception_name(0xC000001D),
			    "EXCEPTION_ILLEGAL_INSTRUCTION");
	assert_string_equal(exception_name(0xC0000094),
			    "EXCEPTION_INT_DIVIDE_BY_ZERO");
	assert_string_equal(exception_name(0xC0000096),
			    "EXCEPTION_PRIV_INSTRUCTION");
	assert_string_equal(exception_name(0xE06D7363),
			    "Unhandled C++ Exception");
	assert_string_equal(exception_name(0x40010005), "DBG_CONTROL_C");
	assert_string_equal(exception_name(0x0517A7ED), "Simulated Exception");
}

/* Codes Breakpad prints as numbers have no name here either. */
static void test_bugcheck__exception_unknown_is_null(void **state)
{
	(void)state;
	assert_null(exception_name(0));
	assert_null(exception_name(0xC0000602)); /* STATUS_FAIL_FAST_... */
	assert_null(exception_name(0xE0434352)); /* CLR */
	assert_null(exception_name(0x406D1388)); /* thread naming */
	assert_null(exception_name(0xFFFFFFFF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bugcheck__concurrent_first_use),
		cmocka_unit_test(test_bugcheck__names_of_common_codes),
		cmocka_unit_test(test_bugcheck__newer_codes),
		cmocka_unit_test(test_bugcheck__categories),
		cmocka_unit_test(test_bugcheck__table_is_complete),
		cmocka_unit_test(test_bugcheck__code_by_name),
		cmocka_unit_test(test_bugcheck__unknown_code_is_null),
		cmocka_unit_test(test_bugcheck__all_2008_codes),
		cmocka_unit_test(test_bugcheck__baseline_2008),
		cmocka_unit_test(test_bugcheck__display_name),
		cmocka_unit_test(test_bugcheck__base_code),
		cmocka_unit_test(test_bugcheck__arg_meanings_exact),
		cmocka_unit_test(test_bugcheck__arg_meanings_general),
		cmocka_unit_test(test_bugcheck__arg_meanings_normalised),
		cmocka_unit_test(test_bugcheck__arg_meanings_unknown),
		cmocka_unit_test(test_bugcheck__args_file_is_consistent),
		cmocka_unit_test(test_bugcheck__exception_names),
		cmocka_unit_test(test_bugcheck__exception_unknown_is_null),
	};
	return cmocka_run_group_tests_name("bugcheck", tests, NULL, NULL);
}
