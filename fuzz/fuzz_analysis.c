/*
 * Fuzz target: the whole analysis (detection, reader, detectors,
 * signature, JSON) on arbitrary bytes.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "analysis.h"
#include "analysis_json.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct analysis *a = NULL;

	if (analysis_run(&a, data, size, NULL) != 0 || a == NULL)
		return 0;
	json_t *j = analysis_to_json(a, "fuzz");
	char *s = json_dumps(j, JSON_COMPACT);

	free(s);
	json_decref(j);
	analysis_destroy(&a);
	return 0;
}
