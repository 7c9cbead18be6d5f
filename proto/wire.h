/*
 * wire - dumpfleet.v1 Envelope messages over ZeroMQ.
 *
 * Framing: on a ROUTER socket a message is [peer identity][envelope]; on a
 * DEALER it is [envelope]. The envelope is one protobuf frame of at most
 * WIRE_MAX_FRAME bytes carrying the protocol version. Frames from peers are
 * untrusted: size checked before unpacking, the heap the unpacked message
 * may take is bounded, version checked after.
 */
#ifndef PROTO_WIRE_H
#define PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dumpfleet.pb-c.h"

struct diag;

#define DF_PROTOCOL_VERSION 1
#define WIRE_MAX_FRAME ((size_t)32 << 20)
#define WIRE_MAX_IDENTITY 255
#define WIRE_MAX_USER 64      /* bytes of a User-Id kept, with its NUL */
/* Heap one received frame of N bytes may unpack into: RATIO * N + SLACK. */
#define WIRE_ALLOC_RATIO 4
#define WIRE_ALLOC_SLACK ((size_t)1 << 20)

typedef Dumpfleet__V1__Envelope wire_env;

/* A ROUTER peer identity. */
struct wire_peer {
	uint8_t id[WIRE_MAX_IDENTITY];
	size_t len;
	/* User-Id the ZAP handler gave the connection ("" without ZAP). */
	char user[WIRE_MAX_USER];
};

/*
 * Send ENV on SOCK, preceded by PEER's identity when PEER is not NULL
 * (ROUTER). Sets the version. DF_OK, DF_EIO (errno in D) or DF_ENOMEM.
 */
int wire_send(void *sock, const struct wire_peer *peer, wire_env *env,
	      struct diag *d);

/*
 * Receive one message from SOCK. With PEER not NULL the first frame is the
 * identity (ROUTER). On DF_OK *ENV is a fresh message to free with
 * wire_env_free(). A malformed message, or one that would unpack into more
 * than WIRE_ALLOC_RATIO times its size (plus WIRE_ALLOC_SLACK), gives
 * DF_EPROTO (all its frames are consumed). Interrupted or terminated
 * contexts give DF_EIO.
 */
int wire_recv(void *sock, struct wire_peer *peer, wire_env **env,
	      struct diag *d);

/*
 * Decode one message body of N bytes at DATA as wire_recv() does: within
 * the allocation budget, and only of this protocol version. DF_OK with a
 * fresh *ENV, or DF_EPROTO (*ENV NULL).
 */
int wire_decode(const uint8_t *data, size_t n, wire_env **env,
		struct diag *d);

void wire_env_free(wire_env *env);

/* Milliseconds on a monotonic clock. */
uint64_t wire_now_ms(void);

#endif /* PROTO_WIRE_H */
