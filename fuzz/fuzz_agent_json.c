// FUZZ-SOURCES: lib/agent_parse.c lib/task_parse.c lib/iso8601.c lib/jsonspan.c lib/jsondoc.c
// FUZZ-LIBS: -lcjson -lm
/* Agent objects (create, get, update, publish; list and version items): nna_parse_agent.
 * Invariants: no crash or leak; strings come from the tree; config is an object or NULL and
 * system_prompt is config.system_prompt; is_active is -1, 0 or 1; the status enum agrees
 * with the text; failure (only NNA_EPROTOCOL, without a string id) returns nothing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

static void check(int cond)
{
    if (!cond) abort();
}

static int in_tree(const cJSON *tree, const char *s)
{
    for (const cJSON *n = tree; n; n = n->next) {
        if (n->valuestring == s) return 1;
        if (n->child && in_tree(n->child, s)) return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json) return 0;
    void *r = NULL;
    nna_free_fn fr = NULL;
    nna_status st = nna_parse_agent(json, &r, &fr);
    check(st == NNA_OK || (st == NNA_EPROTOCOL && !r));
    if (st == NNA_OK) {
        const nna_agent *a = r;
        check(a->id && in_tree(json, a->id) && a->json == json);
        const char *strs[] = { a->agent_group_id, a->status_text, a->name, a->system_prompt };
        for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
            check(!strs[i] || in_tree(json, strs[i]));
        check(a->is_active >= -1 && a->is_active <= 1);
        check(!a->config || cJSON_IsObject(a->config));
        check(!a->system_prompt || a->config);
        check(nna_agent_status_parse(a->status_text) == a->status);
        check(isnan(a->created_at) || isfinite(a->created_at));
        fr(r);
    }
    cJSON_Delete(json);
    return 0;
}
