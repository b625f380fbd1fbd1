/* Limits on what the server controls (issue 13, issue 17 item 2), against an in-process
 * nna-emu that streams generated bodies without allocating them: an endless or 256 MB
 * body, a per-endpoint cap, a Content-Length over the cap, oversized headers, deeply
 * nested JSON, a walk that never ends, a trickling server, and many large replies at once
 * against the total response budget. Memory bounds are measured (ru_maxrss) with wide
 * margins. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "testutil.h"
#include "client_internal.h"
#include "reply_limits.h"

#define TASK "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define MiB (1024.0 * 1024.0)

/* Under ASan, freed blocks wait in a quarantine (256 MB by default) that the RSS would
 * count: keep it small so the memory bounds measure the library, not the sanitizer. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=8"; }

static double rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

static void script(tctx *t, const char *body)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/script", body, &st));
    ck_assert_int_eq(st, 200);
}

static nna_client *client(tctx *t, void (*tune)(nna_client_options *))
{
    nna_client_options o;
    tctx_options(t, &o);
    if (tune) tune(&o);
    nna_client *c = NULL;
    ck_assert_int_eq(tclient_new(t->loop, &o, &c), NNA_OK);
    return c;
}

/* Runs f to its end and checks its status and error text; f stays the caller's. */
static void expect_keep(tctx *t, nna_future *f, nna_status st, const char *in_error)
{
    ck_assert_ptr_nonnull(f);
    ck_assert(run_until_done(t->loop, f, 60));
    const char *err = nna_future_error(f) ? nna_future_error(f) : "";
    if (nna_future_status(f) != st)
        ck_abort_msg("expected %s, got %s (%s)", nna_status_name(st),
                     nna_status_name(nna_future_status(f)), err);
    if (in_error && !strstr(err, in_error))
        ck_abort_msg("error \"%s\" does not mention \"%s\"", err, in_error);
}

/* The same for a future nobody needs afterwards. */
static void expect(tctx *t, nna_future *f, nna_status st, const char *in_error)
{
    expect_keep(t, f, st, in_error);
    nna_future_unref(f);
}

static void finish(tctx *t, nna_client *c)
{
    nna_client_free(c);
    tctx_stop(t);
}

/* ---- body size ---------------------------------------------------------------------- */

static void cap_8m(nna_client_options *o) { o->max_response_bytes = 8u << 20; }

START_TEST(endless_body_ends_at_the_option)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, cap_8m);
    script(&t, "{\"route\":\"tasks.result\",\"responses\":[{\"status\":200,"
               "\"stream\":{\"prefix\":\"{\\\"pad\\\":\\\"\",\"bytes\":0}}]}");
    double before = rss_mib();
    expect(&t, nna_tasks_result(c, TASK), NNA_ELIMIT, "limit of 8388608 bytes");
    double grew = rss_mib() - before;
    fprintf(stderr, "limits: endless body, 8 MiB cap: maxrss +%.1f MiB\n", grew);
    ck_assert_msg(grew < 48, "an endless body grew the RSS by %.0f MiB (cap 8 MiB)", grew);
    finish(&t, c);
}
END_TEST

/* The default cap against 256 MB, with and without Content-Length. */
START_TEST(huge_body_default_cap)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, NULL);
    script(&t, "{\"route\":\"tasks.result\",\"responses\":["
               "{\"status\":200,\"stream\":{\"bytes\":268435456}},"
               "{\"status\":200,\"stream\":{\"bytes\":268435456,\"chunked\":true}}]}");
    double before = rss_mib(), t0 = tclock();
    /* Content-Length over the cap: refused before the body is read. */
    expect(&t, nna_tasks_result(c, TASK), NNA_ELIMIT, "limit of 67108864 bytes");
    ck_assert_msg(tclock() - t0 < 5, "refusing by Content-Length took %.1f s", tclock() - t0);
    ck_assert_msg(rss_mib() - before < 16, "RSS grew by %.0f MiB", rss_mib() - before);
    /* Chunked: read up to the cap, then stopped. */
    expect(&t, nna_tasks_result(c, TASK), NNA_ELIMIT, "limit of 67108864 bytes");
    double grew = rss_mib() - before;
    fprintf(stderr, "limits: 256 MB chunked body, default cap: maxrss +%.1f MiB\n", grew);
    ck_assert_msg(grew < 200, "a 256 MB body grew the RSS by %.0f MiB (cap 64 MiB)", grew);
    ck_assert(!nna_status_retryable(NNA_ELIMIT));
    finish(&t, c);
}
END_TEST

static void small_objects(nna_client_options *o) { o->max_object_bytes = 64 << 10; }

/* A task object is capped lower than a result of the same size. */
START_TEST(per_endpoint_caps)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, small_objects);
    const char *big = "{\"status\":200,\"stream\":{\"prefix\":\"{\\\"task_id\\\":\\\"" TASK
                      "\\\",\\\"pad\\\":\\\"\",\"suffix\":\"\\\"}\",\"bytes\":200000,"
                      "\"chunked\":true}}";
    char body[512];
    snprintf(body, sizeof body, "{\"route\":\"tasks.get\",\"responses\":[%s]}", big);
    script(&t, body);
    snprintf(body, sizeof body, "{\"route\":\"tasks.result\",\"responses\":[%s]}", big);
    script(&t, body);
    expect(&t, nna_tasks_get(c, TASK), NNA_ELIMIT, "limit of 65536 bytes");
    nna_future *f = nna_tasks_result(c, TASK);
    expect_keep(&t, f, NNA_OK, NULL);
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(nna_future_json(f), "pad");
    ck_assert(cJSON_IsString(pad));
    ck_assert_uint_eq(strlen(pad->valuestring), 200000 - strlen("{\"task_id\":\"" TASK
                                                                "\",\"pad\":\"\"}"));
    nna_future_unref(f);
    /* The defaults, resolved: pages and objects below any reply's cap. */
    ck_assert_uint_eq(c->limits.max_object, 64 << 10);
    ck_assert_uint_eq(c->limits.max_page, NNA_DEFAULT_MAX_PAGE);
    ck_assert_uint_eq(c->limits.max_response, NNA_DEFAULT_MAX_RESPONSE);
    finish(&t, c);
}
END_TEST

/* ---- headers -------------------------------------------------------------------------- */

static void small_headers(nna_client_options *o) { o->max_header_bytes = 4096; }

START_TEST(header_size_limit)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, small_headers);
    nna_client *d = client(&t, NULL);
    const char *s = "{\"route\":\"tasks.get\",\"responses\":[{\"status\":200,\"header_bytes\":8000,"
                    "\"json\":{\"task_id\":\"" TASK "\"}}]}";
    script(&t, s);
    expect(&t, nna_tasks_get(c, TASK), NNA_ELIMIT, "max_header_bytes (4096)");
    script(&t, s); /* within the default 64 KiB */
    expect(&t, nna_tasks_get(d, TASK), NNA_OK, NULL);
    nna_client_free(d);
    finish(&t, c);
}
END_TEST

/* ---- JSON nesting --------------------------------------------------------------------- */

/* A task object with an array nested `depth` levels inside it (caller frees). */
static char *nested_task(int depth, int status)
{
    size_t n = (size_t)depth * 4 + 256;
    char *s = malloc(n), *p = s;
    p += sprintf(p, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":%d,\"body\":\"{\\\"task_id\\\":\\\"%s\\\",\\\"x\\\":",
                 status, TASK);
    for (int i = 0; i < depth; i++) *p++ = '[';
    for (int i = 0; i < depth; i++) *p++ = ']';
    strcpy(p, "}\"}]}");
    return s;
}

START_TEST(json_depth_limit)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, NULL);
    char *ok = nested_task(100, 200), *deep = nested_task(500, 200), *err = nested_task(5000, 500);
    script(&t, ok);
    expect(&t, nna_tasks_get(c, TASK), NNA_OK, NULL);  /* 101 levels: within the default */
    script(&t, deep);
    expect(&t, nna_tasks_get(c, TASK), NNA_ELIMIT, "max_json_depth");
    /* A deep error body is an error without JSON: the 500 is retried as usual. */
    script(&t, err);
    script(&t, ok);
    expect(&t, nna_tasks_get(c, TASK), NNA_OK, NULL);
    free(ok);
    free(deep);
    free(err);
    finish(&t, c);
}
END_TEST

START_TEST(json_depth_scan)
{
    ck_assert(nna_json_depth_ok("", 0, 1));
    ck_assert(nna_json_depth_ok("{}", 2, 1));
    ck_assert(!nna_json_depth_ok("[[]]", 4, 1));
    ck_assert(nna_json_depth_ok("[[]]", 4, 2));
    ck_assert(nna_json_depth_ok("[[],[],{}]", 10, 2));
    /* brackets inside strings, escaped quotes */
    const char *s = "{\"a\":\"[[[[{{{{\",\"b\":\"\\\"[[[[\",\"c\":[1]}";
    ck_assert(nna_json_depth_ok(s, strlen(s), 2));
    ck_assert(!nna_json_depth_ok(s, strlen(s), 1));
    const char *e = "[\"\\\\\",[[]]]"; /* an escaped backslash ends before the quote */
    ck_assert(!nna_json_depth_ok(e, strlen(e), 2));
    ck_assert(nna_json_depth_ok(e, strlen(e), 3));
    /* the length bounds the scan */
    ck_assert(nna_json_depth_ok("[[[[", 1, 1));
}
END_TEST

/* ---- pages per walk ------------------------------------------------------------------- */

static void three_pages(nna_client_options *o) { o->max_walk_pages = 3; }
static int count_item(const nna_task *task, void *ud) { (void)task; ++*(int *)ud; return 0; }

START_TEST(walk_page_limit)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, three_pages);
    /* A server that never stops inventing cursors. */
    char body[4096], *p = body;
    p += sprintf(p, "{\"route\":\"tasks.list\",\"responses\":[");
    for (int i = 0; i < 6; i++)
        p += sprintf(p, "%s{\"status\":200,\"json\":{\"data\":[{\"task_id\":\"" TASK "\"}],"
                     "\"has_more\":true,\"next_cursor\":\"c%d\"}}", i ? "," : "", i);
    strcpy(p, "]}");
    script(&t, body);
    int items = 0;
    nna_future *f = nna_tasks_walk(c, NULL, count_item, &items);
    expect_keep(&t, f, NNA_ELIMIT, "max_walk_pages (3)");
    const nna_walk_result *r = nna_future_result(f);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->pages, 3);
    ck_assert_int_eq(items, 3);
    nna_future_unref(f);
    ck_assert_int_le(emu_route_count(&t, "tasks.list"), 4); /* at most one prefetched */
    finish(&t, c);
}
END_TEST

/* ---- low speed ------------------------------------------------------------------------ */

static void slow_guard(nna_client_options *o)
{
    o->request_timeout = 0; /* no timeout of its own: only the low-speed limit ends it */
    o->deadline = 0;
    o->max_attempts = 1;
    o->low_speed_limit = 1000;
    o->low_speed_time = 1;
}

START_TEST(trickling_server_times_out)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, slow_guard);
    /* 10 bytes every 200 ms, for ever: 50 B/s. */
    script(&t, "{\"route\":\"tasks.result\",\"responses\":[{\"status\":200,"
               "\"stream\":{\"chunk\":10,\"interval_ms\":200}}]}");
    double t0 = tclock();
    expect(&t, nna_tasks_result(c, TASK), NNA_ENETWORK, "too slow");
    double took = tclock() - t0;
    ck_assert_msg(took >= 0.9 && took < 10, "took %.1f s", took);
    finish(&t, c);
}
END_TEST

/* ---- total budget ----------------------------------------------------------------------- */


/* 32 replies of 8 MB streamed at once (256 MB without a budget). Each result is checked
 * and released as it arrives, so the RSS measures the reply buffers, not results kept. */
typedef struct tally {
    int ok, over, left;
    char why[256];
} tally;

static void on_reply(nna_future *f, void *ud)
{
    tally *y = ud;
    nna_status st = nna_future_status(f);
    const char *err = nna_future_error(f) ? nna_future_error(f) : "";
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(nna_future_json(f), "pad");
    if (st == NNA_OK && cJSON_IsString(pad) && strlen(pad->valuestring) == 8000000 - 10)
        y->ok++;
    else if (st == NNA_EBUDGET && strstr(err, "response_budget"))
        y->over++;
    else
        snprintf(y->why, sizeof y->why, "%s (%s)", nna_status_name(st), err);
    y->left--;
    nna_future_unref(f);
}

static double budget_run(size_t budget, tally *y, size_t *peak)
{
    enum { N = 32 };
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client_options o;
    tctx_options(&t, &o);
    o.response_budget = budget;
    o.max_inflight = N;
    o.request_timeout = 0; /* only the budget may end a reply, however slow the build */
    o.deadline = 0;
    nna_client *c = NULL;
    ck_assert_int_eq(tclient_new(t.loop, &o, &c), NNA_OK);
    char body[N * 160 + 64], *p = body;
    p += sprintf(p, "{\"route\":\"*\",\"responses\":[");
    for (int i = 0; i < N; i++)
        p += sprintf(p, "%s{\"status\":200,\"stream\":{\"prefix\":\"{\\\"pad\\\":\\\"\","
                     "\"suffix\":\"\\\"}\",\"bytes\":8000000,\"chunked\":true}}", i ? "," : "");
    strcpy(p, "]}");
    script(&t, body);
    memset(y, 0, sizeof *y);
    y->left = N;
    double before = rss_mib();
    for (int i = 0; i < N; i++) {
        nna_future *f = nna_client_request(c, "GET", "/tasks/" TASK "/result", NULL, NULL, 1);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(nna_future_then(f, on_reply, y), NNA_OK);
    }
    double t0 = tclock();
    while (y->left > 0 && tclock() - t0 < 100) tloop_run_nowait(&t);
    double grew = rss_mib() - before;
    ck_assert_int_eq(y->left, 0);
    ck_assert_msg(!y->why[0], "unexpected result %s", y->why);
    ck_assert_uint_eq(nna_transport_budget_used(c->tp, peak), 0);
    finish(&t, c);
    return grew;
}

START_TEST(response_budget_bounds_memory)
{
    tally y;
    size_t peak = 0;
    double grew = budget_run(32u << 20, &y, &peak);
    fprintf(stderr, "limits: 32 x 8 MB replies, 32 MiB budget: %d ok, %d over budget, "
            "peak charged %.1f MiB, maxrss +%.1f MiB\n", y.ok, y.over, peak / MiB, grew);
    ck_assert_uint_le(peak, 32u << 20);
    ck_assert_int_gt(y.over, 0);
    ck_assert_int_gt(y.ok, 0);
    ck_assert(nna_status_retryable(NNA_EBUDGET));
    /* The budget, one success's parsed copy, curl's buffers and the allocator's slack: far
     * below the 256 MB the replies add up to. */
    ck_assert_msg(grew < 100, "RSS grew by %.0f MiB with a 32 MiB budget", grew);
}
END_TEST

/* A run creation whose reply is cut by the budget is in doubt: it is reconciled, never
 * failed as if nothing had happened. */
static void tiny_budget(nna_client_options *o) { o->response_budget = 1; }

START_TEST(budget_cut_run_is_reconciled)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_client *c = client(&t, tiny_budget);
    /* The task is created, then a reply larger than the free 64 KiB. */
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":200,\"commit\":true,"
               "\"stream\":{\"bytes\":200000,\"chunked\":true}}]}");
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "budget";
    nna_future *f = nna_agents_run(c, NNA_EMU_AGENT_1, &ro);
    expect_keep(&t, f, NNA_OK, NULL);
    ck_assert(nna_future_reconciled(f));
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_1), 1);
    nna_future_unref(f);
    finish(&t, c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("limits (" TLOOP_NAME ")");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, endless_body_ends_at_the_option);
    tcase_add_test(tc, huge_body_default_cap);
    tcase_add_test(tc, per_endpoint_caps);
    tcase_add_test(tc, header_size_limit);
    tcase_add_test(tc, json_depth_limit);
    tcase_add_test(tc, json_depth_scan);
    tcase_add_test(tc, walk_page_limit);
    tcase_add_test(tc, trickling_server_times_out);
    tcase_add_test(tc, response_budget_bounds_memory);
    tcase_add_test(tc, budget_cut_run_is_reconciled);
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
