/*
 * bugcheck - names of Windows bugcheck (stop) codes and exception codes.
 *
 * The bugcheck table is data (worker/data/bugchecks.tsv, embedded at build
 * time): code, name, category. Lookups are binary searches over a table
 * built once by bugcheck_table_load().
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
 * Name of a Windows exception / NTSTATUS code as Breakpad names it
 * ("EXCEPTION_ACCESS_VIOLATION", "EXCEPTION_STACK_BUFFER_OVERRUN"...), or
 * NULL when unknown.
 */
const char *exception_name(uint32_t code);

#endif /* WORKER_BUGCHECK_H */
