/*
 * config - command options from an INI file (inih), as argv words.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "df.h"

enum opt_kind {
	OPT_VALUE, /* --name VALUE */
	OPT_FLAG,  /* --name, set by yes/no in the file */
};

struct cfg_option {
	const char *name;
	enum opt_kind kind;
};

struct cfg_command {
	const char *name;
	const struct cfg_option *opts;
	size_t nopts;
};

/*
 * Every long option of every command, as in its --help (the e2e test
 * config_file.sh checks each --help against this table, so an option
 * added to a command without a row here fails that test).
 */
static const struct cfg_option analyze_opts[] = {
	{ "json", OPT_FLAG },
	{ "symbols", OPT_VALUE },
	{ "no-hash", OPT_FLAG },
};
static const struct cfg_option run_opts[] = {
	{ "workers", OPT_VALUE }, { "store", OPT_VALUE },
	{ "batch", OPT_VALUE },	  { "format", OPT_VALUE },
	{ "symbols", OPT_VALUE },	{ "spool", OPT_VALUE },
	{ "max-depth", OPT_VALUE },
	{ "max-member-size", OPT_VALUE },
	{ "max-total-size", OPT_VALUE },
	{ "max-ratio", OPT_VALUE },
	{ "max-members", OPT_VALUE },
	{ "timeout", OPT_VALUE },
	{ "memory", OPT_VALUE },
	{ "no-sandbox", OPT_FLAG },
};
static const struct cfg_option broker_opts[] = {
	{ "bind", OPT_VALUE },
	{ "store", OPT_VALUE },
	{ "heartbeat-ms", OPT_VALUE },
	{ "lease-ms", OPT_VALUE },
	{ "max-attempts", OPT_VALUE },
	{ "drain-ms", OPT_VALUE },
	{ "key", OPT_VALUE },
	{ "allow-workers", OPT_VALUE },
	{ "allow-clients", OPT_VALUE },
	{ "curve", OPT_FLAG },
	{ "insecure", OPT_FLAG },
	{ "metrics", OPT_VALUE },
	{ "content-bind", OPT_VALUE },
	{ "log-level", OPT_VALUE },
	{ "verbose", OPT_FLAG },
};
static const struct cfg_option worker_opts[] = {
	{ "connect", OPT_VALUE },
	{ "slots", OPT_VALUE },
	{ "heartbeat-ms", OPT_VALUE },
	{ "symbols", OPT_VALUE },
	{ "timeout", OPT_VALUE },
	{ "memory", OPT_VALUE },
	{ "no-sandbox", OPT_FLAG },
	{ "key", OPT_VALUE },
	{ "broker-key", OPT_VALUE },
	{ "curve", OPT_FLAG },
	{ "insecure", OPT_FLAG },
	{ "log-level", OPT_VALUE },
	{ "verbose", OPT_FLAG },
	{ "fetch", OPT_VALUE },
	{ "fetch-mode", OPT_VALUE },
	{ "fetch-dir", OPT_VALUE },
};
static const struct cfg_option submit_opts[] = {
	{ "broker", OPT_VALUE },
	{ "batch", OPT_VALUE },
	{ "wait", OPT_FLAG },
	{ "spool", OPT_VALUE },
	{ "max-depth", OPT_VALUE },
	{ "max-member-size", OPT_VALUE },
	{ "max-total-size", OPT_VALUE },
	{ "max-ratio", OPT_VALUE },
	{ "max-members", OPT_VALUE },
	{ "key", OPT_VALUE },
	{ "broker-key", OPT_VALUE },
	{ "curve", OPT_FLAG },
	{ "insecure", OPT_FLAG },
	{ "timeout-ms", OPT_VALUE },
};
static const struct cfg_option status_opts[] = {
	{ "broker", OPT_VALUE },
	{ "json", OPT_FLAG },
	{ "key", OPT_VALUE },
	{ "broker-key", OPT_VALUE },
	{ "curve", OPT_FLAG },
	{ "insecure", OPT_FLAG },
	{ "timeout-ms", OPT_VALUE },
};
static const struct cfg_option retry_opts[] = {
	{ "broker", OPT_VALUE },
	{ "all", OPT_FLAG },
	{ "json", OPT_FLAG },
	{ "key", OPT_VALUE },
	{ "broker-key", OPT_VALUE },
	{ "curve", OPT_FLAG },
	{ "insecure", OPT_FLAG },
	{ "timeout-ms", OPT_VALUE },
};
static const struct cfg_option keygen_opts[] = {
	{ "output", OPT_VALUE },
};
static const struct cfg_option report_opts[] = {
	{ "store", OPT_VALUE },	 { "format", OPT_VALUE },
	{ "top", OPT_VALUE },	 { "since", OPT_VALUE },
	{ "until", OPT_VALUE },	 { "days", OPT_VALUE },
	{ "batch", OPT_VALUE },	 { "owners", OPT_VALUE },
	{ "output", OPT_VALUE }, { "nightly", OPT_FLAG },
	{ "out", OPT_VALUE },
};
static const struct cfg_option bucket_opts[] = {
	{ "store", OPT_VALUE },
	{ "explain", OPT_FLAG },
	{ "format", OPT_VALUE },
};
static const struct cfg_option resign_opts[] = {
	{ "store", OPT_VALUE },
};

#define CMD(n) { #n, n##_opts, ARRAY_SIZE(n##_opts) }
static const struct cfg_command commands[] = {
	CMD(analyze), CMD(run),	   CMD(broker), CMD(worker), CMD(submit),
	CMD(status),  CMD(report), CMD(bucket), CMD(resign), CMD(retry),
	CMD(keygen),
};
#undef CMD

#define COMMON_SECTION "common"

struct config_argv {
	char **v;   /* words, v[n] == NULL once anything was added */
	size_t n;   /* words */
	size_t cap; /* slots allocated, the NULL's included */
};

/* What the inih callbacks share: the input, the line, the results. */
struct parse {
	const char *name;	    /* file name for messages */
	const char *p, *end;	    /* input not yet read */
	int line;		    /* line last handed to inih */
	const struct cfg_command *cmd; /* the command running, or NULL */
	struct config_argv *common; /* its options from [common] */
	struct config_argv *own;    /* its options from [COMMAND] */
	struct diag *d;
	int fail_line; /* line of the first failure in d, 0 if none */
};

static const struct cfg_command *command_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const struct cfg_option *option_find(const struct cfg_command *c,
					    const char *name)
{
	for (size_t i = 0; c != NULL && i < c->nopts; i++)
		if (strcmp(c->opts[i].name, name) == 0)
			return &c->opts[i];
	return NULL;
}

/* The option NAME in any command, for [common]. */
static const struct cfg_option *option_find_any(const char *name)
{
	const struct cfg_option *o = NULL;

	for (size_t i = 0; o == NULL && i < ARRAY_SIZE(commands); i++)
		o = option_find(&commands[i], name);
	return o;
}

static struct config_argv *argv_new(void)
{
	return calloc(1, sizeof(struct config_argv));
}

void config_argv_destroy(struct config_argv **ca)
{
	if (ca == NULL || *ca == NULL)
		return;
	for (size_t i = 0; i < (*ca)->n; i++)
		free((*ca)->v[i]);
	free((*ca)->v);
	free(*ca);
	*ca = NULL;
}

/* Append WORD (taken over: freed here on failure). */
static int argv_push(struct config_argv *ca, char *word)
{
	if (word == NULL)
		return DF_ENOMEM;
	if (ca->n + 2 > ca->cap) {
		size_t cap = ca->cap ? ca->cap * 2 : 16;
		char **v = realloc(ca->v, cap * sizeof(*v));

		if (v == NULL) {
			free(word);
			return DF_ENOMEM;
		}
		ca->v = v;
		ca->cap = cap;
	}
	ca->v[ca->n++] = word;
	ca->v[ca->n] = NULL;
	return DF_OK;
}

static int argv_push_copy(struct config_argv *ca, const char *word)
{
	return argv_push(ca, strdup(word));
}

/* "--NAME=VALUE", or "--NAME" when VALUE is NULL. */
static char *option_word(const char *name, const char *value)
{
	size_t n = strlen(name) + (value ? strlen(value) + 1 : 0) + 3;
	char *w = malloc(n);

	if (w != NULL && value != NULL)
		snprintf(w, n, "--%s=%s", name, value);
	else if (w != NULL)
		snprintf(w, n, "--%s", name);
	return w;
}

static int argv_append(struct config_argv *to, const struct config_argv *from)
{
	for (size_t i = 0; i < from->n; i++)
		if (argv_push_copy(to, from->v[i]) != DF_OK)
			return DF_ENOMEM;
	return DF_OK;
}

int config_argv_count(const struct config_argv *ca)
{
	return (int)ca->n;
}

char **config_argv_vector(const struct config_argv *ca)
{
	static char *empty[] = { NULL };

	return ca->n > 0 ? ca->v : empty;
}

/* ---- parsing ------------------------------------------------------------ */

/* Record the first failure, at the current line; 0 for inih. */
static int parse_fail(struct parse *ps, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int parse_fail(struct parse *ps, int code, const char *fmt, ...)
{
	char what[DIAG_MSG_MAX];
	va_list ap;

	if (diag_failed(ps->d))
		return 0;
	va_start(ap, fmt);
	/* A message cut short is still the message: diag cuts it too. */
	if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
		what[0] = '\0';
	va_end(ap);
	diag_fail(ps->d, code, "config %s:%d: %s", ps->name, ps->line, what);
	ps->fail_line = ps->line;
	return 0;
}

/* yes/no words for flags, as in systemd units. */
static int flag_value(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(v, yes[i]) == 0)
			return 1;
		if (strcmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Check VALUE for option O and add its word to TO (NULL: check only). */
static int parse_take(struct parse *ps, struct config_argv *to,
		      const struct cfg_option *o, const char *value)
{
	if (o->kind == OPT_FLAG) {
		int on = flag_value(value);

		if (on < 0)
			return parse_fail(ps, DF_EUSAGE,
					  "yes or no expected for --%s",
					  o->name);
		if (on == 0 || to == NULL)
			return 1;
		value = NULL;
	}
	if (to != NULL && argv_push(to, option_word(o->name, value)) != DF_OK)
		return parse_fail(ps, DF_ENOMEM, "out of memory");
	return 1;
}

static int on_entry(void *user, const char *section, const char *name,
		    const char *value)
{
	struct parse *ps = user;
	const struct cfg_option *o;

	if (section[0] == '\0')
		return parse_fail(ps, DF_EUSAGE,
				  "key before any [section]: %s", name);
	if (strcmp(section, COMMON_SECTION) == 0) {
		const struct cfg_option *mine = option_find(ps->cmd, name);

		o = mine ? mine : option_find_any(name);
		if (o == NULL)
			return parse_fail(ps, DF_EUSAGE,
					  "no command has the option --%s",
					  name);
		return parse_take(ps, mine ? ps->common : NULL, o, value);
	}
	const struct cfg_command *c = command_find(section);

	if (c == NULL)
		return parse_fail(ps, DF_EUSAGE, "unknown section: %s",
				  section);
	o = option_find(c, name);
	if (o == NULL)
		return parse_fail(ps, DF_EUSAGE,
				  "dumpfleet %s has no option --%s", c->name,
				  name);
	return parse_take(ps, c == ps->cmd ? ps->own : NULL, o, value);
}

/*
 * inih's line reader over the text. Leading blanks are dropped so that an
 * indented key is a key, never the continuation of the value above it;
 * a line too long for the buffer is an error, never two lines.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse *ps = stream;

	if (ps->p >= ps->end || num < 2)
		return NULL;
	ps->line++;
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
	const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	size_t len = nl ? (size_t)(nl - ps->p) + 1 : (size_t)(ps->end - ps->p);
	size_t room = (size_t)num - 1;

	if (room > CONFIG_MAX_LINE)
		room = CONFIG_MAX_LINE;
	if (len > room) {
		parse_fail(ps, DF_EUSAGE, "line too long");
		ps->p += len;
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	memcpy(str, ps->p, len);
	str[len] = '\0';
	ps->p += len;
	return str;
}

static int parse_text(struct parse *ps)
{
	if (memchr(ps->p, '\0', (size_t)(ps->end - ps->p)) != NULL)
		return diag_fail(ps->d, DF_EUSAGE,
				 "config %s: a NUL byte in a text file",
				 ps->name);
	int rc = ini_parse_stream(read_line, ps, on_entry, ps);

	if (rc < 0)
		return diag_fail(ps->d, DF_ENOMEM, "config %s: out of memory",
				 ps->name);
	/* inih's own errors (no '=', no ']') come without a handler call. */
	if (rc > 0 && (ps->fail_line == 0 || rc < ps->fail_line)) {
		diag_init(ps->d);
		diag_fail(ps->d, DF_EUSAGE,
			  "config %s:%d: expected [section] or key = value",
			  ps->name, rc);
	}
	return ps->d->code;
}

int config_argv_from_text(struct config_argv **out, const char *text,
			  size_t len, const char *name, const char *command,
			  struct diag *d)
{
	struct parse ps = { name, text, text + len, 0, command_find(command),
			    argv_new(), argv_new(), d, 0 };
	int rc = DF_ENOMEM;

	*out = NULL;
	if (ps.common != NULL && ps.own != NULL) {
		rc = parse_text(&ps);
		if (rc == DF_OK)
			rc = argv_append(ps.common, ps.own);
	}
	if (rc == DF_OK) {
		*out = ps.common;
		ps.common = NULL;
	} else if (rc == DF_ENOMEM) {
		diag_fail(d, DF_ENOMEM, "config %s: out of memory", name);
	}
	config_argv_destroy(&ps.common);
	config_argv_destroy(&ps.own);
	return rc;
}

/* ---- files and main()'s arguments --------------------------------------- */

/* PATH's content into a malloc'd buffer, at most CONFIG_MAX_BYTES. */
static int file_read(const char *path, char **text, size_t *len,
		     struct diag *d)
{
	FILE *f = fopen(path, "rb");

	*text = NULL;
	if (f == NULL)
		return diag_fail(d, DF_EIO, "config %s: %s", path,
				 strerror(errno));
	char *buf = malloc(CONFIG_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
	bool err = ferror(f) != 0;

	fclose(f);
	if (buf == NULL)
		return diag_fail(d, DF_ENOMEM, "config %s: out of memory",
				 path);
	if (err || n > CONFIG_MAX_BYTES) {
		free(buf);
		return diag_fail(d, err ? DF_EIO : DF_EUSAGE,
				 "config %s: %s", path,
				 err ? "read error" : "larger than 1 MiB");
	}
	*text = buf;
	*len = n;
	return DF_OK;
}

/* Which file: --config's, else the environment's, else the default. */
static const char *file_choose(const char *flag_path, const char *env_path,
			       const char *default_path)
{
	if (flag_path != NULL)
		return flag_path;
	if (env_path != NULL)
		return env_path[0] ? env_path : NULL;
	if (default_path != NULL && access(default_path, F_OK) == 0)
		return default_path;
	return NULL;
}

/* Take "--config FILE" or "--config=FILE" off the front of ARGV. */
static int flag_take(int argc, char *const *argv, int *next,
		     const char **path, struct diag *d)
{
	static const char eq[] = "--config=";

	*next = 1;
	*path = NULL;
	if (argc > 1 && strcmp(argv[1], "--config") == 0) {
		if (argc < 3)
			return diag_fail(d, DF_EUSAGE, "--config needs a FILE");
		*path = argv[2];
		*next = 3;
	} else if (argc > 1 && strncmp(argv[1], eq, sizeof(eq) - 1) == 0) {
		*path = argv[1] + sizeof(eq) - 1;
		*next = 2;
	}
	if (*path != NULL && (*path)[0] == '\0')
		return diag_fail(d, DF_EUSAGE, "--config needs a FILE");
	return DF_OK;
}

/* The options from the chosen file for COMMAND (none without a file). */
static int file_options(struct config_argv **opts, const char *path,
			const char *command, struct diag *d)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (path == NULL) {
		*opts = argv_new();
		return *opts ? DF_OK : DF_ENOMEM;
	}
	rc = file_read(path, &text, &len, d);
	if (rc == DF_OK)
		rc = config_argv_from_text(opts, text, len, path, command, d);
	free(text);
	return rc;
}

int config_argv_build(struct config_argv **out, int argc, char *const *argv,
		      const char *env_path, const char *default_path,
		      struct diag *d)
{
	struct config_argv *opts = NULL, *ca = NULL;
	const char *flag_path;
	int next;
	int rc = flag_take(argc, argv, &next, &flag_path, d);

	*out = NULL;
	if (rc != DF_OK)
		return rc;
	/*
	 * Logging options may come between --config and the command; they
	 * stay in front of it, and the command is the first other word.
	 */
	int first_global = next;

	while (next < argc && (strcmp(argv[next], "-v") == 0 ||
			       strcmp(argv[next], "--verbose") == 0 ||
			       strcmp(argv[next], "--log-level") == 0))
		next += strcmp(argv[next], "--log-level") == 0 ? 2 : 1;
	if (next > argc)
		next = argc;
	const char *command = next < argc ? argv[next] : NULL;

	rc = file_options(&opts, file_choose(flag_path, env_path, default_path),
			  command, d);
	if (rc == DF_OK)
		rc = (ca = argv_new()) ? DF_OK : DF_ENOMEM;
	if (rc == DF_OK)
		rc = argv_push_copy(ca, argc > 0 ? argv[0] : "dumpfleet");
	for (int i = first_global; rc == DF_OK && i < next; i++)
		rc = argv_push_copy(ca, argv[i]);
	if (rc == DF_OK && command != NULL)
		rc = argv_push_copy(ca, command);
	if (rc == DF_OK)
		rc = argv_append(ca, opts);
	for (int i = next + 1; rc == DF_OK && i < argc; i++)
		rc = argv_push_copy(ca, argv[i]);
	config_argv_destroy(&opts);
	if (rc == DF_ENOMEM)
		diag_fail(d, DF_ENOMEM, "out of memory");
	if (rc == DF_OK)
		*out = ca;
	else
		config_argv_destroy(&ca);
	return rc;
}
