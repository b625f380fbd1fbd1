/* Black-box tests of the nna command line as a new user meets it: the API key file (modes,
 * NUL bytes, byte-order marks, long keys, directories, standard input), base URLs (as the
 * docs give them, with credentials, queries or fragments), run --wait feedback and its
 * timeout, help, typos, version, completion, dates, output configs, formats and the
 * config file. Against a standalone nna-emu. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pty.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

#define RUN_IN(r, key, in, ...)                                                          \
    do {                                                                                 \
        const char *a_[] = { __VA_ARGS__, NULL };                                        \
        nna_run((r), &E, (key), NULL, (in), a_);                                         \
    } while (0)

#define EXPECT(r, want)                                                                  \
    ck_assert_msg((r)->code == (want), "exit %d, want %d\nstdout: %s\nstderr: %s",        \
                  (r)->code, (want), (r)->out, (r)->err)

#define HAS(text, needle) ck_assert_msg(strstr((text), (needle)), "no \"%s\" in: %s", (needle), (text))
#define HASNT(text, needle) ck_assert_msg(!strstr((text), (needle)), "\"%s\" in: %s", (needle), (text))

static void write_bytes(const char *path, const char *p, size_t n, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, n, f), n);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static const char *key_file(const char *dir, const char *name, const char *p, size_t n, mode_t mode)
{
    static char path[8][256];
    static int k;
    char *out = path[k++ % 8];
    snprintf(out, sizeof path[0], "%s/%s", dir, name);
    write_bytes(out, p, n, mode);
    return out;
}

/* Runs nna on a pseudo-terminal (stdin, stdout and stderr: what a user sees, merged) of
 * 80 columns; env adds NAME=VALUE entries (NULL-terminated, may be NULL). */
static void run_tty(nna_out *r, const char *const *env, const char *const *argv)
{
    const char *args[64];
    int n = 0;
    args[n++] = built("tools/nna/nna");
    for (int i = 0; argv[i] && n < 63; i++) args[n++] = argv[i];
    args[n] = NULL;
    struct winsize ws = { .ws_row = 24, .ws_col = 80 };
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("NANONETS_BASE_URL", E.base, 1);
        setenv("NANONETS_API_KEY", KEY, 1);
        for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
        ssize_t k = read(master, buf + len, cap - len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break; /* EIO once the child has closed the terminal */
        len += (size_t)k;
    }
    buf[len] = '\0';
    close(master);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = buf;
    r->out_len = len;
    r->err = strdup("");
    r->err_len = 0;
}

#define TTY(r, ...)                                                                      \
    do {                                                                                 \
        const char *a_[] = { __VA_ARGS__, NULL };                                        \
        run_tty((r), NULL, a_);                                                          \
    } while (0)

/* ---- the key file --------------------------------------------------------------------- */

START_TEST(t_key_file_modes_warn)
{
    const char *dir = tmpdir();
    const char *open_ = key_file(dir, "open", "test-key\n", 9, 0644);
    const char *wide = key_file(dir, "wide", "test-key\n", 9, 0777);
    const char *tight = key_file(dir, "tight", "test-key\n", 9, 0600);
    nna_out r;
    RUN(&r, NULL, "--api-key-file", open_, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    HAS(r.err, "warning");
    HAS(r.err, "0644");
    HAS(r.err, "chmod 600");
    nna_out_free(&r);
    RUN(&r, NULL, "--api-key-file", wide, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    HAS(r.err, "0777");
    nna_out_free(&r);
    RUN(&r, NULL, "--api-key-file", tight, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    ck_assert_str_eq(r.err, "");
    nna_out_free(&r);
}
END_TEST

START_TEST(t_key_file_refuses_what_it_cannot_send)
{
    const char *dir = tmpdir();
    long before = emu_requests(&E);
    nna_out r;
    /* A NUL byte: the key would be cut there. */
    RUN(&r, NULL, "--api-key-file", key_file(dir, "nul", "test-key\0tail\n", 14, 0600),
        "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "NUL");
    nna_out_free(&r);
    /* Longer than the documented 4096 bytes: refused, not cut at 4095. */
    char big[5001];
    memset(big, 'k', 5000);
    big[5000] = '\n';
    RUN(&r, NULL, "--api-key-file", key_file(dir, "big", big, sizeof big, 0600), "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "4096");
    nna_out_free(&r);
    /* Control characters. */
    RUN(&r, NULL, "--api-key-file", key_file(dir, "ctl", "test\x1b-key\n", 10, 0600), "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "control character");
    nna_out_free(&r);
    RUN(&r, "test\x01key", "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "NANONETS_API_KEY");
    nna_out_free(&r);
    /* A directory is not "no API key". */
    RUN(&r, NULL, "--api-key-file", dir, "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "directory");
    HASNT(r.err, "no API key");
    nna_out_free(&r);
    /* An empty file. */
    RUN(&r, NULL, "--api-key-file", key_file(dir, "empty", "\n", 1, 0600), "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "holds no key");
    nna_out_free(&r);
    ck_assert_int_eq(emu_requests(&E), before);
}
END_TEST

START_TEST(t_key_file_bom_and_stdin)
{
    const char *dir = tmpdir();
    nna_out r;
    /* A UTF-8 byte-order mark (Notepad) is not part of the key: no 401. */
    RUN(&r, NULL, "--api-key-file", key_file(dir, "bom", "\xEF\xBB\xBFtest-key\r\n", 13, 0600),
        "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    nna_out_free(&r);
    RUN_IN(&r, NULL, "test-key\n", "--api-key-file", "-", "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    HAS(r.out, AGENT_1);
    nna_out_free(&r);
    RUN_IN(&r, NULL, "wrong-key\n", "--api-key-file", "-", "agents", "get", AGENT_1);
    EXPECT(&r, 3);
    nna_out_free(&r);
}
END_TEST

/* ---- base URLs ------------------------------------------------------------------------ */

START_TEST(t_base_url_forms)
{
    char url[256];
    nna_out r;
    /* As the public docs give it: with /api/v1. */
    snprintf(url, sizeof url, "%s/api/v1", E.base);
    RUN(&r, KEY, "--base-url", url, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    nna_out_free(&r);
    snprintf(url, sizeof url, "%s/api/v1/", E.base);
    RUN(&r, KEY, "-v", "--base-url", url, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    HASNT(r.err, "/api/v1/api/v1");
    nna_out_free(&r);

    long before = emu_requests(&E);
    /* Credentials in the URL: refused, never printed (not even with -v). */
    snprintf(url, sizeof url, "http://alice:hunter2@127.0.0.1:%u", E.port);
    RUN(&r, KEY, "-v", "--base-url", url, "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HASNT(r.err, "hunter2");
    HAS(r.err, "password");
    nna_out_free(&r);
    /* A query or a fragment would put the API paths in the wrong place. */
    snprintf(url, sizeof url, "%s/?region=eu", E.base);
    RUN(&r, KEY, "--base-url", url, "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    HAS(r.err, "query");
    nna_out_free(&r);
    snprintf(url, sizeof url, "%s#x", E.base);
    RUN(&r, KEY, "--base-url", url, "agents", "get", AGENT_1);
    EXPECT(&r, 2);
    nna_out_free(&r);
    ck_assert_int_eq(emu_requests(&E), before);
}
END_TEST

/* ---- run --wait ------------------------------------------------------------------------ */

START_TEST(t_run_wait_timeout_is_exit_9)
{
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", "{\"task_ms\":60000}"));
    nna_out r;
    RUN(&r, KEY, "run", AGENT_1, "--query", "slow one", "--wait", "--timeout", "1");
    EXPECT(&r, 9);
    ck_assert_str_eq(r.out, ""); /* not the pending task as if it were a result */
    /* The task id on stderr at once, then the error as JSON (stderr is not a terminal). */
    ck_assert_msg(strncmp(r.err, "nna: task ", 10) == 0, "%s", r.err);
    char id[37];
    memcpy(id, r.err + 10, 36);
    id[36] = '\0';
    size_t n = count_lines(r.err);
    cJSON *e = json_line(r.err, n - 1);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(cJSON_GetObjectItem(e, "code")->valuestring, "NNA_EDEADLINE");
    cJSON_Delete(e);
    nna_out_free(&r);
    /* The id is the task's. */
    const char *args[] = { "tasks", "get", id, NULL };
    nna_run(&r, &E, KEY, NULL, NULL, args);
    EXPECT(&r, 0);
    HAS(r.out, id);
    HASNT(r.out, "completed");
    nna_out_free(&r);
}
END_TEST

START_TEST(t_run_wait_shows_status_changes_on_a_terminal)
{
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", "{\"task_ms\":2500}"));
    nna_out r;
    TTY(&r, "run", AGENT_1, "--query", "watch me", "--wait", "--format", "json");
    EXPECT(&r, 0);
    HAS(r.out, " is pending; waiting for it");
    HAS(r.out, " is running\r\n");
    HAS(r.out, "\"completed\"");
    nna_out_free(&r);
}
END_TEST

/* ---- help, typos, version, completion ------------------------------------------------ */

START_TEST(t_subcommand_help_is_its_own)
{
    nna_out r;
    RUN(&r, NULL, "agents", "get", "--help");
    EXPECT(&r, 0);
    HAS(r.out, "usage: nna agents get AGENT_ID");
    HAS(r.out, "GET /agents/{id}");
    HASNT(r.out, "publish");
    HASNT(r.out, "agents create");
    nna_out_free(&r);
    RUN(&r, NULL, "tasks", "list", "-h");
    EXPECT(&r, 0);
    HAS(r.out, "usage: nna tasks list");
    HAS(r.out, "[--created-before TS]"); /* the wrapped usage line */
    HAS(r.out, "--agent-id ID");
    HASNT(r.out, "POST /tasks/{id}/cancel");
    nna_out_free(&r);
    RUN(&r, NULL, "tasks", "summary", "--help");
    EXPECT(&r, 0);
    HAS(r.out, "usage: nna tasks get|summary|result|messages|cancel TASK_ID");
    HAS(r.out, "/summary: the final answer");
    HASNT(r.out, "tasks list");
    nna_out_free(&r);
}
END_TEST

START_TEST(t_did_you_mean)
{
    nna_out r;
    RUN(&r, KEY, "taks", "list");
    EXPECT(&r, 2);
    HAS(r.err, "did you mean \\\"tasks\\\"");
    nna_out_free(&r);
    RUN(&r, KEY, "agents", "lsit");
    EXPECT(&r, 2);
    HAS(r.err, "did you mean \\\"list\\\"");
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "sumary", MISSING_ID);
    EXPECT(&r, 2);
    HAS(r.err, "did you mean \\\"summary\\\"");
    nna_out_free(&r);
    RUN(&r, KEY, "frobnicate");
    EXPECT(&r, 2);
    HASNT(r.err, "did you mean");
    nna_out_free(&r);
}
END_TEST

START_TEST(t_version)
{
    nna_out r;
    RUN(&r, NULL, "version");
    EXPECT(&r, 0);
    ck_assert_msg(strncmp(r.out, "nna 0.", 6) == 0, "%s", r.out);
    HAS(r.out, "(libnna 0.");
    nna_out_free(&r);
    RUN(&r, NULL, "--version");
    EXPECT(&r, 0);
    HAS(r.out, "libnna");
    nna_out_free(&r);
}
END_TEST

/* Runs the completion function in bash for the words of `line` (the last word is the one
 * being completed) and returns what it offers (caller frees). */
static char *complete_in_bash(const char *script, const char *line)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "bash -c '. %s; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _nna; "
             "echo \"${COMPREPLY[*]}\"'", script, line);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, p);
    buf[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    return buf;
}

START_TEST(t_completion_bash_and_zsh)
{
    const char *dir = tmpdir();
    char script[300];
    snprintf(script, sizeof script, "%s/nna.bash", dir);
    nna_out r;
    RUN(&r, NULL, "completion", "bash");
    EXPECT(&r, 0);
    write_file(script, r.out);
    nna_out_free(&r);
    char *got = complete_in_bash(script, "nna ta");
    ck_assert_str_eq(got, "tasks\n");
    free(got);
    got = complete_in_bash(script, "nna --format json agents \"\"");
    ck_assert_str_eq(got, "list get create update versions publish\n");
    free(got);
    got = complete_in_bash(script, "nna tasks list --created-");
    ck_assert_str_eq(got, "--created-after --created-before\n");
    free(got);
    got = complete_in_bash(script, "nna --format t");
    ck_assert_str_eq(got, "table\n");
    free(got);
    got = complete_in_bash(script, "nna batch --inp");
    ck_assert_str_eq(got, "--input\n");
    free(got);

    RUN(&r, NULL, "completion", "zsh");
    EXPECT(&r, 0);
    HAS(r.out, "#compdef nna");
    HAS(r.out, "bashcompinit");
    HAS(r.out, "complete -F _nna nna");
    nna_out_free(&r);
    RUN(&r, NULL, "completion", "fish");
    EXPECT(&r, 2);
    nna_out_free(&r);
}
END_TEST

/* ---- dates and output configs ---------------------------------------------------------- */

START_TEST(t_date_only_created_after)
{
    nna_out r;
    RUN(&r, KEY, "-v", "tasks", "list", "--created-after", "2026-11-01", "--created-before",
        "2099-01-01");
    EXPECT(&r, 0);
    HAS(r.err, "created_after=2026-11-01T00%3A00%3A00");
    nna_out_free(&r);
    RUN(&r, KEY, "tasks", "list", "--created-after", "2026-13-01");
    EXPECT(&r, 2);
    nna_out_free(&r);
}
END_TEST

START_TEST(t_output_config_validated_like_agents_create)
{
    long before = emu_requests(&E);
    nna_out r;
    RUN(&r, KEY, "run", AGENT_1, "--query", "x", "--output-config", "{\"schema\":\"x\"}");
    EXPECT(&r, 2);
    HAS(r.err, "output_schema and instructions");
    nna_out_free(&r);
    RUN(&r, KEY, "run", AGENT_1, "--query", "x", "--output-config",
        "{\"output_schema\":{\"total\":\"number\"}}");
    EXPECT(&r, 2);
    HAS(r.err, "serialised as a string");
    nna_out_free(&r);
    ck_assert_int_eq(emu_requests(&E), before);
    RUN(&r, KEY, "run", AGENT_1, "--query", "x", "--output-config",
        "{\"output_schema\":\"{\\\"total\\\":\\\"number\\\"}\",\"instructions\":\"ISO dates\"}");
    EXPECT(&r, 0);
    nna_out_free(&r);
}
END_TEST

/* ---- output for people ----------------------------------------------------------------- */

START_TEST(t_format_table_and_plain_errors)
{
    const char *args1[] = { "run", AGENT_1, "--query", "first of two", NULL };
    const char *args2[] = { "run", AGENT_1, "--query", "second of two", NULL };
    nna_out r;
    nna_run(&r, &E, KEY, NULL, NULL, args1);
    nna_out_free(&r);
    nna_run(&r, &E, KEY, NULL, NULL, args2);
    nna_out_free(&r);
    RUN(&r, KEY, "--format", "table", "tasks", "list");
    EXPECT(&r, 0);
    ck_assert_msg(strncmp(r.out, "TASK_ID ", 8) == 0, "%s", r.out);
    ck_assert_uint_eq(count_lines(r.out), 3);
    HAS(r.out, "second of two");
    HASNT(r.out, "{\"");
    nna_out_free(&r);
    /* One value: key  value lines. */
    RUN(&r, KEY, "agents", "get", AGENT_1, "--format", "table");
    EXPECT(&r, 0);
    HAS(r.out, "\nname ");
    HAS(r.out, "Invoice Extractor");
    nna_out_free(&r);
    /* Errors in plain words with --format table. */
    RUN(&r, KEY, "--format", "table", "tasks", "get", MISSING_ID);
    EXPECT(&r, 4);
    ck_assert_msg(strncmp(r.err, "nna: ", 5) == 0 && !strchr(r.err, '{'), "%s", r.err);
    nna_out_free(&r);
    /* Piped without --format: JSON lines, JSON errors (as before). */
    RUN(&r, KEY, "tasks", "list");
    EXPECT(&r, 0);
    ck_assert_msg(r.out[0] == '{', "%s", r.out);
    nna_out_free(&r);
    RUN(&r, KEY, "--format", "xml", "tasks", "list");
    EXPECT(&r, 2);
    nna_out_free(&r);
}
END_TEST

START_TEST(t_terminal_gets_tables_and_sentences)
{
    nna_out r;
    TTY(&r, "run", AGENT_1, "--query", "on a terminal");
    EXPECT(&r, 0);
    HAS(r.out, "task_id ");
    HASNT(r.out, "{\"task_id\"");
    nna_out_free(&r);
    TTY(&r, "tasks", "get", MISSING_ID);
    EXPECT(&r, 4);
    HAS(r.out, "nna: ");
    HASNT(r.out, "{\"error\"");
    nna_out_free(&r);
    TTY(&r, "--format", "json", "tasks", "list");
    EXPECT(&r, 0);
    HAS(r.out, "{\"task_id\"");
    nna_out_free(&r);
}
END_TEST

/* A batch on a terminal: every progress redraw fits 80 columns, and the summary is a table
 * naming the results and the journal. */
START_TEST(t_batch_on_a_terminal)
{
    const char *dir = tmpdir();
    char in[256], out[256];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/config", "{\"rate\":60,\"burst\":5,\"task_ms\":400}"));
    FILE *f = fopen(in, "w");
    for (int i = 1; i <= 120; i++)
        fprintf(f, "{\"agent_id\":\"" AGENT_1 "\",\"query\":\"terminal %d\"}\n", i);
    fclose(f);
    nna_out r;
    TTY(&r, "batch", "--input", in, "--output", out, "--wait");
    EXPECT(&r, 0);
    int redraws = 0;
    for (char *p = r.out; (p = strstr(p, "\r\033[K")); p += 4) {
        size_t n = strcspn(p + 4, "\r\n");
        ck_assert_msg(n < 80, "a progress line of %zu columns: %.*s", n, (int)n, p + 4);
        redraws++;
    }
    ck_assert_int_ge(redraws, 3);
    HAS(r.out, "queued ");
    HAS(r.out, "elapsed ");
    HAS(r.out, "results           ");
    HAS(r.out, out);
    HAS(r.out, "journal ");
    HASNT(r.out, "{\"batch\"");
    nna_out_free(&r);
}
END_TEST

/* ---- the configuration file ------------------------------------------------------------ */

START_TEST(t_config_file_and_profiles)
{
    const char *home = tmpdir();
    char dir[300], cfg[400], key[300], text[2048], homev[320];
    snprintf(dir, sizeof dir, "%s/.config/nna", home);
    snprintf(cfg, sizeof cfg, "%s/config.toml", dir);
    snprintf(key, sizeof key, "%s/key", home);
    snprintf(homev, sizeof homev, "HOME=%s", home);
    char mk[400];
    snprintf(mk, sizeof mk, "mkdir -p %s", dir);
    ck_assert_int_eq(system(mk), 0);
    write_bytes(key, "test-key\n", 9, 0600);
    snprintf(text, sizeof text,
             "# defaults\n"
             "base_url = \"%s\"\n"
             "api_key_file = \"~/key\"\n"
             "format = \"table\"\n"
             "\n[profile.down]\n"
             "base_url = \"http://127.0.0.1:1\"   # nothing listens\n"
             "deadline = 1\n"
             "[profile.json]\n"
             "format = \"json\"\n", E.base);
    write_file(cfg, text);
    const char *env[] = { homev, "XDG_CONFIG_HOME=", "NNA_CONFIG=", "NNA_PROFILE=", NULL };
    nna_out r;
    /* No key and no URL in the environment: all from the file; its format too. */
    const char *a1[] = { "agents", "get", AGENT_1, NULL };
    nna_run(&r, NULL, NULL, env, NULL, a1);
    EXPECT(&r, 0);
    HAS(r.out, "Invoice Extractor");
    ck_assert_msg(r.out[0] != '{', "not a table: %s", r.out);
    nna_out_free(&r);
    /* The command line beats the file. */
    const char *a2[] = { "agents", "get", AGENT_1, "--format", "json", NULL };
    nna_run(&r, NULL, NULL, env, NULL, a2);
    EXPECT(&r, 0);
    ck_assert_msg(r.out[0] == '{', "%s", r.out);
    nna_out_free(&r);
    /* A profile beats the environment: NANONETS_BASE_URL (the emulator) is not used. */
    const char *a3[] = { "--profile", "down", "agents", "get", AGENT_1, NULL };
    nna_run(&r, &E, NULL, env, NULL, a3);
    EXPECT(&r, 9);
    nna_out_free(&r);
    const char *a4[] = { "--profile", "json", "agents", "get", AGENT_1, NULL };
    nna_run(&r, NULL, NULL, env, NULL, a4);
    EXPECT(&r, 0);
    ck_assert_msg(r.out[0] == '{', "%s", r.out);
    nna_out_free(&r);
    /* An unknown profile, an unknown setting: refused with the place. */
    const char *a5[] = { "--profile", "nope", "agents", "get", AGENT_1, NULL };
    nna_run(&r, NULL, NULL, env, NULL, a5);
    EXPECT(&r, 2);
    HAS(r.err, "profile");
    HAS(r.err, "nope");
    nna_out_free(&r);
    write_file(cfg, "base_url = \"http://x\"\napi_kee_file = \"k\"\n");
    nna_run(&r, NULL, NULL, env, NULL, a1);
    EXPECT(&r, 2);
    HAS(r.err, "config.toml:2");
    HAS(r.err, "api_kee_file");
    nna_out_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_ux");
    TCase *tc = tcase_create("cli_ux");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, t_key_file_modes_warn);
    tcase_add_test(tc, t_key_file_refuses_what_it_cannot_send);
    tcase_add_test(tc, t_key_file_bom_and_stdin);
    tcase_add_test(tc, t_base_url_forms);
    tcase_add_test(tc, t_run_wait_timeout_is_exit_9);
    tcase_add_test(tc, t_run_wait_shows_status_changes_on_a_terminal);
    tcase_add_test(tc, t_subcommand_help_is_its_own);
    tcase_add_test(tc, t_did_you_mean);
    tcase_add_test(tc, t_version);
    tcase_add_test(tc, t_completion_bash_and_zsh);
    tcase_add_test(tc, t_date_only_created_after);
    tcase_add_test(tc, t_output_config_validated_like_agents_create);
    tcase_add_test(tc, t_format_table_and_plain_errors);
    tcase_add_test(tc, t_terminal_gets_tables_and_sentences);
    tcase_add_test(tc, t_batch_on_a_terminal);
    tcase_add_test(tc, t_config_file_and_profiles);
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
