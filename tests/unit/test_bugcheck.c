/*
 * bugcheck: bugcheck names and categories from the embedded table, and
 * Breakpad's exception names.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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

/* Every code of the 2008 frequency table, with its name. */
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

		if (*line == '#' || split_tabs(line, f, 3) < 2)
			continue;
		uint32_t code = (uint32_t)strtoul(f[0], NULL, 16);
		const char *n = bugcheck_name(code);

		if (n == NULL || strcmp(n, f[1]) != 0)
			fail_msg("code %s: want %s, got %s", f[0], f[1],
				 n != NULL ? n : "(null)");
		assert_non_null(bugcheck_category(code));
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
		    bugcheck_name(0x13A) == NULL)
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
		cmocka_unit_test(test_bugcheck__exception_names),
		cmocka_unit_test(test_bugcheck__exception_unknown_is_null),
	};
	return cmocka_run_group_tests_name("bugcheck", tests, NULL, NULL);
}
