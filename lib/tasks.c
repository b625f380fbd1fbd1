/* Typed task calls: one small function per endpoint. */
#include <stdio.h>
#include <string.h>
#include "nna/tasks.h"
#include "op.h"
#include "uuid.h"
#include "api_internal.h"

nna_future *nna_tasks_get(nna_client *c, const char *task_id)
{
    if (!c) return NULL;
    if (!nna_uuid_valid(task_id)) return nna_client_failed(c, NNA_EINVAL, "task_id is not a UUID");
    char path[64];
    snprintf(path, sizeof path, "/tasks/%s", task_id);
    nna_op_spec spec = {
        .method = "GET", .path = path, .kind = NNA_OP_IDEMPOTENT, .klass = NNA_CLASS_POLL,
        .parse = nna_parse_task, .deadline = -1,
    };
    return nna_op_submit(c, &spec);
}
