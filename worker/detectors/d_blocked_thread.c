/*
 * blocked-thread: threads that are stuck waiting for someone else.
 *
 * Almost every thread in a dump waits for something; the seed (Crash Dump
 * Analysis Patterns, part 53) sorts them: running threads, ready threads,
 * and waiting ones, the wait made from user mode or kernel mode. Many
 * waiters are passive: idle worker threads waiting on a queue
 * (KeRemoveQueue, WrQueue), timer threads, sleeping threads, RPC/LPC
 * servers and sockets waiting for the next request. Those are never
 * flagged. Waits on plain objects nothing more specific explains, and GUI
 * message waits (NtUserWaitMessage), are flagged only when very long
 * (VERY_LONG_WAIT_*), at a low confidence: a UI thread idle for minutes
 * is usual, one idle for hours in a hung application is the pattern the
 * seed shows. A thread is blocked when it waits
 *   - for a lock: executive resource (ExpWaitForResource, WrResource),
 *     push lock (ExfAcquirePushLock*, WrPushLock), fast/guarded mutex or
 *     mutant, critical section (RtlEnterCriticalSection,
 *     RtlpWaitOnCriticalSection), SRW lock, keyed event: flagged unless
 *     the log shows the wait is shorter than SHORT_WAIT_*;
 *   - for another party: an LPC/ALPC/RPC/COM call (AlpcpSignalAndWait,
 *     NtAlpcSendWaitReceivePort, NdrClientCall*), the network (afd, tcpip,
 *     TDI, Winsock), I/O, a SendMessage to another thread's window:
 *     flagged when the wait is longer than LONG_WAIT_* (seconds when the
 *     log gives the tick length, as "Ticks: N (d:hh:mm:ss.ms)", ticks
 *     otherwise).
 * The kind comes from the innermost frame a rule names strongly, else the
 * wait reason, else a waited Mutant, else a weaker frame rule (modules
 * such as afd or ntfs, system calls such as NtAlpcSendWaitReceivePort that
 * both clients and servers make). Threads without a state (minidumps)
 * count as waiting when their top frames are a wait system call; such a
 * thread is flagged only for a lock, at a lower confidence. Evidence: the
 * classification of every thread, then each blocked thread with its
 * state, wait reason, waited objects, wait time and the frame that names
 * the kind.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define LONG_WAIT_TICKS 3840   /* 60 s at the usual 15.625 ms tick */
#define LONG_WAIT_SECONDS 60.0
#define SHORT_WAIT_TICKS 64    /* 1 s: a lock wait shorter is contention */
#define SHORT_WAIT_SECONDS 1.0
#define MAX_SCAN_FRAMES 32     /* frames looked at from the top */
#define INFER_FRAMES 3         /* top frames that may show a wait call */
#define MAX_THREAD_EVIDENCE 8
#define MAX_TICK_SAMPLES 4096  /* "Ticks:" lines read for the tick length */
#define MIN_TICK_MS 1.0        /* plausible tick lengths */
#define MAX_TICK_MS 100.0
#define CONF_LOCK_LONG 80
#define CONF_LOCK 70
#define CONF_LOCK_UNTIMED 65
#define CONF_PARTY_LONG 70
/*
 * Plain object waits and GUI message waits are what most threads do most
 * of the time; only a very long one is worth a look, and then weakly.
 */
#define VERY_LONG_WAIT_TICKS 19200 /* 300 s at the usual tick */
#define VERY_LONG_WAIT_SECONDS 300.0
#define CONF_VERY_LONG 45
#define CONF_INFERRED 50

enum kind {
	K_GENERIC = 0, /* an object wait nothing more specific explains */
	K_PASSIVE,     /* waiting for work */
	K_SUSPENDED,
	K_RESOURCE,
	K_PUSHLOCK,
	K_MUTEX,
	K_CRITSEC,
	K_SRWLOCK,
	K_KEYED,
	K_LPC,
	K_NETWORK,
	K_IO,
	K_GUI_SEND,
	K_GUI_WAIT,
};

enum flag_rule {
	F_NEVER,
	F_LOCK, /* flagged unless known to be short */
	F_LONG, /* flagged when known to be long */
	F_VERY_LONG, /* flagged, weakly, when known to be very long */
};

static const struct {
	const char *name;
	enum flag_rule flag;
} kinds[] = {
	[K_GENERIC] = { "object wait", F_VERY_LONG },
	[K_PASSIVE] = { "passive wait", F_NEVER },
	[K_SUSPENDED] = { "suspended", F_NEVER },
	[K_RESOURCE] = { "executive resource (ERESOURCE)", F_LOCK },
	[K_PUSHLOCK] = { "push lock", F_LOCK },
	[K_MUTEX] = { "mutex (fast/guarded mutex or mutant)", F_LOCK },
	[K_CRITSEC] = { "critical section", F_LOCK },
	[K_SRWLOCK] = { "slim reader/writer lock", F_LOCK },
	[K_KEYED] = { "keyed event (critical section or SRW lock)", F_LOCK },
	[K_LPC] = { "LPC/ALPC/RPC call (waiting for the server's reply)",
		    F_LONG },
	[K_NETWORK] = { "network", F_LONG },
	[K_IO] = { "I/O", F_LONG },
	[K_GUI_SEND] = { "GUI SendMessage (waiting for another thread's "
			 "window procedure)",
			 F_LONG },
	[K_GUI_WAIT] = { "GUI message wait (NtUserWaitMessage)", F_VERY_LONG },
};

/* Frame rules, tried on each frame from the top. */
struct frame_rule {
	const char *module;   /* glob on the module stem */
	const char *function; /* glob; "*" also takes frames without one */
	enum kind kind;
	bool strong;          /* decides at once; weak ones only as a last
				 resort */
	const char *what;     /* passive waits: which one */
};

#define IDLE_WORKER "idle worker thread (waits for work on a queue)"
#define SLEEPING "sleeping or timer thread (delay)"
#define MSG_LOOP "GUI message loop (waits for input)"
#define LPC_SERVER "LPC/RPC server waiting for requests"
#define LISTENING "server waiting for a connection"

static const struct frame_rule frame_rules[] = {
	/* Passive: waiting for work. */
	{ "*", "KeRemoveQueue*", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "KeRemovePriQueue", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "IoRemoveIoCompletion", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "NtRemoveIoCompletion*", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "ZwRemoveIoCompletion*", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "NtWaitForWorkViaWorkerFactory", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "ZwWaitForWorkViaWorkerFactory", K_PASSIVE, true, IDLE_WORKER },
	{ "*", "TppWaiterpThread", K_PASSIVE, true,
	  "thread-pool wait thread" },
	{ "*", "RtlpTimerThread", K_PASSIVE, true, "timer thread" },
	{ "*", "KeDelayExecutionThread", K_PASSIVE, true, SLEEPING },
	{ "*", "NtDelayExecution", K_PASSIVE, true, SLEEPING },
	{ "*", "ZwDelayExecution", K_PASSIVE, true, SLEEPING },
	{ "kernel*", "Sleep*", K_PASSIVE, true, SLEEPING },
	{ "*", "KiIdleLoop", K_PASSIVE, true, "idle loop" },
	{ "win32k*", "xxxRealWaitMessageEx", K_GUI_WAIT, true, MSG_LOOP },
	{ "win32k*", "xxxRealInternalGetMessage", K_GUI_WAIT, true, MSG_LOOP },
	{ "win32k*", "xxxInternalGetMessage", K_GUI_WAIT, true, MSG_LOOP },
	{ "*", "NtUserWaitMessage", K_GUI_WAIT, true, MSG_LOOP },
	{ "*", "NtUserGetMessage", K_GUI_WAIT, true, MSG_LOOP },
	{ "user32", "GetMessage*", K_GUI_WAIT, true, MSG_LOOP },
	{ "user32", "WaitMessage", K_GUI_WAIT, true, MSG_LOOP },
	{ "*", "NtUserMsgWaitForMultipleObjectsEx", K_GUI_WAIT, false,
	  MSG_LOOP },
	{ "user32", "*MsgWaitForMultipleObjects*", K_GUI_WAIT, false,
	  MSG_LOOP },
	{ "*", "NtReplyWaitReceivePort*", K_PASSIVE, true, LPC_SERVER },
	{ "*", "ZwReplyWaitReceivePort*", K_PASSIVE, true, LPC_SERVER },
	{ "*", "AlpcpReceiveMessage*", K_PASSIVE, true, LPC_SERVER },
	{ "rpcrt4", "LRPC_ADDRESS::ReceiveLotsaCalls", K_PASSIVE, true,
	  LPC_SERVER },
	{ "ws2_32", "accept", K_PASSIVE, true, LISTENING },
	{ "ws2_32", "WSAAccept", K_PASSIVE, true, LISTENING },
	{ "mswsock", "WSPAccept", K_PASSIVE, true, LISTENING },
	{ "mswsock", "AcceptEx", K_PASSIVE, true, LISTENING },
	{ "afd", "AfdWaitForListen", K_PASSIVE, true, LISTENING },
	{ "kernel*", "ConnectNamedPipe", K_PASSIVE, true, LISTENING },
	{ "*", "KiSuspendThread", K_SUSPENDED, true, NULL },
	/* Locks. */
	{ "*", "ExpWaitForResource*", K_RESOURCE, true, NULL },
	{ "*", "ExAcquireResource*Lite", K_RESOURCE, true, NULL },
	{ "*", "ExAcquireShared*Exclusive", K_RESOURCE, true, NULL },
	{ "*", "ExpAcquireResource*", K_RESOURCE, true, NULL },
	{ "*", "ExAcquireFastResource*", K_RESOURCE, true, NULL },
	{ "*", "ExEnterCriticalRegionAndAcquireResource*", K_RESOURCE, true,
	  NULL },
	{ "*", "ExfAcquirePushLock*", K_PUSHLOCK, true, NULL },
	{ "*", "ExAcquirePushLock*", K_PUSHLOCK, true, NULL },
	{ "*", "Ex*AcquireCacheAwarePushLock*", K_PUSHLOCK, true, NULL },
	{ "*", "ExTimedWaitForUnblockPushLock", K_PUSHLOCK, true, NULL },
	{ "*", "ExWaitForUnblockPushLock", K_PUSHLOCK, true, NULL },
	{ "*", "ExAcquireFastMutex*", K_MUTEX, true, NULL },
	{ "*", "ExpAcquireFastMutexContended", K_MUTEX, true, NULL },
	{ "*", "KeAcquireGuardedMutex*", K_MUTEX, true, NULL },
	{ "*", "KiAcquireGuardedMutex*", K_MUTEX, true, NULL },
	{ "*", "KiAcquireFastMutex", K_MUTEX, true, NULL },
	{ "*", "KeWaitForMutexObject", K_MUTEX, true, NULL },
	{ "*", "RtlpWaitOnCriticalSection", K_CRITSEC, true, NULL },
	{ "*", "RtlpWaitForCriticalSection", K_CRITSEC, true, NULL },
	{ "*", "RtlpEnterCriticalSectionContended", K_CRITSEC, true, NULL },
	{ "*", "RtlEnterCriticalSection", K_CRITSEC, true, NULL },
	{ "kernel*", "EnterCriticalSection", K_CRITSEC, true, NULL },
	{ "*", "LdrpAcquireLoaderLock", K_CRITSEC, true, NULL },
	{ "*", "RtlAcquireSRWLock*", K_SRWLOCK, true, NULL },
	{ "*", "RtlpAcquireSRWLock*", K_SRWLOCK, true, NULL },
	{ "*", "RtlSleepConditionVariable*", K_GENERIC, true, NULL },
	{ "kernel*", "SleepConditionVariable*", K_GENERIC, true, NULL },
	{ "*", "NtWaitForKeyedEvent", K_KEYED, false, NULL },
	{ "*", "ZwWaitForKeyedEvent", K_KEYED, false, NULL },
	/* Calls to another process: LPC, ALPC, RPC, COM, CSRSS. */
	{ "*", "AlpcpReceiveSynchronousReply", K_LPC, true, NULL },
	{ "*", "AlpcpProcessSynchronousRequest", K_LPC, true, NULL },
	{ "*", "LpcpWaitForReply", K_LPC, true, NULL },
	{ "*", "NtRequestWaitReplyPort", K_LPC, true, NULL },
	{ "*", "ZwRequestWaitReplyPort", K_LPC, true, NULL },
	{ "*", "LpcRequestWaitReplyPort*", K_LPC, true, NULL },
	{ "*", "NdrClientCall*", K_LPC, true, NULL },
	{ "*", "NdrpClientCall*", K_LPC, true, NULL },
	{ "*", "Ndr64*ClientCall*", K_LPC, true, NULL },
	{ "*", "NdrSendReceive", K_LPC, true, NULL },
	{ "*", "I_RpcSendReceive", K_LPC, true, NULL },
	{ "rpcrt4", "LRPC_*CCALL::*", K_LPC, true, NULL },
	{ "rpcrt4", "OSF_CCALL::*", K_LPC, true, NULL },
	{ "*", "ThreadSendReceive", K_LPC, true, NULL },
	{ "*", "CRpcChannelBuffer::SendReceive*", K_LPC, true, NULL },
	{ "*", "CCliModalLoop::BlockFn", K_LPC, true, NULL },
	{ "*", "CsrClientCallServer", K_LPC, true, NULL },
	{ "*", "AlpcpSignalAndWait", K_LPC, false, NULL },
	{ "*", "AlpcpWaitForSingleObject", K_LPC, false, NULL },
	{ "*", "NtAlpcSendWaitReceivePort", K_LPC, false, NULL },
	{ "*", "ZwAlpcSendWaitReceivePort", K_LPC, false, NULL },
	/* Network: Winsock, AFD, TCP/IP, TDI. */
	{ "ws2_32", "recv*", K_NETWORK, true, NULL },
	{ "ws2_32", "WSARecv*", K_NETWORK, true, NULL },
	{ "ws2_32", "send*", K_NETWORK, true, NULL },
	{ "ws2_32", "WSASend*", K_NETWORK, true, NULL },
	{ "ws2_32", "connect", K_NETWORK, true, NULL },
	{ "ws2_32", "WSAConnect*", K_NETWORK, true, NULL },
	{ "ws2_32", "select", K_NETWORK, true, NULL },
	{ "ws2_32", "WSAPoll", K_NETWORK, true, NULL },
	{ "ws2_32", "getaddrinfo", K_NETWORK, true, NULL },
	{ "ws2_32", "GetAddrInfo*", K_NETWORK, true, NULL },
	{ "ws2_32", "gethostbyname", K_NETWORK, true, NULL },
	{ "mswsock", "WSPRecv*", K_NETWORK, true, NULL },
	{ "mswsock", "WSPSend*", K_NETWORK, true, NULL },
	{ "mswsock", "WSPSelect", K_NETWORK, true, NULL },
	{ "mswsock", "WSPConnect", K_NETWORK, true, NULL },
	{ "afd", "AfdReceive*", K_NETWORK, true, NULL },
	{ "afd", "AfdSend*", K_NETWORK, true, NULL },
	{ "afd", "AfdPoll*", K_NETWORK, true, NULL },
	{ "afd", "AfdConnect*", K_NETWORK, true, NULL },
	/* RPC's own transports: a client still connecting to its server. */
	{ "rpcrt4", "WS_*", K_NETWORK, true, NULL },
	{ "rpcrt4", "TCP_*", K_NETWORK, true, NULL },
	{ "rpcrt4", "TCPOrHTTP_*", K_NETWORK, true, NULL },
	{ "ws2_32", "*", K_NETWORK, false, NULL },
	{ "mswsock", "*", K_NETWORK, false, NULL },
	{ "afd", "*", K_NETWORK, false, NULL },
	{ "tcpip*", "*", K_NETWORK, false, NULL },
	{ "netio", "*", K_NETWORK, false, NULL },
	{ "tdi", "*", K_NETWORK, false, NULL },
	{ "tdx", "*", K_NETWORK, false, NULL },
	{ "netbt", "*", K_NETWORK, false, NULL },
	/* I/O: file systems, devices, paging. */
	{ "*", "MiWaitForInPageComplete", K_IO, true, "paging I/O" },
	{ "*", "MiWaitForCollidedFaultComplete", K_IO, true, "paging I/O" },
	{ "*", "MiIssueHardFault", K_IO, false, "paging I/O" },
	{ "*", "Iop*", K_IO, false, NULL },
	{ "*", "IofCallDriver", K_IO, false, NULL },
	{ "*", "NtReadFile*", K_IO, false, NULL },
	{ "*", "ZwReadFile*", K_IO, false, NULL },
	{ "*", "NtWriteFile*", K_IO, false, NULL },
	{ "*", "ZwWriteFile*", K_IO, false, NULL },
	{ "*", "NtDeviceIoControlFile", K_IO, false, NULL },
	{ "*", "ZwDeviceIoControlFile", K_IO, false, NULL },
	{ "*", "NtFsControlFile", K_IO, false, NULL },
	{ "*", "ZwFsControlFile", K_IO, false, NULL },
	{ "*", "NtFlushBuffersFile*", K_IO, false, NULL },
	{ "*", "NtCreateFile", K_IO, false, NULL },
	{ "*", "ZwCreateFile", K_IO, false, NULL },
	{ "*", "NtOpenFile", K_IO, false, NULL },
	{ "*", "ZwOpenFile", K_IO, false, NULL },
	{ "*", "NtQueryDirectoryFile*", K_IO, false, NULL },
	{ "*", "NtLockFile", K_IO, false, NULL },
	{ "kernel*", "ReadFile*", K_IO, false, NULL },
	{ "kernel*", "WriteFile*", K_IO, false, NULL },
	{ "kernel*", "DeviceIoControl", K_IO, false, NULL },
	{ "kernel*", "GetOverlappedResult*", K_IO, false, NULL },
	{ "kernel*", "FlushFileBuffers", K_IO, false, NULL },
	{ "kernel*", "CreateFile*", K_IO, false, NULL },
	{ "kernel*", "LockFile*", K_IO, false, NULL },
	{ "ntfs", "*", K_IO, false, NULL },
	{ "fltmgr", "*", K_IO, false, NULL },
	{ "npfs", "*", K_IO, false, NULL },
	{ "mup", "*", K_IO, false, NULL },
	{ "rdbss", "*", K_IO, false, NULL },
	{ "mrxsmb*", "*", K_IO, false, NULL },
	/* GUI: a message sent to another thread's window. */
	{ "win32k*", "xxxInterSendMsgEx", K_GUI_SEND, true, NULL },
	{ "win32k*", "xxxSendMessageTimeout", K_GUI_SEND, true, NULL },
	{ "win32k*", "xxxSendMessage", K_GUI_SEND, true, NULL },
	{ "user32", "SendMessage*", K_GUI_SEND, true, NULL },
	{ "*", "NtUserMessageCall", K_GUI_SEND, false, NULL },
};

/* KWAIT_REASON names, when no strong frame rule decided. */
static const struct {
	const char *reason;
	enum kind kind;
	const char *what;
} reason_rules[] = {
	{ "WrResource", K_RESOURCE, NULL },
	{ "WrPushLock", K_PUSHLOCK, NULL },
	{ "WrMutex", K_MUTEX, NULL },
	{ "WrFastMutex", K_MUTEX, NULL },
	{ "WrGuardedMutex", K_MUTEX, NULL },
	{ "WrKeyedEvent", K_KEYED, NULL },
	{ "WrLpcReply", K_LPC, NULL },
	{ "WrLpcReceive", K_PASSIVE, LPC_SERVER },
	{ "WrQueue", K_PASSIVE, IDLE_WORKER },
	{ "WrDelayExecution", K_PASSIVE, SLEEPING },
	{ "DelayExecution", K_PASSIVE, SLEEPING },
	{ "PageIn", K_IO, "paging I/O" },
	{ "WrPageIn", K_IO, "paging I/O" },
	{ "Suspended", K_SUSPENDED, NULL },
	{ "WrSuspended", K_SUSPENDED, NULL },
};

/* Top frames of a thread without a state that show it waits. */
static const char *const wait_calls[] = {
	"Nt*Wait*", "Zw*Wait*", "NtDelayExecution", "ZwDelayExecution",
	"NtRemoveIoCompletion*", "ZwRemoveIoCompletion*", "NtUserGetMessage",
	"NtUserMessageCall", "KiFastSystemCallRet", "KiSwapContext",
	"KiSwapThread", "KeWaitFor*", "NtReadFile", "ZwReadFile",
	"NtWriteFile", "ZwWriteFile", "NtDeviceIoControlFile",
	"ZwDeviceIoControlFile", "NtFsControlFile", "ZwFsControlFile",
};

/* What the state of a thread is. */
enum tclass {
	C_RUNNING,
	C_READY,
	C_WAIT_USER,
	C_WAIT_KERNEL,
	C_WAIT,        /* mode not given */
	C_WAIT_INFERRED, /* no state; the stack shows a wait */
	C_OTHER,       /* terminated, initialized, transition... */
	C_NONE,        /* no state, nothing to infer */
	C_N,
};

static const char *const state_ready[] = { "READY", "STANDBY",
					   "DEFERREDREADY" };

/* One thread, classified. */
struct cls {
	enum tclass c;
	enum kind kind;
	const char *what;        /* passive sub-kind, or NULL */
	const struct frame *by;  /* the frame that named the kind */
	size_t at;               /* its index */
	bool by_reason;          /* the wait reason named it */
	bool by_object;          /* a waited Mutant named it */
	bool flagged;
	int conf;
};

struct state {
	struct analysis *a;
	struct finding *f;
	double ms_per_tick;      /* 0: unknown */
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                             \
	detect_add((s)->a, &(s)->f, "blocked-thread",                       \
		   "Threads are blocked waiting for a lock, a call or I/O", \
		   (confidence), __VA_ARGS__)

/* ---- the tick length, from "Ticks: 1132797 (0:04:54:59.953)" ---------- */

/* Decimal digits at *P (before END) into *V; false when there are none. */
static bool read_dec(const char **p, const char *end, uint64_t *v)
{
	const char *q = *p;

	*v = 0;
	while (q < end && *q >= '0' && *q <= '9' && *v < UINT64_MAX / 100)
		*v = *v * 10 + (uint64_t)(*q++ - '0');
	if (q == *p)
		return false;
	*p = q;
	return true;
}

/* "(d:hh:mm:ss.mmm)" at P into milliseconds. */
static bool read_duration(const char *p, const char *end, double *ms)
{
	uint64_t part[4], frac;

	if (p >= end || *p++ != '(')
		return false;
	for (int i = 0; i < 4; i++) {
		if (!read_dec(&p, end, &part[i]) || p >= end ||
		    *p++ != (i < 3 ? ':' : '.'))
			return false;
	}
	if (!read_dec(&p, end, &frac) || p >= end || *p != ')')
		return false;
	*ms = (((double)part[0] * 24 + (double)part[1]) * 60 +
	       (double)part[2]) * 60000.0 +
	      (double)part[3] * 1000.0 + (double)frac;
	return true;
}

/*
 * The tick length the log shows: the "Ticks:" line with the most ticks
 * (the most precise) that also prints the time. 0 when there is none.
 */
static double tick_length(const struct analysis *a)
{
	const char *p = a->text, *end = a->text + a->text_len;
	uint64_t best = 0;
	double best_ms = 0;

	for (int k = 0; p != NULL && k < MAX_TICK_SAMPLES; k++) {
		p = dmatch_find(p, (size_t)(end - p), "Ticks: ");
		if (p == NULL)
			break;
		p += 7;

		const char *q = p;
		uint64_t ticks;
		double ms;

		if (!read_dec(&q, end, &ticks))
			continue;
		while (q < end && *q == ' ')
			q++;
		if (ticks > best && read_duration(q, end, &ms)) {
			best = ticks;
			best_ms = ms;
		}
	}
	if (best == 0)
		return 0;
	double per = best_ms / (double)best;

	return per >= MIN_TICK_MS && per <= MAX_TICK_MS ? per : 0;
}

/* ---- classification ------------------------------------------------------ */

static bool rule_matches(const struct frame_rule *r, const char *stem,
			 const char *fn)
{
	if (!dmatch_glob(r->module, stem))
		return false;
	if (fn == NULL)
		return strcmp(r->function, "*") == 0;
	return dmatch_glob(r->function, fn);
}

/* Module stem and function without "+offset" of F into the buffers. */
static void frame_names(const struct frame *f, char *stem, char *fn,
			size_t size, bool *has_fn)
{
	dmatch_stem(f->module, stem, size);
	*has_fn = f->function != NULL;
	if (!*has_fn)
		return;
	size_t n = strcspn(f->function, "+");

	if (n >= size)
		n = size - 1;
	memcpy(fn, f->function, n);
	fn[n] = '\0';
}

/* The kind the frames name: strong match at once, else the first weak. */
static void kind_from_frames(const struct thread *t, struct cls *c,
			     struct cls *weak)
{
	char stem[DMATCH_STEM_MAX], fn[DMATCH_STEM_MAX];
	size_t n = t->frames.n < MAX_SCAN_FRAMES ? t->frames.n
						  : MAX_SCAN_FRAMES;

	for (size_t i = 0; i < n; i++) {
		const struct frame *f = &t->frames.v[i];
		bool has_fn;

		if (f->module == NULL)
			continue;
		frame_names(f, stem, fn, sizeof(stem), &has_fn);
		for (size_t k = 0; k < ARRAY_SIZE(frame_rules); k++) {
			const struct frame_rule *r = &frame_rules[k];

			if (!rule_matches(r, stem, has_fn ? fn : NULL))
				continue;
			struct cls *to = r->strong ? c : weak;

			if (to->by == NULL) {
				to->kind = r->kind;
				to->what = r->what;
				to->by = f;
				to->at = i;
			}
			if (r->strong)
				return;
		}
	}
}

static bool kind_from_reason(const struct thread *t, struct cls *c)
{
	for (size_t i = 0; t->wait_reason != NULL && i < ARRAY_SIZE(reason_rules);
	     i++)
		if (strcasecmp(t->wait_reason, reason_rules[i].reason) == 0) {
			c->kind = reason_rules[i].kind;
			c->what = reason_rules[i].what;
			c->by_reason = true;
			return true;
		}
	return false;
}

static bool kind_from_objects(const struct thread *t, struct cls *c)
{
	for (size_t i = 0; i < t->waited_objects.n; i++)
		if (dmatch_has(t->waited_objects.v[i], "Mutant")) {
			c->kind = K_MUTEX;
			c->by_object = true;
			return true;
		}
	return false;
}

static void classify_kind(const struct thread *t, struct cls *c)
{
	struct cls weak = { .kind = K_GENERIC };

	kind_from_frames(t, c, &weak);
	if (c->by != NULL || kind_from_reason(t, c) ||
	    kind_from_objects(t, c))
		return;
	if (weak.by != NULL) {
		c->kind = weak.kind;
		c->what = weak.what;
		c->by = weak.by;
		c->at = weak.at;
	}
}

static bool in_list(const char *s, const char *const *v, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcasecmp(s, v[i]) == 0)
			return true;
	return false;
}

/* No state given: do the top frames show a wait system call? */
static bool stack_waits(const struct thread *t)
{
	char stem[DMATCH_STEM_MAX], fn[DMATCH_STEM_MAX];

	for (size_t i = 0; i < t->frames.n && i < INFER_FRAMES; i++) {
		const struct frame *f = &t->frames.v[i];
		bool has_fn;

		if (f->module == NULL || f->function == NULL)
			return false;
		frame_names(f, stem, fn, sizeof(stem), &has_fn);
		for (size_t k = 0; k < ARRAY_SIZE(wait_calls); k++)
			if (dmatch_glob(wait_calls[k], fn))
				return true;
	}
	return false;
}

static enum tclass classify_state(const struct analysis *a,
				  const struct thread *t)
{
	if (t->state == NULL)
		return t != model_crashing_thread(a) && stack_waits(t)
			       ? C_WAIT_INFERRED
			       : C_NONE;
	if (strcasecmp(t->state, "RUNNING") == 0)
		return C_RUNNING;
	if (in_list(t->state, state_ready, ARRAY_SIZE(state_ready)))
		return C_READY;
	if (strcasecmp(t->state, "WAIT") != 0 &&
	    strcasecmp(t->state, "GATEWAIT") != 0)
		return C_OTHER;
	if (t->wait_mode != NULL && strcasecmp(t->wait_mode, "UserMode") == 0)
		return C_WAIT_USER;
	if (t->wait_mode != NULL &&
	    strcasecmp(t->wait_mode, "KernelMode") == 0)
		return C_WAIT_KERNEL;
	/* System threads have no user mode to wait from. */
	if (t->process != NULL && strcasecmp(t->process, "System") == 0)
		return C_WAIT_KERNEL;
	return C_WAIT;
}

static bool is_waiting(enum tclass c)
{
	return c == C_WAIT_USER || c == C_WAIT_KERNEL || c == C_WAIT ||
	       c == C_WAIT_INFERRED;
}

/* Seconds of TICKS, or a negative value when the tick length is unknown. */
static double wait_seconds(const struct state *s, uint64_t ticks)
{
	return s->ms_per_tick > 0 ? (double)ticks * s->ms_per_tick / 1000.0
				  : -1.0;
}

static bool is_long(const struct state *s, const struct thread *t)
{
	if (!t->has_wait_ticks)
		return false;
	if (s->ms_per_tick > 0)
		return wait_seconds(s, t->wait_ticks) >= LONG_WAIT_SECONDS;
	return t->wait_ticks >= LONG_WAIT_TICKS;
}

static bool is_very_long(const struct state *s, const struct thread *t)
{
	if (!t->has_wait_ticks)
		return false;
	if (s->ms_per_tick > 0)
		return wait_seconds(s, t->wait_ticks) >= VERY_LONG_WAIT_SECONDS;
	return t->wait_ticks >= VERY_LONG_WAIT_TICKS;
}

static bool is_short(const struct state *s, const struct thread *t)
{
	if (!t->has_wait_ticks)
		return false;
	if (s->ms_per_tick > 0)
		return wait_seconds(s, t->wait_ticks) < SHORT_WAIT_SECONDS;
	return t->wait_ticks < SHORT_WAIT_TICKS;
}

static void decide(const struct state *s, const struct thread *t,
		   struct cls *c)
{
	enum flag_rule rule = kinds[c->kind].flag;

	if (!is_waiting(c->c) || rule == F_NEVER)
		return;
	if (rule == F_LOCK && !is_short(s, t)) {
		c->flagged = true;
		if (c->c == C_WAIT_INFERRED)
			c->conf = CONF_INFERRED;
		else if (is_long(s, t))
			c->conf = CONF_LOCK_LONG;
		else
			c->conf = t->has_wait_ticks ? CONF_LOCK
						    : CONF_LOCK_UNTIMED;
	} else if (rule == F_LONG && c->c != C_WAIT_INFERRED &&
		   is_long(s, t)) {
		c->flagged = true;
		c->conf = CONF_PARTY_LONG;
	} else if (rule == F_VERY_LONG && c->c != C_WAIT_INFERRED &&
		   is_very_long(s, t)) {
		c->flagged = true;
		c->conf = CONF_VERY_LONG;
	}
}

static struct cls classify(const struct state *s, const struct thread *t)
{
	struct cls c = { .c = classify_state(s->a, t), .kind = K_GENERIC };

	if (is_waiting(c.c)) {
		classify_kind(t, &c);
		decide(s, t, &c);
	}
	return c;
}

/* ---- evidence ------------------------------------------------------------- */

static const char *const mode_text[C_N] = {
	[C_WAIT_USER] = "waiting from user mode",
	[C_WAIT_KERNEL] = "waiting from kernel mode",
	[C_WAIT] = "waiting",
	[C_WAIT_INFERRED] = "waiting (its stack shows a wait call)",
};

static bool gui_thread(const struct thread *t)
{
	for (size_t i = 0; i < t->frames.n && i < MAX_SCAN_FRAMES; i++)
		if (dmatch_module(t->frames.v[i].module, "user32") ||
		    dmatch_module(t->frames.v[i].module, "win32k*"))
			return true;
	return false;
}

static int add_thread(struct state *s, size_t index, const struct cls *c)
{
	const struct thread *t = &s->a->threads.v[index];
	char name[192], line[448];
	size_t pos = 0;

	dmatch_thread_name(s->a, index, name, sizeof(name));
	line[0] = '\0';
	dmatch_append(line, sizeof(line), &pos, "%s: %s", name,
		      mode_text[c->c]);
	if (t->wait_reason != NULL)
		dmatch_append(line, sizeof(line), &pos, " (%.32s)",
			      t->wait_reason);
	dmatch_append(line, sizeof(line), &pos, ", blocked on: %s",
		      c->what != NULL ? c->what : kinds[c->kind].name);
	if (c->by != NULL)
		dmatch_append(line, sizeof(line), &pos, " (frame %zu %.64s!%.96s)",
			      c->at, c->by->module,
			      c->by->function != NULL ? c->by->function : "?");
	else if (c->by_reason)
		dmatch_append(line, sizeof(line), &pos, " (by its wait reason)");
	else if (c->by_object)
		dmatch_append(line, sizeof(line), &pos, " (a waited Mutant)");
	for (size_t i = 0; i < t->waited_objects.n && i < 3; i++)
		dmatch_append(line, sizeof(line), &pos, "%s%.64s",
			      i == 0 ? "; waits on " : ", ",
			      t->waited_objects.v[i]);
	if (t->waited_objects.n > 3)
		dmatch_append(line, sizeof(line), &pos, ", ...");
	if (t->has_wait_ticks && s->ms_per_tick > 0)
		dmatch_append(line, sizeof(line), &pos,
			      "; waited %" PRIu64 " ticks, about %.0f s",
			      t->wait_ticks,
			      wait_seconds(s, t->wait_ticks));
	else if (t->has_wait_ticks)
		dmatch_append(line, sizeof(line), &pos,
			      "; waited %" PRIu64 " ticks", t->wait_ticks);
	else
		dmatch_append(line, sizeof(line), &pos,
			      "; the log does not give the wait time");
	if (gui_thread(t) && c->kind != K_GUI_SEND)
		dmatch_append(line, sizeof(line), &pos,
			      "; a GUI thread: its windows stop responding");
	return add(s, c->conf, "%s", line);
}

static int add_summary(struct state *s, const size_t *count, size_t passive,
		       size_t flagged, size_t shown)
{
	int rc = add(s, 0,
		     "%zu threads: %zu running, %zu ready, %zu waiting from "
		     "user mode, %zu from kernel mode, %zu waiting (mode not "
		     "given), %zu waiting by their stacks, %zu in other "
		     "states, %zu without a state; %zu passive (idle "
		     "workers, timers, message loops, servers); %zu blocked",
		     s->a->threads.n, count[C_RUNNING], count[C_READY],
		     count[C_WAIT_USER], count[C_WAIT_KERNEL], count[C_WAIT],
		     count[C_WAIT_INFERRED], count[C_OTHER], count[C_NONE],
		     passive, flagged);

	if (rc == DF_OK && flagged > shown)
		rc = add(s, 0, "%zu more blocked threads", flagged - shown);
	return rc;
}

/* Flagged threads, the longest wait first (unknown waits last). */
static int by_wait(const void *x, const void *y, const struct analysis *a)
{
	const struct thread *t = &a->threads.v[*(const size_t *)x];
	const struct thread *u = &a->threads.v[*(const size_t *)y];
	uint64_t tw = t->has_wait_ticks ? t->wait_ticks + 1 : 0;
	uint64_t uw = u->has_wait_ticks ? u->wait_ticks + 1 : 0;

	if (tw != uw)
		return tw < uw ? 1 : -1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

/* Insertion of I into the SHOWN best (by_wait order) of at most MAX. */
static void keep_best(const struct analysis *a, size_t *best, size_t *n,
		      size_t max, size_t i)
{
	size_t k = *n < max ? (*n)++ : max;

	if (k == max && by_wait(&i, &best[max - 1], a) > 0)
		return;
	if (k == max)
		k = max - 1;
	while (k > 0 && by_wait(&i, &best[k - 1], a) < 0) {
		best[k] = best[k - 1];
		k--;
	}
	best[k] = i;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	size_t count[C_N] = { 0 }, passive = 0, flagged = 0, nbest = 0;
	size_t best[MAX_THREAD_EVIDENCE];
	struct cls bestc[MAX_THREAD_EVIDENCE];
	int rc = DF_OK;

	if (a->threads.n == 0)
		return DF_OK;
	if (a->text != NULL)
		s.ms_per_tick = tick_length(a);
	for (size_t i = 0; i < a->threads.n; i++) {
		struct cls c = classify(&s, &a->threads.v[i]);

		count[c.c]++;
		passive += is_waiting(c.c) && c.kind == K_PASSIVE;
		if (!c.flagged)
			continue;
		flagged++;
		keep_best(a, best, &nbest, MAX_THREAD_EVIDENCE, i);
	}
	if (flagged == 0)
		return DF_OK;
	/* Classify the few shown again: cheaper than keeping every result. */
	for (size_t k = 0; k < nbest; k++)
		bestc[k] = classify(&s, &a->threads.v[best[k]]);
	for (size_t k = 0; rc == DF_OK && k < nbest; k++)
		rc = add_thread(&s, best[k], &bestc[k]);
	if (rc == DF_OK)
		rc = add_summary(&s, count, passive, flagged, nbest);
	return rc;
}

const struct detector detector_blocked_thread = {
	.id = "blocked-thread",
	.title = "Threads blocked on a lock, a call to another process, the "
		 "network or I/O",
	.description = "every thread classified by state, wait reason, "
		       "frames and Ticks; lock waits and long calls flagged",
	.run = run,
};
