/* Parsed documents that keep their text (see jsondoc.h). */
#include <stdlib.h>
#include <string.h>
#include "jsondoc.h"

/* Marks a root's `string` slot as holding the document's text (which follows it). No NUL
 * inside: cJSON_Duplicate copies the slot with strdup, and validated JSON text holds no NUL
 * byte either, so a copy keeps the whole text. */
static const char MARK[] = "\001nna-json:";
#define MARK_LEN (sizeof MARK - 1)

static int attach(cJSON *root, const char *text, size_t len)
{
    char *s = cJSON_malloc(MARK_LEN + len + 1);
    if (!s) return -1;
    memcpy(s, MARK, MARK_LEN);
    memcpy(s + MARK_LEN, text, len);
    s[MARK_LEN + len] = '\0';
    root->string = s;   /* freed by cJSON_Delete with the tree */
    return 0;
}

cJSON *nna_json_doc_parse(const char *body, size_t len, const char **why)
{
    nna_span v;
    const char *w = NULL;
    if (!body || !len) { *why = "2xx response without a JSON body"; return NULL; }
    if (nna_json_validate(body, len, &v, &w, NULL) != 0) {
        *why = w && strcmp(w, "invalid UTF-8") == 0 ? "response is not valid UTF-8 JSON"
             : w && strcmp(w, "text after the JSON value") == 0
                 ? "response has text after its JSON value"
                 : "response is not valid JSON";
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength(body + v.off, v.len);
    if (!root) { *why = "out of memory parsing the response"; return NULL; }
    if (attach(root, body + v.off, v.len) != 0) {
        cJSON_Delete(root);
        *why = "out of memory";
        return NULL;
    }
    return root;
}

const char *nna_json_doc_text(const cJSON *root, size_t *len)
{
    /* strncmp stops at a shorter member name's NUL: never reads past it. */
    if (!root || !root->string || strncmp(root->string, MARK, MARK_LEN) != 0) return NULL;
    const char *t = root->string + MARK_LEN;
    if (len) *len = strlen(t);
    return t;
}

cJSON *nna_json_doc_copy(const cJSON *item, const char *text, nna_span span)
{
    cJSON *copy = cJSON_Duplicate(item, 1);
    if (!copy) return NULL;
    if (copy->string && !(copy->type & cJSON_StringIsConst)) cJSON_free(copy->string);
    copy->string = NULL;
    copy->type &= ~cJSON_StringIsConst;
    if (text && span.len && attach(copy, text + span.off, span.len) != 0) {
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

nna_jref nna_jref_root(const cJSON *root)
{
    size_t len = 0;
    const char *t = nna_json_doc_text(root, &len);
    return (nna_jref){ t, { 0, t ? len : 0 } };
}

nna_jref nna_jref_member(nna_jref obj, const char *key)
{
    nna_jref r = { obj.text, { 0, 0 } };
    if (!obj.text || !nna_json_member(obj.text, obj.sp, key, &r.sp)) r.text = NULL;
    return r;
}

nna_jref nna_jref_next(nna_jref container, size_t *pos)
{
    nna_jref r = { container.text, { 0, 0 } };
    if (!container.text || !nna_json_next(container.text, container.sp, pos, &r.sp)) r.text = NULL;
    return r;
}

const char *nna_jref_ptr(nna_jref r, size_t *len, int null_is_absent)
{
    int none = !r.text || !r.sp.len || (null_is_absent && nna_json_kind(r.text, r.sp) == 'z');
    if (len) *len = none ? 0 : r.sp.len;
    return none ? NULL : r.text + r.sp.off;
}

int nna_jref_has_nul_string(nna_jref obj, const char *const *keys)
{
    for (; *keys; keys++) {
        nna_jref m = nna_jref_member(obj, *keys);
        if (m.text && nna_json_string_has_nul(m.text, m.sp)) return 1;
    }
    return 0;
}

char *nna_json_splice(char *head, const char *key, const char *raw)
{
    nna_span v;
    size_t hl = head ? strlen(head) : 0;
    if (!head || hl < 2 || head[hl - 1] != '}' || !key || !raw ||
        nna_json_validate(raw, strlen(raw), &v, NULL, NULL) != 0) {
        free(head);
        return NULL;
    }
    size_t kl = strlen(key), n = hl + kl + v.len + 5;
    char *out = malloc(n);
    if (out) {
        /* "{...}" → "{...,"key":raw}"; "{}" → "{"key":raw}" */
        int empty = hl == 2;
        memcpy(out, head, hl - 1);
        size_t o = hl - 1;
        if (!empty) out[o++] = ',';
        out[o++] = '"';
        memcpy(out + o, key, kl);
        o += kl;
        out[o++] = '"';
        out[o++] = ':';
        memcpy(out + o, raw + v.off, v.len);
        o += v.len;
        out[o++] = '}';
        out[o] = '\0';
    }
    free(head);
    return out;
}
