/* Task objects from server JSON: lenient (unknown fields ignored, optional ones may be
 * absent or null), strict only about what an operation cannot do without. */
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "nna/tasks.h"
#include "timefmt.h"
#include "api_internal.h"

static const char *const status_names[] = {
    "unknown", "pending", "queued", "running", "waiting_for_input", "awaiting_review",
    "completed", "failed", "stopped",
};

const char *nna_task_status_name(nna_task_status s)
{
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "unknown";
}

nna_task_status nna_task_status_parse(const char *text)
{
    if (!text) return NNA_TASK_UNKNOWN;
    for (size_t i = 1; i < sizeof status_names / sizeof *status_names; i++)
        if (strcmp(text, status_names[i]) == 0) return (nna_task_status)i;
    return NNA_TASK_UNKNOWN;
}

int nna_task_status_terminal(nna_task_status s)
{
    return s == NNA_TASK_COMPLETED || s == NNA_TASK_FAILED || s == NNA_TASK_STOPPED;
}

const char *nna_json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double nna_json_time(const cJSON *o, const char *name)
{
    double t;
    const char *s = nna_json_str(o, name);
    return s && nna_iso8601_parse(s, &t) == 0 ? t : NAN;
}

/* Members whose text a C string must hold whole: an id cut short at an escaped NUL would
 * silently name another task. */
static const char *const task_ids[] = { "task_id", "agent_id", "status", NULL };

void nna_task_fields_at(const cJSON *obj, nna_jref raw, nna_task *t)
{
    memset(t, 0, sizeof *t);
    t->created_at = t->updated_at = NAN;
    if (!cJSON_IsObject(obj)) return;
    t->task_id = nna_json_str(obj, "task_id");
    t->agent_id = nna_json_str(obj, "agent_id");
    t->status_text = nna_json_str(obj, "status");
    t->status = nna_task_status_parse(t->status_text);
    t->created_at = nna_json_time(obj, "created_at");
    t->updated_at = nna_json_time(obj, "updated_at");
    t->title = nna_json_str(obj, "title");
    t->agent_name = nna_json_str(obj, "agent_name");
    t->message = nna_json_str(obj, "message");
    t->json = obj;
    t->json_text = nna_jref_ptr(raw, &t->json_len, 0);
}

void nna_task_fields(const cJSON *obj, nna_task *t)
{
    nna_task_fields_at(obj, nna_jref_root(obj), t);
}

nna_status nna_task_from_json_at(const cJSON *obj, nna_jref raw, nna_task *t)
{
    nna_task_fields_at(obj, raw, t);
    /* Every task operation needs the id; the rest is optional. */
    if (!t->task_id || nna_jref_has_nul_string(raw, task_ids)) return NNA_EPROTOCOL;
    return NNA_OK;
}

nna_status nna_task_from_json(const cJSON *obj, nna_task *t)
{
    return nna_task_from_json_at(obj, nna_jref_root(obj), t);
}

/* nna_op_parse_fn for operations whose result is one task. */
nna_status nna_parse_task(cJSON *json, void **result, nna_free_fn *free_result)
{
    nna_task *t = malloc(sizeof *t);
    if (!t) return NNA_ENOMEM;
    if (nna_task_from_json(json, t) != NNA_OK) {
        free(t);
        return NNA_EPROTOCOL;
    }
    *result = t;
    *free_result = free;
    return NNA_OK;
}

/* ---- /summary and /result ------------------------------------------------------------ */

nna_status nna_summary_from_json(const cJSON *obj, nna_summary *s)
{
    memset(s, 0, sizeof *s);
    nna_jref raw = nna_jref_root(obj);
    nna_task_fields_at(obj, raw, &s->task);
    if (!cJSON_IsObject(obj) || nna_jref_has_nul_string(raw, task_ids)) return NNA_EPROTOCOL;
    s->json = obj;
    s->json_text = s->task.json_text;
    s->json_len = s->task.json_len;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "result");
    nna_jref rr = nna_jref_member(raw, "result");
    if (r && !cJSON_IsNull(r)) {
        s->result = r;
        s->result_text = nna_jref_ptr(rr, &s->result_len, 1);
    }
    /* Spec §3.4: where extracted_data lives is unknown; inside result first. */
    const cJSON *x = cJSON_IsObject(r) ? cJSON_GetObjectItemCaseSensitive(r, "extracted_data") : NULL;
    nna_jref xr = nna_jref_member(rr, "extracted_data");
    if (!x || cJSON_IsNull(x)) {
        x = cJSON_GetObjectItemCaseSensitive(obj, "extracted_data");
        xr = nna_jref_member(raw, "extracted_data");
    }
    if (x && !cJSON_IsNull(x)) {
        s->extracted_data = x;
        s->extracted_data_text = nna_jref_ptr(xr, &s->extracted_data_len, 1);
    }
    if (cJSON_IsString(r)) s->text = r->valuestring;
    else if (cJSON_IsObject(r)) s->text = nna_json_str(r, "summary");
    return NNA_OK;
}

nna_status nna_parse_summary(cJSON *json, void **result, nna_free_fn *free_result)
{
    nna_summary *s = malloc(sizeof *s);
    if (!s) return NNA_ENOMEM;
    if (nna_summary_from_json(json, s) != NNA_OK) { free(s); return NNA_EPROTOCOL; }
    *result = s;
    *free_result = free;
    return NNA_OK;
}

nna_status nna_parse_task_result(cJSON *json, void **result, nna_free_fn *free_result)
{
    nna_jref raw = nna_jref_root(json);
    if (!cJSON_IsObject(json) || nna_jref_has_nul_string(raw, task_ids)) return NNA_EPROTOCOL;
    nna_task_result *r = malloc(sizeof *r);
    if (!r) return NNA_ENOMEM;
    nna_task_fields_at(json, raw, &r->task);
    const cJSON *feed = cJSON_GetObjectItemCaseSensitive(json, "feed");
    r->feed = feed && !cJSON_IsNull(feed) ? feed : NULL;
    r->json = json;
    r->json_text = r->task.json_text;
    r->json_len = r->task.json_len;
    r->feed_text = nna_jref_ptr(nna_jref_member(raw, "feed"), &r->feed_len, 1);
    *result = r;
    *free_result = free;
    return NNA_OK;
}

/* ---- messages ------------------------------------------------------------------------ */

static const char *const message_ids[] = { "id", "task_id", "agent_id", "user_id", "parent_id",
                                           NULL };

static nna_status message_at(const cJSON *obj, nna_jref raw, nna_message *m)
{
    memset(m, 0, sizeof *m);
    m->created_at = NAN;
    if (!cJSON_IsObject(obj) || nna_jref_has_nul_string(raw, message_ids)) return NNA_EPROTOCOL;
    m->id = nna_json_str(obj, "id");
    m->task_id = nna_json_str(obj, "task_id");
    m->agent_id = nna_json_str(obj, "agent_id");
    m->user_id = nna_json_str(obj, "user_id");
    m->parent_id = nna_json_str(obj, "parent_id");
    m->created_at = nna_json_time(obj, "created_at");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(obj, "content");
    if (content && !cJSON_IsNull(content)) {
        m->content = content;
        m->content_text = nna_jref_ptr(nna_jref_member(raw, "content"), &m->content_len, 1);
    }
    if (cJSON_IsString(content)) m->text = content->valuestring;
    m->json = obj;
    m->json_text = nna_jref_ptr(raw, &m->json_len, 0);
    return NNA_OK;
}

nna_status nna_message_from_json(const cJSON *obj, nna_message *m)
{
    return message_at(obj, nna_jref_root(obj), m);
}

typedef struct message_list_box {
    nna_message_list list;
    nna_message      items[];
} message_list_box;

nna_status nna_parse_message_list(cJSON *json, void **result, nna_free_fn *free_result)
{
    /* data is required (spec §3.6): {} is not an empty conversation. */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(json, "data");
    if (!cJSON_IsObject(json) || !cJSON_IsArray(data)) return NNA_EPROTOCOL;
    size_t n = (size_t)cJSON_GetArraySize(data);
    message_list_box *b = malloc(sizeof *b + n * sizeof b->items[0]);
    if (!b) return NNA_ENOMEM;
    nna_jref raw = nna_jref_root(json), rdata = nna_jref_member(raw, "data");
    size_t i = 0, pos = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, data) {
        if (message_at(item, nna_jref_next(rdata, &pos), &b->items[i++]) != NNA_OK) {
            free(b);
            return NNA_EPROTOCOL;
        }
    }
    b->list.items = b->items;
    b->list.count = n;
    b->list.json = json;
    b->list.json_text = nna_jref_ptr(raw, &b->list.json_len, 0);
    *result = b;
    *free_result = free;
    return NNA_OK;
}

const nna_message *nna_message_list_latest_agent(const nna_message_list *l)
{
    if (!l || l->count == 0) return NULL;
    /* No role field is documented: an agent's message is one without a user_id. */
    for (size_t i = l->count; i-- > 0;)
        if (!l->items[i].user_id) return &l->items[i];
    return &l->items[l->count - 1];
}

nna_status nna_parse_message_ack(cJSON *json, void **result, nna_free_fn *free_result)
{
    static const char *const ack_ids[] = { "message_id", "task_id", "status", NULL };
    nna_jref raw = nna_jref_root(json);
    if (!cJSON_IsObject(json) || nna_jref_has_nul_string(raw, ack_ids)) return NNA_EPROTOCOL;
    nna_message_ack *a = malloc(sizeof *a);
    if (!a) return NNA_ENOMEM;
    a->message_id = nna_json_str(json, "message_id");
    a->task_id = nna_json_str(json, "task_id");
    a->status_text = nna_json_str(json, "status");
    a->status = nna_task_status_parse(a->status_text);
    a->message = nna_json_str(json, "message");
    a->json = json;
    a->json_text = nna_jref_ptr(raw, &a->json_len, 0);
    *result = a;
    *free_result = free;
    return NNA_OK;
}
