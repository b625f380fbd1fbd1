/* Agent objects from server JSON: the full Agent or the AgentVersion summary, read
 * leniently (only the version id is required: every agent operation needs it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

static const char *const status_names[] = { "unknown", "draft", "published", "archived" };

const char *nna_agent_status_name(nna_agent_status s)
{
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "unknown";
}

nna_agent_status nna_agent_status_parse(const char *text)
{
    if (!text) return NNA_AGENT_UNKNOWN;
    for (size_t i = 1; i < sizeof status_names / sizeof *status_names; i++)
        if (strcmp(text, status_names[i]) == 0) return (nna_agent_status)i;
    return NNA_AGENT_UNKNOWN;
}

/* Ids a C string must hold whole (see task_parse.c). */
static const char *const agent_ids[] = { "id", "agent_group_id", "status", NULL };

nna_status nna_agent_from_json_at(const cJSON *obj, nna_jref raw, nna_agent *a)
{
    memset(a, 0, sizeof *a);
    a->created_at = a->updated_at = NAN;
    a->is_active = -1;
    if (!cJSON_IsObject(obj) || nna_jref_has_nul_string(raw, agent_ids)) return NNA_EPROTOCOL;
    a->id = nna_json_str(obj, "id");
    a->agent_group_id = nna_json_str(obj, "agent_group_id");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "version_number");
    /* Clamp before converting: a double outside long's range is undefined behaviour. */
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && fabs(v->valuedouble) < 9e15)
        a->version_number = (long)v->valuedouble;
    a->status_text = nna_json_str(obj, "status");
    a->status = nna_agent_status_parse(a->status_text);
    a->name = nna_json_str(obj, "name");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(obj, "is_active");
    if (cJSON_IsBool(act)) a->is_active = cJSON_IsTrue(act);
    a->created_at = nna_json_time(obj, "created_at");
    a->updated_at = nna_json_time(obj, "updated_at");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(obj, "config");
    if (cJSON_IsObject(cfg)) {
        a->config = cfg;
        a->system_prompt = nna_json_str(cfg, "system_prompt");
        a->config_text = nna_jref_ptr(nna_jref_member(raw, "config"), &a->config_len, 1);
    }
    a->json = obj;
    a->json_text = nna_jref_ptr(raw, &a->json_len, 0);
    return a->id ? NNA_OK : NNA_EPROTOCOL;
}

nna_status nna_agent_from_json(const cJSON *obj, nna_agent *a)
{
    return nna_agent_from_json_at(obj, nna_jref_root(obj), a);
}

nna_status nna_parse_agent(cJSON *json, void **result, nna_free_fn *free_result)
{
    nna_agent *a = malloc(sizeof *a);
    if (!a) return NNA_ENOMEM;
    if (nna_agent_from_json(json, a) != NNA_OK) { free(a); return NNA_EPROTOCOL; }
    *result = a;
    *free_result = free;
    return NNA_OK;
}
