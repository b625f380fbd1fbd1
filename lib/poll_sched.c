/* The growing interval of waits and watches: first, ×mult per poll up to cap, each delay
 * jittered by ±jitter from the client's seeded random source (so tests are repeatable and
 * many waits started together do not poll in lockstep). */
#include "api_internal.h"
#include "client_internal.h"

void nna_sched_reset(nna_backoff_sched *s)
{
    s->next = s->first;
}

double nna_sched_next(nna_backoff_sched *s, nna_client *c)
{
    double base = s->next;
    double grown = base * s->mult;
    s->next = grown < s->cap ? grown : s->cap;
    double j = s->jitter > 0 ? (2 * nna_rng_uniform(&c->rng) - 1) * s->jitter : 0;
    double d = base * (1 + j);
    return d > 0 ? d : 0;
}
