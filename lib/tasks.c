/* Typed task calls: one small function per endpoint (GET /tasks/{id}, /summary, /result,
 * cancel, and the list with its walk). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nna/tasks.h"
#include "op.h"
#include "uuid.h"
#include "timefmt.h"
#include "url.h"
#include "api_internal.h"

/* One request on /tasks/{id}[suffix]. */
static nna_future *task_call(nna_client *c, const char *task_id, const char *method,
                             const char *suffix, nna_op_kind kind, nna_op_class klass,
                             nna_op_parse_fn parse)
{
    if (!c) return NULL;
    if (!nna_uuid_valid(task_id)) return nna_client_failed(c, NNA_EINVAL, "task_id is not a UUID");
    char path[96];
    snprintf(path, sizeof path, "/tasks/%s%s", task_id, suffix);
    nna_op_spec spec = {
        .method = method, .path = path, .kind = kind, .klass = klass, .parse = parse,
        .deadline = -1,
    };
    return nna_op_submit(c, &spec);
}

nna_future *nna_tasks_get(nna_client *c, const char *task_id)
{
    return task_call(c, task_id, "GET", "", NNA_OP_IDEMPOTENT, NNA_CLASS_POLL, nna_parse_task);
}

nna_future *nna_tasks_summary(nna_client *c, const char *task_id)
{
    return task_call(c, task_id, "GET", "/summary", NNA_OP_IDEMPOTENT, NNA_CLASS_NORMAL,
                     nna_parse_summary);
}

nna_future *nna_tasks_result(nna_client *c, const char *task_id)
{
    return task_call(c, task_id, "GET", "/result", NNA_OP_IDEMPOTENT, NNA_CLASS_NORMAL,
                     nna_parse_task_result);
}

/* Cancel is documented idempotent (a repeat returns the current state): retried freely. */
nna_future *nna_tasks_cancel(nna_client *c, const char *task_id)
{
    return task_call(c, task_id, "POST", "/cancel", NNA_OP_IDEMPOTENT, NNA_CLASS_NORMAL,
                     nna_parse_task);
}

/* ---- list ------------------------------------------------------------------------- */

void nna_tasks_list_options_init(nna_tasks_list_options *o)
{
    memset(o, 0, sizeof *o);
    o->created_after = NAN;
    o->created_before = NAN;
}

/* The filters as key/value pairs (the same on every page). Times are widened to whole
 * seconds so an inclusive bound never drops a task created within the same second. */
typedef struct list_filters {
    char        after[NNA_ISO8601_LEN + 1], before[NNA_ISO8601_LEN + 1];
    const char *kv[11];
} list_filters;

static const char *check_list(const nna_tasks_list_options *o, list_filters *lf)
{
    memset(lf, 0, sizeof *lf);
    if (!o) return NULL;
    if (o->agent_id && !nna_uuid_valid(o->agent_id)) return "agent_id is not a UUID";
    if (!nna_valid_status_list(o->status)) return "status is not a comma-separated list of names";
    if (!nna_valid_limit(o->limit)) return "limit must be 1..100 (0 = default)";
    if (!isnan(o->created_after) && nna_iso8601_format(floor(o->created_after), lf->after) != 0)
        return "created_after is out of range";
    if (!isnan(o->created_before) && nna_iso8601_format(ceil(o->created_before), lf->before) != 0)
        return "created_before is out of range";
    const char *kv[] = {
        "agent_id", o->agent_id, "status", o->status && *o->status ? o->status : NULL,
        "created_after", lf->after[0] ? lf->after : NULL,
        "created_before", lf->before[0] ? lf->before : NULL, "q", o->q, NULL,
    };
    memcpy(lf->kv, kv, sizeof kv);
    return NULL;
}

nna_future *nna_tasks_list(nna_client *c, const nna_tasks_list_options *o)
{
    if (!c) return NULL;
    list_filters lf;
    const char *why = check_list(o, &lf);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    char lim[16];
    snprintf(lim, sizeof lim, "%u", o ? o->limit : 0);
    const char *kv[16];
    size_t n = 0;
    for (; o && lf.kv[n]; n += 2) { kv[n] = lf.kv[n]; kv[n + 1] = lf.kv[n + 1]; }
    const char *extra[] = { "limit", o && o->limit ? lim : NULL, "cursor", o ? o->cursor : NULL, NULL };
    memcpy(kv + n, extra, sizeof extra);
    char *q = nna_query_build(kv);
    if (!q) return NULL;
    nna_op_spec spec = {
        .method = "GET", .path = "/tasks", .query = q, .kind = NNA_OP_IDEMPOTENT,
        .klass = NNA_CLASS_NORMAL, .parse = nna_parse_task_page, .deadline = -1,
    };
    nna_future *f = nna_op_submit(c, &spec);
    free(q);
    return f;
}

nna_future *nna_tasks_walk(nna_client *c, const nna_tasks_list_options *o,
                           nna_task_item_cb cb, void *user_data)
{
    if (!c) return NULL;
    if (!cb) return nna_client_failed(c, NNA_EINVAL, "a walk needs an item callback");
    list_filters lf;
    const char *why = check_list(o, &lf);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    nna_walk_spec ws = {
        .path = "/tasks", .filters = o ? lf.kv : NULL, .cursor = o ? o->cursor : NULL,
        .limit = o ? o->limit : 0, .task_cb = cb, .user_data = user_data,
    };
    return nna_walk_start(c, &ws);
}
