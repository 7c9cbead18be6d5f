/*
 * glob - case-insensitive wildcard match for names from dumps and rules.
 */
#ifndef COMMON_GLOB_H
#define COMMON_GLOB_H

#include <stdbool.h>

/*
 * True when S matches PAT, ignoring ASCII case: '*' matches any run of
 * characters, '?' any one. Linear backtracking on the last '*' only, so
 * the cost is bounded by strlen(PAT) * strlen(S) whatever the input.
 */
bool glob_match(const char *pat, const char *s);

#endif /* COMMON_GLOB_H */
