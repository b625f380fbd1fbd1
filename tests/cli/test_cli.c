/* Black-box tests of the nna command line against a standalone nna-emu: every command,
 * every exit code (faults provoked through /_emu/script), help texts, usage errors that
 * send nothing, the -v trace without the key, and the batch runner's basic contract. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "clitest.h"

#define KEY "test-key"

static emu_proc E;

static void setup(void) { emu_proc_start(&E, NULL); }
static void teardown(void) { emu_proc_stop(&E); }

#define RUN(r, key, ...)                                                                 \
    do {                                                                                 \
        const char *a_[] = { __VA_ARGS__, NULL };                                        \
        nna_run((r), &E, (key), NULL, NULL, a_);                                         \
    } while (0)

#define EXPECT(r, want)                                                                  \
    ck_assert_msg((r)->code == (want), "exit %d, want %d\nstdout: %s\nstderr: %s",        \
                  (r)->code, (want), (r)->out, (r)->err)

/* The last stderr line is a JSON error with "error" and the given "status". */
static void expect_error(const nna_out *r, long http)
{
    size_t n = count_lines(r->err);
    ck_assert_msg(n >= 1, "no error line");
    cJSON *e = json_line(r->err, n - 1);
    ck_assert_msg(e != NULL, "stderr is not JSON: %s", r->err);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(e, "error")));
    const cJSON *st = cJSON_GetObjectItem(e, "status");
    ck_assert_msg(cJSON_IsNumber(st) && (long)st->valuedouble == http,
                  "status %g, want %ld: %s", st ? st->valuedouble : -1.0, http, r->err);
    cJSON_Delete(e);
}

static char *field(const char *out, size_t line, const char *name)
{
    cJSON *j = json_line(out, line);
    ck_assert_msg(j != NULL, "line %zu is not JSON: %s", line, out);
    const cJSON *v = cJSON_GetObjectItem(j, name);
    char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    cJSON_Delete(j);
    return s;
}

static void script(const char *route, const char *responses)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"route\":\"%s\",\"responses\":%s}", route, responses);
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/script", body));
}

static long route_count(const char *route)
{
    cJSON *j = emu_ctl(&E, "GET", "/_emu/counters", NULL);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), route);
    long n = cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
    cJSON_Delete(j);
    return n;
}

/* A loopback port nothing listens on. */
static unsigned closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Starts a run and returns its task id. */
static char *start_run(const char *agent, const char *query)
{
    nna_out r;
    RUN(&r, KEY, "run", agent, "--query", query);
    EXPECT(&r, 0);
    char *id = field(r.out, 0, "task_id");
    ck_assert_ptr_nonnull(id);
    nna_out_free(&r);
    return id;
}

/* ---- help and usage --------------------------------------------------------------------- */

START_TEST(t_help)
{
    nna_out r;
    RUN(&r, KEY, "--help");
    EXPECT(&r, 0);
    const char *must[] = { "agents", "run AGENT_ID", "tasks", "batch", "demo", "--base-url",
                           "--api-key-file", "--max-inflight", "--max-attempts", "--deadline",
                           "--verbose", "--progress", "--version", "Exit codes" };
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        ck_assert_msg(strstr(r.out, must[i]), "--help lacks %s", must[i]);
    nna_out_free(&r);

    const char *cmds[] = { "agents", "tasks", "run", "batch", "demo" };
    for (size_t i = 0; i < 5; i++) {
        RUN(&r, KEY, cmds[i], "--help");
        EXPECT(&r, 0);
        char want[64];
        snprintf(want, sizeof want, "usage: nna %s", cmds[i]);
        ck_assert_msg(strstr(r.out, want), "%s --help: %s", cmds[i], r.out);
        nna_out_free(&r);
    }
    RUN(&r, KEY, "tasks", "list", "--help");
    EXPECT(&r, 0);
    ck_assert(strstr(r.out, "--created-after"));
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "create", "-h");
    EXPECT(&r, 0);
    nna_out_free(&r);

    RUN(&r, KEY, "--version");
    EXPECT(&r, 0);
    ck_assert(strncmp(r.out, "nna ", 4) == 0);
    nna_out_free(&r);

    RUN(&r, KEY, "frobnicate");
    EXPECT(&r, 2);
    expect_error(&r, 0);
    nna_out_free(&r);
    const char *none[] = { NULL };
    nna_run(&r, &E, KEY, NULL, NULL, none);
    EXPECT(&r, 2);
    nna_out_free(&r);
}
END_TEST

START_TEST(t_usage_sends_nothing)
{
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s/nope.json", tmpdir());
    const char *const bad[][8] = {
        { "tasks", "get", "not-a-uuid" },
        { "tasks", "get" },
        { "tasks", "get", MISSING_ID, MISSING_ID },
        { "run", AGENT_1 },
        { "run", "not-a-uuid", "--query", "x" },
        { "run", AGENT_1, "--file", "/nonexistent/file.pdf" },
        { "run", AGENT_1, "--query", "x", "--output-config", "[1]" },
        { "run", AGENT_1, "--query", "x", "--output-config", "@/nonexistent.json" },
        { "tasks", "list", "--status", "running,bogus" },
        { "tasks", "list", "--limit", "0" },
        { "tasks", "list", "--limit", "101" },
        { "tasks", "list", "--created-after", "yesterday" },
        { "tasks", "list", "--agent-id", "nope" },
        { "tasks", "message", MISSING_ID },
        { "tasks", "message", MISSING_ID, "--text", "" },
        { "tasks", "wait" },
        { "tasks", "frob", MISSING_ID },
        { "agents", "create", "--json", "{\"nme\":1}" },
        { "agents", "create", "--json", "not json" },
        { "agents", "update", AGENT_1 },
        { "agents", "get", "x" },
        { "agents", "list", "--status", "draft,bogus" },
        { "--api-key=secret", "tasks", "list" },
        { "tasks", "list", "--api-key", "secret" },
        { "--max-inflight", "0", "tasks", "list" },
        { "--deadline", "-1", "tasks", "list" },
        { "--backoff", "1,x", "tasks", "list" },
        { "--base-url", "ftp://x", "tasks", "list" },
        { "--api-key-file", cfg, "tasks", "list" },
        { "tasks", "list", "--frob" },
        { "batch", "--input", "-" },
        { "batch", "--input", "/nonexistent", "--output", "-" },
        { "demo", "--runs", "0" },
    };
    long before = emu_requests(&E);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nna_out r;
        nna_run(&r, &E, KEY, NULL, NULL, bad[i]);
        ck_assert_msg(r.code == 2, "case %zu (%s %s): exit %d\n%s", i, bad[i][0], bad[i][1],
                      r.code, r.err);
        expect_error(&r, 0);
        ck_assert_msg(r.out_len == 0, "case %zu printed %s", i, r.out);
        nna_out_free(&r);
    }
    /* No key at all: refused before anything is sent or written. */
    nna_out r;
    RUN(&r, NULL, "tasks", "list");
    EXPECT(&r, 2);
    ck_assert(strstr(r.err, "NANONETS_API_KEY"));
    nna_out_free(&r);
    char in[300], out[300];
    const char *dir = tmpdir();
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    write_file(in, "{\"agent_id\":\"" AGENT_1 "\",\"query\":\"x\"}\n");
    RUN(&r, NULL, "batch", "--input", in, "--output", out);
    EXPECT(&r, 2);
    ck_assert(access(out, F_OK) != 0);
    nna_out_free(&r);
    ck_assert_int_eq(emu_requests(&E), before);
}
END_TEST

/* ---- agents ----------------------------------------------------------------------------- */

START_TEST(t_agents)
{
    nna_out r;
    RUN(&r, KEY, "agents", "list");
    EXPECT(&r, 0);
    size_t all = count_lines(r.out);
    ck_assert_uint_ge(all, 3);
    ck_assert(strstr(r.out, AGENT_1));
    nna_out_free(&r);

    RUN(&r, KEY, "agents", "list", "--limit", "1");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 1);
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "list", "--all", "--limit=1");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), all);
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "list", "--q", "no such agent name");
    EXPECT(&r, 0);
    ck_assert_uint_eq(r.out_len, 0);
    nna_out_free(&r);

    RUN(&r, KEY, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 1);
    char *id = field(r.out, 0, "id");
    ck_assert_str_eq(id, AGENT_1);
    free(id);
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "get", MISSING_ID);
    EXPECT(&r, 4);
    expect_error(&r, 404);
    nna_out_free(&r);

    RUN(&r, KEY, "agents", "create", "--json", "{\"name\":\"cli made\",\"system_prompt\":\"Be brief.\"}");
    EXPECT(&r, 0);
    char *made = field(r.out, 0, "id");
    ck_assert_ptr_nonnull(made);
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "create", "--json", "{\"name\":\"cli made\"}");
    EXPECT(&r, 5);
    expect_error(&r, 409);
    nna_out_free(&r);

    char body[512];
    snprintf(body, sizeof body, "%s/patch.json", tmpdir());
    write_file(body, "{\"system_prompt\": \"Be terse.\", \"is_active\": true}");
    char at[600];
    snprintf(at, sizeof at, "@%s", body);
    RUN(&r, KEY, "agents", "update", made, "--json", at);
    EXPECT(&r, 0);
    cJSON *a = json_line(r.out, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "config"), "system_prompt")->valuestring,
                     "Be terse.");
    cJSON_Delete(a);
    nna_out_free(&r);

    RUN(&r, KEY, "agents", "versions", made);
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 1);
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "publish", made);
    EXPECT(&r, 5);
    expect_error(&r, 409);
    nna_out_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/_emu/agents/%s/draft", made);
    cJSON_Delete(emu_ctl(&E, "POST", path, "{}"));
    RUN(&r, KEY, "agents", "publish", made);
    EXPECT(&r, 0);
    a = json_line(r.out, 0);
    ck_assert_int_eq((int)cJSON_GetObjectItem(a, "version_number")->valuedouble, 2);
    cJSON_Delete(a);
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "versions", made, "--all", "--limit", "1");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 2);
    nna_out_free(&r);
    free(made);
}
END_TEST

/* ---- runs and tasks ------------------------------------------------------------------- */

START_TEST(t_run_and_tasks)
{
    nna_out r;
    char *tid = start_run(AGENT_1, "Summarise this report");

    RUN(&r, KEY, "tasks", "get", tid);
    EXPECT(&r, 0);
    char *got = field(r.out, 0, "task_id");
    ck_assert_str_eq(got, tid);
    free(got);
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "wait", tid, "--timeout", "20");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 1);
    char *st = field(r.out, 0, "status");
    ck_assert_str_eq(st, "completed");
    free(st);
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "summary", tid);
    EXPECT(&r, 0);
    cJSON *s = json_line(r.out, 0);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "result"), "summary")));
    cJSON_Delete(s);
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "result", tid);
    EXPECT(&r, 0);
    s = json_line(r.out, 0);
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(s, "feed")));
    cJSON_Delete(s);
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "messages", tid);
    EXPECT(&r, 0);
    ck_assert_uint_ge(count_lines(r.out), 1);
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "list", "--agent-id", AGENT_1);
    EXPECT(&r, 0);
    ck_assert(strstr(r.out, tid));
    nna_out_free(&r);

    char *t2 = start_run(AGENT_1, "Another one");
    char *t3 = start_run(AGENT_1, "And a third");
    RUN(&r, KEY, "tasks", "list", "--agent-id", AGENT_1, "--all", "--limit", "1");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), (size_t)emu_tasks_of(&E, AGENT_1));
    nna_out_free(&r);
    char after[32];
    snprintf(after, sizeof after, "%ld", (long)time(NULL) - 3600);
    RUN(&r, KEY, "tasks", "list", "--status", "completed", "--created-after", after,
        "--created-before", "2999-01-01T00:00:00Z", "--q", "summarise THIS");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 1);
    ck_assert(strstr(r.out, tid));
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "wait", t2, t3);
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 2);
    nna_out_free(&r);

    /* Many tasks: one bulk watch; a failed one makes exit 1 and carries its reason. */
    char *many[6];
    for (int i = 0; i < 6; i++) {
        char q[64];
        snprintf(q, sizeof q, i == 3 ? "bulk %d: FAIL" : "bulk %d: fine", i);
        many[i] = start_run(i % 2 ? AGENT_1 : AGENT_2, q);
    }
    RUN(&r, KEY, "tasks", "wait", many[0], many[1], many[2], many[3], many[4], many[5]);
    EXPECT(&r, 1);
    ck_assert_uint_eq(count_lines(r.out), 6);
    ck_assert(strstr(r.out, "\"status\":\"failed\""));
    nna_out_free(&r);
    for (int i = 0; i < 6; i++) free(many[i]);

    RUN(&r, KEY, "run", AGENT_2, "--query", "Wait for me", "--wait");
    EXPECT(&r, 0);
    st = field(r.out, 0, "status");
    ck_assert_str_eq(st, "completed");
    free(st);
    nna_out_free(&r);

    /* Files and output_config: multipart; extracted_data in the summary. */
    char fpath[300];
    snprintf(fpath, sizeof fpath, "%s/invoice.txt", tmpdir());
    write_file(fpath, "INVOICE 42\nTotal: 12.50\n");
    RUN(&r, KEY, "run", AGENT_1, "--file", fpath, "--file", fpath, "--output-config",
        "{\"output_schema\":\"{\\\"total\\\":\\\"number\\\"}\"}", "--wait");
    EXPECT(&r, 0);
    s = json_line(r.out, 0);
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "result"), "extracted_data"));
    cJSON_Delete(s);
    nna_out_free(&r);

    /* A task asking for input: wait stops (exit 1), answer, wait again. */
    char *ask = start_run(AGENT_2, "ASK: which quarter?");
    RUN(&r, KEY, "tasks", "wait", ask, "--timeout", "20");
    EXPECT(&r, 1);
    st = field(r.out, 0, "status");
    ck_assert_str_eq(st, "waiting_for_input");
    free(st);
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "message", ask, "--text", "Q3, please");
    EXPECT(&r, 0);
    ck_assert_uint_eq(count_lines(r.out), 1);
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "wait", ask);
    EXPECT(&r, 0);
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "message", ask, "--text", "too late");
    EXPECT(&r, 5);
    expect_error(&r, 409);
    nna_out_free(&r);

    /* A failing task: exit 1, its summary says why. */
    RUN(&r, KEY, "run", AGENT_1, "--query", "please FAIL now", "--wait");
    EXPECT(&r, 1);
    st = field(r.out, 0, "status");
    ck_assert_str_eq(st, "failed");
    free(st);
    nna_out_free(&r);

    /* Cancel (idempotent). */
    char *rev = start_run(AGENT_2, "REVIEW this payment");
    RUN(&r, KEY, "tasks", "cancel", rev);
    EXPECT(&r, 0);
    st = field(r.out, 0, "status");
    ck_assert_str_eq(st, "stopped");
    free(st);
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "cancel", rev);
    EXPECT(&r, 0);
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "wait", rev);
    EXPECT(&r, 1);
    nna_out_free(&r);

    free(tid);
    free(t2);
    free(t3);
    free(ask);
    free(rev);
}
END_TEST

/* ---- exit codes ----------------------------------------------------------------------- */

START_TEST(t_exit_codes)
{
    nna_out r;
    RUN(&r, "wrong-key", "tasks", "list");
    EXPECT(&r, 3);
    expect_error(&r, 401);
    nna_out_free(&r);

    RUN(&r, KEY, "run", AGENT_3, "--query", "inactive agent");
    EXPECT(&r, 3);
    expect_error(&r, 403);
    nna_out_free(&r);

    RUN(&r, KEY, "tasks", "get", MISSING_ID);
    EXPECT(&r, 4);
    expect_error(&r, 404);
    nna_out_free(&r);

    RUN(&r, KEY, "agents", "publish", AGENT_1);
    EXPECT(&r, 5);
    expect_error(&r, 409);
    nna_out_free(&r);

    script("tasks.get", "[{\"status\":400,\"json\":{\"error\":\"Invalid thing\"}}]");
    RUN(&r, KEY, "tasks", "get", MISSING_ID);
    EXPECT(&r, 6);
    expect_error(&r, 400);
    ck_assert(strstr(r.err, "Invalid thing"));
    nna_out_free(&r);
    script("tasks.get", "[{\"status\":422,\"json\":{\"error\":\"Unprocessable\"}}]");
    RUN(&r, KEY, "tasks", "get", MISSING_ID);
    EXPECT(&r, 6);
    expect_error(&r, 422);
    nna_out_free(&r);

    /* Still rate-limited when the deadline runs out. */
    script("tasks.list", "[{\"status\":429,\"json\":{\"error\":\"slow down\"},\"headers\":{\"Retry-After\":\"1\"}},"
                         "{\"status\":429,\"json\":{\"error\":\"slow down\"},\"headers\":{\"Retry-After\":\"1\"}},"
                         "{\"status\":429,\"json\":{\"error\":\"slow down\"},\"headers\":{\"Retry-After\":\"1\"}},"
                         "{\"status\":429,\"json\":{\"error\":\"slow down\"},\"headers\":{\"Retry-After\":\"1\"}}]");
    double t0 = now_s();
    RUN(&r, KEY, "--deadline", "1.5", "tasks", "list");
    EXPECT(&r, 7);
    expect_error(&r, 429);
    ck_assert(now_s() - t0 < 10);
    nna_out_free(&r);
    cJSON_Delete(emu_ctl(&E, "DELETE", "/_emu/script", NULL));

    /* 5xx after every attempt. */
    script("tasks.get", "[{\"status\":503},{\"status\":503},{\"status\":500},{\"status\":503}]");
    RUN(&r, KEY, "--max-attempts", "4", "--backoff", "0.01,0.02", "tasks", "get", MISSING_ID);
    EXPECT(&r, 8);
    expect_error(&r, 503);
    nna_out_free(&r);
    script("tasks.get", "[{\"status\":502,\"body\":\"<html>bad gateway</html>\"},{\"status\":502,\"body\":\"<html>bad gateway</html>\"}]");
    RUN(&r, KEY, "--max-attempts", "2", "--backoff", "0.01", "tasks", "get", MISSING_ID);
    EXPECT(&r, 8);
    expect_error(&r, 502);
    nna_out_free(&r);
    /* A 5xx then success: retried transparently. */
    script("tasks.get", "[{\"status\":503}]");
    RUN(&r, KEY, "--backoff", "0.01", "tasks", "get", MISSING_ID);
    EXPECT(&r, 4);
    nna_out_free(&r);

    /* An outage: nothing listens (a port just released). */
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%u", closed_port());
    const char *args[] = { "--base-url", dead, "--backoff", "0.01,0.02",
                           "--deadline", "2", "tasks", "list", NULL };
    nna_run(&r, &E, KEY, NULL, NULL, args);
    EXPECT(&r, 9);
    expect_error(&r, 0);
    nna_out_free(&r);

    /* A message stored but whose answer is lost: found in the log, never sent twice. */
    char *tid = start_run(AGENT_1, "ASK: anything?");
    long before = route_count("tasks.message");
    script("tasks.message", "[{\"drop\":true,\"commit\":true}]");
    RUN(&r, KEY, "--backoff", "0.01", "tasks", "message", tid, "--text", "hello");
    EXPECT(&r, 0);
    nna_out_free(&r);
    ck_assert_int_eq(route_count("tasks.message"), before + 1);
    free(tid);

    /* A run created but answered 500: found again through GET /tasks, not re-created. */
    int n0 = emu_tasks_of(&E, AGENT_2);
    script("run", "[{\"status\":500,\"commit\":true}]");
    RUN(&r, KEY, "--backoff", "0.05", "run", AGENT_2, "--query", "commit then fail");
    EXPECT(&r, 0);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_2), n0 + 1);
    nna_out_free(&r);
}
END_TEST

/* ---- -v: the trace, and never the key ------------------------------------------------- */

START_TEST(t_verbose_hides_key)
{
    emu_proc_stop(&E);
    static const char secret[] = "sk-CLI-very-SECRET-key-4f1d2c9e";
    char cfg[300], keyfile[300];
    const char *dir = tmpdir();
    snprintf(cfg, sizeof cfg, "%s/emu.json", dir);
    snprintf(keyfile, sizeof keyfile, "%s/key", dir);
    char text[1024];
    snprintf(text, sizeof text,
             "{\"workspaces\":[{\"name\":\"acme\",\"keys\":[\"%s\"],"
             "\"agents\":[{\"id\":\"" AGENT_1 "\",\"name\":\"Invoices\",\"is_active\":true}]}]}",
             secret);
    write_file(cfg, text);
    snprintf(text, sizeof text, "%s\n", secret);
    write_file(keyfile, text);
    const char *extra[] = { "--config", cfg, NULL };
    emu_proc_start(&E, extra);

    nna_out r;
    script("run", "[{\"status\":503}]");
    RUN(&r, NULL, "--api-key-file", keyfile, "-v", "--backoff", "0.01", "run", AGENT_1,
        "--query", "trace me", "--wait");
    EXPECT(&r, 0);
    ck_assert_msg(strstr(r.err, "* POST http://127.0.0.1:"), "no trace: %s", r.err);
    ck_assert(strstr(r.err, "/api/v1/agents/" AGENT_1 "/run -> 503 (attempt 1"));
    ck_assert(strstr(r.err, "-> 200 (attempt 2"));
    ck_assert(strstr(r.err, "* GET http://127.0.0.1:"));
    ck_assert(!strstr(r.err, secret) && !strstr(r.out, secret));
    nna_out_free(&r);

    /* The key from the environment, -v placed after the command, a failure. */
    RUN(&r, secret, "tasks", "get", MISSING_ID, "--verbose");
    EXPECT(&r, 4);
    ck_assert(strstr(r.err, "-> 404"));
    ck_assert(!strstr(r.err, secret) && !strstr(r.out, secret));
    nna_out_free(&r);
    RUN(&r, "test-key", "-v", "tasks", "list");
    EXPECT(&r, 3);
    ck_assert(!strstr(r.err, secret));
    nna_out_free(&r);
}
END_TEST

/* ---- batch: the basic contract -------------------------------------------------------- */

START_TEST(t_batch_basic)
{
    const char *dir = tmpdir();
    char in[300], out[300], jr[320], fpath[300];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    snprintf(jr, sizeof jr, "%s.journal", out);
    snprintf(fpath, sizeof fpath, "%s/doc.txt", dir);
    write_file(fpath, "hello");
    char *text = calloc(1, 16384);
    size_t valid = 0;
    for (int i = 1; i <= 24; i++) {
        char line[512];
        snprintf(line, sizeof line,
                 "{\"id\":\"row-%d\",\"agent_id\":\"%s\",\"query\":\"Batch row %d: summarise\"%s}\n",
                 i, i % 2 ? AGENT_1 : AGENT_2, i,
                 i == 5 ? ",\"output_config\":{\"instructions\":\"short\"}" : "");
        strcat(text, line);
        valid++;
    }
    char line[512];
    snprintf(line, sizeof line, "{\"id\":\"with-file\",\"agent_id\":\"%s\",\"files\":[\"%s\"]}\n", AGENT_1, fpath);
    strcat(text, line);
    valid++;
    strcat(text, "this is not json\n");
    strcat(text, "\n");   /* blank: skipped */
    strcat(text, "{\"id\":7,\"query\":\"no agent\"}\n");
    strcat(text, "{\"id\":\"bad-file\",\"agent_id\":\"" AGENT_1 "\",\"files\":[\"/nonexistent/x.pdf\"]}\n");
    strcat(text, "{\"id\":\"inactive\",\"agent_id\":\"" AGENT_3 "\",\"query\":\"refused\"}");
    size_t runs = valid + 4;
    write_file(in, text);

    int t1 = emu_tasks_of(&E, AGENT_1), t2 = emu_tasks_of(&E, AGENT_2);
    nna_out r;
    RUN(&r, KEY, "batch", "--input", in, "--output", out);
    EXPECT(&r, 2); /* the first failed line is a malformed one */
    size_t olen;
    char *o = read_file(out, &olen);
    ck_assert_uint_eq(count_lines(o), runs);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1) + emu_tasks_of(&E, AGENT_2) - t1 - t2, (int)valid);
    int seen[64] = { 0 }, invalid = 0, forbidden = 0;
    for (size_t i = 0; i < runs; i++) {
        cJSON *l = json_line(o, i);
        ck_assert_ptr_nonnull(l);
        int ln = (int)cJSON_GetObjectItem(l, "line")->valuedouble;
        ck_assert(ln >= 1 && ln < 64 && !seen[ln]);
        seen[ln] = 1;
        const char *st = cJSON_GetObjectItem(l, "status")->valuestring;
        if (!strcmp(st, "invalid")) invalid++;
        else if (!strcmp(st, "error")) {
            forbidden++;
            ck_assert_int_eq((int)cJSON_GetObjectItem(l, "http_status")->valuedouble, 403);
        } else ck_assert(cJSON_IsString(cJSON_GetObjectItem(l, "task_id")));
        ck_assert_ptr_nonnull(cJSON_GetObjectItem(l, "id"));
        cJSON_Delete(l);
    }
    ck_assert_int_eq(invalid, 3);
    ck_assert_int_eq(forbidden, 1);
    free(o);
    ck_assert(strstr(r.err, "\"batch\":{\"lines\":"));
    nna_out_free(&r);
    char *j = read_file(jr, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert(strstr(j, "\"j\":\"start\"") && strstr(j, "\"j\":\"end\""));
    free(j);

    /* Resuming a finished batch does nothing. */
    int before = emu_tasks_of(&E, AGENT_1) + emu_tasks_of(&E, AGENT_2);
    RUN(&r, KEY, "batch", "--input", in, "--output", out, "--resume");
    EXPECT(&r, 0);
    nna_out_free(&r);
    o = read_file(out, NULL);
    ck_assert_uint_eq(count_lines(o), runs);
    free(o);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_1) + emu_tasks_of(&E, AGENT_2), before);

    /* --wait through stdin and stdout. */
    const char *args[] = { "batch", "--input", "-", "--output", "-", "--wait", NULL };
    nna_run(&r, &E, KEY, NULL, text, args);
    EXPECT(&r, 2);
    ck_assert_uint_eq(count_lines(r.out), runs);
    int completed = 0;
    for (size_t i = 0; i < runs; i++) {
        cJSON *l = json_line(r.out, i);
        const char *st = cJSON_GetObjectItem(l, "status")->valuestring;
        if (!strcmp(st, "completed")) {
            completed++;
            ck_assert(!cJSON_IsNull(cJSON_GetObjectItem(l, "summary")));
            if ((int)cJSON_GetObjectItem(l, "line")->valuedouble == 5)
                ck_assert_ptr_nonnull(cJSON_GetObjectItem(l, "extracted_data"));
        }
        cJSON_Delete(l);
    }
    ck_assert_int_eq(completed, (int)valid);
    nna_out_free(&r);

    /* A run committed but answered 500, while an older task with the same query exists:
     * the library's in-flight reconciliation may pick the older task; the batch knows it
     * existed before it started (its fence), rejects it and adopts its own. */
    char *older = start_run(AGENT_2, "Fenced query");
    script("run", "[{\"status\":500,\"commit\":true}]");
    char in2[300], out2[300];
    snprintf(in2, sizeof in2, "%s/in2.jsonl", dir);
    snprintf(out2, sizeof out2, "%s/out2.jsonl", dir);
    write_file(in2, "{\"id\":\"f\",\"agent_id\":\"" AGENT_2 "\",\"query\":\"Fenced query\"}\n");
    int n2 = emu_tasks_of(&E, AGENT_2);
    RUN(&r, KEY, "--backoff", "0.05", "batch", "--input", in2, "--output", out2);
    EXPECT(&r, 0);
    ck_assert_int_eq(emu_tasks_of(&E, AGENT_2), n2 + 1);
    o = read_file(out2, NULL);
    char *got = field(o, 0, "task_id");
    ck_assert_str_ne(got, older);
    ck_assert(strstr(o, "\"reconciled\":true"));
    free(got);
    free(o);
    free(older);
    nna_out_free(&r);

    /* An interrupted batch is never overwritten by accident. */
    write_file(jr, "{\"j\":\"start\",\"v\":1,\"t\":1,\"input\":\"0\",\"lines\":1,\"wait\":0}\n");
    RUN(&r, KEY, "batch", "--input", in, "--output", out);
    EXPECT(&r, 2);
    ck_assert(strstr(r.err, "--resume"));
    nna_out_free(&r);
    RUN(&r, KEY, "batch", "--input", in, "--output", out, "--resume");
    EXPECT(&r, 2);
    ck_assert(strstr(r.err, "input differs"));
    nna_out_free(&r);
    free(text);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("commands");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_help);
    tcase_add_test(tc, t_usage_sends_nothing);
    tcase_add_test(tc, t_agents);
    tcase_add_test(tc, t_run_and_tasks);
    tcase_add_test(tc, t_exit_codes);
    tcase_add_test(tc, t_verbose_hides_key);
    tcase_add_test(tc, t_batch_basic);
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
