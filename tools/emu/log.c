/* nna-emu: bounded in-memory request log, counters and the JSON-lines log file. */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>

void emu_log_record(nna_emu *e, int ws, const char *method, const char *path,
                    const char *query, int status, int route, double latency_ms)
{
    emu_state *st = &e->st;
    double t = (double)emu_now_ms() / 1000.0;
    st->requests++;
    if (status > 0 && status < 600)
        st->by_status[status]++;
    else
        st->dropped++;
    if (route >= 0 && route < R__COUNT)
        st->by_route[route]++;
    if (ws >= 0 && (size_t)ws < st->nws)
        st->ws[ws].n_requests++;

    if (!st->log) {
        st->log = calloc(EMU_LOG_CAP, sizeof *st->log);
        if (!st->log)
            return;
    }
    size_t pl = strlen(path), ql = query ? strlen(query) : 0;
    emu_log_ent *le;
    if (st->log_len < EMU_LOG_CAP) {
        le = &st->log[(st->log_head + st->log_len) % EMU_LOG_CAP];
        st->log_len++;
    } else {
        le = &st->log[st->log_head];
        st->log_head = (st->log_head + 1) % EMU_LOG_CAP;
        free(le->pq);
    }
    le->t = t;
    le->latency_ms = (float)latency_ms;
    le->ws = (int16_t)ws;
    le->status = (uint16_t)(status < 0 ? 0 : status);
    le->route = (uint8_t)(route >= 0 && route < R__COUNT ? route : 255);
    static const char *const known[] = {"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"};
    le->method = "OTHER";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(method, known[i]))
            le->method = known[i];
    le->pq = malloc(pl + ql + 2);
    if (le->pq) {
        memcpy(le->pq, path, pl + 1);
        if (query)
            memcpy(le->pq + pl + 1, query, ql);
        le->pq[pl + 1 + ql] = '\0';
    }

    if (e->logf) {
        sbuf b;
        sb_init(&b);
        sb_printf(&b, "{\"t\":%.3f,\"workspace\":", t);
        if (ws >= 0)
            sb_json_str(&b, st->ws[ws].name);
        else
            sb_puts(&b, "null");
        sb_puts(&b, ",\"method\":");
        sb_json_str(&b, method);
        sb_puts(&b, ",\"path\":");
        sb_json_str(&b, path);
        sb_puts(&b, ",\"query\":");
        sb_json_str(&b, query ? query : "");
        sb_printf(&b, ",\"status\":%d,\"latency_ms\":%.3f", status, latency_ms);
        if (route >= 0 && route < R__COUNT)
            sb_printf(&b, ",\"route\":\"%s\"", emu_route_names[route]);
        sb_puts(&b, "}\n");
        if (b.p)
            fwrite(b.p, 1, b.len, e->logf);
        sb_free(&b);
        e->logf_dirty = 1;
    }
}

void emu_logf_flush(nna_emu *e, int force)
{
    if (!e->logf || !e->logf_dirty)
        return;
    int64_t now = emu_now_ms();
    if (!force && now - e->logf_last_flush < 200)
        return;
    fflush(e->logf);
    e->logf_dirty = 0;
    e->logf_last_flush = now;
}

void emu_log_clear(emu_state *st)
{
    if (st->log) {
        for (size_t i = 0; i < st->log_len; i++)
            free(st->log[(st->log_head + i) % EMU_LOG_CAP].pq);
        free(st->log);
    }
    st->log = NULL;
    st->log_head = st->log_len = 0;
}

void emu_log_json(nna_emu *e, sbuf *b, size_t limit)
{
    emu_state *st = &e->st;
    size_t n = st->log_len, start = 0;
    if (limit && limit < n)
        start = n - limit;
    sb_reserve(b, (n - start) * 160 + 32);
    sb_puts(b, "{\"data\":[");
    for (size_t i = start; i < n; i++) {
        const emu_log_ent *le = &st->log[(st->log_head + i) % EMU_LOG_CAP];
        if (i > start)
            sb_putc(b, ',');
        sb_printf(b, "{\"t\":%.3f,\"workspace\":", le->t);
        if (le->ws >= 0 && (size_t)le->ws < st->nws)
            sb_json_str(b, st->ws[le->ws].name);
        else
            sb_puts(b, "null");
        sb_puts(b, ",\"method\":");
        sb_json_str(b, le->method);
        const char *p = le->pq ? le->pq : "";
        sb_puts(b, ",\"path\":");
        sb_json_str(b, p);
        sb_puts(b, ",\"query\":");
        sb_json_str(b, le->pq ? p + strlen(p) + 1 : "");
        sb_printf(b, ",\"status\":%u,\"latency_ms\":%.3f,\"route\":", le->status, (double)le->latency_ms);
        if (le->route < R__COUNT)
            sb_printf(b, "\"%s\"", emu_route_names[le->route]);
        else
            sb_puts(b, "null");
        sb_putc(b, '}');
    }
    sb_printf(b, "],\"count\":%zu}", n - start);
}

void emu_counters_json(nna_emu *e, sbuf *b)
{
    emu_state *st = &e->st;
    sb_printf(b, "{\"requests\":%llu,\"by_status\":{", (unsigned long long)st->requests);
    int first = 1;
    for (int s = 100; s < 600; s++) {
        if (!st->by_status[s])
            continue;
        sb_printf(b, "%s\"%d\":%llu", first ? "" : ",", s, (unsigned long long)st->by_status[s]);
        first = 0;
    }
    sb_puts(b, "},\"by_route\":{");
    first = 1;
    for (int r = 0; r < R__COUNT; r++) {
        if (!st->by_route[r])
            continue;
        sb_printf(b, "%s\"%s\":%llu", first ? "" : ",", emu_route_names[r],
                  (unsigned long long)st->by_route[r]);
        first = 0;
    }
    sb_printf(b, "},\"connections\":%llu", emu_server_connections(e));
    sb_printf(b, ",\"tasks_created\":%llu,\"tasks_stored\":%zu,\"tasks_evicted\":%llu,"
                 "\"dropped\":%llu,\"bytes_per_task\":%zu,\"per_workspace\":{",
              (unsigned long long)st->tasks_created, st->ntasks,
              (unsigned long long)st->evicted, (unsigned long long)st->dropped,
              sizeof(emu_task) + sizeof(emu_order_ent) + 2 * sizeof(uint32_t));
    for (size_t i = 0; i < st->nws; i++) {
        if (i)
            sb_putc(b, ',');
        sb_json_str(b, st->ws[i].name);
        sb_printf(b, ":{\"requests\":%llu,\"tasks_created\":%llu,\"rate_limited\":%llu}",
                  (unsigned long long)st->ws[i].n_requests,
                  (unsigned long long)st->ws[i].n_tasks_created,
                  (unsigned long long)st->ws[i].n_rate_limited);
    }
    sb_puts(b, "}}");
}
