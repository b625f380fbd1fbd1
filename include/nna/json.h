/* libnna — raw JSON text: strict validation and byte spans of values.
 *
 * The library hands server data on as the bytes the server sent (json_text members of the
 * typed results, nna_future_json_text()); cJSON's view of the same data has lost digits of
 * large numbers and re-encoded escapes. These functions let a caller check JSON text and
 * reach into it (a member of extracted_data, an element of an array) without re-encoding
 * anything. Pure functions: no allocation, no state; safe on any thread.
 */
#ifndef NNA_JSON_H
#define NNA_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of arrays and objects accepted (the outermost level counts 1). */
#define NNA_JSON_MAX_DEPTH 256

/* A value inside a text: bytes [off, off + len). len 0 = no value. */
typedef struct nna_json_span {
    size_t off;
    size_t len;
} nna_json_span;

/* Checks that text[0..len) is exactly one JSON value with optional whitespace around it:
 * RFC 8259 grammar; strings of valid UTF-8 (no overlong forms, no encoded surrogates, no
 * raw control characters); escaped surrogates that pair up; no member name holding an
 * escaped NUL (no C string can hold it: cJSON would cut the name short); at most
 * NNA_JSON_MAX_DEPTH levels; nothing after the value. Returns 0 and sets *value (when
 * non-NULL; whitespace excluded); -1 on error, with *why (a static English text) and *at
 * (byte offset of the problem) when those are non-NULL. */
int nna_json_validate(const char *text, size_t len, nna_json_span *value, const char **why,
                      size_t *at);

/* The functions below take a text that nna_json_validate accepted (unchanged since) and a
 * span these functions produced from it; anything else is undefined behaviour, like
 * strlen on an unterminated string. */

/* The kind of value: '{', '[', '"' (string), 'n' (number), 't' (true), 'f' (false),
 * 'z' (null), or 0 for an empty span. */
char nna_json_kind(const char *text, nna_json_span v);

/* The value of the first member named `key` (compared after unescaping the member names)
 * of object `obj`. Returns 1 and sets *out (when non-NULL); 0 when absent or when obj is
 * not an object. */
int nna_json_member(const char *text, nna_json_span obj, const char *key, nna_json_span *out);

/* Iterates over the elements of an array or the member values of an object: start with
 * *pos = 0; each call returns 1 and the next value in *out, or 0 at the end. */
int nna_json_next(const char *text, nna_json_span container, size_t *pos, nna_json_span *out);

#ifdef __cplusplus
}
#endif
#endif /* NNA_JSON_H */
