/* Retry policy: pure functions, no clock reads, no I/O, no global state. The pipeline feeds
 * them what happened and the time; unit tests feed them a fake clock and random values. */
#ifndef NNA_RETRY_H
#define NNA_RETRY_H
#include <stddef.h>
#include "nna/status.h"

#define NNA_RETRY_SCHEDULE_MAX 8

typedef struct nna_retry_policy {
    unsigned max_attempts;        /* attempts per operation (1 initial + retries), whatever
                                     ended them: 5xx, 429, a dropped or a refused connection;
                                     default 5 */
    unsigned max_rate_retries;    /* of those retries, at most this many may follow a 429;
                                     default 20 (so max_attempts decides) */
    double   schedule[NNA_RETRY_SCHEDULE_MAX]; /* base delays (s); default 1, 2, 5, 10, 30 */
    size_t   schedule_len;        /* default 5; retries beyond it use the last entry */
    double   max_retry_after;     /* cap on an honoured Retry-After (s); default 60 */
} nna_retry_policy;

void nna_retry_policy_init(nna_retry_policy *p);

/* How one attempt ended. */
typedef enum nna_retry_class {
    NNA_RC_OK,       /* 2xx */
    NNA_RC_FATAL,    /* 4xx other than 429, 3xx (an unexpected redirect: a wrong base URL
                        does not fix itself), and any other non-retryable answer */
    NNA_RC_RATE,     /* 429 */
    NNA_RC_SERVER,   /* 5xx, and 1xx or nonsense final codes (treated as server trouble) */
    NNA_RC_UNSENT,   /* transport failure before any byte of the request left (refused, DNS) */
    NNA_RC_NETWORK,  /* transport failure after sending began: timeout, reset, partial reply */
    NNA_RC_PERMANENT,/* a local failure that repeats on every attempt (malformed URL, an
                        unsupported scheme, a bad TLS setup): never retried, nothing sent */
} nna_retry_class;

/* http_status: the final response code, or 0 when no complete response arrived;
 * request_sent: whether any byte of the request was written (only read when status is 0). */
nna_retry_class nna_retry_classify(long http_status, int request_sent);

/* Base delay before retry number retry_index (0 = the first retry). */
double nna_backoff_base(const nna_retry_policy *p, unsigned retry_index);

/* Full jitter: u01 * base, u01 in [0, 1). */
double nna_backoff_delay(const nna_retry_policy *p, unsigned retry_index, double u01);

/* Retry-After header value → seconds to wait (≥ 0). Accepts delta-seconds (digits with an
 * optional fraction) and HTTP-dates. A date is measured against date_header_epoch (the
 * response's Date header, parsed) when that is finite, otherwise against now_epoch, so a
 * skewed client clock does not matter. A date in the past gives 0. Returns 1 when usable;
 * 0 for NULL, empty, garbage, NaN, infinities, negative numbers and values beyond ~1 year
 * (the caller then uses its normal back-off, never "retry now"). */
int nna_retry_after_parse(const char *value, double date_header_epoch, double now_epoch,
                          double *seconds);

/* The pipeline's question after a failed attempt: retry, and after how long? */
typedef struct nna_retry_state {
    unsigned server_attempts;  /* attempts made so far, this one included (refused
                                  connections too: every one counts toward max_attempts) */
    unsigned rate_retries;     /* 429 retries already used */
    unsigned unsent_retries;   /* of the retries, those after an unsent attempt; no longer
                                  a budget of its own (informational) */
} nna_retry_state;

typedef struct nna_retry_decision {
    int        retry;          /* 1 = schedule another attempt after `delay` seconds */
    double     delay;          /* seconds (≥ 0) */
    nna_status status;         /* when retry == 0: the status the operation ends with */
} nna_retry_decision;

/* cls: how the attempt ended; retry_after: parsed Retry-After seconds, or a negative number
 * when absent/unusable; remaining: seconds left before the operation's deadline (INFINITY
 * when none); u01: a uniform random number in [0, 1).
 * Rules: every attempt counts toward max_attempts, whatever ended it.
 * FATAL never retries (status from the HTTP code is the caller's business: this returns
 * NNA_EHTTP_4XX for it); PERMANENT never retries (NNA_EINVAL here; the transport names
 * the real status).
 * RATE retries while server_attempts < max_attempts and rate_retries < max_rate_retries,
 * else NNA_ERATE_LIMITED. The wait is the server's Retry-After (capped at max_retry_after)
 * when it gave one, never less than the jittered first step of the back-off (so a
 * "Retry-After: 0" is no busy loop); the back-off does not escalate on top of the server's
 * own pause. Without a Retry-After: the jittered back-off for rate retry number
 * rate_retries. A Retry-After longer than `remaining` ends it at once with
 * NNA_ERATE_LIMITED (even when the cap would fit).
 * SERVER/NETWORK/UNSENT retry with full-jitter back-off while server_attempts <
 * max_attempts, else NNA_ESERVER / NNA_ENETWORK / NNA_ENETWORK. When the chosen delay does
 * not fit in `remaining`, no retry: RATE ends NNA_ERATE_LIMITED, others NNA_EDEADLINE. The
 * caller increments the counters when it acts on a retry. */
nna_retry_decision nna_retry_decide(const nna_retry_policy *p, const nna_retry_state *st,
                                    nna_retry_class cls, double retry_after,
                                    double remaining, double u01);
#endif
