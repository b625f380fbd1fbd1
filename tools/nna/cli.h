/* nna — the command-line client: shared declarations of the tool (internal).
 *
 * Built only on the public libnna API (the headers in include/nna); the demo also links the in-process
 * emulator (tools/emu/emu.h). One ev loop, one client per process. */
#ifndef NNA_CLI_H
#define NNA_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <ev.h>
#include <cjson/cJSON.h>
#include "nna/nna.h"
#include "nna/ev.h"

/* ---- exit codes (docs/cli.md) ------------------------------------------------------- */
enum {
    EXIT_OK = 0,
    EXIT_TASK = 1,      /* a waited task ended failed/stopped, or waits for input/review */
    EXIT_USAGE = 2,     /* usage or invalid input: nothing was sent */
    EXIT_AUTH = 3,      /* 401, 403 */
    EXIT_NOT_FOUND = 4, /* 404 */
    EXIT_CONFLICT = 5,  /* 409 */
    EXIT_HTTP_4XX = 6,  /* other 4xx */
    EXIT_RATE = 7,      /* still 429 when retries or the deadline ran out */
    EXIT_SERVER = 8,    /* 5xx after retries, malformed answers */
    EXIT_NETWORK = 9    /* network failure, timeout, outcome unknown */
};

/* ---- global options and the connection ---------------------------------------------- */
typedef struct cli {
    const char *base_url;      /* --base-url, $NANONETS_BASE_URL, or the service */
    const char *key_file;      /* --api-key-file */
    char       *api_key;       /* loaded by cli_connect; wiped and freed at exit */
    unsigned    max_inflight;  /* 0 = library default */
    const char *limiter;       /* --limiter / $NNA_LIMITER: shared budget URL, or NULL */
    unsigned    max_attempts;  /* default 5 */
    double      deadline;      /* per operation (s); < 0 = library default; 0 = none */
    double      request_timeout; /* per attempt (s); 0 = library default */
    double      backoff[8];    /* --backoff; backoff_len 0 = library default */
    unsigned    backoff_len;
    int         verbose;
    int         progress;      /* -1 auto (stderr is a terminal), 0, 1 */
    struct ev_loop *loop;
    nna_client *client;
} cli;

/* Parses one global option at argv[*i] (advancing *i past a value). Returns 1 when
 * consumed, 0 when argv[*i] is not a global option, -1 on a bad value (error printed). */
int  cli_global_option(cli *c, int argc, char **argv, int *i);
/* The help text of the global options. */
void cli_global_help(FILE *out);

/* Loads the key, creates the loop and the client. Returns EXIT_OK or an exit code (error
 * printed). `key` overrides the key sources (the demo's emulator key). */
int  cli_connect(cli *c, const char *key);
/* Shuts the client down (cancelling what is left), runs the loop until it has closed,
 * destroys the loop and wipes the key. Safe when not connected. */
void cli_disconnect(cli *c);
/* Runs the loop until f has settled; returns its status. */
nna_status cli_await(cli *c, nna_future *f);
/* Runs one loop iteration (blocking until something happens). */
void cli_turn(cli *c);
/* Awaits f, prints its JSON body as one line (or the error), releases f; exit code. */
int  await_print(cli *c, nna_future *f);
/* Awaits a walk whose items were printed by its callback; exit code. */
int  await_walk(cli *c, nna_future *f);

/* ---- arguments (args.c) ------------------------------------------------------------- */
/* argv[*i] is "--name VALUE" or "--name=VALUE": 1 and *val set (advancing *i); 0 when it
 * is another argument; -1 when the value is missing (error printed). */
int  arg_value(int argc, char **argv, int *i, const char *name, const char **val);
/* argv[i] is exactly one of the given spellings (NULL-terminated list). */
int  arg_is(const char *arg, const char *a, const char *b);
int  arg_is_help(const char *arg);
/* Numbers with range checks; -1 (error printed) or 0. */
int  parse_uint(const char *opt, const char *text, unsigned min, unsigned max, unsigned *out);
int  parse_seconds(const char *opt, const char *text, double *out);
/* Canonical 8-4-4-4-12 hex UUID. */
int  is_uuid(const char *s);
/* Checks a UUID argument; prints a usage error and returns -1 when it is not one. */
int  need_uuid(const char *what, const char *s);
/* A timestamp argument: ISO-8601 or Unix seconds. -1 (error printed) when neither. */
int  parse_timestamp(const char *opt, const char *text, double *out);
/* A comma-separated list of task statuses, each known. */
int  check_status_list(const char *opt, const char *text);
/* --json BODY: the text itself, @FILE or @- (stdin). Returns a malloc'd string holding a
 * JSON object, or NULL (error printed). */
char *load_json_object(const char *opt, const char *arg);

/* ---- small utilities (util.c) ------------------------------------------------------- */
typedef struct strbuf {
    char  *p;
    size_t len, cap;
} strbuf;
int   strbuf_put(strbuf *b, const char *s, size_t n);   /* 0, or -1 out of memory */
int   strbuf_puts(strbuf *b, const char *s);
int   strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  strbuf_free(strbuf *b);
/* Appends "&key=value" (no '&' when b is empty) with the value percent-encoded; nothing
 * when value is NULL. */
int   strbuf_query(strbuf *b, const char *key, const char *value);
double wall_now(void);                      /* Unix time with fractions */
void  iso_utc(double t, char *out, size_t n); /* YYYY-MM-DDTHH:MM:SSZ (floored) */
int   iso_parse(const char *s, double *out);  /* lenient ISO-8601 → Unix seconds; 0 ok */
void *xcalloc(size_t n, size_t size);       /* aborts with a message when out of memory */
char *xstrdup(const char *s);               /* NULL stays NULL */
/* 1 when a task title is consistent with the query it was derived from (one is a prefix
 * of the other, ignoring case and a trailing ellipsis); an absent side matches. */
int   title_consistent(const char *title, const char *query);

/* ---- output (output.c) -------------------------------------------------------------- */
/* One JSON value on one line of stdout. */
void out_json(const cJSON *j);
/* Maps a final status (and the last HTTP status) to the exit code. */
int  exit_code_for(nna_status st, long http_status);
/* Prints the error line of a settled future on stderr; returns its exit code. */
int  report_future_error(const nna_future *f);
/* Prints {"error": msg, "status": http, "code": name} on stderr; returns exit_code_for. */
int  report_error(nna_status st, long http, const char *msg);
/* A usage / invalid-input error: prints it and returns EXIT_USAGE. */
int  usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The error object of a settled future (caller deletes): error, status, code, attempts. */
cJSON *error_object(const nna_future *f);

/* ---- typed results as output lines (output.c) ------------------------------------- */
/* Walk callbacks printing each item as a line. */
int print_task_item(const nna_task *t, void *ud);
int print_agent_item(const nna_agent *a, void *ud);
/* Prints every item of a page's data array, one per line. */
void print_page(const nna_page *p);
/* The line for a finished wait (nna_tasks_wait / nna_watch_add future): the /summary body
 * when there is one, else the task as last seen; NULL when the wait failed without a
 * task. Caller deletes. */
cJSON *wait_line(const nna_future *f);

/* Waits for tasks (nna_tasks_wait each, at once), printing one line per task as it ends:
 * the /summary body of a completed or failed task, else the task. Exit code of the first
 * failure in argument order (1 for a task that failed, stopped or waits). */
int wait_tasks(cli *c, const char *const *ids, int n, double timeout);

/* ---- progress bar (progress.c) ------------------------------------------------------ */
typedef struct progress progress;
/* Shows a bar on stderr when enabled (mode -1: when stderr is a terminal). Installs the
 * workspace event hook (429 pauses, retries, reconciled runs). */
progress *progress_new(cli *c, const char *label, size_t total, int mode);
void progress_done(progress *p, size_t done, size_t failed); /* counts so far */
void progress_created(progress *p, size_t n);          /* tasks known to exist */
/* Clears the bar (leaves the terminal clean for the final summary line). */
void progress_finish(progress *p);
void progress_free(progress *p);
uint64_t progress_gate_pauses(const progress *p);

/* ---- commands ----------------------------------------------------------------------- */
int cmd_agents(cli *c, int argc, char **argv);
int cmd_tasks(cli *c, int argc, char **argv);
int cmd_run(cli *c, int argc, char **argv);
int cmd_batch(cli *c, int argc, char **argv);
int cmd_demo(cli *c, int argc, char **argv);

#endif
