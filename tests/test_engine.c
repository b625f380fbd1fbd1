/* Engine tests: the timer heap against a fake clock, the status table, and the client end to
 * end against an in-process nna-emu over real HTTP on loopback. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "loop_core.h"

/* ---- timer heap on a fake backend --------------------------------------------------- */

typedef struct fake_be {
    double now;
    double armed;       /* seconds requested in the last timer call; -1 = disarmed */
    int    timer_calls;
    nna_loop *core;
} fake_be;

static void fb_attach(void *b, nna_loop *core) { ((fake_be *)b)->core = core; }
static int fb_io(void *b, int fd, int ev, void **slot) { (void)b; (void)fd; (void)ev; (void)slot; return 0; }
static void fb_timer(void *b, double s) { fake_be *f = b; f->armed = s; f->timer_calls++; }
static double fb_now(void *b) { return ((fake_be *)b)->now; }
static void fb_keep(void *b, int on) { (void)b; (void)on; }
static int fb_run(void *b) { (void)b; return -1; }
static void fb_close(void *b, void (*done)(void *), void *arg) { (void)b; if (done) done(arg); }
static const nna_loop_ops fake_ops = { fb_attach, fb_io, fb_timer, fb_now, fb_keep, fb_run, fb_close };

static int order[16], norder;
static void record(nna_timer *t, void *arg) { (void)t; order[norder++] = (int)(long)arg; }

START_TEST(timer_heap_orders_and_rearms_lazily)
{
    fake_be be = { .now = 100, .armed = -1 };
    nna_loop l;
    nna_loop_init(&l, &fake_ops, &be);
    nna_timer t[5];
    double after[5] = { 3, 1, 4, 1.5, 9 };
    norder = 0;
    for (int i = 0; i < 5; i++) {
        nna_timer_init(&t[i], record, (void *)(long)i);
        ck_assert_int_eq(nna_timer_start(&l, &t[i], after[i]), 0);
    }
    /* The backend was told about the earliest deadline only when it moved: 3, then 1. */
    ck_assert_int_eq(be.timer_calls, 2);
    ck_assert(fabs(be.armed - 1) < 1e-9);
    nna_timer_stop(&l, &t[1]);                /* earliest removed: re-armed at 1.5 */
    ck_assert(fabs(be.armed - 1.5) < 1e-9);
    be.now = 104.5;                           /* 1.5, 3, 4 are due; 9 is not */
    nna_loop_timer_fired(&l);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 3);
    ck_assert_int_eq(order[1], 0);
    ck_assert_int_eq(order[2], 2);
    ck_assert(fabs(be.armed - 4.5) < 1e-9);   /* the one left, at 109 */
    ck_assert(nna_timer_active(&t[4]));
    ck_assert(!nna_timer_active(&t[0]));
    nna_timer_start(&l, &t[4], 0.25);         /* re-arming moves it */
    ck_assert(fabs(be.armed - 0.25) < 1e-9);
    nna_loop_fini(&l);
    ck_assert(!nna_timer_active(&t[4]));
}
END_TEST

static nna_loop *rel_loop;
static int released;
static void do_release(void *arg) { (void)arg; released++; }
static void release_inside(nna_timer *t, void *arg)
{
    (void)t; (void)arg;
    nna_loop_release_when_idle(rel_loop, do_release, NULL);
    ck_assert_int_eq(released, 0);            /* not while the loop is on the stack */
}

START_TEST(release_waits_for_the_outermost_call)
{
    fake_be be = { .now = 0, .armed = -1 };
    nna_loop l;
    nna_loop_init(&l, &fake_ops, &be);
    rel_loop = &l;
    released = 0;
    nna_timer t;
    nna_timer_init(&t, release_inside, NULL);
    nna_timer_start(&l, &t, 0);
    nna_loop_timer_fired(&l);
    ck_assert_int_eq(released, 1);
    nna_loop_fini(&l);
}
END_TEST

/* ---- status table ------------------------------------------------------------------- */

START_TEST(status_table_is_consistent)
{
    ck_assert_str_eq(nna_status_name(NNA_ENOT_FOUND), "NNA_ENOT_FOUND");
    ck_assert(strstr(nna_strerror(NNA_ERATE_LIMITED), "429") != NULL);
    ck_assert(nna_status_retryable(NNA_ESERVER));
    ck_assert(!nna_status_retryable(NNA_EBAD_REQUEST));
    ck_assert_int_eq(nna_status_from_http(201), NNA_OK);
    ck_assert_int_eq(nna_status_from_http(404), NNA_ENOT_FOUND);
    ck_assert_int_eq(nna_status_from_http(418), NNA_EHTTP_4XX);
    ck_assert_int_eq(nna_status_from_http(503), NNA_ESERVER);
    ck_assert_str_eq(nna_strerror((nna_status)12345), "unknown status");
}
END_TEST

/* ---- end to end --------------------------------------------------------------------- */

static nna_future *run_query(tctx *t, const char *agent, const char *q)
{
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = q;
    return nna_agents_run(t->client, agent, &ro);
}

static int cb_count;
static void count_cb(nna_future *f, void *ud) { (void)f; (void)ud; cb_count++; }

START_TEST(run_then_get_end_to_end)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *f = run_query(&t, NNA_EMU_AGENT_1, "Summarise the invoice");
    cb_count = 0;
    ck_assert_int_eq(nna_future_then(f, count_cb, NULL), NNA_OK);
    ck_assert_int_eq(cb_count, 0); /* never from inside the submitting call */
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(cb_count, 1);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    const nna_task *task = nna_future_result(f);
    ck_assert_ptr_nonnull(task);
    ck_assert_uint_eq(strlen(task->task_id), 36);
    ck_assert_str_eq(task->agent_id, NNA_EMU_AGENT_1);
    ck_assert(task->status != NNA_TASK_UNKNOWN);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    ck_assert(!nna_future_reconciled(f));
    char id[40];
    snprintf(id, sizeof id, "%s", task->task_id);
    nna_future_unref(f);

    nna_future *g = nna_tasks_get(t.client, id);
    ck_assert(run_until_done(t.loop, g, 10));
    ck_assert_int_eq(nna_future_status(g), NNA_OK);
    const nna_task *got = nna_future_result(g);
    ck_assert_str_eq(got->task_id, id);
    ck_assert(!isnan(got->created_at));
    ck_assert_int_eq(nna_future_http_status(g), 200);
    nna_future_unref(g);
    tctx_stop(&t);
}
END_TEST

START_TEST(http_errors_keep_status_and_text)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *f = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_ENOT_FOUND);
    ck_assert_int_eq(nna_future_http_status(f), 404);
    ck_assert_ptr_nonnull(nna_future_error(f));
    ck_assert_uint_eq(nna_future_attempts(f), 1); /* 4xx is never retried */
    nna_future_unref(f);

    nna_future *r = run_query(&t, NNA_EMU_AGENT_3, "inactive");
    ck_assert(run_until_done(t.loop, r, 10));
    ck_assert_int_eq(nna_future_status(r), NNA_EFORBIDDEN);
    nna_future_unref(r);
    tctx_stop(&t);
}
END_TEST

START_TEST(bad_key_is_401_and_never_in_error_text)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *bad;
    nna_client_options o;
    tctx_options(&t, &o);
    o.api_key = "sk-secret-value-1234567890";
    ck_assert_int_eq(tclient_new(t.loop, &o, &bad), NNA_OK);
    nna_future *f = nna_tasks_get(bad, "00000000-0000-4000-8000-000000000000");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_EUNAUTHORIZED);
    nna_future_unref(f);
    nna_client_shutdown(bad, NNA_SHUTDOWN_CANCEL, NULL, NULL);

    /* A server that echoes the key in its error text: the client scrubs it. */
    int st;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"tasks.get\",\"responses\":[{\"status\":400,"
        "\"json\":{\"error\":\"bad key test-key here\"}}]}", &st));
    ck_assert_int_eq(st, 200);
    f = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_EBAD_REQUEST);
    ck_assert(strstr(nna_future_error(f), NNA_EMU_DEFAULT_KEY) == NULL);
    ck_assert(strstr(nna_future_error(f), "[REDACTED]") != NULL);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(invalid_input_fails_without_sending)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    int before = emu_route_count(&t, "tasks.get");
    nna_future *f = nna_tasks_get(t.client, "not-a-uuid");
    ck_assert_ptr_nonnull(f);
    cb_count = 0;
    nna_future_then(f, count_cb, NULL);
    ck_assert_int_eq(cb_count, 0);
    ck_assert(run_until_done(t.loop, f, 5));
    ck_assert_int_eq(cb_count, 1);
    ck_assert_int_eq(nna_future_status(f), NNA_EINVAL);
    nna_future_unref(f);
    nna_future *r = run_query(&t, NNA_EMU_AGENT_1, "");
    ck_assert(run_until_done(t.loop, r, 5));
    ck_assert_int_eq(nna_future_status(r), NNA_EINVAL);
    nna_future_unref(r);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), before);
    ck_assert_int_eq(emu_route_count(&t, "run"), 0);
    tctx_stop(&t);
}
END_TEST

START_TEST(server_errors_are_retried_then_succeed)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *r = run_query(&t, NNA_EMU_AGENT_1, "seed");
    ck_assert(run_until_done(t.loop, r, 10));
    char id[40];
    snprintf(id, sizeof id, "%s", ((const nna_task *)nna_future_result(r))->task_id);
    nna_future_unref(r);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"tasks.get\",\"responses\":[{\"status\":500},{\"status\":503},"
        "{\"status\":502,\"body\":\"<html>bad gateway</html>\"}]}", NULL));
    nna_future *f = nna_tasks_get(t.client, id);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert_uint_eq(nna_future_attempts(f), 4);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(server_errors_forever_stop_at_max_attempts)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"tasks.get\",\"responses\":[{\"status\":500},{\"status\":500},{\"status\":500},"
        "{\"status\":500},{\"status\":500},{\"status\":500},{\"status\":500}]}", NULL));
    int before = emu_route_count(&t, "tasks.get");
    nna_future *f = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_ESERVER);
    ck_assert_int_eq(nna_future_http_status(f), 500);
    ck_assert_uint_eq(nna_future_attempts(f), 5);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get") - before, 5);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(rate_limited_is_retried_after_retry_after)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"tasks.get\",\"responses\":[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
        "\"json\":{\"error\":\"slow down\"}}]}", NULL));
    nna_future *f = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 10));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(f), NNA_ENOT_FOUND); /* then the real answer */
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert(fabs(nna_future_retry_after(f) - 1.0) < 1e-9);
    ck_assert_msg(took >= 0.95, "waited only %.3f s", took);
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    ck_assert_uint_eq(wc.rate_limited, 1);
    ck_assert_uint_eq(wc.gate_closures, 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(run_commit_then_500_is_adopted_not_resent)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true}]}", NULL));
    nna_future *f = run_query(&t, NNA_EMU_AGENT_2, "Reconcile me please");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(nna_future_reconciled(f));
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    ck_assert_int_eq(emu_route_count(&t, "run"), 1);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 1);
    nna_workspace_counters wc;
    nna_workspace_counters_get(nna_client_workspace(t.client), &wc);
    ck_assert_uint_eq(wc.reconciled, 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* An older task of the same agent with the same query must never be adopted for a run in
 * doubt: the window starts at the run's own first attempt on the server's clock (learned
 * from Date headers), not minutes before it. */
START_TEST(reconcile_never_adopts_an_older_task_with_the_same_query)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    /* The old task comes from another program (another client, another workspace object),
     * so it is not among this client's claimed tasks. */
    nna_client_options o;
    tctx_options(&t, &o);
    nna_client *other = NULL;
    ck_assert_int_eq(tclient_new(t.loop, &o, &other), NNA_OK);
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "Same query";
    nna_future *old = nna_agents_run(other, NNA_EMU_AGENT_2, &ro);
    ck_assert(run_until_done(t.loop, old, 10));
    ck_assert_int_eq(nna_future_status(old), NNA_OK);
    char old_id[40];
    snprintf(old_id, sizeof old_id, "%s", ((const nna_task *)nna_future_result(old))->task_id);
    nna_future_unref(old);
    nna_client_shutdown(other, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    /* our client learns the server's clock from any reply */
    nna_future *g = nna_tasks_get(t.client, old_id);
    ck_assert(run_until_done(t.loop, g, 10));
    nna_future_unref(g);
    int never = 0;
    run_until_flag(t.loop, &never, 2.2); /* the old task is now > 2 s older */
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"run\",\"responses\":[{\"status\":500}]}", NULL));
    /* Not committed: the only candidate in a generous window would be the old task. */
    nna_future *f = run_query(&t, NNA_EMU_AGENT_2, "Same query");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_str_ne(((const nna_task *)nna_future_result(f))->task_id, old_id);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 2);
    ck_assert_int_eq(emu_route_count(&t, "run"), 3);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Deadlines default per kind: run creation has its own (run_deadline), reads use deadline. */
START_TEST(deadline_defaults_per_kind)
{
    tctx t;
    nna_client_options o;
    tctx_start(&t, NULL, NULL);
    tctx_options(&t, &o);
    o.deadline = 20;
    o.run_deadline = 0.3;
    nna_client *c = NULL;
    ck_assert_int_eq(tclient_new(t.loop, &o, &c), NNA_OK);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":700}", NULL));
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "too slow for its deadline";
    nna_future *r = nna_agents_run(c, NNA_EMU_AGENT_1, &ro);
    nna_future *g = nna_tasks_get(c, "00000000-0000-4000-8000-000000000000");
    ck_assert(run_until_done(t.loop, g, 10));
    ck_assert(run_until_done(t.loop, r, 10));
    ck_assert_int_eq(nna_future_status(g), NNA_ENOT_FOUND); /* 0.7 s fits in 20 s */
    ck_assert(nna_future_status(r) == NNA_EDEADLINE || nna_future_status(r) == NNA_EOUTCOME_UNKNOWN);
    nna_future_unref(r);
    nna_future_unref(g);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":0}", NULL));
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tctx_stop(&t);
}
END_TEST

START_TEST(run_500_without_commit_is_resent_once)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"run\",\"responses\":[{\"status\":500}]}", NULL));
    nna_future *f = run_query(&t, NNA_EMU_AGENT_2, "Nothing was created");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_int_eq(emu_route_count(&t, "run"), 2);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* The hidden-retry trap: the server commits the run and closes a *reused* keep-alive
 * connection without replying. libcurl would silently re-send the POST; the library must
 * not let it, and must reconcile instead: exactly one task. */
START_TEST(commit_then_drop_on_reused_connection_leaves_one_task)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *warm = run_query(&t, NNA_EMU_AGENT_1, "warm the connection");
    ck_assert(run_until_done(t.loop, warm, 10));
    ck_assert_int_eq(nna_future_status(warm), NNA_OK);
    nna_future_unref(warm);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"run\",\"responses\":[{\"commit\":true,\"drop\":true}]}", NULL));
    nna_future *f = run_query(&t, NNA_EMU_AGENT_2, "dropped after commit");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert(nna_future_reconciled(f));
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    ck_assert_int_eq(emu_route_count(&t, "run"), 2); /* the warm-up and the dropped one */
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(reconcile_check_failing_gives_outcome_unknown)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true}]}", NULL));
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
        "{\"route\":\"tasks.list\",\"responses\":[{\"status\":401}]}", NULL));
    nna_future *f = run_query(&t, NNA_EMU_AGENT_2, "cannot check");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_EOUTCOME_UNKNOWN);
    ck_assert_int_eq(emu_route_count(&t, "run"), 1); /* never re-sent */
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(cancel_in_flight_and_queued)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":300}", NULL));
    nna_future *f = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    cb_count = 0;
    nna_future_then(f, count_cb, NULL);
    tloop_run_nowait(&t);
    ck_assert_int_eq(nna_future_cancel(f), NNA_OK);
    ck_assert_int_eq(cb_count, 0);                    /* on the next loop turn */
    ck_assert(run_until_done(t.loop, f, 5));
    ck_assert_int_eq(cb_count, 1);
    ck_assert_int_eq(nna_future_status(f), NNA_ECANCELLED);
    ck_assert_int_eq(nna_future_cancel(f), NNA_EBUSY);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(all_settles_after_every_member)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    enum { N = 50 };
    nna_future *fs[N];
    for (int i = 0; i < N; i++) {
        char q[32];
        snprintf(q, sizeof q, "fan-out %d", i);
        fs[i] = run_query(&t, i % 2 ? NNA_EMU_AGENT_1 : NNA_EMU_AGENT_2, q);
    }
    nna_future *all = nna_future_all(fs, N);
    ck_assert_ptr_nonnull(all);
    ck_assert(run_until_done(t.loop, all, 20));
    ck_assert_int_eq(nna_future_status(all), NNA_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(nna_future_status(fs[i]), NNA_OK);
        ck_assert_ptr_eq(nna_future_member(all, (size_t)i), fs[i]);
        nna_future_unref(fs[i]);
    }
    nna_future_unref(all);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_1) + emu_task_count(&t, NNA_EMU_AGENT_2), N);
    tctx_stop(&t);
}
END_TEST

static int shut_cb;
static void count_shutdown(void *ud) { (void)ud; shut_cb++; }

START_TEST(shutdown_settles_everything_once_and_frees_the_loop)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":200}", NULL));
    enum { N = 20 };
    nna_future *fs[N];
    cb_count = 0;
    for (int i = 0; i < N; i++) {
        fs[i] = run_query(&t, NNA_EMU_AGENT_1, "never finishes");
        nna_future_then(fs[i], count_cb, NULL);
    }
    tloop_run_nowait(&t);
    shut_cb = 0;
    nna_client_shutdown(t.client, NNA_SHUTDOWN_CANCEL, count_shutdown, NULL);
    t.client = NULL;
    tloop_run(&t); /* returns on its own once the library is gone */
    ck_assert_int_eq(shut_cb, 1);
    ck_assert_int_eq(cb_count, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(nna_future_status(fs[i]), NNA_ESHUTDOWN);
        nna_future_unref(fs[i]);
    }
    tctx_stop(&t);
}
END_TEST

START_TEST(drain_shutdown_lets_work_finish)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *f = run_query(&t, NNA_EMU_AGENT_1, "drain me");
    shut_cb = 0;
    nna_client_shutdown(t.client, NNA_SHUTDOWN_DRAIN, count_shutdown, NULL);
    t.client = NULL;
    tloop_run(&t);
    ck_assert_int_eq(shut_cb, 1);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(idle_keepalive_does_not_hold_the_loop)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *f = run_query(&t, NNA_EMU_AGENT_1, "one");
    tloop_run(&t); /* returns once the work is done, with the connection still open */
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(private_loop_wait)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client_options o;
    tctx_options(&t, &o);
    nna_client *c;
    ck_assert_int_eq(tclient_new(NULL, &o, &c), NNA_OK);
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "blocking";
    nna_future *f = nna_agents_run(c, NNA_EMU_AGENT_1, &ro);
    ck_assert_int_eq(nna_future_wait(f), NNA_OK);
    ck_assert_ptr_nonnull(nna_future_result(f));
    nna_future_unref(f);
    nna_future *g = nna_tasks_get(c, "00000000-0000-4000-8000-000000000000");
    nna_client_free(c); /* settles g with NNA_ESHUTDOWN */
    ck_assert_int_eq(nna_future_status(g), NNA_ESHUTDOWN);
    nna_future_unref(g);
    /* wait on a borrowed loop refuses to run it */
    nna_future *h = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    ck_assert_int_eq(nna_future_wait(h), NNA_EBUSY);
    nna_future_unref(h);
    tctx_stop(&t);
}
END_TEST

START_TEST(generic_request)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *f = nna_client_request(t.client, "GET", "/agents", "limit=2", NULL, 1);
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    const cJSON *j = nna_future_result(f);
    ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "data")));
    nna_future_unref(f);
    f = nna_client_request(t.client, "GET", "bad path", NULL, NULL, 1);
    ck_assert(run_until_done(t.loop, f, 5));
    ck_assert_int_eq(nna_future_status(f), NNA_EINVAL);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static nna_client *cb_client;
static void free_client_in_cb(nna_future *f, void *ud)
{
    (void)f; (void)ud;
    nna_client_shutdown(cb_client, NNA_SHUTDOWN_CANCEL, count_shutdown, NULL);
}

START_TEST(callback_may_shut_the_client_down)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cb_client = t.client;
    nna_future *a = run_query(&t, NNA_EMU_AGENT_1, "first");
    nna_future *b = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":100}", NULL));
    nna_future_then(a, free_client_in_cb, NULL);
    shut_cb = 0;
    t.client = NULL;
    tloop_run(&t);
    ck_assert_int_eq(shut_cb, 1);
    ck_assert(nna_future_done(b));
    nna_future_unref(a);
    nna_future_unref(b);
    tctx_stop(&t);
}
END_TEST

/* ---- callbacks, shutdown and the loop: the same on libev and libuv -------------------- */

static nna_client *chain_client;
static nna_future *victims[8];
static nna_future *extra;
static int victim_cbs[8], extra_cb;

static void victim_cb(nna_future *f, void *ud) { (void)f; victim_cbs[(long)ud]++; }
static void extra_done(nna_future *f, void *ud) { (void)f; (void)ud; extra_cb++; }

static void cancel_the_others(nna_future *f, void *ud)
{
    (void)f; (void)ud;
    cb_count++;
    for (int i = 0; i < 8; i++) ck_assert_int_eq(nna_future_cancel(victims[i]), NNA_OK);
    extra = nna_tasks_get(chain_client, "00000000-0000-4000-8000-000000000000");
    nna_future_then(extra, extra_done, NULL);
}

START_TEST(callback_may_cancel_others_and_submit_more)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":300}", NULL));
    chain_client = t.client;
    for (int i = 0; i < 8; i++) {
        victims[i] = run_query(&t, NNA_EMU_AGENT_1, "slow");
        victim_cbs[i] = 0;
        nna_future_then(victims[i], victim_cb, (void *)(long)i);
    }
    /* fails on the next turn without the network, while the others are on the wire */
    nna_future *first = nna_tasks_get(t.client, "not-a-uuid");
    cb_count = extra_cb = 0;
    nna_future_then(first, cancel_the_others, NULL);
    ck_assert(run_until_done(t.loop, first, 5));
    ck_assert_int_eq(cb_count, 1);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":0}", NULL));
    ck_assert(run_until_done(t.loop, extra, 10));
    ck_assert_int_eq(nna_future_status(extra), NNA_ENOT_FOUND);
    ck_assert_int_eq(extra_cb, 1);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(victim_cbs[i], 1);
        ck_assert_int_eq(nna_future_status(victims[i]), NNA_ECANCELLED);
        nna_future_unref(victims[i]);
    }
    nna_future_unref(first);
    nna_future_unref(extra);
    tctx_stop(&t);
}
END_TEST

static void drain_in_cb(nna_future *f, void *ud)
{
    (void)f; (void)ud;
    cb_count++;
    nna_client_shutdown(cb_client, NNA_SHUTDOWN_DRAIN, count_shutdown, NULL);
    /* after a shutdown nothing new is accepted: it fails with NNA_ESHUTDOWN */
    extra = nna_tasks_get(cb_client, "00000000-0000-4000-8000-000000000000");
}

START_TEST(drain_from_a_callback_finishes_the_rest_then_returns)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":100}", NULL));
    cb_client = t.client;
    nna_future *first = nna_tasks_get(t.client, "bad");     /* settles at once */
    enum { N = 6 };
    nna_future *rest[N];
    for (int i = 0; i < N; i++) rest[i] = run_query(&t, NNA_EMU_AGENT_2, "finish me");
    cb_count = shut_cb = 0;
    extra = NULL;
    nna_future_then(first, drain_in_cb, NULL);
    t.client = NULL;
    tloop_run(&t); /* returns by itself once the drained client is gone */
    ck_assert_int_eq(cb_count, 1);
    ck_assert_int_eq(shut_cb, 1);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(nna_future_status(rest[i]), NNA_OK);
        nna_future_unref(rest[i]);
    }
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), N);
    if (extra) {
        ck_assert(nna_future_done(extra));
        ck_assert_int_eq(nna_future_status(extra), NNA_ESHUTDOWN);
        nna_future_unref(extra);
    }
    nna_future_unref(first);
    tctx_stop(&t);
}
END_TEST

/* A callback that always queues another callback must not starve the sockets: deferred
 * callbacks queued by callbacks run on the next loop turn, after I/O. */
static int chain_len, chain_stop;
static void chain_step(nna_future *f, void *ud)
{
    (void)ud;
    nna_future_unref(f);
    if (chain_stop) return;
    chain_len++;
    nna_future *g = nna_tasks_get(chain_client, "not-a-uuid");
    nna_future_then(g, chain_step, NULL);
}

START_TEST(callback_chain_does_not_starve_io)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    chain_client = t.client;
    chain_len = chain_stop = 0;
    nna_future *real = run_query(&t, NNA_EMU_AGENT_1, "through the chain");
    nna_future *g = nna_tasks_get(t.client, "not-a-uuid");
    nna_future_then(g, chain_step, NULL);
    ck_assert(run_until_done(t.loop, real, 10));
    ck_assert_int_eq(nna_future_status(real), NNA_OK);
    ck_assert_int_gt(chain_len, 0);
    chain_stop = 1;
    nna_future_unref(real);
    tctx_stop(&t); /* the pending link settles with NNA_ESHUTDOWN and is released */
}
END_TEST

/* Connections that the server drops make curl close sockets and open new ones that get the
 * same descriptor numbers back (libuv allows one poll per fd: the old one must be gone). */
START_TEST(dropped_connections_and_reused_descriptors)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    enum { N = 12 };
    char script[64 + N * 40];
    strcpy(script, "{\"route\":\"tasks.get\",\"responses\":[");
    for (int i = 0; i < N; i++) strcat(script, i ? ",{\"drop\":true},{\"pass\":true}" : "{\"drop\":true},{\"pass\":true}");
    strcat(script, "]}");
    int st;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script", script, &st));
    ck_assert_int_eq(st, 200);
    for (int i = 0; i < N; i++) {
        nna_future *f = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
        ck_assert(run_until_done(t.loop, f, 10));
        ck_assert_int_eq(nna_future_status(f), NNA_ENOT_FOUND);
        nna_future_unref(f);
    }
    /* and a burst on fresh connections after that */
    nna_future *fs[20];
    for (int i = 0; i < 20; i++) fs[i] = nna_tasks_get(t.client, "00000000-0000-4000-8000-000000000000");
    nna_future *all = nna_future_all(fs, 20);
    ck_assert(run_until_done(t.loop, all, 10));
    ck_assert_int_eq(nna_future_status(all), NNA_ENOT_FOUND);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(nna_future_status(fs[i]), NNA_ENOT_FOUND);
        nna_future_unref(fs[i]);
    }
    nna_future_unref(all);
    tctx_stop(&t);
}
END_TEST

START_TEST(shutdown_with_idle_connections_and_nothing_pending)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *fs[10];
    for (int i = 0; i < 10; i++) fs[i] = run_query(&t, NNA_EMU_AGENT_1, "open a connection");
    tloop_run(&t); /* returns with ten idle keep-alive connections open */
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(nna_future_status(fs[i]), NNA_OK);
        nna_future_unref(fs[i]);
    }
    shut_cb = 0;
    nna_client_shutdown(t.client, NNA_SHUTDOWN_DRAIN, count_shutdown, NULL);
    nna_client_shutdown(t.client, NNA_SHUTDOWN_CANCEL, count_shutdown, NULL); /* ignored */
    t.client = NULL;
    ck_assert_int_eq(shut_cb, 0); /* from the loop, never from inside the call */
    tloop_run(&t);
    ck_assert_int_eq(shut_cb, 1);
    tctx_stop(&t); /* the loop has nothing of the library left (asserted for libuv) */
}
END_TEST

START_TEST(private_loop_shutdown_then_free)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client_options o;
    tctx_options(&t, &o);
    nna_client *c;
    ck_assert_int_eq(tclient_new(NULL, &o, &c), NNA_OK);
    nna_future *f = nna_tasks_get(c, "00000000-0000-4000-8000-000000000000");
    ck_assert_int_eq(nna_future_wait(f), NNA_ENOT_FOUND);
    nna_future *g = run_query(&t, NNA_EMU_AGENT_1, "on the other client"); /* t.client */
    nna_future *h = nna_tasks_get(c, "00000000-0000-4000-8000-000000000000");
    shut_cb = 0;
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, count_shutdown, NULL);
    nna_client_free(c); /* runs the private loop to the end, then closes and frees it */
    ck_assert_int_eq(shut_cb, 1);
    ck_assert_int_eq(nna_future_status(h), NNA_ESHUTDOWN);
    ck_assert(run_until_done(t.loop, g, 10));
    ck_assert_int_eq(nna_future_status(g), NNA_OK);
    nna_future_unref(f);
    nna_future_unref(g);
    nna_future_unref(h);
    tctx_stop(&t);
}
END_TEST

static void free_in_cb(nna_future *f, void *ud)
{
    (void)f; (void)ud;
    nna_client_free(cb_client); /* borrowed loop: an asynchronous CANCEL shutdown */
    cb_count++;
}

START_TEST(free_from_a_callback_on_a_borrowed_loop)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cb_client = t.client;
    nna_future *a = nna_tasks_get(t.client, "bad");
    nna_future *b = run_query(&t, NNA_EMU_AGENT_1, "cut short");
    cb_count = 0;
    nna_future_then(a, free_in_cb, NULL);
    nna_future_then(b, count_cb, NULL);
    t.client = NULL;
    tloop_run(&t);
    ck_assert_int_eq(cb_count, 2);
    ck_assert(nna_future_done(b));
    nna_future_unref(a);
    nna_future_unref(b);
    tctx_stop(&t);
}
END_TEST

Suite *engine_suite(void)
{
    Suite *s = suite_create("engine on " TLOOP_NAME);
    TCase *u = tcase_create("unit");
    tcase_add_test(u, timer_heap_orders_and_rearms_lazily);
    tcase_add_test(u, release_waits_for_the_outermost_call);
    tcase_add_test(u, status_table_is_consistent);
    suite_add_tcase(s, u);
    TCase *i = tcase_create("integration");
    tcase_set_timeout(i, 60);
    tcase_add_test(i, run_then_get_end_to_end);
    tcase_add_test(i, http_errors_keep_status_and_text);
    tcase_add_test(i, bad_key_is_401_and_never_in_error_text);
    tcase_add_test(i, invalid_input_fails_without_sending);
    tcase_add_test(i, server_errors_are_retried_then_succeed);
    tcase_add_test(i, server_errors_forever_stop_at_max_attempts);
    tcase_add_test(i, rate_limited_is_retried_after_retry_after);
    tcase_add_test(i, run_commit_then_500_is_adopted_not_resent);
    tcase_add_test(i, reconcile_never_adopts_an_older_task_with_the_same_query);
    tcase_add_test(i, deadline_defaults_per_kind);
    tcase_add_test(i, run_500_without_commit_is_resent_once);
    tcase_add_test(i, commit_then_drop_on_reused_connection_leaves_one_task);
    tcase_add_test(i, reconcile_check_failing_gives_outcome_unknown);
    tcase_add_test(i, cancel_in_flight_and_queued);
    tcase_add_test(i, all_settles_after_every_member);
    tcase_add_test(i, shutdown_settles_everything_once_and_frees_the_loop);
    tcase_add_test(i, drain_shutdown_lets_work_finish);
    tcase_add_test(i, idle_keepalive_does_not_hold_the_loop);
    tcase_add_test(i, private_loop_wait);
    tcase_add_test(i, generic_request);
    tcase_add_test(i, callback_may_shut_the_client_down);
    tcase_add_test(i, callback_may_cancel_others_and_submit_more);
    tcase_add_test(i, drain_from_a_callback_finishes_the_rest_then_returns);
    tcase_add_test(i, callback_chain_does_not_starve_io);
    tcase_add_test(i, dropped_connections_and_reused_descriptors);
    tcase_add_test(i, shutdown_with_idle_connections_and_nothing_pending);
    tcase_add_test(i, private_loop_shutdown_then_free);
    tcase_add_test(i, free_from_a_callback_on_a_borrowed_loop);
    suite_add_tcase(s, i);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(engine_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
