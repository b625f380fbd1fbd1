/* Run creation is never retried blindly: a POST /agents/{id}/run whose outcome is in doubt
 * (5xx, timeout after sending, connection lost before the reply) is first looked for with
 * GET /tasks?agent_id=&created_after=. Checks for many in-doubt runs of one agent are
 * coalesced into one walk of the list. Internal. */
#ifndef NNA_RECONCILE_H
#define NNA_RECONCILE_H

#include <cjson/cJSON.h>
#include "op.h"

/* op (state NNA_OPS_RECONCILE) joins its agent's next check; `backoff` is the delay before
 * a re-send if no task is found. */
void nna_reconcile_start(nna_op *op, double backoff);
/* op leaves any check it waits for (cancel, shutdown). Idempotent. */
void nna_reconcile_forget(nna_op *op);
/* An attempt a check was waiting for has answered (after its outcome was recorded: a
 * success must have claimed its task first). The second form takes the reconciler op was
 * blocking, for callers that had to detach it earlier. */
void nna_reconcile_unblock(nna_op *op);
void nna_reconcile_unblocked(nna_reconciler *r);
/* A run succeeded: its task belongs to us and may never be adopted by another op (claims
 * are shared by every client of the workspace). */
void nna_reconcile_claim(nna_client *c, const cJSON *run_response);
/* Client teardown. */
void nna_reconcile_free_all(nna_client *c);

/* The small set of claimed task ids. */
typedef struct nna_idset nna_idset;
nna_idset *nna_idset_new(void);
void nna_idset_free(nna_idset *s);
int  nna_idset_add(nna_idset *s, const char *id);   /* 1 added, 0 present, -1 ENOMEM/NULL */
int  nna_idset_has(const nna_idset *s, const char *id);
#endif
