/* The forwarding test server of bigproxy.h: a thread accepts, one thread per connection
 * reads a request, replays it to the upstream with libcurl, and writes the reply back
 * (with the oversized header line when the request matches). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <check.h>
#include <curl/curl.h>
#include "bigproxy.h"


/* recv() that gives up when the proxy stops (an idle kept-alive connection). */
static ssize_t recv_or_stop(bigproxy *px, int fd, char *p, size_t n)
{
    while (!px->stop) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 50) > 0) return recv(fd, p, n, 0);
    }
    return -1;
}

typedef struct fwd_body { char *p; size_t n; } fwd_body;

static size_t fwd_write(char *d, size_t sz, size_t n, void *ud)
{
    fwd_body *b = ud;
    b->p = realloc(b->p, b->n + sz * n + 1);
    memcpy(b->p + b->n, d, sz * n);
    b->n += sz * n;
    b->p[b->n] = '\0';
    return sz * n;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Value of header `name` in the request head (copied into out), or "" when absent. */
static void head_value(const char *head, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        size_t nl = strlen(name);
        if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
            const char *v = l + 3 + nl, *e = strstr(v, "\r\n");
            while (*v == ' ') v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return;
        }
    }
}

/* Serves one connection; returns when the client closes it or after a big reply. */
static void proxy_conn(bigproxy *px, int fd)
{
    char *buf = malloc(1 << 20);
    size_t have = 0;
    for (;;) {
        char *end;
        buf[have] = '\0';
        while (!(end = strstr(buf, "\r\n\r\n"))) {
            ssize_t r = recv_or_stop(px, fd, buf + have, (1 << 20) - 1 - have);
            if (r <= 0) { free(buf); return; }
            have += (size_t)r;
            buf[have] = '\0';
        }
        *end = '\0';
        char method[16], target[4096], clen[32], auth[512], ctype[128];
        if (sscanf(buf, "%15s %4095s", method, target) != 2) break;
        head_value(buf, "Content-Length", clen, sizeof clen);
        head_value(buf, "Authorization", auth, sizeof auth);
        head_value(buf, "Content-Type", ctype, sizeof ctype);
        size_t hl = (size_t)(end - buf) + 4, bl = (size_t)atol(clen);
        while (have < hl + bl) {
            ssize_t r = recv_or_stop(px, fd, buf + have, (1 << 20) - 1 - have);
            if (r <= 0) { free(buf); return; }
            have += (size_t)r;
        }
        pthread_mutex_lock(&px->mu);
        int big = px->count > 0 && strstr(buf, px->match) != NULL;
        if (big) px->count--;
        pthread_mutex_unlock(&px->mu);

        CURL *e = curl_easy_init();
        char url[4200], h1[600], h2[200];
        snprintf(url, sizeof url, "%s%s", px->upstream, target);
        snprintf(h1, sizeof h1, "Authorization: %s", auth);
        snprintf(h2, sizeof h2, "Content-Type: %s", ctype[0] ? ctype : "application/json");
        struct curl_slist *hs = curl_slist_append(curl_slist_append(NULL, h1), h2);
        fwd_body rb = { NULL, 0 };
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hs);
        if (bl) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, buf + hl);
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)bl);
        }
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fwd_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &rb);
        long code = 502;
        if (curl_easy_perform(e) == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(hs);
        curl_easy_cleanup(e);

        size_t big_n = big ? 110 * 1024 : 0;
        char *out = malloc(256 + big_n + rb.n);
        int k = snprintf(out, 256, "HTTP/1.1 %ld X\r\nContent-Type: application/json\r\n%s",
                         code, big ? "X-Big: " : "");
        memset(out + k, 'b', big_n);
        k += (int)big_n;
        k += snprintf(out + k, 128, "%sContent-Length: %zu\r\n\r\n", big ? "\r\n" : "", rb.n);
        memcpy(out + k, rb.p ? rb.p : "", rb.n);
        int ok = send_all(fd, out, (size_t)k + rb.n) == 0;
        free(out);
        free(rb.p);
        if (!ok || big) break;
        memmove(buf, buf + hl + bl, have - hl - bl);
        have -= hl + bl;
    }
    free(buf);
}

typedef struct conn_arg { bigproxy *px; int fd; } conn_arg;

static void *conn_main(void *arg)
{
    conn_arg *ca = arg;
    proxy_conn(ca->px, ca->fd);
    close(ca->fd);
    pthread_mutex_lock(&ca->px->mu);
    ca->px->active--;
    pthread_mutex_unlock(&ca->px->mu);
    free(ca);
    return NULL;
}

/* One thread per connection: the client may keep one idle while it opens another. */
static void *proxy_main(void *arg)
{
    bigproxy *px = arg;
    while (!px->stop) {
        struct pollfd p = { px->lfd, POLLIN, 0 };
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(px->lfd, NULL, NULL);
        if (fd < 0) continue;
        conn_arg *ca = malloc(sizeof *ca);
        ca->px = px;
        ca->fd = fd;
        pthread_t th;
        pthread_mutex_lock(&px->mu);
        px->active++;
        pthread_mutex_unlock(&px->mu);
        ck_assert_int_eq(pthread_create(&th, NULL, conn_main, ca), 0);
        pthread_detach(th);
    }
    return NULL;
}

void proxy_start(bigproxy *px, const char *upstream, const char *match, int count)
{
    memset(px, 0, sizeof *px);
    px->upstream = upstream;
    px->match = match;
    px->count = count;
    pthread_mutex_init(&px->mu, NULL);
    px->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(px->lfd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(px->lfd, 16), 0);
    ck_assert_int_eq(getsockname(px->lfd, (struct sockaddr *)&a, &len), 0);
    snprintf(px->base, sizeof px->base, "http://127.0.0.1:%u", ntohs(a.sin_port));
    ck_assert_int_eq(pthread_create(&px->th, NULL, proxy_main, px), 0);
}

void proxy_stop(bigproxy *px)
{
    px->stop = 1;
    pthread_join(px->th, NULL);
    for (;;) { /* the connection threads see `stop` within 50 ms */
        pthread_mutex_lock(&px->mu);
        int left = px->active;
        pthread_mutex_unlock(&px->mu);
        if (!left) break;
        usleep(10000);
    }
    pthread_mutex_destroy(&px->mu);
    close(px->lfd);
}

