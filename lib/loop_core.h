/* The core side of a loop binding: a timer heap behind the backend's one timer, socket
 * dispatch to the transport, and the deferred queue that makes every user callback run
 * from the loop rather than from inside the call that caused it. Internal. */
#ifndef NNA_LOOP_CORE_H
#define NNA_LOOP_CORE_H

#include <stddef.h>
#include "nna/loop.h"

typedef struct nna_timer nna_timer;
typedef void (*nna_timer_cb)(nna_timer *t, void *arg);

struct nna_timer {
    double       at;        /* absolute loop time */
    size_t       slot;      /* index in the heap + 1; 0 = not armed */
    nna_timer_cb cb;
    void        *arg;
};

typedef void (*nna_io_handler)(void *arg, int fd, int events);

/* A socket that is not the transport's (the Redis limiter's connection): its readiness
 * goes to `handler` instead of the loop's io_handler. Embedded in its owner; `slot` is the
 * backend's per-socket storage for nna_loop_io. */
typedef struct nna_io_side {
    int                  fd;
    nna_io_handler       handler;
    void                *arg;
    void                *slot;
    struct nna_io_side  *next;
} nna_io_side;

struct nna_loop {
    const nna_loop_ops *ops;
    void        *backend;
    nna_timer  **heap;
    size_t       len, cap;
    double       armed_at;   /* when the backend timer is set to fire; -1 = disarmed */
    nna_io_handler io_handler;
    void        *io_arg;
    int          keepalive;  /* last value told to the backend */
    int          closing;    /* shutting down: the backend is no longer touched */
    int          depth;      /* nesting of backend → core entries on the stack */
    void       (*release)(void *arg); /* deferred until depth returns to 0 */
    void        *release_arg;
    nna_io_side *sides;      /* sockets with their own handler (few) */
    double       seen_now;   /* the backend's now() when the loop last called in, and */
    double       seen_mono;  /* the monotonic clock then (0 = not yet) */
};

int    nna_loop_init(nna_loop *l, const nna_loop_ops *ops, void *backend);
/* Disarms everything and releases the heap; the backend is closed by the caller. */
void   nna_loop_fini(nna_loop *l);
double nna_loop_now(nna_loop *l);
/* The loop's clock brought up to date: a backend's now() is the time the loop last woke,
 * which is stale for work submitted after the program spent a while outside the loop
 * (setup code, a slow callback). Deadlines start from this, so they are never shortened. */
double nna_loop_now_fresh(nna_loop *l);
void   nna_loop_keepalive(nna_loop *l, int on);

void   nna_timer_init(nna_timer *t, nna_timer_cb cb, void *arg);
/* (Re)arms t to fire `after` seconds from now (clamped to ≥ 0). Returns 0 or -1 (ENOMEM). */
int    nna_timer_start(nna_loop *l, nna_timer *t, double after);
int    nna_timer_start_at(nna_loop *l, nna_timer *t, double at);
void   nna_timer_stop(nna_loop *l, nna_timer *t);
static inline int nna_timer_active(const nna_timer *t) { return t->slot != 0; }

int    nna_loop_io(nna_loop *l, int fd, int events, void **slot);
/* Routes s->fd's readiness to s->handler; remove before the fd closes. Watch it with
 * nna_loop_io(l, s->fd, events, &s->slot). */
void   nna_loop_side_add(nna_loop *l, nna_io_side *s);
void   nna_loop_side_remove(nna_loop *l, nna_io_side *s);

/* Calls release(arg) once no backend → core call is on the stack: now when called from
 * outside the loop, else when the outermost nna_loop_io_ready/nna_loop_timer_fired returns.
 * Lets a callback free the client that is running it. */
void   nna_loop_release_when_idle(nna_loop *l, void (*release)(void *arg), void *arg);
#endif
