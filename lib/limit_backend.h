/* The limiter's backend seam: where a workspace's in-flight slots, 429 gate and shared
 * cap live. Internal.
 *
 * In-process (the default) is no backend at all: workspace.c's own counters are the whole
 * truth, exactly as before. A shared backend (Redis, limit_redis.c) adds a second
 * condition to admission — a request needs a leased slot of the shared budget — and
 * spreads 429 pauses and the adaptive cap across every process of the workspace.
 *
 * All calls run on the workspace's loop thread. A backend answers an acquire either at
 * once (the return value) or later through nna_ws_lim_granted (never both for one call,
 * and never not at all: a lost connection answers from the local fallback budget). */
#ifndef NNA_LIMIT_BACKEND_H
#define NNA_LIMIT_BACKEND_H

#include "config.h"   /* HAVE_HIREDIS */
#include "loop_core.h"
#include "nna/workspace.h"

/* An answer to an acquire: `slots` more in-flight slots; `tokens` sends, the first in
 * `delay` seconds, then one every 1/rate s (rate 0 = unpaced: all at once). */
typedef struct nna_lim_grant {
    unsigned slots, tokens;
    double   delay, rate;
} nna_lim_grant;

typedef struct nna_limit_ops {
    /* The workspace now lives on `loop` (its first client's): connect there. */
    void     (*attach)(void *b, nna_loop *loop);
    /* The loop is going away: disconnect (callbacks after this do not reach the
     * workspace). */
    void     (*detach)(void *b);
    /* Holding `held` slots, wants `slots` more and `tokens` sends (one of them > 0).
     * Returns 0 with *now filled (the local fallback while the shared store is
     * unreachable), or -1: the answer comes later through nna_ws_lim_granted. */
    int      (*acquire)(void *b, unsigned held, unsigned slots, unsigned tokens,
                        nna_lim_grant *now);
    /* Now holds `held` slots (gives the rest back); `ok` requests succeeded since the last
     * call (they grow the shared cap). */
    void     (*release)(void *b, unsigned held, unsigned ok);
    /* A 429 asks for a pause of `seconds` for the whole workspace (and a shared cap cut). */
    void     (*gate)(void *b, double seconds);
    void     (*free)(void *b);
    /* Round trips so far (for the counters). */
    uint64_t (*calls)(const void *b);
    /* Our run of 5xx/transport failures closed the health gate for `seconds` (`probe`: our
     * probe failed and extends it): the whole workspace pauses, and only we probe. */
    void     (*health)(void *b, double seconds, int probe);
    /* A success (any answer from the server) reopens the health gate for everyone. */
    void     (*healthy)(void *b);
    /* `firsts` first attempts went (they refill the shared retry budget); `spend`: a retry
     * takes a token of it (the workspace already answered from its view of the budget). */
    void     (*retry)(void *b, unsigned firsts, int spend);
} nna_limit_ops;

/* Backend → workspace. */
/* The answer to an acquire (it may grant nothing: asking again later is allowed). */
void nna_ws_lim_granted(nna_workspace *ws, const nna_lim_grant *g);
/* The shared state as last seen: a 429 pause that ends in `gate_s` seconds (≤ 0 =
 * none), the number of processes sharing the budget, and the shared cap. */
void nna_ws_lim_shared(nna_workspace *ws, double gate_s, unsigned members, unsigned cap);
/* The shared health gate as last seen: open (closed = 0), or closed for `left` more
 * seconds plus `grace` (0 when this process is its prober; otherwise the wait beyond the
 * pause for the prober's answer, after which this process probes itself). */
void nna_ws_lim_health(nna_workspace *ws, int closed, double left, double grace);
/* The shared retry budget holds `tokens` (< 0: in debt) after our spends so far. */
void nna_ws_lim_budget(nna_workspace *ws, double tokens);

#ifdef HAVE_HIREDIS
/* Connects to the Redis at `url` (redis://host[:port][/db][?name=NAME]) once, blocking for
 * at most 2 s, to check it is there (AUTH with `password` when given) and load the
 * scripts. NNA_ELIMITER_UNAVAILABLE when it is not; NNA_EINVAL for a bad URL. */
nna_status nna_limit_redis_new(nna_workspace *ws, const nna_workspace_options *o,
                               const nna_limit_ops **ops, void **out);
#endif
#endif
