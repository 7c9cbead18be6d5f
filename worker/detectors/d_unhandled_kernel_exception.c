/*
 * unhandled-kernel-exception: an exception in kernel mode that nothing
 * handled.
 *
 * Kernel code raised or hit an exception (an access violation, an illegal
 * instruction, a breakpoint...) and no handler took it: 0x1E
 * (KMODE_EXCEPTION_NOT_HANDLED), 0x7E in a system thread, 0x8E, 0x3B
 * while running a system service, and the _M variants with 0x10000000 set
 * (0x1000007E, 0x1000008E); also in an interrupt routine (0x3D), a
 * registry filter (0x135) or the resource manager (0x10F). Arg1 is the
 * exception code and Arg2 where it happened; the evidence names both. The
 * kernel's last-chance handlers under nt!KeBugCheckEx on the same stack
 * (nt!KiFatalExceptionHandler, nt!PspUnhandledExceptionInSystemThread,
 * nt!KiSystemServiceHandler) show it when the bugcheck line is missing.
 * Seed: "Bug Check Frequencies" (unhandled kernel exceptions first).
 */
#include "bctable.h"
#include "registry.h"

#define ID "unhandled-kernel-exception"
#define TITLE "Unhandled exception in kernel mode"

static const struct bct_code codes[] = {
	{ 0x1E, 0, 0, 90, "an exception in kernel mode that no handler "
			  "caught" },
	{ 0x7E, 0, 0, 90, "an exception in a system thread that no handler "
			  "caught" },
	{ 0x8E, 0, 0, 90, "an exception in kernel mode that no handler "
			  "caught" },
	{ 0x3B, 0, 0, 85, "an exception in kernel mode while running a "
			  "system service" },
	{ 0x3D, 0, 0, 75, "an exception in an interrupt routine that no "
			  "handler caught" },
	{ 0x135, 0, 0, 70, "an exception escaped a registry filter "
			   "driver" },
	{ 0x10F, 0, 0, 70, "an exception in the kernel resource manager "
			   "that no handler caught" },
};

static const struct bct_frame frames[] = {
	{ "nt", "KiFatalExceptionHandler", 70, "the kernel's last-chance "
					       "exception handler stopped "
					       "the system", true },
	{ "nt", "PspUnhandledExceptionInSystemThread", 75, "an exception "
							   "escaped a "
							   "system thread",
	  true },
	{ "nt", "KiSystemServiceHandler", 65, "an exception escaped a "
					      "system service", true },
};

/* Codes the exception-code parameter (Arg1) belongs to. */
static bool arg1_is_exception(uint32_t code)
{
	return code == 0x1E || code == 0x7E || code == 0x8E || code == 0x3B;
}

/*
 * The debugger's NTSTATUS text for exception X ("(NTSTATUS) 0xc0000005 -
 * The instruction at..."), when a field quotes that code, else NULL.
 */
static const char *ntstatus_text(const struct analysis *a, uint32_t x)
{
	static const char *const keys[] = { "ERROR_CODE", "EXCEPTION_CODE" };
	char hex[16];

	snprintf(hex, sizeof(hex), "%08" PRIx32, x);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = model_field(a, keys[i]);

		if (dmatch_has(v, hex))
			return v;
	}
	return NULL;
}

/* Name the exception of Arg1 and the module of Arg2. */
static int exception_evidence(struct bct_run *r)
{
	const struct bct_bugcheck *bc = &r->bc;
	uint32_t x = bct_u32(bc->args[0]);
	const char *name = exception_name(x);
	const char *text = name == NULL ? ntstatus_text(r->a, x) : NULL;
	const struct module *m;
	int rc;

	if (name != NULL)
		rc = bct_add(r, 0, "exception 0x%08" PRIX32 " %s was not "
			     "handled", x, name);
	else if (text != NULL)
		rc = bct_add(r, 0, "exception 0x%08" PRIX32 " was not handled: "
			     "%.160s", x, text);
	else
		rc = bct_add(r, 0, "exception 0x%08" PRIX32 " was not handled",
			     x);
	if (rc != DF_OK || bc->nargs < 2)
		return rc;
	m = model_module_at(r->a, bc->args[1]);
	if (m != NULL && m->filename != NULL)
		rc = bct_add(r, 0, "it happened at 0x%" PRIx64 " in %s",
			     bc->args[1], m->filename);
	return rc;
}

static int details(struct bct_run *r)
{
	if (r->matched == NULL || !arg1_is_exception(r->bc.code) ||
	    r->bc.nargs < 1)
		return DF_OK;
	return exception_evidence(r);
}

static const struct bct_spec spec = {
	.id = ID,
	.title = TITLE,
	.codes = codes,
	.n_codes = ARRAY_SIZE(codes),
	.frames = frames,
	.n_frames = ARRAY_SIZE(frames),
	.extra = details,
};

static int run(struct analysis *a)
{
	return bct_run(a, &spec);
}

const struct detector detector_unhandled_kernel_exception = {
	.id = ID,
	.title = TITLE,
	.description = "bugchecks 1E, 7E, 8E, 3B (and _M), 3D, 135, 10F with the "
		       "exception of Arg1; last-chance handler frames under "
		       "KeBugCheckEx",
	.run = run,
};
