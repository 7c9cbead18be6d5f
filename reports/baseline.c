#include "baseline.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char bugcheck_baseline_data[];
extern const unsigned long bugcheck_baseline_data_len;

/*
 * The table is a few hundred rows, read by a linear pass per lookup: a
 * report looks up one row per bugcheck code it lists, so nothing is kept.
 */
static bool row_matches(const char *line, uint32_t code, uint64_t *matches)
{
	char *end;
	unsigned long c = strtoul(line, &end, 16);
	const char *tab;

	*matches = 0;
	if (end == line || *end != '\t')
		return false;
	tab = strchr(end + 1, '\t');
	if (tab == NULL)
		return false;
	*matches = strtoull(tab + 1, NULL, 10);
	return (uint32_t)c == code;
}

bool baseline_share(uint32_t code, double *share)
{
	const char *p = (const char *)bugcheck_baseline_data;
	uint64_t total = 0, mine = 0;
	bool found = false;

	while (*p) {
		const char *eol = strchr(p, '\n');

		if (*p != '#') {
			uint64_t m;
			bool hit = row_matches(p, code, &m);

			total += m;
			if (hit && !found) {
				mine = m;
				found = true;
			}
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	if (!found || total == 0)
		return false;
	*share = (double)mine / (double)total;
	return true;
}
