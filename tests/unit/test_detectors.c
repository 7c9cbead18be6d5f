/*
 * detectors: virtualized-system, dynamic-memory-corruption,
 * heap-corruption, self-dump and message-box on hand-built models
 * (positive and negative cases), and on the seed's own WinDbg output run
 * through the whole pipeline (analysis_run and the debugger-log reader).
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

/* Give T own_frames (walked from its own context) from specs. */
static void add_own_frames(struct analysis *a, struct thread *t,
			   const char *const *specs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		test_fill_frame(a, model_add_own_frame(a, t), specs[i],
				i == 0 ? TRUST_CONTEXT : TRUST_PREWALKED);
}

static const char *const my_ids[] = {
	"virtualized-system", "dynamic-memory-corruption", "heap-corruption",
	"self-dump",	      "message-box",
};

/* ---- the registry -------------------------------------------------------- */

static void test_detectors__registry_has_mine(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(my_ids); i++) {
		const struct detector *d = detect_find(my_ids[i]);

		assert_non_null(d);
		assert_string_equal(d->id, my_ids[i]);
		assert_non_null(d->title);
		assert_non_null(d->run);
	}
	assert_null(detect_find("no-such-pattern"));
}

/* Every detector: unique id, and nothing found in an empty model. */
static void test_detectors__empty_model_finds_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < detector_table_len; i++) {
		struct analysis *a = analysis_new();

		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(detector_table[i]->id,
						detector_table[j]->id);
		assert_int_equal(detector_table[i]->run(a), DF_OK);
		assert_int_equal(a->findings.n, 0);
		analysis_destroy(&a);
	}
}

/* ---- virtualized-system -------------------------------------------------- */

static void test_virtualized__xen_system_info(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->system.bios_vendor = "Xen";
	a->system.system_manufacturer = "Xen";
	a->system.system_product = "HVM domU";
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_non_null(strstr(f->title, "Xen"));
	assert_evidence(f, "Xen: system information");
	assert_evidence(f, "HVM domU");
	analysis_destroy(&a);
}

static void test_virtualized__vmware_modules(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	test_add_module(a, "ntoskrnl.exe", 0x80000000, 0x10000);
	test_add_module(a, "vmhgfs.sys", 0x90000000, 0x10000);
	test_add_module(a, "vmxnet3.sys", 0x90100000, 0x10000);
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_non_null(strstr(f->title, "VMware"));
	assert_evidence(f, "driver vmhgfs loaded");
	assert_evidence(f, "driver vmxnet3 loaded");
	analysis_destroy(&a);
}

static void test_virtualized__hyperv_fields(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	model_add_field(a, "SYSTEM_MANUFACTURER", "Microsoft Corporation");
	model_add_field(a, "SYSTEM_PRODUCT_NAME", "Virtual Machine");
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_non_null(strstr(f->title, "Hyper-V"));
	assert_evidence(f, "!analyze machine fields");
	analysis_destroy(&a);
}

static void test_virtualized__virtual_machine_key(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	model_add_field(a, "VIRTUAL_MACHINE", "HyperV");
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_evidence(f, "VIRTUAL_MACHINE: HyperV");
	analysis_destroy(&a);
}

/* Without a reader: the "Key = Value" lines of !sysinfo machineid. */
static void test_virtualized__machineid_text(void **state)
{
	static const char log[] =
		"kd> !sysinfo machineid\n"
		"Machine ID Information [From Smbios 2.4, DMIVersion 36, "
		"Size=348]\n"
		"BiosVendor = Xen\n"
		"SystemManufacturer = Xen\r\n"
		"SystemProductName = HVM domU\n";
	struct analysis *a = analysis_new();

	(void)state;
	test_set_text(a, log);
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_evidence(f, "!sysinfo machineid");
	assert_evidence(f, "product \"HVM domU\"");
	analysis_destroy(&a);
}

static void test_virtualized__other_hypervisors(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_module(a, "VBoxGuest.sys", 0x90000000, 0x10000);
	f = test_detect(a, "virtualized-system");
	assert_non_null(f);
	assert_non_null(strstr(f->title, "VirtualBox"));
	analysis_destroy(&a);

	a = analysis_new();
	a->system.system_manufacturer = "QEMU";
	a->system.system_product = "Standard PC (Q35 + ICH9, 2009)";
	f = test_detect(a, "virtualized-system");
	assert_non_null(f);
	assert_non_null(strstr(f->title, "KVM/QEMU"));
	analysis_destroy(&a);

	a = analysis_new();
	test_add_module(a, "viostor.sys", 0x90000000, 0x10000);
	f = test_detect(a, "virtualized-system");
	assert_non_null(f);
	assert_evidence(f, "KVM/QEMU: driver viostor loaded");
	analysis_destroy(&a);
}

/* A stack-only log names the paravirtual drivers in its frames. */
static void test_virtualized__modules_on_stack(void **state)
{
	static const char *const stack[] = { "nt!KeBugCheckEx",
					     "xenvbd+0x1234", "xenvbd+0x2000",
					     "storport!RaidpAdapterDpc" };
	struct analysis *a = analysis_new();

	(void)state;
	test_add_thread(a, 1, stack, ARRAY_SIZE(stack), TRUST_CONTEXT);
	a->crash.crashing_thread = 0;
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_int_equal(f->evidence.n, 1); /* xenvbd once */
	assert_evidence(f, "Xen: driver xenvbd");
	analysis_destroy(&a);
}

/* vmci also loads on VMware hosts: reported, with less confidence. */
static void test_virtualized__host_ambiguous_driver(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	test_add_module(a, "vmci.sys", 0x90000000, 0x10000);
	const struct finding *f = test_detect(a, "virtualized-system");

	assert_non_null(f);
	assert_true(f->confidence < 90);
	analysis_destroy(&a);
}

static void test_virtualized__physical_machine(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->system.bios_vendor = "Dell Inc.";
	a->system.system_manufacturer = "Dell Inc.";
	a->system.system_product = "OptiPlex 7070";
	test_add_module(a, "ntoskrnl.exe", 0x80000000, 0x10000);
	test_add_module(a, "e1g60i32.sys", 0x90000000, 0x10000);
	/* Host-side hypervisor drivers do not make this machine a guest. */
	test_add_module(a, "VBoxDrv.sys", 0x91000000, 0x10000);
	test_add_module(a, "vmx86.sys", 0x92000000, 0x10000);
	test_add_module(a, "winhv.sys", 0x93000000, 0x10000);
	assert_null(test_detect(a, "virtualized-system"));
	analysis_destroy(&a);

	a = analysis_new();
	a->system.system_manufacturer = "Microsoft Corporation";
	a->system.system_product = "Surface Pro 7";
	assert_null(test_detect(a, "virtualized-system"));
	analysis_destroy(&a);

	/* A URL or a word in prose is not a machine ID line. */
	a = analysis_new();
	test_set_text(a, "# source: https://github.com/x/VmwareHardenedLoader\n"
		    "Running on VMware is not supported.\n");
	assert_null(test_detect(a, "virtualized-system"));
	analysis_destroy(&a);
}

/* ---- dynamic-memory-corruption ------------------------------------------- */

static void test_dynmem__bad_pool_header_subtype(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->bugcheck.present = true;
	a->bugcheck.code = 0x19;
	a->bugcheck.args[0] = 0x20;
	a->bugcheck.args[1] = 0xa34583b8;
	a->blame_module = "driver";
	a->blame_reason = "MODULE_NAME in !analyze output";
	const struct finding *f = test_detect(a, "dynamic-memory-corruption");

	assert_non_null(f);
	assert_evidence(f, "BAD_POOL_HEADER");
	assert_evidence(f, "a pool block header size is corrupt");
	assert_evidence(f, "suspect module: driver");
	analysis_destroy(&a);
}

static void test_dynmem__bad_pool_caller_double_free(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->bugcheck.present = true;
	a->bugcheck.code = 0xC2;
	a->bugcheck.args[0] = 7;
	const struct finding *f = test_detect(a, "dynamic-memory-corruption");

	assert_non_null(f);
	assert_evidence(f, "attempt to free pool which was already freed");
	assert_true(f->confidence >= 80);
	analysis_destroy(&a);

	/* Allocating at a bad IRQL is a bad request, not a corrupt pool. */
	a = analysis_new();
	a->bugcheck.present = true;
	a->bugcheck.code = 0xC2;
	a->bugcheck.args[0] = 8;
	f = test_detect(a, "dynamic-memory-corruption");
	assert_non_null(f);
	assert_true(f->confidence < 80);
	analysis_destroy(&a);
}

static void test_dynmem__other_pool_bugchecks(void **state)
{
	static const uint32_t codes[] = { 0xC5, 0xDE, 0xD0, 0xD6, 0xCD,
					  0xC6, 0xC1, 0xD5, 0xCC, 0x13A };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		struct analysis *a = analysis_new();

		a->bugcheck.present = true;
		a->bugcheck.code = codes[i];
		assert_non_null(test_detect(a, "dynamic-memory-corruption"));
		analysis_destroy(&a);
	}
}

static void test_dynmem__kernel_heap_type(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->bugcheck.present = true;
	a->bugcheck.code = 0x13A;
	a->bugcheck.args[0] = 0x12;
	a->bugcheck.args[1] = 0xffffe2808c200140;
	const struct finding *f = test_detect(a, "dynamic-memory-corruption");

	assert_non_null(f);
	assert_evidence(f, "KERNEL_MODE_HEAP_CORRUPTION");
	assert_evidence(f, "VS subsegment corruption");
	assert_evidence(f, "heap 0xffffe2808c200140");
	analysis_destroy(&a);
}

/* !pool output proves corruption even under another bugcheck. */
static void test_dynmem__pool_text(void **state)
{
	static const char log[] =
		"1: kd> !pool a34583b8\n"
		"Pool page a34583b8 region is Nonpaged pool\n"
		"*a34583b8 size:  138 previous size:    8  (Allocated) *DRIV\n"
		"Pool page [ a3458000 ] is __inVALID.\n";
	struct analysis *a = analysis_new();

	(void)state;
	a->bugcheck.present = true;
	a->bugcheck.code = 0x1E;
	test_set_text(a, log);
	const struct finding *f = test_detect(a, "dynamic-memory-corruption");

	assert_non_null(f);
	assert_evidence(f, "Pool page [ a3458000 ] is __inVALID.");
	analysis_destroy(&a);
}

static void test_dynmem__not_pool(void **state)
{
	static const char log[] =
		"0: kd> !pool ffff80091002ac08\n"
		"Pool page ffff80091002ac08 region is Unknown\n"
		"ffff80091002ac08 is not a valid small pool allocation\n"
		"The object name [ foo ] is INVALID.\n";
	struct analysis *a = analysis_new();

	(void)state;
	a->bugcheck.present = true;
	a->bugcheck.code = 0xD1;
	test_set_text(a, log);
	assert_null(test_detect(a, "dynamic-memory-corruption"));
	analysis_destroy(&a);

	/* User-mode heap corruption is not kernel pool corruption. */
	a = analysis_new();
	a->crash.present = true;
	a->crash.has_code = true;
	a->crash.code = 0xC0000374;
	assert_null(test_detect(a, "dynamic-memory-corruption"));
	analysis_destroy(&a);
}

/* ---- heap-corruption ----------------------------------------------------- */

static void test_heap__status_heap_corruption(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	a->crash.present = true;
	a->crash.has_code = true;
	a->crash.code = 0xC0000374;
	const struct finding *f = test_detect(a, "heap-corruption");

	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "0xC0000374");
	analysis_destroy(&a);
}

static void test_heap__failure_frames(void **state)
{
	static const char *const stack[] = {
		"ntdll!RtlReportCriticalFailure+0x56",
		"ntdll!RtlpHeapHandleError+0x12",
		"ntdll!RtlpLogHeapFailure+0x45",
		"ntdll!RtlFreeHeap+0x51",
		"app+0x39a220",
	};
	struct analysis *a = analysis_new();

	(void)state;
	test_add_thread(a, 0x4f40, stack, ARRAY_SIZE(stack), TRUST_CONTEXT);
	a->crash.crashing_thread = 0;
	const struct finding *f = test_detect(a, "heap-corruption");

	assert_non_null(f);
	assert_evidence(f, "thread 0 (id 0x4f40), the crashing thread: frame 1 "
			   "ntdll!RtlpHeapHandleError");
	analysis_destroy(&a);
}

static void test_heap__debug_output_text(void **state)
{
	static const char log[] =
		"0:000> g\n"
		"HEAP[malloc.exe]: Invalid address specified to RtlFreeHeap( "
		"01A80000, 01D405B8 )\n"
		"(c50.8d4): Break instruction exception - code 80000003 "
		"(first chance)\n";
	struct analysis *a = analysis_new();

	(void)state;
	test_set_text(a, log);
	const struct finding *f = test_detect(a, "heap-corruption");

	assert_non_null(f);
	assert_evidence(f, "Invalid address specified to RtlFreeHeap");
	analysis_destroy(&a);
}

static void test_heap__bucket_field(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	model_add_field(a, "FAILURE_BUCKET_ID",
			"HEAP_CORRUPTION_c0000374_app.exe!Foo");
	const struct finding *f = test_detect(a, "heap-corruption");

	assert_non_null(f);
	assert_evidence(f, "FAILURE_BUCKET_ID");
	analysis_destroy(&a);
}

static void test_heap__negatives(void **state)
{
	static const char *const stack[] = { "ntdll!RtlpFreeHeap+0x74",
					     "ntdll!RtlFreeHeap+0x51",
					     "ntdll!CheckHeapFillPattern+0x64",
					     "app!main" };
	struct analysis *a = analysis_new();

	(void)state;
	/* Kernel heap corruption is a bugcheck: dynamic-memory-corruption. */
	a->bugcheck.present = true;
	a->bugcheck.code = 0x13A;
	model_add_field(a, "FAILURE_BUCKET_ID",
			"0x13A_12_DRV_HEAP_CORRUPTION");
	test_set_text(a, "KERNEL_MODE_HEAP_CORRUPTION (13a)\n");
	assert_null(test_detect(a, "heap-corruption"));
	analysis_destroy(&a);

	/* Heap calls on the stack of a plain access violation. */
	a = analysis_new();
	a->crash.present = true;
	a->crash.has_code = true;
	a->crash.code = 0xC0000005;
	test_add_thread(a, 1, stack, ARRAY_SIZE(stack), TRUST_CONTEXT);
	a->crash.crashing_thread = 0;
	test_set_text(a, "HEAP[0] = 1\nntdll!RtlFreeHeap+0x51\n");
	assert_null(test_detect(a, "heap-corruption"));
	analysis_destroy(&a);
}

/* ---- self-dump ----------------------------------------------------------- */

static void test_selfdump__minidumpwritedump_frame(void **state)
{
	static const char *const main_stack[] = { "app!Crash", "app!main" };
	static const char *const writer[] = {
		"ntdll!ZwWriteFile+0xc",
		"dbghelp!MiniDumpWriteDump+0x1b2",
		"app!write_problem_report+0x18d1",
	};
	struct analysis *a = analysis_new();

	(void)state;
	test_add_thread(a, 0x100, main_stack, ARRAY_SIZE(main_stack), TRUST_CONTEXT);
	test_add_thread(a, 0xcb0, writer, ARRAY_SIZE(writer), TRUST_CONTEXT);
	a->crash.crashing_thread = 0;
	const struct finding *f = test_detect(a, "self-dump");

	assert_non_null(f);
	assert_evidence(f, "thread 1 (id 0xcb0): frame 1 "
			   "dbghelp!MiniDumpWriteDump");
	analysis_destroy(&a);
}

/* Minidump without symbols: return addresses into dbgcore.dll. */
static void test_selfdump__module_frames(void **state)
{
	static const char *const scanned[] = { "ntdll.dll+0x9d084",
					       "scan:kernelbase.dll+0x3e2a",
					       "scan:dbgcore.dll+0x6a80",
					       "scan:dbgcore.dll+0x2a040" };
	static const char *const inside[] = { "dbgcore.dll+0x2a000",
					      "app.exe+0x1000" };
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_thread(a, 12152, scanned, ARRAY_SIZE(scanned), TRUST_CONTEXT);
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 75);
	assert_evidence(f, "frame 2 dbgcore.dll+0x6a80 (return address found "
			   "by stack scan); more such");
	analysis_destroy(&a);

	a = analysis_new();
	test_add_thread(a, 7, inside, ARRAY_SIZE(inside), TRUST_CONTEXT);
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_true(f->confidence >= 90);
	assert_evidence(f, "instruction pointer");
	analysis_destroy(&a);
}

static void test_selfdump__crash_handlers(void **state)
{
	static const char *const breakpad[] = {
		"ntdll!NtWaitForSingleObject",
		("app!google_breakpad::ExceptionHandler::"
		 "WriteMinidumpWithException+0x1f"),
		"app!google_breakpad::ExceptionHandler::HandleException",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_add_thread(a, 5, breakpad, ARRAY_SIZE(breakpad), TRUST_CONTEXT);
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_evidence(f, "Breakpad");
	analysis_destroy(&a);

	/* Breakpad's info stream: the handler thread, left out of the list. */
	a = analysis_new();
	a->has_dump_thread_id = true;
	a->dump_thread_id = 5152;
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 90);
	assert_evidence(f, "dump written by Breakpad's in-process exception "
			   "handler on thread id 0x1420 (5152)");
	analysis_destroy(&a);

	/* A field of that name is no longer read: the model field is. */
	a = analysis_new();
	model_add_field(a, "BREAKPAD_DUMP_THREAD_ID", "5152");
	a->dump_thread_id = 5152; /* without has_dump_thread_id: not valid */
	assert_null(test_detect(a, "self-dump"));
	analysis_destroy(&a);
}

/*
 * The crashing thread wrote the dump itself: its frames start at the
 * exception context and only the walk from its own context shows the
 * writer.
 */
static void test_selfdump__own_frames(void **state)
{
	static const char *const exc[] = { "app.exe+0x2222",
					   "app.exe+0x1111",
					   "kernel32.dll+0x16fd7" };
	static const char *const scanned[] = { "ntdll.dll+0x9d084",
					       "scan:kernelbase.dll+0x3e2a",
					       "scan:dbghelp.dll+0x7e4ec",
					       "scan:dbghelp.dll+0x6cccd" };
	static const char *const inside[] = { "dbgcore.dll+0x2a0c4",
					      "ntdll.dll+0x1234" };
	static const char *const named[] = {
		"ntdll!NtWriteFile+0x14",
		"dbgcore!MiniDumpWriteDump+0x1b2",
		"app!UnhandledFilter+0x40",
	};
	struct analysis *a = analysis_new();
	const struct finding *f;
	struct thread *t;

	(void)state;
	test_add_thread(a, 0x10, exc, 1, TRUST_CONTEXT);
	t = test_add_thread(a, 0x2884, exc, ARRAY_SIZE(exc), TRUST_CONTEXT);
	add_own_frames(a, t, scanned, ARRAY_SIZE(scanned));
	a->crash.crashing_thread = 1;
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 75);
	assert_evidence(f, "thread 1 (id 0x2884), the crashing thread: walked "
			   "from its own context (not the exception's), "
			   "frame 2 dbghelp.dll+0x7e4ec (return address found "
			   "by stack scan); more such addresses");
	analysis_destroy(&a);

	/* Its own instruction pointer inside dbgcore. */
	a = analysis_new();
	t = test_add_thread(a, 7, exc, ARRAY_SIZE(exc), TRUST_CONTEXT);
	add_own_frames(a, t, inside, ARRAY_SIZE(inside));
	a->crash.crashing_thread = 0;
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 90);
	assert_evidence(f, "own context (not the exception's), frame 0 "
			   "dbgcore.dll+0x2a0c4 (instruction pointer)");
	analysis_destroy(&a);

	/* A symbolic MiniDumpWriteDump among its own frames. */
	a = analysis_new();
	t = test_add_thread(a, 7, exc, ARRAY_SIZE(exc), TRUST_CONTEXT);
	add_own_frames(a, t, named, ARRAY_SIZE(named));
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_int_equal(f->confidence, 95);
	assert_evidence(f, "frame 1 dbgcore!MiniDumpWriteDump "
			   "(DbgHelp MiniDumpWriteDump)");
	analysis_destroy(&a);

	/* The same frame among the exception frames is named as before. */
	a = analysis_new();
	t = test_add_thread(a, 7, named, ARRAY_SIZE(named), TRUST_CONTEXT);
	add_own_frames(a, t, named, ARRAY_SIZE(named));
	f = test_detect(a, "self-dump");
	assert_non_null(f);
	assert_evidence(f, "thread 0 (id 0x7): frame 1 "
			   "dbgcore!MiniDumpWriteDump");
	assert_false(test_evidence_has(f, "own context"));
	analysis_destroy(&a);
}

static void test_selfdump__own_frames_negatives(void **state)
{
	static const char *const exc[] = { "app.exe+0x2222",
					   "app.exe+0x1111" };
	/* A thread waiting in ntdll, ordinary modules on its stack. */
	static const char *const ordinary[] = {
		"ntdll.dll+0x9d084",	 "scan:kernelbase.dll+0x3e2a",
		"scan:app.exe+0x1ca0",	 "scan:ucrtbase.dll+0x1dcce",
		"user32.dll+0x19e6a",
	};
	/* dbghelp's base and header page: HMODULEs, no return addresses. */
	static const char *const headers[] = { "ntdll.dll+0x9d084",
					       "scan:dbghelp.dll+0x0",
					       "scan:dbgcore.dll+0x108",
					       "scan:dbghelp.dll+0xff8" };
	struct analysis *a = analysis_new();
	struct thread *t;

	(void)state;
	/* loaded is not enough */
	test_add_module(a, "dbghelp.dll", 0x74330000, 0x10000);
	t = test_add_thread(a, 1, exc, ARRAY_SIZE(exc), TRUST_CONTEXT);
	add_own_frames(a, t, ordinary, ARRAY_SIZE(ordinary));
	a->crash.crashing_thread = 0;
	assert_null(test_detect(a, "self-dump"));
	analysis_destroy(&a);

	a = analysis_new();
	t = test_add_thread(a, 1, exc, ARRAY_SIZE(exc), TRUST_CONTEXT);
	add_own_frames(a, t, headers, ARRAY_SIZE(headers));
	a->crash.crashing_thread = 0;
	assert_null(test_detect(a, "self-dump"));
	analysis_destroy(&a);
}

static void test_selfdump__negatives(void **state)
{
	/* Breakpad's handler thread waiting for a crash that never came. */
	static const char *const idle[] = {
		"ntdll!NtWaitForSingleObject+0xc",
		"kernelbase!WaitForSingleObjectEx+0x98",
		("app!google_breakpad::ExceptionHandler::"
		 "ExceptionHandlerThreadMain+0x7f"),
	};
	/* A scanned HMODULE of dbghelp (its base) is no return address. */
	static const char *const other[] = { "user32.dll+0x19e6a",
					     "scan:ntdll.dll+0x1000",
					     "scan:dbghelp.dll+0x0",
					     "scan:dbgcore.dll+0x100" };
	struct analysis *a = analysis_new();

	(void)state;
	/* loaded is not enough */
	test_add_module(a, "dbghelp.dll", 0x74330000, 0x10000);
	test_add_thread(a, 1, idle, ARRAY_SIZE(idle), TRUST_CONTEXT);
	test_add_thread(a, 2, other, ARRAY_SIZE(other), TRUST_CONTEXT);
	test_set_text(a, "Loading Dump File [C:\\Windows\\Minidump\\x.dmp]\n");
	assert_null(test_detect(a, "self-dump"));
	analysis_destroy(&a);
}

/* ---- message-box --------------------------------------------------------- */

static void test_msgbox__frames_and_text(void **state)
{
	static const char *const stack[] = {
		"nt!KiSwapContext+0x2f",
		"USER32!NtUserWaitMessage+0xc",
		"USER32!InternalDialogBox+0xd0",
		"USER32!SoftModalMessageBox+0x938",
		"USER32!MessageBoxWorker+0x2ba",
		"USER32!MessageBoxTimeoutW+0x7a",
		"USER32!MessageBoxA+0x45",
		"0x88098a9",
	};
	static const char log[] =
		"0013f8e0 088098a9 USER32!MessageBoxA+0x45\n"
		"\n"
		"0: kd> dA 0013f944\n"
		"0013f944  \"Cannot contact database, Retry\"\n";
	struct analysis *a = analysis_new();

	(void)state;
	struct thread *t = test_add_thread(a, 0x88b14da8, stack,
					   ARRAY_SIZE(stack), TRUST_CONTEXT);

	t->process = "OUTLOOK.EXE";
	test_set_text(a, log);
	const struct finding *f = test_detect(a, "message-box");

	assert_non_null(f);
	assert_evidence(f, "thread 0 (id 0x88b14da8) of OUTLOOK.EXE: frame 6 "
			   "USER32!MessageBoxA");
	assert_evidence(f, "message text: \"Cannot contact database, Retry\"");
	analysis_destroy(&a);
}

static void test_msgbox__negatives(void **state)
{
	/* Return addresses into user32 are on every GUI thread. */
	static const char *const gui[] = { "user32.dll+0x19e6a",
					   "user32.dll+0x19e9e",
					   "calc.exe+0x1b5c" };
	static const char *const pump[] = { "USER32!NtUserGetMessage+0xc",
					    "USER32!GetMessageW+0x2b",
					    "USER32!DispatchMessageWorker",
					    "app!MainLoop" };
	struct analysis *a = analysis_new();

	(void)state;
	test_add_thread(a, 1, gui, ARRAY_SIZE(gui), TRUST_CONTEXT);
	test_add_thread(a, 2, pump, ARRAY_SIZE(pump), TRUST_CONTEXT);
	/* An import listing is not a stack. */
	test_set_text(a, "app imports USER32.dll!MessageBoxA\n");
	assert_null(test_detect(a, "message-box"));
	analysis_destroy(&a);
}

/* ---- the seed's own WinDbg output, through the debugger-log reader ------- */

/* Seed: "Memory Dumps from Xen-virtualized Windows". */
static const char seed_xen[] =
	"kd> !sysinfo machineid\n"
	"Machine ID Information [From Smbios 2.4, DMIVersion 36, Size=348]\n"
	"BiosMajorRelease = 3\n"
	"BiosMinorRelease = 1\n"
	"BiosVendor = Xen\n"
	"BiosVersion = 3.1.0\n"
	"SystemManufacturer = Xen\n"
	"SystemProductName = HVM domU\n"
	"SystemVersion = 3.1.0\n"
	"\n"
	"kd> lm m *xen*\n"
	"start end module name\n"
	"f6012000 f605f000 dump_xenvbd (deferred)\n"
	"f794b000 f795c000 xennet (deferred)\n"
	"f82c0000 f830d000 xenvbd (deferred)\n"
	"f845f000 f846b000 XENUTIL (deferred)\n"
	"f84cf000 f84db000 dump_XENUTIL (deferred)\n";

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
	"POOL_ADDRESS:  a34583b8 Nonpaged pool\n"
	"\n"
	"PROCESS_NAME:  process.exe\n"
	"\n"
	"CURRENT_IRQL:  2\n"
	"\n"
	"STACK_TEXT: \n"
	"b80a60cc 808927bb nt!KeBugCheckEx+0x1b\n"
	"b80a6134 80892b6f nt!ExFreePoolWithTag+0x477\n"
	"b80a6144 b9591400 nt!ExFreePool+0xf\n"
	"WARNING: Stack unwind information not available. Following frames "
	"may be wrong.\n"
	"b80a615c b957b954 driver+0x38400\n"
	"b80a617c b957d482 driver+0x22954\n"
	"b80a61c0 b957abf4 driver+0x24482\n"
	"\n"
	"MODULE_NAME: driver\n"
	"\n"
	"IMAGE_NAME:  driver.sys\n"
	"\n"
	"1: kd> !pool a34583b8\n"
	"Pool page a34583b8 region is Nonpaged pool\n"
	" a3458000 size:  270 previous size:    0  (Allocated)  Thre "
	"(Protected)\n"
	"*a34583b8 size:  138 previous size:    8  (Allocated) *DRIV\n"
	"  Owning component : Unknown (update pooltag.txt)\n"
	"a34584f0 is not a valid large pool allocation, checking large "
	"session pool...\n"
	"a34584f0 is freed (or corrupt) pool\n"
	"Bad allocation size @a34584f0, zero is invalid\n"
	"\n"
	"Pool page [ a3458000 ] is __inVALID.\n";

/* Seed: "Crash Dump Analysis Patterns (Part 52)" (excerpt; the "x" in
 * some offsets is the seed's U+00D7 multiplication sign). */
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
	"0151f14c 7c826d2b kernel32!MapViewOfFile+0x1b\n"
	"0151f1d4 028ca67c ntdll!ZwClose+0xc\n"
	"0151f2a4 028cc2f1 dbghelp!GenGetClrMemory+0xec\n"
	"0151f2b4 028c8e55 dbghelp!Win32LiveSystemProvider::CloseMapping+0"
	"\xc3\x97"
	"11\n"
	"0151f414 00000000 dbghelp!GenAllocateModuleObject+0\xc3\x97"
	"3c5\n"
	"\n"
	"0151f94c  0151f9c0\n"
	"0151f950  028c7662 dbghelp!MiniDumpWriteDump+0\xc3\x97"
	"1b2\n"
	"0151f954  ffffffff\n"
	"0151f97c  7c829f60 ntdll!CheckHeapFillPattern+0\xc3\x97"
	"64\n"
	"0151f984  7c829f59 ntdll!RtlFreeHeap+0\xc3\x97"
	"70f\n"
	"0151f9c4  57b77d01 application!write_problem_report+0\xc3\x97"
	"18d1\n";

/* Seed: "Crash Dump Analysis Patterns (Part 51)" (excerpt). */
static const char seed_message_box[] =
	"THREAD 88b14da8  Cid 0a04.0c14  Teb: 7ffdd000 Win32Thread: e5e50ab0 "
	"WAIT: (WrUserRequest) UserMode Non-Alertable\n"
	"    87b74358  SynchronizationEvent\n"
	"Owning Process            888ffb60       Image:         OUTLOOK.EXE\n"
	"ChildEBP RetAddr \n"
	"a0c97cc8 804e1bd2 nt!KiSwapContext+0x2f\n"
	"a0c97cd4 804e1c1e nt!KiSwapThread+0x8a\n"
	"a0c97cfc bf802f70 nt!KeWaitForSingleObject+0x1c2\n"
	"a0c97d38 bf803776 win32k!xxxSleepThread+0x192\n"
	"a0c97d4c bf803793 win32k!xxxRealWaitMessageEx+0x12\n"
	"a0c97d5c 804dd99f win32k!NtUserWaitMessage+0x14\n"
	"a0c97d5c 7c90eb94 nt!KiFastCallEntry+0xfc\n"
	"0013f3a8 7e419418 ntdll!KiFastSystemCallRet\n"
	"0013f3e0 7e42593f USER32!NtUserWaitMessage+0xc\n"
	"0013f408 7e43a91e USER32!InternalDialogBox+0xd0\n"
	"0013f6c8 7e43a284 USER32!SoftModalMessageBox+0x938\n"
	"0013f818 7e4661d3 USER32!MessageBoxWorker+0x2ba\n"
	"0013f870 7e466278 USER32!MessageBoxTimeoutW+0x7a\n"
	"0013f8a4 7e450617 USER32!MessageBoxTimeoutA+0x9c\n"
	"0013f8c4 7e4505cf USER32!MessageBoxExA+0x1b\n"
	"0013f8e0 088098a9 USER32!MessageBoxA+0x45\n"
	"\n"
	"0: kd> dA 0013f944\n"
	"0013f944  \"Cannot contact database, Retry\"\n";

static void test_seed__through_the_log_reader(void **state)
{
	struct analysis *a;
	const struct finding *f;

	(void)state;
	a = test_analyze(seed_xen);
	f = test_found(a, "virtualized-system");
	assert_non_null(f);
	assert_non_null(strstr(f->title, "Xen"));
	assert_null(test_found(a, "self-dump"));
	analysis_destroy(&a);

	a = test_analyze(seed_pool);
	f = test_found(a, "dynamic-memory-corruption");
	assert_non_null(f);
	assert_evidence(f, "a pool block header size is corrupt");
	assert_evidence(f, "is __inVALID");
	assert_evidence(f, "suspect module: driver");
	assert_null(test_found(a, "heap-corruption"));
	assert_null(test_found(a, "virtualized-system"));
	analysis_destroy(&a);

	a = test_analyze(seed_self_dump);
	f = test_found(a, "self-dump");
	assert_non_null(f);
	assert_evidence(f, "MiniDumpWriteDump");
	assert_null(test_found(a, "heap-corruption"));
	assert_null(test_found(a, "message-box"));
	analysis_destroy(&a);

	a = test_analyze(seed_message_box);
	f = test_found(a, "message-box");
	assert_non_null(f);
	assert_evidence(f, "MessageBoxA");
	assert_evidence(f, "Cannot contact database, Retry");
	assert_null(test_found(a, "self-dump"));
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detectors__registry_has_mine),
		cmocka_unit_test(test_detectors__empty_model_finds_nothing),
		cmocka_unit_test(test_virtualized__xen_system_info),
		cmocka_unit_test(test_virtualized__vmware_modules),
		cmocka_unit_test(test_virtualized__hyperv_fields),
		cmocka_unit_test(test_virtualized__virtual_machine_key),
		cmocka_unit_test(test_virtualized__machineid_text),
		cmocka_unit_test(test_virtualized__other_hypervisors),
		cmocka_unit_test(test_virtualized__modules_on_stack),
		cmocka_unit_test(test_virtualized__host_ambiguous_driver),
		cmocka_unit_test(test_virtualized__physical_machine),
		cmocka_unit_test(test_dynmem__bad_pool_header_subtype),
		cmocka_unit_test(test_dynmem__bad_pool_caller_double_free),
		cmocka_unit_test(test_dynmem__other_pool_bugchecks),
		cmocka_unit_test(test_dynmem__kernel_heap_type),
		cmocka_unit_test(test_dynmem__pool_text),
		cmocka_unit_test(test_dynmem__not_pool),
		cmocka_unit_test(test_heap__status_heap_corruption),
		cmocka_unit_test(test_heap__failure_frames),
		cmocka_unit_test(test_heap__debug_output_text),
		cmocka_unit_test(test_heap__bucket_field),
		cmocka_unit_test(test_heap__negatives),
		cmocka_unit_test(test_selfdump__minidumpwritedump_frame),
		cmocka_unit_test(test_selfdump__module_frames),
		cmocka_unit_test(test_selfdump__crash_handlers),
		cmocka_unit_test(test_selfdump__own_frames),
		cmocka_unit_test(test_selfdump__own_frames_negatives),
		cmocka_unit_test(test_selfdump__negatives),
		cmocka_unit_test(test_msgbox__frames_and_text),
		cmocka_unit_test(test_msgbox__negatives),
		cmocka_unit_test(test_seed__through_the_log_reader),
	};
	return cmocka_run_group_tests_name("detectors", tests, NULL, NULL);
}
