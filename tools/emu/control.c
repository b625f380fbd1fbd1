/* nna-emu: control endpoints under /_emu/ (no auth), shared by HTTP and
 * nna_emu_control(). */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>

static int reply(char **resp, int status, sbuf *b)
{
    if (resp)
        *resp = sb_steal(b);
    else
        sb_free(b);
    return status;
}

static int error(char **resp, int status, const char *msg)
{
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"error\":");
    sb_json_str(&b, msg);
    sb_putc(&b, '}');
    return reply(resp, status, &b);
}

static int ok(char **resp)
{
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"ok\":true}");
    return reply(resp, 200, &b);
}

/* query lookup on a private copy of the query string */
static const char *qget(char *qs, const char *key, char *out, size_t outlen)
{
    if (!qs)
        return NULL;
    size_t kl = strlen(key);
    const char *p = qs;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        if (l > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t vl = l - kl - 1;
            if (vl >= outlen)
                vl = outlen - 1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = '\0';
            emu_url_decode(out);
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static cJSON *parse_obj(const char *body, size_t len, int allow_empty, int *bad)
{
    *bad = 0;
    if (!body || !len) {
        if (allow_empty)
            return cJSON_CreateObject();
        *bad = 1;
        return NULL;
    }
    cJSON *doc = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        *bad = 1;
        return NULL;
    }
    return doc;
}

static int do_control(nna_emu *e, const char *method, const char *path, char *qs,
                      const char *body, size_t body_len, char **resp)
{
    emu_state *st = &e->st;
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    char err[256] = "";
    char qv[128];
    sbuf b;
    sb_init(&b);

    if (!strcmp(path, "/_emu/health")) {
        sb_puts(&b, "{\"ok\":true}");
        return reply(resp, 200, &b);
    }
    if (!strcmp(path, "/_emu/reset")) {
        if (!is_post)
            return error(resp, 405, "Method not allowed");
        emu_state_free(st);
        if (emu_state_load(e, e->config_text, err, sizeof err) != 0)
            return error(resp, 500, err);
        return ok(resp);
    }
    if (!strcmp(path, "/_emu/config")) {
        if (is_post) {
            int bad;
            cJSON *doc = parse_obj(body, body_len, 0, &bad);
            if (!doc)
                return error(resp, 400, "body must be a JSON object");
            int rc = emu_settings_apply(e, doc, err, sizeof err);
            cJSON_Delete(doc);
            if (rc != 0)
                return error(resp, 400, err);
        } else if (!is_get) {
            return error(resp, 405, "Method not allowed");
        }
        emu_settings_to_json(e, &b);
        return reply(resp, 200, &b);
    }
    if (!strcmp(path, "/_emu/script")) {
        if (is_get) {
            sb_puts(&b, "{\"pending\":{");
            int first = 1;
            for (int r = 0; r <= R__COUNT; r++) {
                size_t n = 0;
                for (emu_script *s = st->sc_head[r]; s; s = s->next)
                    n++;
                if (!n)
                    continue;
                sb_printf(&b, "%s\"%s\":%zu", first ? "" : ",", r == R_ANY ? "*" : emu_route_names[r], n);
                first = 0;
            }
            sb_puts(&b, "}}");
            return reply(resp, 200, &b);
        }
        if (!strcmp(method, "DELETE")) {
            emu_scripts_clear(st);
            return ok(resp);
        }
        if (!is_post)
            return error(resp, 405, "Method not allowed");
        int bad;
        cJSON *doc = parse_obj(body, body_len, 0, &bad);
        if (!doc)
            return error(resp, 400, "body must be a JSON object");
        int rc = emu_script_add(st, doc, err, sizeof err);
        cJSON_Delete(doc);
        if (rc != 0)
            return error(resp, 400, err);
        return ok(resp);
    }
    if (!strcmp(path, "/_emu/log")) {
        if (!is_get)
            return error(resp, 405, "Method not allowed");
        size_t limit = 0;
        if (qget(qs, "limit", qv, sizeof qv))
            limit = (size_t)strtoull(qv, NULL, 10);
        emu_log_json(e, &b, limit);
        return reply(resp, 200, &b);
    }
    if (!strcmp(path, "/_emu/counters")) {
        if (!is_get)
            return error(resp, 405, "Method not allowed");
        emu_counters_json(e, &b);
        return reply(resp, 200, &b);
    }
    if (!strcmp(path, "/_emu/tasks")) {
        if (!is_get)
            return error(resp, 405, "Method not allowed");
        emu_uuid aid;
        int have = 0;
        if (qget(qs, "agent_id", qv, sizeof qv)) {
            if (emu_uuid_parse(qv, strlen(qv), &aid) != 0)
                return error(resp, 400, "Invalid agent_id format");
            have = 1;
        }
        int64_t now = emu_now_ms();
        size_t n = 0;
        sb_puts(&b, "{\"data\":[");
        for (size_t wi = 0; wi < st->nws; wi++) {
            emu_workspace *w = &st->ws[wi];
            emu_ws_advance_agents(e, (int)wi, now);
            for (size_t i = w->ohead; i < w->olen; i++) {
                uint32_t s = w->order[i].slot;
                if (s == UINT32_MAX)
                    continue;
                emu_task *t = emu_task_at(st, s);
                if (have && !emu_uuid_eq(&st->agents[t->agent].id, &aid))
                    continue;
                emu_task_advance(e, s, now);
                if (n++)
                    sb_putc(&b, ',');
                emu_task_json(e, &b, t, 1);
            }
        }
        sb_printf(&b, "],\"count\":%zu}", n);
        return reply(resp, 200, &b);
    }
    /* /_emu/tasks/{id}/release and /_emu/agents/{id}/draft */
    if (!strncmp(path, "/_emu/tasks/", 12) || !strncmp(path, "/_emu/agents/", 13)) {
        int is_task = path[6] == 't';
        const char *id = path + (is_task ? 12 : 13);
        const char *sl = strchr(id, '/');
        const char *action = is_task ? "/release" : "/draft";
        if (!sl || strcmp(sl, action) != 0)
            return error(resp, 404, "Not found");
        if (!is_post)
            return error(resp, 405, "Method not allowed");
        emu_uuid u;
        if (emu_uuid_parse(id, (size_t)(sl - id), &u) != 0)
            return error(resp, 400, is_task ? "Invalid task_id format" : "Invalid agent_id format");
        if (is_task) {
            uint32_t slot;
            emu_task *t = emu_task_find(st, &u, &slot);
            if (!t)
                return error(resp, 404, "Task not found");
            if (emu_task_release(e, slot, emu_now_ms()) != 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "Task is %s, not awaiting_review", emu_status_names[t->status]);
                return error(resp, 409, msg);
            }
            emu_task_json(e, &b, t, 0);
            return reply(resp, 200, &b);
        }
        emu_agent *a = emu_agent_find(st, &u, NULL);
        if (!a)
            return error(resp, 404, "Agent not found");
        int bad, flag = 1;
        cJSON *doc = parse_obj(body, body_len, 1, &bad);
        if (!doc)
            return error(resp, 400, "body must be a JSON object");
        const cJSON *hd = cJSON_GetObjectItemCaseSensitive(doc, "has_draft");
        if (hd)
            flag = cJSON_IsTrue(hd);
        cJSON_Delete(doc);
        for (size_t i = 0; i < st->nagents; i++)
            if (emu_uuid_eq(&st->agents[i].group, &a->group))
                st->agents[i].has_draft = 0;
        a->has_draft = flag;
        emu_agent_json(&b, a, 0);
        b.len--; /* drop the closing brace */
        sb_printf(&b, ",\"has_draft\":%s}", flag ? "true" : "false");
        return reply(resp, 200, &b);
    }
    return error(resp, 404, "Not found");
}

int emu_control(nna_emu *e, const char *method, const char *path_q, const char *body,
                size_t body_len, char **resp)
{
    if (resp)
        *resp = NULL;
    if (!method || !path_q)
        return error(resp, 400, "method and path are required");
    size_t n = strlen(path_q);
    char *p = malloc(n + 1);
    if (!p)
        return 500;
    memcpy(p, path_q, n + 1);
    char *qs = strchr(p, '?');
    if (qs)
        *qs++ = '\0';
    size_t pl = strlen(p);
    if (pl > 6 && p[pl - 1] == '/')
        p[pl - 1] = '\0';
    pthread_mutex_lock(&e->mu);
    int st = do_control(e, method, p, qs, body, body_len, resp);
    pthread_mutex_unlock(&e->mu);
    free(p);
    return st;
}
