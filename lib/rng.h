/* Small deterministic random source (splitmix64). One per client; tests seed it. */
#ifndef NNA_RNG_H
#define NNA_RNG_H
#include <stdint.h>

typedef struct nna_rng { uint64_t state; } nna_rng;

void     nna_rng_seed(nna_rng *r, uint64_t seed);
uint64_t nna_rng_next(nna_rng *r);
/* Uniform in [0, 1). */
double   nna_rng_uniform(nna_rng *r);
/* Seed from the OS (getrandom, non-blocking); falls back to clocks, pid and a stack
 * address. */
uint64_t nna_rng_os_seed(void);
#endif
