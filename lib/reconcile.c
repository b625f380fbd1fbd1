/* Reconcile-before-retry for non-idempotent writes (spec §5.3).
 *
 * Each target (an agent for runs and publishes, a task for messages, a name for agent
 * creation) with writes in doubt has one reconciler per workspace, whichever client sent
 * them. A write in doubt joins the reconciler's waiting list; after a short settle delay
 * (the server may still be committing) one walk of the kind's look (nna_look: GET /tasks
 * filtered by agent and created_after, GET /tasks/{id}/messages, GET /agents/{id}/versions,
 * GET /agents?q=) collects the candidates, page after page, on the transport of a live
 * client of the workspace. Each write's window starts at its first attempt on the server's
 * clock (nna_client_window_start: bounded on both sides, so a skewed Date header neither
 * hides our own object nor reaches back to older ones). The decision then waits until every
 * write of that target in flight on any client of the workspace when the walk ended has
 * answered, so an object made by a write whose reply is on its way is claimed by that write
 * and never adopted by another. Writes are then matched newest first to the newest
 * candidate that is unclaimed (claims are per workspace), created in their window, and that
 * the kind says fits (title, content, name, status); a match is adopted (the future reports
 * it as reconciled, with the result the success reply would have given), the rest are
 * re-sent after their back-off (or, with no attempt left, end with the error of their last
 * attempt). If the walk fails, or a candidate lacks the facts to tell, the write ends with
 * NNA_EOUTCOME_UNKNOWN rather than risking a duplicate; so does one whose deadline passes
 * while it waits. Writes that leave (cancel, deadline) leave the round; when none is left
 * the walk stops at once. Idle reconcilers are freed when the next look starts and at a
 * client's teardown. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include "reconcile.h"
#include "limiter.h"
#include "timefmt.h"
#include "url.h"
#include "jsondoc.h"
#include "api_internal.h"

#define MAX_PAGES 500   /* 50,000 candidates in the window; beyond it: unknown */

/* An adopted object whose full representation is fetched (agent creation). */
typedef struct look_fetch {
    nna_reconciler    *r;
    nna_op            *op;        /* NULL once the op left */
    nna_future        *f;
    cJSON             *fallback;  /* the listed item */
    struct look_fetch *next;
} look_fetch;

struct nna_reconciler {
    nna_workspace  *ws;
    nna_client     *c;              /* home: its loop runs the timer, it sends the walk */
    const nna_look *look;
    char           *key;
    nna_op         *waiting;        /* joined, not yet part of a walk */
    nna_op         *round;          /* the ops the current walk decides for */
    nna_timer       timer;          /* settle delay */
    nna_future     *page;           /* page request in flight (our reference) */
    cJSON          *found;          /* candidates collected by the walk */
    char           *cursor;
    int             pages;
    unsigned        blockers;       /* replies the decision waits for */
    double          window;         /* earliest window start of this round (wall clock) */
    look_fetch     *fetches;
    unsigned        busy;           /* our frames on the stack: not freed under them */
    nna_reconciler *next;
};

static void start_walk(nna_timer *t, void *arg);

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

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

/* ---- registry and home client ------------------------------------------------------- */

static nna_reconciler *find(nna_workspace *ws, const nna_look *look, const char *key,
                            nna_client *create_for)
{
    nna_reconciler **head = nna_ws_reconcilers(ws);
    for (nna_reconciler *r = *head; r; r = r->next)
        if (r->look == look && strcmp(r->key, key) == 0) return r;
    if (!create_for) return NULL;
    nna_reconciler *r = calloc(1, sizeof *r);
    if (!r || !(r->key = strdup(key))) { free(r); return NULL; }
    r->ws = ws;
    r->c = create_for;
    r->look = look;
    nna_timer_init(&r->timer, start_walk, r);
    r->next = *head;
    *head = r;
    return r;
}

static int idle(const nna_reconciler *r)
{
    return !r->waiting && !r->round && !r->page && !r->found && !r->blockers &&
           !r->fetches && !nna_timer_active(&r->timer) && !r->busy;
}

static void destroy(nna_reconciler *r)
{
    for (nna_reconciler **p = nna_ws_reconcilers(r->ws); *p; p = &(*p)->next) {
        if (*p == r) { *p = r->next; break; }
    }
    nna_timer_stop(&r->c->loop, &r->timer);
    cJSON_Delete(r->found);
    free(r->cursor);
    free(r->key);
    free(r);
}

static void leave(nna_reconciler *r)
{
    r->busy--;
}

/* Frees the idle reconcilers. Only from places no pointer to one can be on the stack: a
 * reply being handled may hold the reconciler it was blocking (pipeline.c's
 * on_xfer_done), and that one is never idle before the reply is accounted for; a new look
 * (called from such a handler only before the reply is settled) and a client's teardown
 * are safe. */
static void sweep(nna_workspace *ws)
{
    nna_reconciler *next;
    for (nna_reconciler *r = *nna_ws_reconcilers(ws); r; r = next) {
        next = r->next;
        if (idle(r)) destroy(r);
    }
}

/* Moves the reconciler (and its armed timer) to client c. Every client of a workspace runs
 * on one loop, so loop times agree. */
static void set_home(nna_reconciler *r, nna_client *c)
{
    if (c == r->c) return;
    int armed = nna_timer_active(&r->timer);
    double at = r->timer.at;
    if (armed) nna_timer_stop(&r->c->loop, &r->timer);
    r->c = c;
    if (armed) nna_timer_start_at(&c->loop, &r->timer, at);
}

/* A client that can still send for r: its home if it can, else the client of one of its
 * writes, else any of the workspace; NULL when every client is shutting down. */
static nna_client *sender(const nna_reconciler *r)
{
    if (!r->c->shutting) return r->c;
    for (const nna_op *op = r->round; op; op = op->rnext) if (!op->c->shutting) return op->c;
    for (const nna_op *op = r->waiting; op; op = op->rnext) if (!op->c->shutting) return op->c;
    size_t n;
    nna_client *const *cs = nna_ws_clients(r->ws, &n);
    for (size_t i = 0; i < n; i++) if (!cs[i]->shutting) return cs[i];
    return NULL;
}

static void arm(nna_reconciler *r)
{
    if (!r->waiting || r->round || nna_timer_active(&r->timer)) return;
    nna_client *c = sender(r);
    if (c) set_home(r, c);
    nna_timer_start(&r->c->loop, &r->timer, r->c->reconcile_settle);
}

void nna_reconcile_start(nna_op *op, double backoff)
{
    op->retry_at = backoff; /* relative: applied if a re-send is needed */
    sweep(op->c->ws);
    nna_reconciler *r = find(op->c->ws, op->look, op->look->key(op), op->c);
    if (!r) {
        nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, NULL, "out of memory while reconciling");
        return;
    }
    r->busy++;
    op->rnext = r->waiting;
    r->waiting = op;
    arm(r);
    leave(r);
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
        nna_client *const *cs = nna_ws_clients(r->ws, &n);
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
    char why[160];
    snprintf(why, sizeof why, "%s failed in a way that may have taken effect, and the check "
             "for it failed: outcome unknown", r->look->what);
    while (round) {
        nna_op *op = round;
        round = op->rnext;
        op->rnext = NULL;
        nna_op_finish(op, failure, NULL, failure == NNA_ESHUTDOWN ? NULL : why);
    }
    arm(r);
}

/* The checks every kind shares: an unclaimed id, created in op's window. */
static int item_fits(const nna_look *look, const cJSON *item, const nna_op *op,
                     const nna_idset *claimed)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, look->item_id);
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(item, "created_at");
    double at;
    if (!cJSON_IsString(id) || nna_idset_has(claimed, id->valuestring)) return 0;
    if (!cJSON_IsString(created) || nna_iso8601_parse(created->valuestring, &at) != 0)
        return look->needs_created_at && look->fits(item, op) ? -1 : 0;
    if (at < floor(op->window_start)) return 0;
    return look->fits(item, op);
}

/* The newest candidate that fits op: an object that existed before our writes is older
 * than any of ours, so it is the last one a write could be given, and only when its
 * window reaches back that far. *unsure: some candidate could not be told. */
static cJSON *match(const nna_reconciler *r, cJSON *found, const nna_op *op,
                    const nna_idset *claimed, int *unsure)
{
    cJSON *best = NULL, *t;
    *unsure = 0;
    cJSON_ArrayForEach(t, found) {
        int k = item_fits(r->look, t, op, claimed);
        if (k < 0) *unsure = 1;
        if (k > 0) {
            best = t;
            if (!r->look->oldest_first) break;
        }
    }
    return best;
}

static int by_t0_newest(const void *a, const void *b)
{
    const nna_op *x = *(nna_op *const *)a, *y = *(nna_op *const *)b;
    return (x->t0_wall < y->t0_wall) - (x->t0_wall > y->t0_wall);
}

/* op found its object: it settles as the success would have, marked reconciled. */
static void settle_adopted(nna_op *op, cJSON *json)
{
    if (!json) {
        nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, NULL, "out of memory while adopting");
        return;
    }
    op->f->reconciled = 1;
    op->f->http_status = 0;
    nna_ws_count_reconciled(op->c->ws);
    nna_ws_emit(op->c->ws, NNA_WS_RECONCILED, 0, 0, op);
    nna_op_finish(op, NNA_OK, json, NULL);
}

static void on_fetch(nna_future *f, void *arg)
{
    look_fetch *fe = arg;
    nna_reconciler *r = fe->r;
    r->busy++;
    for (look_fetch **p = &r->fetches; *p; p = &(*p)->next)
        if (*p == fe) { *p = fe->next; break; }
    nna_op *op = fe->op;
    cJSON *json = NULL;
    if (op && f->status == NNA_OK && cJSON_IsObject(f->json)) json = cJSON_Duplicate(f->json, 1);
    if (op && !json) { json = fe->fallback; fe->fallback = NULL; }
    nna_future_unref(f);
    cJSON_Delete(fe->fallback);
    free(fe);
    if (op) settle_adopted(op, json);
    leave(r);
}

/* The kind wants the adopted object's full representation: GET it (the listed item is
 * the answer if that fails). */
static void start_fetch(nna_reconciler *r, nna_op *op, const cJSON *item, const char *path)
{
    look_fetch *fe = calloc(1, sizeof *fe);
    cJSON *fallback = cJSON_Duplicate(item, 1);
    if (!fe || !fallback) {
        free(fe);
        settle_adopted(op, fallback);
        return;
    }
    nna_client *c = sender(r);
    double left = op->deadline - nna_loop_now(&op->c->loop);
    nna_op_spec spec = {
        .method = "GET", .path = path, .kind = NNA_OP_IDEMPOTENT, .klass = NNA_CLASS_POLL,
        .deadline = isfinite(left) ? (left > 0.001 ? left : 0.001) : -1,
    };
    nna_future *f = c ? nna_op_submit(c, &spec) : NULL;
    if (!f || f->settled) {
        if (f) nna_future_unref(f);
        free(fe);
        settle_adopted(op, fallback);
        return;
    }
    *fe = (look_fetch){ r, op, f, fallback, r->fetches };
    r->fetches = fe;
    if (nna_future_observe(f, on_fetch, fe) != 0) {
        r->fetches = fe->next;
        free(fe);
        nna_future_cancel(f);
        nna_future_unref(f);
        settle_adopted(op, fallback);
    }
}

static void adopt(nna_reconciler *r, nna_op *op, const cJSON *item, nna_idset *claimed)
{
    nna_idset_add(claimed, cJSON_GetObjectItemCaseSensitive(item, r->look->item_id)->valuestring);
    char fetch[160] = "";
    cJSON *json = r->look->adopt(item, op, fetch, sizeof fetch);
    if (!json && fetch[0]) start_fetch(r, op, item, fetch);
    else settle_adopted(op, json);
}

static void decide(nna_reconciler *r)
{
    size_t n = 0;
    for (nna_op *op = r->round; op; op = op->rnext) n++;
    nna_op **ops = malloc((n ? n : 1) * sizeof *ops);
    if (!ops) { end_round(r, NNA_EOUTCOME_UNKNOWN); return; }
    n = 0;
    for (nna_op *op = r->round; op; op = op->rnext) ops[n++] = op;
    qsort(ops, n, sizeof *ops, by_t0_newest);
    r->round = NULL;
    cJSON *found = r->found; /* ours until every op is decided */
    r->found = NULL;
    clear_walk(r);
    nna_idset *claimed = nna_ws_claimed(r->ws);
    for (size_t i = 0; i < n; i++) ops[i]->rnext = NULL;
    char why[160];
    snprintf(why, sizeof why, "%s failed in a way that may have taken effect, and the check "
             "could not tell: outcome unknown", r->look->what);
    for (size_t i = 0; i < n; i++) {
        nna_op *op = ops[i];
        int unsure;
        cJSON *t = match(r, found, op, claimed, &unsure);
        if (t) {
            adopt(r, op, t, claimed);
        } else if (unsure) {
            nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, NULL, why);
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

/* Every write of this target in flight now (on any client of the workspace) may have made
 * an object that is in the list: wait for its reply before deciding. */
static void block_on_inflight(nna_reconciler *r)
{
    r->blockers = 0;
    size_t n;
    nna_client *const *cs = nna_ws_clients(r->ws, &n);
    for (size_t i = 0; i < n; i++) {
        for (nna_op *op = cs[i]->ops; op; op = op->next) {
            if (op->look == r->look && op->state == NNA_OPS_INFLIGHT && !op->blocking &&
                strcmp(r->look->key(op), r->key) == 0) {
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
    if (!r) return;
    r->busy++;
    if (r->blockers > 0 && --r->blockers == 0 && r->round && r->found) decide(r);
    leave(r);
}

/* 1 when a newest-first list without a created_after filter has reached items older than
 * every window of the round: the rest of the walk cannot hold ours. */
static int past_window(const nna_reconciler *r, const cJSON *data)
{
    if (!r->look->newest_first_unfiltered || !cJSON_IsArray(data) || !data->child) return 0;
    const cJSON *last = data->child->prev ? data->child->prev : data->child;
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(last, "created_at");
    double at;
    return cJSON_IsString(created) && nna_iso8601_parse(created->valuestring, &at) == 0 &&
           at < floor(r->window);
}

static int round_has_live_client(const nna_reconciler *r)
{
    for (const nna_op *op = r->round; op; op = op->rnext) if (!op->c->shutting) return 1;
    return 0;
}

static void on_page_inner(nna_reconciler *r, nna_future *f)
{
    r->page = NULL;
    if (!r->round) { /* everyone left meanwhile */
        nna_future_unref(f);
        clear_walk(r);
        arm(r);
        return;
    }
    if (f->status != NNA_OK) {
        int gone = f->status == NNA_ESHUTDOWN || f->status == NNA_ECANCELLED;
        nna_future_unref(f);
        if (gone && round_has_live_client(r)) {
            /* The client carrying the walk is shutting down, others still wait for the
             * answer: walk again on one of theirs. */
            cJSON *found = cJSON_CreateArray();
            clear_walk(r);
            r->found = found;
            if (!found) end_round(r, NNA_EOUTCOME_UNKNOWN);
            else request_page(r);
            return;
        }
        end_round(r, gone && r->c->shutting ? NNA_ESHUTDOWN : NNA_EOUTCOME_UNKNOWN);
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
    int go_on = cJSON_IsString(next) && next->valuestring[0] && !cJSON_IsFalse(more) &&
                !past_window(r, data);
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

static void on_page(nna_future *f, void *arg)
{
    nna_reconciler *r = arg;
    r->busy++;
    on_page_inner(r, f);
    leave(r);
}

/* The check must end by the latest deadline of the writes it decides for. */
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
    nna_look_req req;
    memset(&req, 0, sizeof req);
    r->look->request(r->key, after, &req);
    const char *kv[16];
    size_t n = 0;
    for (; req.kv[n] && n < 6; n += 2) { kv[n] = req.kv[n]; kv[n + 1] = req.kv[n + 1]; }
    const char *tail[] = { "limit", req.limit ? "100" : NULL, "cursor", r->cursor, NULL };
    memcpy(kv + n, tail, sizeof tail);
    char *q = nna_query_build(kv);
    nna_client *c = sender(r);
    if (c) set_home(r, c);
    nna_op_spec spec = {
        .method = "GET", .path = req.path, .query = q, .kind = NNA_OP_IDEMPOTENT,
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
    r->busy++;
    r->round = r->waiting;
    r->waiting = NULL;
    double from = INFINITY;
    for (nna_op *op = r->round; op; op = op->rnext) {
        /* now, with every clock sample so far (the failed reply's own Date included) */
        op->window_start = nna_client_window_start(op->c, op->t0_wall);
        if (op->window_start < from) from = op->window_start;
    }
    r->window = from;
    clear_walk(r);
    r->found = cJSON_CreateArray();
    if (!r->found) end_round(r, NNA_EOUTCOME_UNKNOWN);
    else request_page(r);
    leave(r);
}

void nna_reconcile_forget(nna_op *op)
{
    if (!op->look) return;
    nna_reconciler *r = find(op->c->ws, op->look, op->look->key(op), NULL);
    if (!r) return;
    r->busy++;
    list_remove(&r->waiting, op);
    list_remove(&r->round, op);
    for (look_fetch *fe = r->fetches; fe; fe = fe->next) {
        if (fe->op == op) {
            fe->op = NULL;
            nna_future_cancel(fe->f); /* on_fetch frees it */
            break;
        }
    }
    if (!r->waiting && !r->round) nna_timer_stop(&r->c->loop, &r->timer);
    if (!r->round && (r->page || r->found || r->blockers)) {
        /* Nobody is left to decide for: stop the walk now, send nothing more. */
        nna_future *page = r->page;
        if (page) nna_future_cancel(page); /* on_page clears the walk */
        if (r->page == NULL && !r->round) clear_walk(r);
        arm(r);
    }
    leave(r);
}

void nna_reconcile_claim(nna_op *op, const cJSON *reply)
{
    const nna_look *look = op->look;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, look->claim_field);
    if (cJSON_IsString(id)) nna_idset_add(nna_ws_claimed(op->c->ws), id->valuestring);
    /* The object's created_at and the attempt's times bound the server's clock (an
     * adopted object was created at some earlier attempt: no sample). */
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(reply, "created_at");
    double at;
    if (look->clock_from_reply && !op->f->reconciled && cJSON_IsString(created) &&
        nna_iso8601_parse(created->valuestring, &at) == 0)
        nna_client_clock_created(op->c, at, op->sent_wall, wall_now());
}

void nna_reconcile_free_all(nna_client *c)
{
    if (!c->ws) return;
    nna_client *other = NULL;
    size_t n;
    nna_client *const *cs = nna_ws_clients(c->ws, &n);
    for (size_t i = 0; i < n; i++)
        if (cs[i] != c && (!other || (other->shutting && !cs[i]->shutting))) other = cs[i];
    sweep(c->ws);
    nna_reconciler *next;
    for (nna_reconciler *r = *nna_ws_reconcilers(c->ws); r; r = next) {
        next = r->next;
        if (r->c != c) continue;
        if (other) {
            set_home(r, other); /* its page requests, if any, already ended with c's ops */
        } else {
            clear_walk(r);
            r->busy = 0;
            destroy(r);
        }
    }
}
