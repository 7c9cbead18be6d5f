/*
 * wild-pointer: the crash went through a pointer that points nowhere.
 *
 * Seed: Crash Dump Analysis Patterns, part 55. A faulting instruction or
 * data address whose bytes are text shows that string data was used as a
 * pointer (a buffer overflow over a saved pointer or return address, a
 * use of freed memory reused for a string): 0x65747379735c5357 is ASCII
 * "WS\syste" (WinDbg's .formats: "etsys\SW"), 0x0045004c00490046 UTF-16
 * "FILE" (".E.L.I.F"), 0x41414141 "AAAA". The addresses come from the
 * exception (crash address and instruction pointer), from the bugcheck
 * arguments that are addresses, from the !analyze address keys, and in a
 * log from the faulting instruction's memory operand ("ds:002b:41414141`
 * 41414139=????????") and the exception record's "Attempt to ... address"
 * line. A value inside a loaded module is a pointer, never text.
 * IP_ON_HEAP (the instruction pointer lies in heap memory: code reached
 * through a data pointer) is reported too, with less confidence.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define MAX_VALUES 32	 /* distinct addresses looked at */
#define MAX_TEXT_HITS 16 /* occurrences of one phrase in a log */

/*
 * Bugcheck arguments that are addresses (code without the 0x10000000 bit
 * of the _M variants), as the bugcheck reference documents them.
 */
static const struct {
	uint32_t code;
	int arg; /* 0-based */
	bool ip; /* instruction address, else data address */
	const char *what;
} bugcheck_addresses[] = {
	{ 0x0A, 0, false, "memory referenced" },
	{ 0x0A, 3, true, "address which referenced memory" },
	{ 0xD1, 0, false, "memory referenced" },
	{ 0xD1, 3, true, "address which referenced memory" },
	{ 0x50, 0, false, "memory referenced" },
	{ 0x50, 2, true, "address which referenced memory" },
	{ 0x1E, 1, true, "address of the exception" },
	{ 0x7E, 1, true, "address of the exception" },
	{ 0x8E, 1, true, "address of the exception" },
	{ 0x3B, 1, true, "address of the exception" },
	{ 0xBE, 0, false, "address of the attempted write" },
	{ 0xFC, 0, true, "address of the attempted execute" },
};

/* !analyze keys whose value starts with an address. */
static const struct {
	const char *key;
	bool ip;
} address_keys[] = {
	{ "FAILED_INSTRUCTION_ADDRESS", true },
	{ "FAULTING_IP", true },
	{ "IP_ON_HEAP", true },
	{ "READ_ADDRESS", false },
	{ "WRITE_ADDRESS", false },
	{ "EXECUTE_ADDRESS", true },
	{ "EXCEPTION_PARAMETER2", false },
};

/* Exception-record lines of a log: the phrase, then the address. */
static const struct {
	const char *phrase;
	bool ip;
} record_phrases[] = {
	{ "Attempt to read from address ", false },
	{ "Attempt to write to address ", false },
	{ "Attempt to execute non-executable address ", true },
};

struct state {
	struct analysis *a;
	struct finding *f;
	uint64_t seen[MAX_VALUES];
	size_t nseen;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "wild-pointer",                     \
		   "Wild pointer",                                      \
		   (confidence), __VA_ARGS__)

/*
 * Hex digits at S (N bytes; backticks skipped, "0x" allowed) into *V.
 * False when the token is anything else or longer than 64 bits.
 */
static bool parse_hex(const char *s, size_t n, uint64_t *v)
{
	size_t digits = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '`')
			continue;
		if (!isxdigit(c) || ++digits > 16)
			return false;
		*v = *v << 4 |
		     (uint64_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	return digits > 0;
}

/* The leading hex token of a field value ("65747379`735c5357 ?? ???"). */
static bool value_address(const char *v, uint64_t *out)
{
	return v != NULL && parse_hex(v, strcspn(v, " \t"), out);
}

/*
 * One address V: text unless inside a module; reported once per value.
 * IP: an instruction address, else a data address; FROM: its source.
 */
static int check_value(struct state *s, uint64_t v, bool ip, const char *from)
{
	struct dmatch_text t;

	for (size_t i = 0; i < s->nseen; i++)
		if (s->seen[i] == v)
			return DF_OK;
	if (s->nseen == MAX_VALUES)
		return DF_OK;
	s->seen[s->nseen++] = v;
	if (model_module_at(s->a, v) != NULL || !dmatch_value_text(v, &t))
		return DF_OK;
	return add(s, 90,
		   "%s 0x%" PRIx64 " (%s) is %s text: \"%s\" in memory order "
		   "(.formats Chars: %s)",
		   ip ? "instruction pointer" : "data address", v, from,
		   t.kind == DMATCH_ASCII ? "ASCII" : "UTF-16", t.text,
		   t.chars);
}

static int check_crash(struct state *s)
{
	const struct crash *c = &s->a->crash;
	int rc = DF_OK;

	if (c->has_ip)
		rc = check_value(s, c->ip, true, "exception");
	if (rc == DF_OK && c->has_address)
		rc = check_value(s, c->address, false,
				 c->type != NULL ? c->type : "crash address");
	return rc;
}

static int check_bugcheck(struct state *s)
{
	const struct bugcheck *b = &s->a->bugcheck;
	char from[96];
	int rc = DF_OK;

	if (!b->present)
		return DF_OK;
	for (size_t i = 0; rc == DF_OK && i < ARRAY_SIZE(bugcheck_addresses);
	     i++) {
		if ((b->code & ~0x10000000u) != bugcheck_addresses[i].code)
			continue;
		snprintf(from, sizeof(from), "bugcheck 0x%" PRIX32 " Arg%d, %s",
			 b->code, bugcheck_addresses[i].arg + 1,
			 bugcheck_addresses[i].what);
		rc = check_value(s, b->args[bugcheck_addresses[i].arg],
				 bugcheck_addresses[i].ip, from);
	}
	return rc;
}

static int check_fields(struct state *s)
{
	const struct analysis *a = s->a;
	uint64_t v;
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < a->fields.n; i++)
		for (size_t k = 0; rc == DF_OK && k < ARRAY_SIZE(address_keys);
		     k++)
			if (strcmp(a->fields.v[i].key, address_keys[k].key) ==
				    0 &&
			    value_address(a->fields.v[i].value, &v))
				rc = check_value(s, v, address_keys[k].ip,
						 address_keys[k].key);
	return rc;
}

/*
 * The memory operand of a faulting instruction as the register display
 * shows it: "ds:002b:41414141`41414139=????????" or
 * "ds:00005db1`57c7b535=????". EQ is the '='; the text before it on the
 * line starts at LINE.
 */
static bool operand_address(const char *line, const char *eq, uint64_t *v)
{
	const char *q = eq, *r;

	while (q > line && (isxdigit((unsigned char)q[-1]) || q[-1] == '`'))
		q--;
	if (q == eq || q - line < 3 || q[-1] != ':')
		return false;
	r = q - 1; /* the ':' before the address */
	if (r - line >= 7 && r[-5] == ':' && isxdigit((unsigned char)r[-1]) &&
	    isxdigit((unsigned char)r[-2]) && isxdigit((unsigned char)r[-3]) &&
	    isxdigit((unsigned char)r[-4]))
		r -= 5; /* a selector: "ds:002b:" */
	if (r - line < 2 || r[-1] != 's' || strchr("cdefgs", r[-2]) == NULL)
		return false;
	return parse_hex(q, (size_t)(eq - q), v);
}

/* Faulting memory operands ("=??" : the memory could not be read). */
static int check_operands(struct state *s)
{
	const struct analysis *a = s->a;
	const char *p = a->text, *end = a->text + a->text_len, *line;
	uint64_t v;
	int rc = DF_OK;

	for (size_t hits = 0;
	     rc == DF_OK && hits < MAX_TEXT_HITS &&
	     (p = dmatch_find(p, (size_t)(end - p), "=?")) != NULL;
	     hits++, p += 2) {
		dmatch_line(a, p, &line);
		if (line < p && operand_address(line, p, &v))
			rc = check_value(s, v, false,
					 "memory operand of the faulting "
					 "instruction");
	}
	return rc;
}

/* "Attempt to read from address 41414141" and the like. */
static int check_records(struct state *s)
{
	const struct analysis *a = s->a;
	const char *end = a->text + a->text_len;
	uint64_t v;
	int rc = DF_OK;

	for (size_t i = 0; rc == DF_OK && i < ARRAY_SIZE(record_phrases); i++) {
		const char *p = a->text;
		size_t k = strlen(record_phrases[i].phrase);

		for (size_t hits = 0;
		     rc == DF_OK && hits < MAX_TEXT_HITS &&
		     (p = dmatch_find(p, (size_t)(end - p),
				      record_phrases[i].phrase)) != NULL;
		     hits++) {
			p += k;
			size_t n = 0;

			while (p + n < end &&
			       (isxdigit((unsigned char)p[n]) || p[n] == '`'))
				n++;
			if (parse_hex(p, n, &v))
				rc = check_value(s, v, record_phrases[i].ip,
						 "exception record");
		}
	}
	return rc;
}

static int check_ip_on_heap(struct state *s)
{
	const char *v = model_field(s->a, "IP_ON_HEAP");

	if (v == NULL)
		return DF_OK;
	return add(
		s, 70,
		"!analyze reports IP_ON_HEAP: %.40s: the instruction pointer "
		"lies in heap memory, code was reached through a data "
		"pointer",
		*v != '\0' ? v : "(no value)");
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	int rc = check_crash(&s);

	if (rc == DF_OK)
		rc = check_bugcheck(&s);
	if (rc == DF_OK)
		rc = check_fields(&s);
	if (rc == DF_OK && a->text != NULL)
		rc = check_operands(&s);
	if (rc == DF_OK && a->text != NULL)
		rc = check_records(&s);
	if (rc == DF_OK)
		rc = check_ip_on_heap(&s);
	return rc;
}

const struct detector detector_wild_pointer = {
	.id = "wild-pointer",
	.title = "Wild pointer: a faulting address made of text, or code "
		 "reached through a heap pointer",
	.description = "crash, bugcheck-argument and !analyze addresses "
		       "(FAILED_INSTRUCTION_ADDRESS, READ/WRITE_ADDRESS, "
		       "faulting operands) whose bytes are ASCII or UTF-16 "
		       "text; IP_ON_HEAP",
	.run = run,
};
