/*
 * Fuzz target: the Breakpad .sym parser on arbitrary bytes, its lookups
 * (names, lines, inlined functions, unwind records), and stack walks that
 * run the file's STACK WIN / STACK CFI rules. The input is the symbol
 * text and also the stack memory; its last WALK_TAIL bytes, when there
 * are that many, pick the CPU and the registers.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "stackwalk.h"
#include "symbols.h"

#define MOD_BASE 0x400000u
#define MOD_SIZE 0x100000u
#define STACK_VA 0x10000u
#define WALK_TAIL 32
#define WALK_FRAMES 64

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void lookups(const struct symfile *f, const uint8_t *data,
		    size_t size)
{
	const char *name, *file;
	uint64_t off, probe = 0;
	uint32_t line, params;
	struct symfile_win win;
	const char *rules[8];
	struct symfile_inline inl[4];

	for (size_t i = 0; i < size && i < 8; i++)
		probe = probe << 8 | data[i];
	const uint64_t addrs[] = { 0, 1, probe, probe - 1, probe + 1,
				   UINT64_MAX };

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		if (symfile_lookup(f, addrs[i], &name, &off) && name[0] == '\0')
			__builtin_trap();
		if (symfile_lookup_line(f, addrs[i], &file, &line, &off) &&
		    file == NULL)
			__builtin_trap();
		if (symfile_find_win(f, addrs[i], &win) && win.type != 0 &&
		    win.type != 4)
			__builtin_trap();
		symfile_param_size(f, addrs[i], &params);
		size_t ni = symfile_lookup_inlines(f, addrs[i], inl, 4);

		for (size_t k = 0; k < ni; k++)
			if (inl[k].name == NULL)
				__builtin_trap();
		size_t n = symfile_find_cfi(f, addrs[i], rules, 8);

		for (size_t k = 0; n != SIZE_MAX && k < n; k++)
			if (rules[k] == NULL)
				__builtin_trap();
	}
}

static void walk(const struct symfile *f, const uint8_t *data, size_t size)
{
	static const enum sw_cpu cpus[] = { SW_CPU_X86, SW_CPU_AMD64,
					    SW_CPU_ARM64, SW_CPU_ARM };
	const uint8_t *t = data + size - WALK_TAIL;
	struct analysis *a = analysis_new();
	struct sw_frame out[WALK_FRAMES];
	uint64_t budget = 1u << 16;
	struct module *m;
	struct symsession *ss;

	if (a == NULL || (m = model_add_module(a)) == NULL) {
		analysis_destroy(&a);
		return;
	}
	m->filename = "app.exe";
	m->base = MOD_BASE;
	m->size = MOD_SIZE;
	m->end = MOD_BASE + MOD_SIZE - 1;
	model_index_modules(a);
	ss = symsession_for_file(a, f);
	struct sw_walk w = {
		.cpu = cpus[t[24] % 4],
		.windows = t[25] & 1,
		.a = a,
		.stack = { data, size, STACK_VA },
		.syms = ss,
		.max_frames = WALK_FRAMES,
		.scan_budget = &budget,
	};
	struct sw_regs r = { { 0 }, 0 };

	r.r[SW_IP] = MOD_BASE + le(t, 4) % MOD_SIZE;
	r.r[SW_SP] = STACK_VA + le(t + 4, 4) % size;
	r.r[SW_FP] = le(t + 8, 8);
	r.r[SW_LR] = le(t + 16, 8);
	r.valid = (1u << SW_IP) | (1u << SW_SP) | (1u << SW_FP) |
		  (1u << SW_LR);
	size_t n = stackwalk_run(&w, &r, out);

	if (n == 0 || n > WALK_FRAMES)
		__builtin_trap();
	symsession_destroy(&ss);
	analysis_destroy(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct symfile *f = NULL;

	if (symfile_parse(&f, data, size) != 0 || f == NULL)
		return 0;
	lookups(f, data, size);
	if (size >= WALK_TAIL)
		walk(f, data, size);
	symfile_destroy(&f);
	return 0;
}
