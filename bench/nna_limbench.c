/* Limiter bench (docs/scale-out.md; commands in bench/results/scaleout.md): how many admissions a second the
 * workspace limiter sustains with the Redis backend (or in-process), with no HTTP at all.
 *
 * One client on a real libev loop, its workspace on a real Redis (--limiter URL; none =
 * in-process). The limiter's send hook (nna_ws_set_io, the test seam) replaces the
 * transfer by a zero-cost one that completes on the next loop iteration (an ev_idle):
 * each op then goes through every per-request step of the pipeline's limiter path —
 * admission (a leased slot and a reserved send), the first-attempt report to the retry
 * budget, the completion (success reported, slots given back) — and is queued again.
 *
 *   nna_limbench [--limiter URL] [--cap N] [--seconds S] [--rate R]
 *
 * --rate 0 (default): saturate (4 x cap ops queued at all times). --rate R: an open loop
 * offering R ops/s (arrivals every millisecond); the admission wait (arrival to send) is
 * then the latency the limiter adds. Prints one JSON line: ops, ops/s, Redis round trips
 * per op, this process's CPU per op (us), admission wait mean/p50/p99 (us). Several
 * processes with the same --limiter share one cap, as several `nna batch` would. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <ev.h>
#include "nna/ev.h"
#include "nna/workspace.h"
#include "limiter.h"
#include "op.h"

typedef struct bop {
    nna_op      op;          /* first: the hook gets &op */
    double      arrived;     /* monotonic s */
    struct bop *next;
} bop;

static struct {
    struct ev_loop *loop;
    nna_client     *c;
    nna_workspace  *ws;
    ev_idle         idle;
    ev_timer        arrivals, stop;
    bop            *done, *free_list;
    double          rate, t0, t_end, cpu_end;
    uint64_t        calls_end;
    int             running;
    unsigned long   ops, queued, offered, missed;
    double         *waits;     /* admission waits (s), paced mode */
    size_t          nwaits, capwaits;
} B;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void enqueue(bop *b, double arrived)
{
    memset(&b->op, 0, sizeof b->op);
    b->op.c = B.c;
    b->op.klass = NNA_CLASS_NORMAL;
    b->op.kind = NNA_OP_IDEMPOTENT;
    b->op.deadline = INFINITY;
    b->op.state = NNA_OPS_QUEUED;
    b->arrived = arrived;
    B.queued++;
    nna_ws_enqueue(B.ws, &b->op, 0);
}

/* The "transfer": completes on the next loop iteration. */
static void b_send(nna_op *op)
{
    bop *b = (bop *)op;
    op->state = NNA_OPS_INFLIGHT;
    op->attempts++;
    B.queued--;
    if (B.rate > 0) {
        if (B.nwaits == B.capwaits) {
            size_t n = B.capwaits ? B.capwaits * 2 : 65536;
            double *w = realloc(B.waits, n * sizeof *w);
            if (!w) abort();
            B.waits = w;
            B.capwaits = n;
        }
        B.waits[B.nwaits++] = mono() - b->arrived;
    }
    b->next = B.done;
    B.done = b;
    if (!ev_is_active(&B.idle)) ev_idle_start(B.loop, &B.idle);
}

static void b_reject(nna_op *op, nna_status st, double retry_after)
{
    (void)st;
    (void)retry_after;
    fprintf(stderr, "nna_limbench: an op was refused (429 gate)\n");
    op->state = NNA_OPS_DONE;
    B.queued--;
}

static void on_idle(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(loop, w);
    bop *list = B.done;
    B.done = NULL;
    double now = mono();
    while (list) {
        bop *b = list;
        list = b->next;
        b->op.state = NNA_OPS_DONE;
        if (B.running) B.ops++;
        nna_ws_attempt_done(B.ws, &b->op, 200, NNA_RC_OK, -1);
        if (B.running && B.rate <= 0) {
            enqueue(b, now);
        } else {
            b->next = B.free_list;
            B.free_list = b;
        }
    }
}

static void on_arrivals(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    double now = mono();
    unsigned long due = (unsigned long)((now - B.t0) * B.rate);
    while (B.offered < due) {
        B.offered++;
        bop *b = B.free_list;
        if (!b) {
            B.missed++;
            continue;
        }
        B.free_list = b->next;
        /* the arrival it stands for, not when this tick ran */
        enqueue(b, B.t0 + (double)B.offered / B.rate);
    }
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    B.running = 0;
    B.t_end = mono();
    B.cpu_end = cpu_s();
    nna_workspace_counters k;
    nna_workspace_counters_get(B.ws, &k);
    B.calls_end = k.limiter_calls;
    ev_timer_stop(loop, &B.arrivals);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *limiter = NULL;
    unsigned cap = 64;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--limiter")) limiter = argv[i + 1];
        else if (!strcmp(argv[i], "--cap")) cap = (unsigned)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate")) B.rate = atof(argv[i + 1]);
        else {
            fprintf(stderr, "usage: nna_limbench [--limiter URL] [--cap N] [--seconds S] [--rate R]\n");
            return 2;
        }
    }
    if (cap < 1 || !(seconds > 0)) return 2;
    B.loop = ev_loop_new(EVFLAG_AUTO);
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = cap;
    wo.limiter_url = limiter && *limiter ? limiter : NULL;
    nna_status st = nna_workspace_new(&wo, &B.ws);
    if (st != NNA_OK) {
        fprintf(stderr, "nna_workspace_new: %s\n", nna_strerror(st));
        return 1;
    }
    nna_client_options o;
    nna_client_options_init(&o);
    o.base_url = "http://127.0.0.1:9";   /* never contacted: the send hook replaces it */
    o.api_key = "bench";
    o.workspace = B.ws;
    st = nna_client_new_ev(B.loop, &o, &B.c);
    if (st != NNA_OK) {
        fprintf(stderr, "nna_client_new_ev: %s\n", nna_strerror(st));
        return 1;
    }
    nna_ws_io io = { b_send, b_reject };
    nna_ws_set_io(B.ws, &io);

    size_t nops = B.rate > 0 ? (size_t)(B.rate * 0.5) + cap : (size_t)cap * 4;
    bop *ops = calloc(nops, sizeof *ops);
    if (!ops) return 1;
    ev_idle_init(&B.idle, on_idle);
    ev_timer_init(&B.stop, on_stop, seconds, 0);
    ev_timer_start(B.loop, &B.stop);
    B.running = 1;
    double cpu0 = cpu_s();
    B.t0 = mono();
    if (B.rate > 0) {
        for (size_t i = 0; i < nops; i++) {
            ops[i].next = B.free_list;
            B.free_list = &ops[i];
        }
        ev_timer_init(&B.arrivals, on_arrivals, 0.001, 0.001);
        ev_timer_start(B.loop, &B.arrivals);
    } else {
        for (size_t i = 0; i < nops; i++) enqueue(&ops[i], B.t0);
    }
    while (B.running || B.queued || B.done) ev_run(B.loop, EVRUN_ONCE);
    double cpu = B.cpu_end - cpu0, span = B.t_end - B.t0;
    double mean = 0, p50 = 0, p99 = 0;
    if (B.nwaits) {
        for (size_t i = 0; i < B.nwaits; i++) mean += B.waits[i];
        mean /= (double)B.nwaits;
        qsort(B.waits, B.nwaits, sizeof *B.waits, cmp_d);
        p50 = B.waits[B.nwaits / 2];
        p99 = B.waits[(size_t)((double)B.nwaits * 0.99)];
    }
    printf("{\"backend\":\"%s\",\"cap\":%u,\"rate\":%.0f,\"ops\":%lu,\"seconds\":%.3f,"
           "\"ops_per_s\":%.0f,\"round_trips\":%llu,\"rt_per_op\":%.4f,\"cpu_us_per_op\":%.2f,"
           "\"missed\":%lu,\"wait_mean_us\":%.1f,\"wait_p50_us\":%.1f,\"wait_p99_us\":%.1f}\n",
           wo.limiter_url ? "redis" : "in-process", cap, B.rate, B.ops, span,
           (double)B.ops / span, (unsigned long long)B.calls_end,
           B.ops ? (double)B.calls_end / (double)B.ops : 0, B.ops ? cpu / (double)B.ops * 1e6 : 0,
           B.missed, mean * 1e6, p50 * 1e6, p99 * 1e6);
    nna_ws_set_io(B.ws, NULL);
    nna_client_shutdown(B.c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    ev_run(B.loop, 0);
    nna_workspace_unref(B.ws);
    ev_loop_destroy(B.loop);
    free(ops);
    free(B.waits);
    return 0;
}
