/* Task objects from server JSON: lenient (unknown fields ignored, optional ones may be
 * absent or null), strict only about what an operation cannot do without. */
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "nna/tasks.h"
#include "timefmt.h"
#include "future_internal.h"

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

static const char *str_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double time_field(const cJSON *o, const char *name)
{
    double t;
    const char *s = str_field(o, name);
    return s && nna_iso8601_parse(s, &t) == 0 ? t : NAN;
}

nna_status nna_task_from_json(const cJSON *obj, nna_task *t)
{
    memset(t, 0, sizeof *t);
    t->created_at = t->updated_at = NAN;
    if (!cJSON_IsObject(obj)) return NNA_EPROTOCOL;
    t->task_id = str_field(obj, "task_id");
    if (!t->task_id) return NNA_EPROTOCOL;
    t->agent_id = str_field(obj, "agent_id");
    t->status_text = str_field(obj, "status");
    t->status = nna_task_status_parse(t->status_text);
    t->created_at = time_field(obj, "created_at");
    t->updated_at = time_field(obj, "updated_at");
    t->title = str_field(obj, "title");
    t->agent_name = str_field(obj, "agent_name");
    t->message = str_field(obj, "message");
    t->json = obj;
    return NNA_OK;
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
