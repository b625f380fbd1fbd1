/* A non-idempotent write whose outcome is in doubt (5xx, timeout after sending, connection
 * lost before the reply) is never re-sent blindly: its effect is looked for first, adopted
 * when found, re-sent only when the look proves it absent. Run creation looks through
 * GET /tasks?agent_id=&created_after=, send-message through GET /tasks/{id}/messages,
 * publish through GET /agents/{id}/versions, agent creation through GET /agents?q=<name>.
 * Looks for many writes in doubt with the same target (agent, task, name) are coalesced into
 * one walk, per workspace. Internal. */
#ifndef NNA_RECONCILE_H
#define NNA_RECONCILE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "op.h"

/* ---- one kind of write: how to look for its effect ---------------------------------- */

/* Filled by nna_look.request: the look's GET (path relative to /api/v1, filters as key,
 * value pairs; the walk adds cursor and limit). */
typedef struct nna_look_req {
    char        path[128];
    const char *kv[8];        /* NULL-terminated */
    int         limit;        /* send limit=100 (the list is documented as paginated) */
} nna_look_req;

typedef struct nna_look {
    const char *what;          /* "run", "message", ... (error texts) */
    /* The id field of a success reply: that object is ours and never adopted by another
     * write; and whether the reply's created_at tells the server's clock. */
    const char *claim_field;
    int         clock_from_reply;
    /* The id field of a listed item. */
    const char *item_id;
    int         oldest_first;  /* the list is oldest first (match from its end) */
    int         newest_first_unfiltered; /* newest first without a created_after filter:
                                            stop walking at the first item before the window */
    /* The target writes share a look by (an agent id, a task id, a name). */
    const char *(*key)(const nna_op *op);
    /* The look's request for target `key`; `after` is the window start as ISO-8601. */
    void (*request)(const char *key, const char *after, nna_look_req *req);
    /* 1: item may be op's effect; 0: it is not; -1: it could be, but lacks the facts to
     * tell (op then ends with NNA_EOUTCOME_UNKNOWN unless another item fits). The common
     * checks (unclaimed id, created_at in op's window) are done before. */
    int (*fits)(const cJSON *item, const nna_op *op);
    int needs_created_at;      /* an item without created_at: -1 (else 0) */
    /* What op settles with when it adopts item: the object its success reply would have
     * been (parsed by op's own parser). Return NULL and write a path to fetch that object
     * with a GET instead (then the item is the fallback if the fetch fails). */
    cJSON *(*adopt)(const cJSON *item, const nna_op *op, char *fetch, size_t fetch_len);
} nna_look;

extern const nna_look nna_look_run;      /* run.c */
extern const nna_look nna_look_message;  /* messages.c */
extern const nna_look nna_look_publish;  /* agents.c */
extern const nna_look nna_look_create;   /* agents.c */

/* The run look's title rule: title may be the query, cut (and an ellipsis added). */
int nna_look_title_consistent(const char *title, const char *query);
/* The same text up to case and runs of white space (the message look's content rule). */
int nna_look_text_equal(const char *a, const char *b);

/* ---- the reconciler ----------------------------------------------------------------- */

/* op (state NNA_OPS_RECONCILE, op->look set) joins its target's next look; `backoff` is
 * the delay before a re-send if nothing is found. */
void nna_reconcile_start(nna_op *op, double backoff);
/* op leaves any look it waits for (cancel, shutdown, deadline). Idempotent. */
void nna_reconcile_forget(nna_op *op);
/* An attempt a look was waiting for has answered (after its outcome was recorded: a
 * success must have claimed its object first). The second form takes the reconciler op was
 * blocking, for callers that had to detach it earlier. */
void nna_reconcile_unblock(nna_op *op);
void nna_reconcile_unblocked(nna_reconciler *r);
/* A write with a look succeeded: the object it made is ours and may never be adopted by
 * another op (claims are shared by every client of the workspace); its created_at teaches
 * the client the server's clock. */
void nna_reconcile_claim(nna_op *op, const cJSON *reply);
/* Client teardown: looks this client was carrying move to another client of the
 * workspace; its own are gone (every op of it has settled). */
void nna_reconcile_free_all(nna_client *c);

/* The workspace's registry of reconcilers (workspace.c holds the head). */
nna_reconciler **nna_ws_reconcilers(nna_workspace *ws);

/* The small set of claimed ids. */
typedef struct nna_idset nna_idset;
nna_idset *nna_idset_new(void);
void nna_idset_free(nna_idset *s);
int  nna_idset_add(nna_idset *s, const char *id);   /* 1 added, 0 present, -1 ENOMEM/NULL */
int  nna_idset_has(const nna_idset *s, const char *id);
#endif
