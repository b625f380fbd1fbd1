/* The outcome of a wait or a watch: the last task seen and the summary, moved into one
 * heap box that the future frees (its strings borrow from the two JSON trees in it). */
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

void nna_wait_state_task(nna_wait_state *w, cJSON *json)
{
    cJSON_Delete(w->task_json);
    w->task_json = json;
    nna_task_fields(json, &w->res.task);
}

void nna_wait_state_clear(nna_wait_state *w)
{
    cJSON_Delete(w->task_json);
    cJSON_Delete(w->summary_json);
    memset(w, 0, sizeof *w);
}

static void box_free(void *p)
{
    nna_wait_state *b = p;
    nna_wait_state_clear(b);
    free(b);
}

void nna_wait_state_settle(nna_wait_state *w, nna_future *f, nna_status st, const char *err)
{
    nna_wait_state *b = w->task_json ? malloc(sizeof *b) : NULL;
    if (b) {
        *b = *w; /* the result's pointers go into trees whose ownership moves with it */
        memset(w, 0, sizeof *w);
    } else {
        nna_wait_state_clear(w);
        if (st == NNA_OK) st = NNA_ENOMEM;
    }
    if (st != NNA_OK && !err) err = nna_strerror(st);
    nna_future_settle(f, st, NULL, b, b ? box_free : NULL, st == NNA_OK ? NULL : err);
}

nna_status nna_wait_outcome(nna_task_status s)
{
    switch (s) {
    case NNA_TASK_COMPLETED: return NNA_OK;
    case NNA_TASK_FAILED: return NNA_ETASK_FAILED;
    case NNA_TASK_STOPPED: return NNA_ETASK_STOPPED;
    case NNA_TASK_AWAITING_REVIEW: return NNA_EREVIEW;
    case NNA_TASK_WAITING_FOR_INPUT: return NNA_EINPUT_NEEDED;
    default: return NNA_EBUSY;
    }
}
