/* Fan-out benchmark of libnna through its public API: N run creations
 * (nna_agents_run) submitted at once to a client on the caller's libev loop whose
 * workspace admits `cap` requests in flight, then the loop runs until every future has
 * completed. Prints one JSON line of results.
 *
 *   nna_fanout --url http://127.0.0.1:PORT --n 20000 --cap 64
 *              [--mem] [--events FILE] [--sample-ms 50] [--client-inflight K]
 *              [--cacert FILE]   (https: trust this CA; bench/run --tls)
 *
 * --mem       heap (mallinfo2) and RSS before and after submitting, per queued operation
 *             and per request in flight (sampled at every completion; slower, so a
 *             separate run from the throughput ones)
 * --events    writes a time series for bench/plot.py: workspace counters every
 *             --sample-ms, every workspace event (hook), every completion
 * --client-inflight  sets nna_client_options.max_inflight too (default: left at its
 *             default; the workspace carries the cap)
 *
 * Measured (and, under callgrind, collected: --toggle-collect=bench_measured) is exactly
 * the submission of all N operations plus the loop run that completes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include "nna/ev.h"
#include "nna/tasks.h"
#include "benchutil.h"

typedef struct ev_rec {
    double t;
    char   type;       /* 'S' sample, 'E' event, 'D' done */
    int    kind;
    double value;
    long   status;
    unsigned inflight, cap;
    double rate;
    unsigned long long queued, sent, succeeded, limited;
} ev_rec;

static struct {
    struct ev_loop *loop;
    nna_client     *c;
    nna_workspace  *ws;
    long            n, cap, done, ok, failed;
    int             first_error;
    /* --mem */
    int             mem;
    double          per_queued;    /* bytes per queued op, measured before the run */
    double          heap_base;     /* heap after client creation */
    double         *inflight_samples; /* heap - base - queued * per_queued, per request in
                                         flight, for completions cap+1 .. 4 cap */
    size_t          ninflight;
    /* --events */
    int             record;
    ev_rec         *recs;
    size_t          nrecs, caprecs;
    double          t0;
    ev_timer        sampler;
} B;

static void rec_push(const ev_rec *r)
{
    if (B.nrecs == B.caprecs) {
        size_t nc = B.caprecs ? B.caprecs * 2 : 4096;
        ev_rec *nr = realloc(B.recs, nc * sizeof *nr);
        if (!nr) return;
        B.recs = nr;
        B.caprecs = nc;
    }
    B.recs[B.nrecs++] = *r;
}

static void sample(void)
{
    nna_workspace_counters k;
    nna_workspace_counters_get(B.ws, &k);
    ev_rec r = { .t = bench_now() - B.t0, .type = 'S', .inflight = k.inflight, .cap = k.cap,
                 .rate = k.rate, .queued = k.queued, .sent = k.sent,
                 .succeeded = k.succeeded, .limited = k.rate_limited };
    rec_push(&r);
}

static void on_sample(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop; (void)w; (void)revents;
    sample();
}

/* The workspace hook must not call into libnna: it only records. */
static void on_ws_event(nna_workspace *ws, const nna_ws_event *ev, void *ud)
{
    (void)ws; (void)ud;
    ev_rec r = { .t = bench_now() - B.t0, .type = 'E', .kind = (int)ev->kind,
                 .value = ev->value, .status = ev->http_status };
    rec_push(&r);
}

static void on_done(nna_future *f, void *ud)
{
    (void)ud;
    nna_status st = nna_future_status(f);
    const nna_task *t = nna_future_result(f);
    if (st == NNA_OK && t && t->task_id && t->task_id[0]) {
        B.ok++;
    } else {
        B.failed++;
        if (!B.first_error) {
            B.first_error = 1;
            fprintf(stderr, "nna_fanout: first failure: %s (%s, HTTP %ld)\n",
                    nna_status_name(st), nna_future_error(f) ? nna_future_error(f) : "",
                    nna_future_http_status(f));
        }
    }
    B.done++;
    if (B.record) {
        ev_rec r = { .t = bench_now() - B.t0, .type = 'D', .status = nna_future_http_status(f) };
        rec_push(&r);
    }
    if (B.mem && B.done > B.cap && B.done <= 4 * B.cap) {
        /* Early in the run: every connection is open and every slot busy, while the queue
         * is still nearly full, so subtracting the queued operations is exact enough. */
        nna_workspace_counters k;
        nna_workspace_counters_get(B.ws, &k);
        if (k.inflight + 1 >= (unsigned)B.cap && k.queued > 0)
            B.inflight_samples[B.ninflight++] =
                (bench_heap() - B.heap_base - (double)k.queued * B.per_queued) / (double)B.cap;
    }
    if (B.done == B.n && ev_is_active(&B.sampler)) {
        sample();
        ev_ref(B.loop);
        ev_timer_stop(B.loop, &B.sampler);
    }
}

static int submit(long from, long to)
{
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = BENCH_QUERY;
    for (long i = from; i < to; i++) {
        nna_future *f = nna_agents_run(B.c, BENCH_AGENT, &ro);
        if (!f || nna_future_then(f, on_done, NULL) != NNA_OK) return -1;
        nna_future_unref(f); /* the callback still fires; the library holds its own ref */
    }
    return 0;
}

typedef struct phase {
    double heap_before, heap_cap, heap_after, heap_end;
    long   rss_before, rss_after;
    double submit_s, run_s, cpu_s;
} phase;

/* Everything measured. callgrind collects only inside this function. */
__attribute__((noinline)) static int bench_measured(phase *p)
{
    double c0 = bench_cpu(), t0 = bench_now();
    long first = B.cap < B.n ? B.cap : B.n;
    if (submit(0, first) != 0) return -1;
    if (B.mem) p->heap_cap = bench_heap();
    if (submit(first, B.n) != 0) return -1;
    double t1 = bench_now();
    if (B.mem) {
        p->heap_after = bench_heap();
        p->rss_after = bench_rss_kb();
        B.per_queued = B.n > first ? (p->heap_after - p->heap_cap) / (double)(B.n - first) : 0;
    }
    ev_run(B.loop, 0);
    double t2 = bench_now();
    if (B.mem) p->heap_end = bench_heap();
    p->submit_s = t1 - t0;
    p->run_s = t2 - t0;
    p->cpu_s = bench_cpu() - c0;
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = bench_arg(argc, argv, "--url", NULL);
    B.n = atol(bench_arg(argc, argv, "--n", "20000"));
    B.cap = atol(bench_arg(argc, argv, "--cap", "64"));
    long client_inflight = atol(bench_arg(argc, argv, "--client-inflight", "0"));
    const char *events = bench_arg(argc, argv, "--events", NULL);
    double sample_ms = atof(bench_arg(argc, argv, "--sample-ms", "50"));
    B.mem = bench_flag(argc, argv, "--mem");
    if (B.mem) B.inflight_samples = calloc((size_t)(3 * B.cap + 1), sizeof(double));
    if (!url || B.n <= 0 || B.cap <= 0) {
        fprintf(stderr, "usage: nna_fanout --url http://127.0.0.1:PORT [--n N] [--cap C] "
                        "[--mem] [--events FILE] [--sample-ms MS] [--client-inflight K]\n");
        return 2;
    }
    phase p;
    memset(&p, 0, sizeof p);
    B.loop = ev_loop_new(EVFLAG_AUTO);

    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = (unsigned)B.cap;
    if (nna_workspace_new(&wo, &B.ws) != NNA_OK) return 1;
    nna_client_options o;
    nna_client_options_init(&o);
    o.base_url = url;
    o.api_key = BENCH_KEY;
    o.workspace = B.ws;
    o.ca_file = bench_arg(argc, argv, "--cacert", NULL); /* https (bench/run --tls) */
    if (client_inflight > 0) o.max_inflight = (unsigned)client_inflight;
    nna_status st = nna_client_new_ev(B.loop, &o, &B.c);
    if (st != NNA_OK) {
        fprintf(stderr, "nna_client_new_ev: %s\n", nna_strerror(st));
        return 1;
    }
    if (events) {
        B.record = 1;
        nna_workspace_set_hook(B.ws, on_ws_event, NULL);
        ev_timer_init(&B.sampler, on_sample, sample_ms / 1000.0, sample_ms / 1000.0);
        ev_timer_start(B.loop, &B.sampler);
        ev_unref(B.loop); /* the sampler alone must not keep ev_run going */
    }
    p.heap_before = bench_heap();
    p.rss_before = bench_rss_kb();
    B.heap_base = p.heap_before;
    B.t0 = bench_now();
    if (events) sample();

    if (bench_measured(&p) != 0) {
        fprintf(stderr, "nna_fanout: submission failed\n");
        return 1;
    }
    long maxrss = bench_maxrss_kb();

    nna_client_free(B.c); /* borrowed loop: shutdown, finished by the next ev_run */
    ev_run(B.loop, 0);
    nna_workspace_unref(B.ws);

    if (events) {
        FILE *f = fopen(events, "w");
        if (!f) { perror(events); return 1; }
        fprintf(f, "# type t kind value status inflight cap rate queued sent succeeded limited\n");
        for (size_t i = 0; i < B.nrecs; i++) {
            ev_rec *r = &B.recs[i];
            fprintf(f, "%c %.6f %d %.6g %ld %u %u %.6g %llu %llu %llu %llu\n", r->type, r->t,
                    r->kind, r->value, r->status, r->inflight, r->cap, r->rate, r->queued,
                    r->sent, r->succeeded, r->limited);
        }
        fclose(f);
    }

    printf("{\"client\":\"libnna\",\"n\":%ld,\"cap\":%ld,\"ok\":%ld,\"failed\":%ld,"
           "\"secs\":%.6f,\"rps\":%.1f,\"cpu_us\":%.3f,\"submit_us\":%.4f,\"maxrss_kb\":%ld",
           B.n, B.cap, B.ok, B.failed, p.run_s, (double)B.n / p.run_s,
           p.cpu_s * 1e6 / (double)B.n, p.submit_s * 1e6 / (double)B.n, maxrss);
    if (B.mem)
        bench_print_mem(p.rss_before, p.rss_after, p.heap_before, p.heap_after, p.heap_end,
                        B.per_queued, B.n, B.inflight_samples, B.ninflight);
    printf("}\n");
    ev_loop_destroy(B.loop);
    free(B.recs);
    return B.ok == B.n ? 0 : 1;
}
