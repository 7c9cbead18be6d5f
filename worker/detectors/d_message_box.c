/*
 * message-box: a thread is showing a message box.
 *
 * GUI threads executing message box code usually show an error, and the
 * box blocks the thread (and whatever waits for it) until someone clicks
 * it: on servers and terminal sessions nobody does (seed: Crash Dump
 * Analysis Patterns part 51). The frames are USER32!MessageBox*,
 * MessageBoxWorker, SoftModalMessageBox. Return addresses into user32
 * alone prove nothing (every GUI thread has them), so only named frames
 * count. The message itself is in the debugger log when the analyst dumped
 * the text argument (dA/du after the stack), and the evidence quotes it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "df.h"
#include "dmatch.h"
#include "model.h"
#include "registry.h"

#define MAX_THREAD_EVIDENCE 4
#define MAX_TEXTS 2
#define QUOTE_MAX 200

static const char *const box_functions[] = {
	"MessageBox*",	      /* MessageBoxA/W/ExA/ExW/IndirectA/W,
				 MessageBoxTimeoutA/W, MessageBoxWorker */
	"SoftModalMessageBox*",
};

/* Stack text the reader may not have turned into frames. */
static const char *const box_phrases[] = {
	"user32!MessageBox",
	"user32!SoftModalMessageBox",
};

struct state {
	struct analysis *a;
	struct finding *f;
};

/* Evidence for this detector's finding (see detect_add). */
#define add(s, confidence, ...)                                         \
	detect_add((s)->a, &(s)->f, "message-box",                      \
		   "A thread is showing a message box",                 \
		   (confidence), __VA_ARGS__)

static bool box_frame(const struct frame *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(box_functions); i++)
		if (dmatch_frame(f, "user32", box_functions[i]))
			return true;
	return false;
}

/*
 * The outermost message box frame of T (the API the program called, e.g.
 * MessageBoxA rather than SoftModalMessageBox), or NULL.
 */
static const struct frame *box_call(const struct thread *t, size_t *at)
{
	const struct frame *hit = NULL;

	for (size_t i = 0; i < t->frames.n; i++) {
		if (box_frame(&t->frames.v[i])) {
			hit = &t->frames.v[i];
			*at = i;
		} else if (hit != NULL) {
			break;
		}
	}
	return hit;
}

static int check_threads(struct state *s, size_t *found)
{
	const struct analysis *a = s->a;
	char name[192];

	for (size_t i = 0; i < a->threads.n; i++) {
		size_t at = 0;
		const struct frame *f = box_call(&a->threads.v[i], &at);

		if (f == NULL)
			continue;
		if (++*found > MAX_THREAD_EVIDENCE)
			continue;
		dmatch_thread_name(a, i, name, sizeof(name));
		int rc = add(s, 80, "%s: frame %zu %s!%s", name, at, f->module,
			     f->function);

		if (rc != DF_OK)
			return rc;
	}
	return DF_OK;
}

/* First stack line naming a message box function, when no frame did. */
static int check_stack_text(struct state *s, const char **from)
{
	const struct analysis *a = s->a;
	char quote[QUOTE_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(box_phrases); i++) {
		const char *p = dmatch_text(a, box_phrases[i]);
		const char *line;

		if (p == NULL)
			continue;
		size_t n = dmatch_line(a, p, &line);

		*from = p;
		if (n > QUOTE_MAX)
			n = QUOTE_MAX;
		memcpy(quote, line, n);
		quote[n] = '\0';
		return add(s, 70, "message box frame in the log: \"%s\"",
			   quote);
	}
	return DF_OK;
}

/* True when [P, E) is a dA/da/du command, e.g. "0: kd> dA 0013f944". */
static bool dump_string_command(const char *p, const char *e)
{
	const char *gt = memchr(p, '>', (size_t)(e - p));

	if (gt == NULL)
		return false;
	p = gt + 1;
	while (p < e && *p == ' ')
		p++;
	return e - p > 3 && (p[0] == 'd' || p[0] == 'D') &&
	       (p[1] == 'a' || p[1] == 'A' || p[1] == 'u' || p[1] == 'U') &&
	       p[2] == ' ';
}

/*
 * The strings the analyst dumped after the message box frame: the line
 * after a dA/da/du command, `<address>  "text"`. Adds up to MAX_TEXTS.
 */
static int check_message_text(struct state *s, const char *from)
{
	const struct analysis *a = s->a;
	const char *end = a->text + a->text_len, *p = from;
	int texts = 0;
	bool after_cmd = false;

	while (p < end && texts < MAX_TEXTS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end;

		if (dump_string_command(p, e)) {
			after_cmd = true;
		} else if (after_cmd) {
			const char *q1 = memchr(p, '"', (size_t)(e - p));
			const char *q2 = e;

			while (q2 > p && q2[-1] != '"')
				q2--;
			if (q1 != NULL && q2 - 1 > q1) {
				size_t n = (size_t)(q2 - 1 - q1 - 1);
				char quote[QUOTE_MAX + 1];

				if (n > QUOTE_MAX)
					n = QUOTE_MAX;
				memcpy(quote, q1 + 1, n);
				quote[n] = '\0';
				int rc = add(s, 80, "message text: \"%s\"",
					     quote);

				if (rc != DF_OK)
					return rc;
				texts++;
			}
			after_cmd = false;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return DF_OK;
}

static int run(struct analysis *a)
{
	struct state s = { .a = a };
	size_t found = 0;
	const char *from = NULL;
	int rc = check_threads(&s, &found);

	if (rc == DF_OK && found > MAX_THREAD_EVIDENCE)
		rc = add(&s, 80, "%zu more threads show message boxes",
			 found - MAX_THREAD_EVIDENCE);
	if (a->text == NULL || rc != DF_OK)
		return rc;
	if (found == 0)
		rc = check_stack_text(&s, &from);
	else
		from = dmatch_text(a, "MessageBox");
	if (rc == DF_OK && s.f != NULL && from != NULL)
		rc = check_message_text(&s, from);
	return rc;
}

const struct detector detector_message_box = {
	.id = "message-box",
	.title = "A thread is showing a message box",
	.description = "USER32 MessageBox*, SoftModalMessageBox or MessageBoxWorker frames on any thread, with the dA/du text",
	.run = run,
};
