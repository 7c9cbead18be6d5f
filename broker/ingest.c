#include "ingest.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "df.h"
#include "diag.h"
#include "spool.h"

#define INGEST_BLOCK 65536
#define GiB ((uint64_t)1 << 30)
#define MiB ((uint64_t)1 << 20)

/* An input: a file by path, or bytes in memory. */
struct src {
	const char *path;
	const void *data;
	size_t n;
};

/*
 * One archive being expanded: its own size and what its members came to
 * so far, for the expansion ratio. The archive's whole size bounds what
 * any member was packed into, however the format seeks about in it.
 */
struct level {
	uint64_t packed;
	uint64_t unpacked;
};

struct ingest {
	char *spool_dir;
	struct spool *spool;     /* opened at the first member */
	struct ingest_limits lim;
	struct ingest_sink sink;
	struct ingest_stats st;
	/* The input being read. */
	const char *archive;
	uint64_t in_bytes;
	uint64_t in_members;
	bool stop_input;         /* a limit for the whole input was reached */
	unsigned char buf[INGEST_BLOCK];
};

enum kind { KIND_PLAIN, KIND_ARCHIVE, KIND_COMPRESSED };

typedef int (*support_fn)(struct archive *);

/*
 * Archive formats tried by content. Left out on purpose: "raw" (anything
 * would match; used only behind a compression filter), "empty", "mtree"
 * and "warc" (plain text could bid), "ar".
 */
static const support_fn archive_formats[] = {
	archive_read_support_format_7zip,
	archive_read_support_format_cab,
	archive_read_support_format_cpio,
	archive_read_support_format_iso9660,
	archive_read_support_format_lha,
	archive_read_support_format_rar,
	archive_read_support_format_rar5,
	archive_read_support_format_tar,
	archive_read_support_format_xar,
	archive_read_support_format_zip,
};

static const support_fn compression_filters[] = {
	archive_read_support_filter_gzip,
	archive_read_support_filter_bzip2,
	archive_read_support_filter_xz,
	archive_read_support_filter_lzma,
	archive_read_support_filter_zstd,
	archive_read_support_filter_lz4,
	archive_read_support_filter_compress,
};

/* Signatures of the dumps we read: such a file is never an archive. */
static const char *const dump_magics[] = { "MDMP", "PAGE" };

/* Names of single compressed files lose these to name their content. */
static const char *const compressed_suffixes[] = {
	".gz", ".bz2", ".xz", ".lzma", ".zst", ".lz4", ".Z",
};

void ingest_limits_init(struct ingest_limits *l)
{
	l->member_bytes = 64 * GiB;
	l->total_bytes = 256 * GiB;
	l->ratio = 1000;
	l->ratio_from = 16 * MiB;
	l->depth = 3;
	l->members = 100000;
}

/*
 * libarchive falls back to an external program when it was built without
 * a decompressor (it says so with ARCHIVE_WARN): hostile input must never
 * start a program, so such a filter is left out.
 */
static bool filter_builtin(support_fn fn)
{
	struct archive *probe = archive_read_new();
	bool ok = probe != NULL && fn(probe) == ARCHIVE_OK;

	archive_read_free(probe);
	return ok;
}

static struct archive *reader_new(bool raw)
{
	struct archive *a = archive_read_new();

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(compression_filters); i++)
		if (filter_builtin(compression_filters[i]))
			compression_filters[i](a);
	if (raw) {
		archive_read_support_format_raw(a);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(archive_formats); i++)
			archive_formats[i](a);
	}
	return a;
}

static int reader_open(struct archive *a, const struct src *s)
{
	if (s->path != NULL)
		return archive_read_open_filename(a, s->path, INGEST_BLOCK);
	return archive_read_open_memory(a, s->data, s->n);
}

static bool has_dump_magic(const struct src *s)
{
	unsigned char head[4];
	size_t got = 0;

	if (s->path != NULL) {
		int fd = open(s->path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return false;
		ssize_t k = read(fd, head, sizeof(head));

		close(fd);
		got = k > 0 ? (size_t)k : 0;
	} else {
		got = s->n < sizeof(head) ? s->n : sizeof(head);
		memcpy(head, s->data, got);
	}
	for (size_t i = 0; got == sizeof(head) && i < ARRAY_SIZE(dump_magics);
	     i++)
		if (memcmp(head, dump_magics[i], sizeof(head)) == 0)
			return true;
	return false;
}

/*
 * Is S an archive (possibly broken), a single compressed file, or plain?
 * Only a compression filter makes a file "raw": a plain dump never is.
 */
static enum kind classify(const struct src *s)
{
	struct archive_entry *e;

	if (has_dump_magic(s))
		return KIND_PLAIN;
	struct archive *a = reader_new(false);
	enum kind k = KIND_PLAIN;

	if (a == NULL)
		return KIND_PLAIN;
	/*
	 * Opening bids filters, then formats. A plain file fails the format
	 * bid with the "none" filter alone (count 1). More filters: a
	 * compressed file that is no archive; none: a filter bid and then
	 * broke (cut short) or the file cannot be read. The raw expansion
	 * of either reports its errors.
	 */
	if (reader_open(a, s) != ARCHIVE_OK) {
		if (archive_filter_count(a) != 1)
			k = KIND_COMPRESSED;
	} else {
		/* Filters are found at open, formats at the first header. */
		bool filtered = archive_filter_count(a) > 1;
		int r = archive_read_next_header(a, &e);

		/*
		 * A format that won the bid makes it an archive, even broken,
		 * but not one without a single entry: a file of zeros is an
		 * empty tar to libarchive and a damaged dump to us;
		 * a compressed file that is no archive, or is cut short, is
		 * expanded by the raw format, which reports its errors.
		 */
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN ||
		    (r != ARCHIVE_EOF && archive_format(a) != 0))
			k = KIND_ARCHIVE;
		else if (filtered)
			k = KIND_COMPRESSED;
	}
	archive_read_free(a);
	return k;
}

/* ---- names ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at P (1..4, at most LEFT), or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = p[0] & 0x1F;
	} else if ((p[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = p[0] & 0x0F;
	} else if ((p[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

/*
 * A member name fit for records and terminals: control bytes and bytes
 * that are not UTF-8 become \xNN, and it is cut at INGEST_MAX_NAME bytes.
 */
static void name_clean(const char *in, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t left = strlen(in), o = 0;
	size_t room = outlen < INGEST_MAX_NAME ? outlen : INGEST_MAX_NAME;

	while (left > 0 && o + 8 < room) {
		size_t n = utf8_len(p, left);

		if (n == 0 || p[0] < 0x20 || p[0] == 0x7F) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02X",
					      p[0]);
			n = 1;
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	if (left > 0)
		o += (size_t)snprintf(out + o, outlen - o, "...");
	out[o] = '\0';
	if (o == 0)
		snprintf(out, outlen, "(unnamed)");
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* What a single compressed file holds: its own name less ".gz" etc. */
static void raw_member_name(const char *container, char *out, size_t outlen)
{
	const char *sep = NULL;

	for (const char *p = strstr(container, INGEST_NEST_SEP); p != NULL;
	     p = strstr(p + 1, INGEST_NEST_SEP))
		sep = p;
	const char *base = base_name(sep != NULL ? sep + strlen(INGEST_NEST_SEP)
						 : container);
	size_t n = strlen(base);

	for (size_t i = 0; i < ARRAY_SIZE(compressed_suffixes); i++) {
		size_t k = strlen(compressed_suffixes[i]);

		if (n > k && strcmp(base + n - k, compressed_suffixes[i]) == 0) {
			n -= k;
			break;
		}
	}
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, base, n);
	out[n] = '\0';
	if (n == 0)
		snprintf(out, outlen, "(unnamed)");
}

/* PREFIX » NAME, or NAME alone, cut at INGEST_MAX_MEMBER bytes. */
static void member_join(const char *prefix, const char *name, char *out,
			size_t outlen)
{
	int k = prefix != NULL
			? snprintf(out, outlen, "%s" INGEST_NEST_SEP "%s",
				   prefix, name)
			: snprintf(out, outlen, "%s", name);

	if (k < 0 || (size_t)k >= outlen)
		snprintf(out + outlen - 4, 4, "...");
}

/* ---- reporting ---------------------------------------------------------- */

static void problem(struct ingest *g, const char *member, int code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void problem(struct ingest *g, const char *member, int code,
		    const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	g->st.problems++;
	if (g->sink.problem != NULL) {
		struct ingest_problem p = { g->archive, member, code, reason };

		g->sink.problem(g->sink.ctx, &p);
	}
}

static int emit(struct ingest *g, const char *path, const char *archive,
		const char *member, const struct spool_object *obj)
{
	struct ingest_item it = { path, archive, member, false, NULL, 0 };

	if (obj != NULL) {
		it.existed = obj->existed;
		it.hash = obj->hash;
		it.size = obj->size;
	}

	return g->sink.item != NULL ? g->sink.item(g->sink.ctx, &it) : DF_OK;
}

static const char *arc_error(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s != NULL ? s : "unknown error";
}

/* ---- expansion ----------------------------------------------------------- */

static int expand(struct ingest *g, const struct src *s, uint64_t packed,
		  const char *prefix, unsigned depth, bool raw,
		  struct diag *d);

enum copy_end { COPY_DONE, COPY_SKIPPED, COPY_BROKEN };

/*
 * Stream the current member of A into W, within the limits. COPY_DONE,
 * COPY_SKIPPED (a limit: the member is left), COPY_BROKEN (the archive
 * cannot go on), or a negative DF_E* when the spool fails.
 */
static int copy_member(struct ingest *g, struct archive *a,
		       const struct level *lv, struct spool_writer *w,
		       const char *member, struct diag *d)
{
	uint64_t packed = lv->packed > 0 ? lv->packed : 1;

	for (;;) {
		la_ssize_t n = archive_read_data(a, g->buf, sizeof(g->buf));

		if (n == 0)
			return COPY_DONE;
		if (n < 0) {
			problem(g, member, DF_EFORMAT, "cannot read member: %s",
				arc_error(a));
			return n == ARCHIVE_FATAL ? COPY_BROKEN : COPY_SKIPPED;
		}
		uint64_t size = spool_writer_size(w) + (uint64_t)n;

		if (size > g->lim.member_bytes) {
			problem(g, member, DF_ELIMIT,
				"member larger than %llu bytes",
				(unsigned long long)g->lim.member_bytes);
			return COPY_SKIPPED;
		}
		if (g->in_bytes + (uint64_t)n > g->lim.total_bytes) {
			problem(g, member, DF_ELIMIT,
				"archive expands to more than %llu bytes",
				(unsigned long long)g->lim.total_bytes);
			g->stop_input = true;
			return COPY_SKIPPED;
		}
		uint64_t level = lv->unpacked + size;

		if (level >= g->lim.ratio_from &&
		    level / g->lim.ratio >= packed) {
			problem(g, member, DF_ELIMIT,
				"unpacks to more than %u times its archive's "
				"size (archive bomb)",
				g->lim.ratio);
			return COPY_SKIPPED;
		}
		int rc = spool_writer_write(w, g->buf, (size_t)n, d);

		if (rc != DF_OK)
			return rc;
		g->in_bytes += (uint64_t)n;
		g->st.bytes += (uint64_t)n;
	}
}

/* A member that is an archive itself: open it, then drop the object. */
static int nested(struct ingest *g, const struct spool_object *obj,
		  enum kind k, const char *member, unsigned depth,
		  struct diag *d)
{
	int rc = DF_OK;

	if (depth >= g->lim.depth) {
		problem(g, member, DF_ELIMIT,
			"archive nested deeper than %u levels", g->lim.depth);
	} else {
		struct src inner = { obj->path, NULL, 0 };

		rc = expand(g, &inner, obj->size, member, depth + 1,
			    k == KIND_COMPRESSED, d);
	}
	/* Only its members are analysed; keep one that was there before. */
	if (!obj->existed)
		unlink(obj->path);
	return rc;
}

static int open_spool(struct ingest *g, struct diag *d)
{
	if (g->spool != NULL)
		return DF_OK;
	return spool_open(&g->spool, g->spool_dir, d);
}

static int take_member(struct ingest *g, struct archive *a,
		       struct level *lv, struct archive_entry *e,
		       const char *member, unsigned depth, struct diag *d)
{
	if (archive_entry_filetype(e) != AE_IFREG)
		return DF_OK; /* folders, links, devices: nothing to analyse */
	if (archive_entry_is_encrypted(e)) {
		problem(g, member, DF_EUNSUPPORTED,
			"encrypted member, not read");
		return DF_OK;
	}
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    (uint64_t)archive_entry_size(e) > g->lim.member_bytes) {
		problem(g, member, DF_ELIMIT, "member larger than %llu bytes",
			(unsigned long long)g->lim.member_bytes);
		return DF_OK;
	}
	struct spool_writer *w = NULL;
	int rc = open_spool(g, d);

	if (rc == DF_OK)
		rc = spool_writer_begin(g->spool, &w, d);
	if (rc != DF_OK)
		return rc;
	rc = copy_member(g, a, lv, w, member, d);
	if (rc != COPY_DONE) {
		spool_writer_abort(&w);
		if (rc == COPY_BROKEN)
			g->stop_input = true;
		return rc < 0 ? rc : DF_OK;
	}
	struct spool_object obj;

	if ((rc = spool_writer_commit(&w, &obj, d)) != DF_OK)
		return rc;
	lv->unpacked += obj.size;
	struct src as_src = { obj.path, NULL, 0 };
	enum kind k = classify(&as_src);

	if (k != KIND_PLAIN)
		return nested(g, &obj, k, member, depth, d);
	g->st.members++;
	if (obj.existed)
		g->st.deduped++;
	else
		g->st.stored++;
	return emit(g, obj.path, g->archive, member, &obj);
}

/*
 * The cleaned, joined member path of entry E into OUT; the content of a
 * single compressed file is named after its container.
 */
static void entry_member(const struct ingest *g, struct archive_entry *e,
			 const char *prefix, bool raw, char *out,
			 size_t outlen)
{
	char name[INGEST_MAX_NAME + 8];

	if (raw) {
		raw_member_name(prefix != NULL ? prefix : g->archive, name,
				sizeof(name));
	} else {
		const char *p = e != NULL ? archive_entry_pathname_utf8(e)
					  : NULL;

		if (p == NULL && e != NULL)
			p = archive_entry_pathname(e);
		name_clean(p != NULL ? p : "", name, sizeof(name));
	}
	member_join(prefix, name, out, outlen);
}

static int expand(struct ingest *g, const struct src *s, uint64_t packed,
		  const char *prefix, unsigned depth, bool raw,
		  struct diag *d)
{
	struct level lv = { packed, 0 };
	struct archive *a = reader_new(raw);
	char member[INGEST_MAX_MEMBER + 1];
	int rc = DF_OK;

	if (a == NULL)
		return diag_fail(d, DF_ENOMEM, "out of memory");
	g->st.archives++;
	if (reader_open(a, s) != ARCHIVE_OK) {
		problem(g, prefix, DF_EFORMAT, "cannot open archive: %s",
			arc_error(a));
		archive_read_free(a);
		return DF_OK;
	}
	while (rc == DF_OK && !g->stop_input) {
		struct archive_entry *e = NULL;
		int r = archive_read_next_header(a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			problem(g, prefix, DF_EFORMAT, "corrupt archive: %s",
				arc_error(a));
			break;
		}
		if (++g->in_members > g->lim.members) {
			problem(g, prefix, DF_ELIMIT, "more than %llu members",
				(unsigned long long)g->lim.members);
			g->stop_input = true;
			break;
		}
		entry_member(g, r == ARCHIVE_FAILED || r == ARCHIVE_RETRY
					? NULL : e,
			     prefix, raw, member, sizeof(member));
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			problem(g, member, DF_EFORMAT, "unreadable entry: %s",
				arc_error(a));
			continue;
		}
		rc = take_member(g, a, &lv, e, member, depth, d);
	}
	archive_read_free(a);
	return rc;
}

static int ingest_src(struct ingest *g, const char *name, const struct src *s,
		      struct diag *d)
{
	g->archive = name;
	g->in_bytes = 0;
	g->in_members = 0;
	g->stop_input = false;
	enum kind k = classify(s);

	if (k == KIND_PLAIN)
		return emit(g, name, NULL, NULL, NULL);
	struct stat st;
	uint64_t packed = s->n;

	if (s->path != NULL)
		packed = stat(s->path, &st) == 0 ? (uint64_t)st.st_size : 0;
	return expand(g, s, packed, NULL, 1, k == KIND_COMPRESSED, d);
}

int ingest_file(struct ingest *g, const char *path, struct diag *d)
{
	struct src s = { path, NULL, 0 };

	return ingest_src(g, path, &s, d);
}

int ingest_memory(struct ingest *g, const char *name, const void *data,
		  size_t n, struct diag *d)
{
	struct src s = { NULL, data, n };

	return ingest_src(g, name, &s, d);
}

int ingest_new(struct ingest **out, const char *spool_dir,
	       const struct ingest_limits *limits,
	       const struct ingest_sink *sink, struct diag *d)
{
	struct ingest *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL || (g->spool_dir = strdup(spool_dir)) == NULL) {
		free(g);
		return diag_fail(d, DF_ENOMEM, "out of memory");
	}
	if (limits != NULL)
		g->lim = *limits;
	else
		ingest_limits_init(&g->lim);
	/* A zero would divide or stop everything: make it "no nesting". */
	if (g->lim.ratio == 0)
		g->lim.ratio = 1;
	if (g->lim.depth == 0)
		g->lim.depth = 1;
	if (sink != NULL)
		g->sink = *sink;
	*out = g;
	return DF_OK;
}

void ingest_destroy(struct ingest **gp)
{
	if (gp == NULL || *gp == NULL)
		return;
	spool_destroy(&(*gp)->spool);
	free((*gp)->spool_dir);
	free(*gp);
	*gp = NULL;
}

int ingest_sync(struct ingest *g, struct diag *d)
{
	return g->spool != NULL ? spool_sync(g->spool, d) : DF_OK;
}

const struct ingest_stats *ingest_stats(const struct ingest *g)
{
	return &g->st;
}
