/* libnna — futures.
 *
 * Every operation returns an nna_future: a reference-counted handle that settles exactly once
 * with a status (success, error, cancel or shutdown) and, on success, a result.
 *
 * Ownership: a function that returns a future gives the caller one reference; release it
 * with nna_future_unref() when done (releasing it early is fine: the operation still runs
 * and its callback still fires). The library keeps its own reference until the callback
 * has returned.
 *
 * Callbacks run on the loop's thread, from the loop, never from inside the call that
 * submitted the work or registered them. Inside a callback any library function may be
 * called, including nna_future_unref() on this future, cancelling others and
 * nna_client_free(). Results and texts are borrowed: valid until the last reference to the
 * future is released, unless taken with nna_future_take_json().
 *
 * Threading: a future belongs to its client's loop thread; no function here is
 * thread-safe.
 */
#ifndef NNA_FUTURE_H
#define NNA_FUTURE_H

#include <stddef.h>
#include "nna/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;
typedef struct nna_future nna_future;
typedef void (*nna_future_cb)(nna_future *f, void *user_data);

nna_future *nna_future_ref(nna_future *f);
void        nna_future_unref(nna_future *f);

/* Registers the one completion callback. If the future has already settled, the callback
 * runs on the next loop iteration. Returns NNA_EBUSY when a callback is already set. */
nna_status nna_future_then(nna_future *f, nna_future_cb cb, void *user_data);

/* Cancels the operation in whatever state it is (queued, waiting out a back-off or a pause,
 * reconciling, in flight): nothing more is sent for it after this returns, and the callback
 * fires on the next loop iteration with NNA_ECANCELLED. No effect on a settled future.
 * Cancelling the future of nna_future_all() cancels its members. Returns NNA_OK, or
 * NNA_EBUSY when already settled. */
nna_status nna_future_cancel(nna_future *f);

/* Blocks until settled by running the client's private loop (clients created with a NULL
 * loop); for simple programs. On a client that borrows the host's loop it returns NNA_EBUSY
 * at once (the library never runs a borrowed loop). Returns the future's status. */
nna_status nna_future_wait(nna_future *f);

/* 1 once settled. */
int nna_future_done(const nna_future *f);

/* The final status (NNA_EBUSY while not settled). */
nna_status nna_future_status(const nna_future *f);

/* The parsed JSON body of the final response (success or the error envelope), or NULL.
 * Borrowed. The root of a 2xx body keeps the body's bytes (nna_future_json_text) in its
 * `string` member, the member-name slot cJSON leaves unused on a root: leave it alone
 * (cJSON_Delete frees it, cJSON_Duplicate copies it, adding the root to an object
 * replaces it). */
const struct cJSON *nna_future_json(const nna_future *f);

/* The bytes of a successful (2xx) response's JSON body exactly as the server sent them
 * (surrounding whitespace trimmed, NUL-terminated, *len bytes), or NULL when there is none
 * (no body, an error reply, a result not read from a reply, or the JSON taken). Borrowed
 * like nna_future_json(). Pass server data on from here: cJSON re-prints numbers (an
 * integer beyond 2^53 or a 17-digit decimal comes out changed). `len` may be NULL. */
const char *nna_future_json_text(const nna_future *f, size_t *len);

/* Transfers ownership of the JSON body to the caller (free with cJSON_Delete); typed
 * results derived from it stay valid. NULL when there is none or it was already taken. */
struct cJSON *nna_future_take_json(nna_future *f);

/* The typed result of the operation (its type is named by the call that made the future,
 * e.g. nna_task for nna_tasks_get), or NULL when there is none: always set on NNA_OK, and
 * also on the task-outcome statuses of a wait (NNA_ETASK_FAILED, NNA_ETASK_STOPPED,
 * NNA_EINPUT_NEEDED, NNA_EREVIEW). Borrowed. */
const void *nna_future_result(const nna_future *f);

/* Details of how the operation ended. */
long        nna_future_http_status(const nna_future *f); /* last HTTP status, 0 if none */
const char *nna_future_error(const nna_future *f);       /* server's "error" text, a
                                                            generic text, or NULL on success;
                                                            never contains the API key */
unsigned    nna_future_attempts(const nna_future *f);    /* requests tried (refused connections count) */
double      nna_future_retry_after(const nna_future *f); /* last Retry-After seen (s), -1 if none */
int         nna_future_reconciled(const nna_future *f);  /* 1: the result was found by
                                                            reconciliation, not from a reply */

/* A future that settles when every member has settled: NNA_OK when all succeeded, else the
 * status of the first member (in array order) that failed. Takes its own references to the
 * members; `fs` is copied. The members keep their own callbacks. n == 0 settles at once (on
 * the next loop iteration) with NNA_OK. Returns NULL only when out of memory or when the
 * members belong to different clients. */
nna_future *nna_future_all(nna_future *const *fs, size_t n);

/* Member i of an nna_future_all() future (borrowed), or NULL. */
nna_future *nna_future_member(const nna_future *all, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* NNA_FUTURE_H */
