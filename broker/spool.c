#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "df.h"
#include "diag.h"

struct spool {
	char dir[SPOOL_MAX_DIR + 1];
	bool unsynced;   /* objects renamed in since the last spool_sync */
};

struct spool_writer {
	struct spool *s;
	int fd;
	char tmp[SPOOL_MAX_DIR + 32];
	struct hash_stream *h;
	uint64_t size;
};

static int make_dir(const char *path, struct diag *d)
{
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return DF_OK;
	return diag_fail(d, DF_EIO, "cannot create '%s': %s", path,
			 strerror(errno));
}

/* mkdir -p for the spool's own directory (given by the user, not a dump). */
static int make_dirs(const char *dir, struct diag *d)
{
	char buf[SPOOL_MAX_DIR + 1];
	size_t n = strlen(dir);

	if (n == 0 || n > SPOOL_MAX_DIR)
		return diag_fail(d, DF_ELIMIT, "spool path too long");
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i < n; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		int rc = make_dir(buf, d);

		buf[i] = '/';
		if (rc != DF_OK)
			return rc;
	}
	return make_dir(buf, d);
}

int spool_open(struct spool **out, const char *dir, struct diag *d)
{
	char abs[PATH_MAX];
	char tmp[SPOOL_MAX_DIR + 8];

	*out = NULL;
	int rc = make_dirs(dir, d);

	if (rc != DF_OK)
		return rc;
	if (realpath(dir, abs) == NULL)
		return diag_fail(d, DF_EIO, "cannot read '%s': %s", dir,
				 strerror(errno));
	int k = snprintf(tmp, sizeof(tmp), "%s/tmp", abs);

	if (strlen(abs) > SPOOL_MAX_DIR || k < 0 || (size_t)k >= sizeof(tmp))
		return diag_fail(d, DF_ELIMIT, "spool path too long");
	if ((rc = make_dir(tmp, d)) != DF_OK)
		return rc;
	struct spool *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return diag_fail(d, DF_ENOMEM, "out of memory");
	memcpy(s->dir, abs, strlen(abs) + 1);
	*out = s;
	return DF_OK;
}

void spool_destroy(struct spool **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	free(*sp);
	*sp = NULL;
}

const char *spool_dir(const struct spool *s)
{
	return s->dir;
}

int spool_writer_begin(struct spool *s, struct spool_writer **out,
		       struct diag *d)
{
	struct spool_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL || (w->h = hash_stream_new()) == NULL) {
		free(w);
		return diag_fail(d, DF_ENOMEM, "out of memory");
	}
	w->s = s;
	snprintf(w->tmp, sizeof(w->tmp), "%s/tmp/in.XXXXXX", s->dir);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;

		hash_stream_destroy(&w->h);
		free(w);
		return diag_fail(d, DF_EIO, "cannot create a spool file: %s",
				 strerror(e));
	}
	/* Workers on other accounts read the objects. */
	fchmod(w->fd, 0644);
	*out = w;
	return DF_OK;
}

int spool_writer_write(struct spool_writer *w, const void *buf, size_t n,
		       struct diag *d)
{
	const char *p = buf;
	size_t left = n;

	while (left > 0) {
		ssize_t k = write(w->fd, p, left);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return diag_fail(d, DF_EIO, "spool write: %s",
					 k < 0 ? strerror(errno) : "no space");
		p += k;
		left -= (size_t)k;
	}
	hash_stream_update(w->h, buf, n);
	w->size += n;
	return DF_OK;
}

uint64_t spool_writer_size(const struct spool_writer *w)
{
	return w->size;
}

void spool_object_path(const struct spool *s, const uint8_t hash[HASH_LEN],
		       char *out, size_t outlen)
{
	char hex[HASH_HEX_LEN + 1];

	hash_hex(hash, HASH_LEN, hex);
	snprintf(out, outlen, "%s/%.2s/%s", s->dir, hex, hex);
}

static void writer_free(struct spool_writer **wp, bool unlink_tmp)
{
	struct spool_writer *w = *wp;

	if (w->fd >= 0)
		close(w->fd);
	if (unlink_tmp)
		unlink(w->tmp);
	hash_stream_destroy(&w->h);
	free(w);
	*wp = NULL;
}

void spool_writer_abort(struct spool_writer **wp)
{
	if (wp == NULL || *wp == NULL)
		return;
	writer_free(wp, true);
}

int spool_sync(struct spool *s, struct diag *d)
{
	if (!s->unsynced)
		return DF_OK;
	int fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return diag_fail(d, DF_EIO, "spool sync: %s", strerror(errno));
	/*
	 * One flush of the spool's filesystem for a whole batch: data,
	 * inodes and the renames.
	 * An fsync per object cost 8 ms each on ext4 (a journal commit per
	 * call), 16 times the whole pipeline for small dumps.
	 */
	int rc = syncfs(fd);
	int e = errno;

	close(fd);
	if (rc != 0)
		return diag_fail(d, DF_EIO, "spool sync: %s", strerror(e));
	s->unsynced = false;
	return DF_OK;
}

int spool_writer_commit(struct spool_writer **wp, struct spool_object *obj,
			struct diag *d)
{
	struct spool_writer *w = *wp;
	char sub[SPOOL_MAX_DIR + 8];
	struct stat st;

	memset(obj, 0, sizeof(*obj));
	hash_stream_final(w->h, obj->hash);
	obj->size = w->size;
	spool_object_path(w->s, obj->hash, obj->path, sizeof(obj->path));
	if (lstat(obj->path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == w->size) {
		obj->existed = true;
		writer_free(wp, true);
		return DF_OK;
	}
	snprintf(sub, sizeof(sub), "%s/%.2s", w->s->dir,
		 obj->path + strlen(w->s->dir) + 1);
	int rc = make_dir(sub, d);

	if (rc == DF_OK && rename(w->tmp, obj->path) != 0)
		rc = diag_fail(d, DF_EIO, "spool rename: %s", strerror(errno));
	if (rc == DF_OK)
		w->s->unsynced = true;
	writer_free(wp, rc != DF_OK);
	return rc;
}
