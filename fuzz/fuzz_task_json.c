// FUZZ-SOURCES: lib/task_parse.c lib/iso8601.c lib/jsonspan.c lib/jsondoc.c
// FUZZ-LIBS: -lcjson -lm
/* Task-shaped server bodies: GET /tasks/{id} and cancel (nna_parse_task), /summary
 * (nna_parse_summary), /result (nna_parse_task_result) and the send-message acknowledgement
 * (nna_parse_message_ack). Invariants: no crash or leak on any input; every string the typed
 * result exposes is the valuestring of a node of the parsed tree; times are NaN or finite;
 * the status enum is in range and UNKNOWN whenever the text is not a known name; parse
 * functions fail only with NNA_EPROTOCOL and then return nothing. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

static void check(int cond)
{
    if (!cond) abort();
}

/* 1 when s is the valuestring of some node of tree. */
static int in_tree(const cJSON *tree, const char *s)
{
    for (const cJSON *n = tree; n; n = n->next) {
        if (n->valuestring == s) return 1;
        if (n->child && in_tree(n->child, s)) return 1;
    }
    return 0;
}

static void check_str(const cJSON *tree, const char *s)
{
    check(s == NULL || in_tree(tree, s));
}

static void check_task(const cJSON *tree, const nna_task *t)
{
    check_str(tree, t->task_id);
    check_str(tree, t->agent_id);
    check_str(tree, t->status_text);
    check_str(tree, t->title);
    check_str(tree, t->agent_name);
    check_str(tree, t->message);
    check(isnan(t->created_at) || isfinite(t->created_at));
    check(isnan(t->updated_at) || isfinite(t->updated_at));
    check(t->status >= NNA_TASK_UNKNOWN && t->status <= NNA_TASK_STOPPED);
    check(nna_task_status_parse(t->status_text) == t->status);
    check(t->status == NNA_TASK_UNKNOWN ||
          strcmp(nna_task_status_name(t->status), t->status_text) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json) return 0;
    void *r = NULL;
    nna_free_fn fr = NULL;

    nna_status st = nna_parse_task(json, &r, &fr);
    check(st == NNA_OK || (st == NNA_EPROTOCOL && !r));
    if (st == NNA_OK) {
        const nna_task *t = r;
        check(t->task_id && t->json == json);
        check_task(json, t);
        fr(r);
    }

    r = NULL;
    st = nna_parse_summary(json, &r, &fr);
    check(st == NNA_OK || (st == NNA_EPROTOCOL && !r && !cJSON_IsObject(json)));
    if (st == NNA_OK) {
        const nna_summary *s = r;
        check_task(json, &s->task);
        check_str(json, s->text);
        check(!s->result || cJSON_GetObjectItemCaseSensitive(json, "result") == s->result);
        check(!s->text || s->result);
        fr(r);
    }

    r = NULL;
    st = nna_parse_task_result(json, &r, &fr);
    check(st == NNA_OK || (st == NNA_EPROTOCOL && !r));
    if (st == NNA_OK) {
        const nna_task_result *tr = r;
        check_task(json, &tr->task);
        fr(r);
    }

    r = NULL;
    st = nna_parse_message_ack(json, &r, &fr);
    check(st == NNA_OK || (st == NNA_EPROTOCOL && !r));
    if (st == NNA_OK) {
        const nna_message_ack *a = r;
        check_str(json, a->message_id);
        check_str(json, a->task_id);
        check_str(json, a->message);
        check(nna_task_status_parse(a->status_text) == a->status);
        fr(r);
    }
    cJSON_Delete(json);
    return 0;
}
