/*
 * Fuzz target: archive ingest (sniffing, every libarchive format we open,
 * nesting, limits) into a spool in a temporary folder. Every item must
 * be the input itself or an object inside the spool; objects are removed
 * again so the folder stays small.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "df.h"
#include "fuzz.h"
#include "hash.h"
#include "ingest.h"

#define FUZZ_NAME "fuzz-input"

struct fuzz_ctx {
	const char *spool;
};

static int on_item(void *ctx, const struct ingest_item *it)
{
	const struct fuzz_ctx *fc = ctx;
	size_t n = strlen(fc->spool);

	if (it->archive == NULL) {
		if (strcmp(it->path, FUZZ_NAME) != 0)
			abort();
		return DF_OK;
	}
	/* A member reaches the disk only as SPOOL/xx/<hash>. */
	if (strncmp(it->path, fc->spool, n) != 0 || it->path[n] != '/' ||
	    strlen(it->path + n) != 4 + HASH_HEX_LEN || it->member == NULL)
		abort();
	unlink(it->path);
	return DF_OK;
}

/*
 * The spool folder, made once per process and removed at exit (libFuzzer
 * gives a target no other hook, hence the one static).
 */
static char spool_path[64];

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void spool_remove(void)
{
	nftw(spool_path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *spool_dir(void)
{
	if (spool_path[0] == '\0') {
		snprintf(spool_path, sizeof(spool_path),
			 "/tmp/dffuzz-archive.XXXXXX");
		if (mkdtemp(spool_path) == NULL)
			abort();
		if (hash_global_init() != DF_OK)
			abort();
		atexit(spool_remove);
	}
	return spool_path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx fc = { spool_dir() };
	struct ingest_sink sink = { on_item, NULL, &fc };
	struct ingest_limits l;
	struct ingest *g = NULL;

	/* Small limits: a fuzzer finds bombs quickly and must not fill disks. */
	ingest_limits_init(&l);
	l.member_bytes = 8u << 20;
	l.total_bytes = 32u << 20;
	l.ratio_from = 1u << 20;
	l.members = 1000;
	if (ingest_new(&g, fc.spool, &l, &sink, NULL) != DF_OK)
		return 0;
	ingest_memory(g, FUZZ_NAME, data, size, NULL);
	ingest_destroy(&g);
	return 0;
}
