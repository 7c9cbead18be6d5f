/*
 * owners - whom to call about a module: module name glob -> vendor or team.
 *
 * The built-in table is reports/data/owners.txt, embedded at build time; a
 * user file of the same form (owners_load_file) is tried first. Lines are
 * "GLOB<tab or spaces>OWNER", '#' starts a comment. A glob matches the
 * module name or the name without its extension, ignoring ASCII case; the
 * first matching line wins.
 */
#ifndef REPORTS_OWNERS_H
#define REPORTS_OWNERS_H

struct diag;
struct owners;

#define OWNERS_MAX_LINE 512
#define OWNERS_MAX_ENTRIES 10000

/* The built-in table. DF_OK or DF_ENOMEM. */
int owners_new(struct owners **out, struct diag *d);

/*
 * Add the lines of file PATH ahead of every line known so far. DF_OK,
 * DF_EIO (unreadable), DF_EFORMAT (a line without an owner, with its line
 * number in D), DF_ELIMIT or DF_ENOMEM.
 */
int owners_load_file(struct owners *o, const char *path, struct diag *d);

/* Add the lines of TEXT (LEN bytes) ahead of every line known so far. */
int owners_load_text(struct owners *o, const char *text, unsigned long len,
		     struct diag *d);

/* The owner of MODULE, or NULL. */
const char *owners_lookup(const struct owners *o, const char *module);

void owners_destroy(struct owners **op);

#endif /* REPORTS_OWNERS_H */
