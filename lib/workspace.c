/* The per-workspace limiter.
 *
 * Admission: an op leaves its queue only when (1) the 429 gate is open, (2) the health
 * gate is open or this is its single probe, (3) fewer requests than the adaptive cap (and
 * the slow start, at first and after a gate: 2, then +1 per success) are in flight, and
 * (4) the pacer has a token. Queues are
 * served in class order (polls and reconciliation checks, then other calls, then new
 * runs), each in submission order; runs are served round-robin across agents, so one
 * agent's 10,000 queued runs do not starve another's 10. Retries go to the front.
 *
 * 429: the gate closes for the Retry-After (capped by the client's max_retry_after) plus a
 * little jitter, so every request of the workspace waits it out together instead of each
 * discovering the limit on its own; queued ops whose deadline falls inside the pause end
 * at once with NNA_ERATE_LIMITED. The cap halves (once per burst of 429s) and grows back
 * by 1/cap per success. When the gate opens the pacer (tokenbucket.c) fits the server's
 * token bucket to the log of sends and 429s, and the queue is released at the learned rate
 * from a single token, with a slow start on the number in flight. Only the first 429 needs
 * that pause (it teaches the burst): the pacer absorbs the ramp's 429 after it, and later
 * ones once in a while (nna_pacer_rejected): the gate stays open, only the rejected op waits
 * its own Retry-After, the rest go on at the re-fitted rate. 429s that keep coming, or a
 * Retry-After above NNA_PACER_ABSORB_S, close the gate as before.
 *
 * Health: FAIL_THRESHOLD consecutive 5xx or transport failures close the health gate for
 * 1, 2, 5, 10, then 30 s; when it is due, a single probe goes; its success (or any answer
 * from the server) opens the gate, its failure closes it for the next step. Ops waiting
 * behind it spend no attempts. A failed probe is requeued at the back of its class, so
 * successive probes are paid by different ops.
 *
 * Retry budget: a retry after server trouble reserves a token (earned at ratio per first
 * attempt plus floor per second); beyond the budget the retry waits for its token (the
 * pipeline adds the wait to its back-off, within its deadline) rather than failing.
 *
 * With a shared backend (limit_backend.h) the health gate and the retry budget are shared
 * too: nna_ws_lim_health and nna_ws_lim_budget bring in the other processes' state. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include "limiter.h"
#include "tokenbucket.h"
#include "reconcile.h"
#include "limit_backend.h"

#define FAIL_THRESHOLD   3
#define DEFAULT_PAUSE    1.0    /* a 429 without a usable Retry-After */
#define DECREASE_GUARD   0.5    /* one cap decrease per burst of 429s */
#define SLOW_START       2.0
#define LEASE_BATCH      8      /* shared slots asked for in one round trip */
#define LEASE_RETRY      0.01   /* none free: ask again after this (jittered) */

typedef struct group_q {
    char            key[40];
    nna_wsq         q;
    struct group_q *hnext;      /* hash chain */
    struct group_q *rr_next;    /* active ring */
    int             active;
} group_q;

struct nna_workspace {
    unsigned        refs;
    nna_workspace_options o;
    nna_client    **clients;
    size_t          nclients;
    nna_wsq         cls[NNA_CLASS_RUN];     /* POLL and NORMAL */
    group_q       **gtab;                   /* run queues per agent, hashed */
    size_t          gcap, ngroups;
    group_q        *rr_head, *rr_tail;      /* agents with queued runs, served in turn */
    size_t          queued;
    unsigned        inflight;
    double          cap;
    double          slow;                   /* slow-start limit after a gate; INFINITY = off */
    /* 429 gate */
    int             gate_closed;
    double          gate_until, gate_since, last_decrease;
    double          scanned_until;          /* gate_until when the queue was last scanned */
    /* pacing */
    nna_pacer       pacer;
    /* health gate */
    unsigned        failures, health_level;
    int             health_closed, probe_out;
    double          health_until;
    nna_retry_budget budget;
    struct nna_idset *claimed;
    struct nna_reconciler *reconcilers;     /* reconcile.c's registry (one per target) */
    nna_workspace_counters ctr;
    nna_timer       timer;
    int             pumping, repump;
    unsigned        hold;                   /* > 0: pump and refusals wait (nna_ws_hold) */
    int             held_pump, held_refuse;
    nna_ws_event_cb hook;
    void           *hook_ud;
    nna_ws_io       io;
    /* shared backend (NULL = in-process: the counters above are the whole truth) */
    const nna_limit_ops *lim_ops;
    void           *lim;
    unsigned        leased;                 /* shared slots held (≥ inflight) */
    int             lim_waiting;            /* an acquire is on its way */
    double          lim_next_ask;           /* none was free: not before this */
    unsigned        members, shared_cap;    /* as last seen */
    double          shared_rate;            /* as last seen (0 = unpaced) */
    unsigned        tok_n;                  /* shared sends reserved ... */
    double          tok_next, tok_step;     /* ... the next one at tok_next, then every step */
    int             gate_local;             /* a 429 of ours closed or extended the gate */
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

static void default_reject(nna_op *op, nna_status st, double retry_after)
{
    nna_op_reject(op, st, retry_after);
}

nna_status nna_workspace_new(const nna_workspace_options *o, nna_workspace **out)
{
    if (!out) return NNA_EINVAL;
    *out = NULL;
    nna_workspace *ws = calloc(1, sizeof *ws);
    if (!ws) return NNA_ENOMEM;
    if (o) ws->o = *o; else nna_workspace_options_init(&ws->o);
    if (ws->o.max_inflight == 0) ws->o.max_inflight = 64;
    if (!(ws->o.rate_limit >= 0) || !isfinite(ws->o.rate_limit)) ws->o.rate_limit = 0;
    ws->claimed = nna_idset_new();
    if (!ws->claimed) {
        free(ws);
        return NNA_ENOMEM;
    }
    ws->refs = 1;
    ws->cap = ws->o.max_inflight;
    ws->slow = SLOW_START; /* a cold workspace starts small, like TCP: +1 per success */
    ws->last_decrease = -INFINITY;
    nna_pacer_init(&ws->pacer, ws->o.rate_limit, 0);
    nna_budget_init(&ws->budget, ws->o.retry_budget_ratio, ws->o.retry_budget_floor,
                    NNA_RETRY_BUDGET_CAP, 0);
    ws->io.send = nna_op_send;
    ws->io.reject = default_reject;
    ws->ctr.cap = ws->o.max_inflight;
    ws->ctr.rate = ws->o.rate_limit;
    ws->members = 1;
    ws->shared_cap = ws->o.max_inflight;
    nna_status st = NNA_OK;
    if (ws->o.limiter_url && ws->o.limiter_url[0]) {
#ifdef HAVE_HIREDIS
        st = nna_limit_redis_new(ws, &ws->o, &ws->lim_ops, &ws->lim);
#else
        st = NNA_EINVAL; /* built without hiredis: no shared backend */
#endif
    }
    ws->o.limiter_url = ws->o.limiter_password = NULL; /* not kept: the backend copied them */
    if (st != NNA_OK) {
        nna_workspace_unref(ws);
        return st;
    }
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
    for (size_t i = 0; i < ws->gcap; i++) {
        while (ws->gtab[i]) {
            group_q *g = ws->gtab[i];
            ws->gtab[i] = g->hnext;
            free(g);
        }
    }
    free(ws->gtab);
    if (ws->lim_ops) ws->lim_ops->free(ws->lim);
    nna_pacer_free(&ws->pacer);
    nna_idset_free(ws->claimed);
    free(ws->clients);
    free(ws);
}

void nna_workspace_counters_get(const nna_workspace *ws, nna_workspace_counters *out)
{
    *out = ws->ctr;
    out->inflight = ws->inflight;
    out->cap = (unsigned)ws->cap;
    out->queued = ws->queued;
    out->limiter_calls = ws->lim_ops ? ws->lim_ops->calls(ws->lim) : 0;
    out->limiter_members = ws->members;
    out->rate = ws->lim_ops ? ws->shared_rate
              : ws->pacer.mode == NNA_PACER_FREE ? 0 : ws->pacer.rate;
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
struct nna_idset *nna_ws_claimed(nna_workspace *ws) { return ws->claimed; }
nna_reconciler **nna_ws_reconcilers(nna_workspace *ws) { return &ws->reconcilers; }
const nna_pacer *nna_ws_pacer(const nna_workspace *ws) { return &ws->pacer; }

void nna_ws_set_io(nna_workspace *ws, const nna_ws_io *io)
{
    ws->io.send = io && io->send ? io->send : nna_op_send;
    ws->io.reject = io && io->reject ? io->reject : default_reject;
}

/* ---- clients and the timer ---------------------------------------------------------- */

static void on_timer(nna_timer *t, void *arg);
static void pump(nna_workspace *ws);

static nna_loop *home_loop(nna_workspace *ws)
{
    return ws->nclients ? &ws->clients[0]->loop : NULL;
}

nna_client *const *nna_ws_clients(const nna_workspace *ws, size_t *n)
{
    *n = ws->nclients;
    return ws->clients;
}

int nna_ws_attach(nna_workspace *ws, nna_client *c)
{
    nna_client **n = realloc(ws->clients, (ws->nclients + 1) * sizeof *n);
    if (!n) return -1;
    ws->clients = n;
    ws->clients[ws->nclients++] = c;
    if (ws->nclients == 1) {
        nna_timer_init(&ws->timer, on_timer, ws);
        /* The pacer's clock is the loop's: restart it there. */
        double now = nna_loop_now(&c->loop);
        ws->pacer.tb.last = now;
        ws->budget.last = now;
        if (ws->lim_ops) ws->lim_ops->attach(ws->lim, &c->loop);
    }
    return 0;
}

void nna_ws_detach(nna_workspace *ws, nna_client *c)
{
    for (size_t i = 0; i < ws->nclients; i++) {
        if (ws->clients[i] != c) continue;
        int moving = i == 0 && nna_timer_active(&ws->timer);
        double at = ws->timer.at;
        if (moving) nna_timer_stop(&c->loop, &ws->timer);
        /* the shared backend's connection lives on the home loop too: move it */
        if (i == 0 && ws->lim_ops) ws->lim_ops->detach(ws->lim);
        memmove(ws->clients + i, ws->clients + i + 1, (ws->nclients - i - 1) * sizeof *ws->clients);
        ws->nclients--;
        /* the timer lived on this client's loop: move it to the next client's */
        if (moving && ws->nclients) nna_timer_start_at(home_loop(ws), &ws->timer, at);
        if (i == 0 && ws->lim_ops && ws->nclients) {
            ws->lim_waiting = 0; /* the detach dropped any acquire on its way */
            ws->lim_ops->attach(ws->lim, home_loop(ws));
        }
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
        op->qprev = NULL;
        op->qnext = q->head;
        if (q->head) q->head->qprev = op; else q->tail = op;
        q->head = op;
    } else {
        op->qnext = NULL;
        op->qprev = q->tail;
        if (q->tail) q->tail->qnext = op; else q->head = op;
        q->tail = op;
    }
    q->len++;
}

static void q_unlink(nna_wsq *q, nna_op *op)
{
    if (op->qprev) op->qprev->qnext = op->qnext; else q->head = op->qnext;
    if (op->qnext) op->qnext->qprev = op->qprev; else q->tail = op->qprev;
    op->qnext = op->qprev = NULL;
    op->queue = NULL;
    q->len--;
}

static size_t hash_key(const char *s)
{
    size_t h = 1469598103934665603ULL & SIZE_MAX;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
    return h;
}

static int groups_grow(nna_workspace *ws)
{
    size_t ncap = ws->gcap ? ws->gcap * 2 : 16;
    group_q **nt = calloc(ncap, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < ws->gcap; i++) {
        while (ws->gtab[i]) {
            group_q *g = ws->gtab[i];
            ws->gtab[i] = g->hnext;
            size_t j = hash_key(g->key) & (ncap - 1);
            g->hnext = nt[j];
            nt[j] = g;
        }
    }
    free(ws->gtab);
    ws->gtab = nt;
    ws->gcap = ncap;
    return 0;
}

static group_q *group_for(nna_workspace *ws, const char *key)
{
    if (ws->gcap) {
        for (group_q *g = ws->gtab[hash_key(key) & (ws->gcap - 1)]; g; g = g->hnext)
            if (strcmp(g->key, key) == 0) return g;
    }
    if ((ws->ngroups + 1 > ws->gcap) && groups_grow(ws) != 0) return NULL;
    group_q *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    snprintf(g->key, sizeof g->key, "%s", key);
    size_t j = hash_key(key) & (ws->gcap - 1);
    g->hnext = ws->gtab[j];
    ws->gtab[j] = g;
    ws->ngroups++;
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

static double now_of(nna_workspace *ws) { return nna_loop_now(home_loop(ws)); }

/* The 429 gate stays closed past op's deadline: refuse it now rather than at the deadline. */
static int doomed(const nna_workspace *ws, const nna_op *op, double now)
{
    return ws->gate_closed && now < ws->gate_until && op->deadline < ws->gate_until;
}

void nna_ws_enqueue(nna_workspace *ws, nna_op *op, int retry)
{
    int front = retry && !op->was_probe;
    op->was_probe = 0;
    if (home_loop(ws)) {
        double now = now_of(ws);
        if (doomed(ws, op, now)) {
            ws->io.reject(op, NNA_ERATE_LIMITED, ws->gate_until - now);
            return;
        }
    }
    if (op->klass == NNA_CLASS_RUN) {
        group_q *g = group_for(ws, op->group);
        if (!g) { /* out of memory: fall back to the normal queue, never lose the op */
            q_push(&ws->cls[NNA_CLASS_NORMAL], op, front);
        } else {
            q_push(&g->q, op, front);
            rr_activate(ws, g);
        }
    } else {
        q_push(&ws->cls[op->klass < NNA_CLASS_RUN ? op->klass : NNA_CLASS_NORMAL], op, front);
    }
    ws->queued++;
    pump(ws);
}

void nna_ws_remove(nna_workspace *ws, nna_op *op)
{
    if (!op->queue) return;
    q_unlink(op->queue, op);
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
    q_unlink(q, op);
    ws->queued--;
    if (ws->rr_head && q == &ws->rr_head->q) { /* rotate: the next agent goes next */
        group_q *g = ws->rr_head;
        ws->rr_head = g->rr_next;
        if (!ws->rr_head) ws->rr_tail = NULL;
        g->active = 0;
        if (g->q.head) rr_activate(ws, g);
    }
}

/* Refuses every queued op whose deadline falls inside the 429 pause. */
static void refuse_doomed(nna_workspace *ws, double now)
{
    nna_op *victims = NULL;
    for (int k = 0; k < NNA_CLASS_RUN; k++)
        for (nna_op *op = ws->cls[k].head; op; op = op->qnext)
            if (doomed(ws, op, now)) { op->fnext = victims; victims = op; }
    for (size_t i = 0; i < ws->gcap; i++)
        for (group_q *g = ws->gtab[i]; g; g = g->hnext)
            for (nna_op *op = g->q.head; op; op = op->qnext)
                if (doomed(ws, op, now)) { op->fnext = victims; victims = op; }
    for (nna_op *op = victims; op; op = victims) {
        victims = op->fnext;
        op->fnext = NULL;
        nna_ws_remove(ws, op);
        ws->io.reject(op, NNA_ERATE_LIMITED, ws->gate_until - now);
    }
}

/* ---- admission ---------------------------------------------------------------------- */

static void gate_open(nna_workspace *ws, double now)
{
    ws->gate_closed = 0;
    ws->ctr.paused_seconds += ws->gate_until - ws->gate_since; /* (noticed late when idle) */
    nna_ws_emit(ws, NNA_WS_GATE_OPENED, 0, 429, NULL);
    /* with a shared backend the rate is learned there (limit_redis.c): the local pacer
     * sees only this process's share of the sends */
    int learn = !ws->lim_ops;
    ws->gate_local = 0;
    if (ws->o.adaptive && learn) {
        double before = ws->pacer.mode == NNA_PACER_FREE ? 0 : ws->pacer.rate;
        double r = nna_pacer_reopen(&ws->pacer, now);
        if (r != before) nna_ws_emit(ws, NNA_WS_RATE_CHANGED, r, 0, NULL);
    }
    if (ws->slow > SLOW_START) ws->slow = SLOW_START;
}

/* ---- the shared backend ------------------------------------------------------------ */

static void lim_take(nna_workspace *ws, const nna_lim_grant *g, double now)
{
    ws->leased += g->slots;
    if (g->tokens) {
        if (ws->tok_n == 0) ws->tok_next = now + g->delay;
        ws->tok_n += g->tokens;
        ws->tok_step = g->rate > 0 ? 1 / g->rate : 0;
    }
    ws->shared_rate = g->rate;
}

/* Admission with a shared backend: a leased slot and a reserved send are needed (the
 * shared send schedule replaces the local pacer). What is missing is asked for in one
 * round trip, in batches: slots up to what the queue and the local limit can use, sends
 * for about 50 ms at the shared rate. Returns 0 (go), or when to look again. */
static double lim_admit(nna_workspace *ws, double now, unsigned limit)
{
    int need_slot = ws->inflight >= ws->leased, need_tok = ws->tok_n == 0;
    if (!need_slot && !need_tok) return now >= ws->tok_next ? 0 : ws->tok_next;
    if (ws->lim_waiting) return INFINITY;
    if (now < ws->lim_next_ask) return ws->lim_next_ask;
    size_t slots = 0, toks = 0;
    if (need_slot) {
        slots = limit > ws->leased ? limit - ws->leased : 0;
        if (slots > ws->queued) slots = ws->queued;
        if (slots > LEASE_BATCH) slots = LEASE_BATCH;
        if (slots == 0) return INFINITY;
    }
    if (need_tok) {
        double b = ws->shared_rate > 0 ? ws->shared_rate * 0.05 : 16;
        toks = b < 1 ? 1 : b > 64 ? 64 : (size_t)b;
        if (toks > ws->queued) toks = ws->queued;
    }
    nna_lim_grant g;
    if (ws->lim_ops->acquire(ws->lim, ws->leased, (unsigned)slots, (unsigned)toks, &g) < 0) {
        ws->lim_waiting = 1;
        return INFINITY;
    }
    lim_take(ws, &g, now);
    if ((!need_slot || g.slots) && (!need_tok || g.tokens)) return ws->tok_next > now ? ws->tok_next : 0;
    ws->lim_next_ask = now + LEASE_RETRY; /* (degraded and our share is in use) */
    return ws->lim_next_ask;
}

void nna_ws_lim_granted(nna_workspace *ws, const nna_lim_grant *g)
{
    ws->lim_waiting = 0;
    if (!home_loop(ws)) return;
    double now = now_of(ws);
    lim_take(ws, g, now);
    if (g->slots == 0 && g->tokens == 0) { /* none free: ask again soon, not in step */
        double u = nna_rng_uniform(&ws->clients[0]->rng);
        ws->lim_next_ask = now + LEASE_RETRY * (1 + u);
        wake_at(ws, ws->lim_next_ask);
    }
    pump(ws);
}

/* A send goes: spend its reserved place in the shared schedule (a late send does not
 * make the next one early: the server would see them as a burst). */
static void lim_sent(nna_workspace *ws, double now)
{
    if (!ws->lim_ops || ws->tok_n == 0) return;
    ws->tok_n--;
    double next = ws->tok_next + ws->tok_step;
    ws->tok_next = next > now ? next : now;
}

/* Gives back the shared slots this process cannot use now: all spare ones when nothing
 * waits, those beyond its fair share (cap / processes) otherwise. `ok`: a success to
 * report (it grows the shared cap). */
static void lim_give_back(nna_workspace *ws, unsigned ok)
{
    if (!ws->lim_ops) return;
    unsigned keep = ws->leased;
    if (ws->queued == 0) {
        keep = ws->inflight;
    } else {
        unsigned n = ws->members ? ws->members : 1;
        unsigned share = (ws->shared_cap + n - 1) / n;
        if (share < 1) share = 1;
        if (keep > share) keep = ws->inflight > share ? ws->inflight : share;
    }
    if (keep > ws->leased) keep = ws->leased;
    ws->leased = keep;
    ws->lim_ops->release(ws->lim, keep, ok);
}

void nna_ws_lim_shared(nna_workspace *ws, double gate_s, unsigned members, unsigned cap)
{
    ws->members = members ? members : 1;
    ws->shared_cap = cap ? cap : ws->o.max_inflight;
    if (!(gate_s > 0) || !home_loop(ws)) return;
    double now = now_of(ws), until = now + gate_s;
    if (!ws->gate_closed) {
        ws->gate_closed = 1;
        ws->gate_since = now;
        ws->gate_until = until;
        ws->ctr.gate_closures++;
        ws->tok_n = 0; /* reserved for a schedule the pause cancelled */
        nna_ws_emit(ws, NNA_WS_GATE_CLOSED, gate_s, 429, NULL);
        if (ws->slow > SLOW_START) ws->slow = SLOW_START;
    } else if (until > ws->gate_until) {
        ws->gate_until = until;
    } else {
        return;
    }
    if (ws->gate_until > ws->scanned_until + 0.05) {
        ws->scanned_until = ws->gate_until;
        if (ws->hold) ws->held_refuse = 1; else refuse_doomed(ws, now);
    }
}

/* 0 when the next op may go now; otherwise the time to look again (INFINITY = on the next
 * event: a reply or a new op). */
static double blocked_until(nna_workspace *ws, double now)
{
    if (ws->gate_closed) {
        if (now < ws->gate_until) return ws->gate_until;
        gate_open(ws, now);
    }
    if (ws->health_closed) {
        if (now < ws->health_until) return ws->health_until;
        if (ws->probe_out) return INFINITY;
    }
    double limit = ws->cap < ws->slow ? ws->cap : ws->slow;
    if (ws->inflight >= (unsigned)limit) return INFINITY;
    if (ws->lim_ops) return lim_admit(ws, now, (unsigned)limit);
    double w = nna_pacer_wait(&ws->pacer, now);
    if (w > 0) return now + w;
    return 0;
}

static void pump(nna_workspace *ws)
{
    if (!home_loop(ws)) return;
    if (ws->hold) { ws->held_pump = 1; return; }
    if (ws->pumping) { ws->repump = 1; return; }
    ws->pumping = 1;
    do {
        ws->repump = 0;
        nna_op *op;
        while ((op = peek_next(ws))) {
            double now = now_of(ws);
            double until = blocked_until(ws, now);
            if (until != 0) {
                if (isfinite(until)) wake_at(ws, until);
                break;
            }
            take(ws, op);
            lim_sent(ws, now);
            op->pace_id = nna_pacer_sent(&ws->pacer, now, ws->queued > 0);
            if (op->attempts == 0) {
                nna_budget_on_request(&ws->budget, now);
                if (ws->lim_ops) ws->lim_ops->retry(ws->lim, 1, 0);
            }
            op->probe = (unsigned char)ws->health_closed;
            if (op->probe) ws->probe_out = 1;
            ws->inflight++;
            ws->ctr.sent++;
            ws->io.send(op);
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

/* A 429 the pacer learns from without a pause (see nna_pacer_rejected): only its op waits
 * its Retry-After (the pipeline's retry), the others go on at the new rate. Not with a
 * shared backend: there the rate is learned in Redis. */
static int absorbed(nna_workspace *ws, const nna_op *op, double retry_after, double now)
{
    if (ws->gate_closed || !ws->o.adaptive || ws->lim_ops) return 0;
    double before = ws->pacer.mode == NNA_PACER_FREE ? 0 : ws->pacer.rate;
    if (!nna_pacer_rejected(&ws->pacer, op->pace_id, retry_after, now)) return 0;
    if (ws->pacer.rate != before) nna_ws_emit(ws, NNA_WS_RATE_CHANGED, ws->pacer.rate, 0, NULL);
    return 1;
}

static void on_rate_limited(nna_workspace *ws, const nna_op *op, double retry_after, double now)
{
    ws->ctr.rate_limited++;
    if (absorbed(ws, op, retry_after, now)) return;
    double pause = retry_after >= 0 ? retry_after : DEFAULT_PAUSE;
    double cap = op->c ? op->c->policy.max_retry_after : 0;
    if (cap > 0 && pause > cap) pause = cap;
    /* Jitter so that the workspace's queue (and other processes) do not all come back at
     * one instant; a little, since the queue is paced out anyway. */
    double u = ws->nclients ? nna_rng_uniform(&ws->clients[0]->rng) : 0.5;
    double until = now + pause + u * (0.02 + pause * 0.05);
    ws->gate_local = 1;
    if (!ws->gate_closed) {
        ws->gate_closed = 1;
        ws->gate_since = now;
        ws->gate_until = until;
        ws->ctr.gate_closures++;
        nna_ws_emit(ws, NNA_WS_GATE_CLOSED, until - now, 429, NULL);
        ws->tok_n = 0;
        if (ws->lim_ops) ws->lim_ops->gate(ws->lim, until - now);
    } else if (until > ws->gate_until) {
        if (ws->lim_ops && until > ws->gate_until + 0.05) ws->lim_ops->gate(ws->lim, until - now);
        ws->gate_until = until;
    }
    if (ws->o.adaptive && now - ws->last_decrease >= DECREASE_GUARD) {
        ws->last_decrease = now;
        set_cap(ws, ws->cap / 2);
    }
    /* A burst of 429s nudges the end of the pause by its jitter: rescan the queue only
     * when the pause grew noticeably (an op missed here ends at its own deadline). */
    if (ws->gate_until > ws->scanned_until + 0.05) {
        ws->scanned_until = ws->gate_until;
        if (ws->hold) ws->held_refuse = 1; else refuse_doomed(ws, now);
    }
}

void nna_ws_hold(nna_workspace *ws)
{
    nna_workspace_ref(ws); /* the client may be torn down before the release */
    ws->hold++;
}

void nna_ws_release(nna_workspace *ws)
{
    if (ws->hold > 0 && --ws->hold == 0) {
        if (ws->held_refuse && home_loop(ws)) {
            ws->held_refuse = 0;
            refuse_doomed(ws, now_of(ws));
        }
        if (ws->held_pump) {
            ws->held_pump = 0;
            pump(ws);
        }
    }
    nna_workspace_unref(ws);
}

static void health_open(nna_workspace *ws)
{
    ws->health_closed = 0;
    ws->health_level = 0;
    ws->failures = 0;
    if (ws->slow > SLOW_START) ws->slow = SLOW_START;
    nna_ws_emit(ws, NNA_WS_GATE_OPENED, 0, 500, NULL);
}

/* The server answered: the health gate opens (for every process of a shared backend). */
static void health_answered(nna_workspace *ws)
{
    ws->failures = 0;
    if (!ws->health_closed) return;
    health_open(ws);
    if (ws->lim_ops) ws->lim_ops->healthy(ws->lim);
}

/* With a shared backend: another process's run of failures closed the gate (we wait for
 * its probe, `grace` past the pause), or ours did (we probe when it is due); or a success
 * anywhere opened it. */
void nna_ws_lim_health(nna_workspace *ws, int closed, double left, double grace)
{
    if (!home_loop(ws)) return;
    if (!closed) {
        if (!ws->health_closed) return;
        health_open(ws);
        pump(ws);
        return;
    }
    double now = now_of(ws), until = now + (left > 0 ? left : 0) + grace;
    if (!ws->health_closed) {
        ws->health_closed = 1;
        ws->ctr.gate_closures++;
        nna_ws_emit(ws, NNA_WS_GATE_CLOSED, until - now, 500, NULL);
    }
    ws->health_until = until;
    pump(ws);
}

static void on_success(nna_workspace *ws)
{
    ws->ctr.succeeded++;
    health_answered(ws);
    if (isfinite(ws->slow) && (ws->slow += 1) >= ws->cap) ws->slow = INFINITY;
    if (ws->o.adaptive && ws->cap < ws->o.max_inflight) set_cap(ws, ws->cap + 1.0 / ws->cap);
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
    if (ws->lim_ops) ws->lim_ops->health(ws->lim, delay, probe);
}

static void release_slot(nna_workspace *ws, nna_op *op)
{
    if (ws->inflight > 0) ws->inflight--;
    if (op->probe) {
        op->probe = 0;
        ws->probe_out = 0;
    }
}

void nna_ws_attempt_done(nna_workspace *ws, nna_op *op, long http_status,
                         nna_retry_class cls, double retry_after)
{
    (void)http_status;
    int probe = op->probe;
    release_slot(ws, op);
    lim_give_back(ws, cls == NNA_RC_OK);
    nna_pacer_result(&ws->pacer, op->pace_id, cls == NNA_RC_RATE ? 1 : cls == NNA_RC_UNSENT ? -1 : 0);
    if (home_loop(ws)) {
        double now = now_of(ws);
        switch (cls) {
        case NNA_RC_OK: on_success(ws); break;
        case NNA_RC_RATE: on_rate_limited(ws, op, retry_after, now); break;
        case NNA_RC_SERVER:
        case NNA_RC_NETWORK:
        case NNA_RC_UNSENT:
            on_trouble(ws, now, probe);
            if (probe && ws->health_closed) op->was_probe = 1;
            break;
        case NNA_RC_FATAL: /* the server answered: it is up */
            health_answered(ws);
            break;
        case NNA_RC_PERMANENT: /* nothing reached the server (the pipeline abandons it) */
            break;
        }
    }
    pump(ws);
}

void nna_ws_attempt_abandoned(nna_workspace *ws, nna_op *op, int unsent)
{
    release_slot(ws, op);
    lim_give_back(ws, 0);
    if (unsent) nna_pacer_result(&ws->pacer, op->pace_id, -1);
    pump(ws);
}

/* With a shared backend ws->budget is this process's view of the shared budget: it
 * answers at once (as in-process), and the spend goes to the shared one, whose answers
 * bring the others' spends into the view. Without Redis the view goes on alone: the
 * per-process budget. */
double nna_ws_retry_budget_wait(nna_workspace *ws)
{
    if (!home_loop(ws)) return 0;
    double w = nna_budget_reserve(&ws->budget, now_of(ws));
    if (ws->lim_ops) ws->lim_ops->retry(ws->lim, 0, 1);
    return w;
}

void nna_ws_lim_budget(nna_workspace *ws, double tokens)
{
    if (!home_loop(ws) || !isfinite(tokens)) return;
    ws->budget.tokens = tokens < ws->budget.cap ? tokens : ws->budget.cap;
    ws->budget.last = now_of(ws);
}
