/*
 * detectors: the bugcheck-table detectors hardware-error, manual-crash,
 * driver-verifier, irql-violation, unhandled-kernel-exception and
 * stack-overflow on hand-built models (positive and negative cases), and
 * through the whole pipeline (analysis_run and the debugger-log reader) on
 * the seed's WinDbg output, where none of them may fire, and on composed
 * logs in the layouts the debugger prints, as a table of example x
 * pattern.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis.h"
#include "df.h"
#include "model.h"
#include "registry.h"
#include "testdetect.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *const my_ids[] = {
	"hardware-error",	      "manual-crash",	"driver-verifier",
	"irql-violation", "unhandled-kernel-exception", "stack-overflow",
};

static void set_crash(struct analysis *a, uint32_t code)
{
	a->crash.present = true;
	a->crash.has_code = true;
	a->crash.code = code;
	a->crash.crashing_thread = -1;
}

/* A fresh model with bugcheck CODE and parameters: ID's finding or NULL. */
static bool fires_on_bugcheck(const char *id, uint32_t code, uint64_t a1,
			      uint64_t a2)
{
	struct analysis *a = analysis_new();
	bool hit;

	test_set_bugcheck(a, code, a1, a2, 0, 0);
	hit = test_detect(a, id) != NULL;
	analysis_destroy(&a);
	return hit;
}

/* ---- the registry -------------------------------------------------------- */

static void test_bcdet__registry_and_empty_model(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(my_ids); i++) {
		const struct detector *d = detect_find(my_ids[i]);
		struct analysis *a = analysis_new();

		assert_non_null(d);
		assert_string_equal(d->id, my_ids[i]);
		assert_non_null(d->title);
		assert_null(test_detect(a, my_ids[i]));
		assert_int_equal(a->findings.n, 0);
		analysis_destroy(&a);
	}
}

/* ---- hardware-error ------------------------------------------------------ */

static void test_hw__whea(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0x124, 0x0, 0xffffe00012345018, 0xbe000000,
		     0x800400);
	f = test_detect(a, "hardware-error");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "bugcheck 0x124 WHEA_UNCORRECTABLE_ERROR");
	assert_evidence(f, "Arg1 0x0: a machine check exception");
	assert_evidence(f, "WHEA_ERROR_RECORD");
	analysis_destroy(&a);
}

static void test_hw__other_codes(void **state)
{
	(void)state;
	assert_true(fires_on_bugcheck("hardware-error", 0x9C, 4, 0));
	assert_true(fires_on_bugcheck("hardware-error", 0x80, 0, 0));
	assert_true(fires_on_bugcheck("hardware-error", 0x2E, 0, 0));
	assert_true(fires_on_bugcheck("hardware-error", 0x12B, 0, 0));
	/* A disk error status in a paging read; not a lack of pool. */
	assert_true(fires_on_bugcheck("hardware-error", 0x7A, 1,
				      0xffffffffc000009c));
	assert_true(fires_on_bugcheck("hardware-error", 0x7A, 4, 0xc0000185));
	assert_false(fires_on_bugcheck("hardware-error", 0x7A, 1,
				       0xffffffffc000009a));
}

/* A hung processor is often, not always, hardware. */
static void test_hw__clock_watchdog_less_sure(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0x101, 0x18, 0, 0xffffd000a1c00180, 2);
	f = test_detect(a, "hardware-error");
	assert_non_null(f);
	assert_true(f->confidence < 80);
	assert_evidence(f, "PRCB of the unresponsive processor");
	analysis_destroy(&a);
}

static void test_hw__frames_and_errrec(void **state)
{
	static const char *const mce[] = {
		"nt!KeBugCheckEx",	       "hal!HalBugCheckSystem+0xcf",
		"PSHED!PshedBugCheckSystem+0x10", "hal!HalpMcaReportError+0x50",
		"hal!HalpMceHandlerCore+0x12f", "nt!KxMcheckAbort+0x7a",
		"nt!KiMcheckAbort+0x27a",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_thread(a, 1, mce, ARRAY_SIZE(mce), TRUST_PREWALKED);
	f = test_detect(a, "hardware-error");
	assert_non_null(f);
	assert_evidence(f, "nt!KxMcheckAbort");
	assert_evidence(f, "PSHED!PshedBugCheckSystem");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_text(a, "0: kd> !errrec ffffe00012345018\n"
		    "===============================================\n"
		    "Common Platform Error Record @ ffffe00012345018\n"
		    "-----------------------------------------------\n");
	f = test_detect(a, "hardware-error");
	assert_non_null(f);
	assert_evidence(f, "Common Platform Error Record @ ffffe00012345018");
	analysis_destroy(&a);
}

static void test_hw__negatives(void **state)
{
	static const char *const stack[] = {
		"nt!KeBugCheckEx", "nt!KiPageFault+0x42b", "mydrv+0x1234",
	};
	struct analysis *a;

	(void)state;
	assert_false(fires_on_bugcheck("hardware-error", 0xD1, 0x20, 2));
	assert_false(fires_on_bugcheck("hardware-error", 0x50, 0, 0));
	assert_false(fires_on_bugcheck("hardware-error", 0x1A, 0x41790, 0));
	assert_false(fires_on_bugcheck("hardware-error", 0x133, 1, 0));
	a = analysis_new();
	set_crash(a, 0xC0000005);
	test_add_thread(a, 1, stack, ARRAY_SIZE(stack), TRUST_PREWALKED);
	/* The words alone, as a help text says them, are no hardware. */
	test_set_text(a, "Check that the hardware is not at fault (machine "
		    "check, memory).\n");
	assert_null(test_detect(a, "hardware-error"));
	analysis_destroy(&a);
}

/* ---- manual-crash -------------------------------------------------------- */

static void test_manual__codes(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0xE2, 0, 0, 0, 0);
	f = test_detect(a, "manual-crash");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "MANUALLY_INITIATED_CRASH");
	analysis_destroy(&a);

	assert_true(fires_on_bugcheck("manual-crash", 0xDEADDEAD, 0, 0));

	a = analysis_new();
	test_set_bugcheck(a, 0x1C8, 7000, 0xfffff80012345678, 0, 0);
	f = test_detect(a, "manual-crash");
	assert_non_null(f);
	assert_evidence(f, "MANUALLY_INITIATED_POWER_BUTTON_HOLD");
	assert_evidence(f, "Arg1 0x1b58: time the power button was held");
	analysis_destroy(&a);
}

/* The keyboard crash sequence, PS/2 and USB, without a bugcheck line. */
static void test_manual__keyboard_frames(void **state)
{
	static const char *const usb[] = {
		"nt!KeBugCheckEx",
		"kbdhid!KbdHidProcessCrashDump+0x1a4",
		"kbdhid!KbdHid_InsertCodesIntoQueue+0xbf",
	};
	static const char *const ps2[] = {
		"nt!KeBugCheckEx",
		"i8042prt!I8xProcessCrashDump+0x24f",
		"i8042prt!I8042KeyboardInterruptService+0x3cf",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_thread(a, 1, usb, ARRAY_SIZE(usb), TRUST_PREWALKED);
	f = test_detect(a, "manual-crash");
	assert_non_null(f);
	assert_evidence(f, "kbdhid!KbdHidProcessCrashDump");
	assert_evidence(f, "USB (HID) keyboard");
	analysis_destroy(&a);

	a = analysis_new();
	test_add_thread(a, 1, ps2, ARRAY_SIZE(ps2), TRUST_PREWALKED);
	f = test_detect(a, "manual-crash");
	assert_non_null(f);
	assert_evidence(f, "PS/2 keyboard");
	analysis_destroy(&a);
}

/* NotMyFault forces a real bugcheck: both patterns are true. */
static void test_manual__notmyfault(void **state)
{
	static const char *const stack[] = {
		"nt!KeBugCheckEx", "nt!KiBugCheckDispatch+0x69",
		"nt!KiPageFault+0x469", "myfault+0x12d0",
		"myfault+0x1694",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0xD1, 0xffff9b08ed297010, 2, 0, 0xfffff8027d7612d0);
	test_add_thread(a, 1, stack, ARRAY_SIZE(stack), TRUST_PREWALKED);
	f = test_detect(a, "manual-crash");
	assert_non_null(f);
	assert_true(f->confidence < 90);
	assert_evidence(f, "NotMyFault");
	assert_non_null(test_detect(a, "irql-violation"));
	analysis_destroy(&a);
}

static void test_manual__negatives(void **state)
{
	struct analysis *a;

	(void)state;
	assert_false(fires_on_bugcheck("manual-crash", 0xD1, 0x20, 2));
	assert_false(fires_on_bugcheck("manual-crash", 0x161, 0, 0));
	assert_false(fires_on_bugcheck("manual-crash", 0x9C, 0, 0));
	a = analysis_new();
	test_set_text(a, "The crash was not manually initiated; the keyboard "
		    "driver kbdhid.sys was loaded.\n");
	assert_null(test_detect(a, "manual-crash"));
	analysis_destroy(&a);
}

/* ---- driver-verifier ----------------------------------------------------- */

static void test_verifier__c4(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0xC4, 0x62, 0xffffd6851fbf7188, 0xffffd68517af2670,
		     1);
	a->blame_module = "netdrv.sys";
	a->blame_reason = "MODULE_NAME in !analyze output";
	f = test_detect(a, "driver-verifier");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "DRIVER_VERIFIER_DETECTED_VIOLATION");
	assert_evidence(f, "Arg1 0x62: the driver is unloading without "
			   "freeing its pool allocations");
	assert_evidence(f, "suspect driver: netdrv.sys");
	analysis_destroy(&a);

	/* 0xC4/0x91 is raised without the verifier too. */
	a = analysis_new();
	test_set_bugcheck(a, 0xC4, 0x91, 2, 0x18e9b60, 0);
	f = test_detect(a, "driver-verifier");
	assert_non_null(f);
	assert_true(f->confidence <= 60);
	analysis_destroy(&a);
}

static void test_verifier__other_codes(void **state)
{
	(void)state;
	assert_true(fires_on_bugcheck("driver-verifier", 0xC9, 0x21f, 0));
	assert_true(fires_on_bugcheck("driver-verifier", 0xE6, 0x26, 0));
	assert_true(fires_on_bugcheck("driver-verifier", 0xF6, 0, 0));
	assert_true(fires_on_bugcheck("driver-verifier", 0xD6, 0, 0));
	assert_true(fires_on_bugcheck("driver-verifier", 0xC1, 0, 0));
}

static void test_verifier__frames_and_fields(void **state)
{
	static const char *const stack[] = {
		"nt!KeBugCheckEx",
		"nt!VerifierBugCheckIfAppropriate+0x3c",
		"nt!VfReportIssueWithOptions+0x101",
		"nt!VfCheckUserHandle+0x1a2b",
		"mydrv+0x1021",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_thread(a, 1, stack, ARRAY_SIZE(stack), TRUST_PREWALKED);
	f = test_detect(a, "driver-verifier");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "nt!VerifierBugCheckIfAppropriate");
	assert_evidence(f, "nt!VfReportIssueWithOptions");
	analysis_destroy(&a);

	a = analysis_new();
	assert_int_equal(model_add_field(a, "VERIFIER_DRIVER_ENTRY",
					 "dt nt!_MI_VERIFIER_DRIVER_ENTRY "
					 "ffffd407b3ccbee0"),
			 DF_OK);
	f = test_detect(a, "driver-verifier");
	assert_non_null(f);
	assert_evidence(f, "_MI_VERIFIER_DRIVER_ENTRY");
	analysis_destroy(&a);
}

/* Help texts and Application Verifier fields mention the verifier. */
static void test_verifier__negatives(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	test_set_bugcheck(a, 0x19, 0x22, 0xffffbd06d46e0000, 1, 0);
	test_set_text(a, "BAD_POOL_HEADER (19)\n"
		    "The pool is already corrupt at the time of the current "
		    "request.\n"
		    "the problem, and then special pool applied to the "
		    "suspect tags or the driver\n"
		    "verifier to a suspect driver.\n"
		    "   +0x600 VerifierContext      : (null)\n");
	assert_int_equal(model_add_field(a, "APPLICATION_VERIFIER_FLAGS", "0"),
			 DF_OK);
	assert_null(test_detect(a, "driver-verifier"));
	analysis_destroy(&a);

	assert_false(fires_on_bugcheck("driver-verifier", 0xD1, 0x20, 2));
	assert_false(fires_on_bugcheck("driver-verifier", 0x10D, 0, 0));
}

/* ---- irql-violation ------------------------------------------------------ */

static void test_irql__d1_and_a(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0xD1, 0xfffff803712e5000, 2, 8, 0xfffff803712e5000);
	assert_int_equal(model_add_field(a, "CURRENT_IRQL", "2"), DF_OK);
	f = test_detect(a, "irql-violation");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "DRIVER_IRQL_NOT_LESS_OR_EQUAL");
	assert_evidence(f, "Arg2 0x2: IRQL 2 (DISPATCH_LEVEL)");
	assert_evidence(f, "Arg3 0x8: execute");
	assert_evidence(f, "CURRENT_IRQL: 2");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_bugcheck(a, 0xA, 0x20, 2, 0, 0xfffff8030f6c15a4);
	f = test_detect(a, "irql-violation");
	assert_non_null(f);
	assert_evidence(f, "Arg3 0x0: read");
	assert_evidence(f, "NULL pointer");
	analysis_destroy(&a);
}

static void test_irql__other_codes(void **state)
{
	(void)state;
	assert_true(fires_on_bugcheck("irql-violation", 0x9, 0, 0));
	assert_true(fires_on_bugcheck("irql-violation", 0x4A, 0, 0));
	assert_true(fires_on_bugcheck("irql-violation", 0xE1, 0, 0));
	/* Pool freed at a bad IRQL; a verifier IRQL subtype. */
	assert_true(fires_on_bugcheck("irql-violation", 0xC2, 9, 2));
	assert_true(fires_on_bugcheck("irql-violation", 0xC4, 0x31, 2));
	/* A double free and a verifier pool leak are no IRQL matter. */
	assert_false(fires_on_bugcheck("irql-violation", 0xC2, 7, 0));
	assert_false(fires_on_bugcheck("irql-violation", 0xC4, 0x62, 0));
}

/* No bugcheck line, but KeBugCheckEx's arguments on the stack. */
static void test_irql__code_from_stack_arguments(void **state)
{
	static const char x64[] =
		"STACK_TEXT:  \n"
		"ffffd505`7e830838 fffff800`903d5669 : 00000000`0000000a "
		"00000000`00000047 00000000`00000002 00000000`00000000 : "
		"nt!KeBugCheckEx\n"
		"ffffd505`7e830840 fffff800`903d22eb : 00000000`00000000 "
		"00000000`00000000 00000000`00000000 fffff800`90b6edf5 : "
		"nt!KiBugCheckDispatch+0x69\n";
	static const char x86[] =
		"ChildEBP RetAddr  Args to Child\n"
		"b80a60cc 808927bb 000000d1 00000047 00000002 "
		"nt!KeBugCheckEx+0x1b\n";
	static const char kn[] =
		" # Child-SP          RetAddr               : Args to Child      "
		"                                                     : Call "
		"Site\n"
		"00 ffffd505`7e830838 fffff800`903d5669     : 00000000`000000d1 "
		"00000000`00000010 00000000`00000002 00000000`00000001 : "
		"nt!KeBugCheckEx\n";
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_text(a, x64);
	f = test_detect(a, "irql-violation");
	assert_non_null(f);
	assert_true(f->confidence < 90);
	assert_evidence(f, "from the arguments of nt!KeBugCheckEx");
	assert_evidence(f, "Arg2 0x2: IRQL 2 (DISPATCH_LEVEL)");
	assert_evidence(f, "Arg3 0x0: read");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_text(a, x86);
	f = test_detect(a, "irql-violation");
	assert_non_null(f);
	assert_evidence(f, "bugcheck 0xD1");
	assert_evidence(f, "Arg2 0x2: IRQL 2");
	analysis_destroy(&a);

	/* kv with frame numbers ("kn"): the arguments follow the ":". */
	a = analysis_new();
	test_set_text(a, kn);
	f = test_detect(a, "irql-violation");
	assert_non_null(f);
	assert_evidence(f, "Arg1 0x10: memory address referenced");
	assert_evidence(f, "Arg3 0x1: write");
	analysis_destroy(&a);
}

static void test_irql__negatives(void **state)
{
	static const char no_args[] =
		"00 fffff802`d2afe568 fffff802`d103db86 nt!KeBugCheckEx\n"
		"01 fffff802`d2afe570 fffff802`d0fc652d "
		"nt!KiFatalExceptionHandler+0x22\n";
	static const char not_a_code[] =
		"ffffd505`7e830838 fffff800`903d5669 : 00000000`00012345 "
		"00000000`00000047 00000000`00000002 00000000`00000000 : "
		"nt!KeBugCheckEx\n";
	static const char stack_a[] =
		"ffffd505`7e830838 fffff800`903d5669 : 00000000`0000000a "
		"00000000`00000047 00000000`00000002 00000000`00000000 : "
		"nt!KeBugCheckEx\n";
	struct analysis *a;

	(void)state;
	/* Watchdogs and page faults at IRQL 2 are other problems. */
	assert_false(fires_on_bugcheck("irql-violation", 0x133, 1, 0x1e00));
	assert_false(fires_on_bugcheck("irql-violation", 0x20, 0, 0xffff));
	a = analysis_new();
	test_set_bugcheck(a, 0x50, 0xffffffffffffffe8, 0, 0xfffff802c8497c2f, 0);
	assert_int_equal(model_add_field(a, "CURRENT_IRQL", "2"), DF_OK);
	assert_null(test_detect(a, "irql-violation"));
	analysis_destroy(&a);
	/* A stack without arguments, or with a code that is none. */
	a = analysis_new();
	test_set_text(a, no_args);
	assert_null(test_detect(a, "irql-violation"));
	analysis_destroy(&a);
	a = analysis_new();
	test_set_text(a, not_a_code);
	assert_null(test_detect(a, "irql-violation"));
	analysis_destroy(&a);
	/* The reader's bugcheck wins over the stack's arguments. */
	a = analysis_new();
	test_set_bugcheck(a, 0x50, 0x47, 0, 0, 0);
	test_set_text(a, stack_a);
	assert_null(test_detect(a, "irql-violation"));
	analysis_destroy(&a);
}

/* ---- unhandled-kernel-exception ----------------------------------------- */

static void test_uke__exception_named(void **state)
{
	struct analysis *a = analysis_new();
	struct module *m = model_add_module(a);
	const struct finding *f;

	(void)state;
	assert_non_null(m);
	m->filename = "mydrv.sys";
	m->base = 0xfffff80766240000;
	m->size = 0x20000;
	m->end = m->base + m->size - 1;
	test_set_bugcheck(a, 0x1000007E, 0xffffffffc0000005, 0xfffff8076624f3d4,
		     0xffffa1088a4aebf8, 0xffffa1088a4ae410);
	f = test_detect(a, "unhandled-kernel-exception");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "bugcheck 0x1000007E "
			   "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M");
	assert_evidence(f, "exception 0xC0000005 EXCEPTION_ACCESS_VIOLATION "
			   "was not handled");
	assert_evidence(f, "in mydrv.sys");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_bugcheck(a, 0x1E, 0xffffffffc0000096, 0xfffff80373680000, 0, 0);
	f = test_detect(a, "unhandled-kernel-exception");
	assert_non_null(f);
	assert_evidence(f, "EXCEPTION_PRIV_INSTRUCTION");
	analysis_destroy(&a);
}

/* A code Breakpad does not name: the debugger's NTSTATUS text. */
static void test_uke__ntstatus_text(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0x3B, 0xc0000420, 0xfffff80537ded11e,
		     0xffff9386ce746c30, 0);
	assert_int_equal(model_add_field(a, "ERROR_CODE",
					 "(NTSTATUS) 0xc0000420 - An "
					 "assertion failure has occurred."),
			 DF_OK);
	f = test_detect(a, "unhandled-kernel-exception");
	assert_non_null(f);
	assert_evidence(f, "exception 0xC0000420 was not handled: (NTSTATUS) "
			   "0xc0000420 - An assertion failure");
	analysis_destroy(&a);

	assert_true(fires_on_bugcheck("unhandled-kernel-exception", 0x8E,
				      0xc0000005, 0x8cd9a76c));
	assert_true(fires_on_bugcheck("unhandled-kernel-exception",
				      0x1000008E, 0xc0000005, 0x8cd9a76c));
}

static void test_uke__last_chance_handler_frames(void **state)
{
	static const char *const fatal[] = {
		"nt!KeBugCheckEx", "nt!KiFatalExceptionHandler+0x22",
		"nt!RtlpExecuteHandlerForException+0xd",
		"nt!RtlDispatchException+0x429", "vmci+0x6159",
	};
	static const char *const handled[] = {
		"nt!KiFatalExceptionHandler+0x22",
		"nt!RtlpExecuteHandlerForException+0xd",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_thread(a, 1, fatal, ARRAY_SIZE(fatal), TRUST_PREWALKED);
	f = test_detect(a, "unhandled-kernel-exception");
	assert_non_null(f);
	assert_evidence(f, "nt!KiFatalExceptionHandler");
	analysis_destroy(&a);

	/* Without nt!KeBugCheckEx on the same stack it proves nothing. */
	a = analysis_new();
	test_add_thread(a, 1, handled, ARRAY_SIZE(handled), TRUST_PREWALKED);
	assert_null(test_detect(a, "unhandled-kernel-exception"));
	analysis_destroy(&a);
}

static void test_uke__negatives(void **state)
{
	struct analysis *a;

	(void)state;
	assert_false(fires_on_bugcheck("unhandled-kernel-exception", 0x50,
				       0, 0));
	assert_false(fires_on_bugcheck("unhandled-kernel-exception", 0xD1,
				       0x20, 2));
	assert_false(fires_on_bugcheck("unhandled-kernel-exception", 0x7F,
				       8, 0));
	/* A user-mode access violation is no kernel matter. */
	a = analysis_new();
	set_crash(a, 0xC0000005);
	assert_null(test_detect(a, "unhandled-kernel-exception"));
	analysis_destroy(&a);
}

/* ---- stack-overflow ------------------------------------------------------ */

static void test_stack__user_mode(void **state)
{
	struct analysis *a = analysis_new();
	const char *specs[24];
	const struct finding *f;

	(void)state;
	specs[0] = "crashme+0xa637";
	for (size_t i = 1; i < ARRAY_SIZE(specs); i++)
		specs[i] = "crashme+0xa6a6";
	test_add_thread(a, 0x1670, specs, ARRAY_SIZE(specs), TRUST_PREWALKED);
	a->system.os = "Windows NT";
	set_crash(a, 0xC00000FD);
	a->crash.crashing_thread = 0;
	f = test_detect(a, "stack-overflow");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "exception 0xC00000FD EXCEPTION_STACK_OVERFLOW");
	assert_evidence(f, "crashme+0xa6a6 appears 23 times");
	analysis_destroy(&a);
}

static void test_stack__kernel_double_fault(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0x1000007F, 8, 0xffff8180e4c8de50,
		     0xfffffe0c4ff40fd0, 0xfffff8016160b390);
	f = test_detect(a, "stack-overflow");
	assert_non_null(f);
	assert_true(f->confidence < 90); /* hardware can double-fault too */
	assert_evidence(f, "UNEXPECTED_KERNEL_MODE_TRAP_M");
	assert_evidence(f, "Arg1 0x8: trap 0x8: double fault");
	analysis_destroy(&a);

	assert_true(fires_on_bugcheck("stack-overflow", 0x7F, 8, 0));
	assert_true(fires_on_bugcheck("stack-overflow", 0x2B, 0, 0));
}

static void test_stack__debugger_text(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_text(a, "(1a2c.1f34): Stack overflow - code c00000fd (first "
		    "chance)\n"
		    "First chance exceptions are reported before any "
		    "exception handling.\n");
	f = test_detect(a, "stack-overflow");
	assert_non_null(f);
	assert_evidence(f, "(1a2c.1f34): Stack overflow - code c00000fd");
	analysis_destroy(&a);

	a = analysis_new();
	assert_int_equal(model_add_field(a, "FAILURE_BUCKET_ID",
					 "STACK_OVERFLOW_c00000fd_app.exe!"
					 "recurse"),
			 DF_OK);
	assert_non_null(test_detect(a, "stack-overflow"));
	analysis_destroy(&a);
}

static void test_stack__negatives(void **state)
{
	struct analysis *a;
	const char *specs[20];

	(void)state;
	/* Other traps; the 0x7F help text speaks of double faults. */
	assert_false(fires_on_bugcheck("stack-overflow", 0x7F, 0, 0));
	assert_false(fires_on_bugcheck("stack-overflow", 0x7F, 0xD, 0));
	a = analysis_new();
	test_set_bugcheck(a, 0x1000007F, 0, 0, 0, 0);
	test_set_text(a, "UNEXPECTED_KERNEL_MODE_TRAP_M (1000007f)\n"
		    "is always instant death (double fault).  The first "
		    "number in the\n"
		    "BugCheck params is the number of the trap (8 = double "
		    "fault, etc)\n");
	assert_null(test_detect(a, "stack-overflow"));
	analysis_destroy(&a);
	/* Recursion alone is not an overflow. */
	a = analysis_new();
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
		specs[i] = "app+0x1010";
	test_add_thread(a, 1, specs, ARRAY_SIZE(specs), TRUST_PREWALKED);
	set_crash(a, 0xC0000005);
	a->crash.crashing_thread = 0;
	assert_null(test_detect(a, "stack-overflow"));
	analysis_destroy(&a);
	/* A Linux dump's code is a signal number, never a Windows code. */
	a = analysis_new();
	a->system.os = "Linux";
	set_crash(a, 0xC00000FD);
	assert_null(test_detect(a, "stack-overflow"));
	analysis_destroy(&a);
}

/* ---- through the log reader: the seed and composed logs ------------------ */

/* Seed: "Bug Check Frequencies" (excerpt): a list, not a crash. */
static const char seed_frequencies[] =
	"Bug Check Frequencies\n"
	"\n"
	"March 12th, 2008\n"
	"\n"
	"259 bugchecks are documented in WinDbg help. I did Google search "
	"for every one and here is their search results distribution graph "
	"cut off for data with less than 10 matches:\n"
	"\n"
	"BugCheck 1000008E: KERNEL_MODE_EXCEPTION_NOT_HANDLED_M\n"
	"\n"
	"3440\n"
	"\n"
	"BugCheck A: IRQL_NOT_LESS_OR_EQUAL\n"
	"\n"
	"2890\n"
	"\n"
	"BugCheck 9C: MACHINE_CHECK_EXCEPTION\n"
	"\n"
	"1150\n"
	"\n"
	"BugCheck 1000007F: UNEXPECTED_KERNEL_MODE_TRAP_M\n"
	"\n"
	"1070\n"
	"\n"
	"BugCheck C4: DRIVER_VERIFIER_DETECTED_VIOLATION\n"
	"\n"
	"360\n"
	"\n"
	"BugCheck E2: MANUALLY_INITIATED_CRASH\n"
	"\n"
	"98\n";

/* Seed: "Crash Dump Analysis Patterns (Part 2b)" (excerpt). */
static const char seed_pool[] =
	"BAD_POOL_HEADER (19)\n"
	"The pool is already corrupt at the time of the current request.\n"
	"This may or may not be due to the caller.\n"
	"The internal pool links must be walked to figure out a possible "
	"cause of\n"
	"the problem, and then special pool applied to the suspect tags or "
	"the driver\n"
	"verifier to a suspect driver.\n"
	"Arguments:\n"
	"Arg1: 00000020, a pool block header size is corrupt.\n"
	"Arg2: a34583b8, The pool entry we were looking for within the "
	"page.\n"
	"Arg3: a34584f0, The next pool entry.\n"
	"Arg4: 0a270001, (reserved)\n"
	"\n"
	"CURRENT_IRQL:  2\n"
	"\n"
	"STACK_TEXT: \n"
	"b80a60cc 808927bb nt!KeBugCheckEx+0x1b\n"
	"b80a6134 80892b6f nt!ExFreePoolWithTag+0x477\n"
	"b80a6144 b9591400 nt!ExFreePool+0xf\n"
	"b80a615c b957b954 driver+0x38400\n"
	"\n"
	"MODULE_NAME: driver\n"
	"\n"
	"IMAGE_NAME:  driver.sys\n";

/* Seed: "Crash Dump Analysis Patterns (Part 51)" (excerpt). */
static const char seed_message_box[] =
	"ChildEBP RetAddr \n"
	"a0c97cc8 804e1bd2 nt!KiSwapContext+0x2f\n"
	"a0c97cd4 804e1c1e nt!KiSwapThread+0x8a\n"
	"a0c97cfc bf802f70 nt!KeWaitForSingleObject+0x1c2\n"
	"a0c97d38 bf803776 win32k!xxxSleepThread+0x192\n"
	"0013f6c8 7e43a284 USER32!SoftModalMessageBox+0x938\n"
	"0013f818 7e4661d3 USER32!MessageBoxWorker+0x2ba\n"
	"0013f8e0 088098a9 USER32!MessageBoxA+0x45\n";

/* Composed in the layout of !analyze -v (values made up). */
#define BANNER                                                                 \
	"*******************************************************************" \
	"************\n"                                                       \
	"*                        Bugcheck Analysis                          " \
	"          *\n"                                                         \
	"*******************************************************************" \
	"************\n"                                                       \
	"\n"

static const char composed_d1[] =
	BANNER
	"DRIVER_IRQL_NOT_LESS_OR_EQUAL (d1)\n"
	"An attempt was made to access a pageable (or completely invalid) "
	"address at an\n"
	"interrupt request level (IRQL) that is too high.  This is usually\n"
	"caused by drivers using improper addresses.\n"
	"Arguments:\n"
	"Arg1: ffffa00012340010, memory referenced\n"
	"Arg2: 0000000000000002, IRQL\n"
	"Arg3: 0000000000000000, value 0 = read operation, 1 = write "
	"operation\n"
	"Arg4: fffff80011112222, address which referenced memory\n";

static const char composed_e2[] =
	BANNER
	"MANUALLY_INITIATED_CRASH (e2)\n"
	"The user manually initiated this crash dump.\n"
	"Arguments:\n"
	"Arg1: 0000000000000000\n"
	"Arg2: 0000000000000000\n"
	"Arg3: 0000000000000000\n"
	"Arg4: 0000000000000000\n"
	"\n"
	"STACK_TEXT:\n"
	"fffff801`11112222 fffff801`33334444 : 00000000`000000e2 "
	"00000000`00000000 00000000`00000000 00000000`00000000 : "
	"nt!KeBugCheckEx\n"
	"fffff801`11112230 fffff801`33335555 : ffff8000`00001000 "
	"00000000`00000001 00000000`00000000 00000000`00000000 : "
	"kbdhid!KbdHidProcessCrashDump+0x1f4\n";

static const char composed_124[] =
	BANNER
	"WHEA_UNCORRECTABLE_ERROR (124)\n"
	"A fatal hardware error has occurred. Parameter 1 identifies the "
	"type of error\n"
	"source that reported the error. Parameter 2 holds the address of "
	"the\n"
	"WHEA_ERROR_RECORD structure that describes the error condition.\n"
	"Arguments:\n"
	"Arg1: 0000000000000000, Machine Check Exception\n"
	"Arg2: ffffe00011112228, Address of the WHEA_ERROR_RECORD "
	"structure.\n"
	"Arg3: 00000000be000000, High order 32-bits of the MCi_STATUS "
	"value.\n"
	"Arg4: 0000000000800400, Low order 32-bits of the MCi_STATUS "
	"value.\n";

static const char composed_c4[] =
	BANNER
	"DRIVER_VERIFIER_DETECTED_VIOLATION (c4)\n"
	"A device driver attempting to corrupt the system has been caught.  "
	"This is\n"
	"because the driver was specified in the registry as being suspect "
	"(by the\n"
	"administrator) and the kernel has enabled substantial checking of "
	"this driver.\n"
	"Arguments:\n"
	"Arg1: 0000000000000062, A driver has forgotten to free its pool "
	"allocations prior to unloading.\n"
	"Arg2: ffffa00011110000, name of the driver having the issue.\n"
	"Arg3: ffffa00022220000, verifier internal structure with driver "
	"information.\n"
	"Arg4: 0000000000000002, total # of (paged+nonpaged) allocations "
	"that weren't freed.\n";

static const char composed_1e[] =
	BANNER
	"KMODE_EXCEPTION_NOT_HANDLED (1e)\n"
	"This is a very common bugcheck.  Usually the exception address "
	"pinpoints\n"
	"the driver/function that caused the problem.\n"
	"Arguments:\n"
	"Arg1: ffffffffc000001d, The exception code that was not handled\n"
	"Arg2: fffff80011110000, The address that the exception occurred at\n"
	"Arg3: ffffb00011112222, Parameter 0 of the exception\n"
	"Arg4: ffffb00011113333, Parameter 1 of the exception\n";

static const char composed_so[] =
	"0:000> g\n"
	"(1a2c.1f34): Stack overflow - code c00000fd (first chance)\n"
	"First chance exceptions are reported before any exception "
	"handling.\n"
	"app!recurse+0x12:\n";

/* Which of my_ids each example must show (in my_ids order). */
static const struct {
	const char *name;
	const char *text;
	bool want[6];
} examples[] = {
	{ "seed: bug check frequencies", seed_frequencies, { 0 } },
	{ "seed part 2b: pool", seed_pool, { 0 } },
	{ "seed part 51: message box", seed_message_box, { 0 } },
	{ "composed: 0xD1", composed_d1, { 0, 0, 0, 1, 0, 0 } },
	{ "composed: 0xE2 keyboard", composed_e2, { 0, 1, 0, 0, 0, 0 } },
	{ "composed: 0x124", composed_124, { 1, 0, 0, 0, 0, 0 } },
	{ "composed: 0xC4", composed_c4, { 0, 0, 1, 0, 0, 0 } },
	{ "composed: 0x1E", composed_1e, { 0, 0, 0, 0, 1, 0 } },
	{ "composed: stack overflow", composed_so, { 0, 0, 0, 0, 0, 1 } },
};

static void test_bcdet__table_through_the_reader(void **state)
{
	static const char *const abbrev[] = { "hw", "manual", "verifier",
					      "irql", "kexc", "stack" };
	unsigned bad = 0;

	(void)state;
	printf("  %-28s", "example");
	for (size_t k = 0; k < ARRAY_SIZE(abbrev); k++)
		printf(" %-8s", abbrev[k]);
	printf("\n");
	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		struct analysis *a = test_analyze(examples[i].text);

		printf("  %-28s", examples[i].name);
		for (size_t k = 0; k < ARRAY_SIZE(my_ids); k++) {
			bool got = test_found(a, my_ids[k]) != NULL;

			printf(" %-8s", got == examples[i].want[k]
						? (got ? "found" : "-")
						: (got ? "FOUND!" : "MISSED!"));
			bad += got != examples[i].want[k];
		}
		printf("\n");
		analysis_destroy(&a);
	}
	if (bad != 0)
		fail_msg("%u cells of the table are wrong", bad);
}

/* The evidence the reader's model gives, for two of the composed logs. */
static void test_bcdet__composed_evidence(void **state)
{
	struct analysis *a;
	const struct finding *f;

	(void)state;
	a = test_analyze(composed_e2);
	f = test_found(a, "manual-crash");
	assert_non_null(f);
	assert_evidence(f, "MANUALLY_INITIATED_CRASH");
	assert_evidence(f, "The user manually initiated this crash dump.");
	analysis_destroy(&a);

	a = test_analyze(composed_1e);
	f = test_found(a, "unhandled-kernel-exception");
	assert_non_null(f);
	assert_evidence(f, "EXCEPTION_ILLEGAL_INSTRUCTION");
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bcdet__registry_and_empty_model),
		cmocka_unit_test(test_hw__whea),
		cmocka_unit_test(test_hw__other_codes),
		cmocka_unit_test(test_hw__clock_watchdog_less_sure),
		cmocka_unit_test(test_hw__frames_and_errrec),
		cmocka_unit_test(test_hw__negatives),
		cmocka_unit_test(test_manual__codes),
		cmocka_unit_test(test_manual__keyboard_frames),
		cmocka_unit_test(test_manual__notmyfault),
		cmocka_unit_test(test_manual__negatives),
		cmocka_unit_test(test_verifier__c4),
		cmocka_unit_test(test_verifier__other_codes),
		cmocka_unit_test(test_verifier__frames_and_fields),
		cmocka_unit_test(test_verifier__negatives),
		cmocka_unit_test(test_irql__d1_and_a),
		cmocka_unit_test(test_irql__other_codes),
		cmocka_unit_test(test_irql__code_from_stack_arguments),
		cmocka_unit_test(test_irql__negatives),
		cmocka_unit_test(test_uke__exception_named),
		cmocka_unit_test(test_uke__ntstatus_text),
		cmocka_unit_test(test_uke__last_chance_handler_frames),
		cmocka_unit_test(test_uke__negatives),
		cmocka_unit_test(test_stack__user_mode),
		cmocka_unit_test(test_stack__kernel_double_fault),
		cmocka_unit_test(test_stack__debugger_text),
		cmocka_unit_test(test_stack__negatives),
		cmocka_unit_test(test_bcdet__table_through_the_reader),
		cmocka_unit_test(test_bcdet__composed_evidence),
	};
	return cmocka_run_group_tests_name("detectors_bugcheck", tests, NULL,
					   NULL);
}
