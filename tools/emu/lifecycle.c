/* nna-emu: time-driven task lifecycle, evaluated lazily on access.
 *
 * Unlimited agents: each task's state is a pure function of its own
 * timestamps (t_next = time of the next transition), so evaluation is O(1).
 * Agents with a concurrency limit keep an "active" list (<= limit tasks) and a
 * FIFO of queued tasks; advancing such an agent replays transitions in time
 * order, starting a queued task at the instant a slot frees up. */
#include "emu_internal.h"

#include <stdlib.h>
#include <string.h>

int emu_agent_limit(const emu_state *st, const emu_agent *a)
{
    return a->concurrency >= 0 ? a->concurrency : st->set.concurrency;
}

static void timings(const emu_settings *s, int64_t *pend, int64_t *run)
{
    *pend = (int64_t)s->task_ms / 6;
    *run = (int64_t)s->task_ms - *pend;
}

static int64_t seg_ms(const emu_state *st, const emu_task *t)
{
    int64_t pend, run;
    timings(&st->set, &pend, &run);
    if ((t->kind == TK_ASK && !(t->flags & TF_ASKED)) ||
        (t->kind == TK_REVIEW && !(t->flags & TF_REVIEWED)))
        return run / 2;
    if (t->flags & TF_RESUMED)
        return run - run / 2;
    return run;
}

static emu_task_extra *extra_of(emu_task *t)
{
    if (!t->extra)
        t->extra = calloc(1, sizeof *t->extra);
    return t->extra;
}

/* ------------------------------------------------------ admission lists */
static int active_add(emu_agent *a, uint32_t slot)
{
    if (a->nactive == a->cap_active) {
        size_t nc = a->cap_active ? a->cap_active * 2 : 8;
        uint32_t *n = realloc(a->active, nc * sizeof *n);
        if (!n)
            return -1;
        a->active = n;
        a->cap_active = nc;
    }
    a->active[a->nactive++] = slot;
    return 0;
}

static int active_remove(emu_agent *a, uint32_t slot)
{
    for (size_t i = 0; i < a->nactive; i++)
        if (a->active[i] == slot) {
            a->active[i] = a->active[--a->nactive];
            return 1;
        }
    return 0;
}

static int queue_push(emu_agent *a, uint32_t slot)
{
    if (a->qlen == a->qcap) {
        size_t nc = a->qcap ? a->qcap * 2 : 16;
        uint32_t *n = malloc(nc * sizeof *n);
        if (!n)
            return -1;
        for (size_t i = 0; i < a->qlen; i++)
            n[i] = a->queue[(a->qhead + i) % a->qcap];
        free(a->queue);
        a->queue = n;
        a->qcap = nc;
        a->qhead = 0;
    }
    a->queue[(a->qhead + a->qlen) % a->qcap] = slot;
    a->qlen++;
    return 0;
}

static uint32_t queue_pop(emu_agent *a)
{
    uint32_t s = a->queue[a->qhead];
    a->qhead = (a->qhead + 1) % a->qcap;
    a->qlen--;
    return s;
}

static int queue_remove(emu_agent *a, uint32_t slot)
{
    for (size_t i = 0; i < a->qlen; i++) {
        if (a->queue[(a->qhead + i) % a->qcap] != slot)
            continue;
        for (size_t k = i; k + 1 < a->qlen; k++)
            a->queue[(a->qhead + k) % a->qcap] = a->queue[(a->qhead + k + 1) % a->qcap];
        a->qlen--;
        return 1;
    }
    return 0;
}

static void start_running(emu_state *st, emu_task *t, int64_t at)
{
    t->status = ST_RUNNING;
    t->updated_ms = at;
    t->t_next = at + seg_ms(st, t);
}

/* Start queued tasks while slots are free. */
static void start_queued(emu_state *st, emu_agent *a, int64_t at)
{
    int limit = emu_agent_limit(st, a);
    while (a->qlen && (limit <= 0 || a->nactive < (size_t)limit)) {
        uint32_t s = queue_pop(a);
        emu_task *q = emu_task_at(st, s);
        start_running(st, q, at > q->created_ms ? at : q->created_ms);
        if (active_add(a, s) != 0)
            q->flags &= (uint8_t)~TF_MANAGED;
    }
}

void emu_task_unlink_admission(emu_state *st, uint32_t slot)
{
    emu_task *t = emu_task_at(st, slot);
    if (!(t->flags & TF_MANAGED))
        return;
    emu_agent *a = &st->agents[t->agent];
    if (!active_remove(a, slot))
        queue_remove(a, slot);
    t->flags &= (uint8_t)~TF_MANAGED;
}

/* ------------------------------------------------------------ stepping */
static void on_terminal(emu_state *st, uint32_t slot, int64_t at)
{
    emu_task *t = emu_task_at(st, slot);
    if (!(t->flags & TF_MANAGED))
        return;
    emu_agent *a = &st->agents[t->agent];
    active_remove(a, slot);
    t->flags &= (uint8_t)~TF_MANAGED;
    start_queued(st, a, at);
}

static void step(emu_state *st, uint32_t slot)
{
    emu_task *t = emu_task_at(st, slot);
    int64_t at = t->t_next;
    switch (t->status) {
    case ST_PENDING:
        start_running(st, t, at);
        return;
    case ST_RUNNING:
        t->updated_ms = at;
        if (t->kind == TK_ASK && !(t->flags & TF_ASKED)) {
            t->status = ST_WAITING;
            t->flags |= TF_ASKED;
            t->t_next = EMU_T_INF;
            if (extra_of(t))
                t->extra->ask_ms = at;
        } else if (t->kind == TK_REVIEW && !(t->flags & TF_REVIEWED)) {
            t->status = ST_REVIEW;
            t->flags |= TF_REVIEWED;
            t->t_next = EMU_T_INF;
            if (extra_of(t))
                t->extra->review_ms = at;
        } else {
            t->status = t->kind == TK_FAIL ? ST_FAILED : ST_COMPLETED;
            t->t_next = EMU_T_INF;
            on_terminal(st, slot, at);
        }
        return;
    default:
        t->t_next = EMU_T_INF;
        return;
    }
}

void emu_agent_advance(nna_emu *e, uint32_t ai, int64_t now)
{
    emu_state *st = &e->st;
    emu_agent *a = &st->agents[ai];
    for (;;) {
        size_t best = SIZE_MAX;
        int64_t bt = EMU_T_INF;
        for (size_t i = 0; i < a->nactive; i++) {
            int64_t tn = emu_task_at(st, a->active[i])->t_next;
            if (tn < bt) {
                bt = tn;
                best = i;
            }
        }
        if (best == SIZE_MAX || bt > now)
            break;
        step(st, a->active[best]);
    }
    if (a->qlen) {
        size_t before = a->nactive;
        start_queued(st, a, now); /* the limit may have been raised */
        if (a->nactive != before)
            emu_agent_advance(e, ai, now);
    }
}

void emu_task_advance(nna_emu *e, uint32_t slot, int64_t now)
{
    emu_state *st = &e->st;
    emu_task *t = emu_task_at(st, slot);
    if (t->flags & TF_MANAGED) {
        emu_agent_advance(e, t->agent, now);
        return;
    }
    while (t->t_next <= now)
        step(st, slot);
}

void emu_ws_advance_agents(nna_emu *e, int ws, int64_t now)
{
    for (size_t i = 0; i < e->st.nagents; i++) {
        emu_agent *a = &e->st.agents[i];
        if (a->ws == ws && (a->nactive || a->qlen))
            emu_agent_advance(e, (uint32_t)i, now);
    }
}

void emu_task_start_lifecycle(nna_emu *e, uint32_t slot, const char *query, int64_t now)
{
    emu_state *st = &e->st;
    emu_task *t = emu_task_at(st, slot);
    const char *marker = st->set.input_marker;
    t->kind = TK_NORMAL;
    if (query) {
        if (marker[0] && strstr(query, marker))
            t->kind = TK_ASK;
        else if (strstr(query, "REVIEW"))
            t->kind = TK_REVIEW;
        else if (strstr(query, "FAIL"))
            t->kind = TK_FAIL;
    }
    emu_agent *a = &st->agents[t->agent];
    int limit = emu_agent_limit(st, a);
    int64_t pend, run;
    timings(&st->set, &pend, &run);
    t->status = ST_PENDING;
    t->t_next = t->created_ms + pend;
    if (limit > 0 || a->qlen) {
        emu_agent_advance(e, t->agent, now);
        if (limit > 0 && a->nactive >= (size_t)limit) {
            if (queue_push(a, slot) == 0) {
                t->status = ST_QUEUED;
                t->t_next = EMU_T_INF;
                t->flags |= TF_MANAGED;
            }
        } else if (active_add(a, slot) == 0) {
            t->flags |= TF_MANAGED;
        }
    }
    emu_task_advance(e, slot, now);
}

/* ------------------------------------------------------------- actions */
int emu_task_cancel(nna_emu *e, uint32_t slot, int64_t now)
{
    emu_state *st = &e->st;
    emu_task_advance(e, slot, now);
    emu_task *t = emu_task_at(st, slot);
    if (emu_status_terminal(t->status))
        return 0;
    int managed = t->flags & TF_MANAGED;
    emu_task_unlink_admission(st, slot);
    t->status = ST_STOPPED;
    t->updated_ms = now;
    t->t_next = EMU_T_INF;
    if (managed)
        start_queued(st, &st->agents[t->agent], now);
    return 1;
}

int emu_task_post_message(nna_emu *e, uint32_t slot, const char *text, size_t len, int64_t now)
{
    emu_state *st = &e->st;
    emu_task_advance(e, slot, now);
    emu_task *t = emu_task_at(st, slot);
    if (emu_status_terminal(t->status))
        return -1;
    emu_task_extra *x = extra_of(t);
    if (!x)
        return -2;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 4;
        emu_msg *nm = realloc(x->msgs, nc * sizeof *nm);
        if (!nm)
            return -2;
        x->msgs = nm;
        x->cap = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -2;
    memcpy(copy, text, len);
    copy[len] = '\0';
    x->msgs[x->n].t = now;
    x->msgs[x->n].text = copy;
    x->n++;
    t->updated_ms = now;
    if (t->status == ST_WAITING) {
        t->flags |= TF_RESUMED;
        start_running(st, t, now);
    }
    return 0;
}

int emu_task_release(nna_emu *e, uint32_t slot, int64_t now)
{
    emu_state *st = &e->st;
    emu_task_advance(e, slot, now);
    emu_task *t = emu_task_at(st, slot);
    if (t->status != ST_REVIEW)
        return -1;
    t->flags |= TF_RESUMED;
    start_running(st, t, now);
    return 0;
}
