/* libnna — status codes.
 *
 * One table (NNA_STATUS_TABLE) yields the enum, the text of nna_strerror() and whether an
 * operation that ended with the status may be retried later by the caller. Every function
 * of the library that can fail returns one of these, and every future settles with one.
 * Pure functions: callable from any thread.
 */
#ifndef NNA_STATUS_H
#define NNA_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/*        name                  value  retryable  text */
#define NNA_STATUS_TABLE(X)                                                                  \
    X(NNA_OK,                      0, 0, "success")                                          \
    X(NNA_EINVAL,                 -1, 0, "invalid argument (nothing was sent)")              \
    X(NNA_ENOMEM,                 -2, 1, "out of memory")                                    \
    X(NNA_ECANCELLED,             -3, 0, "operation cancelled")                              \
    X(NNA_ESHUTDOWN,              -4, 0, "client shut down before the operation completed")  \
    X(NNA_EDEADLINE,              -5, 1, "deadline exceeded")                                \
    X(NNA_ENETWORK,               -6, 1, "network failure (connect, DNS, TLS or reset)")     \
    X(NNA_ETIMEDOUT,              -7, 1, "request timed out")                                \
    X(NNA_EOUTCOME_UNKNOWN,       -8, 0, "outcome unknown: the request may have taken effect") \
    X(NNA_EPROTOCOL,              -9, 1, "malformed response from the server")               \
    X(NNA_EBAD_REQUEST,          -10, 0, "HTTP 400: malformed request")                      \
    X(NNA_EUNAUTHORIZED,         -11, 0, "HTTP 401: API key missing, malformed or revoked")  \
    X(NNA_EFORBIDDEN,            -12, 0, "HTTP 403: forbidden")                              \
    X(NNA_ENOT_FOUND,            -13, 0, "HTTP 404: not found")                              \
    X(NNA_ECONFLICT,             -14, 0, "HTTP 409: state conflict")                         \
    X(NNA_EHTTP_4XX,             -15, 0, "HTTP client error")                                \
    X(NNA_ERATE_LIMITED,         -16, 1, "HTTP 429: rate limited, retries or deadline exhausted") \
    X(NNA_ESERVER,               -17, 1, "HTTP 5xx: server error after retries")             \
    X(NNA_ECURSOR_LOOP,          -18, 0, "pagination stopped: the server repeated a cursor") \
    X(NNA_EBUSY,                 -19, 0, "not possible in this state")                       \
    X(NNA_EIO,                   -20, 0, "local I/O error")                                  \
    X(NNA_EINPUT_NEEDED,         -21, 0, "task is waiting for input")                        \
    X(NNA_ETASK_FAILED,          -22, 0, "task ended in status failed")                      \
    X(NNA_ETASK_STOPPED,         -23, 0, "task ended in status stopped")                     \
    X(NNA_EREVIEW,               -24, 0, "task is awaiting human review")                    \
    X(NNA_EREDIRECT,             -25, 0, "unexpected redirect (HTTP 3xx): check the base URL") \
    X(NNA_EURL,                  -26, 0, "invalid request URL (nothing was sent)")           \
    X(NNA_ELIMIT,                -27, 0, "reply over a client limit (size, headers, nesting or pages)") \
    X(NNA_EBUDGET,               -28, 1, "response memory budget exhausted by concurrent transfers") \
    X(NNA_ETLS,                  -29, 0, "TLS failure: the server's certificate, name or pinned key did not verify (not retried)") \
    X(NNA_ELIMITER_UNAVAILABLE,  -30, 1, "shared limiter (Redis) unreachable or refused")

typedef enum nna_status {
#define NNA_STATUS_ENUM_(name, value, retryable, text) name = (value),
    NNA_STATUS_TABLE(NNA_STATUS_ENUM_)
#undef NNA_STATUS_ENUM_
} nna_status;

/* Static English text for a status; never NULL (unknown values give "unknown status"). */
const char *nna_strerror(nna_status status);

/* The enum's name as a string ("NNA_ENOT_FOUND"); never NULL. */
const char *nna_status_name(nna_status status);

/* 1 when a later attempt of the same operation could succeed (429, 5xx, network). */
int nna_status_retryable(nna_status status);

/* The status a final HTTP response maps to: 2xx → NNA_OK, 3xx → NNA_EREDIRECT (redirects
 * are never followed), 400/401/403/404/409 → their own, other 4xx → NNA_EHTTP_4XX,
 * 429 → NNA_ERATE_LIMITED, 5xx and anything else → NNA_ESERVER. */
nna_status nna_status_from_http(long http_status);

#ifdef __cplusplus
}
#endif
#endif /* NNA_STATUS_H */
