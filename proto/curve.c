#include "curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "df.h"
#include "diag.h"
#include "log.h"

struct keyent {
	uint8_t key[CURVE_KEY_BYTES];
	unsigned roles;
};

struct curve_keyring {
	struct keyent *v;
	size_t n, cap;
};

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* ---- parsing ------------------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* libzmq's decoder trusts its input: check every character first. */
static bool z85_decode_key(const char *tok, size_t n,
			   uint8_t key[CURVE_KEY_BYTES])
{
	char buf[CURVE_KEY_Z85 + 1];

	if (n != CURVE_KEY_Z85)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tok[i] == '\0' || strchr(z85_chars, tok[i]) == NULL)
			return false;
	memcpy(buf, tok, n);
	buf[n] = '\0';
	return zmq_z85_decode(key, buf) != NULL;
}

/* One line without its newline: a key, a comment or nothing. */
static int parse_line(const char *s, size_t n, const char *origin,
		      unsigned lineno,
		      int (*fn)(void *ctx, const uint8_t key[CURVE_KEY_BYTES]),
		      void *ctx, struct diag *d)
{
	size_t i = 0, start;
	uint8_t key[CURVE_KEY_BYTES];

	while (i < n && is_blank(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return DF_OK;
	start = i;
	while (i < n && !is_blank(s[i]))
		i++;
	size_t toklen = i - start;

	while (i < n && is_blank(s[i]))
		i++;
	if ((i < n && s[i] != '#') || !z85_decode_key(s + start, toklen, key))
		return diag_fail(d, DF_EFORMAT,
				 "%.200s:%u: not a Z85 CURVE key", origin,
				 lineno);
	return fn(ctx, key);
}

int curve_keys_parse(const char *text, size_t len, const char *origin,
		     int (*fn)(void *ctx, const uint8_t key[CURVE_KEY_BYTES]),
		     void *ctx, struct diag *d)
{
	unsigned lineno = 0;

	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > CURVE_MAX_LINE)
			return diag_fail(d, DF_ELIMIT,
					 "%.200s:%u: line too long", origin,
					 lineno);
		int rc = parse_line(text + pos, n, origin, lineno, fn, ctx, d);

		if (rc != DF_OK)
			return rc;
		pos += n + 1;
	}
	return DF_OK;
}

/* Read a whole key file of at most CURVE_MAX_FILE bytes into *OUT. */
static int read_small(const char *path, char **out, size_t *len,
		      struct diag *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	*out = NULL;
	if (fd < 0)
		return diag_fail(d, DF_EIO, "cannot open '%.200s': %s", path,
				 strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)CURVE_MAX_FILE) {
		close(fd);
		return diag_fail(d, DF_EFORMAT,
				 "'%.200s' is not a key file of at most %u "
				 "bytes", path, CURVE_MAX_FILE);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;

	if (buf == NULL) {
		close(fd);
		return diag_fail(d, DF_ENOMEM, "no memory for '%.200s'", path);
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return DF_OK;
}

struct one_key {
	uint8_t key[CURVE_KEY_BYTES];
	unsigned n;
};

static int take_one(void *ctx, const uint8_t key[CURVE_KEY_BYTES])
{
	struct one_key *o = ctx;

	if (o->n++ == 0)
		memcpy(o->key, key, CURVE_KEY_BYTES);
	return DF_OK;
}

static int load_one(const char *path, uint8_t key[CURVE_KEY_BYTES],
		    struct diag *d)
{
	char *text;
	size_t len;
	struct one_key o = { { 0 }, 0 };
	int rc = read_small(path, &text, &len, d);

	if (rc != DF_OK)
		return rc;
	rc = curve_keys_parse(text, len, path, take_one, &o, d);
	free(text);
	if (rc == DF_OK && o.n != 1)
		rc = diag_fail(d, DF_EFORMAT, "'%.200s' holds %u keys, not one",
			       path, o.n);
	if (rc == DF_OK)
		memcpy(key, o.key, CURVE_KEY_BYTES);
	memset(o.key, 0, sizeof(o.key));
	return rc;
}

int curve_pair_load(struct curve_pair *kp, const char *path, struct diag *d)
{
	char sec[CURVE_KEY_Z85 + 1], pub[CURVE_KEY_Z85 + 1];
	struct stat st;
	int rc = load_one(path, kp->sec, d);

	if (rc != DF_OK)
		return rc;
	/* Mounted secrets are often 0644: say so, but do not stop. */
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		log_msg(LL_WARN, "event=key_file_readable path=\"%.200s\" "
				 "mode=%o", path, (unsigned)(st.st_mode & 0777));
	curve_key_text(kp->sec, sec);
	if (zmq_curve_public(pub, sec) != 0 || zmq_z85_decode(kp->pub, pub) ==
							NULL)
		rc = diag_fail(d, DF_EUNSUPPORTED,
			       "libzmq cannot derive a CURVE public key");
	memset(sec, 0, sizeof(sec));
	return rc;
}

int curve_public_load(uint8_t key[CURVE_KEY_BYTES], const char *path,
		      struct diag *d)
{
	return load_one(path, key, d);
}

/* ---- keygen --------------------------------------------------------------- */

static int write_key_file(const char *path, mode_t mode, const char *comment,
			  const char *z85, struct diag *d)
{
	char text[256];
	int n = snprintf(text, sizeof(text), "# %s\n%s\n", comment, z85);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return diag_fail(d, DF_EIO, "cannot create '%.200s': %s", path,
				 strerror(errno));
	/* The umask may only narrow MODE; make it exact. */
	bool ok = fchmod(fd, mode) == 0 && n > 0 && (size_t)n < sizeof(text) &&
		  write(fd, text, (size_t)n) == (ssize_t)n && fsync(fd) == 0;
	int err = errno;

	memset(text, 0, sizeof(text));
	if (close(fd) != 0 || !ok) {
		unlink(path);
		return diag_fail(d, DF_EIO, "cannot write '%.200s': %s", path,
				 strerror(err));
	}
	return DF_OK;
}

int curve_keygen(const char *basename, char *pub_z85, struct diag *d)
{
	char pub[CURVE_KEY_Z85 + 1], sec[CURVE_KEY_Z85 + 1];
	char kpath[PATH_MAX], ppath[PATH_MAX];
	struct stat st;
	int nk = snprintf(kpath, sizeof(kpath), "%s.key", basename);
	int np = snprintf(ppath, sizeof(ppath), "%s.pub", basename);

	if (nk < 0 || (size_t)nk >= sizeof(kpath) || np < 0 ||
	    (size_t)np >= sizeof(ppath))
		return diag_fail(d, DF_EUSAGE, "key file name too long");
	/* Check both first: never leave half a pair behind. */
	if (lstat(kpath, &st) == 0 || lstat(ppath, &st) == 0)
		return diag_fail(d, DF_EEXIST, "'%.200s' or its .pub exists",
				 kpath);
	if (zmq_curve_keypair(pub, sec) != 0)
		return diag_fail(d, DF_EUNSUPPORTED,
				 "libzmq was built without CURVE");
	int rc = write_key_file(kpath, 0600,
				"dumpfleet CURVE secret key: keep it private",
				sec, d);

	memset(sec, 0, sizeof(sec));
	if (rc == DF_OK)
		rc = write_key_file(ppath, 0644, "dumpfleet CURVE public key",
				    pub, d);
	if (rc != DF_OK) {
		unlink(kpath);
		return rc;
	}
	if (pub_z85 != NULL)
		memcpy(pub_z85, pub, sizeof(pub));
	return DF_OK;
}

/* ---- keyring ------------------------------------------------------------- */

struct curve_keyring *curve_keyring_new(void)
{
	return calloc(1, sizeof(struct curve_keyring));
}

void curve_keyring_destroy(struct curve_keyring **kr)
{
	if (kr == NULL || *kr == NULL)
		return;
	free((*kr)->v);
	free(*kr);
	*kr = NULL;
}

int curve_keyring_add(struct curve_keyring *kr,
		      const uint8_t key[CURVE_KEY_BYTES], unsigned roles,
		      struct diag *d)
{
	for (size_t i = 0; i < kr->n; i++) {
		if (memcmp(kr->v[i].key, key, CURVE_KEY_BYTES) == 0) {
			kr->v[i].roles |= roles;
			return DF_OK;
		}
	}
	if (kr->n >= CURVE_MAX_KEYS)
		return diag_fail(d, DF_ELIMIT, "more than %u CURVE keys",
				 CURVE_MAX_KEYS);
	if (kr->n == kr->cap) {
		size_t ncap = kr->cap ? kr->cap * 2 : 16;
		struct keyent *nv = realloc(kr->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return diag_fail(d, DF_ENOMEM, "no memory for keys");
		kr->v = nv;
		kr->cap = ncap;
	}
	memcpy(kr->v[kr->n].key, key, CURVE_KEY_BYTES);
	kr->v[kr->n].roles = roles & CURVE_ROLE_ANY;
	kr->n++;
	return DF_OK;
}

struct grant {
	struct curve_keyring *kr;
	unsigned roles;
	struct diag *d;
	size_t added;
};

static int grant_key(void *ctx, const uint8_t key[CURVE_KEY_BYTES])
{
	struct grant *g = ctx;

	g->added++;
	return curve_keyring_add(g->kr, key, g->roles, g->d);
}

static int load_file(struct grant *g, const char *path)
{
	char *text;
	size_t len;
	int rc = read_small(path, &text, &len, g->d);

	if (rc != DF_OK)
		return rc;
	rc = curve_keys_parse(text, len, path, grant_key, g, g->d);
	free(text);
	return rc;
}

static bool ends_with_pub(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pub") == 0;
}

static int load_dir(struct grant *g, const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	int rc = DF_OK;

	if (dir == NULL)
		return diag_fail(g->d, DF_EIO, "cannot open '%.200s': %s", path,
				 strerror(errno));
	while (rc == DF_OK && (e = readdir(dir)) != NULL) {
		char sub[PATH_MAX];
		int n;

		if (!ends_with_pub(e->d_name))
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub))
			continue;
		rc = load_file(g, sub);
	}
	closedir(dir);
	if (rc == DF_OK && g->added == 0)
		rc = diag_fail(g->d, DF_EFORMAT, "no key in '%.200s/*.pub'",
			       path);
	return rc;
}

int curve_keyring_load(struct curve_keyring *kr, const char *path,
		       unsigned roles, struct diag *d)
{
	struct grant g = { kr, roles, d, 0 };
	struct stat st;

	if (stat(path, &st) != 0)
		return diag_fail(d, DF_EIO, "cannot read '%.200s': %s", path,
				 strerror(errno));
	return S_ISDIR(st.st_mode) ? load_dir(&g, path) : load_file(&g, path);
}

unsigned curve_keyring_roles(const struct curve_keyring *kr,
			     const uint8_t key[CURVE_KEY_BYTES])
{
	for (size_t i = 0; kr != NULL && i < kr->n; i++)
		if (memcmp(kr->v[i].key, key, CURVE_KEY_BYTES) == 0)
			return kr->v[i].roles;
	return 0;
}

size_t curve_keyring_size(const struct curve_keyring *kr)
{
	return kr != NULL ? kr->n : 0;
}

/* ---- endpoints and sockets ---------------------------------------------- */

/* HOST (LEN bytes) names this machine's loopback interface. */
static bool host_loopback(const char *host, size_t len)
{
	static const char *const names[] = { "localhost", "[::1]", "::1" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (len == strlen(names[i]) && memcmp(host, names[i], len) == 0)
			return true;
	return len > 4 && memcmp(host, "127.", 4) == 0 &&
	       strspn(host, "0123456789.") >= len;
}

bool curve_endpoint_exposed(const char *endpoint)
{
	if (strncmp(endpoint, "inproc://", 9) == 0 ||
	    strncmp(endpoint, "ipc://", 6) == 0)
		return false;
	if (strncmp(endpoint, "tcp://", 6) != 0)
		return true;
	/* tcp://[source;]host:port: only the remote or bound host counts. */
	const char *host = endpoint + 6;
	const char *semi = strchr(host, ';');

	if (semi != NULL)
		host = semi + 1;
	const char *colon = strrchr(host, ':');
	size_t len = colon != NULL ? (size_t)(colon - host) : strlen(host);

	return !host_loopback(host, len);
}

int curve_server_apply(void *sock, const struct curve_pair *kp,
		       struct diag *d)
{
	int on = 1;

	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof(on)) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp->sec,
			   CURVE_KEY_BYTES) != 0 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, CURVE_ZAP_DOMAIN,
			   strlen(CURVE_ZAP_DOMAIN)) != 0)
		return diag_fail(d, DF_EUNSUPPORTED, "CURVE server: %s",
				 zmq_strerror(zmq_errno()));
	return DF_OK;
}

int curve_client_apply(void *sock, const struct curve_client *c,
		       struct diag *d)
{
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server,
			   CURVE_KEY_BYTES) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->self.pub,
			   CURVE_KEY_BYTES) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->self.sec,
			   CURVE_KEY_BYTES) != 0)
		return diag_fail(d, DF_EUNSUPPORTED, "CURVE client: %s",
				 zmq_strerror(zmq_errno()));
	return DF_OK;
}

void curve_key_text(const uint8_t key[CURVE_KEY_BYTES],
		    char out[CURVE_KEY_Z85 + 1])
{
	if (zmq_z85_encode(out, key, CURVE_KEY_BYTES) == NULL)
		out[0] = '\0';
}
