#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "df.h"
#include "diag.h"

int wire_send(void *sock, const struct wire_peer *peer, wire_env *env,
	      struct diag *d)
{
	env->version = DF_PROTOCOL_VERSION;
	size_t n = dumpfleet__v1__envelope__get_packed_size(env);

	if (n > WIRE_MAX_FRAME)
		return diag_fail(d, DF_ELIMIT, "message of %zu bytes too big",
				 n);
	uint8_t *buf = malloc(n ? n : 1);

	if (buf == NULL)
		return diag_fail(d, DF_ENOMEM, "no memory for a message");
	dumpfleet__v1__envelope__pack(env, buf);
	int rc = 0;

	if (peer != NULL)
		rc = zmq_send(sock, peer->id, peer->len, ZMQ_SNDMORE);
	if (rc >= 0)
		rc = zmq_send(sock, buf, n, 0);
	int err = zmq_errno(); /* before free() can change errno */

	free(buf);
	if (rc < 0)
		return diag_fail(d, DF_EIO, "send: %s", zmq_strerror(err));
	return DF_OK;
}

/*
 * Unpacking allocates per element: a frame of empty repeated submessages
 * costs some 40 times its size in structs and pointers. Unpack with a
 * budget so that a peer cannot turn 32 MiB of wire into gigabytes of heap.
 * Each allocation is charged 16 bytes of malloc overhead. The memory comes
 * from malloc, so wire_env_free() (the default allocator) releases it.
 */
struct budget {
	size_t left;
};

static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;

	if (size > b->left || b->left - size < 16)
		return NULL;
	b->left -= size + 16;
	return malloc(size);
}

static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/* Receive and drop the rest of a multipart message. */
static void drain(void *sock)
{
	int more = 1;
	size_t sz = sizeof(more);

	while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) < 0) {
			zmq_msg_close(&m);
			return;
		}
		zmq_msg_close(&m);
	}
}

int wire_recv(void *sock, struct wire_peer *peer, wire_env **env,
	      struct diag *d)
{
	zmq_msg_t m;
	int rc;

	*env = NULL;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, sock, 0) < 0) {
		zmq_msg_close(&m);
		return diag_fail(d, DF_EIO, "recv: %s", zmq_strerror(errno));
	}
	if (peer != NULL) {
		size_t n = zmq_msg_size(&m);

		if (n > WIRE_MAX_IDENTITY || !zmq_msg_more(&m)) {
			zmq_msg_close(&m);
			drain(sock);
			return diag_fail(d, DF_EPROTO, "bad identity frame");
		}
		memcpy(peer->id, zmq_msg_data(&m), n);
		peer->len = n;
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) < 0) {
			zmq_msg_close(&m);
			return diag_fail(d, DF_EIO, "recv: %s",
					 zmq_strerror(errno));
		}
	}
	if (peer != NULL) {
		/* Set by the ZAP handler of a CURVE socket, absent otherwise. */
		const char *user = zmq_msg_gets(&m, "User-Id");

		snprintf(peer->user, sizeof(peer->user), "%s",
			 user != NULL ? user : "");
	}
	bool more = zmq_msg_more(&m);
	size_t n = zmq_msg_size(&m);

	if (more || n > WIRE_MAX_FRAME) {
		zmq_msg_close(&m);
		drain(sock);
		return diag_fail(d, DF_EPROTO, "unexpected frames (%zu bytes)",
				 n);
	}
	rc = wire_decode(zmq_msg_data(&m), n, env, d);
	zmq_msg_close(&m);
	return rc;
}

int wire_decode(const uint8_t *data, size_t n, wire_env **env,
		struct diag *d)
{
	struct budget b = { WIRE_ALLOC_RATIO * n + WIRE_ALLOC_SLACK };
	ProtobufCAllocator al = { budget_alloc, budget_free, &b };
	int rc;

	*env = dumpfleet__v1__envelope__unpack(&al, n, data);
	if (*env == NULL)
		return diag_fail(d, DF_EPROTO, "undecodable or oversized message");
	if ((*env)->version != DF_PROTOCOL_VERSION) {
		rc = diag_fail(d, DF_EPROTO, "protocol version %u, want %u",
			       (*env)->version, DF_PROTOCOL_VERSION);
		wire_env_free(*env);
		*env = NULL;
		return rc;
	}
	return DF_OK;
}

void wire_env_free(wire_env *env)
{
	if (env != NULL)
		dumpfleet__v1__envelope__free_unpacked(env, NULL);
}

uint64_t wire_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
