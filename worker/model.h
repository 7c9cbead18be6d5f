/*
 * model - the common dump model every reader fills and every detector reads.
 *
 * One struct analysis per input file. All strings and arrays live in the
 * analysis's arena and die with analysis_destroy(). Readers (in formats/) fill
 * what their format has; fields a format lacks stay zero/NULL. Detectors and
 * the signature code read the model only, so they serve debugger logs and
 * binary dumps alike.
 *
 * Caps: every list has a maximum (MODEL_MAX_*); a reader that meets more
 * records an error naming the cap and keeps the first ones.
 */
#ifndef WORKER_MODEL_H
#define WORKER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "hash.h"

/* Caps on what one dump may put in the model (Breakpad's, or larger). */
#define MODEL_MAX_THREADS 4096
#define MODEL_MAX_FRAMES 1024   /* per thread */
#define MODEL_MAX_MODULES 4096  /* Breakpad: 2048 modules + 2048 unloaded */
#define MODEL_MAX_PROCESSES 65536
#define MODEL_MAX_FIELDS 1024
#define MODEL_MAX_FINDINGS 256
#define MODEL_MAX_EVIDENCE 32   /* per finding */
#define MODEL_MAX_ERRORS 64
#define MODEL_MAX_HANDLE_TYPES 256
#define MODEL_MAX_DISPATCHERS 1024
#define MODEL_MAX_MEMORY_REGIONS 65536
#define MODEL_MAX_MAPPINGS 4096
#define MODEL_ARENA_CAP ((size_t)256 << 20) /* per-dump memory limit */

enum model_format {
	FORMAT_UNKNOWN = 0,
	FORMAT_MINIDUMP,
	FORMAT_KERNEL_DUMP,
	FORMAT_DEBUGGER_LOG,
};

/* How a frame was found; names follow rust-minidump's "trust" values. */
enum frame_trust {
	TRUST_NONE = 0,
	TRUST_CONTEXT,      /* from a thread context (frame 0) */
	TRUST_PREWALKED,    /* copied from a debugger's stack listing */
	TRUST_CFI,
	TRUST_FRAME_POINTER,
	TRUST_SCAN,         /* return address found by scanning the stack */
	TRUST_INLINE,       /* a function inlined at the next frame's address */
};

struct frame {
	const char *module;     /* module name without path; NULL if unknown */
	const char *function;   /* symbol name; NULL if unknown */
	uint64_t address;       /* instruction address; valid if has_address */
	uint64_t func_offset;   /* offset from function; if has_func_offset */
	uint64_t module_offset; /* offset from module base; if has_module_offset */
	const char *source_file; /* from symbol line records; NULL if unknown */
	uint32_t source_line;    /* if source_file */
	uint64_t line_offset;    /* from the line's first address; if source_file */
	bool has_address;
	bool has_func_offset;
	bool has_module_offset;
	enum frame_trust trust;
};

struct thread {
	uint64_t id;             /* OS thread id (or the log's thread address) */
	const char *name;        /* thread name, if any */
	const char *state;       /* e.g. "WAIT", "RUNNING" (logs) */
	const char *wait_reason; /* e.g. "Executive", "UserRequest" (logs) */
	const char *wait_mode;   /* "KernelMode" or "UserMode" (logs) */
	const char *process;     /* owning process image name (logs) */
	uint64_t wait_ticks;     /* Ticks waited, if has_wait_ticks */
	bool has_wait_ticks;
	uint64_t ip, sp;         /* context registers, if has_context */
	bool has_context;
	uint64_t stack_start;    /* stack memory range, if stack_size > 0 */
	uint64_t stack_size;
	DF_VEC(struct frame) frames;
	/*
	 * Minidumps: when `frames` start at the exception context, the frames
	 * walked from the thread's own saved context, i.e. where the thread
	 * was when the dump was written (often inside the crash handler).
	 * Empty otherwise.
	 */
	DF_VEC(struct frame) own_frames;
	DF_VEC(const char *) waited_objects; /* "Mutant" addresses etc. */
	/* Minidump ThreadInfoList entry for this thread, if has_info. */
	struct thread_info {
		uint32_t dump_flags;   /* MINIDUMP_THREAD_INFO_* */
		uint32_t dump_error;   /* HRESULT */
		uint32_t exit_status;  /* 0x103 STILL_ACTIVE while running */
		uint64_t create_time;  /* FILETIME (100 ns since 1601) */
		uint64_t exit_time;    /* FILETIME, 0 while running */
		uint64_t kernel_time;  /* 100 ns units */
		uint64_t user_time;
		uint64_t start_address;
		uint64_t affinity;
	} info;
	bool has_info;
};

struct module {
	const char *filename;   /* base name, e.g. "ntdll.dll" */
	const char *path;       /* full name as recorded, if different */
	uint64_t base;
	uint64_t end;           /* last byte (inclusive), as Breakpad prints */
	uint64_t size;
	uint32_t timestamp;     /* PE TimeDateStamp, 0 if unknown */
	const char *version;    /* "a.b.c.d" or NULL */
	const char *debug_file; /* e.g. "ntdll.pdb" */
	const char *debug_id;   /* Breakpad form: GUID hex + age */
	const char *code_id;    /* timestamp hex + size hex */
	bool unloaded;
};

struct bugcheck {
	bool present;
	uint32_t code;
	uint64_t args[4];
	const char *name;   /* from the bugcheck table, or the log */
	const char *str;    /* BUGCHECK_STR / DEFAULT_BUCKET_ID, if given */
};

struct crash {
	bool present;
	const char *type;       /* e.g. "EXCEPTION_ACCESS_VIOLATION_WRITE" */
	uint32_t code;          /* raw exception code, if has_code */
	bool has_code;
	uint64_t address;       /* crash address, if has_address */
	bool has_address;
	uint64_t ip;            /* faulting instruction, if has_ip */
	bool has_ip;
	long crashing_thread;   /* index into threads, or -1 */
};

struct system_info {
	const char *os;         /* "Windows NT", "Linux", ... */
	const char *os_ver;     /* "10.0.19041" with service pack text */
	const char *cpu_arch;   /* "x86", "amd64", "arm64", ... */
	const char *cpu_info;   /* vendor/family text */
	uint32_t cpu_count;
	uint32_t build;         /* OS build number, 0 if unknown */
	const char *bios_vendor;
	const char *system_manufacturer;
	const char *system_product;
};

struct process {
	const char *image;
	uint64_t pid, ppid;
	uint64_t handle_count;    /* if has_handle_count */
	uint64_t active_threads;  /* if has_threads */
	uint64_t private_pages;   /* if has_private */
	bool has_handle_count;
	bool has_threads;
	bool has_private;
	bool object_table_null;   /* "ObjectTable: 00000000" */
};

/* A dispatcher object as `dt _DISPATCHER_HEADER` (or _KEVENT...) shows it. */
struct dispatcher {
	uint64_t address;       /* object address, if has_address */
	bool has_address;
	const char *type;       /* "Event", "Mutant", ... or the raw Type value */
	int64_t signal_state;   /* SignalState, if has_signal_state */
	bool has_signal_state;
};

struct handle_type {
	const char *type;   /* "Process", "Event", ... */
	uint64_t count;
};

/* One region of a process's address space (minidump MemoryInfoList). */
struct mem_region {
	uint64_t base;
	uint64_t size;
	uint64_t allocation_base;
	uint32_t allocation_protect;
	uint32_t state;    /* MEM_COMMIT 0x1000, MEM_RESERVE 0x2000, MEM_FREE */
	uint32_t protect;  /* PAGE_* */
	uint32_t type;     /* MEM_PRIVATE, MEM_MAPPED, MEM_IMAGE */
};

/* Classes the memory summary counts regions by: states, then types. */
enum mem_class {
	MEM_CLASS_COMMIT,
	MEM_CLASS_RESERVE,
	MEM_CLASS_FREE,
	MEM_CLASS_IMAGE,
	MEM_CLASS_MAPPED,
	MEM_CLASS_PRIVATE,
	MEM_NCLASS,
};

struct memory_info {
	bool present;
	/* Sorted by base, overlaps dropped; for model_region_at(). */
	DF_VEC(struct mem_region) regions;
	uint64_t count[MEM_NCLASS];
	uint64_t bytes[MEM_NCLASS];
	/* Regions holding the crash address and the faulting instruction. */
	const struct mem_region *address_region;
	const struct mem_region *ip_region;
};

/* A file mapped into a Linux process (Breakpad's LinuxMaps), merged. */
struct mapping {
	const char *path;
	uint64_t base;
	uint64_t end;       /* last byte (inclusive) */
	bool executable;    /* some part is mapped with x */
};

/* Vendor streams of Breakpad and Crashpad dumps. */
struct vendor_info {
	bool crashpad;               /* CrashpadInfo stream present */
	const char *report_id;       /* Crashpad GUIDs, NULL if zero */
	const char *client_id;
	uint32_t simple_annotations; /* process-wide key/value pairs */
	uint32_t crashpad_modules;   /* modules with Crashpad info */
	uint64_t module_annotations; /* list + simple + objects, all modules */
	uint32_t linux_streams;      /* bit (type - 0x47670000) per stream */
	const char *cmdline;         /* argv joined by spaces */
	uint32_t environ_count;      /* variables (values are not kept) */
	uint32_t auxv_count;         /* auxv pairs */
	uint32_t cpuinfo_count;      /* "processor" entries */
	uint32_t dso_count;          /* LinuxDsoDebug */
	DF_VEC(struct mapping) mappings;
	uint64_t map_lines;          /* lines read from LinuxMaps */
	uint64_t handle_operations;  /* HandleOperationList entries */
	uint32_t tokens;             /* TokenStream entries */
	bool has_handle_operations;
	bool has_tokens;
};

/* A named value from a debugger log: !analyze fields and the like. */
struct field {
	const char *key;    /* e.g. "MODULE_NAME" */
	const char *value;  /* first line of the value, trimmed */
};

struct finding {
	const char *pattern;   /* stable pattern id, e.g. "self-dump" */
	const char *title;
	int confidence;        /* 0..100 */
	DF_VEC(const char *) evidence;
};

struct model_error {
	int code;              /* DF_E* */
	uint64_t offset;       /* if has_offset */
	bool has_offset;
	const char *message;
};

/* A loaded module's range, in the sorted index model_index_modules builds. */
struct module_range {
	uint64_t base, end;
	size_t index; /* into modules */
};

struct analysis {
	struct arena *arena;
	enum model_format format;
	const char *format_detail;  /* e.g. "!analyze -v", "MDMP x86" */
	uint8_t content_hash[HASH_LEN];
	bool content_hash_skipped;  /* not computed: content_hash is zero */
	uint64_t size;

	struct system_info system;
	struct bugcheck bugcheck;
	struct crash crash;
	const char *process_name;
	uint64_t crash_time;        /* Unix seconds, 0 if unknown */
	/*
	 * The thread that wrote the dump, when the dump says so (Breakpad's
	 * info stream). Breakpad leaves that thread out of its thread list,
	 * and so does the model; its id stays here as evidence.
	 */
	uint64_t dump_thread_id;
	bool has_dump_thread_id;
	uint64_t uptime;            /* seconds, 0 if unknown */

	DF_VEC(struct thread) threads;
	DF_VEC(struct module) modules;
	/* Sorted loaded-module ranges; valid while modules.n == mod_indexed. */
	struct module_range *mod_index;
	size_t mod_index_n;
	size_t mod_indexed;
	DF_VEC(struct process) processes;
	DF_VEC(struct handle_type) handle_types;
	DF_VEC(struct dispatcher) dispatchers;
	DF_VEC(struct field) fields;
	struct memory_info memory;
	struct vendor_info vendor;

	/*
	 * For text inputs: the whole input, for detectors that look for
	 * phrases the structured model does not hold. Borrowed: valid only
	 * during analysis_run().
	 */
	const char *text;
	size_t text_len;

	/* Derived by the analysis after reading. */
	const char *blame_module;
	const char *blame_reason;
	const char *signature;            /* normalised signature text */
	char signature_hash[17];          /* 16 hex digits, "" if none */
	/*
	 * The frames behind the signature are doubtful: found only by stack
	 * scanning, or the debugger warned that the stack may be wrong.
	 */
	bool signature_low_trust;
	/* What the signature was made from (see signature.h). */
	const char *sig_prefix;
	DF_VEC(const char *) sig_frames;
	const char *sig_fallback;
	unsigned sig_rules_version;
	DF_VEC(struct finding) findings;
	DF_VEC(struct model_error) errors;
};

/* Fresh empty analysis with its own arena. NULL on ENOMEM. */
struct analysis *analysis_new(void);

/* Free the analysis and everything in its arena. NULL-safe. */
void analysis_destroy(struct analysis **ap);

/* The text name of a format: "minidump", "kernel-dump", "debugger-log". */
const char *model_format_name(enum model_format f);

/*
 * "context", "prewalked", "cfi", "frame_pointer", "scan", "inline" or
 * "none".
 */
const char *model_trust_name(enum frame_trust t);

/*
 * Record an error against this dump (a damaged or unsupported input is a
 * result, not a failure of the run). Returns CODE.
 */
int model_add_error(struct analysis *a, int code, bool has_offset,
		    uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Add a thread/module/process/field; NULL when a cap or the arena is hit. */
struct thread *model_add_thread(struct analysis *a);
struct frame *model_add_frame(struct analysis *a, struct thread *t);
struct frame *model_add_own_frame(struct analysis *a, struct thread *t);
struct module *model_add_module(struct analysis *a);
struct process *model_add_process(struct analysis *a);
struct handle_type *model_add_handle_type(struct analysis *a);
struct dispatcher *model_add_dispatcher(struct analysis *a);

/* Add KEY=VALUE (both copied). Returns DF_OK or DF_ENOMEM/DF_ELIMIT. */
int model_add_field(struct analysis *a, const char *key, const char *value);

/* First value recorded for KEY, or NULL. */
const char *model_field(const struct analysis *a, const char *key);

/*
 * Start a finding for PATTERN (copied). Returns it so evidence can be
 * added, or NULL on a cap. A pattern already found is returned as is.
 */
struct finding *model_add_finding(struct analysis *a, const char *pattern,
				  const char *title, int confidence);

/* Add one line of evidence (printf-style) to F. DF_OK or DF_ELIMIT. */
int model_add_evidence(struct analysis *a, struct finding *f,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True when a finding for PATTERN exists. */
bool model_has_finding(const struct analysis *a, const char *pattern);

/* The crashing thread, or NULL when unknown. */
const struct thread *model_crashing_thread(const struct analysis *a);

/*
 * Sort the loaded modules by base so that model_module_at() is a binary
 * search; readers call it once their module list is complete. Adding a
 * module afterwards makes lookups linear again until the next call.
 * DF_OK or DF_ENOMEM (lookups then stay linear).
 */
int model_index_modules(struct analysis *a);

/*
 * The loaded module containing ADDR, or NULL. With an index, the one with
 * the highest base at or below ADDR; without, the first in list order.
 */
const struct module *model_module_at(const struct analysis *a, uint64_t addr);

/*
 * The memory-info region containing ADDR, or NULL (binary search; the
 * regions are sorted by the reader).
 */
const struct mem_region *model_region_at(const struct analysis *a,
					 uint64_t addr);

/* Name of a memory class: "MEM_COMMIT", ..., "MEM_PRIVATE". */
const char *model_mem_class_name(enum mem_class c);

/* True when PAGE_* protection PROTECT allows execution. */
bool model_protect_executable(uint32_t protect);

/* Case-insensitive lookup of a module by base name (with or without ext). */
const struct module *model_module_named(const struct analysis *a,
					const char *name);

#endif /* WORKER_MODEL_H */
