/*
 * config - command options from an INI file, put in as command-line words.
 *
 * A config file has one section per command ([broker], [worker], [submit],
 * [report], [run], [analyze], [status], [bucket], [resign]) and [common] for
 * every command that has the option. Keys are the long option names
 * (`store = /var/lib/dumpfleet/store`, `wait = yes`). The options a file
 * sets for the chosen command become "--key=value" words placed before the
 * command line's own arguments: getopt keeps the last value it sees, so the
 * command line wins over the file and [COMMAND] wins over [common], and no
 * command parses anything twice. Repeatable options (symbols) add up.
 *
 * A key that the command line does not have is an error naming the file and
 * the line, in every section, whichever command runs.
 */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

#include <stddef.h>

#include "diag.h"

/* Read when neither --config nor DUMPFLEET_CONFIG names a file. */
#define CONFIG_DEFAULT_PATH "/etc/dumpfleet/dumpfleet.conf"

/* Larger files are refused: a config is a few lines. */
#define CONFIG_MAX_BYTES (1024 * 1024)

/*
 * Longest line, newline included: what fits inih's line buffer (200 bytes
 * with its NUL in Debian's build). Longer lines are errors.
 */
#define CONFIG_MAX_LINE 199

/* A NULL-terminated argument vector the module owns. */
struct config_argv;

/*
 * main()'s ARGC/ARGV ("dumpfleet [--config FILE] COMMAND ARGS...") with the
 * file's options for COMMAND put in: "dumpfleet COMMAND OPTIONS... ARGS...".
 * The file is --config FILE (or --config=FILE), else ENV_PATH when not NULL
 * (the value of DUMPFLEET_CONFIG; "" means no file), else DEFAULT_PATH when
 * that exists. The file is checked whole even when COMMAND takes nothing
 * from it. Returns DF_OK, DF_EUSAGE (a bad file or --config; D says which
 * file and line), DF_EIO (the file cannot be read) or DF_ENOMEM.
 */
int config_argv_build(struct config_argv **out, int argc, char *const *argv,
		      const char *env_path, const char *default_path,
		      struct diag *d);

/*
 * The options that config TEXT (LEN bytes, called NAME in messages) sets
 * for COMMAND, as "--key=value" and "--flag" words; COMMAND NULL checks
 * TEXT and takes nothing. Errors as config_argv_build.
 */
int config_argv_from_text(struct config_argv **out, const char *text,
			  size_t len, const char *name, const char *command,
			  struct diag *d);

/* Number of words, the NULL that ends the vector not counted. */
int config_argv_count(const struct config_argv *ca);

/* The words, NULL-terminated; valid until config_argv_destroy. */
char **config_argv_vector(const struct config_argv *ca);

/* Free *CA and set it to NULL; NULL and *CA NULL are fine. */
void config_argv_destroy(struct config_argv **ca);

#endif /* CLI_CONFIG_H */
