/* Retry policy, Retry-After and the random source: deterministic (fake clock = plain
 * numbers, u01 passed in). Each test pins behaviour that the pipeline relies on. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "nna/status.h"
#include "retry.h"
#include "rng.h"

#define T_1994 784111777.0 /* Sun, 06 Nov 1994 08:49:37 GMT */
#define YEAR_S (365.0 * 86400.0)

static const double SCHEDULE[5] = {1, 2, 5, 10, 30};

/* Checks a decision and names the statuses on failure. */
#define ck_decision(d, want_retry, want_status)                                            \
    do {                                                                                   \
        nna_retry_decision d_ = (d);                                                       \
        ck_assert_msg(d_.retry == (want_retry) && d_.status == (want_status),              \
                      "retry=%d status=%s, want retry=%d status=%s", d_.retry,             \
                      nna_status_name(d_.status), (want_retry), nna_status_name(want_status)); \
    } while (0)

/* ---- policy, classification, back-off ------------------------------------------------ */

START_TEST(policy_defaults)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    ck_assert_uint_eq(p.max_attempts, 5);
    ck_assert_uint_eq(p.max_rate_retries, 20);
    ck_assert_uint_eq(p.schedule_len, 5);
    for (int i = 0; i < 5; i++) ck_assert_double_eq(p.schedule[i], SCHEDULE[i]);
    ck_assert_double_eq(p.max_retry_after, 60);
    nna_retry_policy_init(NULL); /* must not crash */
}
END_TEST

START_TEST(classify_table)
{
    ck_assert_int_eq(nna_retry_classify(200, 1), NNA_RC_OK);
    ck_assert_int_eq(nna_retry_classify(204, 1), NNA_RC_OK);
    ck_assert_int_eq(nna_retry_classify(299, 1), NNA_RC_OK);
    ck_assert_int_eq(nna_retry_classify(400, 1), NNA_RC_FATAL);
    ck_assert_int_eq(nna_retry_classify(401, 1), NNA_RC_FATAL);
    ck_assert_int_eq(nna_retry_classify(404, 1), NNA_RC_FATAL);
    ck_assert_int_eq(nna_retry_classify(408, 1), NNA_RC_FATAL);
    ck_assert_int_eq(nna_retry_classify(409, 1), NNA_RC_FATAL);
    ck_assert_int_eq(nna_retry_classify(499, 1), NNA_RC_FATAL);
    ck_assert_int_eq(nna_retry_classify(429, 1), NNA_RC_RATE);
    ck_assert_int_eq(nna_retry_classify(500, 1), NNA_RC_SERVER);
    ck_assert_int_eq(nna_retry_classify(502, 1), NNA_RC_SERVER);
    ck_assert_int_eq(nna_retry_classify(503, 0), NNA_RC_SERVER);
    ck_assert_int_eq(nna_retry_classify(599, 1), NNA_RC_SERVER);
    ck_assert_int_eq(nna_retry_classify(100, 1), NNA_RC_SERVER);
    ck_assert_int_eq(nna_retry_classify(302, 1), NNA_RC_FATAL); /* redirects: issue 17 */
    ck_assert_int_eq(nna_retry_classify(0, 0), NNA_RC_UNSENT);
    ck_assert_int_eq(nna_retry_classify(0, 1), NNA_RC_NETWORK);
    ck_assert_int_eq(nna_retry_classify(-1, 0), NNA_RC_UNSENT);
    ck_assert_int_eq(nna_retry_classify(-1, 1), NNA_RC_NETWORK);
}
END_TEST

START_TEST(backoff_schedule_exact)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    for (unsigned i = 0; i < 5; i++) ck_assert_double_eq(nna_backoff_base(&p, i), SCHEDULE[i]);
    /* beyond the schedule: the last step repeats */
    ck_assert_double_eq(nna_backoff_base(&p, 5), 30);
    ck_assert_double_eq(nna_backoff_base(&p, 6), 30);
    ck_assert_double_eq(nna_backoff_base(&p, 1000), 30);
    ck_assert_double_eq(nna_backoff_base(&p, UINT_MAX), 30);
    /* NULL policy = defaults */
    ck_assert_double_eq(nna_backoff_base(NULL, 2), 5);
}
END_TEST

START_TEST(backoff_custom_and_corrupt_schedules)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    p.schedule_len = 0;
    ck_assert_double_eq(nna_backoff_base(&p, 0), 0);
    ck_assert_double_eq(nna_backoff_base(&p, 3), 0);

    p.schedule_len = 2;
    p.schedule[0] = 0.25;
    p.schedule[1] = 4;
    ck_assert_double_eq(nna_backoff_base(&p, 0), 0.25);
    ck_assert_double_eq(nna_backoff_base(&p, 1), 4);
    ck_assert_double_eq(nna_backoff_base(&p, 9), 4);

    /* a length past the array is clamped to it */
    for (int i = 0; i < NNA_RETRY_SCHEDULE_MAX; i++) p.schedule[i] = i + 1;
    p.schedule_len = 1000;
    ck_assert_double_eq(nna_backoff_base(&p, 100), NNA_RETRY_SCHEDULE_MAX);

    /* corrupt entries never produce a bogus sleep */
    p.schedule_len = 4;
    p.schedule[0] = NAN;
    p.schedule[1] = -3;
    p.schedule[2] = INFINITY;
    p.schedule[3] = -INFINITY;
    for (unsigned i = 0; i < 4; i++) ck_assert_double_eq(nna_backoff_base(&p, i), 0);
}
END_TEST

START_TEST(backoff_full_jitter_bounds)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    double just_below_1 = nextafter(1.0, 0.0);
    for (unsigned i = 0; i < 8; i++) {
        double base = i < 5 ? SCHEDULE[i] : 30;
        ck_assert_double_eq(nna_backoff_delay(&p, i, 0.0), 0);
        ck_assert_double_eq(nna_backoff_delay(&p, i, 0.5), base / 2);
        ck_assert_double_eq(nna_backoff_delay(&p, i, 0.25), base / 4);
        double top = nna_backoff_delay(&p, i, just_below_1);
        ck_assert_double_lt(top, base);
        ck_assert_double_gt(top, base * 0.999999);
        /* a misbehaving random source is clamped into [0, base) */
        ck_assert_double_lt(nna_backoff_delay(&p, i, 1.0), base);
        ck_assert_double_lt(nna_backoff_delay(&p, i, 7.0), base);
        ck_assert_double_lt(nna_backoff_delay(&p, i, INFINITY), base);
        ck_assert_double_eq(nna_backoff_delay(&p, i, -0.5), 0);
        ck_assert_double_eq(nna_backoff_delay(&p, i, NAN), 0);
        ck_assert_double_eq(nna_backoff_delay(&p, i, -INFINITY), 0);
    }
}
END_TEST

/* ---- Retry-After ------------------------------------------------------------------------ */

static double ra(const char *v, double date_hdr, double now, int want_ok)
{
    double s = 12345;
    int ok = nna_retry_after_parse(v, date_hdr, now, &s);
    ck_assert_msg(ok == want_ok, "Retry-After \"%s\": ok=%d want %d", v ? v : "(null)", ok,
                  want_ok);
    if (!ok) ck_assert_msg(s == -1, "unusable \"%s\" left seconds=%g", v ? v : "(null)", s);
    else ck_assert_msg(s >= 0 && isfinite(s), "usable \"%s\" gave %g", v, s);
    return s;
}

START_TEST(retry_after_delta_seconds)
{
    ck_assert_double_eq(ra("120", NAN, 0, 1), 120);
    ck_assert_double_eq(ra("0", NAN, 0, 1), 0);
    ck_assert_double_eq(ra("1", NAN, 0, 1), 1);
    ck_assert_double_eq(ra("1.5", NAN, 0, 1), 1.5);
    ck_assert_double_eq_tol(ra("0.25", NAN, 0, 1), 0.25, 1e-12);
    ck_assert_double_eq_tol(ra("2.000001", NAN, 0, 1), 2.000001, 1e-9);
    ck_assert_double_eq(ra("007", NAN, 0, 1), 7);
    ck_assert_double_eq(ra("000000000000000000000000005", NAN, 0, 1), 5);
    /* optional whitespace around, and only around */
    ck_assert_double_eq(ra(" 5", NAN, 0, 1), 5);
    ck_assert_double_eq(ra("5 ", NAN, 0, 1), 5);
    ck_assert_double_eq(ra("\t 7 \t", NAN, 0, 1), 7);
    /* delta-seconds ignore both clocks */
    ck_assert_double_eq(ra("30", 1e9, 2e9, 1), 30);
    /* the one-year limit: inclusive */
    ck_assert_double_eq(ra("31536000", NAN, 0, 1), YEAR_S);
    ra("31536001", NAN, 0, 0);
    ra("31536000.5", NAN, 0, 0);
}
END_TEST

START_TEST(retry_after_unusable)
{
    static const char *bad[] = {
        "", " ", "\t\t", "-1", "-0", "+5", "1e9", "1E3", "NaN", "nan", "inf", "Infinity",
        "-inf", "1.", ".5", "1.5.2", "1..5", "5s", "5 5", "0x10", "1,5", "١",
        "99999999999999999999", "184467440737095516160000",
        "1000000000000000000000000000000000000000000000000000000000000000000000000000",
        "\n5", "5\r\n", "5\n", "\v5", "soon", "Sun", "Sun, 06 Nov 1994", "abc 5",
        /* dates that are malformed */
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT+1",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) ra(bad[i], T_1994, T_1994, 0);
    ra(NULL, NAN, 0, 0);
    /* NULL output: unusable, no crash */
    ck_assert_int_eq(nna_retry_after_parse("5", NAN, 0, NULL), 0);
    /* a very long value of valid characters is still refused (and not overrun) */
    char longdate[300];
    for (size_t i = 0; i < sizeof longdate - 1; i++) longdate[i] = 'S';
    longdate[sizeof longdate - 1] = '\0';
    ra(longdate, T_1994, T_1994, 0);
}
END_TEST

START_TEST(retry_after_http_date_forms)
{
    /* IMF-fixdate, RFC 850 and asctime, 60 s after the Date header */
    ck_assert_double_eq(ra("Sun, 06 Nov 1994 08:50:37 GMT", T_1994, T_1994, 1), 60);
    ck_assert_double_eq(ra("Sunday, 06-Nov-94 08:50:37 GMT", T_1994, T_1994, 1), 60);
    ck_assert_double_eq(ra("Sun Nov  6 08:50:37 1994", T_1994, T_1994, 1), 60);
    /* OWS around a date is fine */
    ck_assert_double_eq(ra("  Sun, 06 Nov 1994 08:49:47 GMT\t", T_1994, T_1994, 1), 10);
    /* across a day and a year boundary */
    ck_assert_double_eq(ra("Thu, 01 Jan 2026 00:00:05 GMT", 1767225595.0, 0, 1), 10);
}
END_TEST

START_TEST(retry_after_date_against_server_clock)
{
    const char *v = "Sun, 06 Nov 1994 08:50:37 GMT";
    /* client clock an hour fast or slow: the server's Date header decides */
    ck_assert_double_eq(ra(v, T_1994, T_1994 + 3600, 1), 60);
    ck_assert_double_eq(ra(v, T_1994, T_1994 - 3600, 1), 60);
    /* no usable Date header: measured against now */
    ck_assert_double_eq(ra(v, NAN, T_1994, 1), 60);
    ck_assert_double_eq(ra(v, INFINITY, T_1994 + 30, 1), 30);
    ck_assert_double_eq(ra(v, -INFINITY, T_1994 - 40, 1), 100);
    /* no clock at all: unusable */
    ra(v, NAN, NAN, 0);
    ra(v, NAN, INFINITY, 0);
}
END_TEST

START_TEST(retry_after_past_and_far_dates)
{
    /* a past date means "retry now" (usable, 0) */
    ck_assert_double_eq(ra("Sun, 06 Nov 1994 08:49:36 GMT", T_1994, T_1994, 1), 0);
    ck_assert_double_eq(ra("Thu, 01 Jan 1970 00:00:00 GMT", T_1994, T_1994, 1), 0);
    ck_assert_double_eq(ra("Sun, 06 Nov 1994 08:49:37 GMT", T_1994, T_1994, 1), 0);
    /* exactly a year ahead is still usable, beyond is not */
    ck_assert_double_eq(ra("Mon, 06 Nov 1995 08:49:37 GMT", T_1994, T_1994, 1), YEAR_S);
    ra("Mon, 06 Nov 1995 08:49:38 GMT", T_1994, T_1994, 0);
    ra("Fri, 31 Dec 9999 23:59:59 GMT", T_1994, T_1994, 0);
}
END_TEST

/* ---- the decision ------------------------------------------------------------------------ */

static nna_retry_decision decide(nna_retry_class cls, unsigned attempts, unsigned rate,
                                 unsigned unsent, double retry_after, double remaining,
                                 double u01)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    nna_retry_state st = {attempts, rate, unsent};
    nna_retry_decision d = nna_retry_decide(&p, &st, cls, retry_after, remaining, u01);
    ck_assert_msg(d.delay >= 0 && isfinite(d.delay), "delay %g", d.delay);
    return d;
}

START_TEST(decide_ok_and_fatal)
{
    nna_retry_decision d = decide(NNA_RC_OK, 1, 0, 0, -1, INFINITY, 0.5);
    ck_decision(d, 0, NNA_OK);
    d = decide(NNA_RC_FATAL, 1, 0, 0, 5, INFINITY, 0.5);
    ck_decision(d, 0, NNA_EHTTP_4XX);
    d = decide((nna_retry_class)99, 1, 0, 0, 5, INFINITY, 0.5);
    ck_assert_int_eq(d.retry, 0);
}
END_TEST

START_TEST(decide_server_schedule_and_exhaustion)
{
    /* attempt n failed (n = 1..4): retry index n-1 with full jitter */
    for (unsigned n = 1; n < 5; n++) {
        nna_retry_decision d = decide(NNA_RC_SERVER, n, 0, 0, -1, INFINITY, 0.5);
        ck_decision(d, 1, NNA_OK);
        ck_assert_double_eq(d.delay, SCHEDULE[n - 1] / 2);
        d = decide(NNA_RC_NETWORK, n, 0, 0, -1, INFINITY, 0.999);
        ck_decision(d, 1, NNA_OK);
        ck_assert_double_eq(d.delay, SCHEDULE[n - 1] * 0.999);
        d = decide(NNA_RC_SERVER, n, 0, 0, -1, INFINITY, 0.0);
        ck_assert_double_eq(d.delay, 0);
    }
    /* the fifth attempt is the last */
    ck_decision(decide(NNA_RC_SERVER, 5, 0, 0, -1, INFINITY, 0.5), 0, NNA_ESERVER);
    ck_decision(decide(NNA_RC_NETWORK, 5, 0, 0, -1, INFINITY, 0.5), 0, NNA_ENETWORK);
    ck_decision(decide(NNA_RC_SERVER, 6, 0, 0, -1, INFINITY, 0.5), 0, NNA_ESERVER);
    /* Retry-After on a 5xx does not change the back-off */
    nna_retry_decision d = decide(NNA_RC_SERVER, 1, 0, 0, 50, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 0.5);
    /* 0 attempts (caller bug) behaves like the first */
    d = decide(NNA_RC_SERVER, 0, 0, 0, -1, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 0.5);
}
END_TEST

/* The pipeline's loop: a server that always fails gets exactly max_attempts attempts. */
START_TEST(decide_loop_spends_exactly_max_attempts)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    for (unsigned max = 1; max <= 7; max++) {
        p.max_attempts = max;
        nna_retry_state st = {0, 0, 0};
        double slept = 0;
        for (;;) {
            st.server_attempts++; /* an attempt reaches the server and gets a 503 */
            nna_retry_decision d = nna_retry_decide(&p, &st, NNA_RC_SERVER, -1, INFINITY, 0.5);
            if (!d.retry) {
                ck_assert_int_eq(d.status, NNA_ESERVER);
                break;
            }
            slept += d.delay;
        }
        ck_assert_uint_eq(st.server_attempts, max);
        double want = 0;
        for (unsigned i = 0; i + 1 < max; i++) want += nna_backoff_base(&p, i) / 2;
        ck_assert_double_eq(slept, want);
    }
}
END_TEST

START_TEST(decide_deadline_cuts)
{
    /* delay 0.5 * 2 = 1 s for the second retry */
    ck_decision(decide(NNA_RC_SERVER, 2, 0, 0, -1, 1.0, 0.5), 1, NNA_OK);
    ck_decision(decide(NNA_RC_SERVER, 2, 0, 0, -1, 0.999, 0.5), 0, NNA_EDEADLINE);
    ck_decision(decide(NNA_RC_NETWORK, 2, 0, 0, -1, 0.5, 0.5), 0, NNA_EDEADLINE);
    ck_decision(decide(NNA_RC_UNSENT, 2, 0, 1, -1, 0.5, 0.5), 0, NNA_EDEADLINE);
    ck_decision(decide(NNA_RC_SERVER, 2, 0, 0, -1, 0, 0.5), 0, NNA_EDEADLINE);
    ck_decision(decide(NNA_RC_SERVER, 2, 0, 0, -1, -5, 0.5), 0, NNA_EDEADLINE);
    ck_decision(decide(NNA_RC_SERVER, 2, 0, 0, -1, NAN, 0.5), 0, NNA_EDEADLINE);
    /* a zero delay fits in zero time */
    ck_decision(decide(NNA_RC_SERVER, 2, 0, 0, -1, 0, 0.0), 1, NNA_OK);
    /* 429: the deadline ends it as rate limited, not as a deadline */
    ck_decision(decide(NNA_RC_RATE, 1, 0, 0, 10, 9.99, 0.5), 0, NNA_ERATE_LIMITED);
    ck_decision(decide(NNA_RC_RATE, 1, 0, 0, 10, 10, 0.5), 1, NNA_OK);
    ck_decision(decide(NNA_RC_RATE, 1, 0, 0, -1, 0.1, 0.5), 0, NNA_ERATE_LIMITED);
    ck_decision(decide(NNA_RC_RATE, 1, 0, 0, -1, NAN, 0.5), 0, NNA_ERATE_LIMITED);
}
END_TEST

START_TEST(decide_rate_limited)
{
    nna_retry_decision d;
    /* Retry-After longer than the jittered base wins */
    d = decide(NNA_RC_RATE, 1, 0, 0, 10, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 10);
    /* the back-off does not escalate on top of a Retry-After (issue 11): still 2 s */
    d = decide(NNA_RC_RATE, 1, 3, 0, 2, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 2);
    /* close calls: the larger of the two, exactly */
    d = decide(NNA_RC_RATE, 1, 0, 0, 0.75, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 0.75);
    d = decide(NNA_RC_RATE, 1, 0, 0, 0.25, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 0.5);
    /* Retry-After 0 (a past date) still waits the jittered base */
    d = decide(NNA_RC_RATE, 1, 0, 0, 0, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 0.5);
    /* absent/unusable Retry-After: plain back-off for this rate retry */
    for (unsigned r = 0; r < 8; r++) {
        d = decide(NNA_RC_RATE, 1, r, 0, -1, INFINITY, 0.5);
        ck_decision(d, 1, NNA_OK);
        ck_assert_double_eq(d.delay, (r < 5 ? SCHEDULE[r] : 30) / 2);
    }
    d = decide(NNA_RC_RATE, 1, 0, 0, NAN, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 0.5);
    /* capped at max_retry_after */
    d = decide(NNA_RC_RATE, 1, 0, 0, 120, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 60);
    d = decide(NNA_RC_RATE, 1, 0, 0, INFINITY, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 60);
    /* 429s spend attempts like any other answer (issue 11) */
    d = decide(NNA_RC_RATE, 4, 3, 0, 1, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    d = decide(NNA_RC_RATE, 5, 0, 0, 1, INFINITY, 0.5);
    ck_decision(d, 0, NNA_ERATE_LIMITED);
    /* the rate retry budget: 20 */
    ck_decision(decide(NNA_RC_RATE, 1, 19, 0, 1, INFINITY, 0.5), 1, NNA_OK);
    ck_decision(decide(NNA_RC_RATE, 1, 20, 0, 1, INFINITY, 0.5), 0, NNA_ERATE_LIMITED);
    ck_decision(decide(NNA_RC_RATE, 1, 21, 0, 1, INFINITY, 0.5), 0, NNA_ERATE_LIMITED);
}
END_TEST

START_TEST(decide_rate_cap_variants)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    nna_retry_state st = {1, 0, 0};
    /* no cap */
    p.max_retry_after = INFINITY;
    nna_retry_decision d = nna_retry_decide(&p, &st, NNA_RC_RATE, 3600, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 3600);
    /* ...but never an infinite sleep */
    d = nna_retry_decide(&p, &st, NNA_RC_RATE, INFINITY, INFINITY, 0.5);
    ck_decision(d, 0, NNA_ERATE_LIMITED);
    /* a cap of 0 means "retry at once" */
    p.max_retry_after = 0;
    d = nna_retry_decide(&p, &st, NNA_RC_RATE, 30, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 0);
    /* the cap applies to the jittered base as well */
    p.max_retry_after = 0.2;
    d = nna_retry_decide(&p, &st, NNA_RC_RATE, -1, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 0.2);
    /* a garbage cap is ignored */
    p.max_retry_after = NAN;
    d = nna_retry_decide(&p, &st, NNA_RC_RATE, 100, INFINITY, 0.5);
    ck_assert_double_eq(d.delay, 100);
    p.max_rate_retries = 0;
    ck_decision(nna_retry_decide(&p, &st, NNA_RC_RATE, 1, INFINITY, 0.5), 0,
                NNA_ERATE_LIMITED);
}
END_TEST

START_TEST(decide_null_arguments)
{
    nna_retry_state st = {1, 0, 0};
    nna_retry_decision d = nna_retry_decide(NULL, &st, NNA_RC_SERVER, -1, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 0.5);
    d = nna_retry_decide(NULL, NULL, NNA_RC_UNSENT, -1, INFINITY, 0.5);
    ck_decision(d, 1, NNA_OK);
    ck_assert_double_eq(d.delay, 0.5);
}
END_TEST

/* Whatever goes in, a decision never asks for a negative, NaN or infinite sleep, never
 * exceeds the deadline, and a non-retry never says OK unless the class was OK. */
START_TEST(decide_property_sweep)
{
    static const double odd[] = {-1, 0, 0.5, 1, 59.9, 60, 1e9, INFINITY, -INFINITY, NAN};
    nna_rng r;
    nna_rng_seed(&r, 42);
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    for (int i = 0; i < 20000; i++) {
        nna_retry_state st = {(unsigned)(nna_rng_next(&r) % 8), (unsigned)(nna_rng_next(&r) % 24),
                              (unsigned)(nna_rng_next(&r) % 12)};
        nna_retry_class cls = (nna_retry_class)(nna_rng_next(&r) % 6);
        double retry_after = odd[nna_rng_next(&r) % 10];
        double remaining = odd[nna_rng_next(&r) % 10];
        double u = (i % 7 == 0) ? odd[nna_rng_next(&r) % 10] : nna_rng_uniform(&r);
        nna_retry_decision d = nna_retry_decide(&p, &st, cls, retry_after, remaining, u);
        ck_assert(d.delay >= 0 && isfinite(d.delay));
        if (d.retry) {
            ck_assert(d.delay <= remaining);
            ck_assert(d.delay <= 60);
            ck_assert_int_eq(d.status, NNA_OK);
        } else if (cls != NNA_RC_OK) {
            ck_assert_int_ne(d.status, NNA_OK);
            ck_assert(nna_strerror(d.status) != NULL);
        }
    }
}
END_TEST

/* ---- rng ---------------------------------------------------------------------------------- */

START_TEST(rng_known_values)
{
    /* splitmix64 reference outputs for seed 0 and 1234567 */
    nna_rng r;
    nna_rng_seed(&r, 0);
    ck_assert_uint_eq(nna_rng_next(&r), 0xe220a8397b1dcdafULL);
    ck_assert_uint_eq(nna_rng_next(&r), 0x6e789e6aa1b965f4ULL);
    ck_assert_uint_eq(nna_rng_next(&r), 0x06c45d188009454fULL);
    nna_rng_seed(&r, 1234567);
    ck_assert_uint_eq(nna_rng_next(&r), 6457827717110365317ULL);
    ck_assert_uint_eq(nna_rng_next(&r), 3203168211198807973ULL);
    ck_assert_uint_eq(nna_rng_next(NULL), 0);
    nna_rng_seed(NULL, 1);
}
END_TEST

START_TEST(rng_uniform_range_and_replay)
{
    nna_rng a, b;
    nna_rng_seed(&a, 99);
    nna_rng_seed(&b, 99);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = nna_rng_uniform(&a);
        ck_assert(u >= 0 && u < 1);
        ck_assert(u == nna_rng_uniform(&b));
        sum += u;
    }
    ck_assert_double_eq_tol(sum / 100000, 0.5, 0.01);
    /* the largest possible output still lies below 1 */
    nna_rng_seed(&a, 0);
    ck_assert_double_lt((double)(UINT64_MAX >> 11) * 0x1.0p-53, 1.0);
}
END_TEST

START_TEST(rng_os_seed_varies)
{
    uint64_t s1 = nna_rng_os_seed(), s2 = nna_rng_os_seed(), s3 = nna_rng_os_seed();
    ck_assert(!(s1 == s2 && s2 == s3));
}
END_TEST

static Suite *retry_suite(void)
{
    Suite *s = suite_create("retry");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, policy_defaults);
    tcase_add_test(tc, classify_table);
    tcase_add_test(tc, backoff_schedule_exact);
    tcase_add_test(tc, backoff_custom_and_corrupt_schedules);
    tcase_add_test(tc, backoff_full_jitter_bounds);
    suite_add_tcase(s, tc);

    tc = tcase_create("retry_after");
    tcase_add_test(tc, retry_after_delta_seconds);
    tcase_add_test(tc, retry_after_unusable);
    tcase_add_test(tc, retry_after_http_date_forms);
    tcase_add_test(tc, retry_after_date_against_server_clock);
    tcase_add_test(tc, retry_after_past_and_far_dates);
    suite_add_tcase(s, tc);

    tc = tcase_create("decide");
    tcase_add_test(tc, decide_ok_and_fatal);
    tcase_add_test(tc, decide_server_schedule_and_exhaustion);
    tcase_add_test(tc, decide_loop_spends_exactly_max_attempts);
    tcase_add_test(tc, decide_deadline_cuts);
    tcase_add_test(tc, decide_rate_limited);
    tcase_add_test(tc, decide_rate_cap_variants);
    tcase_add_test(tc, decide_null_arguments);
    tcase_add_test(tc, decide_property_sweep);
    suite_add_tcase(s, tc);

    tc = tcase_create("rng");
    tcase_add_test(tc, rng_known_values);
    tcase_add_test(tc, rng_uniform_range_and_replay);
    tcase_add_test(tc, rng_os_seed_varies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(retry_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
