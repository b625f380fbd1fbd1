/* Token bucket and retry budget on a fake clock (plain numbers, no sleeping). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tokenbucket.h"

/* ---- token bucket ----------------------------------------------------------------------- */

START_TEST(tb_starts_full_and_drains)
{
    nna_token_bucket tb;
    nna_tb_init(&tb, 2, 3, 100);
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq(nna_tb_wait(&tb, 100), 0);
        ck_assert_int_eq(nna_tb_take(&tb, 100), 1);
    }
    ck_assert_int_eq(nna_tb_take(&tb, 100), 0);
    ck_assert_double_eq(nna_tb_wait(&tb, 100), 0.5); /* 1 token at 2/s */
    ck_assert_double_eq_tol(nna_tb_wait(&tb, 100.2), 0.3, 1e-9);
    ck_assert_int_eq(nna_tb_take(&tb, 100.2), 0);
    ck_assert_int_eq(nna_tb_take(&tb, 100.5), 1);
    ck_assert_int_eq(nna_tb_take(&tb, 100.5), 0);
}
END_TEST

START_TEST(tb_refill_is_capped_at_burst)
{
    nna_token_bucket tb;
    nna_tb_init(&tb, 10, 5, 0);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(nna_tb_take(&tb, 0), 1);
    /* an hour idle earns only `burst` tokens */
    int n = 0;
    while (nna_tb_take(&tb, 3600)) n++;
    ck_assert_int_eq(n, 5);
    ck_assert_double_eq_tol(nna_tb_wait(&tb, 3600), 0.1, 1e-12);
}
END_TEST

/* Waiting exactly what nna_tb_wait says must yield a token, even when 1/rate is not
 * representable: otherwise the caller spins on ever-smaller waits. */
START_TEST(tb_wait_then_take_always_succeeds)
{
    static const double rates[] = {3, 7, 0.3, 1e-3, 1e6, 13.37};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        nna_token_bucket tb;
        double now = 1000.123;
        nna_tb_init(&tb, rates[r], 1, now);
        int taken = 0;
        for (int i = 0; i < 2000; i++) {
            double w = nna_tb_wait(&tb, now);
            if (!(w >= 0 && w <= 1.0 / rates[r] * (1 + 1e-9)))
                ck_abort_msg("rate %g: wait %g", rates[r], w);
            now += w;
            if (!nna_tb_take(&tb, now)) ck_abort_msg("rate %g: no token after wait", rates[r]);
            taken++;
        }
        /* and the long-run rate is the configured one */
        ck_assert_double_eq_tol((now - 1000.123) * rates[r], taken - 1, 1e-3 * taken);
    }
}
END_TEST

START_TEST(tb_rate_change_keeps_earned_tokens)
{
    nna_token_bucket tb;
    nna_tb_init(&tb, 1, 10, 0);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(nna_tb_take(&tb, 0), 1);
    /* 2 s at 1/s earned 2 tokens; then 10/s */
    nna_tb_set_rate(&tb, 10, 2);
    ck_assert_double_eq_tol(tb.tokens, 2, 1e-12);
    ck_assert_int_eq(nna_tb_take(&tb, 2), 1);
    ck_assert_int_eq(nna_tb_take(&tb, 2), 1);
    ck_assert_int_eq(nna_tb_take(&tb, 2), 0);
    ck_assert_double_eq_tol(nna_tb_wait(&tb, 2), 0.1, 1e-12);
    ck_assert_int_eq(nna_tb_take(&tb, 2.1), 1);
    /* slowing down: the time before the change still counts at the old rate */
    nna_tb_set_rate(&tb, 0.5, 2.5); /* 0.4 s at 10/s earned 4 */
    ck_assert_double_eq_tol(tb.tokens, 4, 1e-9);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(nna_tb_take(&tb, 2.5), 1);
    ck_assert_int_eq(nna_tb_take(&tb, 2.5), 0);
    ck_assert_double_eq_tol(nna_tb_wait(&tb, 2.5), 2, 1e-9);
}
END_TEST

START_TEST(tb_unlimited)
{
    static const double unlimited[] = {0, -1, -INFINITY, NAN, INFINITY};
    for (size_t r = 0; r < sizeof unlimited / sizeof unlimited[0]; r++) {
        nna_token_bucket tb;
        nna_tb_init(&tb, unlimited[r], 1, 0);
        for (int i = 0; i < 1000; i++) {
            ck_assert_double_eq(nna_tb_wait(&tb, 0), 0);
            ck_assert_int_eq(nna_tb_take(&tb, 0), 1);
        }
    }
    /* limited → unlimited → limited: the bucket comes back full */
    nna_token_bucket tb;
    nna_tb_init(&tb, 1, 4, 0);
    for (int i = 0; i < 4; i++) nna_tb_take(&tb, 0);
    ck_assert_int_eq(nna_tb_take(&tb, 0), 0);
    nna_tb_set_rate(&tb, 0, 0);
    ck_assert_int_eq(nna_tb_take(&tb, 0), 1);
    nna_tb_set_rate(&tb, 1, 0);
    int n = 0;
    while (nna_tb_take(&tb, 0)) n++;
    ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(tb_odd_inputs)
{
    nna_token_bucket tb;
    /* burst below 1, NaN or infinite: 1 */
    static const double bursts[] = {0, 0.5, -3, NAN, INFINITY};
    for (size_t i = 0; i < sizeof bursts / sizeof bursts[0]; i++) {
        nna_tb_init(&tb, 1, bursts[i], 0);
        ck_assert_double_eq(tb.burst, 1);
        ck_assert_int_eq(nna_tb_take(&tb, 0), 1);
        ck_assert_int_eq(nna_tb_take(&tb, 0), 0);
    }
    /* a clock going backwards earns nothing, and does not double-count later */
    nna_tb_init(&tb, 1, 1, 10);
    ck_assert_int_eq(nna_tb_take(&tb, 10), 1);
    ck_assert_int_eq(nna_tb_take(&tb, 5), 0);
    ck_assert_double_eq(nna_tb_wait(&tb, 5), 1);
    ck_assert_int_eq(nna_tb_take(&tb, 10.5), 0);
    ck_assert_int_eq(nna_tb_take(&tb, 11), 1);
    /* non-finite clock readings are ignored */
    ck_assert_int_eq(nna_tb_take(&tb, NAN), 0);
    ck_assert_int_eq(nna_tb_take(&tb, INFINITY), 0);
    ck_assert_int_eq(nna_tb_take(&tb, 12), 1);
    nna_tb_init(&tb, 1, 1, NAN);
    ck_assert_int_eq(nna_tb_take(&tb, 3), 1);
    /* NULL is harmless */
    nna_tb_init(NULL, 1, 1, 0);
    nna_tb_set_rate(NULL, 1, 0);
    ck_assert_double_eq(nna_tb_wait(NULL, 0), 0);
    ck_assert_int_eq(nna_tb_take(NULL, 0), 0);
}
END_TEST

/* ---- retry budget ----------------------------------------------------------------------- */

static int spend_all(nna_retry_budget *b, double now)
{
    int n = 0;
    while (n < 100000 && nna_budget_try_spend(b, now)) n++;
    return n;
}

START_TEST(budget_starts_full_at_cap)
{
    nna_retry_budget b;
    nna_budget_init(&b, 0.1, 1.0, 20, 0);
    ck_assert_int_eq(spend_all(&b, 0), 20);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0), 0);
}
END_TEST

START_TEST(budget_ratio_of_requests)
{
    nna_retry_budget b;
    nna_budget_init(&b, 0.1, 1.0, 20, 0);
    spend_all(&b, 0);
    /* 9 first attempts earn 0.9: not yet a retry; the 10th makes one */
    for (int i = 0; i < 9; i++) nna_budget_on_request(&b, 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0), 0);
    nna_budget_on_request(&b, 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0), 1);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0), 0);
    /* 100 requests → 10 retries */
    for (int i = 0; i < 100; i++) nna_budget_on_request(&b, 0);
    ck_assert_int_eq(spend_all(&b, 0), 10);
}
END_TEST

START_TEST(budget_floor_per_second)
{
    nna_retry_budget b;
    nna_budget_init(&b, 0.1, 1.0, 20, 0);
    spend_all(&b, 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0.5), 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, 1.0), 1);
    ck_assert_int_eq(nna_budget_try_spend(&b, 1.0), 0);
    ck_assert_int_eq(spend_all(&b, 4.0), 3);
    /* floor and ratio add up: 0.5 s + 5 requests = 1 token */
    nna_budget_init(&b, 0.1, 1.0, 20, 0);
    spend_all(&b, 0);
    for (int i = 0; i < 5; i++) nna_budget_on_request(&b, 0.25);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0.4), 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, 0.5), 1);
}
END_TEST

START_TEST(budget_cap)
{
    nna_retry_budget b;
    nna_budget_init(&b, 0.1, 1.0, 20, 0);
    spend_all(&b, 0);
    ck_assert_int_eq(spend_all(&b, 1e6), 20); /* idle for days: still only the cap */
    for (int i = 0; i < 10000; i++) nna_budget_on_request(&b, 1e6);
    ck_assert_int_eq(spend_all(&b, 1e6), 20); /* a flood of requests: only the cap */
    nna_budget_init(&b, 0.5, 0, 3, 0);
    ck_assert_int_eq(spend_all(&b, 0), 3);
    for (int i = 0; i < 100; i++) nna_budget_on_request(&b, 0);
    ck_assert_int_eq(spend_all(&b, 10), 3);
}
END_TEST

START_TEST(budget_zero_and_odd_params)
{
    nna_retry_budget b;
    /* no ratio, no floor: only the initial cap, then nothing, forever */
    nna_budget_init(&b, 0, 0, 2, 0);
    ck_assert_int_eq(spend_all(&b, 0), 2);
    for (int i = 0; i < 100; i++) nna_budget_on_request(&b, i);
    ck_assert_int_eq(spend_all(&b, 1e9), 0);
    /* cap 0: never a retry */
    nna_budget_init(&b, 0.1, 1, 0, 0);
    ck_assert_int_eq(spend_all(&b, 100), 0);
    /* garbage parameters take the defaults */
    nna_budget_init(&b, NAN, -1, INFINITY, 0);
    ck_assert_double_eq(b.ratio, 0.1);
    ck_assert_double_eq(b.floor_per_s, 1.0);
    ck_assert_double_eq(b.cap, 20);
    ck_assert_int_eq(spend_all(&b, 0), 20);
    /* clock backwards / non-finite: nothing earned */
    ck_assert_int_eq(nna_budget_try_spend(&b, -50), 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, NAN), 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, INFINITY), 0);
    ck_assert_int_eq(nna_budget_try_spend(&b, 1), 1);
    /* NULL is harmless */
    nna_budget_init(NULL, 0.1, 1, 20, 0);
    nna_budget_on_request(NULL, 0);
    ck_assert_int_eq(nna_budget_try_spend(NULL, 0), 0);
}
END_TEST


/* ---- the pacer's 429s without a pause ---------------------------------------------------- */

/* A server bucket (rate R, burst B) answering at once. */
typedef struct server { double R, B, tok, last; } server;

static int server_takes(server *sv, double now)
{
    sv->tok += (now - sv->last) * sv->R;
    if (sv->tok > sv->B) sv->tok = sv->B;
    sv->last = now;
    if (sv->tok < 1) return 0;
    sv->tok -= 1;
    return 1;
}

/* Sends paced by p into sv from *now until `until` or the first 429 (returned: its id, or
 * UINT64_MAX); *ok counts the accepted ones. */
static uint64_t paced_until_429(nna_pacer *p, server *sv, double *now, double until,
                                unsigned *ok)
{
    while (*now < until) {
        *now += nna_pacer_wait(p, *now);
        uint64_t id = nna_pacer_sent(p, *now, 1);
        if (!server_takes(sv, *now)) {
            nna_pacer_result(p, id, 1);
            return id;
        }
        (*ok)++;
    }
    return UINT64_MAX;
}

/* The first 429 pauses (nothing is known); after it the ramp's first 429 is absorbed and
 * paces at about the server's rate, and the one after that pins the rate below it. */
START_TEST(pacer_absorbs_the_ramps_429)
{
    server sv = { 400, 20, 20, 0 };
    nna_pacer p;
    nna_pacer_init(&p, 0, 0);
    double now = 0;
    unsigned ok = 0;
    uint64_t first = UINT64_MAX;
    for (int i = 0; i < 40; i++, now += 0.00005) {
        uint64_t id = nna_pacer_sent(&p, now, 1);
        if (server_takes(&sv, now)) { ok++; continue; }
        nna_pacer_result(&p, id, 1);
        if (first == UINT64_MAX) first = id;
    }
    ck_assert_uint_eq(ok, 20);
    ck_assert_int_eq(nna_pacer_rejected(&p, first, 1, now), 0); /* unknown limit: pause */
    now = 1.05;
    nna_pacer_reopen(&p, now);
    ck_assert_int_eq(p.mode, NNA_PACER_RAMP);
    uint64_t id = paced_until_429(&p, &sv, &now, 5, &ok);
    ck_assert(id != UINT64_MAX);
    ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 1);
    ck_assert_int_eq(p.mode, NNA_PACER_KNOWN);
    ck_assert_msg(p.learned > 0.9 * sv.R && p.learned <= sv.R, "learned %.1f", p.learned);
    ck_assert_msg(p.rate > 0.95 * sv.R && p.rate < 1.05 * sv.R, "rate %.1f", p.rate);
    /* the next send waits a few sends' worth: the server's bucket is empty */
    ck_assert(nna_pacer_wait(&p, now) > 2.5 / p.rate);
    /* paced: at most one more 429, which pins the rate just below the server's */
    double t1 = now;
    id = paced_until_429(&p, &sv, &now, now + 10, &ok);
    if (id != UINT64_MAX) {
        ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 1);
        ck_assert_msg(p.rate < sv.R && p.rate > 0.95 * sv.R, "rate %.1f", p.rate);
        id = paced_until_429(&p, &sv, &now, now + 10, &ok);
    }
    ck_assert_msg(id == UINT64_MAX, "a 429 at %.3f s", now - t1);
    nna_pacer_free(&p);
}
END_TEST

/* What the pacer does not absorb: 429s that keep coming, long Retry-Afters; and a 429 for
 * a send from before the current rate is old news. */
START_TEST(pacer_pauses_when_429s_keep_coming)
{
    server sv = { 200, 20, 20, 0 };
    nna_pacer p;
    nna_pacer_init(&p, 0, 0);
    double now = 0;
    unsigned ok = 0;
    for (int i = 0; i < 40; i++, now += 0.00005) {
        uint64_t id = nna_pacer_sent(&p, now, 1);
        if (!server_takes(&sv, now)) nna_pacer_result(&p, id, 1);
    }
    now = 1.05;
    nna_pacer_reopen(&p, now);
    uint64_t id = paced_until_429(&p, &sv, &now, 5, &ok);
    ck_assert(id != UINT64_MAX);
    /* a long Retry-After: the server wants everyone to stop */
    ck_assert_int_eq(nna_pacer_rejected(&p, id, 30, now), 0);
    ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 1);
    uint64_t from = p.fresh_from;
    /* a send that left before the new rate took effect: old news */
    ck_assert_int_eq(nna_pacer_rejected(&p, from - 1, 1, now), 1);
    /* the limit drops to a quarter: the first 429 at the new rate is absorbed (it is the
     * rough rate's check), the next one within NNA_PACER_ABSORB_S pauses */
    sv.R = 50;
    id = paced_until_429(&p, &sv, &now, now + 5, &ok);
    ck_assert(id != UINT64_MAX && id >= from);
    double before = p.rate;
    ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 1);
    ck_assert_msg(p.rate < before, "rate %.1f", p.rate);
    id = paced_until_429(&p, &sv, &now, now + 1, &ok);
    ck_assert(id != UINT64_MAX);
    ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 0);
    /* the pause's re-fit takes over, and never raises the rate */
    before = p.rate;
    now += 1.05;
    nna_pacer_reopen(&p, now);
    ck_assert_msg(p.rate < before, "rate %.1f", p.rate);
    /* later, a 429 is absorbed again (re-fitted), but only once in NNA_PACER_ABSORB_S */
    sv.R = p.rate * 0.8;
    id = paced_until_429(&p, &sv, &now, now + 10, &ok);
    ck_assert(id != UINT64_MAX);
    ck_assert(now - p.absorbed_at >= NNA_PACER_ABSORB_S);
    ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 1);
    ck_assert_msg(p.rate < sv.R, "rate %.1f, server %.1f", p.rate, sv.R);
    id = paced_until_429(&p, &sv, &now, now + 1, &ok);
    if (id != UINT64_MAX) ck_assert_int_eq(nna_pacer_rejected(&p, id, 1, now), 0);
    nna_pacer_free(&p);
}
END_TEST

static Suite *tb_suite(void)
{
    Suite *s = suite_create("tokenbucket");
    TCase *tc = tcase_create("bucket");
    tcase_add_test(tc, tb_starts_full_and_drains);
    tcase_add_test(tc, tb_refill_is_capped_at_burst);
    tcase_add_test(tc, tb_wait_then_take_always_succeeds);
    tcase_add_test(tc, tb_rate_change_keeps_earned_tokens);
    tcase_add_test(tc, tb_unlimited);
    tcase_add_test(tc, tb_odd_inputs);
    suite_add_tcase(s, tc);

    tc = tcase_create("budget");
    tcase_add_test(tc, budget_starts_full_at_cap);
    tcase_add_test(tc, budget_ratio_of_requests);
    tcase_add_test(tc, budget_floor_per_second);
    tcase_add_test(tc, budget_cap);
    tcase_add_test(tc, budget_zero_and_odd_params);
    suite_add_tcase(s, tc);

    tc = tcase_create("pacer");
    tcase_add_test(tc, pacer_absorbs_the_ramps_429);
    tcase_add_test(tc, pacer_pauses_when_429s_keep_coming);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tb_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
