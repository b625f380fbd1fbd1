/* libev backend of the loop seam.
 *
 * One ev_io per socket (stored in the socket's slot) and one ev_timer. Watchers never keep
 * ev_run() alive by themselves: each is ev_unref'd after it starts (and ev_ref'd before it
 * stops), and the library holds a single loop reference only while it has work pending, so
 * idle keep-alive connections do not stop a host loop from returning. */
#include <stdlib.h>
#include <ev.h>
#include "nna/ev.h"
#include "loop_core.h"
#include "client_internal.h"

typedef struct evb_backend {
    struct ev_loop *loop;
    int       owned;        /* private loop: created here, run by wait, destroyed at the end */
    nna_loop *core;
    ev_timer  timer;
    int       held;         /* a keepalive reference is held */
} evb_backend;

typedef struct evb_sock {
    ev_io      io;
    evb_backend *be;
} evb_sock;

static void start_unref(evb_backend *be, ev_io *w) { ev_io_start(be->loop, w); ev_unref(be->loop); }
static void stop_ref(evb_backend *be, ev_io *w) { ev_ref(be->loop); ev_io_stop(be->loop, w); }

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    evb_sock *s = (evb_sock *)w;
    int ev = 0;
    if (revents & EV_READ) ev |= NNA_IO_READ;
    if (revents & EV_WRITE) ev |= NNA_IO_WRITE;
    nna_loop_io_ready(s->be->core, w->fd, ev);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop; (void)revents;
    evb_backend *be = w->data;
    /* A one-shot timer is stopped by libev before this callback, which dropped a loop
     * reference we had already given back with ev_unref: restore the balance. */
    ev_ref(be->loop);
    nna_loop_timer_fired(be->core);
}

static int be_io(void *backend, int fd, int events, void **slot)
{
    evb_backend *be = backend;
    evb_sock *s = *slot;
    if (events == 0) {
        if (s) {
            stop_ref(be, &s->io);
            free(s);
            *slot = NULL;
        }
        return 0;
    }
    int want = ((events & NNA_IO_READ) ? EV_READ : 0) | ((events & NNA_IO_WRITE) ? EV_WRITE : 0);
    if (!s) {
        s = malloc(sizeof *s);
        if (!s) return -1;
        s->be = be;
        ev_io_init(&s->io, on_io, fd, want);
        *slot = s;
    } else {
        if (s->io.fd == fd && (s->io.events & (EV_READ | EV_WRITE)) == want) return 0;
        stop_ref(be, &s->io);
        ev_io_set(&s->io, fd, want);
    }
    start_unref(be, &s->io);
    return 0;
}

static void be_timer(void *backend, double seconds)
{
    evb_backend *be = backend;
    if (ev_is_active(&be->timer)) {
        ev_ref(be->loop);
        ev_timer_stop(be->loop, &be->timer);
    }
    if (seconds < 0) return;
    /* ev_now is the time the loop last woke; the core computed `seconds` from it too. */
    ev_timer_set(&be->timer, seconds, 0.);
    ev_timer_start(be->loop, &be->timer);
    ev_unref(be->loop);
}

static double be_now(void *backend)
{
    evb_backend *be = backend;
    return ev_now(be->loop);
}

static void be_keepalive(void *backend, int on)
{
    evb_backend *be = backend;
    if (on && !be->held) ev_ref(be->loop);
    if (!on && be->held) ev_unref(be->loop);
    be->held = on;
}

static int be_run_once(void *backend)
{
    evb_backend *be = backend;
    if (!be->owned) return -1;
    ev_run(be->loop, EVRUN_ONCE);
    return 0;
}

static void be_close(void *backend, void (*done)(void *), void *arg)
{
    evb_backend *be = backend;
    be_timer(be, -1);
    be_keepalive(be, 0);
    struct ev_loop *owned = be->owned ? be->loop : NULL;
    free(be);
    if (owned) ev_loop_destroy(owned);
    if (done) done(arg);
}

static void be_attach(void *backend, nna_loop *core)
{
    evb_backend *be = backend;
    be->core = core;
}

static const nna_loop_ops ev_ops = {
    be_attach, be_io, be_timer, be_now, be_keepalive, be_run_once, be_close,
};

nna_status nna_client_new_ev(struct ev_loop *loop, const nna_client_options *o,
                             nna_client **out)
{
    if (!out) return NNA_EINVAL;
    *out = NULL;
    evb_backend *be = calloc(1, sizeof *be);
    if (!be) return NNA_ENOMEM;
    if (!loop) {
        loop = ev_loop_new(EVFLAG_AUTO);
        if (!loop) { free(be); return NNA_ENOMEM; }
        be->owned = 1;
    }
    be->loop = loop;
    ev_init(&be->timer, on_timer);
    be->timer.data = be;
    nna_client *c = NULL;
    nna_status st = nna_client_new_custom(&ev_ops, be, o, &c);
    if (st != NNA_OK) return st; /* the backend was released by nna_client_new_custom */
    if (be->owned) nna_client_set_private_loop(c);
    *out = c;
    return NNA_OK;
}
