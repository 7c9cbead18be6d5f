/*
 * client - submits files to a broker and follows their progress.
 *
 * Paths are collected by walking the given files and folders (regular
 * files only, symbolic links not followed, sorted so that runs repeat),
 * made absolute; archives are expanded into a spool (ingest.h). They are
 * sent in SubmitRequests of at most CLIENT_CHUNK files (plain paths, then
 * archive members as SubmitItems); each chunk is acknowledged after the
 * broker has stored its jobs.
 */
#ifndef BROKER_CLIENT_H
#define BROKER_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diag;

#define CLIENT_CHUNK 1000
#define CLIENT_MAX_FILES 10000000

/*
 * Files to submit. ARCHIVE[i] and MEMBER[i] are NULL for a plain file,
 * else V[i] is a spool object unpacked from that archive member.
 */
struct pathlist {
	char **v;
	char **archive;
	char **member;
	size_t n, cap;
	uint64_t problems;  /* ingest problems reported while collecting */
};

struct ingest_limits;
struct ingest_problem;

struct client_collect_opts {
	/*
	 * Expand archives into this spool (on a filesystem the workers
	 * share); NULL submits every file as it is.
	 */
	const char *spool_dir;
	const struct ingest_limits *limits; /* NULL: ingest defaults */
	/* Told of every ingest problem (may be NULL). */
	void (*problem)(void *ctx, const struct ingest_problem *p);
	void *ctx;
};

/*
 * Append every regular file under each of the N ROOTS (files or folders)
 * to L, absolute and in sorted order; with O->spool_dir, archives among
 * them are replaced by their members (ingest.h), and the spool folder
 * itself is never walked. DF_OK (problems in archives are counted in
 * L->problems and reported to O->problem), or DF_EIO naming the first
 * root that cannot be read, or the spool's failure.
 */
int client_collect(struct pathlist *l, char *const *roots, size_t n,
		   const struct client_collect_opts *o, struct diag *d);

void pathlist_release(struct pathlist *l);

struct client_status {
	uint64_t queued, leased, done, failed;
	uint32_t workers;
};

/*
 * Submit L under BATCH to the broker at ENDPOINT using CTX. *ACCEPTED gets
 * the number of jobs the broker stored. TIMEOUT_MS bounds the wait for
 * each acknowledgement.
 */
int client_submit(void *ctx, const char *endpoint, const char *batch,
		  const struct pathlist *l, size_t *accepted,
		  uint32_t timeout_ms, struct diag *d);

/* Ask the broker for its queue counts. */
int client_status(void *ctx, const char *endpoint, struct client_status *st,
		  uint32_t timeout_ms, struct diag *d);

/*
 * Poll the broker until nothing is queued or leased. With PROGRESS, a
 * one-line progress display is kept on stderr. DF_OK, or DF_EIO when the
 * broker stops answering for TIMEOUT_MS or when STOP (may be NULL) becomes
 * true (checked at least every 100 ms).
 */
int client_wait(void *ctx, const char *endpoint, bool progress,
		uint32_t timeout_ms, const atomic_bool *stop,
		struct client_status *last, struct diag *d);

#endif /* BROKER_CLIENT_H */
