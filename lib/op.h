/* One operation's life in the request pipeline: admit (limiter) → send → classify → settle
 * or schedule a retry (or, for run creation in doubt, reconcile first). Internal. */
#ifndef NNA_OP_H
#define NNA_OP_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "client_internal.h"

typedef enum nna_op_kind {
    NNA_OP_IDEMPOTENT,     /* GET, PATCH, cancel: retried freely */
    NNA_OP_UNSAFE,         /* POST that must not be repeated blindly: in doubt → looked for
                              (spec.look), else unknown */
    NNA_OP_RUN             /* run creation: the same, with the run's own deadline */
} nna_op_kind;

typedef enum nna_op_class {   /* limiter queue classes, served in this order */
    NNA_CLASS_POLL = 0,        /* status polls, reconciliation checks */
    NNA_CLASS_NORMAL = 1,      /* other reads and writes */
    NNA_CLASS_RUN = 2,         /* new run creations */
    NNA_CLASS_COUNT
} nna_op_class;

typedef enum nna_op_state {
    NNA_OPS_NEW, NNA_OPS_QUEUED, NNA_OPS_INFLIGHT, NNA_OPS_BACKOFF, NNA_OPS_RECONCILE,
    NNA_OPS_DONE
} nna_op_state;

/* Turns a 2xx body into the typed result. Returns NNA_OK or NNA_EPROTOCOL. `json` stays
 * owned by the op (the future takes it); the result may borrow from it. */
typedef nna_status (*nna_op_parse_fn)(cJSON *json, void **result, nna_free_fn *free_result);

struct nna_op {
    nna_client     *c;
    nna_future     *f;
    nna_op         *next, *prev;        /* the client's list of live ops */
    nna_op         *qnext, *qprev;      /* limiter queue links */
    struct nna_wsq *queue;              /* the limiter queue it sits in, or NULL */
    char           *url;                /* full URL, owned */
    const char     *path;               /* points into url: path and query after the host */
    char           *body;               /* owned, or NULL */
    size_t          body_len;
    nna_form_part  *parts;              /* owned copies (multipart), or NULL */
    size_t          nparts;
    char            method[8];
    unsigned char   kind, klass, state;
    unsigned char   sent_before;        /* a previous attempt may have reached the server */
    unsigned char   probe;              /* this attempt is the health gate's probe */
    unsigned char   was_probe;          /* the last attempt was a failed probe: requeue at
                                           the back so the next probe is another op */
    unsigned char   last_cls;           /* nna_retry_class of the last attempt */
    unsigned char   resend;             /* reconciling: re-send when nothing is found (else
                                           settle with final_status) */
    nna_status      final_status;       /* reconciling with no retry left: status if not found */
    char           *final_error;        /* ... and its text (owned) */
    nna_retry_state rs;
    unsigned        attempts;           /* requests handed to curl */
    double          deadline;           /* absolute loop time, or INFINITY */
    double          t0_wall;            /* run creation: wall clock before the first attempt */
    double          window_start;       /* run creation: earliest server created_at that can
                                           be this run's task (see nna_client_window_start) */
    double          sent_wall;          /* wall clock when the current attempt left */
    double          retry_at;           /* reconciling: the back-off before a re-send (s) */
    nna_timer       timer;              /* deadline while queued or reconciling; back-off */
    nna_xfer       *xfer;
    nna_op_parse_fn parse;
    char            group[40];          /* fairness key (agent id) for run creations */
    char           *match_query;        /* run creation: query text for reconciliation */
    nna_op         *rnext;              /* reconciler batch link */
    nna_reconciler *blocking;           /* a reconciliation waits for this attempt's reply */
    double          sent_at;            /* loop time the current attempt left */
    long            last_http;          /* HTTP status of the last attempt, 0 = none */
    uint64_t        pace_id;            /* the limiter's id of the current attempt */
    nna_op         *fnext;              /* limiter: ops it is about to fail */
    size_t          max_body;           /* reply body cap (bytes) */
    const struct nna_look *look;        /* in doubt: how to look for its effect (reconcile.h);
                                           NULL = end with NNA_EOUTCOME_UNKNOWN */
};

typedef struct nna_op_spec {
    const char     *method;
    const char     *path;           /* relative to /api/v1, starts with '/' */
    const char     *query;          /* encoded, or NULL */
    const char     *body;           /* JSON text or NULL */
    const nna_form_part *parts;
    size_t          nparts;
    nna_op_kind     kind;
    nna_op_class    klass;
    nna_op_parse_fn parse;          /* NULL: the result is the cJSON body itself */
    const char     *group;          /* agent id for fairness, or NULL */
    const char     *match_query;    /* run creation: the query, for reconciliation */
    double          deadline;       /* seconds; < 0 = the client's default */
    size_t          max_body;       /* reply body cap; 0 = by the kind of result (parse) */
    const struct nna_look *look;    /* non-idempotent write: how to look for it when in
                                       doubt (match_query is then kept for it) */
} nna_op_spec;

/* Submits an operation. Always returns a future (NULL only when out of memory); bad input
 * fails the future on the next loop turn with nothing sent. */
nna_future *nna_op_submit(nna_client *c, const nna_op_spec *spec);

/* Called by the limiter when the op may send now. */
void nna_op_send(nna_op *op);
/* Settles and frees an op that is no longer queued, waiting or in flight. */
void nna_op_finish(nna_op *op, nna_status st, cJSON *json, const char *error);
/* Shutdown: settle every live op of the client with NNA_ESHUTDOWN. */
void nna_ops_abort_all(nna_client *c);
/* Settles an op the limiter refuses (queued, or about to be): NNA_ERATE_LIMITED when the
 * 429 pause outlasts its deadline; retry_after (s, < 0 = none) is reported by the future. */
void nna_op_reject(nna_op *op, nna_status st, double retry_after);
/* Schedules the next attempt `delay` seconds from now, stretched to the retry budget's
 * pace when the last attempt met server or transport trouble, within the deadline
 * (reconcile.c calls it when no task was found for a run). */
void nna_op_retry_later(nna_op *op, double delay);
#endif
