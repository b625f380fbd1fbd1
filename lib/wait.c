/* Waiting for one task (spec §4): poll GET /tasks/{id} — the cheap call, never /summary —
 * on a growing interval until the task ends, then GET /summary once for a completed task.
 *
 *   poll ─┬─ pending/queued/running/unknown ─► sleep (1 s ×1.5 … 10 s, ±10 %) ─► poll
 *         ├─ completed ─► summary ─► NNA_OK
 *         ├─ failed / stopped / awaiting_review ─► their statuses (a human must act on a
 *         │   review: it is reported, not spun on)
 *         └─ waiting_for_input ─► messages ─► ask the caller (from a timer, not from
 *             inside the pipeline) ─┬─ answer ─► POST message ─► poll from 1 s again
 *                                   ├─ cancel ─► POST cancel ─► poll until stopped
 *                                   └─ give up ─► NNA_EINPUT_NEEDED
 *
 * Every request is its own operation, so a 429 or 5xx is retried by that operation's
 * policy and does not end the wait; only a request that finally fails does. The wait is a
 * composite: shutdown ends it even while it sleeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"
#include "client_internal.h"
#include "uuid.h"

typedef enum phase { SLEEP, POLL, MESSAGES, ASK, ANSWER, CANCEL, SUMMARY } phase;

typedef struct waiter {
    nna_composite     base;       /* first: the composite list hands it back */
    nna_client       *c;
    nna_future       *f;          /* kept alive by the library's reference until settled */
    char              task_id[40];
    nna_wait_options  o;
    nna_backoff_sched sched;
    nna_timer         timer;      /* next poll, or the call of the input callback */
    nna_timer         deadline;
    phase             phase;
    nna_future       *req;        /* the request in flight, or NULL */
    nna_wait_state    st;
    cJSON            *messages;   /* the list the question comes from (ASK) */
    char             *asked_id;   /* id of the question last answered */
    int               stopping;   /* the caller chose cancel: poll on until stopped */
    int               in_cb;      /* the input or status callback is on the stack */
    int               reported;   /* 1 + the task status last given to on_status; 0 none */
    int               over;
} waiter;

void nna_wait_options_init(nna_wait_options *o)
{
    memset(o, 0, sizeof *o);
    o->interval = 1;
    o->multiplier = 1.5;
    o->max_interval = 10;
    o->jitter = 0.1;
    o->deadline = 600;
    o->fetch_summary = 1;
}

static void poll_now(waiter *w);

/* ---- the end ------------------------------------------------------------------------ */

static void waiter_free(waiter *w)
{
    nna_wait_state_clear(&w->st);
    cJSON_Delete(w->messages);
    free(w->asked_id);
    free(w);
}

/* Settles once, stops everything, and frees the waiter unless the input callback is on the
 * stack (then ask() frees it when the callback returns). */
static void finish(waiter *w, nna_status st, const char *error)
{
    if (w->over) return;
    w->over = 1;
    nna_timer_stop(&w->c->loop, &w->timer);
    nna_timer_stop(&w->c->loop, &w->deadline);
    nna_future *r = w->req;
    w->req = NULL;
    if (r) nna_future_cancel(r); /* on_reply sees it is no longer ours and releases it */
    /* A result only with the task's own outcome (future.h): a deadline, cancel or failed
     * request ends the wait without one. */
    if (w->st.task_json && nna_wait_outcome(w->st.res.task.status) == st)
        nna_wait_state_settle(&w->st, w->f, st, error);
    else nna_future_fail(w->f, st, error);
    nna_composite_untrack(w->c, &w->base);
    if (!w->in_cb) waiter_free(w);
}

static void on_cancel(void *ctx) { finish(ctx, NNA_ECANCELLED, NULL); }
static void on_abort(nna_composite *x) { finish((waiter *)x, NNA_ESHUTDOWN, NULL); }
static void on_deadline(nna_timer *t, void *arg)
{
    (void)t;
    finish(arg, NNA_EDEADLINE, "the task did not finish within the wait's deadline");
}

/* ---- requests ----------------------------------------------------------------------- */

static void on_reply(nna_future *f, void *arg);

/* Starts the phase's request; always the last thing its caller does. */
static void start_req(waiter *w, phase ph, nna_future *f)
{
    w->phase = ph;
    if (!f) { finish(w, NNA_ENOMEM, NULL); return; }
    w->req = f;
    if (f->settled || nna_future_observe(f, on_reply, w) != 0) {
        if (!f->settled) nna_future_cancel(f);
        on_reply(f, w); /* refused at once (shutdown): handled like any failure */
    }
}

static void poll_now(waiter *w)
{
    w->st.res.polls++;
    start_req(w, POLL, nna_tasks_get(w->c, w->task_id));
}

static void on_timer(nna_timer *t, void *arg);

static void sleep_then_poll(waiter *w)
{
    w->phase = SLEEP;
    nna_timer_start(&w->c->loop, &w->timer, nna_sched_next(&w->sched, w->c));
}

/* Takes the body of a reply that carries the task (poll, cancel). */
static void take_task(waiter *w, nna_future *f)
{
    nna_wait_state_task(&w->st, f->json);
    f->json = NULL; /* the typed result borrowed from it: drop it unread */
}

static void on_task(waiter *w)
{
    nna_task_status s = w->st.res.task.status;
    if (s == NNA_TASK_COMPLETED && w->o.fetch_summary) {
        start_req(w, SUMMARY, nna_tasks_summary(w->c, w->task_id));
        return;
    }
    if (s == NNA_TASK_WAITING_FOR_INPUT && w->o.on_input && !w->stopping) {
        start_req(w, MESSAGES, nna_tasks_messages(w->c, w->task_id));
        return;
    }
    nna_status out = nna_wait_outcome(s);
    if (s == NNA_TASK_WAITING_FOR_INPUT && w->stopping) out = NNA_EBUSY; /* cancel pending */
    if (out != NNA_EBUSY) { finish(w, out, NULL); return; }
    sleep_then_poll(w);
}

static void on_messages(waiter *w, nna_future *f)
{
    const nna_message_list *l = nna_future_result(f);
    const nna_message *q = nna_message_list_latest_agent(l);
    if (q && q->id && w->asked_id && strcmp(q->id, w->asked_id) == 0) {
        sleep_then_poll(w); /* our answer is on its way: do not ask the same thing again */
        return;
    }
    cJSON_Delete(w->messages);
    w->messages = f->json; /* kept for ask(), which re-reads the list from it */
    f->json = NULL;
    w->phase = ASK;
    nna_timer_start(&w->c->loop, &w->timer, 0); /* user code runs from the loop */
}

static void on_reply(nna_future *f, void *arg)
{
    waiter *w = arg;
    if (w->req != f) { nna_future_unref(f); return; } /* dropped by finish() */
    w->req = NULL;
    nna_status st = f->status;
    if (st != NNA_OK) {
        /* The request failed after its own retries: so does the wait, without a result
         * (future.h; e.g. a completed task whose summary could not be read). */
        finish(w, st, f->error);
        nna_future_unref(f);
        return;
    }
    switch (w->phase) {
    case POLL:
    case CANCEL:
        take_task(w, f);
        nna_future_unref(f);
        on_task(w);
        return;
    case SUMMARY:
        w->st.summary_json = f->json;
        f->json = NULL;
        nna_summary_from_json(w->st.summary_json, &w->st.res.summary);
        w->st.res.has_summary = 1;
        nna_future_unref(f);
        finish(w, NNA_OK, NULL);
        return;
    case MESSAGES:
        on_messages(w, f);
        nna_future_unref(f);
        return;
    case ANSWER:
        nna_future_unref(f);
        w->st.res.answers++;
        nna_sched_reset(&w->sched); /* the agent resumes: poll from the short interval */
        sleep_then_poll(w);
        return;
    default:
        nna_future_unref(f);
        return;
    }
}

/* ---- asking the caller -------------------------------------------------------------- */

static void ask(waiter *w)
{
    nna_message_list *l = NULL;
    nna_free_fn free_l = NULL;
    cJSON *msgs = w->messages;
    w->messages = NULL;
    if (nna_parse_message_list(msgs, (void **)&l, &free_l) != NNA_OK) {
        cJSON_Delete(msgs);
        finish(w, NNA_ENOMEM, NULL);
        return;
    }
    const nna_message *q = nna_message_list_latest_agent(l);
    const char *answer = NULL;
    w->in_cb = 1;
    nna_input_action act = w->o.on_input(&w->st.res.task, q, &answer, w->o.input_user_data);
    w->in_cb = 0;
    char *copy = act == NNA_INPUT_ANSWER && answer && answer[0] && !w->over ? strdup(answer) : NULL;
    char *qid = q && q->id ? strdup(q->id) : NULL;
    free_l(l);
    cJSON_Delete(msgs);
    if (w->over) { /* cancelled or shut down from inside the callback */
        free(copy);
        free(qid);
        waiter_free(w);
        return;
    }
    switch (act) {
    case NNA_INPUT_ANSWER:
        if (!copy) {
            free(qid);
            finish(w, answer && answer[0] ? NNA_ENOMEM : NNA_EINVAL,
                   "the input callback answered with an empty text");
            return;
        }
        free(w->asked_id);
        w->asked_id = qid;
        start_req(w, ANSWER, nna_tasks_send_message(w->c, w->task_id, copy));
        free(copy);
        return;
    case NNA_INPUT_CANCEL:
        free(qid);
        w->stopping = 1;
        nna_sched_reset(&w->sched);
        start_req(w, CANCEL, nna_tasks_cancel(w->c, w->task_id));
        return;
    default:
        free(qid);
        finish(w, NNA_EINPUT_NEEDED, NULL);
        return;
    }
}

/* Tells the caller of a status change seen by the last poll; 0, or -1 when the wait ended
 * (and was freed) inside the callback. */
static int report_status(waiter *w)
{
    int now = 1 + (int)w->st.res.task.status;
    if (!w->o.on_status || !w->st.task_json || now == w->reported) return 0;
    w->reported = now;
    w->in_cb = 1;
    w->o.on_status(&w->st.res.task, w->o.status_user_data);
    w->in_cb = 0;
    if (!w->over) return 0;
    waiter_free(w); /* cancelled or shut down from inside the callback */
    return -1;
}

static void on_timer(nna_timer *t, void *arg)
{
    (void)t;
    waiter *w = arg;
    if (w->phase == ASK) ask(w);
    else if (report_status(w) == 0) poll_now(w);
}

/* ---- start -------------------------------------------------------------------------- */

static const char *check(const char *task_id, const nna_wait_options *o)
{
    if (!nna_uuid_valid(task_id)) return "task_id is not a UUID";
    if (!(o->interval > 0) || !(o->multiplier >= 1) || !(o->max_interval >= o->interval) ||
        !(o->jitter >= 0 && o->jitter < 1) || !(o->deadline >= 0))
        return "bad wait options (interval > 0, multiplier >= 1, max_interval >= interval, "
               "0 <= jitter < 1, deadline >= 0)";
    return NULL;
}

nna_future *nna_tasks_wait(nna_client *c, const char *task_id, const nna_wait_options *o)
{
    if (!c) return NULL;
    nna_wait_options def;
    if (!o) {
        nna_wait_options_init(&def);
        o = &def;
    }
    const char *why = check(task_id, o);
    if (why) return nna_client_failed(c, NNA_EINVAL, why);
    waiter *w = calloc(1, sizeof *w);
    nna_future *f = w ? nna_future_new(c) : NULL;
    if (!f) { free(w); return NULL; }
    w->c = c;
    w->f = f;
    snprintf(w->task_id, sizeof w->task_id, "%s", task_id);
    w->o = *o;
    w->sched = (nna_backoff_sched){ o->interval, o->multiplier, o->max_interval, o->jitter, 0 };
    nna_sched_reset(&w->sched);
    w->base.abort = on_abort;
    nna_timer_init(&w->timer, on_timer, w);
    nna_timer_init(&w->deadline, on_deadline, w);
    if (o->deadline > 0) nna_timer_start(&c->loop, &w->deadline, o->deadline);
    nna_future_set_cancel(f, on_cancel, w);
    nna_composite_track(c, &w->base);
    nna_composite_busy(c, &w->base, 1);
    /* The first poll goes at once: the task may well be finished already. Its reply is
     * handled from the loop like every other, never inside this call. */
    poll_now(w);
    return f;
}
