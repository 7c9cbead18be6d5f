#include "registry.h"

#include <string.h>

#include "df.h"
#include "model.h"

int detect_run_all(struct analysis *a)
{
	for (size_t i = 0; i < detector_table_len; i++) {
		const struct detector *d = detector_table[i];
		int rc = d->run(a);

		if (rc != DF_OK)
			model_add_error(a, rc, false, 0, "detector %s: %s",
					d->id, df_strerror(rc));
	}
	return DF_OK;
}

const struct detector *detect_find(const char *id)
{
	for (size_t i = 0; i < detector_table_len; i++)
		if (strcmp(detector_table[i]->id, id) == 0)
			return detector_table[i];
	return NULL;
}
