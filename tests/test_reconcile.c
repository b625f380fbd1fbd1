/* Reconcile-before-retry (issues 17 and 11): every non-idempotent write whose outcome is in
 * doubt is looked for before anything is re-sent, against an in-process nna-emu.
 *
 * "clock": the server clock behind the reconciliation window: skewed Date headers (nna-emu's
 * date_skew moves the Date header only; created_at stays on the real clock), outliers, our
 * own created_at preferred, the window bounded on both sides; run creation with
 * commit-then-500 and commit-then-drop under every skew: exactly one task, never an older
 * task adopted.
 * "writes": send-message, publish and create-agent in doubt: looked for, adopted (with the
 * result the success would have given), re-sent only when absent, unknown only when the
 * look fails.
 * "workspace": one look per workspace and target, shared by several clients, surviving the
 * shutdown of the client that carries it.
 *
 * RECONCILE_ONLY=<part of a test name> runs only those tests. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "testutil.h"
#include "client_internal.h"
#include "reconcile.h"
#include "op.h"

static void script(tctx *t, const char *json)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/script", json, &st));
    ck_assert_int_eq(st, 200);
}

static void emu_config(tctx *t, const char *json)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/config", json, &st));
    ck_assert_int_eq(st, 200);
}

static void run_for(tctx *t, double seconds)
{
    static const int never = 0;
    run_until_flag(t->loop, &never, seconds);
}

static nna_future *run_q(nna_client *c, const char *agent, const char *q)
{
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = q;
    return nna_agents_run(c, agent, &ro);
}

static void settle_ok(tctx *t, nna_future *f)
{
    ck_assert(run_until_done(t->loop, f, 20));
    ck_assert_msg(nna_future_status(f) == NNA_OK, "%s: %s", nna_status_name(nna_future_status(f)),
                  nna_future_error(f) ? nna_future_error(f) : "");
}

/* Replaces t's client by one with the fast test timings and reconcile_skew `skew`. */
static void client_with_skew(tctx *t, double skew)
{
    nna_client_options o;
    tctx_options(t, &o);
    o.reconcile_skew = skew;
    nna_client_shutdown(t->client, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    t->client = NULL;
    ck_assert_int_eq(tclient_new(t->loop, &o, &t->client), NNA_OK);
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ==== clock ============================================================================ */

/* One implausible Date among honest ones moves nothing, in either direction; the window
 * is then exactly t0 - 1 (the margin), as with honest samples alone. */
START_TEST(clock_one_outlier_does_not_move_the_window)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = t.client;
    double now = 1e9;
    for (int i = 0; i < 3; i++) nna_client_clock_sample(c, now + i, now + i - 0.01, now + i);
    ck_assert(fabs(nna_client_window_start(c, now + 10) - (now + 9)) < 1e-6);
    nna_client_clock_sample(c, now + 3 - 60, now + 2.99, now + 3);    /* a minute behind */
    ck_assert(fabs(nna_client_window_start(c, now + 10) - (now + 9)) < 1e-6);
    nna_client_clock_sample(c, now + 4 + 3600, now + 3.99, now + 4);  /* an hour ahead */
    ck_assert(fabs(nna_client_window_start(c, now + 10) - (now + 9)) < 1e-6);
    tctx_stop(&t);
}
END_TEST

/* However far the Date says the server is ahead or behind, the window stays within
 * [t0 - reconcile_skew, t0 - 1]. */
START_TEST(clock_window_is_bounded_on_both_sides)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = t.client;
    double now = 1e9;
    ck_assert(fabs(nna_client_window_start(c, now) - (now - 120)) < 1e-6); /* nothing known */
    for (int i = 0; i < 3; i++) nna_client_clock_sample(c, now + i + 3600, now + i - 0.01, now + i);
    ck_assert(fabs(nna_client_window_start(c, now + 10) - (now + 9)) < 1e-6);
    nna_client_options o;
    tctx_options(&t, &o);
    nna_client *d = NULL;
    ck_assert_int_eq(tclient_new(t.loop, &o, &d), NNA_OK);
    for (int i = 0; i < 3; i++) nna_client_clock_sample(d, now + i - 3600, now + i - 0.01, now + i);
    ck_assert(fabs(nna_client_window_start(d, now + 10) - (now + 10 - 120)) < 1e-6);
    for (int i = 0; i < 3; i++) nna_client_clock_sample(d, now + i - 30, now + i - 0.01, now + i);
    nna_client_clock_sample(d, now + 3 - 30, now + 2.99, now + 3);
    ck_assert(fabs(nna_client_window_start(d, now + 10) - (now + 10 - 31)) < 1e-6);
    nna_client_shutdown(d, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tctx_stop(&t);
}
END_TEST

/* The created_at of our own objects is the clock the list filters use: it wins over Date
 * headers that disagree with it (a proxy 60 s behind). */
START_TEST(clock_created_at_is_preferred_to_date)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = t.client;
    double now = 1e9;
    for (int i = 0; i < 3; i++) nna_client_clock_sample(c, now + i - 60, now + i - 0.01, now + i);
    ck_assert(fabs(nna_client_window_start(c, now + 10) - (now + 10 - 61)) < 1e-6);
    nna_client_clock_created(c, now + 5, now + 5 - 0.01, now + 5);
    ck_assert(fabs(nna_client_window_start(c, now + 10) - (now + 9)) < 1e-6);
    tctx_stop(&t);
}
END_TEST

/* A successful run's reply teaches the client the created_at clock. */
START_TEST(clock_learned_from_our_own_runs)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"date_skew\":-60}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_1, "teach me the clock");
    settle_ok(&t, f);
    nna_future_unref(f);
    double t0 = wall();
    double w = nna_client_window_start(t.client, t0);
    ck_assert_msg(w > t0 - 3 && w <= t0 - 1 + 1e-9, "window %.3f s before t0", t0 - w);
    tctx_stop(&t);
}
END_TEST

static const double skews[] = { -3600, -5, 2, 5, 3600 };

/* The Date header of every reply is off by the skew, created_at is not; the client has
 * seen a reply before its runs; somebody else made a task of the same query 2 s before
 * (older than this client's reconcile_skew of 1 s). A run committed and then answered 500
 * (even i) or dropped (odd i) is adopted, exactly one task; a run answered the same way
 * but not committed never adopts the older task: it is re-sent once. */
START_TEST(skewed_date_runs_in_doubt)
{
    double skew = skews[_i / 2];
    int drop = _i % 2;
    tctx t;
    tctx_start(&t, NULL, NULL);
    client_with_skew(&t, 1);
    char cfg[64];
    snprintf(cfg, sizeof cfg, "{\"date_skew\":%g}", skew);
    emu_config(&t, cfg);
    nna_client_options o;
    tctx_options(&t, &o);
    nna_client *other = NULL; /* another program: its claims are not ours */
    ck_assert_int_eq(tclient_new(t.loop, &o, &other), NNA_OK);
    nna_future *old = run_q(other, NNA_EMU_AGENT_2, "Same query");
    settle_ok(&t, old);
    char old_id[40];
    snprintf(old_id, sizeof old_id, "%s", ((const nna_task *)nna_future_result(old))->task_id);
    nna_future_unref(old);
    nna_client_shutdown(other, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_future *g = nna_agents_list(t.client, NULL); /* the client learns the (skewed) clock */
    settle_ok(&t, g);
    nna_future_unref(g);
    run_for(&t, 2.1);
    script(&t, drop ? "{\"route\":\"run\",\"responses\":[{\"commit\":true,\"drop\":true},"
                      "{\"drop\":true}]}"
                    : "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true},"
                      "{\"status\":500}]}");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "Same query");
    settle_ok(&t, f);
    ck_assert_msg(nna_future_reconciled(f), "skew %g drop %d: not adopted", skew, drop);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    char mine[40];
    snprintf(mine, sizeof mine, "%s", ((const nna_task *)nna_future_result(f))->task_id);
    ck_assert_str_ne(mine, old_id);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 2);
    nna_future_unref(f);
    f = run_q(t.client, NNA_EMU_AGENT_2, "Same query");
    settle_ok(&t, f);
    ck_assert_msg(!nna_future_reconciled(f), "skew %g drop %d: adopted an older task", skew, drop);
    ck_assert_str_ne(((const nna_task *)nna_future_result(f))->task_id, old_id);
    ck_assert_str_ne(((const nna_task *)nna_future_result(f))->task_id, mine);
    ck_assert_int_eq(emu_route_count(&t, "run"), 4); /* old, mine, twice the last */
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 3);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ==== other writes ===================================================================== */

/* User messages of a task whose content is `text` (through the API). */
static int messages_with(tctx *t, const char *task, const char *text)
{
    nna_future *f = nna_tasks_messages(t->client, task);
    settle_ok(t, f);
    const nna_message_list *l = nna_future_result(f);
    int n = 0;
    for (size_t i = 0; i < l->count; i++)
        if (l->items[i].text && strcmp(l->items[i].text, text) == 0) n++;
    nna_future_unref(f);
    return n;
}

static void waiting_task(tctx *t, char id[40])
{
    nna_future *f = run_q(t->client, NNA_EMU_AGENT_1, "Which one? ASK: pick");
    settle_ok(t, f);
    snprintf(id, 40, "%s", ((const nna_task *)nna_future_result(f))->task_id);
    nna_future_unref(f);
}

/* commit-then-500 (i = 0) and commit-then-drop (i = 1): the message is in the log once,
 * the send is adopted with the message's id. */
START_TEST(message_in_doubt_is_found)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"task_ms\":20000}");
    char task[40];
    waiting_task(&t, task);
    script(&t, _i ? "{\"route\":\"tasks.message\",\"responses\":[{\"commit\":true,\"drop\":true}]}"
                  : "{\"route\":\"tasks.message\",\"responses\":[{\"status\":500,\"commit\":true}]}");
    nna_future *f = nna_tasks_send_message(t.client, task, "use page 2");
    settle_ok(&t, f);
    ck_assert(nna_future_reconciled(f));
    const nna_message_ack *ack = nna_future_result(f);
    ck_assert_ptr_nonnull(ack->message_id);
    ck_assert_str_eq(ack->task_id, task);
    ck_assert_int_eq(emu_route_count(&t, "tasks.message"), 1);
    ck_assert_int_eq(emu_route_count(&t, "tasks.messages"), 1);
    ck_assert_int_eq(messages_with(&t, task, "use page 2"), 1);
    /* the id is the logged message's */
    nna_future *l = nna_tasks_messages(t.client, task);
    settle_ok(&t, l);
    const nna_message_list *ml = nna_future_result(l);
    int seen = 0;
    for (size_t k = 0; k < ml->count; k++)
        seen += ml->items[k].id && strcmp(ml->items[k].id, ack->message_id) == 0;
    ck_assert_int_eq(seen, 1);
    nna_future_unref(l);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Not committed: looked for, absent, re-sent once. The same text sent before the send is
 * not taken for it. */
START_TEST(message_absent_is_resent_once)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"task_ms\":20000}");
    char task[40];
    waiting_task(&t, task);
    nna_future *f = nna_tasks_send_message(t.client, task, "yes");
    settle_ok(&t, f);
    nna_future_unref(f);
    run_for(&t, 2.1); /* the first "yes" is now older than the window */
    script(&t, _i ? "{\"route\":\"tasks.message\",\"responses\":[{\"drop\":true}]}"
                  : "{\"route\":\"tasks.message\",\"responses\":[{\"status\":503}]}");
    f = nna_tasks_send_message(t.client, task, "yes");
    settle_ok(&t, f);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert_int_eq(messages_with(&t, task, "yes"), 2);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* The look itself fails: unknown, never re-sent. */
START_TEST(message_look_failing_is_unknown)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    emu_config(&t, "{\"task_ms\":20000}");
    char task[40];
    waiting_task(&t, task);
    script(&t, "{\"route\":\"tasks.message\",\"responses\":[{\"status\":500}]}");
    script(&t, "{\"route\":\"tasks.messages\",\"responses\":[{\"status\":401}]}");
    nna_future *f = nna_tasks_send_message(t.client, task, "lost");
    ck_assert(run_until_done(t.loop, f, 10));
    ck_assert_int_eq(nna_future_status(f), NNA_EOUTCOME_UNKNOWN);
    ck_assert_int_eq(emu_route_count(&t, "tasks.message"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* The message log's content is "any JSON": a string, an object or a list of parts with the
 * text; agent messages (user_id null, or a role that is not "user") are never ours. */
START_TEST(message_look_copes_with_every_content_shape)
{
    nna_op op;
    memset(&op, 0, sizeof op);
    op.match_query = (char *)"Use  page 2";
    const char *yes[] = {
        "{\"id\":\"x\",\"content\":\"use page 2\"}",
        "{\"id\":\"x\",\"content\":{\"text\":\"Use page 2\"}}",
        "{\"id\":\"x\",\"content\":[{\"type\":\"text\",\"text\":\"use page 2 \"}]}",
        "{\"id\":\"x\",\"content\":{\"message\":\"use page 2\"},\"role\":\"user\"}",
    };
    const char *no[] = {
        "{\"id\":\"x\",\"content\":\"use page 3\"}",
        "{\"id\":\"x\",\"content\":\"use page 2\",\"user_id\":null}",
        "{\"id\":\"x\",\"content\":\"use page 2\",\"role\":\"assistant\"}",
        "{\"id\":\"x\",\"content\":42}",
        "{\"id\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        cJSON *m = cJSON_Parse(yes[i]);
        ck_assert_msg(nna_look_message.fits(m, &op) == 1, "%s", yes[i]);
        cJSON_Delete(m);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        cJSON *m = cJSON_Parse(no[i]);
        ck_assert_msg(nna_look_message.fits(m, &op) == 0, "%s", no[i]);
        cJSON_Delete(m);
    }
}
END_TEST

static int versions_of(tctx *t, const char *agent)
{
    nna_future *f = nna_agents_versions(t->client, agent, NULL);
    settle_ok(t, f);
    int n = (int)((const nna_agent_page *)nna_future_result(f))->page.count;
    nna_future_unref(f);
    return n;
}

/* Publish committed, then 500 (i = 0) or dropped (i = 1): one new version, adopted, the
 * result is that version. */
START_TEST(publish_in_doubt_is_found)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/agents/" NNA_EMU_AGENT_1 "/draft", "{}", NULL));
    int before = versions_of(&t, NNA_EMU_AGENT_1);
    script(&t, _i ? "{\"route\":\"agents.publish\",\"responses\":[{\"commit\":true,\"drop\":true}]}"
                  : "{\"route\":\"agents.publish\",\"responses\":[{\"status\":500,\"commit\":true}]}");
    nna_future *f = nna_agents_publish(t.client, NNA_EMU_AGENT_1);
    settle_ok(&t, f);
    ck_assert(nna_future_reconciled(f));
    const nna_agent *a = nna_future_result(f);
    ck_assert_int_eq(a->version_number, 2);
    ck_assert_int_eq(a->status, NNA_AGENT_PUBLISHED);
    ck_assert_str_ne(a->id, NNA_EMU_AGENT_1);
    ck_assert_int_eq(versions_of(&t, NNA_EMU_AGENT_1), before + 1);
    ck_assert_int_eq(emu_route_count(&t, "agents.publish"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Publish not committed: absent, re-sent once, one new version. */
START_TEST(publish_absent_is_resent_once)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/agents/" NNA_EMU_AGENT_1 "/draft", "{}", NULL));
    int before = versions_of(&t, NNA_EMU_AGENT_1);
    script(&t, "{\"route\":\"agents.publish\",\"responses\":[{\"status\":502}]}");
    nna_future *f = nna_agents_publish(t.client, NNA_EMU_AGENT_1);
    settle_ok(&t, f);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_int_eq(emu_route_count(&t, "agents.publish"), 2);
    ck_assert_int_eq(versions_of(&t, NNA_EMU_AGENT_1), before + 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static int agents_named(tctx *t, const char *name)
{
    nna_agents_list_options lo;
    nna_agents_list_options_init(&lo);
    lo.q = name;
    nna_future *f = nna_agents_list(t->client, &lo);
    settle_ok(t, f);
    const nna_agent_page *p = nna_future_result(f);
    int n = 0;
    for (size_t i = 0; i < p->page.count; i++) n += strcmp(p->items[i].name, name) == 0;
    nna_future_unref(f);
    return n;
}

/* Create committed, then 500 (i = 0) or dropped (i = 1): one agent of that name, adopted,
 * the result is the full agent (config included), as the create would have answered. */
START_TEST(create_in_doubt_is_found)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    /* an agent whose name contains ours is not ours */
    nna_agent_create_options co;
    nna_agent_create_options_init(&co);
    co.name = "Reader of invoices v2";
    nna_future *f = nna_agents_create(t.client, &co);
    settle_ok(&t, f);
    nna_future_unref(f);
    script(&t, _i ? "{\"route\":\"agents.create\",\"responses\":[{\"commit\":true,\"drop\":true}]}"
                  : "{\"route\":\"agents.create\",\"responses\":[{\"status\":500,\"commit\":true}]}");
    co.name = "Reader of invoices";
    co.system_prompt = "Read invoices.";
    f = nna_agents_create(t.client, &co);
    settle_ok(&t, f);
    ck_assert(nna_future_reconciled(f));
    const nna_agent *a = nna_future_result(f);
    ck_assert_str_eq(a->name, "Reader of invoices");
    ck_assert_ptr_nonnull(a->system_prompt);
    ck_assert_str_eq(a->system_prompt, "Read invoices.");
    ck_assert_int_eq(emu_route_count(&t, "agents.create"), 2);
    ck_assert_int_eq(agents_named(&t, "Reader of invoices"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Create not committed: absent, re-sent once, one agent. */
START_TEST(create_absent_is_resent_once)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"agents.create\",\"responses\":[{\"status\":503}]}");
    nna_agent_create_options co;
    nna_agent_create_options_init(&co);
    co.name = "Fresh agent";
    nna_future *f = nna_agents_create(t.client, &co);
    settle_ok(&t, f);
    ck_assert(!nna_future_reconciled(f));
    ck_assert_int_eq(emu_route_count(&t, "agents.create"), 2);
    ck_assert_int_eq(agents_named(&t, "Fresh agent"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ==== one reconciler per workspace ===================================================== */

static void two_clients(tctx *t, nna_workspace **ws, nna_client **a, nna_client **b)
{
    nna_workspace_options wo;
    nna_workspace_options_init(&wo);
    ck_assert_int_eq(nna_workspace_new(&wo, ws), NNA_OK);
    nna_client_options o;
    tctx_options(t, &o);
    o.workspace = *ws;
    o.reconcile_settle = 1.0; /* both in doubt before the look starts, even under valgrind */
    ck_assert_int_eq(tclient_new(t->loop, &o, a), NNA_OK);
    o.api_key = "test-key";   /* (the emulator knows one key per workspace by default) */
    ck_assert_int_eq(tclient_new(t->loop, &o, b), NNA_OK);
}

/* Two clients of one workspace, each with a run of the same agent in doubt: one walk of
 * GET /tasks decides for both. */
START_TEST(workspace_shares_one_look)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_workspace *ws;
    nna_client *a, *b;
    two_clients(&t, &ws, &a, &b);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true},"
               "{\"status\":500,\"commit\":true}]}");
    nna_future *fa = run_q(a, NNA_EMU_AGENT_2, "from client a");
    nna_future *fb = run_q(b, NNA_EMU_AGENT_2, "from client b");
    settle_ok(&t, fa);
    settle_ok(&t, fb);
    ck_assert(nna_future_reconciled(fa) && nna_future_reconciled(fb));
    ck_assert_str_ne(((const nna_task *)nna_future_result(fa))->task_id,
                     ((const nna_task *)nna_future_result(fb))->task_id);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 1);
    ck_assert_int_eq(emu_route_count(&t, "run"), 2);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 2);
    nna_future_unref(fa);
    nna_future_unref(fb);
    nna_client_shutdown(a, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_client_shutdown(b, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_workspace_unref(ws);
    tctx_stop(&t);
}
END_TEST

/* The client carrying the shared walk shuts down while its page is in flight: the other
 * client's run is still decided (the walk starts again on its transport), nothing dangles. */
START_TEST(workspace_look_survives_its_client)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_workspace *ws;
    nna_client *a, *b;
    two_clients(&t, &ws, &a, &b);
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true},"
               "{\"status\":500,\"commit\":true}]}");
    script(&t, "{\"route\":\"tasks.list\",\"responses\":[{\"pass\":true,\"delay_ms\":400}]}");
    nna_future *fa = run_q(a, NNA_EMU_AGENT_2, "from client a");
    run_for(&t, 0.05);
    nna_future *fb = run_q(b, NNA_EMU_AGENT_2, "from client b");
    /* a joined first: the look lives on a; wait until its (slow) page has been taken */
    double until = tclock() + 5;
    for (int pending = 1; pending && tclock() < until;) {
        run_for(&t, 0.02);
        cJSON *j = emu_ctl(&t, "GET", "/_emu/script", NULL, NULL);
        pending = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pending"), "tasks.list") != NULL;
        cJSON_Delete(j);
    }
    nna_client_shutdown(a, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    ck_assert(run_until_done(t.loop, fa, 10));
    ck_assert_int_eq(nna_future_status(fa), NNA_ESHUTDOWN);
    settle_ok(&t, fb);
    ck_assert(nna_future_reconciled(fb));
    ck_assert_str_eq(((const nna_task *)nna_future_result(fb))->agent_id, NNA_EMU_AGENT_2);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 2);
    ck_assert_int_eq(emu_route_count(&t, "run"), 2);
    nna_future_unref(fa);
    nna_future_unref(fb);
    nna_client_shutdown(b, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_workspace_unref(ws);
    tctx_stop(&t);
}
END_TEST

/* ==== suite ============================================================================ */

static int wanted(const char *name)
{
    const char *only = getenv("RECONCILE_ONLY");
    return !only || !*only || strstr(name, only);
}
#define ADD(tc, fn) do { if (wanted(#fn)) tcase_add_test(tc, fn); } while (0)
#define ADD_LOOP(tc, fn, n) do { if (wanted(#fn)) tcase_add_loop_test(tc, fn, 0, n); } while (0)

int main(void)
{
    Suite *s = suite_create("reconcile (" TLOOP_NAME ")");
    TCase *clock = tcase_create("clock");
    tcase_set_timeout(clock, 60);
    ADD(clock, clock_one_outlier_does_not_move_the_window);
    ADD(clock, clock_window_is_bounded_on_both_sides);
    ADD(clock, clock_created_at_is_preferred_to_date);
    ADD(clock, clock_learned_from_our_own_runs);
    ADD_LOOP(clock, skewed_date_runs_in_doubt, 10);
    suite_add_tcase(s, clock);
    TCase *writes = tcase_create("writes");
    tcase_set_timeout(writes, 60);
    ADD_LOOP(writes, message_in_doubt_is_found, 2);
    ADD_LOOP(writes, message_absent_is_resent_once, 2);
    ADD(writes, message_look_failing_is_unknown);
    ADD(writes, message_look_copes_with_every_content_shape);
    ADD_LOOP(writes, publish_in_doubt_is_found, 2);
    ADD(writes, publish_absent_is_resent_once);
    ADD_LOOP(writes, create_in_doubt_is_found, 2);
    ADD(writes, create_absent_is_resent_once);
    suite_add_tcase(s, writes);
    TCase *ws = tcase_create("workspace");
    tcase_set_timeout(ws, 60);
    ADD(ws, workspace_shares_one_look);
    ADD(ws, workspace_look_survives_its_client);
    suite_add_tcase(s, ws);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
