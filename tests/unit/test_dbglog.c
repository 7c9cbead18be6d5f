/*
 * test_dbglog - the WinDbg / CDB / KD log reader on crafted snippets.
 *
 * Each snippet is one layout of formats.md section 4 (composed for these
 * tests). Inputs are handed over in an exact-size heap buffer without a
 * terminating NUL, and scribbled over and freed right after the read, so
 * a read past the end or a model string that points into the input shows
 * up (as wrong values here, or under ASan/valgrind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

#include "analysis.h"
#include "dbglog.h"
#include "df.h"
#include "model.h"
#include "testutil.h"

/* Read TEXT[0..N) through an exact-size copy that is destroyed afterwards. */
static struct analysis *parse_n(const char *text, size_t n)
{
	struct analysis *a = analysis_new();
	uint8_t *copy = malloc(n > 0 ? n : 1);

	assert_non_null(a);
	assert_non_null(copy);
	memcpy(copy, text, n);
	assert_int_equal(dbglog_read(a, copy, n), DF_OK);
	assert_ptr_equal(a->text, copy);
	assert_int_equal(a->text_len, n);
	memset(copy, 'X', n);
	free(copy);
	a->text = NULL;
	a->text_len = 0;
	return a;
}

static struct analysis *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

static const struct thread *thread(const struct analysis *a, size_t i)
{
	assert_true(i < a->threads.n);
	return &a->threads.v[i];
}

static const struct frame *frame(const struct analysis *a, size_t t,
				 size_t i)
{
	const struct thread *th = thread(a, t);

	assert_true(i < th->frames.n);
	return &th->frames.v[i];
}

/* module!function[+offset]; OFF < 0 means "no offset". */
static void assert_sym(const struct frame *f, const char *module,
		       const char *function, long long off)
{
	assert_non_null(f->module);
	assert_string_equal(f->module, module);
	assert_non_null(f->function);
	assert_string_equal(f->function, function);
	assert_int_equal(f->has_func_offset, off >= 0);
	if (off >= 0)
		assert_int_equal(f->func_offset, (uint64_t)off);
	assert_false(f->has_module_offset);
	assert_int_equal(f->trust, TRUST_PREWALKED);
}

static void assert_modoff(const struct frame *f, const char *module,
			  uint64_t off)
{
	assert_non_null(f->module);
	assert_string_equal(f->module, module);
	assert_null(f->function);
	assert_true(f->has_module_offset);
	assert_int_equal(f->module_offset, off);
	assert_false(f->has_func_offset);
}

static void assert_addr(const struct frame *f, uint64_t addr)
{
	assert_true(f->has_address);
	assert_int_equal(f->address, addr);
}

static size_t count_errors(const struct analysis *a, int code)
{
	size_t n = 0;

	for (size_t i = 0; i < a->errors.n; i++)
		n += a->errors.v[i].code == code;
	return n;
}

/* ------------------------------------------------------------------ */

static void test_dbglog__probe_accepts_debugger_output(void **state)
{
	(void)state;
	static const char *const yes[] = {
		"0: kd> k\n",
		"some text\n0:000> kb\nChildEBP RetAddr\n",
		"BugCheck D1, {0, 2, 0, 0}\n",
		"*   Bugcheck Analysis   *\n",
		"STACK_TEXT:  \n",
		"Loading Dump File [C:\\x.dmp]\n",
		"lkd> !process 0 0\n",
		"1:2:005> ~*k\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		assert_true(dbglog_probe((const uint8_t *)yes[i],
					 strlen(yes[i])));
	/* UTF-16LE with a byte order mark (.logopen /u). */
	static const uint8_t u16[] = { 0xFF, 0xFE, 'k', 0, 'd', 0, '>', 0,
				       ' ',  0,    'k', 0, '\n', 0 };

	assert_true(dbglog_probe(u16, sizeof(u16)));
}

static void test_dbglog__probe_rejects_binary_and_prose(void **state)
{
	(void)state;
	uint8_t bin[64] = { 'M', 'D', 'M', 'P', 0x93, 0xA7, 0, 0 };
	static const char prose[] =
		"The quick brown fox jumps over the lazy dog.\n"
		"Nothing here looks like a debugger.\n";
	uint8_t nul_then_marker[32] = "kd> k";

	assert_false(dbglog_probe(bin, sizeof(bin)));
	assert_false(dbglog_probe((const uint8_t *)prose, strlen(prose)));
	assert_false(dbglog_probe((const uint8_t *)"", 0));
	assert_false(dbglog_probe(NULL, 10));
	nul_then_marker[0] = 0; /* a NUL early on: binary */
	memcpy(nul_then_marker + 8, "kd> k", 5);
	assert_false(dbglog_probe(nul_then_marker, sizeof(nul_then_marker)));
}

static void test_dbglog__read_rejects_binary(void **state)
{
	(void)state;
	struct analysis *a = analysis_new();
	uint8_t bin[16] = { 'P', 'A', 'G', 'E', 'D', 'U', '6', '4', 0 };

	assert_int_equal(dbglog_read(a, bin, sizeof(bin)), DF_EFORMAT);
	assert_int_equal(count_errors(a, DF_EFORMAT), 1);
	assert_int_equal(a->threads.n, 0);
	analysis_destroy(&a);
}

/* ------------------------------------------------------------------ */
/* Stacks                                                              */
/* ------------------------------------------------------------------ */

static void test_dbglog__x86_kb_args_to_child(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> kb\n"
		"ChildEBP RetAddr  Args to Child              \n"
		"b8ca1c78 80832f7a 88865e28 88865db0 88865e58 "
		"nt!KiSwapContext+0x26 (FPO: [Uses EBP] [0,0,4])\n"
		"b8ca1d50 7c94ed54 00000470 00000000 00000000 "
		"nt!KiFastCallEntry+0xfc (TrapFrame @ b8ca1d64)\n"
		"00c6fea0 7c942124 7c95970f 00000470 00000000 "
		"ntdll!KiFastSystemCallRet (FPO: [0,0,0])\n"
		"\n");

	assert_int_equal(a->threads.n, 1);
	assert_int_equal(thread(a, 0)->frames.n, 3);
	assert_sym(frame(a, 0, 0), "nt", "KiSwapContext", 0x26);
	assert_addr(frame(a, 0, 0), 0x80832f7a);
	assert_sym(frame(a, 0, 1), "nt", "KiFastCallEntry", 0xfc);
	assert_sym(frame(a, 0, 2), "ntdll", "KiFastSystemCallRet", -1);
	assert_addr(frame(a, 0, 2), 0x7c942124);
	/* The only stack of the log is the crashing thread's. */
	assert_int_equal(a->crash.crashing_thread, 0);
	assert_string_equal(a->system.os, "Windows NT");
	analysis_destroy(&a);
}

static void test_dbglog__x64_child_sp_with_args(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> kbn\n"
		" # Child-SP          RetAddr           : Args to Child"
		"                                                           "
		": Call Site\n"
		"00 fffff806`20e72bc8 fffff806`17e0ea29 : 00000000`0000000a "
		"ffffd105`2a8b7000 00000000`00000002 00000000`00000000 : "
		"nt!KeBugCheckEx\n"
		"01 fffff806`20e72bd0 fffff806`17e0ad69 : 00000000`00000000 "
		"00000000`00000000 00000000`00000000 00000000`00000000 : "
		"nt!KiBugCheckDispatch+0x69\n"
		"02 fffff806`20e72ea0 fffff806`17c21f3e : ffffd105`2a8b6ff0 "
		"00000000`00000000 00000000`00000000 00000000`00000000 : "
		"mydrv+0x14f2\n");

	assert_int_equal(thread(a, 0)->frames.n, 3);
	assert_sym(frame(a, 0, 0), "nt", "KeBugCheckEx", -1);
	assert_addr(frame(a, 0, 0), 0xfffff80617e0ea29ULL);
	assert_sym(frame(a, 0, 1), "nt", "KiBugCheckDispatch", 0x69);
	assert_modoff(frame(a, 0, 2), "mydrv", 0x14f2);
	assert_addr(frame(a, 0, 2), 0xfffff80617c21f3eULL);
	analysis_destroy(&a);
}

static void test_dbglog__kn_numbered_with_inline_frames(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> kn\n"
		" # Child-SP          RetAddr               Call Site\n"
		"00 fffff806`20e72bc8 fffff806`17e0ea29     nt!KeBugCheckEx\n"
		"01 fffff806`20e72d10 fffff806`1a3b14f2     "
		"nt!KiPageFault+0x469 (TrapFrame @ fffff806`20e72d10)\n"
		"02 (Inline Function) --------`--------     "
		"mydrv!Queue::pop+0x12 [d:\\src\\queue.h @ 17]\n"
		"03 fffff806`20e72ea0 fffff806`17c21f3e     "
		"mydrv!Worker::run+0x34 [d:\\src\\worker.cpp @ 42]\n"
		"04 fffff806`20e72f20 fffff806`17c2135d     "
		"app!thread_start<unsigned int (__cdecl*)(void *),1>+0x58\n");

	assert_int_equal(thread(a, 0)->frames.n, 5);
	assert_sym(frame(a, 0, 1), "nt", "KiPageFault", 0x469);
	assert_sym(frame(a, 0, 2), "mydrv", "Queue::pop", 0x12);
	assert_false(frame(a, 0, 2)->has_address);
	assert_sym(frame(a, 0, 3), "mydrv", "Worker::run", 0x34);
	assert_sym(frame(a, 0, 4), "app",
		   "thread_start<unsigned int (__cdecl*)(void *),1>", 0x58);
	analysis_destroy(&a);
}

static void test_dbglog__bare_addresses_and_old_offsets(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0:020> k\n"
		"ChildEBP RetAddr\n"
		"0e11ff7c 098eeef2 0xe11ffa8\n"
		"0e11ff84 77b6b530 dll!StartWorking+cab\n"
		"WARNING: Frame IP not in any known module. Following frames "
		"may be wrong.\n"
		"0e11ffb8 7c826063 msvcrt!_endthreadex+0xa3\n"
		"0e11ffec 00000000 kernel32!BaseThreadStart+0x34\n");
	const struct frame *f = frame(a, 0, 0);

	assert_int_equal(thread(a, 0)->frames.n, 4);
	assert_null(f->module);
	assert_null(f->function);
	assert_addr(f, 0xe11ffa8); /* where that frame executes */
	assert_sym(frame(a, 0, 1), "dll", "StartWorking", 0xcab);
	assert_sym(frame(a, 0, 2), "msvcrt", "_endthreadex", 0xa3);
	analysis_destroy(&a);
}

/* "0×1b" from blog software: U+00D7 in UTF-8 and in Latin-1. */
static void test_dbglog__typographic_times_offsets(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"ChildEBP RetAddr\n"
		"f7054bc4 8093c55c nt!ObfReferenceObject+0\xc3\x97"
		"1c\n"
		"f7054ca0 8093d2ae nt!ObpQueryNameString+0\xd7"
		"2ba\n"
		"f7054cbc 808f7d0f \xc2\xa0nt!ObQueryNameString+0x18\n");

	assert_int_equal(thread(a, 0)->frames.n, 3);
	assert_sym(frame(a, 0, 0), "nt", "ObfReferenceObject", 0x1c);
	assert_sym(frame(a, 0, 1), "nt", "ObpQueryNameString", 0x2ba);
	assert_sym(frame(a, 0, 2), "nt", "ObQueryNameString", 0x18);
	analysis_destroy(&a);
}

/* ~*k: named threads; "#" marks the thread of the last event. */
static void test_dbglog__user_thread_list(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"(12ac.3b4): Access violation - code c0000005 (first chance)\n"
		"0:001> ~*k\n"
		"\n"
		".  0  Id: 12ac.1a0 Suspend: 1 Teb: 000000d4`1c2a1000 "
		"Unfrozen \"main\"\n"
		" # Child-SP          RetAddr               Call Site\n"
		"00 000000d4`1c3ff5b8 00007ffb`87b3c2ce     "
		"win32u!NtUserGetMessage+0x14\n"
		"\n"
		"#  1  Id: 12ac.3b4 Suspend: 1 Teb: 000000d4`1c2a3000 "
		"Unfrozen\n"
		" # Child-SP          RetAddr               Call Site\n"
		"00 000000d4`1c4ff150 00007ff6`3a212f45     "
		"app!Parser::next+0x34\n"
		"01 000000d4`1c4ff1b0 00007ff6`3a2119c3     app!main+0x60\n");

	assert_int_equal(a->threads.n, 2);
	assert_int_equal(thread(a, 0)->id, 0x1a0);
	assert_string_equal(thread(a, 0)->name, "main");
	assert_int_equal(thread(a, 1)->id, 0x3b4);
	assert_int_equal(a->crash.crashing_thread, 1);
	assert_true(a->crash.has_code);
	assert_int_equal(a->crash.code, 0xc0000005);
	assert_sym(frame(a, 1, 0), "app", "Parser::next", 0x34);
	analysis_destroy(&a);
}

/* ------------------------------------------------------------------ */
/* Bugcheck statements and !analyze                                   */
/* ------------------------------------------------------------------ */

static void test_dbglog__bugcheck_line_and_probably_caused_by(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"Use !analyze -v to get detailed debugging information.\n"
		"\n"
		"BugCheck 1000008E, {c0000005, bf80a123, b1e4f9a8, 0}\n"
		"\n"
		"Probably caused by : e1g60i32.sys ( "
		"e1g60i32!E1000ReceiveIndicate+1c7 )\n"
		"\n"
		"Followup: MachineOwner\n");

	assert_true(a->bugcheck.present);
	assert_int_equal(a->bugcheck.code, 0x1000008E);
	assert_int_equal(a->bugcheck.args[0], 0xc0000005);
	assert_int_equal(a->bugcheck.args[1], 0xbf80a123);
	assert_int_equal(a->bugcheck.args[2], 0xb1e4f9a8);
	assert_int_equal(a->bugcheck.args[3], 0);
	assert_string_equal(model_field(a, "PROBABLY_CAUSED_BY"),
			    "e1g60i32.sys");
	/* 0x1000008E carries the exception: code and address. */
	assert_true(a->crash.present);
	assert_int_equal(a->crash.code, 0xc0000005);
	assert_true(a->crash.has_ip);
	assert_int_equal(a->crash.ip, 0xbf80a123);
	analysis_destroy(&a);
}

/* Blog headings look like bugcheck lines but are not debugger output. */
static void test_dbglog__blog_heading_is_not_a_bugcheck(void **state)
{
	(void)state;
	struct analysis *a = parse("BugCheck C2: BAD_POOL_CALLER\n\n1600\n"
				   "BugCheck 19: BAD_POOL_HEADER\n");

	assert_false(a->bugcheck.present);
	analysis_destroy(&a);
}

static const char old_analyze[] =
	"1: kd> !analyze -show c2\n"
	"BAD_POOL_CALLER (c2)\n"
	"The current thread is making a bad pool request.\n"
	"Arguments:\n"
	"Arg1: 00000000, The caller is requesting a zero byte pool "
	"allocation.\n"
	"Arg2: 00000000, zero.\n"
	"Arg3: 00000000, the pool type being allocated.\n"
	"Arg4: 00000000, the pool tag being used.\n"
	"\n"
	"1: kd> !analyze -v\n"
	"**********************************************************\n"
	"*                  Bugcheck Analysis                     *\n"
	"**********************************************************\n"
	"\n"
	"KERNEL_MODE_EXCEPTION_NOT_HANDLED_M (1000008e)\n"
	"This is a very common bugcheck.  Usually the exception address "
	"pinpoints\n"
	"the driver/function that caused the problem.\n"
	"Arguments:\n"
	"Arg1: c0000005, The exception code that was not handled\n"
	"Arg2: bf80a123, The address that the exception occurred at\n"
	"Arg3: b1e4f9a8, Trap Frame\n"
	"Arg4: 00000000\n"
	"\n"
	"Debugging Details:\n"
	"------------------\n"
	"\n"
	"\n"
	"EXCEPTION_CODE: (NTSTATUS) 0xc0000005 - The instruction at "
	"0x%08lx referenced memory at 0x%08lx.\n"
	"\n"
	"FAULTING_IP: \n"
	"win32k!xxxDestroyThing+2f\n"
	"bf80a123 8b4608          mov     eax,dword ptr [esi+8]\n"
	"\n"
	"TRAP_FRAME:  b1e4f9a8 -- (.trap 0xffffffffb1e4f9a8)\n"
	"ErrCode = 00000000\n"
	"eax=00000000 ebx=e1a2b3c4 ecx=00000001 edx=00000000 esi=00000000 "
	"edi=e1d2c3b4\n"
	"Resetting default scope\n"
	"\n"
	"DEFAULT_BUCKET_ID:  DRIVER_FAULT\n"
	"\n"
	"BUGCHECK_STR:  0x8E\n"
	"\n"
	"PROCESS_NAME:  explorer.exe\n"
	"\n"
	"CURRENT_IRQL:  0\n"
	"\n"
	"STACK_TEXT:  \n"
	"b1e4fa30 bf80b456 e1a2b3c4 00000000 00000001 "
	"win32k!xxxDestroyThing+0x2f\n"
	"b1e4fa4c bf80c789 e1a2b3c4 b1e4fa64 80545a2c "
	"win32k!xxxDestroyWindow+0x1c2\n"
	"b1e4fa64 804df06b 0001002c 0012fe3c 7c90e4f4 "
	"win32k!NtUserDestroyWindow+0x21\n"
	"\n"
	"\n"
	"STACK_COMMAND:  kb\n"
	"\n"
	"SYMBOL_NAME:  win32k!xxxDestroyThing+2f\n"
	"\n"
	"MODULE_NAME: win32k\n"
	"\n"
	"IMAGE_NAME:  win32k.sys\n"
	"\n"
	"FAILURE_BUCKET_ID:  0x8E_win32k!xxxDestroyThing+2f\n"
	"\n"
	"BUCKET_ID:  0x8E_win32k!xxxDestroyThing+2f\n"
	"\n"
	"Followup: MachineOwner\n"
	"---------\n"
	"\n"
	"1: kd> kb\n"
	"ChildEBP RetAddr  Args to Child\n"
	"b1e4fa30 bf80b456 e1a2b3c4 00000000 00000001 "
	"win32k!xxxDestroyThing+0x2f\n";

/* Old layout: title + Arg1..Arg4, keys; "-show <code>" is not the dump. */
static void test_dbglog__old_analyze_title_and_arguments(void **state)
{
	(void)state;
	struct analysis *a = parse(old_analyze);

	assert_true(a->bugcheck.present);
	assert_int_equal(a->bugcheck.code, 0x1000008e);
	assert_string_equal(a->bugcheck.name,
			    "KERNEL_MODE_EXCEPTION_NOT_HANDLED_M");
	assert_int_equal(a->bugcheck.args[0], 0xc0000005);
	assert_int_equal(a->bugcheck.args[1], 0xbf80a123);
	assert_int_equal(a->bugcheck.args[2], 0xb1e4f9a8);
	assert_int_equal(a->bugcheck.args[3], 0);
	assert_string_equal(a->bugcheck.str, "0x8E");
	assert_string_equal(a->process_name, "explorer.exe");
	assert_string_equal(model_field(a, "MODULE_NAME"), "win32k");
	assert_string_equal(model_field(a, "IMAGE_NAME"), "win32k.sys");
	assert_string_equal(model_field(a, "CURRENT_IRQL"), "0");
	assert_string_equal(model_field(a, "FAULTING_IP"),
			    "win32k!xxxDestroyThing+2f");
	assert_string_equal(model_field(a, "DEFAULT_BUCKET_ID"),
			    "DRIVER_FAULT");
	assert_string_equal(model_field(a, "FAILURE_BUCKET_ID"),
			    "0x8E_win32k!xxxDestroyThing+2f");
	assert_true(a->crash.has_code);
	assert_int_equal(a->crash.code, 0xc0000005);
	assert_int_equal(a->crash.ip, 0xbf80a123);
	/* STACK_TEXT is the crashing thread; kb lists it again. */
	assert_int_equal(a->crash.crashing_thread, 0);
	assert_int_equal(thread(a, 0)->frames.n, 3);
	assert_sym(frame(a, 0, 0), "win32k", "xxxDestroyThing", 0x2f);
	assert_string_equal(a->format_detail, "!analyze -v (kernel)");
	analysis_destroy(&a);
}

static void test_dbglog__new_analyze_fields(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"KEY_VALUES_STRING: 1\n"
		"\n"
		"    Key  : Analysis.CPU.mSec\n"
		"    Value: 1546\n"
		"\n"
		"    Key  : Failure.Bucket\n"
		"    Value: AV_mydrv!unknown_function\n"
		"\n"
		"BUGCHECK_CODE:  d1\n"
		"\n"
		"BUGCHECK_P1: ffffd1052a8b7000\n"
		"\n"
		"BUGCHECK_P2: 2\n"
		"\n"
		"BUGCHECK_P3: 0\n"
		"\n"
		"BUGCHECK_P4: fffff8061a3b14f2\n"
		"\n"
		"READ_ADDRESS:  ffffd1052a8b7000 Nonpaged pool\n"
		"\n"
		"CURRENT_IRQL:  2\n"
		"\n"
		"PROCESS_NAME:  System\n"
		"\n"
		"STACK_TEXT:  \n"
		"fffff806`20e72bc8 fffff806`17e0ea29     : 00000000`0000000a "
		"ffffd105`2a8b7000 00000000`00000002 00000000`00000000 : "
		"nt!KeBugCheckEx\n"
		"fffff806`20e72ea0 fffff806`17c21f3e     : ffffd105`2a8b6ff0 "
		"00000000`00000000 00000000`00000000 00000000`00000000 : "
		"mydrv+0x14f2\n"
		"\n"
		"\n"
		"SYMBOL_NAME:  mydrv+14f2\n"
		"\n"
		"MODULE_NAME: mydrv\n"
		"\n"
		"IMAGE_NAME:  mydrv.sys\n"
		"\n"
		"FAILURE_BUCKET_ID:  AV_mydrv!unknown_function\n"
		"\n"
		"OS_VERSION:  10.0.19041.1\n"
		"\n"
		"OSPLATFORM_TYPE:  x64\n"
		"\n"
		"Followup:     MachineOwner\n"
		"---------\n");

	assert_true(a->bugcheck.present);
	assert_int_equal(a->bugcheck.code, 0xd1);
	assert_int_equal(a->bugcheck.args[0], 0xffffd1052a8b7000ULL);
	assert_int_equal(a->bugcheck.args[1], 2);
	assert_int_equal(a->bugcheck.args[3], 0xfffff8061a3b14f2ULL);
	assert_string_equal(model_field(a, "Analysis.CPU.mSec"), "1546");
	assert_string_equal(model_field(a, "Failure.Bucket"),
			    "AV_mydrv!unknown_function");
	assert_string_equal(model_field(a, "MODULE_NAME"), "mydrv");
	assert_string_equal(model_field(a, "SYMBOL_NAME"), "mydrv+14f2");
	assert_string_equal(model_field(a, "READ_ADDRESS"),
			    "ffffd1052a8b7000 Nonpaged pool");
	assert_true(a->crash.has_address);
	assert_int_equal(a->crash.address, 0xffffd1052a8b7000ULL);
	/* 0xD1 names the faulting instruction in Arg4. */
	assert_int_equal(a->crash.ip, 0xfffff8061a3b14f2ULL);
	assert_int_equal(a->crash.crashing_thread, 0);
	assert_modoff(frame(a, 0, 1), "mydrv", 0x14f2);
	assert_string_equal(a->system.os_ver, "10.0.19041.1");
	assert_string_equal(a->system.cpu_arch, "amd64");
	analysis_destroy(&a);
}

static void test_dbglog__user_mode_exception_analysis(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0:000> !analyze -v\n"
		"*******************************************************\n"
		"*                 Exception Analysis                  *\n"
		"*******************************************************\n"
		"\n"
		"EXCEPTION_RECORD:  (.exr -1)\n"
		"ExceptionAddress: 00007ff6a1b21234 "
		"(app!Parser::next+0x0000000000000034)\n"
		"   ExceptionCode: c0000005 (Access violation)\n"
		"  ExceptionFlags: 00000000\n"
		"NumberParameters: 2\n"
		"   Parameter[0]: 0000000000000000\n"
		"   Parameter[1]: 0000000000000018\n"
		"Attempt to read from address 0000000000000018\n"
		"\n"
		"PROCESS_NAME:  app.exe\n"
		"\n"
		"EXCEPTION_CODE_STR:  c0000005\n"
		"\n"
		"FAILED_INSTRUCTION_ADDRESS: \n"
		"+0\n"
		"00007ff6`a1b21234 8b4818          "
		"mov     ecx,dword ptr [rax+18h]\n"
		"\n"
		"IP_ON_HEAP:  00007ff6a1b21234\n"
		"\n"
		"STACK_TEXT:  \n"
		"000000d1`a2aff7a0 00007ff6`a1b21a10     : 00000000`00000000 "
		"00000000`00000000 00000000`00000000 00000000`00000000 : "
		"app!Parser::next+0x34\n"
		"\n"
		"MODULE_NAME: app\n"
		"\n"
		"Followup:     MachineOwner\n");

	assert_false(a->bugcheck.present);
	assert_true(a->crash.present);
	assert_int_equal(a->crash.code, 0xc0000005);
	assert_int_equal(a->crash.address, 0x18);
	assert_int_equal(a->crash.ip, 0x00007ff6a1b21234ULL);
	assert_string_equal(a->process_name, "app.exe");
	assert_string_equal(model_field(a, "FAILED_INSTRUCTION_ADDRESS"), "+0");
	assert_string_equal(model_field(a, "IP_ON_HEAP"), "00007ff6a1b21234");
	assert_string_equal(a->format_detail, "!analyze -v (user-mode)");
	analysis_destroy(&a);
}

/* Two dumps analysed in one log: the first analysis speaks for the log. */
static void test_dbglog__first_analysis_wins(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"*     Exception Analysis     *\n"
		"ExceptionAddress: 0000000000401000\n"
		"   ExceptionCode: c0000005 (Access violation)\n"
		"MODULE_NAME: first\n"
		"Followup:     MachineOwner\n"
		"*     Exception Analysis     *\n"
		"FAILED_INSTRUCTION_ADDRESS: \n"
		"00000000`00777000 c3 ret\n"
		"   ExceptionCode: c0000409 (Security check failure)\n"
		"MODULE_NAME: second\n"
		"Followup:     MachineOwner\n");

	assert_int_equal(a->crash.ip, 0x401000);
	assert_int_equal(a->crash.code, 0xc0000005);
	assert_string_equal(model_field(a, "MODULE_NAME"), "first");
	analysis_destroy(&a);
}

/* Live kd: "Fatal System Error" with the arguments on the next line. */
static void test_dbglog__fatal_system_error(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> g\n"
		"*** Fatal System Error: 0x0000003b\n"
		"                       (0x00000000C0000005,0xFFFFF80537DED11E,"
		"0xFFFF9386CE746C30,0x0000000000000000)\n"
		"\n"
		"Break instruction exception - code 80000003 (first chance)\n");

	assert_true(a->bugcheck.present);
	assert_int_equal(a->bugcheck.code, 0x3b);
	assert_int_equal(a->bugcheck.args[1], 0xFFFFF80537DED11EULL);
	/* The break-in is the debugger, not the crash. */
	assert_int_equal(a->crash.code, 0xc0000005);
	analysis_destroy(&a);
}

/* ------------------------------------------------------------------ */
/* Banner, lm, !sysinfo                                                */
/* ------------------------------------------------------------------ */

static void test_dbglog__banner_x86(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"Loading Dump File [C:\\WINDOWS\\Minidump\\Mini031308-01.dmp]\n"
		"Mini Kernel Dump File: Only registers and stack trace are "
		"available\n"
		"\n"
		"Windows XP Kernel Version 2600 (Service Pack 2) MP (2 procs) "
		"Free x86 compatible\n"
		"Product: WinNt, suite: TerminalServer SingleUserTS\n"
		"Built by: 2600.xpsp_sp2_gdr.070227-2254\n"
		"Kernel base = 0x804d7000 PsLoadedModuleList = 0x8055d720\n"
		"Debug session time: Thu Mar 13 10:15:42.687 2008 (GMT+0)\n"
		"System Uptime: 0 days 2:31:07.265\n");

	assert_string_equal(a->system.os, "Windows NT");
	assert_string_equal(a->system.os_ver, "5.1.2600 Service Pack 2");
	assert_int_equal(a->system.build, 2600);
	assert_string_equal(a->system.cpu_arch, "x86");
	assert_int_equal(a->system.cpu_count, 2);
	assert_int_equal(a->crash_time, 1205403342);
	assert_int_equal(a->uptime, 2 * 3600 + 31 * 60 + 7);
	assert_string_equal(a->format_detail, "kernel debugger log");
	analysis_destroy(&a);
}

static void test_dbglog__banner_x64_with_zone(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"Windows 10 Kernel Version 19041 MP (8 procs) Free x64\n"
		"Edition build lab: 19041.1.amd64fre.vb_release.191206-1406\n"
		"Debug session time: Tue Mar  1 10:15:42.123 2022 "
		"(UTC + 1:00)\n"
		"System Uptime: 3 days 2:03:44.109\n");

	assert_string_equal(a->system.os_ver, "10.0.19041.1");
	assert_int_equal(a->system.build, 19041);
	assert_string_equal(a->system.cpu_arch, "amd64");
	assert_int_equal(a->system.cpu_count, 8);
	assert_int_equal(a->crash_time, 1646126142);
	assert_int_equal(a->uptime, 3 * 86400 + 2 * 3600 + 3 * 60 + 44);
	analysis_destroy(&a);
}

static void test_dbglog__lm_module_lists(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> lm\n"
		"start             end                 module name\n"
		"fffff802`4a200000 fffff802`4b246000   nt         (pdb symbols)"
		"          c:\\symbols\\ntkrnlmp.pdb\\1A2B3C\\ntkrnlmp.pdb\n"
		"fffff806`1a3a0000 fffff806`1a3c4000   mydrv      (deferred)\n"
		"fffff806`1b000000 fffff806`1b01a000   xenvbd     "
		"(no symbols)\n"
		"\n"
		"Unloaded modules:\n"
		"fffff806`1c000000 fffff806`1c00e000   oldflt.sys\n"
		"0: kd> lmv m mydrv\n"
		"start             end                 module name\n"
		"fffff806`1a3a0000 fffff806`1a3c4000   mydrv      (deferred)\n"
		"    Image path: \\SystemRoot\\system32\\DRIVERS\\mydrv.sys\n"
		"    Image name: mydrv.sys\n"
		"    Timestamp:        Tue Feb 13 10:22:33 2007 (45D1A2B9)\n"
		"    CheckSum:         0000F2A1\n"
		"    ImageSize:        00024000\n"
		"    File version:     1.2.3.4\n");
	const struct module *nt = model_module_named(a, "nt");
	const struct module *my = model_module_named(a, "mydrv");
	const struct module *old = model_module_named(a, "oldflt");

	assert_int_equal(a->modules.n, 4);
	assert_non_null(nt);
	assert_int_equal(nt->base, 0xfffff8024a200000ULL);
	assert_int_equal(nt->end, 0xfffff8024b245fffULL);
	assert_int_equal(nt->size, 0x1046000);
	assert_string_equal(nt->debug_file, "ntkrnlmp.pdb");
	assert_non_null(my);
	assert_string_equal(my->filename, "mydrv.sys");
	assert_string_equal(my->path,
			    "\\SystemRoot\\system32\\DRIVERS\\mydrv.sys");
	assert_int_equal(my->timestamp, 0x45D1A2B9);
	assert_string_equal(my->version, "1.2.3.4");
	assert_non_null(model_module_named(a, "xenvbd"));
	assert_non_null(old);
	assert_true(old->unloaded);
	assert_ptr_equal(model_module_at(a, 0xfffff8061a3a1234ULL), my);
	analysis_destroy(&a);
}

static void test_dbglog__sysinfo_machineid(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"kd> !sysinfo machineid\n"
		"Machine ID Information [From Smbios 2.4, DMIVersion 36, "
		"Size=348]\n"
		"BiosMajorRelease = 3\n"
		"BiosVendor = Xen\n"
		"BiosVersion = 3.1.0\n"
		"SystemManufacturer = Xen\n"
		"SystemProductName = HVM domU\n"
		"SystemFamily =\n"
		"SystemVersion = 3.1.0\n");

	assert_string_equal(a->system.bios_vendor, "Xen");
	assert_string_equal(a->system.system_manufacturer, "Xen");
	assert_string_equal(a->system.system_product, "HVM domU");
	assert_string_equal(model_field(a, "BiosVersion"), "3.1.0");
	analysis_destroy(&a);
}

/* ------------------------------------------------------------------ */
/* !process, !thread, !vm, !handle                                     */
/* ------------------------------------------------------------------ */

static void test_dbglog__process_blocks(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> !process 0 0\n"
		"**** NT ACTIVE PROCESS DUMP ****\n"
		"PROCESS 8a8fa8c0  SessionId: 0  Cid: 037c    Peb: 7ffd8000  "
		"ParentCid: 04ac\n"
		"    DirBase: f3b10360  ObjectTable: e1c276b8  "
		"HandleCount: 500.\n"
		"    Image: MyService.exe\n"
		"\n"
		"PROCESS 89237d88  SessionId: 0  Cid: 0650    Peb: 7ffde000  "
		"ParentCid: 037c\n"
		"    DirBase: f3b31940  ObjectTable: 00000000  "
		"HandleCount:   0.\n"
		"    Image: cmd.exe\n"
		"\n"
		"PROCESS ffffc20f3a8e1080\n"
		"    SessionId: none  Cid: 0004    Peb: 00000000  "
		"ParentCid: 0000\n"
		"    DirBase: 001ad002  ObjectTable: ffff8a0a4ba04f40  "
		"HandleCount: 3391.\n"
		"    Image: System\n"
		"\n"
		"0: kd> !process 0650\n"
		"Searching for Process with Cid == 650\n"
		"PROCESS 89237d88  SessionId: 0  Cid: 0650    Peb: 7ffde000  "
		"ParentCid: 037c\n"
		"    DirBase: f3b31940  ObjectTable: 00000000  "
		"HandleCount:   0.\n"
		"    Image: cmd.exe\n"
		"    VadRoot 00000000 Vads 0 Clone 0 Private 0. Modified 2. "
		"Locked 0.\n"
		"    ElapsedTime                       1 Day 00:16:11.706\n"
		"\n"
		"No active threads\n");
	const struct process *p;

	assert_int_equal(a->processes.n, 3);
	p = &a->processes.v[0];
	assert_string_equal(p->image, "MyService.exe");
	assert_int_equal(p->pid, 0x37c);
	assert_int_equal(p->ppid, 0x4ac);
	assert_true(p->has_handle_count);
	assert_int_equal(p->handle_count, 500);
	assert_false(p->object_table_null);
	p = &a->processes.v[1];
	assert_string_equal(p->image, "cmd.exe");
	assert_int_equal(p->pid, 0x650);
	assert_true(p->object_table_null);
	assert_true(p->has_private);
	assert_int_equal(p->private_pages, 0);
	assert_true(p->has_threads);
	assert_int_equal(p->active_threads, 0);
	p = &a->processes.v[2];
	assert_string_equal(p->image, "System");
	assert_int_equal(p->pid, 4);
	assert_int_equal(p->handle_count, 3391);
	analysis_destroy(&a);
}

static const char thread_block[] =
	"0: kd> !thread 88865db0\n"
	"THREAD 88865db0  Cid 05d0.5ea8  Teb: 7ffaa000 Win32Thread: 00000000 "
	"WAIT: (UserRequest) UserMode Non-Alertable\n"
	"    89a65a68  SynchronizationEvent\n"
	"    89a65b80  NotificationTimer\n"
	"IRP List:\n"
	"    87a0ba00: (0006,0244) Flags: 00000000  Mdl: 00000000\n"
	"Not impersonating\n"
	"DeviceMap                 e1536358\n"
	"Owning Process            8abbdd88       Image:         svchost.exe\n"
	"Attached Process          N/A            Image:         N/A\n"
	"Wait Start TickCount      5303768        Ticks: 1132797 "
	"(0:04:54:59.953)\n"
	"Context Switch Count      193                 LargeStack\n"
	"UserTime                  00:00:00.015\n"
	"KernelTime                00:00:00.000\n"
	"Start Address kernel32!BaseThreadStartThunk (0x7c82b5f3)\n"
	"Stack Init b8ca2000 Current b8ca1c60 Base b8ca2000 Limit b8c9f000 "
	"Call 0\n"
	"Priority 10 BasePriority 8 PriorityDecrement 0 DecrementCount 16\n"
	"Kernel stack not resident.\n"
	"ChildEBP RetAddr  Args to Child\n"
	"b8ca1c78 80832f7a 88865e28 88865db0 88865e58 nt!KiSwapContext+0x26\n"
	"b8ca1ca4 8082925c 00000000 00000000 00000000 nt!KiSwapThread+0x284\n"
	"\n";

static void test_dbglog__thread_block(void **state)
{
	(void)state;
	struct analysis *a = parse(thread_block);
	const struct thread *t = thread(a, 0);

	assert_int_equal(a->threads.n, 1);
	assert_int_equal(t->id, 0x5ea8);
	assert_string_equal(t->state, "WAIT");
	assert_string_equal(t->wait_reason, "UserRequest");
	assert_string_equal(t->wait_mode, "UserMode");
	assert_string_equal(t->process, "svchost.exe");
	assert_true(t->has_wait_ticks);
	assert_int_equal(t->wait_ticks, 1132797);
	assert_int_equal(t->stack_start, 0xb8c9f000);
	assert_int_equal(t->stack_size, 0x3000);
	assert_int_equal(t->waited_objects.n, 2);
	assert_string_equal(t->waited_objects.v[0],
			    "89a65a68 SynchronizationEvent");
	assert_int_equal(t->frames.n, 2);
	assert_sym(&t->frames.v[1], "nt", "KiSwapThread", 0x284);
	analysis_destroy(&a);
}

/* The same thread printed twice (!ready, then !thread) is one thread. */
static void test_dbglog__thread_listed_twice(void **state)
{
	(void)state;
	char text[4096];
	struct analysis *a;

	snprintf(text, sizeof(text),
		 "3: kd> !ready\n"
		 "Processor 1: Ready Threads at priority 11\n"
		 "    THREAD 88865db0  Cid 05d0.5ea8  Teb: 7ffaa000 "
		 "Win32Thread: 00000000 READY\n"
		 "%s%s",
		 thread_block, thread_block);
	a = parse(text);
	assert_int_equal(a->threads.n, 1);
	assert_string_equal(thread(a, 0)->state, "READY");
	assert_int_equal(thread(a, 0)->frames.n, 2);
	assert_int_equal(thread(a, 0)->waited_objects.n, 0);
	analysis_destroy(&a);
}

static void test_dbglog__process_with_threads(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> !process 0 ff\n"
		"PROCESS 8a8fa8c0  SessionId: 0  Cid: 037c    Peb: 7ffd8000  "
		"ParentCid: 04ac\n"
		"    Image: MyService.exe\n"
		"\n"
		"        THREAD 8a8f1020  Cid 037c.0380  Teb: 7ffdf000 "
		"Win32Thread: 00000000 WAIT: (WrQueue) UserMode Alertable\n"
		"            8a8f6e80  QueueObject\n"
		"        ChildEBP RetAddr\n"
		"        f6b2cc50 80833465 nt!KiSwapContext+0x26\n"
		"\n"
		"        THREAD 8a8e2b40  Cid 037c.03a4  Teb: 7ffde000 "
		"Win32Thread: 00000000 RUNNING on processor 1\n"
		"        ChildEBP RetAddr\n"
		"        f6b3dd08 804e2d34 MyService!Worker+0x44\n");

	assert_int_equal(a->processes.n, 1);
	assert_int_equal(a->processes.v[0].active_threads, 2);
	assert_int_equal(a->threads.n, 2);
	assert_string_equal(thread(a, 0)->wait_reason, "WrQueue");
	assert_string_equal(thread(a, 0)->process, "MyService.exe");
	assert_string_equal(thread(a, 0)->waited_objects.v[0],
			    "8a8f6e80 QueueObject");
	assert_string_equal(thread(a, 1)->state, "RUNNING");
	assert_sym(frame(a, 1, 0), "MyService", "Worker", 0x44);
	analysis_destroy(&a);
}

static void test_dbglog__vm_process_table(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> !vm\n"
		"\n"
		"*** Virtual Memory Usage ***\n"
		" Physical Memory:      999294 (   3997176 Kb)\n"
		" Page File: \\??\\C:\\pagefile.sys\n"
		"   Current:   5995520 Kb  Free Space:   5324040 Kb\n"
		" NonPagedPool Usage:    12304 (     49216 Kb)\n"
		" Total Private:        368810 (   1475240 Kb)\n"
		"         3654 explorer.exe      2083 (      8332 Kb)\n"
		"         037c MyService.exe     2082 (      8328 Kb)\n"
		"...\n"
		"         6ee8 cmd.exe              0 (         0 Kb)\n"
		"\n"
		"0: kd> !process 6ee8 0\n"
		"PROCESS 89237d88  SessionId: 0  Cid: 6ee8    Peb: 7ffde000  "
		"ParentCid: 037c\n"
		"    DirBase: f3b31940  ObjectTable: 00000000  "
		"HandleCount:   0.\n"
		"    Image: cmd.exe\n");
	const struct process *p;

	assert_int_equal(a->processes.n, 3);
	p = &a->processes.v[0];
	assert_string_equal(p->image, "explorer.exe");
	assert_int_equal(p->pid, 0x3654);
	assert_true(p->has_private);
	assert_int_equal(p->private_pages, 2083);
	/* The later !process block fills in the !vm entry. */
	p = &a->processes.v[2];
	assert_int_equal(p->pid, 0x6ee8);
	assert_int_equal(p->private_pages, 0);
	assert_true(p->object_table_null);
	assert_int_equal(p->ppid, 0x37c);
	assert_string_equal(model_field(a, "vm.NonPagedPool Usage"), "12304");
	analysis_destroy(&a);
}

static void test_dbglog__handle_tables(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> !kdexts.handle 0 3 037c\n"
		"Handle table at e272d000 with 500 Entries in use\n"
		"0484: Object: 89648020  GrantedAccess: 001f0fff "
		"Entry: e1caf908\n"
		"Object: 89648020  Type: (8ad84900) Process\n"
		"    ObjectHeader: 89648008 (old version)\n"
		"        HandleCount: 1  PointerCount: 2\n"
		"\n"
		"0510: Object: 89237d88  GrantedAccess: 001f0fff "
		"Entry: e1cafa20\n"
		"Object: 89237d88  Type: (8ad84900) Process\n"
		"\n"
		"0:000> !handle\n"
		"67 Handles\n"
		"Type           \tCount\n"
		"Event          \t18\n"
		"File           \t7\n");

	assert_int_equal(a->handle_types.n, 3);
	assert_string_equal(a->handle_types.v[0].type, "Process");
	assert_int_equal(a->handle_types.v[0].count, 2);
	assert_string_equal(a->handle_types.v[1].type, "Event");
	assert_int_equal(a->handle_types.v[1].count, 18);
	analysis_destroy(&a);
}

/* mex output: !di, a !t thread header and its stack. */
static void test_dbglog__mex_thread_and_bugcheck(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"0: kd> !di\n"
		"SystemManufacturer = Microsoft Corporation\n"
		"SystemProductName = Virtual Machine\n"
		"Bugcheck: 19 (22, FFFFBD06D46E0000, 1, 0)\n"
		"\n"
		"0: kd> !mex.t ffffdf821f4b8040\n"
		"Process                   Thread                       "
		"CID       UserTime KernelTime ContextSwitches Wait Reason   "
		"Time State\n"
		"System (ffffdf8215882040) ffffdf821f4b8040 (E|K|W|R|V) 4.3304"
		"           0          0              18 WrResource  3s.218 "
		"Waiting\n"
		"\n"
		"WaitBlockList:\n"
		"    Object           Type                 Other Waiters\n"
		"    ffffdc8b3e30f230 SynchronizationEvent             0\n"
		"\n"
		"# Child-SP         Return           Call Site\n"
		"0 ffffdc8b3e30edd0 fffff80280a0c800 nt!KiSwapContext+0x76\n"
		"1 ffffdc8b3e30ef10 fffff80280a0bd2f nt!KiSwapThread+0x500\n");
	const struct thread *t = thread(a, 0);

	assert_true(a->bugcheck.present);
	assert_int_equal(a->bugcheck.code, 0x19);
	assert_int_equal(a->bugcheck.args[1], 0xFFFFBD06D46E0000ULL);
	assert_string_equal(a->system.system_product, "Virtual Machine");
	assert_int_equal(t->id, 0x3304);
	assert_string_equal(t->state, "WAIT");
	assert_string_equal(t->wait_reason, "WrResource");
	assert_string_equal(t->process, "System");
	assert_int_equal(t->waited_objects.n, 1);
	assert_int_equal(t->frames.n, 2);
	/* A waiting thread did not crash. */
	assert_int_equal(a->crash.crashing_thread, -1);
	analysis_destroy(&a);
}

/* EMS/SAC console: the stop code in XML, parameters as lines. */
static void test_dbglog__sac_bluescreen(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"<?xml><BP>\n"
		"<INSTANCE CLASSNAME=\"BLUESCREEN\">\n"
		"<PROPERTY NAME=\"STOPCODE\" TYPE=\"string\"><VALUE>\"0x7F\""
		"</VALUE></PROPERTY><machine-info>\n"
		"<processor-architecture>AMD64</processor-architecture>\n"
		"<os-build-number>19041</os-build-number>\n"
		"</INSTANCE>\n"
		"If you call a support person, give them this info:\n"
		"UNEXPECTED_KERNEL_MODE_TRAP\n"
		"\n"
		"0x0000000000000008\n"
		"0xFFFF8180E4C8DE50\n"
		"0xFFFFFE0C4FF40FD0\n"
		"0xFFFFF8016160B390\n");

	static const char marker[] = "<INSTANCE CLASSNAME=\"BLUESCREEN\">";

	assert_true(dbglog_probe((const uint8_t *)marker, strlen(marker)));
	assert_int_equal(a->bugcheck.code, 0x7f);
	assert_string_equal(a->bugcheck.name, "UNEXPECTED_KERNEL_MODE_TRAP");
	assert_int_equal(a->bugcheck.args[0], 8);
	assert_int_equal(a->bugcheck.args[3], 0xFFFFF8016160B390ULL);
	assert_string_equal(a->system.cpu_arch, "amd64");
	assert_int_equal(a->system.build, 19041);
	analysis_destroy(&a);
}

/* ------------------------------------------------------------------ */
/* Messy input                                                         */
/* ------------------------------------------------------------------ */

static void test_dbglog__quoted_crlf_input(void **state)
{
	(void)state;
	struct analysis *a = parse(
		"> > 0: kd> !analyze -v\r\n"
		"> > BugCheck 19, {20, a34583b8, a34584f0, a270001}\r\n"
		"> >\r\n"
		"> > STACK_TEXT:\r\n"
		"> > b80a60cc 808927bb nt!KeBugCheckEx+0x1b\r\n"
		"> > b80a615c b957b954 driver+0x38400\r\n"
		"> >\r\n"
		"> > MODULE_NAME: driver\r\n"
		"1: kd&gt; k\r\n");

	assert_int_equal(a->bugcheck.code, 0x19);
	assert_int_equal(a->bugcheck.args[3], 0xa270001);
	assert_string_equal(model_field(a, "MODULE_NAME"), "driver");
	assert_int_equal(thread(a, 0)->frames.n, 2);
	assert_modoff(frame(a, 0, 1), "driver", 0x38400);
	analysis_destroy(&a);
}

static void test_dbglog__utf16_log(void **state)
{
	(void)state;
	static const char text[] = "kd> kb\nChildEBP RetAddr\n"
				   "f7054bc4 8093c55c nt!ObfReferenceObject+"
				   "0x1c\n";
	uint8_t buf[2 + 2 * sizeof(text)];
	struct analysis *a = analysis_new();

	buf[0] = 0xFF;
	buf[1] = 0xFE;
	for (size_t i = 0; i < sizeof(text) - 1; i++) {
		buf[2 + 2 * i] = (uint8_t)text[i];
		buf[3 + 2 * i] = 0;
	}
	assert_true(dbglog_probe(buf, 2 + 2 * (sizeof(text) - 1)));
	assert_int_equal(dbglog_read(a, buf, 2 + 2 * (sizeof(text) - 1)),
			 DF_OK);
	assert_sym(frame(a, 0, 0), "nt", "ObfReferenceObject", 0x1c);
	analysis_destroy(&a);
}

/* A line longer than DBGLOG_MAX_LINE is cut; the next line still counts. */
static void test_dbglog__long_line_is_cut(void **state)
{
	(void)state;
	size_t n = DBGLOG_MAX_LINE * 3;
	char *text = malloc(n + 64);
	struct analysis *a;

	memcpy(text, "MODULE_NAME: ", 13);
	memset(text + 13, 'a', n - 13);
	memcpy(text + n, "\nBUGCHECK_CODE: 50\n", 20);
	a = parse(text);
	assert_true(strlen(model_field(a, "MODULE_NAME")) < DBGLOG_MAX_LINE);
	assert_int_equal(a->bugcheck.code, 0x50);
	analysis_destroy(&a);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Caps                                                                */
/* ------------------------------------------------------------------ */

/* HEAD, then COUNT lines "<pre><8 hex digits, distinct><post>". */
static char *repeat_lines(const char *head, const char *pre,
			  const char *post, size_t count)
{
	size_t cap = strlen(head) + count * 96 + 1, len;
	char *s = malloc(cap);

	assert_non_null(s);
	len = (size_t)snprintf(s, cap, "%s", head);
	for (size_t i = 0; i < count; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%08X%s", pre,
					(unsigned)(0x10000000u + i * 16), post);
	return s;
}

static void test_dbglog__frame_cap(void **state)
{
	(void)state;
	char *s = repeat_lines("ChildEBP RetAddr\n", "",
			       " 80832f7a nt!KiSwapContext+0x26\n",
			       MODEL_MAX_FRAMES + 500);
	struct analysis *a = parse(s);

	assert_int_equal(thread(a, 0)->frames.n, MODEL_MAX_FRAMES);
	assert_int_equal(count_errors(a, DF_ELIMIT), 1);
	analysis_destroy(&a);
	free(s);
}

static void test_dbglog__thread_cap(void **state)
{
	(void)state;
	char *s = repeat_lines("", "THREAD ", "  Cid 0004.0010  READY\n",
			       MODEL_MAX_THREADS + 100);
	struct analysis *a = parse(s);

	assert_int_equal(a->threads.n, MODEL_MAX_THREADS);
	assert_int_equal(count_errors(a, DF_ELIMIT), 1);
	analysis_destroy(&a);
	free(s);
}

static void test_dbglog__field_cap(void **state)
{
	(void)state;
	char *s = repeat_lines("", "KEY_", ": v\n", MODEL_MAX_FIELDS + 50);
	struct analysis *a = parse(s);

	assert_int_equal(a->fields.n, MODEL_MAX_FIELDS);
	assert_int_equal(count_errors(a, DF_ELIMIT), 1);
	analysis_destroy(&a);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Samples: robustness sweeps and the expected facts                   */
/* ------------------------------------------------------------------ */

/* Every prefix of TEXT parses without a crash or a leak. */
static void sweep_prefixes(const char *text, size_t n)
{
	for (size_t k = 0; k <= n; k++) {
		struct analysis *a = analysis_new();
		uint8_t *copy = malloc(k > 0 ? k : 1);

		memcpy(copy, text, k);
		dbglog_read(a, copy, k);
		free(copy);
		analysis_destroy(&a);
	}
}

/* Deterministic byte mutations (no fuzzer needed to find the obvious). */
static void sweep_mutations(const char *text, size_t n, unsigned rounds)
{
	uint32_t x = 2463534242u;

	for (unsigned r = 0; r < rounds && n > 0; r++) {
		uint8_t *copy = malloc(n);
		struct analysis *a = analysis_new();

		memcpy(copy, text, n);
		for (int k = 0; k < 8; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			copy[x % n] = (uint8_t)(x >> 8);
		}
		dbglog_read(a, copy, n);
		free(copy);
		analysis_destroy(&a);
	}
}

/* Inputs the fuzzer found; each once read past the end of a line. */
static void test_dbglog__fuzz_regressions(void **state)
{
	(void)state;
	/* Only blanks between the '!' and a cut: read past the symbol. */
	struct analysis *a = parse("ChildEBP RetAddr\n"
				   "f7054bc4 8093c55c nt!  Thread: x\n"
				   "f7054bc8 8093c55c nt! \n");

	assert_int_equal(thread(a, 0)->frames.n, 2);
	assert_string_equal(frame(a, 0, 0)->module, "nt");
	assert_null(frame(a, 0, 0)->function);
	analysis_destroy(&a);
}

static void test_dbglog__truncation_sweep(void **state)
{
	(void)state;
	sweep_prefixes(old_analyze, strlen(old_analyze));
	sweep_prefixes(thread_block, strlen(thread_block));
	sweep_mutations(old_analyze, strlen(old_analyze), 2000);
}

static uint8_t *read_sample(const char *name, size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/samples/logs/%s", test_source_dir(),
		 name);
	return test_read_file(path, len);
}

/* The project's own samples, when the source tree is known. */
static bool samples_present(void)
{
	char path[4096];
	DIR *d;

	snprintf(path, sizeof(path), "%s/samples/logs", test_source_dir());
	d = opendir(path);
	if (d != NULL)
		closedir(d);
	return d != NULL;
}

struct sample_fact {
	const char *file;
	uint32_t bugcheck; /* 0: none */
	const char *blame;
	const char *top_module; /* first frame of the crashing thread */
};

static const struct sample_fact sample_facts[] = {
	{ "kernel_c2_acmenet_double_free.log", 0xC2, "acmenet", "nt" },
	{ "kernel_c2_acmenet_repeat_quoted_crlf.log", 0xC2, "acmenet", "nt" },
	{ "kernel_d1_wwfilter_x64.log", 0xD1, "wwfilter", "nt" },
	{ "kernel_8e_acmevid_x86_xp.log", 0x1000008E, "acmevid", "acmevid" },
	{ "kernel_50_contosoav_vmware_guest.log", 0x50, "contosoav", "nt" },
	{ "user_av_orderproc_selfdump.log", 0, "orderproc", "orderproc" },
};

static void test_dbglog__samples(void **state)
{
	(void)state;
	if (!samples_present())
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(sample_facts); i++) {
		const struct sample_fact *s = &sample_facts[i];
		size_t len;
		uint8_t *buf = read_sample(s->file, &len);
		struct analysis *a = NULL;

		if (buf == NULL)
			fail_msg("sample %s missing", s->file);
		assert_int_equal(analysis_detect_format(buf, len),
				 FORMAT_DEBUGGER_LOG);
		assert_int_equal(analysis_run(&a, buf, len, NULL), DF_OK);
		assert_int_equal(a->bugcheck.present, s->bugcheck != 0);
		assert_int_equal(a->bugcheck.code, s->bugcheck);
		assert_non_null(a->blame_module);
		assert_string_equal(a->blame_module, s->blame);
		const struct thread *ct = model_crashing_thread(a);

		assert_non_null(ct);
		assert_string_equal(ct->frames.v[0].module, s->top_module);
		assert_int_equal(a->errors.n, 0);
		sweep_prefixes((const char *)buf, len < 6000 ? len : 6000);
		sweep_mutations((const char *)buf, len, 200);
		analysis_destroy(&a);
		free(buf);
	}
}

/* The repeat of the acmenet crash has the same stack: one signature. */
static void test_dbglog__samples_share_a_stack(void **state)
{
	(void)state;
	size_t l1, l2;

	if (!samples_present())
		skip();
	uint8_t *b1 = read_sample(sample_facts[0].file, &l1);
	uint8_t *b2 = read_sample(sample_facts[1].file, &l2);
	struct analysis *a1 = NULL, *a2 = NULL;

	assert_non_null(b1);
	assert_non_null(b2);
	analysis_run(&a1, b1, l1, NULL);
	analysis_run(&a2, b2, l2, NULL);
	const struct thread *t1 = model_crashing_thread(a1);
	const struct thread *t2 = model_crashing_thread(a2);

	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_equal(t1->frames.n, t2->frames.n);
	for (size_t i = 0; i < t1->frames.n; i++) {
		const struct frame *f1 = &t1->frames.v[i];
		const struct frame *f2 = &t2->frames.v[i];

		assert_string_equal(f1->module, f2->module);
		assert_int_equal(f1->function == NULL, f2->function == NULL);
		if (f1->function != NULL)
			assert_string_equal(f1->function, f2->function);
		assert_int_equal(f1->module_offset, f2->module_offset);
	}
	assert_int_not_equal(a1->bugcheck.args[3], a2->bugcheck.args[3]);
	assert_int_not_equal(a1->crash_time, a2->crash_time);
	if (a1->signature_hash[0] != '\0')
		assert_string_equal(a1->signature_hash, a2->signature_hash);
	analysis_destroy(&a1);
	analysis_destroy(&a2);
	free(b1);
	free(b2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dbglog__probe_accepts_debugger_output),
		cmocka_unit_test(test_dbglog__probe_rejects_binary_and_prose),
		cmocka_unit_test(test_dbglog__read_rejects_binary),
		cmocka_unit_test(test_dbglog__x86_kb_args_to_child),
		cmocka_unit_test(test_dbglog__x64_child_sp_with_args),
		cmocka_unit_test(test_dbglog__kn_numbered_with_inline_frames),
		cmocka_unit_test(test_dbglog__bare_addresses_and_old_offsets),
		cmocka_unit_test(test_dbglog__typographic_times_offsets),
		cmocka_unit_test(test_dbglog__user_thread_list),
		cmocka_unit_test(
			test_dbglog__bugcheck_line_and_probably_caused_by),
		cmocka_unit_test(test_dbglog__blog_heading_is_not_a_bugcheck),
		cmocka_unit_test(test_dbglog__old_analyze_title_and_arguments),
		cmocka_unit_test(test_dbglog__new_analyze_fields),
		cmocka_unit_test(test_dbglog__user_mode_exception_analysis),
		cmocka_unit_test(test_dbglog__first_analysis_wins),
		cmocka_unit_test(test_dbglog__fatal_system_error),
		cmocka_unit_test(test_dbglog__banner_x86),
		cmocka_unit_test(test_dbglog__banner_x64_with_zone),
		cmocka_unit_test(test_dbglog__lm_module_lists),
		cmocka_unit_test(test_dbglog__sysinfo_machineid),
		cmocka_unit_test(test_dbglog__process_blocks),
		cmocka_unit_test(test_dbglog__thread_block),
		cmocka_unit_test(test_dbglog__thread_listed_twice),
		cmocka_unit_test(test_dbglog__process_with_threads),
		cmocka_unit_test(test_dbglog__vm_process_table),
		cmocka_unit_test(test_dbglog__handle_tables),
		cmocka_unit_test(test_dbglog__mex_thread_and_bugcheck),
		cmocka_unit_test(test_dbglog__sac_bluescreen),
		cmocka_unit_test(test_dbglog__quoted_crlf_input),
		cmocka_unit_test(test_dbglog__utf16_log),
		cmocka_unit_test(test_dbglog__long_line_is_cut),
		cmocka_unit_test(test_dbglog__frame_cap),
		cmocka_unit_test(test_dbglog__thread_cap),
		cmocka_unit_test(test_dbglog__field_cap),
		cmocka_unit_test(test_dbglog__fuzz_regressions),
		cmocka_unit_test(test_dbglog__truncation_sweep),
		cmocka_unit_test(test_dbglog__samples),
		cmocka_unit_test(test_dbglog__samples_share_a_stack),
	};

	return cmocka_run_group_tests_name("dbglog", tests, NULL, NULL);
}
