/* nna-emu: task endpoints (run, list, get, summary, result, messages, message, cancel). */
#define _GNU_SOURCE 1 /* strcasestr */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>


/* --------------------------------------------------------------- JSON */
static void put_time(sbuf *b, int64_t ms)
{
    char ts[32];
    emu_fmt_time(ms, ts);
    sb_putc(b, '"');
    sb_puts(b, ts);
    sb_putc(b, '"');
}

static void put_uuid(sbuf *b, const emu_uuid *u)
{
    char s[37];
    emu_uuid_fmt(u, s);
    sb_putc(b, '"');
    sb_putn(b, s, 36);
    sb_putc(b, '"');
}

static void task_fields(nna_emu *e, sbuf *b, const emu_task *t)
{
    emu_agent *a = &e->st.agents[t->agent];
    sb_puts(b, "\"task_id\":");
    put_uuid(b, &t->id);
    sb_puts(b, ",\"agent_id\":");
    put_uuid(b, &a->id);
    sb_printf(b, ",\"status\":\"%s\",\"created_at\":", emu_status_names[t->status]);
    put_time(b, t->created_ms);
    sb_puts(b, ",\"updated_at\":");
    put_time(b, t->updated_ms);
    if (t->title[0]) {
        sb_puts(b, ",\"title\":");
        sb_json_str(b, t->title);
    }
}

void emu_task_json(nna_emu *e, sbuf *b, const emu_task *t, int list_item)
{
    sb_putc(b, '{');
    task_fields(e, b, t);
    if (list_item) {
        sb_puts(b, ",\"agent_name\":");
        sb_json_str(b, e->st.agents[t->agent].name);
    }
    sb_putc(b, '}');
}

/* Copy at most max-1 bytes of s into out without splitting a UTF-8 sequence;
 * control characters become spaces. */
static void make_title(char *out, size_t max, const char *s, size_t n)
{
    size_t cut = n < 60 ? n : 60;
    if (cut > max - 1)
        cut = max - 1;
    while (cut > 0 && cut < n && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    for (size_t i = 0; i < cut; i++)
        out[i] = ((unsigned char)s[i] < 0x20) ? ' ' : s[i];
    out[cut] = '\0';
}

/* ------------------------------------------------------------- lookup */
static int foreign_status(nna_emu *e) { return e->st.set.cross_workspace; }

static emu_task *lookup_task(nna_emu *e, emu_req *r, const emu_uuid *tid, uint32_t *slot, int cancel)
{
    emu_task *t = emu_task_find(&e->st, tid, slot);
    if (!t) {
        emu_out_error(r, 404, "Task not found");
        return NULL;
    }
    if (t->ws != r->ws) {
        if (cancel)
            emu_out_error(r, 403, "Task belongs to another workspace");
        else if (foreign_status(e) == 403)
            emu_out_error(r, 403, "Task belongs to another workspace");
        else
            emu_out_error(r, 404, "Task not found");
        return NULL;
    }
    emu_task_advance(e, *slot, emu_now_ms());
    return t;
}

/* ---------------------------------------------------------------- run */
void emu_api_run(nna_emu *e, emu_req *r, const emu_uuid *aid, int commit_only)
{
    (void)commit_only;
    emu_state *st = &e->st;
    size_t ai;
    emu_agent *a = emu_agent_find(st, aid, &ai);
    if (!a || (a->ws != r->ws && foreign_status(e) == 404)) {
        emu_out_error(r, 404, "Agent not found");
        return;
    }
    if (a->ws != r->ws) {
        emu_out_error(r, 403, "Agent belongs to another workspace");
        return;
    }
    if (!a->is_active) {
        emu_out_error(r, 403, "Agent is not active");
        return;
    }
    const char *query = NULL;
    size_t qlen = 0;
    int has_outcfg = 0;
    unsigned nfiles = 0;
    cJSON *doc = NULL;
    if (r->multipart) {
        if (r->mp_bad && !r->mp_oversize && !r->mp_field_too_large) {
            emu_out_error(r, 400, "Malformed multipart/form-data body");
            return;
        }
        if (r->mp_oversize) {
            char msg[128];
            snprintf(msg, sizeof msg, "File too large: uploads are limited to %llu bytes",
                     (unsigned long long)st->set.max_upload_bytes);
            emu_out_error(r, 400, msg);
            return;
        }
        if (r->mp_field_too_large) {
            emu_out_error(r, 400, "Form field too large");
            return;
        }
        if (r->mp_has_query) {
            query = r->mp_query.p ? r->mp_query.p : "";
            qlen = r->mp_query.len;
        }
        if (r->mp_has_outcfg) {
            cJSON *oc = cJSON_ParseWithLength(r->mp_outcfg.p ? r->mp_outcfg.p : "", r->mp_outcfg.len);
            int ok = cJSON_IsObject(oc);
            cJSON_Delete(oc);
            if (!ok) {
                emu_out_error(r, 400, "output_config must be a JSON object encoded as a string");
                return;
            }
            has_outcfg = 1;
        }
        nfiles = r->mp_files;
    } else {
        if (r->body_too_large) {
            emu_out_error(r, 400, "Request body too large");
            return;
        }
        if (!r->body.len) {
            emu_out_error(r, 400, "Missing required field: query");
            return;
        }
        doc = cJSON_ParseWithLength(r->body.p, r->body.len);
        if (!cJSON_IsObject(doc)) {
            cJSON_Delete(doc);
            emu_out_error(r, 400, "Request body must be a JSON object");
            return;
        }
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(doc, "query");
        if (q && !cJSON_IsNull(q)) {
            if (!cJSON_IsString(q)) {
                cJSON_Delete(doc);
                emu_out_error(r, 400, "query must be a string");
                return;
            }
            query = q->valuestring;
            qlen = strlen(query);
        }
        const cJSON *oc = cJSON_GetObjectItemCaseSensitive(doc, "output_config");
        if (oc && !cJSON_IsNull(oc)) {
            if (!cJSON_IsObject(oc)) {
                cJSON_Delete(doc);
                emu_out_error(r, 400, "output_config must be an object");
                return;
            }
            const cJSON *os = cJSON_GetObjectItemCaseSensitive(oc, "output_schema");
            const cJSON *in = cJSON_GetObjectItemCaseSensitive(oc, "instructions");
            if ((os && !cJSON_IsString(os) && !cJSON_IsNull(os)) ||
                (in && !cJSON_IsString(in) && !cJSON_IsNull(in))) {
                cJSON_Delete(doc);
                emu_out_error(r, 400, "output_config.output_schema and .instructions must be strings");
                return;
            }
            has_outcfg = 1;
        }
    }
    if ((!query || qlen == 0) && nfiles == 0) {
        cJSON_Delete(doc);
        emu_out_error(r, 400, "Missing required field: query or files");
        return;
    }
    uint32_t slot;
    emu_task *t = emu_task_new(e, r->ws, (uint32_t)ai, &slot);
    if (!t) {
        cJSON_Delete(doc);
        emu_out_error(r, 500, "Out of memory");
        return;
    }
    if (query && qlen)
        make_title(t->title, sizeof t->title, query, qlen);
    else if (r->mp_first_name[0])
        make_title(t->title, sizeof t->title, r->mp_first_name, strlen(r->mp_first_name));
    else
        strcpy(t->title, "Uploaded files");
    if (has_outcfg)
        t->flags |= TF_OUTCFG;
    t->nfiles = (uint16_t)(nfiles > 65535 ? 65535 : nfiles);
    int64_t now = t->created_ms;
    emu_task_start_lifecycle(e, slot, qlen ? query : NULL, now);
    cJSON_Delete(doc);
    st->tasks_created++;
    st->ws[r->ws].n_tasks_created++;

    sbuf b;
    sb_init(&b);
    sb_reserve(&b, 320);
    char tid[37], aids[37], ts[32];
    emu_uuid_fmt(&t->id, tid);
    emu_uuid_fmt(&a->id, aids);
    emu_fmt_time(t->created_ms, ts);
    sb_printf(&b,
              "{\"task_id\":\"%s\",\"agent_id\":\"%s\",\"status\":\"%s\",\"message\":"
              "\"Task created successfully. Use GET /v1/tasks/%s to check status.\","
              "\"created_at\":\"%s\"}",
              tid, aids, emu_status_names[t->status], tid, ts);
    emu_out_json(r, st->set.varied_success_codes ? 201 : 200, &b);
}

/* --------------------------------------------------------------- list */
void emu_api_tasks_list(nna_emu *e, emu_req *r)
{
    emu_state *st = &e->st;
    int limit;
    if (emu_parse_limit(r, &limit))
        return;
    uint64_t cur = UINT64_MAX;
    const char *v = emu_req_q(r, "cursor");
    if (v && *v && emu_cursor_parse(CUR_TASKS, v, &cur) != 0) {
        emu_out_error(r, 400, "Invalid cursor");
        return;
    }
    int have_agent = 0;
    emu_uuid agent_id;
    v = emu_req_q(r, "agent_id");
    if (v) {
        if (emu_uuid_parse(v, strlen(v), &agent_id) != 0) {
            emu_out_error(r, 400, "Invalid agent_id format");
            return;
        }
        have_agent = 1;
    }
    unsigned mask = 0;
    v = emu_req_q(r, "status");
    if (v && *v) {
        const char *p = v;
        while (*p) {
            const char *c = strchr(p, ',');
            size_t l = c ? (size_t)(c - p) : strlen(p);
            while (l && *p == ' ') {
                p++;
                l--;
            }
            while (l && p[l - 1] == ' ')
                l--;
            int found = -1;
            for (int i = 0; i < ST__COUNT; i++)
                if (strlen(emu_status_names[i]) == l && !memcmp(emu_status_names[i], p, l))
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
    int64_t after = INT64_MIN, before = INT64_MAX;
    v = emu_req_q(r, "created_after");
    if (v && emu_parse_time(v, &after) != 0) {
        emu_out_error(r, 400, "Invalid created_after format");
        return;
    }
    v = emu_req_q(r, "created_before");
    if (v && emu_parse_time(v, &before) != 0) {
        emu_out_error(r, 400, "Invalid created_before format");
        return;
    }
    const char *q = emu_req_q(r, "q");
    if (q && !*q)
        q = NULL;

    int64_t now = emu_now_ms();
    emu_ws_advance_agents(e, r->ws, now);
    emu_workspace *w = &st->ws[r->ws];
    size_t i = cur == UINT64_MAX ? w->olen : emu_order_find_lt(w, cur);
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"data\":[");
    int count = 0, has_more = 0;
    uint64_t last_seq = 0;
    while (i > w->ohead) {
        i--;
        uint32_t s = w->order[i].slot;
        if (s == UINT32_MAX)
            continue;
        emu_task *t = emu_task_at(st, s);
        if (t->created_ms < after)
            break; /* creation order == time order */
        if (t->created_ms / 1000 * 1000 > before)
            continue;
        if (have_agent && !emu_uuid_eq(&st->agents[t->agent].id, &agent_id))
            continue;
        if (q && !strcasestr(t->title, q))
            continue;
        if (mask) {
            emu_task_advance(e, s, now);
            if (!(mask & (1u << t->status)))
                continue;
        }
        if (count == limit) {
            has_more = 1;
            break;
        }
        emu_task_advance(e, s, now);
        if (count)
            sb_putc(&b, ',');
        emu_task_json(e, &b, t, 1);
        count++;
        last_seq = t->seq;
    }
    if (has_more) {
        char c[40];
        emu_cursor_make(CUR_TASKS, last_seq, c);
        sb_printf(&b, "],\"has_more\":true,\"next_cursor\":\"%s\"}", c);
    } else {
        sb_puts(&b, "],\"has_more\":false,\"next_cursor\":null}");
    }
    emu_out_json(r, 200, &b);
}

/* ----------------------------------------------------------- messages */
typedef struct synth_msg {
    int64_t     t;
    int         idx;  /* id derivation index */
    int         user; /* 1 = user-authored */
    const char *text;
    int         kind; /* 0 text, 1 ask, 2 review, 3 final, 4 failed */
} synth_msg;

static void derive_id(const emu_uuid *base, int idx, emu_uuid *out)
{
    *out = *base;
    uint64_t s = 0;
    memcpy(&s, base->b, 8);
    s ^= (uint64_t)(idx + 1) * 0x9e3779b97f4a7c15ULL;
    uint64_t x = emu_splitmix64(&s);
    for (int i = 0; i < 8; i++)
        out->b[8 + i] ^= (uint8_t)(x >> (8 * i));
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

static size_t synth_messages(const emu_task *t, synth_msg *m, size_t cap)
{
    size_t n = 0;
    m[n++] = (synth_msg){t->created_ms, 0, 1, t->title, 0};
    if (t->extra && (t->flags & TF_ASKED) && n < cap)
        m[n++] = (synth_msg){t->extra->ask_ms, 1, 0, NULL, 1};
    if (t->extra && (t->flags & TF_REVIEWED) && n < cap)
        m[n++] = (synth_msg){t->extra->review_ms, 2, 0, NULL, 2};
    if (t->extra)
        for (size_t i = 0; i < t->extra->n && n < cap; i++)
            m[n++] = (synth_msg){t->extra->msgs[i].t, 10 + (int)i, 1, t->extra->msgs[i].text, 0};
    if (t->status == ST_COMPLETED && n < cap)
        m[n++] = (synth_msg){t->updated_ms, 3, 0, NULL, 3};
    else if (t->status == ST_FAILED && n < cap)
        m[n++] = (synth_msg){t->updated_ms, 4, 0, NULL, 4};
    /* stable insertion sort by time */
    for (size_t i = 1; i < n; i++) {
        synth_msg x = m[i];
        size_t j = i;
        while (j > 0 && m[j - 1].t > x.t) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = x;
    }
    return n;
}

static void put_summary_text(sbuf *b, const emu_task *t)
{
    sbuf s;
    sb_init(&s);
    sb_printf(&s, "Completed: %s", t->title);
    sb_json_strn(b, s.p ? s.p : "", s.len);
    sb_free(&s);
}

static void put_msg_content(nna_emu *e, sbuf *b, const emu_task *t, const synth_msg *m)
{
    switch (m->kind) {
    case 1: {
        sbuf s;
        sb_init(&s);
        sb_printf(&s, "I need more information to continue: which document should I use? "
                      "(answer with POST /api/v1/tasks/{task_id}/message; marker %s)",
                  e->st.set.input_marker);
        sb_json_strn(b, s.p ? s.p : "", s.len);
        sb_free(&s);
        break;
    }
    case 2: sb_json_str(b, "A sensitive step needs human review before I can continue."); break;
    case 3: put_summary_text(b, t); break;
    case 4: sb_json_str(b, "Task failed: simulated failure (the query contained FAIL)."); break;
    default: sb_json_str(b, m->text ? m->text : ""); break;
    }
}

static void put_extracted(sbuf *b, const emu_task *t)
{
    sb_printf(b, "{\"source\":\"%s\",\"document_count\":%u,\"fields\":{\"title\":",
              (t->flags & TF_OUTCFG) ? "output_config" : "agent_keys", t->nfiles);
    sb_json_str(b, t->title);
    sb_puts(b, "},\"line_items\":[]}");
}

static void put_result(sbuf *b, const emu_task *t)
{
    sb_puts(b, "{\"summary\":");
    put_summary_text(b, t);
    sb_puts(b, ",\"completed_at\":");
    put_time(b, t->updated_ms);
    if ((t->flags & TF_OUTCFG) || t->nfiles) {
        sb_puts(b, ",\"extracted_data\":");
        put_extracted(b, t);
    }
    sb_putc(b, '}');
}

void emu_api_task_get(nna_emu *e, emu_req *r, int route, const emu_uuid *tid)
{
    uint32_t slot;
    emu_task *t = lookup_task(e, r, tid, &slot, 0);
    if (!t)
        return;
    sbuf b;
    sb_init(&b);
    if (route == R_TASKS_GET) {
        emu_task_json(e, &b, t, 0);
        emu_out_json(r, 200, &b);
        return;
    }
    synth_msg m[64];
    size_t n = synth_messages(t, m, sizeof m / sizeof m[0]);
    emu_agent *a = &e->st.agents[t->agent];
    if (route == R_TASKS_MESSAGES) {
        sb_puts(&b, "{\"data\":[");
        emu_uuid prev;
        for (size_t i = 0; i < n; i++) {
            emu_uuid id;
            derive_id(&t->id, m[i].idx, &id);
            sb_puts(&b, i ? ",{\"id\":" : "{\"id\":");
            put_uuid(&b, &id);
            sb_puts(&b, ",\"task_id\":");
            put_uuid(&b, &t->id);
            sb_puts(&b, ",\"agent_id\":");
            put_uuid(&b, &a->id);
            sb_puts(&b, ",\"content\":");
            put_msg_content(e, &b, t, &m[i]);
            sb_puts(&b, ",\"created_at\":");
            put_time(&b, m[i].t);
            sb_puts(&b, ",\"user_id\":");
            if (m[i].user)
                put_uuid(&b, &e->st.ws[t->ws].user_id);
            else
                sb_puts(&b, "null");
            sb_puts(&b, ",\"parent_id\":");
            if (i)
                put_uuid(&b, &prev);
            else
                sb_puts(&b, "null");
            sb_putc(&b, '}');
            prev = id;
        }
        sb_puts(&b, "]}");
        emu_out_json(r, 200, &b);
        return;
    }
    sb_putc(&b, '{');
    task_fields(e, &b, t);
    if (route == R_TASKS_SUMMARY) {
        if (t->status == ST_COMPLETED) {
            sb_puts(&b, ",\"result\":");
            put_result(&b, t);
        } else if (t->status == ST_FAILED) {
            sb_puts(&b, ",\"result\":\"Task failed: simulated failure (the query contained FAIL).\"");
        }
    } else { /* R_TASKS_RESULT */
        sb_puts(&b, ",\"feed\":[");
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            emu_uuid id;
            derive_id(&t->id, m[i].idx + 1000, &id);
            if (m[i].kind == 1 || m[i].kind == 2) {
                emu_uuid tc;
                derive_id(&t->id, m[i].idx + 2000, &tc);
                sb_puts(&b, first ? "{\"id\":" : ",{\"id\":");
                put_uuid(&b, &tc);
                sb_printf(&b, ",\"type\":\"tool_call\",\"content\":{\"tool\":\"%s\"},\"created_at\":",
                          m[i].kind == 1 ? "ask_user" : "request_review");
                put_time(&b, m[i].t);
                sb_putc(&b, '}');
                first = 0;
            }
            sb_puts(&b, first ? "{\"id\":" : ",{\"id\":");
            put_uuid(&b, &id);
            sb_printf(&b, ",\"type\":\"%s\",\"content\":", m[i].user ? "user_message" : "assistant_message");
            put_msg_content(e, &b, t, &m[i]);
            sb_puts(&b, ",\"created_at\":");
            put_time(&b, m[i].t);
            sb_putc(&b, '}');
            first = 0;
            if (m[i].kind == 3) {
                emu_uuid tc;
                derive_id(&t->id, 3000, &tc);
                sb_puts(&b, ",{\"id\":");
                put_uuid(&b, &tc);
                sb_puts(&b, ",\"type\":\"task_complete\",\"content\":");
                put_summary_text(&b, t);
                sb_puts(&b, ",\"created_at\":");
                put_time(&b, m[i].t);
                sb_puts(&b, ",\"result\":");
                put_result(&b, t);
                sb_putc(&b, '}');
            }
        }
        sb_putc(&b, ']');
    }
    sb_putc(&b, '}');
    emu_out_json(r, 200, &b);
}

/* -------------------------------------------------------- message/cancel */
void emu_api_task_message(nna_emu *e, emu_req *r, const emu_uuid *tid)
{
    if (r->body_too_large) {
        emu_out_error(r, 400, "Request body too large");
        return;
    }
    cJSON *doc = r->body.len ? cJSON_ParseWithLength(r->body.p, r->body.len) : NULL;
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        emu_out_error(r, 400, r->body.len ? "Request body must be a JSON object" : "Missing required field: message");
        return;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
    if (!cJSON_IsString(m) || !m->valuestring[0]) {
        cJSON_Delete(doc);
        emu_out_error(r, 400, "Missing required field: message");
        return;
    }
    uint32_t slot;
    emu_task *t = lookup_task(e, r, tid, &slot, 0);
    if (!t) {
        cJSON_Delete(doc);
        return;
    }
    int rc = emu_task_post_message(e, slot, m->valuestring, strlen(m->valuestring), emu_now_ms());
    cJSON_Delete(doc);
    if (rc == -1) {
        char msg[96];
        snprintf(msg, sizeof msg, "Task is %s and no longer accepts messages", emu_status_names[t->status]);
        emu_out_error(r, 409, msg);
        return;
    }
    if (rc != 0) {
        emu_out_error(r, 500, "Out of memory");
        return;
    }
    emu_uuid mid;
    derive_id(&t->id, 10 + (int)t->extra->n - 1, &mid);
    sbuf b;
    sb_init(&b);
    sb_puts(&b, "{\"message_id\":");
    put_uuid(&b, &mid);
    sb_puts(&b, ",\"task_id\":");
    put_uuid(&b, &t->id);
    sb_printf(&b, ",\"status\":\"%s\",\"message\":\"Message accepted and queued for the agent\"}",
              emu_status_names[t->status]);
    emu_out_json(r, e->st.set.varied_success_codes ? 202 : 200, &b);
}

void emu_api_task_cancel(nna_emu *e, emu_req *r, const emu_uuid *tid)
{
    uint32_t slot;
    emu_task *t = lookup_task(e, r, tid, &slot, 1);
    if (!t)
        return;
    emu_task_cancel(e, slot, emu_now_ms());
    sbuf b;
    sb_init(&b);
    emu_task_json(e, &b, t, 0);
    emu_out_json(r, 200, &b);
}
