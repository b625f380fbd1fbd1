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

/* What recent replies say about the server's clock: the last few lower bounds of (server
 * clock − local wall clock), in seconds. Their median is the estimate, so one implausible
 * sample (a proxy's wrong Date, a clock step) does not move it. */
#define NNA_CLOCK_SAMPLES 5
typedef struct nna_clock_ref {
    double   lo[NNA_CLOCK_SAMPLES];
    unsigned n, next;
} nna_clock_ref;

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
    nna_composite  *composites;      /* walks, waits and watches */
    unsigned        composites_busy; /* of them, those with work pending */
    char           *key;             /* the API key, only to scrub it from error texts */
    nna_clock_ref   clock_date;      /* the server's clock as its Date headers tell it */
    nna_clock_ref   clock_created;   /* ... as the created_at of our own runs tells it */
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
/* Learns it from the created_at of a reply to one of our own writes: the clock the list
 * filters and created_at fields use, so it is preferred to the Date headers (a load
 * balancer's clock may disagree with the application's). */
void nna_client_clock_created(nna_client *c, double created_at, double sent, double received);
/* Never later than t0 minus this (s), whatever a clock estimate says: created_at has whole
 * seconds, so a write that left at t0 has created_at >= t0 - 1 on a server whose clock
 * does not lag ours. An estimate that the server is ahead (a proxy's Date) cannot push the
 * window past our own object. */
#define NNA_WINDOW_MARGIN 1.0
/* The earliest server-side creation time of a write whose first attempt left at local wall
 * time t0: t0 on the server's clock (estimated from our own created_at samples, else from
 * Date headers; minus 1 s of rounding), bounded to [t0 - reconcile_skew, t0 - margin]
 * where margin = min(NNA_WINDOW_MARGIN, reconcile_skew); with no estimate t0 minus the
 * skew. */
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
