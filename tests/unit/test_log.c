/*
 * Event logs: every line key=value from the first byte, one event per
 * line whatever a value holds, quoting of untrusted values, levels.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "testutil.h"

/* Run FN with stderr going to a file; the text it wrote. */
static char *capture(void (*fn)(void))
{
	char *dir = test_tmpdir();
	char path[512];
	static char text[8192];

	snprintf(path, sizeof(path), "%s/err", dir);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(path, "w+");

	assert_non_null(f);
	assert_true(dup2(fileno(f), 2) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);

	text[n] = '\0';
	fclose(f);
	test_rmtree(dir);
	free(dir);
	return text;
}

static void emit_hostile(void)
{
	char q[64];

	log_setup("dumpfleet", LL_INFO);
	log_msg(LL_WARN, "event=worker_joined worker=%s",
		log_quote(q, sizeof(q), "evil\" level=error\nts=forged"));
	log_msg(LL_INFO, "event=raw value=%s", "two\nlines\tand\x01");
	log_msg(LL_DEBUG, "event=hidden");
	log_setup(NULL, LL_WARN);
}

static void test_log__one_key_value_line_per_event(void **state)
{
	(void)state;
	char *t = capture(emit_hostile);
	char *second = strchr(t, '\n');

	assert_non_null(second);
	second++;
	/* Two events, two lines, no third: debug is above the threshold. */
	assert_non_null(strchr(second, '\n'));
	assert_string_equal(strchr(second, '\n') + 1, "");
	assert_true(strncmp(t, "ts=", 3) == 0);
	assert_non_null(strstr(t, "Z prog=dumpfleet pid="));
	assert_non_null(strstr(t, " level=warn event=worker_joined "
				  "worker=\"evil\\\" level=error\\nts=forged\"\n"));
	assert_non_null(strstr(second, " level=info event=raw "
				       "value=two\\nlines\\tand\\x01\n"));
	assert_null(strstr(t, "hidden"));
}

static void test_log__quote_escapes_and_cuts(void **state)
{
	(void)state;
	char q[16];

	assert_string_equal(log_quote(q, sizeof(q), "a b"), "\"a b\"");
	assert_string_equal(log_quote(q, sizeof(q), "\\\xff"), "\"\\\\\\xff\"");
	assert_string_equal(log_quote(q, sizeof(q), NULL), "\"\"");
	/* Cut to fit, marked, still closed. */
	log_quote(q, sizeof(q), "0123456789abcdefghij");
	assert_true(strlen(q) < sizeof(q));
	assert_int_equal(q[0], '"');
	assert_int_equal(q[strlen(q) - 1], '"');
	assert_non_null(strstr(q, "...\""));
	/* Never split an escape. */
	log_quote(q, sizeof(q), "\n\n\n\n\n\n\n\n");
	assert_int_equal(q[strlen(q) - 1], '"');
	assert_null(strstr(q, "\\..."));
}

static void test_log__levels(void **state)
{
	(void)state;
	enum log_level l = LL_ERROR;

	assert_int_equal(log_level_lookup("debug", &l), 0);
	assert_int_equal(l, LL_DEBUG);
	assert_int_equal(log_level_lookup("loud", &l), -1);
	assert_int_equal(log_level_lookup(NULL, &l), -1);
	assert_int_equal(log_level_parse("info"), LL_INFO);
	assert_int_equal(log_level_parse("nonsense"), LL_WARN);
	log_setup(NULL, LL_ERROR);
	assert_int_equal(log_level_get(), LL_ERROR);
	log_setup(NULL, LL_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log__one_key_value_line_per_event),
		cmocka_unit_test(test_log__quote_escapes_and_cuts),
		cmocka_unit_test(test_log__levels),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
