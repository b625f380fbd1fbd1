/* Reliability core (issue 5).
 *
 * "limiter": the per-workspace limiter driven directly on a fake clock against a
 * simulated server (a token bucket of rate R and burst B answering 429 with an integer
 * Retry-After, like nna-emu; or a server that is down for a while): fairness, class
 * order, the 429 gate and its gradual release, the learned send rate, the health gate's
 * single probe, the cap. Deterministic, so the figures are exact.
 *
 * "integration": the client against an in-process nna-emu with faults: Retry-After in
 * every form, 5xx, run creation in doubt, cancellation in every state, deadlines, shared
 * workspaces, a rate-limited fan-out and an outage in the middle of a fan-out.
 *
 * Debugging: RELIABILITY_ONLY=<part of a test name> runs only those tests;
 * RELIABILITY_TRACE=1 prints the limiter's events during the emulator fan-outs, SIM_TRACE=1
 * during the simulations; SIM_ALL=1 prints every simulated fan-out without asserting;
 * SIM_JITTER=<s> sets how much later than sent a simulated request may arrive (0.002). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "testutil.h"
#include "loop_core.h"
#include "limiter.h"
#include "tokenbucket.h"
#include "reconcile.h"
#include "retry.h"

/* ==== the limiter on a fake clock ===================================================== */

typedef struct fake_be {
    double    now;
    double    armed_at;     /* absolute; < 0 = disarmed */
    nna_loop *core;
} fake_be;

static void fb_attach(void *b, nna_loop *core) { ((fake_be *)b)->core = core; }
static int fb_io(void *b, int fd, int ev, void **slot) { (void)b; (void)fd; (void)ev; (void)slot; return 0; }
static void fb_timer(void *b, double s) { fake_be *f = b; f->armed_at = s < 0 ? -1 : f->now + s; }
static double fb_now(void *b) { return ((fake_be *)b)->now; }
static void fb_keep(void *b, int on) { (void)b; (void)on; }
static int fb_run(void *b) { (void)b; return -1; }
static void fb_close(void *b, void (*done)(void *), void *arg) { (void)b; if (done) done(arg); }
static const nna_loop_ops fake_ops = { fb_attach, fb_io, fb_timer, fb_now, fb_keep, fb_run, fb_close };

enum { EV_REPLY, EV_RETRY };
typedef struct sim_ev { double at; int kind; long status; double ra; nna_op *op; uint64_t seq; } sim_ev;

/* Events in time order, ties in the order they were scheduled. */
static int ev_before(const sim_ev *a, const sim_ev *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

typedef struct sim {
    fake_be        be;
    nna_client    *c;           /* a bare client struct: loop, rng, policy */
    nna_workspace *ws;
    /* the server */
    double         R, B, tokens, last;
    double         latency, jitter;
    nna_rng        noise;
    double         down_from, down_to;  /* 503 for requests arriving in [from, to) */
    /* events */
    sim_ev        *ev;
    size_t         nev, cap;
    uint64_t       seq;
    /* what happened */
    unsigned       sent, ok, r429, r503, rejected, max_inflight, inflight;
    double         first_send, last_done;
    nna_op       **order;       /* ops in the order they succeeded */
    size_t         norder, order_cap;
} sim;

static sim *S;

static void ev_push(sim *s, sim_ev e)
{
    if (s->nev == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
        ck_assert_ptr_nonnull(s->ev);
    }
    e.seq = s->seq++;
    size_t i = s->nev++;
    while (i > 0 && ev_before(&e, &s->ev[(i - 1) / 2])) { s->ev[i] = s->ev[(i - 1) / 2]; i = (i - 1) / 2; }
    s->ev[i] = e;
}

static sim_ev ev_pop(sim *s)
{
    sim_ev top = s->ev[0], last = s->ev[--s->nev];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nev) break;
        if (c + 1 < s->nev && ev_before(&s->ev[c + 1], &s->ev[c])) c++;
        if (!ev_before(&s->ev[c], &last)) break;
        s->ev[i] = s->ev[c];
        i = c;
    }
    if (s->nev) s->ev[i] = last;
    return top;
}

/* The simulated server decides when the request arrives (now) and answers after the
 * latency; the emulator's 429 carries ceil(seconds until a token), at least 1. */
static void sim_send(nna_op *op)
{
    sim *s = S;
    op->attempts++;
    s->sent++;
    if (++s->inflight > s->max_inflight) s->max_inflight = s->inflight;
    if (s->first_send < 0) s->first_send = s->be.now;
    sim_ev e = { s->be.now + s->latency, EV_REPLY, 200, -1, op, 0 };
    /* the request reaches the server up to `jitter` later: sends close together may be
     * taken in another order (several connections) */
    double arrive = s->be.now + s->jitter * nna_rng_uniform(&s->noise);
    if (arrive < s->last) arrive = s->last;
    if (s->be.now >= s->down_from && s->be.now < s->down_to) {
        e.status = 503;
    } else if (s->R > 0) {
        s->tokens += (arrive - s->last) * s->R;
        if (s->tokens > s->B) s->tokens = s->B;
        s->last = arrive;
        if (s->tokens >= 1) {
            s->tokens -= 1;
        } else {
            e.status = 429;
            double w = ceil((1 - s->tokens) / s->R - 1e-9);
            e.ra = w < 1 ? 1 : w;
        }
    }
    ev_push(s, e);
}

static void sim_reject(nna_op *op, nna_status st, double ra)
{
    (void)st; (void)ra;
    S->rejected++;
    op->state = NNA_OPS_DONE;
}

static void sim_hook(nna_workspace *ws, const nna_ws_event *ev, void *ud)
{
    (void)ws; (void)ud;
    if (!getenv("SIM_TRACE") || ev->kind == NNA_WS_ATTEMPT || ev->kind == NNA_WS_CAP_CHANGED) return;
    printf("  t=%.4f kind=%d value=%.3f http=%ld sent=%u ok=%u 429=%u\n", S->be.now - 1000,
           ev->kind, ev->value, ev->http_status, S->sent, S->ok, S->r429);
}

static void sim_init(sim *s, const nna_workspace_options *wo)
{
    memset(s, 0, sizeof *s);
    S = s;
    s->first_send = -1;
    s->be.armed_at = -1;
    s->down_from = s->down_to = -1;
    s->c = calloc(1, sizeof *s->c);
    ck_assert_ptr_nonnull(s->c);
    nna_loop_init(&s->c->loop, &fake_ops, &s->be);
    fake_ops.attach(&s->be, &s->c->loop);
    nna_rng_seed(&s->c->rng, 1);
    nna_retry_policy_init(&s->c->policy);
    ck_assert_int_eq(nna_workspace_new(wo, &s->ws), NNA_OK);
    nna_ws_attach(s->ws, s->c);
    nna_ws_io io = { sim_send, sim_reject };
    nna_ws_set_io(s->ws, &io);
    nna_workspace_set_hook(s->ws, sim_hook, NULL);
}

static void sim_server(sim *s, double rate, double burst, double latency)
{
    s->R = rate;
    s->B = burst;
    s->tokens = burst;
    s->latency = latency;
    s->jitter = getenv("SIM_JITTER") ? atof(getenv("SIM_JITTER")) : 0.002;
    nna_rng_seed(&s->noise, 99);
}

static void sim_fini(sim *s)
{
    nna_ws_detach(s->ws, s->c);
    nna_workspace_unref(s->ws);
    nna_loop_fini(&s->c->loop);
    free(s->c);
    free(s->ev);
    free(s->order);
    S = NULL;
}

static nna_op *sim_op(sim *s, nna_op_class k, const char *group)
{
    nna_op *op = calloc(1, sizeof *op);
    ck_assert_ptr_nonnull(op);
    op->c = s->c;
    op->klass = (unsigned char)k;
    op->kind = k == NNA_CLASS_RUN ? NNA_OP_RUN : NNA_OP_IDEMPOTENT;
    op->deadline = INFINITY;
    op->state = NNA_OPS_QUEUED;
    if (group) snprintf(op->group, sizeof op->group, "%s", group);
    return op;
}

/* Runs the simulation until `done` ops succeeded (or `limit` seconds of fake time). */
static void sim_run(sim *s, unsigned done, double limit)
{
    if (done > s->order_cap) {
        s->order = realloc(s->order, (done + 1) * sizeof *s->order);
        ck_assert_ptr_nonnull(s->order);
        s->order_cap = done;
    }
    while (s->ok < done && s->be.now < limit) {
        double tnext = s->nev ? s->ev[0].at : INFINITY;
        double armed = s->be.armed_at >= 0 ? s->be.armed_at : INFINITY;
        if (!isfinite(tnext) && !isfinite(armed)) break;
        if (armed <= tnext) {
            if (armed > s->be.now) s->be.now = armed;
            s->be.armed_at = -1;
            nna_loop_timer_fired(&s->c->loop);
            continue;
        }
        sim_ev e = ev_pop(s);
        if (e.at > s->be.now) s->be.now = e.at;
        nna_op *op = e.op;
        if (e.kind == EV_RETRY) {
            op->state = NNA_OPS_QUEUED;
            nna_ws_enqueue(s->ws, op, 1);
            continue;
        }
        s->inflight--;
        if (e.status == 200) {
            s->ok++;
            s->last_done = s->be.now;
            op->state = NNA_OPS_DONE;
            if (s->norder < done) s->order[s->norder++] = op;
            nna_ws_attempt_done(s->ws, op, 200, NNA_RC_OK, -1);
        } else if (e.status == 429) {
            s->r429++;
            op->state = NNA_OPS_BACKOFF;
            nna_ws_attempt_done(s->ws, op, 429, NNA_RC_RATE, e.ra);
            /* the pipeline: max(Retry-After, jittered base) */
            ev_push(s, (sim_ev){ s->be.now + e.ra, EV_RETRY, 0, 0, op, 0 });
        } else {
            s->r503++;
            op->state = NNA_OPS_BACKOFF;
            op->rs.server_attempts++;
            nna_ws_attempt_done(s->ws, op, 503, NNA_RC_SERVER, -1);
            double d = nna_backoff_delay(&s->c->policy, op->rs.server_attempts - 1,
                                         nna_rng_uniform(&s->c->rng));
            ev_push(s, (sim_ev){ s->be.now + d, EV_RETRY, 0, 0, op, 0 });
        }
    }
}

static nna_op **sim_fanout(sim *s, unsigned n, nna_op_class k, const char *group)
{
    nna_op **ops = calloc(n, sizeof *ops);
    ck_assert_ptr_nonnull(ops);
    for (unsigned i = 0; i < n; i++) {
        ops[i] = sim_op(s, k, group);
        nna_ws_enqueue(s->ws, ops[i], 0);
    }
    return ops;
}

static void free_ops(nna_op **ops, unsigned n)
{
    for (unsigned i = 0; i < n; i++) free(ops[i]);
    free(ops);
}

/* A fan-out of n into a server limited to (rate, burst): time over the ideal n/rate and
 * the share of 429s. */
static void rate_limited_fanout(double rate, double burst, unsigned n, double latency,
                                double *ratio, double *share, double *learned)
{
    sim s;
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    sim_init(&s, &wo);
    sim_server(&s, rate, burst, latency);
    s.be.now = 1000;
    s.last = 1000;
    nna_op **ops = sim_fanout(&s, n, NNA_CLASS_RUN, "a");
    sim_run(&s, n, 1000 + 100 * n / rate);
    ck_assert_uint_eq(s.ok, n);
    *ratio = (s.last_done - 1000) / (n / rate);
    *share = (double)s.r429 / s.sent;
    *learned = nna_ws_pacer(s.ws)->learned;
    printf("limiter sim: %u runs into %g/s burst %g, latency %g ms: %.3f s = %.3f x ideal, "
           "%u x 429 of %u requests (%.2f %%), learned rate %.1f/s, burst %g\n",
           n, rate, burst, latency * 1000, s.last_done - 1000, *ratio, s.r429, s.sent,
           100 * *share, *learned, nna_ws_pacer(s.ws)->burst);
    free_ops(ops, n);
    sim_fini(&s);
}

START_TEST(sim_rate_limited_fanouts_learn_the_rate)
{
    static const struct {
        double rate, burst; unsigned n; double latency, max_ratio, max_share;
    } cases[] = {
        /* the example: ideal 5 s; one 1-s pause teaches the burst (the emulator's
         * Retry-After is whole seconds), the ramp's 429 the rate without a second pause
         * (1.467 x and 1.271 x with two pauses) */
        { 400, 20, 2000, 0.0005, 1.25, 0.03 },
        { 200, 20, 2000, 0.0005, 1.25, 0.03 },
        /* the others no worse than with two pauses (figures then: 1.149 x / 0.30 %,
         * 1.119 x / 2.58 %, 1.217 x / 0.65 %, 1.051 x / 7.12 %, 1.536 x / 2.30 %) */
        { 400, 20, 8000, 0.0005, 1.149, 0.0031 },
        { 100, 50, 2000, 0.002, 1.119, 0.0259 },
        { 1000, 100, 10000, 0.001, 1.217, 0.0066 },
        { 10, 20, 300, 0.001, 1.051, 0.0713 },  /* nna-emu's default (burst above the rate):
                                                   the first burst's 429s are 7 % of 300 */
        { 400, 20, 2000, 0.05, 1.536, 0.0231 },  /* 50 ms replies */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double ratio, share, learned;
        rate_limited_fanout(cases[i].rate, cases[i].burst, cases[i].n, cases[i].latency,
                            &ratio, &share, &learned);
        if (getenv("SIM_ALL")) continue;
        ck_assert_msg(ratio <= cases[i].max_ratio, "case %zu: %.3f x ideal", i, ratio);
        ck_assert_msg(share < cases[i].max_share, "case %zu: %.2f %% 429s", i, 100 * share);
        ck_assert_msg(learned > 0.9 * cases[i].rate && learned <= 1.05 * cases[i].rate,
                      "case %zu: learned %.1f/s", i, learned);
    }
}
END_TEST

/* One agent with 10,000 queued runs does not starve another with 10: runs are served
 * round-robin across agents, each agent in submission order. */
START_TEST(sim_fair_across_agents)
{
    sim s;
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = 4;
    sim_init(&s, &wo);
    sim_server(&s, 0, 0, 0.01);
    enum { BIG = 10000, SMALL = 10 };
    nna_op **a = sim_fanout(&s, BIG, NNA_CLASS_RUN, "agent-a");
    nna_op **b = sim_fanout(&s, SMALL, NNA_CLASS_RUN, "agent-b");
    sim_run(&s, 40, 100);
    unsigned last_b = 0, nb = 0;
    int a_in_order = 1;
    for (size_t i = 0; i < s.norder; i++) {
        if (strcmp(s.order[i]->group, "agent-b") == 0) {
            nb++;
            last_b = (unsigned)i + 1;
        }
    }
    for (unsigned i = 0, j = 0; i < s.norder; i++) {
        if (strcmp(s.order[i]->group, "agent-a") != 0) continue;
        if (s.order[i] != a[j++]) a_in_order = 0;
    }
    ck_assert_uint_eq(nb, SMALL);
    /* the 4 already in flight, then alternately: b's tenth is done by the 24th reply */
    ck_assert_msg(last_b <= 2 * SMALL + 4, "agent b's last run finished %u-th", last_b);
    ck_assert(a_in_order);
    sim_run(&s, BIG + SMALL, 1000);
    ck_assert_uint_eq(s.ok, BIG + SMALL);
    ck_assert_uint_le(s.max_inflight, 4);
    free_ops(a, BIG);
    free_ops(b, SMALL);
    sim_fini(&s);
}
END_TEST

/* Polls and reconciliation checks go before other calls, which go before new runs; each
 * class in submission order; a retry goes to the front of its class. */
START_TEST(sim_class_order)
{
    sim s;
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = 1;
    sim_init(&s, &wo);
    sim_server(&s, 0, 0, 0.01);
    nna_op *first = sim_op(&s, NNA_CLASS_RUN, "a");
    nna_ws_enqueue(s.ws, first, 0); /* goes at once, holds the only slot */
    nna_op *ops[7];
    const nna_op_class k[7] = { NNA_CLASS_RUN, NNA_CLASS_RUN, NNA_CLASS_NORMAL, NNA_CLASS_POLL,
                                NNA_CLASS_NORMAL, NNA_CLASS_POLL, NNA_CLASS_RUN };
    for (int i = 0; i < 7; i++) {
        ops[i] = sim_op(&s, k[i], "a");
        nna_ws_enqueue(s.ws, ops[i], 0);
    }
    nna_op *retry = sim_op(&s, NNA_CLASS_NORMAL, NULL);
    nna_ws_enqueue(s.ws, retry, 1);
    sim_run(&s, 9, 10);
    nna_op *want[9] = { first, ops[3], ops[5], retry, ops[2], ops[4], ops[0], ops[1], ops[6] };
    for (int i = 0; i < 9; i++) ck_assert_msg(s.order[i] == want[i], "position %d", i);
    for (int i = 0; i < 7; i++) free(ops[i]);
    free(first);
    free(retry);
    sim_fini(&s);
}
END_TEST

/* A 429 closes one gate for the whole workspace for its Retry-After (+ a little jitter);
 * nothing leaves meanwhile; queued ops whose deadline falls inside the pause are refused
 * at once with NNA_ERATE_LIMITED; the cap halves; the queue is then released gradually. */
START_TEST(sim_429_gate_pauses_the_workspace)
{
    sim s;
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    sim_init(&s, &wo);
    sim_server(&s, 0, 0, 0.01);
    nna_op *op = sim_op(&s, NNA_CLASS_NORMAL, NULL);
    nna_ws_enqueue(s.ws, op, 0);
    ck_assert_uint_eq(s.sent, 1);
    /* its reply is a 429 with Retry-After: 2 */
    sim_ev e = ev_pop(&s);
    s.be.now = e.at;
    s.inflight--;
    nna_ws_attempt_done(s.ws, op, 429, NNA_RC_RATE, 2);
    double closed_at = s.be.now;
    nna_workspace_counters wc;
    nna_workspace_counters_get(s.ws, &wc);
    ck_assert_uint_eq(wc.cap, 32);
    ck_assert_uint_eq(wc.gate_closures, 1);
    /* 100 new ops, 3 of them with a deadline inside the pause */
    nna_op **ops = calloc(100, sizeof *ops);
    for (int i = 0; i < 100; i++) {
        ops[i] = sim_op(&s, NNA_CLASS_RUN, i % 2 ? "x" : "y");
        if (i < 3) ops[i]->deadline = s.be.now + 1.5;
        nna_ws_enqueue(s.ws, ops[i], 0);
    }
    ck_assert_uint_eq(s.rejected, 3);
    ck_assert_uint_eq(s.sent, 1);
    ev_push(&s, (sim_ev){ s.be.now + 2, EV_RETRY, 0, 0, op, 0 });
    /* step the fake clock: nothing is sent before the pause ends */
    unsigned sent_at_open = 0;
    double opened = -1;
    while (s.ok < 98 && s.be.now < closed_at + 10) {
        unsigned before = s.sent;
        double tnext = s.nev ? s.ev[0].at : INFINITY;
        double armed = s.be.armed_at >= 0 ? s.be.armed_at : INFINITY;
        if (armed <= tnext) {
            s.be.now = armed;
            s.be.armed_at = -1;
            nna_loop_timer_fired(&s.c->loop);
        } else {
            sim_ev x = ev_pop(&s);
            s.be.now = x.at;
            if (x.kind == EV_RETRY) { x.op->state = NNA_OPS_QUEUED; nna_ws_enqueue(s.ws, x.op, 1); }
            else { s.inflight--; s.ok++; nna_ws_attempt_done(s.ws, x.op, 200, NNA_RC_OK, -1); }
        }
        if (s.sent > before && opened < 0) {
            opened = s.be.now;
            sent_at_open = s.sent - before;
        }
        if (opened >= 0) ck_assert_uint_le(s.inflight, wo.max_inflight);
    }
    ck_assert_msg(opened >= closed_at + 2 && opened <= closed_at + 2 * 1.1,
                  "reopened after %.3f s", opened - closed_at);
    ck_assert_msg(sent_at_open <= 2, "%u sent at once when the gate opened", sent_at_open);
    ck_assert_uint_eq(s.ok, 98);
    nna_workspace_counters_get(s.ws, &wc);
    ck_assert_uint_eq(wc.cap, 34); /* +1/cap per success: 32 + 98 / ~33 */
    for (int i = 0; i < 100; i++) free(ops[i]);
    free(ops);
    free(op);
    sim_fini(&s);
}
END_TEST

/* A total outage in the middle of a fan-out: the health gate turns it into one shared
 * back-off (1, 2, 5 s) with a single probe in flight; waiting ops spend no attempts. */
START_TEST(sim_outage_single_probe)
{
    sim s;
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = 10;
    sim_init(&s, &wo);
    sim_server(&s, 0, 0, 0.2);
    s.down_from = 1.0;
    s.down_to = 5.0;
    nna_op **ops = sim_fanout(&s, 100, NNA_CLASS_RUN, "a");
    unsigned sent_down = 0, max_down_inflight = 0;
    while (s.ok < 100 && s.be.now < 60) {
        unsigned before = s.sent;
        double tnext = s.nev ? s.ev[0].at : INFINITY;
        double armed = s.be.armed_at >= 0 ? s.be.armed_at : INFINITY;
        if (armed <= tnext) {
            s.be.now = armed;
            s.be.armed_at = -1;
            nna_loop_timer_fired(&s.c->loop);
        } else {
            sim_run(&s, s.ok + 1, s.ev[0].at + 1e-9); /* one event */
        }
        if (s.be.now >= s.down_from && s.be.now < s.down_to) {
            sent_down += s.sent - before;
            if (s.be.now >= s.down_from + 0.5 && s.inflight > max_down_inflight)
                max_down_inflight = s.inflight;
        }
    }
    ck_assert_uint_eq(s.ok, 100);
    unsigned extra = s.sent - 100, most = 0;
    for (int i = 0; i < 100; i++) if (ops[i]->attempts > most) most = ops[i]->attempts;
    printf("limiter sim: 4 s outage in a 100-op fan-out (10 in flight, 200 ms replies): "
           "%u extra requests, %u sent during the outage, at most %u attempts per op, "
           "done after %.2f s\n", extra, sent_down, most, s.last_done);
    ck_assert_uint_lt(extra, 50);
    ck_assert_uint_le(max_down_inflight, 1); /* once the gate is closed: the probe only */
    ck_assert_uint_le(most, 4);
    free_ops(ops, 100);
    sim_fini(&s);
}
END_TEST

/* Several clients sharing one workspace share its cap (and gate and rate). */
START_TEST(sim_shared_workspace_shares_the_cap)
{
    sim s;
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = 5;
    sim_init(&s, &wo);
    sim_server(&s, 0, 0, 0.05);
    nna_client *c2 = calloc(1, sizeof *c2);
    nna_loop_init(&c2->loop, &fake_ops, &s.be); /* the same (fake) loop */
    nna_rng_seed(&c2->rng, 2);
    nna_retry_policy_init(&c2->policy);
    nna_ws_attach(s.ws, c2);
    nna_op *ops[40];
    for (int i = 0; i < 40; i++) {
        ops[i] = sim_op(&s, NNA_CLASS_NORMAL, NULL);
        if (i % 2) ops[i]->c = c2;
        nna_ws_enqueue(s.ws, ops[i], 0);
    }
    sim_run(&s, 40, 100);
    ck_assert_uint_eq(s.ok, 40);
    ck_assert_uint_eq(s.max_inflight, 5);
    nna_ws_detach(s.ws, c2);
    nna_loop_fini(&c2->loop);
    free(c2);
    for (int i = 0; i < 40; i++) free(ops[i]);
    sim_fini(&s);
}
END_TEST

/* ---- pure pieces ----------------------------------------------------------------------- */

/* The fit on a synthetic log: a bucket (R 50, B 10) empty at t = 0, sends at 80/s from
 * t = 1: the first 429 comes when 10 + 50 t' < 80 t' ... the fit recovers R. */
START_TEST(pacer_fit_recovers_the_rate)
{
    double t[400];
    signed char res[400];
    double tok = 0, last = 0, R = 50, B = 10;
    size_t n = 0;
    for (int i = 0; i < 400; i++) {
        double now = 1.0 + i / 80.0;
        tok += (now - last) * R;
        if (tok > B) tok = B;
        last = now;
        t[n] = now;
        if (tok >= 1) { tok -= 1; res[n] = 0; } else res[n] = 1;
        n++;
    }
    double r = nna_pacer_fit(t, res, n, B, 1, 0, 1000);
    ck_assert_msg(fabs(r - R) < 1.0, "fit %.3f", r);
    /* a burst guessed too large makes the fit err low, never high */
    double r2 = nna_pacer_fit(t, res, n, 2 * B, 1, 0, 1000);
    ck_assert_msg(r2 <= r, "burst 20: %.3f", r2);
    ck_assert(nna_pacer_fit(t, res, 0, B, 1, 0, 1000) == 0);
    ck_assert(nna_pacer_fit(t, res, n, 0, 1, 0, 1000) == 0);
}
END_TEST

START_TEST(pacer_learns_then_paces)
{
    nna_pacer p;
    nna_pacer_init(&p, 0, 0);
    ck_assert(nna_pacer_wait(&p, 0) == 0);          /* unpaced */
    /* a burst of 30: the first 12 accepted, then 429s */
    uint64_t id[30];
    for (int i = 0; i < 30; i++) id[i] = nna_pacer_sent(&p, 0.0001 * i, 1);
    for (int i = 12; i < 30; i++) nna_pacer_result(&p, id[i], 1);
    double r = nna_pacer_reopen(&p, 1.1);
    ck_assert_int_eq(p.mode, NNA_PACER_RAMP);
    ck_assert(r == 60);                             /* 5 x the burst's upper bound, 12 */
    ck_assert(p.upper == 12);
    /* released gradually: one token, then the ramp's pace */
    ck_assert(nna_pacer_wait(&p, 1.1) == 0);
    nna_pacer_sent(&p, 1.1, 1);
    ck_assert(nna_pacer_wait(&p, 1.1) > 0);
    nna_pacer_free(&p);
    /* a stray 429 with nothing before it teaches nothing */
    nna_pacer_init(&p, 0, 0);
    uint64_t one = nna_pacer_sent(&p, 0, 1);
    nna_pacer_result(&p, one, 1);
    ck_assert(nna_pacer_reopen(&p, 1) == 0);
    ck_assert_int_eq(p.mode, NNA_PACER_FREE);
    nna_pacer_free(&p);
    /* a configured rate is paced from the start */
    nna_pacer_init(&p, 100, 0);
    ck_assert_int_eq(p.mode, NNA_PACER_KNOWN);
    for (int i = 0; i < 5; i++) nna_pacer_sent(&p, 0, 1);
    ck_assert(nna_pacer_wait(&p, 0) > 0.005);
    nna_pacer_free(&p);
}
END_TEST

START_TEST(budget_reserve_paces_instead_of_refusing)
{
    nna_retry_budget b;
    nna_budget_init(&b, 0.1, 1.0, 3, 0);
    ck_assert(nna_budget_reserve(&b, 0) == 0);
    ck_assert(nna_budget_reserve(&b, 0) == 0);
    ck_assert(nna_budget_reserve(&b, 0) == 0);
    double w1 = nna_budget_reserve(&b, 0), w2 = nna_budget_reserve(&b, 0);
    ck_assert(fabs(w1 - 1.0) < 1e-9);               /* the next token, earned at 1/s */
    ck_assert(fabs(w2 - 2.0) < 1e-9);               /* and the one after */
    for (int i = 0; i < 10; i++) nna_budget_on_request(&b, 0); /* 10 requests earn 1 */
    ck_assert(fabs(nna_budget_reserve(&b, 0) - 2.0) < 1e-9);
}
END_TEST

/* Claimed task ids: UUIDs and, should the server use another format, any other string. */
START_TEST(idset_claims_any_id)
{
    nna_idset *s = nna_idset_new();
    ck_assert_ptr_nonnull(s);
    char id[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", i, i * 7);
        ck_assert_int_eq(nna_idset_add(s, id), 1);
    }
    ck_assert_int_eq(nna_idset_add(s, "00000000-0000-4000-8000-000000000000"), 0);
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", 19999, 19999 * 7);
    ck_assert(nna_idset_has(s, id));
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", 20000, 20000 * 7);
    ck_assert(!nna_idset_has(s, id));
    /* upper and lower case spell the same UUID */
    ck_assert_int_eq(nna_idset_add(s, "0000000A-0000-4000-8000-000000000046"), 0);
    ck_assert_int_eq(nna_idset_add(s, "task_123"), 1);
    ck_assert_int_eq(nna_idset_add(s, "task_123"), 0);
    ck_assert(nna_idset_has(s, "task_123"));
    ck_assert(!nna_idset_has(s, "task_124"));
    ck_assert_int_eq(nna_idset_add(s, NULL), -1);
    ck_assert(!nna_idset_has(s, NULL));
    nna_idset_free(s);
}
END_TEST

/* A Retry-After longer than what is left of the deadline ends the operation at once. */
START_TEST(retry_after_beyond_deadline_fails_at_once)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    nna_retry_state st = { 1, 0, 0 };
    nna_retry_decision d = nna_retry_decide(&p, &st, NNA_RC_RATE, 100, 80, 0.5);
    ck_assert_int_eq(d.retry, 0);
    ck_assert_int_eq(d.status, NNA_ERATE_LIMITED);
    d = nna_retry_decide(&p, &st, NNA_RC_RATE, 30, 80, 0.5);
    ck_assert_int_eq(d.retry, 1);
    ck_assert(d.delay == 30);
}
END_TEST

/* ==== against nna-emu ================================================================= */

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() 0
#endif

#define NO_TASK "00000000-0000-4000-8000-000000000000"

static void script(tctx *t, const char *json)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/script", json, &st));
    ck_assert_int_eq(st, 200);
}

static void emu_config(tctx *t, const char *json)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/config", json, &st));
    ck_assert_int_eq(st, 200);
}

static int emu_counter(tctx *t, const char *group, const char *key)
{
    cJSON *c = emu_ctl(t, "GET", "/_emu/counters", NULL, NULL);
    const cJSON *g = group ? cJSON_GetObjectItemCaseSensitive(c, group) : c;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(g, key);
    int v = cJSON_IsNumber(n) ? n->valueint : 0;
    cJSON_Delete(c);
    return v;
}

static int emu_requests(tctx *t) { return emu_counter(t, NULL, "requests"); }

/* Runs the loop for `seconds`. */
static void run_for(tctx *t, double seconds)
{
    static const int never = 0;
    run_until_flag(t->loop, &never, seconds);
}

/* Replaces t's client by one with the fast test timings changed by `tweak`. */
static void use_client(tctx *t, void (*tweak)(nna_client_options *o))
{
    nna_client_options o;
    tctx_options(t, &o);
    if (tweak) tweak(&o);
    nna_client_shutdown(t->client, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    t->client = NULL;
    ck_assert_int_eq(tclient_new(t->loop, &o, &t->client), NNA_OK);
}

static nna_future *run_q(nna_client *c, const char *agent, const char *q, double deadline)
{
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = q;
    if (deadline >= 0) ro.deadline = deadline;
    return nna_agents_run(c, agent, &ro);
}

static int cbs;
static nna_status cb_status;
static void on_cb(nna_future *f, void *ud) { (void)ud; cbs++; cb_status = nna_future_status(f); }

/* The workspace's events, for tests that must act in a given state. */
static int ev_retry_scheduled, ev_gate_closed, ev_attempts;
static unsigned ev_max_inflight;
static void count_events(nna_workspace *ws, const nna_ws_event *ev, void *ud)
{
    (void)ud;
    nna_workspace_counters wc;
    nna_workspace_counters_get(ws, &wc);
    if (wc.inflight > ev_max_inflight) ev_max_inflight = wc.inflight;
    if (ev->kind == NNA_WS_RETRY_SCHEDULED) ev_retry_scheduled++;
    if (ev->kind == NNA_WS_GATE_CLOSED) ev_gate_closed++;
    if (ev->kind == NNA_WS_ATTEMPT) ev_attempts++;
}

static void watch_events(nna_workspace *ws)
{
    ev_retry_scheduled = ev_gate_closed = ev_attempts = 0;
    ev_max_inflight = 0;
    nna_workspace_set_hook(ws, count_events, NULL);
}

/* ---- Retry-After in every form --------------------------------------------------------- */

/* One GET answered 429 with the given headers, then normally (404 for the unknown task). */
static void ck_retry_after(tctx *t, const char *headers_json, double want, double min_wait)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":429,"
             "\"headers\":%s,\"json\":{\"error\":\"slow down\"}}]}", headers_json);
    script(t, buf);
    nna_future *f = nna_tasks_get(t->client, NO_TASK);
    double t0 = tclock();
    ck_assert(run_until_done(t->loop, f, 20));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(f), NNA_ENOT_FOUND);   /* then the real answer */
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert_int_eq(nna_future_http_status(f), 404);
    ck_assert_msg(fabs(nna_future_retry_after(f) - want) < 1e-6, "%s: Retry-After %.6f",
                  headers_json, nna_future_retry_after(f));
    ck_assert_msg(took >= min_wait, "%s: waited only %.3f s", headers_json, took);
    ck_assert_msg(took < want + 1.5, "%s: waited %.3f s", headers_json, took);
    nna_future_unref(f);
}

START_TEST(retry_after_decimal_seconds)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    ck_retry_after(&t, "{\"Retry-After\":\"0.35\"}", 0.35, 0.34);
    ck_retry_after(&t, "{\"Retry-After\":\"  1 \"}", 1, 0.99);
    tctx_stop(&t);
}
END_TEST

/* HTTP-dates are measured against the response's Date header, not the client's clock (here
 * the dates are in 1994: against the client's clock they would mean "now"). */
START_TEST(retry_after_http_dates_against_the_date_header)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    ck_retry_after(&t, "{\"Date\":\"Sun, 06 Nov 1994 08:49:37 GMT\","
                       "\"Retry-After\":\"Sun, 06 Nov 1994 08:49:38 GMT\"}", 1, 0.99);
    ck_retry_after(&t, "{\"Date\":\"Sun, 06 Nov 1994 08:49:37 GMT\","
                       "\"Retry-After\":\"Sunday, 06-Nov-94 08:49:38 GMT\"}", 1, 0.99);
    ck_retry_after(&t, "{\"Date\":\"Sun, 06 Nov 1994 08:49:37 GMT\","
                       "\"Retry-After\":\"Sun Nov  6 08:49:38 1994\"}", 1, 0.99);
    tctx_stop(&t);
}
END_TEST

/* The emulator's own rate limit with retry_after_format http-date. */
START_TEST(retry_after_http_date_from_the_emulator)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"rate\":1,\"burst\":1,\"retry_after_format\":\"http-date\"}");
    nna_future *a = nna_tasks_get(t.client, NO_TASK);
    ck_assert(run_until_done(t.loop, a, 10));
    nna_future *b = nna_tasks_get(t.client, NO_TASK);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, b, 20));
    ck_assert_int_eq(nna_future_status(b), NNA_ENOT_FOUND);
    ck_assert_uint_ge(nna_future_attempts(b), 2);
    double ra = nna_future_retry_after(b);
    ck_assert_msg(ra >= 1 && ra <= 3, "Retry-After %.3f", ra);
    ck_assert(tclock() - t0 >= 0.9);
    ck_assert_int_ge(emu_counter(&t, "by_status", "429"), 1);
    nna_future_unref(a);
    nna_future_unref(b);
    tctx_stop(&t);
}
END_TEST

static void deadline_3s(nna_client_options *o) { o->deadline = o->run_deadline = 3; }

/* A Retry-After beyond the deadline: NNA_ERATE_LIMITED at once, carrying the value. Ops
 * queued behind the 429 pause whose deadline falls inside it are refused at once too. */
START_TEST(retry_after_beyond_the_deadline)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, deadline_3s);
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":429,"
               "\"headers\":{\"Retry-After\":\"100\"}}]}");
    nna_future *f = nna_tasks_get(t.client, NO_TASK);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 5));
    ck_assert_msg(tclock() - t0 < 0.5, "took %.3f s", tclock() - t0);
    ck_assert_int_eq(nna_future_status(f), NNA_ERATE_LIMITED);
    ck_assert(nna_future_retry_after(f) == 100);
    ck_assert_int_eq(nna_future_http_status(f), 429);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    nna_future_unref(f);
    /* the pause goes on (capped at max_retry_after, 60 s): a new op cannot make it */
    nna_future *g = run_q(t.client, NNA_EMU_AGENT_1, "too late", 10);
    ck_assert(run_until_done(t.loop, g, 5));
    ck_assert_int_eq(nna_future_status(g), NNA_ERATE_LIMITED);
    ck_assert(nna_future_retry_after(g) > 50 && nna_future_retry_after(g) <= 60 * 1.06);
    ck_assert_uint_eq(nna_future_attempts(g), 0);
    ck_assert_int_eq(emu_route_count(&t, "run"), 0);
    nna_future_unref(g);
    tctx_stop(&t);
}
END_TEST

/* ---- 5xx, transport failures ---------------------------------------------------------- */

static void three_attempts(nna_client_options *o) { o->max_attempts = 3; }

/* Run creation failing forever: exactly max_attempts POSTs, each in-doubt failure checked
 * first, nothing created. */
START_TEST(run_5xx_forever_spends_exactly_max_attempts)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, three_attempts);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":503},{\"status\":500},"
               "{\"status\":502,\"body\":\"<html>bad gateway</html>\"},{\"status\":500},"
               "{\"status\":500},{\"status\":500}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "never works", -1);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_ESERVER);
    ck_assert_uint_eq(nna_future_attempts(f), 3);
    ck_assert_int_eq(nna_future_http_status(f), 502);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_int_eq(emu_route_count(&t, "run"), 3);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 3); /* looked each time */
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 0);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static void one_attempt(nna_client_options *o) { o->max_attempts = 1; }

/* With no attempt left, a run in doubt is still looked for (it may exist). */
START_TEST(run_in_doubt_without_attempts_left_is_still_checked)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, one_attempt);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true},{\"status\":500}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "created anyway", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(nna_future_reconciled(f));
    nna_future_unref(f);
    f = run_q(t.client, NNA_EMU_AGENT_2, "not created", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_ESERVER);
    ck_assert_int_eq(nna_future_http_status(f), 500);
    nna_future_unref(f);
    ck_assert_int_eq(emu_route_count(&t, "run"), 2);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    tctx_stop(&t);
}
END_TEST

static void refused_port(nna_client_options *o)
{
    o->base_url = "http://127.0.0.1:1";
    o->max_attempts = 1;
    o->deadline = o->run_deadline = 2;
}

/* A request that never left (connect refused) spends an attempt like any other failure
 * (issue 13): with max_attempts 1 it fails after one connection. */
START_TEST(unsent_attempts_count)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, refused_port);
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_1, "nobody listens", -1);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 10));
    nna_status st = nna_future_status(f);
    ck_assert_msg(st == NNA_ENETWORK, "%s", nna_status_name(st));
    ck_assert_uint_eq(nna_future_attempts(f), 1);       /* max_attempts is 1 */
    ck_assert(tclock() - t0 < 2.5);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- run creation in doubt ------------------------------------------------------------ */

START_TEST(run_commit_then_drop_on_a_fresh_connection)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"commit\":true,\"drop\":true}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "dropped on the first connection", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(nna_future_reconciled(f));
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    ck_assert_int_eq(emu_route_count(&t, "run"), 1);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    ck_assert_uint_eq(wc.reconciled, 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static void short_timeout(nna_client_options *o) { o->request_timeout = 0.4; }

/* The body was sent, the reply is late: the attempt times out, the run is found. */
START_TEST(run_timeout_after_the_body_was_sent)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, short_timeout);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":200,\"commit\":true,"
               "\"delay_ms\":1500,\"json\":{\"late\":true}}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "slow to answer", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(nna_future_reconciled(f));
    const nna_task *task = nna_future_result(f);
    ck_assert_ptr_nonnull(task);
    ck_assert_str_eq(task->agent_id, NNA_EMU_AGENT_2);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    run_for(&t, 1.5); /* the emulator logs the POST when its (late) reply goes */
    ck_assert_int_le(emu_route_count(&t, "run"), 1);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Twenty runs of one agent in doubt at once: one walk of GET /tasks decides for all. */
START_TEST(runs_in_doubt_share_one_check)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    /* warm up: past the slow start, so the twenty go out together */
    nna_future *w[80];
    for (int i = 0; i < 80; i++) w[i] = nna_client_request(t.client, "GET", "/agents", NULL, NULL, 1);
    nna_future *wall = nna_future_all(w, 80);
    ck_assert(run_until_done(t.loop, wall, 10));
    for (int i = 0; i < 80; i++) nna_future_unref(w[i]);
    nna_future_unref(wall);
    char buf[4096] = "{\"route\":\"run\",\"responses\":[";
    for (int i = 0; i < 20; i++)
        strcat(buf, i ? ",{\"status\":500,\"commit\":true,\"delay_ms\":100}"
                      : "{\"status\":500,\"commit\":true,\"delay_ms\":100}");
    strcat(buf, "]}");
    script(&t, buf);
    nna_future *fs[20];
    for (int i = 0; i < 20; i++) {
        char q[64];
        snprintf(q, sizeof q, "In doubt number %d", i);
        fs[i] = run_q(t.client, NNA_EMU_AGENT_2, q, -1);
    }
    nna_future *all = nna_future_all(fs, 20);
    ck_assert(run_until_done(t.loop, all, 20));
    ck_assert_int_eq(nna_future_status(all), NNA_OK);
    char seen[20][40];
    for (int i = 0; i < 20; i++) {
        ck_assert(nna_future_reconciled(fs[i]));
        const nna_task *task = nna_future_result(fs[i]);
        snprintf(seen[i], sizeof seen[i], "%s", task->task_id);
        for (int j = 0; j < i; j++) ck_assert_str_ne(seen[i], seen[j]); /* one each */
        nna_future_unref(fs[i]);
    }
    nna_future_unref(all);
    ck_assert_int_eq(emu_route_count(&t, "run"), 20);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 1);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 20);
    tctx_stop(&t);
}
END_TEST

/* The check walks every page of the window (here 151 tasks: two pages of 100). */
START_TEST(run_check_walks_every_page)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *fs[150];
    for (int i = 0; i < 150; i++) {
        char q[48];
        snprintf(q, sizeof q, "filler %d", i);
        fs[i] = run_q(t.client, NNA_EMU_AGENT_2, q, -1);
    }
    nna_future *all = nna_future_all(fs, 150);
    ck_assert(run_until_done(t.loop, all, 20));
    ck_assert_int_eq(nna_future_status(all), NNA_OK);
    nna_future_unref(all);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "needle in the haystack", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(nna_future_reconciled(f));
    const nna_task *task = nna_future_result(f);
    for (int i = 0; i < 150; i++) {
        ck_assert_str_ne(task->task_id, ((const nna_task *)nna_future_result(fs[i]))->task_id);
        nna_future_unref(fs[i]);
    }
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 2);
    ck_assert_int_eq(emu_route_count(&t, "run"), 151);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 151);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* A task in the window that another process created for another query is not adopted: its
 * title is not consistent with ours. */
START_TEST(run_check_ignores_other_titles)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client_options o;
    tctx_options(&t, &o);
    nna_client *other; /* its own workspace: its claims are not ours */
    ck_assert_int_eq(tclient_new(t.loop, &o, &other), NNA_OK);
    nna_future *g = run_q(other, NNA_EMU_AGENT_2, "Somebody else's run", -1);
    ck_assert(run_until_done(t.loop, g, 10));
    ck_assert_int_eq(nna_future_status(g), NNA_OK);
    nna_future_unref(g);
    nna_client_shutdown(other, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "My own run", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(!nna_future_reconciled(f));       /* looked, found nothing of ours, re-sent */
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 1);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 2);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* 429 on run creation: rejected, not executed, so re-sent without a check. */
START_TEST(run_429_is_retried_without_a_check)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":429,"
               "\"headers\":{\"Retry-After\":\"0.2\"}}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_1, "rate limited once", -1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert(fabs(nna_future_retry_after(f) - 0.2) < 1e-9);
    ck_assert_int_eq(emu_route_count(&t, "run"), 2);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 0);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_1), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- cancellation in every state ------------------------------------------------------ */

/* Cancels f: the callback runs on the next loop turn with NNA_ECANCELLED, and nothing more
 * is sent for it (the workspace's count of requests handed to the network stays put for
 * `quiet` seconds). */
static void ck_cancel(tctx *t, nna_future *f, double quiet, int requests_after)
{
    cbs = 0;
    nna_future_then(f, on_cb, NULL);
    ck_assert_int_eq(nna_future_cancel(f), NNA_OK);
    ck_assert_int_eq(cbs, 0);
    ck_assert(nna_future_done(f));
    tloop_run_nowait(t);
    tloop_run_nowait(t);
    ck_assert_int_eq(cbs, 1);
    ck_assert_int_eq(cb_status, NNA_ECANCELLED);
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t->client), &wc);
    uint64_t before = wc.sent;
    run_for(t, quiet);
    nna_workspace_counters_get(nna_client_workspace(t->client), &wc);
    ck_assert_uint_eq(wc.sent, before + (uint64_t)requests_after);
}

static void cap_one(nna_client_options *o) { o->max_inflight = 1; }

START_TEST(cancel_while_queued)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, cap_one);
    emu_config(&t, "{\"latency_ms\":300}");
    nna_future *a = nna_tasks_get(t.client, NO_TASK);
    nna_future *b = run_q(t.client, NNA_EMU_AGENT_1, "queued behind a", -1);
    tloop_run_nowait(&t);
    ck_cancel(&t, b, 0.6, 0);
    ck_assert(run_until_done(t.loop, a, 5));
    ck_assert_int_eq(emu_route_count(&t, "run"), 0);
    ck_assert_uint_eq(nna_future_attempts(b), 0);
    nna_future_unref(a);
    nna_future_unref(b);
    tctx_stop(&t);
}
END_TEST

START_TEST(cancel_in_flight_frees_the_slot)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, cap_one);
    emu_config(&t, "{\"latency_ms\":400}");
    nna_future *a = run_q(t.client, NNA_EMU_AGENT_1, "in flight", -1);
    nna_future *b = nna_tasks_get(t.client, NO_TASK);
    run_for(&t, 0.1);
    ck_cancel(&t, a, 0, 0);
    ck_assert(run_until_done(t.loop, b, 5)); /* the slot went to b at once */
    ck_assert_int_eq(nna_future_status(b), NNA_ENOT_FOUND);
    ck_assert_uint_eq(nna_future_attempts(a), 1);
    nna_future_unref(a);
    nna_future_unref(b);
    tctx_stop(&t);
}
END_TEST

static void slow_backoff(nna_client_options *o) { o->backoff[0] = 1.5; o->backoff[1] = 1.5; }

START_TEST(cancel_during_backoff)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, slow_backoff);
    watch_events(nna_client_workspace(t.client));
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":500}]}");
    nna_future *f = nna_tasks_get(t.client, NO_TASK);
    ck_assert(run_until_flag(t.loop, &ev_retry_scheduled, 5));
    ck_cancel(&t, f, 2.0, 0);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), 1);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    ck_assert_int_eq(nna_future_http_status(f), 500);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(cancel_during_a_gate_pause)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    watch_events(nna_client_workspace(t.client));
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":429,"
               "\"headers\":{\"Retry-After\":\"1.5\"}}]}");
    nna_future *a = nna_tasks_get(t.client, NO_TASK);
    ck_assert(run_until_flag(t.loop, &ev_gate_closed, 5));
    nna_future *b = run_q(t.client, NNA_EMU_AGENT_1, "waits for the gate", -1);
    tloop_run_nowait(&t);
    ck_cancel(&t, b, 0.2, 0);
    ck_cancel(&t, a, 2.0, 0); /* a: waiting out its Retry-After */
    ck_assert_int_eq(emu_route_count(&t, "run"), 0);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), 1);
    nna_future_unref(a);
    nna_future_unref(b);
    tctx_stop(&t);
}
END_TEST

static void slow_settle(nna_client_options *o) { o->reconcile_settle = 0.5; }

/* Reconciling, waiting out the settle delay: no GET /tasks is sent after the cancel. */
START_TEST(cancel_while_reconciling_before_the_check)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, slow_settle);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "in doubt", -1);
    run_for(&t, 0.2);
    ck_assert(!nna_future_done(f));
    ck_cancel(&t, f, 0.8, 0);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 0);
    ck_assert_int_eq(emu_route_count(&t, "run"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Reconciling, the check in flight: the walk stops, no further page, no re-send. */
START_TEST(cancel_while_the_check_is_in_flight)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500}]}");
    script(&t, "{\"route\":\"tasks.list\",\"responses\":[{\"pass\":true,\"delay_ms\":600}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "checked slowly", -1);
    run_for(&t, 0.3);
    ck_assert(!nna_future_done(f));
    ck_assert_int_eq(emu_route_count(&t, "tasks.list") + emu_route_count(&t, "run"), 1);
    ck_cancel(&t, f, 1.0, 0);
    ck_assert_int_eq(emu_route_count(&t, "run"), 1);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    ck_assert_uint_eq(wc.inflight, 0);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static int drained;
static void on_drained(void *ud) { (void)ud; drained = 1; }

/* Cancelling the last op of a client that is draining, from outside the loop, ends the
 * shutdown; nothing of the library is used after it. */
START_TEST(cancel_the_last_op_of_a_draining_client)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"latency_ms\":300}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_1, "the last one", -1);
    tloop_run_nowait(&t);
    drained = 0;
    nna_client_shutdown(t.client, NNA_SHUTDOWN_DRAIN, on_drained, NULL);
    t.client = NULL;
    ck_assert_int_eq(nna_future_cancel(f), NNA_OK);
    tloop_run(&t);
    ck_assert_int_eq(drained, 1);
    ck_assert_int_eq(nna_future_status(f), NNA_ECANCELLED);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- deadlines -------------------------------------------------------------------------- */

/* Time in the queue counts toward the deadline; the per-attempt timeout is cut to what is
 * left of it. */
START_TEST(deadline_counts_queue_time)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, cap_one);
    emu_config(&t, "{\"latency_ms\":800}");
    nna_future *a = nna_tasks_get(t.client, NO_TASK);
    nna_future *b = run_q(t.client, NNA_EMU_AGENT_1, "deadline while queued", 0.3);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, b, 5));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(b), NNA_EDEADLINE);
    ck_assert_uint_eq(nna_future_attempts(b), 0);
    ck_assert_msg(took >= 0.28 && took < 0.6, "took %.3f s", took);
    /* in flight: request_timeout is 10 s, the deadline 0.4 s */
    nna_future *c = run_q(t.client, NNA_EMU_AGENT_1, "deadline in flight", 1.2);
    t0 = tclock();
    ck_assert(run_until_done(t.loop, c, 5));
    took = tclock() - t0;
    ck_assert_msg(nna_future_status(c) == NNA_EDEADLINE ||
                  nna_future_status(c) == NNA_EOUTCOME_UNKNOWN, "%s",
                  nna_status_name(nna_future_status(c)));
    ck_assert_msg(took < 1.5, "took %.3f s", took);
    ck_assert(run_until_done(t.loop, a, 5));
    nna_future_unref(a);
    nna_future_unref(b);
    nna_future_unref(c);
    tctx_stop(&t);
}
END_TEST

/* The deadline passes while the check for a run in doubt is still running: outcome
 * unknown at the deadline, not later; the check stops too. */
START_TEST(deadline_while_reconciling)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500}]}");
    script(&t, "{\"route\":\"tasks.list\",\"responses\":[{\"pass\":true,\"delay_ms\":2000}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "checked too slowly", 0.6);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 5));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(f), NNA_EOUTCOME_UNKNOWN);
    ck_assert_msg(took >= 0.55 && took < 0.9, "took %.3f s", took);
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    uint64_t sent = wc.sent;
    run_for(&t, 0.5);
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    ck_assert_uint_eq(wc.sent, sent);
    ck_assert_uint_eq(wc.inflight, 0);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- shared workspaces ------------------------------------------------------------------- */

static const char two_keys[] =
    "{\"workspaces\":[{\"name\":\"acme\",\"keys\":[\"key-a\",\"key-b\"],\"agents\":["
    "{\"id\":\"" NNA_EMU_AGENT_1 "\",\"is_active\":true},"
    "{\"id\":\"" NNA_EMU_AGENT_2 "\",\"is_active\":true}]}]}";

typedef struct pair { nna_workspace *ws; nna_client *a, *b; } pair;

/* nna_future_all() takes the futures of one client; these span two. */
static int all_pending, all_zero;
static void all_member_done(nna_future *f, void *ud)
{
    (void)f; (void)ud;
    if (--all_pending == 0) all_zero = 1;
}

static int run_until_all_done(tctx *t, nna_future **fs, int n, double seconds)
{
    all_pending = n;
    all_zero = n == 0;
    for (int i = 0; i < n; i++) ck_assert_int_eq(nna_future_then(fs[i], all_member_done, NULL), NNA_OK);
    return run_until_flag(t->loop, &all_zero, seconds);
}

static void pair_start(tctx *t, pair *p, unsigned max_inflight)
{
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = max_inflight;
    ck_assert_int_eq(nna_workspace_new(&wo, &p->ws), NNA_OK);
    nna_client_options o;
    tctx_options(t, &o);
    o.workspace = p->ws;
    o.api_key = "key-a";
    ck_assert_int_eq(tclient_new(t->loop, &o, &p->a), NNA_OK);
    o.api_key = "key-b";
    o.seed = 43;
    ck_assert_int_eq(tclient_new(t->loop, &o, &p->b), NNA_OK);
    ck_assert_ptr_eq(nna_client_workspace(p->a), nna_client_workspace(p->b));
}

static void pair_stop(pair *p)
{
    nna_client_shutdown(p->a, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_client_shutdown(p->b, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_workspace_unref(p->ws);
}

/* Two clients with different keys of one workspace share its cap and its 429 gate. */
START_TEST(shared_workspace_shares_cap_and_gate)
{
    tctx t;
    tctx_start(&t, two_keys, NULL);
    pair p;
    pair_start(&t, &p, 3);
    watch_events(p.ws);
    emu_config(&t, "{\"latency_ms\":100}");
    nna_future *fs[30];
    for (int i = 0; i < 30; i++)
        fs[i] = nna_client_request(i % 2 ? p.a : p.b, "GET", "/agents", NULL, NULL, 1);
    ck_assert(run_until_all_done(&t, fs, 30, 20));
    for (int i = 0; i < 30; i++) ck_assert_int_eq(nna_future_status(fs[i]), NNA_OK);
    ck_assert_uint_eq(ev_max_inflight, 3);
    for (int i = 0; i < 30; i++) nna_future_unref(fs[i]);
    emu_config(&t, "{\"latency_ms\":0}");
    /* a 429 to client a pauses client b too */
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":429,"
               "\"headers\":{\"Retry-After\":\"1\"}}]}");
    nna_future *x = nna_tasks_get(p.a, NO_TASK);
    ck_assert(run_until_flag(t.loop, &ev_gate_closed, 5));
    double t0 = tclock();
    nna_future *y = nna_client_request(p.b, "GET", "/agents", NULL, NULL, 1);
    ck_assert(run_until_done(t.loop, y, 10));
    ck_assert_int_eq(nna_future_status(y), NNA_OK);
    ck_assert_msg(tclock() - t0 >= 0.9, "b went after %.3f s", tclock() - t0);
    ck_assert(run_until_done(t.loop, x, 10));
    nna_workspace_counters wc;
    nna_workspace_counters_get(p.ws, &wc);
    ck_assert_uint_eq(wc.gate_closures, 1);
    ck_assert_uint_eq(wc.rate_limited, 1);
    nna_future_unref(x);
    nna_future_unref(y);
    pair_stop(&p);
    tctx_stop(&t);
}
END_TEST

/* ... and one learned send rate: a fan-out from both into a rate-limited workspace. */
START_TEST(shared_workspace_shares_the_rate)
{
    tctx t;
    tctx_start(&t, two_keys, NULL);
    pair p;
    pair_start(&t, &p, 64);
    emu_config(&t, "{\"rate\":100,\"burst\":10}");
    enum { N = 600 };
    nna_future **fs = calloc(N, sizeof *fs);
    for (int i = 0; i < N; i++) {
        char q[48];
        snprintf(q, sizeof q, "shared %d", i);
        fs[i] = run_q(i % 2 ? p.a : p.b, i % 3 ? NNA_EMU_AGENT_1 : NNA_EMU_AGENT_2, q, -1);
    }
    ck_assert(run_until_all_done(&t, fs, N, 60));
    for (int i = 0; i < N; i++) ck_assert_int_eq(nna_future_status(fs[i]), NNA_OK);
    int r429 = emu_counter(&t, "by_status", "429"), total = emu_requests(&t);
    nna_workspace_counters wc;
    nna_workspace_counters_get(p.ws, &wc);
    printf("shared workspace: %d runs from 2 clients into 100/s: %d x 429 of %d requests, "
           "learned rate %.1f/s\n", N, r429, total, wc.rate);
    ck_assert_msg(r429 < total / 10, "%d x 429 of %d", r429, total);
    ck_assert(wc.rate > 80 && wc.rate < 110);
    for (int i = 0; i < N; i++) nna_future_unref(fs[i]);
    free(fs);
    pair_stop(&p);
    tctx_stop(&t);
}
END_TEST

/* ---- fan-outs ---------------------------------------------------------------------------- */

static double trace_t0;
static void trace_events(nna_workspace *ws, const nna_ws_event *ev, void *ud)
{
    (void)ud;
    if (ev->kind == NNA_WS_ATTEMPT || ev->kind == NNA_WS_CAP_CHANGED) return;
    nna_workspace_counters wc;
    nna_workspace_counters_get(ws, &wc);
    fprintf(stderr, "  %.4f kind %d value %.3f http %ld: sent %llu ok %llu 429 %llu\n",
            tclock() - trace_t0, ev->kind, ev->value, ev->http_status,
            (unsigned long long)wc.sent, (unsigned long long)wc.succeeded,
            (unsigned long long)wc.rate_limited);
}

/* Fast replies into a workspace limited to `rate`: only pacing keeps the rate. */
static void fanout_into_rate_limit(unsigned n, double rate, double burst, double max_ratio)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    char cfg[128];
    snprintf(cfg, sizeof cfg, "{\"rate\":%g,\"burst\":%g}", rate, burst);
    emu_config(&t, cfg);
    nna_future **fs = calloc(n, sizeof *fs);
    double t0 = tclock();
    trace_t0 = t0;
    if (getenv("RELIABILITY_TRACE")) nna_workspace_set_hook(nna_client_workspace(t.client), trace_events, NULL);
    for (unsigned i = 0; i < n; i++) {
        char q[48];
        snprintf(q, sizeof q, "fan-out %u", i);
        fs[i] = run_q(t.client, i % 2 ? NNA_EMU_AGENT_1 : NNA_EMU_AGENT_2, q, 120);
    }
    nna_future *all = nna_future_all(fs, n);
    ck_assert(run_until_done(t.loop, all, 120));
    double took = tclock() - t0;
    unsigned failed = 0;
    for (unsigned i = 0; i < n; i++) failed += nna_future_status(fs[i]) != NNA_OK;
    int r429 = emu_counter(&t, "by_status", "429"), total = emu_requests(&t);
    double ideal = n / rate, ratio = took / ideal, share = (double)r429 / total;
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    printf("rate-limited fan-out: %u runs into %g/s (burst %g): %.3f s = %.3f x the ideal "
           "%.2f s; %d x 429 of %d requests = %.2f %%; learned rate %.1f/s; %u failed\n",
           n, rate, burst, took, ratio, ideal, r429, total, 100 * share, wc.rate, failed);
    ck_assert_uint_eq(failed, 0);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_1) + emu_task_count(&t, NNA_EMU_AGENT_2),
                     (int)n);
    /* (a valgrind run of 300: the first burst alone is ~7 %) */
    ck_assert_msg(share < (UNDER_VALGRIND() ? 0.10 : 0.03), "%.2f %% 429s", 100 * share);
#if defined(__SANITIZE_ADDRESS__)
    if (max_ratio < 1.9) max_ratio = 1.9; /* ASan under load: 1.81 x seen at 400/s */
#endif
    if (!UNDER_VALGRIND()) ck_assert_msg(ratio < max_ratio, "%.3f x ideal", ratio);
    for (unsigned i = 0; i < n; i++) nna_future_unref(fs[i]);
    free(fs);
    nna_future_unref(all);
    tctx_stop(&t);
}

/* 2,000 runs into 200/s: ideal 10 s; the 1-s pause that teaches the burst (the emulator's
 * Retry-After is whole seconds) is ~10 % of it, the rate is learned from the ramp's 429
 * without a second pause. Quiet: ~1.17 x (two pauses: 1.39-1.48 x); asserted with a margin
 * for loaded CI machines. */
START_TEST(fanout_2000_into_200_per_s)
{
    fanout_into_rate_limit(UNDER_VALGRIND() ? 300 : 2000, 200, 20, 1.35);
}
END_TEST

/* The example, 2,000 into 400/s (ideal 5 s): the one pause is ~20 % of it. Quiet:
 * ~1.23 x (two pauses: ~1.46 x); under load ~1.33 x (a send every 2.5 ms: a busy machine's
 * delays blur the fit more than at 200/s), hence the wider margin. */
START_TEST(fanout_2000_into_400_per_s)
{
    fanout_into_rate_limit(UNDER_VALGRIND() ? 300 : 2000, 400, 20, 1.45);
}
END_TEST

static void outage_client(nna_client_options *o) { o->max_inflight = 10; o->deadline = o->run_deadline = 60; }

/* A total outage of 4 s in the middle of a 100-run fan-out: no run fails, no duplicate,
 * fewer than 50 extra requests. */
START_TEST(outage_in_the_middle_of_a_fanout)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, outage_client);
    emu_config(&t, "{\"latency_ms\":300}");
    enum { N = 100 };
    nna_future *fs[N];
    double t0 = tclock();
    for (int i = 0; i < N; i++) {
        char q[48];
        snprintf(q, sizeof q, "outage %d", i);
        fs[i] = run_q(t.client, i % 2 ? NNA_EMU_AGENT_1 : NNA_EMU_AGENT_2, q, -1);
    }
    nna_future *all = nna_future_all(fs, N);
    run_for(&t, 1.0);
    int done_before = 0;
    for (int i = 0; i < N; i++) done_before += nna_future_done(fs[i]);
    emu_config(&t, "{\"fault_503\":1}");
    run_for(&t, 4.0);
    emu_config(&t, "{\"fault_503\":0}");
    ck_assert(run_until_done(t.loop, all, 60));
    double took = tclock() - t0;
    int failed = 0, reconciled = 0;
    for (int i = 0; i < N; i++) {
        failed += nna_future_status(fs[i]) != NNA_OK;
        reconciled += nna_future_reconciled(fs[i]);
    }
    int total = emu_requests(&t), r503 = emu_counter(&t, "by_status", "503");
    int runs = emu_route_count(&t, "run"), lists = emu_route_count(&t, "tasks.list");
    int extra = total - N;
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    printf("outage: 4 s of 503 after %d of %d runs were done: %d extra requests (%d x 503, "
           "%d POST run, %d GET /tasks), %d failed, %.2f s in all, %llu health-gate or 429 "
           "closures\n", done_before, N, extra, r503, runs, lists, failed, took,
           (unsigned long long)wc.gate_closures);
    ck_assert_int_eq(failed, 0);
    ck_assert_int_lt(extra, 50);
    ck_assert_int_ge(r503, 1);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_1) + emu_task_count(&t, NNA_EMU_AGENT_2), N);
    for (int i = 0; i < N; i++) nna_future_unref(fs[i]);
    nna_future_unref(all);
    tctx_stop(&t);
}
END_TEST

/* RELIABILITY_ONLY=name runs the tests whose name contains it (for debugging). */
#define ADD(tc, fn) do { const char *only_ = getenv("RELIABILITY_ONLY"); \
        if (!only_ || strstr(#fn, only_)) tcase_add_test(tc, fn); } while (0)

Suite *reliability_suite(void)
{
    Suite *s = suite_create("reliability");
    TCase *u = tcase_create("limiter");
    tcase_set_timeout(u, 60);
    ADD(u, sim_rate_limited_fanouts_learn_the_rate);
    ADD(u, sim_fair_across_agents);
    ADD(u, sim_class_order);
    ADD(u, sim_429_gate_pauses_the_workspace);
    ADD(u, sim_outage_single_probe);
    ADD(u, sim_shared_workspace_shares_the_cap);
    ADD(u, pacer_fit_recovers_the_rate);
    ADD(u, pacer_learns_then_paces);
    ADD(u, budget_reserve_paces_instead_of_refusing);
    ADD(u, retry_after_beyond_deadline_fails_at_once);
    ADD(u, idset_claims_any_id);
    suite_add_tcase(s, u);
    TCase *i = tcase_create("integration");
    tcase_set_timeout(i, 120);
    ADD(i, retry_after_decimal_seconds);
    ADD(i, retry_after_http_dates_against_the_date_header);
    ADD(i, retry_after_http_date_from_the_emulator);
    ADD(i, retry_after_beyond_the_deadline);
    ADD(i, run_5xx_forever_spends_exactly_max_attempts);
    ADD(i, run_in_doubt_without_attempts_left_is_still_checked);
    ADD(i, unsent_attempts_count);
    ADD(i, run_commit_then_drop_on_a_fresh_connection);
    ADD(i, run_timeout_after_the_body_was_sent);
    ADD(i, runs_in_doubt_share_one_check);
    ADD(i, run_check_walks_every_page);
    ADD(i, run_check_ignores_other_titles);
    ADD(i, run_429_is_retried_without_a_check);
    ADD(i, cancel_while_queued);
    ADD(i, cancel_in_flight_frees_the_slot);
    ADD(i, cancel_during_backoff);
    ADD(i, cancel_during_a_gate_pause);
    ADD(i, cancel_while_reconciling_before_the_check);
    ADD(i, cancel_while_the_check_is_in_flight);
    ADD(i, cancel_the_last_op_of_a_draining_client);
    ADD(i, deadline_counts_queue_time);
    ADD(i, deadline_while_reconciling);
    ADD(i, shared_workspace_shares_cap_and_gate);
    ADD(i, shared_workspace_shares_the_rate);
    ADD(i, fanout_2000_into_200_per_s);
    ADD(i, fanout_2000_into_400_per_s);
    ADD(i, outage_in_the_middle_of_a_fanout);
    suite_add_tcase(s, i);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reliability_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
