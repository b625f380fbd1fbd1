/* The command line over HTTPS, black-box: nna-emu --tls-cert/--tls-key with a throwaway
 * PKI (tests/tls/mkcerts.sh), nna's --cacert, --capath, --pinned-pubkey and
 * --allow-insecure-http, and exit code 9 at once (no retries) when the server's
 * certificate does not verify. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include "clitest.h"

#define KEY "test-key"

static char certdir[128];

static const char *cert(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", certdir, name);
    return buf[i];
}

/* nna-emu serving HTTPS with name.pem / name.key; e->base is its https:// URL. */
static void tls_emu(emu_proc *e, const char *name)
{
    char pem[64], key[64];
    snprintf(pem, sizeof pem, "%s.pem", name);
    snprintf(key, sizeof key, "%s.key", name);
    const char *extra[] = { "--tls-cert", cert(pem), "--tls-key", cert(key), NULL };
    emu_proc_start(e, extra);
    snprintf(e->base, sizeof e->base, "https://127.0.0.1:%u", e->port);
}

/* A counter of the emulator ("requests", "connections": this read is one too), read
 * over TLS without verification (a test's own look at its own server). */
static long tls_counter(const emu_proc *e, const char *name)
{
    char url[128], *body = NULL;
    size_t len = 0;
    snprintf(url, sizeof url, "%s/_emu/counters", e->base);
    FILE *mem = open_memstream(&body, &len);
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
    ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    fclose(mem);
    cJSON *j = cJSON_Parse(body);
    free(body);
    long n = (long)cJSON_GetObjectItem(j, name)->valuedouble;
    cJSON_Delete(j);
    return n;
}

static long tls_requests(const emu_proc *e) { return tls_counter(e, "requests"); }

static char *pin_of(const char *name)
{
    char *p = read_file(cert(name), NULL);
    ck_assert_ptr_nonnull(p);
    p[strcspn(p, "\n")] = '\0';
    return p;
}

START_TEST(cacert_and_capath)
{
    emu_proc e;
    tls_emu(&e, "server");
    nna_out r;
    const char *a1[] = { "--cacert", cert("ca.pem"), "agents", "list", NULL };
    nna_run(&r, &e, KEY, NULL, NULL, a1);
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    nna_out_free(&r);
    const char *a2[] = { "--capath", cert("capath"), "agents", "list", NULL };
    nna_run(&r, &e, KEY, NULL, NULL, a2);
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    nna_out_free(&r);
    ck_assert_int_eq(tls_requests(&e), 2);
    emu_proc_stop(&e);
}
END_TEST

START_TEST(self_signed_exits_9_at_once)
{
    emu_proc e;
    tls_emu(&e, "self");
    nna_out r;
    const char *argv[] = { "agents", "list", NULL };
    double t0 = now_s();
    nna_run(&r, &e, KEY, NULL, NULL, argv);
    double took = now_s() - t0;
    ck_assert_int_eq(r.code, 9);
    /* Not retried: one connection (the second is the counter read), and far less time
     * than the default back-off (1, 2, 5, 10, 30 s) of retries would take. */
    ck_assert_int_eq(tls_counter(&e, "connections"), 2);
    ck_assert_msg(took < 5, "took %.2f s", took);
    ck_assert_msg(strstr(r.err, "TLS") && strstr(r.err, "NNA_ETLS"), "stderr: %s", r.err);
    ck_assert_ptr_null(strstr(r.err, KEY));
    ck_assert_int_eq(tls_requests(&e), 0);
    nna_out_free(&r);
    emu_proc_stop(&e);
}
END_TEST

START_TEST(pinned_pubkey)
{
    emu_proc e;
    tls_emu(&e, "server");
    char *good = pin_of("server.pin"), *bad = pin_of("other.pin");
    nna_out r;
    const char *ok[] = { "--cacert", cert("ca.pem"), "--pinned-pubkey", good, "agents", "list",
                         NULL };
    nna_run(&r, &e, KEY, NULL, NULL, ok);
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    nna_out_free(&r);
    const char *no[] = { "--cacert", cert("ca.pem"), "--pinned-pubkey", bad, "agents", "list",
                         NULL };
    double t0 = now_s();
    nna_run(&r, &e, KEY, NULL, NULL, no);
    ck_assert_int_eq(r.code, 9);
    ck_assert(now_s() - t0 < 5);
    ck_assert_msg(strstr(r.err, "TLS"), "stderr: %s", r.err);
    nna_out_free(&r);
    ck_assert_int_eq(tls_requests(&e), 1);
    free(good);
    free(bad);
    emu_proc_stop(&e);
}
END_TEST

START_TEST(plain_http_to_another_host_refused)
{
    emu_proc e;
    emu_proc_start(&e, NULL);
    nna_out r;
    const char *argv[] = { "--base-url", "http://agents.example.com", "agents", "list", NULL };
    nna_run(&r, &e, KEY, NULL, NULL, argv);
    ck_assert_int_eq(r.code, 2);
    ck_assert_msg(strstr(r.err, "unencrypted") && strstr(r.err, "--allow-insecure-http"),
                  "stderr: %s", r.err);
    ck_assert_ptr_null(strstr(r.err, KEY));
    nna_out_free(&r);
    /* Loopback needs no opt-in. */
    const char *local[] = { "agents", "list", NULL };
    nna_run(&r, &e, KEY, NULL, NULL, local);
    ck_assert_int_eq(r.code, 0);
    nna_out_free(&r);
    const char *allowed[] = { "--allow-insecure-http", "agents", "list", NULL };
    nna_run(&r, &e, KEY, NULL, NULL, allowed);
    ck_assert_int_eq(r.code, 0);
    nna_out_free(&r);
    emu_proc_stop(&e);
}
END_TEST

int main(void)
{
    snprintf(certdir, sizeof certdir, "/tmp/nna-clitls-XXXXXX");
    if (!mkdtemp(certdir)) return 99;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh '%s/tests/tls/mkcerts.sh' '%s'", NNA_SRCDIR, certdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_cli_tls: cannot make the test certificates (openssl)\n");
        return 99;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("cli-tls");
    TCase *tc = tcase_create("tls");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, cacert_and_capath);
    tcase_add_test(tc, self_signed_exits_9_at_once);
    tcase_add_test(tc, pinned_pubkey);
    tcase_add_test(tc, plain_http_to_another_host_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", certdir);
    if (system(cmd) != 0) fprintf(stderr, "test_cli_tls: could not remove %s\n", certdir);
    return failed ? 1 : 0;
}
