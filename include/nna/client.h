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

/* The version of the library actually linked ("0.1.0"), which may differ from the
 * NNA_VERSION of the headers a program was compiled with. Static string; any thread. */
const char *nna_version(void);

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
    const char *base_url;         /* default NNA_DEFAULT_BASE_URL; "/api/v1" is appended
                                     unless it ends with it; no user:password@, "?" or
                                     "#" (NNA_EINVAL) */
    const char *api_key;          /* required, non-empty, no control characters;
                                     copied, never printed */
    const char *user_agent;       /* default "libnna/" NNA_VERSION */
    double   request_timeout;     /* seconds per attempt (time in the queue excluded); default 30 */
    double   connect_timeout;     /* seconds; default 10 */
    double   deadline;            /* seconds for a whole operation, retries and queueing
                                     included: reads and other writes; default 300; 0 = none */
    double   run_deadline;        /* the same for run creation, which may queue long behind
                                     a large fan-out; default 1800; 0 = none; < 0 = use
                                     `deadline`. (Waits have their own: nna_wait_options.) */
    unsigned max_attempts;        /* requests per operation, the first included; default 5.
                                     Every request counts, whatever ended it: 5xx, 429 (after
                                     waiting its Retry-After), a reset and a refused
                                     connection. Spent on 429s → NNA_ERATE_LIMITED with the
                                     last Retry-After; on 5xx → NNA_ESERVER; on transport
                                     failures → NNA_ENETWORK. */
    unsigned max_rate_retries;    /* a sub-limit: at most this many of those retries may
                                     follow a 429; default 20 (so max_attempts decides); set
                                     it lower to give up on rate limiting sooner */
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
    /* Limits on what the server controls (lib/reply_limits.c). A reply over a size, header,
     * nesting or page limit ends the operation with NNA_ELIMIT (not retried: the same
     * reply would come again) and an error text naming the limit. 0 = the default. */
    size_t   max_response_bytes;  /* body of any one reply; default 64 MiB. Checked while
                                     it arrives (and against Content-Length before), so a
                                     2 GB or endless body costs at most this much memory */
    size_t   max_object_bytes;    /* body of a reply holding one task or agent (get, cancel,
                                     run creation, agent calls, message ack); default 1 MiB */
    size_t   max_page_bytes;      /* body of one list page (page calls, walks, watches);
                                     default 16 MiB */
    size_t   max_header_bytes;    /* all response header lines of one reply; default 64 KiB */
    unsigned max_json_depth;      /* nesting of arrays and objects in a reply body; default
                                     and maximum NNA_JSON_MAX_DEPTH (256, nna/json.h). A deeper 2xx body fails before it is parsed; a
                                     deeper error body is treated as one without JSON */
    unsigned max_walk_pages;      /* pages one walk (or one round of a watch) follows before
                                     it ends with NNA_ELIMIT; default 100000 */
    size_t   response_budget;     /* total memory of the reply bodies this client's transfers
                                     hold at once; default 256 MiB. The first 64 KiB of each
                                     transfer are free, so small replies (run creation, task
                                     polls) never hit it. A transfer that would exceed it fails
                                     at once with NNA_EBUDGET, which is not retried by the
                                     operation but is retryable by the caller (the pressure is
                                     transient); a run creation or other non-idempotent request
                                     whose reply is cut this way is in doubt and handled like a
                                     dropped connection (reconciled, or NNA_EOUTCOME_UNKNOWN) */
    long     low_speed_limit;     /* bytes/s: an attempt slower than this on average over
                                     low_speed_time seconds (waiting for the first byte
                                     included) fails like a timed-out attempt (retried as a
                                     network failure; NNA_ENETWORK with curl's "Operation too
                                     slow" text when none is left), so a trickling server cannot
                                     hold a transfer whatever request_timeout is; default 64;
                                     < 0 = off */
    double   low_speed_time;      /* seconds; default 60 */
    /* TLS (https:// base URLs). The server's certificate chain and name are always
     * verified against the system's CA store unless verify_tls is 0; TLS 1.2 is the
     * lowest version offered. A certificate, name or pin that does not verify ends the
     * operation at once with NNA_ETLS (never retried). The strings are copied. */
    const char *ca_file;          /* PEM bundle of CAs to trust instead of the system's;
                                     NULL = the system store */
    const char *ca_path;          /* directory of CA certificates named by subject hash
                                     (openssl rehash); NULL = the system store */
    const char *pinned_pubkey;    /* the server's public key must also match: a PEM or DER
                                     key file, or "sha256//BASE64[;sha256//BASE64...]";
                                     NULL = no pin */
    int      allow_insecure_http; /* 0 (default): a plain http:// base URL is refused
                                     (NNA_EINVAL) unless its host is loopback (localhost,
                                     127.0.0.0/8, [::1]), so the key never crosses a
                                     network in clear text; 1: allow it */
} nna_client_options;

void nna_client_options_init(nna_client_options *o);

/* 1 when `base_url` is a plain http:// URL whose host is not loopback: the one a client
 * refuses without allow_insecure_http (the API key would travel unencrypted). 0 for
 * https://, for http:// to localhost, 127.0.0.0/8 or [::1], and for NULL. Pure; any
 * thread. */
int nna_base_url_cleartext_remote(const char *base_url);

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
 * NNA_EOUTCOME_UNKNOWN. The body must be strict JSON (UTF-8, nothing after the value) and
 * is sent as written. The future's result is the parsed JSON body (const cJSON *); its bytes
 * as the server sent them are nna_future_json_text(). A 2xx reply that is not strict JSON
 * fails with NNA_EPROTOCOL. */
nna_future *nna_client_request(nna_client *c, const char *method, const char *path,
                               const char *query, const char *json_body, int idempotent);

#ifdef __cplusplus
}
#endif
#endif /* NNA_CLIENT_H */
