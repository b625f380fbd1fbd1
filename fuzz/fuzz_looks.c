// FUZZ-SOURCES: lib/looks.c
// FUZZ-LIBS: -lcjson -lm
/* The reconciliation looks (lib/looks.c) read the server's list items when a write is in
 * doubt: every kind's fits/adopt on every item of an arbitrary JSON document, and the
 * title and text rules on its strings. Input: a JSON value; when it is an object with a
 * "data" array its items are the candidates, otherwise the value itself is one. The
 * write's own text is the first string found in the input (or a fixed one). Invariants: no
 * crash or leak; fits says -1, 0 or 1; an adoption yields an object, or (agent creation) a
 * path to fetch under /agents/; the message adoption carries the listed id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "reconcile.h"

static void check(int cond)
{
    if (!cond) abort();
}

static const char *first_string(const cJSON *j)
{
    if (cJSON_IsString(j)) return j->valuestring;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        const char *s = first_string(c);
        if (s) return s;
    }
    return NULL;
}

static void try_item(const nna_look *look, const cJSON *item, const nna_op *op)
{
    int k = look->fits(item, op);
    check(k >= -1 && k <= 1);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, look->item_id);
    if (k != 1 || !cJSON_IsString(id)) return; /* reconcile.c adopts only these */
    char fetch[160] = "";
    cJSON *r = look->adopt(item, op, fetch, sizeof fetch);
    if (r) {
        check(cJSON_IsObject(r));
        if (look == &nna_look_message) {
            const cJSON *mid = cJSON_GetObjectItemCaseSensitive(r, "message_id");
            check(cJSON_IsString(mid) && strcmp(mid->valuestring, id->valuestring) == 0);
        }
        cJSON_Delete(r);
    } else {
        check(fetch[0] == '\0' || strncmp(fetch, "/agents/", 8) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json) return 0;
    const nna_look *looks[] = { &nna_look_run, &nna_look_message, &nna_look_publish,
                                &nna_look_create };
    nna_op op;
    memset(&op, 0, sizeof op);
    strcpy(op.group, "11111111-1111-4111-8111-111111111111");
    const char *text = first_string(json);
    op.match_query = (char *)(text ? text : "Summarise this");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(json, "data");
    for (size_t l = 0; l < sizeof looks / sizeof *looks; l++) {
        if (cJSON_IsArray(items)) {
            const cJSON *it;
            cJSON_ArrayForEach(it, items) try_item(looks[l], it, &op);
        } else {
            try_item(looks[l], json, &op);
        }
        nna_look_req req;
        memset(&req, 0, sizeof req);
        looks[l]->request(op.match_query, "2026-01-01T00:00:00Z", &req);
        check(req.path[0] == '/');
    }
    for (const cJSON *s = cJSON_IsArray(items) ? items->child : NULL; s; s = s->next) {
        const char *t = first_string(s);
        (void)nna_look_title_consistent(t, op.match_query);
        check(!t || nna_look_text_equal(t, t));
    }
    cJSON_Delete(json);
    return 0;
}
