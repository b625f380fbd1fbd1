/* The shared health gate and retry budget of the Redis backend (docs/scale-out.md), with a
 * real redis-server and one nna-emu; two workspaces stand for two processes:
 *  - a run of 503s that closes process A's health gate pauses process B too: during the
 *    pause B sends nothing, and at most one probe (A's) is in flight across both; when the
 *    server recovers, A's successful probe reopens the gate for B;
 *  - Redis lost during the shared pause: B falls back to its own gate and probe and still
 *    finishes (nothing left unsettled);
 *  - retries of both processes draw from one budget: once A has spent it, B's next retry
 *    waits for tokens, as a second retry of A would. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../testutil.h"
#include "redistest.h"
#include "limiter.h"

static void two_workspaces(tctx *t, const redis_proc *r, nna_client *c[2], nna_workspace *ws[2])
{
    for (int i = 0; i < 2; i++) {
        nna_workspace_options wo;
        nna_workspace_options_init(&wo);
        wo.max_inflight = 8;
        wo.limiter_url = r->url;
        ck_assert_int_eq(nna_workspace_new(&wo, &ws[i]), NNA_OK);
        nna_client_options o;
        tctx_options(t, &o);
        o.workspace = ws[i];
        o.max_attempts = 30;     /* the probes of a long outage are attempts too */
        o.deadline = 60;
        ck_assert_int_eq(tclient_new(t->loop, &o, &c[i]), NNA_OK);
    }
}

static void stop_all(tctx *t, nna_client *c[2], nna_workspace *ws[2])
{
    for (int i = 0; i < 2; i++) nna_client_shutdown(c[i], NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tctx_stop(t);
    for (int i = 0; i < 2; i++) nna_workspace_unref(ws[i]);
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Requests the emulator saw: in all, and those of process B (the agent list; A gets one
 * agent by id). */
static void emu_requests(tctx *t, int *all, int *of_b)
{
    cJSON *log = emu_ctl(t, "GET", "/_emu/log?limit=100000", NULL, NULL);
    cJSON *data = cJSON_GetObjectItem(log, "data"), *it;
    *all = *of_b = 0;
    cJSON_ArrayForEach(it, data) {
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(it, "path"));
        (*all)++;
        if (path && !strstr(path, NNA_EMU_AGENT_1)) (*of_b)++;
    }
    cJSON_Delete(log);
}

/* Runs the loop for `s` seconds (whatever settles meanwhile). */
static void run_for(tctx *t, double s)
{
    double end = tclock() + s;
    while (tclock() < end) {
        tloop_run_nowait(t);
        nap_ms(2);
    }
}

/* Process A meets 503s until its health gate closes and the shared gate is in Redis.
 * Returns A's future; B's requests are started by the caller. */
static nna_future *trip_a(tctx *t, const redis_proc *r, nna_client *a)
{
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/config", "{\"fault_503\": 1}", NULL));
    nna_future *f = nna_agents_get(a, NNA_EMU_AGENT_1);
    const char *ex[] = { "EXISTS", "nna:{default}:health", NULL };
    int i;
    for (i = 0; i < 2000 && redis_cmd(r, NULL, 0, ex) != 1; i++) {
        tloop_run_nowait(t);
        nap_ms(5);
    }
    ck_assert_int_eq(redis_cmd(r, NULL, 0, ex), 1);
    return f;
}

START_TEST(health_gate_is_shared)
{
    redis_proc r;
    redis_start(&r, 0);
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c[2];
    nna_workspace *ws[2];
    two_workspaces(&t, &r, c, ws);
    nna_future *a = trip_a(&t, &r, c[0]);
    int all0, b0;
    emu_requests(&t, &all0, &b0);
    ck_assert_int_eq(b0, 0);
    ck_assert_int_ge(all0, 3);            /* A's run of failures */
    enum { NB = 3 };
    nna_future *b[NB];
    for (int i = 0; i < NB; i++) b[i] = nna_agents_list(c[1], NULL);
    /* A's gate: 1 s, then its probe fails and closes it for 2 s more */
    run_for(&t, 2.5);
    int all1, b1;
    emu_requests(&t, &all1, &b1);
    nna_workspace_counters kb;
    nna_workspace_counters_get(ws[1], &kb);
    fprintf(stderr, "redis_health: during A's pause (2.5 s) the emulator saw %d requests, "
            "%d of them B's; B's gate closures %u\n", all1 - all0, b1, (unsigned)kb.gate_closures);
    ck_assert_int_eq(b1, 0);              /* B paused with A: not one request */
    ck_assert_int_le(all1 - all0, 2);     /* A's probes, one at a time */
    ck_assert_uint_ge(kb.gate_closures, 1);
    for (int i = 0; i < NB; i++) ck_assert(!nna_future_done(b[i]));
    /* the server recovers: A's next probe succeeds and reopens the gate for B */
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"fault_503\": 0}", NULL));
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, a, 15));
    ck_assert_int_eq(nna_future_status(a), NNA_OK);
    for (int i = 0; i < NB; i++) {
        ck_assert(run_until_done(t.loop, b[i], 15));
        ck_assert_int_eq(nna_future_status(b[i]), NNA_OK);
        nna_future_unref(b[i]);
    }
    fprintf(stderr, "redis_health: B done %.2f s after the server recovered\n", tclock() - t0);
    const char *ex[] = { "EXISTS", "nna:{default}:health", NULL };
    ck_assert_int_eq(redis_cmd(&r, NULL, 0, ex), 0);
    nna_future_unref(a);
    stop_all(&t, c, ws);
    redis_stop(&r, 0);
}
END_TEST

START_TEST(health_gate_redis_lost)
{
    redis_proc r;
    redis_start(&r, 0);
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c[2];
    nna_workspace *ws[2];
    two_workspaces(&t, &r, c, ws);
    nna_future *a = trip_a(&t, &r, c[0]);
    nna_future *b = nna_agents_list(c[1], NULL);
    run_for(&t, 0.3);
    nna_workspace_counters kb;
    nna_workspace_counters_get(ws[1], &kb);
    ck_assert_uint_ge(kb.gate_closures, 1); /* B learnt A's pause ... */
    int all, of_b;
    emu_requests(&t, &all, &of_b);
    ck_assert_int_eq(of_b, 0);              /* ... and sent nothing */
    redis_stop(&r, 1);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"fault_503\": 0}", NULL));
    /* without Redis each falls back to its own gate and probe: both finish */
    ck_assert(run_until_done(t.loop, b, 20));
    ck_assert_int_eq(nna_future_status(b), NNA_OK);
    ck_assert(run_until_done(t.loop, a, 20));
    ck_assert_int_eq(nna_future_status(a), NNA_OK);
    nna_future_unref(a);
    nna_future_unref(b);
    stop_all(&t, c, ws);
}
END_TEST

/* The retry budget through the workspace's seam (what the pipeline asks before a retry
 * after server trouble): A spends the whole budget; B, once it has heard from Redis,
 * waits for the tokens to come back, as a further retry of A would. */
START_TEST(retry_budget_is_shared)
{
    redis_proc r;
    redis_start(&r, 0);
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c[2];
    nna_workspace *ws[2];
    nna_workspace_options wo;
    for (int i = 0; i < 2; i++) {
        nna_workspace_options_init(&wo);
        wo.limiter_url = r.url;
        wo.retry_budget_ratio = 0;
        wo.retry_budget_floor = 0.1;   /* one retry per 10 s beyond the budget */
        ck_assert_int_eq(nna_workspace_new(&wo, &ws[i]), NNA_OK);
        nna_client_options o;
        tctx_options(&t, &o);
        o.workspace = ws[i];
        ck_assert_int_eq(tclient_new(t.loop, &o, &c[i]), NNA_OK);
    }
    run_for(&t, 0.2);
    /* the budget holds 20: A's 20 retries go at once */
    for (int i = 0; i < 20; i++) ck_assert(nna_ws_retry_budget_wait(ws[0]) == 0);
    const char *tok[] = { "HGET", "nna:{default}:retry", "tokens", NULL };
    char buf[64] = "";
    for (int i = 0; i < 500; i++) {
        tloop_run_nowait(&t);
        if (redis_cmd(&r, buf, sizeof buf, tok) >= 0 && buf[0] && strtod(buf, NULL) < 1) break;
        nap_ms(5);
    }
    ck_assert_double_lt(strtod(buf, NULL), 1);
    run_for(&t, 1.2);  /* B's renewal brings it the shared level */
    double wb = nna_ws_retry_budget_wait(ws[1]);
    run_for(&t, 1.2);  /* and A's brings it B's spend */
    double wa = nna_ws_retry_budget_wait(ws[0]);
    fprintf(stderr, "redis_health: after A spent the budget, B's retry waits %.2f s, "
            "A's next %.2f s\n", wb, wa);
    ck_assert_double_gt(wb, 5);   /* (1 - about 0.1 token) / 0.1 per s */
    ck_assert_double_gt(wa, wb + 5); /* behind B's: in debt for it */
    /* Redis lost: each goes on with its own view (never unlimited, never refused) */
    redis_stop(&r, 1);
    run_for(&t, 0.2);
    double wl = nna_ws_retry_budget_wait(ws[1]);
    ck_assert_double_gt(wl, wb);
    stop_all(&t, c, ws);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("redis_health");
    TCase *tc = tcase_create("redis");
    tcase_set_timeout(tc, 40);
    tcase_add_test(tc, health_gate_is_shared);
    tcase_add_test(tc, health_gate_redis_lost);
    tcase_add_test(tc, retry_budget_is_shared);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
