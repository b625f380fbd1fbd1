// FUZZ-SOURCES: lib/page_parse.c lib/task_parse.c lib/agent_parse.c lib/iso8601.c lib/jsonspan.c lib/jsondoc.c
// FUZZ-LIBS: -lcjson -lm
/* List envelopes {data, has_more, next_cursor} as walks read them (nna_page_from_json,
 * nna_page_continues) and as typed pages (nna_parse_task_page, nna_parse_agent_page).
 * Invariants: no crash or leak; count is the size of data; a walk continues only with a
 * non-empty cursor and never when has_more is false; next_cursor is never ""; typed pages
 * have exactly count items, each pointing at the matching element of data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

static void check(int cond)
{
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json) return 0;
    nna_page p;
    nna_status st = nna_page_from_json(json, &p);
    check(st == NNA_OK || st == NNA_EPROTOCOL);
    if (st != NNA_OK) check(nna_page_error(json) != NULL);
    if (st == NNA_OK) {
        check(p.count == (p.data ? (size_t)cJSON_GetArraySize(p.data) : 0));
        check(!p.next_cursor || p.next_cursor[0]);
        check(!p.next_cursor || strlen(p.next_cursor) <= NNA_CURSOR_MAX);
        const cJSON *more = cJSON_GetObjectItemCaseSensitive(json, "has_more");
        if (nna_page_continues(&p)) check(p.next_cursor && !cJSON_IsFalse(more));
        if (cJSON_IsFalse(more)) check(!nna_page_continues(&p));
        check(nna_page_item(&p, p.count) == NULL);
        if (p.count) check(nna_page_item(&p, p.count - 1) != NULL);
    }
    void *r = NULL;
    nna_free_fn fr = NULL;
    nna_status ts = nna_parse_task_page(json, &r, &fr);
    check(ts == NNA_OK || (ts == NNA_EPROTOCOL && !r));
    if (ts == NNA_OK) {
        const nna_task_page *tp = r;
        check(st == NNA_OK && tp->page.count == p.count);
        for (size_t i = 0; i < tp->page.count; i++)
            check(tp->items[i].task_id && tp->items[i].json == nna_page_item(&tp->page, i));
        fr(r);
    }
    r = NULL;
    nna_status as = nna_parse_agent_page(json, &r, &fr);
    check(as == NNA_OK || (as == NNA_EPROTOCOL && !r));
    if (as == NNA_OK) {
        const nna_agent_page *ap = r;
        check(st == NNA_OK && ap->page.count == p.count);
        for (size_t i = 0; i < ap->page.count; i++)
            check(ap->items[i].id && ap->items[i].json == nna_page_item(&ap->page, i));
        fr(r);
    }
    cJSON_Delete(json);
    return 0;
}
