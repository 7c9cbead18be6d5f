/* Unit tests for cli/config: INI sections and keys into argv words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <getopt.h>

#include "config.h"
#include "df.h"
#include "diag.h"
#include "testutil.h"

/* The words TEXT gives COMMAND, joined by '|', into OUT; or the rc. */
static int words(const char *text, const char *command, char *out,
		 size_t size, struct diag *d)
{
	struct config_argv *ca = NULL;
	size_t used = 0;

	diag_init(d);
	out[0] = '\0';
	int rc = config_argv_from_text(&ca, text, strlen(text), "t.conf",
				       command, d);

	if (rc != DF_OK) {
		assert_null(ca);
		return rc;
	}
	char **v = config_argv_vector(ca);

	assert_null(v[config_argv_count(ca)]);
	for (int i = 0; i < config_argv_count(ca); i++) {
		int n = snprintf(out + used, size - used, "%s%s",
				 i ? "|" : "", v[i]);

		assert_true(n >= 0 && (size_t)n < size - used);
		used += (size_t)n;
	}
	config_argv_destroy(&ca);
	assert_null(ca);
	return rc;
}

static const char fleet_conf[] =
	"; the fleet\n"
	"[broker]\n"
	"bind = tcp://*:5555\n"
	"store = /srv/broker-store\n"
	"[common]\n"
	"store = /srv/store\n"
	"symbols = /srv/sym1\n"
	"[worker]\n"
	"connect = tcp://broker:5555\n"
	"symbols = /srv/sym2\n"
	"symbols = /srv/sym3 ; inline comment\n"
	"[submit]\n"
	"broker = tcp://broker:5555\n"
	"wait = yes\n"
	"[report]\n"
	"format = json\n";

/* [common] first, then the command's own, each in file order. */
static void test_sections_in_order(void **state)
{
	char out[512];
	struct diag d;

	(void)state;
	assert_int_equal(words(fleet_conf, "broker", out, sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "--store=/srv/store|--bind=tcp://*:5555|"
				 "--store=/srv/broker-store");
	assert_int_equal(words(fleet_conf, "worker", out, sizeof(out), &d),
			 DF_OK);
	/* worker has no --store: [common]'s store is not given to it. */
	assert_string_equal(out, "--symbols=/srv/sym1|"
				 "--connect=tcp://broker:5555|"
				 "--symbols=/srv/sym2|--symbols=/srv/sym3");
	assert_int_equal(words(fleet_conf, "submit", out, sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "--broker=tcp://broker:5555|--wait");
	assert_int_equal(words(fleet_conf, "report", out, sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "--store=/srv/store|--format=json");
	/* Checked, nothing taken. */
	assert_int_equal(words(fleet_conf, "patterns", out, sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "");
	assert_int_equal(words(fleet_conf, NULL, out, sizeof(out), &d), DF_OK);
	assert_string_equal(out, "");
}

/* Flags take yes/no words; "no" adds nothing; others are errors. */
static void test_flags(void **state)
{
	static const char *const on[] = { "yes", "true", "on", "1" };
	static const char *const off[] = { "no", "false", "off", "0" };
	char text[64], out[128];
	struct diag d;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
		snprintf(text, sizeof(text), "[analyze]\njson = %s\n", on[i]);
		assert_int_equal(words(text, "analyze", out, sizeof(out), &d),
				 DF_OK);
		assert_string_equal(out, "--json");
		snprintf(text, sizeof(text), "[analyze]\njson = %s\n", off[i]);
		assert_int_equal(words(text, "analyze", out, sizeof(out), &d),
				 DF_OK);
		assert_string_equal(out, "");
	}
	assert_int_equal(words("[bucket]\n\nexplain = maybe\n", "report", out,
			       sizeof(out), &d),
			 DF_EUSAGE);
	assert_string_equal(d.msg, "config t.conf:3: yes or no expected for "
				   "--explain");
}

struct bad {
	const char *text;
	const char *msg;
};

/* Every error names the file and the line, whichever command runs. */
static void test_errors_name_file_and_line(void **state)
{
	static const struct bad bad[] = {
		{ "[report]\nformat = json\nfromat = text\n",
		  "config t.conf:3: dumpfleet report has no option --fromat" },
		{ "[worker]\n# c\nstore = x\n",
		  "config t.conf:3: dumpfleet worker has no option --store" },
		{ "[worker]\nhelp = yes\n",
		  "config t.conf:2: dumpfleet worker has no option --help" },
		{ "[common]\nstore = a\nnosuch = b\n",
		  "config t.conf:3: no command has the option --nosuch" },
		{ "store = a\n",
		  "config t.conf:1: key before any [section]: store" },
		{ "[brokr]\nbind = x\n",
		  "config t.conf:2: unknown section: brokr" },
		{ "[broker]\nbind\n",
		  "config t.conf:2: expected [section] or key = value" },
		{ "[broker\nbind = x\n",
		  "config t.conf:1: expected [section] or key = value" },
		/* inih's syntax error comes first when it is earlier. */
		{ "[report]\n\nformat json\nfromat = x\n",
		  "config t.conf:3: expected [section] or key = value" },
		{ "[report]\nfromat = x\nformat json\n",
		  "config t.conf:2: dumpfleet report has no option --fromat" },
	};
	char out[128];
	struct diag d;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(words(bad[i].text, "broker", out, sizeof(out),
				       &d),
				 DF_EUSAGE);
		assert_string_equal(d.msg, bad[i].msg);
	}
}

/* An indented key is a key; no line continues the value above it. */
static void test_indented_keys(void **state)
{
	char out[128];
	struct diag d;

	(void)state;
	assert_int_equal(words("[report]\n  store = s\n\tformat = json\r\n"
			       "    top = 3\n",
			       "report", out, sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "--store=s|--format=json|--top=3");
}

/* Values keep '=', ':' and leading dashes, never split or parsed. */
static void test_values_verbatim(void **state)
{
	char out[256];
	struct diag d;

	(void)state;
	assert_int_equal(words("[submit]\nbatch = --wait=a:b c\n"
			       "broker = ipc:///run/df.sock\n",
			       "submit", out, sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "--batch=--wait=a:b c|"
				 "--broker=ipc:///run/df.sock");
	assert_int_equal(words("[submit]\nbatch =\n", "submit", out,
			       sizeof(out), &d),
			 DF_OK);
	assert_string_equal(out, "--batch=");
}

/* "[report]\nstore = xxx...\n" with a second line of LEN bytes. */
static char *long_line(size_t len)
{
	static const char head[] = "[report]\nstore = ";
	char *text = malloc(sizeof(head) + len + 1);

	assert_non_null(text);
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'x', len - 9);
	strcpy(text + sizeof(head) - 1 + len - 9, "\n");
	return text;
}

static void test_line_too_long_and_nul(void **state)
{
	char *fits = long_line(CONFIG_MAX_LINE);
	char *over = long_line(CONFIG_MAX_LINE + 1);
	char out[512];
	struct diag d;

	(void)state;
	assert_int_equal(words(fits, "report", out, sizeof(out), &d), DF_OK);
	assert_int_equal(strlen(out), CONFIG_MAX_LINE - 1);
	assert_int_equal(words(over, "report", out, sizeof(out), &d),
			 DF_EUSAGE);
	assert_string_equal(d.msg, "config t.conf:2: line too long");
	free(fits);
	free(over);

	static const char nul[] = "[report]\ntop = 3\0\n";
	struct config_argv *ca = NULL;

	diag_init(&d);
	assert_int_equal(config_argv_from_text(&ca, nul, sizeof(nul) - 1,
					       "t.conf", "report", &d),
			 DF_EUSAGE);
	assert_null(ca);
	assert_string_equal(d.msg, "config t.conf: a NUL byte in a text file");
}

/* ---- config_argv_build: which file, and where the words go ---------- */

struct files {
	char *dir;
	char a[512], b[512], none[512];
};

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->dir = test_tmpdir()) == NULL)
		return -1;
	snprintf(f->a, sizeof(f->a), "%s/a.conf", f->dir);
	snprintf(f->b, sizeof(f->b), "%s/b.conf", f->dir);
	snprintf(f->none, sizeof(f->none), "%s/none.conf", f->dir);
	FILE *fa = fopen(f->a, "w"), *fb = fopen(f->b, "w");

	if (fa == NULL || fb == NULL)
		return -1;
	fputs("[report]\nformat = json\ntop = 3\n", fa);
	fputs("[report]\nstore = b-store\n", fb);
	fclose(fa);
	fclose(fb);
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;

	test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Build from ARGV (NULL-terminated) and join the result with '|'. */
static int build(char *out, size_t size, const char *env, const char *def,
		 struct diag *d, const char **argv)
{
	struct config_argv *ca = NULL;
	int argc = 0, rc;
	size_t used = 0;

	while (argv[argc] != NULL)
		argc++;
	diag_init(d);
	out[0] = '\0';
	rc = config_argv_build(&ca, argc, (char *const *)argv, env, def, d);
	if (rc != DF_OK)
		return rc;
	for (int i = 0; i < config_argv_count(ca); i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s",
					 i ? "|" : "",
					 config_argv_vector(ca)[i]);
	config_argv_destroy(&ca);
	return rc;
}

static void test_build_choice_of_file(void **state)
{
	struct files *f = *state;
	char out[512];
	struct diag d;
	const char *plain[] = { "df", "report", "--top", "5", NULL };
	const char *flag[] = { "df",	"--config", f->a, "report",
			       "--top", "5",	    NULL };
	char eq[600];

	snprintf(eq, sizeof(eq), "--config=%s", f->a);
	const char *flag_eq[] = { "df", eq, "report", NULL };

	/* --config wins over the environment and the default. */
	assert_int_equal(build(out, sizeof(out), f->b, f->b, &d, flag), DF_OK);
	assert_string_equal(out, "df|report|--format=json|--top=3|--top|5");
	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, flag_eq),
			 DF_OK);
	assert_string_equal(out, "df|report|--format=json|--top=3");
	/* The environment wins over the default; "" means no file. */
	assert_int_equal(build(out, sizeof(out), f->b, f->a, &d, plain), DF_OK);
	assert_string_equal(out, "df|report|--store=b-store|--top|5");
	assert_int_equal(build(out, sizeof(out), "", f->a, &d, plain), DF_OK);
	assert_string_equal(out, "df|report|--top|5");
	/* The default only when it exists. */
	assert_int_equal(build(out, sizeof(out), NULL, f->a, &d, plain), DF_OK);
	assert_string_equal(out, "df|report|--format=json|--top=3|--top|5");
	assert_int_equal(build(out, sizeof(out), NULL, f->none, &d, plain),
			 DF_OK);
	assert_string_equal(out, "df|report|--top|5");
	/* A file named on purpose must be there. */
	assert_int_equal(build(out, sizeof(out), f->none, NULL, &d, plain),
			 DF_EIO);
	assert_non_null(strstr(d.msg, "none.conf: No such file"));
}

static void test_build_edges(void **state)
{
	struct files *f = *state;
	char out[512];
	struct diag d;
	const char *bare[] = { "df", NULL };
	const char *only_flag[] = { "df", "--config", NULL };
	const char *empty_eq[] = { "df", "--config=", "report", NULL };
	const char *no_cmd[] = { "df", "--config", f->a, NULL };
	const char *help[] = { "df", "--config", f->a, "--help", NULL };

	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, bare), DF_OK);
	assert_string_equal(out, "df");
	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, only_flag),
			 DF_EUSAGE);
	assert_string_equal(d.msg, "--config needs a FILE");
	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, empty_eq),
			 DF_EUSAGE);
	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, no_cmd),
			 DF_OK);
	assert_string_equal(out, "df");
	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, help), DF_OK);
	assert_string_equal(out, "df|--help");

	/* A folder, or a file past the size cap, is refused. */
	const char *dir[] = { "df", "--config", f->dir, "report", NULL };

	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, dir), DF_EIO);
	FILE *big = fopen(f->b, "w");

	assert_non_null(big);
	for (size_t i = 0; i <= CONFIG_MAX_BYTES / 8; i++)
		fputs("; 45678\n", big);
	fclose(big);
	const char *large[] = { "df", "--config", f->b, "report", NULL };

	assert_int_equal(build(out, sizeof(out), NULL, NULL, &d, large),
			 DF_EUSAGE);
	assert_non_null(strstr(d.msg, "larger than 1 MiB"));
}

/*
 * The contract the layer rests on: getopt_long over the built words keeps
 * the command line's value, and repeated options all arrive.
 */
static void test_command_line_wins(void **state)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "symbols", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static const char text[] = "[common]\nstore = file-store\n"
				   "symbols = one\n[run]\nsymbols = two\n";
	struct config_argv *ca = NULL;
	struct diag d;
	const char *args[] = { "dumpfleet", "run", "--store", "cli-store",
			 "--symbols", "three", "path", NULL };
	const char *store = NULL, *syms[4] = { NULL };
	int nsyms = 0, c;

	(void)state;
	diag_init(&d);
	assert_int_equal(config_argv_from_text(&ca, text, sizeof(text) - 1,
					       "t.conf", "run", &d),
			 DF_OK);
	/* "run", the file's words, then the command line's. */
	char *v[16];
	int n = 0;

	v[n++] = (char *)args[1];
	for (int i = 0; i < config_argv_count(ca); i++)
		v[n++] = config_argv_vector(ca)[i];
	for (int i = 2; args[i] != NULL; i++)
		v[n++] = (char *)args[i];
	v[n] = NULL;
	optind = 1;
	while ((c = getopt_long(n, v, "s:", opts, NULL)) != -1) {
		if (c == 's')
			store = optarg;
		else if (c == 'S' && nsyms < 4)
			syms[nsyms++] = optarg;
	}
	assert_string_equal(store, "cli-store");
	assert_int_equal(nsyms, 3);
	assert_string_equal(syms[0], "one");
	assert_string_equal(syms[1], "two");
	assert_string_equal(syms[2], "three");
	assert_int_equal(optind, n - 1);
	assert_string_equal(v[optind], "path");
	config_argv_destroy(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections_in_order),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_errors_name_file_and_line),
		cmocka_unit_test(test_indented_keys),
		cmocka_unit_test(test_values_verbatim),
		cmocka_unit_test(test_line_too_long_and_nul),
		cmocka_unit_test_setup_teardown(test_build_choice_of_file,
						files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_build_edges, files_setup,
						files_teardown),
		cmocka_unit_test(test_command_line_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
