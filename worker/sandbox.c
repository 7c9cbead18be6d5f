#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "df.h"
#include "diag.h"
#include "fault.h"
#include "mapfile.h"
#include "model.h"
#include "reader.h"
#include "record.h"
#include "symbols.h"

/* AddressSanitizer reserves terabytes of address space: no RLIMIT_AS. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

#define RESULT_FD 3          /* the child's end of the result pipe */
#define FILL_FD FAULT_FILL_FD /* range mode: the child's end of the pair */
#define FILL_REQ 16          /* u64 offset, u64 length, little-endian */
/*
 * The child is not trusted: one request may ask for at most this much (a
 * kernel dump's reader asks for a header, a bitmap block or a page), and
 * one call serves at most FILL_BATCH requests before the slot polls,
 * heartbeats and checks the watchdog again.
 */
#define FILL_MAX_BYTES ((uint64_t)64 << 20)
#define FILL_BATCH 16
#define HEADER_LEN 8         /* u32 length, u32 flags, little-endian */
#define FLAG_NO_FILTER 1u    /* the kernel refused the seccomp filter */
#define CHILD_NOFILE 16      /* dump, a symbol file, stdio, the pipe */
#define REAP_POLL_MS 1       /* pipe closed, process not yet gone, no pidfd */
#define MAX_KEYS 64          /* symbol files one child reports loading */
#define MAX_KEY 511          /* bytes of one key */

/* Exit statuses of the child besides 0 (a result was sent). */
enum child_status {
	CHILD_NOMEM = FAULT_EXIT_NOMEM, /* no memory for the analysis */
	CHILD_SETUP = 91,    /* a limit could not be set */
	CHILD_SEND = 92,     /* the result could not be written */
};

struct sandbox {
	struct sandbox_opts o;
	pid_t pid;            /* running child, or 0 */
	int fd;               /* read end of its result pipe, or -1 */
	int pidfd;            /* readable when the child has ended, or -1 */
	bool eof;             /* the child closed the pipe */
	bool ended;           /* reaped: status is valid */
	bool timed_out;       /* we killed it at the deadline */
	bool oversized;       /* it sent more than SANDBOX_MAX_RESULT */
	int status;           /* from waitpid */
	uint64_t deadline_ms; /* monotonic */
	uint8_t *buf;         /* what the child sent */
	size_t len, cap;
	bool filter_skipped;  /* last child: no seccomp filter */
	uint64_t mark;        /* symbol cache clock at the fork */
	/* Range mode (running child only). */
	bool ranges;
	struct sandbox_fill fill;
	int fill_fd;          /* our end of the pair, or -1 */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sandbox_opts_init(struct sandbox_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_s = SANDBOX_DEFAULT_TIMEOUT_S;
	o->memory_mb = 4096;
}

int sandbox_new(struct sandbox **out, const struct sandbox_opts *o)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));

	*out = NULL;
	if (sb == NULL)
		return DF_ENOMEM;
	sb->o = *o;
	sb->fd = sb->pidfd = sb->fill_fd = -1;
	/*
	 * jansson seeds its hash function on first use from /dev/urandom,
	 * which the filtered child may not open: seed it here, once, so
	 * that every child inherits the seed.
	 */
	json_object_seed(0);
	analysis_preload();
	*out = sb;
	return DF_OK;
}

/* ---- the child ----------------------------------------------------------- */

static bool set_limit(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit r = { soft, hard };

	return setrlimit(res, &r) == 0;
}

/* Limits that need nothing from the dump. */
static bool limit_early(const struct sandbox_opts *o)
{
	uint32_t cpu = o->cpu_s != 0 ? o->cpu_s : o->timeout_s;

	/* SIGXCPU at the soft limit, SIGKILL a second later. */
	if (cpu != 0 && !set_limit(RLIMIT_CPU, cpu, (rlim_t)cpu + 1))
		return false;
	return set_limit(RLIMIT_FSIZE, 0, 0) && set_limit(RLIMIT_CORE, 0, 0) &&
	       set_limit(RLIMIT_NOFILE, CHILD_NOFILE, CHILD_NOFILE);
}

#ifndef SANDBOX_ASAN
/* Bytes of address space mapped now, or 0 when unknown. */
static uint64_t mapped_bytes(void)
{
	char text[64];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	long page = sysconf(_SC_PAGESIZE);

	if (fd >= 0)
		close(fd);
	if (n <= 0 || page <= 0)
		return 0;
	text[n] = '\0';
	return strtoull(text, NULL, 10) * (uint64_t)page;
}
#endif

/*
 * The memory limit counts what the analysis adds: the child inherits the
 * worker's mappings (thread stacks, in `dumpfleet run` the store's map)
 * and has just mapped the dump, which may be far larger than the limit.
 */
static bool limit_memory(const struct sandbox_opts *o)
{
#ifdef SANDBOX_ASAN
	(void)o;
	return true;
#else
	if (o->memory_mb == 0)
		return true;
	uint64_t base = mapped_bytes();
	uint64_t as = base + (o->memory_mb << 20);

	return base == 0 || set_limit(RLIMIT_AS, as, as);
#endif
}

/* What parsing needs; every other system call kills the child. */
static const int filter_allowed[] = {
	SCMP_SYS(read),          SCMP_SYS(mmap),
	SCMP_SYS(munmap),        SCMP_SYS(mremap),
	SCMP_SYS(mprotect),      SCMP_SYS(brk),
	SCMP_SYS(madvise),       SCMP_SYS(futex),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(time),          SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),    SCMP_SYS(lseek),
	SCMP_SYS(close),         SCMP_SYS(rt_sigreturn),
	SCMP_SYS(exit),          SCMP_SYS(exit_group),
	SCMP_SYS(sched_yield),   SCMP_SYS(getpid),
	/* glibc qsort asks for the physical memory size */
	SCMP_SYS(sysinfo),
	/* the sanitizer runtimes look at the signal stack */
	SCMP_SYS(sigaltstack),
};

/*
 * Write only to the result pipe. With a symbol store, open files for
 * reading only: symbol files are loaded on demand (symbols.h), which is
 * the price of naming frames in the child.
 */
static int filter_rules(scmp_filter_ctx ctx, const struct sandbox_opts *o,
			bool ranges)
{
	int rc = 0;
	const struct scmp_arg_cmp to_fill = {
		.arg = 0, .op = SCMP_CMP_EQ, .datum_a = FILL_FD, .datum_b = 0
	};
	/* Spelt out: clang warns of fields libseccomp's macros leave out. */
	const struct scmp_arg_cmp to_pipe = {
		.arg = 0, .op = SCMP_CMP_EQ, .datum_a = RESULT_FD, .datum_b = 0
	};
	const struct scmp_arg_cmp read_only = {
		.arg = 2, .op = SCMP_CMP_MASKED_EQ,
		.datum_a = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND,
		.datum_b = 0
	};

	for (size_t i = 0; rc == 0 && i < ARRAY_SIZE(filter_allowed); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, filter_allowed[i],
				      0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
				      to_pipe);
	if (rc == 0 && o->syms != NULL)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				      read_only);
	if (rc == 0 && ranges)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
				      to_fill);
	return rc;
}

/* Install the filter; false when the kernel or the library refuses. */
static bool filter_install(const struct sandbox_opts *o, bool ranges)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	bool ok = ctx != NULL && filter_rules(ctx, o, ranges) == 0 &&
		  seccomp_load(ctx) == 0;

	seccomp_release(ctx);
	return ok;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int send_all(const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(RESULT_FD, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return CHILD_SEND;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Symbol-file keys the child loaded, as u16 length + bytes each. */
struct keybuf {
	uint8_t data[MAX_KEYS * (2 + MAX_KEY)];
	size_t len, n;
};

static void key_add(void *ctx, const char *key)
{
	struct keybuf *kb = ctx;
	size_t k = strlen(key);

	if (kb->n >= MAX_KEYS || k > MAX_KEY)
		return;
	kb->data[kb->len] = (uint8_t)k;
	kb->data[kb->len + 1] = (uint8_t)(k >> 8);
	memcpy(kb->data + kb->len + 2, key, k);
	kb->len += 2 + k;
	kb->n++;
}

/* Header, Dump, then the keys of the symbol files loaded (see finish). */
static int send_dump(const Dumpfleet__V1__Dump *dump, uint32_t flags,
		     const struct keybuf *kb)
{
	size_t n = dumpfleet__v1__dump__get_packed_size(dump);
	size_t klen = kb != NULL ? kb->len : 0;

	/* The parent refuses more; say so by a short, clear result. */
	if (n > SANDBOX_MAX_RESULT - HEADER_LEN - sizeof(kb->data))
		n = SANDBOX_MAX_RESULT;
	bool fits = n < SANDBOX_MAX_RESULT;
	uint8_t *buf = malloc(HEADER_LEN + (fits ? n + klen : 0));

	if (buf == NULL)
		return CHILD_NOMEM;
	put_u32le(buf, (uint32_t)n);
	put_u32le(buf + 4, flags);
	if (fits) {
		dumpfleet__v1__dump__pack(dump, buf + HEADER_LEN);
		if (klen > 0)
			memcpy(buf + HEADER_LEN + n, kb->data, klen);
	}
	int rc = send_all(buf, fits ? HEADER_LEN + n + klen : HEADER_LEN);

	free(buf);
	return rc;
}

/*
 * Range mode in the child: what it knows to be resident (whole chunks),
 * and asks the parent for the rest. A refusal is sticky: the parent has
 * recorded why, and the result will be replaced by a failure.
 */
struct child_fill {
	uint32_t chunk;
	uint64_t size;
	uint8_t *present;   /* one bit per chunk */
	bool failed;
};

static bool child_has(const struct child_fill *cf, uint64_t first,
		      uint64_t last)
{
	for (uint64_t i = first; i <= last; i++)
		if (!((cf->present[i / 8] >> (i % 8)) & 1u))
			return false;
	return true;
}

static bool child_ask(uint64_t off, uint64_t n)
{
	uint8_t req[FILL_REQ], st = 1;

	for (int i = 0; i < 8; i++) {
		req[i] = (uint8_t)(off >> (8 * i));
		req[8 + i] = (uint8_t)(n >> (8 * i));
	}
	while (write(FILL_FD, req, sizeof(req)) < 0)
		if (errno != EINTR)
			return false;
	for (;;) {
		ssize_t r = read(FILL_FD, &st, 1);

		if (r == 1)
			return st == 0;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

static int child_ensure(void *ctx, uint64_t off, uint64_t n)
{
	struct child_fill *cf = ctx;

	if (cf->failed)
		return DF_EIO;
	if (n == 0 || off >= cf->size)
		return DF_OK;
	if (n > cf->size - off)
		n = cf->size - off;
	uint64_t first = off / cf->chunk, last = (off + n - 1) / cf->chunk;

	if (child_has(cf, first, last))
		return DF_OK;
	if (!child_ask(off, n)) {
		cf->failed = true;
		return DF_EIO;
	}
	for (uint64_t i = first; i <= last; i++)
		cf->present[i / 8] |= (uint8_t)(1u << (i % 8));
	return DF_OK;
}

/* The analysis of the mapped file M: in range mode through the parent. */
static int analysis_child_run(const struct sandbox *sb, struct analysis **a,
			      const struct mapfile *m,
			      const struct record_origin *origin)
{
	const struct sandbox_opts *o = &sb->o;

	if (!sb->ranges || origin->content_hash == NULL)
		return analysis_run_known(a, m->data, m->len, o->rules,
					  o->syms, origin->content_hash);
	struct child_fill cf = { sb->fill.chunk, m->len, NULL, false };
	uint64_t nchunks = m->len / cf.chunk + 1;
	struct reader_src src = { child_ensure, &cf };

	cf.present = calloc(nchunks / 8 + 1, 1);
	if (cf.present == NULL)
		return DF_ENOMEM;
	/* The probes read the first bytes directly. */
	child_ensure(&cf, 0, cf.chunk);
	int rc = analysis_run_src(a, m->data, m->len, o->rules, o->syms,
				  origin->content_hash, &src);

	free(cf.present);
	return rc;
}

/* Open, limit, filter, analyse, send: the child's whole life. */
static int child_analyse(const struct sandbox *sb, const char *path,
			 const struct record_origin *origin)
{
	const struct sandbox_opts *o = &sb->o;
	struct mapfile m;
	struct diag d;
	struct analysis *a = NULL;
	uint32_t flags = 0;

	diag_init(&d);
	if (!limit_early(o))
		return CHILD_SETUP;
	int mrc = mapfile_open(&m, path, &d);

	if (!limit_memory(o))
		return CHILD_SETUP;
	fault_prepare(o->fault, origin->source);
	if (!o->no_seccomp && !filter_install(o, sb->ranges))
		flags |= FLAG_NO_FILTER;
	fault_strike(o->fault, origin->source);
	if (mrc != DF_OK) {
		a = analysis_new();
		if (a == NULL)
			return CHILD_NOMEM;
		model_add_error(a, d.code, false, 0, "%s", d.msg);
	} else if (analysis_child_run(sb, &a, &m, origin) != DF_OK) {
		return CHILD_NOMEM;
	}
	Dumpfleet__V1__Dump dump;

	if (record_from_analysis(&dump, a, origin) != DF_OK)
		return CHILD_NOMEM;
	/*
	 * Symbol files parsed here die with the child: tell the parent, which
	 * loads them into its cache for the children to come.
	 */
	struct keybuf kb = { .len = 0, .n = 0 };

	symstore_loaded_since(o->syms, sb->mark, key_add, &kb);
	return send_dump(&dump, flags, &kb);
}

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };

/*
 * End the child at once, by the system call: no atexit handlers, no stdio
 * flush of buffers copied from the parent, and no sanitizer exit hooks
 * (a leak check, an alternate signal stack torn down: calls the filter
 * forbids, in a process whose heap dies with it anyway).
 */
static _Noreturn void child_exit(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}

static void child_main(const struct sandbox *sb, const char *path,
		       const struct record_origin *origin, int wfd,
		       pid_t parent)
{
	/* A worker killed with -9 takes its children along. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		child_exit(CHILD_SETUP);
	/* Ctrl-C or SIGTERM to the group is for the worker, which drains. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	/*
	 * A crash is reported by its signal: a handler inherited from the
	 * parent (a sanitizer's, a test framework's) would only make calls
	 * that the filter forbids, and blur the reason.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(crash_signals); i++)
		signal(crash_signals[i], SIG_DFL);
	/* Out of the way of RESULT_FD and FILL_FD before they are made. */
	int ffd = sb->ranges ? fcntl(sb->fill_fd, F_DUPFD, FILL_FD + 1) : -1;

	if (sb->ranges && ffd < 0)
		child_exit(CHILD_SETUP);
	if (wfd != RESULT_FD && dup2(wfd, RESULT_FD) != RESULT_FD)
		child_exit(CHILD_SETUP);
	if (sb->ranges && dup2(ffd, FILL_FD) != FILL_FD)
		child_exit(CHILD_SETUP);
	/* Sockets, the store, other slots' pipes: none of the parser's. */
	if (close_range(sb->ranges ? FILL_FD + 1 : RESULT_FD + 1, ~0U, 0) !=
	    0)
		child_exit(CHILD_SETUP);
	child_exit(child_analyse(sb, path, origin));
}

/* ---- the parent ---------------------------------------------------------- */

int sandbox_start(struct sandbox *sb, const struct record_origin *origin,
		  struct diag *d)
{
	return sandbox_start_file(sb, origin->source, origin, d);
}

int sandbox_start_file(struct sandbox *sb, const char *path,
		       const struct record_origin *origin, struct diag *d)
{
	return sandbox_start_ranges(sb, path, origin, NULL, d);
}

int sandbox_fill_fd(const struct sandbox *sb)
{
	return sb->pid != 0 && !sb->ended ? sb->fill_fd : -1;
}

static void kill_child(struct sandbox *sb);

void sandbox_serve_fill(struct sandbox *sb)
{
	uint8_t req[FILL_REQ];

	for (int served = 0; served < FILL_BATCH; served++) {
		if (now_ms() >= sb->deadline_ms)
			return; /* sandbox_pump() ends it */
		ssize_t r = recv(sb->fill_fd, req, sizeof(req), MSG_DONTWAIT);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != (ssize_t)sizeof(req))
			return; /* nothing more, or the child has gone */
		uint64_t off = 0, n = 0;

		for (int i = 7; i >= 0; i--) {
			off = off << 8 | req[i];
			n = n << 8 | req[8 + i];
		}
		uint8_t st = n <= FILL_MAX_BYTES &&
					     sb->fill.fill(sb->fill.ctx, off,
							   n) == DF_OK
				     ? 0
				     : 1;
		ssize_t w;

		/*
		 * Never wait on the child: one that asks and does not read its
		 * answers would hold the slot, and its watchdog, for ever.
		 */
		while ((w = send(sb->fill_fd, &st, 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 &&
		       errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			kill_child(sb);
			return;
		}
	}
}

/* Range mode: the pair the child asks over (its end goes to FILL_FD). */
static int fill_open(struct sandbox *sb, const struct sandbox_fill *fill,
		     int pair[2], struct diag *d)
{
	sb->ranges = fill != NULL && fill->chunk > 0;
	pair[0] = pair[1] = -1;
	if (!sb->ranges)
		return DF_OK;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
		return diag_fail(d, DF_EIO, "socketpair: %s", strerror(errno));
	sb->fill = *fill;
	sb->fill_fd = pair[1]; /* the child's, until the fork */
	return DF_OK;
}

int sandbox_start_ranges(struct sandbox *sb, const char *path,
			 const struct record_origin *origin,
			 const struct sandbox_fill *fill, struct diag *d)
{
	int p[2], pair[2];

	if (sb->pid != 0)
		return diag_fail(d, DF_EUSAGE, "a child runs already");
	if (fill_open(sb, fill, pair, d) != DF_OK)
		return DF_EIO;
	if (pipe2(p, O_CLOEXEC) != 0) {
		if (sb->ranges) {
			close(pair[0]);
			close(pair[1]);
		}
		sb->ranges = false;
		sb->fill_fd = -1;
		return diag_fail(d, DF_EIO, "pipe: %s", strerror(errno));
	}
	pid_t parent = getpid();

	sb->mark = symstore_mark(sb->o.syms);
	/* The cache's lock must not be held by another thread in the child. */
	symstore_fork_prepare(sb->o.syms);
	pid_t pid = fork();

	symstore_fork_done(sb->o.syms);
	if (pid == 0) {
		close(p[0]);
		child_main(sb, path, origin, p[1], parent);
	}
	int e = errno;

	close(p[1]);
	if (sb->ranges) {
		close(pair[1]);
		sb->fill_fd = pair[0];
	}
	if (pid < 0) {
		close(p[0]);
		if (sb->ranges)
			close(pair[0]);
		sb->ranges = false;
		sb->fill_fd = -1;
		return diag_fail(d, DF_EIO, "fork: %s", strerror(e));
	}
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	/*
	 * The child closes the pipe a little before it can be reaped; a
	 * pidfd (Linux 5.3) tells the moment without polling on a timer.
	 */
	sb->pidfd = pidfd_open(pid, 0);
	sb->pid = pid;
	sb->fd = p[0];
	sb->eof = sb->ended = sb->timed_out = sb->oversized = false;
	sb->len = 0;
	sb->deadline_ms = sb->o.timeout_s != 0
				  ? now_ms() + (uint64_t)sb->o.timeout_s * 1000
				  : UINT64_MAX;
	return DF_OK;
}

bool sandbox_busy(const struct sandbox *sb)
{
	return sb->pid != 0;
}

int sandbox_fd(const struct sandbox *sb)
{
	if (sb->pid == 0 || sb->ended)
		return -1;
	return !sb->eof ? sb->fd : sb->pidfd;
}

long sandbox_wait_ms(const struct sandbox *sb)
{
	if (sb->pid == 0)
		return 0;
	uint64_t now = now_ms();
	uint64_t left = now < sb->deadline_ms ? sb->deadline_ms - now : 0;

	if (sb->eof && sb->pidfd < 0 && left > REAP_POLL_MS)
		left = REAP_POLL_MS;
	return left > 60000 ? 60000 : (long)left;
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Room for N more bytes, never beyond a full result. */
static bool buf_reserve(struct sandbox *sb, size_t n)
{
	if (sb->len + n > HEADER_LEN + SANDBOX_MAX_RESULT)
		return false;
	if (sb->len + n <= sb->cap)
		return true;
	size_t ncap = sb->cap ? sb->cap : 65536;

	while (ncap < sb->len + n)
		ncap *= 2;
	uint8_t *nb = realloc(sb->buf, ncap);

	if (nb == NULL)
		return false;
	sb->buf = nb;
	sb->cap = ncap;
	return true;
}

/* Read what is there; sets eof, or oversized when the child sends too much. */
static void read_some(struct sandbox *sb)
{
	for (;;) {
		if (!buf_reserve(sb, 65536)) {
			sb->oversized = true;
			return;
		}
		ssize_t n = read(sb->fd, sb->buf + sb->len, 65536);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN: nothing more for now */
		if (n == 0) {
			sb->eof = true;
			return;
		}
		sb->len += (size_t)n;
		if (sb->len >= HEADER_LEN &&
		    get_u32le(sb->buf) > SANDBOX_MAX_RESULT - HEADER_LEN) {
			sb->oversized = true;
			return;
		}
	}
}

static void kill_child(struct sandbox *sb)
{
	kill(sb->pid, SIGKILL);
	while (waitpid(sb->pid, &sb->status, 0) < 0 && errno == EINTR)
		continue;
	sb->ended = true;
}

void sandbox_cancel(struct sandbox *sb)
{
	if (sb->pid != 0 && !sb->ended)
		kill_child(sb);
}

bool sandbox_pump(struct sandbox *sb)
{
	if (sb->pid == 0 || sb->ended)
		return true;
	if (!sb->eof)
		read_some(sb);
	if (sb->oversized) {
		kill_child(sb);
		return true;
	}
	if (sb->eof) {
		pid_t r = waitpid(sb->pid, &sb->status, WNOHANG);

		if (r == sb->pid) {
			sb->ended = true;
			return true;
		}
	}
	if (now_ms() >= sb->deadline_ms) {
		sb->timed_out = true;
		kill_child(sb);
		return true;
	}
	return false;
}

/* Why the child died of signal SIG, and the code for it. */
static int signal_reason(const struct sandbox *sb, int sig, char *reason,
			 size_t len)
{
	uint32_t cpu = sb->o.cpu_s != 0 ? sb->o.cpu_s : sb->o.timeout_s;
	const char *abbrev = sigabbrev_np(sig);

	if (sig == SIGXCPU) {
		snprintf(reason, len, "CPU limit %u s", cpu);
		return DF_ELIMIT;
	}
	if (sig == SIGSYS) {
		snprintf(reason, len, "parser stopped by the seccomp filter "
				      "(SIGSYS: a forbidden system call)");
		return DF_EIO;
	}
	snprintf(reason, len, "parser killed by SIG%s",
		 abbrev != NULL ? abbrev : "?");
	return DF_EIO;
}

/* Why a child that exited with STATUS sent no result. */
static int exit_reason(const struct sandbox *sb, int status, char *reason,
		       size_t len)
{
	if (status == CHILD_NOMEM && sb->o.memory_mb != 0) {
		snprintf(reason, len, "memory limit %llu MB",
			 (unsigned long long)sb->o.memory_mb);
		return DF_ELIMIT;
	}
	if (status == CHILD_NOMEM)
		snprintf(reason, len, "parser out of memory");
	else if (status == CHILD_SETUP)
		snprintf(reason, len, "sandbox set-up failed in the child");
	else
		snprintf(reason, len, "parser exited with status %d and no "
				      "result", status);
	return DF_EIO;
}

/*
 * Load into our cache the symbol files the child listed after its Dump
 * (from offset AT). The list is the child's word, so it is read with
 * care, capped, and each key is checked as a dump's names are.
 */
static void warm_symbols(struct sandbox *sb, size_t at)
{
	char key[MAX_KEY + 1];

	for (size_t i = 0; i < MAX_KEYS && sb->o.syms != NULL; i++) {
		if (sb->len - at < 2)
			return;
		size_t k = (size_t)sb->buf[at] | (size_t)sb->buf[at + 1] << 8;

		if (k > MAX_KEY || sb->len - at - 2 < k)
			return;
		memcpy(key, sb->buf + at + 2, k);
		key[k] = '\0';
		if (strlen(key) == k)
			symstore_warm(sb->o.syms, key);
		at += 2 + k;
	}
}

/* The child ended by itself with status 0: decode what it sent. */
static int decode_result(struct sandbox *sb, Dumpfleet__V1__Dump **out,
			 char *reason, size_t len)
{
	uint32_t n = sb->len >= HEADER_LEN ? get_u32le(sb->buf) : 0;

	if (sb->len < HEADER_LEN || sb->len < HEADER_LEN + (size_t)n) {
		snprintf(reason, len, "parser sent a truncated result "
				      "(%zu bytes)", sb->len);
		return DF_EPROTO;
	}
	sb->filter_skipped = (get_u32le(sb->buf + 4) & FLAG_NO_FILTER) != 0;
	*out = dumpfleet__v1__dump__unpack(NULL, n, sb->buf + HEADER_LEN);
	if (*out == NULL) {
		snprintf(reason, len, "parser sent a malformed result");
		return DF_EPROTO;
	}
	warm_symbols(sb, HEADER_LEN + (size_t)n);
	return DF_OK;
}

static int classify(struct sandbox *sb, Dumpfleet__V1__Dump **out,
		    char *reason, size_t len)
{
	int st = sb->status;

	if (sb->timed_out) {
		snprintf(reason, len, "wall-clock limit %u s", sb->o.timeout_s);
		return DF_ELIMIT;
	}
	if (sb->oversized) {
		snprintf(reason, len, "result larger than %zu bytes",
			 SANDBOX_MAX_RESULT);
		return DF_EPROTO;
	}
	if (WIFSIGNALED(st))
		return signal_reason(sb, WTERMSIG(st), reason, len);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return exit_reason(sb, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
				   reason, len);
	return decode_result(sb, out, reason, len);
}

int sandbox_finish(struct sandbox *sb, Dumpfleet__V1__Dump **out,
		   char *reason, size_t reasonlen)
{
	*out = NULL;
	if (reasonlen > 0)
		reason[0] = '\0';
	if (sb->pid == 0 || !sb->ended) {
		snprintf(reason, reasonlen, "no child has ended");
		return DF_EUSAGE;
	}
	int rc = classify(sb, out, reason, reasonlen);

	close(sb->fd);
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	if (sb->fill_fd >= 0)
		close(sb->fill_fd);
	sb->fd = sb->pidfd = sb->fill_fd = -1;
	sb->ranges = false;
	sb->pid = 0;
	sb->len = 0;
	/* A large result's buffer is not kept for the next small one. */
	if (sb->cap > ((size_t)1 << 20)) {
		free(sb->buf);
		sb->buf = NULL;
		sb->cap = 0;
	}
	return rc;
}

void sandbox_dump_free(Dumpfleet__V1__Dump *dump)
{
	if (dump != NULL)
		dumpfleet__v1__dump__free_unpacked(dump, NULL);
}

int sandbox_run(struct sandbox *sb, const char *path,
		Dumpfleet__V1__Dump **out, char *reason, size_t reasonlen)
{
	struct diag d;

	struct record_origin origin = { path, NULL, NULL, NULL, NULL };

	diag_init(&d);
	*out = NULL;
	if (sandbox_start(sb, &origin, &d) != DF_OK) {
		snprintf(reason, reasonlen, "%s", d.msg);
		return d.code;
	}
	while (!sandbox_pump(sb)) {
		struct pollfd p = { sandbox_fd(sb), POLLIN, 0 };

		poll(&p, 1, (int)sandbox_wait_ms(sb));
	}
	return sandbox_finish(sb, out, reason, reasonlen);
}

bool sandbox_filter_skipped(const struct sandbox *sb)
{
	return sb->filter_skipped;
}

void sandbox_destroy(struct sandbox **sp)
{
	struct sandbox *sb = *sp;

	if (sb == NULL)
		return;
	if (sb->pid != 0 && !sb->ended)
		kill_child(sb);
	if (sb->fd >= 0)
		close(sb->fd);
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	if (sb->fill_fd >= 0)
		close(sb->fill_fd);
	free(sb->buf);
	free(sb);
	*sp = NULL;
}
