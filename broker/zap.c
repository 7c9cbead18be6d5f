#include "zap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "curve.h"
#include "df.h"
#include "diag.h"
#include "log.h"

#define ZAP_FRAMES 8       /* a CURVE request has 7 */
#define ZAP_FRAME_MAX 256  /* bytes kept of each frame */
#define ZAP_POLL_MS 100    /* how soon zap_stop() is seen */

struct zap {
	void *sock;
	const struct curve_keyring *allow;
	pthread_t thread;
	atomic_bool stop;
};

struct frame {
	uint8_t b[ZAP_FRAME_MAX];
	size_t len;   /* bytes kept */
	size_t full;  /* bytes the frame had */
};

struct request {
	struct frame f[ZAP_FRAMES];
	size_t n;     /* frames kept */
	bool over;    /* more than ZAP_FRAMES */
};

/* The user ids zap hands out, by roles (enum curve_role). */
static const char *const role_users[] = {
	[CURVE_ROLE_WORKER] = "worker",
	[CURVE_ROLE_CLIENT] = "client",
	[CURVE_ROLE_ANY] = "worker,client",
};

unsigned zap_user_roles(const char *user_id)
{
	for (unsigned r = 1; user_id != NULL && r < ARRAY_SIZE(role_users); r++)
		if (strcmp(user_id, role_users[r]) == 0)
			return r;
	return 0;
}

static bool frame_is(const struct frame *f, const char *s)
{
	return f->full == strlen(s) && memcmp(f->b, s, f->len) == 0;
}

/* Read one whole request; false when the socket failed. */
static bool read_request(void *sock, struct request *rq)
{
	int more = 1;

	memset(rq, 0, sizeof(*rq));
	while (more) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) < 0) {
			zmq_msg_close(&m);
			return false;
		}
		if (rq->n < ZAP_FRAMES) {
			struct frame *f = &rq->f[rq->n++];

			f->full = zmq_msg_size(&m);
			f->len = f->full < ZAP_FRAME_MAX ? f->full
							 : ZAP_FRAME_MAX;
			memcpy(f->b, zmq_msg_data(&m), f->len);
		} else {
			rq->over = true;
		}
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
	}
	return true;
}

static void send_reply(void *sock, const struct request *rq, const char *code,
		       const char *text, const char *user)
{
	static const char version[] = "1.0";
	const struct frame *id = rq->n > 1 ? &rq->f[1] : NULL;

	zmq_send(sock, version, 3, ZMQ_SNDMORE);
	zmq_send(sock, id != NULL ? id->b : NULL, id != NULL ? id->len : 0,
		 ZMQ_SNDMORE);
	zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

/* The peer's address frame, printable, for the log. */
static void address_of(const struct request *rq, char *out, size_t n)
{
	size_t k = 0;

	if (rq->n > 3)
		for (size_t i = 0; i < rq->f[3].len && k + 1 < n; i++) {
			uint8_t c = rq->f[3].b[i];

			out[k++] = c > 32 && c < 127 && c != '"' ? (char)c
								  : '?';
		}
	out[k] = '\0';
}

static void answer(struct zap *z, const struct request *rq)
{
	char addr[64], key[CURVE_KEY_Z85 + 1] = "";
	unsigned roles = 0;
	bool curve = !rq->over && rq->n == 7 && frame_is(&rq->f[0], "1.0") &&
		     frame_is(&rq->f[2], CURVE_ZAP_DOMAIN) &&
		     frame_is(&rq->f[5], "CURVE") &&
		     rq->f[6].full == CURVE_KEY_BYTES;

	address_of(rq, addr, sizeof(addr));
	if (curve) {
		curve_key_text(rq->f[6].b, key);
		roles = curve_keyring_roles(z->allow, rq->f[6].b);
	}
	if (roles == 0) {
		log_msg(LL_WARN, "event=auth_denied address=\"%s\" key=\"%s\"",
			addr, curve ? key : "(no CURVE key)");
		send_reply(z->sock, rq, "400", "key not allowed", "");
		return;
	}
	log_msg(LL_INFO, "event=auth_ok address=\"%s\" key=\"%s\" role=%s",
		addr, key, role_users[roles]);
	send_reply(z->sock, rq, "200", "OK", role_users[roles]);
}

static void *zap_main(void *arg)
{
	struct zap *z = arg;

	while (!atomic_load(&z->stop)) {
		zmq_pollitem_t item = { z->sock, 0, ZMQ_POLLIN, 0 };
		int n = zmq_poll(&item, 1, ZAP_POLL_MS);
		struct request rq;

		if (n < 0 && zmq_errno() == ETERM)
			break;
		if (n <= 0)
			continue;
		if (!read_request(z->sock, &rq))
			break;
		answer(z, &rq);
	}
	return NULL;
}

int zap_start(struct zap **out, void *ctx, const struct curve_keyring *allow,
	      struct diag *d)
{
	struct zap *z = calloc(1, sizeof(*z));
	int linger = 0;

	*out = NULL;
	if (z == NULL)
		return diag_fail(d, DF_ENOMEM, "no memory for ZAP");
	z->allow = allow;
	atomic_store(&z->stop, false);
	z->sock = zmq_socket(ctx, ZMQ_REP);
	if (z->sock == NULL || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger,
					      sizeof(linger)) != 0 ||
	    zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
		diag_fail(d, DF_EIO, "ZAP handler: %s",
			  zmq_strerror(zmq_errno()));
		if (z->sock != NULL)
			zmq_close(z->sock);
		free(z);
		return DF_EIO;
	}
	if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
		zmq_close(z->sock);
		free(z);
		return diag_fail(d, DF_ENOMEM, "cannot start the ZAP thread");
	}
	*out = z;
	return DF_OK;
}

void zap_stop(struct zap **zp)
{
	if (zp == NULL || *zp == NULL)
		return;
	atomic_store(&(*zp)->stop, true);
	pthread_join((*zp)->thread, NULL);
	zmq_close((*zp)->sock);
	free(*zp);
	*zp = NULL;
}
