/*
 * ingest - expand customer archives into the spool, member by member.
 *
 * An input file is sniffed by content (never by name): a crash dump's own
 * signature makes it a plain file at once; otherwise libarchive is asked
 * whether it is an archive (zip, 7z, cab, rar, tar, cpio, iso9660, xar,
 * lha, each possibly inside gzip, bzip2, xz, lzma, zstd, lz4 or compress),
 * then whether it is a single compressed file (the raw format, used only
 * when a compression filter was found). A plain file is passed on by its
 * own path; an archive's regular members are streamed into the spool
 * (spool.h) and passed on as (spool object, archive, member); a member
 * that is itself an archive is expanded in turn, down to limits.depth
 * levels. Member names are cleaned (control bytes and bad UTF-8 become
 * \xNN, long names are cut) and are metadata only.
 *
 * Problems (a corrupt archive, an encrypted member, a limit reached) are
 * reported to the sink with a reason and never stop the other inputs.
 * External decompression programs are never run.
 */
#ifndef BROKER_INGEST_H
#define BROKER_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diag;
struct ingest;

#define INGEST_MAX_NAME 1024   /* bytes of one cleaned member name */
#define INGEST_MAX_MEMBER 4000 /* bytes of a nested member chain */
#define INGEST_NEST_SEP " \xC2\xBB " /* " » " between nesting levels */

struct ingest_limits {
	uint64_t member_bytes; /* one member, expanded */
	uint64_t total_bytes;  /* all that one input writes to the spool */
	uint32_t ratio;        /* unpacked : archive size, bombs beyond it */
	uint64_t ratio_from;   /* ...checked once an archive's members (one
				* level) come to this much */
	unsigned depth;        /* archive levels opened (1: no nesting) */
	uint64_t members;      /* entries in one input, all levels */
};

/*
 * Defaults for crash dumps: member 64 GiB, total 256 GiB, ratio 1000:1
 * from 16 MiB, depth 3, 100000 members.
 */
void ingest_limits_init(struct ingest_limits *l);

/* One file to analyse. ARCHIVE and MEMBER are NULL for a plain file. */
struct ingest_item {
	const char *path;    /* absolute: the input itself or a spool object */
	const char *archive; /* the input archive it came from */
	const char *member;  /* its cleaned member path (nested: joined) */
	bool existed;        /* the spool had this content already */
	const uint8_t *hash; /* SHA-256 of a spool object; NULL for a plain
				file (not read here) */
	uint64_t size;       /* bytes of a spool object (with HASH) */
};

/* Something not analysed, and why. MEMBER is NULL for the whole archive. */
struct ingest_problem {
	const char *archive;
	const char *member;
	int code;            /* DF_EFORMAT, DF_ELIMIT, DF_EUNSUPPORTED, ... */
	const char *reason;
};

struct ingest_sink {
	/* A non-DF_OK return stops the input and is returned by ingest_file. */
	int (*item)(void *ctx, const struct ingest_item *it);
	void (*problem)(void *ctx, const struct ingest_problem *p);
	void *ctx;
};

struct ingest_stats {
	uint64_t archives;  /* inputs (and nested members) opened as archives */
	uint64_t members;   /* members passed on */
	uint64_t stored;    /* ...written as new spool objects */
	uint64_t deduped;   /* ...already in the spool */
	uint64_t bytes;     /* written to the spool */
	uint64_t problems;  /* problems reported */
};

/*
 * A new ingest writing into the spool at SPOOL_DIR (created at the first
 * member, so that plain files alone never make one). LIMITS may be NULL
 * for the defaults. The sink is copied.
 */
int ingest_new(struct ingest **out, const char *spool_dir,
	       const struct ingest_limits *limits,
	       const struct ingest_sink *sink, struct diag *d);
void ingest_destroy(struct ingest **gp);

/*
 * Pass on the file at PATH (absolute) or, when it is an archive, its
 * members. Problems in the data go to the sink and still return DF_OK;
 * DF_EIO / DF_ENOMEM when the spool or the machine fails, or the sink's
 * own code. The items' spool objects are complete but not yet durable:
 * see ingest_sync.
 */
int ingest_file(struct ingest *g, const char *path, struct diag *d);

/*
 * As ingest_file for N bytes at DATA, named NAME in items and problems;
 * a plain input gets NAME as its path (fuzzing and tests).
 */
int ingest_memory(struct ingest *g, const char *name, const void *data,
		  size_t n, struct diag *d);

/*
 * Make the spool objects of every item passed on so far durable, in one
 * flush (spool_sync); call it before any job names them. DF_OK or DF_EIO.
 */
int ingest_sync(struct ingest *g, struct diag *d);

const struct ingest_stats *ingest_stats(const struct ingest *g);

#endif /* BROKER_INGEST_H */
