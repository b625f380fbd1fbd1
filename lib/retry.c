/* Retry policy (spec §5.1, §5.2): classification, full-jitter back-off, Retry-After and the
 * retry decision. Pure: the caller supplies time and randomness, so every branch is
 * testable with plain numbers. */
#include "retry.h"

#include <math.h>
#include <string.h>

#include "timefmt.h"

/* A Retry-After beyond a year is a server bug or an attack, not advice worth honouring. */
#define RETRY_AFTER_MAX_S (365.0 * 86400.0)

/* The longest HTTP-date is the RFC 850 form with "Wednesday" (37 characters). */
#define HTTP_DATE_MAX_LEN 63

void nna_retry_policy_init(nna_retry_policy *p)
{
    static const double sched[] = {1, 2, 5, 10, 30};
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->max_attempts = 5;
    p->max_rate_retries = 20;
    memcpy(p->schedule, sched, sizeof sched);
    p->schedule_len = sizeof sched / sizeof sched[0];
    p->max_retry_after = 60;
}

nna_retry_class nna_retry_classify(long http_status, int request_sent)
{
    /* No complete response: whether the server may have seen the request decides. */
    if (http_status <= 0) return request_sent ? NNA_RC_NETWORK : NNA_RC_UNSENT;
    if (http_status >= 200 && http_status < 300) return NNA_RC_OK;
    if (http_status == 429) return NNA_RC_RATE;
    if (http_status >= 400 && http_status < 500) return NNA_RC_FATAL;
    /* A redirect is not followed (the key must not travel to another host): it says the
     * base URL is wrong, and asking again gets the same answer. */
    if (http_status >= 300 && http_status < 400) return NNA_RC_FATAL;
    /* 5xx, and final 1xx or nonsense codes: the server misbehaved, which is transient as
     * far as we can tell. */
    return NNA_RC_SERVER;
}

double nna_backoff_base(const nna_retry_policy *p, unsigned retry_index)
{
    nna_retry_policy def;
    if (!p) {
        nna_retry_policy_init(&def);
        p = &def;
    }
    size_t len = p->schedule_len < NNA_RETRY_SCHEDULE_MAX ? p->schedule_len
                                                          : NNA_RETRY_SCHEDULE_MAX;
    if (len == 0) return 0;
    /* Past the end of the schedule the last step repeats: that is the cap (30 s). */
    double base = p->schedule[retry_index < len ? retry_index : len - 1];
    /* A corrupt entry (NaN, negative, infinite) must not turn into a bogus sleep. */
    return (isfinite(base) && base > 0) ? base : 0;
}

double nna_backoff_delay(const nna_retry_policy *p, unsigned retry_index, double u01)
{
    /* Keep u01 inside [0, 1) even if the caller's source misbehaves, so the delay stays
     * inside [0, base). */
    if (!(u01 > 0)) u01 = 0;
    if (u01 >= 1) u01 = nextafter(1.0, 0.0);
    return u01 * nna_backoff_base(p, retry_index);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* delta-seconds with an optional fraction: DIGIT+ [ "." DIGIT+ ], the whole of [s, end).
 * Large values are detected while scanning, before they can overflow anything. */
static int parse_delta(const char *s, const char *end, double *out)
{
    double v = 0;
    const char *p = s;
    if (p == end || *p < '0' || *p > '9') return 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v <= RETRY_AFTER_MAX_S) v = v * 10 + (*p - '0'); /* beyond: stays "too big" */
    }
    if (p < end && *p == '.') {
        double scale = 0.1;
        p++;
        if (p == end || *p < '0' || *p > '9') return 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            v += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (p != end || v > RETRY_AFTER_MAX_S) return 0;
    *out = v;
    return 1;
}

/* HTTP-date, measured against the server's own clock (its Date header) when known, so a
 * client clock that is off by minutes does not turn "in 30 s" into "now" or "in 5 min". */
static int parse_date(const char *s, const char *end, double date_header_epoch,
                      double now_epoch, double *out)
{
    char buf[HTTP_DATE_MAX_LEN + 1];
    size_t n = (size_t)(end - s);
    double ref = isfinite(date_header_epoch) ? date_header_epoch : now_epoch;
    double when;

    if (!isfinite(ref) || n > HTTP_DATE_MAX_LEN) return 0;
    memcpy(buf, s, n); /* the value is trimmed: the date parser wants a whole string */
    buf[n] = '\0';
    if (nna_http_date_parse_at(buf, ref, &when)) return 0;
    double wait = when - ref;
    if (!(wait <= RETRY_AFTER_MAX_S)) return 0;
    *out = wait > 0 ? wait : 0; /* a date already past means "now" */
    return 1;
}

int nna_retry_after_parse(const char *value, double date_header_epoch, double now_epoch,
                          double *seconds)
{
    double v;
    int ok;
    if (!seconds) return 0;
    /* -1 on failure so the result can go straight to nna_retry_decide as "absent". */
    *seconds = -1;
    if (!value) return 0;

    const char *s = value, *end = value + strlen(value);
    while (s < end && is_ows(*s)) s++;
    while (end > s && is_ows(end[-1])) end--;
    if (s == end) return 0;

    if (*s >= '0' && *s <= '9')
        ok = parse_delta(s, end, &v);
    else
        ok = parse_date(s, end, date_header_epoch, now_epoch, &v);
    if (ok) *seconds = v;
    return ok;
}

static nna_retry_decision stop(nna_status st)
{
    nna_retry_decision d = {0, 0, st};
    return d;
}

/* Retry after `delay` if it fits in what is left of the deadline; otherwise end with
 * `late`. `!(delay <= remaining)` also refuses a NaN deadline or delay: never sleep on
 * garbage. */
static nna_retry_decision retry_if_fits(double delay, double remaining, nna_status late)
{
    if (!(delay <= remaining) || !isfinite(delay)) return stop(late);
    nna_retry_decision d = {1, delay, NNA_OK};
    return d;
}

static nna_retry_decision decide_rate(const nna_retry_policy *p, const nna_retry_state *st,
                                      double retry_after, double remaining, double u01)
{
    /* A 429 is an attempt like any other: --max-attempts 2 means two requests. */
    if (st->server_attempts >= p->max_attempts || st->rate_retries >= p->max_rate_retries)
        return stop(NNA_ERATE_LIMITED);
    /* The server will not take the request before the deadline: say so now instead of
     * waiting (a shorter, capped wait would only earn another 429). */
    if (retry_after >= 0 && !(retry_after <= remaining)) return stop(NNA_ERATE_LIMITED);
    double delay;
    if (retry_after >= 0) {
        /* The server said when: that is the wait. Our own back-off only keeps a floor
         * (its first, jittered step) so that "Retry-After: 0" is not a busy loop; stacking
         * its later steps on top would wait 5 s after a "Retry-After: 1". */
        delay = nna_backoff_delay(p, 0, u01);
        if (retry_after > delay) delay = retry_after;
    } else {
        delay = nna_backoff_delay(p, st->rate_retries, u01);
    }
    /* The cap protects against a server asking for an hour; a cap that is not a number
     * ≥ 0 is ignored (INFINITY means "no cap"). */
    if (p->max_retry_after >= 0 && delay > p->max_retry_after) delay = p->max_retry_after;
    return retry_if_fits(delay, remaining, NNA_ERATE_LIMITED);
}

static nna_retry_decision decide_server(const nna_retry_policy *p, const nna_retry_state *st,
                                        nna_status exhausted, double remaining, double u01)
{
    if (st->server_attempts >= p->max_attempts) return stop(exhausted);
    /* server_attempts counts this attempt, so the first retry uses index 0. */
    unsigned idx = st->server_attempts > 0 ? st->server_attempts - 1 : 0;
    return retry_if_fits(nna_backoff_delay(p, idx, u01), remaining, NNA_EDEADLINE);
}

nna_retry_decision nna_retry_decide(const nna_retry_policy *p, const nna_retry_state *st,
                                    nna_retry_class cls, double retry_after,
                                    double remaining, double u01)
{
    nna_retry_policy def;
    nna_retry_state zero = {0, 0, 0};
    if (!p) {
        nna_retry_policy_init(&def);
        p = &def;
    }
    if (!st) st = &zero;

    switch (cls) {
    case NNA_RC_OK:
        return stop(NNA_OK);
    case NNA_RC_RATE:
        return decide_rate(p, st, retry_after, remaining, u01);
    case NNA_RC_SERVER:
        return decide_server(p, st, NNA_ESERVER, remaining, u01);
    case NNA_RC_NETWORK:
    case NNA_RC_UNSENT:
        /* A refused connection is retried like any other failure and costs an attempt as
         * well: a host that refuses stays refused, and the caller's max_attempts is the
         * number of tries it is willing to wait for. */
        return decide_server(p, st, NNA_ENETWORK, remaining, u01);
    case NNA_RC_PERMANENT:
        return stop(NNA_EINVAL);
    case NNA_RC_FATAL:
        break;
    }
    /* FATAL, and any value outside the enum: not retryable. */
    return stop(NNA_EHTTP_4XX);
}
