/* nna tasks list|get|summary|result|messages|cancel|message|wait */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char HELP[] =
"usage: nna tasks list [--agent-id ID] [--status LIST] [--created-after TS]\n"
"                      [--created-before TS] [--q TEXT] [--limit N] [--all]\n"
"       nna tasks get|summary|result|messages|cancel TASK_ID\n"
"       nna tasks message TASK_ID --text TEXT\n"
"       nna tasks wait TASK_ID... [--timeout SECONDS]\n"
"\n"
"  list      GET /tasks: one task per line, newest first\n"
"            --agent-id ID        only tasks of this agent (version) id\n"
"            --status LIST        comma-separated pending, queued, running,\n"
"                                 waiting_for_input, awaiting_review, completed,\n"
"                                 failed, stopped\n"
"            --created-after TS   inclusive; ISO-8601 (2026-05-11T10:15:00Z) or Unix\n"
"            --created-before TS  seconds\n"
"            --q TEXT             case-insensitive substring of the title\n"
"            --limit N            page size 1..100 (default 20; 100 with --all)\n"
"            --all                every page, not just the first\n"
"  get       GET /tasks/{id}: status and timestamps (the cheap call)\n"
"  summary   GET /tasks/{id}/summary: the final answer\n"
"  result    GET /tasks/{id}/result: the task with its full reasoning feed\n"
"  messages  GET /tasks/{id}/messages: one message per line, oldest first\n"
"  cancel    POST /tasks/{id}/cancel (idempotent)\n"
"  message   POST /tasks/{id}/message {\"message\": TEXT}: answer a task waiting for\n"
"            input. Never re-sent blindly: a lost answer ends with exit 9\n"
"  wait      waits for every task at once (from 5 tasks on through GET /tasks list\n"
"            pages, else polling GET /tasks/{id} each) until it is terminal or waits\n"
"            for input or review, and\n"
"            prints one line per task as it finishes: the /summary body of a completed\n"
"            or failed task, else the task. --timeout SECONDS bounds the wait (default\n"
"            600; 0 = none). Exit 1 when a task failed, was stopped, or waits for\n"
"            input or review\n"
"\n"
"Output: one JSON object per line. Global options are accepted anywhere.\n";

typedef struct opts {
    const char **pos;
    int          npos;
    const char  *agent_id, *status, *q, *text;
    double       after, before, timeout;
    unsigned     limit;
    int          all;
} opts;

static int parse(cli *c, const char *sub, int argc, char **argv, const char *allowed, opts *o)
{
    memset(o, 0, sizeof *o);
    o->after = o->before = NAN;
    o->timeout = 600;
    o->pos = xcalloc((size_t)argc + 1, sizeof *o->pos);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (arg_is_help(a)) {
            print_sub_help(HELP, "tasks", sub);
            return 1;
        }
#define VALUE_OPT(key, name)                                                              \
        if (strstr(allowed, key) && (r = arg_value(argc, argv, &i, name, &v)) != 0)
        VALUE_OPT("agent", "--agent-id") {
            if (r < 0 || need_uuid("--agent-id", v)) return -1;
            o->agent_id = v;
            continue;
        }
        VALUE_OPT("status", "--status") {
            if (r < 0 || check_status_list("--status", v)) return -1;
            o->status = v;
            continue;
        }
        VALUE_OPT("after", "--created-after") {
            if (r < 0 || parse_timestamp("--created-after", v, &o->after)) return -1;
            continue;
        }
        VALUE_OPT("before", "--created-before") {
            if (r < 0 || parse_timestamp("--created-before", v, &o->before)) return -1;
            continue;
        }
        VALUE_OPT("q", "--q") {
            if (r < 0) return -1;
            o->q = v;
            continue;
        }
        VALUE_OPT("limit", "--limit") {
            if (r < 0 || parse_uint("--limit", v, 1, 100, &o->limit)) return -1;
            continue;
        }
        VALUE_OPT("text", "--text") {
            if (r < 0) return -1;
            o->text = v;
            continue;
        }
        VALUE_OPT("timeout", "--timeout") {
            if (r < 0 || parse_seconds("--timeout", v, &o->timeout)) return -1;
            continue;
        }
#undef VALUE_OPT
        if (strstr(allowed, "all") && arg_is(a, "--all", NULL)) {
            o->all = 1;
            continue;
        }
        if ((r = cli_global_option(c, argc, argv, &i))) {
            if (r < 0) return -1;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            usage_error("unknown option %s for 'nna tasks %s' (see nna tasks --help)", a, sub);
            return -1;
        }
        o->pos[o->npos++] = a;
    }
    return 0;
}

static int list(cli *c, const opts *o)
{
    if (o->npos) return usage_error("'nna tasks list' takes no arguments");
    int rc = cli_connect(c, NULL);
    if (rc) return rc;
    nna_tasks_list_options lo;
    nna_tasks_list_options_init(&lo);
    lo.agent_id = o->agent_id;
    lo.status = o->status;
    lo.created_after = o->after;
    lo.created_before = o->before;
    lo.q = o->q;
    lo.limit = o->limit;
    if (o->all) return await_walk(c, nna_tasks_walk(c->client, &lo, print_task_item, NULL));
    nna_future *f = nna_tasks_list(c->client, &lo);
    if (!f) return report_error(NNA_ENOMEM, 0, NULL);
    if (cli_await(c, f) == NNA_OK) {
        const nna_task_page *p = nna_future_result(f);
        print_task_page(p);
        rc = EXIT_OK;
    } else {
        rc = report_future_error(f);
    }
    nna_future_unref(f);
    return rc;
}

static int messages(cli *c, const char *task_id)
{
    nna_future *f = nna_tasks_messages(c->client, task_id);
    if (!f) return report_error(NNA_ENOMEM, 0, NULL);
    int rc;
    if (cli_await(c, f) == NNA_OK) {
        const nna_message_list *l = nna_future_result(f);
        for (size_t i = 0; i < l->count; i++)
            out_server(l->items[i].json_text, l->items[i].json_len, l->items[i].json);
        rc = EXIT_OK;
    } else {
        rc = report_future_error(f);
    }
    nna_future_unref(f);
    return rc;
}

/* ---- wait --------------------------------------------------------------------------- */

#define BULK_WAIT 5   /* from this many tasks on, one bulk watch instead of a wait each */

typedef struct waiting {
    cli         *c;
    nna_watch   *watch;     /* bulk mode, else NULL */
    nna_future  *get;       /* bulk mode: GET /tasks/{id} (agent and creation time) */
    nna_future  *wait;      /* nna_tasks_wait or nna_watch_add */
    nna_future  *summary;   /* /summary of a failed task, for its reason */
    int          done;
    int          rc;
} waiting;

static void print_outcome(waiting *w)
{
    const nna_future *f = w->wait;
    nna_status st = nna_future_status(f);
    int printed = w->summary && nna_future_status(w->summary) == NNA_OK;
    if (printed) print_future(w->summary);
    else printed = print_wait_line(f);
    if (printed) fflush(stdout);
    if (st == NNA_OK) {
        w->rc = EXIT_OK;
    } else if (nna_future_result(f)) {
        w->rc = EXIT_TASK;   /* failed, stopped, needs input, awaiting review */
    } else {
        w->rc = report_future_error(f);
    }
    w->done = 1;
}

static void on_summary(nna_future *f, void *ud)
{
    (void)f;
    print_outcome(ud);
}

static void on_wait(nna_future *f, void *ud)
{
    waiting *w = ud;
    const nna_wait_result *r = nna_future_result(f);
    if (nna_future_status(f) == NNA_ETASK_FAILED && r && r->task.task_id) {
        /* A failed task's reason is its /summary. */
        w->summary = nna_tasks_summary(w->c->client, r->task.task_id);
        if (w->summary && nna_future_then(w->summary, on_summary, w) == NNA_OK) return;
    }
    print_outcome(w);
}

static void start_wait(waiting *w, nna_future *f)
{
    w->wait = f;
    if (!f || nna_future_then(f, on_wait, w) != NNA_OK) {
        w->done = 1;
        w->rc = report_error(NNA_ENOMEM, 0, NULL);
    }
}

/* Bulk mode: the task's agent and creation time are needed to watch it in list pages. */
static void on_got(nna_future *f, void *ud)
{
    waiting *w = ud;
    if (nna_future_status(f) != NNA_OK) {
        w->rc = report_future_error(f);
        w->done = 1;
        return;
    }
    start_wait(w, nna_watch_add_task(w->watch, nna_future_result(f)));
}

int wait_tasks(cli *c, const char *const *ids, int n, double timeout)
{
    waiting *ws = xcalloc((size_t)n, sizeof *ws);
    nna_watch *watch = NULL;
    if (n >= BULK_WAIT) {
        nna_watch_options wo;
        nna_watch_options_init(&wo);
        wo.deadline = timeout;
        if (nna_watch_new(c->client, &wo, &watch) != NNA_OK) watch = NULL;
    }
    nna_wait_options wo;
    nna_wait_options_init(&wo);
    wo.deadline = timeout;
    if (c->show_status) wo.on_status = show_task_status;
    for (int i = 0; i < n; i++) {
        waiting *w = &ws[i];
        w->c = c;
        w->watch = watch;
        if (!watch) {
            start_wait(w, nna_tasks_wait(c->client, ids[i], &wo));
            continue;
        }
        w->get = nna_tasks_get(c->client, ids[i]);
        if (!w->get || nna_future_then(w->get, on_got, w) != NNA_OK) {
            w->done = 1;
            w->rc = report_error(NNA_ENOMEM, 0, NULL);
        }
    }
    int rc = EXIT_OK;
    for (int i = 0; i < n; i++) {
        while (!ws[i].done) cli_turn(c);
        if (rc == EXIT_OK) rc = ws[i].rc;
    }
    for (int i = 0; i < n; i++) {
        nna_future_unref(ws[i].get);
        nna_future_unref(ws[i].wait);
        nna_future_unref(ws[i].summary);
    }
    if (watch) nna_watch_free(watch);
    free(ws);
    return rc;
}

int cmd_tasks(cli *c, int argc, char **argv)
{
    if (argc < 1 || arg_is_help(argv[0])) {
        fputs(HELP, argc < 1 ? stderr : stdout);
        return argc < 1 ? usage_error("'nna %s' needs a subcommand", "tasks") : EXIT_OK;
    }
    const char *sub = argv[0];
    static const char *const single[] = { "get", "summary", "result", "messages", "cancel" };
    const char *allowed = NULL;
    if (strcmp(sub, "list") == 0) allowed = "agent status after before q limit all";
    else if (strcmp(sub, "message") == 0) allowed = "text";
    else if (strcmp(sub, "wait") == 0) allowed = "timeout";
    for (size_t k = 0; k < sizeof single / sizeof *single; k++)
        if (strcmp(sub, single[k]) == 0) allowed = "";
    static const char *const subs[] = { "list", "get", "summary", "result", "messages",
                                        "cancel", "message", "wait", NULL };
    if (!allowed) return unknown_word("'nna tasks' subcommand", sub, subs, "nna tasks --help");

    opts o;
    int r = parse(c, sub, argc - 1, argv + 1, allowed, &o), rc;
    if (r) {
        free(o.pos);
        return r > 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0) {
        rc = list(c, &o);
    } else if (strcmp(sub, "wait") == 0) {
        rc = EXIT_OK;
        if (o.npos == 0) rc = usage_error("'nna tasks wait' takes one or more TASK_IDs");
        for (int i = 0; rc == EXIT_OK && i < o.npos; i++)
            if (need_uuid("TASK_ID", o.pos[i])) rc = EXIT_USAGE;
        if (rc == EXIT_OK && (rc = cli_connect(c, NULL)) == EXIT_OK)
            rc = wait_tasks(c, o.pos, o.npos, o.timeout);
    } else if (o.npos != 1) {
        rc = usage_error("'nna tasks %s' takes one TASK_ID", sub);
    } else if (need_uuid("TASK_ID", o.pos[0])) {
        rc = EXIT_USAGE;
    } else if (strcmp(sub, "message") == 0 && (!o.text || !o.text[0])) {
        rc = usage_error("'nna tasks message' needs --text TEXT (non-empty)");
    } else if ((rc = cli_connect(c, NULL)) != EXIT_OK) {
        /* reported */
    } else {
        const char *id = o.pos[0];
        nna_client *cl = c->client;
        if (strcmp(sub, "get") == 0) rc = await_print(c, nna_tasks_get(cl, id));
        else if (strcmp(sub, "summary") == 0) rc = await_print(c, nna_tasks_summary(cl, id));
        else if (strcmp(sub, "result") == 0) rc = await_print(c, nna_tasks_result(cl, id));
        else if (strcmp(sub, "cancel") == 0) rc = await_print(c, nna_tasks_cancel(cl, id));
        else if (strcmp(sub, "messages") == 0) rc = messages(c, id);
        else rc = await_print(c, nna_tasks_send_message(cl, id, o.text));
    }
    free(o.pos);
    return rc;
}
