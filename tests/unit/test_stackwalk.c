/*
 * stackwalk: Breakpad's rules on hand-made stacks, one rule per test:
 * which caller each CPU's walk finds, with which trust, and where it stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "model.h"
#include "stackwalk.h"
#include "symbols.h"
#include "testutil.h"

#define STACK_VA 0x10000u
#define STACK_WORDS 512
#define MOD_BASE 0x400000u
#define MOD_END 0x40ffffu
#define DEBUG_ID "0123456789ABCDEF0123456789ABCDEF1"

struct fixture {
	struct analysis *a;
	char *dir;
	struct symstore *store;
	struct symsession *ss;
	uint8_t stack[STACK_WORDS * 8];
	uint64_t budget;
	struct sw_walk w;
	struct sw_frame out[64];
};

static struct fixture fx;

static void setup(enum sw_cpu cpu, bool windows)
{
	memset(&fx, 0, sizeof(fx));
	fx.a = analysis_new();
	assert_non_null(fx.a);
	struct module *m = model_add_module(fx.a);

	assert_non_null(m);
	m->filename = "app.exe";
	m->debug_file = "app.pdb";
	m->debug_id = DEBUG_ID;
	m->base = MOD_BASE;
	m->end = MOD_END;
	m->size = MOD_END - MOD_BASE + 1;
	model_index_modules(fx.a);
	fx.budget = 1u << 20;
	fx.w = (struct sw_walk){
		.cpu = cpu,
		.windows = windows,
		.a = fx.a,
		.stack = { fx.stack, sizeof(fx.stack), STACK_VA },
		.max_frames = 64,
		.scan_budget = &fx.budget,
	};
}

static void teardown(void)
{
	symsession_destroy(&fx.ss);
	symstore_destroy(&fx.store);
	if (fx.dir != NULL) {
		test_rmtree(fx.dir);
		free(fx.dir);
	}
	analysis_destroy(&fx.a);
}

/* Give the module the symbol file TEXT, through a real store. */
static void with_symbols(const char *text)
{
	char path[4096];
	FILE *f;

	fx.dir = test_tmpdir();
	assert_non_null(fx.dir);
	snprintf(path, sizeof(path), "%s/app.pdb", fx.dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/app.pdb/%s", fx.dir, DEBUG_ID);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/app.pdb/%s/app.sym", fx.dir,
		 DEBUG_ID);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	const char *dirs[1] = { fx.dir };

	fx.store = symstore_new(dirs, 1);
	assert_non_null(fx.store);
	fx.ss = symsession_new(fx.store, fx.a);
	assert_non_null(fx.ss);
	fx.w.syms = fx.ss;
}

/* Store a word of the walk's pointer size at VA. */
static void put(uint64_t va, uint64_t v)
{
	unsigned psize = fx.w.cpu == SW_CPU_X86 || fx.w.cpu == SW_CPU_ARM ? 4
									  : 8;

	for (unsigned i = 0; i < psize; i++)
		fx.stack[va - STACK_VA + i] = (uint8_t)(v >> (8 * i));
}

static struct sw_regs regs(uint64_t ip, uint64_t sp, uint64_t fp)
{
	struct sw_regs r = { { 0 }, 0 };

	r.r[SW_IP] = ip;
	r.r[SW_SP] = sp;
	r.r[SW_FP] = fp;
	r.valid = 1u << SW_IP | 1u << SW_SP | 1u << SW_FP;
	return r;
}

static size_t walk(struct sw_regs r)
{
	return stackwalk_run(&fx.w, &r, fx.out);
}

static void expect(size_t i, uint64_t ip, enum frame_trust trust)
{
	assert_int_equal(fx.out[i].ip, ip);
	assert_int_equal(fx.out[i].trust, trust);
}

/* x86: [ebp] is the caller's ebp, [ebp+4] the return address. */
static void test_x86_ebp_chain(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	put(0x10100, 0x10200);
	put(0x10104, 0x401000);
	put(0x10200, 0x10300);
	put(0x10204, 0x402000);
	/* the chain's end: a return address below 4 KiB */
	put(0x10300, 0);
	put(0x10304, 0);
	assert_int_equal(walk(regs(0x400500, 0x10080, 0x10100)), 3);
	expect(0, 0x400500, TRUST_CONTEXT);
	expect(1, 0x401000, TRUST_FRAME_POINTER);
	expect(2, 0x402000, TRUST_FRAME_POINTER);
	assert_int_equal(fx.out[1].sp, 0x10108);
	/* the context frame at its pointer; callers inside the call */
	assert_int_equal(fx.out[0].instruction, 0x400500);
	assert_int_equal(fx.out[1].instruction, 0x400fff);
	teardown();
}

/*
 * x86 with %ebp off the stack: scan, then take the word below the return
 * address as the caller's %ebp when it points a little way up the stack.
 */
static void test_x86_scan_repairs_ebp(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	put(0x10040, 0x10100); /* saved ebp below the return address */
	put(0x10044, 0x401234);
	put(0x10100, 0x10200);
	put(0x10104, 0x402000);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x7ff00000)), 3);
	expect(1, 0x401234, TRUST_SCAN);
	assert_int_equal(fx.out[1].sp, 0x10048);
	/* the repaired %ebp leads on by the chain */
	expect(2, 0x402000, TRUST_FRAME_POINTER);
	teardown();
}

/* x86: %ebp near the top of the address space wraps, never overruns. */
static void test_x86_wrapping_ebp(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0xFFFFFFFE)), 1);
	teardown();
}

/*
 * A scan tests each word less one: a word just past a module's end is
 * a return address from its last call.
 */
static void test_scan_tests_address_less_one(void **state)
{
	(void)state;
	setup(SW_CPU_AMD64, false);
	put(0x10008, MOD_BASE); /* less one is below the module */
	put(0x10010, MOD_END + 1);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x7)), 2);
	expect(1, MOD_END + 1, TRUST_SCAN);
	teardown();
}

/* The context frame's caller is looked for in 161 words, others in 41. */
static void test_scan_windows(void **state)
{
	(void)state;
	setup(SW_CPU_AMD64, false);
	put(0x10000 + 160 * 8, 0x401000);      /* last word looked at */
	put(0x10000 + 161 * 8 + 41 * 8, 0x402000); /* one word too far */
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x7)), 2);
	expect(1, 0x401000, TRUST_SCAN);
	teardown();

	setup(SW_CPU_AMD64, false);
	put(0x10000 + 161 * 8, 0x401000); /* one word too far */
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x7)), 1);
	teardown();
}

/* amd64 on Windows: no %rbp chain, a return simulated from [rsp]. */
static void test_amd64_windows(void **state)
{
	(void)state;
	setup(SW_CPU_AMD64, true);
	put(0x10000, 0x401000);
	/* a perfect-looking %rbp chain that Windows' rules ignore */
	put(0x10100, 0x10200);
	put(0x10108, 0x403000);
	put(0x10010, 0x402000);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x10100)), 4);
	expect(1, 0x401000, TRUST_SCAN);
	assert_int_equal(fx.out[1].sp, 0x10008);
	expect(2, 0x402000, TRUST_SCAN);
	expect(3, 0x403000, TRUST_SCAN);
	teardown();
}

/* amd64 elsewhere: the %rbp chain with Breakpad's checks. */
static void test_amd64_rbp_chain(void **state)
{
	(void)state;
	setup(SW_CPU_AMD64, false);
	put(0x10100, 0x10200);
	put(0x10108, 0x401000);
	put(0x10200, 0x10300);
	put(0x10208, 0x402000);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x10100)), 3);
	expect(1, 0x401000, TRUST_FRAME_POINTER);
	expect(2, 0x402000, TRUST_FRAME_POINTER);
	/*
	 * [0x10300] is zero: the next %rbp (0) is below the frame and not on
	 * the stack, so the chain stops and a scan finds nothing more.
	 */
	teardown();

	/* A misaligned %rbp is not followed; the scan takes over. */
	setup(SW_CPU_AMD64, false);
	put(0x10101, 0x10200);
	put(0x10109, 0x401000);
	put(0x10018, 0x402000);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x10101)), 2);
	expect(1, 0x402000, TRUST_SCAN);
	teardown();

	/* A non-canonical return address is not followed either. */
	setup(SW_CPU_AMD64, false);
	put(0x10100, 0x10200);
	put(0x10108, 0x0000800000000000ull);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x10100)), 1);
	teardown();
}

/* A caller whose stack pointer does not grow ends the walk. */
static void test_stack_must_grow(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	/* ebp chain that points back at itself */
	put(0x10100, 0x10100);
	put(0x10104, 0x401000);
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x10100)), 2);
	expect(1, 0x401000, TRUST_FRAME_POINTER);
	/* the same %ebp again would give the same %esp: no frame 2 */
	teardown();
}

/* arm64: the context's lr is the first caller, then frame records. */
static void test_arm64_frame_records(void **state)
{
	(void)state;
	setup(SW_CPU_ARM64, false);
	struct sw_regs r = regs(0x400500, 0x10000, 0x10100);

	r.r[SW_LR] = 0x401000;
	r.valid |= 1u << SW_LR;
	put(0x10100, 0x10200);
	put(0x10108, 0x402000);
	assert_int_equal(walk(r), 3);
	expect(1, 0x401000, TRUST_FRAME_POINTER);
	expect(2, 0x402000, TRUST_FRAME_POINTER);
	/* Breakpad places arm64 callers at the branch, 4 bytes back */
	assert_int_equal(fx.out[0].instruction, 0x400500);
	assert_int_equal(fx.out[1].instruction, 0x400ffc);
	teardown();
}

/* The cap on frames holds however long the chain. */
static void test_max_frames(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	for (uint64_t at = 0x10000; at < 0x10000 + 100 * 16; at += 16) {
		put(at, at + 16);
		put(at + 4, 0x401000);
	}
	fx.w.max_frames = 10;
	assert_int_equal(walk(regs(0x400500, 0xff00, 0x10000)), 10);
	teardown();
}

/* No stack captured: only the context frame, however tempting %ebp is. */
static void test_no_stack(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	fx.w.stack.data = NULL;
	assert_int_equal(walk(regs(0x400500, 0x10000, 0x10100)), 1);
	teardown();
}

/* amd64 STACK CFI: the INIT's rules, then a delta's from its address. */
static void test_amd64_cfi(void **state)
{
	(void)state;
	setup(SW_CPU_AMD64, true);
	with_symbols("FUNC 500 100 0 f\n"
		     "STACK CFI INIT 500 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
		     "STACK CFI 510 .cfa: $rsp 24 + $rbx: .cfa -16 + ^\n");
	/* at 0x505 the INIT's rules: return address at [rsp] */
	put(0x10000, 0x401000);
	put(0x10010, 0x402000);
	assert_int_equal(walk(regs(MOD_BASE + 0x505, 0x10000, 0)), 2);
	expect(1, 0x401000, TRUST_CFI);
	assert_int_equal(fx.out[1].sp, 0x10008);
	/* at 0x515 the delta's: the CFA is rsp + 24 */
	assert_true(walk(regs(MOD_BASE + 0x515, 0x10000, 0)) >= 2);
	expect(1, 0x402000, TRUST_CFI);
	assert_int_equal(fx.out[1].sp, 0x10018);
	teardown();
}

/* CFI rules that cannot be evaluated fall back to the next way. */
static void test_cfi_failures_fall_back(void **state)
{
	static const char *const bad[] = {
		"STACK CFI INIT 500 100 .cfa: $rsp 8 +\n",           /* no .ra */
		"STACK CFI INIT 500 100 .cfa: $rsp 0 / .ra: 1 ^\n",  /* / 0 */
		"STACK CFI INIT 500 100 .cfa: $nope .ra: .cfa ^\n",  /* name */
		"STACK CFI INIT 500 100 .cfa: 1 2 .ra: .cfa ^\n",    /* 2 left */
		"STACK CFI INIT 500 100 .cfa: + .ra: .cfa ^\n",      /* empty */
		"STACK CFI INIT 500 100 $rsp .cfa: 8 .ra: .cfa ^\n", /* no name */
		"STACK CFI INIT 500 100 .cfa: 99999999999999999999999 .ra: 1\n",
		/* 33 values: past the value stack's cap */
		("STACK CFI INIT 500 100 .cfa: 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 "
		 "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 + .ra: 1\n"),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];

		setup(SW_CPU_AMD64, true);
		snprintf(text, sizeof(text), "FUNC 500 100 0 f\n%s", bad[i]);
		with_symbols(text);
		put(0x10000, MOD_BASE + 0x520);
		assert_int_equal(walk(regs(MOD_BASE + 0x505, 0x10000, 0)), 2);
		/* the simulated return, not CFI */
		expect(1, MOD_BASE + 0x520, TRUST_SCAN);
		teardown();
	}
}

/* x86 STACK WIN with a program string: the classic %ebp frame. */
static void test_x86_stack_win_program(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	with_symbols("FUNC 500 100 0 f\n"
		     "STACK WIN 4 500 100 0 0 0 0 0 0 1 $T0 $ebp = "
		     "$eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =\n");
	put(0x10100, 0x10200);
	put(0x10104, 0x401000);
	assert_int_equal(walk(regs(MOD_BASE + 0x505, 0x10000, 0x10100)), 2);
	expect(1, 0x401000, TRUST_CFI);
	assert_int_equal(fx.out[1].sp, 0x10108);
	teardown();
}

/*
 * x86 FPO data without a program: the return address sits above the
 * callee's locals and saved registers.
 */
static void test_x86_stack_win_fpo(void **state)
{
	(void)state;
	setup(SW_CPU_X86, true);
	/* locals 8, saved registers 4, no %ebp */
	with_symbols("FUNC 500 100 0 f\n"
		     "STACK WIN 0 500 100 0 0 0 4 8 0 0 0\n");
	put(0x10000, 0x401111); /* inside the module, but below the frame */
	put(0x1000c, 0x401000);
	assert_int_equal(walk(regs(MOD_BASE + 0x505, 0x10000, 0x7ff00000)),
			 2);
	expect(1, 0x401000, TRUST_CFI);
	assert_int_equal(fx.out[1].sp, 0x10010);
	teardown();
}

/* A STACK WIN program that fails: the walk scans instead. */
static void test_x86_stack_win_bad_program(void **state)
{
	static const char *const progs[] = {
		"$eip 1 0 / =",         /* division by zero */
		"$eip $T9 =",           /* unknown variable */
		"eip 4 = $esp 8 =",     /* assignment to a non-register */
		"$eip 4 ^ = $esp 8 =",  /* memory off the stack */
		"$eip 4 $esp 8 =",      /* a value left on the stack */
		"=",                    /* nothing to assign */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		char text[256];

		setup(SW_CPU_X86, true);
		snprintf(text, sizeof(text),
			 "FUNC 500 100 0 f\nSTACK WIN 4 500 100 0 0 0 0 0 0 1 "
			 "%s\n",
			 progs[i]);
		with_symbols(text);
		put(0x10008, MOD_BASE + 0x520); /* in f: symbols say so */
		assert_true(walk(regs(MOD_BASE + 0x505, 0x10000, 0)) >= 2);
		expect(1, MOD_BASE + 0x520, TRUST_SCAN);
		teardown();
	}
}

/* With symbols, a scan accepts only addresses inside a function. */
static void test_scan_needs_function_with_symbols(void **state)
{
	(void)state;
	setup(SW_CPU_AMD64, false);
	with_symbols("FUNC 500 100 0 f\nFUNC 1000 100 0 g\n");
	put(0x10008, MOD_BASE + 0x801); /* in the module, in no function */
	put(0x10010, MOD_BASE + 0x1001);
	assert_int_equal(walk(regs(MOD_BASE + 0x505, 0x10000, 0x7)), 2);
	expect(1, MOD_BASE + 0x1001, TRUST_SCAN);
	teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amd64_cfi),
		cmocka_unit_test(test_cfi_failures_fall_back),
		cmocka_unit_test(test_x86_stack_win_program),
		cmocka_unit_test(test_x86_stack_win_fpo),
		cmocka_unit_test(test_x86_stack_win_bad_program),
		cmocka_unit_test(test_scan_needs_function_with_symbols),
		cmocka_unit_test(test_x86_ebp_chain),
		cmocka_unit_test(test_x86_scan_repairs_ebp),
		cmocka_unit_test(test_x86_wrapping_ebp),
		cmocka_unit_test(test_scan_tests_address_less_one),
		cmocka_unit_test(test_scan_windows),
		cmocka_unit_test(test_amd64_windows),
		cmocka_unit_test(test_amd64_rbp_chain),
		cmocka_unit_test(test_stack_must_grow),
		cmocka_unit_test(test_arm64_frame_records),
		cmocka_unit_test(test_max_frames),
		cmocka_unit_test(test_no_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
