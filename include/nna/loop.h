/* libnna — the event-loop seam.
 *
 * libnna never owns the host's loop (the c-ares model): it tells the host which sockets to
 * watch and when its single timer must fire, and the host calls back in. The libev and
 * libuv adapters (nna/ev.h, nna/uv.h) implement this seam; a program with another loop can
 * implement it too and create its client with nna_client_new_custom() (nna/client.h).
 *
 * Threading: every function here runs on the loop's thread only.
 */
#ifndef NNA_LOOP_H
#define NNA_LOOP_H

#ifdef __cplusplus
extern "C" {
#endif

#define NNA_IO_READ  1
#define NNA_IO_WRITE 2

typedef struct nna_loop nna_loop;

typedef struct nna_loop_ops {
    /* Called once, before any other op, with the core object the backend must pass to
     * nna_loop_io_ready() and nna_loop_timer_fired(). */
    void (*attach)(void *backend, nna_loop *core);

    /* Watch `fd` for `events` (NNA_IO_READ | NNA_IO_WRITE), replacing any earlier interest;
     * events == 0 stops watching it. `*slot` is per-socket storage for the backend: NULL the
     * first time a socket is seen; the backend may store its watcher there and must free it
     * and reset it to NULL when events == 0. When the socket is ready, the backend calls
     * nna_loop_io_ready(). Returns 0, or -1 when the watcher could not be set up. */
    int (*io)(void *backend, int fd, int events, void **slot);

    /* Arm the one timer to fire `seconds` from now (0 = on the next loop iteration);
     * a negative value disarms it. On expiry the backend calls nna_loop_timer_fired(). */
    void (*timer)(void *backend, double seconds);

    /* The loop's monotonic clock, in seconds. */
    double (*now)(void *backend);

    /* Whether the library has work pending: while `on`, the host loop should keep running;
     * while off, the library's watchers must not keep it alive (idle keep-alive sockets). */
    void (*keepalive)(void *backend, int on);

    /* Run the loop for one blocking iteration. Only for private loops the library created
     * (nna_future_wait); a backend on a borrowed loop returns -1 and never runs it. */
    int (*run_once)(void *backend);

    /* Stop every watcher and timer and release the backend. `done(arg)` is called once no
     * handle of the library remains on the loop (immediately for libev; from the last close
     * callback for libuv). After `done` the backend pointer is invalid. */
    void (*close)(void *backend, void (*done)(void *arg), void *arg);
} nna_loop_ops;

/* Called by a backend when `fd` is ready for `events` (NNA_IO_READ | NNA_IO_WRITE). */
void nna_loop_io_ready(nna_loop *loop, int fd, int events);

/* Called by a backend when the timer armed through ops->timer expires. */
void nna_loop_timer_fired(nna_loop *loop);

#ifdef __cplusplus
}
#endif
#endif /* NNA_LOOP_H */
