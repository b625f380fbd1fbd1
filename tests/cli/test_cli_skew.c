/* nna batch against a server whose Date header disagrees with its created_at (issue 17):
 * nna-emu's date_skew moves the Date of every answer by -3600 ... +3600 s while tasks are
 * stamped on the real clock. The batch's fence walk is the first reply the client sees, so
 * its Date sets the clock; the run is then committed and answered 500, or committed and
 * dropped. Exactly one task per line, found again (reconciled), never re-sent; the task
 * of the same query made just before the batch is not taken for it. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clitest.h"

#define KEY "test-key"

static const double skews[] = { -3600, -5, 2, 5, 3600 };

static long route_count(const emu_proc *e, const char *route)
{
    cJSON *j = emu_ctl(e, "GET", "/_emu/counters", NULL);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
    cJSON_Delete(j);
    return n;
}

START_TEST(t_batch_under_date_skew)
{
    double skew = skews[_i / 2];
    int drop = _i % 2;
    emu_proc E;
    emu_proc_start(&E, NULL);
    /* somebody else's task with the same query, just before the batch */
    long st = 0;
    cJSON *old = emu_http(&E, "POST", "/api/v1/agents/" AGENT_1 "/run",
                          "{\"query\":\"Skewed row\"}", KEY, &st);
    ck_assert_int_eq(st, 200);
    char old_id[40];
    snprintf(old_id, sizeof old_id, "%s", cJSON_GetObjectItem(old, "task_id")->valuestring);
    cJSON_Delete(old);
    char cfg[64];
    snprintf(cfg, sizeof cfg, "{\"date_skew\":%g}", skew);
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", cfg));
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/script", drop
        ? "{\"route\":\"run\",\"responses\":[{\"commit\":true,\"drop\":true}]}"
        : "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true}]}"));
    const char *dir = tmpdir();
    char in[300], out[300];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    write_file(in, "{\"id\":\"a\",\"agent_id\":\"" AGENT_1 "\",\"query\":\"Skewed row\"}\n");
    const char *args[] = { "--backoff", "0.05,0.1", "--no-progress", "batch", "--input", in,
                           "--output", out, NULL };
    nna_out r;
    nna_run(&r, &E, KEY, NULL, NULL, args);
    ck_assert_msg(r.code == 0, "skew %g drop %d: exit %d\n%s", skew, drop, r.code, r.err);
    char *o = read_file(out, NULL);
    ck_assert_uint_eq(count_lines(o), 1);
    cJSON *l = json_line(o, 0);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_ne(cJSON_GetObjectItem(l, "task_id")->valuestring, old_id);
    ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(l, "reconciled")),
                  "skew %g drop %d: not reconciled: %s", skew, drop, o);
    cJSON_Delete(l);
    free(o);
    ck_assert_msg(strstr(r.err, "\"reconciled\":1"), "skew %g drop %d: %s", skew, drop, r.err);
    ck_assert_int_eq(route_count(&E, "run"), 2);           /* the old one and ours, once */
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1), 2);
    nna_out_free(&r);
    emu_proc_stop(&E);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cli-skew");
    TCase *tc = tcase_create("skew");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, t_batch_under_date_skew, 0, 10);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
