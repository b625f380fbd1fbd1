/* libuv backend of the loop seam.
 *
 * One uv_poll_t per socket (stored in the socket's slot), one uv_timer_t for delays and one
 * uv_idle_t for "on the next iteration" (libuv < 1.45 runs a 0 ms timer re-armed from a timer
 * callback in the same pass, which would let a chain of deferred callbacks starve I/O). All
 * of them are uv_unref'd; the only loop reference is a uv_async_t that is ref'd while the
 * library has work pending, so idle keep-alive connections never keep uv_run() alive.
 *
 * libuv allows one uv_poll_t per fd, and curl closes sockets and gets their numbers back for
 * new ones: a poll is stopped and closed (uv_poll_stop, then uv_close) as soon as its socket
 * is unwatched, and a per-fd table detaches a poll that curl forgot to unwatch before a new
 * socket with the same number is watched. Memory of a handle is freed only in its close
 * callback; ops->close calls `done` from the last one (borrowed loop), or runs the private
 * loop until they have all run, closes and frees it, then calls `done`. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <uv.h>
#include "nna/uv.h"
#include "loop_core.h"
#include "client_internal.h"

typedef struct uvb_sock uvb_sock;

typedef struct uvb_backend {
    uv_loop_t  *loop;
    int         owned;       /* private loop: created here, run by wait, closed at the end */
    nna_loop   *core;
    uv_timer_t  timer;
    uv_idle_t   idle;        /* the timer armed at 0: fires on the next iteration */
    uv_async_t  keep;        /* holds the loop reference while work is pending */
    int         held;
    int         closing;
    size_t      nopen;       /* handles initialised whose close callback has not run */
    uvb_sock  **byfd;        /* the poll currently registered for each fd */
    size_t      nbyfd;
    void      (*done)(void *arg);
    void       *done_arg;
} uvb_backend;

struct uvb_sock {
    uv_poll_t    poll;
    uvb_backend *be;
    int          fd;
    int          events;     /* NNA_IO_* currently asked for */
    int          in_slot;    /* the core still holds it in a slot */
    int          closing;    /* uv_close called */
    int          closed;     /* close callback ran */
};

static void handle_closed(uvb_backend *be);

static void finish(uvb_backend *be)
{
    void (*done)(void *) = be->done;
    void *arg = be->done_arg;
    free(be->byfd);
    free(be);
    if (done) done(arg);
}

/* The last close callback of a borrowed loop ends the backend; a private loop's close
 * drives the loop itself and finishes afterwards. */
static void handle_closed(uvb_backend *be)
{
    if (--be->nopen == 0 && be->closing && !be->owned) finish(be);
}

static void on_handle_closed(uv_handle_t *h) { handle_closed(h->data); }

static void on_sock_closed(uv_handle_t *h)
{
    uvb_sock *s = h->data;
    uvb_backend *be = s->be;
    s->closed = 1;
    if (!s->in_slot) free(s);
    handle_closed(be);
}

/* Stops the poll and closes it now, so the fd number is free for a new poll at once. */
static void sock_close(uvb_backend *be, uvb_sock *s)
{
    if (s->closing) return;
    if ((size_t)s->fd < be->nbyfd && be->byfd[s->fd] == s) be->byfd[s->fd] = NULL;
    s->closing = 1;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static int byfd_reserve(uvb_backend *be, int fd)
{
    if ((size_t)fd < be->nbyfd) return 0;
    size_t n = be->nbyfd ? be->nbyfd : 64;
    while (n <= (size_t)fd) n *= 2;
    uvb_sock **nb = realloc(be->byfd, n * sizeof *nb);
    if (!nb) return -1;
    memset(nb + be->nbyfd, 0, (n - be->nbyfd) * sizeof *nb);
    be->byfd = nb;
    be->nbyfd = n;
    return 0;
}

static void on_poll(uv_poll_t *h, int status, int revents)
{
    uvb_sock *s = h->data;
    int ev = 0;
    if (status < 0) {
        ev = NNA_IO_READ | NNA_IO_WRITE; /* let curl find the error on the socket */
    } else {
        if (revents & (UV_READABLE | UV_DISCONNECT)) ev |= NNA_IO_READ;
        if (revents & UV_WRITABLE) ev |= NNA_IO_WRITE;
    }
    /* May unwatch this socket or free the whole client: touch nothing afterwards. */
    nna_loop_io_ready(s->be->core, s->fd, ev);
}

static int be_io(void *backend, int fd, int events, void **slot)
{
    uvb_backend *be = backend;
    uvb_sock *s = *slot;
    if (events == 0) {
        if (s) {
            *slot = NULL;
            s->in_slot = 0;
            if (s->closed) free(s);
            else sock_close(be, s);
        }
        return 0;
    }
    if (fd < 0 || be->closing) return -1;
    if (!s) {
        if (byfd_reserve(be, fd) != 0) return -1;
        /* A poll still registered for this number belongs to a socket curl closed without
         * unwatching it: libuv refuses a second poll on one fd, so retire the old one. */
        if (be->byfd[fd]) sock_close(be, be->byfd[fd]);
        s = calloc(1, sizeof *s);
        if (!s) return -1;
        if (uv_poll_init_socket(be->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->be = be;
        s->fd = fd;
        s->in_slot = 1;
        s->poll.data = s;
        uv_unref((uv_handle_t *)&s->poll);
        be->nopen++;
        be->byfd[fd] = s;
        *slot = s;
    } else if (s->closing) {
        return -1;
    }
    /* libuv stops a poll by itself after an error: restart it even when nothing changed. */
    if (s->events == events && uv_is_active((uv_handle_t *)&s->poll)) return 0;
    int want = ((events & NNA_IO_READ) ? UV_READABLE : 0) |
               ((events & NNA_IO_WRITE) ? UV_WRITABLE : 0);
    if (uv_poll_start(&s->poll, want, on_poll) != 0) return -1;
    s->events = events;
    return 0;
}

static void on_timer(uv_timer_t *h)
{
    uvb_backend *be = h->data;
    nna_loop_timer_fired(be->core);
}

static void on_idle(uv_idle_t *h)
{
    uvb_backend *be = h->data;
    uv_idle_stop(h);
    nna_loop_timer_fired(be->core);
}

static void be_timer(void *backend, double seconds)
{
    uvb_backend *be = backend;
    uv_timer_stop(&be->timer);
    uv_idle_stop(&be->idle);
    if (seconds < 0 || be->closing) return;
    /* uv_now has millisecond resolution: round up so the timer never fires early. */
    double ms = ceil(seconds * 1000.0);
    if (!(ms > 0)) {
        uv_idle_start(&be->idle, on_idle);
        return;
    }
    if (ms > 1e15) ms = 1e15;
    uv_timer_start(&be->timer, on_timer, (uint64_t)ms, 0);
}

static double be_now(void *backend)
{
    uvb_backend *be = backend;
    return (double)uv_now(be->loop) / 1000.0;
}

static void be_keepalive(void *backend, int on)
{
    uvb_backend *be = backend;
    on = !!on;
    if (on == be->held || be->closing) return;
    if (on) uv_ref((uv_handle_t *)&be->keep);
    else uv_unref((uv_handle_t *)&be->keep);
    be->held = on;
}

static int be_run_once(void *backend)
{
    uvb_backend *be = backend;
    if (!be->owned) return -1;
    /* One blocking iteration even when only an unref'd timer is pending: UV_RUN_ONCE on a
     * loop with no referenced handle would return at once and the caller would spin. */
    int held = be->held;
    if (!held) uv_ref((uv_handle_t *)&be->keep);
    uv_run(be->loop, UV_RUN_ONCE);
    if (!held && !be->held) uv_unref((uv_handle_t *)&be->keep);
    return 0;
}

static void close_stray(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void be_close(void *backend, void (*done)(void *), void *arg)
{
    uvb_backend *be = backend;
    be->done = done;
    be->done_arg = arg;
    be_timer(be, -1);
    be_keepalive(be, 0);
    be->closing = 1;
    for (size_t i = 0; i < be->nbyfd; i++) {
        uvb_sock *s = be->byfd[i];
        if (!s) continue;
        s->in_slot = 0; /* the core is gone: its slots are no longer read */
        sock_close(be, s);
    }
    uv_close((uv_handle_t *)&be->timer, on_handle_closed);
    uv_close((uv_handle_t *)&be->idle, on_handle_closed);
    uv_close((uv_handle_t *)&be->keep, on_handle_closed);
    if (!be->owned) return; /* finish() runs from the last close callback */
    /* Private loop (nna_client_free, outside the loop): run it until every close callback
     * has run, then close and free it. */
    uv_loop_t *loop = be->loop;
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) == UV_EBUSY) { /* something else was left on it */
        uv_walk(loop, close_stray, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
    free(loop);
    finish(be);
}

static void be_attach(void *backend, nna_loop *core)
{
    uvb_backend *be = backend;
    be->core = core;
}

static const nna_loop_ops uv_ops = {
    be_attach, be_io, be_timer, be_now, be_keepalive, be_run_once, be_close,
};

static void on_keep(uv_async_t *h) { (void)h; }

nna_status nna_client_new_uv(uv_loop_t *loop, const nna_client_options *o, nna_client **out)
{
    if (!out) return NNA_EINVAL;
    *out = NULL;
    uvb_backend *be = calloc(1, sizeof *be);
    if (!be) return NNA_ENOMEM;
    if (!loop) {
        loop = malloc(sizeof *loop);
        if (!loop || uv_loop_init(loop) != 0) {
            free(loop);
            free(be);
            return NNA_ENOMEM;
        }
        be->owned = 1;
    }
    be->loop = loop;
    if (uv_async_init(loop, &be->keep, on_keep) != 0) {
        if (be->owned) {
            uv_loop_close(loop);
            free(loop);
        }
        free(be);
        return NNA_EIO;
    }
    uv_timer_init(loop, &be->timer);
    uv_idle_init(loop, &be->idle);
    be->keep.data = be->timer.data = be->idle.data = be;
    uv_unref((uv_handle_t *)&be->keep);
    uv_unref((uv_handle_t *)&be->timer);
    uv_unref((uv_handle_t *)&be->idle);
    be->nopen = 3;
    nna_client *c = NULL;
    nna_status st = nna_client_new_custom(&uv_ops, be, o, &c);
    if (st != NNA_OK) return st; /* the backend was released by nna_client_new_custom */
    if (be->owned) nna_client_set_private_loop(c);
    *out = c;
    return NNA_OK;
}
