/*
 * bugcheck - the bugcheck knowledge base: names of Windows bugcheck (stop)
 * codes, their categories, their 2008 web-frequency baseline, what their
 * parameters mean, and names of exception codes.
 *
 * The tables are data, embedded at build time: worker/data/bugchecks.tsv
 * (code, name, category, web_matches_2008) and worker/data/bugcheck-args.tsv
 * (code, parameter, value or '*', meaning). Lookups are binary searches
 * over tables built once, on first use, and never changed afterwards, so
 * any thread may call these functions at any time.
 */
#ifndef WORKER_BUGCHECK_H
#define WORKER_BUGCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Name of bugcheck CODE ("DRIVER_IRQL_NOT_LESS_OR_EQUAL"), or NULL. */
const char *bugcheck_name(uint32_t code);

/* Category of CODE ("memory", "driver", ...), or NULL. */
const char *bugcheck_category(uint32_t code);

/* Code for NAME (exact, case-sensitive), or 0 when unknown. */
uint32_t bugcheck_code(const char *name);

/* Number of codes in the table. */
size_t bugcheck_count(void);

/*
 * CODE without the 0x10000000 bit that some Windows versions add
 * (0x1000007E -> 0x7E). Only codes whose top nibble is exactly 1 change:
 * 0xDEADDEAD or 0xC000021A keep their value.
 */
uint32_t bugcheck_base_code(uint32_t code);

/*
 * Name of CODE for display: the table's name, else the name of its base
 * code (bugcheck_base_code), else "unknown bugcheck". Never NULL.
 */
const char *bugcheck_display_name(uint32_t code);

/*
 * Web search matches of CODE in 2008 (the seed's "Bug Check Frequencies",
 * shared/data/bugcheck-frequencies-2008.tsv), the baseline reports compare
 * today's frequencies with. 0 for codes without a figure (newer codes).
 * The code is taken as is: 0x1000007E and 0x7E have figures of their own.
 */
uint32_t bugcheck_baseline_2008(uint32_t code);

/*
 * What parameter ARGNO (1-4) of bugcheck CODE means when its value is
 * VALUE: the meaning given for that exact value ("a pool block header size
 * is corrupt" for 0x19, 1, 0x20), else the meaning of the parameter in
 * general ("memory address referenced"), else NULL. CODE is normalised
 * with bugcheck_base_code(); a sign-extended 32-bit VALUE
 * (0xffffffffc0000005) also matches its low 32 bits.
 */
const char *bugcheck_arg_meaning(uint32_t code, int argno, uint64_t value);

/*
 * Like bugcheck_arg_meaning() but for the exact VALUE only (a subtype, a
 * trap number, a status): NULL when the table has no row for that value.
 */
const char *bugcheck_arg_value_meaning(uint32_t code, int argno,
				       uint64_t value);

/* Number of parameter meanings (rows of bugcheck-args.tsv) loaded. */
size_t bugcheck_arg_count(void);

/*
 * Name of a Windows exception / NTSTATUS code as Breakpad names it
 * ("EXCEPTION_ACCESS_VIOLATION", "EXCEPTION_STACK_BUFFER_OVERRUN"...), or
 * NULL when unknown.
 */
const char *exception_name(uint32_t code);

#endif /* WORKER_BUGCHECK_H */
