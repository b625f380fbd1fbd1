/* Server data passes through byte for byte, and malformed replies are protocol errors.
 *
 * Unit tests of the strict JSON scanner (lib/jsonspan.c: validation, spans, member lookup)
 * and of request-body splicing; integration tests through the library against an
 * in-process nna-emu whose scripted replies carry exactly the bytes under test: integers
 * beyond 2^53 and 2^64, 17-digit decimals, 1e-400, -0, escaped unicode and surrogate
 * pairs, deep nesting. Each typed result's json_text (and its opaque members' *_text) must
 * be the server's own bytes; cJSON's view of the same numbers is lossy. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "api_internal.h"

#define TASK_ID "5d1b7c3e-2a4f-4b6d-8e9f-0a1b2c3d4e5f"
#define AGENT_ID NNA_EMU_AGENT_1

/* The document data of the issue, plus the other values cJSON re-prints. */
#define XDATA "{\"account\":12345678901234567891,\"iban_digits\":9007199254740993," \
    "\"amount\":1234567.8912345678,\"tiny\":1e-400,\"neg0\":-0,\"exp\":1E+2," \
    "\"esc\":\"caf\\u00e9 \\ud83d\\ude00 \\/ \\\"q\\\" \\u0000 end\",\"utf8\":\"é😀\"," \
    "\"list\":[1.10,2.500,-0.0]}"

/* ---- helpers ------------------------------------------------------------------------ */

static nna_future *done(tctx *t, nna_future *f)
{
    ck_assert_ptr_nonnull(f);
    ck_assert(run_until_done(t->loop, f, 30));
    return f;
}

static void expect(tctx *t, nna_future *f, nna_status st)
{
    done(t, f);
    if (nna_future_status(f) != st)
        ck_abort_msg("expected %s, got %s (%s)", nna_status_name(st),
                     nna_status_name(nna_future_status(f)),
                     nna_future_error(f) ? nna_future_error(f) : "");
}

static void expect_unref(tctx *t, nna_future *f, nna_status st)
{
    expect(t, f, st);
    nna_future_unref(f);
}

static int no_item(const nna_task *task, void *ud)
{
    (void)task;
    (void)ud;
    return 0;
}

/* Walk callback: appends each item's own bytes and a newline to the buffer ud. */
static int collect_item(const nna_task *task, void *ud)
{
    char *buf = ud;
    ck_assert_ptr_nonnull(task->json_text);
    strncat(buf, task->json_text, task->json_len);
    strcat(buf, "\n");
    return 0;
}

/* The next reply of `route` is 200 with exactly these bytes. */
static void reply(tctx *t, const char *route, const char *body)
{
    cJSON *s = cJSON_CreateObject(), *rs = cJSON_AddArrayToObject(s, "responses");
    cJSON_AddStringToObject(s, "route", route);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "status", 200);
    cJSON_AddStringToObject(r, "body", body);
    cJSON_AddItemToArray(rs, r);
    char *text = cJSON_PrintUnformatted(s);
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/script", text, &st));
    ck_assert_int_eq(st, 200);
    free(text);
    cJSON_Delete(s);
}

/* Asserts text[0..len) is exactly `want`. */
#define ck_bytes(text, len, want) do {                                                    \
        const char *t_ = (text), *w_ = (want);                                            \
        size_t l_ = (len);                                                                \
        ck_assert_msg(t_ && l_ == strlen(w_) && memcmp(t_, w_, l_) == 0,                 \
                      "bytes differ:\n got  %.*s\n want %s", (int)(t_ ? l_ : 0),         \
                      t_ ? t_ : "", w_);                                                  \
    } while (0)

/* "[[...[1]...]]" nested n deep (caller frees). */
static char *nested(int n)
{
    char *s = malloc((size_t)n * 2 + 2), *p = s;
    for (int i = 0; i < n; i++) *p++ = '[';
    *p++ = '1';
    for (int i = 0; i < n; i++) *p++ = ']';
    *p = '\0';
    return s;
}

static char *fmt(const char *f, const char *a, const char *b)
{
    size_t n = strlen(f) + strlen(a) + (b ? strlen(b) : 0) + 1;
    char *s = malloc(n);
    snprintf(s, n, f, a, b ? b : "");
    return s;
}

static int valid(const char *s) { return nna_json_validate(s, strlen(s), NULL, NULL, NULL) == 0; }

/* ---- the scanner -------------------------------------------------------------------- */

START_TEST(scanner_accepts_rfc8259_json)
{
    static const char *const good[] = {
        "0", "-0", "1e-400", "12345678901234567891", "1.7976931348623157e309", "-1.5E+3",
        "\"\"", "\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\\u0000\"",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"", "true", "false", "null",
        "[]", "{}", " [ 1 , {\"a\" : [ ] } ] ", "{\"a\":1,\"a\":2}", "\t\r\n{}\n",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(valid(good[i]), "rejected %s", good[i]);
    char *deep = nested(NNA_JSON_MAX_DEPTH);
    ck_assert(valid(deep));
    free(deep);
}
END_TEST

START_TEST(scanner_rejects_everything_else)
{
    static const char *const bad[] = {
        "", " ", "{} x", "{}{}", "[1] ]", "{\"a\":1}}", "1 2", "01", "1.", ".5", "-", "+1",
        "1e", "1e+", "0x10", "NaN", "Infinity", "tru", "nul", "[1,]", "{\"a\":1,}", "[,1]",
        "{a:1}", "{\"a\" 1}", "{1:1}", "'a'", "\"abc", "\"a\x01\"", "\"a\tb\"", "\"\\x\"",
        "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\x80\"", "\xef\xbb\xbf{}",
        "{\"id\\u0000x\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!valid(bad[i]), "accepted bad input #%zu: %s", i, bad[i]);
    /* a NUL byte ends nothing: the length decides */
    ck_assert(nna_json_validate("{}\0", 3, NULL, NULL, NULL) != 0);
    char *deep = nested(NNA_JSON_MAX_DEPTH + 1);
    const char *why = NULL;
    size_t at = 0;
    ck_assert_int_eq(nna_json_validate(deep, strlen(deep), NULL, &why, &at), -1);
    ck_assert_str_eq(why, "nested too deeply");
    free(deep);
    ck_assert_int_eq(nna_json_validate("{\"a\":1} x", 9, NULL, &why, &at), -1);
    ck_assert_str_eq(why, "text after the JSON value");
    ck_assert_uint_eq(at, 8);
}
END_TEST

START_TEST(scanner_spans_members_and_elements)
{
    const char *t = "  {\"a\\u0062\":[1, 2 ,{\"x\":null}], \"ab\":0, \"n\":\"s\\u0000\",\"e\":{}}  ";
    nna_span doc, v, e;
    ck_assert_int_eq(nna_json_validate(t, strlen(t), &doc, NULL, NULL), 0);
    ck_assert_uint_eq(doc.off, 2);
    ck_assert_uint_eq(doc.len, strlen(t) - 4);
    ck_assert_int_eq(nna_json_kind(t, doc), '{');
    /* member names compare unescaped; the first of duplicates wins (like cJSON) */
    ck_assert(nna_json_member(t, doc, "ab", &v));
    ck_bytes(t + v.off, v.len, "[1, 2 ,{\"x\":null}]");
    ck_assert(!nna_json_member(t, doc, "a", NULL));
    ck_assert(!nna_json_member(t, v, "x", NULL)); /* not an object */
    size_t pos = 0;
    const char *want[] = { "1", "2", "{\"x\":null}" };
    for (int i = 0; i < 3; i++) {
        ck_assert(nna_json_next(t, v, &pos, &e));
        ck_bytes(t + e.off, e.len, want[i]);
    }
    ck_assert(!nna_json_next(t, v, &pos, &e));
    ck_assert(nna_json_member(t, e, "x", &v));
    ck_assert_int_eq(nna_json_kind(t, v), 'z');
    ck_assert(nna_json_member(t, doc, "n", &v));
    ck_assert(nna_json_string_has_nul(t, v));
    ck_assert(nna_json_member(t, doc, "e", &v));
    ck_bytes(t + v.off, v.len, "{}");
    pos = 0;
    ck_assert(!nna_json_next(t, v, &pos, &e));
    /* object member values in order */
    pos = 0;
    int n = 0;
    while (nna_json_next(t, doc, &pos, &e)) n++;
    ck_assert_int_eq(n, 4);
    /* a string whose escapes only look like NUL */
    const char *s = "\"\\\\u0000\"";
    ck_assert(valid(s));
    ck_assert(!nna_json_string_has_nul(s, (nna_span){ 0, strlen(s) }));
}
END_TEST

START_TEST(request_bodies_splice_the_callers_bytes)
{
    char *b = nna_json_splice(strdup("{\"query\":\"q\"}"), "output_config", " " XDATA "\n");
    ck_assert_str_eq(b, "{\"query\":\"q\",\"output_config\":" XDATA "}");
    free(b);
    b = nna_json_splice(strdup("{}"), "config", "{\"n\":12345678901234567891}");
    ck_assert_str_eq(b, "{\"config\":{\"n\":12345678901234567891}}");
    free(b);
    ck_assert_ptr_null(nna_json_splice(strdup("{}"), "config", "{} x"));
    /* what the typed calls accept as an object */
    ck_assert(nna_valid_json_object(" " XDATA " "));
    ck_assert(!nna_valid_json_object("{\"a\":1} trailing"));
    ck_assert(!nna_valid_json_object("{\"a\":\"\xff\"}"));
    ck_assert(!nna_valid_json_object("[1]"));
}
END_TEST

/* ---- through the library: identical bytes out --------------------------------------- */

START_TEST(summary_keeps_the_servers_bytes)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    char *deep = nested(200);
    char *x = fmt("{\"doc\":%s,\"deep\":%s}", XDATA, deep);
    char *result = fmt("{\"summary\":\"done \\u00e9\",\"extracted_data\":%s}", x, NULL);
    char *body = fmt("{\"task_id\":\"" TASK_ID "\",\"status\":\"completed\",\n"
                     "  \"result\" : %s }", result, NULL);
    char *padded = fmt(" \n%s\n\t", body, NULL);
    reply(&t, "tasks.summary", padded);
    nna_future *f = nna_tasks_summary(t.client, TASK_ID);
    expect(&t, f, NNA_OK);
    const nna_summary *s = nna_future_result(f);
    ck_bytes(s->json_text, s->json_len, body);
    ck_bytes(s->task.json_text, s->task.json_len, body);
    ck_bytes(s->result_text, s->result_len, result);
    ck_bytes(s->extracted_data_text, s->extracted_data_len, x);
    size_t len;
    const char *raw = nna_future_json_text(f, &len);
    ck_bytes(raw, len, body);
    ck_assert_str_eq(raw, body); /* NUL-terminated */
    ck_assert_str_eq(s->text, "done \xc3\xa9");
    /* the cJSON view is what loses data: the raw text is the point */
    char *printed = cJSON_PrintUnformatted(s->extracted_data);
    ck_assert_ptr_null(strstr(printed, "12345678901234567891"));
    free(printed);
    nna_future_unref(f);

    /* extracted_data at the top level when result has none */
    free(body);
    body = fmt("{\"result\":{\"summary\":\"s\",\"extracted_data\":null},\"extracted_data\":%s}", XDATA, NULL);
    reply(&t, "tasks.summary", body);
    f = nna_tasks_summary(t.client, TASK_ID);
    expect(&t, f, NNA_OK);
    s = nna_future_result(f);
    ck_bytes(s->extracted_data_text, s->extracted_data_len, XDATA);
    nna_future_unref(f);
    free(deep); free(x); free(result); free(body); free(padded);
    tctx_stop(&t);
}
END_TEST

#define TASK_BODY "{\"task_id\":\"" TASK_ID "\",\"agent_id\":\"" AGENT_ID "\"," \
    "\"status\":\"completed\",\"n\":9007199254740993,\"title\":\"caf\\u00e9\"}"

START_TEST(tasks_pages_messages_and_generic_requests_keep_their_bytes)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    reply(&t, "tasks.get", TASK_BODY);
    nna_future *f = nna_tasks_get(t.client, TASK_ID);
    expect(&t, f, NNA_OK);
    const nna_task *task = nna_future_result(f);
    ck_bytes(task->json_text, task->json_len, TASK_BODY);
    nna_future_unref(f);

    /* list items: each its own span of the page */
    const char *item2 = "{ \"task_id\" : \"" TASK_ID "\" , \"x\" : 1.0000000000000001 }";
    char *page = fmt("{\"data\":[%s,\n  %s],\"has_more\":false,\"next_cursor\":null}",
                     TASK_BODY, item2);
    reply(&t, "tasks.list", page);
    f = nna_tasks_list(t.client, NULL);
    expect(&t, f, NNA_OK);
    const nna_task_page *tp = nna_future_result(f);
    ck_assert_uint_eq(tp->page.count, 2);
    ck_bytes(tp->items[0].json_text, tp->items[0].json_len, TASK_BODY);
    ck_bytes(tp->items[1].json_text, tp->items[1].json_len, item2);
    nna_future_unref(f);

    /* a walk hands each item over with its own bytes too */
    reply(&t, "tasks.list", page);
    char got[1024] = "";
    f = nna_tasks_walk(t.client, NULL, collect_item, got);
    expect(&t, f, NNA_OK);
    ck_assert_str_eq(got, TASK_BODY "\n" "{ \"task_id\" : \"" TASK_ID "\" , \"x\" : 1.0000000000000001 }\n");
    nna_future_unref(f);
    free(page);

    const char *msg = "{\"id\":\"m1\",\"content\":{\"amount\":1234567.8912345678,\"e\":\"\\ud83d\\ude00\"}}";
    page = fmt("{\"data\":[%s]}", msg, NULL);
    reply(&t, "tasks.messages", page);
    f = nna_tasks_messages(t.client, TASK_ID);
    expect(&t, f, NNA_OK);
    const nna_message_list *ml = nna_future_result(f);
    ck_bytes(ml->json_text, ml->json_len, page);
    ck_bytes(ml->items[0].json_text, ml->items[0].json_len, msg);
    ck_bytes(ml->items[0].content_text, ml->items[0].content_len,
             "{\"amount\":1234567.8912345678,\"e\":\"\\ud83d\\ude00\"}");
    nna_future_unref(f);
    free(page);

    /* /result: the feed as sent */
    const char *feed = "[{\"type\":\"tool_call\",\"content\":{\"n\":12345678901234567891}}]";
    page = fmt("{\"task_id\":\"" TASK_ID "\",\"feed\":%s}", feed, NULL);
    reply(&t, "tasks.result", page);
    f = nna_tasks_result(t.client, TASK_ID);
    expect(&t, f, NNA_OK);
    const nna_task_result *tr = nna_future_result(f);
    ck_bytes(tr->json_text, tr->json_len, page);
    ck_bytes(tr->feed_text, tr->feed_len, feed);
    nna_future_unref(f);
    free(page);

    /* the generic request: the raw body next to the cJSON result */
    reply(&t, "tasks.get", "[12345678901234567891, -0, 1e-400]");
    f = nna_client_request(t.client, "GET", "/tasks/" TASK_ID, NULL, NULL, 1);
    expect(&t, f, NNA_OK);
    size_t len;
    ck_bytes(nna_future_json_text(f, &len), len, "[12345678901234567891, -0, 1e-400]");
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(wait_result_keeps_task_and_summary_bytes)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    char *sum = fmt("{\"task_id\":\"" TASK_ID "\",\"result\":{\"extracted_data\":%s}}", XDATA, NULL);
    reply(&t, "tasks.get", TASK_BODY);
    reply(&t, "tasks.summary", sum);
    nna_future *f = nna_tasks_wait(t.client, TASK_ID, NULL);
    expect(&t, f, NNA_OK);
    const nna_wait_result *r = nna_future_result(f);
    ck_bytes(r->task.json_text, r->task.json_len, TASK_BODY);
    ck_assert(r->has_summary);
    ck_bytes(r->summary.json_text, r->summary.json_len, sum);
    ck_bytes(r->summary.extracted_data_text, r->summary.extracted_data_len, XDATA);
    nna_future_unref(f);

    /* a watched task read from a list page keeps that item's bytes */
    nna_watch *w;
    nna_watch_options wo;
    nna_watch_options_init(&wo);
    wo.interval = 0.01;
    wo.fetch_summary = 0;
    ck_assert_int_eq(nna_watch_new(t.client, &wo, &w), NNA_OK);
    const char *item = "{\"task_id\":\"" TASK_ID "\",\"agent_id\":\"" AGENT_ID "\","
                       "\"status\":\"completed\",\"created_at\":\"2026-01-01T00:00:00Z\","
                       "\"big\":12345678901234567891}";
    char *page = fmt("{\"data\":[%s],\"has_more\":false}", item, NULL);
    reply(&t, "tasks.list", page);
    f = nna_watch_add(w, TASK_ID, AGENT_ID, 1767225600.0);
    expect(&t, f, NNA_OK);
    r = nna_future_result(f);
    ck_bytes(r->task.json_text, r->task.json_len, item);
    nna_future_unref(f);
    nna_watch_free(w);
    free(page);
    free(sum);
    tctx_stop(&t);
}
END_TEST

START_TEST(agent_config_goes_out_and_comes_back_as_written)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    const char *cfg = "{\"system_prompt\":\"caf\\u00e9\",\"limits\":" XDATA "}";
    nna_agent_update_options uo;
    nna_agent_update_options_init(&uo);
    uo.config_json = cfg;
    nna_future *f = nna_agents_update(t.client, AGENT_ID, &uo);
    expect(&t, f, NNA_OK);
    const nna_agent *a = nna_future_result(f);
    ck_bytes(a->config_text, a->config_len, cfg);
    ck_assert_str_eq(a->system_prompt, "caf\xc3\xa9");
    nna_future_unref(f);

    f = nna_agents_get(t.client, AGENT_ID);
    expect(&t, f, NNA_OK);
    a = nna_future_result(f);
    ck_bytes(a->config_text, a->config_len, cfg);
    ck_assert_ptr_nonnull(strstr(a->json_text, cfg));
    nna_future_unref(f);

    /* a published version keeps the config as sent */
    int st;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/agents/" AGENT_ID "/draft", "{}", &st));
    ck_assert_int_eq(st, 200);
    f = nna_agents_publish(t.client, AGENT_ID);
    expect(&t, f, NNA_OK);
    char *published = strdup(((const nna_agent *)nna_future_result(f))->id);
    nna_future_unref(f);
    f = nna_agents_get(t.client, published);
    expect(&t, f, NNA_OK);
    a = nna_future_result(f);
    ck_bytes(a->config_text, a->config_len, cfg);
    nna_future_unref(f);
    free(published);

    nna_agent_create_options co;
    nna_agent_create_options_init(&co);
    co.name = "verbatim";
    co.config_json = "{\"n\":-0,\"x\":1e-400}";
    f = nna_agents_create(t.client, &co);
    expect(&t, f, NNA_OK);
    a = nna_future_result(f);
    ck_bytes(a->config_text, a->config_len, "{\"n\":-0,\"x\":1e-400}");
    nna_future_unref(f);

    /* caller text that is not strict JSON is refused before anything is sent */
    uo.config_json = "{\"a\":1} trailing";
    expect_unref(&t, nna_agents_update(t.client, AGENT_ID, &uo), NNA_EINVAL);
    uo.config_json = "{\"a\":\"\xc0\xaf\"}";
    expect_unref(&t, nna_agents_update(t.client, AGENT_ID, &uo), NNA_EINVAL);
    expect_unref(&t, nna_client_request(t.client, "POST", "/agents", NULL, "{} {}", 0), NNA_EINVAL);
    tctx_stop(&t);
}
END_TEST

/* A run found by reconciliation (its reply was lost) carries the bytes of the list item it
 * was found as, like one read from a reply. */
START_TEST(a_reconciled_run_keeps_the_list_items_bytes)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    int st;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"task_ms\":600000}", &st));
    ck_assert_int_eq(st, 200);
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
                         "{\"route\":\"run\",\"responses\":[{\"status\":500,\"commit\":true}]}", &st));
    ck_assert_int_eq(st, 200);
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "reconcile me";
    nna_future *f = nna_agents_run(t.client, AGENT_ID, &ro);
    expect(&t, f, NNA_OK);
    ck_assert(nna_future_reconciled(f));
    const nna_task *task = nna_future_result(f);
    ck_assert_ptr_nonnull(task->json_text);
    nna_tasks_list_options lo;
    nna_tasks_list_options_init(&lo);
    lo.agent_id = AGENT_ID;
    nna_future *g = nna_tasks_list(t.client, &lo);
    expect(&t, g, NNA_OK);
    const nna_task_page *p = nna_future_result(g);
    ck_assert_uint_eq(p->page.count, 1);
    ck_assert_uint_eq(task->json_len, p->items[0].json_len);
    ck_assert(memcmp(task->json_text, p->items[0].json_text, task->json_len) == 0);
    size_t len;
    ck_assert_ptr_nonnull(nna_future_json_text(f, &len));
    ck_assert_uint_eq(len, task->json_len);
    nna_future_unref(g);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- malformed replies: protocol errors --------------------------------------------- */

static void expect_protocol(tctx *t, nna_future *f, const char *in_error)
{
    expect(t, f, NNA_EPROTOCOL);
    ck_assert_ptr_null(nna_future_result(f));
    if (in_error)
        ck_assert_msg(nna_future_error(f) && strstr(nna_future_error(f), in_error),
                      "error text \"%s\" lacks \"%s\"", nna_future_error(f), in_error);
    nna_future_unref(f);
}

START_TEST(trailing_garbage_is_a_protocol_error)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    reply(&t, "tasks.get", TASK_BODY " x");
    expect_protocol(&t, nna_tasks_get(t.client, TASK_ID), "after its JSON value");
    reply(&t, "tasks.get", TASK_BODY TASK_BODY);
    expect_protocol(&t, nna_tasks_get(t.client, TASK_ID), "after its JSON value");
    reply(&t, "tasks.summary", "{\"result\":null}]");
    expect_protocol(&t, nna_tasks_summary(t.client, TASK_ID), NULL);
    char *deep = nested(NNA_JSON_MAX_DEPTH + 44);
    reply(&t, "tasks.get", deep);
    /* deeper than the client's max_json_depth (at most NNA_JSON_MAX_DEPTH): a limit */
    expect_unref(&t, nna_client_request(t.client, "GET", "/tasks/" TASK_ID, NULL, NULL, 1),
                 NNA_ELIMIT);
    free(deep);
    tctx_stop(&t);
}
END_TEST

START_TEST(an_object_without_data_is_not_a_list)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    reply(&t, "tasks.list", "{}");
    expect_protocol(&t, nna_tasks_list(t.client, NULL), NULL);
    reply(&t, "tasks.list", "{\"data\":null,\"has_more\":false}");
    expect_protocol(&t, nna_tasks_list(t.client, NULL), NULL);
    reply(&t, "agents.list", "{}");
    expect_protocol(&t, nna_agents_list(t.client, NULL), NULL);
    reply(&t, "agents.versions", "{\"versions\":[]}");
    expect_protocol(&t, nna_agents_versions(t.client, AGENT_ID, NULL), NULL);
    reply(&t, "tasks.messages", "{}");
    expect_protocol(&t, nna_tasks_messages(t.client, TASK_ID), NULL);
    reply(&t, "tasks.list", "{}");
    nna_future *f = nna_tasks_walk(t.client, NULL, no_item, NULL);
    expect_unref(&t, f, NNA_EPROTOCOL); /* (a walk's result counts what it saw) */
    /* an empty list is fine */
    reply(&t, "tasks.list", "{\"data\":[],\"has_more\":false}");
    f = nna_tasks_list(t.client, NULL);
    expect(&t, f, NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(escaped_nul_in_an_id_is_a_protocol_error)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    reply(&t, "tasks.get", "{\"task_id\":\"5d1b7c3e\\u0000-evil\",\"status\":\"completed\"}");
    expect_protocol(&t, nna_tasks_get(t.client, TASK_ID), NULL);
    reply(&t, "tasks.list", "{\"data\":[{\"task_id\":\"a\",\"agent_id\":\"b\\u0000c\"}],\"has_more\":false}");
    expect_protocol(&t, nna_tasks_list(t.client, NULL), NULL);
    reply(&t, "tasks.list", "{\"data\":[],\"has_more\":true,\"next_cursor\":\"c1\\u0000x\"}");
    expect_protocol(&t, nna_tasks_list(t.client, NULL), NULL);
    reply(&t, "agents.get", "{\"id\":\"" AGENT_ID "\\u0000\"}");
    expect_protocol(&t, nna_agents_get(t.client, AGENT_ID), NULL);
    reply(&t, "tasks.messages", "{\"data\":[{\"id\":\"m\\u0000\"}]}");
    expect_protocol(&t, nna_tasks_messages(t.client, TASK_ID), NULL);
    reply(&t, "tasks.result", "{\"task_id\":\"\\u0000\",\"feed\":[]}");
    expect_protocol(&t, nna_tasks_result(t.client, TASK_ID), NULL);
    /* inside the user's data it is data: kept, verbatim */
    char *body = fmt("{\"task_id\":\"" TASK_ID "\",\"extracted_data\":%s}", XDATA, NULL);
    reply(&t, "tasks.summary", body);
    nna_future *f = nna_tasks_summary(t.client, TASK_ID);
    expect(&t, f, NNA_OK);
    const nna_summary *s = nna_future_result(f);
    ck_bytes(s->extracted_data_text, s->extracted_data_len, XDATA);
    nna_future_unref(f);
    free(body);
    tctx_stop(&t);
}
END_TEST

START_TEST(invalid_utf8_is_a_protocol_error)
{
    static const char *const bodies[] = {
        "{\"task_id\":\"" TASK_ID "\",\"title\":\"\xff\"}",
        "{\"task_id\":\"" TASK_ID "\",\"title\":\"\xc0\xaf\"}",          /* overlong '/' */
        "{\"task_id\":\"" TASK_ID "\",\"title\":\"\xed\xa0\x80\"}",      /* a surrogate */
        "{\"task_id\":\"" TASK_ID "\",\"title\":\"caf\xc3\"}",           /* cut short */
    };
    tctx t;
    tctx_start(&t, NULL, NULL);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        reply(&t, "tasks.get", bodies[i]);
        expect_protocol(&t, nna_tasks_get(t.client, TASK_ID), "UTF-8");
    }
    tctx_stop(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("verbatim (" TLOOP_NAME ")");
    TCase *tc = tcase_create("scanner");
    tcase_add_test(tc, scanner_accepts_rfc8259_json);
    tcase_add_test(tc, scanner_rejects_everything_else);
    tcase_add_test(tc, scanner_spans_members_and_elements);
    tcase_add_test(tc, request_bodies_splice_the_callers_bytes);
    suite_add_tcase(s, tc);
    tc = tcase_create("identical bytes");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, summary_keeps_the_servers_bytes);
    tcase_add_test(tc, tasks_pages_messages_and_generic_requests_keep_their_bytes);
    tcase_add_test(tc, wait_result_keeps_task_and_summary_bytes);
    tcase_add_test(tc, agent_config_goes_out_and_comes_back_as_written);
    tcase_add_test(tc, a_reconciled_run_keeps_the_list_items_bytes);
    suite_add_tcase(s, tc);
    tc = tcase_create("malformed replies");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, trailing_garbage_is_a_protocol_error);
    tcase_add_test(tc, an_object_without_data_is_not_a_list);
    tcase_add_test(tc, escaped_nul_in_an_id_is_a_protocol_error);
    tcase_add_test(tc, invalid_utf8_is_a_protocol_error);
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
