/* nna-emu: command-line front end of the Nanonets Agents API emulator. */
#include "emu_internal.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: nna-emu [OPTIONS]\n"
    "Local HTTP emulator of the Nanonets Agents API v1 (all 14 endpoints under /api/v1).\n"
    "The listening port is printed alone on the first line of stdout.\n"
    "\n"
    "Server:\n"
    "  --host HOST               address to listen on (default 127.0.0.1)\n"
    "  --port N                  port; 0 = pick a free one (default 0)\n"
    "  --config FILE             JSON configuration (workspaces, keys, agents, settings)\n"
    "  --seed N                  seed of the fault-injection PRNG (default 0)\n"
    "  --no-control              disable the /_emu/ control endpoints (they answer 404)\n"
    "  --log FILE                append a JSON line per API request to FILE\n"
    "  --quiet                   no stderr chatter\n"
    "  --idle-timeout S          close a connection idle (or stalled) for S seconds (default 15)\n"
    "  --tls-cert FILE           serve HTTPS with this PEM certificate (chain)\n"
    "  --tls-key FILE            the certificate's PEM private key (with --tls-cert)\n"
    "\n"
    "Settings (override the configuration file; all changeable at run time via POST /_emu/config):\n"
    "  --rate R                  token-bucket rate per workspace, requests/s (0 = unlimited, default)\n"
    "  --burst B                 token-bucket size (default max(1, rate))\n"
    "  --retry-after-date        send Retry-After as an HTTP-date instead of seconds\n"
    "  --latency-ms MIN[-MAX]    added latency per API request, fixed or uniform in [MIN,MAX]\n"
    "  --fault-500 P             probability (0..1) of an injected 500 per API request\n"
    "  --fault-502 P             probability of an injected 502 with an HTML body\n"
    "  --fault-503 P             probability of an injected 503\n"
    "  --commit-then-fail P      run creation: create the task, then answer 500\n"
    "  --commit-then-drop P      run creation: create the task, then close the connection\n"
    "  --task-ms N               task duration: pending for N/6 ms, completed at N ms (default 300)\n"
    "  --concurrency N           per-agent concurrent-task limit, excess runs are queued (0 = unlimited)\n"
    "  --cross-workspace 403|404 status for another workspace's agent/task (default 404;\n"
    "                            cancelling another workspace's task is always 403)\n"
    "  --varied-success-codes    201 for POST run and POST /agents, 202 for POST message\n"
    "  --max-tasks N             task store cap; oldest finished tasks are evicted (default 1000000)\n"
    "  --max-upload-bytes N      multipart upload limit per request (default 52428800) -> 400\n"
    "  --input-marker TEXT       query text that makes a task ask a question (default \"ASK:\")\n"
    "\n"
    "Fake agent: a query containing FAIL ends failed; the input marker -> waiting_for_input until\n"
    "POST /tasks/{id}/message; REVIEW -> awaiting_review until POST /_emu/tasks/{id}/release.\n"
    "\n"
    "Configuration file (JSON):\n"
    "  {\"settings\": {<any setting below>},\n"
    "   \"workspaces\": [{\"name\": \"default\", \"keys\": [\"test-key\"], \"rate\": 10, \"burst\": 20,\n"
    "                   \"agents\": [{\"id\": \"<uuid>\", \"name\": \"Invoices\", \"is_active\": true,\n"
    "                               \"config\": {\"system_prompt\": \"...\"}, \"concurrency\": 2}]}]}\n"
    "  Setting keys: rate burst fault_500 fault_502 fault_503 commit_then_fail commit_then_drop\n"
    "  latency_ms latency_max_ms task_ms concurrency cross_workspace retry_after_format\n"
    "  (\"seconds\"|\"http-date\") varied_success_codes max_tasks max_upload_bytes input_marker seed\n"
    "  date_skew (seconds added to the Date header only)\n"
    "  Without --config: workspace \"default\" (key test-key, agents " NNA_EMU_AGENT_1 ",\n"
    "  " NNA_EMU_AGENT_2 ", " NNA_EMU_AGENT_3 " (inactive)) and workspace \"other\"\n"
    "  (key other-key, agent " NNA_EMU_OTHER_AGENT ").\n"
    "\n"
    "Control endpoints (no auth): POST /_emu/reset, GET|POST /_emu/config, POST /_emu/script,\n"
    "GET /_emu/log, GET /_emu/counters, GET /_emu/tasks?agent_id=, POST /_emu/tasks/{id}/release,\n"
    "POST /_emu/agents/{id}/draft. See docs/emu.md.\n"
    "SIGINT/SIGTERM stop the server cleanly.\n";

enum {
    O_HOST = 256, O_PORT, O_CONFIG, O_SEED, O_NOCONTROL, O_LOG, O_QUIET, O_RATE, O_BURST,
    O_RADATE, O_LATENCY, O_F500, O_F502, O_F503, O_CTF, O_CTD, O_TASKMS, O_CONC, O_CROSS,
    O_VARIED, O_MAXTASKS, O_MAXUP, O_MARKER, O_HELP, O_VERSION, O_IDLE, O_TLSCERT, O_TLSKEY
};

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sbuf b;
    sb_init(&b);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_putn(&b, buf, n);
    fclose(f);
    return sb_steal(&b);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, 0, O_HOST},
        {"port", required_argument, 0, O_PORT},
        {"config", required_argument, 0, O_CONFIG},
        {"seed", required_argument, 0, O_SEED},
        {"no-control", no_argument, 0, O_NOCONTROL},
        {"log", required_argument, 0, O_LOG},
        {"quiet", no_argument, 0, O_QUIET},
        {"rate", required_argument, 0, O_RATE},
        {"burst", required_argument, 0, O_BURST},
        {"retry-after-date", no_argument, 0, O_RADATE},
        {"latency-ms", required_argument, 0, O_LATENCY},
        {"fault-500", required_argument, 0, O_F500},
        {"fault-502", required_argument, 0, O_F502},
        {"fault-503", required_argument, 0, O_F503},
        {"commit-then-fail", required_argument, 0, O_CTF},
        {"commit-then-drop", required_argument, 0, O_CTD},
        {"task-ms", required_argument, 0, O_TASKMS},
        {"concurrency", required_argument, 0, O_CONC},
        {"cross-workspace", required_argument, 0, O_CROSS},
        {"varied-success-codes", no_argument, 0, O_VARIED},
        {"max-tasks", required_argument, 0, O_MAXTASKS},
        {"max-upload-bytes", required_argument, 0, O_MAXUP},
        {"input-marker", required_argument, 0, O_MARKER},
        {"idle-timeout", required_argument, 0, O_IDLE},
        {"tls-cert", required_argument, 0, O_TLSCERT},
        {"tls-key", required_argument, 0, O_TLSKEY},
        {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0}};
    nna_emu_options o;
    nna_emu_options_init(&o);
    const char *config_path = NULL;
    cJSON *set = cJSON_CreateObject();
    double d;
    int c;
    if (!set)
        return 1;
#define BAD(opt)                                                                     \
    do {                                                                             \
        fprintf(stderr, "nna-emu: invalid value for --%s: %s\n", opt, optarg);      \
        cJSON_Delete(set);                                                           \
        return 2;                                                                    \
    } while (0)
#define SETNUM(key, lo, hi, opt)                                                     \
    do {                                                                             \
        if (parse_num(optarg, lo, hi, &d))                                           \
            BAD(opt);                                                                \
        cJSON_DeleteItemFromObject(set, key);                                        \
        cJSON_AddNumberToObject(set, key, d);                                        \
    } while (0)
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_HOST: o.host = optarg; break;
        case O_PORT:
            if (parse_num(optarg, 0, 65535, &d))
                BAD("port");
            o.port = (unsigned)d;
            break;
        case O_CONFIG: config_path = optarg; break;
        case O_SEED: {
            char *end;
            errno = 0;
            o.seed = strtoull(optarg, &end, 0);
            if (errno || *end || end == optarg)
                BAD("seed");
            break;
        }
        case O_NOCONTROL: o.control = 0; break;
        case O_LOG: o.log_path = optarg; break;
        case O_QUIET: o.quiet = 1; break;
        case O_IDLE:
            if (parse_num(optarg, 1, 86400, &d))
                BAD("idle-timeout");
            o.idle_timeout = (unsigned)d;
            break;
        case O_TLSCERT: o.tls_cert = optarg; break;
        case O_TLSKEY: o.tls_key = optarg; break;
        case O_RATE: SETNUM("rate", 0, 1e9, "rate"); break;
        case O_BURST: SETNUM("burst", 0, 1e9, "burst"); break;
        case O_RADATE:
            cJSON_DeleteItemFromObject(set, "retry_after_format");
            cJSON_AddStringToObject(set, "retry_after_format", "http-date");
            break;
        case O_LATENCY: {
            char *dash = strchr(optarg, '-');
            double lo, hi;
            if (dash) {
                *dash = '\0';
                int bad = parse_num(optarg, 0, 86400000, &lo) || parse_num(dash + 1, 0, 86400000, &hi) || hi < lo;
                *dash = '-';
                if (bad)
                    BAD("latency-ms");
            } else {
                if (parse_num(optarg, 0, 86400000, &lo))
                    BAD("latency-ms");
                hi = lo;
            }
            cJSON_DeleteItemFromObject(set, "latency_ms");
            cJSON_DeleteItemFromObject(set, "latency_max_ms");
            cJSON_AddNumberToObject(set, "latency_ms", lo);
            cJSON_AddNumberToObject(set, "latency_max_ms", hi);
            break;
        }
        case O_F500: SETNUM("fault_500", 0, 1, "fault-500"); break;
        case O_F502: SETNUM("fault_502", 0, 1, "fault-502"); break;
        case O_F503: SETNUM("fault_503", 0, 1, "fault-503"); break;
        case O_CTF: SETNUM("commit_then_fail", 0, 1, "commit-then-fail"); break;
        case O_CTD: SETNUM("commit_then_drop", 0, 1, "commit-then-drop"); break;
        case O_TASKMS: SETNUM("task_ms", 0, 86400000, "task-ms"); break;
        case O_CONC: SETNUM("concurrency", 0, 1000000, "concurrency"); break;
        case O_CROSS:
            if (strcmp(optarg, "403") && strcmp(optarg, "404"))
                BAD("cross-workspace");
            cJSON_DeleteItemFromObject(set, "cross_workspace");
            cJSON_AddNumberToObject(set, "cross_workspace", atoi(optarg));
            break;
        case O_VARIED:
            cJSON_DeleteItemFromObject(set, "varied_success_codes");
            cJSON_AddBoolToObject(set, "varied_success_codes", 1);
            break;
        case O_MAXTASKS: SETNUM("max_tasks", 1, 4e9, "max-tasks"); break;
        case O_MAXUP: SETNUM("max_upload_bytes", 0, 1e15, "max-upload-bytes"); break;
        case O_MARKER:
            if (strlen(optarg) >= 64)
                BAD("input-marker");
            cJSON_DeleteItemFromObject(set, "input_marker");
            cJSON_AddStringToObject(set, "input_marker", optarg);
            break;
        case 'h':
        case O_HELP:
            fputs(usage, stdout);
            cJSON_Delete(set);
            return 0;
        case O_VERSION:
            puts("nna-emu 0.1.0");
            cJSON_Delete(set);
            return 0;
        default:
            fputs(usage, stderr);
            cJSON_Delete(set);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nna-emu: unexpected argument '%s'\n", argv[optind]);
        cJSON_Delete(set);
        return 2;
    }
    /* merge the command-line settings into the configuration's "settings" */
    char *text = config_path ? slurp(config_path) : strdup(emu_default_config_json());
    if (!text) {
        fprintf(stderr, "nna-emu: cannot read %s: %s\n", config_path, strerror(errno));
        cJSON_Delete(set);
        return 1;
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        fprintf(stderr, "nna-emu: %s is not a JSON object\n", config_path ? config_path : "config");
        cJSON_Delete(root);
        cJSON_Delete(set);
        return 1;
    }
    cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "settings");
    if (!cJSON_IsObject(rs)) {
        cJSON_DeleteItemFromObject(root, "settings");
        rs = cJSON_AddObjectToObject(root, "settings");
    }
    cJSON *it;
    cJSON_ArrayForEach(it, set) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, it->string); /* top-level duplicates */
        cJSON_DeleteItemFromObjectCaseSensitive(rs, it->string);
        cJSON_AddItemToObject(rs, it->string, cJSON_Duplicate(it, 1));
    }
    /* explicit --rate/--burst also override per-workspace values */
    if (cJSON_GetObjectItemCaseSensitive(set, "rate") || cJSON_GetObjectItemCaseSensitive(set, "burst")) {
        cJSON *wss = cJSON_GetObjectItemCaseSensitive(root, "workspaces"), *w;
        cJSON_ArrayForEach(w, wss) {
            if (cJSON_GetObjectItemCaseSensitive(set, "rate"))
                cJSON_DeleteItemFromObjectCaseSensitive(w, "rate");
            if (cJSON_GetObjectItemCaseSensitive(set, "burst"))
                cJSON_DeleteItemFromObjectCaseSensitive(w, "burst");
        }
    }
    cJSON_Delete(set);
    char *cfg = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!cfg)
        return 1;
    o.config_json = cfg;

    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGINT);
    sigaddset(&ss, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Each client connection is a descriptor: take all the process may have, so a burst of
     * idle keep-alive sockets does not lock every client out at the default 1024. */
    emu_raise_nofile();
    /* Printed even with --quiet: the emulator has no real authentication, and /_emu/
     * lets anyone who reaches it rewrite its state. */
    if (!emu_host_is_loopback(o.host))
        fprintf(stderr, "nna-emu: WARNING: listening on %s, which is reachable from other "
                "hosts; the emulator has no real authentication%s\n", o.host,
                o.control ? " and its /_emu/ control endpoints are open" : "");

    nna_emu *e;
    int rc = nna_emu_start(&o, &e);
    free(cfg);
    if (rc != 0) {
        fprintf(stderr, "nna-emu: failed to start: %s\n", strerror(-rc));
        return 1;
    }
    printf("%u\n", (unsigned)nna_emu_port(e));
    fflush(stdout);
    if (!o.quiet)
        fprintf(stderr, "nna-emu: listening on %s://%s:%u (control endpoints %s)\n",
                o.tls_cert ? "https" : "http", o.host,
                (unsigned)nna_emu_port(e), o.control ? "enabled" : "disabled");
    int sig = 0;
    sigwait(&ss, &sig);
    if (!o.quiet)
        fprintf(stderr, "nna-emu: signal %d, stopping\n", sig);
    nna_emu_stop(e);
    return 0;
}
