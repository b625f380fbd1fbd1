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

double nna_budget_reserve(nna_retry_budget *b, double now)
{
    if (!b) return 0;
    budget_refill(b, now);
    if (have_token(b->tokens, TOKEN_EPS)) {
        b->tokens = spend_one(b->tokens);
        return 0;
    }
    /* Debt: this retry takes the token the budget earns next; later ones queue behind. */
    double wait = b->floor_per_s > 0 ? (1.0 - b->tokens) / b->floor_per_s : INFINITY;
    b->tokens -= 1.0;
    return wait;
}

/* ---- adaptive pacer ----------------------------------------------------------------- */

#include <stdlib.h>
#include <string.h>

#define PACE_SLACK   0.5     /* tokens of timing noise tolerated by the fit */
#define FIT_ITERS    40
#define FIT_LO       1e-3
#define FIT_MIN_SENDS 8      /* fewer since the last empty bucket say too little */

void nna_pacer_init(nna_pacer *p, double rate, double now)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->anchor_t = now;
    p->last_send = -INFINITY;
    p->absorbed_at = -INFINITY;
    if (isfinite(rate) && rate > 0) {
        p->mode = NNA_PACER_KNOWN;
        p->rate = rate;
        nna_tb_init(&p->tb, rate, rate * 0.05 > 1 ? rate * 0.05 : 1, now);
    } else {
        p->mode = NNA_PACER_FREE;
        nna_tb_init(&p->tb, 0, 1, now);
    }
}

void nna_pacer_free(nna_pacer *p)
{
    if (!p) return;
    free(p->t);
    free(p->res);
    p->t = NULL;
    p->res = NULL;
    p->len = p->head = 0;
}

/* The local burst: small enough that a full local bucket cannot empty the server's. */
static double local_burst(const nna_pacer *p)
{
    double b = p->rate * 0.05;
    double server = p->burst > 0 ? p->burst : 0;
    if (p->mode == NNA_PACER_RAMP) return 1;
    if (server > 0 && b > server * 0.5) b = server * 0.5;
    return b > 1 ? b : 1;
}

static void set_rate(nna_pacer *p, double rate, double now)
{
    if (!(rate >= NNA_PACER_MIN)) rate = NNA_PACER_MIN;
    p->rate = rate;
    nna_tb_set_rate(&p->tb, rate, now);
    p->tb.burst = local_burst(p);
    if (p->tb.tokens > p->tb.burst) p->tb.tokens = p->tb.burst;
}

double nna_pacer_wait(nna_pacer *p, double now)
{
    if (!p || p->mode == NNA_PACER_FREE) return 0;
    return nna_tb_wait(&p->tb, now);
}

static size_t ring_at(const nna_pacer *p, size_t i) { return (p->head + i) % NNA_PACER_LOG; }

static void log_send(nna_pacer *p, double now)
{
    if (!p->t) {
        p->t = malloc(NNA_PACER_LOG * sizeof *p->t);
        p->res = malloc(NNA_PACER_LOG);
        if (!p->t || !p->res) { nna_pacer_free(p); return; }
        p->head = p->len = 0;
        p->base = p->next_id;
    }
    if (p->len == NNA_PACER_LOG) {
        /* Forget the oldest send. What the bucket held then is no longer known: assume it
         * was full (the fit then needs less refill to explain what followed, so it errs
         * towards a lower rate). */
        p->head = (p->head + 1) % NNA_PACER_LOG;
        p->len--;
        p->base++;
        p->anchor_empty = 0;
    }
    size_t i = ring_at(p, p->len);
    p->t[i] = now;
    p->res[i] = 0;
    p->len++;
}

uint64_t nna_pacer_sent(nna_pacer *p, double now, int backlog)
{
    if (!p) return 0;
    if (p->mode != NNA_PACER_FREE) {
        /* More is waiting and sends come at about the paced interval: the pacer, not the
         * demand, sets the pace, so the ramp (or the probe) may go on. */
        int bound = backlog && p->rate > 0 && now - p->last_send < 3.0 / p->rate;
        nna_tb_take(&p->tb, now);
        if (bound) {
            /* Ramp: double every NNA_PACER_RAMP_S. Known: back to 99 % of the learned rate
             * at NNA_PACER_PROBE per second, beyond it ten times slower (the limit may
             * have been raised; finding out costs a pause, so look rarely). */
            double step = p->mode == NNA_PACER_RAMP ? 1.0
                        : p->rate < p->learned * 0.99 ? NNA_PACER_PROBE : NNA_PACER_PROBE / 10;
            double f = p->mode == NNA_PACER_RAMP
                           ? pow(2.0, 1.0 / (p->rate * NNA_PACER_RAMP_S))
                           : pow(1.0 + step, 1.0 / p->rate);
            set_rate(p, p->rate * f, now);
        }
    }
    p->last_send = now;
    log_send(p, now);
    return p->next_id++;
}

void nna_pacer_result(nna_pacer *p, uint64_t id, int res)
{
    if (!p || !p->t || id < p->base || id >= p->base + p->len) return;
    p->res[ring_at(p, (size_t)(id - p->base))] = (signed char)(res > 0 ? 1 : res < 0 ? -1 : 0);
}

/* Violations of the bucket model (rate r, burst b) by the log: accepted sends that found
 * the bucket empty (*low) and rejected ones that found a token (*high).
 *
 * Sends within NNA_PACER_JITTER of the first of a group are judged together, in no order
 * (they may have crossed on the way, and a millisecond clock cannot order them): the
 * group's accepted sends must fit in what the bucket held plus what it earned during the
 * group, and a rejection in the group must be possible at all, i.e. serving the group's
 * accepted sends first must have emptied the bucket. Both tests are lenient, so the
 * unknown order biases the fit neither way. */
static void simulate(const double *t, const signed char *res, size_t n, double b, int empty,
                     double anchor_t, double r, unsigned *low, unsigned *high)
{
    double tok = empty ? 0 : b, last = empty ? anchor_t : (n ? t[0] : 0);
    unsigned lo = 0, hi = 0;
    size_t i = 0;
    while (i < n) {
        double g0 = t[i];
        double dt = g0 - last;
        if (dt > 0) {
            tok += r * dt;
            if (tok > b) tok = b;
            last = g0;
        }
        unsigned k = 0, j = 0;
        double g1 = g0;
        for (; i < n && t[i] - g0 < NNA_PACER_JITTER; i++) {
            if (res[i] == 0) k++;
            else if (res[i] == 1) j++;
            g1 = t[i];
        }
        double start = tok;
        if (g1 > last) {
            tok += r * (g1 - last);
            if (tok > b) tok = b;
            last = g1;
        }
        /* Accepted without tokens: the model owes them (a debt, not a reset, so a rate
         * too low keeps contradicting every later send). */
        if ((double)k > tok + PACE_SLACK) lo += (unsigned)ceil((double)k - tok - PACE_SLACK);
        if (j > 0 && start - (double)k >= 1 + PACE_SLACK) hi += j;
        tok -= k;
    }
    *low = lo;
    *high = hi;
}

/* The smallest rate in [FIT_LO, hi] that explains the accepted sends as well as any rate
 * can, but for one (an outlier of timing noise must not drag the rate up): `low` falls
 * as the rate grows, so bisection finds it. 0 when the log has nothing to explain.
 * *score gets low + high there: how badly the model still fits. */
static double fit1(const double *t, const signed char *res, size_t n, double b, int empty,
                   double anchor_t, double hi, unsigned *score)
{
    unsigned l, h, floor_l;
    simulate(t, res, n, b, empty, anchor_t, hi, &floor_l, &h);
    unsigned target = floor_l + 1;
    double lo = FIT_LO, up = hi;
    simulate(t, res, n, b, empty, anchor_t, lo, &l, &h);
    if (l <= target) {
        if (score) *score = l + h;
        return lo;
    }
    for (int i = 0; i < FIT_ITERS; i++) {
        double mid = sqrt(lo * up);
        simulate(t, res, n, b, empty, anchor_t, mid, &l, &h);
        if (l <= target) up = mid; else lo = mid;
    }
    simulate(t, res, n, b, empty, anchor_t, up, &l, &h);
    if (score) *score = l + h;
    return up;
}

double nna_pacer_fit(const double *t, const signed char *res, size_t n, double burst,
                     int anchor_empty, double anchor_t, double hi)
{
    if (!t || !res || n == 0 || !(burst >= 1) || !(hi > FIT_LO)) return 0;
    return fit1(t, res, n, burst, anchor_empty, anchor_t, hi, NULL);
}

/* The log in time order, copied out of the ring. */
static size_t log_copy(const nna_pacer *p, double **t, signed char **res)
{
    *t = malloc((p->len ? p->len : 1) * sizeof **t);
    *res = malloc(p->len ? p->len : 1);
    if (!*t || !*res) {
        free(*t);
        free(*res);
        *t = NULL;
        *res = NULL;
        return 0;
    }
    for (size_t i = 0; i < p->len; i++) {
        (*t)[i] = p->t[ring_at(p, i)];
        (*res)[i] = p->res[ring_at(p, i)];
    }
    return p->len;
}

/* Highest rate the log could need: twice its fastest stretch of 8 sends, at least 10/s. */
static double rate_ceiling(const double *t, size_t n)
{
    double best = 10;
    for (size_t i = 8; i < n; i++) {
        double dt = t[i] - t[i - 8];
        double r = dt > 1e-6 ? 8 / dt : 8e6;
        if (r > best) best = r;
    }
    return best * 2;
}

/* Drops the log up to and including entry k (time order); the bucket was empty then. */
static void reanchor(nna_pacer *p, size_t k)
{
    p->anchor_t = p->t[ring_at(p, k)];
    p->anchor_empty = 1;
    p->head = (p->head + (unsigned)k + 1) % NNA_PACER_LOG;
    p->len -= (unsigned)k + 1;
    p->base += k + 1;
}

/* Burst and rate fitted together (the first pause bounds the burst, the end of the ramp
 * pins the rate for each burst); among the best fits (within one contradiction, for
 * timing noise) the lowest rate. Returns 0 when nothing fits. */
static int fit_both(const nna_pacer *p, const double *t, const signed char *res, size_t n,
                    double *rate, double *burst)
{
    double hi = rate_ceiling(t, n), best_r = 0, best_b = 0;
    double rs[256], bs[256];
    unsigned ss[256], min_s = ~0u;
    size_t nb = 0;
    for (double b = 1; nb < 256 && b <= p->upper + 0.5; b = b < 32 ? b + 1 : b * 1.05) {
        rs[nb] = fit1(t, res, n, b, p->anchor_empty, p->anchor_t, hi, &ss[nb]);
        bs[nb] = b;
        if (rs[nb] > 0 && ss[nb] < min_s) min_s = ss[nb];
        nb++;
    }
    for (size_t i = 0; i < nb; i++) {
        if (rs[i] > 0 && ss[i] <= min_s + 1 && (best_r == 0 || rs[i] < best_r)) {
            best_r = rs[i];
            best_b = bs[i];
        }
    }
    *rate = best_r;
    *burst = best_b;
    return best_r > 0;
}

double nna_pacer_reopen(nna_pacer *p, double now)
{
    if (!p) return 0;
    double *t = NULL;
    signed char *res = NULL;
    size_t n = p->t ? log_copy(p, &t, &res) : 0;
    size_t first = n, last = n, accepted = 0;
    for (size_t i = 0; i < n; i++) {
        if (res[i] == 1) {
            if (first == n) first = i;
            last = i;
        } else if (res[i] == 0) {
            accepted++;
        }
    }
    p->episodes++;
    if (first == n) {
        /* A 429 for a send the log no longer has: nothing to fit, just slow down. */
        if (p->mode != NNA_PACER_FREE) set_rate(p, p->rate * NNA_PACER_CUT, now);
    } else if (p->burst > 0) {
        /* Burst known: the rate is what makes the bucket run dry exactly when it did. */
        double r = n < FIT_MIN_SENDS ? 0
                 : fit1(t, res, n, p->burst, p->anchor_empty, p->anchor_t, rate_ceiling(t, n), NULL);
        double cur = p->mode == NNA_PACER_KNOWN ? p->rate : INFINITY;
        double want = r > 0 ? r * NNA_PACER_MARGIN : p->rate * NNA_PACER_CUT;
        if (r > 0) p->learned = r;
        p->mode = NNA_PACER_KNOWN;
        set_rate(p, want < cur ? want : cur * NNA_PACER_MARGIN, now);
        reanchor(p, last);
    } else if (p->upper == 0) {
        /* First pause: what got through since the start bounds the burst (it is the burst
         * plus what the bucket earned meanwhile; replies that crossed make counting only
         * those before the first 429 unsafe: too low a burst would fit too high a rate). */
        if (accepted < 2) {
            /* One stray 429 (a script, another client): no evidence of a limit yet. */
            if (p->mode == NNA_PACER_KNOWN) set_rate(p, p->rate * NNA_PACER_CUT, now);
            p->len = 0;
            p->base = p->next_id;
            p->anchor_empty = 0;
        } else {
            p->upper = (double)accepted;
            if (p->mode == NNA_PACER_FREE) {
                p->mode = NNA_PACER_RAMP;
                nna_tb_init(&p->tb, 1, 1, now);
                set_rate(p, p->upper * 5, now);
            } else {
                set_rate(p, p->rate * NNA_PACER_CUT, now);
            }
        }
    } else {
        /* Second pause: fit burst and rate together over both pauses. */
        double r, b;
        p->mode = NNA_PACER_KNOWN;
        if (fit_both(p, t, res, n, &r, &b)) {
            p->burst = b;
            p->learned = r;
            set_rate(p, r * NNA_PACER_MARGIN, now);
        } else {
            p->burst = p->upper;
            set_rate(p, p->rate * NNA_PACER_CUT * 0.5, now);
        }
        reanchor(p, last);
    }
    p->fresh_from = p->next_id; /* what was sent before the pause is old news */
    p->rough = 0;
    /* Release gradually: the local bucket starts with one token. */
    if (p->mode != NNA_PACER_FREE && p->tb.tokens > 1) p->tb.tokens = 1;
    free(t);
    free(res);
    return p->mode == NNA_PACER_FREE ? 0 : p->rate;
}

/* Fits the log up to send k (the one just rejected: the server's bucket was empty then;
 * later sends may still be on their way). Returns the fitted rate, 0 when nothing fits. */
static double fit_upto(nna_pacer *p, size_t k)
{
    double *t = NULL, r = 0, b = 0;
    signed char *res = NULL;
    size_t n = log_copy(p, &t, &res);
    if (n > k) {
        n = k + 1;
        if (p->mode == NNA_PACER_RAMP) {
            if (fit_both(p, t, res, n, &r, &b)) p->burst = b;
        } else if (n >= FIT_MIN_SENDS) {
            r = fit1(t, res, n, p->burst, p->anchor_empty, p->anchor_t, rate_ceiling(t, n), NULL);
        }
    }
    free(t);
    free(res);
    return r;
}

int nna_pacer_rejected(nna_pacer *p, uint64_t id, double retry_after, double now)
{
    if (!p || p->mode == NNA_PACER_FREE || !p->t) return 0;
    /* A long pause asked for is no token bucket's rounding: the server wants a stop. */
    if (!(retry_after >= 0) || retry_after > NNA_PACER_ABSORB_S) return 0;
    if (id < p->fresh_from) return 1;
    if (id < p->base || id >= p->base + p->len) return 0;
    int ramp = p->mode == NNA_PACER_RAMP;
    if (ramp ? !(p->upper > 0)
             : !(p->burst > 0) || (!p->rough && now - p->absorbed_at < NNA_PACER_ABSORB_S))
        return 0;
    size_t k = (size_t)(id - p->base);
    double r = fit_upto(p, k);
    if (!(r > 0) && ramp) return 0;
    if (r > 0) p->learned = r;
    p->episodes++;
    if (ramp) {
        /* Rough: the lowest rate among the fits, above it by the usual error of one
         * token of burst; too high a guess costs one more 429, which pins the rate. */
        p->mode = NNA_PACER_KNOWN;
        p->rough = 1;
        set_rate(p, r * NNA_PACER_OVER, now);
    } else {
        /* The bucket was empty at the anchor and again now: the rate in between is the
         * server's, whatever its burst (too few sends in between: just slow down). */
        double cur = p->rate, want = r > 0 ? r * NNA_PACER_MARGIN : cur * NNA_PACER_CUT;
        p->rough = 0;
        set_rate(p, want < cur ? want : cur * NNA_PACER_MARGIN, now);
    }
    reanchor(p, k);
    p->fresh_from = p->next_id;
    p->absorbed_at = now;
    /* The server's bucket is empty, and the sends still on their way take what it earns:
     * hold back a few sends so that it has some slack for timing noise. */
    p->tb.tokens = 1.0 - NNA_PACER_RESTORE;
    return 1;
}
