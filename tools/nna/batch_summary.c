/* nna batch: the end-of-batch summary for people — an aligned table like the demo's, with
 * the elapsed time and where the results and the journal are. Printed on stderr instead of
 * the JSON summary line when stderr is a terminal or --format table is given. */
#include <string.h>
#include <unistd.h>
#include "batch.h"

int batch_summary_table(const batch *b, double elapsed)
{
    cli *c = b->c;
    if (!(c->format == FORMAT_TABLE || (c->format == FORMAT_AUTO && isatty(2)))) return 0;
    nna_workspace_counters k;
    memset(&k, 0, sizeof k);
    if (c->client) nna_workspace_counters_get(nna_client_workspace(c->client), &k);
    size_t ran = b->st.ok + b->st.failed;
    fflush(stdout);
    fprintf(stderr,
            "\n"
            "  lines             %8zu\n"
            "  ok                %8zu\n"
            "  failed            %8zu%s\n"
            "  skipped           %8zu   (already in the output: resumed)\n"
            "  adopted           %8zu   (created before an interruption, found again)\n"
            "  requests sent     %8llu\n"
            "  429s              %8llu\n"
            "  retries           %8llu\n"
            "  reconciled runs   %8llu   (created, answer lost, found through GET /tasks)\n"
            "  elapsed           %8.2f s\n"
            "  runs/s            %8.1f\n",
            b->njobs, b->st.ok, b->st.failed,
            b->st.failed ? "   (their lines have \"error\" or a final status)" : "",
            b->st.skipped, b->st.adopted, (unsigned long long)k.sent,
            (unsigned long long)k.rate_limited,
            (unsigned long long)(k.retried_rate + k.retried_server + k.retried_network),
            (unsigned long long)k.reconciled, elapsed, elapsed > 0 ? ran / elapsed : 0.0);
    fprintf(stderr, "  results           %s\n",
            b->out_path && strcmp(b->out_path, "-") != 0 ? b->out_path : "standard output");
    if (b->journal_path) fprintf(stderr, "  journal           %s\n", b->journal_path);
    return 1;
}
