/* The library as a new user expects it: base URLs as the public docs give them, URLs and
 * keys that cannot be sent right are refused at creation, a wait that runs out of time has
 * no result (future.h), and nna_version(). Against an in-process nna-emu. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

#define A1 NNA_EMU_AGENT_1

static void expect(tctx *t, nna_future *f, nna_status st)
{
    ck_assert_ptr_nonnull(f);
    run_until_done(t->loop, f, 20);
    ck_assert_msg(nna_future_status(f) == st, "expected %s, got %s (%s)", nna_status_name(st),
                  nna_status_name(nna_future_status(f)),
                  nna_future_error(f) ? nna_future_error(f) : "");
}

/* A client on t's loop with base_url `base`; NNA_OK or the creation's status. */
static nna_status client_with(tctx *t, const char *base, const char *key, nna_client **out)
{
    nna_client_options o;
    tctx_options(t, &o);
    o.base_url = base;
    if (key) o.api_key = key;
    return tclient_new(t->loop, &o, out);
}

static void shut(tctx *t, nna_client *c)
{
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tloop_run(t);
}

START_TEST(base_url_with_api_v1_is_not_doubled)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    const char *suffixes[] = { "/api/v1", "/api/v1/", "", "/" };
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char base[128];
        snprintf(base, sizeof base, "%s%s", t.base, suffixes[i]);
        nna_client *c;
        ck_assert_int_eq(client_with(&t, base, NULL, &c), NNA_OK);
        nna_future *f = nna_agents_get(c, A1);
        expect(&t, f, NNA_OK); /* /api/v1/api/v1/agents/... would be a 404 */
        nna_future_unref(f);
        shut(&t, c);
    }
    tctx_stop(&t);
}
END_TEST

START_TEST(base_url_with_credentials_query_or_fragment_is_refused)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    const char *bad[] = {
        "http://user:secret@127.0.0.1:1", "https://user@agents.nanonets.com",
        "http://127.0.0.1:1/?x=1", "http://127.0.0.1:1#frag", "http://127.0.0.1:1/a?",
        "http://", "http://127.0.0.1:1/a b", "ftp://127.0.0.1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nna_client *c = NULL;
        ck_assert_msg(client_with(&t, bad[i], NULL, &c) == NNA_EINVAL, "%s accepted", bad[i]);
        ck_assert_ptr_null(c);
    }
    /* An '@' in the path is not userinfo. */
    nna_client *c;
    ck_assert_int_eq(client_with(&t, "HTTP://127.0.0.1:1/x@y", NULL, &c), NNA_OK);
    shut(&t, c);
    tctx_stop(&t);
}
END_TEST

START_TEST(api_key_with_control_characters_is_refused)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    const char *bad[] = { "abc\x01" "def", "abc\tdef", "abc\x7f", "abc\x1b[2J", "a\rb", "a\nb" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nna_client *c = NULL;
        ck_assert_msg(client_with(&t, t.base, bad[i], &c) == NNA_EINVAL, "key %zu accepted", i);
    }
    tctx_stop(&t);
}
END_TEST

START_TEST(wait_and_watch_deadline_have_no_result)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    int st;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"task_ms\":60000}", &st));
    ck_assert_int_eq(st, 200);
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "long";
    nna_future *run = nna_agents_run(t.client, A1, &ro);
    expect(&t, run, NNA_OK);
    const nna_task *task = nna_future_result(run);

    nna_wait_options wo;
    nna_wait_options_init(&wo);
    wo.interval = 0.03;
    wo.deadline = 0.2;
    nna_future *f = nna_tasks_wait(t.client, task->task_id, &wo);
    expect(&t, f, NNA_EDEADLINE);
    ck_assert_ptr_null(nna_future_result(f));
    nna_future_unref(f);

    nna_watch_options o;
    nna_watch_options_init(&o);
    o.interval = 0.05;
    o.deadline = 0.1;
    nna_watch *w;
    ck_assert_int_eq(nna_watch_new(t.client, &o, &w), NNA_OK);
    f = nna_watch_add_task(w, task);
    expect(&t, f, NNA_EDEADLINE);
    ck_assert_ptr_null(nna_future_result(f));
    nna_future_unref(f);
    nna_watch_free(w);
    nna_future_unref(run);
    tctx_stop(&t);
}
END_TEST

typedef struct seen {
    char statuses[8][24];
    int n;
    nna_future *cancel; /* cancelled from inside the callback when set */
} seen;

static void on_status(const nna_task *t, void *ud)
{
    seen *s = ud;
    if (s->n < 8) snprintf(s->statuses[s->n++], 24, "%s", nna_task_status_name(t->status));
    if (s->cancel) nna_future_cancel(s->cancel);
}

START_TEST(wait_reports_status_changes_once_each)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"task_ms\":400}", NULL));
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "status please";
    nna_future *run = nna_agents_run(t.client, A1, &ro);
    expect(&t, run, NNA_OK);
    const nna_task *task = nna_future_result(run);
    seen s = { .n = 0 };
    nna_wait_options wo;
    nna_wait_options_init(&wo);
    wo.interval = 0.03;
    wo.max_interval = 0.05;
    wo.on_status = on_status;
    wo.status_user_data = &s;
    nna_future *f = nna_tasks_wait(t.client, task->task_id, &wo);
    ck_assert_int_eq(s.n, 0); /* never inside the call */
    expect(&t, f, NNA_OK);
    nna_future_unref(f);
    /* Many polls, one report per status: pending or running first, no repeats. */
    ck_assert_int_ge(s.n, 1);
    ck_assert_int_le(s.n, 2);
    ck_assert_str_eq(s.statuses[s.n - 1], "running");
    if (s.n == 2) ck_assert_str_eq(s.statuses[0], "pending");

    /* Cancelling the wait from the callback ends it there. */
    memset(&s, 0, sizeof s);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"task_ms\":60000}", NULL));
    nna_future *run2 = nna_agents_run(t.client, A1, &ro);
    expect(&t, run2, NNA_OK);
    f = nna_tasks_wait(t.client, ((const nna_task *)nna_future_result(run2))->task_id, &wo);
    s.cancel = f;
    expect(&t, f, NNA_ECANCELLED);
    ck_assert_int_eq(s.n, 1);
    nna_future_unref(f);
    nna_future_unref(run2);
    nna_future_unref(run);
    tctx_stop(&t);
}
END_TEST

START_TEST(watch_settled_future_says_when_all_is_done)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"task_ms\":300}", NULL));
    nna_watch_options o;
    nna_watch_options_init(&o);
    o.interval = 0.05;
    o.max_interval = 0.1;
    nna_watch *w;
    ck_assert_int_eq(nna_watch_new(t.client, &o, &w), NNA_OK);
    /* Nothing watched: settled at once. */
    nna_future *all = nna_watch_settled(w);
    expect(&t, all, NNA_OK);
    ck_assert_ptr_null(nna_future_error(all));
    nna_future_unref(all);

    nna_run_options ro;
    nna_run_options_init(&ro);
    nna_future *tasks[3];
    const char *queries[3] = { "one", "please FAIL", "three" };
    for (int i = 0; i < 3; i++) {
        ro.query = queries[i];
        nna_future *run = nna_agents_run(t.client, A1, &ro);
        expect(&t, run, NNA_OK);
        tasks[i] = nna_watch_add_task(w, nna_future_result(run));
        nna_future_unref(run);
    }
    all = nna_watch_settled(w);
    nna_future *again = nna_watch_settled(w);
    ck_assert_ptr_eq(all, again);
    nna_future_unref(again);
    expect(&t, all, NNA_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert(nna_future_done(tasks[i]));
        nna_future_unref(tasks[i]);
    }
    nna_future_unref(all);

    /* Freeing the watch ends a waiting one with NNA_ECANCELLED. */
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"task_ms\":60000}", NULL));
    ro.query = "long";
    nna_future *run = nna_agents_run(t.client, A1, &ro);
    expect(&t, run, NNA_OK);
    nna_future *one = nna_watch_add_task(w, nna_future_result(run));
    all = nna_watch_settled(w);
    nna_watch_free(w);
    expect(&t, all, NNA_ECANCELLED);
    nna_future_unref(all);
    nna_future_unref(one);
    nna_future_unref(run);
    tctx_stop(&t);
}
END_TEST

START_TEST(version_of_the_linked_library)
{
    ck_assert_ptr_nonnull(nna_version());
    ck_assert_str_eq(nna_version(), NNA_VERSION);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_ux");
    TCase *tc = tcase_create("client_ux");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, base_url_with_api_v1_is_not_doubled);
    tcase_add_test(tc, base_url_with_credentials_query_or_fragment_is_refused);
    tcase_add_test(tc, api_key_with_control_characters_is_refused);
    tcase_add_test(tc, wait_and_watch_deadline_have_no_result);
    tcase_add_test(tc, wait_reports_status_changes_once_each);
    tcase_add_test(tc, watch_settled_future_says_when_all_is_done);
    tcase_add_test(tc, version_of_the_linked_library);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
