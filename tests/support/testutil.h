/*
 * testutil - helpers shared by the cmocka tests.
 */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Path of the shared reference tree (DF_SHARED, else "../shared" relative
 * to the source tree), or NULL when absent. Tests that need it exit 77.
 */
const char *test_shared_dir(void);

/* "<shared>/<rel>" into a static buffer, or NULL when shared is absent. */
const char *test_shared_path(const char *rel);

/* The project source directory (DF_SOURCE), or "." */
const char *test_source_dir(void);

/*
 * Read the whole file at PATH into a malloc'd buffer (NUL-terminated, the
 * NUL not counted in *LEN). NULL on error.
 */
uint8_t *test_read_file(const char *path, size_t *len);

/* Make a fresh temporary directory; returns its malloc'd path. */
char *test_tmpdir(void);

/* Remove DIR and everything in it. */
void test_rmtree(const char *dir);

#endif /* TESTS_TESTUTIL_H */
