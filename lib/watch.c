/* The bulk watch: many tasks' statuses from list pages instead of one poll per task.
 *
 * Each round walks GET /tasks?agent_id=A&created_after=T&limit=100 once per agent with
 * watched tasks (T = the earliest created_at among them minus 1 s, so clock rounding never
 * hides one) and reads every watched task's status from the list. A walk stops early once
 * it has seen every task it was looking for. A task that was watched when the round began
 * and is missing from the walk, or is listed without a status (the spec does not promise
 * one in list items), is read with GET /tasks/{id}. Completed tasks get GET /summary once.
 * Rounds are spaced like a wait's polls (1 s ×1.5 up to 10 s, jittered) and stop while
 * nothing is watched.
 *
 * The watch calls no user code itself (futures' callbacks are deferred by the futures), so
 * nothing here can be re-entered by the caller. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "api_internal.h"
#include "client_internal.h"
#include "timefmt.h"
#include "uuid.h"

typedef struct wagent wagent;

typedef enum tphase { T_IDLE, T_GET, T_SUMMARY } tphase;

typedef struct wtask {
    char            id[37];
    wagent         *agent;
    double          created_at;   /* Unix seconds, or NAN */
    double          deadline;     /* loop time, or INFINITY */
    unsigned        added_round;  /* the round counter when it was added */
    unsigned        seen_round;   /* the last round whose walk listed it */
    tphase          phase;
    nna_future     *f;            /* the caller's future (library reference) */
    nna_future     *req;          /* GET /tasks/{id} or /summary in flight */
    nna_wait_state  st;
    nna_watch      *w;
    struct wtask   *hnext;        /* hash chain */
    struct wtask   *prev, *next;  /* the watch's list */
} wtask;

struct wagent {
    char       id[37];
    nna_watch *w;
    nna_pager *pager;             /* this round's walk, or NULL */
    size_t     unseen;            /* tasks the walk still looks for */
    wagent    *next;
};

struct nna_watch {
    nna_composite     base;       /* first: the composite list hands it back */
    nna_client       *c;          /* NULL once the client has shut down */
    nna_watch_options o;
    nna_backoff_sched sched;
    nna_timer         timer;      /* the next round */
    unsigned          round;      /* rounds started */
    unsigned          walking;    /* walks of the current round still running */
    wtask           **buckets;
    size_t            nbuckets;
    wtask            *tasks;      /* unsettled tasks */
    size_t            pending;
    wagent           *agents;
    nna_future       *settled;    /* nna_watch_settled(), until it settles */
};

void nna_watch_options_init(nna_watch_options *o)
{
    o->interval = 1;
    o->multiplier = 1.5;
    o->max_interval = 10;
    o->jitter = 0.1;
    o->deadline = 600;
    o->fetch_summary = 1;
}

/* ---- the task table ----------------------------------------------------------------- */

static size_t hash_id(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)(*s | 0x20)) * 1099511628211ULL;
    return (size_t)(h & (n - 1));
}

static wtask *find(const nna_watch *w, const char *id)
{
    if (!w->nbuckets) return NULL;
    for (wtask *t = w->buckets[hash_id(id, w->nbuckets)]; t; t = t->hnext)
        if (strcasecmp(t->id, id) == 0) return t;
    return NULL;
}

static int grow(nna_watch *w)
{
    if (w->pending < w->nbuckets) return 0;
    size_t n = w->nbuckets ? w->nbuckets * 2 : 64;
    wtask **b = calloc(n, sizeof *b);
    if (!b) return -1;
    for (wtask *t = w->tasks; t; t = t->next) {
        size_t i = hash_id(t->id, n);
        t->hnext = b[i];
        b[i] = t;
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
    return 0;
}

static void link_task(nna_watch *w, wtask *t)
{
    t->prev = NULL;
    t->next = w->tasks;
    if (w->tasks) w->tasks->prev = t;
    w->tasks = t;
    size_t i = hash_id(t->id, w->nbuckets);
    t->hnext = w->buckets[i];
    w->buckets[i] = t;
    w->pending++;
    nna_composite_busy(w->c, &w->base, 1);
}

/* Settles the "all settled" future, if one is waiting. */
static void settle_settled(nna_watch *w, nna_status st)
{
    nna_future *f = w->settled;
    w->settled = NULL;
    if (f) nna_future_settle(f, st, NULL, NULL, NULL, st == NNA_OK ? NULL : nna_strerror(st));
}

static void on_settled_cancel(void *ctx) { settle_settled(ctx, NNA_ECANCELLED); }

static void unlink_task(nna_watch *w, wtask *t)
{
    if (t->prev) t->prev->next = t->next; else w->tasks = t->next;
    if (t->next) t->next->prev = t->prev;
    for (wtask **p = &w->buckets[hash_id(t->id, w->nbuckets)]; *p; p = &(*p)->hnext) {
        if (*p == t) { *p = t->hnext; break; }
    }
    /* Idle, the watch must not keep the host loop running. */
    if (--w->pending == 0) {
        nna_composite_busy(w->c, &w->base, 0);
        settle_settled(w, NNA_OK);
    }
}

static wagent *agent_for(nna_watch *w, const char *id)
{
    for (wagent *a = w->agents; a; a = a->next)
        if (strcasecmp(a->id, id) == 0) return a;
    wagent *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    snprintf(a->id, sizeof a->id, "%s", id);
    a->w = w;
    a->next = w->agents;
    w->agents = a;
    return a;
}

/* ---- settling one task -------------------------------------------------------------- */

static void drop_req(wtask *t)
{
    nna_future *r = t->req;
    t->req = NULL;
    if (r) nna_future_cancel(r); /* on_task_reply sees it is no longer ours */
}

/* Settles the task's future, forgets the task and frees it. */
static void settle_task(wtask *t, nna_status st, const char *error)
{
    nna_watch *w = t->w;
    drop_req(t);
    unlink_task(w, t);
    if (t->agent->unseen > 0 && t->agent->pager && t->seen_round != w->round &&
        t->added_round < w->round)
        t->agent->unseen--;
    /* A result only with the task's own outcome, as for a wait. */
    if (t->st.task_json && nna_wait_outcome(t->st.res.task.status) == st)
        nna_wait_state_settle(&t->st, t->f, st, error);
    else nna_future_fail(t->f, st, error);
    nna_wait_state_clear(&t->st);
    free(t);
}

static void on_task_cancel(void *ctx) { settle_task(ctx, NNA_ECANCELLED, NULL); }

static void on_task_reply(nna_future *f, void *arg);

static void start_req(wtask *t, tphase ph, nna_future *f)
{
    t->phase = ph;
    if (!f) { settle_task(t, NNA_ENOMEM, NULL); return; }
    t->req = f;
    if (f->settled || nna_future_observe(f, on_task_reply, t) != 0) {
        if (!f->settled) nna_future_cancel(f);
        on_task_reply(f, t);
    }
}

/* A new state of the task arrived (json owned): settle it or keep watching. */
static void update(wtask *t, cJSON *json)
{
    nna_wait_state_task(&t->st, json);
    t->st.res.polls++;
    nna_task_status s = t->st.res.task.status;
    if (s == NNA_TASK_COMPLETED && t->w->o.fetch_summary) {
        start_req(t, T_SUMMARY, nna_tasks_summary(t->w->c, t->id));
        return;
    }
    nna_status out = nna_wait_outcome(s);
    if (out != NNA_EBUSY) settle_task(t, out, NULL);
}

static void on_task_reply(nna_future *f, void *arg)
{
    wtask *t = arg;
    if (t->req != f) { nna_future_unref(f); return; }
    t->req = NULL;
    tphase ph = t->phase;
    t->phase = T_IDLE;
    if (f->status != NNA_OK) {
        settle_task(t, f->status, f->error);
    } else if (ph == T_SUMMARY) {
        t->st.summary_json = f->json;
        f->json = NULL;
        nna_summary_from_json(t->st.summary_json, &t->st.res.summary);
        t->st.res.has_summary = 1;
        settle_task(t, NNA_OK, NULL);
    } else {
        cJSON *json = f->json;
        f->json = NULL;
        update(t, json);
    }
    nna_future_unref(f);
}

static void fallback(wtask *t)
{
    start_req(t, T_GET, nna_tasks_get(t->w->c, t->id));
}

/* ---- rounds ------------------------------------------------------------------------- */

static void schedule(nna_watch *w);

/* Watched when this round began and not busy with a request of its own. */
static int eligible(const nna_watch *w, const wtask *t)
{
    return t->added_round < w->round && t->phase == T_IDLE;
}

static void round_over(nna_watch *w)
{
    if (w->walking > 0) return;
    schedule(w);
}

/* The agent's walk ended: read what it did not list one by one. */
static void walk_ended(nna_watch *w, wagent *a)
{
    a->pager = NULL;
    a->unseen = 0;
    wtask *t = w->tasks;
    while (t) {
        wtask *next = t->next; /* fallback may settle (and free) t */
        if (t->agent == a && eligible(w, t) && t->seen_round != w->round) fallback(t);
        t = next;
    }
    w->walking--;
    round_over(w);
}

static int on_list_page(void *ctx, const nna_page *page)
{
    wagent *a = ctx;
    nna_watch *w = a->w;
    const cJSON *arr = page->data, *item;
    nna_jref raw = nna_jref_member(nna_jref_root(page->json), "data");
    size_t pos = 0;
    cJSON_ArrayForEach(item, arr) {
        nna_jref own = nna_jref_next(raw, &pos); /* a copy keeps the item's bytes */
        const char *id = nna_json_str(item, "task_id");
        wtask *t = id ? find(w, id) : NULL;
        if (!t || t->agent != a || !eligible(w, t) || t->seen_round == w->round) continue;
        t->seen_round = w->round;
        if (a->unseen > 0) a->unseen--;
        if (!nna_json_str(item, "status")) { fallback(t); continue; }
        cJSON *copy = nna_json_doc_copy(item, own.text, own.sp);
        if (copy) update(t, copy);
        else fallback(t);
    }
    if (a->unseen > 0) return 0;
    walk_ended(w, a); /* everything it looked for was listed: stop early */
    return 1;
}

static void on_abort(nna_composite *x);

static void on_list_done(void *ctx, nna_status st, const char *error)
{
    (void)error;
    wagent *a = ctx;
    nna_watch *w = a->w;
    a->pager = NULL;
    if (st == NNA_ESHUTDOWN) { /* a draining shutdown refuses new requests: end here */
        on_abort(&w->base);
        return;
    }
    if (st == NNA_OK || st == NNA_ECURSOR_LOOP || st == NNA_EPROTOCOL) {
        walk_ended(w, a);
        return;
    }
    /* The list itself is failing (after its retries): try again next round rather than
     * turning one failure into a poll per task. */
    a->pager = NULL;
    a->unseen = 0;
    w->walking--;
    round_over(w);
}

static void start_walk(nna_watch *w, wagent *a, double earliest)
{
    char after[NNA_ISO8601_LEN + 1];
    if (nna_iso8601_format(floor(earliest - 1), after) != 0) {
        a->unseen = 0;
        return; /* unseen tasks are read one by one */
    }
    nna_pager_spec ps = {
        .path = "/tasks",
        .filters = (const char *[]){ "agent_id", a->id, "created_after", after, NULL },
        .limit = 100, .klass = NNA_CLASS_POLL, .deferred = 0,
        .on_page = on_list_page, .on_done = on_list_done, .ctx = a,
    };
    w->walking++;
    a->pager = nna_pager_start(w->c, &ps);
    if (!a->pager) {
        w->walking--;
        a->unseen = 0;
    }
}

static void expire(nna_watch *w, double now)
{
    wtask *t = w->tasks;
    while (t) {
        wtask *next = t->next;
        if (now >= t->deadline)
            settle_task(t, NNA_EDEADLINE, "the task did not finish within the watch's deadline");
        t = next;
    }
}

static void start_round(nna_timer *tm, void *arg)
{
    (void)tm;
    nna_watch *w = arg;
    expire(w, nna_loop_now(&w->c->loop));
    w->round++;
    w->walking = 1; /* holds the round open while the walks start */
    for (wagent *a = w->agents; a; a = a->next) {
        double earliest = INFINITY;
        a->unseen = 0;
        for (wtask *t = w->tasks; t; t = t->next) {
            if (t->agent != a || !eligible(w, t) || isnan(t->created_at)) continue;
            a->unseen++;
            if (t->created_at < earliest) earliest = t->created_at;
        }
        if (a->unseen) start_walk(w, a, earliest);
    }
    /* Tasks no walk will list (unknown creation time, or the walk could not start). */
    wtask *t = w->tasks;
    while (t) {
        wtask *next = t->next;
        if (eligible(w, t) && !t->agent->pager && t->seen_round != w->round) fallback(t);
        t = next;
    }
    w->walking--;
    round_over(w);
}

static void schedule(nna_watch *w)
{
    if (!w->c || nna_timer_active(&w->timer) || w->walking > 0) return;
    if (w->pending == 0) {
        nna_sched_reset(&w->sched); /* idle: the next add starts from the short interval */
        return;
    }
    nna_timer_start(&w->c->loop, &w->timer, nna_sched_next(&w->sched, w->c));
}

/* ---- public ------------------------------------------------------------------------- */

static void stop_all(nna_watch *w, nna_status st)
{
    if (!w->c) return;
    settle_settled(w, st);
    for (wagent *a = w->agents; a; a = a->next) {
        nna_pager *p = a->pager;
        a->pager = NULL;
        nna_pager_cancel(p);
    }
    while (w->tasks) settle_task(w->tasks, st, NULL);
    nna_timer_stop(&w->c->loop, &w->timer);
    nna_composite_untrack(w->c, &w->base);
}

static void on_abort(nna_composite *x)
{
    nna_watch *w = (nna_watch *)x;
    stop_all(w, NNA_ESHUTDOWN);
    w->c = NULL; /* the client is going: nna_watch_free only releases memory */
}

nna_status nna_watch_new(nna_client *c, const nna_watch_options *o, nna_watch **out)
{
    if (!out) return NNA_EINVAL;
    *out = NULL;
    if (!c) return NNA_EINVAL;
    nna_watch_options def;
    if (!o) {
        nna_watch_options_init(&def);
        o = &def;
    }
    if (!(o->interval > 0) || !(o->multiplier >= 1) || !(o->max_interval >= o->interval) ||
        !(o->jitter >= 0 && o->jitter < 1) || !(o->deadline >= 0))
        return NNA_EINVAL;
    nna_watch *w = calloc(1, sizeof *w);
    if (!w) return NNA_ENOMEM;
    w->c = c;
    w->o = *o;
    w->sched = (nna_backoff_sched){ o->interval, o->multiplier, o->max_interval, o->jitter, 0 };
    nna_sched_reset(&w->sched);
    w->base.abort = on_abort;
    nna_timer_init(&w->timer, start_round, w);
    nna_composite_track(c, &w->base); /* so shutdown can end it, even idle */
    *out = w;
    return NNA_OK;
}

nna_future *nna_watch_add(nna_watch *w, const char *task_id, const char *agent_id,
                          double created_at)
{
    if (!w || !w->c) return NULL;
    if (!nna_uuid_valid(task_id)) return nna_client_failed(w->c, NNA_EINVAL, "task_id is not a UUID");
    if (!nna_uuid_valid(agent_id)) return nna_client_failed(w->c, NNA_EINVAL, "agent_id is not a UUID");
    if (find(w, task_id)) return nna_client_failed(w->c, NNA_EBUSY, "the task is already watched");
    wtask *t = calloc(1, sizeof *t);
    wagent *a = t ? agent_for(w, agent_id) : NULL;
    nna_future *f = a && grow(w) == 0 ? nna_future_new(w->c) : NULL;
    if (!f) { free(t); return NULL; }
    snprintf(t->id, sizeof t->id, "%s", task_id);
    t->w = w;
    t->agent = a;
    t->f = f;
    t->created_at = created_at;
    t->added_round = w->round;
    t->seen_round = (unsigned)-1;
    t->deadline = w->o.deadline > 0 ? nna_loop_now_fresh(&w->c->loop) + w->o.deadline : INFINITY;
    link_task(w, t);
    nna_future_set_cancel(f, on_task_cancel, t);
    schedule(w);
    return f;
}

nna_future *nna_watch_add_task(nna_watch *w, const nna_task *t)
{
    if (!w || !w->c) return NULL;
    if (!t) return nna_client_failed(w->c, NNA_EINVAL, "no task");
    return nna_watch_add(w, t->task_id, t->agent_id, t->created_at);
}

nna_future *nna_watch_settled(nna_watch *w)
{
    if (!w || !w->c) return NULL;
    if (w->settled) return nna_future_ref(w->settled);
    nna_future *f = nna_future_new(w->c);
    if (!f) return NULL;
    if (w->pending == 0) {
        nna_future_settle(f, NNA_OK, NULL, NULL, NULL, NULL);
        return f;
    }
    w->settled = f;
    nna_future_set_cancel(f, on_settled_cancel, w);
    return f;
}

size_t nna_watch_pending(const nna_watch *w)
{
    return w ? w->pending : 0;
}

void nna_watch_free(nna_watch *w)
{
    if (!w) return;
    stop_all(w, NNA_ECANCELLED);
    while (w->agents) {
        wagent *a = w->agents;
        w->agents = a->next;
        free(a);
    }
    free(w->buckets);
    free(w);
}
