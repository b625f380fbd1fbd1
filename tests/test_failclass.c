/* Failure classification against nna-emu (issues 11, 13, 17):
 *  - a 429 is an attempt: max_attempts bounds rate-limited operations, and the pauses
 *    follow Retry-After (no escalating back-off on top);
 *  - a refused connection is an attempt too: the future reports the connections tried;
 *  - a failure after the request left (a reply header line over libcurl's limit) is in
 *    doubt: run creation is reconciled, not reported as "nothing was sent";
 *  - URL errors and over-long server cursors fail at once, never retried;
 *  - a 3xx fails at once with "unexpected redirect to <Location>";
 *  - error texts are unpacked, capped and redacted. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "testutil.h"
#include "bigproxy.h"

#define NO_TASK "00000000-0000-4000-8000-000000000000"

static void script(tctx *t, const char *json)
{
    int st;
    cJSON_Delete(emu_ctl(t, "POST", "/_emu/script", json, &st));
    ck_assert_int_eq(st, 200);
}

/* Replaces t's client by one with the test timings changed by `tweak`. */
static void use_client(tctx *t, void (*tweak)(nna_client_options *o))
{
    nna_client_options o;
    tctx_options(t, &o);
    if (tweak) tweak(&o);
    nna_client_shutdown(t->client, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    t->client = NULL;
    ck_assert_int_eq(tclient_new(t->loop, &o, &t->client), NNA_OK);
}

static nna_future *run_q(nna_client *c, const char *agent, const char *q)
{
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = q;
    return nna_agents_run(c, agent, &ro);
}

/* Every exchange the client traces (one per request handed to the transport). */
static int traced;
static long traced_status[64];
static char traced_error[64][160];
static void on_trace(const nna_trace *tr, void *ud)
{
    (void)ud;
    if (traced < 64) {
        traced_status[traced] = tr->http_status;
        snprintf(traced_error[traced], sizeof traced_error[traced], "%s",
                 tr->error ? tr->error : "");
    }
    traced++;
}

static void traced_emu(nna_client_options *o) { o->trace = on_trace; }

/* ---- 429 -------------------------------------------------------------------------------- */

static void two_attempts(nna_client_options *o) { o->max_attempts = 2; }

/* `--max-attempts 2` against a server that answers 429 + Retry-After: 1 every time: two
 * requests, about one second, NNA_ERATE_LIMITED carrying the Retry-After. */
START_TEST(rate_limited_op_spends_max_attempts)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, two_attempts);
    script(&t, "{\"route\":\"tasks.get\",\"responses\":["
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"json\":{\"error\":\"slow down\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"json\":{\"error\":\"slow down\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"json\":{\"error\":\"slow down\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"json\":{\"error\":\"slow down\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"json\":{\"error\":\"slow down\"}}]}");
    nna_future *f = nna_tasks_get(t.client, NO_TASK);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 20));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(f), NNA_ERATE_LIMITED);
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert_int_eq(nna_future_http_status(f), 429);
    ck_assert(nna_future_retry_after(f) == 1);
    ck_assert_str_eq(nna_future_error(f), "slow down");
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), 2);
    ck_assert_msg(took >= 0.95 && took < 2.0, "took %.3f s", took);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

static void default_backoff(nna_client_options *o)
{
    static const double sched[] = { 1, 2, 5, 10, 30 };
    memcpy(o->backoff, sched, sizeof sched);
    o->backoff_len = 5;
}

/* Four 429s with Retry-After: 1 under the default back-off (1, 2, 5, 10 s): each pause is
 * about the second the server asked for, not 1 → 2 → 5 → 10 s of jittered back-off. */
START_TEST(rate_pauses_follow_retry_after)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    use_client(&t, default_backoff);
    script(&t, "{\"route\":\"tasks.get\",\"responses\":["
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}},"
               "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"}}]}");
    nna_future *f = nna_tasks_get(t.client, NO_TASK);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 30));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(f), NNA_ENOT_FOUND); /* the fifth: the real answer */
    ck_assert_uint_eq(nna_future_attempts(f), 5);
    /* 4 pauses of 1 s (+ at most 7 % gate jitter each) */
    ck_assert_msg(took >= 3.9 && took < 4.9, "took %.3f s", took);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- refused connections ------------------------------------------------------------- */

static char refused_url[64];

/* A loopback port bound but not listening: connections to it are refused. */
static int refused_port_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.1:%u", ntohs(a.sin_port));
    return fd;
}

static void refused_four(nna_client_options *o)
{
    o->base_url = refused_url;
    o->max_attempts = 4;
    o->trace = on_trace;
}

/* Refused connections count as attempts with the normal back-off; the future reports as
 * many attempts as connections were tried (one traced exchange each, none answered). */
START_TEST(refused_connections_spend_max_attempts)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    int fd = refused_port_socket();
    traced = 0;
    use_client(&t, refused_four);
    nna_future *f = nna_agents_list(t.client, NULL);
    double t0 = tclock();
    ck_assert(run_until_done(t.loop, f, 20));
    double took = tclock() - t0;
    ck_assert_int_eq(nna_future_status(f), NNA_ENETWORK);
    ck_assert_uint_eq(nna_future_attempts(f), 4);
    ck_assert_int_eq(traced, 4);
    for (int i = 0; i < traced; i++) ck_assert_int_eq(traced_status[i], 0);
    ck_assert_int_eq(nna_future_http_status(f), 0);
    ck_assert_msg(took < 5, "took %.3f s", took); /* short back-off + the health gate's 1 s */
    nna_future_unref(f);
    /* run creation: the same budget, nothing in doubt, no check */
    traced = 0;
    use_client(&t, refused_four); /* a fresh workspace: its health gate is open again */
    f = run_q(t.client, NNA_EMU_AGENT_1, "nobody listens");
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_ENETWORK);
    ck_assert_uint_eq(nna_future_attempts(f), 4);
    ck_assert_int_eq(traced, 4);
    ck_assert(!nna_future_reconciled(f));
    nna_future_unref(f);
    close(fd);
    tctx_stop(&t);
}
END_TEST

/* ---- a failure after the request left ---------------------------------------------------- */

static bigproxy *proxy_now;
static void via_proxy(nna_client_options *o)
{
    o->base_url = proxy_now->base;
    o->trace = on_trace;
}

/* The client talks to the emulator through a proxy whose replies to `match` (once) have a
 * header line libcurl cannot read (it says "out of memory"). */
static void use_proxy(tctx *t, bigproxy *px, const char *match)
{
    proxy_start(px, t->base, match, 1);
    proxy_now = px;
    traced = 0;
    use_client(t, via_proxy);
}

/* Run creation whose reply cannot be read after the request was sent: the task may exist,
 * so it is looked for and adopted, not reported as a local error with nothing sent. */
START_TEST(unreadable_reply_after_send_is_reconciled)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    bigproxy px;
    use_proxy(&t, &px, "/run HTTP");
    nna_future *f = run_q(t.client, NNA_EMU_AGENT_2, "reply too big to read");
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_msg(nna_future_status(f) == NNA_OK, "%s: %s",
                  nna_status_name(nna_future_status(f)), nna_future_error(f));
    ck_assert(nna_future_reconciled(f));
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    ck_assert_int_ge(traced, 2);
    ck_assert_msg(strstr(traced_error[0], "header line"), "%s", traced_error[0]);
    ck_assert_int_eq(emu_route_count(&t, "run"), 1);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 1);
    ck_assert_int_eq(emu_task_count(&t, NNA_EMU_AGENT_2), 1);
    nna_future_unref(f);
    proxy_stop(&px);

    /* a GET is simply retried */
    use_proxy(&t, &px, "GET /api/v1/tasks/");
    f = nna_tasks_get(t.client, NO_TASK);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_ENOT_FOUND);
    ck_assert_uint_eq(nna_future_attempts(f), 2);
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), 2);
    nna_future_unref(f);
    proxy_stop(&px);

    /* creating an agent is never re-sent: outcome unknown */
    use_proxy(&t, &px, "POST /api/v1/agents HTTP");
    f = nna_agents_create(t.client, NULL);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_EOUTCOME_UNKNOWN);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    ck_assert_int_eq(emu_route_count(&t, "agents.create"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
    proxy_stop(&px);
}
END_TEST

/* ---- permanent failures ------------------------------------------------------------------ */

static void malformed_url(nna_client_options *o)
{
    o->base_url = "http://127.0.0.1:99999";  /* port out of range */
    o->trace = on_trace;
}

static void bad_host_url(nna_client_options *o)
{
    o->base_url = "https://exa^mple.com"; /* a host libcurl refuses (spaces are refused earlier) */
    o->trace = on_trace;
}

static void ck_url_fails_at_once(tctx *t, nna_future *f)
{
    double t0 = tclock();
    ck_assert(run_until_done(t->loop, f, 20));
    ck_assert_msg(nna_future_status(f) == NNA_EURL, "%s", nna_status_name(nna_future_status(f)));
    ck_assert_msg(tclock() - t0 < 0.5, "took %.3f s", tclock() - t0);
    ck_assert_int_eq(traced, 1);
    ck_assert_ptr_nonnull(nna_future_error(f));
    ck_assert_msg(strstr(nna_future_error(f), "URL"), "%s", nna_future_error(f));
    ck_assert_uint_le(strlen(nna_future_error(f)), 512);
    nna_future_unref(f);
}

/* URL errors fail at once with NNA_EURL and a clear text, never retried. */
START_TEST(url_errors_fail_at_once)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    traced = 0;
    use_client(&t, malformed_url);
    ck_url_fails_at_once(&t, nna_agents_list(t.client, NULL));
    traced = 0;
    ck_url_fails_at_once(&t, run_q(t.client, NNA_EMU_AGENT_1, "never sent"));
    traced = 0;
    use_client(&t, bad_host_url);
    ck_url_fails_at_once(&t, nna_tasks_get(t.client, NO_TASK));

    /* a URL over libcurl's 8 MB input limit (what a 3 MB cursor became, URL-encoded) */
    traced = 0;
    use_client(&t, traced_emu);
    size_t n = 9u << 20;
    char *q = malloc(n + 8);
    memcpy(q, "cursor=", 7);
    memset(q + 7, 'c', n);
    q[7 + n] = '\0';
    ck_url_fails_at_once(&t, nna_client_request(t.client, "GET", "/tasks", q, NULL, 1));
    free(q);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 0);
    tctx_stop(&t);
}
END_TEST

static int count_item(const nna_task *task, void *ud)
{
    (void)task;
    (*(int *)ud)++;
    return 0;
}

/* A next_cursor over 4 KB ends a walk with NNA_EPROTOCOL after the page that carried it
 * (its items are delivered); nothing is requested with it. */
START_TEST(oversized_cursor_is_a_protocol_error)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    size_t n = 3u << 20; /* 3 MB, as seen */
    char *s = malloc(n + 8192);
    int k = snprintf(s, 512, "{\"route\":\"tasks.list\",\"responses\":[{\"status\":200,\"json\":"
                     "{\"data\":[],\"has_more\":true,\"next_cursor\":\"");
    memset(s + k, 'Q', n);
    strcpy(s + k + n, "\"}},{\"status\":200,\"json\":{\"data\":[],\"has_more\":true,"
                      "\"next_cursor\":\"");
    k = (int)strlen(s);
    memset(s + k, 'q', 4097);
    strcpy(s + k + 4097, "\"}}]}");
    script(&t, s);
    free(s);
    int items = 0;
    nna_future *f = nna_tasks_walk(t.client, NULL, count_item, &items);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_EPROTOCOL);
    ck_assert_msg(strstr(nna_future_error(f), "next_cursor"), "%s", nna_future_error(f));
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 1);
    nna_future_unref(f);
    /* one page: the same (4097 bytes is one too many) */
    f = nna_tasks_list(t.client, NULL);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_EPROTOCOL);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 2);
    nna_future_unref(f);
    /* 4096 bytes is still a cursor */
    s = malloc(8192);
    k = snprintf(s, 512, "{\"route\":\"tasks.list\",\"responses\":[{\"status\":200,\"json\":"
                 "{\"data\":[],\"has_more\":true,\"next_cursor\":\"");
    memset(s + k, 'q', 4096);
    strcpy(s + k + 4096, "\"}}]}");
    script(&t, s);
    free(s);
    f = nna_tasks_list(t.client, NULL);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- redirects ---------------------------------------------------------------------------- */

START_TEST(redirect_fails_at_once)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    script(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":302,"
               "\"headers\":{\"Location\":\"https://elsewhere.example/api/v1/tasks/x\"}},"
               "{\"status\":500},{\"status\":500}]}");
    nna_future *f = nna_tasks_get(t.client, NO_TASK);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_EREDIRECT);
    ck_assert_uint_eq(nna_future_attempts(f), 1);
    ck_assert_int_eq(nna_future_http_status(f), 302);
    ck_assert_str_eq(nna_future_error(f),
                     "unexpected redirect to https://elsewhere.example/api/v1/tasks/x");
    ck_assert_int_eq(emu_route_count(&t, "tasks.get"), 1);
    cJSON_Delete(emu_ctl(&t, "DELETE", "/_emu/script", NULL, NULL));
    /* run creation: the server answered, nothing in doubt, no check */
    script(&t, "{\"route\":\"run\",\"responses\":[{\"status\":307}]}");
    nna_future_unref(f);
    f = run_q(t.client, NNA_EMU_AGENT_1, "redirected");
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_EREDIRECT);
    ck_assert_str_eq(nna_future_error(f), "unexpected redirect (HTTP 307) without a Location header");
    ck_assert(!nna_future_reconciled(f));
    ck_assert_int_eq(emu_route_count(&t, "run"), 1);
    ck_assert_int_eq(emu_route_count(&t, "tasks.list"), 0);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- error texts ---------------------------------------------------------------------------- */

static nna_future *get_with(tctx *t, const char *script_json)
{
    script(t, script_json);
    nna_future *f = nna_tasks_get(t->client, NO_TASK);
    ck_assert(run_until_done(t->loop, f, 20));
    return f;
}

START_TEST(error_texts_from_the_server)
{
    tctx t;
    tctx_start(&t, NULL, NULL);
    nna_future *f = get_with(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":422,"
                                 "\"json\":{\"detail\":[{\"loc\":[\"path\"],\"msg\":\"bad id\"}]}}]}");
    ck_assert_int_eq(nna_future_status(f), NNA_EHTTP_4XX);
    ck_assert_str_eq(nna_future_error(f), "bad id");
    nna_future_unref(f);
    f = get_with(&t, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":400,"
                     "\"json\":{\"error\":{\"message\":\"nested message\",\"code\":3}}}]}");
    ck_assert_str_eq(nna_future_error(f), "nested message");
    nna_future_unref(f);

    /* the key at offset 195 of an HTML body: not a byte of it in the excerpt */
    char body[512], buf[1024];
    memset(body, 'h', 194);
    body[194] = ' ';
    strcpy(body + 195, NNA_EMU_DEFAULT_KEY " trailing words");
    snprintf(buf, sizeof buf, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":418,"
             "\"body\":\"%s\"}]}", body);
    f = get_with(&t, buf);
    const char *e = nna_future_error(f);
    ck_assert_msg(strstr(e, "[REDACTED]") && !strstr(e, "test-"), "%s", e);
    nna_future_unref(f);

    /* a 10 MB error string is capped */
    size_t n = 10u << 20;
    char *s = malloc(n + 256);
    int k = snprintf(s, 256, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":400,"
                     "\"json\":{\"error\":\"");
    memset(s + k, 'e', n);
    strcpy(s + k + n, "\"}}]}");
    f = get_with(&t, s);
    free(s);
    ck_assert_int_eq(nna_future_status(f), NNA_EBAD_REQUEST);
    ck_assert_uint_le(strlen(nna_future_error(f)), 515);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failclass");
    TCase *tc = tcase_create("emu");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rate_limited_op_spends_max_attempts);
    tcase_add_test(tc, rate_pauses_follow_retry_after);
    tcase_add_test(tc, refused_connections_spend_max_attempts);
    tcase_add_test(tc, unreadable_reply_after_send_is_reconciled);
    tcase_add_test(tc, url_errors_fail_at_once);
    tcase_add_test(tc, oversized_cursor_is_a_protocol_error);
    tcase_add_test(tc, redirect_fails_at_once);
    tcase_add_test(tc, error_texts_from_the_server);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
