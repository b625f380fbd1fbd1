// FUZZ-SOURCES: lib/task_parse.c lib/iso8601.c lib/jsonspan.c lib/jsondoc.c
// FUZZ-LIBS: -lcjson -lm
/* GET /tasks/{id}/messages bodies: nna_parse_message_list and the question finder
 * nna_message_list_latest_agent. Invariants: no crash or leak; count matches data; text is
 * set exactly when content is a JSON string; the latest agent message is the last one
 * without a user_id, or the last message when every one has a user_id. */
#include <math.h>
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
    void *r = NULL;
    nna_free_fn fr = NULL;
    nna_status st = nna_parse_message_list(json, &r, &fr);
    check(st == NNA_OK || (st == NNA_EPROTOCOL && !r));
    if (st == NNA_OK) {
        const nna_message_list *l = r;
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(json, "data");
        check(l->count == (cJSON_IsArray(d) ? (size_t)cJSON_GetArraySize(d) : 0));
        const nna_message *latest = nna_message_list_latest_agent(l);
        check((latest == NULL) == (l->count == 0));
        for (size_t i = 0; i < l->count; i++) {
            const nna_message *m = &l->items[i];
            check((m->text != NULL) == cJSON_IsString(m->content));
            check(isnan(m->created_at) || isfinite(m->created_at));
            if (!m->user_id) check(latest >= m && !latest->user_id);
        }
        if (latest && latest->user_id) check(latest == &l->items[l->count - 1]);
        fr(r);
    }
    cJSON_Delete(json);
    return 0;
}
