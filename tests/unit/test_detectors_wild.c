/*
 * detectors: wild-pointer, wild-code, incorrect-stack-trace and
 * truncated-dump on hand-built models (positive and negative cases), the
 * registry's lowering of confidence on doubtful dumps, and the seed's own
 * WinDbg output run through the whole pipeline (analysis_run and the
 * debugger-log reader) as a table of example x pattern.
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
#include "dmatch.h"
#include "model.h"
#include "registry.h"
#include "testdetect.h"

/* ---- helpers ------------------------------------------------------------ */

static struct thread *add_thread(struct analysis *a, uint64_t id,
				 const char *const *specs, size_t n)
{
	struct thread *t = test_add_thread(a, id, specs, n, TRUST_PREWALKED);

	/* Named frames sit at some address, as a debugger lists them. */
	for (size_t i = 0; i < t->frames.n; i++)
		if (!t->frames.v[i].has_address) {
			t->frames.v[i].address = 0x10001000;
			t->frames.v[i].has_address = true;
		}
	return t;
}

static void set_crash(struct analysis *a, const char *type, uint64_t ip,
		      uint64_t address)
{
	a->crash.present = true;
	a->crash.type = type;
	a->crash.code = 0xC0000005;
	a->crash.has_code = true;
	a->crash.ip = ip;
	a->crash.has_ip = true;
	a->crash.address = address;
	a->crash.has_address = true;
}

#define assert_not_found(a, id)                                \
	do {                                                   \
		const struct finding *nf_ = test_detect((a), (id)); \
		if (nf_ != NULL) {                             \
			test_print_finding(nf_);                    \
			fail_msg("%s found", (id));            \
		}                                              \
	} while (0)

static const char *const my_ids[] = {
	"wild-pointer",
	"wild-code",
	"incorrect-stack-trace",
	"truncated-dump",
};

static void test_wild__registry_has_mine(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(my_ids); i++) {
		const struct detector *d = detect_find(my_ids[i]);
		struct analysis *a = analysis_new();

		assert_non_null(d);
		assert_string_equal(d->id, my_ids[i]);
		assert_non_null(d->title);
		assert_int_equal(d->run(a), DF_OK);
		assert_int_equal(a->findings.n, 0);
		assert_false(a->signature_low_trust);
		analysis_destroy(&a);
	}
}

/* ---- values that read as text (dmatch.h) --------------------------------- */

static void test_wild__value_text(void **state)
{
	static const struct {
		uint64_t v;
		enum dmatch_text_kind kind;
		const char *text, *chars;
	} cases[] = {
		/* the seed's two */
		{ 0x65747379735c5357, DMATCH_ASCII, "WS\\syste", "etsys\\SW" },
		{ 0x0045004c00490046, DMATCH_UTF16, "FILE", ".E.L.I.F" },
		{ 0x41414141, DMATCH_ASCII, "AAAA", "AAAA" },
		{ 0x4141414141414139, DMATCH_ASCII, "9AAAAAAA", "AAAAAAA9" },
		{ 0x00410041, DMATCH_UTF16, "AA", ".A.A" },
		{ 0x575c3a43, DMATCH_ASCII, "C:\\W", "W\\:C" },
		{ 0x0000004c00490046, DMATCH_UTF16, "FIL", ".L.I.F" },
		/* not text */
		{ 0, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x45, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x4141, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x414141, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0xfffff80312345678, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0xffffffffffffffff, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x00007ff8329aa826, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x00005db157c7b535, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x7c82728b, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x2b6d3a7c, DMATCH_NOT_TEXT, NULL, NULL }, /* "|:m+" */
		{ 0x20202020, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x00420041, DMATCH_NOT_TEXT, NULL,
		  NULL }, /* 2 units, unequal */
		{ 0x41414100, DMATCH_NOT_TEXT, NULL, NULL },
		{ 0x0100000000100000, DMATCH_NOT_TEXT, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct dmatch_text t;
		bool is = dmatch_value_text(cases[i].v, &t);

		if (is != (cases[i].kind != DMATCH_NOT_TEXT) ||
		    t.kind != cases[i].kind)
			fail_msg("0x%" PRIx64 ": kind %d, want %d", cases[i].v,
				 (int)t.kind, (int)cases[i].kind);
		if (!is)
			continue;
		assert_string_equal(t.text, cases[i].text);
		assert_string_equal(t.chars, cases[i].chars);
	}
}

/* ---- wild-pointer -------------------------------------------------------- */

static void test_wildptr__crash_address_ascii(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	test_add_module(a, "crashme.exe", 0xd60000, 0x20000);
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_READ", 0xd6a6cd, 0x41414141);
	const struct finding *f = test_detect(a, "wild-pointer");

	assert_non_null(f);
	assert_int_equal(f->confidence, 90);
	assert_evidence(f, "data address 0x41414141 "
			   "(EXCEPTION_ACCESS_VIOLATION_READ) is ASCII text: "
			   "\"AAAA\"");
	analysis_destroy(&a);
}

static void test_wildptr__instruction_pointer_text(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x65747379735c5357,
		  0x65747379735c5357);
	f = test_detect(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "instruction pointer 0x65747379735c5357 (exception) "
			   "is ASCII text: \"WS\\syste\" in memory order "
			   "(.formats Chars: etsys\\SW)");
	assert_int_equal(f->evidence.n, 1); /* the same value once */
	analysis_destroy(&a);

	a = analysis_new();
	model_add_field(a, "FAILED_INSTRUCTION_ADDRESS",
			"0045004c`00490046 ??              ???");
	f = test_detect(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "(FAILED_INSTRUCTION_ADDRESS) is UTF-16 text: "
			   "\"FILE\" in memory order (.formats Chars: "
			   ".E.L.I.F)");
	analysis_destroy(&a);
}

static void test_wildptr__bugcheck_arguments(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_bugcheck(a, 0xD1, 0x6c6c642e6e69616d, 2, 0, 0xfffff8061a3b14f2);
	f = test_detect(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "data address 0x6c6c642e6e69616d (bugcheck 0xD1 "
			   "Arg1, memory referenced) is ASCII text: "
			   "\"main.dll\"");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_bugcheck(a, 0x1000008E, 0xC0000005, 0x41424344, 0xb1e4f9a8, 0);
	f = test_detect(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "instruction pointer 0x41424344 (bugcheck "
			   "0x1000008E Arg2, address of the exception)");
	analysis_destroy(&a);

	/* Arguments that are not addresses are not read as text. */
	a = analysis_new();
	test_set_bugcheck(a, 0x19, 0x41414141, 0x41414141, 0, 0);
	assert_not_found(a, "wild-pointer");
	analysis_destroy(&a);
}

/* A log: the memory operand of the faulting instruction, the record. */
static void test_wildptr__log_text(void **state)
{
	static const char operand[] =
		"rax=4141414141414139 rbx=0000000000006000\n"
		"nt!RtlpHpVsFreeChunkInsert+0x1b4:\n"
		"fffff807`6624f3d4 3300            xor     eax,dword ptr [rax] "
		"ds:002b:41414141`41414139=????????\n";
	static const char record[] =
		"ExceptionAddress: 00401000 (app+0x1000)\n"
		"   ExceptionCode: c0000005 (Access violation)\n"
		"Attempt to write to address 00490046\r\n"
		"Attempt to read from address 5a5a5a5a\n";
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_text(a, operand);
	f = test_detect(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "data address 0x4141414141414139 (memory operand "
			   "of the faulting instruction) is ASCII text: "
			   "\"9AAAAAAA\"");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_text(a, record);
	f = test_detect(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "0x5a5a5a5a (exception record) is ASCII text: "
			   "\"ZZZZ\"");
	assert_int_equal(f->evidence.n, 1); /* 0x00490046 is "FI": too short */
	analysis_destroy(&a);
}

static void test_wildptr__ip_on_heap(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	model_add_field(a, "IP_ON_HEAP", "000001f3ef330000");
	const struct finding *f = test_detect(a, "wild-pointer");

	assert_non_null(f);
	assert_int_equal(f->confidence, 70);
	assert_evidence(f, "IP_ON_HEAP: 000001f3ef330000");
	analysis_destroy(&a);
}

static void test_wildptr__negatives(void **state)
{
	static const char readable[] =
		"00007ff6`6d771101 c7032a000000    mov     dword ptr [rbx],2Ah "
		"ds:00000000`00000000=????????\n"
		"8b4608 mov eax,dword ptr [esi+8] ds:0023:41414141=00000000\n"
		"dd 41414141 = ??\n"
		"Attempt to read from address ffffffffffffffff\n";
	struct analysis *a = analysis_new();

	(void)state;
	/* Small, kernel and ordinary user addresses. */
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_WRITE", 0x7ff7215f8da4, 0x45);
	model_add_field(a, "READ_ADDRESS", "fffff803712e5000 Paged pool");
	model_add_field(a, "WRITE_ADDRESS", "ffff80091002ac08");
	model_add_field(a, "FAULTING_IP", "nt!ObQueryNameStringMode+5f");
	model_add_field(a, "FAILED_INSTRUCTION_ADDRESS", "+0");
	test_set_bugcheck(a, 0x50, 0xffffffffffffffe8, 0, 0xfffff802c8497c2f, 2);
	test_set_text(a, readable);
	assert_not_found(a, "wild-pointer");
	analysis_destroy(&a);

	/* Text-like values inside a loaded module are pointers. */
	a = analysis_new();
	test_add_module(a, "legacy.dll", 0x41410000, 0x10000);
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_READ", 0x41414141, 0x41414242);
	assert_not_found(a, "wild-pointer");
	analysis_destroy(&a);
}

/* ---- wild-code ----------------------------------------------------------- */

static void test_wildcode__ip_on_stack_and_fc(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	model_add_field(a, "IP_ON_STACK", "+e11ffa8");
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_int_equal(f->confidence, 90);
	assert_evidence(f, "IP_ON_STACK: +e11ffa8");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_bugcheck(a, 0xFC, 0xfffff88002fd4000, 0x8000000062b0e863, 0, 0);
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_evidence(f,
			"ATTEMPTED_EXECUTE_OF_NOEXECUTE_MEMORY: execution at "
			"0xfffff88002fd4000");
	analysis_destroy(&a);
}

/* A minidump: the crash IP inside a thread's stack, outside modules. */
static void test_wildcode__minidump_ip(void **state)
{
	static const char *const stack[] = { "ctx:0x3df944",
					     "kernel32.dll+0x13676" };
	struct analysis *a = analysis_new();
	const struct finding *f;
	struct thread *t;

	(void)state;
	a->format = FORMAT_MINIDUMP;
	test_add_module(a, "crashme1.exe", 0x400000, 0x20000);
	test_add_module(a, "kernel32.dll", 0x75ef0000, 0xd0000);
	t = add_thread(a, 0x1b08, stack, ARRAY_SIZE(stack));
	t->stack_start = 0x3df288;
	t->stack_size = 0xd78;
	a->crash.crashing_thread = 0;
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x3df944, 0x3df944);
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_int_equal(f->confidence, 90);
	assert_evidence(f, "instruction pointer 0x3df944 lies in the stack of "
			   "thread 0 (id 0x1b08), the crashing thread "
			   "(0x3df288-0x3e0000)");
	assert_evidence(f, "outside every loaded module (2 listed)");
	analysis_destroy(&a);

	/* A module that was unloaded. */
	a = analysis_new();
	a->format = FORMAT_MINIDUMP;
	test_add_module(a, "app.exe", 0x400000, 0x20000);
	test_add_module(a, "plugin.dll", 0x10000000, 0x10000)->unloaded = true;
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x10001234, 0x10001234);
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_evidence(f, "lies in plugin.dll, a module that was unloaded");
	analysis_destroy(&a);
}

static void test_wildcode__execute_fault_and_text(void **state)
{
	static const char listing[] =
		"0:012> kL\n"
		"ChildEBP RetAddr  \n"
		"\n"
		"WARNING: Frame IP not in any known module. Following frames "
		"may be wrong.\n"
		"0e11ff7c 098eeef2 0xe11ffa8\n"
		"0e11ff84 77b6b530 dll!StartWorking+0xcab\n";
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	model_add_field(a, "EXECUTE_ADDRESS", "1f3ef330000");
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_evidence(f, "execute access violation at 0x1f3ef330000 "
			   "(EXECUTE_ADDRESS)");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_text(a, "Attempt to execute non-executable address "
		    "000001f3ef330000\n");
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_evidence(f, "exception record: \"Attempt to execute "
			   "non-executable address 1f3ef330000\"");
	analysis_destroy(&a);

	a = analysis_new();
	test_set_text(a, listing);
	f = test_detect(a, "wild-code");
	assert_non_null(f);
	assert_evidence(f, "frame 0 of a stack listing: \"WARNING: Frame IP "
			   "not in any known module.");
	analysis_destroy(&a);
}

static void test_wildcode__negatives(void **state)
{
	/* The warning lower in the stack: the walk, not the IP (seed 52). */
	static const char lower[] =
		"0:012> kL\n"
		"ChildEBP RetAddr \n"
		"0151f0c4 77e61f0c ntdll!KiFastSystemCallRet\n"
		"0151f0d4 08000000 kernel32!CreateFileMappingW+0xc8\n"
		"WARNING: Frame IP not in any known module. Following frames may "
		"be wrong.\n"
		"0151f0f0 7c82728b 0x8000000\n";
	static const char *const symbolic[] = { "nt!RtlpHpVsFreeChunkInsert",
						"nt!RtlpHpFreeHeap" };
	struct analysis *a = analysis_new();

	(void)state;
	test_set_text(a, lower);
	assert_not_found(a, "wild-code");
	analysis_destroy(&a);

	/* A log's partial module list: frame 0 is symbolic, IP in nt. */
	a = analysis_new();
	a->format = FORMAT_DEBUGGER_LOG;
	test_add_module(a, "EvilDriver.sys", 0xfffff80784da0000, 0x8000);
	add_thread(a, 0, symbolic, ARRAY_SIZE(symbolic));
	a->crash.crashing_thread = 0;
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION", 0xfffff8076624f3d4,
		  0xffffffffffffffff);
	assert_not_found(a, "wild-code");
	analysis_destroy(&a);

	/* IP in a module; no module list at all; a NULL call; text IP. */
	a = analysis_new();
	a->format = FORMAT_MINIDUMP;
	test_add_module(a, "crashme.exe", 0xd60000, 0x20000);
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_READ", 0xd6a6cd, 0x41414141);
	assert_not_found(a, "wild-code");
	analysis_destroy(&a);

	a = analysis_new();
	a->format = FORMAT_MINIDUMP;
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_READ", 0x253400000019, 0);
	assert_not_found(a, "wild-code");
	analysis_destroy(&a);

	a = analysis_new();
	a->format = FORMAT_MINIDUMP;
	test_add_module(a, "app.exe", 0x400000, 0x20000);
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0, 0);
	model_add_field(a, "EXECUTE_ADDRESS", "0");
	test_set_text(a, "Attempt to execute non-executable address "
		    "0000000000000000\n");
	assert_not_found(a, "wild-code");
	analysis_destroy(&a);

	a = analysis_new();
	a->format = FORMAT_MINIDUMP;
	test_add_module(a, "app.exe", 0x400000, 0x20000);
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x41414141, 0x41414141);
	assert_not_found(a, "wild-code"); /* wild-pointer's */
	analysis_destroy(&a);
}

/* ---- incorrect-stack-trace ----------------------------------------------- */

static void test_incorrect__debugger_warnings(void **state)
{
	static const char log[] =
		"b80a6144 b9591400 nt!ExFreePool+0xf\n"
		"WARNING: Stack unwind information not available. Following "
		"frames may be wrong.\n"
		"b80a615c b957b954 driver+0x38400\n"
		"WARNING: Frame IP not in any known module. Following frames may "
		"be wrong.\n";
	struct analysis *a = analysis_new();

	(void)state;
	test_set_text(a, log);
	const struct finding *f = test_detect(a, "incorrect-stack-trace");

	assert_non_null(f);
	assert_int_equal(f->confidence, 80);
	assert_int_equal(f->evidence.n, 2); /* two lines, each quoted once */
	assert_evidence(f, "debugger warning: \"WARNING: Stack unwind "
			   "information not available.");
	assert_evidence(f, "\"WARNING: Frame IP not in any known module.");
	assert_true(a->signature_low_trust);
	analysis_destroy(&a);
}

static void test_incorrect__frames_outside_modules(void **state)
{
	static const char *const crashing[] = {
		"nt!KiDispatchInterruptContinue+0x1b", "0x0100000000100000",
		"0x103"
	};
	static const char *const other[] = { "ntdll!NtWaitForSingleObject+0x14",
					     "wininet!HttpSendRequestA+0x58",
					     "0x24fa0d01271", "0x24fa0a4d7d0" };
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	add_thread(a, 0, crashing, ARRAY_SIZE(crashing));
	a->crash.crashing_thread = 0;
	f = test_detect(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_int_equal(f->confidence, 85);
	assert_evidence(f, "thread 0, the crashing thread: 2 frames outside "
			   "every module from frame 1 (0x100000000100000, "
			   "0x103)");
	assert_true(a->signature_low_trust);
	analysis_destroy(&a);

	/* Another thread: less confidence. */
	a = analysis_new();
	add_thread(a, 0x1afc, other, ARRAY_SIZE(other));
	f = test_detect(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_int_equal(f->confidence, 65);
	assert_evidence(f, "thread 0 (id 0x1afc): 2 frames outside every "
			   "module from frame 2");
	analysis_destroy(&a);
}

static void test_incorrect__scanned_and_empty(void **state)
{
	static const char *const scanned[] = { "ctx:app.exe+0x1000",
					       "scan:ntdll.dll+0x9d084",
					       "scan:app.exe+0x1ca0",
					       "scan:kernel32.dll+0x17034" };
	static const char *const walked[] = { "ctx:app.exe+0x1000",
					      "app.exe+0x2000",
					      "scan:app.exe+0x1ca0" };
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	add_thread(a, 1, scanned, ARRAY_SIZE(scanned));
	a->crash.crashing_thread = 0;
	f = test_detect(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_int_equal(f->confidence, 50);
	assert_evidence(f, "frames 1-3 found only by scanning");
	analysis_destroy(&a);

	/* Frame 1 from the frame-pointer chain: the walk held. */
	a = analysis_new();
	add_thread(a, 1, walked, ARRAY_SIZE(walked));
	a->crash.crashing_thread = 0;
	assert_not_found(a, "incorrect-stack-trace");
	assert_false(a->signature_low_trust);
	analysis_destroy(&a);

	/* An exception, and no frame on the crashing thread. */
	a = analysis_new();
	add_thread(a, 0, NULL, 0);
	a->crash.crashing_thread = 0;
	set_crash(a, "EXCEPTION_ACCESS_VIOLATION", 0, 0);
	f = test_detect(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_evidence(f, "the crashing thread's stack is empty");
	analysis_destroy(&a);

	a = analysis_new();
	model_add_field(a, "FRAME_ONE_INVALID", "1");
	f = test_detect(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_evidence(f, "FRAME_ONE_INVALID");
	analysis_destroy(&a);
}

static void test_incorrect__negatives(void **state)
{
	/* Frame 0 is the wild instruction pointer the exception names. */
	static const char *const wild[] = { "0xe11ffa8",
					    "dll!StartWorking+0xcab",
					    "msvcrt!_endthreadex+0xa3" };
	/* A minidump's frame 0 comes from the context. */
	static const char *const context[] = { "ctx:0x253400000019",
					       "mono.dll+0x1f99ab",
					       "UnityPlayer.dll+0x3437a" };
	/* Below the system-call entry: user mode, unsymbolised. */
	static const char *const kernel[] = {
		"nt!KeBugCheckEx", "i8042prt!I8xProcessCrashDump+0x24f",
		"nt!KiSystemServiceCopyEnd+0x13", "0x7ff9573b55c4"
	};
	static const char *const clean[] = { "AccessV!main+0x101",
					     "kernel32!BaseThreadInitThunk",
					     "ntdll!RtlUserThreadStart+0x28" };
	static const char *const heap_ip[] = { "0x1f3ef330000",
					       "AccessV!main+0x64" };
	struct analysis *a = analysis_new();

	(void)state;
	add_thread(a, 0, wild, ARRAY_SIZE(wild));
	a->crash.crashing_thread = 0;
	model_add_field(a, "IP_ON_STACK", "+e11ffa8");
	a->crash.ip = 0xe11ffa8;
	a->crash.has_ip = true;
	assert_not_found(a, "incorrect-stack-trace");
	analysis_destroy(&a);

	a = analysis_new();
	add_thread(a, 0, context, ARRAY_SIZE(context));
	a->crash.crashing_thread = 0;
	assert_not_found(a, "incorrect-stack-trace");
	analysis_destroy(&a);

	a = analysis_new();
	add_thread(a, 0, kernel, ARRAY_SIZE(kernel));
	a->crash.crashing_thread = 0;
	test_set_bugcheck(a, 0xE2, 0, 0, 0, 0);
	assert_not_found(a, "incorrect-stack-trace");
	analysis_destroy(&a);

	/* A thread other than the crashing one whose IP !analyze names. */
	a = analysis_new();
	add_thread(a, 0, clean, ARRAY_SIZE(clean));
	add_thread(a, 1, heap_ip, ARRAY_SIZE(heap_ip));
	a->crash.crashing_thread = 0;
	model_add_field(a, "IP_ON_HEAP", "000001f3ef330000");
	/* Harmless warnings, and a fail-fast code named INCORRECT_STACK. */
	test_set_text(a, "*** WARNING: Unable to verify checksum for app.exe\n"
		    "*** WARNING: Check Image - Checksum mismatch\n"
		    "    Key  : FailFast.Name\n    Value: INCORRECT_STACK\n");
	assert_not_found(a, "incorrect-stack-trace");
	assert_false(a->signature_low_trust);
	analysis_destroy(&a);
}

/* ---- truncated-dump ------------------------------------------------------ */

static void test_truncated__reader_errors(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	model_add_error(a, DF_ETRUNC, true, 0x1000,
			"ThreadList stream (type 3) at offset 0x1000 starts "
			"past the end of the file (76 bytes)");
	model_add_error(a, DF_EFORMAT, false, 0, "not what it claims");
	f = test_detect(a, "truncated-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 90);
	assert_int_equal(f->evidence.n, 1);
	assert_evidence(f, "reader: ThreadList stream (type 3) at offset "
			   "0x1000 starts past the end of the file");
	analysis_destroy(&a);

	/* Short records only, more than are quoted. */
	a = analysis_new();
	for (int i = 0; i < 5; i++)
		model_add_error(a, DF_ETRUNC, true, 0x200 + (uint64_t)i,
				"MiscInfo stream is %d bytes, needs 24", i);
	f = test_detect(a, "truncated-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 75);
	assert_evidence(f, "MiscInfo stream is 0 bytes, needs 24 (offset "
			   "0x200)");
	assert_evidence(f, "2 more truncated structures");
	analysis_destroy(&a);
}

static void test_truncated__debugger_text(void **state)
{
	static const char log[] =
		"Kernel Complete Dump File: Full address space is available\n"
		"\n"
		"************************************************************\n"
		"WARNING: Dump file has been truncated.  Data may be missing.\n"
		"************************************************************\n";
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_text(a, log);
	f = test_detect(a, "truncated-dump");
	assert_non_null(f);
	assert_evidence(f, "debugger: \"WARNING: Dump file has been "
			   "truncated.  Data may be missing.\"");
	analysis_destroy(&a);

	a = analysis_new();
	model_add_field(a, "DUMP_FILE_ATTRIBUTES", "0x1004");
	f = test_detect(a, "truncated-dump");
	assert_non_null(f);
	assert_evidence(f, "DUMP_FILE_ATTRIBUTES 0x1004: bit 2, "
			   "InsufficientDumpfileSize");
	analysis_destroy(&a);
}

static void test_truncated__negatives(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	model_add_error(a, DF_EFORMAT, true, 0, "unknown format");
	model_add_error(a, DF_ELIMIT, false, 0, "more than 4096 threads");
	model_add_field(a, "DUMP_FILE_ATTRIBUTES", "0x800");
	test_set_text(a, "Loading Dump File [C:\\Windows\\MEMORY.DMP]\n"
		    "Mini Kernel Dump File: Only registers and stack trace are "
		    "available\n"
		    "Page 1a2b3 not present in the dump file. Type \".hh "
		    "dbgerr004\" for details\n"
		    "DUMP_FILE_ATTRIBUTES: 0x8\n");
	assert_not_found(a, "truncated-dump");
	analysis_destroy(&a);
}

/* A minidump whose directory promises a stream past the end of the file. */
static void test_truncated__minidump_bytes(void **state)
{
	static const uint8_t dump[] = {
		'M', 'D',  'M', 'P', 0x93, 0xa7, 0, 0, /* signature, version */
		1,   0,	   0,	0,   32,   0,	 0, 0, /* 1 stream, dir at 32 */
		0,   0,	   0,	0,   0,	   0,	 0, 0, /* checksum, time */
		0,   0,	   0,	0,   0,	   0,	 0, 0, /* flags */
		3,   0,	   0,	0,   100,  0,	 0, 0,
		0,   0x10, 0,	0, /* ThreadList@4096 */
		0,   0,	   0,	0,
	};
	struct analysis *a = NULL;

	(void)state;
	assert_int_equal(analysis_run(&a, dump, sizeof(dump), NULL), DF_OK);
	assert_int_equal(a->format, FORMAT_MINIDUMP);

	const struct finding *f = test_found(a, "truncated-dump");

	if (f == NULL)
		fail_msg("no truncated-dump (%zu errors)", a->errors.n);
	assert_evidence(f, "past the end of the file");
	analysis_destroy(&a);
}

/* ---- the registry: doubtful dumps lower the other findings --------------- */

static void test_registry__quality_lowers_confidence(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	a->has_dump_thread_id = true; /* self-dump, 90 */
	a->dump_thread_id = 5152;
	model_add_error(a, DF_ETRUNC, true, 0x38,
			"SystemInfo stream (type 7) at offset 0x38 is cut by "
			"the end of the file: 20 of 56 bytes");
	assert_int_equal(detect_run_all(a), DF_OK);
	f = test_found(a, "truncated-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 90); /* its own stays */
	f = test_found(a, "self-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 54);
	analysis_destroy(&a);

	/* At least 1. */
	a = analysis_new();
	assert_non_null(model_add_finding(a, "some-pattern", "Some", 1));
	model_add_field(a, "FRAME_ONE_INVALID", "1");
	assert_int_equal(detect_run_all(a), DF_OK);
	assert_non_null(test_found(a, "incorrect-stack-trace"));
	assert_int_equal(test_found(a, "some-pattern")->confidence, 1);
	analysis_destroy(&a);

	/* A sound dump keeps its confidences. */
	a = analysis_new();
	a->has_dump_thread_id = true;
	a->dump_thread_id = 5152;
	assert_int_equal(detect_run_all(a), DF_OK);
	assert_int_equal(test_found(a, "self-dump")->confidence, 90);
	analysis_destroy(&a);
}

/* ---- the seed's own WinDbg output, through the debugger-log reader ------- */

/* Seed: "Crash Dump Analysis Patterns (Part 55)", the ASCII pointer. */
static const char seed_wild_ascii[] =
	"FAILED_INSTRUCTION_ADDRESS: \n"
	"65747379`735c5357 ??              ???\n"
	"\n"
	"IP_ON_HEAP:  65747379735c5357\n"
	"\n"
	"0:012> .formats rip\n"
	"Evaluate expression:\n"
	"  Hex:     65747379`735c5357\n"
	"  Decimal: 7310595060592825175\n"
	"  Octal:   0625643467456327051527\n"
	"  Binary:  01100101 01110100 01110011 01111001 01110011 01011100 "
	"01010011 01010111\n"
	"  Chars:   etsys\\SW\n"
	"  Time:    Wed May 10 22:00:59.282 24767 (GMT+1)\n"
	"  Float:   low 1.7456e+031 high 7.21492e+022\n"
	"  Double:  5.30388e+180\n";

/* Seed: part 55, the UNICODE pointer. */
static const char seed_wild_unicode[] =
	"FAILED_INSTRUCTION_ADDRESS: \n"
	"0045004c`00490046 ??              ???\n"
	"\n"
	"0:014> .formats rip\n"
	"Evaluate expression:\n"
	"  Hex:     0045004c`00490046\n"
	"  Decimal: 19422099815333958\n"
	"  Chars:   .E.L.I.F\n";

/* Seed: part 55, the Wild Code example. */
static const char seed_wild_code[] =
	"IP_ON_STACK:\n"
	"+e11ffa8\n"
	"\n"
	"STACK_TEXT:\n"
	"0e11ff7c 098eeef2 0xe11ffa8\n"
	"0e11ff84 77b6b530 dll!StartWorking+0xcab\n"
	"0e11ffb8 7c826063 msvcrt!_endthreadex+0xa3\n"
	"0e11ffec 00000000 kernel32!BaseThreadStart+0\xc3\x97"
	"34\n"
	"\n"
	"0:020> u\n"
	"0e11ffa8 dcff fdiv st(7),st\n";

/* Seed: "Crash Dump Analysis Patterns (Part 2b)" (excerpt). */
static const char seed_pool[] =
	"BAD_POOL_HEADER (19)\n"
	"Arguments:\n"
	"Arg1: 00000020, a pool block header size is corrupt.\n"
	"Arg2: a34583b8, The pool entry we were looking for within the "
	"page.\n"
	"Arg3: a34584f0, The next pool entry.\n"
	"Arg4: 0a270001, (reserved)\n"
	"\n"
	"POOL_ADDRESS:  a34583b8 Nonpaged pool\n"
	"\n"
	"STACK_TEXT: \n"
	"b80a60cc 808927bb nt!KeBugCheckEx+0x1b\n"
	"b80a6134 80892b6f nt!ExFreePoolWithTag+0x477\n"
	"b80a6144 b9591400 nt!ExFreePool+0xf\n"
	"WARNING: Stack unwind information not available. Following frames "
	"may be wrong.\n"
	"b80a615c b957b954 driver+0x38400\n"
	"b80a617c b957d482 driver+0x22954\n"
	"b80a62a8 8081df65 driver+0x23cef\n"
	"b80a62bc f721ac45 nt!IofCallDriver+0x45\n"
	"b80a63d0 8088978c nt!NtQueryDirectoryFile+0x5d\n"
	"b80a63d0 7c8285ec nt!KiFastCallEntry+0xfc\n"
	"00139524 7c8274eb ntdll!KiFastSystemCallRet\n"
	"\n"
	"MODULE_NAME: driver\n"
	"\n"
	"IMAGE_NAME:  driver.sys\n";

/* Seed: "Crash Dump Analysis Patterns (Part 52)" (excerpt). */
static const char seed_self_dump[] =
	"0:012> kL\n"
	"ChildEBP RetAddr \n"
	"0151f0c4 77e61f0c ntdll!KiFastSystemCallRet\n"
	"0151f0d4 08000000 kernel32!CreateFileMappingW+0xc8\n"
	"WARNING: Frame IP not in any known module. Following frames may be "
	"wrong.\n"
	"0151f0f0 7c82728b 0x8000000\n"
	"0151f0f4 77e63e41 ntdll!NtMapViewOfSection+0xc\n"
	"0151f12c 77e6440c kernel32!MapViewOfFileEx+0x71\n"
	"0151f1d4 028ca67c ntdll!ZwClose+0xc\n"
	"0151f2a4 028cc2f1 dbghelp!GenGetClrMemory+0xec\n"
	"\n"
	"0151f950  028c7662 dbghelp!MiniDumpWriteDump+0\xc3\x97"
	"1b2\n";

/* Seed: "Crash Dump Analysis Patterns (Part 51)" (excerpt). */
static const char seed_message_box[] =
	"THREAD 88b14da8  Cid 0a04.0c14  Teb: 7ffdd000 Win32Thread: e5e50ab0 "
	"WAIT: (WrUserRequest) UserMode Non-Alertable\n"
	"ChildEBP RetAddr \n"
	"a0c97cc8 804e1bd2 nt!KiSwapContext+0x2f\n"
	"a0c97d5c 7c90eb94 nt!KiFastCallEntry+0xfc\n"
	"0013f3a8 7e419418 ntdll!KiFastSystemCallRet\n"
	"0013f3e0 7e42593f USER32!NtUserWaitMessage+0xc\n"
	"0013f6c8 7e43a284 USER32!SoftModalMessageBox+0x938\n"
	"0013f8e0 088098a9 USER32!MessageBoxA+0x45\n";

/* Seed: "Memory Dumps from Xen-virtualized Windows". */
static const char seed_xen[] =
	"kd> !sysinfo machineid\n"
	"Machine ID Information [From Smbios 2.4, DMIVersion 36, Size=348]\n"
	"BiosVendor = Xen\n"
	"SystemManufacturer = Xen\n"
	"SystemProductName = HVM domU\n";

/*
 * Composed after the same blog's Truncated Dump post (part 18, not in the
 * seed file): dbgeng's warning, then a stack it could not unwind.
 */
static const char composed_truncated[] =
	"Loading Dump File [C:\\WINDOWS\\MEMORY.DMP]\n"
	"Kernel Complete Dump File: Full address space is available\n"
	"\n"
	"************************************************************\n"
	"WARNING: Dump file has been truncated.  Data may be missing.\n"
	"************************************************************\n"
	"\n"
	"kd> kv\n"
	"ChildEBP RetAddr  Args to Child\n"
	"f408b004 00000000 00000000 00000000 00000000 driver+0x19237\n";

/* The examples x my patterns: what each must (1) and must not (0) show. */
static const struct {
	const char *name;
	const char *text;
	bool wild_pointer, wild_code, incorrect, truncated;
} seed_table[] = {
	{ "part 55 ASCII pointer", seed_wild_ascii, true, false, false, false },
	{ "part 55 UNICODE pointer", seed_wild_unicode, true, false, false,
	  false },
	{ "part 55 wild code", seed_wild_code, false, true, false, false },
	{ "part 2b pool corruption", seed_pool, false, false, true, false },
	{ "part 52 self-dump", seed_self_dump, false, false, true, false },
	{ "part 51 message box", seed_message_box, false, false, false, false },
	{ "Xen machine id", seed_xen, false, false, false, false },
	{ "part 18 truncated (composed)", composed_truncated, false, false,
	  false, true },
};

static void test_seed__table(void **state)
{
	unsigned bad = 0;

	(void)state;
	printf("  %-30s %-13s %-10s %-22s %s\n", "example", "wild-pointer",
	       "wild-code", "incorrect-stack-trace", "truncated-dump");
	for (size_t i = 0; i < ARRAY_SIZE(seed_table); i++) {
		struct analysis *a = test_analyze(seed_table[i].text);
		const bool want[] = { seed_table[i].wild_pointer,
				      seed_table[i].wild_code,
				      seed_table[i].incorrect,
				      seed_table[i].truncated };
		const int width[] = { 13, 10, 22, 0 };

		printf("  %-30s", seed_table[i].name);
		for (size_t k = 0; k < ARRAY_SIZE(my_ids); k++) {
			bool got = test_found(a, my_ids[k]) != NULL;

			printf(" %-*s", width[k],
			       got == want[k]
				       ? (got ? "found" : "-")
				       : (got ? "FOUND (wrong)" : "MISSED"));
			bad += got != want[k];
		}
		printf("\n");
		analysis_destroy(&a);
	}
	if (bad > 0)
		fail_msg("%u cells of the table are wrong", bad);
}

/* The evidence the seed's examples give, through the whole pipeline. */
static void test_seed__evidence(void **state)
{
	struct analysis *a;
	const struct finding *f;

	(void)state;
	a = test_analyze(seed_wild_ascii);
	f = test_found(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "0x65747379735c5357");
	assert_evidence(f, "\"WS\\syste\" in memory order (.formats Chars: "
			   "etsys\\SW)");
	assert_evidence(f, "IP_ON_HEAP");
	analysis_destroy(&a);

	a = test_analyze(seed_wild_unicode);
	f = test_found(a, "wild-pointer");
	assert_non_null(f);
	assert_evidence(f, "UTF-16 text: \"FILE\" in memory order (.formats "
			   "Chars: .E.L.I.F)");
	analysis_destroy(&a);

	a = test_analyze(seed_wild_code);
	f = test_found(a, "wild-code");
	assert_non_null(f);
	assert_evidence(f, "IP_ON_STACK: +e11ffa8");
	assert_false(a->signature_low_trust);
	analysis_destroy(&a);

	/* The pool example: its warning makes the dump doubtful. */
	a = test_analyze(seed_pool);
	f = test_found(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_evidence(f, "Stack unwind information not available");
	assert_true(a->signature_low_trust);
	f = test_found(a, "dynamic-memory-corruption");
	if (f != NULL)
		assert_true(f->confidence <= 60);
	analysis_destroy(&a);

	a = test_analyze(seed_self_dump);
	f = test_found(a, "incorrect-stack-trace");
	assert_non_null(f);
	assert_evidence(f, "Frame IP not in any known module");
	analysis_destroy(&a);

	a = test_analyze(composed_truncated);
	f = test_found(a, "truncated-dump");
	assert_non_null(f);
	assert_evidence(f, "Dump file has been truncated");
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wild__registry_has_mine),
		cmocka_unit_test(test_wild__value_text),
		cmocka_unit_test(test_wildptr__crash_address_ascii),
		cmocka_unit_test(test_wildptr__instruction_pointer_text),
		cmocka_unit_test(test_wildptr__bugcheck_arguments),
		cmocka_unit_test(test_wildptr__log_text),
		cmocka_unit_test(test_wildptr__ip_on_heap),
		cmocka_unit_test(test_wildptr__negatives),
		cmocka_unit_test(test_wildcode__ip_on_stack_and_fc),
		cmocka_unit_test(test_wildcode__minidump_ip),
		cmocka_unit_test(test_wildcode__execute_fault_and_text),
		cmocka_unit_test(test_wildcode__negatives),
		cmocka_unit_test(test_incorrect__debugger_warnings),
		cmocka_unit_test(test_incorrect__frames_outside_modules),
		cmocka_unit_test(test_incorrect__scanned_and_empty),
		cmocka_unit_test(test_incorrect__negatives),
		cmocka_unit_test(test_truncated__reader_errors),
		cmocka_unit_test(test_truncated__debugger_text),
		cmocka_unit_test(test_truncated__negatives),
		cmocka_unit_test(test_truncated__minidump_bytes),
		cmocka_unit_test(test_registry__quality_lowers_confidence),
		cmocka_unit_test(test_seed__table),
		cmocka_unit_test(test_seed__evidence),
	};
	return cmocka_run_group_tests_name("detectors_wild", tests, NULL, NULL);
}
