/* Futures, library side. Internal. */
#ifndef NNA_FUTURE_INTERNAL_H
#define NNA_FUTURE_INTERNAL_H

#include <cjson/cJSON.h>
#include "nna/future.h"

typedef struct nna_client nna_client;
typedef void (*nna_cancel_fn)(void *ctx);
typedef void (*nna_free_fn)(void *p);

typedef struct nna_observer {
    void (*fn)(nna_future *f, void *arg);
    void *arg;
    struct nna_observer *next;
} nna_observer;

struct nna_future {
    unsigned     refs;
    unsigned     settled : 1;
    unsigned     queued : 1;        /* in the client's deferred-callback queue */
    unsigned     reconciled : 1;
    unsigned     cancelling : 1;
    nna_status   status;
    nna_client  *client;            /* NULL once the client is gone */
    cJSON       *json;
    void        *result;
    nna_free_fn  free_result;
    long         http_status;
    char        *error;
    unsigned     attempts;
    double       retry_after;
    nna_future_cb cb;
    void        *user_data;
    nna_cancel_fn cancel;           /* how to cancel the work behind it, until settled */
    void        *cancel_ctx;
    nna_observer *observers;        /* internal listeners (nna_future_all, composites) */
    nna_future  *next_deferred;
    nna_future  *oprev, *onext;     /* the client's settled futures nobody listens to yet */
    nna_future **members;           /* nna_future_all */
    size_t       nmembers, pending;
};

/* A new unsettled future with two references: the caller's and the library's (dropped after
 * the callback has run). */
nna_future *nna_future_new(nna_client *c);

/* Settles f once (later calls are ignored): takes ownership of json and result, copies
 * error. Runs internal observers now; queues the user callback for the next loop turn. */
void nna_future_settle(nna_future *f, nna_status st, cJSON *json, void *result,
                       nna_free_fn free_result, const char *error);
/* Shorthand for a failure without a body. */
void nna_future_fail(nna_future *f, nna_status st, const char *error);

void nna_future_set_cancel(nna_future *f, nna_cancel_fn fn, void *ctx);
int  nna_future_observe(nna_future *f, void (*fn)(nna_future *, void *), void *arg);

/* Runs the queued user callbacks of a client (called from its deferred timer). */
void nna_future_run_deferred(nna_future **head);
/* Client teardown: settled futures without a callback forget the client. */
void nna_future_orphans_release(nna_future **orphans);
#endif
