/* nna run AGENT_ID [--query TEXT] [--file PATH]... [--output-config JSON] [--wait] */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cli.h"

static const char HELP[] =
"usage: nna run AGENT_ID [--query TEXT] [--file PATH]... [--output-config JSON]\n"
"               [--wait [--timeout SECONDS]]\n"
"\n"
"Starts a task: POST /agents/{AGENT_ID}/run. Prints the created task (task_id, status,\n"
"...) as one JSON line.\n"
"\n"
"  --query TEXT          the prompt (required unless a file is given)\n"
"  --file PATH           attach a file (repeatable); the run is then sent as\n"
"                        multipart/form-data with one `files` part per file\n"
"  --output-config JSON  TaskOutputConfig object, e.g.\n"
"                        '{\"output_schema\":\"{\\\"total\\\":\\\"number\\\"}\"}'\n"
"                        (JSON text, @FILE or @-)\n"
"  --wait                wait until the task is terminal (polling GET /tasks/{id} on a\n"
"                        growing interval) and print its /summary body instead; exit 1\n"
"                        when it failed, was stopped, or waits for input or review.\n"
"                        The task id goes to stderr at once; on a terminal, each\n"
"                        status change too\n"
"  --timeout SECONDS     bound of --wait (default 600; 0 = none); when it runs out:\n"
"                        an error on stderr and exit 9 (the task keeps running)\n"
"\n"
"A run is never re-sent blindly: when its outcome is in doubt (5xx, timeout, dropped\n"
"connection) the client first looks for the task with GET /tasks and adopts it.\n"
"Global options are accepted anywhere.\n";

void show_task_status(const nna_task *t, void *ud)
{
    (void)ud;
    fprintf(stderr, "nna: task %s is %s\n", t->task_id ? t->task_id : "?",
            t->status_text ? t->status_text : nna_task_status_name(t->status));
}

int cmd_run(cli *c, int argc, char **argv)
{
    const char *agent = NULL, *query = NULL, *oc_arg = NULL;
    const char **files = xcalloc((size_t)argc + 1, sizeof *files);
    size_t nfiles = 0;
    int wait = 0, rc = EXIT_USAGE;
    double timeout = 600;
    char *oc = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (arg_is_help(a)) {
            fputs(HELP, stdout);
            rc = EXIT_OK;
            goto out;
        }
        if ((r = arg_value(argc, argv, &i, "--query", &v))) {
            if (r < 0) goto out;
            query = v;
        } else if ((r = arg_value(argc, argv, &i, "--file", &v))) {
            if (r < 0) goto out;
            struct stat st;
            errno = 0;
            if (stat(v, &st) != 0 || !S_ISREG(st.st_mode) || access(v, R_OK) != 0) {
                usage_error("--file: cannot read %s: %s", v,
                            errno ? strerror(errno) : "not a regular file");
                goto out;
            }
            files[nfiles++] = v;
        } else if ((r = arg_value(argc, argv, &i, "--output-config", &v))) {
            if (r < 0) goto out;
            oc_arg = v;
        } else if ((r = arg_value(argc, argv, &i, "--timeout", &v))) {
            if (r < 0 || parse_seconds("--timeout", v, &timeout)) goto out;
        } else if (arg_is(a, "--wait", NULL)) {
            wait = 1;
        } else if ((r = cli_global_option(c, argc, argv, &i))) {
            if (r < 0) goto out;
        } else if (a[0] == '-' && a[1]) {
            usage_error("unknown option %s for 'nna run' (see nna run --help)", a);
            goto out;
        } else if (!agent) {
            agent = a;
        } else {
            usage_error("'nna run' takes one AGENT_ID");
            goto out;
        }
    }
    if (!agent) {
        usage_error("'nna run' needs an AGENT_ID (see nna run --help)");
        goto out;
    }
    if (need_uuid("AGENT_ID", agent)) goto out;
    if ((!query || !*query) && nfiles == 0) {
        usage_error("'nna run' needs --query TEXT or at least one --file PATH");
        goto out;
    }
    if (oc_arg && !(oc = load_json_object("--output-config", oc_arg))) goto out;
    if (oc) {
        cJSON *j = cJSON_Parse(oc);
        const char *why = output_config_problem(j);
        cJSON_Delete(j);
        if (why) {
            usage_error("--output-config %s", why);
            goto out;
        }
    }
    if ((rc = cli_connect(c, NULL)) != EXIT_OK) goto out;

    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = query && *query ? query : NULL;
    ro.output_config_json = oc;
    ro.files = files;
    ro.nfiles = nfiles;
    nna_future *f = nna_agents_run(c->client, agent, &ro);
    if (!f) {
        rc = report_error(NNA_ENOMEM, 0, NULL);
        goto out;
    }
    if (cli_await(c, f) != NNA_OK) {
        rc = report_future_error(f);
        nna_future_unref(f);
        goto out;
    }
    const nna_task *t = nna_future_result(f);
    if (!wait) {
        print_future(f);
        rc = EXIT_OK;
    } else {
        /* The id at once: whoever stops waiting (Ctrl-C, a timeout) can still find it. */
        fprintf(stderr, "nna: task %s is %s; waiting for it", t->task_id,
                t->status_text ? t->status_text : "created");
        if (timeout > 0) fprintf(stderr, " (at most %g s)", timeout);
        fputs("\n", stderr);
        c->show_status = isatty(2);
        char *id = xstrdup(t->task_id);
        const char *ids[1] = { id };
        rc = wait_tasks(c, ids, 1, timeout);
        free(id);
    }
    nna_future_unref(f);
out:
    free(oc);
    free(files);
    return rc;
}
