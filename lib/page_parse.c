/* The list envelope {data, has_more, next_cursor} and typed pages of tasks and agents.
 * The end of a list is signalled three ways in the docs (has_more false, next_cursor null,
 * next_cursor omitted or ""), so a page continues only when none of them says stop. */
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

nna_status nna_page_from_json(const cJSON *json, nna_page *p)
{
    memset(p, 0, sizeof *p);
    /* data is required (spec §2.9): {} is not an empty page, and a cursor cut short at an
     * escaped NUL would walk somewhere else. */
    static const char *const cursor[] = { "next_cursor", NULL };
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    if (!cJSON_IsObject(json) || !cJSON_IsArray(data) ||
        nna_jref_has_nul_string(nna_jref_root(json), cursor))
        return NNA_EPROTOCOL;
    p->data = data;
    p->count = (size_t)cJSON_GetArraySize(data);
    const char *next = nna_json_str(json, "next_cursor");
    if (next && strlen(next) > NNA_CURSOR_MAX) return NNA_EPROTOCOL;
    p->next_cursor = next && next[0] ? next : NULL;
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(json, "has_more");
    if (cJSON_IsBool(more)) p->has_more = cJSON_IsTrue(more);
    else p->has_more = p->next_cursor != NULL; /* versions may omit both: complete */
    p->json = json;
    return NNA_OK;
}

const char *nna_page_error(const cJSON *json)
{
    const char *next = cJSON_IsObject(json) ? nna_json_str(json, "next_cursor") : NULL;
    if (next && strlen(next) > NNA_CURSOR_MAX)
        return "the server's next_cursor is longer than 4096 bytes";
    return "a list page did not have the expected shape";
}

int nna_page_continues(const nna_page *p)
{
    return p->has_more && p->next_cursor;
}

const cJSON *nna_page_item(const nna_page *p, size_t i)
{
    if (!p || !p->data || i >= p->count) return NULL;
    return cJSON_GetArrayItem(p->data, (int)i);
}

void nna_page_options_init(nna_page_options *o)
{
    memset(o, 0, sizeof *o);
}

/* One allocation: the page struct (nna_task_page or nna_agent_page) then the items. Each
 * item gets the raw view of its own span of the page's text. */
typedef nna_status (*item_fn)(const cJSON *obj, nna_jref raw, void *out);

static nna_status parse_items(cJSON *json, void **result, size_t head, size_t item_size,
                              item_fn parse)
{
    nna_page page;
    if (nna_page_from_json(json, &page) != NNA_OK) return NNA_EPROTOCOL;
    char *box = malloc(head + page.count * item_size);
    if (!box) return NNA_ENOMEM;
    const cJSON *arr = page.data, *item;
    nna_jref data = nna_jref_member(nna_jref_root(json), "data");
    size_t i = 0, pos = 0;
    cJSON_ArrayForEach(item, arr) {
        if (parse(item, nna_jref_next(data, &pos), box + head + i++ * item_size) != NNA_OK) {
            free(box);
            return NNA_EPROTOCOL;
        }
    }
    memcpy(box, &page, sizeof page);
    *result = box;
    return NNA_OK;
}

static nna_status task_item(const cJSON *o, nna_jref raw, void *out)
{
    return nna_task_from_json_at(o, raw, out);
}

static nna_status agent_item(const cJSON *o, nna_jref raw, void *out)
{
    return nna_agent_from_json_at(o, raw, out);
}

nna_status nna_parse_task_page(cJSON *json, void **result, nna_free_fn *free_result)
{
    void *r;
    nna_status st = parse_items(json, &r, sizeof(nna_task_page), sizeof(nna_task), task_item);
    if (st != NNA_OK) return st;
    nna_task_page *tp = r;
    tp->items = (const nna_task *)(tp + 1);
    *result = r;
    *free_result = free;
    return NNA_OK;
}

nna_status nna_parse_agent_page(cJSON *json, void **result, nna_free_fn *free_result)
{
    void *r;
    nna_status st = parse_items(json, &r, sizeof(nna_agent_page), sizeof(nna_agent), agent_item);
    if (st != NNA_OK) return st;
    nna_agent_page *ap = r;
    ap->items = (const nna_agent *)(ap + 1);
    *result = r;
    *free_result = free;
    return NNA_OK;
}
