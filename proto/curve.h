/*
 * curve - CURVE key files, allow-lists and socket security settings.
 *
 * Keys are written as Z85 text (40 characters for 32 bytes), one per line.
 * A key file may hold blank lines and comments: a line whose first
 * non-blank character is '#', or anything after the key that starts with
 * '#'. A secret key file (BASENAME.key, mode 0600) and a public key file
 * (BASENAME.pub) hold exactly one key each; an allow-list is a file with
 * any number of keys or a folder whose *.pub files are read.
 *
 * Key files are input too: lines, files and lists are capped, and a file
 * that breaks a rule is refused as a whole, naming the file and line.
 */
#ifndef PROTO_CURVE_H
#define PROTO_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diag;
struct curve_keyring;

#define CURVE_KEY_BYTES 32
#define CURVE_KEY_Z85 40           /* characters of one Z85 key */
#define CURVE_MAX_FILE (4u << 20)  /* bytes of one key file */
#define CURVE_MAX_LINE 1024        /* bytes of one line in it */
#define CURVE_MAX_KEYS 100000      /* keys in one keyring */
#define CURVE_ZAP_DOMAIN "dumpfleet"

/* What a key may do; an allow-list grants one or both. */
enum curve_role {
	CURVE_ROLE_WORKER = 1, /* WorkerReady, JobResult */
	CURVE_ROLE_CLIENT = 2, /* SubmitRequest, StatusRequest, RetryRequest */
	CURVE_ROLE_ANY = 3,
};

/* One's own key pair. */
struct curve_pair {
	uint8_t pub[CURVE_KEY_BYTES];
	uint8_t sec[CURVE_KEY_BYTES];
};

/* What a worker or client needs: its own pair and the broker's key. */
struct curve_client {
	struct curve_pair self;
	uint8_t server[CURVE_KEY_BYTES];
};

/*
 * Make a new key pair and write BASENAME.key (the secret, mode 0600) and
 * BASENAME.pub (the public key, 0644). Neither file may exist already.
 * The public key's Z85 text goes to PUB_Z85 (41 bytes) when not NULL.
 */
int curve_keygen(const char *basename, char *pub_z85, struct diag *d);

/*
 * Call FN for each key in TEXT (LEN bytes; ORIGIN names it in messages).
 * DF_OK, DF_EFORMAT naming the line of the first bad line, DF_ELIMIT for
 * a line over CURVE_MAX_LINE, or what FN returns when not DF_OK.
 */
int curve_keys_parse(const char *text, size_t len, const char *origin,
		     int (*fn)(void *ctx, const uint8_t key[CURVE_KEY_BYTES]),
		     void *ctx, struct diag *d);

/* Read the one secret key in PATH and derive its public key. */
int curve_pair_load(struct curve_pair *kp, const char *path, struct diag *d);

/* Read the one public key in PATH. */
int curve_public_load(uint8_t key[CURVE_KEY_BYTES], const char *path,
		      struct diag *d);

/* An empty keyring: nobody is allowed. NULL when out of memory. */
struct curve_keyring *curve_keyring_new(void);
void curve_keyring_destroy(struct curve_keyring **kr);

/* Grant ROLES to KEY. DF_OK, or DF_ELIMIT past CURVE_MAX_KEYS. */
int curve_keyring_add(struct curve_keyring *kr,
		      const uint8_t key[CURVE_KEY_BYTES], unsigned roles,
		      struct diag *d);

/*
 * Grant ROLES to every key in PATH: a key file, or a folder whose *.pub
 * files are read. A folder without any key is refused as a likely mistake.
 */
int curve_keyring_load(struct curve_keyring *kr, const char *path,
		       unsigned roles, struct diag *d);

/* The roles granted to KEY, 0 for a key that is not listed. */
unsigned curve_keyring_roles(const struct curve_keyring *kr,
			     const uint8_t key[CURVE_KEY_BYTES]);

/* Number of distinct keys listed. */
size_t curve_keyring_size(const struct curve_keyring *kr);

/*
 * True when an endpoint must be encrypted: tcp:// to or on any host that
 * is not a loopback address (127.0.0.0/8, ::1, localhost), and every
 * transport other than tcp, ipc and inproc.
 */
bool curve_endpoint_exposed(const char *endpoint);

/* Make SOCK a CURVE server with KP, authenticated over ZAP. */
int curve_server_apply(void *sock, const struct curve_pair *kp,
		       struct diag *d);

/* Make SOCK a CURVE client of the server key in C. */
int curve_client_apply(void *sock, const struct curve_client *c,
		       struct diag *d);

/* Z85 text of KEY into OUT (41 bytes). */
void curve_key_text(const uint8_t key[CURVE_KEY_BYTES],
		    char out[CURVE_KEY_Z85 + 1]);

#endif /* PROTO_CURVE_H */
