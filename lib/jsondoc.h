/* A parsed server document that keeps the bytes it was parsed from, so every typed result
 * (and the CLI) can hand on the server's own text instead of cJSON's re-encoding. Internal.
 *
 * The text rides on the root node itself (in its otherwise unused `string` slot, behind a
 * marker), so it lives exactly as long as the tree through every owner the tree passes to
 * (a future, nna_future_take_json's caller, a wait's state) and cJSON_Delete frees both;
 * cJSON_Duplicate of a root copies it too. A root that is later added to an object loses
 * it (cJSON replaces the slot with the member name). */
#ifndef NNA_JSONDOC_H
#define NNA_JSONDOC_H

#include <cjson/cJSON.h>
#include "jsonspan.h"

/* Validates body[0..len) strictly (nna_json_validate) and parses it. NULL with *why set
 * (a static text) when it is empty, not strict JSON, or out of memory. */
cJSON *nna_json_doc_parse(const char *body, size_t len, const char **why);

/* The text a root was parsed from (the value without surrounding whitespace,
 * NUL-terminated), or NULL when `root` is not such a root. *len may be NULL. */
const char *nna_json_doc_text(const cJSON *root, size_t *len);

/* A deep copy of `item` as a new root carrying text[span] (a span of the document item
 * came from), or NULL when out of memory. */
cJSON *nna_json_doc_copy(const cJSON *item, const char *text, nna_span span);

/* Request bodies from caller JSON text, sent as the caller wrote it (no cJSON round trip
 * that would re-print its numbers): returns `head` (a JSON object's text, e.g. printed by
 * cJSON, which this call frees) with the member "key": raw added last. `raw` must be strict
 * JSON (checked again here; surrounding whitespace dropped); `key` must need no escaping.
 * NULL when raw is not JSON, head is not object text, or out of memory. The result is
 * malloc'd. */
char *nna_json_splice(char *head, const char *key, const char *raw);

/* A position inside a document's text: the raw view of one cJSON node. */
typedef struct nna_jref {
    const char *text;   /* the whole document's text, or NULL (no raw view) */
    nna_span    sp;     /* the value */
} nna_jref;

/* The raw view of a whole root (text NULL when it has none). */
nna_jref    nna_jref_root(const cJSON *root);
/* The member `key` of an object (sp.len 0 when absent or without a raw view). */
nna_jref    nna_jref_member(nna_jref obj, const char *key);
/* The next element of an array (member value of an object), walked alongside its cJSON
 * children: start with *pos = 0. text NULL at the end or without a raw view. */
nna_jref    nna_jref_next(nna_jref container, size_t *pos);
/* The first byte of the value, or NULL when there is none (absent, or JSON null when
 * `null_is_absent`). */
const char *nna_jref_ptr(nna_jref r, size_t *len, int null_is_absent);
/* 1 when one of the NULL-terminated `keys` of object `obj` is a string holding an escaped NUL (a C
 * string would cut it short: an id that silently names something else). */
int         nna_jref_has_nul_string(nna_jref obj, const char *const *keys);

#endif
