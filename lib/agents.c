/* Typed agent calls: list (and walk), create, get, update (PATCH), versions (and walk),
 * publish. Create and publish are not idempotent (a blind retry could create a second
 * agent or publish twice): NNA_OP_UNSAFE with a look, so a request in doubt is looked for
 * first (a new published version; an agent of that name), adopted when there and re-sent
 * only when absent. A create without a name has nothing to look for: in doubt it ends with
 * NNA_EOUTCOME_UNKNOWN. PATCH sets fields to given values and is retried freely. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op.h"
#include "uuid.h"
#include "url.h"
#include "api_internal.h"
#include "reconcile.h" /* its look (looks.c) */

/* ---- list and walk ---------------------------------------------------------------- */

void nna_agents_list_options_init(nna_agents_list_options *o)
{
    memset(o, 0, sizeof *o);
}

static const char *check_list(const nna_agents_list_options *o)
{
    if (!o) return NULL;
    if (!nna_valid_status_list(o->status)) return "status is not a comma-separated list of names";
    if (!nna_valid_limit(o->limit)) return "limit must be 1..100 (0 = default)";
    return NULL;
}

/* GET of a list path, one page. */
static nna_future *page_call(nna_client *c, const char *path, const char *const *filters,
                             const char *cursor, unsigned limit)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%u", limit);
    const char *kv[12];
    size_t n = 0;
    for (; filters && filters[n]; n += 2) { kv[n] = filters[n]; kv[n + 1] = filters[n + 1]; }
    const char *extra[] = { "limit", limit ? lim : NULL, "cursor", cursor, NULL };
    memcpy(kv + n, extra, sizeof extra);
    char *q = nna_query_build(kv);
    if (!q) return NULL;
    nna_op_spec spec = {
        .method = "GET", .path = path, .query = q, .kind = NNA_OP_IDEMPOTENT,
        .klass = NNA_CLASS_NORMAL, .parse = nna_parse_agent_page, .deadline = -1,
    };
    nna_future *f = nna_op_submit(c, &spec);
    free(q);
    return f;
}

nna_future *nna_agents_list(nna_client *c, const nna_agents_list_options *o)
{
    if (!c) return NULL;
    const char *why = check_list(o);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    if (!o) return page_call(c, "/agents", NULL, NULL, 0);
    const char *filters[] = { "q", o->q, "status", o->status && *o->status ? o->status : NULL, NULL };
    return page_call(c, "/agents", filters, o->cursor, o->limit);
}

nna_future *nna_agents_walk(nna_client *c, const nna_agents_list_options *o,
                            nna_agent_item_cb cb, void *user_data)
{
    if (!c) return NULL;
    if (!cb) return nna_client_failed(c, NNA_EINVAL, "a walk needs an item callback");
    const char *why = check_list(o);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    const char *filters[] = { "q", o ? o->q : NULL,
                              "status", o && o->status && *o->status ? o->status : NULL, NULL };
    nna_walk_spec ws = {
        .path = "/agents", .filters = filters, .cursor = o ? o->cursor : NULL,
        .limit = o ? o->limit : 0, .agent_cb = cb, .user_data = user_data,
    };
    return nna_walk_start(c, &ws);
}

/* ---- one agent -------------------------------------------------------------------- */

void nna_agent_create_options_init(nna_agent_create_options *o)
{
    memset(o, 0, sizeof *o);
}

void nna_agent_update_options_init(nna_agent_update_options *o)
{
    memset(o, 0, sizeof *o);
    o->is_active = -1;
}

/* The JSON body of create and update from the fields set; NULL with *why on bad input. */
static char *agent_body(const char *name, const char *prompt, const char *config_json,
                        int is_active, const char **why)
{
    if (name && !name[0]) { *why = "name is empty"; return NULL; }
    if (config_json && !nna_valid_json_object(config_json)) {
        *why = "config is not a JSON object";
        return NULL;
    }
    if (is_active > 1 || is_active < -1) { *why = "is_active must be -1, 0 or 1"; return NULL; }
    cJSON *b = cJSON_CreateObject();
    int ok = b != NULL;
    if (ok && name) ok = cJSON_AddStringToObject(b, "name", name) != NULL;
    if (ok && prompt) ok = cJSON_AddStringToObject(b, "system_prompt", prompt) != NULL;
    if (ok && is_active >= 0) ok = cJSON_AddBoolToObject(b, "is_active", is_active) != NULL;
    char *text = ok ? cJSON_PrintUnformatted(b) : NULL;
    cJSON_Delete(b);
    /* The config goes in as the caller wrote it: a cJSON round trip re-prints numbers. */
    if (text && config_json) text = nna_json_splice(text, "config", config_json);
    if (!text) *why = NULL; /* out of memory */
    return text;
}

/* One request on /agents/{id}[suffix]. */
static nna_future *agent_call(nna_client *c, const char *agent_id, const char *method,
                              const char *suffix, const char *body, nna_op_kind kind,
                              const nna_look *look)
{
    if (!nna_uuid_valid(agent_id)) return nna_client_failed(c, NNA_EINVAL, "agent_id is not a UUID");
    char path[96];
    snprintf(path, sizeof path, "/agents/%s%s", agent_id, suffix);
    nna_op_spec spec = {
        .method = method, .path = path, .body = body, .kind = kind,
        .klass = NNA_CLASS_NORMAL, .parse = nna_parse_agent, .deadline = -1,
        .group = agent_id, .look = look,
    };
    return nna_op_submit(c, &spec);
}

nna_future *nna_agents_create(nna_client *c, const nna_agent_create_options *o)
{
    if (!c) return NULL;
    const char *why = "out of memory";
    char *body = o ? agent_body(o->name, o->system_prompt, o->config_json, -1, &why)
                   : strdup("{}");
    if (!body) return why ? nna_client_failed(c, NNA_EINVAL, why) : NULL;
    nna_op_spec spec = {
        .method = "POST", .path = "/agents", .body = body, .kind = NNA_OP_UNSAFE,
        .klass = NNA_CLASS_NORMAL, .parse = nna_parse_agent, .deadline = -1,
        .match_query = o ? o->name : NULL, .look = o && o->name ? &nna_look_create : NULL,
    };
    nna_future *f = nna_op_submit(c, &spec);
    free(body);
    return f;
}

nna_future *nna_agents_get(nna_client *c, const char *agent_id)
{
    if (!c) return NULL;
    return agent_call(c, agent_id, "GET", "", NULL, NNA_OP_IDEMPOTENT, NULL);
}

nna_future *nna_agents_update(nna_client *c, const char *agent_id,
                              const nna_agent_update_options *o)
{
    if (!c) return NULL;
    if (!nna_uuid_valid(agent_id)) return nna_client_failed(c, NNA_EINVAL, "agent_id is not a UUID");
    const char *why = "out of memory";
    char *body = o ? agent_body(o->name, o->system_prompt, o->config_json, o->is_active, &why)
                   : strdup("{}");
    if (!body) return why ? nna_client_failed(c, NNA_EINVAL, why) : NULL;
    nna_future *f = agent_call(c, agent_id, "PATCH", "", body, NNA_OP_IDEMPOTENT, NULL);
    free(body);
    return f;
}

nna_future *nna_agents_publish(nna_client *c, const char *agent_id)
{
    if (!c) return NULL;
    return agent_call(c, agent_id, "POST", "/versions/publish", NULL, NNA_OP_UNSAFE,
                      &nna_look_publish);
}

/* ---- versions --------------------------------------------------------------------- */

static const char *check_versions(const char *agent_id, const nna_page_options *o, char *path,
                                  size_t len)
{
    if (!nna_uuid_valid(agent_id)) return "agent_id is not a UUID";
    if (o && !nna_valid_limit(o->limit)) return "limit must be 1..100 (0 = default)";
    snprintf(path, len, "/agents/%s/versions", agent_id);
    return NULL;
}

nna_future *nna_agents_versions(nna_client *c, const char *agent_id, const nna_page_options *o)
{
    if (!c) return NULL;
    char path[96];
    const char *why = check_versions(agent_id, o, path, sizeof path);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    return page_call(c, path, NULL, o ? o->cursor : NULL, o ? o->limit : 0);
}

nna_future *nna_agents_versions_walk(nna_client *c, const char *agent_id,
                                     const nna_page_options *o, nna_agent_item_cb cb,
                                     void *user_data)
{
    if (!c) return NULL;
    if (!cb) return nna_client_failed(c, NNA_EINVAL, "a walk needs an item callback");
    char path[96];
    const char *why = check_versions(agent_id, o, path, sizeof path);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    nna_walk_spec ws = {
        .path = path, .cursor = o ? o->cursor : NULL, .limit = o ? o->limit : 0,
        .agent_cb = cb, .user_data = user_data,
    };
    return nna_walk_start(c, &ws);
}
