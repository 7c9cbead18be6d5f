/*
 * Archive ingest: every format into the spool, nesting, limits, encrypted
 * and corrupt archives, dedup, and hostile member names that must never
 * name a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "archwrite.h"
#include "df.h"
#include "diag.h"
#include "hash.h"
#include "ingest.h"
#include "testutil.h"

#define MAX_SEEN 64

struct seen {
	size_t nitems, nproblems;
	char *path[MAX_SEEN], *archive[MAX_SEEN], *member[MAX_SEEN];
	bool existed[MAX_SEEN];
	char *preason[MAX_SEEN], *pmember[MAX_SEEN];
	int pcode[MAX_SEEN];
};

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int on_item(void *ctx, const struct ingest_item *it)
{
	struct seen *s = ctx;

	assert_true(s->nitems < MAX_SEEN);
	s->path[s->nitems] = strdup(it->path);
	s->archive[s->nitems] = dup_or_null(it->archive);
	s->member[s->nitems] = dup_or_null(it->member);
	s->existed[s->nitems] = it->existed;
	s->nitems++;
	return DF_OK;
}

static void on_problem(void *ctx, const struct ingest_problem *p)
{
	struct seen *s = ctx;

	assert_true(s->nproblems < MAX_SEEN);
	assert_non_null(p->archive);
	s->preason[s->nproblems] = strdup(p->reason);
	s->pmember[s->nproblems] = dup_or_null(p->member);
	s->pcode[s->nproblems] = p->code;
	s->nproblems++;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->nitems; i++) {
		free(s->path[i]);
		free(s->archive[i]);
		free(s->member[i]);
	}
	for (size_t i = 0; i < s->nproblems; i++) {
		free(s->preason[i]);
		free(s->pmember[i]);
	}
	memset(s, 0, sizeof(*s));
}

/* One test's folder, with two sample dumps loaded. */
struct fx {
	char *tmp;
	char spool[4200];
	uint8_t *md, *kd;      /* a minidump and a kernel dump */
	size_t mdlen, kdlen;
	char *mdpath;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[4200];

	assert_non_null(f);
	f->tmp = test_tmpdir();
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->tmp);
	snprintf(p, sizeof(p), "%s/samples/minidumps/x86-null-write.dmp",
		 test_source_dir());
	f->mdpath = strdup(p);
	f->md = test_read_file(p, &f->mdlen);
	snprintf(p, sizeof(p), "%s/samples/kernel/9f-acmeusb.dmp",
		 test_source_dir());
	f->kd = test_read_file(p, &f->kdlen);
	assert_non_null(f->md);
	assert_non_null(f->kd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	test_rmtree(f->tmp);
	free(f->tmp);
	free(f->md);
	free(f->kd);
	free(f->mdpath);
	free(f);
	return 0;
}

static char *tpath(const struct fx *f, const char *name)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", f->tmp, name) > 0);
	return p;
}

static void run_ingest(const struct fx *f, const struct ingest_limits *l,
		       const char *path, struct seen *s)
{
	struct ingest_sink sink = { on_item, on_problem, s };
	struct ingest *g = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(ingest_new(&g, f->spool, l, &sink, &d), DF_OK);
	assert_int_equal(ingest_file(g, path, &d), DF_OK);
	assert_int_equal(ingest_sync(g, &d), DF_OK);
	ingest_destroy(&g);
	assert_null(g);
}

/* The spool object at PATH holds exactly LEN bytes DATA. */
static void assert_object(const char *path, const struct fx *f,
			  const void *data, size_t len)
{
	size_t n = 0;
	uint8_t *got = test_read_file(path, &n);

	assert_non_null(got);
	assert_int_equal(n, len);
	assert_memory_equal(got, data, len);
	free(got);
	assert_int_equal(strncmp(path, f->tmp, strlen(f->tmp)), 0);
	assert_non_null(strstr(path, "/spool/"));
}

static void test_ingest__every_writable_format(void **state)
{
	struct fx *f = *state;
	static const char *const formats[] = { "zip", "7z", "tar", "tar.gz",
		"tar.bz2", "tar.xz", "tar.zst", "cpio", "rar" };

	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct archmember m[] = {
			{ "Minidump/Mini0101.dmp", f->md, f->mdlen },
			{ "MEMORY.DMP", f->kd, f->kdlen },
		};
		char name[64];
		struct seen s = { 0 };

		snprintf(name, sizeof(name), "case.%s", formats[i]);
		char *arc = tpath(f, name);

		assert_int_equal(archwrite(arc, formats[i], m, 2, NULL, NULL),
				 0);
		run_ingest(f, NULL, arc, &s);
		assert_int_equal(s.nproblems, 0);
		assert_int_equal(s.nitems, 2);
		assert_string_equal(s.archive[0], arc);
		assert_string_equal(s.member[0], "Minidump/Mini0101.dmp");
		assert_string_equal(s.member[1], "MEMORY.DMP");
		assert_object(s.path[0], f, f->md, f->mdlen);
		assert_object(s.path[1], f, f->kd, f->kdlen);
		seen_free(&s);
		free(arc);
	}
}

static void test_ingest__single_compressed_files(void **state)
{
	struct fx *f = *state;
	static const char *const formats[] = { "gz", "bz2", "xz", "zst" };

	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct archmember m = { "ignored", f->md, f->mdlen };
		char name[64];
		struct seen s = { 0 };

		snprintf(name, sizeof(name), "Mini0101.dmp.%s", formats[i]);
		char *arc = tpath(f, name);

		assert_int_equal(archwrite(arc, formats[i], &m, 1, NULL, NULL),
				 0);
		run_ingest(f, NULL, arc, &s);
		assert_int_equal(s.nproblems, 0);
		assert_int_equal(s.nitems, 1);
		assert_string_equal(s.member[0], "Mini0101.dmp");
		assert_object(s.path[0], f, f->md, f->mdlen);
		seen_free(&s);
		free(arc);
	}
}

static void test_ingest__plain_files_pass_by_their_path(void **state)
{
	struct fx *f = *state;
	char log[4200];
	struct seen s = { 0 };
	struct stat st;

	run_ingest(f, NULL, f->mdpath, &s);
	snprintf(log, sizeof(log),
		 "%s/samples/logs/kernel_d1_wwfilter_x64.log",
		 test_source_dir());
	run_ingest(f, NULL, log, &s);
	assert_int_equal(s.nitems, 2);
	assert_int_equal(s.nproblems, 0);
	assert_string_equal(s.path[0], f->mdpath);
	assert_null(s.archive[0]);
	assert_null(s.member[0]);
	assert_string_equal(s.path[1], log);
	seen_free(&s);

	/* All zeros is an empty tar to libarchive, a damaged dump to us. */
	char *zeros = tpath(f, "zeroed.dmp");
	FILE *z = fopen(zeros, "wb");

	assert_non_null(z);
	for (int i = 0; i < 64 * 1024; i++)
		fputc(0, z);
	fclose(z);
	run_ingest(f, NULL, zeros, &s);
	assert_int_equal(s.nitems, 1);
	assert_int_equal(s.nproblems, 0);
	assert_string_equal(s.path[0], zeros);
	assert_null(s.archive[0]);
	free(zeros);
	/* No archive, no spool. */
	assert_int_not_equal(stat(f->spool, &st), 0);
	seen_free(&s);
}

static void test_ingest__identical_members_stored_once(void **state)
{
	struct fx *f = *state;
	struct archmember m[] = {
		{ "a/first.dmp", f->md, f->mdlen },
		{ "b/again.dmp", f->md, f->mdlen },
		{ "c/kernel.dmp", f->kd, f->kdlen },
	};
	char *arc = tpath(f, "dups.zip");
	struct seen s = { 0 };

	assert_int_equal(archwrite(arc, "zip", m, 3, NULL, NULL), 0);
	run_ingest(f, NULL, arc, &s);
	assert_int_equal(s.nitems, 3);
	assert_string_equal(s.path[0], s.path[1]);
	assert_false(s.existed[0]);
	assert_true(s.existed[1]);
	assert_string_equal(s.member[1], "b/again.dmp");
	assert_string_not_equal(s.path[0], s.path[2]);
	seen_free(&s);
	free(arc);
}

static void test_ingest__nested_archives_and_depth(void **state)
{
	struct fx *f = *state;
	struct archmember inner_m = { "deep/Mini.dmp", f->md, f->mdlen };
	char *inner = tpath(f, "inner.zip");
	char *outer = tpath(f, "outer.tar");
	size_t ilen = 0;

	assert_int_equal(archwrite(inner, "zip", &inner_m, 1, NULL, NULL), 0);
	uint8_t *ibytes = test_read_file(inner, &ilen);
	struct archmember outer_m[] = {
		{ "upload/inner.zip", ibytes, ilen },
		{ "upload/MEMORY.DMP", f->kd, f->kdlen },
	};

	assert_int_equal(archwrite(outer, "tar", outer_m, 2, NULL, NULL), 0);
	struct seen s = { 0 };

	run_ingest(f, NULL, outer, &s);
	assert_int_equal(s.nproblems, 0);
	assert_int_equal(s.nitems, 2);
	assert_string_equal(s.archive[0], outer);
	assert_string_equal(s.member[0],
			    "upload/inner.zip" INGEST_NEST_SEP "deep/Mini.dmp");
	assert_object(s.path[0], f, f->md, f->mdlen);
	assert_string_equal(s.member[1], "upload/MEMORY.DMP");
	seen_free(&s);

	/* One level only: the inner archive is a recorded problem. */
	struct ingest_limits l;

	ingest_limits_init(&l);
	l.depth = 1;
	run_ingest(f, &l, outer, &s);
	assert_int_equal(s.nitems, 1);
	assert_string_equal(s.member[0], "upload/MEMORY.DMP");
	assert_int_equal(s.nproblems, 1);
	assert_int_equal(s.pcode[0], DF_ELIMIT);
	assert_string_equal(s.pmember[0], "upload/inner.zip");
	assert_non_null(strstr(s.preason[0], "nested deeper than 1"));
	/* The inner archive did not stay in the spool as an object. */
	uint8_t h[HASH_LEN];
	char hex[HASH_HEX_LEN + 1], obj[4400];
	struct stat st;

	hash_sha256(ibytes, ilen, h);
	hash_hex(h, HASH_LEN, hex);
	snprintf(obj, sizeof(obj), "%s/%.2s/%s", f->spool, hex, hex);
	assert_int_not_equal(stat(obj, &st), 0);
	seen_free(&s);
	free(ibytes);
	free(inner);
	free(outer);
}

static void test_ingest__encrypted_members_reported(void **state)
{
	struct fx *f = *state;
	static const char *const how[] = { "zipcrypt", "aes256" };

	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		struct archmember m[] = {
			{ "secret.dmp", f->md, f->mdlen },
			{ "secret2.dmp", f->kd, f->kdlen },
		};
		char *arc = tpath(f, "locked.zip");
		struct seen s = { 0 };

		assert_int_equal(archwrite(arc, "zip", m, 2, how[i], "pw"), 0);
		run_ingest(f, NULL, arc, &s);
		/* The next input still goes through. */
		run_ingest(f, NULL, f->mdpath, &s);
		assert_int_equal(s.nitems, 1);
		assert_string_equal(s.path[0], f->mdpath);
		assert_int_equal(s.nproblems, 2);
		assert_int_equal(s.pcode[0], DF_EUNSUPPORTED);
		assert_string_equal(s.pmember[0], "secret.dmp");
		assert_non_null(strstr(s.preason[0], "encrypted"));
		seen_free(&s);
		free(arc);
	}
}

static void test_ingest__bomb_and_size_limits(void **state)
{
	struct fx *f = *state;
	struct archmember bomb[] = {
		{ "MEMORY.DMP", NULL, 64u << 20 },
		{ "Mini.dmp", f->md, f->mdlen },
	};
	char *arc = tpath(f, "bomb.tar.xz");
	struct ingest_limits l;
	struct seen s = { 0 };

	assert_int_equal(archwrite(arc, "tar.xz", bomb, 2, NULL, NULL), 0);
	ingest_limits_init(&l);
	l.ratio_from = 1u << 20;
	run_ingest(f, &l, arc, &s);
	assert_int_equal(s.nproblems, 1);
	assert_int_equal(s.pcode[0], DF_ELIMIT);
	assert_string_equal(s.pmember[0], "MEMORY.DMP");
	assert_non_null(strstr(s.preason[0], "1000 times"));
	assert_int_equal(s.nitems, 1); /* the member after it is fine */
	assert_string_equal(s.member[0], "Mini.dmp");
	seen_free(&s);

	/* 7z seeks about its file: the ratio must not depend on that. */
	char *arc7 = tpath(f, "bomb.7z");

	assert_int_equal(archwrite(arc7, "7z", bomb, 1, NULL, NULL), 0);
	run_ingest(f, &l, arc7, &s);
	assert_int_equal(s.nitems, 0);
	assert_int_equal(s.nproblems, 1);
	assert_non_null(strstr(s.preason[0], "archive bomb"));
	seen_free(&s);
	free(arc7);

	/* Member size: the big one is refused by its header. */
	ingest_limits_init(&l);
	l.member_bytes = 1u << 20;
	run_ingest(f, &l, arc, &s);
	assert_int_equal(s.nproblems, 1);
	assert_non_null(strstr(s.preason[0], "larger than 1048576"));
	assert_int_equal(s.nitems, 1);
	seen_free(&s);

	/* Total: the input stops at the limit. */
	struct archmember three[] = {
		{ "1.dmp", f->md, f->mdlen },
		{ "2.dmp", f->kd, f->kdlen },
		{ "3.dmp", f->md, f->mdlen },
	};
	char *arc2 = tpath(f, "three.zip");

	assert_int_equal(archwrite(arc2, "zip", three, 3, NULL, NULL), 0);
	ingest_limits_init(&l);
	l.total_bytes = f->mdlen + 1;
	run_ingest(f, &l, arc2, &s);
	assert_int_equal(s.nitems, 1);
	assert_int_equal(s.nproblems, 1);
	assert_string_equal(s.pmember[0], "2.dmp");
	assert_non_null(strstr(s.preason[0], "expands to more than"));
	seen_free(&s);

	/* Members. */
	ingest_limits_init(&l);
	l.members = 2;
	run_ingest(f, &l, arc2, &s);
	assert_int_equal(s.nitems, 2);
	assert_int_equal(s.nproblems, 1);
	assert_null(s.pmember[0]);
	assert_non_null(strstr(s.preason[0], "more than 2 members"));
	seen_free(&s);
	free(arc);
	free(arc2);
}

static void test_ingest__corrupt_archive_is_a_problem(void **state)
{
	struct fx *f = *state;
	struct archmember m[] = {
		{ "1.dmp", f->md, f->mdlen },
		{ "2.dmp", f->kd, f->kdlen },
	};
	char *arc = tpath(f, "cut.tar.gz");
	size_t len = 0;

	assert_int_equal(archwrite(arc, "tar.gz", m, 2, NULL, NULL), 0);
	uint8_t *bytes = test_read_file(arc, &len);

	assert_non_null(bytes);
	FILE *out = fopen(arc, "wb");

	assert_non_null(out);
	fwrite(bytes, 1, len * 2 / 3, out);
	fclose(out);
	struct seen s = { 0 };

	run_ingest(f, NULL, arc, &s);
	assert_true(s.nproblems >= 1);
	assert_int_equal(s.pcode[s.nproblems - 1], DF_EFORMAT);
	for (size_t i = 0; i < s.nitems; i++)
		assert_object(s.path[i], f, f->md, f->mdlen);
	seen_free(&s);

	/* Flipped bytes in a zip's data: a problem, never a crash. */
	char *zip = tpath(f, "flip.zip");

	assert_int_equal(archwrite(zip, "zip", m, 2, NULL, NULL), 0);
	free(bytes);
	bytes = test_read_file(zip, &len);
	for (size_t i = 80; i < len / 2; i += 7)
		bytes[i] ^= 0x5A;
	out = fopen(zip, "wb");
	assert_non_null(out);
	fwrite(bytes, 1, len, out);
	fclose(out);
	run_ingest(f, NULL, zip, &s);
	assert_true(s.nproblems >= 1);
	seen_free(&s);
	free(bytes);
	free(zip);
	free(arc);
}

/* Every path under DIR is DIR/tmp, DIR/xx or DIR/xx/<64 hex>. */
static void assert_spool_clean(const char *dir)
{
	DIR *top = opendir(dir);
	struct dirent *e;

	assert_non_null(top);
	while ((e = readdir(top)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "tmp") == 0)
			continue;
		assert_int_equal(strlen(e->d_name), 2);
		assert_int_equal(strspn(e->d_name, "0123456789abcdef"), 2);
		char sub[4400];

		snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
		DIR *in = opendir(sub);
		struct dirent *o;

		assert_non_null(in);
		while ((o = readdir(in)) != NULL) {
			if (o->d_name[0] == '.')
				continue;
			assert_int_equal(strlen(o->d_name), HASH_HEX_LEN);
			assert_int_equal(strspn(o->d_name, "0123456789abcdef"),
					 HASH_HEX_LEN);
			assert_memory_equal(o->d_name, e->d_name, 2);
		}
		closedir(in);
	}
	closedir(top);
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_ingest__hostile_names_name_no_file(void **state)
{
	struct fx *f = *state;
	char longname[3001];
	char work[4200], cwd[4200];

	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "../", 3);
	struct archmember m[] = {
		{ "../../etc/passwd", f->md, f->mdlen },
		{ "/tmp/absolute.dmp", f->kd, f->kdlen },
		{ "x/../../../escape.dmp", f->md, f->mdlen },
		{ "ctl\x01\x1b[31mred\x7f.dmp", f->kd, f->kdlen },
		{ "bad\xff\xfeutf8.dmp", f->md, f->mdlen },
		{ longname, f->kd, f->kdlen },
	};
	char *arc = tpath(f, "evil.zip");

	assert_int_equal(archwrite(arc, "zip", m, ARRAY_SIZE(m), NULL, NULL),
			 0);
	/* Run from an empty folder: a name used as a path would land here. */
	char wparent[4200];

	snprintf(work, sizeof(work), "%s/work/sub", f->tmp);

	snprintf(wparent, sizeof(wparent), "%s/work", f->tmp);
	assert_int_equal(mkdir(wparent, 0755), 0);
	assert_int_equal(mkdir(work, 0755), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(work), 0);
	struct seen s = { 0 };

	run_ingest(f, NULL, arc, &s);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(s.nproblems, 0);
	assert_int_equal(s.nitems, ARRAY_SIZE(m));
	for (size_t i = 0; i < s.nitems; i++)
		assert_object(s.path[i], f, i % 2 ? f->kd : f->md,
			      i % 2 ? f->kdlen : f->mdlen);
	assert_string_equal(s.member[0], "../../etc/passwd");
	assert_string_equal(s.member[3], "ctl\\x01\\x1B[31mred\\x7F.dmp");
	assert_string_equal(s.member[4], "bad\\xFF\\xFEutf8.dmp");
	assert_true(strlen(s.member[5]) <= INGEST_MAX_NAME);
	assert_non_null(strstr(s.member[5], "..."));
	/* Nothing but the archive, the spool and the empty work folders. */
	assert_int_equal(count_entries(work), 0);
	assert_int_equal(count_entries(wparent), 1);
	assert_int_equal(count_entries(f->tmp), 3);
	assert_spool_clean(f->spool);
	struct stat st;

	/* The absolute name made no file of its own either. */
	assert_false(stat("/tmp/absolute.dmp", &st) == 0 &&
		     st.st_mtime == ARCHWRITE_MTIME);
	seen_free(&s);
	free(arc);
}

/* cab cannot be written by libarchive: gcab writes one when installed. */
static void test_ingest__cab_by_gcab(void **state)
{
	struct fx *f = *state;

	if (access("/usr/bin/gcab", X_OK) != 0)
		skip();
	char *cab = tpath(f, "drivers.cab");
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* -n: store the base name only. */
		execl("/usr/bin/gcab", "gcab", "-c", "-n", cab, f->mdpath,
		      (char *)NULL);
		_exit(127);
	}
	int status = 0;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct seen s = { 0 };

	run_ingest(f, NULL, cab, &s);
	assert_int_equal(s.nproblems, 0);
	assert_int_equal(s.nitems, 1);
	assert_string_equal(s.member[0], "x86-null-write.dmp");
	assert_object(s.path[0], f, f->md, f->mdlen);
	seen_free(&s);
	free(cab);
}

static void test_ingest__memory_input(void **state)
{
	struct fx *f = *state;
	struct archmember m = { "Mini.dmp", f->md, f->mdlen };
	char *arc = tpath(f, "mem.tar.zst");
	size_t len = 0;

	assert_int_equal(archwrite(arc, "tar.zst", &m, 1, NULL, NULL), 0);
	uint8_t *bytes = test_read_file(arc, &len);
	struct seen s = { 0 };
	struct ingest_sink sink = { on_item, on_problem, &s };
	struct ingest *g = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(ingest_new(&g, f->spool, NULL, &sink, &d), DF_OK);
	assert_int_equal(ingest_memory(g, "upload", bytes, len, &d), DF_OK);
	assert_int_equal(ingest_memory(g, "plain", f->md, f->mdlen, &d), DF_OK);
	assert_int_equal(ingest_memory(g, "empty", "", 0, &d), DF_OK);
	const struct ingest_stats *st = ingest_stats(g);

	assert_int_equal(st->archives, 1);
	assert_int_equal(st->members, 1);
	assert_int_equal(st->stored, 1);
	assert_int_equal(st->bytes, f->mdlen);
	ingest_destroy(&g);
	assert_int_equal(s.nitems, 3);
	assert_string_equal(s.archive[0], "upload");
	assert_string_equal(s.path[1], "plain");
	assert_null(s.archive[1]);
	seen_free(&s);
	free(bytes);
	free(arc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_ingest__every_writable_format),
		T(test_ingest__single_compressed_files),
		T(test_ingest__plain_files_pass_by_their_path),
		T(test_ingest__identical_members_stored_once),
		T(test_ingest__nested_archives_and_depth),
		T(test_ingest__encrypted_members_reported),
		T(test_ingest__bomb_and_size_limits),
		T(test_ingest__corrupt_archive_is_a_problem),
		T(test_ingest__hostile_names_name_no_file),
		T(test_ingest__cab_by_gcab),
		T(test_ingest__memory_input),
#undef T
	};

	hash_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
