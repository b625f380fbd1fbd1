/* nna-emu's own limits and the test hooks for the client's limits: generated bodies
 * (huge, endless, trickling), oversized headers, idle connections timed out in seconds,
 * Content-Length with chunked encoding refused, bounded /_emu/ bodies and scripts, the
 * file-descriptor limit raised and a warning for a non-loopback address (the binary).
 * Servers only on 127.0.0.1. */
#define _GNU_SOURCE 1
#include "emu_internal.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define A1 NNA_EMU_AGENT_1
#define TASK "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

static nna_emu *start(unsigned idle_timeout)
{
    nna_emu_options o;
    nna_emu_options_init(&o);
    o.quiet = 1;
    o.idle_timeout = idle_timeout;
    nna_emu *e = NULL;
    ck_assert_int_eq(nna_emu_start(&o, &e), 0);
    return e;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_to(nna_emu *e)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(nna_emu_port(e))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Reads until the peer closes or `secs` pass; returns bytes read, -1 on timeout. */
static long read_to_close(int fd, char *buf, size_t cap, double secs)
{
    size_t len = 0;
    double end = now_s() + secs;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ms = (int)((end - now_s()) * 1000);
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            return -1;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            break;
        if (len + (size_t)n < cap) {
            memcpy(buf + len, tmp, (size_t)n);
            len += (size_t)n;
        }
    }
    if (cap)
        buf[len < cap ? len : cap - 1] = '\0';
    return (long)len;
}

static void script(nna_emu *e, const char *body)
{
    char *resp = NULL;
    int st = nna_emu_control(e, "POST", "/_emu/script", body, &resp);
    ck_assert_msg(st == 200, "script: %d %s", st, resp ? resp : "");
    free(resp);
}

/* ---- generated bodies ------------------------------------------------------------------ */

typedef struct got {
    char   *head;     /* first bytes */
    size_t  len, want, hdr_len;
    char    hdrs[32768];
} got;

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    got *g = ud;
    size_t k = sz * n;
    if (g->len < 256) {
        size_t c = 256 - g->len < k ? 256 - g->len : k;
        memcpy(g->head + g->len, p, c);
    }
    g->len += k;
    return g->want && g->len >= g->want ? 0 : k; /* stop an endless body */
}

static size_t on_hdr(char *p, size_t sz, size_t n, void *ud)
{
    got *g = ud;
    size_t k = sz * n;
    if (g->hdr_len + k < sizeof g->hdrs) {
        memcpy(g->hdrs + g->hdr_len, p, k);
        g->hdr_len += k;
        g->hdrs[g->hdr_len] = '\0';
    }
    return k;
}

static CURLcode fetch(nna_emu *e, const char *path, size_t stop_after, got *g)
{
    static char head[257];
    memset(g, 0, sizeof *g);
    memset(head, 0, sizeof head);
    g->head = head;
    g->want = stop_after;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)nna_emu_port(e), path);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " NNA_EMU_DEFAULT_KEY);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

START_TEST(stream_finite_endless_chunked)
{
    nna_emu *e = start(0);
    script(e, "{\"route\":\"tasks.get\",\"responses\":["
              "{\"status\":200,\"stream\":{\"prefix\":\"{\\\"p\\\":\\\"\",\"fill\":\"ab\","
              "\"suffix\":\"\\\"}\",\"bytes\":100000}},"
              "{\"status\":200,\"stream\":{\"bytes\":100000,\"chunked\":true}},"
              "{\"status\":200,\"stream\":{\"prefix\":\"[\"}}]}");
    got g;
    /* finite with Content-Length: exact bytes, prefix, pattern, suffix */
    ck_assert_int_eq(fetch(e, "/api/v1/tasks/" TASK, 0, &g), CURLE_OK);
    ck_assert_uint_eq(g.len, 100000);
    ck_assert(strncmp(g.head, "{\"p\":\"ababab", 12) == 0);
    ck_assert_ptr_nonnull(strcasestr(g.hdrs, "Content-Length: 100000"));
    /* chunked: no Content-Length, same size */
    ck_assert_int_eq(fetch(e, "/api/v1/tasks/" TASK, 0, &g), CURLE_OK);
    ck_assert_uint_eq(g.len, 100000);
    ck_assert_ptr_null(strcasestr(g.hdrs, "Content-Length"));
    ck_assert(strncmp(g.head, "xxxxxxxx", 8) == 0);
    /* endless: 64 MB and it still goes on (the client stops it) */
    ck_assert_int_eq(fetch(e, "/api/v1/tasks/" TASK, 64u << 20, &g), CURLE_WRITE_ERROR);
    ck_assert_uint_ge(g.len, 64u << 20);
    ck_assert(g.head[0] == '[' && g.head[1] == 'x');
    /* the server is fine afterwards */
    ck_assert_int_eq(fetch(e, "/api/v1/tasks/" TASK, 0, &g), CURLE_OK);
    ck_assert_ptr_nonnull(strstr(g.hdrs, " 404"));
    nna_emu_stop(e);
}
END_TEST

START_TEST(stream_trickles)
{
    nna_emu *e = start(0);
    script(e, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":200,"
              "\"stream\":{\"bytes\":25,\"chunk\":5,\"interval_ms\":100}}]}");
    got g;
    double t0 = now_s();
    ck_assert_int_eq(fetch(e, "/api/v1/tasks/" TASK, 0, &g), CURLE_OK);
    double took = now_s() - t0;
    ck_assert_uint_eq(g.len, 25);
    ck_assert_msg(took >= 0.35 && took < 5, "5 chunks 100 ms apart took %.2f s", took);
    /* An endless trickle stops cleanly with the server. */
    script(e, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":200,"
              "\"stream\":{\"chunk\":1,\"interval_ms\":50}}]}");
    int fd = connect_to(e);
    const char *req = "GET /api/v1/tasks/" TASK " HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer test-key\r\n\r\n";
    ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    usleep(300000);
    nna_emu_stop(e);
    close(fd);
}
END_TEST

START_TEST(stream_and_header_validation)
{
    nna_emu *e = start(0);
    const char *bad[] = {
        "{\"status\":200,\"stream\":5}",
        "{\"status\":200,\"stream\":{\"fill\":\"\"}}",
        "{\"status\":200,\"stream\":{\"bytes\":-1}}",
        "{\"status\":200,\"stream\":{\"prefix\":\"abc\",\"bytes\":2}}",
        "{\"status\":200,\"stream\":{\"chunk\":2000000}}",
        "{\"status\":200,\"header_bytes\":20000}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[256], *resp = NULL;
        snprintf(body, sizeof body, "{\"route\":\"*\",\"responses\":[%s]}", bad[i]);
        ck_assert_msg(nna_emu_control(e, "POST", "/_emu/script", body, &resp) == 400, "%s", bad[i]);
        free(resp);
    }
    script(e, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":200,\"header_bytes\":10000,"
              "\"json\":{\"task_id\":\"" TASK "\"}}]}");
    got g;
    ck_assert_int_eq(fetch(e, "/api/v1/tasks/" TASK, 0, &g), CURLE_OK);
    const char *pad = strcasestr(g.hdrs, "X-Emu-Pad: ");
    ck_assert_ptr_nonnull(pad);
    ck_assert_uint_eq(strspn(pad + 11, "a"), 10000);
    nna_emu_stop(e);
}
END_TEST

/* ---- connections and requests ----------------------------------------------------------- */

START_TEST(idle_connection_times_out)
{
    nna_emu *e = start(1);
    int fd = connect_to(e);
    char buf[16];
    double t0 = now_s();
    ck_assert_int_eq(read_to_close(fd, buf, sizeof buf, 10), 0); /* closed, nothing sent */
    double took = now_s() - t0;
    ck_assert_msg(took >= 0.5 && took < 5, "an idle connection lived %.1f s", took);
    close(fd);
    nna_emu_stop(e);
    /* the default is seconds too */
    nna_emu_options o;
    nna_emu_options_init(&o);
    o.quiet = 1;
    ck_assert_int_eq(nna_emu_start(&o, &e), 0);
    ck_assert_uint_eq(e->idle_timeout, 15);
    nna_emu_stop(e);
}
END_TEST

START_TEST(content_length_with_chunked_refused)
{
    nna_emu *e = start(0);
    int fd = connect_to(e);
    const char *req = "POST /api/v1/agents/" A1 "/run HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer test-key\r\nContent-Type: application/json\r\n"
                      "Content-Length: 17\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "11\r\n{\"query\":\"hello\"}\r\n0\r\n\r\n";
    ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    char buf[4096];
    ck_assert_int_ge(read_to_close(fd, buf, sizeof buf, 10), 12); /* answered, then closed */
    ck_assert_msg(strncmp(buf, "HTTP/1.1 400", 12) == 0, "%s", buf);
    close(fd);
    char *resp = NULL;
    ck_assert_int_eq(nna_emu_control(e, "GET", "/_emu/counters", NULL, &resp), 200);
    ck_assert_ptr_nonnull(strstr(resp, "\"tasks_created\":0"));
    free(resp);
    nna_emu_stop(e);
}
END_TEST

START_TEST(control_bodies_and_scripts_bounded)
{
    nna_emu *e = start(0);
    /* over HTTP: a control body above 1 MiB → 413 */
    size_t n = (2u << 20);
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"route\":\"*\",\"responses\":[]}", 28);
    big[n] = '\0';
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/_emu/script", (unsigned)nna_emu_port(e));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, big);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    got g;
    static char head[257];
    memset(&g, 0, sizeof g);
    g.head = head;
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
    ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_int_eq(status, 413);
    curl_easy_cleanup(c);
    free(big);
    /* pending scripts are capped in number */
    size_t cap = 100001 * 16 + 64;
    char *many = malloc(cap), *p = many;
    p += sprintf(p, "{\"route\":\"*\",\"responses\":[");
    for (int i = 0; i < 100001; i++)
        p += sprintf(p, "%s{\"status\":500}", i ? "," : "");
    strcpy(p, "]}");
    char *resp = NULL;
    ck_assert_int_eq(nna_emu_control(e, "POST", "/_emu/script", many, &resp), 400);
    ck_assert_ptr_nonnull(strstr(resp, "too many scripted responses"));
    free(resp);
    free(many);
    /* and a full queue refuses more until it drains */
    script(e, "{\"route\":\"tasks.get\",\"responses\":[{\"status\":503}]}");
    ck_assert_uint_eq(e->st.sc_count, 1);
    ck_assert_int_eq(nna_emu_control(e, "DELETE", "/_emu/script", NULL, NULL), 200);
    ck_assert_uint_eq(e->st.sc_count, 0);
    nna_emu_stop(e);
}
END_TEST

/* ---- the binary and the process -------------------------------------------------------- */

static const char *bin_path(void)
{
    static char bin[1024];
    const char *dir = getenv("NNA_EMU_BIN_DIR");
    snprintf(bin, sizeof bin, "%s/nna-emu", dir ? dir : NNA_EMU_BUILDDIR);
    return access(bin, X_OK) == 0 ? bin : NULL;
}

/* Soft "Max open files" of a process. */
static long soft_nofile(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Max open files", 14))
            v = strtol(line + 14, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

START_TEST(binary_raises_nofile)
{
    const char *bin = bin_path();
    if (!bin) {
        fprintf(stderr, "binary_raises_nofile: nna-emu not built, skipped\n");
        return;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= 256) {
        fprintf(stderr, "binary_raises_nofile: hard limit %lu, skipped\n", (unsigned long)rl.rlim_max);
        return;
    }
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    char *argv[] = {"/bin/sh", "-c", "ulimit -Sn 256 && exec \"$0\" --port 0 --quiet",
                    (char *)bin, NULL};
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    FILE *f = fdopen(pfd[0], "r");
    char line[64] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* started: the limit is set */
    long soft = soft_nofile(pid);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    fclose(f);
    ck_assert_msg(soft > 256, "soft RLIMIT_NOFILE stayed %ld", soft);
    ck_assert(rl.rlim_max == RLIM_INFINITY || soft == (long)rl.rlim_max);
}
END_TEST

/* Runs the binary with `host` and returns its stderr (it cannot bind there: only the
 * warning before the start is wanted). */
static void stderr_of(const char *bin, char *host, char *out, size_t cap)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    char *argv[] = {(char *)bin, "--host", host, "--port", "1", "--quiet", NULL};
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(pfd[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
}

START_TEST(warns_beyond_loopback)
{
    ck_assert(emu_host_is_loopback("127.0.0.1"));
    ck_assert(emu_host_is_loopback("127.1.2.3"));
    ck_assert(emu_host_is_loopback("::1"));
    ck_assert(emu_host_is_loopback("localhost"));
    ck_assert(!emu_host_is_loopback("0.0.0.0"));
    ck_assert(!emu_host_is_loopback("::"));
    ck_assert(!emu_host_is_loopback("192.0.2.1"));
    const char *bin = bin_path();
    if (!bin)
        return;
    char err[2048];
    /* 192.0.2.1 (TEST-NET-1) is not ours: the bind fails, after the warning. Port 1 on
     * loopback is refused to an unprivileged user or taken: no server is left running. */
    stderr_of(bin, "192.0.2.1", err, sizeof err);
    ck_assert_msg(strstr(err, "WARNING: listening on 192.0.2.1"), "%s", err);
    if (geteuid() != 0) {
        stderr_of(bin, "127.0.0.1", err, sizeof err);
        ck_assert_msg(!strstr(err, "WARNING"), "%s", err);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("emu limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stream_finite_endless_chunked);
    tcase_add_test(tc, stream_trickles);
    tcase_add_test(tc, stream_and_header_validation);
    tcase_add_test(tc, idle_connection_times_out);
    tcase_add_test(tc, content_length_with_chunked_refused);
    tcase_add_test(tc, control_bodies_and_scripts_bounded);
    tcase_add_test(tc, binary_raises_nofile);
    tcase_add_test(tc, warns_beyond_loopback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
