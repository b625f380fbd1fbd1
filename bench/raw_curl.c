/* The reference client: libcurl multi_socket on libev written directly for the
 * benchmark, the floor for any library's overhead. Same requests as bench/nna_fanout.c
 * (POST /api/v1/agents/{id}/run with the same JSON body and headers, a 30 s timeout per
 * transfer), same JSON parsing with cJSON (parse, read task_id, free), no retries.
 *
 * Correct multi_socket usage: one ev_io per socket curl names, one ev_timer for curl's
 * timeout with fractional milliseconds (a 0 ms timeout runs on the next loop turn, never
 * from inside curl's callback), finished transfers drained after every socket_action.
 * Its own queue (a count of requests not yet started, since they are identical) feeds at
 * most `cap` easy handles; a finished handle is reused at once for the next request.
 *
 *   raw_curl --url http://127.0.0.1:PORT --n 20000 --cap 64 [--mem] [--upfront]
 *
 * --cacert FILE  (https URLs) trust this CA; the handles then share one TLS session
 *            cache and wait for HTTP/2 multiplexing (PIPEWAIT), as a careful client would
 *            (bench/run --tls).
 * --upfront  adds all N easy handles to the multi handle at once instead of queueing
 *            (what a naive client does; curl then runs at most --cap connections via
 *            CURLMOPT_MAX_TOTAL_CONNECTIONS) — to show what queueing saves.
 * Prints one JSON line; --mem adds heap and RSS figures as in nna_fanout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ev.h>
#include <curl/curl.h>
#include <cjson/cJSON.h>
#include "benchutil.h"

typedef struct req {
    CURL  *easy;
    char  *resp;
    size_t len, cap;
} req;

typedef struct sock {
    ev_io io;
} sock;

static struct {
    struct ev_loop *loop;
    CURLM          *multi;
    ev_timer        timer;
    struct curl_slist *headers;
    const char     *cacert;        /* --cacert: https, see above */
    CURLSH         *share;
    char            url[512];
    const char     *body;
    long            n, cap, queued, inflight, done, ok, failed;
    int             upfront, mem;
    double          heap_before, per_queued;
    double         *samples;       /* --mem: heap per request in flight, see benchutil.h */
    size_t          nsamples;
} R;

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    req *q = userp;
    size_t len = size * nmemb;
    if (q->len + len + 1 > q->cap) {
        size_t nc = q->cap ? q->cap : 1024;
        while (nc < q->len + len + 1) nc *= 2;
        char *nb = realloc(q->resp, nc);
        if (!nb) return 0;
        q->resp = nb;
        q->cap = nc;
    }
    memcpy(q->resp + q->len, data, len);
    q->len += len;
    q->resp[q->len] = '\0';
    return len;
}

static req *new_req(void)
{
    req *q = calloc(1, sizeof *q);
    CURL *e = q->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, R.headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "raw_curl/1");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    if (R.cacert) {
        curl_easy_setopt(e, CURLOPT_CAINFO, R.cacert);
        curl_easy_setopt(e, CURLOPT_SHARE, R.share);
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    }
    return q;
}

/* Per request, as any client whose requests differ must: URL and body (not copied: the
 * strings outlive the transfer). */
static void start(req *q)
{
    q->len = 0;
    curl_easy_setopt(q->easy, CURLOPT_URL, R.url);
    curl_easy_setopt(q->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(R.body));
    curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, R.body);
    R.queued--;
    R.inflight++;
    curl_multi_add_handle(R.multi, q->easy);
}

static void finish(req *q, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(R.multi, q->easy);
    R.inflight--;
    R.done++;
    int good = 0;
    if (rc == CURLE_OK && status == 200) {
        cJSON *j = cJSON_ParseWithLength(q->resp, q->len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "task_id");
        good = cJSON_IsString(id) && id->valuestring[0];
        cJSON_Delete(j);
    }
    if (good) {
        R.ok++;
    } else if (R.failed++ == 0) {
        fprintf(stderr, "raw_curl: first failure: %s, HTTP %ld\n", curl_easy_strerror(rc), status);
    }
    if (R.mem && R.done > R.cap && R.done <= 4 * R.cap &&
        (R.upfront || R.inflight + 1 >= R.cap)) {
        /* up front, every handle not yet finished beyond the `cap` transfers running is a
         * queued one */
        long queued_handles = R.upfront ? R.n - R.done - R.cap : 0;
        if (queued_handles < 0) queued_handles = 0;
        R.samples[R.nsamples++] = (bench_heap() - R.heap_before -
                                   (double)queued_handles * R.per_queued) / (double)R.cap;
    }
    if (R.queued > 0 && !R.upfront) {
        start(q); /* reuse the handle for the next queued request */
    } else {
        curl_easy_cleanup(q->easy);
        free(q->resp);
        free(q);
    }
    if (R.done == R.n) ev_break(R.loop, EVBREAK_ALL);
}

/* Reap every finished transfer: after every call into curl. */
static void drain(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(R.multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        req *q = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
        finish(q, m->data.result);
    }
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    int flags = 0, running;
    if (revents & EV_READ) flags |= CURL_CSELECT_IN;
    if (revents & EV_WRITE) flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(R.multi, w->fd, flags, &running);
    drain();
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop; (void)w; (void)revents;
    int running;
    curl_multi_socket_action(R.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain();
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e; (void)userp;
    sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            ev_io_stop(R.loop, &s->io);
            free(s);
        }
        return 0;
    }
    int ev = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (!s) {
        s = calloc(1, sizeof *s);
        curl_multi_assign(R.multi, fd, s);
    } else {
        ev_io_stop(R.loop, &s->io);
    }
    ev_io_init(&s->io, on_io, fd, ev);
    ev_io_start(R.loop, &s->io);
    return 0;
}

static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m; (void)userp;
    ev_timer_stop(R.loop, &R.timer);
    if (timeout_ms >= 0) {
        /* fractional seconds: 1..999 ms must not become 0 s */
        ev_timer_set(&R.timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(R.loop, &R.timer);
    }
    return 0;
}

typedef struct phase {
    double heap_cap, heap_after, heap_end, submit_s, run_s, cpu_s;
    long   rss_after;
} phase;

__attribute__((noinline)) static void bench_measured(phase *p)
{
    double c0 = bench_cpu(), t0 = bench_now();
    R.queued = R.n;
    long first = R.upfront ? R.n : (R.cap < R.n ? R.cap : R.n);
    for (long i = 0; i < first; i++) {
        start(new_req());
        if (R.mem && i + 1 == (R.cap < R.n ? R.cap : R.n)) p->heap_cap = bench_heap();
    }
    double t1 = bench_now();
    if (R.mem) {
        p->heap_after = bench_heap();
        p->rss_after = bench_rss_kb();
        long cap = R.cap < R.n ? R.cap : R.n;
        R.per_queued = R.n > cap ? (p->heap_after - p->heap_cap) / (double)(R.n - cap) : 0;
    }
    ev_run(R.loop, 0);
    double t2 = bench_now();
    if (R.mem) p->heap_end = bench_heap();
    p->submit_s = t1 - t0;
    p->run_s = t2 - t0;
    p->cpu_s = bench_cpu() - c0;
}

int main(int argc, char **argv)
{
    const char *base = bench_arg(argc, argv, "--url", NULL);
    R.n = atol(bench_arg(argc, argv, "--n", "20000"));
    R.cap = atol(bench_arg(argc, argv, "--cap", "64"));
    R.mem = bench_flag(argc, argv, "--mem");
    R.upfront = bench_flag(argc, argv, "--upfront");
    R.cacert = bench_arg(argc, argv, "--cacert", NULL);
    if (R.mem) R.samples = calloc((size_t)(3 * R.cap + 1), sizeof(double));
    if (!base || R.n <= 0 || R.cap <= 0) {
        fprintf(stderr, "usage: raw_curl --url http://127.0.0.1:PORT [--n N] [--cap C] [--mem] [--upfront] [--cacert FILE]\n");
        return 2;
    }
    snprintf(R.url, sizeof R.url, "%s/api/v1/agents/%s/run", base, BENCH_AGENT);
    R.body = "{\"query\":\"" BENCH_QUERY "\"}";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    R.share = curl_share_init();
    curl_share_setopt(R.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    R.loop = ev_loop_new(EVFLAG_AUTO);
    ev_init(&R.timer, on_timer);
    R.multi = curl_multi_init();
    curl_multi_setopt(R.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(R.multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(R.multi, CURLMOPT_MAXCONNECTS, R.cap + 16);
    if (R.upfront) curl_multi_setopt(R.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, R.cap);
    R.headers = curl_slist_append(R.headers, "Content-Type: application/json");
    R.headers = curl_slist_append(R.headers, "Accept: application/json");
    R.headers = curl_slist_append(R.headers, "Expect:");
    R.headers = curl_slist_append(R.headers, "Authorization: Bearer " BENCH_KEY);

    phase p;
    memset(&p, 0, sizeof p);
    long rss_before = bench_rss_kb();
    R.heap_before = bench_heap();
    bench_measured(&p);
    long maxrss = bench_maxrss_kb();

    printf("{\"client\":\"%s\",\"n\":%ld,\"cap\":%ld,\"ok\":%ld,\"failed\":%ld,\"secs\":%.6f,"
           "\"rps\":%.1f,\"cpu_us\":%.3f,\"submit_us\":%.4f,\"maxrss_kb\":%ld",
           R.upfront ? "raw_curl_upfront" : "raw_curl", R.n, R.cap, R.ok, R.failed, p.run_s,
           (double)R.n / p.run_s, p.cpu_s * 1e6 / (double)R.n, p.submit_s * 1e6 / (double)R.n,
           maxrss);
    if (R.mem)
        bench_print_mem(rss_before, p.rss_after, R.heap_before, p.heap_after, p.heap_end,
                        R.per_queued, R.n, R.samples, R.nsamples);
    printf("}\n");
    curl_multi_cleanup(R.multi);
    curl_share_cleanup(R.share);
    curl_slist_free_all(R.headers);
    ev_loop_destroy(R.loop);
    curl_global_cleanup();
    return R.ok == R.n ? 0 : 1;
}
