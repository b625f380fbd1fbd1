/* Token bucket and retry budget: pure arithmetic on an explicit clock (seconds). */
#ifndef NNA_TOKENBUCKET_H
#define NNA_TOKENBUCKET_H

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
#endif
