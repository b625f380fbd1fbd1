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

enum { FORMAT_AUTO = -1, FORMAT_JSON = 0, FORMAT_TABLE = 1 };

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
    int         show_status;   /* waits report each status change on stderr */
    int         format;        /* --format: FORMAT_AUTO (table on a terminal), JSON, TABLE */
    const char *profile;       /* --profile NAME of the configuration file */
    struct ev_loop *loop;
    nna_client *client;
    const char *cacert;        /* --cacert FILE: CAs to trust instead of the system's */
    const char *capath;        /* --capath DIR */
    const char *pinned_pubkey; /* --pinned-pubkey sha256//BASE64 or a key file */
    int         allow_insecure_http; /* --allow-insecure-http */
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

/* ---- suggestions and help (suggest.c, help.c) -------------------------------------- */
/* The candidate (NULL-terminated list) closest to a misspelled word, or NULL when none is
 * close enough. */
const char *suggest(const char *word, const char *const *candidates);
/* 'unknown WHAT "word"; did you mean "x"? (see HELP)': prints it, returns EXIT_USAGE. */
int unknown_word(const char *what, const char *word, const char *const *candidates,
                 const char *help);
/* The part of a command's help text about one subcommand: its usage lines and its entry
 * (see help.c for the layout it reads), on stdout. */
void print_sub_help(const char *help, const char *cmd, const char *sub);

/* ---- the configuration file (config.c) --------------------------------------------- */
/* Fills the settings still unset from ~/.config/nna/config.toml (see config.c for the
 * precedence). EXIT_OK, or EXIT_USAGE (printed) for a bad file or an unknown profile. */
int  config_apply(cli *c);
/* Frees the strings the configuration handed to the cli struct. */
void config_free(void);

/* ---- the API key (keyfile.c) ------------------------------------------------------- */
/* The key in the first line of PATH ("-" = standard input), or NULL (error printed). An
 * empty string when the line is empty. Caller wipes and frees. */
char *key_from_file(const char *path);
/* Refuses a key with control characters, blanks, NUL or over 4096 bytes: EXIT_OK or
 * EXIT_USAGE (printed; `source` names where the key came from). */
int   key_check(const char *key, const char *source);

/* Why a TaskOutputConfig is not one (only output_schema and instructions, both strings):
 * a phrase to follow its name ("is not a JSON object"), or NULL when it is (args.c). */
const char *output_config_problem(const cJSON *oc);

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
/* One JSON value on one line of stdout (values the CLI builds itself). */
void out_json(const cJSON *j);
/* Server data: its own bytes on one line (line breaks between tokens dropped). */
void out_raw(const char *text, size_t len);
/* A cJSON node that prints as text[0..len) (server bytes embedded in a line the CLI builds;
 * line breaks between tokens dropped), or NULL when out of memory. */
cJSON *raw_json(const char *text, size_t len);
/* out_raw(text) when the server's bytes are known, else out_json(j). */
void out_server(const char *text, size_t len, const cJSON *j);
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
/* Prints every item of a page, one per line, as the server sent it. */
void print_task_page(const nna_task_page *p);
void print_agent_page(const nna_agent_page *p);
/* Prints a settled future's body as the server sent it. */
void print_future(const nna_future *f);
/* Prints the line for a finished wait (nna_tasks_wait / nna_watch_add future): the
 * /summary body when there is one, else the task as last seen. 0 when the wait failed
 * without a task (nothing printed), else 1. */
int print_wait_line(const nna_future *f);

/* Waits for tasks (nna_tasks_wait each, at once), printing one line per task as it ends:
 * the /summary body of a completed or failed task, else the task. Exit code of the first
 * failure in argument order (1 for a task that failed, stopped or waits). */
int wait_tasks(cli *c, const char *const *ids, int n, double timeout);

/* ---- output for people (table.c) --------------------------------------------------- */
/* Chooses table output (--format table, or a terminal without --format). 1 when on. */
int  table_begin(const cli *c);
/* Takes a copy of a value to print when table output is on: 1, else 0 (print the line). */
int  table_collect(const cJSON *j);
/* Prints what was collected: one value as "key  value" lines, several as a table. */
void table_end(void);
/* Errors as one plain sentence: on (1), off (0), or -1 (when stderr is a terminal). */
void errors_plain_set(int on);
/* Prints an error object ({"error", "status", "code", ...}) as a sentence on stderr when
 * plain errors are on: 1, else 0 (print the JSON line). */
int  errors_plain_print(const cJSON *e);

/* ---- progress bar (progress.c) ------------------------------------------------------ */
typedef struct progress progress;
/* Shows a bar on stderr when enabled (mode -1: when stderr is a terminal). Installs the
 * workspace event hook (429 pauses, retries, reconciled runs). */
progress *progress_new(cli *c, const char *label, size_t total, int mode);
void progress_done(progress *p, size_t done, size_t failed); /* counts so far */
void progress_created(progress *p, size_t n);          /* tasks known to exist */
void progress_queued(progress *p, size_t runs);        /* runs not created yet */
/* Clears the bar (leaves the terminal clean for the final summary line). */
void progress_finish(progress *p);
void progress_free(progress *p);
uint64_t progress_gate_pauses(const progress *p);

/* ---- commands ----------------------------------------------------------------------- */
int cmd_agents(cli *c, int argc, char **argv);
int cmd_tasks(cli *c, int argc, char **argv);
int cmd_run(cli *c, int argc, char **argv);
/* nna_wait_options.on_status for a terminal: "nna: task ID is STATUS" on stderr. */
void show_task_status(const nna_task *t, void *ud);
int cmd_batch(cli *c, int argc, char **argv);
int cmd_demo(cli *c, int argc, char **argv);
int cmd_completion(int argc, char **argv);

#endif
