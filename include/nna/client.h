/* libnna — the client.
 *
 * A client holds the base URL, the API key and the transport (a libcurl multi handle with a
 * pool of reusable connections) and submits operations to its workspace's limiter. Create
 * one with nna_client_new_ev() (nna/ev.h), nna_client_new_uv() (nna/uv.h) or
 * nna_client_new_custom() for another loop.
 *
 * Threading: one client belongs to one loop thread; nothing here may be called from
 * another thread (not even nna_future_unref(), nna_future_cancel() or
 * nna_client_shutdown()). The library keeps no global state beyond curl_global_init(), which
 * nna_client_new_*() performs once (call curl_global_init() yourself first if your program
 * starts threads before creating a client).
 */
#ifndef NNA_CLIENT_H
#define NNA_CLIENT_H

#include <stdint.h>
#include <stddef.h>
#include "nna/status.h"
#include "nna/future.h"
#include "nna/loop.h"
#include "nna/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NNA_VERSION "0.1.0"
#define NNA_DEFAULT_BASE_URL "https://agents.nanonets.com"

typedef struct nna_client nna_client;

/* One line of trace per HTTP exchange, for -v output. Never includes the key. */
typedef struct nna_trace {
    const char *method;
    const char *url;         /* full URL with query; no credentials */
    long        http_status; /* 0 = no response */
    unsigned    attempt;
    double      seconds;     /* time the exchange took */
    const char *error;       /* transport error text, or NULL */
} nna_trace;
typedef void (*nna_trace_cb)(const nna_trace *t, void *user_data);

typedef struct nna_client_options {
    const char *base_url;         /* default NNA_DEFAULT_BASE_URL; "/api/v1" is appended */
    const char *api_key;          /* required, non-empty; copied, never printed */
    const char *user_agent;       /* default "libnna/" NNA_VERSION */
    double   request_timeout;     /* seconds per attempt (time in the queue excluded); default 30 */
    double   connect_timeout;     /* seconds; default 10 */
    double   deadline;            /* seconds for a whole operation, retries and queueing
                                     included: reads and other writes; default 300; 0 = none */
    double   run_deadline;        /* the same for run creation, which may queue long behind
                                     a large fan-out; default 1800; 0 = none; < 0 = use
                                     `deadline`. (Waits have their own: nna_wait_options.) */
    unsigned max_attempts;        /* requests that reach the server per operation; default 5 */
    unsigned max_rate_retries;    /* retries after 429s; default 20 (the deadline bounds them) */
    double   max_retry_after;     /* longest Retry-After honoured (s); default 60 */
    double   backoff[8];          /* base delays of the back-off (s); default 1 2 5 10 30 */
    unsigned backoff_len;         /* default 5 */
    int      reconcile_runs;      /* 1 (default): look for the effect of a write whose
                                     outcome is in doubt (run, message, publish, named
                                     create) before re-sending it; 0: fail with
                                     NNA_EOUTCOME_UNKNOWN instead (never re-sent blindly) */
    double   reconcile_skew;      /* seconds subtracted from t0 for the check; default 120 */
    double   reconcile_settle;    /* seconds to wait before the check; default 0.5 */
    int      verify_tls;          /* 1 (default) */
    nna_workspace *workspace;     /* shared limiter; NULL = a private one with
                                     max_inflight requests in flight */
    unsigned max_inflight;        /* for the private workspace; default 64 */
    uint64_t seed;                /* jitter seed; 0 = from the OS */
    nna_trace_cb trace;           /* optional */
    void    *trace_user_data;
} nna_client_options;

void nna_client_options_init(nna_client_options *o);

/* Creates a client on a custom loop binding; `ops` must outlive the client, `backend` is
 * passed back to every op and is released through ops->close. The client takes ownership of
 * the backend even when this fails. Options are copied. */
nna_status nna_client_new_custom(const nna_loop_ops *ops, void *backend,
                                 const nna_client_options *o, nna_client **out);

typedef enum nna_shutdown_mode {
    NNA_SHUTDOWN_CANCEL, /* settle every outstanding operation with NNA_ESHUTDOWN now */
    NNA_SHUTDOWN_DRAIN   /* accept nothing new, let outstanding operations finish */
} nna_shutdown_mode;

typedef void (*nna_shutdown_cb)(void *user_data);

/* Shuts the client down asynchronously: cancels or drains every operation (each future
 * completes exactly once), closes every socket watcher and timer, frees the client, and
 * then calls cb (may be NULL) from the loop. The callback always runs from the loop, never
 * from inside this call, even when nothing is pending; on libuv it runs after the last
 * close callback, when nothing of the library remains on the loop. After it, the host loop
 * returns on its own if it has nothing else to do. The client handle must not be used after this call (except
 * by callbacks of its own futures still running). Safe to call from any libnna callback. */
void nna_client_shutdown(nna_client *c, nna_shutdown_mode mode, nna_shutdown_cb cb,
                         void *user_data);

/* nna_client_shutdown(c, NNA_SHUTDOWN_CANCEL, NULL, NULL); on a borrowed loop the release
 * completes on the loop's next turn. For a client on a private loop it also runs that loop
 * until everything is closed and destroys it (do not call it from a callback of that
 * client). NULL is ignored. */
void nna_client_free(nna_client *c);

/* The workspace this client submits to (borrowed). */
nna_workspace *nna_client_workspace(const nna_client *c);

/* Generic request. method: "GET", "POST", "PATCH", "DELETE"; path relative to /api/v1 and
 * starting with '/', e.g. "/tasks"; query: already-encoded "a=1&b=2" or NULL; body: JSON text
 * or NULL (copied). `idempotent` says whether a request whose outcome is in doubt may be
 * re-sent blindly (GET, PATCH, cancel) — when 0, such a failure ends with
 * NNA_EOUTCOME_UNKNOWN. The future's result is the parsed JSON body (const cJSON *). */
nna_future *nna_client_request(nna_client *c, const char *method, const char *path,
                               const char *query, const char *json_body, int idempotent);

#ifdef __cplusplus
}
#endif
#endif /* NNA_CLIENT_H */
