/*
 * inspect - commands that look into the store and the detector registry:
 * `bucket`, `resign` and `patterns`. Each takes the subcommand's argc/argv
 * and returns a process exit code (see df.h).
 */
#ifndef CLI_INSPECT_H
#define CLI_INSPECT_H

#define INSPECT_DEFAULT_STORE "dumpfleet-store"

/* dumpfleet bucket HASH [--store DIR] [--explain]: one bucket in full. */
int inspect_cmd_bucket(int argc, char **argv);

/* dumpfleet resign [--store DIR]: signatures again under today's rules. */
int inspect_cmd_resign(int argc, char **argv);

/* dumpfleet patterns: every detector with id, title and description. */
int inspect_cmd_patterns(int argc, char **argv);

#endif /* CLI_INSPECT_H */
