/* The Redis limiter backend through the public API, on libev and (built with
 * -DNNA_TEST_UV) libuv: hiredis runs on the library's loop seam (limit_redis_loop.c).
 *  - creation: a bad URL is NNA_EINVAL, Redis down is NNA_ELIMITER_UNAVAILABLE;
 *  - two workspaces (two "processes" in one) on one Redis share one cap: with max_inflight
 *    4 each, at most 4 of their requests are in flight together at the emulator;
 *  - the 429 pause one of them meets pauses the other (a Redis key with PX expiry). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../testutil.h"
#include "redistest.h"

START_TEST(creation_errors)
{
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    nna_workspace *ws = NULL;
    wo.limiter_url = "redis://";
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_EINVAL);
    wo.limiter_url = "redis://127.0.0.1:99999";
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_EINVAL);
    wo.limiter_url = "redis://127.0.0.1:6379/0?name=bad name";
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_EINVAL);
    redis_proc r;
    redis_start(&r, 0);
    char url[128];
    snprintf(url, sizeof url, "%s/2?name=x-1", r.url);
    wo.limiter_url = url;
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_OK);
    nna_workspace_unref(ws);
    wo.limiter_password = "wrong";  /* this Redis has no password: AUTH fails */
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_ELIMITER_UNAVAILABLE);
    wo.limiter_password = NULL;
    redis_stop(&r, 1);
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_ELIMITER_UNAVAILABLE);
    ck_assert_ptr_null(ws);
    ck_assert_str_eq(nna_status_name(NNA_ELIMITER_UNAVAILABLE), "NNA_ELIMITER_UNAVAILABLE");
}
END_TEST

/* Two clients, each with its own Redis-backed workspace (as two processes would have). */
static void two_workspaces(tctx *t, const redis_proc *r, unsigned cap, nna_client *c[2],
                           nna_workspace *ws[2])
{
    for (int i = 0; i < 2; i++) {
        nna_workspace_options wo;
        nna_workspace_options_init(&wo);
        wo.max_inflight = cap;
        wo.limiter_url = r->url;
        ck_assert_int_eq(nna_workspace_new(&wo, &ws[i]), NNA_OK);
        nna_client_options o;
        tctx_options(t, &o);
        o.workspace = ws[i];
        ck_assert_int_eq(tclient_new(t->loop, &o, &c[i]), NNA_OK);
    }
}

/* Shuts the two clients down with t's own (tctx_stop runs the loop until all is gone). */
static void stop_all(tctx *t, nna_client *c[2], nna_workspace *ws[2])
{
    for (int i = 0; i < 2; i++) nna_client_shutdown(c[i], NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tctx_stop(t);
    for (int i = 0; i < 2; i++) nna_workspace_unref(ws[i]);
}

static int max_inflight_at_emu(tctx *t)
{
    cJSON *log = emu_ctl(t, "GET", "/_emu/log?limit=100000", NULL, NULL);
    cJSON *data = cJSON_GetObjectItem(log, "data"), *it;
    int n = cJSON_GetArraySize(data), k = 0, cur = 0, mx = 0;
    double *s = calloc((size_t)n + 1, sizeof *s), *e = calloc((size_t)n + 1, sizeof *e);
    cJSON_ArrayForEach(it, data) {
        double end = cJSON_GetObjectItem(it, "t")->valuedouble;
        s[k] = end - cJSON_GetObjectItem(it, "latency_ms")->valuedouble / 1000 + 0.0015;
        e[k++] = end;
    }
    for (int i = 0; i < k; i++) { /* n is small: count overlaps at each start */
        cur = 0;
        for (int j = 0; j < k; j++)
            if (s[j] <= s[i] && e[j] > s[i]) cur++;
        if (cur > mx) mx = cur;
    }
    free(s);
    free(e);
    cJSON_Delete(log);
    return mx;
}

START_TEST(two_workspaces_share_one_cap)
{
    redis_proc r;
    redis_start(&r, 0);
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\": 40}", NULL));
    nna_client *c[2];
    nna_workspace *ws[2];
    two_workspaces(&t, &r, 4, c, ws);
    enum { N = 60 };
    nna_future *f[N];
    for (int i = 0; i < N; i++) {
        nna_run_options ro;
        nna_run_options_init(&ro);
        char q[32];
        snprintf(q, sizeof q, "shared %d", i);
        ro.query = q;
        f[i] = nna_agents_run(c[i / (N / 2)], NNA_EMU_AGENT_1, &ro);
    }
    for (int h = 0; h < 2; h++) { /* (an nna_future_all takes one client's futures) */
        nna_future *all = nna_future_all(f + h * (N / 2), N / 2);
        ck_assert(run_until_done(t.loop, all, 20));
        ck_assert_int_eq(nna_future_status(all), NNA_OK);
        nna_future_unref(all);
    }
    for (int i = 0; i < N; i++) nna_future_unref(f[i]);
    int mx = max_inflight_at_emu(&t);
    nna_workspace_counters k0, k1;
    nna_workspace_counters_get(ws[0], &k0);
    nna_workspace_counters_get(ws[1], &k1);
    fprintf(stderr, "limit_redis (%s): %.2f Redis round trips per request, %u processes\n",
            TLOOP_NAME, (double)(k0.limiter_calls + k1.limiter_calls) / (double)(k0.sent + k1.sent),
            k0.limiter_members);
    ck_assert_uint_eq(k0.limiter_members, 2);
    ck_assert_uint_gt(k0.limiter_calls, 0);
    fprintf(stderr, "limit_redis (%s): two workspaces, cap 4 shared: max in flight %d\n",
            TLOOP_NAME, mx);
    ck_assert_int_le(mx, 4);
    ck_assert_int_ge(mx, 2); /* both used it */
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_1), N);
    stop_all(&t, c, ws);
    redis_stop(&r, 0);
}
END_TEST

START_TEST(pause_is_shared)
{
    redis_proc r;
    redis_start(&r, 0);
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c[2];
    nna_workspace *ws[2];
    two_workspaces(&t, &r, 8, c, ws);
    /* the first run meets a 429 with Retry-After 1: both workspaces pause */
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script", "{\"route\": \"run\", \"responses\": "
                         "[{\"status\": 429, \"json\": {\"error\": \"slow\"}, "
                         "\"headers\": {\"Retry-After\": \"1\"}}]}", NULL));
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "first";
    double t0 = tclock();
    nna_future *a = nna_agents_run(c[0], NNA_EMU_AGENT_1, &ro);
    /* wait until the 429 came back and the pause reached Redis */
    nna_workspace_counters k;
    for (int i = 0; i < 400; i++) {
        tloop_run_nowait(&t);
        nna_workspace_counters_get(ws[0], &k);
        if (k.rate_limited) break;
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(k.rate_limited, 1);
    /* ... and the pause is in Redis (the other learns it with its next call) */
    const char *pttl[] = { "PTTL", "nna:{default}:gate", NULL };
    for (int i = 0; i < 200 && redis_cmd(&r, NULL, 0, pttl) <= 0; i++) tloop_run_nowait(&t);
    ck_assert_int_gt(redis_cmd(&r, NULL, 0, pttl), 0);
    ro.query = "second";
    nna_future *b = nna_agents_run(c[1], NNA_EMU_AGENT_1, &ro);
    ck_assert(run_until_done(t.loop, b, 10));
    double tb = tclock() - t0;
    ck_assert_int_eq(nna_future_status(b), NNA_OK);
    ck_assert(run_until_done(t.loop, a, 10));
    ck_assert_int_eq(nna_future_status(a), NNA_OK);
    nna_workspace_counters_get(ws[1], &k);
    fprintf(stderr, "limit_redis (%s): the other workspace's run went after %.2f s\n",
            TLOOP_NAME, tb);
    ck_assert_uint_eq(k.rate_limited, 0);  /* it never met the 429 itself ... */
    ck_assert_uint_ge(k.gate_closures, 1); /* ... but paused with the other */
    ck_assert(tb >= 0.9);
    nna_future_unref(a);
    nna_future_unref(b);
    stop_all(&t, c, ws);
    redis_stop(&r, 0);
}
END_TEST

/* A busy fan-out does not wait for Redis per request: slots leased ahead (and given back)
 * stay as spare leases, and unpaced sends are only counted, in the background. Before,
 * every 16 sends took a round trip on the admission path (0.0625 per request at least). */
START_TEST(fanout_costs_few_round_trips)
{
    redis_proc r;
    redis_start(&r, 0);
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    wo.max_inflight = 16;
    wo.limiter_url = r.url;
    nna_workspace *ws;
    ck_assert_int_eq(nna_workspace_new(&wo, &ws), NNA_OK);
    nna_client_options o;
    tctx_options(&t, &o);
    o.workspace = ws;
    nna_client *c;
    ck_assert_int_eq(tclient_new(t.loop, &o, &c), NNA_OK);
    enum { N = 400 };
    nna_future *f[N];
    for (int i = 0; i < N; i++) {
        nna_run_options ro;
        nna_run_options_init(&ro);
        char q[32];
        snprintf(q, sizeof q, "fan %d", i);
        ro.query = q;
        f[i] = nna_agents_run(c, NNA_EMU_AGENT_1, &ro);
    }
    nna_future *all = nna_future_all(f, N);
    ck_assert(run_until_done(t.loop, all, 25));
    ck_assert_int_eq(nna_future_status(all), NNA_OK);
    nna_future_unref(all);
    for (int i = 0; i < N; i++) nna_future_unref(f[i]);
    nna_workspace_counters k;
    nna_workspace_counters_get(ws, &k);
    double per = (double)k.limiter_calls / (double)k.sent;
    fprintf(stderr, "limit_redis (%s): fan-out of %d, cap 16: %.4f Redis round trips per request\n",
            TLOOP_NAME, N, per);
    ck_assert_uint_gt(k.limiter_calls, 0);
    ck_assert_msg(per < 0.04, "%.4f round trips per request", per);
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tctx_stop(&t);
    nna_workspace_unref(ws);
    redis_stop(&r, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limit_redis_" TLOOP_NAME);
    TCase *tc = tcase_create("redis");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, creation_errors);
    tcase_add_test(tc, two_workspaces_share_one_cap);
    tcase_add_test(tc, pause_is_shared);
    tcase_add_test(tc, fanout_costs_few_round_trips);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
