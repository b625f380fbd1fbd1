/* libnna — the per-workspace limiter.
 *
 * Rate limits belong to a workspace, not to a key, so every client of one workspace (even
 * built from different keys) shares one nna_workspace: one cap on requests in flight, one
 * fair queue, one pause when a 429 arrives, one adaptive send rate and one health gate.
 * A client made without a workspace gets a private one.
 *
 * Behaviour: requests wait in one queue per workspace (status polls and reconciliation
 * checks first, then other calls, then new runs; runs round-robin across agents; each in
 * submission order). A 429 pauses the whole workspace for its Retry-After (plus a little
 * jitter), halves the cap (it grows back by 1/cap per success) and teaches the send rate:
 * the limiter fits a token bucket to its log of sends and 429s, paces at just under the
 * rate found and probes upward slowly. A run of 5xx or transport failures pauses the
 * workspace for 1, 2, 5, 10, then 30 s with a single probe request in flight; waiting
 * requests spend none of their attempts. After either pause the queue is released
 * gradually. Retries after server trouble are paced by a retry budget (ratio of recent
 * requests plus a floor per second), never refused by it.
 *
 * Ownership: reference-counted; nna_workspace_new() gives one reference, each client using
 * it holds another. Threading: a workspace and all its clients live on one loop thread.
 */
#ifndef NNA_WORKSPACE_H
#define NNA_WORKSPACE_H

#include <stdint.h>
#include "nna/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nna_workspace nna_workspace;

typedef struct nna_workspace_options {
    unsigned max_inflight;     /* cap on requests in flight; default 64; the adaptive cap
                                  never exceeds it and never drops below 1 */
    double   rate_limit;       /* starting send rate (requests/s); 0 = unpaced until the
                                  429s teach a rate (default 0) */
    int      adaptive;         /* 1 (default): cap and rate adapt to 429s; 0: the cap and
                                  rate_limit stay as set (the pauses still apply) */
    double   retry_budget_ratio; /* retries ≤ this share of recent requests; default 0.1
                                    (beyond it they wait for budget, within their
                                    deadline) */
    double   retry_budget_floor; /* plus this many retries per second; default 1 */
    const char *limiter_url;   /* where the budget lives. NULL or "" (default): in this
                                  process. "redis://host[:port][/db][?name=NAME]": in Redis,
                                  shared by every process (on any host) that names the same
                                  Redis and NAME (default "default"): in-flight slots,
                                  429 pauses, the adaptive cap (max_inflight is the
                                  shared cap), the send rate, the health gate (5xx/network
                                  pauses, one probe for all) and the retry budget. Only with a build that has hiredis
                                  (otherwise nna_workspace_new says NNA_EINVAL). See
                                  docs/scale-out.md. Copied by nna_workspace_new. */
    const char *limiter_password; /* Redis AUTH password, or NULL; copied (hiredis 0.14
                                     has no TLS: put Redis on a trusted network or a
                                     local TLS tunnel) */
} nna_workspace_options;

void nna_workspace_options_init(nna_workspace_options *o);

/* Creates a workspace limiter; `o` may be NULL for defaults. Options are copied. With a
 * limiter_url it connects to Redis once (blocking, at most ~2 s) to check it is reachable
 * and loads its scripts: NNA_ELIMITER_UNAVAILABLE when Redis is down, refuses the password
 * or the scripts; NNA_EINVAL for a malformed URL. The connection used afterwards runs on
 * the loop of the workspace's first client; if Redis is lost later, this process keeps
 * going at its share (cap / processes last seen) and reconnects with back-off. */
nna_status nna_workspace_new(const nna_workspace_options *o, nna_workspace **out);
nna_workspace *nna_workspace_ref(nna_workspace *ws);
void nna_workspace_unref(nna_workspace *ws);

typedef struct nna_workspace_counters {
    uint64_t sent;               /* requests handed to the network */
    uint64_t succeeded;          /* 2xx responses */
    uint64_t failed;             /* operations that ended in error */
    uint64_t retried_rate;       /* retries after 429 */
    uint64_t retried_server;     /* retries after 5xx */
    uint64_t retried_network;    /* retries after transport failures */
    uint64_t rate_limited;       /* 429 responses */
    uint64_t reconciled;         /* writes in doubt adopted by reconciliation (runs,
                                    messages, publishes, creates) */
    uint64_t gate_closures;      /* times the 429 gate or health gate closed */
    double   paused_seconds;     /* total time the gate was closed */
    unsigned inflight;           /* now */
    unsigned cap;                /* current adaptive cap */
    double   rate;               /* current paced rate (0 = unpaced) */
    uint64_t queued;             /* operations waiting now */
    uint64_t limiter_calls;      /* round trips to the shared limiter (Redis); 0 in-process */
    unsigned limiter_members;    /* processes sharing the budget, as last seen (1 in-process) */
} nna_workspace_counters;

void nna_workspace_counters_get(const nna_workspace *ws, nna_workspace_counters *out);

/* Events reported to the hook (for logging, progress bars and tests). */
typedef enum nna_ws_event_kind {
    NNA_WS_ATTEMPT,          /* a request is sent: value = attempt number */
    NNA_WS_RETRY_SCHEDULED,  /* value = delay in seconds; http_status = reason (0 = network) */
    NNA_WS_GATE_CLOSED,      /* value = seconds until it reopens; http_status = 429 for
                                the rate-limit pause, 500 for the health gate */
    NNA_WS_GATE_OPENED,      /* http_status as for NNA_WS_GATE_CLOSED */
    NNA_WS_CAP_CHANGED,      /* value = new cap */
    NNA_WS_RATE_CHANGED,     /* value = new rate */
    NNA_WS_RECONCILED        /* a write whose outcome was in doubt was found and adopted */
} nna_ws_event_kind;

typedef struct nna_ws_event {
    nna_ws_event_kind kind;
    double value;
    long   http_status;
    const char *method;      /* for ATTEMPT / RETRY_SCHEDULED, else NULL */
    const char *path;        /* path and query, without host; never contains the key */
} nna_ws_event;

typedef void (*nna_ws_event_cb)(nna_workspace *ws, const nna_ws_event *ev, void *user_data);

/* Sets (or clears, with NULL) the event hook. It runs on the loop thread, synchronously,
 * while the library is in the middle of its work: it must not call back into libnna. */
void nna_workspace_set_hook(nna_workspace *ws, nna_ws_event_cb cb, void *user_data);

#ifdef __cplusplus
}
#endif
#endif /* NNA_WORKSPACE_H */
