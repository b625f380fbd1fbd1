/* Scale-out failure model (docs/scale-out.md), with real redis-server and nna-emu:
 *  - Redis down at start: a clear error (exit 9, NNA_ELIMITER_UNAVAILABLE), nothing sent;
 *    a malformed --limiter URL is a usage error.
 *  - kill -9 of one of three batch processes mid-run: its leased slots leave the shared
 *    budget within the lease TTL (3 s) and the others finish, none failed.
 *  - Redis killed (data lost) and restarted mid-run: the batches finish, none failed, none
 *    duplicated, and the in-flight cap holds throughout (degraded: cap / processes).
 *  - the same when one process comes back to the restarted Redis long after the other
 *    (it was stopped meanwhile): the first stays within its share until the second is
 *    back, not only for a lease TTL. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "flight.h"

static const char *const EMU_ARGS[] = { "--rate", "200", "--burst", "20", "--latency-ms", "80", NULL };

static void finish_ok(pid_t pid, const char *err, const char *out, int runs)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    size_t n;
    char *msg = read_file(err, &n);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, msg ? msg : "");
    free(msg);
    char *o = read_file(out, &n);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(count_lines(o), (size_t)runs);
    ck_assert_msg(!strstr(o, "\"error\""), "a run failed in %s", out);
    free(o);
}

static pid_t start_batch(const emu_proc *e, const char *url, int i, int runs, char *out,
                         char *err)
{
    const char *dir = tmpdir();
    char in[256], so[300], tag[16];
    snprintf(tag, sizeof tag, "q%d", i);
    snprintf(in, sizeof in, "%s/fin%d.jsonl", dir, i);
    sprintf(out, "%s/fout%d.jsonl", dir, i);
    sprintf(err, "%s/ferr%d.txt", dir, i);
    snprintf(so, sizeof so, "%s.stdout", out);
    write_runs(in, tag, runs);
    const char *argv[] = { "--limiter", url, "--max-inflight", "24", "--no-progress",
                           "batch", "--input", in, "--output", out, NULL };
    return nna_spawn(e, "test-key", argv, so, err);
}

START_TEST(redis_down_at_start)
{
    emu_proc e;
    emu_proc_start(&e, NULL);
    redis_proc r;
    redis_start(&r, 0);
    char url[64];
    snprintf(url, sizeof url, "%s", r.url);
    redis_stop(&r, 1); /* a port where nothing listens now */
    nna_out o;
    const char *argv[] = { "--limiter", url, "agents", "list", NULL };
    nna_run(&o, &e, "test-key", NULL, NULL, argv);
    ck_assert_int_eq(o.code, 9);
    ck_assert_ptr_nonnull(strstr(o.err, "NNA_ELIMITER_UNAVAILABLE"));
    ck_assert_ptr_nonnull(strstr(o.err, "shared limiter"));
    nna_out_free(&o);
    /* the environment variable does the same */
    char envv[96];
    snprintf(envv, sizeof envv, "NNA_LIMITER=%s", url);
    const char *env[] = { envv, NULL };
    const char *argv2[] = { "agents", "list", NULL };
    nna_run(&o, &e, "test-key", env, NULL, argv2);
    ck_assert_int_eq(o.code, 9);
    nna_out_free(&o);
    const char *argv3[] = { "--limiter", "http://127.0.0.1:1", "agents", "list", NULL };
    nna_run(&o, &e, "test-key", NULL, NULL, argv3);
    ck_assert_int_eq(o.code, 2);
    nna_out_free(&o);
    ck_assert_int_eq(emu_requests(&e), 0); /* nothing was sent */
    emu_proc_stop(&e);
}
END_TEST

START_TEST(killed_process_slots_come_back)
{
    redis_proc r;
    redis_start(&r, 0);
    emu_proc e;
    emu_proc_start(&e, EMU_ARGS);
    char out[3][256], err[3][256];
    pid_t pid[3];
    for (int i = 0; i < 3; i++) pid[i] = start_batch(&e, r.url, i, 500, out[i], err[i]);
    /* wait until the victim holds slots, then kill it without a chance to give them back */
    double t0 = now_s();
    while (!redis_has_member(&r, "default", pid[0]) && now_s() - t0 < 10) sleep_s(0.05);
    ck_assert(redis_has_member(&r, "default", pid[0]));
    sleep_s(1.0);
    kill(pid[0], SIGKILL);
    waitpid(pid[0], NULL, 0);
    double tk = now_s();
    while (redis_has_member(&r, "default", pid[0]) && now_s() - tk < 8) sleep_s(0.05);
    double back = now_s() - tk;
    fprintf(stderr, "scale-out: slots of the killed process back after %.2f s (TTL 3 s)\n", back);
    ck_assert_msg(!redis_has_member(&r, "default", pid[0]), "still leased after %.1f s", back);
    ck_assert_msg(back <= 3.0 + 1.0, "back after %.2f s", back);
    for (int i = 1; i < 3; i++) finish_ok(pid[i], err[i], out[i], 500);
    emu_flight f;
    emu_flight_get(&e, &f);
    ck_assert_int_le(f.max_inflight, 24);
    emu_proc_stop(&e);
    redis_stop(&r, 0);
}
END_TEST

START_TEST(redis_restarted_mid_run)
{
    redis_proc r;
    redis_start(&r, 0);
    emu_proc e;
    emu_proc_start(&e, EMU_ARGS);
    char out[2][256], err[2][256];
    pid_t pid[2];
    for (int i = 0; i < 2; i++) pid[i] = start_batch(&e, r.url, i, 600, out[i], err[i]);
    sleep_s(1.5);
    unsigned port = r.port;
    redis_stop(&r, 1); /* crash: every lease, the gate, the rate and the scripts are lost */
    sleep_s(1.5);
    redis_start(&r, port);
    for (int i = 0; i < 2; i++) finish_ok(pid[i], err[i], out[i], 600);
    ck_assert_int_eq(emu_tasks_of(&e, AGENT_1), 1200); /* no duplicates, none lost */
    emu_flight f;
    emu_flight_get(&e, &f);
    fprintf(stderr, "scale-out: Redis restarted mid-run: max in flight %d (cap 24), span %.2f s\n",
            f.max_inflight, f.span);
    ck_assert_int_le(f.max_inflight, 24);
    /* after the restart the processes came back to the shared budget: the new Redis ran
     * their scripts (EVAL after NOSCRIPT reloads them) */
    char info[8192];
    const char *ic[] = { "INFO", "commandstats", NULL };
    ck_assert_int_gt(redis_cmd(&r, info, sizeof info, ic), 0);
    ck_assert_ptr_nonnull(strstr(info, "cmdstat_eval:"));
    ck_assert_ptr_nonnull(strstr(info, "cmdstat_evalsha:"));
    emu_proc_stop(&e);
    redis_stop(&r, 0);
}
END_TEST

/* B is stopped (SIGSTOP) across a Redis crash and restart and resumes 4.5 s later, past
 * the lease TTL: A, back in the new Redis long before, must not have taken the whole cap
 * in the meantime, since B resumes with what it held (from its local share) and only
 * then reconnects. */
START_TEST(redis_restarted_one_process_late)
{
    static const char *const fast[] = { "--latency-ms", "40", NULL };
    redis_proc r;
    redis_start(&r, 0);
    emu_proc e;
    emu_proc_start(&e, fast);
    char out[2][256], err[2][256];
    pid_t pid[2];
    pid[0] = start_batch(&e, r.url, 0, 3000, out[0], err[0]);
    pid[1] = start_batch(&e, r.url, 1, 600, out[1], err[1]);
    double t0 = now_s();
    while (!(redis_has_member(&r, "default", pid[0]) && redis_has_member(&r, "default", pid[1])) &&
           now_s() - t0 < 10)
        sleep_s(0.05);
    sleep_s(1.0);
    kill(pid[1], SIGSTOP);
    unsigned port = r.port;
    redis_stop(&r, 1);
    redis_start(&r, port);
    sleep_s(4.5);
    ck_assert_msg(!redis_has_member(&r, "default", pid[1]), "B came back while stopped?");
    kill(pid[1], SIGCONT);
    for (int i = 0; i < 2; i++) finish_ok(pid[i], err[i], out[i], i ? 600 : 3000);
    emu_flight f;
    emu_flight_get(&e, &f);
    fprintf(stderr, "scale-out: one process back 4.5 s late: max in flight %d (cap 24)\n",
            f.max_inflight);
    ck_assert_int_le(f.max_inflight, 24);
    emu_proc_stop(&e);
    redis_stop(&r, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scaleout_faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 55);
    tcase_add_test(tc, redis_down_at_start);
    tcase_add_test(tc, killed_process_slots_come_back);
    tcase_add_test(tc, redis_restarted_mid_run);
    tcase_add_test(tc, redis_restarted_one_process_late);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
