/*
 * Fuzz target: the whole analysis (detection, reader, detectors,
 * signature, JSON) on arbitrary bytes. The JSON text, written without a
 * tree, must be what jansson would write: it reads back and dumps back
 * to the same bytes, whatever strings the input put in it.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "analysis_json.h"
#include "df.h"
#include "fuzz.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis *a = NULL;
	struct strbuf sb;

	if (analysis_run(&a, data, size, NULL) != 0 || a == NULL)
		return 0;
	strbuf_init(&sb, SIZE_MAX);
	if (analysis_json_write(&sb, a, "fuzz", "a.zip", "m") == DF_OK) {
		json_t *j = json_loadb(sb.buf, sb.len, 0, NULL);
		char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

		if (j == NULL || (s != NULL && strcmp(s, strbuf_str(&sb)) != 0))
			abort();
		free(s);
		json_decref(j);
	}
	strbuf_release(&sb);
	analysis_destroy(&a);
	return 0;
}
