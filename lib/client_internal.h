/* The client, library side. Internal. */
#ifndef NNA_CLIENT_INTERNAL_H
#define NNA_CLIENT_INTERNAL_H

#include "nna/client.h"
#include "loop_core.h"
#include "transport.h"
#include "retry.h"
#include "rng.h"
#include "future_internal.h"
#include "reply_limits.h"

typedef struct nna_op nna_op;
typedef struct nna_reconciler nna_reconciler;

/* A composite operation (walk, wait, watch) that can sit between requests on a timer of
 * its own. The client ends every registered one at shutdown (a cancelling shutdown at once,
 * any other at teardown), and keeps the loop alive and a draining shutdown waiting while
 * one is busy (lib/composite.c). */
typedef struct nna_composite nna_composite;
struct nna_composite {
    void (*abort)(nna_composite *x);  /* shutdown: settle with NNA_ESHUTDOWN, stop every
                                         timer and request, and untrack */
    nna_composite *prev, *next;
    int tracked, busy;
};
void nna_composite_track(nna_client *c, nna_composite *x);
/* busy: work is pending (keeps the loop alive, delays a draining shutdown's end). */
void nna_composite_busy(nna_client *c, nna_composite *x, int busy);
/* Idempotent; lets a draining shutdown finish once the last busy one leaves. */
void nna_composite_untrack(nna_client *c, nna_composite *x);

struct nna_client {
    nna_loop        loop;
    nna_transport  *tp;
    nna_workspace  *ws;
    char           *api_base;        /* base URL + "/api/v1", no trailing slash */
    double          request_timeout;
    double          deadline;        /* default per kind: reads and writes */
    double          run_deadline;    /* run creation */
    nna_retry_policy policy;
    int             reconcile_runs;
    double          reconcile_skew, reconcile_settle;
    nna_limits      limits;          /* limits on what the server controls (reply_limits.h) */
    nna_trace_cb    trace;
    void           *trace_ud;
    nna_rng         rng;
    /* user callbacks waiting for the next loop turn */
    nna_future     *dq_head, *dq_tail;
    nna_future     *orphans;         /* settled before a callback was set */
    nna_timer       dq_timer;
    /* live operations */
    nna_op         *ops;
    size_t          nops;
    nna_reconciler *reconcilers;     /* per agent, run-creation checks in progress */
    nna_composite  *composites;      /* walks, waits and watches */
    unsigned        composites_busy; /* of them, those with work pending */
    char           *key;             /* the API key, only to scrub it from error texts */
    int             clock_known;     /* a Date header has been seen */
    double          clock_lo;        /* lower bound of server clock − local wall clock (s) */
    char            last_date[40];   /* the last Date header parsed, and its value */
    double          last_date_value;
    int             last_date_ok;
    /* shutdown */
    int             shutting;
    nna_shutdown_mode shutdown_mode;
    nna_shutdown_cb shutdown_cb;
    void           *shutdown_ud;
    int             private_loop;
    int             aborting;        /* shutdown is cancelling the ops */
    int             teardown_ready;  /* private loop: nna_client_free may tear down now */
};

/* Queues f's user callback for the next loop turn. */
void nna_client_defer(nna_client *c, nna_future *f);
void nna_client_update_keepalive(nna_client *c);
/* Learns the server's clock from a response's Date header (sent/received: local wall
 * clock when the request left and the reply arrived). */
void nna_client_clock_sample(nna_client *c, double date, double sent, double received);
/* The earliest server-side creation time a run whose first attempt left at local wall time
 * t0 can have: t0 on the server's clock (minus 1 s of Date-header rounding) once the offset
 * is known, else t0 minus the configured skew margin. */
double nna_client_window_start(const nna_client *c, double t0);
/* A future that fails on the next loop turn (validation errors: nothing was sent). */
nna_future *nna_client_failed(nna_client *c, nna_status st, const char *error);
/* Called when an operation ends or the deferred queue empties: finishes a shutdown. */
void nna_client_maybe_finish(nna_client *c);
/* Marks the client as owning its loop (the libev/libuv bindings with a NULL loop). */
void nna_client_set_private_loop(nna_client *c);
/* Runs the private loop once; -1 when the loop is borrowed. */
int  nna_client_run_once(nna_client *c);
#endif
