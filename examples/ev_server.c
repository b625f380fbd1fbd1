/* ev_server — libnna embedded in an event-driven server.
 *
 * A small HTTP/1.1 server on libev (plain sockets and ev_io, one request per connection)
 * whose handler starts an agent run for each request and answers when the run's future
 * settles. The server and the library share one loop and one thread; nothing blocks.
 *
 *   NANONETS_API_KEY=... [NANONETS_BASE_URL=...] ev_server [-a AGENT_ID] [-p PORT]
 *   (the agent id may also come from NNA_AGENT_ID; PORT 0, the default, picks a free port)
 *
 * The port is printed alone on the first line of stdout. Routes:
 *   POST /run      body = the query text → 200 {"task_id": "...", "status": "..."}
 *                                          or 502 {"error": "...", "code": "NNA_..."}
 *   GET  /health   → 200 {"ok": true, "pending": N}
 *   POST /quit     (or SIGINT/SIGTERM) stop accepting, let pending runs finish, exit 0
 * A client that hangs up before its answer cancels its run.
 *
 * Build: cc ev_server.c $(pkg-config --cflags --libs nna) -lev */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ev.h>
#include <nna/nna.h>
#include <nna/ev.h>

#define MAX_REQUEST (64 * 1024)

typedef struct server {
    struct ev_loop *loop;
    nna_client     *client;
    const char     *agent;
    int             lfd;
    ev_io           accept_w;
    ev_signal       sigint_w, sigterm_w;
    int             pending;       /* runs in progress */
    int             stopping;
} server;

typedef struct conn {
    server     *srv;
    int         fd;
    ev_io       rd, wr;
    char        in[MAX_REQUEST + 1];
    size_t      in_len;
    char       *out;
    size_t      out_len, out_off;
    nna_future *run;               /* the run answering this request, while pending */
    int         hung_up;           /* the client left before the answer */
} conn;

static void conn_free(conn *c)
{
    ev_io_stop(c->srv->loop, &c->rd);
    ev_io_stop(c->srv->loop, &c->wr);
    if (c->fd >= 0) close(c->fd);
    free(c->out);
    free(c);
}

/* ---- answers ------------------------------------------------------------------------ */

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop; (void)revents;
    conn *c = w->data;
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) break;
        c->out_off += (size_t)n;
    }
    conn_free(c); /* Connection: close */
}

static void reply(conn *c, int code, const char *reason, const char *json)
{
    size_t n = strlen(json) + 256;
    c->out = malloc(n);
    if (!c->out) { conn_free(c); return; }
    int len = snprintf(c->out, n,
        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
        "Connection: close\r\n\r\n%s", code, reason, strlen(json), json);
    c->out_len = (size_t)len;
    ev_io_stop(c->srv->loop, &c->rd);
    ev_io_init(&c->wr, on_writable, c->fd, EV_WRITE);
    c->wr.data = c;
    ev_io_start(c->srv->loop, &c->wr);
}

/* JSON string body without quotes: escapes what JSON requires. */
static void json_escape(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s && *s && o + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') { dst[o++] = '\\'; dst[o++] = (char)ch; }
        else if (ch < 0x20) o += (size_t)snprintf(dst + o, cap - o, "\\u%04x", ch);
        else dst[o++] = (char)ch;
    }
    dst[o] = 0;
}

/* ---- the handler: one agent run per request ----------------------------------------- */

static void maybe_finish(server *s);

static void on_run_settled(nna_future *f, void *ud)
{
    conn *c = ud;
    server *s = c->srv;
    s->pending--;
    c->run = NULL;
    if (c->hung_up) {
        conn_free(c);
    } else if (nna_future_status(f) == NNA_OK) {
        const nna_task *t = nna_future_result(f);
        char body[256];
        snprintf(body, sizeof body, "{\"task_id\": \"%s\", \"status\": \"%s\"}\n",
                 t->task_id, nna_task_status_name(t->status));
        reply(c, 200, "OK", body);
    } else {
        char err[512], body[700];
        json_escape(err, sizeof err, nna_future_error(f) ? nna_future_error(f)
                                                         : nna_strerror(nna_future_status(f)));
        snprintf(body, sizeof body, "{\"error\": \"%s\", \"code\": \"%s\", \"http_status\": %ld}\n",
                 err, nna_status_name(nna_future_status(f)), nna_future_http_status(f));
        reply(c, 502, "Bad Gateway", body);
    }
    nna_future_unref(f);
    maybe_finish(s);
}

static void start_stop(server *s);

static void handle(conn *c, const char *method, const char *path, const char *body)
{
    server *s = c->srv;
    if (!strcmp(method, "POST") && !strcmp(path, "/run")) {
        if (s->stopping) { reply(c, 503, "Service Unavailable", "{\"error\": \"stopping\"}\n"); return; }
        nna_run_options ro;
        nna_run_options_init(&ro);
        ro.query = body[0] ? body : "Hello";
        c->run = nna_agents_run(s->client, s->agent, &ro);
        if (!c->run || nna_future_then(c->run, on_run_settled, c) != NNA_OK) {
            reply(c, 500, "Internal Server Error", "{\"error\": \"out of memory\"}\n");
            return;
        }
        s->pending++;
        /* Keep reading: EOF before the answer means the client hung up. */
    } else if (!strcmp(method, "GET") && !strcmp(path, "/health")) {
        char b[64];
        snprintf(b, sizeof b, "{\"ok\": true, \"pending\": %d}\n", s->pending);
        reply(c, 200, "OK", b);
    } else if (!strcmp(method, "POST") && !strcmp(path, "/quit")) {
        reply(c, 200, "OK", "{\"stopping\": true}\n");
        start_stop(s);
    } else {
        reply(c, 404, "Not Found", "{\"error\": \"no such route\"}\n");
    }
}

/* ---- minimal HTTP/1.1 request parsing ------------------------------------------------ */

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop; (void)revents;
    conn *c = w->data;
    ssize_t n = read(c->fd, c->in + c->in_len, MAX_REQUEST - c->in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || c->run) {
        if (c->run && n <= 0) {             /* hung up while its run is pending */
            c->hung_up = 1;
            ev_io_stop(c->srv->loop, &c->rd);
            nna_future_cancel(c->run);      /* on_run_settled frees the connection */
        } else if (!c->run) {
            conn_free(c);
        }
        return;                             /* (bytes after the request are ignored) */
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end) {
        if (c->in_len == MAX_REQUEST) reply(c, 413, "Payload Too Large", "{}\n");
        return;
    }
    size_t clen = 0;
    for (char *h = strstr(c->in, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (!strncasecmp(h + 2, "Content-Length:", 15)) clen = strtoul(h + 17, NULL, 10);
    char *body = end + 4;
    if (clen > MAX_REQUEST - (size_t)(body - c->in)) { reply(c, 413, "Payload Too Large", "{}\n"); return; }
    if ((size_t)(c->in + c->in_len - body) < clen) return; /* body incomplete */
    body[clen] = 0;
    char method[8], path[256];
    if (sscanf(c->in, "%7s %255s HTTP/1.", method, path) != 2) {
        reply(c, 400, "Bad Request", "{}\n");
        return;
    }
    handle(c, method, path, body);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    server *s = w->data;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) return;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        conn *c = calloc(1, sizeof *c);
        if (!c) { close(fd); continue; }
        c->srv = s;
        c->fd = fd;
        ev_io_init(&c->rd, on_readable, fd, EV_READ);
        c->rd.data = c;
        ev_io_start(loop, &c->rd);
    }
}

/* ---- graceful stop: the loop returns by itself once everything is closed ------------- */

static void on_client_closed(void *ud)
{
    (void)ud;
    fprintf(stderr, "ev_server: client shut down\n");
}

static void start_stop(server *s)
{
    if (s->stopping) return;
    s->stopping = 1;
    ev_io_stop(s->loop, &s->accept_w);
    close(s->lfd);
    ev_signal_stop(s->loop, &s->sigint_w);
    ev_signal_stop(s->loop, &s->sigterm_w);
    maybe_finish(s);
}

static void maybe_finish(server *s)
{
    if (!s->stopping || s->pending > 0 || !s->client) return;
    /* Every run has been answered: drain (nothing is left) and let the client go. */
    nna_client_shutdown(s->client, NNA_SHUTDOWN_DRAIN, on_client_closed, NULL);
    s->client = NULL;
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop; (void)revents;
    start_stop(w->data);
}

int main(int argc, char **argv)
{
    server s;
    memset(&s, 0, sizeof s);
    s.agent = getenv("NNA_AGENT_ID");
    int port = 0, opt;
    while ((opt = getopt(argc, argv, "a:p:")) != -1) {
        if (opt == 'a') s.agent = optarg;
        else if (opt == 'p') port = atoi(optarg);
        else return 2;
    }
    nna_client_options o;
    nna_client_options_init(&o);
    o.api_key = getenv("NANONETS_API_KEY");
    if (getenv("NANONETS_BASE_URL")) o.base_url = getenv("NANONETS_BASE_URL");
    if (!s.agent || !o.api_key) {
        fprintf(stderr, "usage: NANONETS_API_KEY=... %s -a AGENT_ID [-p PORT]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    s.loop = EV_DEFAULT;
    if (nna_client_new_ev(s.loop, &o, &s.client) != NNA_OK) return 1;

    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int one = 1;
    s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s.lfd < 0 || setsockopt(s.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(s.lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s.lfd, 128) != 0 ||
        getsockname(s.lfd, (struct sockaddr *)&a, &alen) != 0) {
        perror("ev_server: listen");
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);

    ev_io_init(&s.accept_w, on_accept, s.lfd, EV_READ);
    s.accept_w.data = &s;
    ev_io_start(s.loop, &s.accept_w);
    ev_signal_init(&s.sigint_w, on_signal, SIGINT);
    ev_signal_init(&s.sigterm_w, on_signal, SIGTERM);
    s.sigint_w.data = s.sigterm_w.data = &s;
    ev_signal_start(s.loop, &s.sigint_w);
    ev_signal_start(s.loop, &s.sigterm_w);

    ev_run(s.loop, 0); /* returns when the listener, every connection and the client are gone */
    return 0;
}
