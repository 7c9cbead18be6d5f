/*
 * irql-violation: kernel code broke the IRQL contract.
 *
 * At DISPATCH_LEVEL and above the processor may not take a page fault nor
 * wait, so touching pageable (or invalid) memory there stops the system
 * with 0xA (IRQL_NOT_LESS_OR_EQUAL) or, when a driver did it, 0xD1; Arg2 is
 * the IRQL, Arg3 the kind of access. Other bugchecks name an IRQL misuse
 * directly (0x8, 0x9, 0x4A, 0xB8, 0xC8, 0xE1, 0x192), and BAD_POOL_CALLER
 * (0xC2) with Arg1 8 or 9 and Driver Verifier's 0xC4 with an IRQL subtype
 * are IRQL violations too. 0x133 (DPC watchdog) is not: it is about time
 * spent at a raised IRQL, not a forbidden operation. Seed: "Bug Check
 * Frequencies" (IRQL contract violations among the most frequent).
 */
#include "bctable.h"
#include "registry.h"

#define ID "irql-violation"
#define TITLE "IRQL contract violation"
#define NULL_PAGE 0x1000

#define C4_IRQL(sub) { 0xC4, 1, sub, 80, "Driver Verifier caught an IRQL " \
					 "misuse" }

static const struct bct_code codes[] = {
	{ 0xA, 0, 0, 90, "a kernel-mode reference to pageable or invalid "
			 "memory at a raised IRQL" },
	{ 0xD1, 0, 0, 90, "a driver referenced pageable or invalid memory at "
			  "a raised IRQL" },
	{ 0x8, 0, 0, 75, "a routine that needs DISPATCH_LEVEL ran at another "
			 "IRQL" },
	{ 0x9, 0, 0, 75, "the IRQL was lower than a routine requires" },
	{ 0x4A, 0, 0, 80, "a system call returned to user mode at an IRQL "
			  "above PASSIVE_LEVEL" },
	{ 0xB8, 0, 0, 70, "a wait or context switch was attempted from a DPC "
			  "routine" },
	{ 0xC8, 0, 0, 75, "the IRQL was not what the kernel expected" },
	{ 0xE1, 0, 0, 80, "a worker routine returned at an IRQL above "
			  "PASSIVE_LEVEL" },
	{ 0x192, 0, 0, 75, "a lock was acquired at a raised IRQL" },
	{ 0xC2, 1, 0x8, 80, "pool was allocated at an invalid IRQL" },
	{ 0xC2, 1, 0x9, 80, "pool was freed at an invalid IRQL" },
	C4_IRQL(0x1), C4_IRQL(0x2), C4_IRQL(0x11), C4_IRQL(0x12),
	C4_IRQL(0x30), C4_IRQL(0x31), C4_IRQL(0x32), C4_IRQL(0x33),
	C4_IRQL(0x34), C4_IRQL(0x35), C4_IRQL(0x36), C4_IRQL(0x39),
	C4_IRQL(0x3A), C4_IRQL(0x40), C4_IRQL(0x41), C4_IRQL(0x42),
};

/*
 * More evidence once the pattern is shown: a reference below 0x1000 is a
 * NULL pointer, not a pageability problem; the IRQL !analyze recorded.
 */
static int details(struct bct_run *r)
{
	const struct bct_bugcheck *bc = &r->bc;
	const char *irql = model_field(r->a, "CURRENT_IRQL");
	int rc = DF_OK;

	if (r->f == NULL)
		return DF_OK;
	if ((bc->code == 0xA || bc->code == 0xD1) && bc->nargs >= 1 &&
	    bc->args[0] < NULL_PAGE)
		rc = bct_add(r, 0, "the referenced address 0x%" PRIx64
			     " is in the NULL page: a NULL pointer "
			     "dereference at a raised IRQL", bc->args[0]);
	if (rc == DF_OK && irql != NULL)
		rc = bct_add(r, 0, "CURRENT_IRQL: %.32s", irql);
	return rc;
}

static const struct bct_spec spec = {
	.id = ID,
	.title = TITLE,
	.codes = codes,
	.n_codes = ARRAY_SIZE(codes),
	.extra = details,
};

static int run(struct analysis *a)
{
	return bct_run(a, &spec);
}

const struct detector detector_irql_violation = {
	.id = ID,
	.title = TITLE,
	.description = "bugchecks A, D1, 8, 9, 4A, B8, C8, E1, 192, C2 (Arg1 8/9), "
		       "C4 IRQL subtypes; also from nt!KeBugCheckEx arguments on a "
		       "stack",
	.run = run,
};
