/* nna-emu: agent endpoints (list, create, get, patch, versions, publish). */
#define _GNU_SOURCE 1 /* strcasestr */
#include "emu_internal.h"
#include "nna/json.h"

#include <stdlib.h>
#include <string.h>

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

void emu_agent_json(sbuf *b, const emu_agent *a, int full)
{
    char id[37], gid[37], c[32], u[32];
    emu_uuid_fmt(&a->id, id);
    emu_uuid_fmt(&a->group, gid);
    emu_fmt_time(a->created_ms, c);
    emu_fmt_time(a->updated_ms, u);
    sb_printf(b, "{\"id\":\"%s\",\"agent_group_id\":\"%s\",\"version_number\":%d,\"status\":\"%s\",\"name\":",
              id, gid, a->version, emu_agent_status_names[a->status]);
    sb_json_str(b, a->name);
    if (full && a->config_raw) {
        sb_puts(b, ",\"config\":");
        sb_puts(b, a->config_raw);
    } else if (full) {
        sb_puts(b, ",\"config\":");
        char *cfg = cJSON_PrintUnformatted(a->config);
        sb_puts(b, cfg ? cfg : "{}");
        free(cfg);
    }
    sb_printf(b, ",\"is_active\":%s,\"created_at\":\"%s\",\"updated_at\":\"%s\"}",
              a->is_active ? "true" : "false", c, u);
}

static emu_agent *lookup_agent(nna_emu *e, emu_req *r, const emu_uuid *id, size_t *idx)
{
    emu_agent *a = emu_agent_find(&e->st, id, idx);
    if (!a) {
        emu_out_error(r, 404, "Agent not found");
        return NULL;
    }
    if (a->ws != r->ws) {
        if (e->st.set.cross_workspace == 403)
            emu_out_error(r, 403, "Agent belongs to another workspace");
        else
            emu_out_error(r, 404, "Agent not found");
        return NULL;
    }
    return a;
}

static int parse_cursor(emu_req *r, int kind, uint64_t *cur)
{
    *cur = UINT64_MAX;
    const char *v = emu_req_q(r, "cursor");
    if (v && *v && emu_cursor_parse(kind, v, cur) != 0) {
        emu_out_error(r, 400, "Invalid cursor");
        return -1;
    }
    return 0;
}

static void finish_page(emu_req *r, sbuf *b, int has_more, int kind, uint64_t last_seq)
{
    if (has_more) {
        char c[40];
        emu_cursor_make(kind, last_seq, c);
        sb_printf(b, "],\"has_more\":true,\"next_cursor\":\"%s\"}", c);
    } else {
        sb_puts(b, "],\"has_more\":false,\"next_cursor\":null}");
    }
    emu_out_json(r, 200, b);
}

void emu_api_agents_list(nna_emu *e, emu_req *r)
{
    emu_state *st = &e->st;
    int limit;
    uint64_t cur;
    if (emu_parse_limit(r, &limit) || parse_cursor(r, CUR_AGENTS, &cur))
        return;
    unsigned mask = (1u << AG_DRAFT) | (1u << AG_PUBLISHED);
    const char *v = emu_req_q(r, "status");
    if (v && *v) {
        mask = 0;
        const char *p = v;
        for (;;) {
            const char *c = strchr(p, ',');
            size_t l = c ? (size_t)(c - p) : strlen(p);
            int found = -1;
            for (int i = 0; i < 3; i++)
                if (strlen(emu_agent_status_names[i]) == l && !memcmp(emu_agent_status_names[i], p, l))
                    found = i;
            if (found < 0) {
                emu_out_error(r, 400, "Invalid status value");
                return;
            }
            mask |= 1u << found;
            if (!c)
                break;
            p = c + 1;
        }
    }
    const char *q = emu_req_q(r, "q");
    if (q && !*q)
        q = NULL;
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"data\":[");
    int count = 0, has_more = 0;
    uint64_t last = 0;
    for (size_t i = st->nagents; i-- > 0;) {
        emu_agent *a = &st->agents[i];
        if (a->ws != r->ws || a->seq >= cur || !(mask & (1u << a->status)))
            continue;
        if (q && !strcasestr(a->name, q))
            continue;
        if (count == limit) {
            has_more = 1;
            break;
        }
        if (count)
            sb_putc(&b, ',');
        emu_agent_json(&b, a, 0);
        count++;
        last = a->seq;
    }
    finish_page(r, &b, has_more, CUR_AGENTS, last);
}

static cJSON *parse_body_object(emu_req *r)
{
    if (r->body_too_large) {
        emu_out_error(r, 400, "Request body too large");
        return NULL;
    }
    if (!r->body.len)
        return cJSON_CreateObject();
    cJSON *doc = cJSON_ParseWithLength(r->body.p, r->body.len);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        emu_out_error(r, 400, "Request body must be a JSON object");
        return NULL;
    }
    return doc;
}

/* The request's own bytes of member `key` of its body object, or NULL (absent, not strict
 * JSON, out of memory). A real server stores config as sent: cJSON would re-print it. */
static char *body_member_raw(const emu_req *r, const char *key)
{
    nna_json_span doc, v;
    if (nna_json_validate(r->body.p, r->body.len, &doc, NULL, NULL) != 0 ||
        !nna_json_member(r->body.p, doc, key, &v))
        return NULL;
    char *p = malloc(v.len + 1);
    if (p) {
        memcpy(p, r->body.p + v.off, v.len);
        p[v.len] = '\0';
    }
    return p;
}

void emu_api_agents_create(nna_emu *e, emu_req *r)
{
    emu_state *st = &e->st;
    cJSON *doc = parse_body_object(r);
    if (!doc)
        return;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(doc, "system_prompt");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const char *err = NULL;
    if (name && !cJSON_IsNull(name) && (!cJSON_IsString(name) || !name->valuestring[0]))
        err = "name must be a non-empty string";
    else if (sp && !cJSON_IsNull(sp) && !cJSON_IsString(sp))
        err = "system_prompt must be a string";
    else if (cfg && !cJSON_IsNull(cfg) && !cJSON_IsObject(cfg))
        err = "config must be an object";
    if (err) {
        cJSON_Delete(doc);
        emu_out_error(r, 400, err);
        return;
    }
    char nm[64];
    const char *use_name;
    if (cJSON_IsString(name)) {
        use_name = name->valuestring;
        if (emu_agent_name_taken(st, r->ws, use_name, NULL)) {
            cJSON_Delete(doc);
            emu_out_error(r, 409, "An agent with this name already exists");
            return;
        }
    } else {
        for (unsigned n = 1;; n++) {
            snprintf(nm, sizeof nm, "Untitled Agent %u", n);
            if (!emu_agent_name_taken(st, r->ws, nm, NULL))
                break;
        }
        use_name = nm;
    }
    cJSON *conf;
    if (cJSON_IsObject(cfg)) {
        conf = cJSON_Duplicate(cfg, 1);
    } else {
        conf = cJSON_CreateObject();
        if (conf) {
            cJSON_AddStringToObject(conf, "system_prompt", "");
            cJSON *tools = cJSON_AddArrayToObject(conf, "tools");
            if (tools) {
                cJSON_AddItemToArray(tools, cJSON_CreateString("read_file"));
                cJSON_AddItemToArray(tools, cJSON_CreateString("ask_user"));
            }
        }
    }
    if (conf && cJSON_IsString(sp) && !cJSON_GetObjectItemCaseSensitive(conf, "system_prompt") )
        cJSON_AddStringToObject(conf, "system_prompt", sp->valuestring);
    else if (conf && cJSON_IsString(sp) && !cJSON_IsObject(cfg))
        cJSON_ReplaceItemInObjectCaseSensitive(conf, "system_prompt", cJSON_CreateString(sp->valuestring));
    char *n = dupstr(use_name);
    emu_agent *a = (conf && n) ? emu_agent_add(st) : NULL;
    if (!a) {
        cJSON_Delete(conf);
        free(n);
        cJSON_Delete(doc);
        emu_out_error(r, 500, "Out of memory");
        return;
    }
    a->ws = r->ws;
    emu_uuid_gen(&e->id_rng, &a->id);
    emu_uuid_gen(&e->id_rng, &a->group);
    a->version = 1;
    a->status = AG_PUBLISHED;
    a->name = n;
    a->config = conf;
    /* as sent, unless the top-level system_prompt was merged into it */
    if (cJSON_IsObject(cfg) && !(cJSON_IsString(sp) && !cJSON_GetObjectItemCaseSensitive(cfg, "system_prompt")))
        a->config_raw = body_member_raw(r, "config");
    a->is_active = 1;
    a->created_ms = a->updated_ms = emu_now_ms();
    cJSON_Delete(doc);
    sbuf b;
    sb_init(&b);
    emu_agent_json(&b, a, 1);
    emu_out_json(r, st->set.varied_success_codes ? 201 : 200, &b);
}

void emu_api_agent_get(nna_emu *e, emu_req *r, const emu_uuid *aid)
{
    emu_agent *a = lookup_agent(e, r, aid, NULL);
    if (!a)
        return;
    sbuf b;
    sb_init(&b);
    emu_agent_json(&b, a, 1);
    emu_out_json(r, 200, &b);
}

void emu_api_agent_update(nna_emu *e, emu_req *r, const emu_uuid *aid)
{
    emu_state *st = &e->st;
    cJSON *doc = parse_body_object(r);
    if (!doc)
        return;
    emu_agent *a = lookup_agent(e, r, aid, NULL);
    if (!a) {
        cJSON_Delete(doc);
        return;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(doc, "system_prompt");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(doc, "is_active");
    const char *err = NULL;
    if (name && (!cJSON_IsString(name) || !name->valuestring[0]))
        err = "name must be a non-empty string";
    else if (sp && !cJSON_IsString(sp))
        err = "system_prompt must be a string";
    else if (cfg && !cJSON_IsObject(cfg))
        err = "config must be an object";
    else if (act && !cJSON_IsBool(act))
        err = "is_active must be a boolean";
    if (err) {
        cJSON_Delete(doc);
        emu_out_error(r, 400, err);
        return;
    }
    if (name && strcmp(name->valuestring, a->name) != 0 &&
        emu_agent_name_taken(st, r->ws, name->valuestring, &a->group)) {
        cJSON_Delete(doc);
        emu_out_error(r, 409, "An agent with this name already exists");
        return;
    }
    int changed = 0;
    if (name && strcmp(name->valuestring, a->name) != 0) {
        char *n = dupstr(name->valuestring);
        if (n) {
            free(a->name);
            a->name = n;
            changed = 1;
        }
    }
    if (cfg) {
        cJSON *c = cJSON_Duplicate(cfg, 1);
        if (c) {
            cJSON_Delete(a->config);
            a->config = c;
            free(a->config_raw);
            a->config_raw = body_member_raw(r, "config");
            changed = 1;
        }
    }
    if (sp) {
        /* with a new config, its own system_prompt wins */
        if (!(cfg && cJSON_GetObjectItemCaseSensitive(cfg, "system_prompt"))) {
            cJSON *s = cJSON_CreateString(sp->valuestring);
            if (s) {
                if (cJSON_GetObjectItemCaseSensitive(a->config, "system_prompt"))
                    cJSON_ReplaceItemInObjectCaseSensitive(a->config, "system_prompt", s);
                else
                    cJSON_AddItemToObject(a->config, "system_prompt", s);
                free(a->config_raw); /* no longer as sent */
                a->config_raw = NULL;
                changed = 1;
            }
        }
    }
    if (act) {
        a->is_active = cJSON_IsTrue(act);
        changed = 1;
    }
    if (changed)
        a->updated_ms = emu_now_ms();
    cJSON_Delete(doc);
    sbuf b;
    sb_init(&b);
    emu_agent_json(&b, a, 1);
    emu_out_json(r, 200, &b);
}

void emu_api_agent_versions(nna_emu *e, emu_req *r, const emu_uuid *aid)
{
    emu_state *st = &e->st;
    int limit;
    uint64_t cur;
    if (emu_parse_limit(r, &limit) || parse_cursor(r, CUR_VERSIONS, &cur))
        return;
    emu_agent *a = lookup_agent(e, r, aid, NULL);
    if (!a)
        return;
    emu_uuid group = a->group;
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"data\":[");
    int count = 0, has_more = 0;
    uint64_t last = 0;
    for (size_t i = st->nagents; i-- > 0;) {
        emu_agent *v = &st->agents[i];
        if (v->ws != r->ws || !emu_uuid_eq(&v->group, &group) || v->seq >= cur)
            continue;
        if (count == limit) {
            has_more = 1;
            break;
        }
        if (count)
            sb_putc(&b, ',');
        emu_agent_json(&b, v, 0);
        count++;
        last = v->seq;
    }
    finish_page(r, &b, has_more, CUR_VERSIONS, last);
}

void emu_api_agent_publish(nna_emu *e, emu_req *r, const emu_uuid *aid)
{
    emu_state *st = &e->st;
    size_t idx;
    emu_agent *a = lookup_agent(e, r, aid, &idx);
    if (!a)
        return;
    emu_uuid group = a->group;
    int draft = 0, maxv = 0;
    size_t latest = idx;
    for (size_t i = 0; i < st->nagents; i++) {
        emu_agent *v = &st->agents[i];
        if (!emu_uuid_eq(&v->group, &group))
            continue;
        draft |= v->has_draft;
        if (v->version > maxv) {
            maxv = v->version;
            latest = i;
        }
    }
    if (!draft) {
        emu_out_error(r, 409, "No draft changes to publish");
        return;
    }
    char *name = dupstr(st->agents[latest].name);
    cJSON *conf = cJSON_Duplicate(st->agents[latest].config, 1);
    int active = st->agents[latest].is_active;
    int ws = st->agents[latest].ws, conc = st->agents[latest].concurrency;
    emu_agent *n = (name && conf) ? emu_agent_add(st) : NULL; /* may move the array */
    if (!n) {
        free(name);
        cJSON_Delete(conf);
        emu_out_error(r, 500, "Out of memory");
        return;
    }
    int64_t now = emu_now_ms();
    for (size_t i = 0; i + 1 < st->nagents; i++) {
        emu_agent *v = &st->agents[i];
        if (!emu_uuid_eq(&v->group, &group))
            continue;
        v->has_draft = 0;
        if (v->status == AG_PUBLISHED) {
            v->status = AG_ARCHIVED;
            v->updated_ms = now;
        }
    }
    emu_uuid_gen(&e->id_rng, &n->id);
    n->group = group;
    n->ws = ws;
    n->version = maxv + 1;
    n->status = AG_PUBLISHED;
    n->name = name;
    n->config = conf;
    n->config_raw = st->agents[latest].config_raw ? dupstr(st->agents[latest].config_raw) : NULL;
    n->is_active = active;
    n->concurrency = conc;
    n->created_ms = n->updated_ms = now;
    sbuf b;
    sb_init(&b);
    emu_agent_json(&b, n, 0);
    emu_out_json(r, 200, &b);
}
