/* blocking — the simplest use: one agent run, waited for synchronously.
 *
 * A client created with a NULL loop owns a private loop; nna_future_wait() runs it until the
 * future settles. No event loop code at all.
 *
 *   NANONETS_API_KEY=... [NANONETS_BASE_URL=...] blocking AGENT_ID "What is in this invoice?"
 *   (the agent id may also come from NNA_AGENT_ID)
 *
 * Build: cc blocking.c $(pkg-config --cflags --libs nna) */
#include <stdio.h>
#include <stdlib.h>
#include <nna/nna.h>
#include <nna/ev.h>

int main(int argc, char **argv)
{
    const char *agent = argc > 1 ? argv[1] : getenv("NNA_AGENT_ID");
    const char *query = argc > 2 ? argv[2] : "Say hello";
    nna_client_options o;
    nna_client_options_init(&o);
    o.api_key = getenv("NANONETS_API_KEY");
    if (getenv("NANONETS_BASE_URL")) o.base_url = getenv("NANONETS_BASE_URL");
    if (!agent || !o.api_key) {
        fprintf(stderr, "usage: NANONETS_API_KEY=... %s AGENT_ID [QUERY]\n", argv[0]);
        return 2;
    }

    nna_client *c;
    nna_status st = nna_client_new_ev(NULL, &o, &c); /* NULL: a private loop */
    if (st != NNA_OK) {
        fprintf(stderr, "client: %s\n", nna_strerror(st));
        return 1;
    }
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = query;
    nna_future *f = nna_agents_run(c, agent, &ro);
    st = nna_future_wait(f);
    if (st == NNA_OK) {
        const nna_task *t = nna_future_result(f);
        printf("task %s %s\n", t->task_id, nna_task_status_name(t->status));
    } else {
        fprintf(stderr, "run failed: %s (HTTP %ld): %s\n", nna_strerror(st),
                nna_future_http_status(f), nna_future_error(f) ? nna_future_error(f) : "");
    }
    nna_future_unref(f);
    nna_client_free(c); /* also closes and frees the private loop */
    return st == NNA_OK ? 0 : 1;
}
