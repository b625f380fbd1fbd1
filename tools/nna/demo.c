/* nna demo — a fan-out against an in-process nna-emu (tools/emu/emu.h): a rate-limited
 * emulator with a few percent of injected faults, N runs through the batch engine, every
 * result waited for with the bulk watch, then a summary table whose "duplicates" row is
 * checked against the emulator's own task store. Needs no API key. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"
#include "emu.h"

static const char HELP[] =
"usage: nna demo [--runs N] [--seed N]\n"
"\n"
"Starts an in-process emulator of the Agents API on a free loopback port, with a rate\n"
"limit (200 requests/s, burst 50) and injected faults (1 % HTTP 500, 1 % HTTP 503, 1 %\n"
"\"commit then fail\": the task is created but the answer is a 500), runs N agent runs\n"
"(default 1000) through the per-workspace limiter, waits for every result with the bulk\n"
"watch, and prints a summary: runs, completed, failed, requests sent, 429s, retries,\n"
"reconciled runs, duplicates (tasks created twice: counted in the emulator, must be 0),\n"
"elapsed time and runs/s. Needs no API key. Shows a progress bar on a terminal.\n"
"\n"
"  --runs N   number of runs (1..100000, default 1000)\n"
"  --seed N   fault-injection seed (default 1)\n";

#define DEMO_CONFIG                                                                      \
    "{\"rate\":200,\"burst\":50,\"fault_500\":0.01,\"fault_503\":0.01,"                  \
    "\"commit_then_fail\":0.01,\"task_ms\":300,\"seed\":%u}"

static const char *const agents[] = { NNA_EMU_AGENT_1, NNA_EMU_AGENT_2 };

/* Tasks the emulator stored per run query: returns duplicates (tasks beyond one per run)
 * and sets *missing (runs without a task) and *strays (tasks no run asked for). */
static size_t count_duplicates(nna_emu *emu, batch *b, size_t *missing, size_t *strays)
{
    unsigned *seen = xcalloc(b->njobs, sizeof *seen);
    *strays = 0;
    for (size_t a = 0; a < 2; a++) {
        char path[128], *resp = NULL;
        snprintf(path, sizeof path, "/_emu/tasks?agent_id=%s", agents[a]);
        nna_emu_control(emu, "GET", path, NULL, &resp);
        cJSON *j = cJSON_Parse(resp ? resp : "");
        free(resp);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(j, "data")) {
            const cJSON *title = cJSON_GetObjectItemCaseSensitive(t, "title");
            unsigned long k = 0;
            if (cJSON_IsString(title) && sscanf(title->valuestring, "Demo run %lu:", &k) == 1 &&
                k >= 1 && k <= b->njobs)
                seen[k - 1]++;
            else
                (*strays)++;
        }
        cJSON_Delete(j);
    }
    size_t dup = 0;
    *missing = 0;
    for (size_t i = 0; i < b->njobs; i++) {
        if (seen[i] > 1) dup += seen[i] - 1;
        if (seen[i] == 0) (*missing)++;
    }
    free(seen);
    return dup;
}

int cmd_demo(cli *c, int argc, char **argv)
{
    unsigned runs = 1000, seed = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (arg_is_help(a)) {
            fputs(HELP, stdout);
            return EXIT_OK;
        }
        if ((r = arg_value(argc, argv, &i, "--runs", &v))) {
            if (r < 0 || parse_uint("--runs", v, 1, 100000, &runs)) return EXIT_USAGE;
        } else if ((r = arg_value(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || parse_uint("--seed", v, 0, 4000000000u, &seed)) return EXIT_USAGE;
        } else if ((r = cli_global_option(c, argc, argv, &i))) {
            if (r < 0) return EXIT_USAGE;
        } else {
            return usage_error("unexpected argument %s for 'nna demo' (see nna demo --help)", a);
        }
    }

    nna_emu_options eo;
    nna_emu_options_init(&eo);
    eo.quiet = 1;
    eo.seed = seed;
    nna_emu *emu = NULL;
    if (nna_emu_start(&eo, &emu) != 0) return report_error(NNA_EIO, 0, "cannot start the emulator");
    char cfg[256], base[64], *resp = NULL;
    snprintf(cfg, sizeof cfg, DEMO_CONFIG, seed);
    if (nna_emu_control(emu, "POST", "/_emu/config", cfg, &resp) != 200) {
        free(resp);
        nna_emu_stop(emu);
        return report_error(NNA_EIO, 0, "cannot configure the emulator");
    }
    free(resp);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)nna_emu_port(emu));
    c->base_url = base;
    printf("nna demo: emulator on %s (rate limit 200/s, burst 50; faults: 1%% 500, 1%% 503, "
           "1%% commit-then-fail)\n", base);
    printf("          %u runs over 2 agents, waiting for every result...\n", runs);
    fflush(stdout);
    int rc = cli_connect(c, NNA_EMU_DEFAULT_KEY);
    if (rc != EXIT_OK) {
        nna_emu_stop(emu);
        return rc;
    }

    batch b;
    memset(&b, 0, sizeof b);
    b.c = c;
    b.out_fd = -1;
    b.offset_lb = NAN;
    b.fence.w0 = NAN;
    b.wait = 1;
    b.timeout = 600;
    b.label = "demo";
    b.run_deadline = c->deadline >= 0 ? c->deadline : 0;
    b.njobs = runs;
    b.jobs = xcalloc(runs, sizeof *b.jobs);
    char q[64];
    for (size_t i = 0; i < runs; i++) {
        job *j = &b.jobs[i];
        j->b = &b;
        j->line = i + 1;
        j->created_at = NAN;
        j->agent_id = xstrdup(agents[i % 2]);
        snprintf(q, sizeof q, "Demo run %05zu: summarise the quarterly report", i + 1);
        j->query = xstrdup(q);
    }
    nna_watch_options wo;
    nna_watch_options_init(&wo);
    wo.interval = 0.5;
    wo.max_interval = 2;
    nna_status st = nna_watch_new(c->client, &wo, &b.watch);
    if (st != NNA_OK) {
        rc = report_error(st, 0, "cannot create the watch");
        goto out;
    }
    b.t_start = wall_now();
    b.prog = progress_new(c, b.label, runs, c->progress);
    double t0 = wall_now();
    batch_execute(&b);
    double elapsed = wall_now() - t0;
    progress_finish(b.prog);

    nna_workspace_counters k;
    nna_workspace_counters_get(nna_client_workspace(c->client), &k);
    size_t completed = 0, failed = 0;
    for (size_t i = 0; i < runs; i++) {
        if (b.jobs[i].ok) completed++;
        else failed++;
    }
    size_t missing, strays, dup = count_duplicates(emu, &b, &missing, &strays);
    printf("\n"
           "  runs              %8u\n"
           "  completed         %8zu\n"
           "  failed            %8zu\n"
           "  requests sent     %8llu\n"
           "  429s              %8llu   (%llu workspace pauses)\n"
           "  retries           %8llu\n"
           "  reconciled runs   %8llu   (created, answer lost, found through GET /tasks)\n"
           "  duplicates        %8zu   (tasks created twice, counted in the emulator)\n"
           "  elapsed           %8.2f s\n"
           "  runs/s            %8.1f\n",
           runs, completed, failed, (unsigned long long)k.sent,
           (unsigned long long)k.rate_limited, (unsigned long long)progress_gate_pauses(b.prog),
           (unsigned long long)(k.retried_rate + k.retried_server + k.retried_network),
           (unsigned long long)(k.reconciled + b.st.adopted), dup, elapsed,
           elapsed > 0 ? runs / elapsed : 0.0);
    if (missing || strays)
        printf("  (emulator: %zu runs without a task, %zu tasks nobody asked for)\n", missing, strays);
    fflush(stdout);
    rc = dup || missing || failed ? EXIT_SERVER : EXIT_OK;
out:
    b.io_failed = 1;
    progress_free(b.prog);
    if (b.watch) nna_watch_free(b.watch);
    cli_disconnect(c);
    batch_free_jobs(&b);
    nna_emu_stop(emu);
    return rc;
}
