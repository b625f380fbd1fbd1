/* nna: the session — global options, the API key, the loop and the client, and the
 * -v trace of each HTTP exchange. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli.h"

void cli_global_help(FILE *out)
{
    fputs(
"Global options (before or after the command):\n"
"  --base-url URL         API base URL (default $NANONETS_BASE_URL, else\n"
"                         " NNA_DEFAULT_BASE_URL "); /api/v1 is appended\n"
"  --api-key-file PATH    read the API key from PATH, - for standard input (default:\n"
"                         $NANONETS_API_KEY); never from an option value\n"
"  --max-inflight N       cap on requests in flight for the workspace (default 64)\n"
"  --limiter URL          share the workspace's budget with other processes through\n"
"                         Redis: redis://host[:port][/db][?name=NAME] (default\n"
"                         $NNA_LIMITER; password in $NNA_LIMITER_PASSWORD)\n"
"  --max-attempts N       requests that reach the server per operation (default 5)\n"
"  --deadline SECONDS     time limit per operation, retries and queueing included\n"
"                         (default 300; batch and demo: none; 0 = none)\n"
"  --request-timeout S    time limit per HTTP attempt (default 30)\n"
"  --backoff LIST         back-off base delays in seconds, e.g. 1,2,5,10,30\n"
"  --profile NAME         settings of [profile.NAME] in ~/.config/nna/config.toml\n"
"  --format table|json    output as a table for people, or JSON lines (default:\n"
"                         table on a terminal, JSON lines when piped)\n"
"  --cacert FILE          trust the CAs in this PEM file instead of the system's\n"
"  --capath DIR           trust the CAs in this hashed directory (openssl rehash)\n"
"  --pinned-pubkey PIN    the server's public key must also match: sha256//BASE64\n"
"                         (several joined by ';') or a PEM/DER key file\n"
"  --allow-insecure-http  allow a plain http:// base URL to a host other than this\n"
"                         machine (the API key then crosses the network unencrypted)\n"
"  -v, --verbose          trace each HTTP exchange on stderr (never the key)\n"
"  --progress, --no-progress\n"
"                         force or silence the progress bar (default: when stderr\n"
"                         is a terminal)\n"
"  -h, --help             help (also: nna COMMAND --help)\n"
"  --version              print the version\n", out);
}

static int parse_backoff(cli *c, const char *text)
{
    unsigned n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0 || v > 3600 || n >= 8 || (*end && *end != ','))
            return usage_error("--backoff: expected up to 8 comma-separated delays in "
                               "seconds, got \"%s\"", text), -1;
        c->backoff[n++] = v;
        p = *end ? end + 1 : end;
    }
    if (n == 0) return usage_error("--backoff: empty list"), -1;
    c->backoff_len = n;
    return 0;
}

int cli_global_option(cli *c, int argc, char **argv, int *i)
{
    const char *v;
    int r;
    const char *a = argv[*i];
    if ((r = arg_value(argc, argv, i, "--base-url", &v))) {
        if (r < 0) return -1;
        c->base_url = v;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--api-key-file", &v))) {
        if (r < 0) return -1;
        c->key_file = v;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--max-inflight", &v)))
        return r < 0 || parse_uint("--max-inflight", v, 1, 100000, &c->max_inflight) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--limiter", &v))) {
        if (r < 0) return -1;
        c->limiter = v;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--max-attempts", &v)))
        return r < 0 || parse_uint("--max-attempts", v, 1, 100, &c->max_attempts) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--deadline", &v)))
        return r < 0 || parse_seconds("--deadline", v, &c->deadline) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--request-timeout", &v)))
        return r < 0 || parse_seconds("--request-timeout", v, &c->request_timeout) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--backoff", &v)))
        return r < 0 || parse_backoff(c, v) ? -1 : 1;
    if ((r = arg_value(argc, argv, i, "--profile", &v))) {
        if (r < 0) return -1;
        c->profile = v;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--format", &v))) {
        if (r < 0) return -1;
        if (strcmp(v, "json") == 0) c->format = FORMAT_JSON;
        else if (strcmp(v, "table") == 0) c->format = FORMAT_TABLE;
        else return usage_error("--format: expected table or json, got \"%s\"", v), -1;
        errors_plain_set(c->format == FORMAT_TABLE); /* json: errors as JSON too */
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--cacert", &v))) {
        if (r < 0) return -1;
        c->cacert = v;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--capath", &v))) {
        if (r < 0) return -1;
        c->capath = v;
        return 1;
    }
    if ((r = arg_value(argc, argv, i, "--pinned-pubkey", &v))) {
        if (r < 0) return -1;
        c->pinned_pubkey = v;
        return 1;
    }
    if (arg_is(a, "--allow-insecure-http", NULL)) {
        c->allow_insecure_http = 1;
        return 1;
    }
    if (arg_is(a, "-v", "--verbose")) {
        c->verbose = 1;
        return 1;
    }
    if (arg_is(a, "--progress", NULL)) {
        c->progress = 1;
        return 1;
    }
    if (arg_is(a, "--no-progress", NULL)) {
        c->progress = 0;
        return 1;
    }
    if (strncmp(a, "--api-key=", 10) == 0 || strcmp(a, "--api-key") == 0) {
        usage_error("the API key is never taken from the command line (it would show in "
                    "ps): set NANONETS_API_KEY or use --api-key-file PATH");
        return -1;
    }
    return 0;
}

/* ---- the key ------------------------------------------------------------------------ */

static char *trim_key(char *k)
{
    size_t n = strlen(k);
    while (n > 0 && (k[n - 1] == '\n' || k[n - 1] == '\r' || k[n - 1] == ' ' || k[n - 1] == '\t'))
        k[--n] = '\0';
    size_t s = strspn(k, " \t");
    if (s) memmove(k, k + s, n - s + 1);
    return k;
}

static int load_key(cli *c)
{
    if (c->key_file) {
        c->api_key = key_from_file(c->key_file);
        if (!c->api_key) return EXIT_USAGE;
        if (!c->api_key[0])
            return usage_error("--api-key-file: %s holds no key",
                               strcmp(c->key_file, "-") == 0 ? "standard input" : c->key_file);
    } else {
        const char *env = getenv("NANONETS_API_KEY");
        if (env) c->api_key = trim_key(xstrdup(env));
    }
    if (!c->api_key || !c->api_key[0])
        return usage_error("no API key: set NANONETS_API_KEY or use --api-key-file PATH");
    return key_check(c->api_key, c->key_file ? "--api-key-file" : "NANONETS_API_KEY");
}

/* The library refuses these too; here the user learns why, without the URL being echoed
 * (it may hold a password). */
static int check_base_url(const char *base)
{
    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0)
        return usage_error("--base-url: expected an http:// or https:// URL");
    const char *host = strstr(base, "://") + 3;
    const char *at = memchr(host, '@', strcspn(host, "/"));
    if (at)
        return usage_error("--base-url: user names and passwords in the URL are not "
                           "accepted (they would show in traces and errors); the key comes "
                           "from NANONETS_API_KEY or --api-key-file");
    if (strpbrk(base, "?#"))
        return usage_error("--base-url: a query (?) or fragment (#) is not accepted: the API "
                           "paths are appended to the URL");
    for (const unsigned char *p = (const unsigned char *)base; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return usage_error("--base-url: the URL contains whitespace or control characters");
    if (!*host || *host == '/') return usage_error("--base-url: the URL has no host");
    return EXIT_OK;
}

/* ---- trace -------------------------------------------------------------------------- */

static void on_trace(const nna_trace *t, void *ud)
{
    (void)ud;
    if (t->http_status)
        fprintf(stderr, "* %s %s -> %ld (attempt %u, %.3f s)\n", t->method, t->url,
                t->http_status, t->attempt, t->seconds);
    else
        fprintf(stderr, "* %s %s -> no response: %s (attempt %u, %.3f s)\n", t->method, t->url,
                t->error ? t->error : "error", t->attempt, t->seconds);
}

/* ---- connect ------------------------------------------------------------------------ */

int cli_connect(cli *c, const char *key)
{
    if (!key && config_apply(c) != EXIT_OK) return EXIT_USAGE;
    if (key) {
        c->api_key = xstrdup(key);
    } else {
        int rc = load_key(c);
        if (rc != EXIT_OK) return rc;
    }
    const char *base = c->base_url ? c->base_url : getenv("NANONETS_BASE_URL");
    if (!base || !*base) base = NNA_DEFAULT_BASE_URL;
    if (check_base_url(base) != EXIT_OK) return EXIT_USAGE;
    if (!c->allow_insecure_http && nna_base_url_cleartext_remote(base))
        return usage_error("refusing to send the API key unencrypted to \"%s\": use https://, "
                           "or --allow-insecure-http if you really mean it", base);
    table_begin(c);
    c->loop = ev_loop_new(EVFLAG_AUTO);
    if (!c->loop) return report_error(NNA_ENOMEM, 0, "cannot create the event loop");
    nna_client_options o;
    nna_client_options_init(&o);
    o.base_url = base;
    o.api_key = c->api_key;
    o.user_agent = "nna/" NNA_VERSION;
    if (c->max_inflight) o.max_inflight = c->max_inflight;
    if (c->max_attempts) o.max_attempts = c->max_attempts;
    if (c->deadline >= 0) o.deadline = o.run_deadline = c->deadline;
    if (c->request_timeout > 0) o.request_timeout = c->request_timeout;
    if (c->backoff_len) {
        memcpy(o.backoff, c->backoff, sizeof c->backoff);
        o.backoff_len = c->backoff_len;
    }
    if (c->verbose) o.trace = on_trace;
    o.ca_file = c->cacert;
    o.ca_path = c->capath;
    o.pinned_pubkey = c->pinned_pubkey;
    o.allow_insecure_http = c->allow_insecure_http;
    nna_workspace *ws = NULL;
    const char *limiter = c->limiter ? c->limiter : getenv("NNA_LIMITER");
    if (limiter && *limiter) {
        nna_workspace_options wo;
        nna_workspace_options_init(&wo);
        if (c->max_inflight) wo.max_inflight = c->max_inflight;
        wo.limiter_url = limiter;
        wo.limiter_password = getenv("NNA_LIMITER_PASSWORD");
        nna_status ws_st = nna_workspace_new(&wo, &ws);
        if (ws_st != NNA_OK) {
            ev_loop_destroy(c->loop);
            c->loop = NULL;
            if (ws_st == NNA_EINVAL)
                return usage_error("--limiter: expected redis://host[:port][/db][?name=NAME] "
                                   "(and a build with hiredis)");
            return report_error(ws_st, 0, "cannot use the shared limiter (is Redis running "
                                          "there, and the password right?)");
        }
        o.workspace = ws;
    }
    nna_status st = nna_client_new_ev(c->loop, &o, &c->client);
    nna_workspace_unref(ws); /* the client holds its own reference */
    if (st != NNA_OK) {
        ev_loop_destroy(c->loop);
        c->loop = NULL;
        c->client = NULL;
        return report_error(st, 0, "cannot create the client");
    }
    return EXIT_OK;
}

static void on_closed(void *ud) { *(int *)ud = 1; }

void cli_disconnect(cli *c)
{
    config_free();
    if (c->client) {
        int closed = 0;
        nna_client_shutdown(c->client, NNA_SHUTDOWN_CANCEL, on_closed, &closed);
        c->client = NULL;
        while (!closed) ev_run(c->loop, EVRUN_ONCE);
    }
    if (c->loop) {
        ev_loop_destroy(c->loop);
        c->loop = NULL;
    }
    if (c->api_key) {
        memset(c->api_key, 0, strlen(c->api_key));
        free(c->api_key);
        c->api_key = NULL;
    }
}

void cli_turn(cli *c) { ev_run(c->loop, EVRUN_ONCE); }

nna_status cli_await(cli *c, nna_future *f)
{
    while (!nna_future_done(f)) ev_run(c->loop, EVRUN_ONCE);
    return nna_future_status(f);
}

int await_print(cli *c, nna_future *f)
{
    if (!f) return report_error(NNA_ENOMEM, 0, NULL);
    nna_status st = cli_await(c, f);
    int rc;
    if (st == NNA_OK) {
        print_future(f);
        rc = EXIT_OK;
    } else {
        rc = report_future_error(f);
    }
    nna_future_unref(f);
    return rc;
}

int await_walk(cli *c, nna_future *f)
{
    if (!f) return report_error(NNA_ENOMEM, 0, NULL);
    nna_status st = cli_await(c, f);
    int rc = st == NNA_OK ? EXIT_OK : report_future_error(f);
    nna_future_unref(f);
    return rc;
}
