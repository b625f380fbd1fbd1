/* A task's conversation: GET /tasks/{id}/messages (the log, oldest first, not paginated)
 * and POST /tasks/{id}/message (send). Sending is not idempotent: a blind retry could
 * append the message twice, so an attempt whose outcome is in doubt is looked for in the
 * log first (the message look, looks.c): adopted when there, re-sent only when absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op.h"
#include "uuid.h"
#include "api_internal.h"
#include "reconcile.h" /* its look (looks.c) */

nna_future *nna_tasks_messages(nna_client *c, const char *task_id)
{
    if (!c) return NULL;
    if (!nna_uuid_valid(task_id)) return nna_client_failed(c, NNA_EINVAL, "task_id is not a UUID");
    char path[80];
    snprintf(path, sizeof path, "/tasks/%s/messages", task_id);
    nna_op_spec spec = {
        .method = "GET", .path = path, .kind = NNA_OP_IDEMPOTENT, .klass = NNA_CLASS_NORMAL,
        .parse = nna_parse_message_list, .deadline = -1,
    };
    return nna_op_submit(c, &spec);
}

nna_future *nna_tasks_send_message(nna_client *c, const char *task_id, const char *text)
{
    if (!c) return NULL;
    if (!nna_uuid_valid(task_id)) return nna_client_failed(c, NNA_EINVAL, "task_id is not a UUID");
    if (!text || !text[0]) return nna_client_failed(c, NNA_EINVAL, "the message text is empty");
    cJSON *b = cJSON_CreateObject();
    char *body = b && cJSON_AddStringToObject(b, "message", text) ? cJSON_PrintUnformatted(b) : NULL;
    cJSON_Delete(b);
    if (!body) return NULL;
    char path[80];
    snprintf(path, sizeof path, "/tasks/%s/message", task_id);
    nna_op_spec spec = {
        .method = "POST", .path = path, .body = body, .kind = NNA_OP_UNSAFE,
        .klass = NNA_CLASS_NORMAL, .parse = nna_parse_message_ack, .deadline = -1,
        .group = task_id, .match_query = text, .look = &nna_look_message,
    };
    nna_future *f = nna_op_submit(c, &spec);
    free(body);
    return f;
}
