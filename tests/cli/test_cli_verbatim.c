/* The nna command line prints what the server sent, byte for byte (one value per line),
 * sends the caller's JSON as written, and turns malformed replies into the protocol-error
 * exit code without copying them to stdout. Black-box against a standalone nna-emu whose
 * scripted replies carry the exact bytes under test. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clitest.h"

#define KEY "test-key"
#define TASK_ID "5d1b7c3e-2a4f-4b6d-8e9f-0a1b2c3d4e5f"
#define EXIT_PROTOCOL 8   /* docs/cli.md: 5xx after retries, malformed answers */

/* Integers beyond 2^53 and 2^64, a 17-digit decimal, 1e-400, -0, escapes, raw UTF-8. */
#define XDATA "{\"account\":12345678901234567891,\"iban_digits\":9007199254740993," \
    "\"amount\":1234567.8912345678,\"tiny\":1e-400,\"neg0\":-0," \
    "\"esc\":\"caf\\u00e9 \\ud83d\\ude00 \\/\",\"utf8\":\"é😀\",\"deep\":[[[[[[[[[[{}]]]]]]]]]]}"
#define TASK_BODY "{\"task_id\":\"" TASK_ID "\",\"agent_id\":\"" AGENT_1 "\"," \
    "\"status\":\"completed\",\"n\":9007199254740993}"
#define SUMMARY_BODY "{\"task_id\":\"" TASK_ID "\",\"status\":\"completed\"," \
    "\"result\":{\"summary\":\"done\",\"extracted_data\":" XDATA "}}"

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

#define EXPECT_OUT(r, want)                                                              \
    ck_assert_msg((r)->out_len == strlen(want) && memcmp((r)->out, (want), (r)->out_len) == 0, \
                  "stdout differs:\n got  %s\n want %s", (r)->out, (want))

/* The next reply of `route` is 200 with exactly these bytes. */
static void reply(const char *route, const char *body)
{
    cJSON *s = cJSON_CreateObject(), *rs = cJSON_AddArrayToObject(s, "responses");
    cJSON_AddStringToObject(s, "route", route);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "status", 200);
    cJSON_AddStringToObject(r, "body", body);
    cJSON_AddItemToArray(rs, r);
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(emu_ctl(&E, "POST", "/_emu/script", text));
    free(text);
    cJSON_Delete(s);
}

START_TEST(tasks_get_and_summary_print_the_servers_bytes)
{
    nna_out r;
    reply("tasks.get", TASK_BODY);
    RUN(&r, "tasks", "get", TASK_ID);
    EXPECT(&r, 0);
    EXPECT_OUT(&r, TASK_BODY "\n");
    nna_out_free(&r);

    reply("tasks.summary", SUMMARY_BODY);
    RUN(&r, "tasks", "summary", TASK_ID);
    EXPECT(&r, 0);
    EXPECT_OUT(&r, SUMMARY_BODY "\n");
    nna_out_free(&r);

    /* a pretty-printed reply still makes one line: only the line breaks between tokens go */
    reply("tasks.summary", "{\n  \"result\" : {\n    \"extracted_data\" : " XDATA "\n  }\n}\n");
    RUN(&r, "tasks", "summary", TASK_ID);
    EXPECT(&r, 0);
    EXPECT_OUT(&r, "{  \"result\" : {    \"extracted_data\" : " XDATA "  }}\n");
    nna_out_free(&r);

    /* list pages: each element's own bytes, one per line */
    reply("tasks.list", "{\"data\":[" TASK_BODY ", {\"task_id\":\"" TASK_ID "\",\"x\":-0.0}],"
                        "\"has_more\":false}");
    RUN(&r, "tasks", "list");
    EXPECT(&r, 0);
    EXPECT_OUT(&r, TASK_BODY "\n{\"task_id\":\"" TASK_ID "\",\"x\":-0.0}\n");
    nna_out_free(&r);
    reply("tasks.list", "{\"data\":[" TASK_BODY "],\"has_more\":false}");
    RUN(&r, "tasks", "list", "--all");
    EXPECT(&r, 0);
    EXPECT_OUT(&r, TASK_BODY "\n");
    nna_out_free(&r);

    /* a wait prints the /summary it ends with */
    reply("tasks.get", TASK_BODY);
    reply("tasks.summary", SUMMARY_BODY);
    RUN(&r, "tasks", "wait", TASK_ID);
    EXPECT(&r, 0);
    EXPECT_OUT(&r, SUMMARY_BODY "\n");
    nna_out_free(&r);

    reply("tasks.messages", "{\"data\":[{\"id\":\"m\",\"content\":" XDATA "}]}");
    RUN(&r, "tasks", "messages", TASK_ID);
    EXPECT(&r, 0);
    EXPECT_OUT(&r, "{\"id\":\"m\",\"content\":" XDATA "}\n");
    nna_out_free(&r);
}
END_TEST

START_TEST(agents_get_and_update_keep_config_as_written)
{
    const char *agent = "{\"id\":\"" AGENT_1 "\",\"name\":\"a\",\"config\":" XDATA "}";
    nna_out r;
    reply("agents.get", agent);
    RUN(&r, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    char *want = NULL;
    ck_assert(asprintf(&want, "%s\n", agent) > 0);
    EXPECT_OUT(&r, want);
    free(want);
    nna_out_free(&r);

    /* the caller's config goes out as written and the emulator stores it as sent */
    RUN(&r, "agents", "update", AGENT_1, "--json", " {\"config\": " XDATA ", \"is_active\": true} ");
    EXPECT(&r, 0);
    ck_assert_msg(strstr(r.out, "\"config\":" XDATA ","), "config changed: %s", r.out);
    nna_out_free(&r);
    RUN(&r, "agents", "get", AGENT_1);
    EXPECT(&r, 0);
    ck_assert_msg(strstr(r.out, "\"config\":" XDATA ","), "config changed: %s", r.out);
    nna_out_free(&r);

    /* text that is not strict JSON is a usage error, nothing sent */
    RUN(&r, "agents", "update", AGENT_1, "--json", "{\"config\":{}} trailing");
    EXPECT(&r, 2);
    nna_out_free(&r);
}
END_TEST

START_TEST(batch_rows_embed_the_servers_bytes)
{
    const char *dir = tmpdir();
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/in.jsonl", dir);
    snprintf(out, sizeof out, "%s/out.jsonl", dir);
    write_file(in, "{\"id\":12345678901234567891,\"agent_id\":\"" AGENT_1 "\",\"query\":\"q\","
                   "\"output_config\":{\"output_schema\":\"{\\\"n\\\":12345678901234567891}\"}}\n");
    reply("tasks.summary", SUMMARY_BODY);
    nna_out r;
    RUN(&r, "batch", "--input", in, "--output", out, "--wait");
    EXPECT(&r, 0);
    nna_out_free(&r);
    char *rows = read_file(out, NULL);
    ck_assert_ptr_nonnull(rows);
    ck_assert_msg(strstr(rows, "\"extracted_data\":" XDATA), "row: %s", rows);
    ck_assert_msg(strstr(rows, "\"summary\":\"done\""), "row: %s", rows);
    ck_assert_msg(strstr(rows, "\"id\":12345678901234567891,"), "row: %s", rows);
    ck_assert_uint_eq(count_lines(rows), 1);
    free(rows);
}
END_TEST

/* ---- malformed replies ---------------------------------------------------------------- */

static void expect_protocol(nna_out *r, const char *in_error)
{
    EXPECT(r, EXIT_PROTOCOL);
    ck_assert_msg(r->out_len == 0, "stdout not empty: %s", r->out);
    ck_assert_msg(strstr(r->err, "\"code\":\"NNA_EPROTOCOL\"") || strstr(r->err, "EPROTOCOL"),
                  "stderr: %s", r->err);
    if (in_error) ck_assert_msg(strstr(r->err, in_error), "stderr lacks %s: %s", in_error, r->err);
    nna_out_free(r);
}

START_TEST(malformed_replies_exit_with_the_protocol_code)
{
    nna_out r;
    reply("tasks.get", TASK_BODY " garbage");
    RUN(&r, "tasks", "get", TASK_ID);
    expect_protocol(&r, "after its JSON value");

    reply("tasks.list", "{}");
    RUN(&r, "tasks", "list");
    expect_protocol(&r, NULL);

    reply("agents.list", "{}");
    RUN(&r, "agents", "list");
    expect_protocol(&r, NULL);

    reply("tasks.get", "{\"task_id\":\"" TASK_ID "\\u0000x\",\"status\":\"completed\"}");
    RUN(&r, "tasks", "get", TASK_ID);
    expect_protocol(&r, NULL);

    reply("tasks.summary", "{\"task_id\":\"" TASK_ID "\",\"result\":\"bad \xff\xfe bytes\"}");
    RUN(&r, "tasks", "summary", TASK_ID);
    expect_protocol(&r, "UTF-8");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli verbatim");
    TCase *tc = tcase_create("verbatim");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tasks_get_and_summary_print_the_servers_bytes);
    tcase_add_test(tc, agents_get_and_update_keep_config_as_written);
    tcase_add_test(tc, batch_rows_embed_the_servers_bytes);
    tcase_add_test(tc, malformed_replies_exit_with_the_protocol_code);
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
