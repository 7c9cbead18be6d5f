/*
 * stackwalk - unwind one thread's stack the way Breakpad's processor does,
 * so that frames (and so signatures) agree with minidump_stackwalk.
 *
 * Per frame, the caller is found by, in order:
 *   x86:   the module's STACK WIN record (its program, or the program
 *          Breakpad supplies for FPO data, with the scans that correct
 *          it), else STACK CFI rules, else the %ebp chain ([ebp] = caller's
 *          ebp, [ebp+4] = return address), else a scan of the stack;
 *   amd64: STACK CFI rules; for the context frame on Windows, a return
 *          simulated from the word at %rsp; off Windows, the %rbp chain
 *          with Breakpad's checks; else a scan;
 *   arm64: STACK CFI rules, else the frame record at x29 (the context
 *          frame's caller from lr), else a scan;
 *   arm:   STACK CFI rules, else a scan.
 * A scan looks at 40 words above the callee's stack pointer (160 for the
 * context frame) for the first one that, less one, falls in a loaded
 * module and, where that module has symbols, in a function.
 * Unwind rules are postfix programs (formats.md 3.5) run by a small
 * evaluator: a fixed value stack and variable table, a cap on tokens, no
 * recursion, memory read only from the captured stack; a program that
 * breaks any of these fails and the next way of finding the caller is
 * tried.
 * The walk ends when no rule finds a caller, the return address is below
 * 4 KiB, the stack pointer does not grow (may stay equal after the context
 * frame), or MAX frames are reached.
 *
 * Everything read from the dump is hostile: stack words are read only
 * through bounds-checked lookups into the captured stack, and rule
 * evaluation (symbols.h) is bounded.
 */
#ifndef WORKER_STACKWALK_H
#define WORKER_STACKWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct analysis;
struct symsession;

enum sw_cpu {
	SW_CPU_OTHER = 0,
	SW_CPU_X86,
	SW_CPU_AMD64,
	SW_CPU_ARM,
	SW_CPU_ARM64,
};

/*
 * Register numbers. The first four are the roles every walker needs; the
 * rest are the callee-saved registers that unwind rules may restore.
 */
enum sw_reg {
	SW_IP, /* eip, rip, pc */
	SW_SP, /* esp, rsp, sp */
	SW_FP, /* ebp, rbp, x29 (arm: r11) */
	SW_LR, /* arm64 x30, arm r14; unused on x86 */
	SW_R4, /* x86 ebx, amd64 rbx, arm64 x19, arm r4 ... */
	SW_R5,
	SW_R6,
	SW_R7,
	SW_R8,
	SW_R9,
	SW_R10,
	SW_R11,
	SW_R12,
	SW_R13,
	SW_R14,
	SW_NREGS
};

struct sw_regs {
	uint64_t r[SW_NREGS];
	uint32_t valid; /* bit (1 << reg) */
};

/* The captured stack memory: LEN bytes for the VAs from VA. */
struct sw_memory {
	const uint8_t *data;
	size_t len;
	uint64_t va;
};

/*
 * One frame found: IP is the context's or the return address;
 * INSTRUCTION is where Breakpad places the frame (and looks up its
 * symbols): IP for the context frame, for callers inside the call: IP
 * less 1 on x86 and amd64, less 4 on arm64, less 2 on arm.
 */
struct sw_frame {
	uint64_t ip;
	uint64_t instruction;
	uint64_t sp;
	enum frame_trust trust;
};

struct sw_walk {
	enum sw_cpu cpu;
	bool windows;                 /* OS is Windows (amd64 rules) */
	const struct analysis *a;     /* the module list */
	struct sw_memory stack;       /* data NULL when none was captured */
	struct symsession *syms;      /* symbol files, or NULL: no symbols */
	size_t max_frames;
	uint64_t *scan_budget;        /* words a scan may read; shared */
};

/*
 * Walk from REGS (the context) into OUT (room for W->max_frames). Returns
 * the number of frames, >= 1 when REGS holds an instruction pointer.
 */
size_t stackwalk_run(const struct sw_walk *w, const struct sw_regs *regs,
		     struct sw_frame *out);

/* Name of the CPU's register R as unwind rules spell it, or NULL. */
const char *stackwalk_reg_name(enum sw_cpu cpu, enum sw_reg r);

#endif /* WORKER_STACKWALK_H */
