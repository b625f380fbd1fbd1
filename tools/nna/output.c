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

int exit_code_for(nna_status st, long http)
{
    switch (st) {
    case NNA_OK: return EXIT_OK;
    case NNA_EINVAL: return EXIT_USAGE;
    case NNA_EUNAUTHORIZED:
    case NNA_EFORBIDDEN: return EXIT_AUTH;
    case NNA_ENOT_FOUND: return EXIT_NOT_FOUND;
    case NNA_ECONFLICT: return EXIT_CONFLICT;
    case NNA_EBAD_REQUEST:
    case NNA_EHTTP_4XX: return EXIT_HTTP_4XX;
    case NNA_ERATE_LIMITED: return EXIT_RATE;
    case NNA_ESERVER:
    case NNA_EPROTOCOL:
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

/* ---- typed results as lines --------------------------------------------------------- */

int print_task_item(const nna_task *t, void *ud)
{
    (void)ud;
    out_json(t->json);
    return 0;
}

int print_agent_item(const nna_agent *a, void *ud)
{
    (void)ud;
    out_json(a->json);
    return 0;
}

void print_page(const nna_page *p)
{
    for (size_t i = 0; i < p->count; i++) out_json(nna_page_item(p, i));
}

cJSON *wait_line(const nna_future *f)
{
    const nna_wait_result *r = nna_future_result(f);
    if (!r) return NULL;
    if (r->has_summary && r->summary.json) return cJSON_Duplicate(r->summary.json, 1);
    if (r->task.json) return cJSON_Duplicate(r->task.json, 1);
    return NULL;
}
