#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    o->seed = 42;
}

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
    t->loop = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(t->loop);
    nna_client_options o;
    if (opts) o = *opts; else tctx_options(t, &o);
    if (!opts) o.base_url = t->base;
    ck_assert_int_eq(nna_client_new_ev(t->loop, &o, &t->client), NNA_OK);
}

static int closed;
static void on_closed(void *ud) { (void)ud; closed = 1; }

void tctx_stop(tctx *t)
{
    if (t->client) {
        closed = 0;
        nna_client_shutdown(t->client, NNA_SHUTDOWN_CANCEL, on_closed, NULL);
        /* After shutdown nothing of the library may keep the loop alive: ev_run returns. */
        ev_run(t->loop, 0);
        ck_assert_int_eq(closed, 1);
        t->client = NULL;
    }
    if (t->loop) ev_loop_destroy(t->loop);
    nna_emu_stop(t->emu);
    memset(t, 0, sizeof *t);
}

typedef struct deadline_w { ev_timer w; int fired; } deadline_w;
static void on_deadline(struct ev_loop *l, ev_timer *w, int re)
{
    (void)re;
    ((deadline_w *)w)->fired = 1;
    ev_break(l, EVBREAK_ONE);
}

static int run_until(struct ev_loop *loop, int (*done)(const void *), const void *arg, double s)
{
    deadline_w d = { .fired = 0 };
    ev_timer_init(&d.w, on_deadline, s, 0);
    ev_timer_start(loop, &d.w);
    while (!done(arg) && !d.fired) ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &d.w);
    return done(arg);
}

static int future_done(const void *f) { return nna_future_done(f); }
static int flag_set(const void *p) { return *(const int *)p != 0; }

int run_until_done(struct ev_loop *loop, nna_future *f, double seconds)
{
    int ok = run_until(loop, future_done, f, seconds);
    ev_run(loop, EVRUN_NOWAIT); /* let the deferred callback run */
    return ok;
}

int run_until_flag(struct ev_loop *loop, const int *flag, double seconds)
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
