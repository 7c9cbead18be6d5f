/*
 * Fuzz target: the whole analysis (detection, reader, detectors,
 * signature, JSON) on arbitrary bytes; the JSON text from jsonw must be
 * jansson's, whatever strings the input put in the tree.
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
#include "jsonw.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis *a = NULL;

	if (analysis_run(&a, data, size, NULL) != 0 || a == NULL)
		return 0;
	json_t *j = analysis_to_json(a, "fuzz");
	char *s = json_dumps(j, JSON_COMPACT);
	struct strbuf sb;

	strbuf_init(&sb, SIZE_MAX);
	if (s != NULL && jsonw_append(&sb, j) == DF_OK &&
	    strcmp(s, strbuf_str(&sb)) != 0)
		abort();
	strbuf_release(&sb);
	free(s);
	json_decref(j);
	analysis_destroy(&a);
	return 0;
}
