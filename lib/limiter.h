/* The per-workspace limiter: admission (cap on requests in flight, fair class queues),
 * the 429 gate, pacing, the health gate and the retry budget. Internal. */
#ifndef NNA_LIMITER_H
#define NNA_LIMITER_H

#include "nna/workspace.h"
#include "op.h"

typedef struct nna_wsq {
    nna_op *head, *tail;
    size_t  len;
} nna_wsq;

/* A client starts or stops using the workspace (the workspace's timers run on the loop of
 * one of its clients; every client of a workspace shares one loop). */
int  nna_ws_attach(nna_workspace *ws, nna_client *c);
void nna_ws_detach(nna_workspace *ws, nna_client *c);
/* The clients using the workspace (borrowed). */
nna_client *const *nna_ws_clients(const nna_workspace *ws, size_t *n);

/* Queues op for sending (at the back of its class, or of its agent's queue for runs;
 * `retry` puts it at the front), then sends whatever the limits allow. May call
 * nna_op_send() before returning, or settle op at once when the 429 gate stays closed past
 * its deadline (NNA_ERATE_LIMITED). */
void nna_ws_enqueue(nna_workspace *ws, nna_op *op, int retry);
/* Takes a queued op out (cancel, deadline). No effect on an op that is not queued. */
void nna_ws_remove(nna_workspace *ws, nna_op *op);

/* An attempt of op ended (its slot is free): http_status (0 = none), cls, retry_after (s,
 * < 0 = none). Adapts the limits, then sends what they allow. */
void nna_ws_attempt_done(nna_workspace *ws, nna_op *op, long http_status,
                         nna_retry_class cls, double retry_after);
/* An attempt ended without an answer that says anything about the server (cancelled,
 * could not start): frees its slot, adapts nothing. `unsent`: nothing reached the server. */
void nna_ws_attempt_abandoned(nna_workspace *ws, nna_op *op, int unsent);

/* Between these two the limiter sends nothing and settles nothing (it only counts), so the
 * caller may finish handling an op without other ops' callbacks running under it; the
 * release catches up. Nestable. */
void nna_ws_hold(nna_workspace *ws);
void nna_ws_release(nna_workspace *ws);

/* A retry after server or transport trouble wants to go: reserves it from the workspace's
 * retry budget and returns how long it must wait for it (0 = at once). */
double nna_ws_retry_budget_wait(nna_workspace *ws);

/* Task ids that run creations of this workspace's clients own (never adopted twice). */
struct nna_idset *nna_ws_claimed(nna_workspace *ws);

/* Records counters and reports an event through the hook. */
void nna_ws_emit(nna_workspace *ws, nna_ws_event_kind kind, double value, long http_status,
                  const nna_op *op);
void nna_ws_count_failed(nna_workspace *ws);
void nna_ws_count_reconciled(nna_workspace *ws);

/* Test seam: what the limiter calls to send an op and to settle one it refuses itself
 * (defaults: nna_op_send and nna_op_reject). NULL restores the defaults. */
typedef struct nna_ws_io {
    void (*send)(nna_op *op);
    void (*reject)(nna_op *op, nna_status st, double retry_after);
} nna_ws_io;
void nna_ws_set_io(nna_workspace *ws, const nna_ws_io *io);
/* The pacer's current state, for tests and counters. */
const struct nna_pacer *nna_ws_pacer(const nna_workspace *ws);
#endif
