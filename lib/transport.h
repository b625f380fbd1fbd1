/* HTTP transport on libcurl's multi_socket interface. The only part of libnna that sees
 * curl.h. Internal. */
#ifndef NNA_TRANSPORT_H
#define NNA_TRANSPORT_H

#include <stddef.h>
#include "loop_core.h"
#include "nna/status.h"

typedef struct nna_transport nna_transport;
typedef struct nna_xfer nna_xfer;

typedef struct nna_transport_options {
    const char *api_key;       /* put in the Authorization header; never logged */
    const char *user_agent;
    double      connect_timeout;
    int         verify_tls;
    long        max_connections;
    /* Limits on what the server sends (reply_limits.h); 0 = none for the last three */
    size_t      max_response_bytes; /* body cap when a request names none; 0 = 64 MiB */
    size_t      max_header_bytes;   /* all header lines of one reply */
    size_t      response_budget;    /* bytes of reply buffers held at once, beyond the first
                                       NNA_XFER_FREE_BYTES of each transfer */
    long        low_speed_limit;    /* bytes/s averaged over low_speed_time seconds */
    long        low_speed_time;
    const char *ca_file;       /* TLS trust and pin (nna_client_options); NULL = none */
    const char *ca_path;
    const char *pinned_pubkey;
} nna_transport_options;

/* Reply buffer bytes of each transfer not charged to the budget (what a pooled handle keeps). */
#define NNA_XFER_FREE_BYTES 65536

/* One multipart/form-data part: a text field (value) or a file streamed from disk. */
typedef struct nna_form_part {
    const char *name;
    const char *value;         /* text field, or NULL for a file */
    const char *path;          /* file to stream */
    const char *content_type;  /* file part's type; NULL = guessed from the extension */
} nna_form_part;

typedef struct nna_http_request {
    const char *method;        /* "GET", "POST", "PATCH", "DELETE" */
    const char *url;
    const char *body;          /* JSON text or NULL */
    size_t      body_len;
    const nna_form_part *parts;/* multipart body instead of `body` when nparts > 0 */
    size_t      nparts;
    int         no_rewind;     /* non-idempotent: libcurl must never re-send it by itself */
    double      timeout;       /* seconds for this attempt; 0 = none */
    size_t      max_body;      /* reply body cap (bytes); 0 = the transport's */
} nna_http_request;

typedef enum nna_xfer_result {
    NNA_XFER_HTTP,       /* a complete HTTP response arrived (see status) */
    NNA_XFER_UNSENT,     /* failed before any byte of the request left */
    NNA_XFER_SENT,       /* failed after sending began: reset, closed, partial reply */
    NNA_XFER_TIMEOUT,    /* the attempt timed out after connecting */
    NNA_XFER_TOO_LARGE,  /* the reply's body or headers exceeded a limit */
    NNA_XFER_LOCAL,      /* a local problem before the request left (file unreadable,
                            out of memory); after it left, the same is NNA_XFER_SENT */
    NNA_XFER_PERMANENT,  /* nothing sent, and every retry would fail the same way (a
                            malformed URL, an unsupported scheme): see fail_status */
    NNA_XFER_BUDGET,     /* the client's reply buffer budget ran out while the body
                            arrived (the request was sent) */
    NNA_XFER_TLS         /* the server's certificate, name or pinned key did not verify
                            (or the CA file is unusable): permanent, nothing was sent */
} nna_xfer_result;

typedef struct nna_http_response {
    nna_xfer_result result;
    long        status;        /* HTTP status when result == NNA_XFER_HTTP, else 0 */
    const char *body;          /* NUL-terminated; borrowed for the callback's duration */
    size_t      body_len;
    const char *retry_after;   /* Retry-After header value or NULL */
    const char *date;          /* Date header value or NULL */
    const char *location;      /* Location header value (a 3xx) or NULL; may be cut short */
    nna_status  fail_status;   /* NNA_XFER_PERMANENT: the status to fail with */
    const char *error;         /* transport error text or NULL; never holds the key */
    double      elapsed;       /* seconds */
} nna_http_response;

typedef void (*nna_xfer_done)(void *arg, const nna_http_response *r);

nna_transport *nna_transport_new(nna_loop *loop, const nna_transport_options *o);
/* Aborts every transfer (no callbacks), unwatches every socket, frees everything. */
void nna_transport_free(nna_transport *t);

/* Starts a transfer. `done` is called exactly once, from the loop, never from inside this
 * call; not at all after nna_xfer_abort(). The URL and parts are copied or used before this
 * returns; `body` is borrowed and must stay valid until `done` runs or the transfer is
 * aborted (the pipeline's op owns it for longer). Returns NULL when the transfer could not
 * be started. */
nna_xfer *nna_xfer_start(nna_transport *t, const nna_http_request *req, nna_xfer_done done,
                         void *arg);
void nna_xfer_abort(nna_transport *t, nna_xfer *x);

/* Number of transfers in flight (for tests and counters). */
size_t nna_transport_active(const nna_transport *t);
/* Reply buffer bytes charged to the budget now, and the most ever (for tests). */
size_t nna_transport_budget_used(const nna_transport *t, size_t *peak);
#endif
