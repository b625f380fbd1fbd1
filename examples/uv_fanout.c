/* uv_fanout — a libuv program that starts many agent runs with a cap on requests in flight.
 *
 *   NANONETS_API_KEY=... [NANONETS_BASE_URL=...] uv_fanout [-a AGENT_ID] [-n RUNS] [-c CAP]
 *   (the agent id may also come from NNA_AGENT_ID; defaults: 1000 runs, cap 32)
 *
 * Every run is submitted at once; the workspace limiter keeps at most CAP requests on the
 * wire (and slows down by itself if the server answers 429). Ctrl-C cancels what is left.
 * Prints a summary and exits 0 when every run was created.
 *
 * Build: cc uv_fanout.c $(pkg-config --cflags --libs nna-uv)   (links libuv, never libev) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <nna/nna.h>
#include <nna/uv.h>

typedef struct app {
    nna_client    *client;
    nna_workspace *ws;
    uv_signal_t    sigint;
    int            total, settled, ok;
    int            by_status[32];    /* -status → count, for the summary */
    unsigned       peak_inflight;
    double         t0;
} app;

static void on_run(nna_future *f, void *ud)
{
    app *a = ud;
    nna_status st = nna_future_status(f);
    a->settled++;
    if (st == NNA_OK) a->ok++;
    else if (-(int)st > 0 && -(int)st < 32) a->by_status[-(int)st]++;
    nna_workspace_counters wc;
    nna_workspace_counters_get(a->ws, &wc);
    if (wc.inflight > a->peak_inflight) a->peak_inflight = wc.inflight;
    nna_future_unref(f); /* the library keeps its own reference until we return */
    if (a->settled == a->total && a->client) {
        /* All done: let the client go; uv_run returns once its handles are closed. */
        nna_client_shutdown(a->client, NNA_SHUTDOWN_DRAIN, NULL, NULL);
        uv_close((uv_handle_t *)&a->sigint, NULL);
    }
}

static void on_sigint(uv_signal_t *s, int signum)
{
    (void)signum;
    app *a = s->data;
    fprintf(stderr, "interrupted: cancelling %d outstanding runs\n", a->total - a->settled);
    nna_client_shutdown(a->client, NNA_SHUTDOWN_CANCEL, NULL, NULL); /* each future settles */
    a->client = NULL;
    uv_close((uv_handle_t *)s, NULL);
}

int main(int argc, char **argv)
{
    const char *agent = getenv("NNA_AGENT_ID");
    int n = 1000, cap = 32, opt;
    while ((opt = getopt(argc, argv, "a:n:c:")) != -1) {
        if (opt == 'a') agent = optarg;
        else if (opt == 'n') n = atoi(optarg);
        else if (opt == 'c') cap = atoi(optarg);
        else return 2;
    }
    nna_client_options o;
    nna_client_options_init(&o);
    o.api_key = getenv("NANONETS_API_KEY");
    if (getenv("NANONETS_BASE_URL")) o.base_url = getenv("NANONETS_BASE_URL");
    if (!agent || !o.api_key || n < 1 || cap < 1) {
        fprintf(stderr, "usage: NANONETS_API_KEY=... %s -a AGENT_ID [-n RUNS] [-c CAP]\n", argv[0]);
        return 2;
    }

    app a;
    memset(&a, 0, sizeof a);
    a.total = n;
    uv_loop_t *loop = uv_default_loop();

    /* The cap lives in the workspace: every client of one workspace shares it. */
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = (unsigned)cap;
    if (nna_workspace_new(&wo, &a.ws) != NNA_OK) return 1;
    o.workspace = a.ws;
    nna_status st = nna_client_new_uv(loop, &o, &a.client);
    if (st != NNA_OK) {
        fprintf(stderr, "client: %s\n", nna_strerror(st));
        return 1;
    }
    uv_signal_init(loop, &a.sigint);
    a.sigint.data = &a;
    uv_signal_start(&a.sigint, on_sigint, SIGINT);
    uv_unref((uv_handle_t *)&a.sigint); /* the pending runs keep the loop alive, not this */

    a.t0 = (double)uv_hrtime() / 1e9;
    for (int i = 0; i < n; i++) {
        char q[64];
        snprintf(q, sizeof q, "Document %d: extract the totals", i);
        nna_run_options ro;
        nna_run_options_init(&ro);
        ro.query = q;
        nna_future *f = nna_agents_run(a.client, agent, &ro);
        if (!f || nna_future_then(f, on_run, &a) != NNA_OK) return 1;
    }
    uv_run(loop, UV_RUN_DEFAULT); /* returns when every run settled and the client is gone */
    double secs = (double)uv_hrtime() / 1e9 - a.t0;

    nna_workspace_counters wc;
    nna_workspace_counters_get(a.ws, &wc);
    printf("runs: %d created, %d failed of %d in %.2f s (%.0f runs/s)\n", a.ok,
           a.settled - a.ok, n, secs, secs > 0 ? a.settled / secs : 0.0);
    printf("requests: %llu sent, %llu rate limited, %llu retried; peak in flight %u (cap %d)\n",
           (unsigned long long)wc.sent, (unsigned long long)wc.rate_limited,
           (unsigned long long)(wc.retried_rate + wc.retried_server + wc.retried_network),
           a.peak_inflight, cap);
    for (int i = 1; i < 32; i++)
        if (a.by_status[i]) printf("  %s: %d\n", nna_status_name((nna_status)-i), a.by_status[i]);
    nna_workspace_unref(a.ws);
    uv_loop_close(loop);
    return a.ok == n ? 0 : 1;
}
