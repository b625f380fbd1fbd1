/* The per-workspace limiter: admission (cap on requests in flight, fair class queues),
 * the 429 gate and the adaptive cap. Internal. */
#ifndef NNA_LIMITER_H
#define NNA_LIMITER_H

#include "nna/workspace.h"
#include "op.h"

typedef struct nna_wsq {
    nna_op *head, *tail;
    size_t  len;
} nna_wsq;

/* A client starts or stops using the workspace (the workspace's timers run on the loop of
 * one of its clients). */
int  nna_ws_attach(nna_workspace *ws, nna_client *c);
void nna_ws_detach(nna_workspace *ws, nna_client *c);

/* Queues op for sending (at the back of its class; `retry` puts it at the front), then
 * sends whatever the limits allow. May call nna_op_send() before returning. */
void nna_ws_enqueue(nna_workspace *ws, nna_op *op, int retry);
/* Takes a queued op out (cancel, deadline). */
void nna_ws_remove(nna_workspace *ws, nna_op *op);

/* An attempt of op ended (its slot is free): http_status (0 = none), cls, retry_after (s,
 * < 0 = none). Adapts the limits, then sends what they allow. */
void nna_ws_attempt_done(nna_workspace *ws, nna_op *op, long http_status,
                         nna_retry_class cls, double retry_after);
/* Records counters and reports an event through the hook. */
void nna_ws_emit(nna_workspace *ws, nna_ws_event_kind kind, double value, long http_status,
                  const nna_op *op);
void nna_ws_count_failed(nna_workspace *ws);
void nna_ws_count_reconciled(nna_workspace *ws);
#endif
