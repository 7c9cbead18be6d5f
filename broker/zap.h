/*
 * zap - the broker's ZAP handler (ZeroMQ RFC 27, ZAP 1.0) for CURVE.
 *
 * libzmq asks inproc://zeromq.zap.01 of the socket's context whether a
 * peer that completed a CURVE handshake may connect. This handler answers
 * from a keyring: a listed public key gets "200" and a User-Id naming its
 * roles ("worker", "client" or "worker,client"; zap_user_roles() reads it
 * back from a message's User-Id property); any other key, mechanism or
 * domain gets "400". It runs in its own thread with its own REP socket
 * and reads only the keyring, which must not change while it runs.
 */
#ifndef BROKER_ZAP_H
#define BROKER_ZAP_H

struct curve_keyring;
struct diag;
struct zap;

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/*
 * Bind the handler in CTX and start its thread. Must precede the bind of
 * any CURVE server socket in CTX, or early peers are not asked about.
 */
int zap_start(struct zap **out, void *ctx, const struct curve_keyring *allow,
	      struct diag *d);

/* Stop the thread and close its socket; NULL-safe; sets *ZP to NULL. */
void zap_stop(struct zap **zp);

/* Roles (enum curve_role bits) named by a User-Id zap gave; 0 otherwise. */
unsigned zap_user_roles(const char *user_id);

#endif /* BROKER_ZAP_H */
