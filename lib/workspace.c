/* The per-workspace limiter.
 *
 * Admission: an op leaves its queue only when (1) the 429 gate is open, (2) the health
 * gate is open or this is its single probe, (3) fewer than `cap` requests are in flight,
 * (4) the paced send rate has a token, and (5) for a retry after server trouble, the retry
 * budget has a token. Queues are served in class order (polls and reconciliation checks,
 * then other calls, then new runs); runs are served round-robin across agents so one
 * agent's 10,000 queued runs do not starve another's 10.
 *
 * Adaptation: a 429 closes the gate for its Retry-After plus a little jitter, halves the
 * cap (it grows back by one per cap's worth of successes) and sets the send rate from the
 * success rate actually achieved recently; quiet periods probe the rate upward by 2 % a
 * second. Consecutive 5xx or transport failures close the health gate with its own
 * back-off (1, 2, 5, 10, 30 s); while closed, a single probe goes at a time. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include "limiter.h"
#include "tokenbucket.h"

#define FAIL_THRESHOLD   3
#define RATE_WINDOW      5.0   /* seconds of successes the rate estimate looks at */
#define NBUCKETS         10    /* 0.5-second buckets */
#define RATE_PROBE_STEP  1.02
#define MIN_RATE         0.5

typedef struct group_q {
    char            key[40];
    nna_wsq         q;
    struct group_q *next;       /* all groups */
    struct group_q *rr_next;    /* active ring */
    int             active;
} group_q;

struct nna_workspace {
    unsigned        refs;
    nna_workspace_options o;
    nna_client    **clients;
    size_t          nclients;
    nna_wsq         cls[NNA_CLASS_RUN];     /* POLL and NORMAL */
    group_q        *groups;
    group_q        *rr_head, *rr_tail;      /* groups with queued runs, served in turn */
    size_t          queued;
    unsigned        inflight;
    double          cap;
    /* 429 gate */
    double          gate_until;
    double          gate_since;
    int             gate_closed;
    double          last_decrease;
    /* pacing */
    nna_token_bucket tb;
    int             paced;
    double          last_probe;
    double          succ_bucket[NBUCKETS];
    double          bucket_t0;
    double          first_success;
    /* health gate */
    unsigned        failures;
    unsigned        health_level;
    double          health_until;
    int             health_closed;
    int             probe_out;
    nna_retry_budget budget;
    nna_workspace_counters ctr;
    nna_timer       timer;
    nna_client     *timer_client;
    int             pumping, repump;
    nna_ws_event_cb hook;
    void           *hook_ud;
};

static const double health_schedule[] = { 1, 2, 5, 10, 30 };

void nna_workspace_options_init(nna_workspace_options *o)
{
    memset(o, 0, sizeof *o);
    o->max_inflight = 64;
    o->adaptive = 1;
    o->retry_budget_ratio = 0.1;
    o->retry_budget_floor = 1.0;
}

nna_status nna_workspace_new(const nna_workspace_options *o, nna_workspace **out)
{
    if (!out) return NNA_EINVAL;
    *out = NULL;
    nna_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return NNA_ENOMEM;
    if (o) ws->o = *o; else nna_workspace_options_init(&ws->o);
    if (ws->o.max_inflight == 0) ws->o.max_inflight = 64;
    if (!(ws->o.rate_limit >= 0)) ws->o.rate_limit = 0;
    ws->refs = 1;
    ws->cap = ws->o.max_inflight;
    ws->first_success = -1;
    nna_tb_init(&ws->tb, ws->o.rate_limit, 1, 0);
    ws->paced = ws->o.rate_limit > 0;
    nna_budget_init(&ws->budget, ws->o.retry_budget_ratio, ws->o.retry_budget_floor, 20, 0);
    ws->ctr.cap = ws->o.max_inflight;
    ws->ctr.rate = ws->o.rate_limit;
    *out = ws;
    return NNA_OK;
}

nna_workspace *nna_workspace_ref(nna_workspace *ws)
{
    if (ws) ws->refs++;
    return ws;
}

void nna_workspace_unref(nna_workspace *ws)
{
    if (!ws || --ws->refs > 0) return;
    while (ws->groups) {
        group_q *g = ws->groups;
        ws->groups = g->next;
        free(g);
    }
    free(ws->clients);
    free(ws);
}

void nna_workspace_counters_get(const nna_workspace *ws, nna_workspace_counters *out)
{
    *out = ws->ctr;
    out->inflight = ws->inflight;
    out->cap = (unsigned)ws->cap;
    out->queued = ws->queued;
    out->rate = ws->paced ? ws->tb.rate : 0;
}

void nna_workspace_set_hook(nna_workspace *ws, nna_ws_event_cb cb, void *user_data)
{
    ws->hook = cb;
    ws->hook_ud = user_data;
}

void nna_ws_emit(nna_workspace *ws, nna_ws_event_kind kind, double value, long http_status,
                  const nna_op *op)
{
    if (kind == NNA_WS_RETRY_SCHEDULED) {
        if (http_status == 429) ws->ctr.retried_rate++;
        else if (http_status >= 500) ws->ctr.retried_server++;
        else ws->ctr.retried_network++;
    }
    if (!ws->hook) return;
    nna_ws_event ev = { kind, value, http_status, op ? op->method : NULL, op ? op->path : NULL };
    ws->hook(ws, &ev, ws->hook_ud);
}

void nna_ws_count_failed(nna_workspace *ws) { ws->ctr.failed++; }
void nna_ws_count_reconciled(nna_workspace *ws) { ws->ctr.reconciled++; }

/* ---- clients and the timer ---------------------------------------------------------- */

static void on_timer(nna_timer *t, void *arg);
static void pump(nna_workspace *ws);

static nna_loop *home_loop(nna_workspace *ws)
{
    return ws->nclients ? &ws->clients[0]->loop : NULL;
}

int nna_ws_attach(nna_workspace *ws, nna_client *c)
{
    nna_client **n = realloc(ws->clients, (ws->nclients + 1) * sizeof *n);
    if (!n) return -1;
    ws->clients = n;
    ws->clients[ws->nclients++] = c;
    if (ws->nclients == 1) nna_timer_init(&ws->timer, on_timer, ws);
    return 0;
}

void nna_ws_detach(nna_workspace *ws, nna_client *c)
{
    for (size_t i = 0; i < ws->nclients; i++) {
        if (ws->clients[i] != c) continue;
        if (i == 0 && nna_timer_active(&ws->timer)) {
            /* the timer lives on this client's loop: move it to the next client's */
            double at = ws->timer.at;
            nna_timer_stop(&c->loop, &ws->timer);
            memmove(ws->clients, ws->clients + 1, (ws->nclients - 1) * sizeof *ws->clients);
            ws->nclients--;
            if (ws->nclients) nna_timer_start_at(home_loop(ws), &ws->timer, at);
            return;
        }
        memmove(ws->clients + i, ws->clients + i + 1, (ws->nclients - i - 1) * sizeof *ws->clients);
        ws->nclients--;
        return;
    }
}

static void wake_at(nna_workspace *ws, double at)
{
    nna_loop *l = home_loop(ws);
    if (!l) return;
    if (nna_timer_active(&ws->timer) && ws->timer.at <= at) return;
    nna_timer_start_at(l, &ws->timer, at);
}

static void on_timer(nna_timer *t, void *arg)
{
    (void)t;
    pump(arg);
}

/* ---- queues ------------------------------------------------------------------------- */

static void q_push(nna_wsq *q, nna_op *op, int front)
{
    op->queue = q;
    if (front) {
        op->qnext = q->head;
        q->head = op;
        if (!q->tail) q->tail = op;
    } else {
        op->qnext = NULL;
        if (q->tail) q->tail->qnext = op; else q->head = op;
        q->tail = op;
    }
    q->len++;
}

static nna_op *q_pop(nna_wsq *q)
{
    nna_op *op = q->head;
    if (!op) return NULL;
    q->head = op->qnext;
    if (!q->head) q->tail = NULL;
    op->qnext = NULL;
    op->queue = NULL;
    q->len--;
    return op;
}

static void q_remove(nna_wsq *q, nna_op *op)
{
    nna_op *prev = NULL;
    for (nna_op *p = q->head; p; prev = p, p = p->qnext) {
        if (p != op) continue;
        if (prev) prev->qnext = op->qnext; else q->head = op->qnext;
        if (q->tail == op) q->tail = prev;
        op->qnext = NULL;
        op->queue = NULL;
        q->len--;
        return;
    }
}

static group_q *group_for(nna_workspace *ws, const char *key)
{
    for (group_q *g = ws->groups; g; g = g->next)
        if (strcmp(g->key, key) == 0) return g;
    group_q *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    snprintf(g->key, sizeof g->key, "%s", key);
    g->next = ws->groups;
    ws->groups = g;
    return g;
}

static void rr_activate(nna_workspace *ws, group_q *g)
{
    if (g->active) return;
    g->active = 1;
    g->rr_next = NULL;
    if (ws->rr_tail) ws->rr_tail->rr_next = g; else ws->rr_head = g;
    ws->rr_tail = g;
}

void nna_ws_enqueue(nna_workspace *ws, nna_op *op, int retry)
{
    if (op->klass == NNA_CLASS_RUN) {
        group_q *g = group_for(ws, op->group);
        if (!g) { /* out of memory: fall back to the normal queue, never lose the op */
            q_push(&ws->cls[NNA_CLASS_NORMAL], op, retry);
        } else {
            q_push(&g->q, op, retry);
            rr_activate(ws, g);
        }
    } else {
        q_push(&ws->cls[op->klass], op, retry);
    }
    ws->queued++;
    pump(ws);
}

void nna_ws_remove(nna_workspace *ws, nna_op *op)
{
    if (!op->queue) return;
    q_remove(op->queue, op);
    ws->queued--;
}

/* The next op in service order, left in its queue. */
static nna_op *peek_next(nna_workspace *ws)
{
    for (int k = 0; k < NNA_CLASS_RUN; k++)
        if (ws->cls[k].head) return ws->cls[k].head;
    while (ws->rr_head && !ws->rr_head->q.head) { /* drop emptied groups from the ring */
        group_q *g = ws->rr_head;
        ws->rr_head = g->rr_next;
        if (!ws->rr_head) ws->rr_tail = NULL;
        g->active = 0;
    }
    return ws->rr_head ? ws->rr_head->q.head : NULL;
}

static void take(nna_workspace *ws, nna_op *op)
{
    nna_wsq *q = op->queue;
    q_pop(q);
    ws->queued--;
    if (ws->rr_head && q == &ws->rr_head->q) { /* rotate: the next agent goes next */
        group_q *g = ws->rr_head;
        ws->rr_head = g->rr_next;
        if (!ws->rr_head) ws->rr_tail = NULL;
        g->active = 0;
        if (g->q.head) rr_activate(ws, g);
    }
}

/* ---- admission ---------------------------------------------------------------------- */

static double now_of(nna_workspace *ws) { return nna_loop_now(home_loop(ws)); }

/* 0 when op may go now; otherwise the time to look again (INFINITY = on the next event). */
static double blocked_until(nna_workspace *ws, nna_op *op, double now)
{
    if (ws->gate_closed) {
        if (now < ws->gate_until) return ws->gate_until;
        ws->gate_closed = 0;
        ws->ctr.paused_seconds += now - ws->gate_since;
        nna_ws_emit(ws, NNA_WS_GATE_OPENED, 0, 0, NULL);
    }
    if (ws->health_closed) {
        if (now < ws->health_until) return ws->health_until;
        if (ws->probe_out) return INFINITY;
    }
    if (ws->inflight >= (unsigned)ws->cap) return INFINITY;
    if (ws->paced) {
        double w = nna_tb_wait(&ws->tb, now);
        if (w > 0) return now + w;
    }
    if (op->budgeted) {
        if (!nna_budget_try_spend(&ws->budget, now)) {
            double floor = ws->o.retry_budget_floor > 0 ? ws->o.retry_budget_floor : 1;
            return now + 1.0 / floor;
        }
        op->budgeted = 0;
    }
    return 0;
}

static void pump(nna_workspace *ws)
{
    if (!home_loop(ws)) return;
    if (ws->pumping) { ws->repump = 1; return; }
    ws->pumping = 1;
    do {
        ws->repump = 0;
        nna_op *op;
        while ((op = peek_next(ws))) {
            double now = now_of(ws);
            double until = blocked_until(ws, op, now);
            if (until != 0) {
                if (isfinite(until)) wake_at(ws, until);
                break;
            }
            take(ws, op);
            if (ws->paced) nna_tb_take(&ws->tb, now);
            if (op->attempts == 0) nna_budget_on_request(&ws->budget, now);
            op->probe = ws->health_closed;
            if (op->probe) ws->probe_out = 1;
            ws->inflight++;
            ws->ctr.sent++;
            nna_op_send(op);
        }
    } while (ws->repump);
    ws->pumping = 0;
}

/* ---- adaptation --------------------------------------------------------------------- */

static void set_cap(nna_workspace *ws, double cap)
{
    if (cap < 1) cap = 1;
    if (cap > ws->o.max_inflight) cap = ws->o.max_inflight;
    unsigned before = (unsigned)ws->cap;
    ws->cap = cap;
    if ((unsigned)cap != before) nna_ws_emit(ws, NNA_WS_CAP_CHANGED, (unsigned)cap, 0, NULL);
}

static void set_rate(nna_workspace *ws, double rate, double now)
{
    if (rate < MIN_RATE) rate = MIN_RATE;
    if (!ws->paced) nna_tb_init(&ws->tb, rate, 1, now);
    else nna_tb_set_rate(&ws->tb, rate, now);
    ws->tb.burst = rate / 10 > 1 ? rate / 10 : 1; /* ~100 ms of burst: smooth, not bursty */
    ws->paced = 1;
    ws->last_probe = now;
    nna_ws_emit(ws, NNA_WS_RATE_CHANGED, rate, 0, NULL);
}

/* Successes in half-second buckets over the last RATE_WINDOW seconds. */
static void note_success(nna_workspace *ws, double now)
{
    if (ws->first_success < 0) {
        ws->first_success = now;
        ws->bucket_t0 = floor(now * 2) / 2;
    }
    while (now >= ws->bucket_t0 + 0.5) {
        memmove(ws->succ_bucket + 1, ws->succ_bucket, (NBUCKETS - 1) * sizeof(double));
        ws->succ_bucket[0] = 0;
        ws->bucket_t0 += 0.5;
        if (now - ws->bucket_t0 > RATE_WINDOW) { /* long quiet: restart the window */
            memset(ws->succ_bucket, 0, sizeof ws->succ_bucket);
            ws->bucket_t0 = floor(now * 2) / 2;
        }
    }
    ws->succ_bucket[0] += 1;
}

static double success_rate(nna_workspace *ws, double now)
{
    double n = 0;
    for (int i = 0; i < NBUCKETS; i++) n += ws->succ_bucket[i];
    double span = now - ws->first_success;
    if (span > RATE_WINDOW) span = RATE_WINDOW;
    if (span < 0.5) span = 0.5;
    return n / span;
}

static void on_rate_limited(nna_workspace *ws, double retry_after, double now)
{
    ws->ctr.rate_limited++;
    double pause = retry_after >= 0 ? retry_after : 1.0;
    /* Jitter so that every client of the workspace does not come back at one instant. */
    double c0 = ws->nclients ? nna_rng_uniform(&ws->clients[0]->rng) : 0.5;
    double until = now + pause + c0 * (0.05 + pause * 0.1);
    if (!ws->gate_closed) {
        ws->gate_closed = 1;
        ws->gate_since = now;
        ws->ctr.gate_closures++;
        nna_ws_emit(ws, NNA_WS_GATE_CLOSED, until - now, 429, NULL);
    }
    if (until > ws->gate_until) ws->gate_until = until;
    if (!ws->o.adaptive || now - ws->last_decrease < 0.5) return; /* one decrease per burst */
    ws->last_decrease = now;
    set_cap(ws, ws->cap / 2);
    double est = success_rate(ws, now) * 0.9;
    if (ws->paced && ws->tb.rate < est) est = ws->tb.rate * 0.9;
    set_rate(ws, est, now);
}

static void on_success(nna_workspace *ws, double now)
{
    ws->ctr.succeeded++;
    note_success(ws, now);
    ws->failures = 0;
    if (ws->health_closed) {
        ws->health_closed = 0;
        ws->health_level = 0;
        nna_ws_emit(ws, NNA_WS_GATE_OPENED, 0, 0, NULL);
    }
    if (!ws->o.adaptive) return;
    if (ws->cap < ws->o.max_inflight) set_cap(ws, ws->cap + 1.0 / ws->cap);
    /* Probe the rate upward gently after quiet time. */
    if (ws->paced && now - ws->last_probe >= 1.0 && now - ws->last_decrease >= 1.0) {
        double steps = floor(now - ws->last_probe);
        nna_tb_set_rate(&ws->tb, ws->tb.rate * pow(RATE_PROBE_STEP, steps), now);
        ws->tb.burst = ws->tb.rate / 10 > 1 ? ws->tb.rate / 10 : 1;
        ws->last_probe = now;
    }
}

static void on_trouble(nna_workspace *ws, double now, int probe)
{
    /* While closed, only the probe's answer is news; the failures of requests that were
     * already in flight when it closed must not stretch the back-off. */
    if (ws->health_closed && !probe) return;
    if (!ws->health_closed && ++ws->failures < FAIL_THRESHOLD) return;
    size_t n = sizeof health_schedule / sizeof health_schedule[0];
    double delay = health_schedule[ws->health_level < n ? ws->health_level : n - 1];
    if (ws->health_level < n) ws->health_level++;
    if (!ws->health_closed) {
        ws->ctr.gate_closures++;
        ws->health_closed = 1;
    }
    ws->health_until = now + delay;
    nna_ws_emit(ws, NNA_WS_GATE_CLOSED, delay, 500, NULL);
}

void nna_ws_attempt_done(nna_workspace *ws, nna_op *op, long http_status,
                         nna_retry_class cls, double retry_after)
{
    (void)http_status;
    int probe = op->probe;
    if (ws->inflight > 0) ws->inflight--;
    if (probe) {
        op->probe = 0;
        ws->probe_out = 0;
    }
    if (home_loop(ws)) {
        double now = now_of(ws);
        switch (cls) {
        case NNA_RC_OK: on_success(ws, now); break;
        case NNA_RC_RATE: on_rate_limited(ws, retry_after, now); break;
        case NNA_RC_SERVER:
        case NNA_RC_NETWORK:
        case NNA_RC_UNSENT: on_trouble(ws, now, probe); break;
        case NNA_RC_FATAL: ws->failures = 0; break;
        }
    }
    pump(ws);
}
