/* The request pipeline: one operation from submission to settlement.
 *
 *   submit → queued (limiter) → in flight → classify ─┬─ 2xx: parse, settle
 *                                                     ├─ 4xx: settle with the HTTP error
 *                                                     ├─ 429/5xx/network: back-off timer,
 *                                                     │   then queued again (front)
 *                                                     ├─ unsafe POST in doubt: settle
 *                                                     │   NNA_EOUTCOME_UNKNOWN
 *                                                     └─ run creation in doubt: reconcile
 *                                                         (then adopt, re-send or settle)
 *
 * The retry rules are the pure functions of retry.c; this file only applies them. One timer
 * per op serves as the deadline while queued or reconciling and as the back-off while
 * waiting (a back-off never reaches past the deadline: retry.c refuses such a retry).
 * Time spent queued counts toward the deadline; the per-attempt timeout is the smaller of
 * request_timeout and what is left of the deadline. Cancellation works in every state and
 * sends nothing more: a queued op leaves its queue, a waiting one stops its timer, one in
 * flight aborts its transfer and frees its slot, one reconciling leaves the check (which
 * stops when nobody is left for it). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
#include <time.h>
#include <ctype.h>
#include "op.h"
#include "limiter.h"
#include "reconcile.h"
#include "timefmt.h"
#include "errtext.h"
#include "jsondoc.h"

static void on_timer(nna_timer *t, void *arg);
static void on_cancel(void *ctx);

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- building ----------------------------------------------------------------------- */

/* Copies the parts and their strings into one allocation. */
static nna_form_part *copy_parts(const nna_form_part *p, size_t n)
{
    size_t size = n * sizeof *p;
    for (size_t i = 0; i < n; i++) {
        size += strlen(p[i].name) + 1;
        if (p[i].value) size += strlen(p[i].value) + 1;
        if (p[i].path) size += strlen(p[i].path) + 1;
        if (p[i].content_type) size += strlen(p[i].content_type) + 1;
    }
    nna_form_part *out = malloc(size);
    if (!out) return NULL;
    char *s = (char *)(out + n);
#define DUP_(field) do { if (p[i].field) { size_t l = strlen(p[i].field) + 1; \
        memcpy(s, p[i].field, l); out[i].field = s; s += l; } else out[i].field = NULL; } while (0)
    for (size_t i = 0; i < n; i++) {
        DUP_(name); DUP_(value); DUP_(path); DUP_(content_type);
    }
#undef DUP_
    return out;
}

static void op_free(nna_op *op)
{
    free(op->final_error);
    free(op->parts);
    free(op); /* url, body and match_query live in the same allocation */
}

static void link_op(nna_client *c, nna_op *op)
{
    op->prev = NULL;
    op->next = c->ops;
    if (c->ops) c->ops->prev = op;
    c->ops = op;
    c->nops++;
}

static void unlink_op(nna_client *c, nna_op *op)
{
    if (op->prev) op->prev->next = op->next; else c->ops = op->next;
    if (op->next) op->next->prev = op->prev;
    c->nops--;
}

nna_future *nna_op_submit(nna_client *c, const nna_op_spec *spec)
{
    if (c->shutting) return nna_client_failed(c, NNA_ESHUTDOWN, NULL);
    /* One allocation: the op, then its URL, body and (run creation) query text. */
    size_t lb = strlen(c->api_base), lp = strlen(spec->path);
    size_t lq = spec->query && *spec->query ? strlen(spec->query) + 1 : 0;
    size_t lbody = spec->body ? strlen(spec->body) : 0;
    size_t lm = spec->look && spec->match_query ? strlen(spec->match_query) + 1 : 0;
    size_t extra = lb + lp + lq + 1 + (spec->body ? lbody + 1 : 0) + lm;
    nna_op *op = calloc(1, sizeof *op + extra);
    nna_future *f = nna_future_new(c);
    if (!op || !f) goto oom;
    op->c = c;
    op->f = f;
    char *p = (char *)(op + 1);
    op->url = p;
    memcpy(p, c->api_base, lb); p += lb;
    memcpy(p, spec->path, lp); p += lp;
    if (lq) { *p++ = '?'; memcpy(p, spec->query, lq - 1); p += lq - 1; }
    *p++ = '\0';
    op->path = op->url + lb;
    if (spec->body) {
        op->body_len = lbody;
        op->body = p;
        memcpy(p, spec->body, lbody + 1);
        p += lbody + 1;
    }
    if (lm) {
        op->match_query = p;
        memcpy(p, spec->match_query, lm);
    }
    if (spec->nparts) {
        op->parts = copy_parts(spec->parts, spec->nparts);
        if (!op->parts) goto oom;
        op->nparts = spec->nparts;
    }
    size_t lmeth = strlen(spec->method);
    memcpy(op->method, spec->method, lmeth < sizeof op->method ? lmeth + 1 : sizeof op->method);
    op->method[sizeof op->method - 1] = '\0';
    op->kind = (unsigned char)spec->kind;
    op->klass = (unsigned char)spec->klass;
    op->parse = spec->parse;
    op->max_body = spec->max_body ? spec->max_body : nna_limits_body_cap(&c->limits, spec->parse);
    op->look = spec->look;
    if (spec->group) {
        size_t lg = strlen(spec->group);
        if (lg >= sizeof op->group) lg = sizeof op->group - 1;
        memcpy(op->group, spec->group, lg);
        op->group[lg] = '\0';
    }
    double dl = spec->deadline >= 0 ? spec->deadline
              : spec->kind == NNA_OP_RUN ? c->run_deadline : c->deadline;
    op->deadline = dl > 0 ? nna_loop_now_fresh(&c->loop) + dl : INFINITY;
    op->t0_wall = wall_now(); /* reset just before the first attempt */
    nna_timer_init(&op->timer, on_timer, op);
    link_op(c, op);
    nna_future_set_cancel(f, on_cancel, op);
    nna_loop_keepalive(&c->loop, 1);
    op->state = NNA_OPS_QUEUED;
    if (isfinite(op->deadline)) nna_timer_start_at(&c->loop, &op->timer, op->deadline);
    nna_ws_enqueue(c->ws, op, 0);
    return f;
oom:
    if (op) op_free(op);
    if (f) { free(f); }
    return NULL;
}

/* ---- settling ----------------------------------------------------------------------- */

void nna_op_finish(nna_op *op, nna_status st, cJSON *json, const char *error)
{
    nna_client *c = op->c;
    nna_future *f = op->f;
    nna_timer_stop(&c->loop, &op->timer);
    if (op->xfer) {
        nna_xfer_abort(c->tp, op->xfer);
        op->xfer = NULL;
    }
    if (op->state == NNA_OPS_RECONCILE) nna_reconcile_forget(op);
    /* A success claims its task before any check waiting for this reply may decide. */
    if (st == NNA_OK && op->look) nna_reconcile_claim(op, json);
    if (op->blocking) nna_reconcile_unblock(op);
    op->state = NNA_OPS_DONE;
    unlink_op(c, op);
    f->attempts = op->attempts;
    void *result = NULL;
    nna_free_fn free_result = NULL;
    if (st == NNA_OK && op->parse) {
        st = op->parse(json, &result, &free_result);
        if (st != NNA_OK) error = "response did not have the expected shape";
    } else if (st == NNA_OK) {
        result = json;
    }
    if (st != NNA_OK && st != NNA_ECANCELLED && st != NNA_ESHUTDOWN) nna_ws_count_failed(c->ws);
    op_free(op);
    nna_future_settle(f, st, json, result, free_result, error);
    nna_client_update_keepalive(c);
    nna_client_maybe_finish(c);
}

void nna_op_reject(nna_op *op, nna_status st, double retry_after)
{
    if (retry_after >= 0) op->f->retry_after = retry_after;
    nna_op_finish(op, st, NULL, st == NNA_ERATE_LIMITED
                  ? "rate limited: the workspace's 429 pause outlasts the deadline" : NULL);
}

static void on_cancel(void *ctx)
{
    nna_op *op = ctx;
    nna_client *c = op->c;
    nna_workspace *ws = c->ws;
    nna_ws_hold(ws);
    switch (op->state) {
    case NNA_OPS_QUEUED: nna_ws_remove(c->ws, op); break;
    case NNA_OPS_INFLIGHT:
        nna_xfer_abort(c->tp, op->xfer);
        op->xfer = NULL;
        op->state = NNA_OPS_NEW; /* out of flight: the slot is freed below */
        nna_ws_attempt_abandoned(c->ws, op, 0);
        break;
    default: break; /* back-off: the timer stops; reconciling: finish leaves the check */
    }
    nna_op_finish(op, op->f->cancelling ? NNA_ESHUTDOWN : NNA_ECANCELLED, NULL, NULL);
    nna_ws_release(ws);
}

void nna_ops_abort_all(nna_client *c)
{
    while (c->ops) {
        nna_op *op = c->ops;
        op->f->cancelling = 1; /* on_cancel settles with NNA_ESHUTDOWN */
        nna_future_cancel(op->f);
    }
}

/* ---- sending ------------------------------------------------------------------------ */

static void on_xfer_done(void *arg, const nna_http_response *r);

void nna_op_send(nna_op *op)
{
    nna_client *c = op->c;
    double now = nna_loop_now(&c->loop);
    double remaining = op->deadline - now;
    nna_timer_stop(&c->loop, &op->timer);
    op->state = NNA_OPS_INFLIGHT;
    if (remaining <= 0) {
        op->state = NNA_OPS_NEW;
        nna_ws_attempt_abandoned(c->ws, op, 1);
        nna_op_finish(op, NNA_EDEADLINE, NULL, NULL);
        return;
    }
    double timeout = c->request_timeout > 0 && c->request_timeout < remaining
                         ? c->request_timeout : remaining;
    nna_http_request req = {
        .method = op->method, .url = op->url, .body = op->body, .body_len = op->body_len,
        .parts = op->parts, .nparts = op->nparts, .no_rewind = op->kind != NNA_OP_IDEMPOTENT,
        .timeout = isfinite(timeout) ? timeout : 0, .max_body = op->max_body,
    };
    op->sent_wall = wall_now();
    if (op->attempts == 0) {
        op->t0_wall = op->sent_wall;
        op->window_start = nna_client_window_start(c, op->t0_wall);
    }
    op->xfer = nna_xfer_start(c->tp, &req, on_xfer_done, op);
    if (!op->xfer) {
        op->state = NNA_OPS_NEW;
        nna_ws_attempt_abandoned(c->ws, op, 1);
        nna_op_finish(op, op->nparts ? NNA_EIO : NNA_ENOMEM, NULL,
                      op->nparts ? "could not read a file to upload" : NULL);
        return;
    }
    op->attempts++;
    op->sent_at = now;
    nna_ws_emit(c->ws, NNA_WS_ATTEMPT, op->attempts, 0, op);
}

/* Parses the Date header once: it teaches the client the server's clock and is the
 * reference for a Retry-After given as an HTTP-date. */
static double parse_date(nna_op *op, const nna_http_response *r, double now)
{
    nna_client *c = op->c;
    double d;
    if (!r->date) return NAN;
    /* Replies within one second carry the same Date: parse it once. The first reply of a
     * second also gives the tightest clock bound, so later ones teach nothing new. */
    if (c->last_date_ok && strcmp(r->date, c->last_date) == 0) return c->last_date_value;
    if (nna_http_date_parse(r->date, &d) != 0) return NAN;
    snprintf(c->last_date, sizeof c->last_date, "%s", r->date);
    c->last_date_value = d;
    c->last_date_ok = strlen(r->date) < sizeof c->last_date;
    nna_client_clock_sample(c, d, op->sent_wall, now);
    return d;
}

static double parse_retry_after(const nna_http_response *r, double date, double now)
{
    double secs;
    if (!r->retry_after) return -1;
    return nna_retry_after_parse(r->retry_after, date, now, &secs) ? secs : -1;
}

static void trace(nna_op *op, const nna_http_response *r)
{
    nna_client *c = op->c;
    if (!c->trace) return;
    nna_trace t = { op->method, op->url, r->status, op->attempts, r->elapsed, r->error };
    c->trace(&t, c->trace_ud);
}

static nna_status status_for(nna_retry_class cls, long http, nna_status decided)
{
    if (cls == NNA_RC_FATAL) return nna_status_from_http(http);
    if (cls == NNA_RC_SERVER && decided == NNA_ESERVER) return NNA_ESERVER;
    return decided;
}

static void schedule_retry(nna_op *op, double delay)
{
    nna_client *c = op->c;
    nna_retry_class cls = (nna_retry_class)op->last_cls;
    op->state = NNA_OPS_BACKOFF;
    nna_ws_emit(c->ws, NNA_WS_RETRY_SCHEDULED, delay,
                cls == NNA_RC_NETWORK || cls == NNA_RC_UNSENT ? 0 : op->last_http, op);
    nna_timer_start(&c->loop, &op->timer, delay);
}

void nna_op_retry_later(nna_op *op, double delay)
{
    nna_client *c = op->c;
    if (op->last_cls == NNA_RC_SERVER || op->last_cls == NNA_RC_NETWORK) {
        /* Paid from the workspace's retry budget: beyond it the retry waits for its token,
         * but never so long that the budget alone makes the operation miss its deadline. */
        double w = nna_ws_retry_budget_wait(c->ws);
        if (w > delay) {
            double limit = (op->deadline - nna_loop_now(&c->loop)) * 0.9;
            delay = w < limit ? w : (delay > limit ? delay : limit);
        }
    }
    schedule_retry(op, delay);
}

/* After a failed attempt: retry, reconcile, or settle. */
static void after_failure(nna_op *op, const nna_http_response *r, nna_retry_class cls,
                          double ra, cJSON *json)
{
    nna_client *c = op->c;
    op->rs.server_attempts++; /* refused connections and 429s count too (max_attempts) */
    op->last_cls = (unsigned char)cls;
    op->last_http = r->status;
    int in_doubt = op->kind != NNA_OP_IDEMPOTENT && (cls == NNA_RC_SERVER || cls == NNA_RC_NETWORK);
    char *err = cls == NNA_RC_FATAL && r->status >= 300 && r->status < 400
                    ? nna_redirect_text(r->status, r->location, c->key)
                    : nna_error_text(r->status, json, r->body, r->body_len, r->error, c->key);
    if (in_doubt && (!op->look || !c->reconcile_runs)) {
        nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, json, err);
        free(err);
        return;
    }
    double remaining = op->deadline - nna_loop_now(&c->loop);
    nna_retry_decision d = nna_retry_decide(&c->policy, &op->rs, cls, ra, remaining,
                                            nna_rng_uniform(&c->rng));
    if (in_doubt) {
        /* Run creation whose outcome is unknown: look before anything else, even when no
         * retry is left (the task may exist; only the check can tell). */
        cJSON_Delete(json);
        op->resend = (unsigned char)d.retry;
        if (!d.retry) {
            op->final_status = status_for(cls, r->status, d.status);
            op->final_error = err;
        } else {
            free(err);
        }
        op->state = NNA_OPS_RECONCILE;
        if (isfinite(op->deadline)) nna_timer_start_at(&c->loop, &op->timer, op->deadline);
        nna_reconcile_start(op, d.delay);
        return;
    }
    if (!d.retry) {
        nna_op_finish(op, status_for(cls, r->status, d.status), json, err);
        free(err);
        return;
    }
    free(err);
    cJSON_Delete(json);
    if (cls == NNA_RC_RATE) op->rs.rate_retries++;
    if (cls == NNA_RC_UNSENT) op->rs.unsent_retries++;
    nna_op_retry_later(op, d.delay);
}

/* A local failure that every retry would repeat (see NNA_RC_PERMANENT). */
static void fail_permanent(nna_op *op, const nna_http_response *r)
{
    char buf[NNA_ERRTEXT_EXCERPT + 160];
    size_t ul = strlen(op->url);
    if (r->result == NNA_XFER_TLS) { /* the transport's text names the TLS failure */
        nna_op_finish(op, NNA_ETLS, NULL, r->error);
        return;
    }
    if (r->fail_status == NNA_EURL)
        snprintf(buf, sizeof buf, "cannot send to this URL (%s; %zu bytes): %.*s%s",
                 r->error ? r->error : "invalid", ul, NNA_ERRTEXT_EXCERPT, op->url,
                 ul > NNA_ERRTEXT_EXCERPT ? "..." : "");
    else
        snprintf(buf, sizeof buf, "the request cannot be made here: %s",
                 r->error ? r->error : "local failure");
    nna_op_finish(op, r->fail_status != NNA_OK ? r->fail_status : NNA_EINVAL, NULL, buf);
}

static void settle_or_retry(nna_op *op, const nna_http_response *r, nna_retry_class cls,
                            double ra)
{
    if (r->result == NNA_XFER_TOO_LARGE || r->result == NNA_XFER_LOCAL ||
        (r->result == NNA_XFER_BUDGET && op->kind == NNA_OP_IDEMPOTENT)) {
        nna_op_finish(op, r->result == NNA_XFER_LOCAL ? NNA_EIO : r->result == NNA_XFER_BUDGET
                      ? NNA_EBUDGET : NNA_ELIMIT, NULL, r->error);
        return;
    }
    /* Too deep for the library's limit: never handed to cJSON's recursive parser. */
    int deep = !nna_json_depth_ok(r->body, r->body_len, op->c->limits.max_json_depth);
    if (cls != NNA_RC_OK) {
        after_failure(op, r, cls, ra, r->body_len && !deep
                      ? cJSON_ParseWithLength(r->body, r->body_len) : NULL);
        return;
    }
    if (deep) {
        nna_op_finish(op, NNA_ELIMIT, NULL, "response JSON nested deeper than max_json_depth");
        return;
    }
    /* A 2xx body is checked strictly and keeps its text (jsondoc.h). */
    const char *bad = NULL;
    cJSON *json = nna_json_doc_parse(r->body, r->body_len, &bad);
    if (!json)
        nna_op_finish(op, NNA_EPROTOCOL, NULL, bad);
    else
        nna_op_finish(op, NNA_OK, json, NULL);
}

static void on_xfer_done(void *arg, const nna_http_response *r)
{
    nna_op *op = arg;
    nna_client *c = op->c;
    op->xfer = NULL;
    /* A check waiting for this reply decides only after the reply is recorded below. */
    nna_reconciler *blocked = op->blocking;
    op->blocking = NULL;
    trace(op, r);
    nna_retry_class cls;
    switch (r->result) {
    case NNA_XFER_HTTP: cls = nna_retry_classify(r->status, 1); break;
    case NNA_XFER_UNSENT: cls = NNA_RC_UNSENT; break;
    case NNA_XFER_SENT:
    case NNA_XFER_TIMEOUT: cls = NNA_RC_NETWORK; break;
    case NNA_XFER_PERMANENT:
    case NNA_XFER_TLS: cls = NNA_RC_PERMANENT; break; /* the same on every retry */
    case NNA_XFER_BUDGET: /* local pressure, not the server's health; but a request that
                             must not repeat was cut mid-reply: in doubt */
        cls = op->kind == NNA_OP_IDEMPOTENT ? NNA_RC_FATAL : NNA_RC_NETWORK;
        break;
    default: cls = NNA_RC_FATAL; break;
    }
    double ra = -1;
    if (r->result == NNA_XFER_HTTP) {
        double now = wall_now();
        ra = parse_retry_after(r, parse_date(op, r, now), now);
    }
    if (r->result == NNA_XFER_HTTP) op->f->http_status = r->status;
    if (ra >= 0) op->f->retry_after = ra;
    if (cls != NNA_RC_UNSENT && cls != NNA_RC_PERMANENT) op->sent_before = 1;
    op->state = NNA_OPS_NEW; /* between states until decided below */
    /* The slot is free and the limits adapted now, but nothing else is sent or settled
     * (no other op's callbacks) until this op is handled. */
    nna_workspace *ws = c->ws;
    nna_ws_hold(ws);
    if (cls == NNA_RC_PERMANENT) {
        /* Says nothing about the server: adapt nothing, fail at once, never retry. */
        nna_ws_attempt_abandoned(ws, op, 1);
        fail_permanent(op, r);
    } else {
        nna_ws_attempt_done(ws, op, r->status, cls, ra);
        settle_or_retry(op, r, cls, ra);
    }
    nna_reconcile_unblocked(blocked);
    nna_ws_release(ws);
}

/* The op's one timer: deadline while queued or reconciling, end of back-off. */
static void on_timer(nna_timer *t, void *arg)
{
    (void)t;
    nna_op *op = arg;
    nna_client *c = op->c;
    switch (op->state) {
    case NNA_OPS_QUEUED:
        nna_ws_remove(c->ws, op);
        nna_op_finish(op, NNA_EDEADLINE, NULL, NULL);
        break;
    case NNA_OPS_BACKOFF:
        op->state = NNA_OPS_QUEUED;
        if (isfinite(op->deadline)) nna_timer_start_at(&c->loop, &op->timer, op->deadline);
        nna_ws_enqueue(c->ws, op, 1);
        break;
    case NNA_OPS_RECONCILE:
        nna_op_finish(op, NNA_EOUTCOME_UNKNOWN, NULL,
                      "the deadline passed while checking whether the run was created: "
                      "outcome unknown");
        break;
    default:
        break;
    }
}
