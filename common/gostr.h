/*
 * gostr.h - Go's view of strings, for the fakes and the reference collector, which answer and
 * log as Go programs do: one rune of UTF-8 as unicode/utf8 decodes it (an invalid sequence is
 * one byte of U+FFFD), and strconv.Quote, which is what %q writes into an error text
 * (Prometheus' label errors, the Kubernetes API's 403 and selector messages, resourcedetection's
 * OTEL_RESOURCE_ATTRIBUTES errors).
 *
 * Which runes Go prints as they are (strconv.IsPrint) is approximated: Go's tables list every
 * printable range of Unicode; gostr.c excludes the non-printable runes a name or a path is likely
 * to carry (C1 controls, no-break space, soft hyphen, the Unicode spaces and format characters,
 * the byte-order mark, noncharacters, private use) and prints the rest.
 */
#ifndef OTEL_COMMON_GOSTR_H
#define OTEL_COMMON_GOSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one rune of s[0..len) as Go does: returns its byte length; an invalid sequence
 * (overlong, surrogate, > U+10FFFF, truncated) gives length 1, *valid false and U+FFFD, as
 * utf8.DecodeRuneInString returns (RuneError, 1). `len` must be > 0. */
size_t go_utf8_next(const unsigned char *s, size_t len, uint32_t *rune, bool *valid);

/* strconv.Quote of the `len` bytes of `s` (NULL = ""), emitted in pieces through `emit` (so a
 * caller may write into a fixed buffer without allocating): `"`, each byte or rune as it is or
 * escaped (\" \\ \a \b \f \n \r \t \v, \xNN for other ASCII controls and for bytes
 * that start no valid rune, \uNNNN / \UNNNNNNNN for runes Go does not print), then `"`. */
void go_quote_each(const char *s, size_t len, void (*emit)(void *ctx, const char *data, size_t len),
                   void *ctx);
/* The inside of it, without the two quotes (to quote "name/namespace" in pieces). */
void go_escape_each(const char *s, size_t len,
                    void (*emit)(void *ctx, const char *data, size_t len), void *ctx);
/* The quoted NUL-terminated `s` as a new string. Caller frees *out. Returns 0 or -ENOMEM. */
int go_quote(const char *s, char **out);
/* The quote of the `len` bytes of `s` into buf[size], cut short (still NUL-terminated) when it
 * does not fit, as snprintf cuts. */
void go_quote_to(char *buf, size_t size, const char *s, size_t len);

#endif
