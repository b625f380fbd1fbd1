/* Reference-counted futures that settle exactly once.
 *
 * A future starts with two references: the caller's and the library's. Settling records the
 * outcome, tells internal observers (nna_future_all) at once and queues the user callback
 * on the client's deferred queue, so the callback runs from the loop on the next turn and
 * never inside the call that caused it. The library's reference is dropped after the
 * callback returns (or at settle time when there is no callback yet). */
#include <stdlib.h>
#include <string.h>
#include "future_internal.h"
#include "jsondoc.h"
#include "client_internal.h"

nna_future *nna_future_new(nna_client *c)
{
    nna_future *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->refs = 2;
    f->client = c;
    f->status = NNA_EBUSY;
    f->retry_after = -1;
    return f;
}

nna_future *nna_future_ref(nna_future *f)
{
    if (f) f->refs++;
    return f;
}

static void orphan_link(nna_future *f)
{
    nna_future **head = &f->client->orphans;
    f->oprev = NULL;
    f->onext = *head;
    if (*head) (*head)->oprev = f;
    *head = f;
}

static void orphan_unlink(nna_future *f)
{
    if (!f->client) return;
    if (f->oprev) f->oprev->onext = f->onext;
    else if (f->client->orphans == f) f->client->orphans = f->onext;
    else return; /* not linked */
    if (f->onext) f->onext->oprev = f->oprev;
    f->oprev = f->onext = NULL;
}

void nna_future_orphans_release(nna_future **orphans)
{
    while (*orphans) {
        nna_future *f = *orphans;
        *orphans = f->onext;
        f->oprev = f->onext = NULL;
        f->client = NULL;
    }
}

static void destroy(nna_future *f)
{
    if (f->settled && !f->cb) orphan_unlink(f);
    for (size_t i = 0; i < f->nmembers; i++) nna_future_unref(f->members[i]);
    free(f->members);
    while (f->observers) {
        nna_observer *o = f->observers;
        f->observers = o->next;
        free(o);
    }
    if (f->free_result && f->result) f->free_result(f->result);
    cJSON_Delete(f->json);
    free(f->error);
    free(f);
}

void nna_future_unref(nna_future *f)
{
    if (f && --f->refs == 0) destroy(f);
}

int nna_future_observe(nna_future *f, void (*fn)(nna_future *, void *), void *arg)
{
    nna_observer *o = malloc(sizeof *o);
    if (!o) return -1;
    o->fn = fn;
    o->arg = arg;
    o->next = f->observers;
    f->observers = o;
    return 0;
}

void nna_future_set_cancel(nna_future *f, nna_cancel_fn fn, void *ctx)
{
    f->cancel = fn;
    f->cancel_ctx = ctx;
}

void nna_future_settle(nna_future *f, nna_status st, cJSON *json, void *result,
                       nna_free_fn free_result, const char *error)
{
    if (f->settled) {
        cJSON_Delete(json);
        if (free_result && result) free_result(result);
        return;
    }
    f->settled = 1;
    f->status = st;
    f->json = json;
    f->result = result;
    f->free_result = free_result;
    if (error) f->error = strdup(error);
    f->cancel = NULL;
    f->cancel_ctx = NULL;
    nna_future_ref(f); /* observers may drop the last other reference */
    while (f->observers) {
        nna_observer *o = f->observers;
        f->observers = o->next;
        o->fn(f, o->arg);
        free(o);
    }
    if (f->cb && f->client) {
        nna_client_defer(f->client, f); /* keeps the library's reference until it ran */
    } else {
        /* Nobody to call yet: remember the client so that a later nna_future_then() can
         * still answer from the loop; the client forgets us if it goes first. */
        if (f->client) orphan_link(f);
        nna_future_unref(f); /* the library's reference */
    }
    nna_future_unref(f);
}

void nna_future_fail(nna_future *f, nna_status st, const char *error)
{
    nna_future_settle(f, st, NULL, NULL, NULL, error ? error : nna_strerror(st));
}

nna_status nna_future_then(nna_future *f, nna_future_cb cb, void *user_data)
{
    if (!f || !cb) return NNA_EINVAL;
    if (f->cb) return NNA_EBUSY;
    f->cb = cb;
    f->user_data = user_data;
    if (f->settled) {
        /* Settled before anyone listened: the library's reference is gone, take a new one
         * for the deferred call. */
        if (!f->client) return NNA_ESHUTDOWN;
        orphan_unlink(f);
        nna_future_ref(f);
        nna_client_defer(f->client, f);
    }
    return NNA_OK;
}

void nna_future_run_deferred(nna_future **head)
{
    nna_future *f = *head;
    *head = f->next_deferred;
    f->next_deferred = NULL;
    f->queued = 0;
    f->client = NULL; /* settled: the client is no longer needed by this future */
    if (f->cb) f->cb(f, f->user_data);
    nna_future_unref(f);
}

nna_status nna_future_cancel(nna_future *f)
{
    if (!f) return NNA_EINVAL;
    if (f->settled) return NNA_EBUSY;
    if (f->nmembers) {
        nna_future_ref(f);
        for (size_t i = 0; i < f->nmembers; i++) nna_future_cancel(f->members[i]);
        if (!f->settled) nna_future_fail(f, NNA_ECANCELLED, NULL);
        nna_future_unref(f);
        return NNA_OK;
    }
    nna_cancel_fn fn = f->cancel;
    void *ctx = f->cancel_ctx;
    f->cancel = NULL;
    nna_future_ref(f); /* settling may drop every other reference */
    if (fn) fn(ctx);   /* stops the work and settles f with NNA_ECANCELLED */
    if (!f->settled) nna_future_fail(f, NNA_ECANCELLED, NULL);
    nna_future_unref(f);
    return NNA_OK;
}

nna_status nna_future_wait(nna_future *f)
{
    if (!f) return NNA_EINVAL;
    while (!f->settled || f->queued) {
        nna_client *c = f->client;
        if (!c || nna_client_run_once(c) != 0) return f->settled ? f->status : NNA_EBUSY;
    }
    return f->status;
}

int nna_future_done(const nna_future *f) { return f && f->settled; }
nna_status nna_future_status(const nna_future *f) { return f && f->settled ? f->status : NNA_EBUSY; }
const cJSON *nna_future_json(const nna_future *f) { return f ? f->json : NULL; }

const char *nna_future_json_text(const nna_future *f, size_t *len)
{
    const char *t = nna_json_doc_text(f ? f->json : NULL, len);
    if (!t && len) *len = 0;
    return t;
}

cJSON *nna_future_take_json(nna_future *f)
{
    if (!f || !f->settled) return NULL;
    cJSON *j = f->json;
    if (f->result && j) return NULL; /* the typed result borrows from it: keep it */
    f->json = NULL;
    return j;
}

const void *nna_future_result(const nna_future *f)
{
    return f && f->settled ? f->result : NULL;
}

long nna_future_http_status(const nna_future *f) { return f ? f->http_status : 0; }
const char *nna_future_error(const nna_future *f) { return f ? f->error : NULL; }
unsigned nna_future_attempts(const nna_future *f) { return f ? f->attempts : 0; }
double nna_future_retry_after(const nna_future *f) { return f ? f->retry_after : -1; }
int nna_future_reconciled(const nna_future *f) { return f ? f->reconciled : 0; }

/* ---- nna_future_all ----------------------------------------------------------------- */

static void member_settled(nna_future *m, void *arg)
{
    (void)m;
    nna_future *all = arg;
    if (--all->pending > 0 || all->settled) return;
    nna_status st = NNA_OK;
    for (size_t i = 0; i < all->nmembers; i++) {
        if (all->members[i]->status != NNA_OK) {
            st = all->members[i]->status;
            break;
        }
    }
    nna_future_settle(all, st, NULL, NULL, NULL, st == NNA_OK ? NULL : nna_strerror(st));
}

nna_future *nna_future_all(nna_future *const *fs, size_t n)
{
    nna_client *c = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!fs[i]) return NULL;
        if (!fs[i]->settled) {
            if (c && fs[i]->client != c) return NULL;
            c = fs[i]->client;
        }
    }
    if (!c) { /* every member settled (or none): still answer from a loop */
        for (size_t i = 0; i < n && !c; i++) c = fs[i]->client;
    }
    nna_future *all = nna_future_new(c);
    if (!all) return NULL;
    all->members = n ? calloc(n, sizeof *all->members) : NULL;
    if (n && !all->members) { free(all); return NULL; }
    all->nmembers = n;
    all->pending = n + 1; /* +1 until every observer is in place */
    for (size_t i = 0; i < n; i++) {
        all->members[i] = nna_future_ref(fs[i]);
        if (fs[i]->settled) all->pending--;
        else if (nna_future_observe(fs[i], member_settled, all) != 0) all->pending--;
    }
    member_settled(NULL, all);
    return all;
}

nna_future *nna_future_member(const nna_future *all, size_t i)
{
    return all && i < all->nmembers ? all->members[i] : NULL;
}
