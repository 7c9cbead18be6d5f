/*
 * virtualized-system: Windows ran as a guest of a hypervisor.
 *
 * Memory dumps from virtual machines behave differently (timing, paravirtual
 * drivers, hypervisor bugs), so the analyst wants to know first. Evidence,
 * strongest first: the SMBIOS strings (!sysinfo machineid, !analyze machine
 * fields, minidump system info), the VIRTUAL_MACHINE key of !analyze, then
 * guest-only paravirtual drivers in the module list (or, without one, on
 * the stacks), then guest tools processes. Drivers that also load on hosts
 * (VMware's vmci, Hyper-V's vmbus) count only with lower confidence.
 */
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define EV_MAX 16
#define EV_LEN 256

enum hv {
	HV_XEN,
	HV_VMWARE,
	HV_HYPERV,
	HV_VBOX,
	HV_KVM,
	HV_PARALLELS,
	HV_CLOUD_AWS,
	HV_CLOUD_GCE,
	HV_COUNT,
};

static const char *const hv_names[HV_COUNT] = {
	[HV_XEN] = "Xen",
	[HV_VMWARE] = "VMware",
	[HV_HYPERV] = "Hyper-V / Virtual PC",
	[HV_VBOX] = "VirtualBox",
	[HV_KVM] = "KVM/QEMU",
	[HV_PARALLELS] = "Parallels",
	[HV_CLOUD_AWS] = "Amazon EC2",
	[HV_CLOUD_GCE] = "Google Compute Engine",
};

/*
 * SMBIOS strings: a case-insensitive substring of the BIOS vendor, system
 * manufacturer or product name. Hyper-V needs both of its strings ("Virtual
 * Machine" alone is too generic a product name to trust on its own).
 */
static const struct {
	enum hv hv;
	const char *manufacturer; /* NULL: any */
	const char *product;      /* NULL: any */
	const char *any;          /* in any of the three; NULL: unused */
} smbios_rules[] = {
	{ HV_XEN, NULL, NULL, "Xen" },
	{ HV_XEN, NULL, "HVM domU", NULL },
	{ HV_VMWARE, NULL, NULL, "VMware" },
	{ HV_HYPERV, "Microsoft Corporation", "Virtual Machine", NULL },
	{ HV_VBOX, NULL, NULL, "innotek GmbH" },
	{ HV_VBOX, NULL, NULL, "VirtualBox" },
	{ HV_KVM, NULL, NULL, "QEMU" },
	{ HV_KVM, NULL, "Standard PC (", NULL },
	{ HV_KVM, NULL, NULL, "KVM" },
	{ HV_PARALLELS, NULL, NULL, "Parallels" },
	{ HV_CLOUD_AWS, NULL, NULL, "Amazon EC2" },
	{ HV_CLOUD_GCE, NULL, NULL, "Google Compute Engine" },
};

/* Paravirtual drivers and guest services, as module-stem globs. */
static const struct {
	enum hv hv;
	const char *glob;
	int confidence;
} module_rules[] = {
	{ HV_XEN, "xen*", 90 }, /* xenvbd, xennet, xenutil, xenpci... */
	{ HV_XEN, "dump_xen*", 90 },
	{ HV_VMWARE, "vmhgfs", 90 },
	{ HV_VMWARE, "vmmouse", 90 },
	{ HV_VMWARE, "vmusbmouse", 90 },
	{ HV_VMWARE, "vm3dmp*", 90 },
	{ HV_VMWARE, "vmxnet*", 90 },
	{ HV_VMWARE, "vmmemctl", 90 },
	{ HV_VMWARE, "vmrawdsk", 90 },
	{ HV_VMWARE, "vmx_svga", 90 },
	{ HV_VMWARE, "pvscsi", 90 },
	{ HV_VMWARE, "vmci", 60 }, /* also on VMware Workstation hosts */
	{ HV_HYPERV, "storvsc", 90 },
	{ HV_HYPERV, "netvsc*", 90 },
	{ HV_HYPERV, "hyperkbd", 90 },
	{ HV_HYPERV, "vmstorfl", 90 },
	{ HV_HYPERV, "VMBusHID", 90 },
	{ HV_HYPERV, "hypervideo", 90 },
	{ HV_HYPERV, "vmbus", 60 }, /* also in a Hyper-V host's root */
	{ HV_VBOX, "VBoxGuest", 90 },
	{ HV_VBOX, "VBoxMouse", 90 },
	{ HV_VBOX, "VBoxSF", 90 },
	{ HV_VBOX, "VBoxVideo*", 90 },
	{ HV_VBOX, "VBoxWddm", 90 },
	{ HV_KVM, "viostor", 90 },
	{ HV_KVM, "vioscsi", 90 },
	{ HV_KVM, "netkvm", 90 },
	{ HV_KVM, "balloon", 80 },
	{ HV_KVM, "vioser", 90 },
	{ HV_KVM, "viorng", 90 },
	{ HV_KVM, "vioinput", 90 },
	{ HV_KVM, "qemufwcfg", 90 },
	{ HV_PARALLELS, "prl_*", 90 },
};

/* Guest tools processes (process list or the dump's own process). */
static const struct {
	enum hv hv;
	const char *glob;
} process_rules[] = {
	{ HV_VMWARE, "vmtoolsd" },   { HV_VBOX, "VBoxService" },
	{ HV_VBOX, "VBoxTray" },     { HV_KVM, "qemu-ga" },
	{ HV_XEN, "xenservice" },    { HV_PARALLELS, "prl_tools*" },
};

/* !analyze's VIRTUAL_MACHINE value -> hypervisor. */
static const struct {
	const char *value;
	enum hv hv;
} vm_values[] = {
	{ "hyper", HV_HYPERV }, { "vmware", HV_VMWARE }, { "xen", HV_XEN },
	{ "virtualbox", HV_VBOX }, { "vbox", HV_VBOX }, { "kvm", HV_KVM },
	{ "qemu", HV_KVM },	{ "parallels", HV_PARALLELS },
};

struct evidence {
	size_t n;
	int best[HV_COUNT]; /* best confidence per hypervisor, 0 = none */
	char line[EV_MAX][EV_LEN];
	size_t nmod;        /* module stems already reported */
	char mod[EV_MAX][DMATCH_STEM_MAX];
};

static void note(struct evidence *ev, enum hv hv, int confidence,
		 const char *what)
{
	if (confidence > ev->best[hv])
		ev->best[hv] = confidence;
	/* Evidence longer than a line is cut; the start names the proof. */
	if (ev->n < EV_MAX &&
	    snprintf(ev->line[ev->n], EV_LEN, "%s: %s", hv_names[hv], what) >= 0)
		ev->n++;
}

/*
 * The SMBIOS triple: the model's system info, else the !analyze machine
 * fields, else "Key = Value" lines of !sysinfo machineid in the text.
 */
struct smbios {
	const char *vendor, *manufacturer, *product;
	char buf[3][EV_LEN];
	const char *source;
};

/*
 * Value of a "KEY = value" line of the text (leading blanks allowed) into
 * OUT, or NULL when there is no such line or the value is empty.
 */
static const char *text_value(const struct analysis *a, const char *key,
			      char *out, size_t size)
{
	if (a->text == NULL)
		return NULL;

	const char *p = a->text, *end = a->text + a->text_len;
	size_t k = strlen(key);

	while (p != NULL && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *e = eol != NULL ? eol : end;
		const char *q = p;

		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(e - q) > k && strncasecmp(q, key, k) == 0) {
			q += k;
			while (q < e && (*q == ' ' || *q == '\t'))
				q++;
			if (q < e && *q == '=') {
				q++;
				while (q < e && (*q == ' ' || *q == '\t'))
					q++;
				while (e > q && isspace((unsigned char)e[-1]))
					e--;
				size_t n = (size_t)(e - q);

				if (n == 0)
					return NULL;
				if (n >= size)
					n = size - 1;
				memcpy(out, q, n);
				out[n] = '\0';
				return out;
			}
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return NULL;
}

static void smbios_get(const struct analysis *a, struct smbios *s)
{
	s->vendor = a->system.bios_vendor;
	s->manufacturer = a->system.system_manufacturer;
	s->product = a->system.system_product;
	s->source = "system information";
	if (s->vendor || s->manufacturer || s->product)
		return;
	s->vendor = model_field(a, "BIOS_VENDOR");
	s->manufacturer = model_field(a, "SYSTEM_MANUFACTURER");
	s->product = model_field(a, "SYSTEM_PRODUCT_NAME");
	s->source = "!analyze machine fields";
	if (s->vendor || s->manufacturer || s->product)
		return;
	s->vendor = text_value(a, "BiosVendor", s->buf[0], EV_LEN);
	s->manufacturer =
		text_value(a, "SystemManufacturer", s->buf[1], EV_LEN);
	s->product = text_value(a, "SystemProductName", s->buf[2], EV_LEN);
	s->source = "!sysinfo machineid";
}

static void check_smbios(const struct analysis *a, struct evidence *ev)
{
	struct smbios s;
	char what[EV_LEN];
	size_t pos;

	smbios_get(a, &s);
	for (size_t i = 0; i < ARRAY_SIZE(smbios_rules); i++) {
		const char *m = smbios_rules[i].manufacturer;
		const char *p = smbios_rules[i].product;
		const char *any = smbios_rules[i].any;
		enum hv hv = smbios_rules[i].hv;

		if (ev->best[hv] >= 95)
			continue; /* one SMBIOS line per hypervisor is enough */
		if (any != NULL && !dmatch_has(s.vendor, any) &&
		    !dmatch_has(s.manufacturer, any) &&
		    !dmatch_has(s.product, any))
			continue;
		if (m != NULL && !dmatch_has(s.manufacturer, m))
			continue;
		if (p != NULL && !dmatch_has(s.product, p))
			continue;
		pos = 0;
		dmatch_append(what, sizeof(what), &pos, "%s:", s.source);
		if (s.vendor != NULL && *s.vendor)
			dmatch_append(what, sizeof(what), &pos,
				      " BIOS vendor \"%.64s\"", s.vendor);
		if (s.manufacturer != NULL && *s.manufacturer)
			dmatch_append(what, sizeof(what), &pos,
				      "%s manufacturer \"%.64s\"",
				      pos > strlen(s.source) + 1 ? "," : "",
				      s.manufacturer);
		if (s.product != NULL && *s.product)
			dmatch_append(what, sizeof(what), &pos,
				      "%s product \"%.64s\"",
				      pos > strlen(s.source) + 1 ? "," : "",
				      s.product);
		note(ev, hv, 95, what);
	}
}

static void check_vm_field(const struct analysis *a, struct evidence *ev)
{
	const char *v = model_field(a, "VIRTUAL_MACHINE");
	char what[EV_LEN];

	if (v == NULL)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(vm_values); i++) {
		if (!dmatch_has(v, vm_values[i].value))
			continue;
		snprintf(what, sizeof(what),
			 "!analyze reports VIRTUAL_MACHINE: %s", v);
		note(ev, vm_values[i].hv, 95, what);
		return;
	}
}

/*
 * Match one module name (stacks repeat names: report each once). The
 * stem is cut once for all the rules, not once per rule: this detector
 * was an eighth of the time of `analyze` on dumps with many modules.
 */
static void check_module_name(const char *name, bool unloaded,
			      struct evidence *ev)
{
	char what[EV_LEN], stem[DMATCH_STEM_MAX];

	if (*name == '\0')
		return;
	dmatch_stem(name, stem, sizeof(stem));
	for (size_t i = 0; i < ARRAY_SIZE(module_rules); i++) {
		if (!dmatch_glob(module_rules[i].glob, stem))
			continue;
		for (size_t j = 0; j < ev->nmod; j++)
			if (strcasecmp(ev->mod[j], stem) == 0)
				return;
		if (ev->nmod < EV_MAX)
			snprintf(ev->mod[ev->nmod++], sizeof(ev->mod[0]), "%s",
				 stem);
		snprintf(what, sizeof(what), "driver %.128s %s", stem,
			 unloaded ? "in the unloaded-module list"
				  : "loaded");
		note(ev, module_rules[i].hv, module_rules[i].confidence, what);
		return;
	}
}

static void check_modules(const struct analysis *a, struct evidence *ev)
{
	for (size_t i = 0; i < a->modules.n; i++)
		if (a->modules.v[i].filename != NULL)
			check_module_name(a->modules.v[i].filename,
					  a->modules.v[i].unloaded, ev);
	if (a->modules.n > 0)
		return;
	/* No module list (a stack-only log): the stacks name modules too. */
	for (size_t t = 0; t < a->threads.n; t++)
		for (size_t f = 0; f < a->threads.v[t].frames.n; f++)
			if (a->threads.v[t].frames.v[f].module != NULL)
				check_module_name(
					a->threads.v[t].frames.v[f].module,
					false, ev);
}

static void check_process_name(const char *image, struct evidence *ev)
{
	char what[EV_LEN];

	for (size_t i = 0; image != NULL && i < ARRAY_SIZE(process_rules);
	     i++) {
		if (!dmatch_module(image, process_rules[i].glob))
			continue;
		snprintf(what, sizeof(what), "guest tools process %s", image);
		note(ev, process_rules[i].hv, 85, what);
		return;
	}
}

static int run(struct analysis *a)
{
	struct evidence ev = { .n = 0 };
	int conf = 0;
	enum hv top = HV_COUNT;
	char title[EV_LEN] = "Virtualized system:";

	check_smbios(a, &ev);
	check_vm_field(a, &ev);
	check_modules(a, &ev);
	check_process_name(a->process_name, &ev);
	for (size_t i = 0; i < a->processes.n; i++)
		check_process_name(a->processes.v[i].image, &ev);

	for (int h = 0; h < HV_COUNT; h++) {
		if (ev.best[h] == 0)
			continue;
		size_t len = strlen(title);

		snprintf(title + len, sizeof(title) - len, "%s %s",
			 top == HV_COUNT ? "" : ",", hv_names[h]);
		if (ev.best[h] > conf) {
			conf = ev.best[h];
			top = (enum hv)h;
		}
	}
	if (top == HV_COUNT)
		return DF_OK;

	struct finding *f =
		model_add_finding(a, "virtualized-system", title, conf);

	if (f == NULL)
		return DF_ENOMEM;
	for (size_t i = 0; i < ev.n; i++)
		if (model_add_evidence(a, f, "%s", ev.line[i]) == DF_ENOMEM)
			return DF_ENOMEM;
	return DF_OK;
}

const struct detector detector_virtualized_system = {
	.id = "virtualized-system",
	.title = "Windows ran as a virtual machine guest",
	.description = "SMBIOS vendor/manufacturer/product, paravirtual guest drivers and guest-tool processes",
	.run = run,
};
