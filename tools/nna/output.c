/* nna: output — JSON lines on stdout, one-line JSON errors on stderr, and the mapping from
 * a final status (plus the last HTTP status) to the exit code. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

void out_json(const cJSON *j)
{
    if (table_collect(j)) return; /* --format table */
    char *s = cJSON_PrintUnformatted(j);
    if (!s) {
        fputs("{\"error\":\"out of memory\",\"status\":0}\n", stderr);
        return;
    }
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
}

void out_raw(const char *text, size_t len)
{
    /* Inside a JSON value a line break can only be whitespace between tokens (strings hold
     * them escaped): dropping it keeps one value per line and every value byte as sent. */
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n' && text[i] != '\r') continue;
        fwrite(text + start, 1, i - start, stdout);
        start = i + 1;
    }
    fwrite(text + start, 1, len - start, stdout);
    fputc('\n', stdout);
}

cJSON *raw_json(const char *text, size_t len)
{
    char *s = xcalloc(len + 1, 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '\n' && text[i] != '\r') s[n++] = text[i]; /* see out_raw */
    cJSON *r = cJSON_CreateRaw(s);
    free(s);
    return r;
}

void out_server(const char *text, size_t len, const cJSON *j)
{
    /* --format table shows values to a person; the bytes matter only on the JSON path. */
    if (j && table_collect(j)) return;
    if (text) out_raw(text, len);
    else if (j) out_json(j); /* a value the library did not read from a reply */
}

int exit_code_for(nna_status st, long http)
{
    switch (st) {
    case NNA_OK: return EXIT_OK;
    case NNA_EINVAL:
    case NNA_EURL: return EXIT_USAGE;       /* nothing was sent */
    case NNA_EUNAUTHORIZED:
    case NNA_EFORBIDDEN: return EXIT_AUTH;
    case NNA_ENOT_FOUND: return EXIT_NOT_FOUND;
    case NNA_ECONFLICT: return EXIT_CONFLICT;
    case NNA_EBAD_REQUEST:
    case NNA_EHTTP_4XX: return EXIT_HTTP_4XX;
    case NNA_ERATE_LIMITED: return EXIT_RATE;
    case NNA_ESERVER:
    case NNA_EPROTOCOL:
    case NNA_EREDIRECT:
    case NNA_ECURSOR_LOOP: return EXIT_SERVER;
    case NNA_ETASK_FAILED:
    case NNA_ETASK_STOPPED:
    case NNA_EINPUT_NEEDED:
    case NNA_EREVIEW: return EXIT_TASK;
    case NNA_EDEADLINE:
        /* The deadline ran out while the server kept answering 429 or 5xx: say which. */
        if (http == 429) return EXIT_RATE;
        if (http >= 500) return EXIT_SERVER;
        return EXIT_NETWORK;
    case NNA_EIO: return EXIT_USAGE; /* a local file could not be read */
    default: return EXIT_NETWORK;    /* network, timeout, outcome unknown, shutdown */
    }
}

static cJSON *make_error(nna_status st, long http, const char *msg)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", msg && *msg ? msg : nna_strerror(st));
    cJSON_AddNumberToObject(e, "status", (double)http);
    cJSON_AddStringToObject(e, "code", nna_status_name(st));
    return e;
}

cJSON *error_object(const nna_future *f)
{
    nna_status st = nna_future_status(f);
    long http = nna_future_http_status(f);
    const char *msg = nna_future_error(f);
    cJSON *e = make_error(st, http, msg);
    if (msg && strcmp(msg, nna_strerror(st)) != 0 && st != NNA_EINVAL)
        cJSON_AddStringToObject(e, "detail", nna_strerror(st));
    cJSON_AddNumberToObject(e, "attempts", nna_future_attempts(f));
    double ra = nna_future_retry_after(f);
    if (ra >= 0) cJSON_AddNumberToObject(e, "retry_after", ra);
    return e;
}

static void print_err(cJSON *e)
{
    if (errors_plain_print(e)) { /* a terminal, or --format table */
        cJSON_Delete(e);
        return;
    }
    char *s = cJSON_PrintUnformatted(e);
    fflush(stdout);
    if (s) {
        fputs(s, stderr);
        fputc('\n', stderr);
        free(s);
    }
    cJSON_Delete(e);
}

int report_future_error(const nna_future *f)
{
    nna_status st = nna_future_status(f);
    long http = nna_future_http_status(f);
    print_err(error_object(f));
    return exit_code_for(st, http);
}

int report_error(nna_status st, long http, const char *msg)
{
    print_err(make_error(st, http, msg));
    return exit_code_for(st, http);
}

int usage_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *e = make_error(NNA_EINVAL, 0, msg);
    cJSON_ReplaceItemInObject(e, "code", cJSON_CreateString("usage"));
    print_err(e);
    return EXIT_USAGE;
}

/* ---- typed results as lines: the server's bytes --------------------------------------- */

int print_task_item(const nna_task *t, void *ud)
{
    (void)ud;
    out_server(t->json_text, t->json_len, t->json);
    return 0;
}

int print_agent_item(const nna_agent *a, void *ud)
{
    (void)ud;
    out_server(a->json_text, a->json_len, a->json);
    return 0;
}

void print_task_page(const nna_task_page *p)
{
    for (size_t i = 0; i < p->page.count; i++) print_task_item(&p->items[i], NULL);
}

void print_agent_page(const nna_agent_page *p)
{
    for (size_t i = 0; i < p->page.count; i++) print_agent_item(&p->items[i], NULL);
}

void print_future(const nna_future *f)
{
    size_t len;
    const char *text = nna_future_json_text(f, &len);
    out_server(text, len, nna_future_json(f));
}

int print_wait_line(const nna_future *f)
{
    const nna_wait_result *r = nna_future_result(f);
    if (!r) return 0;
    if (r->has_summary && r->summary.json)
        out_server(r->summary.json_text, r->summary.json_len, r->summary.json);
    else if (r->task.json)
        out_server(r->task.json_text, r->task.json_len, r->task.json);
    else
        return 0;
    return 1;
}
