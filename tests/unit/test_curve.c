/*
 * CURVE key files and allow-lists, endpoint exposure, and the broker's ZAP
 * handler answering RFC 27 requests sent by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <zmq.h>

#include "curve.h"
#include "df.h"
#include "diag.h"
#include "testutil.h"
#include "zap.h"

struct keys {
	uint8_t k[8][CURVE_KEY_BYTES];
	size_t n;
};

static int collect(void *ctx, const uint8_t key[CURVE_KEY_BYTES])
{
	struct keys *ks = ctx;

	if (ks->n == 8)
		return DF_ELIMIT;
	memcpy(ks->k[ks->n++], key, CURVE_KEY_BYTES);
	return DF_OK;
}

static int parse(const char *text, struct keys *ks, struct diag *d)
{
	memset(ks, 0, sizeof(*ks));
	diag_init(d);
	return curve_keys_parse(text, strlen(text), "t", collect, ks, d);
}

/* A fresh key pair's Z85 public and secret texts. */
static void pair(char pub[41], char sec[41])
{
	assert_int_equal(zmq_curve_keypair(pub, sec), 0);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_curve__comments_and_blanks_are_skipped(void **state)
{
	(void)state;
	char pub[41], sec[41], text[512];
	uint8_t raw[CURVE_KEY_BYTES];
	struct keys ks;
	struct diag d;

	pair(pub, sec);
	snprintf(text, sizeof(text),
		 "# workers\n\n   \t\n%s\r\n  %s   # second copy\n#%s\n", pub,
		 pub, sec);
	assert_int_equal(parse(text, &ks, &d), DF_OK);
	assert_int_equal(ks.n, 2);
	assert_non_null(zmq_z85_decode(raw, pub));
	assert_memory_equal(ks.k[0], raw, CURVE_KEY_BYTES);
	/* A last line without its newline counts too. */
	snprintf(text, sizeof(text), "%s", pub);
	assert_int_equal(parse(text, &ks, &d), DF_OK);
	assert_int_equal(ks.n, 1);
	assert_int_equal(parse("", &ks, &d), DF_OK);
	assert_int_equal(ks.n, 0);
}

static void test_curve__bad_lines_name_their_line(void **state)
{
	(void)state;
	char pub[41], sec[41], text[512];
	struct keys ks;
	struct diag d;

	pair(pub, sec);
	/* Too short, too long, a character outside Z85, trailing junk. */
	snprintf(text, sizeof(text), "%s\n%.39s\n", pub, pub);
	assert_int_equal(parse(text, &ks, &d), DF_EFORMAT);
	assert_non_null(strstr(d.msg, "t:2:"));
	snprintf(text, sizeof(text), "%sA\n", pub);
	assert_int_equal(parse(text, &ks, &d), DF_EFORMAT);
	snprintf(text, sizeof(text), "%.39s\"\n", pub);
	assert_int_equal(parse(text, &ks, &d), DF_EFORMAT);
	snprintf(text, sizeof(text), "%.39s,\n", pub);
	assert_int_equal(parse(text, &ks, &d), DF_EFORMAT);
	snprintf(text, sizeof(text), "%s junk\n", pub);
	assert_int_equal(parse(text, &ks, &d), DF_EFORMAT);
	/* A NUL inside a line is no key character either. */
	char nul[41];

	memcpy(nul, pub, 40);
	nul[7] = '\0';
	memset(&ks, 0, sizeof(ks));
	diag_init(&d);
	assert_int_equal(curve_keys_parse(nul, 40, "t", collect, &ks, &d),
			 DF_EFORMAT);
	assert_int_equal(ks.n, 0);
}

static void test_curve__long_line_is_refused(void **state)
{
	(void)state;
	size_t n = CURVE_MAX_LINE + 10;
	char *text = malloc(n + 1);
	struct keys ks;
	struct diag d;

	assert_non_null(text);
	memset(text, '#', n);
	text[n] = '\0';
	assert_int_equal(parse(text, &ks, &d), DF_ELIMIT);
	free(text);
}

static void test_curve__keygen_files_and_load(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char base[512], path[600], pub[41];
	struct curve_pair kp;
	uint8_t pubkey[CURVE_KEY_BYTES], raw[CURVE_KEY_BYTES];
	struct stat st;
	struct diag d;

	diag_init(&d);
	snprintf(base, sizeof(base), "%s/node", dir);
	assert_int_equal(curve_keygen(base, pub, &d), DF_OK);
	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(curve_pair_load(&kp, path, &d), DF_OK);
	snprintf(path, sizeof(path), "%s.pub", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(curve_public_load(pubkey, path, &d), DF_OK);
	/* The public key derived from the secret is the one written. */
	assert_memory_equal(kp.pub, pubkey, CURVE_KEY_BYTES);
	assert_non_null(zmq_z85_decode(raw, pub));
	assert_memory_equal(raw, pubkey, CURVE_KEY_BYTES);
	/* Never overwritten. */
	diag_init(&d);
	assert_int_equal(curve_keygen(base, NULL, &d), DF_EEXIST);
	/* A key file must hold exactly one key. */
	char two[200], p2[41], s2[41];

	pair(p2, s2);
	snprintf(two, sizeof(two), "%s\n%s\n", p2, pub);
	write_text(path, two);
	diag_init(&d);
	assert_int_equal(curve_public_load(pubkey, path, &d), DF_EFORMAT);
	write_text(path, "# nothing\n");
	diag_init(&d);
	assert_int_equal(curve_public_load(pubkey, path, &d), DF_EFORMAT);
	test_rmtree(dir);
	free(dir);
}

static void test_curve__keyring_files_folders_and_roles(void **state)
{
	(void)state;
	char *dir = test_tmpdir();
	char path[600], folder[600], w1[41], w2[41], c1[41], sec[41];
	char text[300];
	uint8_t k[CURVE_KEY_BYTES];
	struct curve_keyring *kr = curve_keyring_new();
	struct diag d;

	assert_non_null(kr);
	pair(w1, sec);
	pair(w2, sec);
	pair(c1, sec);
	snprintf(path, sizeof(path), "%s/workers.txt", dir);
	snprintf(text, sizeof(text), "# two workers\n%s\n%s\n", w1, w2);
	write_text(path, text);
	snprintf(folder, sizeof(folder), "%s/clients", dir);
	assert_int_equal(mkdir(folder, 0700), 0);
	snprintf(path, sizeof(path), "%s/clients/alice.pub", dir);
	snprintf(text, sizeof(text), "%s\n", c1);
	write_text(path, text);
	/* Not a .pub file: ignored, however bad. */
	snprintf(path, sizeof(path), "%s/clients/README", dir);
	write_text(path, "not a key\n");

	diag_init(&d);
	snprintf(path, sizeof(path), "%s/workers.txt", dir);
	assert_int_equal(curve_keyring_load(kr, path, CURVE_ROLE_WORKER, &d),
			 DF_OK);
	assert_int_equal(curve_keyring_load(kr, folder, CURVE_ROLE_CLIENT, &d),
			 DF_OK);
	assert_int_equal(curve_keyring_size(kr), 3);
	assert_non_null(zmq_z85_decode(k, w2));
	assert_int_equal(curve_keyring_roles(kr, k), CURVE_ROLE_WORKER);
	assert_non_null(zmq_z85_decode(k, c1));
	assert_int_equal(curve_keyring_roles(kr, k), CURVE_ROLE_CLIENT);
	/* A key on both lists has both roles, once. */
	assert_int_equal(curve_keyring_load(kr, path, CURVE_ROLE_CLIENT, &d),
			 DF_OK);
	assert_int_equal(curve_keyring_size(kr), 3);
	assert_non_null(zmq_z85_decode(k, w1));
	assert_int_equal(curve_keyring_roles(kr, k), CURVE_ROLE_ANY);
	pair(w1, sec);
	assert_non_null(zmq_z85_decode(k, w1));
	assert_int_equal(curve_keyring_roles(kr, k), 0);
	/* A folder without keys, and a missing path, are errors. */
	snprintf(path, sizeof(path), "%s/clients/alice.pub", dir);
	assert_int_equal(remove(path), 0);
	diag_init(&d);
	assert_int_equal(curve_keyring_load(kr, folder, CURVE_ROLE_CLIENT, &d),
			 DF_EFORMAT);
	diag_init(&d);
	assert_int_equal(curve_keyring_load(kr, "/nonexistent/x", 1, &d),
			 DF_EIO);
	curve_keyring_destroy(&kr);
	assert_null(kr);
	test_rmtree(dir);
	free(dir);
}

static void test_curve__exposed_endpoints(void **state)
{
	(void)state;
	static const struct {
		const char *ep;
		bool exposed;
	} cases[] = {
		{ "tcp://127.0.0.1:5555", false },
		{ "tcp://127.0.0.1:*", false },
		{ "tcp://127.1.2.3:1", false },
		{ "tcp://localhost:5555", false },
		{ "tcp://[::1]:5555", false },
		{ "tcp://10.0.0.1;127.0.0.1:5555", false },
		{ "ipc:///tmp/x", false },
		{ "inproc://x", false },
		{ "tcp://*:5555", true },
		{ "tcp://0.0.0.0:5555", true },
		{ "tcp://broker:5555", true },
		{ "tcp://127.0.0.1.evil.example:5555", true },
		{ "tcp://localhost.example:5555", true },
		{ "tcp://[::]:5555", true },
		{ "tcp://eth0:5555", true },
		{ "ws://127.0.0.1:80", true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (curve_endpoint_exposed(cases[i].ep) != cases[i].exposed)
			fail_msg("%s", cases[i].ep);
}

/* ---- ZAP ---------------------------------------------------------------- */

struct zreply {
	char code[64];
	char user[64];
	char reqid[64];
};

static void zap_ask(void *req, const char *version, const char *domain,
		    const char *mech, const void *cred, size_t credlen,
		    struct zreply *out)
{
	char f[6][64];
	int len[6];

	assert_int_equal(zmq_send(req, version, strlen(version), ZMQ_SNDMORE),
			 (int)strlen(version));
	zmq_send(req, "id-7", 4, ZMQ_SNDMORE);
	zmq_send(req, domain, strlen(domain), ZMQ_SNDMORE);
	zmq_send(req, "127.0.0.1", 9, ZMQ_SNDMORE);
	zmq_send(req, "", 0, ZMQ_SNDMORE);
	zmq_send(req, mech, strlen(mech), cred != NULL ? ZMQ_SNDMORE : 0);
	if (cred != NULL)
		zmq_send(req, cred, credlen, 0);
	for (int i = 0; i < 6; i++) {
		len[i] = zmq_recv(req, f[i], sizeof(f[i]) - 1, 0);
		assert_true(len[i] >= 0);
		f[i][len[i]] = '\0';
	}
	assert_string_equal(f[0], "1.0");
	memcpy(out->reqid, f[1], sizeof(f[1]));
	memcpy(out->code, f[2], sizeof(f[2]));
	memcpy(out->user, f[4], sizeof(f[4]));
}

static void test_zap__answers_from_the_keyring(void **state)
{
	(void)state;
	void *ctx = zmq_ctx_new();
	struct curve_keyring *kr = curve_keyring_new();
	struct zap *z = NULL;
	char wpub[41], cpub[41], opub[41], sec[41];
	uint8_t w[32], c[32], o[32];
	struct zreply r;
	struct diag d;
	int tmo = 5000;

	pair(wpub, sec);
	pair(cpub, sec);
	pair(opub, sec);
	zmq_z85_decode(w, wpub);
	zmq_z85_decode(c, cpub);
	zmq_z85_decode(o, opub);
	diag_init(&d);
	assert_int_equal(curve_keyring_add(kr, w, CURVE_ROLE_WORKER, &d), DF_OK);
	assert_int_equal(curve_keyring_add(kr, c, CURVE_ROLE_CLIENT, &d), DF_OK);
	assert_int_equal(zap_start(&z, ctx, kr, &d), DF_OK);
	void *req = zmq_socket(ctx, ZMQ_REQ);

	zmq_setsockopt(req, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
	assert_int_equal(zmq_connect(req, ZAP_ENDPOINT), 0);

	zap_ask(req, "1.0", CURVE_ZAP_DOMAIN, "CURVE", w, 32, &r);
	assert_string_equal(r.code, "200");
	assert_string_equal(r.reqid, "id-7");
	assert_int_equal(zap_user_roles(r.user), CURVE_ROLE_WORKER);
	zap_ask(req, "1.0", CURVE_ZAP_DOMAIN, "CURVE", c, 32, &r);
	assert_string_equal(r.code, "200");
	assert_int_equal(zap_user_roles(r.user), CURVE_ROLE_CLIENT);
	/* Unknown key, short key, other mechanism, domain or version. */
	zap_ask(req, "1.0", CURVE_ZAP_DOMAIN, "CURVE", o, 32, &r);
	assert_string_equal(r.code, "400");
	assert_string_equal(r.user, "");
	zap_ask(req, "1.0", CURVE_ZAP_DOMAIN, "CURVE", w, 31, &r);
	assert_string_equal(r.code, "400");
	zap_ask(req, "1.0", CURVE_ZAP_DOMAIN, "NULL", NULL, 0, &r);
	assert_string_equal(r.code, "400");
	zap_ask(req, "1.0", "other", "CURVE", w, 32, &r);
	assert_string_equal(r.code, "400");
	zap_ask(req, "2.0", CURVE_ZAP_DOMAIN, "CURVE", w, 32, &r);
	assert_string_equal(r.code, "400");

	assert_int_equal(zap_user_roles("worker,client"), CURVE_ROLE_ANY);
	assert_int_equal(zap_user_roles(""), 0);
	assert_int_equal(zap_user_roles(NULL), 0);
	zmq_close(req);
	zap_stop(&z);
	assert_null(z);
	curve_keyring_destroy(&kr);
	zmq_ctx_term(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curve__comments_and_blanks_are_skipped),
		cmocka_unit_test(test_curve__bad_lines_name_their_line),
		cmocka_unit_test(test_curve__long_line_is_refused),
		cmocka_unit_test(test_curve__keygen_files_and_load),
		cmocka_unit_test(test_curve__keyring_files_folders_and_roles),
		cmocka_unit_test(test_curve__exposed_endpoints),
		cmocka_unit_test(test_zap__answers_from_the_keyring),
	};
	return cmocka_run_group_tests_name("curve", tests, NULL, NULL);
}
