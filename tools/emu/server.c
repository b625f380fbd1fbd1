/* nna-emu: libmicrohttpd in external-epoll mode, driven by the emulator's own
 * thread (epoll on MHD's epoll fd + an eventfd for stop requests), with a
 * timer heap that resumes suspended connections (injected latency). With a
 * certificate and key it serves HTTPS through libmicrohttpd's own TLS (GnuTLS on
 * Debian), in the same external-epoll mode. */
#include "emu_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct emu_timer {
    int64_t                due_ns;
    emu_req               *r;
    struct MHD_Connection *c;
} emu_timer;

struct emu_server {
    struct MHD_Daemon *d;
    int                lfd, epfd, efd;
    pthread_t          th;
    int                started;
    atomic_int         stop;
    emu_timer         *heap;
    size_t             nheap, capheap;
    atomic_ullong      connections; /* accepted since the start */
};

unsigned long long emu_server_connections(const nna_emu *e)
{
    return e->srv ? atomic_load(&e->srv->connections) : 0;
}

int emu_server_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* Counts accepted connections: the tests read how many connections (and so TLS
 * handshakes) a fan-out needed. */
static void conn_cb(void *cls, struct MHD_Connection *c, void **socket_context,
                    enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_context;
    struct emu_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

/* ---------------------------------------------------------- timer heap */
static int heap_push(struct emu_server *s, emu_timer t)
{
    if (s->nheap == s->capheap) {
        size_t nc = s->capheap ? s->capheap * 2 : 64;
        emu_timer *nh = realloc(s->heap, nc * sizeof *nh);
        if (!nh)
            return -1;
        s->heap = nh;
        s->capheap = nc;
    }
    size_t i = s->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s->heap[p].due_ns <= t.due_ns)
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = t;
    return 0;
}

static void heap_remove_at(struct emu_server *s, size_t i)
{
    emu_timer last = s->heap[--s->nheap];
    if (i == s->nheap)
        return;
    /* sift up or down */
    while (i > 0 && s->heap[(i - 1) / 2].due_ns > last.due_ns) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t mv = last.due_ns;
        if (l < s->nheap && s->heap[l].due_ns < mv) {
            m = l;
            mv = s->heap[l].due_ns;
        }
        if (r < s->nheap && s->heap[r].due_ns < mv)
            m = r;
        if (m == i)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    s->heap[i] = last;
}

/* ------------------------------------------------------------ callbacks */
static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    emu_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    size_t n = strlen(uri);
    r->uri = malloc(n + 1);
    if (r->uri)
        memcpy(r->uri, uri, n + 1);
    r->t0_ns = emu_mono_ns();
    r->ws = -1;
    return r;
}

static void done_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    nna_emu *e = cls;
    emu_req *r = *con_cls;
    if (!r)
        return;
    if (r->suspended && !r->resumed) {
        struct emu_server *s = e->srv;
        for (size_t i = 0; i < s->nheap; i++)
            if (s->heap[i].r == r) {
                heap_remove_at(s, i);
                break;
            }
    }
    if (r->pp)
        MHD_destroy_post_processor((struct MHD_PostProcessor *)r->pp);
    r->pp = NULL;
    emu_req_free(r);
    *con_cls = NULL;
}

static enum MHD_Result send_outcome(nna_emu *e, emu_req *r, struct MHD_Connection *c)
{
    double lat = (double)(emu_mono_ns() - r->t0_ns) / 1e6;
    if (!r->is_control) {
        const char *q = r->uri ? strchr(r->uri, '?') : NULL;
        pthread_mutex_lock(&e->mu);
        emu_log_record(e, r->ws, r->method, r->path, q ? q + 1 : "", r->out.drop ? 0 : r->out.status,
                       r->route < R__COUNT ? r->route : -1, lat);
        pthread_mutex_unlock(&e->mu);
    }
    r->sent = 1;
    if (r->out.drop)
        return MHD_NO;
    struct MHD_Response *resp;
    if (r->out.script && r->out.script->stream) {
        resp = emu_stream_response(e, r, c, r->out.script->stream);
    } else if (r->out.body) {
        resp = MHD_create_response_from_buffer(r->out.body_len, r->out.body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->out.body = NULL;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (r->out.ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->out.ctype);
    for (int i = 0; i < r->out.nh; i++)
        MHD_add_response_header(resp, r->out.hn[i], r->out.hv[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->out.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *c, const char *url,
                           const char *method, const char *version, const char *upload_data,
                           size_t *upload_data_size, void **con_cls)
{
    (void)version;
    nna_emu *e = cls;
    emu_req *r = *con_cls;
    if (!r) {
        r = uri_cb(NULL, url, c);
        if (!r)
            return MHD_NO;
        *con_cls = r;
    }
    if (!r->started) {
        r->started = 1;
        /* Content-Length with chunked encoding: a request-smuggling pattern (RFC 9112
         * 6.1): refuse it and close the connection. */
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
            r->method = method;
            r->path = url;
            r->is_control = 1; /* not an API request: not logged */
            emu_out_error(r, 400, "Content-Length and Transfer-Encoding together");
            emu_out_header(r, "Connection", "close");
            return send_outcome(e, r, c);
        }
        r->method = method;
        r->path = url;
        r->conn = c;
        r->auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        r->ctype_in = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        r->route = R_NONE;
        r->path_route = -1;
        if (e->control && (!strncmp(url, "/_emu/", 6) || !strcmp(url, "/_emu")))
            r->is_control = 1;
        else
            emu_route_match(r);
        emu_req_parse_query(r);
        pthread_mutex_lock(&e->mu);
        r->mp_limit = e->st.set.max_upload_bytes;
        pthread_mutex_unlock(&e->mu);
        r->body_limit = r->mp_limit > (1u << 20) ? (size_t)r->mp_limit : (1u << 20);
        if (r->body_limit > ((size_t)1 << 30))
            r->body_limit = (size_t)1 << 30;
        if (r->is_control)
            r->body_limit = EMU_CONTROL_BODY_MAX;
        if (r->route == R_RUN && r->ctype_in &&
            !strncasecmp(r->ctype_in, "multipart/form-data", 19))
            emu_mp_begin(r, c);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (r->multipart) {
            emu_mp_feed(r, upload_data, *upload_data_size);
        } else if (!r->body_too_large) {
            if (r->body.len + *upload_data_size > r->body_limit) {
                r->body_too_large = 1;
                sb_free(&r->body);
            } else {
                sb_putn(&r->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->aborted)
        return MHD_NO;
    if (!r->have_outcome) {
        if (r->multipart)
            emu_mp_end(r);
        if (r->is_control && r->body_too_large) {
            emu_out_error(r, 413, "control request body too large");
        } else if (r->is_control) {
            char *resp = NULL;
            int st = emu_control(e, method, r->uri ? r->uri : url, r->body.p ? r->body.p : "",
                                 r->body.len, &resp);
            r->have_outcome = 1;
            r->out.status = st;
            r->out.body = resp;
            r->out.body_len = resp ? strlen(resp) : 0;
            r->out.ctype = "application/json";
        } else {
            pthread_mutex_lock(&e->mu);
            emu_handle_api(e, r);
            pthread_mutex_unlock(&e->mu);
            r->have_outcome = 1;
        }
        /* No latency once stopping: nothing would resume the connection after the loop. */
        if (r->out.delay_ms && !r->resumed && !atomic_load(&e->srv->stop)) {
            emu_timer t = {emu_mono_ns() + (int64_t)r->out.delay_ms * 1000000LL, r, c};
            if (heap_push(e->srv, t) == 0) {
                r->suspended = 1;
                MHD_suspend_connection(c);
                return MHD_YES;
            }
        }
    }
    return send_outcome(e, r, c);
}

int emu_server_resume_at(nna_emu *e, emu_req *r, void *conn, int64_t due_ns)
{
    struct emu_server *s = e->srv;
    if (atomic_load(&s->stop))
        return -1;
    emu_timer t = {due_ns, r, conn};
    if (heap_push(s, t) != 0)
        return -1;
    r->suspended = 1;
    r->resumed = 0;
    MHD_suspend_connection(conn);
    return 0;
}

/* ----------------------------------------------------------------- loop */
static void *loop(void *arg)
{
    nna_emu *e = arg;
    struct emu_server *s = e->srv;
    struct epoll_event ev[8];
    while (!atomic_load(&s->stop)) {
        int timeout = 1000;
        MHD_UNSIGNED_LONG_LONG mto;
        if (MHD_get_timeout(s->d, &mto) == MHD_YES && mto < (MHD_UNSIGNED_LONG_LONG)timeout)
            timeout = (int)mto;
        if (s->nheap) {
            int64_t dt = s->heap[0].due_ns - emu_mono_ns();
            int ms = dt <= 0 ? 0 : (int)((dt + 999999) / 1000000);
            if (ms < timeout)
                timeout = ms;
        }
        if (e->logf && e->logf_dirty && timeout > 200)
            timeout = 200;
        int n = epoll_wait(s->epfd, ev, 8, timeout);
        for (int i = 0; i < n; i++)
            if (ev[i].data.fd == s->efd) {
                uint64_t v;
                if (read(s->efd, &v, sizeof v) < 0 && errno != EAGAIN)
                    break;
            }
        if (s->nheap) {
            int64_t now = emu_mono_ns();
            while (s->nheap && s->heap[0].due_ns <= now) {
                emu_timer t = s->heap[0];
                heap_remove_at(s, 0);
                t.r->resumed = 1;
                MHD_resume_connection(t.c);
            }
        }
        MHD_run(s->d);
        if (e->logf) {
            pthread_mutex_lock(&e->mu);
            emu_logf_flush(e, 0);
            pthread_mutex_unlock(&e->mu);
        }
    }
    /* Resume every suspended connection so that MHD can close it, after each of the last
     * MHD_run calls too (a request read by one of them must not stay suspended). */
    for (int i = 0; i < 3; i++) {
        while (s->nheap) {
            emu_timer t = s->heap[0];
            heap_remove_at(s, 0);
            t.r->resumed = 1;
            t.r->aborted = 1;
            MHD_resume_connection(t.c);
        }
        MHD_run(s->d);
    }
    return NULL;
}

static int make_listener(const char *host, unsigned port, int *fd_out)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%u", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0 || !res)
        return -EADDRNOTAVAIL;
    int err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
            err = -errno;
            close(fd);
            continue;
        }
        *fd_out = fd;
        freeaddrinfo(res);
        return 0;
    }
    freeaddrinfo(res);
    return err;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

int emu_server_start(nna_emu *e, const char *host, unsigned port)
{
    struct emu_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->lfd = s->epfd = s->efd = -1;
    e->srv = s;
    int rc = make_listener(host, port, &s->lfd);
    if (rc != 0)
        goto fail;
    e->port = bound_port(s->lfd);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
    if (!e->quiet)
        flags |= MHD_USE_ERROR_LOG;
    if (e->tls_cert_pem)
        flags |= MHD_USE_TLS;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, ahc, e,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->lfd,
                            MHD_OPTION_NOTIFY_CONNECTION, conn_cb, s,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_cb, e,
                            MHD_OPTION_NOTIFY_COMPLETED, done_cb, e,
                            MHD_OPTION_CONNECTION_LIMIT, emu_conn_limit(),
                            MHD_OPTION_CONNECTION_TIMEOUT, e->idle_timeout,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                            /* Last: without TLS the list ends here. MHD keeps the
                             * pointers, so the PEM text lives as long as the daemon. */
                            e->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
                            e->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, e->tls_key_pem,
                            MHD_OPTION_END);
    if (!s->d) {
        rc = -EIO;
        goto fail;
    }
    s->lfd = -1; /* owned by MHD now */
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!di || s->epfd < 0 || s->efd < 0) {
        rc = -EIO;
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = di->epoll_fd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, di->epoll_fd, &ev) != 0) {
        rc = -errno;
        goto fail;
    }
    ev.data.fd = s->efd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev) != 0) {
        rc = -errno;
        goto fail;
    }
    atomic_store(&s->stop, 0);
    if (pthread_create(&s->th, NULL, loop, e) != 0) {
        rc = -EAGAIN;
        goto fail;
    }
    s->started = 1;
    return 0;
fail:
    emu_server_stop(e);
    return rc;
}

void emu_server_stop(nna_emu *e)
{
    struct emu_server *s = e->srv;
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stop, 1);
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0) {
            /* the loop also wakes up at least once a second */
        }
        pthread_join(s->th, NULL);
    }
    if (s->d)
        MHD_stop_daemon(s->d);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->efd >= 0)
        close(s->efd);
    free(s->heap);
    free(s);
    e->srv = NULL;
}
