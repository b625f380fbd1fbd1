/* Reconcile-before-retry for run creation (spec §5.3).
 *
 * Each agent with runs in doubt has one reconciler. A run in doubt joins the reconciler's
 * waiting list; after a short settle delay (the server may still be committing) one walk of
 * GET /tasks?agent_id=A&created_after=T (T = the earliest t0 of the round minus a skew
 * margin) collects the candidates. The decision then waits until every run of that agent
 * that was in flight when the walk ended has answered, so a task created by a run whose
 * reply is on its way is claimed by that run and never adopted by another. Runs are then
 * matched oldest first to the oldest unclaimed candidate created in their window whose
 * title is consistent with their query; a match is adopted (the future reports it as
 * reconciled), the rest are re-sent after their back-off. If the walk fails, every run of
 * the round ends with NNA_EOUTCOME_UNKNOWN rather than risking a duplicate. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <math.h>
#include <stdio.h>
#include "reconcile.h"
#include "limiter.h"
#include "timefmt.h"
#include "url.h"

#define MAX_PAGES 50

struct nna_reconciler {
    nna_client     *c;
    char            agent[40];
    nna_op         *waiting;        /* joined, not yet part of a walk */
    nna_op         *round;          /* the ops the current walk decides for */
    nna_timer       timer;          /* settle delay */
    nna_future     *page;           /* page request in flight */
    cJSON          *found;          /* candidate tasks collected by the walk */
    char           *cursor;
    int             pages;
    unsigned        blockers;       /* replies the decision waits for */
    double          window;         /* created_after of this round (wall clock) */
    nna_reconciler *next;
};

static void list_remove(nna_op **head, nna_op *op)
{
    for (nna_op **p = head; *p; p = &(*p)->rnext) {
        if (*p == op) {
            *p = op->rnext;
            op->rnext = NULL;
            return;
        }
    }
}

static nna_reconciler *find(nna_client *c, const char *agent, int create)
{
    for (nna_reconciler *r = c->reconcilers; r; r = r->next)
        if (strcmp(r->agent, agent) == 0) return r;
    if (!create) return NULL;
    nna_reconciler *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->c = c;
    snprintf(r->agent, sizeof r->agent, "%s", agent);
    r->next = c->reconcilers;
    c->reconcilers = r;
    return r;
}

static void start_walk(nna_timer *t, void *arg);

static void arm(nna_reconciler *r)
{
    if (!r->waiting || r->round || nna_timer_active(&r->timer)) return;
    nna_timer_init(&r->timer, start_walk, r);
    nna_timer_start(&r->c->loop, &r->timer, r->c->reconcile_settle);
}

void nna_reconcile_start(nna_op *op, double backoff)
{
    nna_client *c = op->c;
    op->retry_at = backoff; /* relative: applied if a re-send is needed */
    nna_reconciler *r = find(c, op->group, 1);
    if (!r) {
        nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, NULL, "out of memory while reconciling");
        return;
    }
    op->rnext = r->waiting;
    r->waiting = op;
    arm(r);
}

/* ---- the walk ------------------------------------------------------------------------ */

static void request_page(nna_reconciler *r);

static void end_round(nna_reconciler *r, nna_status failure)
{
    nna_op *round = r->round;
    r->round = NULL;
    cJSON_Delete(r->found);
    r->found = NULL;
    free(r->cursor);
    r->cursor = NULL;
    r->pages = 0;
    while (round) {
        nna_op *op = round;
        round = op->rnext;
        op->rnext = NULL;
        if (failure != NNA_OK) {
            nna_op_finish(op, failure, NULL,
                          "run creation failed in a way that may have created the task, and "
                          "the check for it failed: outcome unknown");
        }
    }
    arm(r);
}

static int title_consistent(const char *title, const char *query)
{
    if (!title || !*title || !query || !*query) return 1;
    size_t tl = strlen(title), ql = strlen(query);
    size_t n = tl < ql ? tl : ql;
    /* The title is derived from the first user message: one is a prefix of the other
     * (ignoring case and a trailing ellipsis the server may add). */
    while (n > 0 && (title[n - 1] == '.' || (unsigned char)title[n - 1] >= 0x80)) n--;
    return strncasecmp(title, query, n) == 0;
}

static int candidate_fits(const cJSON *task, const nna_op *op, double skew, const nna_idset *claimed)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(task, "task_id");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(task, "created_at");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(task, "title");
    double at;
    if (!cJSON_IsString(id) || nna_idset_has(claimed, id->valuestring)) return 0;
    if (!cJSON_IsString(created) || nna_iso8601_parse(created->valuestring, &at) != 0) return 0;
    if (at < floor(op->t0_wall - skew)) return 0;
    return title_consistent(cJSON_IsString(title) ? title->valuestring : NULL, op->match_query);
}

/* Candidates arrive newest first; walk from the oldest so the oldest run gets the oldest task. */
static cJSON *match(nna_reconciler *r, nna_op *op)
{
    int n = cJSON_GetArraySize(r->found);
    for (int i = n - 1; i >= 0; i--) {
        cJSON *t = cJSON_GetArrayItem(r->found, i);
        if (candidate_fits(t, op, r->c->reconcile_skew, r->c->claimed)) return t;
    }
    return NULL;
}

static int by_t0(const void *a, const void *b)
{
    const nna_op *x = *(nna_op *const *)a, *y = *(nna_op *const *)b;
    return (x->t0_wall > y->t0_wall) - (x->t0_wall < y->t0_wall);
}

static void decide(nna_reconciler *r)
{
    nna_client *c = r->c;
    size_t n = 0;
    for (nna_op *op = r->round; op; op = op->rnext) n++;
    nna_op **ops = malloc((n ? n : 1) * sizeof *ops);
    if (!ops) { end_round(r, NNA_EOUTCOME_UNKNOWN); return; }
    n = 0;
    for (nna_op *op = r->round; op; op = op->rnext) ops[n++] = op;
    qsort(ops, n, sizeof *ops, by_t0);
    cJSON *found = r->found;
    r->found = NULL;
    r->round = NULL;
    for (size_t i = 0; i < n; i++) {
        nna_op *op = ops[i];
        op->rnext = NULL;
        cJSON *t = match(&(nna_reconciler){ .c = c, .found = found }, op);
        if (t) {
            cJSON *copy = cJSON_Duplicate(t, 1);
            nna_idset_add(c->claimed, cJSON_GetObjectItemCaseSensitive(t, "task_id")->valuestring);
            if (!copy) { nna_op_finish(op, NNA_ENOMEM, NULL, NULL); continue; }
            op->f->reconciled = 1;
            op->f->http_status = 0;
            nna_ws_count_reconciled(c->ws);
            nna_ws_emit(c->ws, NNA_WS_RECONCILED, 0, 0, op);
            nna_op_finish(op, NNA_OK, copy, NULL);
        } else {
            double delay = op->retry_at;
            op->state = NNA_OPS_BACKOFF;
            op->retry_at = nna_loop_now(&c->loop) + delay;
            nna_timer_start(&c->loop, &op->timer, delay);
        }
    }
    free(ops);
    cJSON_Delete(found);
    free(r->cursor);
    r->cursor = NULL;
    r->pages = 0;
    arm(r);
}

/* Every run of this agent in flight now may have created a task that is in the list: wait
 * for its reply before deciding. */
static void block_on_inflight(nna_reconciler *r)
{
    r->blockers = 0;
    for (nna_op *op = r->c->ops; op; op = op->next) {
        if (op->kind == NNA_OP_RUN && op->state == NNA_OPS_INFLIGHT && !op->blocking &&
            strcmp(op->group, r->agent) == 0) {
            op->blocking = r;
            r->blockers++;
        }
    }
    if (r->blockers == 0) decide(r);
}

void nna_reconcile_unblock(nna_op *op)
{
    nna_reconciler *r = op->blocking;
    op->blocking = NULL;
    if (r && r->blockers > 0 && --r->blockers == 0 && r->round) decide(r);
}

static void on_page(nna_future *f, void *arg)
{
    nna_reconciler *r = arg;
    r->page = NULL;
    if (!r->round) { nna_future_unref(f); arm(r); return; } /* everyone left meanwhile */
    if (f->status != NNA_OK) {
        nna_future_unref(f);
        end_round(r, NNA_EOUTCOME_UNKNOWN);
        return;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(f->json, "data");
    cJSON *item;
    cJSON_ArrayForEach(item, data) {
        cJSON_AddItemToArray(r->found, cJSON_Duplicate(item, 1));
    }
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(f->json, "has_more");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(f->json, "next_cursor");
    int go_on = cJSON_IsString(next) && next->valuestring[0] && !cJSON_IsFalse(more);
    if (go_on && r->cursor && strcmp(r->cursor, next->valuestring) == 0) go_on = 0; /* loop */
    char *cursor = go_on ? strdup(next->valuestring) : NULL;
    nna_future_unref(f);
    free(r->cursor);
    r->cursor = cursor;
    if (go_on && cursor && r->pages < MAX_PAGES) {
        request_page(r);
        return;
    }
    if (go_on) { /* could not see the whole window: do not guess */
        end_round(r, NNA_EOUTCOME_UNKNOWN);
        return;
    }
    block_on_inflight(r);
}

static void request_page(nna_reconciler *r)
{
    char after[NNA_ISO8601_LEN + 1];
    if (nna_iso8601_format(floor(r->window), after) != 0) { end_round(r, NNA_EOUTCOME_UNKNOWN); return; }
    char *q = nna_query_build((const char *[]){ "agent_id", r->agent, "created_after", after,
                                                "limit", "100", "cursor", r->cursor, NULL });
    nna_op_spec spec = {
        .method = "GET", .path = "/tasks", .query = q, .kind = NNA_OP_IDEMPOTENT,
        .klass = NNA_CLASS_POLL, .deadline = -1,
    };
    nna_future *f = q ? nna_op_submit(r->c, &spec) : NULL;
    free(q);
    if (!f || f->settled || nna_future_observe(f, on_page, r) != 0) {
        if (f) nna_future_unref(f);
        end_round(r, NNA_EOUTCOME_UNKNOWN);
        return;
    }
    r->page = f; /* our reference is released in on_page */
    r->pages++;
}

static void start_walk(nna_timer *t, void *arg)
{
    (void)t;
    nna_reconciler *r = arg;
    if (r->round || !r->waiting) return;
    r->round = r->waiting;
    r->waiting = NULL;
    double t0 = INFINITY;
    for (nna_op *op = r->round; op; op = op->rnext)
        if (op->t0_wall < t0) t0 = op->t0_wall;
    r->window = t0 - r->c->reconcile_skew;
    r->found = cJSON_CreateArray();
    if (!r->found) { end_round(r, NNA_EOUTCOME_UNKNOWN); return; }
    request_page(r);
}

void nna_reconcile_forget(nna_op *op)
{
    nna_reconciler *r = find(op->c, op->group, 0);
    if (!r) return;
    list_remove(&r->waiting, op);
    list_remove(&r->round, op);
}

void nna_reconcile_claim(nna_client *c, const cJSON *run_response)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(run_response, "task_id");
    if (cJSON_IsString(id)) nna_idset_add(c->claimed, id->valuestring);
}

void nna_reconcile_free_all(nna_client *c)
{
    while (c->reconcilers) {
        nna_reconciler *r = c->reconcilers;
        c->reconcilers = r->next;
        nna_timer_stop(&c->loop, &r->timer);
        cJSON_Delete(r->found);
        free(r->cursor);
        free(r);
    }
}
