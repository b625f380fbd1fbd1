/* Failure classification and the attempt budget (issues 11, 13, 17), pure functions:
 * every attempt counts toward max_attempts whatever ended it (429, refused connection,
 * 5xx, reset); a Retry-After is the wait, the back-off does not escalate on top of it;
 * redirects and permanent local failures are never retried. */
#include <check.h>
#include <math.h>
#include "retry.h"

#define ck_decision(d, want_retry, want_status)                                            \
    do {                                                                                   \
        nna_retry_decision d_ = (d);                                                       \
        ck_assert_msg(d_.retry == (want_retry) && d_.status == (want_status),              \
                      "retry=%d status=%s, want retry=%d status=%s", d_.retry,             \
                      nna_status_name(d_.status), (want_retry), nna_status_name(want_status)); \
    } while (0)

/* The pipeline's loop (pipeline.c after_failure): an attempt ends with `cls`, the attempt
 * counter goes up, the decision is asked, the counters of the retry go up. Returns the
 * number of attempts made before the decision said stop; *status and *slept report how. */
static unsigned loop(const nna_retry_policy *p, nna_retry_class cls, double retry_after,
                     double u01, nna_status *status, double *slept)
{
    nna_retry_state st = {0, 0, 0};
    *slept = 0;
    for (;;) {
        st.server_attempts++;
        nna_retry_decision d = nna_retry_decide(p, &st, cls, retry_after, INFINITY, u01);
        if (!d.retry) {
            *status = d.status;
            return st.server_attempts;
        }
        *slept += d.delay;
        if (cls == NNA_RC_RATE) st.rate_retries++;
        if (cls == NNA_RC_UNSENT) st.unsent_retries++;
        ck_assert_uint_lt(st.server_attempts, 1000);
    }
}

/* Issue 11: `--max-attempts 2` against a server that always answers 429 with
 * Retry-After: 1 sends two requests and waits about 1 s, then NNA_ERATE_LIMITED. */
START_TEST(rate_limited_forever_spends_max_attempts)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    for (unsigned max = 1; max <= 8; max++) {
        p.max_attempts = max;
        nna_status st;
        double slept;
        unsigned n = loop(&p, NNA_RC_RATE, 1.0, 0.9, &st, &slept);
        ck_assert_uint_eq(n, max);
        ck_assert_int_eq(st, NNA_ERATE_LIMITED);
        /* each pause is the Retry-After, not 1 → 2 → 5 → 10 s of back-off on top */
        ck_assert_double_eq_tol(slept, (double)(max - 1), 1e-9);
    }
    /* max_rate_retries is a sub-limit: the smaller of the two decides */
    p.max_attempts = 10;
    p.max_rate_retries = 2;
    nna_status st;
    double slept;
    ck_assert_uint_eq(loop(&p, NNA_RC_RATE, 1.0, 0.5, &st, &slept), 3);
    ck_assert_int_eq(st, NNA_ERATE_LIMITED);
}
END_TEST

/* The pause after a 429 follows the Retry-After, whatever retry it is (seen: 4.4 s after a
 * "Retry-After: 1" on the third 429). */
START_TEST(rate_pause_follows_retry_after)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    p.max_attempts = 50;
    for (unsigned r = 0; r < 20; r++) {
        nna_retry_state st = {r + 1, r, 0};
        for (double u = 0; u < 1; u += 0.125) {
            nna_retry_decision d = nna_retry_decide(&p, &st, NNA_RC_RATE, 1.0, INFINITY, u);
            ck_decision(d, 1, NNA_OK);
            ck_assert_double_eq(d.delay, 1.0);
            d = nna_retry_decide(&p, &st, NNA_RC_RATE, 7.5, INFINITY, u);
            ck_assert_double_eq(d.delay, 7.5);
        }
        /* "Retry-After: 0": no busy loop, the first back-off step (jittered) */
        nna_retry_decision d = nna_retry_decide(&p, &st, NNA_RC_RATE, 0, INFINITY, 0.5);
        ck_assert_double_eq(d.delay, 0.5);
    }
}
END_TEST

/* Issue 13: a refused connection is an attempt with the normal back-off: max_attempts
 * tries, not 1 + 10 "free" ones, and the sleeps are the schedule's. */
START_TEST(refused_connections_spend_attempts)
{
    nna_retry_policy p;
    nna_retry_policy_init(&p);
    nna_status st;
    double slept;
    ck_assert_uint_eq(loop(&p, NNA_RC_UNSENT, -1, 0.5, &st, &slept), 5);
    ck_assert_int_eq(st, NNA_ENETWORK);
    ck_assert_double_eq(slept, (1 + 2 + 5 + 10) / 2.0);
    p.max_attempts = 1;
    ck_assert_uint_eq(loop(&p, NNA_RC_UNSENT, -1, 0.5, &st, &slept), 1);
    ck_assert_int_eq(st, NNA_ENETWORK);
    ck_assert_double_eq(slept, 0);

    /* refused connections mixed with 503s: the attempts are shared */
    nna_retry_policy_init(&p);
    nna_retry_state rs = {0, 0, 0};
    unsigned tries = 0;
    for (;;) {
        nna_retry_class cls = tries % 2 ? NNA_RC_SERVER : NNA_RC_UNSENT;
        tries++;
        rs.server_attempts++;
        nna_retry_decision d = nna_retry_decide(&p, &rs, cls, -1, INFINITY, 0.3);
        if (!d.retry) break;
    }
    ck_assert_uint_eq(tries, 5);
}
END_TEST

/* Issue 17 items 4 and 5: a redirect and a permanent local failure end at once. */
START_TEST(redirects_and_permanent_failures_are_not_retried)
{
    static const long codes[] = {300, 301, 302, 303, 304, 307, 308, 399};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ck_assert_int_eq(nna_retry_classify(codes[i], 1), NNA_RC_FATAL);
        ck_assert_int_eq(nna_status_from_http(codes[i]), NNA_EREDIRECT);
    }
    ck_assert_int_eq(nna_retry_classify(100, 1), NNA_RC_SERVER);
    ck_assert_int_eq(nna_retry_classify(500, 1), NNA_RC_SERVER);
    ck_assert_int_eq(nna_status_from_http(500), NNA_ESERVER);
    ck_assert_int_eq(nna_status_from_http(404), NNA_ENOT_FOUND);

    nna_retry_policy p;
    nna_retry_policy_init(&p);
    nna_retry_state st = {1, 0, 0};
    ck_decision(nna_retry_decide(&p, &st, NNA_RC_PERMANENT, -1, INFINITY, 0.5), 0, NNA_EINVAL);
    ck_decision(nna_retry_decide(&p, &st, NNA_RC_PERMANENT, 1, INFINITY, 0.0), 0, NNA_EINVAL);

    /* the new codes: not retryable, with text and a name */
    ck_assert(!nna_status_retryable(NNA_EREDIRECT));
    ck_assert(!nna_status_retryable(NNA_EURL));
    ck_assert_str_eq(nna_status_name(NNA_EREDIRECT), "NNA_EREDIRECT");
    ck_assert_str_eq(nna_status_name(NNA_EURL), "NNA_EURL");
    ck_assert_str_ne(nna_strerror(NNA_EURL), "unknown status");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("failclass");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, rate_limited_forever_spends_max_attempts);
    tcase_add_test(tc, rate_pause_follows_retry_after);
    tcase_add_test(tc, refused_connections_spend_attempts);
    tcase_add_test(tc, redirects_and_permanent_failures_are_not_retried);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
