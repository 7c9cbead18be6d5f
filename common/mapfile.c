#include "mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "df.h"
#include "diag.h"

int mapfile_open(struct mapfile *m, const char *path, struct diag *d)
{
	m->data = NULL;
	m->len = 0;
	/*
	 * The path comes from a submission: opening a FIFO without O_NONBLOCK
	 * waits for a writer for ever (the slot hangs), and a device may block
	 * too. Non-blocking changes nothing for the regular files we map.
	 */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return diag_fail(d, DF_EIO, "cannot open '%s': %s", path,
				 strerror(errno));
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return diag_fail(d, DF_EIO, "'%s' is not a regular file",
				 path);
	}
	if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			       fd, 0);

		if (p == MAP_FAILED) {
			int e = errno;

			close(fd);
			return diag_fail(d, DF_EIO, "cannot map '%s': %s", path,
					 strerror(e));
		}
		m->data = p;
		m->len = (size_t)st.st_size;
	}
	close(fd);
	return DF_OK;
}

void mapfile_drop(const struct mapfile *m, size_t off, size_t len)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t page = ps > 0 ? (size_t)ps : 4096;

	if (m->data == NULL || off >= m->len)
		return;
	if (len > m->len - off)
		len = m->len - off;
	/* Only whole pages inside the range; the mapping starts on one. */
	size_t start = (off + page - 1) / page * page;
	size_t end = off + len == m->len ? m->len : (off + len) / page * page;

	if (end > start)
		madvise((void *)(m->data + start), end - start, MADV_DONTNEED);
}

void mapfile_close(struct mapfile *m)
{
	if (m->data != NULL)
		munmap((void *)m->data, m->len);
	m->data = NULL;
	m->len = 0;
}
