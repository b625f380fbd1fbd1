/* Token bucket and retry budget: pure arithmetic on an explicit clock (seconds). */
#ifndef NNA_TOKENBUCKET_H
#define NNA_TOKENBUCKET_H

#include <stddef.h>
#include <stdint.h>

typedef struct nna_token_bucket {
    double rate;    /* tokens per second; <= 0 means unlimited */
    double burst;   /* capacity (≥ 1) */
    double tokens;
    double last;    /* time of the last refill */
} nna_token_bucket;

/* Starts full. */
void   nna_tb_init(nna_token_bucket *tb, double rate, double burst, double now);
/* Changes the rate (and keeps the tokens earned so far at the old rate). */
void   nna_tb_set_rate(nna_token_bucket *tb, double rate, double now);
/* Seconds until one token is available (0 when one is available now or unlimited). */
double nna_tb_wait(nna_token_bucket *tb, double now);
/* Takes one token when available: returns 1, else 0. */
int    nna_tb_take(nna_token_bucket *tb, double now);

/* Retry budget: retries may be at most `ratio` of recent first attempts, plus a floor of
 * `floor_per_s` retries per second, so a sick server is not hammered by retry storms and a
 * quiet client can still retry. Tokens are capped at `cap`. */
#define NNA_RETRY_BUDGET_CAP 20.0   /* a workspace's budget (shared with Redis too) */
typedef struct nna_retry_budget {
    double ratio;        /* default 0.1 */
    double floor_per_s;  /* default 1.0 */
    double cap;          /* default 20 */
    double tokens;
    double last;
} nna_retry_budget;

void nna_budget_init(nna_retry_budget *b, double ratio, double floor_per_s, double cap, double now);
/* A first attempt was sent: earns `ratio` tokens. */
void nna_budget_on_request(nna_retry_budget *b, double now);
/* A retry wants to go: returns 1 and spends a token, or 0 when the budget is empty. */
int  nna_budget_try_spend(nna_retry_budget *b, double now);

/* Reserves one retry: spends a token when one is there (returns 0), otherwise runs into
 * debt and returns the seconds until the budget has earned it back, so retries beyond the
 * budget are paced, never refused. */
double nna_budget_reserve(nna_retry_budget *b, double now);

/* ---- adaptive pacer ------------------------------------------------------------------ *
 * The send rate of a workspace whose server limit is unknown, learned from its 429s.
 *
 * The server is modelled as a token bucket (rate R, burst B). The pacer logs every send
 * (time, and whether the server rejected it with 429), and at the end of each 429 pause
 * fits the model to the log: a rejected send means the bucket was empty then, an accepted
 * one that it held a token. Start: unpaced (or the configured rate). The first 429 pause
 * bounds B (what a burst got through); the rate then ramps up
 * from a few B per second, doubling every NNA_PACER_RAMP_S, until the next 429; B and R
 * are then fitted together over both (for each B, R by bisection; the lowest R among the
 * best fits), later pauses re-fit R alone. The pacer then
 * sends at NNA_PACER_MARGIN of R, with a local burst of at most half of B, and probes
 * upward while it is the binding limit: by NNA_PACER_PROBE per second back to 99 % of R,
 * ten times slower beyond (the fit may err by a few per cent either way). A 429 while paced
 * re-fits (and never raises the rate); a log that fits no rate cuts it by NNA_PACER_CUT.
 * Only the first 429 costs a workspace pause: the ramp's 429 is fitted at once
 * (nna_pacer_rejected) and paced NNA_PACER_OVER above the fit; its next 429 pins the rate
 * (the server's bucket was empty at both); see nna_pacer_rejected for what still pauses. */
#define NNA_PACER_LOG     4096
#define NNA_PACER_RAMP_S  0.1
#define NNA_PACER_MARGIN  0.97
#define NNA_PACER_PROBE   0.01
#define NNA_PACER_CUT     0.7
#define NNA_PACER_MIN     0.2
#define NNA_PACER_JITTER  0.003  /* sends this close may reach the server in any order */
#define NNA_PACER_ABSORB_S 2.0   /* a paced 429 within this of the last absorbed one pauses */
#define NNA_PACER_RESTORE 3.0    /* sends held back after an absorbed 429 */
#define NNA_PACER_OVER    1.02   /* the ramp's fit is a lower bound: pace this far above */

typedef enum nna_pacer_mode {
    NNA_PACER_FREE,      /* nothing learned: unpaced */
    NNA_PACER_RAMP,      /* burst known, rate not: exponential ramp */
    NNA_PACER_KNOWN      /* paced at the learned rate, probing gently upward */
} nna_pacer_mode;

typedef struct nna_pacer {
    nna_pacer_mode   mode;
    nna_token_bucket tb;         /* the local pacing bucket (unused while FREE) */
    double           rate;       /* current pacing rate (0 while FREE) */
    double           learned;    /* last fitted server rate, 0 = none */
    double           burst;      /* learned server burst, 0 = unknown */
    double           upper;      /* upper bound on the burst from the first 429 pause */
    /* the send log: ring of times and outcomes, ids base .. base + len - 1 */
    double          *t;
    signed char     *res;        /* 0 accepted or unknown, 1 rejected (429), -1 not reached */
    unsigned         head, len;
    uint64_t         base;       /* id of the oldest entry */
    uint64_t         next_id;
    int              anchor_empty; /* 1: the server bucket was empty at anchor_t; 0: assumed
                                      full at the first logged send */
    double           anchor_t;
    unsigned         episodes;   /* 429s fitted (pauses and absorbed ones) */
    double           last_send;
    uint64_t         fresh_from; /* sends from this id on went at the current rate */
    double           absorbed_at; /* when a 429 was last absorbed without a pause */
    int              rough;      /* paced at the ramp's rough fit: its next 429 pins the rate */
} nna_pacer;

/* rate > 0: start paced at that rate (a hint, treated as learned); 0: unpaced. Allocates
 * the log lazily; returns 0 (the pacer works without a log, it just learns nothing). */
void   nna_pacer_init(nna_pacer *p, double rate, double now);
void   nna_pacer_free(nna_pacer *p);
/* Seconds until the next send may go (0 = now). */
double nna_pacer_wait(nna_pacer *p, double now);
/* A send goes now: takes a token, advances the ramp or the probe (when `backlog`: more
 * sends are waiting for the pacer), logs it; returns its id. */
uint64_t nna_pacer_sent(nna_pacer *p, double now, int backlog);
/* The outcome of send `id`: 1 rejected (429), -1 never reached the server, 0 anything else
 * (the default). Unknown or forgotten ids are ignored. */
void   nna_pacer_result(nna_pacer *p, uint64_t id, int res);
/* A 429 pause ends: fit the log, set the mode and rate, and start releasing gradually.
 * Returns the new rate (0 = unpaced). */
double nna_pacer_reopen(nna_pacer *p, double now);

/* Send `id` got a 429 with `retry_after` seconds (< 0: none) while the workspace was not
 * paused (its outcome already given to nna_pacer_result): returns 1 when the pacer absorbs
 * it, so that only that send waits its Retry-After and the workspace goes on at the
 * pacer's rate; 0 when the workspace must pause. Absorbed, when the Retry-After is at most
 * NNA_PACER_ABSORB_S: a send from before the current rate (old news); the ramp's first 429
 * (burst and rate fitted to the log up to it; paced NNA_PACER_OVER above the fit, which
 * is a lower bound); the next 429 after that (the bucket was empty at both, so the rate
 * in between is exact); later, a 429 at least NNA_PACER_ABSORB_S after the last absorbed
 * one (re-fitted, never raising the rate). */
int    nna_pacer_rejected(nna_pacer *p, uint64_t id, double retry_after, double now);

/* The fit, exposed for tests: the smallest rate R at which a bucket of burst `burst` (with
 * the given start: empty at anchor_t, or full at the first send) lets through the n logged
 * sends (times t[], outcomes res[]; sends within NNA_PACER_JITTER judged as a group, in
 * any order) as well as any rate up to `hi` does, but for one. Returns 0 when the log or
 * the burst is empty. */
double nna_pacer_fit(const double *t, const signed char *res, size_t n, double burst,
                     int anchor_empty, double anchor_t, double hi);
#endif
