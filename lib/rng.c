/* splitmix64: tiny, fast, passes BigCrush, and its whole state is one word, so each client
 * owns its generator (no shared state, no locks) and tests can replay a seed exactly.
 * It is for jitter only: nothing secret depends on it. */
#include "rng.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void nna_rng_seed(nna_rng *r, uint64_t seed)
{
    if (r) r->state = seed;
}

/* Unsigned arithmetic wraps by definition, so the mixing below has no overflow UB. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t nna_rng_next(nna_rng *r)
{
    if (!r) return 0;
    r->state += 0x9e3779b97f4a7c15ULL; /* golden-ratio increment: full period 2^64 */
    return mix64(r->state);
}

double nna_rng_uniform(nna_rng *r)
{
    /* The top 53 bits fill a double's mantissa exactly: uniform on a 2^-53 grid, and
     * never 1.0. */
    return (double)(nna_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Never blocks: GRND_NONBLOCK fails with EAGAIN before the kernel pool is ready (early
 * boot), and then the fallback is good enough for jitter. */
static int os_random(uint64_t *out)
{
    ssize_t n;
    do {
        n = getrandom(out, sizeof *out, GRND_NONBLOCK);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof *out ? 0 : -1;
}

uint64_t nna_rng_os_seed(void)
{
    uint64_t v;
    int saved = errno; /* callers should not see our EAGAIN/ENOSYS */
    int ok = os_random(&v) == 0;
    errno = saved;
    if (ok) return v;

    /* Fallback: wall clock, monotonic clock, pid and a stack address (ASLR) differ between
     * processes started together; mixing spreads them over all 64 bits. */
    struct timespec rt = {0, 0}, mono = {0, 0};
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    uint64_t h = mix64((uint64_t)rt.tv_sec ^ ((uint64_t)rt.tv_nsec << 32));
    h = mix64(h ^ (uint64_t)mono.tv_nsec ^ ((uint64_t)mono.tv_sec << 20));
    h = mix64(h ^ (uint64_t)getpid());
    h = mix64(h ^ (uint64_t)(uintptr_t)&v);
    return h;
}
