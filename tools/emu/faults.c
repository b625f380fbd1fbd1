/* nna-emu: scripted canned responses (FIFO per route). Probabilistic faults
 * and latency are rolled in router.c from the seeded PRNG in emu_state. */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Pending scripted responses are bounded: a runaway test or client cannot grow the
 * emulator without limit (POST /_emu/script answers 400 beyond these). */
#define EMU_MAX_SCRIPTS      100000
#define EMU_MAX_SCRIPT_BYTES ((size_t)64 << 20)
#define EMU_MAX_HEADER_PAD   12000 /* fits MHD's per-connection memory (16 KiB) */

void emu_script_free(emu_script *s)
{
    if (!s)
        return;
    free(s->body);
    free(s->ctype);
    emu_stream_spec_free(s->stream);
    for (size_t i = 0; i < s->nh; i++) {
        free(s->hnames[i]);
        free(s->hvalues[i]);
    }
    free(s->hnames);
    free(s->hvalues);
    free(s);
}

void emu_scripts_clear(emu_state *st)
{
    for (int r = 0; r <= R__COUNT; r++) {
        emu_script *s = st->sc_head[r];
        while (s) {
            emu_script *n = s->next;
            emu_script_free(s);
            s = n;
        }
        st->sc_head[r] = st->sc_tail[r] = NULL;
    }
    st->sc_count = st->sc_bytes = 0;
}

emu_script *emu_script_pop(emu_state *st, int route)
{
    for (int pass = 0; pass < 2; pass++) {
        int r = pass == 0 ? route : R_ANY;
        emu_script *s = st->sc_head[r];
        if (!s)
            continue;
        st->sc_head[r] = s->next;
        if (!st->sc_head[r])
            st->sc_tail[r] = NULL;
        s->next = NULL;
        st->sc_count--;
        st->sc_bytes -= s->body_len;
        return s;
    }
    return NULL;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static emu_script *parse_one(const cJSON *o, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "each response must be an object");
        return NULL;
    }
    emu_script *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const cJSON *v;
    s->pass = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "pass"));
    s->commit = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "commit"));
    s->drop = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "drop"));
    v = cJSON_GetObjectItemCaseSensitive(o, "delay_ms");
    if (v) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 600000) {
            snprintf(err, errlen, "delay_ms must be a number 0..600000");
            goto fail;
        }
        s->delay_ms = (unsigned)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (v) {
        if (!cJSON_IsNumber(v) || v->valueint < 100 || v->valueint > 599) {
            snprintf(err, errlen, "status must be an integer 100..599");
            goto fail;
        }
        s->status = v->valueint;
    }
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(o, "json");
    v = cJSON_GetObjectItemCaseSensitive(o, "body");
    if (json) {
        s->body = cJSON_PrintUnformatted(json);
        s->ctype = dupstr("application/json");
    } else if (v) {
        if (!cJSON_IsString(v)) {
            snprintf(err, errlen, "body must be a string (use \"json\" for JSON values)");
            goto fail;
        }
        s->body = dupstr(v->valuestring);
        const char *b = v->valuestring;
        while (*b == ' ' || *b == '\n')
            b++;
        s->ctype = dupstr((*b == '{' || *b == '[') ? "application/json" : "text/html; charset=utf-8");
    }
    if (s->body)
        s->body_len = strlen(s->body);
    v = cJSON_GetObjectItemCaseSensitive(o, "stream");
    if (v && !(s->stream = emu_stream_parse(v, err, errlen)))
        goto fail;
    v = cJSON_GetObjectItemCaseSensitive(o, "header_bytes");
    if (v) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > EMU_MAX_HEADER_PAD) {
            snprintf(err, errlen, "header_bytes must be a number 0..%d", EMU_MAX_HEADER_PAD);
            goto fail;
        }
        s->header_pad = (size_t)v->valuedouble;
    }
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "headers");
    if (h) {
        if (!cJSON_IsObject(h)) {
            snprintf(err, errlen, "headers must be an object");
            goto fail;
        }
        size_t n = (size_t)cJSON_GetArraySize(h);
        s->hnames = calloc(n ? n : 1, sizeof(char *));
        s->hvalues = calloc(n ? n : 1, sizeof(char *));
        if (!s->hnames || !s->hvalues)
            goto fail;
        const cJSON *it;
        cJSON_ArrayForEach(it, h) {
            char num[64];
            const char *val;
            if (cJSON_IsString(it))
                val = it->valuestring;
            else if (cJSON_IsNumber(it)) {
                snprintf(num, sizeof num, "%.15g", it->valuedouble);
                val = num;
            } else {
                snprintf(err, errlen, "header values must be strings or numbers");
                goto fail;
            }
            if (!it->string || strpbrk(it->string, "\r\n:") || strpbrk(val, "\r\n")) {
                snprintf(err, errlen, "invalid header");
                goto fail;
            }
            if (strcasecmp(it->string, "Content-Type") == 0) {
                free(s->ctype);
                s->ctype = dupstr(val);
                continue;
            }
            s->hnames[s->nh] = dupstr(it->string);
            s->hvalues[s->nh] = dupstr(val);
            s->nh++;
        }
    }
    if (!s->pass && !s->drop && !s->status) {
        snprintf(err, errlen, "a response needs \"status\", \"drop\": true or \"pass\": true");
        goto fail;
    }
    if (s->nh > EMU_MAX_HDR - 3) {
        snprintf(err, errlen, "too many headers");
        goto fail;
    }
    return s;
fail:
    emu_script_free(s);
    return NULL;
}

int emu_script_add(emu_state *st, const cJSON *req, char *err, size_t errlen)
{
    if (!cJSON_IsObject(req)) {
        snprintf(err, errlen, "body must be a JSON object");
        return -1;
    }
    const cJSON *rn = cJSON_GetObjectItemCaseSensitive(req, "route");
    int route = cJSON_IsString(rn) ? emu_route_from_name(rn->valuestring) : -1;
    if (route < 0) {
        snprintf(err, errlen, "unknown route (use run, tasks.list, ..., or *)");
        return -1;
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(req, "responses");
    if (!cJSON_IsArray(arr)) {
        snprintf(err, errlen, "responses must be an array");
        return -1;
    }
    emu_script *head = NULL, *tail = NULL;
    const cJSON *it;
    size_t count = 0, bytes = 0;
    cJSON_ArrayForEach(it, arr) {
        emu_script *s = parse_one(it, err, errlen);
        if (s && (st->sc_count + ++count > EMU_MAX_SCRIPTS ||
                  st->sc_bytes + (bytes += s->body_len) > EMU_MAX_SCRIPT_BYTES)) {
            snprintf(err, errlen, "too many scripted responses pending (at most %d, %zu MiB "
                     "of bodies)", EMU_MAX_SCRIPTS, EMU_MAX_SCRIPT_BYTES >> 20);
            emu_script_free(s);
            s = NULL;
        }
        if (!s) {
            while (head) {
                emu_script *n = head->next;
                emu_script_free(head);
                head = n;
            }
            return -1;
        }
        if (tail)
            tail->next = s;
        else
            head = s;
        tail = s;
    }
    if (head) {
        if (st->sc_tail[route])
            st->sc_tail[route]->next = head;
        else
            st->sc_head[route] = head;
        st->sc_tail[route] = tail;
        st->sc_count += count;
        st->sc_bytes += bytes;
    }
    return 0;
}
