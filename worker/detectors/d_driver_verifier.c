/*
 * driver-verifier: Driver Verifier caught a driver, or was watching one.
 *
 * Driver Verifier checks the drivers an administrator names and stops the
 * system when one breaks a rule: 0xC4 in general (Arg1 says which rule),
 * 0xC9 for I/O manager rules, 0xE6 for DMA, 0xF1/0xF6 for the SCSI and PCI
 * verifiers, 0xBFE/0xBFF for Bluetooth. Its special pool option catches
 * overruns and use after free as 0xC1, 0xD5, 0xD6 (0xCC, 0xCD when the
 * driver is unknown); special pool can also be set without the verifier,
 * so these count for less. 0xC4 with Arg1 0x91 is also raised without the
 * verifier on some versions. The verifier's own code on a stack (nt!Vf*,
 * nt!VerifierBugCheckIfAppropriate, VerifierExt.sys) or !analyze's
 * VERIFIER_DRIVER_ENTRY show it too; its thunks (nt!Verifier*) show that
 * the calling driver is verified. The suspect driver is named when the
 * analysis blames one.
 */
#include "bctable.h"
#include "registry.h"

#define ID "driver-verifier"
#define TITLE "Driver Verifier violation"

static const struct bct_code codes[] = {
	{ 0xC4, 1, 0x91, 60, "an unsupported stack switch (raised with or "
			     "without Driver Verifier)" },
	{ 0xC4, 0, 0, 95, "Driver Verifier caught a verified driver "
			  "breaking a rule" },
	{ 0xC9, 0, 0, 95, "Driver Verifier's I/O verification caught a "
			  "driver" },
	{ 0xE6, 0, 0, 95, "Driver Verifier's DMA verification caught a "
			  "driver" },
	{ 0xF1, 0, 0, 90, "the SCSI verifier caught a miniport driver" },
	{ 0xF6, 0, 0, 90, "the PCI verifier caught a driver" },
	{ 0xBFE, 0, 0, 85, "the Bluetooth verifier caught a driver" },
	{ 0xBFF, 0, 0, 85, "the Bluetooth miniport verifier caught a "
			   "driver" },
	{ 0xC1, 0, 0, 70, "special pool (a Driver Verifier option) caught a "
			  "driver corrupting its allocation" },
	{ 0xD6, 0, 0, 70, "special pool (a Driver Verifier option) caught a "
			  "driver reading past its allocation" },
	{ 0xD5, 0, 0, 70, "special pool (a Driver Verifier option) caught a "
			  "driver using freed memory" },
	{ 0xCC, 0, 0, 60, "special pool caught a reference to freed memory" },
	{ 0xCD, 0, 0, 60, "special pool caught a reference past the end of "
			  "an allocation" },
};

static const struct bct_frame frames[] = {
	{ "nt", "VerifierBugCheckIfAppropriate", 90, "Driver Verifier "
						     "raised the bugcheck",
	  false },
	{ "nt", "Vf*", 75, "Driver Verifier's checks on the stack", false },
	{ "VerifierExt", NULL, 75, "the Driver Verifier extension on the "
				   "stack", false },
	{ "nt", "Verifier*", 60, "a Driver Verifier thunk: the calling "
				 "driver is being verified", false },
};

static const struct bct_phrase phrases[] = {
	{ "the kernel has enabled substantial checking of this driver", 85,
	  "the debugger's description of 0xC4" },
};

static const struct bct_field fields[] = {
	{ "VERIFIER_DRIVER_ENTRY", "*", 85, "!analyze found the verifier's "
					    "record of the driver" },
};

/* Name the suspect driver once something showed the verifier. */
static int suspect(struct bct_run *r)
{
	const struct analysis *a = r->a;

	if (r->f == NULL || a->blame_module == NULL)
		return DF_OK;
	return bct_add(r, 0, "suspect driver: %s (%s)", a->blame_module,
		       a->blame_reason != NULL ? a->blame_reason : "blamed");
}

static const struct bct_spec spec = {
	.id = ID,
	.title = TITLE,
	.codes = codes,
	.n_codes = ARRAY_SIZE(codes),
	.frames = frames,
	.n_frames = ARRAY_SIZE(frames),
	.phrases = phrases,
	.n_phrases = ARRAY_SIZE(phrases),
	.fields = fields,
	.n_fields = ARRAY_SIZE(fields),
	.extra = suspect,
};

static int run(struct analysis *a)
{
	return bct_run(a, &spec);
}

const struct detector detector_driver_verifier = {
	.id = ID,
	.title = TITLE,
	.description = "bugchecks C4, C9, E6, F1, F6, BFE, BFF and special pool "
		       "C1, D5, D6, CC, CD; nt!Vf*/Verifier* frames; "
		       "VERIFIER_DRIVER_ENTRY",
	.run = run,
};
