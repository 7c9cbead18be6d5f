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

#include "hash.h"
#include "wire.h"

struct curve_client;
struct diag;

/* Where and how to reach the broker. */
struct client_link {
	void *ctx;                         /* ZeroMQ context */
	const char *endpoint;
	const struct curve_client *curve;  /* CURVE keys, or NULL: plain */
};

#define CLIENT_CHUNK 1000
#define CLIENT_MAX_FILES 10000000

/* What a file to submit holds, when known (sent as content_hash, size). */
struct pathlist_content {
	bool known;
	uint8_t hash[HASH_LEN];
	uint64_t size;
};

/*
 * Files to submit. ARCHIVE[i] and MEMBER[i] are NULL for a plain file,
 * else V[i] is a spool object unpacked from that archive member.
 * CONTENT[i] is its SHA-256 and size when known.
 */
struct pathlist {
	char **v;
	char **archive;
	char **member;
	struct pathlist_content *content;
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
	/*
	 * Hash every plain file (spool objects are hashed as they are
	 * written), so that the job names its content: workers then neither
	 * hash it again nor need the shared filesystem to read it.
	 */
	bool hash_plain;
};

/*
 * Append every regular file under each of the N ROOTS (files or folders)
 * to L, absolute and in sorted order; with O->spool_dir, archives among
 * them are replaced by their members (ingest.h), and the spool folder
 * itself is never walked; with O->hash_plain, plain files are hashed
 * (read once, streamed). DF_OK (problems in archives are counted in
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
 * Submit L under BATCH to the broker at LINK. *ACCEPTED gets the number of
 * jobs the broker stored. TIMEOUT_MS bounds the wait for each
 * acknowledgement. A broker that refuses the key's role answers with a
 * Disconnect: DF_EIO "broker refused: ...".
 */
int client_submit(const struct client_link *link, const char *batch,
		  const struct pathlist *l, size_t *accepted,
		  uint32_t timeout_ms, struct diag *d);

/* Ask the broker for its queue counts. */
int client_status(const struct client_link *link, struct client_status *st,
		  uint32_t timeout_ms, struct diag *d);

/*
 * Ask for the whole StatusReply; with DETAIL the broker also reads the
 * store for jobs by state and the quarantined jobs. *REPLY is a fresh
 * envelope (body status_reply) to free with wire_env_free().
 */
int client_status_full(const struct client_link *link, bool detail,
		       uint32_t timeout_ms, wire_env **reply, struct diag *d);

struct client_retried {
	uint32_t requeued;  /* jobs back in the queue */
	uint32_t skipped;   /* ids unknown or not quarantined */
};

/*
 * Put quarantined jobs back in the queue: every one with ALL, else the N
 * job IDS (at most 10,000).
 */
int client_retry(const struct client_link *link, bool all,
		 const uint64_t *ids, size_t n, struct client_retried *out,
		 uint32_t timeout_ms, struct diag *d);

/*
 * Poll the broker until nothing is queued or leased. With PROGRESS, a
 * one-line progress display is kept on stderr. DF_OK, or DF_EIO when the
 * broker stops answering for TIMEOUT_MS or when STOP (may be NULL) becomes
 * true (checked at least every 100 ms).
 */
int client_wait(const struct client_link *link, bool progress,
		uint32_t timeout_ms, const atomic_bool *stop,
		struct client_status *last, struct diag *d);

#endif /* BROKER_CLIENT_H */
