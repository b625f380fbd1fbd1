/* Token bucket (client-side rate limit) and retry budget. Pure arithmetic on a clock the
 * caller passes in (seconds, monotonic), so tests need no sleeping.
 *
 * Float care: after waiting exactly nna_tb_wait() seconds the refill may land on
 * 0.9999999 instead of 1 (now + wait is rounded to the clock value's precision, and at a
 * high rate that rounding is a visible fraction of a token), and the caller would then
 * spin on ever-smaller waits. So a token counts as whole within a slack of TOKEN_EPS plus
 * what one rounding of the clock is worth at the current rate. Non-finite clock readings are ignored rather than
 * allowed to poison `last` (an infinite `last` would freeze refills forever). */
#include "tokenbucket.h"

#include <math.h>

#define TOKEN_EPS 1e-9

/* Tokens one rounding step of the clock value `now` is worth at `rate` (see above),
 * bounded so a clock too coarse for the rate cannot hand out free tokens. */
static double clock_slack(double rate, double now)
{
    double a = fabs(now);
    double s = TOKEN_EPS + 2.0 * rate * (nextafter(a, INFINITY) - a);
    return s < 1e-3 ? s : 1e-3;
}

static int have_token(double tokens, double slack)
{
    return tokens >= 1.0 - slack;
}

/* Spends one token; clamps at 0 so the epsilon never makes the count negative. */
static double spend_one(double tokens)
{
    tokens -= 1.0;
    return tokens > 0 ? tokens : 0;
}

static int tb_unlimited(const nna_token_bucket *tb)
{
    /* NaN and infinity count as unlimited too: either would make the arithmetic lie. */
    return !(tb->rate > 0) || isinf(tb->rate);
}

static double sane_burst(double burst)
{
    return (isfinite(burst) && burst >= 1) ? burst : 1;
}

/* Adds what was earned since `last`. A clock that goes backwards earns nothing and does
 * not move `last`, so time is never counted twice. */
static void tb_refill(nna_token_bucket *tb, double now)
{
    if (!isfinite(now)) return;
    if (tb_unlimited(tb)) {
        tb->tokens = tb->burst;
        tb->last = now;
        return;
    }
    if (!isfinite(tb->last)) tb->last = now;
    double elapsed = now - tb->last;
    if (elapsed <= 0) return;
    double t = tb->tokens + elapsed * tb->rate;
    tb->tokens = t < tb->burst ? t : tb->burst;
    tb->last = now;
}

void nna_tb_init(nna_token_bucket *tb, double rate, double burst, double now)
{
    if (!tb) return;
    tb->rate = rate;
    tb->burst = sane_burst(burst);
    tb->tokens = tb->burst; /* starts full: a fresh client may send a burst at once */
    tb->last = isfinite(now) ? now : 0;
}

void nna_tb_set_rate(nna_token_bucket *tb, double rate, double now)
{
    if (!tb) return;
    tb_refill(tb, now); /* settle the time so far at the old rate first */
    tb->rate = rate;
    if (isfinite(now)) tb->last = now;
}

double nna_tb_wait(nna_token_bucket *tb, double now)
{
    if (!tb) return 0;
    tb_refill(tb, now);
    if (tb_unlimited(tb) || have_token(tb->tokens, clock_slack(tb->rate, now))) return 0;
    return (1.0 - tb->tokens) / tb->rate;
}

int nna_tb_take(nna_token_bucket *tb, double now)
{
    if (!tb) return 0;
    tb_refill(tb, now);
    if (tb_unlimited(tb)) return 1;
    if (!have_token(tb->tokens, clock_slack(tb->rate, now))) return 0;
    tb->tokens = spend_one(tb->tokens);
    return 1;
}

/* ---- retry budget ------------------------------------------------------------------- */

/* A parameter that is not a finite number ≥ 0 takes its documented default, so a zeroed
 * or garbage config still yields a working budget. */
static double param_or(double v, double def)
{
    return (isfinite(v) && v >= 0) ? v : def;
}

static void budget_refill(nna_retry_budget *b, double now)
{
    if (!isfinite(now)) return;
    if (!isfinite(b->last)) b->last = now;
    double elapsed = now - b->last;
    if (elapsed <= 0) return;
    double t = b->tokens + elapsed * b->floor_per_s;
    b->tokens = t < b->cap ? t : b->cap;
    b->last = now;
}

void nna_budget_init(nna_retry_budget *b, double ratio, double floor_per_s, double cap,
                     double now)
{
    if (!b) return;
    b->ratio = param_or(ratio, 0.1);
    b->floor_per_s = param_or(floor_per_s, 1.0);
    b->cap = param_or(cap, 20);
    /* Starts full: the first failures of a fresh client deserve their retries. */
    b->tokens = b->cap;
    b->last = isfinite(now) ? now : 0;
}

void nna_budget_on_request(nna_retry_budget *b, double now)
{
    if (!b) return;
    budget_refill(b, now);
    double t = b->tokens + b->ratio;
    b->tokens = t < b->cap ? t : b->cap;
}

int nna_budget_try_spend(nna_retry_budget *b, double now)
{
    if (!b) return 0;
    budget_refill(b, now);
    if (!have_token(b->tokens, TOKEN_EPS)) return 0;
    b->tokens = spend_one(b->tokens);
    return 1;
}
