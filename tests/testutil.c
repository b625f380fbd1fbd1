#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "testutil.h"

void tctx_options(const tctx *t, nna_client_options *o)
{
    nna_client_options_init(o);
    o->base_url = t->base;
    o->api_key = NNA_EMU_DEFAULT_KEY;
    static const double fast[] = { 0.01, 0.02, 0.05, 0.1, 0.3 };
    memcpy(o->backoff, fast, sizeof fast);
    o->backoff_len = 5;
    o->reconcile_settle = 0.05;
    o->request_timeout = 10;
    o->deadline = 30;
    o->run_deadline = 30;
    o->seed = 42;
}

double tclock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the loop: libev or libuv ------------------------------------------------------- */

static int future_done(const void *f) { return nna_future_done(f); }
static int flag_set(const void *p) { return *(const int *)p != 0; }

#ifdef NNA_TEST_UV

/* The loop carries its deadline timer (loop->data), so run_until never has to close a
 * handle that lives on its stack. */
typedef struct tuv {
    uv_loop_t  loop;
    uv_timer_t deadline;
    int        fired;
} tuv;

tloop *tloop_new(void)
{
    tuv *u = calloc(1, sizeof *u);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(uv_loop_init(&u->loop), 0);
    uv_timer_init(&u->loop, &u->deadline);
    u->loop.data = u;
    u->deadline.data = u;
    return &u->loop;
}

static void walk_count(uv_handle_t *h, void *arg)
{
    (void)h;
    (*(int *)arg)++;
}

void tloop_free(tloop *loop)
{
    if (!loop) return;
    tuv *u = loop->data;
    uv_close((uv_handle_t *)&u->deadline, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    int left = 0;
    uv_walk(loop, walk_count, &left);
    ck_assert_msg(left == 0, "%d libuv handle(s) left on the loop", left);
    ck_assert_int_eq(uv_loop_close(loop), 0);
    free(u);
}

nna_status tclient_new(tloop *loop, const nna_client_options *o, nna_client **out)
{
    return nna_client_new_uv(loop, o, out);
}

void tloop_run(tctx *t) { uv_run(t->loop, UV_RUN_DEFAULT); }
void tloop_run_nowait(tctx *t) { uv_run(t->loop, UV_RUN_NOWAIT); }

static void on_deadline(uv_timer_t *w)
{
    tuv *u = w->data;
    u->fired = 1;
    uv_stop(&u->loop);
}

static int run_until(tloop *loop, int (*done)(const void *), const void *arg, double s)
{
    tuv *u = loop->data;
    u->fired = 0;
    uv_update_time(loop);
    uv_timer_start(&u->deadline, on_deadline, (uint64_t)(s * 1000.0), 0);
    while (!done(arg) && !u->fired) uv_run(loop, UV_RUN_ONCE);
    uv_timer_stop(&u->deadline);
    return done(arg);
}

static void run_nowait(tloop *loop) { uv_run(loop, UV_RUN_NOWAIT); }

#else /* libev */

tloop *tloop_new(void)
{
    struct ev_loop *l = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(l);
    return l;
}

void tloop_free(tloop *loop)
{
    if (loop) ev_loop_destroy(loop);
}

nna_status tclient_new(tloop *loop, const nna_client_options *o, nna_client **out)
{
    return nna_client_new_ev(loop, o, out);
}

void tloop_run(tctx *t) { ev_run(t->loop, 0); }
void tloop_run_nowait(tctx *t) { ev_run(t->loop, EVRUN_NOWAIT); }

typedef struct deadline_w { ev_timer w; int fired; } deadline_w;
static void on_deadline(struct ev_loop *l, ev_timer *w, int re)
{
    (void)re;
    ((deadline_w *)w)->fired = 1;
    ev_break(l, EVBREAK_ONE);
}

static int run_until(tloop *loop, int (*done)(const void *), const void *arg, double s)
{
    deadline_w d = { .fired = 0 };
    ev_now_update(loop);
    ev_timer_init(&d.w, on_deadline, s, 0);
    ev_timer_start(loop, &d.w);
    while (!done(arg) && !d.fired) ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &d.w);
    return done(arg);
}

static void run_nowait(tloop *loop) { ev_run(loop, EVRUN_NOWAIT); }

#endif

/* ---- the test context --------------------------------------------------------------- */

void tctx_start(tctx *t, const char *config_json, const nna_client_options *opts)
{
    memset(t, 0, sizeof *t);
    nna_emu_options eo;
    nna_emu_options_init(&eo);
    eo.config_json = config_json;
    eo.quiet = 1;
    eo.seed = 7;
    ck_assert_int_eq(nna_emu_start(&eo, &t->emu), 0);
    snprintf(t->base, sizeof t->base, "http://127.0.0.1:%u", (unsigned)nna_emu_port(t->emu));
    t->loop = tloop_new();
    nna_client_options o;
    if (opts) o = *opts; else tctx_options(t, &o);
    if (!opts) o.base_url = t->base;
    ck_assert_int_eq(tclient_new(t->loop, &o, &t->client), NNA_OK);
}

static int closed;
static void on_closed(void *ud) { (void)ud; closed = 1; }

void tctx_stop(tctx *t)
{
    if (t->client) {
        closed = 0;
        nna_client_shutdown(t->client, NNA_SHUTDOWN_CANCEL, on_closed, NULL);
        /* After shutdown nothing of the library may keep the loop alive: the run returns. */
        tloop_run(t);
        ck_assert_int_eq(closed, 1);
        t->client = NULL;
    }
    tloop_free(t->loop);
    /* Requests the client sent just before it shut down may still be unread in the
     * emulator's sockets; with injected latency, the emulator would suspend them while it
     * stops, which libmicrohttpd refuses (MHD_stop_daemon panics). */
    if (t->emu) cJSON_Delete(emu_ctl(t, "POST", "/_emu/config",
                                     "{\"latency_ms\":0,\"latency_max_ms\":0}", NULL));
    nna_emu_stop(t->emu);
    memset(t, 0, sizeof *t);
}

int run_until_done(tloop *loop, nna_future *f, double seconds)
{
    int ok = run_until(loop, future_done, f, seconds);
    run_nowait(loop); /* let the deferred callback run */
    return ok;
}

int run_until_flag(tloop *loop, const int *flag, double seconds)
{
    return run_until(loop, flag_set, flag, seconds);
}

cJSON *emu_ctl(tctx *t, const char *method, const char *path, const char *body, int *status)
{
    char *resp = NULL;
    int st = nna_emu_control(t->emu, method, path, body, &resp);
    if (status) *status = st;
    cJSON *j = resp ? cJSON_Parse(resp) : NULL;
    free(resp);
    return j;
}

int emu_route_count(tctx *t, const char *route)
{
    cJSON *c = emu_ctl(t, "GET", "/_emu/counters", NULL, NULL);
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(c, "by_route");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(by, route);
    int v = cJSON_IsNumber(n) ? n->valueint : 0;
    cJSON_Delete(c);
    return v;
}

int emu_task_count(tctx *t, const char *agent_id)
{
    char path[128];
    snprintf(path, sizeof path, "/_emu/tasks?agent_id=%s", agent_id);
    cJSON *c = emu_ctl(t, "GET", path, NULL, NULL);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "data");
    int n = cJSON_IsArray(d) ? cJSON_GetArraySize(d) : -1;
    cJSON_Delete(c);
    return n;
}
