/*
 * The spool: objects by content hash, written atomically, stored once,
 * made durable in batches.
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

#include <cmocka.h>

#include "df.h"
#include "diag.h"
#include "hash.h"
#include "spool.h"
#include "testutil.h"

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void put(struct spool *s, const char *text, struct spool_object *obj)
{
	struct spool_writer *w = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(spool_writer_begin(s, &w, &d), DF_OK);
	/* In two pieces: the hash must follow the stream, not one write. */
	size_t half = strlen(text) / 2;

	assert_int_equal(spool_writer_write(w, text, half, &d), DF_OK);
	assert_int_equal(spool_writer_write(w, text + half, strlen(text) - half,
					    &d), DF_OK);
	assert_int_equal(spool_writer_size(w), strlen(text));
	assert_int_equal(spool_writer_commit(&w, obj, &d), DF_OK);
	assert_null(w);
}

static void test_spool__object_by_hash(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char dir[4200], tmpdir[4300], want[SPOOL_MAX_PATH], hex[65];
	struct spool *s = NULL;
	struct spool_object obj;
	uint8_t h[HASH_LEN];
	struct diag d;

	diag_init(&d);
	/* A folder that does not exist yet, two levels down. */
	snprintf(dir, sizeof(dir), "%s/a/spool", tmp);
	assert_int_equal(spool_open(&s, dir, &d), DF_OK);
	put(s, "crash dump bytes", &obj);
	hash_sha256("crash dump bytes", 16, h);
	assert_memory_equal(obj.hash, h, HASH_LEN);
	assert_int_equal(obj.size, 16);
	assert_false(obj.existed);
	hash_hex(h, HASH_LEN, hex);
	snprintf(want, sizeof(want), "%s/%.2s/%s", spool_dir(s), hex, hex);
	assert_string_equal(obj.path, want);
	size_t len = 0;
	uint8_t *back = test_read_file(obj.path, &len);

	assert_non_null(back);
	assert_int_equal(len, 16);
	assert_memory_equal(back, "crash dump bytes", 16);
	free(back);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", spool_dir(s));
	assert_int_equal(entries(tmpdir), 0);
	spool_destroy(&s);
	assert_null(s);
	test_rmtree(tmp);
	free(tmp);
}

static void test_spool__same_content_stored_once(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char sub[4300], tmpdir[4300];
	struct spool *s = NULL;
	struct spool_object a, b, c;
	struct diag d;

	diag_init(&d);
	assert_int_equal(spool_open(&s, tmp, &d), DF_OK);
	put(s, "same", &a);
	put(s, "same", &b);
	put(s, "other", &c);
	assert_false(a.existed);
	assert_true(b.existed);
	assert_false(c.existed);
	assert_string_equal(a.path, b.path);
	assert_string_not_equal(a.path, c.path);
	/* Two objects in all: the tmp folder and one or two "ab" folders. */
	size_t objects = 0;
	DIR *top = opendir(tmp);
	struct dirent *e;

	assert_non_null(top);
	while ((e = readdir(top)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "tmp") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", tmp, e->d_name);
		objects += entries(sub);
	}
	closedir(top);
	assert_int_equal(objects, 2);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", tmp);
	assert_int_equal(entries(tmpdir), 0); /* the duplicate was dropped */
	spool_destroy(&s);
	test_rmtree(tmp);
	free(tmp);
}

static void test_spool__abort_leaves_nothing(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char tmpdir[4300];
	struct spool *s = NULL;
	struct spool_writer *w = NULL;
	struct diag d;

	diag_init(&d);
	assert_int_equal(spool_open(&s, tmp, &d), DF_OK);
	assert_int_equal(spool_writer_begin(s, &w, &d), DF_OK);
	assert_int_equal(spool_writer_write(w, "half", 4, &d), DF_OK);
	spool_writer_abort(&w);
	assert_null(w);
	spool_writer_abort(&w); /* NULL-safe */
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", tmp);
	assert_int_equal(entries(tmpdir), 0);
	assert_int_equal(entries(tmp), 1); /* tmp/ only: no object */
	spool_destroy(&s);
	test_rmtree(tmp);
	free(tmp);
}

/*
 * Durability is batched (spool_sync): a crash may leave an object empty
 * or short under its name. The next writer of that content replaces it.
 */
static void test_spool__short_object_is_replaced(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	struct spool *s = NULL;
	struct spool_object a, b;
	struct diag d;

	diag_init(&d);
	assert_int_equal(spool_open(&s, tmp, &d), DF_OK);
	assert_int_equal(spool_sync(s, &d), DF_OK); /* nothing to flush */
	put(s, "a whole dump", &a);
	assert_int_equal(spool_sync(s, &d), DF_OK);
	FILE *f = fopen(a.path, "wb"); /* as a crash before the sync could */

	assert_non_null(f);
	fputs("a wh", f);
	fclose(f);
	put(s, "a whole dump", &b);
	assert_false(b.existed);
	assert_string_equal(a.path, b.path);
	size_t len = 0;
	uint8_t *back = test_read_file(b.path, &len);

	assert_non_null(back);
	assert_int_equal(len, 12);
	assert_memory_equal(back, "a whole dump", 12);
	free(back);
	assert_int_equal(spool_sync(s, &d), DF_OK);
	spool_destroy(&s);
	test_rmtree(tmp);
	free(tmp);
}

static void test_spool__unusable_dir_is_an_error(void **state)
{
	(void)state;
	char *tmp = test_tmpdir();
	char file[4200], under[4300];
	struct spool *s = NULL;
	struct diag d;

	diag_init(&d);
	snprintf(file, sizeof(file), "%s/plain-file", tmp);
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fclose(f);
	snprintf(under, sizeof(under), "%s/below", file);
	assert_int_equal(spool_open(&s, under, &d), DF_EIO);
	assert_null(s);
	assert_non_null(strstr(d.msg, "cannot create"));
	test_rmtree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spool__object_by_hash),
		cmocka_unit_test(test_spool__same_content_stored_once),
		cmocka_unit_test(test_spool__abort_leaves_nothing),
		cmocka_unit_test(test_spool__short_object_is_replaced),
		cmocka_unit_test(test_spool__unusable_dir_is_an_error),
	};

	hash_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
