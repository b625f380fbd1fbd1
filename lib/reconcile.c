/* Reconcile-before-retry for run creation (spec §5.3).
 *
 * Each agent with runs in doubt has one reconciler per client. A run in doubt joins the
 * reconciler's waiting list; after a short settle delay (the server may still be
 * committing) one walk of GET /tasks?agent_id=A&created_after=T (T = the earliest window
 * start of the round: the run's first attempt on the server's clock, learned from Date
 * headers, less 1 s; before any Date header is seen, t0 minus the skew margin)
 * collects the candidates, page after page. The decision then waits until every run of
 * that agent in flight on any client of the workspace when the walk ended has answered,
 * so a task created by a run whose reply is on its way is claimed by that run and never
 * adopted by another. Runs are then matched newest first to the newest candidate that is
 * unclaimed (claims are per workspace), created in their window, and whose title is
 * consistent with their query; a match is adopted (the future reports it as reconciled),
 * the rest are re-sent after their back-off (or, with no attempt left, end with the error
 * of their last attempt). If the walk fails, every run of the round ends with
 * NNA_EOUTCOME_UNKNOWN rather than risking a duplicate; so does a run whose deadline
 * passes while it waits for the check. Runs that leave (cancel, deadline) leave the
 * round; when none is left the walk stops at once. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include "reconcile.h"
#include "limiter.h"
#include "timefmt.h"
#include "url.h"
#include "jsondoc.h"
#include "api_internal.h"

#define MAX_PAGES 500   /* 50,000 tasks of one agent in the window; beyond it: unknown */

struct nna_reconciler {
    nna_client     *c;
    char            agent[40];
    nna_op         *waiting;        /* joined, not yet part of a walk */
    nna_op         *round;          /* the ops the current walk decides for */
    nna_timer       timer;          /* settle delay */
    nna_future     *page;           /* page request in flight (our reference) */
    cJSON          *found;          /* candidate tasks collected by the walk */
    char           *cursor;
    int             pages;
    unsigned        blockers;       /* replies the decision waits for */
    double          window;         /* created_after of this round (wall clock) */
    nna_reconciler *next;
};

static void start_walk(nna_timer *t, void *arg);

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
    nna_timer_init(&r->timer, start_walk, r);
    r->next = c->reconcilers;
    c->reconcilers = r;
    return r;
}

static void arm(nna_reconciler *r)
{
    if (!r->waiting || r->round || nna_timer_active(&r->timer)) return;
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

/* Forgets the walk's state (not the round). */
static void clear_walk(nna_reconciler *r)
{
    cJSON_Delete(r->found);
    r->found = NULL;
    free(r->cursor);
    r->cursor = NULL;
    r->pages = 0;
    if (r->blockers) {
        size_t n;
        nna_client *const *cs = nna_ws_clients(r->c->ws, &n);
        for (size_t i = 0; i < n; i++)
            for (nna_op *op = cs[i]->ops; op; op = op->next)
                if (op->blocking == r) op->blocking = NULL;
        r->blockers = 0;
    }
}

static void end_round(nna_reconciler *r, nna_status failure)
{
    nna_op *round = r->round;
    r->round = NULL;
    clear_walk(r);
    while (round) {
        nna_op *op = round;
        round = op->rnext;
        op->rnext = NULL;
        nna_op_finish(op, failure, NULL, failure == NNA_ESHUTDOWN ? NULL :
                      "run creation failed in a way that may have created the task, and "
                      "the check for it failed: outcome unknown");
    }
    arm(r);
}

/* Lower-case, every space or control character folded to one space, trailing spaces and
 * a trailing ellipsis ("..." or U+2026) dropped. */
static size_t normalize(const char *s, char *out, size_t max, int strip_ellipsis)
{
    size_t n = 0;
    int space = 0;
    for (; *s && n + 1 < max; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch == 0x7f) {
            space = n > 0;
            continue;
        }
        if (space) out[n++] = ' ';
        space = 0;
        if (n + 1 < max) out[n++] = (char)(ch < 0x80 ? tolower(ch) : ch);
    }
    out[n] = '\0';
    if (strip_ellipsis) {
        for (;;) {
            if (n >= 3 && memcmp(out + n - 3, "\xe2\x80\xa6", 3) == 0) n -= 3;
            else if (n >= 1 && out[n - 1] == '.') n--;
            else break;
            while (n > 0 && out[n - 1] == ' ') n--;
            out[n] = '\0';
        }
    }
    return n;
}

/* The title is derived from the first user message: after normalizing, it must be a
 * prefix of the query (servers truncate; a trailing ellipsis may be added). A missing
 * title, or a run without a query (files only), is consistent with anything. */
static int title_consistent(const char *title, const char *query)
{
    if (!title || !*title || !query || !*query) return 1;
    char t[512], q[512];
    size_t tl = normalize(title, t, sizeof t, 1);
    size_t ql = normalize(query, q, sizeof q, 0);
    if (tl == 0) return 1;
    if (tl >= sizeof t - 1 && ql >= sizeof q - 1) return strncmp(t, q, sizeof t - 1) == 0;
    if (tl > ql) return 0;
    /* a UTF-8 sequence cut by the server at the end of the title */
    size_t cmp = tl;
    while (cmp > 0 && ((unsigned char)t[cmp - 1] & 0x80)) {
        if (((unsigned char)t[cmp - 1] & 0xC0) == 0xC0) { cmp--; break; }
        cmp--;
    }
    return memcmp(t, q, cmp) == 0;
}

static int candidate_fits(const cJSON *task, const nna_op *op, const nna_idset *claimed)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(task, "task_id");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(task, "created_at");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(task, "title");
    double at;
    if (!cJSON_IsString(id) || nna_idset_has(claimed, id->valuestring)) return 0;
    if (!cJSON_IsString(created) || nna_iso8601_parse(created->valuestring, &at) != 0) return 0;
    if (at < floor(op->window_start)) return 0;
    return title_consistent(cJSON_IsString(title) ? title->valuestring : NULL, op->match_query);
}

/* Candidates arrive newest first, and runs are matched newest first: a task that existed
 * before our runs (same agent, same query) is older than any of ours, so it is the last
 * one a run could be given, and only when its window reaches back that far. */
static cJSON *match(cJSON *found, nna_op *op, const nna_idset *claimed)
{
    int n = cJSON_GetArraySize(found);
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_GetArrayItem(found, i);
        if (candidate_fits(t, op, claimed)) return t;
    }
    return NULL;
}

static int by_t0_newest(const void *a, const void *b)
{
    const nna_op *x = *(nna_op *const *)a, *y = *(nna_op *const *)b;
    return (x->t0_wall < y->t0_wall) - (x->t0_wall > y->t0_wall);
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
    qsort(ops, n, sizeof *ops, by_t0_newest);
    cJSON *found = r->found;
    r->found = NULL;
    r->round = NULL;
    clear_walk(r);
    nna_idset *claimed = nna_ws_claimed(c->ws);
    for (size_t i = 0; i < n; i++) ops[i]->rnext = NULL;
    for (size_t i = 0; i < n; i++) {
        nna_op *op = ops[i];
        cJSON *t = match(found, op, claimed);
        if (t) {
            cJSON *copy = cJSON_Duplicate(t, 1);
            nna_idset_add(claimed, cJSON_GetObjectItemCaseSensitive(t, "task_id")->valuestring);
            if (!copy) { nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, NULL, NULL); continue; }
            op->f->reconciled = 1;
            op->f->http_status = 0;
            nna_ws_count_reconciled(c->ws);
            nna_ws_emit(c->ws, NNA_WS_RECONCILED, 0, 0, op);
            nna_op_finish(op, NNA_OK, copy, NULL);
        } else if (op->resend) {
            nna_op_retry_later(op, op->retry_at);
        } else {
            char *err = op->final_error;
            op->final_error = NULL;
            nna_op_finish(op, op->final_status, NULL, err);
            free(err);
        }
    }
    free(ops);
    cJSON_Delete(found);
    arm(r);
}

/* Every run of this agent in flight now (on any client of the workspace) may have created
 * a task that is in the list: wait for its reply before deciding. */
static void block_on_inflight(nna_reconciler *r)
{
    r->blockers = 0;
    size_t n;
    nna_client *const *cs = nna_ws_clients(r->c->ws, &n);
    for (size_t i = 0; i < n; i++) {
        for (nna_op *op = cs[i]->ops; op; op = op->next) {
            if (op->kind == NNA_OP_RUN && op->state == NNA_OPS_INFLIGHT && !op->blocking &&
                strcmp(op->group, r->agent) == 0) {
                op->blocking = r;
                r->blockers++;
            }
        }
    }
    if (r->blockers == 0) decide(r);
}

void nna_reconcile_unblock(nna_op *op)
{
    nna_reconciler *r = op->blocking;
    op->blocking = NULL;
    nna_reconcile_unblocked(r);
}

void nna_reconcile_unblocked(nna_reconciler *r)
{
    if (r && r->blockers > 0 && --r->blockers == 0 && r->round && r->found) decide(r);
}

static void on_page(nna_future *f, void *arg)
{
    nna_reconciler *r = arg;
    r->page = NULL;
    if (!r->round) { /* everyone left meanwhile */
        nna_future_unref(f);
        clear_walk(r);
        arm(r);
        return;
    }
    if (f->status != NNA_OK) {
        nna_status st = r->c->shutting && (f->status == NNA_ESHUTDOWN ||
                                           f->status == NNA_ECANCELLED)
                            ? NNA_ESHUTDOWN : NNA_EOUTCOME_UNKNOWN;
        nna_future_unref(f);
        end_round(r, st);
        return;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(f->json, "data");
    nna_jref raw = nna_jref_member(nna_jref_root(f->json), "data");
    size_t pos = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, data) {
        nna_jref own = nna_jref_next(raw, &pos); /* the copy keeps the item's bytes */
        cJSON *copy = nna_json_doc_copy(item, own.text, own.sp);
        if (!copy || !cJSON_AddItemToArray(r->found, copy)) {
            cJSON_Delete(copy);
            nna_future_unref(f);
            end_round(r, NNA_EOUTCOME_UNKNOWN);
            return;
        }
    }
    const cJSON *more = cJSON_GetObjectItemCaseSensitive(f->json, "has_more");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(f->json, "next_cursor");
    int go_on = cJSON_IsString(next) && next->valuestring[0] && !cJSON_IsFalse(more);
    int looped = go_on && r->cursor && strcmp(r->cursor, next->valuestring) == 0;
    char *cursor = go_on && !looped ? strdup(next->valuestring) : NULL;
    nna_future_unref(f);
    free(r->cursor);
    r->cursor = cursor;
    if (go_on && (looped || !cursor || r->pages >= MAX_PAGES ||
                  strlen(cursor) > NNA_CURSOR_MAX)) {
        /* could not see the whole window: do not guess */
        end_round(r, NNA_EOUTCOME_UNKNOWN);
        return;
    }
    if (go_on) {
        request_page(r);
        return;
    }
    block_on_inflight(r);
}

/* The check must end by the latest deadline of the runs it decides for. */
static double page_deadline(const nna_reconciler *r)
{
    double latest = -INFINITY;
    for (const nna_op *op = r->round; op; op = op->rnext)
        if (op->deadline > latest) latest = op->deadline;
    if (!isfinite(latest)) return -1; /* the client's default */
    double left = latest - nna_loop_now(&r->c->loop);
    return left > 0.001 ? left : 0.001;
}

static void request_page(nna_reconciler *r)
{
    char after[NNA_ISO8601_LEN + 1];
    if (nna_iso8601_format(floor(r->window), after) != 0) { end_round(r, NNA_EOUTCOME_UNKNOWN); return; }
    char *q = nna_query_build((const char *[]){ "agent_id", r->agent, "created_after", after,
                                                "limit", "100", "cursor", r->cursor, NULL });
    nna_op_spec spec = {
        .method = "GET", .path = "/tasks", .query = q, .kind = NNA_OP_IDEMPOTENT,
        .klass = NNA_CLASS_POLL, .deadline = page_deadline(r),
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
    double from = INFINITY;
    for (nna_op *op = r->round; op; op = op->rnext)
        if (op->window_start < from) from = op->window_start;
    r->window = from;
    clear_walk(r);
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
    if (!r->waiting && !r->round) nna_timer_stop(&r->c->loop, &r->timer);
    if (!r->round && (r->page || r->found || r->blockers)) {
        /* Nobody is left to decide for: stop the walk now, send nothing more. */
        nna_future *page = r->page;
        if (page) nna_future_cancel(page); /* on_page clears the walk */
        if (r->page == NULL && !r->round) clear_walk(r);
        arm(r);
    }
}

void nna_reconcile_claim(nna_client *c, const cJSON *run_response)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(run_response, "task_id");
    if (cJSON_IsString(id)) nna_idset_add(nna_ws_claimed(c->ws), id->valuestring);
}

void nna_reconcile_free_all(nna_client *c)
{
    while (c->reconcilers) {
        nna_reconciler *r = c->reconcilers;
        c->reconcilers = r->next;
        nna_timer_stop(&c->loop, &r->timer);
        if (c->ws) clear_walk(r);
        cJSON_Delete(r->found);
        free(r->cursor);
        free(r);
    }
}
