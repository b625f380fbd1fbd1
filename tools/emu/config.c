/* nna-emu: configuration (startup JSON, runtime settings via /_emu/config). */
#include "emu_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char default_config[] =
    "{\n"
    "  \"settings\": {\"task_ms\": 300, \"concurrency\": 0},\n"
    "  \"workspaces\": [\n"
    "    {\"name\": \"default\", \"keys\": [\"" NNA_EMU_DEFAULT_KEY "\"],\n"
    "     \"agents\": [\n"
    "       {\"id\": \"" NNA_EMU_AGENT_1 "\", \"group_id\": \"11111111-aaaa-4aaa-8aaa-111111111111\",\n"
    "        \"name\": \"Invoice Extractor\", \"is_active\": true,\n"
    "        \"config\": {\"system_prompt\": \"Extract the line items of invoices.\", \"tools\": [\"read_file\", \"ask_user\"], \"model\": \"emu-1\"}},\n"
    "       {\"id\": \"" NNA_EMU_AGENT_2 "\", \"group_id\": \"22222222-aaaa-4aaa-8aaa-222222222222\",\n"
    "        \"name\": \"Support Triage\", \"is_active\": true,\n"
    "        \"config\": {\"system_prompt\": \"Triage support tickets.\", \"tools\": [\"web_search\"], \"model\": \"emu-1\"}},\n"
    "       {\"id\": \"" NNA_EMU_AGENT_3 "\", \"group_id\": \"33333333-aaaa-4aaa-8aaa-333333333333\",\n"
    "        \"name\": \"Inactive Agent\", \"is_active\": false,\n"
    "        \"config\": {\"system_prompt\": \"I am switched off.\", \"tools\": []}}\n"
    "     ]},\n"
    "    {\"name\": \"other\", \"keys\": [\"" NNA_EMU_OTHER_KEY "\"],\n"
    "     \"agents\": [\n"
    "       {\"id\": \"" NNA_EMU_OTHER_AGENT "\", \"group_id\": \"44444444-aaaa-4aaa-8aaa-444444444444\",\n"
    "        \"name\": \"Other Workspace Agent\", \"is_active\": true,\n"
    "        \"config\": {\"system_prompt\": \"Belongs to workspace other.\", \"tools\": []}}\n"
    "     ]}\n"
    "  ]\n"
    "}\n";

const char *emu_default_config_json(void) { return default_config; }

void emu_settings_defaults(emu_settings *s)
{
    memset(s, 0, sizeof *s);
    s->task_ms = 300;
    s->cross_workspace = 404;
    s->max_tasks = 1000000;
    s->max_upload_bytes = 50ull * 1024 * 1024;
    strcpy(s->input_marker, "ASK:");
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static int num_in(const cJSON *v, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(v) || isnan(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return -1;
    *out = v->valuedouble;
    return 0;
}

/* One pass over the keys of obj; with dry != 0 nothing is changed. */
static int apply_pass(nna_emu *e, const cJSON *obj, int dry, int top_level, char *err, size_t errlen)
{
    emu_state *st = &e->st;
    emu_settings *s = &st->set;
    int ws_only = -1;
    const cJSON *wsn = cJSON_GetObjectItemCaseSensitive(obj, "workspace");
    if (wsn) {
        if (!cJSON_IsString(wsn)) {
            snprintf(err, errlen, "workspace must be a string");
            return -1;
        }
        for (size_t i = 0; i < st->nws; i++)
            if (strcmp(st->ws[i].name, wsn->valuestring) == 0)
                ws_only = (int)i;
        if (ws_only < 0) {
            snprintf(err, errlen, "unknown workspace '%s'", wsn->valuestring);
            return -1;
        }
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, obj) {
        const char *k = it->string ? it->string : "";
        double d;
        if (strcmp(k, "workspace") == 0)
            continue;
        if (top_level && (strcmp(k, "workspaces") == 0 || strcmp(k, "settings") == 0))
            continue;
        if (strcmp(k, "rate") == 0 || strcmp(k, "burst") == 0) {
            if (num_in(it, 0, 1e9, &d))
                goto bad_num;
            if (dry)
                continue;
            for (size_t i = 0; i < st->nws; i++) {
                if (ws_only >= 0 && (int)i != ws_only)
                    continue;
                emu_workspace *w = &st->ws[i];
                if (k[0] == 'r')
                    emu_rate_configure(w, d, w->burst);
                else
                    emu_rate_configure(w, w->rate, d);
            }
        } else if (!strcmp(k, "fault_500") || !strcmp(k, "fault_502") || !strcmp(k, "fault_503") ||
                   !strcmp(k, "commit_then_fail") || !strcmp(k, "commit_then_drop")) {
            if (num_in(it, 0, 1, &d))
                goto bad_num;
            if (dry)
                continue;
            if (!strcmp(k, "fault_500"))
                s->fault_500 = d;
            else if (!strcmp(k, "fault_502"))
                s->fault_502 = d;
            else if (!strcmp(k, "fault_503"))
                s->fault_503 = d;
            else if (!strcmp(k, "commit_then_fail"))
                s->commit_then_fail = d;
            else
                s->commit_then_drop = d;
        } else if (!strcmp(k, "latency_ms") || !strcmp(k, "latency_max_ms") || !strcmp(k, "task_ms")) {
            if (num_in(it, 0, 86400000, &d))
                goto bad_num;
            if (dry)
                continue;
            if (!strcmp(k, "latency_ms"))
                s->latency_ms = (unsigned)d;
            else if (!strcmp(k, "latency_max_ms"))
                s->latency_max_ms = (unsigned)d;
            else
                s->task_ms = (unsigned)d;
        } else if (!strcmp(k, "date_skew")) {
            if (num_in(it, -1e9, 1e9, &d))
                goto bad_num;
            if (!dry)
                s->date_skew = d;
        } else if (!strcmp(k, "concurrency")) {
            if (num_in(it, 0, 1000000, &d))
                goto bad_num;
            if (!dry)
                s->concurrency = (int)d;
        } else if (!strcmp(k, "cross_workspace")) {
            int v = 0;
            if (cJSON_IsNumber(it))
                v = it->valueint;
            else if (cJSON_IsString(it))
                v = atoi(it->valuestring);
            if (v != 403 && v != 404) {
                snprintf(err, errlen, "cross_workspace must be 403 or 404");
                return -1;
            }
            if (!dry)
                s->cross_workspace = v;
        } else if (!strcmp(k, "retry_after_format")) {
            int hd;
            if (cJSON_IsString(it) && !strcmp(it->valuestring, "seconds"))
                hd = 0;
            else if (cJSON_IsString(it) && !strcmp(it->valuestring, "http-date"))
                hd = 1;
            else {
                snprintf(err, errlen, "retry_after_format must be \"seconds\" or \"http-date\"");
                return -1;
            }
            if (!dry)
                s->retry_after_http_date = hd;
        } else if (!strcmp(k, "varied_success_codes")) {
            if (!cJSON_IsBool(it)) {
                snprintf(err, errlen, "varied_success_codes must be a boolean");
                return -1;
            }
            if (!dry)
                s->varied_success_codes = cJSON_IsTrue(it);
        } else if (!strcmp(k, "max_tasks")) {
            if (num_in(it, 1, 4e9, &d))
                goto bad_num;
            if (!dry)
                s->max_tasks = (uint64_t)d;
        } else if (!strcmp(k, "max_upload_bytes")) {
            if (num_in(it, 0, 1e15, &d))
                goto bad_num;
            if (!dry)
                s->max_upload_bytes = (uint64_t)d;
        } else if (!strcmp(k, "input_marker")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof s->input_marker) {
                snprintf(err, errlen, "input_marker must be a string shorter than 64 bytes");
                return -1;
            }
            if (!dry)
                strcpy(s->input_marker, it->valuestring);
        } else if (!strcmp(k, "seed")) {
            uint64_t sv;
            if (cJSON_IsNumber(it) && it->valuedouble >= 0)
                sv = (uint64_t)it->valuedouble;
            else if (cJSON_IsString(it) && it->valuestring[0])
                sv = strtoull(it->valuestring, NULL, 0);
            else {
                snprintf(err, errlen, "seed must be a non-negative number");
                return -1;
            }
            if (!dry) {
                s->seed = sv;
                st->fault_rng = sv;
            }
        } else {
            snprintf(err, errlen, "unknown setting '%s'", k);
            return -1;
        }
        continue;
    bad_num:
        snprintf(err, errlen, "invalid value for '%s'", k);
        return -1;
    }
    return 0;
}

int emu_settings_apply(nna_emu *e, const cJSON *obj, char *err, size_t errlen)
{
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "body must be a JSON object");
        return -1;
    }
    if (apply_pass(e, obj, 1, 0, err, errlen) != 0)
        return -1;
    return apply_pass(e, obj, 0, 0, err, errlen);
}

void emu_settings_to_json(nna_emu *e, sbuf *b)
{
    emu_state *st = &e->st;
    emu_settings *s = &st->set;
    double rate = st->nws ? st->ws[0].rate : 0, burst = st->nws ? st->ws[0].burst : 0;
    sb_printf(b,
              "{\"rate\":%.15g,\"burst\":%.15g,\"fault_500\":%.15g,\"fault_502\":%.15g,"
              "\"fault_503\":%.15g,\"commit_then_fail\":%.15g,\"commit_then_drop\":%.15g,"
              "\"latency_ms\":%u,\"latency_max_ms\":%u,\"task_ms\":%u,\"concurrency\":%d,"
              "\"cross_workspace\":%d,\"retry_after_format\":\"%s\","
              "\"varied_success_codes\":%s,\"max_tasks\":%llu,\"max_upload_bytes\":%llu,"
              "\"input_marker\":",
              rate, burst, s->fault_500, s->fault_502, s->fault_503, s->commit_then_fail,
              s->commit_then_drop, s->latency_ms, s->latency_max_ms, s->task_ms, s->concurrency,
              s->cross_workspace, s->retry_after_http_date ? "http-date" : "seconds",
              s->varied_success_codes ? "true" : "false", (unsigned long long)s->max_tasks,
              (unsigned long long)s->max_upload_bytes);
    sb_json_str(b, s->input_marker);
    sb_printf(b, ",\"seed\":%llu,\"date_skew\":%.15g,\"workspaces\":[", (unsigned long long)s->seed,
              s->date_skew);
    for (size_t i = 0; i < st->nws; i++) {
        const emu_workspace *w = &st->ws[i];
        sb_printf(b, "%s{\"name\":", i ? "," : "");
        sb_json_str(b, w->name);
        sb_printf(b, ",\"rate\":%.15g,\"burst\":%.15g,\"keys\":%zu,\"tasks\":%zu}", w->rate, w->burst,
                  w->nkeys, w->olen - w->ohead - w->otombs);
    }
    sb_puts(b, "]}");
}

void emu_state_free(emu_state *st)
{
    emu_tasks_clear(st);
    for (size_t i = 0; i < st->nws; i++) {
        emu_workspace *w = &st->ws[i];
        free(w->name);
        for (size_t k = 0; k < w->nkeys; k++)
            free(w->keys[k]);
        free(w->keys);
        free(w->order);
    }
    free(st->ws);
    for (size_t i = 0; i < st->nagents; i++)
        emu_agent_free(&st->agents[i]);
    free(st->agents);
    emu_scripts_clear(st);
    emu_log_clear(st);
    memset(st, 0, sizeof *st);
}

static int load_agent(nna_emu *e, int wsi, const cJSON *o, int64_t now, char *err, size_t errlen)
{
    emu_state *st = &e->st;
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "agents[] entries must be objects");
        return -1;
    }
    emu_agent *a = emu_agent_add(st);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->ws = wsi;
    a->version = 1;
    a->status = AG_PUBLISHED;
    a->is_active = 1;
    a->created_ms = a->updated_ms = now;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (v) {
        if (!cJSON_IsString(v) || emu_uuid_parse(v->valuestring, strlen(v->valuestring), &a->id)) {
            snprintf(err, errlen, "agent id must be a UUID");
            return -1;
        }
        size_t idx;
        if (emu_agent_find(st, &a->id, &idx) && idx != st->nagents - 1) {
            snprintf(err, errlen, "duplicate agent id %s", v->valuestring);
            return -1;
        }
    } else {
        emu_uuid_gen(&e->id_rng, &a->id);
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "group_id");
    if (v) {
        if (!cJSON_IsString(v) || emu_uuid_parse(v->valuestring, strlen(v->valuestring), &a->group)) {
            snprintf(err, errlen, "agent group_id must be a UUID");
            return -1;
        }
    } else {
        a->group = a->id;
        a->group.b[15] ^= 0x5a;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (v && !cJSON_IsString(v)) {
        snprintf(err, errlen, "agent name must be a string");
        return -1;
    }
    if (v)
        a->name = dupstr(v->valuestring);
    else {
        char nm[64];
        snprintf(nm, sizeof nm, "Agent %zu", st->nagents);
        a->name = dupstr(nm);
    }
    if (!a->name)
        return -1;
    v = cJSON_GetObjectItemCaseSensitive(o, "is_active");
    if (v)
        a->is_active = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(o, "has_draft");
    if (v)
        a->has_draft = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(o, "version");
    if (cJSON_IsNumber(v) && v->valueint >= 1)
        a->version = v->valueint;
    v = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (cJSON_IsString(v)) {
        int found = 0;
        for (int i = 0; i < 3; i++)
            if (!strcmp(v->valuestring, emu_agent_status_names[i])) {
                a->status = i;
                found = 1;
            }
        if (!found) {
            snprintf(err, errlen, "agent status must be draft, published or archived");
            return -1;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "concurrency");
    if (v) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0) {
            snprintf(err, errlen, "agent concurrency must be a number >= 0");
            return -1;
        }
        a->concurrency = v->valueint;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "config");
    if (v && !cJSON_IsObject(v)) {
        snprintf(err, errlen, "agent config must be an object");
        return -1;
    }
    a->config = v ? cJSON_Duplicate(v, 1) : cJSON_CreateObject();
    if (!a->config)
        return -1;
    return 0;
}

int emu_state_load(nna_emu *e, const char *text, char *err, size_t errlen)
{
    emu_state *st = &e->st;
    memset(st, 0, sizeof *st);
    emu_settings_defaults(&st->set);
    st->set.seed = e->opt_seed;
    cJSON *root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "configuration is not a JSON object");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *wss = cJSON_GetObjectItemCaseSensitive(root, "workspaces");
    if (!cJSON_IsArray(wss) || cJSON_GetArraySize(wss) < 1) {
        snprintf(err, errlen, "configuration needs a non-empty \"workspaces\" array");
        goto fail;
    }
    int n = cJSON_GetArraySize(wss);
    if (n > 30000) {
        snprintf(err, errlen, "too many workspaces");
        goto fail;
    }
    st->ws = calloc((size_t)n, sizeof *st->ws);
    if (!st->ws)
        goto fail;
    int64_t now = emu_now_ms();
    const cJSON *w;
    cJSON_ArrayForEach(w, wss) {
        if (!cJSON_IsObject(w)) {
            snprintf(err, errlen, "workspaces[] entries must be objects");
            goto fail;
        }
        int wi = (int)st->nws++;
        emu_workspace *ws = &st->ws[wi];
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(w, "name");
        if (!cJSON_IsString(nm) || !nm->valuestring[0]) {
            snprintf(err, errlen, "workspace name must be a non-empty string");
            goto fail;
        }
        for (int k = 0; k < wi; k++)
            if (!strcmp(st->ws[k].name, nm->valuestring)) {
                snprintf(err, errlen, "duplicate workspace name '%s'", nm->valuestring);
                goto fail;
            }
        ws->name = dupstr(nm->valuestring);
        emu_uuid_gen(&e->id_rng, &ws->user_id);
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(w, "keys");
        if (!cJSON_IsArray(keys)) {
            snprintf(err, errlen, "workspace '%s' needs a \"keys\" array", ws->name);
            goto fail;
        }
        int nk = cJSON_GetArraySize(keys);
        ws->keys = calloc(nk ? (size_t)nk : 1, sizeof(char *));
        if (!ws->name || !ws->keys)
            goto fail;
        const cJSON *key;
        cJSON_ArrayForEach(key, keys) {
            if (!cJSON_IsString(key) || !key->valuestring[0]) {
                snprintf(err, errlen, "keys must be non-empty strings");
                goto fail;
            }
            for (size_t a = 0; a <= (size_t)wi; a++)
                for (size_t b = 0; b < st->ws[a].nkeys; b++)
                    if (!strcmp(st->ws[a].keys[b], key->valuestring)) {
                        snprintf(err, errlen, "duplicate key '%s'", key->valuestring);
                        goto fail;
                    }
            ws->keys[ws->nkeys] = dupstr(key->valuestring);
            if (!ws->keys[ws->nkeys])
                goto fail;
            ws->nkeys++;
        }
        double rate = 0, burst = 0;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(w, "rate");
        if (v && num_in(v, 0, 1e9, &rate)) {
            snprintf(err, errlen, "invalid workspace rate");
            goto fail;
        }
        v = cJSON_GetObjectItemCaseSensitive(w, "burst");
        if (v && num_in(v, 0, 1e9, &burst)) {
            snprintf(err, errlen, "invalid workspace burst");
            goto fail;
        }
        emu_rate_configure(ws, rate, burst);
        const cJSON *agents = cJSON_GetObjectItemCaseSensitive(w, "agents");
        if (agents && !cJSON_IsArray(agents)) {
            snprintf(err, errlen, "agents must be an array");
            goto fail;
        }
        const cJSON *ag;
        cJSON_ArrayForEach(ag, agents) {
            if (load_agent(e, wi, ag, now, err, errlen) != 0)
                goto fail;
        }
    }
    /* global settings: "settings" object, then top-level keys (both optional) */
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(root, "settings");
    if (sets) {
        if (!cJSON_IsObject(sets)) {
            snprintf(err, errlen, "settings must be an object");
            goto fail;
        }
        if (apply_pass(e, sets, 1, 0, err, errlen) || apply_pass(e, sets, 0, 0, err, errlen))
            goto fail;
    }
    if (apply_pass(e, root, 1, 1, err, errlen) || apply_pass(e, root, 0, 1, err, errlen))
        goto fail;
    /* per-workspace rate/burst given in the workspace entry win over global settings */
    {
        int wi = 0;
        cJSON_ArrayForEach(w, wss) {
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(w, "rate");
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(w, "burst");
            emu_workspace *ws = &st->ws[wi++];
            if (r || b)
                emu_rate_configure(ws, r ? r->valuedouble : ws->rate, b ? b->valuedouble : ws->burst);
        }
    }
    st->fault_rng = st->set.seed;
    cJSON_Delete(root);
    return 0;
fail:
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    cJSON_Delete(root);
    emu_state_free(st);
    return -1;
}
