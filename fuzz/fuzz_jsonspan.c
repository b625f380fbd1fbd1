// FUZZ-SOURCES: lib/jsonspan.c lib/jsondoc.c lib/task_parse.c lib/agent_parse.c lib/page_parse.c lib/iso8601.c
// FUZZ-LIBS: -lcjson -lm
/* The raw-span scanner (nna_json_validate, nna_json_kind, nna_json_member, nna_json_next,
 * nna_json_string_has_nul) and the documents built on it (nna_json_doc_parse, the typed
 * parsers' json_text spans, nna_json_splice). The input is copied to a buffer of exactly
 * its size so any read past the end is caught. Invariants: no crash, leak or overread;
 * every span of a valid text lies inside its parent and is itself valid JSON whose kind
 * matches; cJSON parses every text the scanner accepts, into the same shape (a member or
 * element for each of cJSON's children); a parsed document's text is the value without
 * surrounding whitespace; every json_text of a typed result is a span of that text; splicing valid text keeps its
 * bytes and yields valid JSON. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

static void check(int cond)
{
    if (!cond) abort();
}

static void check_span(const char *t, nna_span parent, nna_span v)
{
    check(v.len > 0 && v.off >= parent.off && v.off + v.len <= parent.off + parent.len);
    nna_span again;
    check(nna_json_validate(t + v.off, v.len, &again, NULL, NULL) == 0);
    check(again.off == 0 && again.len == v.len);
}

/* Walks every value below v (depth-bounded by the validator), checking spans. */
static void walk(const char *t, nna_span v, const cJSON *mirror)
{
    char k = nna_json_kind(t, v);
    check(k != 0);
    if (k == '"') {
        nna_json_string_has_nul(t, v);
        check(!mirror || cJSON_IsString(mirror));
        return;
    }
    if (k != '{' && k != '[') return;
    check(!mirror || (k == '{' ? cJSON_IsObject(mirror) : cJSON_IsArray(mirror)));
    size_t pos = 0, n = 0;
    nna_span e;
    const cJSON *child = mirror ? mirror->child : NULL;
    while (nna_json_next(t, v, &pos, &e)) {
        check_span(t, v, e);
        if (mirror) check(child != NULL);
        if (k == '{' && child && child->string) {
            nna_span m;
            check(nna_json_member(t, v, child->string, &m));
        }
        walk(t, e, child);
        if (child) child = child->next;
        n++;
    }
    check(!mirror || child == NULL);
    (void)n;
}

static void check_text(const char *doc, size_t len, const char *p, size_t n)
{
    check(p == NULL || (p >= doc && p + n <= doc + len && n > 0));
}

static void typed(cJSON *root, const char *doc, size_t len)
{
    void *r = NULL;
    nna_free_fn fr = NULL;
    if (nna_parse_task(root, &r, &fr) == NNA_OK) {
        const nna_task *t = r;
        check(t->json_text == doc && t->json_len == len);
        fr(r);
    }
    if (nna_parse_summary(root, &r, &fr) == NNA_OK) {
        const nna_summary *s = r;
        check_text(doc, len, s->result_text, s->result_len);
        check_text(doc, len, s->extracted_data_text, s->extracted_data_len);
        check(!s->extracted_data_text == !s->extracted_data);
        fr(r);
    }
    if (nna_parse_agent(root, &r, &fr) == NNA_OK) {
        const nna_agent *a = r;
        check_text(doc, len, a->config_text, a->config_len);
        check(!a->config_text == !a->config);
        fr(r);
    }
    if (nna_parse_task_page(root, &r, &fr) == NNA_OK) {
        const nna_task_page *p = r;
        for (size_t i = 0; i < p->page.count; i++)
            check_text(doc, len, p->items[i].json_text, p->items[i].json_len);
        fr(r);
    }
    if (nna_parse_message_list(root, &r, &fr) == NNA_OK) {
        const nna_message_list *l = r;
        for (size_t i = 0; i < l->count; i++) {
            check_text(doc, len, l->items[i].json_text, l->items[i].json_len);
            check_text(doc, len, l->items[i].content_text, l->items[i].content_len);
        }
        fr(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *t = malloc(size ? size : 1);
    if (!t) return 0;
    memcpy(t, data, size);
    nna_span v;
    const char *why = NULL;
    size_t at = 0;
    int ok = nna_json_validate(t, size, &v, &why, &at) == 0;
    check(ok || (why && at <= size));
    if (ok) {
        check(v.off + v.len <= size && v.len > 0);
        cJSON *mirror = cJSON_ParseWithLength(t + v.off, v.len);
        check(mirror != NULL); /* what the scanner accepts, cJSON parses */
        walk(t, v, mirror);
        cJSON_Delete(mirror);
    }
    const char *bad = NULL;
    cJSON *root = nna_json_doc_parse(t, size, &bad);
    check(!root || ok);
    if (root) {
        size_t len;
        const char *doc = nna_json_doc_text(root, &len);
        check(doc && len == v.len && memcmp(doc, t + v.off, len) == 0 && doc[len] == '\0');
        typed(root, doc, len);
        cJSON *copy = cJSON_Duplicate(root, 1); /* the text travels with a copy */
        size_t clen;
        check(!copy || (nna_json_doc_text(copy, &clen) && clen == len));
        cJSON_Delete(copy);
        cJSON_Delete(root);
    } else {
        check(bad != NULL);
    }
    if (ok && size < 4096) {
        char *nt = malloc(size + 1);
        memcpy(nt, t, size);
        nt[size] = '\0';
        char *b = strlen(nt) == size ? nna_json_splice(strdup("{\"q\":1}"), "x", nt) : NULL;
        if (b) {
            size_t bl = strlen(b);
            check(nna_json_validate(b, bl, NULL, NULL, NULL) == 0);
            check(memmem(b, bl, t + v.off, v.len) != NULL);
        }
        free(b);
        free(nt);
    }
    free(t);
    return 0;
}
