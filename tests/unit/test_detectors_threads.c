/*
 * detectors about processes, threads and waits: zombie-processes,
 * handle-leak, blocked-thread and signaled-object-wait, on hand-built
 * models (positive and negative cases) and on the seed's own WinDbg output
 * run through the whole pipeline (analysis_run and the debugger-log
 * reader); and the reader's dispatcher objects (`dt _DISPATCHER_HEADER`,
 * `dt -r nt!_KEVENT`, `!object`) that signaled-object-wait reads.
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

/* Frames from "mod!fn+0x1c" specs; frame 0 comes from the context. */
static void add_frames(struct analysis *a, struct thread *t,
		       const char *const *specs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct frame *f = model_add_frame(a, t);
		const char *s = specs[i], *bang = strchr(s, '!');
		const char *plus = strrchr(s, '+');

		assert_non_null(f);
		assert_non_null(bang);
		f->trust = i == 0 ? TRUST_CONTEXT : TRUST_PREWALKED;
		f->module = arena_strndup(a->arena, s, (size_t)(bang - s));
		f->function = arena_strndup(
			a->arena, bang + 1,
			plus != NULL && plus > bang ? (size_t)(plus - bang - 1)
						    : strlen(bang + 1));
	}
}

/*
 * A thread from a log: STATE ("WAIT", "RUNNING", NULL), wait REASON and
 * MODE (NULL: not given), TICKS (< 0: not given), waited objects OBJS
 * (NULL-terminated, may be NULL) and frames.
 */
static struct thread *add_thread(struct analysis *a, uint64_t id,
				 const char *process, const char *state,
				 const char *reason, const char *mode,
				 long long ticks, const char *const *objs,
				 const char *const *frames, size_t nframes)
{
	struct thread *t = model_add_thread(a);

	assert_non_null(t);
	t->id = id;
	t->process = arena_strdup(a->arena, process);
	t->state = arena_strdup(a->arena, state);
	t->wait_reason = arena_strdup(a->arena, reason);
	t->wait_mode = arena_strdup(a->arena, mode);
	if (ticks >= 0) {
		t->wait_ticks = (uint64_t)ticks;
		t->has_wait_ticks = true;
	}
	for (size_t i = 0; objs != NULL && objs[i] != NULL; i++) {
		const char **slot = DF_VEC_PUSH(a->arena, t->waited_objects, 64);

		assert_non_null(slot);
		*slot = arena_strdup(a->arena, objs[i]);
	}
	add_frames(a, t, frames, nframes);
	return t;
}

/* A process as `!process` / `!vm` give it; negative values: not given. */
static struct process *add_process(struct analysis *a, const char *image,
				   uint64_t pid, uint64_t ppid,
				   long long handles, long long threads,
				   long long private_pages, bool no_table)
{
	struct process *p = model_add_process(a);

	assert_non_null(p);
	p->image = arena_strdup(a->arena, image);
	p->pid = pid;
	p->ppid = ppid;
	if (handles >= 0) {
		p->handle_count = (uint64_t)handles;
		p->has_handle_count = true;
	}
	if (threads >= 0) {
		p->active_threads = (uint64_t)threads;
		p->has_threads = true;
	}
	if (private_pages >= 0) {
		p->private_pages = (uint64_t)private_pages;
		p->has_private = true;
	}
	p->object_table_null = no_table;
	return p;
}

/* A zombie as `!process` shows it (ObjectTable 00000000, no threads). */
static void add_zombie(struct analysis *a, const char *image, uint64_t pid,
		       uint64_t ppid)
{
	add_process(a, image, pid, ppid, 0, 0, 0, true);
}

static void add_handles(struct analysis *a, const char *type, uint64_t n)
{
	struct handle_type *h = model_add_handle_type(a);

	assert_non_null(h);
	h->type = arena_strdup(a->arena, type);
	h->count = n;
}

static void add_dispatcher(struct analysis *a, uint64_t addr,
			   const char *type, bool has_state, int64_t state)
{
	struct dispatcher *d = model_add_dispatcher(a);

	assert_non_null(d);
	d->address = addr;
	d->has_address = true;
	d->type = arena_strdup(a->arena, type);
	d->signal_state = state;
	d->has_signal_state = has_state;
}

#define assert_no_evidence(f, needle)                                          \
	do {                                                                   \
		if (test_evidence_has((f), (needle))) {                             \
			test_print_finding(f);                                      \
			fail_msg("unexpected evidence \"%s\"", (needle));      \
		}                                                              \
	} while (0)

static const char *const my_ids[] = {
	"zombie-processes",
	"handle-leak",
	"blocked-thread",
	"signaled-object-wait",
};

/* Stacks used by several tests (the seed's, shortened). */
static const char *const critsec_stack[] = {
	"nt!KiSwapContext+0x26",	  "nt!KiSwapThread+0x284",
	"nt!KeWaitForSingleObject+0x346", "nt!NtWaitForSingleObject+0x9a",
	"nt!KiFastCallEntry+0xfc",	  "ntdll!KiFastSystemCallRet",
	"ntdll!NtWaitForSingleObject+0xc",
	"ntdll!RtlpWaitOnCriticalSection+0x19c",
	"ntdll!RtlEnterCriticalSection+0xa8",
	"ntdll!LdrShutdownThread+0x33",  "kernel32!ExitThread+0x2f",
	"kernel32!BaseThreadStart+0x39",
};

static const char *const resource_stack[] = {
	"nt!KiSwapContext+0x76",	   "nt!KiSwapThread+0x500",
	"nt!KiCommitThreadWait+0x14f",	   "nt!KeWaitForSingleObject+0x233",
	"nt!ExpWaitForResource+0x6d",
	"nt!ExAcquireResourceExclusiveLite+0x1fe",
	"TestDriver!FileMoveThread+0x34", "nt!PspSystemThreadStartup+0x55",
	"nt!KiStartSystemThread+0x28",
};

static const char *const generic_stack[] = {
	"nt!KiSwapContext+0x26",
	"nt!KiSwapThread+0x2e5",
	"nt!KeWaitForSingleObject+0x346",
	"nt!NtWaitForSingleObject+0x9a",
	"nt!KiFastCallEntry+0xfc",
	"ntdll!KiFastSystemCallRet",
	"ntdll!NtWaitForSingleObject+0xc",
	"kernel32!WaitForSingleObjectEx+0xac",
	"kernel32!WaitForSingleObject+0x12",
	"mshtml!CDwnTaskExec::ThreadExec+0xae",
	"kernel32!BaseThreadStart+0x34",
};

#define N(v) ARRAY_SIZE(v)

/* ---- the registry -------------------------------------------------------- */

static void test_threads__registry_has_mine(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(my_ids); i++) {
		const struct detector *d = detect_find(my_ids[i]);

		assert_non_null(d);
		assert_string_equal(d->id, my_ids[i]);
		assert_non_null(d->title);
		assert_non_null(d->run);

		struct analysis *a = analysis_new();

		assert_int_equal(d->run(a), DF_OK);
		assert_int_equal(a->findings.n, 0);
		analysis_destroy(&a);
	}
}

/* ---- zombie-processes ---------------------------------------------------- */

static void test_zombie__process_listing(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	add_process(a, "MyService.exe", 0x37c, 0x4ac, 500, 12, 2082, false);
	add_process(a, "explorer.exe", 0x3654, 0x3600, 900, 20, 2083, false);
	add_zombie(a, "cmd.exe", 0x650, 0x37c);
	add_zombie(a, "cmd.exe", 0x2130, 0x37c);
	add_zombie(a, "cmd.exe", 0x6ee8, 0x37c);
	add_zombie(a, "IEXPLORE.EXE", 0x6b48, 0x3654);

	const struct finding *f = test_detect(a, "zombie-processes");

	assert_non_null(f);
	assert_true(f->confidence >= 80);
	assert_evidence(f, "4 zombie processes");
	assert_evidence(f, "4 with ObjectTable 00000000");
	assert_evidence(f, "cmd.exe x3, IEXPLORE.EXE x1");
	assert_evidence(f, "0650 2130 6ee8 6b48");
	assert_evidence(f, "3 of the 4 zombies whose parent the log names "
			   "have ParentCid 037c (MyService.exe, 500 handles)");
	assert_evidence(f, "did not close their process handles");
	analysis_destroy(&a);
}

/* `!vm` only: processes with no private memory, parents not given. */
static void test_zombie__vm_table(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	add_process(a, "System", 4, 0, -1, -1, 7, false);
	add_process(a, "csrss.exe", 0x3f94, 0, -1, -1, 288, false);
	add_process(a, "cmd.exe", 0x6ee8, 0, -1, -1, 0, false);
	add_process(a, "cmd.exe", 0x6d7c, 0, -1, -1, 0, false);
	add_process(a, "AcroRd32.exe", 0x68dc, 0, -1, -1, 0, false);

	const struct finding *f = test_detect(a, "zombie-processes");

	assert_non_null(f);
	assert_int_equal(f->confidence, 70);
	assert_evidence(f, "3 zombie processes");
	assert_evidence(f, "3 with no private memory");
	assert_no_evidence(f, "ParentCid");
	analysis_destroy(&a);
}

static void test_zombie__negatives(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	/* Two are not a pattern. */
	add_zombie(a, "cmd.exe", 0x650, 0x37c);
	add_zombie(a, "cmd.exe", 0x2130, 0x37c);
	/* Live processes: memory, threads or an object table. */
	add_process(a, "svchost.exe", 0x588, 0x2d0, 800, 30, 360, false);
	/* No private pages, but threads: not exited. */
	add_process(a, "tiny.exe", 0x700, 0x588, 10, 2, 0, false);
	/* The Idle process has no memory, threads or table of its own. */
	add_process(a, "Idle", 0, 0, 0, 0, 0, true);
	assert_null(test_detect(a, "zombie-processes"));

	/* mex's count of a handful, alone: everyday Windows 10. */
	test_set_text(a, "Warning! Zombie process(es) detected (not displayed). "
		    "Count: 5 [zombie report]\n");
	assert_null(test_detect(a, "zombie-processes"));
	analysis_destroy(&a);
}

static void test_zombie__mex_count(void **state)
{
	struct analysis *a = analysis_new();
	const struct finding *f;

	(void)state;
	test_set_text(a, "0: kd> !tl -t\n"
		    "Warning! Zombie process(es) detected (not displayed). "
		    "Count: 140 [zombie report]\n");
	f = test_detect(a, "zombie-processes");
	assert_non_null(f);
	assert_true(f->confidence < 50);
	assert_evidence(f, "mex counts 140 zombie processes");
	analysis_destroy(&a);

	/* With a listing, the count is more evidence. */
	a = analysis_new();
	add_zombie(a, "cmd.exe", 0x650, 0x37c);
	add_zombie(a, "cmd.exe", 0x2130, 0x37c);
	add_zombie(a, "cmd.exe", 0x6ee8, 0x37c);
	test_set_text(a, "Warning! Zombie process(es) detected (not displayed). "
		    "Count: 5 [zombie report]\n");
	f = test_detect(a, "zombie-processes");
	assert_non_null(f);
	assert_true(f->confidence >= 80);
	assert_evidence(f, "mex counts 5 zombie processes");
	analysis_destroy(&a);
}

/* ---- handle-leak ----------------------------------------------------------- */

static void test_handles__process_count(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	add_process(a, "System", 4, 0, 3400, 120, 7, false);
	add_process(a, "leaky.exe", 0x1a2c, 0x2d0, 48213, 9, 9000, false);
	add_process(a, "svchost.exe", 0x588, 0x2d0, 12000, 40, 900, false);

	const struct finding *f = test_detect(a, "handle-leak");

	assert_non_null(f);
	assert_true(f->confidence >= 70);
	assert_evidence(f, "process 1a2c leaky.exe holds 48213 handles "
			   "(limit handles_per_process=10000)");
	assert_evidence(f, "process 0588 svchost.exe holds 12000 handles");
	assert_no_evidence(f, "System");
	/* The largest first. */
	assert_non_null(strstr(f->evidence.v[0], "leaky.exe"));
	assert_no_evidence(f, "zombie");
	analysis_destroy(&a);
}

/* Minidump handle data: thousands of Process handles, and zombies. */
static void test_handles__process_handles_and_zombies(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	add_handles(a, "Event", 310);
	add_handles(a, "Process", 4200);
	add_handles(a, "File", 90);
	add_handles(a, "(unknown)", 20000);

	const struct finding *f = test_detect(a, "handle-leak");

	assert_non_null(f);
	assert_evidence(f, "4200 Process handles "
			   "(limit process_thread_handles=1000)");
	assert_evidence(f, "top handle types: (unknown) 20000, Process 4200, "
			   "Event 310, File 90");
	assert_evidence(f, "24600 handles in all");
	assert_no_evidence(f, "see zombie-processes");
	analysis_destroy(&a);

	/* The same with zombies in the dump: the link, more confidence. */
	a = analysis_new();
	add_handles(a, "Process", 4200);
	add_zombie(a, "cmd.exe", 0x650, 0);
	add_zombie(a, "cmd.exe", 0x2130, 0);
	add_zombie(a, "cmd.exe", 0x6ee8, 0);
	f = test_detect(a, "handle-leak");
	assert_non_null(f);
	assert_int_equal(f->confidence, 85);
	assert_evidence(f, "leaked process handles and 3 zombie processes: "
			   "see zombie-processes");
	/* zombie-processes runs later in the table and links back. */
	f = test_detect(a, "zombie-processes");
	assert_non_null(f);
	assert_evidence(f, "see handle-leak");
	analysis_destroy(&a);
}

/* The seed's case: zombies that share a parent, counts below limits. */
static void test_handles__zombie_parent(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	add_process(a, "MyService.exe", 0x37c, 0x4ac, 500, 12, 2082, false);
	add_zombie(a, "cmd.exe", 0x650, 0x37c);
	add_zombie(a, "cmd.exe", 0x2130, 0x37c);
	add_process(a, "cmd.exe", 0x6ee8, 0, -1, -1, 0, false);

	const struct finding *f = test_detect(a, "handle-leak");

	assert_non_null(f);
	assert_int_equal(f->confidence, 60);
	assert_evidence(f, "2 of the 2 zombie processes whose parent the log "
			   "names are children of 037c MyService.exe, which "
			   "holds 500 handles");
	assert_evidence(f, "see zombie-processes");
	analysis_destroy(&a);
}

static void test_handles__negatives(void **state)
{
	struct analysis *a = analysis_new();

	(void)state;
	/* Everyday counts (a Breakpad test dump's handle data). */
	add_handles(a, "File", 11);
	add_handles(a, "Event", 18);
	add_handles(a, "(unknown)", 46);
	add_handles(a, "Section", 31);
	add_handles(a, "Thread", 900);
	add_handles(a, "Key", 4999);
	add_process(a, "System", 4, 0, 9999, 120, 7, false);
	add_process(a, "lsass.exe", 0x30c, 0x268, 1800, 10, 1500, false);
	assert_null(test_detect(a, "handle-leak"));

	/* Zombies with different parents do not point at one holder. */
	add_zombie(a, "cmd.exe", 0x650, 0x37c);
	add_zombie(a, "a.exe", 0x654, 0x380);
	add_zombie(a, "b.exe", 0x658, 0x384);
	assert_null(test_detect(a, "handle-leak"));
	analysis_destroy(&a);

	/* Unknown types never count alone. */
	a = analysis_new();
	add_handles(a, "(unknown)", 9000);
	assert_null(test_detect(a, "handle-leak"));
	analysis_destroy(&a);
}

/* ---- blocked-thread -------------------------------------------------------- */

static void test_blocked__critical_section(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const objs[] = { "89a65a68 SynchronizationEvent",
					    NULL };

	(void)state;
	add_thread(a, 0x5ea8, "svchost.exe", "WAIT", "UserRequest",
		   "UserMode", 1132797, objs, critsec_stack,
		   N(critsec_stack));

	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_int_equal(f->confidence, 80);
	assert_evidence(f, "thread 0 (id 0x5ea8) of svchost.exe: waiting "
			   "from user mode (UserRequest), blocked on: "
			   "critical section (frame 7 "
			   "ntdll!RtlpWaitOnCriticalSection)");
	assert_evidence(f, "waits on 89a65a68 SynchronizationEvent");
	assert_evidence(f, "waited 1132797 ticks");
	assert_evidence(f, "1 threads: 0 running, 0 ready, 1 waiting from "
			   "user mode");
	assert_evidence(f, "1 blocked");
	analysis_destroy(&a);
}

/* mex output: WrResource, no wait mode, no ticks (a deadlock). */
static void test_blocked__resource_without_time(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const objs[] = {
		"ffffdc8b3e30f230 SynchronizationEvent", NULL
	};

	(void)state;
	add_thread(a, 0x3304, "System", "WAIT", "WrResource", NULL, -1, objs,
		   resource_stack, N(resource_stack));
	add_thread(a, 0x19d8, "System", "WAIT", "WrResource", NULL, -1, NULL,
		   resource_stack, N(resource_stack));
	add_thread(a, 0x13c0, "System", "RUNNING", NULL, NULL, -1, NULL,
		   resource_stack, N(resource_stack));

	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_int_equal(f->confidence, 65);
	assert_evidence(f, "thread 0 (id 0x3304) of System: waiting from "
			   "kernel mode (WrResource), blocked on: executive "
			   "resource (ERESOURCE) (frame 4 "
			   "nt!ExpWaitForResource)");
	assert_evidence(f, "thread 1 (id 0x19d8)");
	assert_evidence(f, "the log does not give the wait time");
	assert_evidence(f, "3 threads: 1 running, 0 ready, 0 waiting from "
			   "user mode, 2 from kernel mode");
	assert_no_evidence(f, "thread 2");
	analysis_destroy(&a);
}

/* No frames: the wait reason names the kind; a Mutant does too. */
static void test_blocked__reason_and_mutant(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const mutant[] = {
		"8a1b2c30 Mutant - owning thread 8a0e0020", NULL
	};

	(void)state;
	add_thread(a, 0x780, "System", "WAIT", "WrPushLock", NULL, -1, NULL,
		   NULL, 0);
	add_thread(a, 0x1a4, "app.exe", "WAIT", "UserRequest", "UserMode",
		   9000, mutant, generic_stack, N(generic_stack));

	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_evidence(f, "blocked on: push lock (by its wait reason)");
	assert_evidence(f, "blocked on: mutex (fast/guarded mutex or mutant) "
			   "(a waited Mutant)");
	/* The longer wait first, the untimed one last. */
	assert_non_null(strstr(f->evidence.v[0], "app.exe"));
	analysis_destroy(&a);
}

/* Calls to others are blocked only when long. */
static void test_blocked__calls_need_long_waits(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const rpc[] = {
		"ntdll!KiFastSystemCallRet",
		"ntdll!NtRequestWaitReplyPort+0xc",
		"RPCRT4!LRPC_CCALL::SendReceive+0x230",
		"RPCRT4!I_RpcSendReceive+0x24",
		"RPCRT4!NdrSendReceive+0x2b",
		"RPCRT4!NdrClientCall2+0x22e",
		"app!CallServer+0x20",
	};
	static const char *const sock[] = {
		"ntdll!KiFastSystemCallRet",
		"ntdll!NtWaitForSingleObject+0xc",
		"mswsock!SockWaitForSingleObject+0x1a0",
		"mswsock!WSPRecv+0x2c2",
		"ws2_32!recv+0x83",
		"app!ReadReply+0x30",
	};
	static const char *const send[] = {
		"nt!KiSwapContext+0x26",
		"nt!KeWaitForSingleObject+0x346",
		"win32k!xxxSleepThread+0x192",
		"win32k!xxxInterSendMsgEx+0x7f6",
		"win32k!xxxSendMessageTimeout+0x11f",
		"win32k!NtUserMessageCall+0xd0",
		"USER32!SendMessageW+0x49",
		"app!Notify+0x10",
	};
	static const char *const file[] = {
		"nt!KiSwapContext+0x26",
		"nt!KeWaitForSingleObject+0x346",
		"nt!IopSynchronousServiceTail+0x1f0",
		"nt!NtReadFile+0x580",
		"ntdll!NtReadFile+0xc",
		"kernel32!ReadFile+0x16c",
		"app!Load+0x40",
	};

	(void)state;
	/* Short: nobody is blocked. */
	add_thread(a, 1, "app.exe", "WAIT", "WrLpcReply", "UserMode", 38,
		   NULL, rpc, N(rpc));
	add_thread(a, 2, "app.exe", "WAIT", "UserRequest", "UserMode", 100,
		   NULL, sock, N(sock));
	add_thread(a, 3, "app.exe", "WAIT", "WrUserRequest", "UserMode", 3,
		   NULL, send, N(send));
	add_thread(a, 4, "app.exe", "WAIT", "Executive", "KernelMode", 10,
		   NULL, file, N(file));
	assert_null(test_detect(a, "blocked-thread"));
	analysis_destroy(&a);

	a = analysis_new();
	add_thread(a, 1, "app.exe", "WAIT", "WrLpcReply", "UserMode", 40000,
		   NULL, rpc, N(rpc));
	add_thread(a, 2, "app.exe", "WAIT", "UserRequest", "UserMode", 50000,
		   NULL, sock, N(sock));
	add_thread(a, 3, "app.exe", "WAIT", "WrUserRequest", "UserMode", 8000,
		   NULL, send, N(send));
	add_thread(a, 4, "app.exe", "WAIT", "Executive", "KernelMode", 5000,
		   NULL, file, N(file));

	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_int_equal(f->confidence, 70);
	assert_evidence(f, "blocked on: LPC/ALPC/RPC call (waiting for the "
			   "server's reply) (frame 1 "
			   "ntdll!NtRequestWaitReplyPort)");
	assert_evidence(f, "blocked on: network (frame 3 mswsock!WSPRecv)");
	assert_evidence(f, "blocked on: GUI SendMessage (waiting for another "
			   "thread's window procedure) (frame 3 "
			   "win32k!xxxInterSendMsgEx)");
	assert_evidence(f, "blocked on: I/O (frame 2 "
			   "nt!IopSynchronousServiceTail)");
	assert_evidence(f, "4 blocked");
	/* Longest first. */
	assert_non_null(strstr(f->evidence.v[0], "(id 0x2)"));
	analysis_destroy(&a);
}

/* Passive threads, plain object waits, short lock waits: not blocked. */
static void test_blocked__passive_and_normal(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const worker[] = {
		"nt!KiSwapContext+0x26",	 "nt!KiSwapThread+0x2e5",
		"nt!KeRemoveQueue+0x417",	 "nt!NtRemoveIoCompletion+0xdc",
		"nt!KiFastCallEntry+0xfc",	 "ntdll!KiFastSystemCallRet",
		"ntdll!ZwRemoveIoCompletion+0xc", "ntdll!RtlpWorkerThread+0x3d",
	};
	static const char *const timer[] = {
		"nt!KiSwapContext+0x26",	   "nt!KiSwapThread+0x2e5",
		"nt!KeDelayExecutionThread+0x2ab", "nt!NtDelayExecution+0x84",
		"ntdll!NtDelayExecution+0xc",	   "ntdll!RtlpTimerThread+0x47",
	};
	static const char *const gui[] = {
		"nt!KiSwapContext+0x26",
		"nt!KeWaitForSingleObject+0x346",
		"win32k!xxxSleepThread+0x1be",
		"win32k!xxxRealWaitMessageEx+0x12",
		"win32k!NtUserWaitMessage+0x14",
		"USER32!NtUserWaitMessage+0xc",
		"SHELL32!SHDesktopMessageLoop+0x24",
	};
	static const char *const server[] = {
		"ntdll!KiFastSystemCallRet",
		"ntdll!NtAlpcSendWaitReceivePort+0xc",
		"RPCRT4!LRPC_ADDRESS::ReceiveLotsaCalls+0x11a",
		"RPCRT4!RecvLotsaCallsWrapper+0xd",
	};
	static const char *const listen[] = {
		"ntdll!KiFastSystemCallRet",
		"ntdll!NtWaitForSingleObject+0xc",
		"mswsock!SockWaitForSingleObject+0x1a0",
		"mswsock!WSPAccept+0x21e",
		"ws2_32!accept+0x85",
		"app!Listen+0x30",
	};
	static const char *const objs[] = { "a34d9940 SynchronizationEvent",
					    "a3436a48 NotificationTimer",
					    NULL };

	(void)state;
	add_thread(a, 1, "IEXPLORE.EXE", "WAIT", "Unknown", "UserMode", 2484,
		   NULL, worker, N(worker));
	add_thread(a, 2, "explorer.exe", "WAIT", "Unknown", "UserMode",
		   103729, NULL, timer, N(timer));
	/* A message loop and a plain wait of a few minutes are normal. */
	add_thread(a, 3, "explorer.exe", "WAIT", "Unknown", "UserMode", 9000,
		   NULL, gui, N(gui));
	add_thread(a, 4, "lsass.exe", "WAIT", "WrLpcReceive", "UserMode",
		   900000, NULL, server, N(server));
	add_thread(a, 5, "srv.exe", "WAIT", "UserRequest", "UserMode", 900000,
		   NULL, listen, N(listen));
	add_thread(a, 6, "IEXPLORE.EXE", "WAIT", "Unknown", "UserMode", 9000,
		   objs, generic_stack, N(generic_stack));
	add_thread(a, 7, "System", "WAIT", "WrQueue", "KernelMode", 900000,
		   NULL, NULL, 0);
	/* A lock wait the log shows to be short is contention. */
	add_thread(a, 8, "svchost.exe", "WAIT", "UserRequest", "UserMode", 2,
		   NULL, critsec_stack, N(critsec_stack));
	/* Not waiting at all. */
	add_thread(a, 9, "System", "RUNNING", NULL, NULL, 1, NULL,
		   resource_stack, N(resource_stack));
	add_thread(a, 10, "lsass.exe", "READY", NULL, NULL, 0, NULL,
		   critsec_stack, N(critsec_stack));
	add_thread(a, 11, "System", "TERMINATED", NULL, NULL, -1, NULL,
		   resource_stack, N(resource_stack));
	add_thread(a, 12, "app.exe", "WAIT", "Suspended", "KernelMode",
		   900000, NULL, NULL, 0);
	assert_null(test_detect(a, "blocked-thread"));
	analysis_destroy(&a);
}

/* Minidumps give no state: a wait call on top makes the thread waiting. */
/* Very long plain and message-loop waits are flagged, weakly. */
static void test_blocked__very_long_plain_waits(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const gui[] = {
		"ntdll!KiFastSystemCallRet",
		"USER32!NtUserWaitMessage+0xc",
		"explorer!CTray::_MessageLoop+0x9a",
	};

	(void)state;
	add_thread(a, 3, "explorer.exe", "WAIT", "Unknown", "UserMode",
		   80646, NULL, gui, N(gui));
	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_int_equal(f->confidence, 45);
	assert_evidence(f, "GUI message loop");
	analysis_destroy(&a);

	a = analysis_new();
	add_thread(a, 3, "explorer.exe", "WAIT", "Unknown", "UserMode", 9000,
		   NULL, gui, N(gui));
	assert_null(test_detect(a, "blocked-thread"));
	analysis_destroy(&a);
}

static void test_blocked__minidump_threads(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const cs[] = {
		"ntdll!NtWaitForSingleObject+0x14",
		"ntdll!RtlpWaitOnCriticalSection+0xa6",
		"ntdll!RtlEnterCriticalSection+0x5e",
		"app!Work+0x12",
	};
	static const char *const running[] = {
		"app!Spin+0x2",
		"ntdll!RtlEnterCriticalSection+0x5e",
	};

	(void)state;
	add_thread(a, 0x10, NULL, NULL, NULL, NULL, -1, NULL, cs, N(cs));
	add_thread(a, 0x14, NULL, NULL, NULL, NULL, -1, NULL, running,
		   N(running));
	a->crash.present = true;
	a->crash.crashing_thread = 1;

	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_int_equal(f->confidence, 50);
	assert_evidence(f, "thread 0 (id 0x10): waiting (its stack shows a "
			   "wait call), blocked on: critical section");
	assert_evidence(f, "1 waiting by their stacks");
	assert_evidence(f, "1 without a state");
	analysis_destroy(&a);

	/* The crashing thread is not "waiting" by its stack. */
	a = analysis_new();
	add_thread(a, 0x10, NULL, NULL, NULL, NULL, -1, NULL, cs, N(cs));
	a->crash.present = true;
	a->crash.crashing_thread = 0;
	assert_null(test_detect(a, "blocked-thread"));
	analysis_destroy(&a);
}

/* The tick length from the log turns ticks into seconds, and decides. */
static void test_blocked__seconds_from_tick_length(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const rpc[] = {
		"ntdll!NtAlpcSendWaitReceivePort+0x14",
		"RPCRT4!LRPC_CCALL::SendReceive+0x230",
		"RPCRT4!NdrClientCall2+0x22e",
	};

	(void)state;
	/* 100 ms ticks: 700 ticks are 70 s, long though under 3840 ticks. */
	test_set_text(a, "Wait Start TickCount 5303768 Ticks: 1000 "
		    "(0:00:01:40.000)\n");
	add_thread(a, 1, "app.exe", "WAIT", "WrLpcReply", "UserMode", 700,
		   NULL, rpc, N(rpc));

	const struct finding *f = test_detect(a, "blocked-thread");

	assert_non_null(f);
	assert_evidence(f, "waited 700 ticks, about 70 s");
	assert_evidence(f, "frame 1 RPCRT4!LRPC_CCALL::SendReceive");
	analysis_destroy(&a);

	/* Without the tick length, 700 ticks are not long. */
	a = analysis_new();
	add_thread(a, 1, "app.exe", "WAIT", "WrLpcReply", "UserMode", 700,
		   NULL, rpc, N(rpc));
	assert_null(test_detect(a, "blocked-thread"));
	analysis_destroy(&a);
}

/* ---- signaled-object-wait -------------------------------------------------- */

static void test_signaled__waits_on_signaled(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const one[] = { "89237d88 ProcessObject", NULL };
	static const char *const two[] = { "89237d88 ProcessObject",
					   "a34d9940 SynchronizationEvent",
					   NULL };
	static const char *const wide[] = {
		"ffffdc8b`3e30f230 SynchronizationEvent", NULL
	};

	(void)state;
	add_dispatcher(a, 0x89237d88, "Process", true, 1);
	add_dispatcher(a, 0xa34d9940, "SynchronizationEvent", true, 0);
	add_dispatcher(a, 0xffffdc8b3e30f230, "SynchronizationEvent", true,
		       1);
	add_thread(a, 0x5ea8, "svchost.exe", "WAIT", "UserRequest",
		   "UserMode", 1132797, one, NULL, 0);

	const struct finding *f = test_detect(a, "signaled-object-wait");

	assert_non_null(f);
	assert_int_equal(f->confidence, 75);
	assert_evidence(f, "thread 0 (id 0x5ea8) of svchost.exe waits "
			   "(UserRequest) for 1132797 ticks on 89237d88 "
			   "ProcessObject, whose dispatcher header shows "
			   "SignalState 1, type Process");
	analysis_destroy(&a);

	/* One of two objects signaled: perhaps a WaitAll wait. */
	a = analysis_new();
	add_dispatcher(a, 0x89237d88, "Process", true, 1);
	add_dispatcher(a, 0xa34d9940, "SynchronizationEvent", true, 0);
	add_thread(a, 0x1e88, "IEXPLORE.EXE", "WAIT", NULL, NULL, -1, two,
		   NULL, 0);
	f = test_detect(a, "signaled-object-wait");
	assert_non_null(f);
	assert_int_equal(f->confidence, 50);
	assert_evidence(f, "WaitAll");
	analysis_destroy(&a);

	/* 64-bit addresses with the debugger's backtick. */
	a = analysis_new();
	add_dispatcher(a, 0xffffdc8b3e30f230, "SynchronizationEvent", true,
		       1);
	add_thread(a, 0x3304, "System", "WAIT", "WrResource", NULL, -1, wide,
		   NULL, 0);
	f = test_detect(a, "signaled-object-wait");
	assert_non_null(f);
	assert_evidence(f, "type SynchronizationEvent");
	analysis_destroy(&a);
}

static void test_signaled__negatives(void **state)
{
	struct analysis *a = analysis_new();
	static const char *const obj[] = { "a34d9940 SynchronizationEvent",
					   NULL };
	static const char *const proc[] = { "89237d88 ProcessObject", NULL };
	static const char *const ev[] = { "a301cad8 SynchronizationEvent",
					  NULL };

	(void)state;
	/* Not signaled. */
	add_dispatcher(a, 0xa34d9940, "SynchronizationEvent", true, 0);
	add_thread(a, 0x1e88, "IEXPLORE.EXE", "WAIT", NULL, NULL, 38, obj,
		   NULL, 0);
	/* Signaled, but the thread is ready: its wait was satisfied. */
	add_dispatcher(a, 0x89237d88, "Process", true, 1);
	add_thread(a, 0x275c, "svchost.exe", "READY", NULL, NULL, 0, proc,
		   NULL, 0);
	/* A type from !object, no SignalState. */
	add_dispatcher(a, 0xa301cad8, "Event", false, 0);
	add_thread(a, 0x1108, "lsass.exe", "WAIT", NULL, NULL, 5, ev, NULL,
		   0);
	/* An owned mutant: SignalState 0 or below. */
	add_dispatcher(a, 0x8a1b2c30, "Mutant", true, -1);
	assert_null(test_detect(a, "signaled-object-wait"));
	analysis_destroy(&a);

	/* A signaled object nobody waits on (the seed's exited process). */
	a = analysis_new();
	add_dispatcher(a, 0x89237d88, "Process", true, 1);
	add_thread(a, 0x1e88, "IEXPLORE.EXE", "WAIT", NULL, NULL, 38, obj,
		   NULL, 0);
	assert_null(test_detect(a, "signaled-object-wait"));
	analysis_destroy(&a);
}

/* ---- the debugger-log reader: dispatcher objects --------------------------- */

static const struct dispatcher *dispatcher(const struct analysis *a,
					   uint64_t addr)
{
	for (size_t i = 0; i < a->dispatchers.n; i++)
		if (a->dispatchers.v[i].has_address &&
		    a->dispatchers.v[i].address == addr)
			return &a->dispatchers.v[i];
	return NULL;
}

/* The seed's dt output, with its U+00D7 "0x" in some offsets. */
static const char seed_dt_process[] =
	"0: kd> dt _DISPATCHER_HEADER 89237d88\n"
	"ntdll!_DISPATCHER_HEADER\n"
	"   +0x000 Type             : 0x3 '' ; PROCESS OBJECT\n"
	"   +0x001 Absolute         : 0 ''\n"
	"   +0x001 NpxIrql          : 0 ''\n"
	"   +0x002 Size             : 0x1e ''\n"
	"   +0x002 Hand             : 0x1e ''\n"
	"   +0x003 Inserted         : 0 ''\n"
	"   +0x003 DebugActive      : 0 ''\n"
	"   +0x000 Lock             : 1966083\n"
	"   +0\xc3\x97"
	"004 SignalState      : 1\n"
	"   +0\xc3\x97"
	"008 WaitListHead     : _LIST_ENTRY [ 0\xc3\x97"
	"89237d90 - 0\xc3\x97"
	"89237d90 ]\n";

static void test_dbglog_dispatchers__seed_dt(void **state)
{
	struct analysis *a = test_analyze(seed_dt_process);
	const struct dispatcher *d;

	(void)state;
	assert_int_equal(a->dispatchers.n, 1);
	d = dispatcher(a, 0x89237d88);
	assert_non_null(d);
	assert_string_equal(d->type, "Process");
	assert_true(d->has_signal_state);
	assert_int_equal(d->signal_state, 1);
	analysis_destroy(&a);
}

static void test_dbglog_dispatchers__layouts(void **state)
{
	/* Current x64 dt: "0n" decimals, union members, a typed command. */
	static const char x64[] =
		"1: kd> dt nt!_DISPATCHER_HEADER ffffe001`2e3f4a60\n"
		"   +0x000 Lock             : 0n393217\n"
		"   +0x000 LockNV           : 0n393217\n"
		"   +0x000 Type             : 0x1 ''\n"
		"   +0x001 Signalling       : 0 ''\n"
		"   +0x000 TimerType        : 0x1 ''\n"
		"   +0x004 SignalState      : 0n1\n"
		"   +0x008 WaitListHead     : _LIST_ENTRY [ "
		"0xffffe001`2e3f4a68 - 0xffffe001`2e3f4a68 ]\n"
		/* -r of a _KEVENT: the header nested under Header. */
		"1: kd> dt -r nt!_KEVENT 0xffffe001`2e3f5000\n"
		"   +0x000 Header           : _DISPATCHER_HEADER\n"
		"      +0x000 Lock             : 0n0\n"
		"      +0x000 Type             : 0 ''\n"
		"      +0x004 SignalState      : 0n0\n"
		"      +0x008 WaitListHead     : _LIST_ENTRY\n"
		/* A _KEVENT without -r shows no header fields. */
		"1: kd> dt nt!_KEVENT ffffe001`2e3f6000\n"
		"   +0x000 Header           : _DISPATCHER_HEADER\n"
		/* An owned mutant, and a type value past the table. */
		"1: kd> dt _KMUTANT ffffe001`2e3f7000 -r1\n"
		"   +0x000 Header           : _DISPATCHER_HEADER\n"
		"      +0x000 Type             : 0x2 ''\n"
		"      +0x004 SignalState      : 0n-1\n"
		"   +0x018 MutantListEntry  : _LIST_ENTRY\n"
		"1: kd> dt _DISPATCHER_HEADER ffffe001`2e3f8000\n"
		"   +0x000 Type             : 0x12 ''\n"
		/* Not dispatcher headers, or no address: nothing. */
		"1: kd> dt _OBJECT_HEADER 89237d70\n"
		"   +0x000 PointerCount     : 2\n"
		"   +0x004 HandleCount      : 1\n"
		"1: kd> dt nt!_KEVENT @rcx\n"
		"   +0x000 Header           : _DISPATCHER_HEADER\n"
		"      +0x004 SignalState      : 0n1\n"
		"1: kd> r\n"
		"   +0x004 SignalState      : 0n1\n";
	struct analysis *a = test_analyze(x64);
	const struct dispatcher *d;

	(void)state;
	assert_int_equal(a->dispatchers.n, 4);
	d = dispatcher(a, 0xffffe0012e3f4a60);
	assert_non_null(d);
	assert_string_equal(d->type, "SynchronizationEvent");
	assert_int_equal(d->signal_state, 1);
	d = dispatcher(a, 0xffffe0012e3f5000);
	assert_non_null(d);
	assert_string_equal(d->type, "NotificationEvent");
	assert_true(d->has_signal_state);
	assert_int_equal(d->signal_state, 0);
	assert_null(dispatcher(a, 0xffffe0012e3f6000));
	d = dispatcher(a, 0xffffe0012e3f7000);
	assert_non_null(d);
	assert_string_equal(d->type, "Mutant");
	assert_int_equal(d->signal_state, -1);
	d = dispatcher(a, 0xffffe0012e3f8000);
	assert_non_null(d);
	assert_string_equal(d->type, "Type 0x12");
	assert_false(d->has_signal_state);
	assert_null(dispatcher(a, 0x89237d70));
	analysis_destroy(&a);
}

/* `!object` names the type; the same object again is one dispatcher. */
static void test_dbglog_dispatchers__object_and_repeats(void **state)
{
	static const char log[] =
		"3: kd> !object a301cad8\n"
		"Object: a301cad8  Type: (a59a0720) Event\n"
		"    ObjectHeader: a301cac0 (old version)\n"
		"    HandleCount: 1  PointerCount: 3\n"
		"\n"
		"3: kd> !object e1000638\n"
		"Object: e1000638  Type: (8ad79ad0) KeyedEvent\n"
		"\n"
		"3: kd> !object ffffb587def9dc80\n"
		"ffffb587def9dc80: Not a valid object (ObjectType invalid)\n"
		"\n"
		"3: kd> dt _DISPATCHER_HEADER a301cad8\n"
		"   +0x000 Type             : 0x1 ''\n"
		"   +0x004 SignalState      : 0\n"
		"3: kd> dt _DISPATCHER_HEADER a301cad8\n"
		"   +0x000 Type             : 0x1 ''\n"
		"   +0x004 SignalState      : 1\n"
		/* A kernel handle listing's objects are handles, not
		 * dispatchers the log looked at. */
		"0: kd> !kdexts.handle 0 3 037c\n"
		"Handle table at e272d000 with 500 Entries in use\n"
		"0510: Object: 89237d88  GrantedAccess: 001f0fff Entry: "
		"e1cafa20\n"
		"Object: 89237d88  Type: (8ad84900) Process\n"
		"    ObjectHeader: 89237d70 (old version)\n"
		"        HandleCount: 1  PointerCount: 2\n";
	struct analysis *a = test_analyze(log);
	const struct dispatcher *d;

	(void)state;
	assert_int_equal(a->dispatchers.n, 1);
	d = dispatcher(a, 0xa301cad8);
	assert_non_null(d);
	assert_string_equal(d->type, "SynchronizationEvent");
	assert_true(d->has_signal_state);
	assert_int_equal(d->signal_state, 1);
	assert_int_equal(a->handle_types.n, 1);
	assert_string_equal(a->handle_types.v[0].type, "Process");
	analysis_destroy(&a);

	a = test_analyze("3: kd> !object a301cad8\n"
		    "Object: a301cad8  Type: (a59a0720) Event\n");
	d = dispatcher(a, 0xa301cad8);
	assert_non_null(d);
	assert_string_equal(d->type, "Event");
	assert_false(d->has_signal_state);
	analysis_destroy(&a);
}

/* ---- the seed's own WinDbg output, through the debugger-log reader ------- */

/*
 * Seed: "Crash Dump Analysis Patterns (Part 54)", zombie processes
 * (excerpt: the !vm table shortened; "..." as in the seed).
 */
static const char seed_zombies[] =
	"0: kd> !vm\n"
	"\n"
	"*** Virtual Memory Usage ***\n"
	" Physical Memory:      999294 (   3997176 Kb)\n"
	" Page File: \\??\\C:\\pagefile.sys\n"
	"   Current:   5995520 Kb  Free Space:   5324040 Kb\n"
	"   Minimum:   5995520 Kb  Maximum:      5995520 Kb\n"
	" Available Pages:      626415 (   2505660 Kb)\n"
	" Committed pages:      501592 (   2006368 Kb)\n"
	" Commit limit:        2456879 (   9827516 Kb)\n"
	"\n"
	" Total Private:        368810 (   1475240 Kb)\n"
	"...\n"
	"         3654 explorer.exe      2083 (      8332 Kb)\n"
	"         037c MyService.exe     2082 (      8328 Kb)\n"
	"         0588 svchost.exe        360 (      1440 Kb)\n"
	"         0004 System               7 (        28 Kb)\n"
	"         6ee8 cmd.exe              0 (         0 Kb)\n"
	"         6d7c cmd.exe              0 (         0 Kb)\n"
	"         6b48 IEXPLORE.EXE         0 (         0 Kb)\n"
	"         68dc AcroRd32.exe         0 (         0 Kb)\n"
	"         2130 cmd.exe              0 (         0 Kb)\n"
	"         0650 cmd.exe              0 (         0 Kb)\n"
	"\n"
	"0: kd> !process 0650\n"
	"Searching for Process with Cid == 650\n"
	"PROCESS 89237d88  SessionId: 0  Cid: 0650    Peb: 7ffde000  "
	"ParentCid: 037c\n"
	"    DirBase: f3b31940  ObjectTable: 00000000  HandleCount:   0.\n"
	"    Image: cmd.exe\n"
	"    VadRoot 00000000 Vads 0 Clone 0 Private 0. Modified 2. "
	"Locked 0.\n"
	"    DeviceMap e10038a8\n"
	"    ElapsedTime                       1 Day 00:16:11.706\n"
	"    CommitCharge                      0\n"
	"\n"
	"No active threads\n"
	"\n"
	"0: kd> !process 2130\n"
	"Searching for Process with Cid == 2130\n"
	"PROCESS 89648020  SessionId: 0  Cid: 2130    Peb: 7ffdc000  "
	"ParentCid: 037c\n"
	"    DirBase: f3b31060  ObjectTable: 00000000  HandleCount:   0.\n"
	"    Image: cmd.exe\n"
	"    VadRoot 00000000 Vads 0 Clone 0 Private 0. Modified 2. "
	"Locked 0.\n"
	"\n"
	"No active threads\n"
	"\n"
	"0: kd> !kdexts.handle 0 3 037c\n"
	"processor number 0, process 0000037c\n"
	"Searching for Process with Cid == 37c\n"
	"PROCESS 8a8fa8c0  SessionId: 0  Cid: 037c    Peb: 7ffd8000  "
	"ParentCid: 04ac\n"
	"    DirBase: f3b10360  ObjectTable: e1c276b8  HandleCount: 500.\n"
	"    Image: MyService.exe\n"
	"\n"
	"Handle table at e272d000 with 500 Entries in use\n"
	"0004: Object: e1000638  GrantedAccess: 00000003 Entry: e1caf008\n"
	"Object: e1000638  Type: (8ad79ad0) KeyedEvent\n"
	"    ObjectHeader: e1000620 (old version)\n"
	"        HandleCount: 151  PointerCount: 152\n"
	"        Directory Object: e1001898  Name: CritSecOutOfMemoryEvent\n"
	"\n"
	"...\n"
	"0484: Object: 89648020  GrantedAccess: 001f0fff Entry: e1caf908\n"
	"Object: 89648020  Type: (8ad84900) Process\n"
	"    ObjectHeader: 89648008 (old version)\n"
	"        HandleCount: 1  PointerCount: 2\n"
	"\n"
	"0510: Object: 89237d88  GrantedAccess: 001f0fff Entry: e1cafa20\n"
	"Object: 89237d88  Type: (8ad84900) Process\n"
	"    ObjectHeader: 89237d70 (old version)\n"
	"        HandleCount: 1  PointerCount: 2\n"
	"\n";

/* Seed: "Signaled Objects" (the svchost and IEXPLORE threads, the dt). */
static const char seed_signaled[] =
	"0: kd> !thread 88865db0\n"
	"THREAD 88865db0  Cid 05d0.5ea8  Teb: 7ffaa000 Win32Thread: 00000000 "
	"WAIT: (Unknown) UserMode Non-Alertable\n"
	"    89a65a68  SynchronizationEvent\n"
	"Not impersonating\n"
	"DeviceMap                 e1536358\n"
	"Owning Process            8abbdd88       Image:         svchost.exe\n"
	"Wait Start TickCount      5303768        Ticks: 1132797 "
	"(0:04:54:59.953)\n"
	"Context Switch Count      193\n"
	"Start Address kernel32!BaseThreadStartThunk (0\xc3\x97"
	"7c82b5f3)\n"
	"Stack Init b8ca2000 Current b8ca1c60 Base b8ca2000 Limit b8c9f000 "
	"Call 0\n"
	"Priority 10 BasePriority 8 PriorityDecrement 0\n"
	"Kernel stack not resident.\n"
	"ChildEBP RetAddr  Args to Child\n"
	"b8ca1c78 80832f7a 88865e28 88865db0 88865e58 "
	"nt!KiSwapContext+0\xc3\x97"
	"26\n"
	"b8ca1ca4 8082925c 00000000 00000000 00000000 "
	"nt!KiSwapThread+0\xc3\x97"
	"284\n"
	"b8ca1cec 80937e6a 89a65a68 00000006 00000001 "
	"nt!KeWaitForSingleObject+0\xc3\x97"
	"346\n"
	"b8ca1d50 80888c7c 00000470 00000000 00000000 "
	"nt!NtWaitForSingleObject+0\xc3\x97"
	"9a\n"
	"b8ca1d50 7c94ed54 00000470 00000000 00000000 "
	"nt!KiFastCallEntry+0xfc\n"
	"00c6fea0 7c942124 7c95970f 00000470 00000000 "
	"ntdll!KiFastSystemCallRet\n"
	"00c6fea4 7c95970f 00000470 00000000 00000000 "
	"ntdll!NtWaitForSingleObject+0xc\n"
	"00c6fee0 7c959620 00000000 00000004 009171a8 "
	"ntdll!RtlpWaitOnCriticalSection+0\xc3\x97"
	"19c\n"
	"00c6ff00 7c95c1e7 7c9a9d94 00000000 7ffaa000 "
	"ntdll!RtlEnterCriticalSection+0xa8\n"
	"00c6ffa8 7c8261d6 00000000 00000000 00c6ffec "
	"ntdll!LdrShutdownThread+0\xc3\x97"
	"33\n"
	"00c6ffb8 7c826090 00000000 00000000 00000000 "
	"kernel32!ExitThread+0\xc3\x97"
	"2f\n"
	"00c6ffec 00000000 77c2de6d 009171a8 00000000 "
	"kernel32!BaseThreadStart+0\xc3\x97"
	"39\n"
	"\n"
	"3: kd> !thread a34369d0\n"
	"THREAD a34369d0  Cid 1fc8.1e88  Teb: 7ffae000 Win32Thread: bc6d5818 "
	"WAIT: (Unknown) UserMode Non-Alertable\n"
	"    a34d9940  SynchronizationEvent\n"
	"    a3436a48  NotificationTimer\n"
	"Not impersonating\n"
	"Owning Process            a3340a10       Image:         "
	"IEXPLORE.EXE\n"
	"Wait Start TickCount      1450409        Ticks: 38 "
	"(0:00:00:00.593)\n"
	"ChildEBP RetAddr  Args to Child\n"
	"f252ac78 80833465 a34369d0 a3436a78 00000003 "
	"nt!KiSwapContext+0\xc3\x97"
	"26\n"
	"f252aca4 80829a62 00000000 f252ad14 00000000 "
	"nt!KiSwapThread+0\xc3\x97"
	"2e5\n"
	"f252acec 80938d0c a34d9940 00000006 f252ac01 "
	"nt!KeWaitForSingleObject+0\xc3\x97"
	"346\n"
	"f252ad50 8088978c 000004b0 00000000 f252ad14 "
	"nt!NtWaitForSingleObject+0\xc3\x97"
	"9a\n"
	"030dff0c 77e61d1e 000004b0 00000000 030dff50 "
	"ntdll!NtWaitForSingleObject+0xc\n"
	"030dff7c 77e61c8d 000004b0 000927c0 00000000 "
	"kernel32!WaitForSingleObjectEx+0xac\n"
	"030dff90 7fab08a3 000004b0 000927c0 00000000 "
	"kernel32!WaitForSingleObject+0\xc3\x97"
	"12\n"
	"030dffa8 7fab109c 00000000 7fab106e 030dffec "
	"mshtml!CDwnTaskExec::ThreadExec+0xae\n"
	"\n"
	"3: kd> dt _DISPATCHER_HEADER a34d9940\n"
	"cutildll!_DISPATCHER_HEADER\n"
	"   +0x000 Type             : 0x1 ''\n"
	"   +0x001 Absolute         : 0xda ''\n"
	"   +0x002 Size             : 0x4 ''\n"
	"   +0x003 Inserted         : 0xa3 ''\n"
	"   +0x003 DebugActive      : 0xa3 ''\n"
	"   +0x000 Lock             : -1559963135\n"
	"   +0\xc3\x97"
	"004 SignalState      : 0\n"
	"   +0\xc3\x97"
	"008 WaitListHead     : _LIST_ENTRY [ 0xa3436a78 - 0xa3436a78 ]\n";

/*
 * Seed: "Crash Dump Analysis Patterns (Part 53)", Blocked Thread: its
 * running, ready and waiting examples (excerpt), none of them blocked.
 */
static const char seed_part53[] =
	"3: kd> !thread a59a1b40\n"
	"THREAD a59a1b40  Cid 0004.00b8  Teb: 00000000 Win32Thread: 00000000 "
	"RUNNING on processor 2\n"
	"Owning Process            a59aa648       Image:         System\n"
	"Wait Start TickCount      1450446        Ticks: 1 (0:00:00:00.015)\n"
	"ChildEBP RetAddr\n"
	"f7054bc4 8093c55c nt!ObfReferenceObject+0\xc3\x97"
	"1c\n"
	"f7054ca0 8093d2ae nt!ObpQueryNameString+0\xc3\x97"
	"2ba\n"
	"f7054dac 80949b7c nt!ExpWorkerThread+0xeb\n"
	"\n"
	"3: kd> !ready\n"
	"Processor 1: Ready Threads at priority 11\n"
	"    THREAD a3790790  Cid 0234.1108  Teb: 7ffab000 Win32Thread: "
	"00000000 READY\n"
	"    THREAD a32799a8  Cid 0234.061c  Teb: 7ff83000 Win32Thread: "
	"00000000 READY\n"
	"\n"
	"THREAD a31f2438  Cid 1fc8.181c  Teb: 7ffaa000 Win32Thread: 00000000 "
	"WAIT: (Unknown) UserMode Non-Alertable\n"
	"    a30f8c20  NotificationEvent\n"
	"    a5146720  NotificationEvent\n"
	"Owning Process            a3340a10       Image:         "
	"IEXPLORE.EXE\n"
	"Wait Start TickCount      1419690        Ticks: 30757 "
	"(0:00:08:00.578)\n"
	"ChildEBP RetAddr\n"
	"f5537918 80833465 nt!KiSwapContext+0x26\n"
	"f5537944 80829499 nt!KiSwapThread+0x2e5\n"
	"f5537978 80938f68 nt!KeWaitForMultipleObjects+0x3d7\n"
	"f5537bf4 809390ca nt!ObpWaitForMultipleObjects+0x202\n"
	"f5537d48 8088978c nt!NtWaitForMultipleObjects+0xc8\n"
	"0851fec4 77e6202c ntdll!NtWaitForMultipleObjects+0xc\n"
	"0851ff6c 77e62fbe kernel32!WaitForMultipleObjectsEx+0x11a\n"
	"0851ff88 76929e35 kernel32!WaitForMultipleObjects+0\xc3\x97"
	"18\n"
	"0851ffb8 77e64829 USERENV!NotificationThread+0\xc3\x97"
	"5f\n"
	"\n"
	"THREAD a33a9740  Cid 1980.1960  Teb: 7ffde000 Win32Thread: bc283ea8 "
	"WAIT: (Unknown) UserMode Non-Alertable\n"
	"    a35e3168  SynchronizationEvent\n"
	"Owning Process            a342d3a0       Image:         "
	"explorer.exe\n"
	"Wait Start TickCount      1369801        Ticks: 80646 "
	"(0:00:21:00.093)\n"
	"ChildEBP RetAddr\n"
	"f258ac68 80833465 nt!KiSwapContext+0x26\n"
	"f258ac94 80829a62 nt!KiSwapThread+0x2e5\n"
	"f258acdc bf89abd3 nt!KeWaitForSingleObject+0\xc3\x97"
	"346\n"
	"f258ad38 bf89da43 win32k!xxxSleepThread+0\xc3\x97"
	"1be\n"
	"f258ad4c bf89e401 win32k!xxxRealWaitMessageEx+0\xc3\x97"
	"12\n"
	"f258ad5c 8088978c win32k!NtUserWaitMessage+0\xc3\x97"
	"14\n"
	"0007ff08 7c8fadbd USER32!NtUserWaitMessage+0xc\n"
	"0007ff14 0100fff1 SHELL32!SHDesktopMessageLoop+0\xc3\x97"
	"24\n"
	"\n"
	"THREAD a3072b68  Cid 1fc8.1d94  Teb: 7ffaf000 Win32Thread: bc1e3c20 "
	"WAIT: (Unknown) UserMode Non-Alertable\n"
	"    a37004d8  QueueObject\n"
	"Owning Process            a3340a10       Image:         "
	"IEXPLORE.EXE\n"
	"Wait Start TickCount      1447963        Ticks: 2484 "
	"(0:00:00:38.812)\n"
	"ChildEBP RetAddr\n"
	"f1cc2c50 80833465 nt!KiSwapContext+0x26\n"
	"f1cc2c7c 8082b60f nt!KiSwapThread+0x2e5\n"
	"f1cc2cc4 808ed620 nt!KeRemoveQueue+0\xc3\x97"
	"417\n"
	"f1cc2d48 8088978c nt!NtRemoveIoCompletion+0xdc\n"
	"06ceff74 7c839f38 ntdll!ZwRemoveIoCompletion+0xc\n"
	"06ceffb8 77e64829 ntdll!RtlpWorkerThread+0\xc3\x97"
	"3d\n"
	"\n"
	"THREAD a3612020  Cid 1980.1a48  Teb: 7ffd9000 Win32Thread: 00000000 "
	"WAIT: (Unknown) UserMode Alertable\n"
	"    a3612098  NotificationTimer\n"
	"Owning Process            a342d3a0       Image:         "
	"explorer.exe\n"
	"Wait Start TickCount      1346718        Ticks: 103729 "
	"(0:00:27:00.765)\n"
	"ChildEBP RetAddr\n"
	"f2452c98 80833465 nt!KiSwapContext+0x26\n"
	"f2452cc4 80828f0b nt!KiSwapThread+0x2e5\n"
	"f2452d0c 80994812 nt!KeDelayExecutionThread+0\xc3\x97"
	"2ab\n"
	"f2452d54 8088978c nt!NtDelayExecution+0\xc3\x97"
	"84\n"
	"0149ffa0 7c83d424 ntdll!NtDelayExecution+0xc\n"
	"0149ffb8 77e64829 ntdll!RtlpTimerThread+0\xc3\x97"
	"47\n"
	"\n";

/*
 * Seed: "Crash Dump Analysis Patterns (Part 51)", Message Box: "many of
 * [the other threads] were trying to open a network connection" (excerpt).
 */
static const char seed_network[] =
	"THREAD 87a70da8  Cid 0a04.0cc0  Teb: 7ff83000 Win32Thread: 00000000 "
	"WAIT: (UserRequest) UserMode Non-Alertable\n"
	"    87d690b0  NotificationEvent\n"
	"    87a70e98  NotificationTimer\n"
	"IRP List:\n"
	"    87af7bc8: (0006,0244) Flags: 00000000  Mdl: 00000000\n"
	"Not impersonating\n"
	"Owning Process            888ffb60       Image:         OUTLOOK.EXE\n"
	"Wait Start TickCount      1267130        Ticks: 8515 "
	"(0:00:02:13.046)\n"
	"Kernel stack not resident.\n"
	"ChildEBP RetAddr \n"
	"9fbc4cb8 804e1bd2 nt!KiSwapContext+0\xc3\x97"
	"2f\n"
	"9fbc4cc4 804e1c1e nt!KiSwapThread+0\xc3\x97"
	"8a\n"
	"9fbc4cec 8056d2f9 nt!KeWaitForSingleObject+0\xc3\x97"
	"1c2\n"
	"9fbc4d50 804dd99f nt!NtWaitForSingleObject+0\xc3\x97"
	"9a\n"
	"9fbc4d50 7c90eb94 nt!KiFastCallEntry+0xfc\n"
	"1bd8f52c 7c90e9c0 ntdll!KiFastSystemCallRet\n"
	"1bd8f530 7c8025cb ntdll!ZwWaitForSingleObject+0xc\n"
	"1bd8f594 7c802532 kernel32!WaitForSingleObjectEx+0xa8\n"
	"1bd8f5a8 77eec4c6 kernel32!WaitForSingleObject+0\xc3\x97"
	"12\n"
	"1bd8f6a4 77eec8b7 RPCRT4!WS_Open+0\xc3\x97"
	"31d\n"
	"1bd8f7c8 77eec96d RPCRT4!TCPOrHTTP_Open+0\xc3\x97"
	"19e\n"
	"1bd8f800 77e83e8d RPCRT4!TCP_Open+0\xc3\x97"
	"55\n"
	"1bd8f84c 77e843f7 RPCRT4!OSF_CCONNECTION::TransOpen+0\xc3\x97"
	"5e\n"
	"1bd8f8f8 77e844d0 RPCRT4!OSF_CCALL::BindToServer+0\xc3\x97"
	"104\n"
	"1bd8f9c4 77ef460b RPCRT4!NdrGetBuffer+0\xc3\x97"
	"28\n"
	"1bd8fda4 35bae645 RPCRT4!NdrClientCall2+0\xc3\x97"
	"195\n"
	"\n";

/* Pattern x seed example: which of my ids each example shows. */
static void test_seed__zombies_and_handle_leak(void **state)
{
	struct analysis *a = test_analyze(seed_zombies);
	const struct finding *f;

	(void)state;
	f = test_found(a, "zombie-processes");
	assert_non_null(f);
	assert_evidence(f, "6 zombie processes");
	assert_evidence(f, "2 with ObjectTable 00000000, 2 with no active "
			   "threads, 6 with no private memory");
	assert_evidence(f, "cmd.exe x4, IEXPLORE.EXE x1, AcroRd32.exe x1");
	assert_evidence(f, "ParentCid 037c (MyService.exe, 500 handles)");
	assert_evidence(f, "see handle-leak");
	f = test_found(a, "handle-leak");
	assert_non_null(f);
	assert_evidence(f, "children of 037c MyService.exe, which holds 500 "
			   "handles");
	assert_evidence(f, "see zombie-processes");
	assert_evidence(f, "top handle types: Process 2, KeyedEvent 1");
	assert_null(test_found(a, "blocked-thread"));
	assert_null(test_found(a, "signaled-object-wait"));
	analysis_destroy(&a);
}

static void test_seed__signaled_objects(void **state)
{
	struct analysis *a = test_analyze(seed_signaled);
	const struct finding *f;

	(void)state;
	/* The svchost thread waits on a critical section for 4:54:59. */
	f = test_found(a, "blocked-thread");
	assert_non_null(f);
	assert_evidence(f, "of svchost.exe: waiting from user mode (Unknown), "
			   "blocked on: critical section (frame 7 "
			   "ntdll!RtlpWaitOnCriticalSection)");
	assert_evidence(f, "waited 1132797 ticks, about 17700 s");
	assert_no_evidence(f, "IEXPLORE.EXE");
	/* The IEXPLORE thread's event has SignalState 0: a normal wait. */
	assert_int_equal(a->dispatchers.n, 1);
	assert_null(test_found(a, "signaled-object-wait"));
	assert_null(test_found(a, "zombie-processes"));
	assert_null(test_found(a, "handle-leak"));
	analysis_destroy(&a);
}

/*
 * The same thread and dt output, with the event signaled (SignalState
 * changed to 1; composed from the seed, which shows only unsignaled
 * waits and a signaled object nobody waits on).
 */
static void test_seed__signaled_object_wait_composed(void **state)
{
	size_t n = strlen(seed_signaled);
	char *log = malloc(n + 1);
	const char *needle = "SignalState      : 0";

	(void)state;
	assert_non_null(log);
	memcpy(log, seed_signaled, n + 1);

	char *p = strstr(log, needle);

	assert_non_null(p);
	p[strlen(needle) - 1] = '1';

	struct analysis *a = test_analyze(log);
	const struct finding *f = test_found(a, "signaled-object-wait");

	assert_non_null(f);
	/* The other object (the wait's timeout timer) is not shown. */
	assert_int_equal(f->confidence, 75);
	assert_evidence(f, "(id 0x1e88) of IEXPLORE.EXE waits (Unknown) for "
			   "38 ticks on a34d9940 SynchronizationEvent, whose "
			   "dispatcher header shows SignalState 1, type "
			   "SynchronizationEvent");
	analysis_destroy(&a);
	free(log);
}

static void test_seed__blocked_thread_classes(void **state)
{
	struct analysis *a = test_analyze(seed_part53);

	(void)state;
	/*
	 * Running, ready, passive and plain waits; explorer's message loop
	 * has waited 21 minutes and USERENV 8 minutes on plain objects: very
	 * long waits, flagged weakly.
	 */
	assert_true(a->threads.n >= 7);
	const struct finding *weak = test_found(a, "blocked-thread");

	assert_non_null(weak);
	assert_int_equal(weak->confidence, 45);
	assert_evidence(weak, "GUI message loop");
	assert_null(test_found(a, "signaled-object-wait"));
	assert_null(test_found(a, "zombie-processes"));
	assert_null(test_found(a, "handle-leak"));
	analysis_destroy(&a);

	/* With the svchost thread of "Signaled Objects": its classes. */
	size_t n1 = strlen(seed_part53), n2 = strlen(seed_signaled);
	char *log = malloc(n1 + n2 + 1);

	assert_non_null(log);
	memcpy(log, seed_part53, n1);
	memcpy(log + n1, seed_signaled, n2 + 1);
	a = test_analyze(log);

	const struct finding *f = test_found(a, "blocked-thread");

	assert_non_null(f);
	assert_evidence(f, "9 threads: 1 running, 2 ready, 6 waiting from "
			   "user mode, 0 from kernel mode");
	assert_evidence(f, "2 passive");
	assert_evidence(f, "3 blocked");
	analysis_destroy(&a);
	free(log);
}

static void test_seed__blocked_on_the_network(void **state)
{
	struct analysis *a = test_analyze(seed_network);
	const struct finding *f = test_found(a, "blocked-thread");

	(void)state;
	assert_non_null(f);
	assert_evidence(f, "(id 0xcc0) of OUTLOOK.EXE: waiting from user mode "
			   "(UserRequest), blocked on: network (frame 9 "
			   "RPCRT4!WS_Open)");
	assert_evidence(f, "waited 8515 ticks, about 133 s");
	assert_null(test_found(a, "signaled-object-wait"));
	assert_null(test_found(a, "zombie-processes"));
	assert_null(test_found(a, "handle-leak"));
	analysis_destroy(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads__registry_has_mine),
		cmocka_unit_test(test_zombie__process_listing),
		cmocka_unit_test(test_zombie__vm_table),
		cmocka_unit_test(test_zombie__negatives),
		cmocka_unit_test(test_zombie__mex_count),
		cmocka_unit_test(test_handles__process_count),
		cmocka_unit_test(test_handles__process_handles_and_zombies),
		cmocka_unit_test(test_handles__zombie_parent),
		cmocka_unit_test(test_handles__negatives),
		cmocka_unit_test(test_blocked__critical_section),
		cmocka_unit_test(test_blocked__resource_without_time),
		cmocka_unit_test(test_blocked__reason_and_mutant),
		cmocka_unit_test(test_blocked__calls_need_long_waits),
		cmocka_unit_test(test_blocked__passive_and_normal),
		cmocka_unit_test(test_blocked__very_long_plain_waits),
		cmocka_unit_test(test_blocked__minidump_threads),
		cmocka_unit_test(test_blocked__seconds_from_tick_length),
		cmocka_unit_test(test_signaled__waits_on_signaled),
		cmocka_unit_test(test_signaled__negatives),
		cmocka_unit_test(test_dbglog_dispatchers__seed_dt),
		cmocka_unit_test(test_dbglog_dispatchers__layouts),
		cmocka_unit_test(test_dbglog_dispatchers__object_and_repeats),
		cmocka_unit_test(test_seed__zombies_and_handle_leak),
		cmocka_unit_test(test_seed__signaled_objects),
		cmocka_unit_test(test_seed__signaled_object_wait_composed),
		cmocka_unit_test(test_seed__blocked_thread_classes),
		cmocka_unit_test(test_seed__blocked_on_the_network),
	};
	return cmocka_run_group_tests_name("detectors_threads", tests, NULL,
					   NULL);
}
