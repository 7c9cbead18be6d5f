/*
 * baseline - the 2008 bugcheck frequency baseline reports compare with.
 *
 * reports/data/bugcheck-baseline-2008.tsv (the seed's "Bug Check
 * Frequencies": code, name, web search matches in 2008), embedded at build
 * time. A code's baseline share is its matches over the table's total.
 */
#ifndef REPORTS_BASELINE_H
#define REPORTS_BASELINE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The 2008 share (0..1) of bugcheck CODE into *SHARE; false when the table
 * has no row for CODE (taken as written: 0x1000007E is not 0x7E).
 */
bool baseline_share(uint32_t code, double *share);

#endif /* REPORTS_BASELINE_H */
