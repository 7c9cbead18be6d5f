/*
 * hardware-error: the machine, not the software, failed.
 *
 * The processor or the platform reported an error it could not correct:
 * a machine check (0x9C, before WHEA), a WHEA uncorrectable error (0x124,
 * Windows Vista and later; Arg1 names the error source), an NMI from the
 * hardware (0x80), a memory parity error (0x2E) or a page with a bad bit
 * (0x12B); a processor that stopped answering clock interrupts (0x101) is
 * most often hardware too, though firmware, hypervisors and drivers can
 * cause it. A paging read that failed with a disk or cabling status (0x7A
 * with STATUS_DEVICE_DATA_ERROR and the like in Arg2) points at the disk.
 * Logs also show it as the machine-check handlers on the stack and as
 * !errrec output (a Common Platform Error Record). Seed: "Bug Check
 * Frequencies" (hardware failures among the most frequent).
 */
#include "bctable.h"
#include "registry.h"

#define ID "hardware-error"
#define TITLE "Hardware error (machine check, WHEA, NMI)"

static const struct bct_code codes[] = {
	{ 0x9C, 0, 0, 90, "the processor reported a fatal machine check" },
	{ 0x124, 0, 0, 90, "WHEA reported a fatal hardware error" },
	{ 0x80, 0, 0, 85, "a nonmaskable interrupt signalled a hardware "
			  "malfunction" },
	{ 0x2E, 0, 0, 75, "a parity error in system memory" },
	{ 0x12B, 0, 0, 80, "a single-bit error was found in a page of "
			   "memory" },
	{ 0x122, 0, 0, 70, "WHEA failed while handling a hardware error" },
	{ 0x101, 0, 0, 60, "a secondary processor stopped answering clock "
			   "interrupts (failing hardware, less often "
			   "firmware, a hypervisor or a driver)" },
	{ 0x7A, 2, 0xC000009C, 65, "the paging read failed on bad disk "
				   "sectors" },
	{ 0x7A, 2, 0xC000016A, 65, "the paging read failed on bad disk "
				   "sectors" },
	{ 0x7A, 2, 0xC000009D, 65, "the paging read failed: the disk is "
				   "not connected (cabling, controller)" },
	{ 0x7A, 2, 0xC0000185, 60, "the paging read failed with a device "
				   "I/O error (cabling, termination)" },
	{ 0x7A, 2, 0xC000000E, 60, "the paging read failed: no such device "
				   "(hardware or drive configuration)" },
};

/* The machine-check path: the processor's exception, HAL, PSHED. */
static const struct bct_frame frames[] = {
	{ "nt", "K?McheckAbort", 80, "the machine check exception handler",
	  false },
	{ "hal", "HalpMce*", 80, "the HAL's machine check handler", false },
	{ "hal", "HalpMcaReportError", 80, "the HAL reports a machine check "
					   "error", false },
	{ "pshed", "PshedBugCheckSystem", 80, "the platform hardware error "
					      "driver stopped the system",
	  false },
};

static const struct bct_phrase phrases[] = {
	{ "Common Platform Error Record", 80, "!errrec output: a hardware "
					     "error record" },
	{ "A fatal hardware error has occurred", 85, "the debugger's "
						     "description of "
						     "0x124" },
	{ "WHEA-Logger", 60, "a WHEA hardware error event" },
};

static const struct bct_field fields[] = {
	{ "BUGCHECK_STR", "0x124_*", 85, "the debugger's bucket for a WHEA "
					 "error" },
	{ "FAILURE_BUCKET_ID", "0x124_*", 85, "the debugger's bucket for a "
					      "WHEA error" },
	{ "FAILURE_BUCKET_ID", "0x9C_*", 85, "the debugger's bucket for a "
					     "machine check" },
};

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
};

static int run(struct analysis *a)
{
	return bct_run(a, &spec);
}

const struct detector detector_hardware_error = {
	.id = ID,
	.title = TITLE,
	.description = "bugchecks 9C, 124, 80, 2E, 12B, 122, 101 and 7A with a "
		       "disk error status; machine-check frames; !errrec text",
	.run = run,
};
