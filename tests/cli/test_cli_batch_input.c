/* Black-box tests of nna batch's input and re-runs: every non-blank input line gets exactly
 * one output line (lines with NUL bytes, lines over the 1 MiB limit), and a finished batch
 * run again with the same --output is refused unless --force (it would create every run
 * again). Against a standalone nna-emu. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include "clitest.h"

#define KEY "test-key"

static emu_proc E;

static void setup(void) { emu_proc_start(&E, NULL); }
static void teardown(void) { emu_proc_stop(&E); }

#define RUN(r, ...)                                                                      \
    do {                                                                                 \
        const char *a_[] = { __VA_ARGS__, NULL };                                        \
        nna_run((r), &E, KEY, NULL, NULL, a_);                                           \
    } while (0)

#define EXPECT(r, want)                                                                  \
    ck_assert_msg((r)->code == (want), "exit %d, want %d\nstdout: %s\nstderr: %s",        \
                  (r)->code, (want), (r)->out, (r)->err)

#define LINE(q) "{\"agent_id\":\"" AGENT_1 "\",\"query\":\"" q "\"}\n"

static void paths(char in[256], char out[256])
{
    const char *dir = tmpdir();
    snprintf(in, 256, "%s/in.jsonl", dir);
    snprintf(out, 256, "%s/out.jsonl", dir);
}

/* The status of the output line for input line `ln` (caller frees), or NULL. */
static char *status_of(const char *out, int ln)
{
    for (size_t i = 0; i < count_lines(out); i++) {
        cJSON *l = json_line(out, i);
        ck_assert_ptr_nonnull(l);
        const cJSON *n = cJSON_GetObjectItem(l, "line");
        char *st = NULL;
        if (cJSON_IsNumber(n) && (int)n->valuedouble == ln)
            st = strdup(cJSON_GetObjectItem(l, "status")->valuestring);
        cJSON_Delete(l);
        if (st) return st;
    }
    return NULL;
}

START_TEST(t_nul_lines_get_an_output_line)
{
    char in[256], out[256];
    paths(in, out);
    /* 28 lines; line 5 starts with a NUL byte, line 9 has one inside, line 12 is blank. */
    FILE *f = fopen(in, "wb");
    for (int i = 1; i <= 28; i++) {
        if (i == 5) fwrite("\0" LINE("five"), 1, sizeof LINE("five"), f);
        else if (i == 9) fwrite("{\"agent_id\":\0\"x\"}\n", 1, 18, f);
        else if (i == 12) fputs("  \n", f);
        else fprintf(f, "{\"agent_id\":\"" AGENT_1 "\",\"query\":\"line %d\"}\n", i);
    }
    fclose(f);
    int before = emu_tasks_of(&E, AGENT_1);
    nna_out r;
    RUN(&r, "batch", "--input", in, "--output", out);
    EXPECT(&r, 2);
    char *o = read_file(out, NULL);
    ck_assert_uint_eq(count_lines(o), 27); /* 28 lines, one blank */
    char *s5 = status_of(o, 5), *s9 = status_of(o, 9), *s1 = status_of(o, 1);
    ck_assert_str_eq(s5, "invalid");
    ck_assert_str_eq(s9, "invalid");
    ck_assert_str_eq(s1, "pending");
    ck_assert(strstr(o, "NUL byte"));
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1), before + 25);
    free(s1);
    free(s5);
    free(s9);
    free(o);
    nna_out_free(&r);
}
END_TEST

START_TEST(t_overlong_line_is_invalid_and_not_sent)
{
    char in[256], out[256];
    paths(in, out);
    FILE *f = fopen(in, "wb");
    fputs(LINE("short one"), f);
    /* A 3 MiB query: over the 1 MiB line limit. */
    fputs("{\"agent_id\":\"" AGENT_1 "\",\"query\":\"", f);
    for (int i = 0; i < 3 * 1024; i++) {
        char kib[1024];
        memset(kib, 'x', sizeof kib);
        fwrite(kib, 1, sizeof kib, f);
    }
    fputs("\"}\n", f);
    fputs(LINE("short two"), f);
    fclose(f);
    long before = emu_requests(&E);
    nna_out r;
    RUN(&r, "batch", "--input", in, "--output", out);
    EXPECT(&r, 2);
    char *o = read_file(out, NULL);
    ck_assert_uint_eq(count_lines(o), 3);
    char *s2 = status_of(o, 2);
    ck_assert_str_eq(s2, "invalid");
    ck_assert(strstr(o, "longer than the limit of 1 MiB"));
    /* Two runs (and the batch's listings), never the huge one. */
    cJSON *log = emu_ctl(&E, "GET", "/_emu/counters", NULL);
    const cJSON *runs = cJSON_GetObjectItem(cJSON_GetObjectItem(log, "by_route"), "run");
    ck_assert_int_eq((int)runs->valuedouble, 2);
    ck_assert_int_le(emu_requests(&E) - before, 6);
    cJSON_Delete(log);
    free(s2);
    free(o);
    nna_out_free(&r);
}
END_TEST

START_TEST(t_finished_batch_is_not_run_twice)
{
    char in[256], out[256];
    paths(in, out);
    write_file(in, LINE("once") LINE("only once"));
    nna_out r;
    RUN(&r, "batch", "--input", in, "--output", out);
    EXPECT(&r, 0);
    nna_out_free(&r);
    int tasks = emu_tasks_of(&E, AGENT_1);
    char *first = read_file(out, NULL);

    /* Again, same --output, without --resume: refused, nothing sent, output kept. */
    RUN(&r, "batch", "--input", in, "--output", out);
    EXPECT(&r, 2);
    ck_assert_msg(strstr(r.err, "already finished") && strstr(r.err, "--force"), "%s", r.err);
    nna_out_free(&r);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1), tasks);
    char *kept = read_file(out, NULL);
    ck_assert_str_eq(kept, first);
    free(kept);

    /* --resume: nothing left to do. */
    RUN(&r, "batch", "--input", in, "--output", out, "--resume");
    EXPECT(&r, 0);
    nna_out_free(&r);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1), tasks);

    /* --force: on purpose, every run again. */
    RUN(&r, "batch", "--input", in, "--output", out, "--force");
    EXPECT(&r, 0);
    nna_out_free(&r);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1), tasks + 2);
    free(first);
}
END_TEST

START_TEST(t_ctrl_c_says_how_to_resume)
{
    char in[256], out[256], err[300], so[300];
    paths(in, out);
    snprintf(err, sizeof err, "%s.err", out);
    snprintf(so, sizeof so, "%s.stdout", out);
    /* 400 runs at 40 requests/s: ten seconds, stopped after one. */
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", "{\"rate\":40,\"burst\":5}"));
    FILE *f = fopen(in, "w");
    for (int i = 1; i <= 400; i++)
        fprintf(f, "{\"agent_id\":\"" AGENT_1 "\",\"query\":\"interrupted %d\"}\n", i);
    fclose(f);
    const char *args[] = { "batch", "--input", in, "--output", out, NULL };
    pid_t pid = nna_spawn(&E, KEY, args, so, err);
    sleep_s(1.5);
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    int st;
    double t0 = now_s();
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    ck_assert_msg(now_s() - t0 < 5, "took %.1f s to stop", now_s() - t0);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 130);
    char *e = read_file(err, NULL);
    ck_assert_msg(strstr(e, "batch stopped (Ctrl-C)") && strstr(e, "--resume") &&
                  strstr(e, out), "%s", e);
    free(e);
    char *o = read_file(out, NULL);
    size_t partial = count_lines(o);
    free(o);
    ck_assert_msg(partial > 0 && partial < 400, "%zu lines", partial);

    /* Resumed as told: every line once, no task twice. */
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", "{\"rate\":0}"));
    nna_out r;
    RUN(&r, "batch", "--input", in, "--output", out, "--resume");
    EXPECT(&r, 0);
    nna_out_free(&r);
    o = read_file(out, NULL);
    ck_assert_uint_eq(count_lines(o), 400);
    free(o);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1), 400);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_batch_input");
    TCase *tc = tcase_create("cli_batch_input");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_nul_lines_get_an_output_line);
    tcase_add_test(tc, t_overlong_line_is_invalid_and_not_sent);
    tcase_add_test(tc, t_finished_batch_is_not_run_twice);
    tcase_add_test(tc, t_ctrl_c_says_how_to_resume);
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
