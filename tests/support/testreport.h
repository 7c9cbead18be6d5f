/*
 * testreport - a schema 2 report document for the renderers' tests.
 *
 * Realistic content (five bugchecks, three top buckets over seven days,
 * modules, trends, spray, batches) with hostile strings from dumps in the
 * places customers control: markup, quotes, commas, CR/LF, escape
 * sequences, a bidi override, broken UTF-8 and spreadsheet formulas.
 */
#ifndef TESTS_TESTREPORT_H
#define TESTS_TESTREPORT_H

#include <jansson.h>

#define TR_SCRIPT "<script>document.title='pwned'</script>"
#define TR_IMG "x/<img src=x onerror=alert(1)>.dmp"
#define TR_ATTR "\" onmouseover=\"alert(1)"
#define TR_FORMULA "=cmd|' /C calc'!A0, \"quoted\"\r\nline 2"
#define TR_ESC "red\x1b[31m alarm\x07"
#define TR_BROKEN "bad\xff\xfe \xc3\x28 \xed\xa0\x80 \xc0\xaf end\xe2\x82"
#define TR_BIDI "evil\xe2\x80\xaetxt.exe"

/* Bugchecks, those with a baseline share, top buckets, and the non-zero
 * daily counts of the top buckets in the document. */
#define TR_BUGCHECKS 5
#define TR_BASELINES 4
#define TR_TOP 3
#define TR_SEGMENTS 18

/* A new document (caller owns it); fails the test on error. */
json_t *test_report_doc(void);

/* Set OBJ.KEY to the string S, unchecked (its bytes may be broken). */
void test_report_set(json_t *obj, const char *key, const char *s);

#endif /* TESTS_TESTREPORT_H */
