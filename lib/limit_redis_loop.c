/* hiredis on the library's loop seam.
 *
 * hiredis (0.14 has no timer hook) asks for read and write interest through five
 * callbacks; each becomes an nna_loop_io call on the connection's socket, whose readiness
 * the loop routes back here (nna_io_side) instead of to the transport. */
#include <stdlib.h>
#include "limit_redis.h"

typedef struct rwatch {
    redisAsyncContext *ac;
    nna_loop          *loop;
    nna_io_side        side;
    int                events;
    int                dispatching; /* in rw_ready: cleanup only marks it dead */
    int                dead;
} rwatch;

static void rw_update(rwatch *w, int events)
{
    if (events == w->events) return;
    w->events = events;
    /* a failure leaves the socket unwatched: the caller's command timeout drops it */
    (void)nna_loop_io(w->loop, w->side.fd, events, &w->side.slot);
}

static void rw_add_read(void *p)  { rwatch *w = p; rw_update(w, w->events | NNA_IO_READ); }
static void rw_del_read(void *p)  { rwatch *w = p; rw_update(w, w->events & ~NNA_IO_READ); }
static void rw_add_write(void *p) { rwatch *w = p; rw_update(w, w->events | NNA_IO_WRITE); }
static void rw_del_write(void *p) { rwatch *w = p; rw_update(w, w->events & ~NNA_IO_WRITE); }

static void rw_cleanup(void *p)
{
    rwatch *w = p;
    rw_update(w, 0);
    nna_loop_side_remove(w->loop, &w->side);
    if (w->dispatching) w->dead = 1;
    else free(w);
}

/* Reading may end in hiredis freeing the context (and this watcher through cleanup). */
static void rw_ready(void *arg, int fd, int events)
{
    (void)fd;
    rwatch *w = arg;
    w->dispatching = 1;
    if (events & NNA_IO_READ) redisAsyncHandleRead(w->ac);
    if (!w->dead && (events & NNA_IO_WRITE)) redisAsyncHandleWrite(w->ac);
    w->dispatching = 0;
    if (w->dead) free(w);
}

int nna_redis_loop_attach(redisAsyncContext *ac, nna_loop *loop)
{
    rwatch *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->ac = ac;
    w->loop = loop;
    w->side.fd = ac->c.fd;
    w->side.handler = rw_ready;
    w->side.arg = w;
    nna_loop_side_add(loop, &w->side);
    ac->ev.data = w;
    ac->ev.addRead = rw_add_read;
    ac->ev.delRead = rw_del_read;
    ac->ev.addWrite = rw_add_write;
    ac->ev.delWrite = rw_del_write;
    ac->ev.cleanup = rw_cleanup;
    return 0;
}
