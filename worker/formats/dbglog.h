/*
 * dbglog - reader for WinDbg / CDB / KD text output.
 *
 * Understands the dump-opening banner, `!analyze -v` (old and new layouts),
 * stacks in every k-command layout, `lm` module lists, `!sysinfo machineid`,
 * `!process` / `!thread` blocks and `!vm` tables, in any order and number
 * within one log. Lines are read with a length cap; nothing from the text is
 * trusted.
 */
#ifndef FORMATS_DBGLOG_H
#define FORMATS_DBGLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analysis;

#define DBGLOG_MAX_LINE 8192          /* longer lines are cut */
#define DBGLOG_MAX_SIZE ((size_t)64 << 20)

/*
 * True when DATA looks like debugger output: text (no NUL bytes in the
 * first 4 KiB) with at least one debugger marker such as "BugCheck ",
 * "!analyze", "STACK_TEXT:", "Child-SP", "ChildEBP", "Loading Dump File",
 * "Bugcheck Analysis" or a `kd>`/`0:000>` prompt.
 */
bool dbglog_probe(const uint8_t *data, size_t len);

/*
 * Fill A from the log text. Sets a->text/a->text_len to DATA (borrowed).
 * Returns DF_OK, or a DF_E* code (also recorded in A) when the input is not
 * text at all.
 */
int dbglog_read(struct analysis *a, const uint8_t *data, size_t len);

#endif /* FORMATS_DBGLOG_H */
