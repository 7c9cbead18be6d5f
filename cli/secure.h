/*
 * secure - the command line's CURVE options and `dumpfleet keygen`.
 *
 * One rule for every fleet command: CURVE is on when keys are given or
 * --curve forces it, and then every key it needs must be given; an
 * endpoint that is exposed (tcp:// on a host that is not loopback) must use
 * CURVE unless --insecure says otherwise. Loopback, ipc:// and inproc://
 * stay plain by default.
 */
#ifndef CLI_SECURE_H
#define CLI_SECURE_H

#include <stdbool.h>
#include <stddef.h>

#include "curve.h"

#define SECURE_MAX_LISTS 16

/* getopt_long values of the options (outside the range of characters). */
enum secure_optval {
	SECURE_OPT_KEY = 0x5e00,
	SECURE_OPT_BROKER_KEY,
	SECURE_OPT_ALLOW_WORKERS,
	SECURE_OPT_ALLOW_CLIENTS,
	SECURE_OPT_CURVE,
	SECURE_OPT_INSECURE,
};

/* The options as given. */
struct secure_opts {
	const char *key;          /* --key FILE: own secret key */
	const char *broker_key;   /* --broker-key FILE: the broker's .pub */
	const char *allow_workers[SECURE_MAX_LISTS]; /* --allow-workers */
	size_t nworkers;
	const char *allow_clients[SECURE_MAX_LISTS]; /* --allow-clients */
	size_t nclients;
	bool force;               /* --curve */
	bool insecure;            /* --insecure */
};

/* Option table entries for getopt_long (the broker's add allow-lists). */
#define SECURE_PEER_OPTIONS                                               \
	{ "key", required_argument, NULL, SECURE_OPT_KEY },                \
	{ "broker-key", required_argument, NULL, SECURE_OPT_BROKER_KEY },  \
	{ "curve", no_argument, NULL, SECURE_OPT_CURVE },                  \
	{ "insecure", no_argument, NULL, SECURE_OPT_INSECURE }
#define SECURE_BROKER_OPTIONS                                             \
	{ "key", required_argument, NULL, SECURE_OPT_KEY },                \
	{ "allow-workers", required_argument, NULL,                        \
	  SECURE_OPT_ALLOW_WORKERS },                                      \
	{ "allow-clients", required_argument, NULL,                        \
	  SECURE_OPT_ALLOW_CLIENTS },                                      \
	{ "curve", no_argument, NULL, SECURE_OPT_CURVE },                  \
	{ "insecure", no_argument, NULL, SECURE_OPT_INSECURE }

#define SECURE_PEER_HELP                                                  \
	"      --key FILE          own CURVE secret key (dumpfleet keygen)\n" \
	"      --broker-key FILE   the broker's CURVE public key (.pub)\n"    \
	"      --curve             use CURVE on loopback too\n"              \
	"      --insecure          allow a plain non-loopback endpoint\n"

#define SECURE_BROKER_HELP                                                \
	"      --key FILE          the broker's CURVE secret key\n"          \
	"      --allow-workers P   worker public keys: a file, one Z85 key\n" \
	"                          a line, or a folder of .pub files\n"      \
	"      --allow-clients P   client public keys (same forms)\n"        \
	"      --curve             use CURVE on loopback too\n"              \
	"      --insecure          allow a plain non-loopback endpoint\n"

void secure_opts_init(struct secure_opts *so);

/*
 * Take option C (a getopt_long value) with ARG when it is one of ours.
 * Returns 1 when taken, 0 when C is not ours, -1 when misused (too many
 * allow-lists).
 */
int secure_take(struct secure_opts *so, int c, const char *arg);

/*
 * Load what a worker or client needs to reach ENDPOINT. *USE is OUT, or
 * NULL for a plain socket. Returns a DF_EXIT_* code; messages name CMD.
 */
int secure_peer_setup(const struct secure_opts *so, const char *cmd,
		      const char *endpoint, struct curve_client *out,
		      const struct curve_client **use);

/*
 * Load the broker's key pair into KP and its allow-lists into a new *ALLOW
 * (NULL for a plain socket, then *USE is NULL too; else *USE is KP).
 * Returns a DF_EXIT_* code.
 */
int secure_broker_setup(const struct secure_opts *so, const char *endpoint,
			struct curve_pair *kp, const struct curve_pair **use,
			struct curve_keyring **allow);

/* `dumpfleet keygen [-o BASENAME]`. */
int secure_cmd_keygen(int argc, char **argv);

#endif /* CLI_SECURE_H */
