/* nna-emu: request helpers, routing, auth, rate limit, scripts, faults and
 * dispatch of the 14 API endpoints. All functions here run with nna_emu.mu held. */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ request */
void emu_req_parse_query(emu_req *r)
{
    r->nq = 0;
    const char *q = r->uri ? strchr(r->uri, '?') : NULL;
    if (!q || !q[1])
        return;
    size_t n = strlen(q + 1);
    r->qbuf = malloc(n + 2);
    if (!r->qbuf)
        return;
    memcpy(r->qbuf, q + 1, n + 1);
    char *p = r->qbuf;
    while (p && *p && r->nq < EMU_MAX_QP) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        if (*p) {
            char *eq = strchr(p, '=');
            const char *v = "";
            if (eq) {
                *eq = '\0';
                v = eq + 1;
                emu_url_decode(eq + 1);
            }
            emu_url_decode(p);
            r->qk[r->nq] = p;
            r->qv[r->nq] = v;
            r->nq++;
        }
        p = amp ? amp + 1 : NULL;
    }
}

const char *emu_req_q(const emu_req *r, const char *key)
{
    for (int i = 0; i < r->nq; i++)
        if (strcmp(r->qk[i], key) == 0)
            return r->qv[i];
    return NULL;
}

void emu_out_clear(emu_outcome *o)
{
    free(o->body);
    for (int i = 0; i < o->nh; i++)
        free(o->hv[i]);
    emu_script_free(o->script);
    memset(o, 0, sizeof *o);
}

void emu_req_free(emu_req *r)
{
    free(r->uri);
    free(r->qbuf);
    sb_free(&r->body);
    sb_free(&r->mp_query);
    sb_free(&r->mp_outcfg);
    emu_out_clear(&r->out);
    free(r);
}

static void out_reset(emu_req *r)
{
    emu_out_clear(&r->out);
    r->have_outcome = 1;
}

void emu_out_header(emu_req *r, const char *name, const char *value)
{
    if (r->out.nh >= EMU_MAX_HDR)
        return;
    size_t n = strlen(value);
    char *v = malloc(n + 1);
    if (!v)
        return;
    memcpy(v, value, n + 1);
    r->out.hn[r->out.nh] = name;
    r->out.hv[r->out.nh] = v;
    r->out.nh++;
}

void emu_out_error(emu_req *r, int status, const char *msg)
{
    out_reset(r);
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"error\":");
    sb_json_str(&b, msg);
    sb_putc(&b, '}');
    r->out.status = status;
    r->out.body_len = b.len;
    r->out.body = sb_steal(&b);
    r->out.ctype = "application/json";
}

void emu_out_json(emu_req *r, int status, sbuf *b)
{
    if (b->oom) {
        sb_free(b);
        emu_out_error(r, 500, "Out of memory");
        return;
    }
    out_reset(r);
    r->out.status = status;
    r->out.body_len = b->len;
    r->out.body = sb_steal(b);
    r->out.ctype = "application/json";
}

int emu_parse_limit(emu_req *r, int *limit)
{
    const char *v = emu_req_q(r, "limit");
    *limit = 20;
    if (!v)
        return 0;
    int n = 0;
    size_t len = strlen(v);
    if (len == 0 || len > 4) {
        emu_out_error(r, 400, "Invalid limit: must be an integer between 1 and 100");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            emu_out_error(r, 400, "Invalid limit: must be an integer between 1 and 100");
            return -1;
        }
        n = n * 10 + (v[i] - '0');
    }
    if (n < 1 || n > 100) {
        emu_out_error(r, 400, "Invalid limit: must be an integer between 1 and 100");
        return -1;
    }
    *limit = n;
    return 0;
}

/* ------------------------------------------------------------ routing */
static int is_get(const char *m) { return !strcmp(m, "GET") || !strcmp(m, "HEAD"); }

void emu_route_match(emu_req *r)
{
    r->route = R_NONE;
    r->path_route = -1;
    r->allow = NULL;
    r->idseg[0] = '\0';
    r->idlen = 0;
    const char *p = r->path;
    if (strncmp(p, "/api/v1/", 8) != 0)
        return;
    p += 8;
    const char *seg[5];
    size_t len[5];
    int n = 0;
    while (*p && n < 5) {
        const char *s = strchr(p, '/');
        size_t l = s ? (size_t)(s - p) : strlen(p);
        if (l == 0) {
            if (!s)
                break;
            if (!s[1])
                break; /* tolerate one trailing slash */
            return;    /* empty segment */
        }
        seg[n] = p;
        len[n] = l;
        n++;
        p = s ? s + 1 : p + l;
    }
    if (*p)
        return;
#define SEG(i, lit) (len[i] == sizeof(lit) - 1 && !memcmp(seg[i], lit, sizeof(lit) - 1))
    if (n >= 2) {
        r->idlen = len[1];
        size_t c = len[1] < sizeof r->idseg - 1 ? len[1] : sizeof r->idseg - 1;
        memcpy(r->idseg, seg[1], c);
        r->idseg[c] = '\0';
    }
    const char *m = r->method;
    int want_get = -1; /* route for GET */
    int want_post = -1, want_patch = -1;
    if (n >= 1 && SEG(0, "tasks")) {
        if (n == 1)
            want_get = R_TASKS_LIST;
        else if (n == 2)
            want_get = R_TASKS_GET;
        else if (n == 3 && SEG(2, "summary"))
            want_get = R_TASKS_SUMMARY;
        else if (n == 3 && SEG(2, "result"))
            want_get = R_TASKS_RESULT;
        else if (n == 3 && SEG(2, "messages"))
            want_get = R_TASKS_MESSAGES;
        else if (n == 3 && SEG(2, "message"))
            want_post = R_TASKS_MESSAGE;
        else if (n == 3 && SEG(2, "cancel"))
            want_post = R_TASKS_CANCEL;
    } else if (n >= 1 && SEG(0, "agents")) {
        if (n == 1) {
            want_get = R_AGENTS_LIST;
            want_post = R_AGENTS_CREATE;
        } else if (n == 2) {
            want_get = R_AGENTS_GET;
            want_patch = R_AGENTS_UPDATE;
        } else if (n == 3 && SEG(2, "run"))
            want_post = R_RUN;
        else if (n == 3 && SEG(2, "versions"))
            want_get = R_AGENTS_VERSIONS;
        else if (n == 4 && SEG(2, "versions") && SEG(3, "publish"))
            want_post = R_AGENTS_PUBLISH;
    }
#undef SEG
    if (want_get < 0 && want_post < 0 && want_patch < 0)
        return;
    r->path_route = want_get >= 0 ? want_get : want_post >= 0 ? want_post : want_patch;
    if (want_get >= 0 && is_get(m))
        r->route = want_get;
    else if (want_post >= 0 && !strcmp(m, "POST"))
        r->route = want_post;
    else if (want_patch >= 0 && !strcmp(m, "PATCH"))
        r->route = want_patch;
    if (want_get >= 0 && want_post >= 0)
        r->allow = "GET, POST";
    else if (want_get >= 0 && want_patch >= 0)
        r->allow = "GET, PATCH";
    else if (want_get >= 0)
        r->allow = "GET";
    else
        r->allow = "POST";
}

static int auth_ws(nna_emu *e, const char *h)
{
    if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7])
        return -1;
    const char *key = h + 7;
    emu_state *st = &e->st;
    for (size_t i = 0; i < st->nws; i++)
        for (size_t k = 0; k < st->ws[i].nkeys; k++)
            if (!strcmp(st->ws[i].keys[k], key))
                return (int)i;
    return -1;
}

static int is_task_route(int route)
{
    return route >= R_TASKS_GET && route <= R_TASKS_CANCEL;
}

static void dispatch(nna_emu *e, emu_req *r, int commit_only)
{
    emu_uuid id;
    int needs_id = r->route == R_RUN || is_task_route(r->route) ||
                   (r->route >= R_AGENTS_GET && r->route <= R_AGENTS_PUBLISH);
    if (needs_id && emu_uuid_parse(r->idseg, r->idlen, &id) != 0) {
        emu_out_error(r, 400, is_task_route(r->route) ? "Invalid task_id format" : "Invalid agent_id format");
        return;
    }
    switch (r->route) {
    case R_RUN: emu_api_run(e, r, &id, commit_only); break;
    case R_TASKS_LIST: emu_api_tasks_list(e, r); break;
    case R_TASKS_GET:
    case R_TASKS_SUMMARY:
    case R_TASKS_RESULT:
    case R_TASKS_MESSAGES: emu_api_task_get(e, r, r->route, &id); break;
    case R_TASKS_MESSAGE: emu_api_task_message(e, r, &id); break;
    case R_TASKS_CANCEL: emu_api_task_cancel(e, r, &id); break;
    case R_AGENTS_LIST: emu_api_agents_list(e, r); break;
    case R_AGENTS_CREATE: emu_api_agents_create(e, r); break;
    case R_AGENTS_GET: emu_api_agent_get(e, r, &id); break;
    case R_AGENTS_UPDATE: emu_api_agent_update(e, r, &id); break;
    case R_AGENTS_VERSIONS: emu_api_agent_versions(e, r, &id); break;
    case R_AGENTS_PUBLISH: emu_api_agent_publish(e, r, &id); break;
    default: emu_out_error(r, 404, "Not found");
    }
}

static unsigned roll_latency(emu_state *st)
{
    unsigned lo = st->set.latency_ms, hi = st->set.latency_max_ms;
    if (hi <= lo)
        return lo;
    return lo + (unsigned)(emu_rand01(&st->fault_rng) * (double)(hi - lo + 1));
}

/* The non-idempotent writes a scripted answer may perform first ("commit"). */
static int commits(int route)
{
    return route == R_RUN || route == R_TASKS_MESSAGE || route == R_AGENTS_CREATE ||
           route == R_AGENTS_PUBLISH;
}

static void apply_script(nna_emu *e, emu_req *r, emu_script *s)
{
    if (s->commit && commits(r->route))
        dispatch(e, r, 1);
    out_reset(r);
    r->out.status = s->status ? s->status : 500;
    r->out.drop = s->drop;
    r->out.delay_ms = s->delay_ms;
    if (s->body) {
        r->out.body = malloc(s->body_len + 1);
        if (r->out.body) {
            memcpy(r->out.body, s->body, s->body_len + 1);
            r->out.body_len = s->body_len;
        }
    }
    r->out.ctype = s->ctype ? s->ctype : NULL;
    for (size_t i = 0; i < s->nh; i++)
        emu_out_header(r, s->hnames[i], s->hvalues[i]);
    if (s->header_pad) { /* one header line of header_pad bytes, for header limits */
        char *pad = malloc(s->header_pad + 1);
        if (pad) {
            memset(pad, 'a', s->header_pad);
            pad[s->header_pad] = '\0';
            emu_out_header(r, "X-Emu-Pad", pad);
            free(pad);
        }
    }
    r->out.script = s; /* keeps ctype / header names alive until sent */
}

static void handle_api(nna_emu *e, emu_req *r)
{
    emu_state *st = &e->st;
    r->ws = -1;
    if (r->path_route < 0) {
        emu_out_error(r, 404, "Not found");
        return;
    }
    if (r->route == R_NONE) {
        emu_out_error(r, 405, "Method not allowed");
        emu_out_header(r, "Allow", r->allow);
        return;
    }
    int ws = auth_ws(e, r->auth);
    if (ws < 0) {
        emu_out_error(r, 401, r->auth ? "Invalid API key" : "Missing Authorization header");
        return;
    }
    r->ws = ws;
    int wait = emu_rate_take(&st->ws[ws], emu_mono_ns());
    if (wait > 0) {
        st->ws[ws].n_rate_limited++;
        emu_out_error(r, 429, "Rate limit exceeded");
        char v[48];
        if (st->set.retry_after_http_date)
            emu_fmt_http_date(emu_now_ms() + (int64_t)wait * 1000 + 999, v);
        else
            snprintf(v, sizeof v, "%d", wait);
        emu_out_header(r, "Retry-After", v);
        return;
    }
    emu_script *s = emu_script_pop(st, r->route);
    unsigned extra_delay = 0;
    if (s && !s->pass) {
        apply_script(e, r, s);
        return;
    }
    if (s) {
        extra_delay = s->delay_ms;
        emu_script_free(s);
    }
    emu_settings *set = &st->set;
    if (set->fault_500 > 0 || set->fault_502 > 0 || set->fault_503 > 0) {
        double u = emu_rand01(&st->fault_rng);
        if (u < set->fault_500) {
            emu_out_error(r, 500, "Internal server error (injected)");
            goto latency;
        }
        if (u < set->fault_500 + set->fault_502) {
            static const char html[] =
                "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n";
            out_reset(r);
            r->out.status = 502;
            r->out.body = malloc(sizeof html);
            if (r->out.body) {
                memcpy(r->out.body, html, sizeof html);
                r->out.body_len = sizeof html - 1;
            }
            r->out.ctype = "text/html";
            goto latency;
        }
        if (u < set->fault_500 + set->fault_502 + set->fault_503) {
            emu_out_error(r, 503, "Service temporarily unavailable (injected)");
            goto latency;
        }
    }
    if (r->route == R_RUN && (set->commit_then_fail > 0 || set->commit_then_drop > 0)) {
        double u = emu_rand01(&st->fault_rng);
        if (u < set->commit_then_fail + set->commit_then_drop) {
            dispatch(e, r, 1);
            if (r->out.status == 200 || r->out.status == 201) {
                if (u < set->commit_then_fail) {
                    emu_out_error(r, 500, "Internal server error (injected after commit)");
                } else {
                    out_reset(r);
                    r->out.drop = 1;
                }
            }
            goto latency;
        }
    }
    dispatch(e, r, 0);
latency:
    if (set->latency_ms || set->latency_max_ms)
        r->out.delay_ms += roll_latency(st);
    r->out.delay_ms += extra_delay;
}

/* date_skew: every API answer's Date header reads the emulator's clock plus the skew (a
 * load balancer whose clock disagrees with the application's); created_at and every other
 * timestamp stay on the real clock. A scripted Date header wins. */
static void skew_date(nna_emu *e, emu_req *r)
{
    double skew = e->st.set.date_skew;
    if (skew == 0)
        return;
    for (int i = 0; i < r->out.nh; i++)
        if (!strcasecmp(r->out.hn[i], "Date"))
            return;
    char v[40];
    emu_fmt_http_date(emu_now_ms() + (int64_t)(skew * 1000), v);
    emu_out_header(r, "Date", v);
}

void emu_handle_api(nna_emu *e, emu_req *r)
{
    handle_api(e, r);
    skew_date(e, r);
}
