/* The batch runner's crash-safety proof and the demo, black-box against a standalone
 * nna-emu.
 *
 * A 1,000-run batch is killed with SIGKILL at several random moments (the emulator adds
 * latency so the kills land with runs in flight, and commits 2 % of the runs while
 * answering 500) and resumed each time with --resume; then the emulator's task store and
 * the output are counted: exactly one task per input line, exactly one output line per
 * input line, and the 100 older tasks of the same agent with the same queries, created
 * just before the batch, were never adopted. The same with --wait on a smaller batch.
 * NNA_CRASH_SEED=N replays the kill times. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "clitest.h"

#define KEY "test-key"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int contains(char **sorted, size_t n, const char *s)
{
    return bsearch(&s, sorted, n, sizeof *sorted, cmp_str) != NULL;
}

static size_t out_lines(const char *path)
{
    char *t = read_file(path, NULL);
    size_t n = 0;
    for (char *p = t; p && *p; p++) n += *p == '\n';
    free(t);
    return n;
}

/* Task ids the emulator stores for the two agents (sorted; caller frees). */
static char **emu_task_ids(const emu_proc *e, size_t *n)
{
    const char *agents[] = { AGENT_1, AGENT_2 };
    char **ids = NULL;
    *n = 0;
    for (int a = 0; a < 2; a++) {
        char path[128];
        snprintf(path, sizeof path, "/_emu/tasks?agent_id=%s", agents[a]);
        cJSON *j = emu_ctl(e, "GET", path, NULL);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "data")) {
            ids = realloc(ids, (*n + 1) * sizeof *ids);
            ids[(*n)++] = strdup(cJSON_GetObjectItem(t, "task_id")->valuestring);
        }
        cJSON_Delete(j);
    }
    qsort(ids, *n, sizeof *ids, cmp_str);
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

static unsigned seed_of_run(void)
{
    const char *s = getenv("NNA_CRASH_SEED");
    return s && *s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
}

/* Runs `runs` lines through batch, killing it `kills` times, then resumes to the end;
 * checks the invariants. `old` tasks with the same queries are made first. */
static void crash_and_resume(const char *emu_config, int runs, int kills, int wait, int old,
                             double kill_max)
{
    unsigned seed = seed_of_run();
    srand(seed);
    emu_proc E;
    const char *emu_args[] = { "--seed", "7", NULL };
    emu_proc_start(&E, emu_args);
    const char *dir = tmpdir();
    char in[300], out[300], err[300];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);

    /* Older tasks of the same agent with the same queries, created just before the batch:
     * never to be adopted, neither by the resume nor by an in-flight reconciliation. */
    char **old_ids = calloc((size_t)old + 1, sizeof *old_ids);
    for (int k = 0; k < old; k++) {
        char body[256], path[128];
        snprintf(body, sizeof body, "{\"query\":\"Crash row %04d: summarise the report\"}", 2 * k + 1);
        snprintf(path, sizeof path, "/api/v1/agents/%s/run", AGENT_1);
        long st = 0;
        cJSON *t = emu_http(&E, "POST", path, body, KEY, &st);
        ck_assert_int_eq(st, 200);
        old_ids[k] = strdup(cJSON_GetObjectItem(t, "task_id")->valuestring);
        cJSON_Delete(t);
    }
    qsort(old_ids, (size_t)old, sizeof *old_ids, cmp_str);
    /* Then latency (so kills land with runs in flight) and faults. */
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", emu_config));

    FILE *f = fopen(in, "w");
    for (int i = 1; i <= runs; i++)
        fprintf(f, "{\"id\":\"k%d\",\"agent_id\":\"%s\",\"query\":\"Crash row %04d: summarise the report\"}\n",
                i, i % 2 ? AGENT_1 : AGENT_2, i);
    fclose(f);

    const char *args[] = { "--max-inflight", "8", "--backoff", "0.05,0.1,0.2", "--no-progress",
                           "batch", "--input", in, "--output", out, "--resume",
                           wait ? "--wait" : NULL, NULL };
    fprintf(stderr, "[crash] seed %u, %d runs%s, %d kills\n", seed, runs, wait ? " --wait" : "", kills);
    for (int k = 0; k < kills; k++) {
        snprintf(err, sizeof err, "%s/err%d", dir, k);
        char outk[320];
        snprintf(outk, sizeof outk, "%s/stdout%d", dir, k);
        pid_t pid = nna_spawn(&E, KEY, args, outk, err);
        /* Any moment: before the journal exists, while fences are read, while runs are
         * sent; a resumed run first waits up to 1 s for commits of the killed one to
         * settle, then reconciles, then sends. */
        double t0 = now_s();
        sleep_s((k == 0 ? kill_max : kill_max + 1.5) * rand() / (double)RAND_MAX);
        int st = 0, running = waitpid(pid, &st, WNOHANG) == 0;
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        fprintf(stderr, "[crash] kill %d after %.3f s: %s, %zu output lines\n", k + 1,
                now_s() - t0, running ? "killed mid-flight" : "had already finished",
                out_lines(out));
    }
    snprintf(err, sizeof err, "%s/err-final", dir);
    char outf[320];
    snprintf(outf, sizeof outf, "%s/stdout-final", dir);
    pid_t pid = nna_spawn(&E, KEY, args, outf, err);
    int st;
    waitpid(pid, &st, 0);
    char *etext = read_file(err, NULL);
    fprintf(stderr, "[crash] final resume: exit %d, %s", WEXITSTATUS(st), etext ? etext : "");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "final resume failed: %s", etext);
    free(etext);

    /* Exactly one output line per input line, each with its own task. */
    size_t olen;
    char *o = read_file(out, &olen);
    ck_assert_uint_eq(count_lines(o), (size_t)runs);
    ck_assert(olen > 0 && o[olen - 1] == '\n');
    char *seen = calloc((size_t)runs + 1, 1);
    char **ids = calloc((size_t)runs, sizeof *ids);
    for (int i = 0; i < runs; i++) {
        cJSON *l = json_line(o, (size_t)i);
        ck_assert_msg(l != NULL, "output line %d is not JSON", i + 1);
        int ln = (int)cJSON_GetObjectItem(l, "line")->valuedouble;
        ck_assert(ln >= 1 && ln <= runs);
        ck_assert_msg(!seen[ln], "input line %d reported twice", ln);
        seen[ln] = 1;
        const cJSON *tid = cJSON_GetObjectItem(l, "task_id");
        ck_assert_msg(cJSON_IsString(tid), "line %d has no task: %s", ln, cJSON_PrintUnformatted(l));
        const char *status = cJSON_GetObjectItem(l, "status")->valuestring;
        if (wait) ck_assert_str_eq(status, "completed");
        char want[16];
        snprintf(want, sizeof want, "k%d", ln);
        ck_assert_str_eq(cJSON_GetObjectItem(l, "id")->valuestring, want);
        ids[i] = strdup(tid->valuestring);
        cJSON_Delete(l);
    }
    qsort(ids, (size_t)runs, sizeof *ids, cmp_str);
    for (int i = 1; i < runs; i++) ck_assert_msg(strcmp(ids[i - 1], ids[i]) != 0, "task reported twice");
    for (int i = 0; i < runs; i++) ck_assert_msg(!contains(old_ids, (size_t)old, ids[i]), "an older task was adopted");

    /* Exactly one task per input line in the emulator: its tasks are the old ones plus
     * exactly the reported ones. */
    size_t n;
    char **emu_ids = emu_task_ids(&E, &n);
    ck_assert_msg(n == (size_t)(runs + old), "emulator has %zu tasks for %d runs + %d older", n, runs, old);
    for (size_t i = 0; i < n; i++)
        ck_assert(contains(ids, (size_t)runs, emu_ids[i]) || contains(old_ids, (size_t)old, emu_ids[i]));
    fprintf(stderr, "[crash] ok: %d output lines, %zu tasks in the emulator (%d older), no duplicates\n",
            runs, n, old);
    free_ids(emu_ids, n);
    free_ids(ids, (size_t)runs);
    free_ids(old_ids, (size_t)old);
    free(seen);
    free(o);
    emu_proc_stop(&E);
}

START_TEST(t_crash_resume_1000)
{
    crash_and_resume("{\"latency_ms\":10,\"latency_max_ms\":60,\"commit_then_fail\":0.02}",
                     1000, 4, 0, 100, 0.8);
}
END_TEST

START_TEST(t_crash_resume_wait)
{
    crash_and_resume("{\"latency_ms\":5,\"latency_max_ms\":30,\"task_ms\":1500,"
                     "\"commit_then_fail\":0.02}", 300, 3, 1, 30, 1.0);
}
END_TEST

START_TEST(t_demo)
{
    nna_out r;
    const char *args[] = { "demo", NULL };
    double t0 = now_s();
    nna_run(&r, NULL, NULL, NULL, NULL, args);
    double el = now_s() - t0;
    fprintf(stderr, "%s[demo] %.1f s\n", r.out, el);
    ck_assert_msg(r.code == 0, "demo: exit %d\n%s\n%s", r.code, r.out, r.err);
    const char *d = strstr(r.out, "duplicates");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(atoi(d + strlen("duplicates")), 0);
    const char *c = strstr(r.out, "completed");
    ck_assert_int_eq(atoi(c + strlen("completed")), 1000);
    ck_assert(strstr(r.out, "429s") && strstr(r.out, "reconciled runs") && strstr(r.out, "runs/s"));
    ck_assert(el < 45);
    nna_out_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli-batch");
    TCase *tc = tcase_create("crash");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, t_crash_resume_1000);
    tcase_add_test(tc, t_crash_resume_wait);
    tcase_add_test(tc, t_demo);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
