/* batch — fan out N agent runs on a libev loop and wait for all of them.
 *
 *   NANONETS_API_KEY=... [NANONETS_BASE_URL=...] NNA_AGENT_ID=... batch [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <ev.h>
#include <nna/nna.h>
#include <nna/ev.h>

static nna_future **runs;
static int n, status = 1;

static void all_done(nna_future *all, void *ud)
{
    nna_client *c = ud;
    int ok = 0;
    for (int i = 0; i < n; i++) ok += nna_future_status(runs[i]) == NNA_OK;
    printf("%d/%d runs created (%s)\n", ok, n, nna_strerror(nna_future_status(all)));
    status = ok == n ? 0 : 1;
    for (int i = 0; i < n; i++) nna_future_unref(runs[i]);
    nna_future_unref(all);
    nna_client_shutdown(c, NNA_SHUTDOWN_DRAIN, NULL, NULL); /* ev_run then returns */
}

int main(int argc, char **argv)
{
    n = argc > 1 ? atoi(argv[1]) : 100;
    const char *agent = getenv("NNA_AGENT_ID");
    nna_client_options o;
    nna_client_options_init(&o);
    o.api_key = getenv("NANONETS_API_KEY");
    if (getenv("NANONETS_BASE_URL")) o.base_url = getenv("NANONETS_BASE_URL");
    o.max_inflight = 16; /* at most 16 requests on the wire at once */
    if (!agent || !o.api_key || n < 1) {
        fprintf(stderr, "usage: NANONETS_API_KEY=... NNA_AGENT_ID=... %s [N]\n", argv[0]);
        return 2;
    }

    struct ev_loop *loop = EV_DEFAULT;
    nna_client *c;
    if (nna_client_new_ev(loop, &o, &c) != NNA_OK) return 1;
    runs = calloc((size_t)n, sizeof *runs);
    for (int i = 0; i < n; i++) {
        char q[64];
        snprintf(q, sizeof q, "Document %d: extract the totals", i);
        nna_run_options ro;
        nna_run_options_init(&ro);
        ro.query = q;                       /* copied by the call */
        runs[i] = nna_agents_run(c, agent, &ro);
    }
    nna_future *all = nna_future_all(runs, (size_t)n);
    nna_future_then(all, all_done, c);
    ev_run(loop, 0); /* returns when the client is gone */
    free(runs);
    return status;
}
