/*
 * manual-crash: somebody crashed the system on purpose.
 *
 * A user or an administrator forces a dump to look at a hung or slow
 * system: from the keyboard (right Ctrl + Scroll Lock twice, handled by
 * i8042prt for PS/2 keyboards and kbdhid for USB ones, bugcheck 0xE2), from
 * the debugger or a tool (0xE2, 0xDEADDEAD), by holding the power button
 * (0x1C8, Windows 10 1809 and later), or with Sysinternals NotMyFault,
 * whose driver myfault.sys raises a real bugcheck (often 0xD1) on request.
 * The crash itself is then not the problem; the state it captured is.
 * Seed: "Bug Check Frequencies" (0xE2, 0xDEADDEAD).
 */
#include "bctable.h"
#include "registry.h"

#define ID "manual-crash"
#define TITLE "Manually initiated crash"

static const struct bct_code codes[] = {
	{ 0xE2, 0, 0, 95, "the user initiated the crash on purpose (keyboard, "
			  "debugger or tool)" },
	{ 0xDEADDEAD, 0, 0, 95, "the crash was initiated on purpose" },
	{ 0x1C8, 0, 0, 90, "the power button was held long enough to ask "
			   "for a diagnostic dump" },
};

static const struct bct_frame frames[] = {
	{ "i8042prt", "I8xProcessCrashDump", 90, "the keyboard crash "
						 "sequence on a PS/2 "
						 "keyboard", false },
	{ "kbdhid", "KbdHidProcessCrashDump", 90, "the keyboard crash "
						  "sequence on a USB (HID) "
						  "keyboard", false },
	{ "myfault", NULL, 70, "Sysinternals NotMyFault's driver: the crash "
			       "was forced on purpose", false },
};

static const struct bct_phrase phrases[] = {
	{ "The user manually initiated this crash dump", 90,
	  "the debugger's description of 0xE2" },
	{ "This is a myfault.sys dump", 75, "the dump was forced with "
					    "Sysinternals NotMyFault" },
};

static const struct bct_field fields[] = {
	{ "FAILURE_BUCKET_ID", "MANUALLY_INITIATED_CRASH*", 90,
	  "the debugger's bucket for a manual crash" },
	{ "DEFAULT_BUCKET_ID", "MANUALLY_INITIATED_CRASH*", 90,
	  "the debugger's bucket for a manual crash" },
	{ "BUGCHECK_STR", "MANUALLY_INITIATED_CRASH*", 90,
	  "the debugger's bucket for a manual crash" },
	{ "IMAGE_NAME", "myfault.sys", 75, "the debugger blames "
					   "Sysinternals NotMyFault's "
					   "driver: a forced crash" },
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

const struct detector detector_manual_crash = {
	.id = ID,
	.title = TITLE,
	.description = "bugchecks E2, DEADDEAD, 1C8; keyboard crash frames "
		       "(i8042prt, kbdhid); NotMyFault (myfault.sys); "
		       "MANUALLY_INITIATED_CRASH buckets",
	.run = run,
};
