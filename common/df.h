/*
 * df - status codes and small helpers shared by every dumpfleet module.
 *
 * Every fallible call returns an int: DF_OK (0) on success, a negative DF_E*
 * code on failure. df_strerror() turns a code into words.
 */
#ifndef COMMON_DF_H
#define COMMON_DF_H

#include <stddef.h>

#define DF_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum df_err {
	DF_OK = 0,
	DF_ENOMEM = -1,
	DF_EIO = -2,
	DF_ETRUNC = -3,       /* input ends before a structure does */
	DF_EFORMAT = -4,      /* input is not what it claims to be */
	DF_ELIMIT = -5,       /* input exceeds one of our caps */
	DF_EUNSUPPORTED = -6, /* recognised but not handled */
	DF_EEXIST = -7,       /* already there; nothing changed */
	DF_EPROTO = -8,       /* malformed wire message */
	DF_ENOTFOUND = -9,    /* no such record */
	DF_ESTORE = -10,      /* the LMDB store failed */
	DF_EUSAGE = -11,      /* the caller asked for something invalid */
	DF_ELAST = DF_EUSAGE,
};

/* Process exit codes, shared by every command. */
enum df_exit {
	DF_EXIT_OK = 0,
	DF_EXIT_FINDINGS = 1, /* findings or errors in the data */
	DF_EXIT_USAGE = 2,
	DF_EXIT_SYSTEM = 3,
};

/* A static string naming CODE; "unknown error" for codes outside the table. */
const char *df_strerror(int code);

#endif /* COMMON_DF_H */
