/* HTTPS end to end: nna-emu serving TLS (libmicrohttpd, external epoll) with a throwaway
 * PKI made by the openssl command (tests/tls/mkcerts.sh), and the client's trust options:
 * CA file and directory, pinned key, verification failures that end at once with
 * NNA_ETLS, connection reuse over TLS, the refusal to send the key over plain http:// to
 * another host, and redirects that are never followed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static char certdir[128];

/* DIR/name, in one of a few rotating buffers (several paths live in one call). */
static const char *cert(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", certdir, name);
    return buf[i];
}

/* The text of a file (a pin), trailing newline removed; static. */
static const char *slurp_line(const char *path)
{
    static char line[256];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* The emulator serving HTTPS with certificate `name` (name.pem, name.key), and no client
 * yet: t->base is its https:// URL. */
static void tls_emu(tctx *t, const char *name)
{
    memset(t, 0, sizeof *t);
    char pem[64], key[64];
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(key, sizeof key, "%s.key", name);
    nna_emu_options eo;
    nna_emu_options_init(&eo);
    eo.quiet = 1;
    eo.tls_cert = cert(pem);
    eo.tls_key = cert(key);
    ck_assert_int_eq(nna_emu_start(&eo, &t->emu), 0);
    snprintf(t->base, sizeof t->base, "https://127.0.0.1:%u", (unsigned)nna_emu_port(t->emu));
    t->loop = tloop_new();
}

static nna_status tls_client(tctx *t, const nna_client_options *o)
{
    return tclient_new(t->loop, o, &t->client);
}

/* Options for t's emulator; ca = "ca.pem" or NULL (the system store). */
static void tls_options(const tctx *t, nna_client_options *o, const char *ca)
{
    tctx_options(t, o);
    o->ca_file = ca ? cert(ca) : NULL;
}

static long counter(tctx *t, const char *name)
{
    cJSON *j = emu_ctl(t, "GET", "/_emu/counters", NULL, NULL);
    ck_assert_ptr_nonnull(j);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    ck_assert(cJSON_IsNumber(v));
    long n = (long)v->valuedouble;
    cJSON_Delete(j);
    return n;
}

/* GET /agents once; returns the future (settled). */
static nna_future *list_agents(tctx *t)
{
    nna_future *f = nna_agents_list(t->client, NULL);
    ck_assert_ptr_nonnull(f);
    ck_assert(run_until_done(t->loop, f, 20));
    return f;
}

/* ---- trust -------------------------------------------------------------------------- */

START_TEST(https_with_ca_file)
{
    tctx t;
    tls_emu(&t, "server");
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future *f = list_agents(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    ck_assert_ptr_nonnull(nna_future_result(f));
    nna_future_unref(f);
    ck_assert_int_eq(counter(&t, "requests"), 1);
    tctx_stop(&t);
}
END_TEST

START_TEST(https_with_ca_path)
{
    tctx t;
    tls_emu(&t, "server");
    nna_client_options o;
    tls_options(&t, &o, NULL);
    o.ca_path = cert("capath");
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future *f = list_agents(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* Checks that f failed with NNA_ETLS, at once, naming TLS and `detail`, and that nothing
 * reached the server. */
static void expect_tls_failure(tctx *t, nna_future *f, double started, const char *detail)
{
    ck_assert_int_eq(nna_future_status(f), NNA_ETLS);
    const char *err = nna_future_error(f);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "TLS") && strstr(err, detail), "error text: %s", err);
    ck_assert_ptr_null(strstr(err, NNA_EMU_DEFAULT_KEY));
    ck_assert_int_eq(nna_future_http_status(f), 0);
    /* Not retried: one connection (one handshake) is all the server saw, and the time is
     * well inside what the 1 s back-off of retries until the deadline would take (loose:
     * sanitizer builds on a loaded machine are slow). */
    ck_assert_uint_le(nna_future_attempts(f), 1);
    ck_assert_int_eq(counter(t, "connections"), 1);
    ck_assert_int_eq(counter(t, "requests"), 0);
    ck_assert_msg(tclock() - started < 8.0, "took %.2f s", tclock() - started);
    ck_assert(!nna_status_retryable(NNA_ETLS));
    ck_assert_ptr_nonnull(strstr(nna_strerror(NNA_ETLS), "TLS"));
}

START_TEST(self_signed_fails_at_once)
{
    tctx t;
    tls_emu(&t, "self");
    nna_client_options o;
    tls_options(&t, &o, NULL); /* the system's CAs do not know it */
    /* Slow back-off: a retry would show in the time taken. */
    o.backoff[0] = 1;
    o.backoff_len = 1;
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    double t0 = tclock();
    nna_future *f = list_agents(&t);
    expect_tls_failure(&t, f, t0, "certificate");
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(self_signed_run_fails_at_once_without_reconcile)
{
    tctx t;
    tls_emu(&t, "self");
    nna_client_options o;
    tls_options(&t, &o, "ca.pem"); /* a CA, but not the one that signed it */
    o.backoff[0] = 1;
    o.backoff_len = 1;
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "never sent";
    double t0 = tclock();
    nna_future *f = nna_agents_run(t.client, NNA_EMU_AGENT_1, &ro);
    ck_assert(run_until_done(t.loop, f, 20));
    expect_tls_failure(&t, f, t0, "certificate");
    ck_assert_int_eq(nna_future_reconciled(f), 0);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(wrong_host_name_fails_at_once)
{
    tctx t;
    tls_emu(&t, "other"); /* signed by the CA, but for wrong-host.invalid */
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    o.backoff[0] = 1;
    o.backoff_len = 1;
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    double t0 = tclock();
    nna_future *f = list_agents(&t);
    expect_tls_failure(&t, f, t0, "127.0.0.1");
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(unreadable_ca_file_fails_at_once)
{
    tctx t;
    tls_emu(&t, "server");
    nna_client_options o;
    tls_options(&t, &o, "no-such-ca.pem");
    o.backoff[0] = 1;
    o.backoff_len = 1;
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    double t0 = tclock();
    nna_future *f = list_agents(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_ETLS);
    ck_assert_ptr_nonnull(strstr(nna_future_error(f), "TLS"));
    ck_assert(tclock() - t0 < 8.0);
    ck_assert_int_eq(counter(&t, "requests"), 0);
    ck_assert_int_eq(counter(&t, "connections"), 1);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(pinned_key_must_match)
{
    tctx t;
    tls_emu(&t, "server");
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    o.pinned_pubkey = slurp_line(cert("server.pin"));
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future *f = list_agents(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    /* The same trusted certificate, but another key pinned: refused at once. */
    nna_client *second;
    o.pinned_pubkey = slurp_line(cert("other.pin"));
    o.backoff[0] = 1;
    o.backoff_len = 1;
    ck_assert_int_eq(tclient_new(t.loop, &o, &second), NNA_OK);
    double t0 = tclock();
    f = nna_agents_list(second, NULL);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_eq(nna_future_status(f), NNA_ETLS);
    ck_assert_msg(strstr(nna_future_error(f), "TLS") && strstr(nna_future_error(f), "ublic key"),
                  "error text: %s", nna_future_error(f));
    ck_assert(tclock() - t0 < 8.0);
    ck_assert_int_eq(counter(&t, "requests"), 1); /* only the first client's */
    nna_future_unref(f);
    nna_client_shutdown(second, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    tctx_stop(&t);
}
END_TEST

START_TEST(pinned_key_file)
{
    /* A PEM file is a pin too (libcurl reads the key from it). */
    tctx t;
    tls_emu(&t, "server");
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    o.pinned_pubkey = cert("server.pub");
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future *f = list_agents(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

START_TEST(verification_off_is_explicit)
{
    tctx t;
    tls_emu(&t, "self");
    nna_client_options o;
    tls_options(&t, &o, NULL);
    o.verify_tls = 0;
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future *f = list_agents(&t);
    ck_assert_int_eq(nna_future_status(f), NNA_OK);
    nna_future_unref(f);
    tctx_stop(&t);
}
END_TEST

/* ---- connection reuse --------------------------------------------------------------- */

START_TEST(fanout_reuses_tls_connections)
{
    enum { N = 1000, CAP = 64 };
    tctx t;
    tls_emu(&t, "server");
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    o.max_inflight = CAP;
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future **fs = calloc(N, sizeof *fs);
    nna_run_options ro;
    nna_run_options_init(&ro);
    ro.query = "over TLS";
    for (int i = 0; i < N; i++) {
        fs[i] = nna_agents_run(t.client, NNA_EMU_AGENT_1, &ro);
        ck_assert_ptr_nonnull(fs[i]);
    }
    nna_future *all = nna_future_all(fs, N);
    ck_assert(run_until_done(t.loop, all, 50));
    ck_assert_int_eq(nna_future_status(all), NNA_OK);
    long conns = counter(&t, "connections");
    fprintf(stderr, "test_tls: %d runs at cap %d over HTTPS/1.1: %ld TLS connections "
            "(= full handshakes against nna-emu)\n", N, CAP, conns);
    /* One handshake per connection, and a connection per slot at most: never one per
     * request. */
    ck_assert_int_le(conns, CAP + 8);
    ck_assert_int_eq(counter(&t, "tasks_created"), N);
    nna_future_unref(all);
    for (int i = 0; i < N; i++) nna_future_unref(fs[i]);
    free(fs);
    tctx_stop(&t);
}
END_TEST

START_TEST(cancelled_first_transfer_releases_the_held_ones)
{
    /* Until the first https transfer ends the others wait for its TLS session; cancelling
     * that first one must not leave them waiting. */
    tctx t;
    tls_emu(&t, "server");
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/config", "{\"latency_ms\":300}", NULL));
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    nna_future *fs[5];
    for (int i = 0; i < 5; i++) fs[i] = nna_agents_list(t.client, NULL);
    /* Let the first one start its handshake, then cancel it. */
    for (int i = 0; i < 5; i++) tloop_run_nowait(&t);
    nna_future_cancel(fs[0]);
    for (int i = 1; i < 5; i++) {
        ck_assert(run_until_done(t.loop, fs[i], 20));
        ck_assert_int_eq(nna_future_status(fs[i]), NNA_OK);
    }
    ck_assert(run_until_done(t.loop, fs[0], 5));
    ck_assert_int_eq(nna_future_status(fs[0]), NNA_ECANCELLED);
    for (int i = 0; i < 5; i++) nna_future_unref(fs[i]);
    tctx_stop(&t);
}
END_TEST

START_TEST(slow_first_request_holds_others_at_most_a_second)
{
    /* The warm-up waits for the first https response, but not for a slow one: after at
     * most a second the others go ahead (a large upload must not hold a fan-out). */
    tctx t;
    tls_emu(&t, "server");
    int st = 0;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script",
                         "{\"route\":\"agents.list\",\"responses\":[{\"pass\":true,"
                         "\"delay_ms\":6000}]}", &st));
    ck_assert_int_eq(st, 200);
    nna_client_options o;
    tls_options(&t, &o, "ca.pem");
    ck_assert_int_eq(tls_client(&t, &o), NNA_OK);
    double t0 = tclock();
    nna_future *fs[5];
    for (int i = 0; i < 5; i++) fs[i] = nna_agents_list(t.client, NULL);
    for (int i = 1; i < 5; i++) {
        ck_assert(run_until_done(t.loop, fs[i], 20));
        ck_assert_int_eq(nna_future_status(fs[i]), NNA_OK);
    }
    double took = tclock() - t0;
    ck_assert_msg(took < 4.5, "the others took %.2f s", took);
    ck_assert(!nna_future_done(fs[0]));
    ck_assert(run_until_done(t.loop, fs[0], 20));
    ck_assert_int_eq(nna_future_status(fs[0]), NNA_OK);
    for (int i = 0; i < 5; i++) nna_future_unref(fs[i]);
    tctx_stop(&t);
}
END_TEST

/* ---- the key over plain http ---------------------------------------------------------- */

START_TEST(cleartext_remote_urls)
{
    static const char *const local[] = {
        "https://agents.example.com", "http://127.0.0.1:8080", "http://127.1.2.3/x",
        "http://localhost:1", "http://LOCALHOST", "http://[::1]:80/", "http://localhost./",
        "http://user:pw@127.0.0.1:9/", "HTTP://127.0.0.1", NULL,
    };
    static const char *const remote[] = {
        "http://agents.example.com", "http://10.0.0.1:8080", "http://127.0.0.1.nip.io/",
        "http://127.0.0.1@evil.example/", "http://localhost@evil.example:80",
        "http://[::2]/", "http://[::1", "http://", "http://128.0.0.1", "http://localhost.evil/",
        "http://0x7f000001/", NULL,
    };
    for (int i = 0; local[i]; i++)
        ck_assert_msg(!nna_base_url_cleartext_remote(local[i]), "%s", local[i]);
    for (int i = 0; remote[i]; i++)
        ck_assert_msg(nna_base_url_cleartext_remote(remote[i]), "%s", remote[i]);
    ck_assert(!nna_base_url_cleartext_remote(NULL));
}
END_TEST

START_TEST(key_never_sent_over_plain_http_to_another_host)
{
    tloop *loop = tloop_new();
    nna_client_options o;
    nna_client_options_init(&o);
    o.api_key = "secret";
    nna_client *c = NULL;
    o.base_url = "http://agents.example.com";
    ck_assert_int_eq(tclient_new(loop, &o, &c), NNA_EINVAL);
    ck_assert_ptr_null(c);
    o.base_url = "http://127.0.0.1@agents.example.com";
    ck_assert_int_eq(tclient_new(loop, &o, &c), NNA_EINVAL);
    /* Loopback needs no opt-in; another host does. */
    o.base_url = "http://127.0.0.1:9";
    ck_assert_int_eq(tclient_new(loop, &o, &c), NNA_OK);
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    o.base_url = "http://agents.example.com";
    o.allow_insecure_http = 1;
    ck_assert_int_eq(tclient_new(loop, &o, &c), NNA_OK);
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
#ifdef NNA_TEST_UV
    uv_run(loop, UV_RUN_DEFAULT);
#else
    ev_run(loop, 0);
#endif
    tloop_free(loop);
}
END_TEST

/* ---- redirects ------------------------------------------------------------------------ */

START_TEST(redirect_is_not_followed)
{
    /* A 307 pointing at another server (another port): libnna never follows a redirect,
     * so that server sees no connection at all, let alone the key. */
    tctx t, other;
    tctx_start(&t, NULL, NULL);
    memset(&other, 0, sizeof other);
    nna_emu_options eo;
    nna_emu_options_init(&eo);
    eo.quiet = 1;
    ck_assert_int_eq(nna_emu_start(&eo, &other.emu), 0);
    char script[512];
    snprintf(script, sizeof script,
             "{\"route\":\"agents.list\",\"responses\":[{\"status\":307,\"body\":\"\","
             "\"headers\":{\"Location\":\"http://127.0.0.1:%u/api/v1/agents\"}}]}",
             (unsigned)nna_emu_port(other.emu));
    int st = 0;
    cJSON_Delete(emu_ctl(&t, "POST", "/_emu/script", script, &st));
    ck_assert_int_eq(st, 200);
    nna_client_options o;
    tctx_options(&t, &o);
    o.max_attempts = 1;
    nna_client *c;
    ck_assert_int_eq(tclient_new(t.loop, &o, &c), NNA_OK);
    nna_future *f = nna_agents_list(c, NULL);
    ck_assert(run_until_done(t.loop, f, 20));
    ck_assert_int_ne(nna_future_status(f), NNA_OK);
    ck_assert_int_eq(nna_future_http_status(f), 307);
    ck_assert_int_eq(counter(&other, "connections"), 0);
    ck_assert_int_eq(counter(&other, "requests"), 0);
    nna_future_unref(f);
    nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL);
    nna_emu_stop(other.emu);
    tctx_stop(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("https");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, https_with_ca_file);
    tcase_add_test(tc, https_with_ca_path);
    tcase_add_test(tc, self_signed_fails_at_once);
    tcase_add_test(tc, self_signed_run_fails_at_once_without_reconcile);
    tcase_add_test(tc, wrong_host_name_fails_at_once);
    tcase_add_test(tc, unreadable_ca_file_fails_at_once);
    tcase_add_test(tc, pinned_key_must_match);
    tcase_add_test(tc, pinned_key_file);
    tcase_add_test(tc, verification_off_is_explicit);
    tcase_add_test(tc, fanout_reuses_tls_connections);
    tcase_add_test(tc, cancelled_first_transfer_releases_the_held_ones);
    tcase_add_test(tc, slow_first_request_holds_others_at_most_a_second);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("plain-http");
    tcase_add_test(tp, cleartext_remote_urls);
    tcase_add_test(tp, key_never_sent_over_plain_http_to_another_host);
    tcase_add_test(tp, redirect_is_not_followed);
    suite_add_tcase(s, tp);
    return s;
}

int main(void)
{
    snprintf(certdir, sizeof certdir, "/tmp/nna-tls-XXXXXX");
    if (!mkdtemp(certdir)) return 99;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/tls/mkcerts.sh' '%s'", NNA_SRCDIR, certdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_tls: cannot make the test certificates (openssl)\n");
        return 99;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certdir);
    if (system(cmd) != 0) fprintf(stderr, "test_tls: could not remove %s\n", certdir);
    return failed ? 1 : 0;
}
