/*
 * textsafe - walk untrusted text one code point at a time.
 *
 * Names in a report come from customers' files. The HTML and CSV writers
 * decode them with textsafe_next, which never reads past LEN and turns every
 * byte that does not start a valid UTF-8 sequence into U+FFFD (overlong
 * forms, surrogates and values past U+10FFFF included), so that what they
 * write is valid UTF-8 whatever came in. textsafe_is_control names the code
 * points a reader must not receive raw (terminal controls, bidirectional
 * overrides that reorder what is shown); textsafe_escape spells one as
 * visible ASCII, "\x1b" or "\u202e", as the text report does.
 */
#ifndef REPORTS_TEXTSAFE_H
#define REPORTS_TEXTSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXTSAFE_REPLACEMENT 0xFFFDu
/* Longest textsafe_escape output, with its NUL. */
#define TEXTSAFE_ESCAPE_MAX 8
/* Longest textsafe_encode output. */
#define TEXTSAFE_UTF8_MAX 4

/*
 * Decode the code point at S[*POS] (POS < LEN) into *CP and advance *POS by
 * the bytes it used (at least 1). An invalid sequence gives U+FFFD and
 * advances by one byte, so decoding always makes progress.
 */
void textsafe_next(const char *s, size_t len, size_t *pos, uint32_t *cp);

/*
 * True for C0 controls (tab, CR and LF included: each writer decides
 * which of those its format can carry), DEL, C1 controls and the Unicode
 * bidirectional embedding, override and isolate controls.
 */
bool textsafe_is_control(uint32_t cp);

/* Write CP as visible ASCII ("\x1b", "\u202e") into BUF; returns its length. */
size_t textsafe_escape(uint32_t cp, char buf[TEXTSAFE_ESCAPE_MAX]);

/* UTF-8 bytes of CP (a valid scalar value) into BUF; returns their count. */
size_t textsafe_encode(uint32_t cp, char buf[TEXTSAFE_UTF8_MAX]);

#endif /* REPORTS_TEXTSAFE_H */
