/* The client: options, lifetime, the deferred-callback queue and shutdown. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
#include "client_internal.h"
#include "limiter.h"
#include "op.h"
#include "reconcile.h"
#include "jsonspan.h"
#include "reply_limits.h"
#include "url.h"

void nna_client_options_init(nna_client_options *o)
{
    memset(o, 0, sizeof *o);
    o->base_url = NNA_DEFAULT_BASE_URL;
    o->user_agent = "libnna/" NNA_VERSION;
    o->request_timeout = 30;
    o->connect_timeout = 10;
    o->deadline = 300;
    o->run_deadline = 1800;
    o->max_attempts = 5;
    o->max_rate_retries = 20;
    o->max_retry_after = 60;
    static const double sched[] = { 1, 2, 5, 10, 30 };
    memcpy(o->backoff, sched, sizeof sched);
    o->backoff_len = 5;
    o->reconcile_runs = 1;
    o->reconcile_skew = 120;
    o->reconcile_settle = 0.5;
    o->verify_tls = 1;
    o->max_inflight = 64;
    nna_limits_defaults(o);
}

/* ---- deferred callbacks ----------------------------------------------------------- */

static void run_deferred(nna_timer *t, void *arg)
{
    (void)t;
    nna_client *c = arg;
    /* Only what was queued before this turn runs now; callbacks queued by callbacks wait
     * for the next turn, so a chain of callbacks cannot starve the loop. */
    nna_future *batch = c->dq_head;
    c->dq_head = c->dq_tail = NULL;
    while (batch) nna_future_run_deferred(&batch);
    nna_client_update_keepalive(c);
    nna_client_maybe_finish(c);
}

/* The host loop must keep running while operations are pending or callbacks are due;
 * idle connections alone must not keep it alive. */
void nna_client_update_keepalive(nna_client *c)
{
    nna_loop_keepalive(&c->loop, c->nops > 0 || c->dq_head != NULL ||
                                 c->composites_busy > 0);
}

void nna_client_defer(nna_client *c, nna_future *f)
{
    f->queued = 1;
    f->next_deferred = NULL;
    if (c->dq_tail) c->dq_tail->next_deferred = f; else c->dq_head = f;
    c->dq_tail = f;
    if (!nna_timer_active(&c->dq_timer)) nna_timer_start(&c->loop, &c->dq_timer, 0);
    nna_loop_keepalive(&c->loop, 1);
}

nna_future *nna_client_failed(nna_client *c, nna_status st, const char *error)
{
    nna_future *f = nna_future_new(c);
    if (!f) return NULL;
    nna_future_fail(f, st, error);
    return f;
}

/* ---- creation --------------------------------------------------------------------- */

static nna_status check_options(const nna_client_options *o)
{
    if (!o || !o->api_key || !o->api_key[0]) return NNA_EINVAL;
    if (!nna_base_url_valid(o->base_url)) return NNA_EINVAL;
    for (const unsigned char *k = (const unsigned char *)o->api_key; *k; k++)
        if (*k < ' ' || *k == 0x7f) return NNA_EINVAL; /* would split or corrupt the header */
    /* The key in clear text over a network: only when the caller asked for it. */
    if (!o->allow_insecure_http && nna_base_url_cleartext_remote(o->base_url)) return NNA_EINVAL;
    if (o->backoff_len > 8 || o->max_attempts == 0) return NNA_EINVAL;
    return NNA_OK;
}

static void copy_policy(nna_client *c, const nna_client_options *o)
{
    nna_retry_policy_init(&c->policy);
    c->policy.max_attempts = o->max_attempts;
    c->policy.max_rate_retries = o->max_rate_retries;
    if (o->max_retry_after > 0) c->policy.max_retry_after = o->max_retry_after;
    if (o->backoff_len > 0) {
        memcpy(c->policy.schedule, o->backoff, o->backoff_len * sizeof(double));
        c->policy.schedule_len = o->backoff_len;
    }
}

static void release_backend_done(void *arg) { (void)arg; }
static void teardown(void *arg);

nna_status nna_client_new_custom(const nna_loop_ops *ops, void *backend,
                                 const nna_client_options *o, nna_client **out)
{
    if (!out || !ops) {
        if (ops && backend) ops->close(backend, release_backend_done, NULL);
        return NNA_EINVAL;
    }
    *out = NULL;
    nna_status st = check_options(o);
    nna_client *c = st == NNA_OK ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        ops->close(backend, release_backend_done, NULL);
        return st == NNA_OK ? NNA_ENOMEM : st;
    }
    nna_loop_init(&c->loop, ops, backend);
    ops->attach(backend, &c->loop);
    c->request_timeout = o->request_timeout;
    c->deadline = o->deadline;
    c->run_deadline = o->run_deadline < 0 ? o->deadline : o->run_deadline;
    c->reconcile_runs = o->reconcile_runs;
    c->reconcile_skew = o->reconcile_skew;
    c->reconcile_settle = o->reconcile_settle;
    c->trace = o->trace;
    c->trace_ud = o->trace_user_data;
    nna_limits_copy(c, o);
    copy_policy(c, o);
    nna_rng_seed(&c->rng, o->seed ? o->seed : nna_rng_os_seed());
    nna_timer_init(&c->dq_timer, run_deferred, c);
    c->api_base = nna_api_base(o->base_url);
    c->key = strdup(o->api_key);
    nna_transport_options to = {
        .api_key = o->api_key,
        .user_agent = o->user_agent ? o->user_agent : "libnna/" NNA_VERSION,
        .connect_timeout = o->connect_timeout > 0 ? o->connect_timeout : 10,
        .verify_tls = o->verify_tls,
        .max_connections = (long)(o->max_inflight > 0 ? o->max_inflight : 64) + 16,
        .ca_file = o->ca_file,
        .ca_path = o->ca_path,
        .pinned_pubkey = o->pinned_pubkey,
    };
    nna_limits_transport(o, &to);
    c->tp = c->api_base && c->key ? nna_transport_new(&c->loop, &to) : NULL;
    if (o->workspace) {
        c->ws = nna_workspace_ref(o->workspace);
    } else {
        nna_workspace_options wo;
        nna_workspace_options_init(&wo);
        if (o->max_inflight) wo.max_inflight = o->max_inflight;
        if (nna_workspace_new(&wo, &c->ws) != NNA_OK) c->ws = NULL;
    }
    if (!c->tp || !c->ws || nna_ws_attach(c->ws, c) != 0) {
        c->shutting = c->teardown_ready = 1; /* nothing is pending: release it all now */
        teardown(c);
        return NNA_ENOMEM;
    }
    *out = c;
    return NNA_OK;
}

/* ---- shutdown --------------------------------------------------------------------- */

static void after_close(void *arg)
{
    nna_client *c = arg;
    nna_shutdown_cb cb = c->shutdown_cb;
    void *ud = c->shutdown_ud;
    free(c);
    if (cb) cb(ud);
}

/* Everything is settled and every callback has run: release the library's resources. */
static void teardown(void *arg)
{
    nna_client *c = arg;
    while (c->composites) c->composites->abort(c->composites); /* idle ones (a watch) */
    nna_reconcile_free_all(c);
    nna_future_orphans_release(&c->orphans);
    if (c->ws) {
        nna_ws_detach(c->ws, c);
        nna_workspace_unref(c->ws);
        c->ws = NULL;
    }
    nna_transport_free(c->tp);
    c->tp = NULL;
    nna_timer_stop(&c->loop, &c->dq_timer);
    nna_loop_keepalive(&c->loop, 0);
    nna_loop_fini(&c->loop);
    c->loop.closing = 1;
    if (c->key) {
        memset(c->key, 0, strlen(c->key));
        free(c->key);
    }
    free(c->api_base);
    c->loop.ops->close(c->loop.backend, after_close, c);
}

void nna_client_maybe_finish(nna_client *c)
{
    if (!c->shutting || c->aborting || c->nops > 0 || c->dq_head || c->composites_busy ||
        c->teardown_ready) return;
    if (!c->private_loop && c->loop.depth == 0) {
        /* Called from outside the loop (a shutdown with nothing pending): the shutdown
         * callback must still come from the loop, so finish on its next turn (run_deferred
         * calls back here) and keep the loop running until then. */
        nna_timer_start(&c->loop, &c->dq_timer, 0);
        nna_loop_keepalive(&c->loop, 1);
        return;
    }
    c->teardown_ready = 1;
    /* A private loop is destroyed by nna_client_free, outside the loop; never from a
     * callback running inside it. */
    if (c->private_loop) return;
    nna_loop_release_when_idle(&c->loop, teardown, c);
}

void nna_client_shutdown(nna_client *c, nna_shutdown_mode mode, nna_shutdown_cb cb,
                         void *user_data)
{
    if (!c || c->shutting) return;
    c->shutting = 1;
    c->shutdown_mode = mode;
    c->shutdown_cb = cb;
    c->shutdown_ud = user_data;
    if (mode == NNA_SHUTDOWN_CANCEL) {
        c->aborting = 1; /* the client must outlive the loop over its ops */
        while (c->composites) c->composites->abort(c->composites);
        nna_ops_abort_all(c);
        c->aborting = 0;
    }
    nna_client_maybe_finish(c);
}

int nna_client_run_once(nna_client *c)
{
    return c->loop.ops->run_once(c->loop.backend);
}

void nna_client_free(nna_client *c)
{
    if (!c) return;
    if (!c->private_loop) {
        nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
        return;
    }
    if (c->loop.depth > 0) { /* documented misuse: cannot destroy a loop that is running */
        nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
        return;
    }
    /* Private loop: settle everything, run the remaining callbacks, then tear down here,
     * outside the loop, and destroy it. */
    /* Allow the call below even after an earlier nna_client_shutdown, keeping its cb. */
    nna_shutdown_cb cb = c->shutting ? c->shutdown_cb : NULL;
    void *ud = c->shutting ? c->shutdown_ud : NULL;
    c->shutting = 0;
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, cb, ud);
    while (!c->teardown_ready && nna_client_run_once(c) == 0) {}
    teardown(c);
}

nna_workspace *nna_client_workspace(const nna_client *c) { return c ? c->ws : NULL; }

/* A clock sample is a reply stamped T by the server (whole seconds: its clock read
 * [T, T+1)) that arrived between `sent` and `received` on ours: so T - received <= offset.
 * That lower bound is what is kept; samples from a request that took implausibly long (or
 * saw our clock step back) teach nothing and are dropped. */
#define CLOCK_MAX_RTT 10.0

static void clock_push(nna_clock_ref *r, double stamp, double sent, double received)
{
    if (!isfinite(stamp) || !isfinite(sent) || !isfinite(received) || received < sent ||
        received - sent > CLOCK_MAX_RTT) return;
    r->lo[r->next] = stamp - received;
    r->next = (r->next + 1) % NNA_CLOCK_SAMPLES;
    if (r->n < NNA_CLOCK_SAMPLES) r->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Honest lower bounds differ by the Date rounding plus the requests' times; a sample
 * further than this from the median is an outlier. */
#define CLOCK_AGREE 2.0

/* The tightest (largest) of the recent lower bounds that agree with their median (of an
 * even count, the lower middle one): as tight as the best sample, and one implausible
 * sample cannot move it. 0 when nothing is known. */
static int clock_estimate(const nna_clock_ref *r, double *offset)
{
    if (r->n == 0) return 0;
    double v[NNA_CLOCK_SAMPLES];
    memcpy(v, r->lo, r->n * sizeof *v);
    qsort(v, r->n, sizeof *v, cmp_double);
    double median = v[(r->n - 1) / 2], best = median;
    for (unsigned i = 0; i < r->n; i++)
        if (v[i] > best && v[i] - median <= CLOCK_AGREE) best = v[i];
    *offset = best;
    return 1;
}

void nna_client_clock_sample(nna_client *c, double date, double sent, double received)
{
    clock_push(&c->clock_date, date, sent, received);
}

void nna_client_clock_created(nna_client *c, double created_at, double sent, double received)
{
    clock_push(&c->clock_created, floor(created_at), sent, received);
}

/* A Date header may come from a proxy whose clock is off, and even created_at may come
 * from several application servers: an estimate only narrows the window within
 * [t0 - skew, t0 - margin], so a server "ahead" never pushes the window past our own
 * run's creation, and one "behind" never reaches back to tasks older than the skew. */
double nna_client_window_start(const nna_client *c, double t0)
{
    double skew = c->reconcile_skew > 0 ? c->reconcile_skew : 0;
    double margin = skew < NNA_WINDOW_MARGIN ? skew : NNA_WINDOW_MARGIN;
    double offset, w = t0 - skew;
    if (clock_estimate(&c->clock_created, &offset) || clock_estimate(&c->clock_date, &offset))
        w = t0 + offset - 1.0;
    if (w > t0 - margin) w = t0 - margin;
    if (w < t0 - skew) w = t0 - skew;
    return w;
}

void nna_client_set_private_loop(nna_client *c) { c->private_loop = 1; }

/* ---- generic request -------------------------------------------------------------- */

nna_future *nna_client_request(nna_client *c, const char *method, const char *path,
                               const char *query, const char *json_body, int idempotent)
{
    if (!c) return NULL;
    if (!method || !path || path[0] != '/' || strpbrk(path, " \r\n?#") ||
        (query && strpbrk(query, " \r\n#")))
        return nna_client_failed(c, NNA_EINVAL, "bad method, path or query");
    if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PATCH") &&
        strcmp(method, "DELETE") && strcmp(method, "PUT"))
        return nna_client_failed(c, NNA_EINVAL, "unsupported HTTP method");
    if (json_body && nna_json_validate(json_body, strlen(json_body), NULL, NULL, NULL) != 0)
        return nna_client_failed(c, NNA_EINVAL, "body is not valid JSON");
    nna_op_spec spec = {
        .method = method, .path = path, .query = query, .body = json_body,
        .kind = idempotent ? NNA_OP_IDEMPOTENT : NNA_OP_UNSAFE,
        .klass = NNA_CLASS_NORMAL, .deadline = -1,
    };
    return nna_op_submit(c, &spec);
}
