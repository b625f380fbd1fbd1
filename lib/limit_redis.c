/* The Redis limiter backend: one workspace budget shared by many processes and hosts.
 *
 * State in Redis, under nna:{NAME}: (NAME from the URL's ?name=, default "default"):
 *   slots    hash    member id → slots it holds (leases)
 *   members  zset    member id → lease expiry (ms, Redis clock); renewed by every call
 *   gate     string  the shared 429 pause; its PX expiry is the pause
 *   cap      string  the shared adaptive cap (float; absent = the configured maximum)
 *   health   hash    the shared health gate (5xx/network pause): `until` (ms, Redis clock)
 *                    and `prober`, the member whose run of failures closed it; only that
 *                    member probes (one probe in flight across every process), the others
 *                    wait until a success deletes the key (or it expires: PX = the pause
 *                    plus HEALTH_GRACE_MS, so a prober that died releases the others)
 *   retry    hash    the shared retry budget: `tokens` (float, may be negative: debt) and
 *                    `last` (ms): refilled by floor/s and ratio per first attempt reported
 *                    (they travel with the renewal), one spent per retry (BUDGET)
 * Every step is one script (EVALSHA, falling back to EVAL after NOSCRIPT, which also
 * reloads it), so one round trip is atomic: LEASE drops the slots of members whose lease
 * expired (a process that crashed), renews ours, sets our holding to what we say we hold
 * (self-healing after a Redis restart) plus what fits under the cap, grows the cap by the
 * successes reported, and returns the grant, the gate's remaining time, the member count
 * and the cap. GATE extends the pause and halves the cap once per pause. HEALTH closes
 * (or, for its prober, extends) the shared health gate, HEALTHY opens it; BUDGET reports
 * first attempts and spends a retry of the shared retry budget.
 *
 * Leases are taken in batches (the workspace asks for up to 8 at a time) and a process
 * gives slots back only when its queue is empty or it holds more than its fair share, so
 * a busy fan-out costs about one round trip per batch, not per request.
 *
 * Failure model: Redis unreachable at creation → NNA_ELIMITER_UNAVAILABLE. Lost later (an
 * error, a closed connection, or no reply within CMD_TIMEOUT) → every pending acquire is
 * answered from the local fallback budget cap/N (N = members last seen, cap the shared cap
 * last seen; at least 1 slot), never unlimited; reconnection is retried with back-off
 * (0.1 s doubling to 5 s); the first answer after it resynchronises what we hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <math.h>
#include <hiredis/hiredis.h>
#include "limit_backend.h"
#include "limit_redis.h"
#include "rng.h"
#include "tokenbucket.h"

#define LEASE_TTL_MS     3000
#define RENEW_S          1.0
#define CONNECT_TIMEOUT  2.0
#define CMD_TIMEOUT      2.0
#define BACKOFF_MIN      0.1
#define BACKOFF_MAX      5.0
/* After a reconnection we stay within our fallback share until as many processes as
 * we knew are back in the (maybe restarted) Redis, or this long: every live process
 * reconnects within BACKOFF_MAX of Redis being back and then declares what it holds;
 * one that died meanwhile never comes back. */
#define RECOVER_S        (BACKOFF_MAX + LEASE_TTL_MS / 1000.0 + CONNECT_TIMEOUT)
/* Slots leased ahead: a LEASE that takes slots asks for up to LEASE_AHEAD (within our
 * fair share), the workspace gets what it asked for and the rest waits here as spare,
 * answering its next asks without a round trip; slots it gives back wait here too. Spare
 * slots no ask used for a whole SPARE_IDLE_S go back to the shared budget (and all
 * beyond our fair share at once), so other processes wait at most that for them. They
 * are leases like the others: counted in Redis, expiring with us on a kill -9. */
#define LEASE_AHEAD      32
#define SPARE_IDLE_S     0.05
#define NKEYS            10
#define NKEYS_S          "10"
/* A member that is not the prober stays paused this long past the shared pause while
 * it has no news (a success deletes the key, refreshed every renewal): when Redis is
 * lost it probes on its own after it, as a single process does. */
#define HEALTH_GRACE_MS  2500
/* The shared send rate (AIMD: the single-process pacer's fit needs the whole send log,
 * which no process has here). A pause remembers the rate that ran into it (or what was
 * really sent in the last 2 s, when less: the server's burst hides a small excess for a
 * while) as `hi` and
 * cuts to RATE_CUT of it; each success adds RATE_PROBE_FAST requests/s (+5 % per second
 * at any rate) up to 92 % of hi, then RATE_PROBE (+0.2 %/s) up to 97 % (sends of several
 * processes reach the server with some jitter: closer to the limit costs a pause, which
 * costs a whole Retry-After of the workspace's throughput). The first pause starts from
 * the sends of the last 0.5 s, a rough figure (a start-up burst may be what emptied the
 * server's bucket): hi stays unknown, so the probe stays fast until the next pause. */
#define RATE_PROBE_FAST  "0.05"
#define RATE_PROBE       "0.002"
#define RATE_CUT         "0.85"

static const char LEASE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ttl = tonumber(ARGV[4])\n"
    "local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)\n"
    "for _, d in ipairs(dead) do redis.call('HDEL', KEYS[1], d) end\n"
    "if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end\n"
    "local held = tonumber(ARGV[2])\n"
    "local want = tonumber(ARGV[3])\n"
    "local capmax = tonumber(ARGV[5])\n"
    "local cap = tonumber(redis.call('GET', KEYS[4]) or capmax)\n"
    "local ok = tonumber(ARGV[6])\n"
    "if ok > 0 and cap < capmax then\n"
    "  cap = math.min(capmax, cap + ok / cap)\n"
    "  redis.call('SET', KEYS[4], tostring(cap), 'PX', ttl * 20)\n"
    "end\n"
    "local used = 0\n"
    "local vals = redis.call('HGETALL', KEYS[1])\n"
    "for i = 1, #vals, 2 do\n"
    "  if vals[i] ~= ARGV[1] then used = used + tonumber(vals[i + 1]) end\n"
    "end\n"
    "local grant = math.floor(cap) - used - held\n"
    "if grant > want then grant = want end\n"
    "if grant < 0 then grant = 0 end\n"
    "if held + grant > 0 then\n"
    "  redis.call('HSET', KEYS[1], ARGV[1], held + grant)\n"
    "  redis.call('PEXPIRE', KEYS[1], ttl * 20)\n"
    "else\n"
    "  redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "end\n"
    "if ARGV[7] == '1' then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "else\n"
    "  redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])\n"
    "  redis.call('PEXPIRE', KEYS[2], ttl * 20)\n"
    "end\n"
    "local rate = tonumber(redis.call('GET', KEYS[5]) or ARGV[9])\n"
    "if ok > 0 and rate > 0 then\n"
    "  local hi = tonumber(redis.call('GET', KEYS[8]) or 0)\n"
    "  if hi <= 0 or rate < 0.92 * hi then rate = rate + ok * " RATE_PROBE_FAST "\n"
    "  elseif rate < 0.97 * hi then rate = rate + ok * " RATE_PROBE " end\n"
    "  redis.call('SET', KEYS[5], tostring(rate), 'PX', ttl * 20)\n"
    "end\n"
    "local tokens = tonumber(ARGV[8])\n"
    "local counted = tonumber(ARGV[10])\n"
    "local delay = 0\n"
    "if tokens + counted > 0 then\n"
    "  if rate > 0 then\n"
    "    local tat = tonumber(redis.call('GET', KEYS[6]) or now)\n"
    "    if tat < now then tat = now end\n"
    "    delay = tat - now\n"
    "    if delay > 1000 then tokens = 0 else\n"
    "      redis.call('SET', KEYS[6], tostring(tat + tokens * 1000 / rate), 'PX', ttl * 20)\n"
    "    end\n"
    "  end\n"
    "  local b = math.floor(now / 100)\n"
    "  redis.call('HINCRBY', KEYS[7], b, tokens + counted)\n"
    "  for _, f in ipairs(redis.call('HKEYS', KEYS[7])) do\n"
    "    if tonumber(f) < b - 20 then redis.call('HDEL', KEYS[7], f) end\n"
    "  end\n"
    "  redis.call('PEXPIRE', KEYS[7], 5000)\n"
    "end\n"
    "local h = redis.call('HMGET', KEYS[9], 'until', 'prober')\n"
    "local hs, hr, hm = 0, 0, 0\n"
    "if h[1] then\n"
    "  hs = 1\n"
    "  hr = tonumber(h[1]) - now\n"
    "  if h[2] == ARGV[1] then hm = 1 end\n"
    "end\n"
    "return {grant, redis.call('PTTL', KEYS[3]), redis.call('ZCARD', KEYS[2]), math.floor(cap),\n"
    "        tokens, math.floor(delay), math.floor(rate * 1000), hs, hr, hm}\n";

/* A new pause halves the cap and teaches the send rate: the first time, CUT_FIRST of
 * what was sent in the last second (sending faster than the server allows is what
 * ended in 429s), later CUT of the rate in force. */
static const char GATE_LUA[] =
    "local cur = redis.call('PTTL', KEYS[3])\n"
    "local ms = tonumber(ARGV[1])\n"
    "if cur >= ms then return cur end\n"
    "redis.call('SET', KEYS[3], '1', 'PX', ms)\n"
    "if cur <= 0 and ARGV[3] == '1' then\n"
    "  local cap = tonumber(redis.call('GET', KEYS[4]) or ARGV[2]) / 2\n"
    "  if cap < 1 then cap = 1 end\n"
    "  redis.call('SET', KEYS[4], tostring(cap), 'PX', 60000)\n"
    "  local t = redis.call('TIME')\n"
    "  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "  local rate = tonumber(redis.call('GET', KEYS[5]) or ARGV[4])\n"
    "  local b = math.floor(now / 100)\n"
    "  local sent = 0\n"
    "  for i = b - 19, b do sent = sent + tonumber(redis.call('HGET', KEYS[7], i) or 0) end\n"
    "  local hi = rate\n"
    "  if sent > 0 and sent / 2 < hi then hi = sent / 2 end\n"
    "  if rate <= 0 then\n"
    "    sent = 0\n"
    "    for i = b - 4, b do sent = sent + tonumber(redis.call('HGET', KEYS[7], i) or 0) end\n"
    "    rate = sent * 2\n"
    "    hi = 0\n"
    "  end\n"
    "  redis.call('SET', KEYS[8], tostring(hi), 'PX', 600000)\n"
    "  rate = rate * " RATE_CUT "\n"
    "  if rate < 0.2 then rate = 0.2 end\n"
    "  redis.call('SET', KEYS[5], tostring(rate), 'PX', 60000)\n"
    "  redis.call('SET', KEYS[6], tostring(now + ms), 'PX', 60000)\n"
    "end\n"
    "return ms\n";

/* A run of failures closes the shared health gate for ARGV[2] ms with us as its prober;
 * while it is closed by another, only the prober's failed probe (ARGV[3] = 1) extends it.
 * Returns {1, ms left, we are the prober}. */
static const char HEALTH_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local h = redis.call('HMGET', KEYS[9], 'until', 'prober')\n"
    "if h[1] and not (ARGV[3] == '1' and h[2] == ARGV[1]) then\n"
    "  local mine = 0\n"
    "  if h[2] == ARGV[1] then mine = 1 end\n"
    "  return {1, tonumber(h[1]) - now, mine}\n"
    "end\n"
    "local ms = tonumber(ARGV[2])\n"
    "redis.call('HSET', KEYS[9], 'until', tostring(now + ms), 'prober', ARGV[1])\n"
    "redis.call('PEXPIRE', KEYS[9], ms + tonumber(ARGV[4]))\n"
    "return {1, ms, 1}\n";

/* A success reopens the health gate for every process. */
static const char HEALTHY_LUA[] = "return redis.call('DEL', KEYS[9])\n";

/* The retry budget (tokenbucket.c's nna_retry_budget, shared): refills by ARGV[4] per
 * second and ARGV[3] per first attempt (ARGV[1] of them reported), capped at ARGV[5];
 * ARGV[2] = 1 spends one, into debt if need be. Returns the tokens left (a string). */
static const char BUDGET_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local cap = tonumber(ARGV[5])\n"
    "local b = redis.call('HMGET', KEYS[10], 'tokens', 'last')\n"
    "local tok = tonumber(b[1] or cap)\n"
    "local last = tonumber(b[2] or now)\n"
    "if now > last then tok = tok + (now - last) / 1000 * tonumber(ARGV[4]) end\n"
    "tok = tok + tonumber(ARGV[1]) * tonumber(ARGV[3])\n"
    "if tok > cap then tok = cap end\n"
    "if ARGV[2] == '1' then tok = tok - 1 end\n"
    "redis.call('HSET', KEYS[10], 'tokens', tostring(tok), 'last', tostring(now))\n"
    "redis.call('PEXPIRE', KEYS[10], 600000)\n"
    "return tostring(tok)\n";

enum { S_LEASE, S_GATE, S_HEALTH, S_HEALTHY, S_BUDGET, S__N };
static const char *const SCRIPTS[S__N] = { LEASE_LUA, GATE_LUA, HEALTH_LUA, HEALTHY_LUA,
                                           BUDGET_LUA };

typedef struct rlim {
    nna_workspace     *ws;
    char              *host;
    int                port, db;
    char              *password;
    char               keys[NKEYS][160]; /* slots members gate cap rate tat sent hi health
                                            retry */
    char               me[64];        /* member id: host name, pid, random */
    char               sha[S__N][41];
    unsigned           capmax;
    int                adaptive;
    /* connection */
    nna_loop          *loop;
    redisAsyncContext *ac;
    int                connected;
    unsigned           pending;       /* commands without a reply */
    unsigned           health_pending; /* HEALTH/HEALTHY calls without a reply: a LEASE
                                          reply older than them says nothing new */
    double             progress;      /* last reply (or send into an idle connection) */
    double             backoff;
    nna_timer          watchdog;      /* connect and command timeouts, reconnect */
    nna_timer          renew;
    double             reconnect_at;  /* > 0: reconnect then */
    /* what the workspace told us last */
    unsigned           held;          /* slots the workspace holds */
    unsigned           spare;         /* leased beyond them (Redis: held + spare) */
    unsigned           spare_low;     /* least spare since the last give-back check */
    int                resync;        /* a LEASE waits for the acquire on its way */
    nna_timer          giveback;
    unsigned           asking;        /* acquires without an answer */
    unsigned           ok;            /* successes not yet reported */
    unsigned           want_slots, want_tokens; /* of the acquire on its way */
    unsigned           firsts;        /* first attempts not yet reported to the budget */
    unsigned           counted;       /* unpaced sends granted locally, not yet reported */
    double             last_call;     /* when the last LEASE went */
    uint64_t           spends;        /* retries sent to the shared budget */
    double             rb_ratio, rb_floor;
    /* what Redis told us last */
    unsigned           members, cap;
    unsigned           members_lost;  /* members when the connection was lost (0 = not
                                         degraded nor recovering) */
    unsigned           held_lost;     /* slots held then */
    double             recover_until; /* after a reconnect: stay within our share */
    unsigned           members_back;  /* members in the last reply since reconnecting */
    double             rate;          /* shared send rate (0 = unpaced) */
    double             rate0;         /* the configured starting rate */
    uint64_t           rtt;           /* round trips (for the bench) */
} rlim;

/* ---- helpers ------------------------------------------------------------------------ */

static unsigned fallback_budget(const rlim *r)
{
    unsigned n = r->members_lost ? r->members_lost : r->members;
    if (!n) n = 1;
    unsigned cap = r->cap ? r->cap : r->capmax;
    unsigned b = cap / n;
    if (!b) b = 1;
    /* Others may hold more than their share right then: grow no further than we held,
     * so the total stays under the cap while theirs drain to their shares. */
    if (r->members_lost && b > r->held_lost) b = r->held_lost ? r->held_lost : 1;
    return b;
}

static double now_of(rlim *r) { return nna_loop_now(r->loop); }

/* Our fair share of the shared cap (cap / processes, rounded up, at least 1). */
static unsigned fair_share(const rlim *r)
{
    unsigned n = r->members ? r->members : 1, cap = r->cap ? r->cap : r->capmax;
    unsigned s = (cap + n - 1) / n;
    return s ? s : 1;
}

static void giveback_cb(nna_timer *t, void *arg);

static void arm_giveback(rlim *r)
{
    if (r->spare && r->loop && !nna_timer_active(&r->giveback)) {
        r->spare_low = r->spare;
        nna_timer_start(r->loop, &r->giveback, SPARE_IDLE_S);
    }
}

/* Hands up to `want` spare slots to the workspace (into g->slots). */
static void take_spare(rlim *r, unsigned want, nna_lim_grant *g)
{
    unsigned s = want < r->spare ? want : r->spare;
    r->spare -= s;
    r->held += s;
    g->slots = s;
    if (r->spare < r->spare_low) r->spare_low = r->spare;
    arm_giveback(r);
}

static int parse_url(rlim *r, const char *url, char *name, size_t name_sz)
{
    if (strncasecmp(url, "redis://", 8) != 0) return -1;
    const char *p = url + 8;
    const char *end = p + strcspn(p, ":/?");
    if (end == p || (size_t)(end - p) > 255) return -1;
    r->host = strndup(p, (size_t)(end - p));
    if (!r->host) return -1;
    r->port = 6379;
    p = end;
    if (*p == ':') {
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e == p + 1 || v < 1 || v > 65535) return -1;
        r->port = (int)v;
        p = e;
    }
    if (*p == '/') {
        char *e;
        long v = strtol(p + 1, &e, 10);
        if (e == p + 1) v = 0;
        if (v < 0 || v > 1000) return -1;
        r->db = (int)v;
        p = e;
    }
    snprintf(name, name_sz, "default");
    if (*p == '?') {
        if (strncmp(p, "?name=", 6) != 0) return -1;
        size_t n = strlen(p + 6);
        if (n == 0 || n >= name_sz || strspn(p + 6, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
                                               "KLMNOPQRSTUVWXYZ0123456789-_.") != n)
            return -1;
        memcpy(name, p + 6, n + 1);
        p += 6 + n;
    }
    return *p ? -1 : 0;
}

/* The blocking check at creation: reachable, authenticated, scripts loaded. */
static int probe(rlim *r)
{
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    int ok = 1;
    redisReply *rep;
    if (r->password) {
        rep = redisCommand(c, "AUTH %s", r->password);
        ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep) freeReplyObject(rep);
    }
    if (ok && r->db) {
        rep = redisCommand(c, "SELECT %d", r->db);
        ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep) freeReplyObject(rep);
    }
    for (int i = 0; ok && i < S__N; i++) {
        rep = redisCommand(c, "SCRIPT LOAD %s", SCRIPTS[i]);
        ok = rep && rep->type == REDIS_REPLY_STRING && rep->len == 40;
        if (ok) memcpy(r->sha[i], rep->str, 41);
        if (rep) freeReplyObject(rep);
    }
    redisFree(c);
    return ok ? 0 : -1;
}

/* ---- the connection ----------------------------------------------------------------- */

static void connect_now(rlim *r);
static int lease_send(rlim *r, unsigned want, unsigned tokens, int leaving);

static void schedule_reconnect(rlim *r)
{
    if (!r->members_lost) {
        r->members_lost = r->members ? r->members : 1;
        r->held_lost = r->held;
        nna_ws_lim_shared(r->ws, 0, r->members_lost, r->cap ? r->cap : r->capmax);
    }
    r->spare = r->spare_low = 0;  /* a Redis that restarts knows nothing of them */
    r->reconnect_at = now_of(r) + r->backoff;
    r->backoff = r->backoff * 2 < BACKOFF_MAX ? r->backoff * 2 : BACKOFF_MAX;
    nna_timer_start_at(r->loop, &r->watchdog, r->reconnect_at);
}

/* The local fallback while Redis is unreachable: our share of the last known cap and
 * rate (slots up to cap / N; sends at rate / N, unpaced if no rate was learned). */
static void fallback(rlim *r, unsigned slots, unsigned tokens, nna_lim_grant *g)
{
    unsigned budget = fallback_budget(r);
    unsigned s = budget > r->held ? budget - r->held : 0;
    g->slots = s < slots ? s : slots;
    r->held += g->slots;
    g->tokens = tokens;
    g->delay = 0;
    g->rate = r->rate > 0 ? r->rate / (r->members ? r->members : 1) : 0;
}

/* Answers a waiting acquire from the local fallback budget. */
static void grant_local(rlim *r)
{
    nna_lim_grant g;
    fallback(r, r->want_slots, r->want_tokens, &g);
    nna_ws_lim_granted(r->ws, &g);
}

static void answer_locally(rlim *r)
{
    unsigned n = r->asking;
    r->asking = 0;
    while (n--) grant_local(r);
}

/* Drops the connection (from our own timer or a hiredis callback that reported an
 * error), answers what waits, and schedules a reconnect. */
static void lost(rlim *r)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->connected = 0;
    r->pending = 0;
    r->health_pending = 0;
    if (ac) {
        ac->data = NULL;   /* its callbacks no longer reach us */
        redisAsyncFree(ac);
    }
    answer_locally(r);
    if (r->loop) schedule_reconnect(r);
}

/* The connection is gone (hiredis frees ac after the callback that says so): forget it
 * without freeing it, answer what waited on it locally, and reconnect later. Replies
 * hiredis still fails reach nobody (ac->data is NULL). */
static void connection_lost(rlim *r, const redisAsyncContext *ac)
{
    ((redisAsyncContext *)ac)->data = NULL;
    r->ac = NULL;
    r->connected = 0;
    r->pending = 0;
    r->health_pending = 0;
    answer_locally(r);
    schedule_reconnect(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    rlim *r = ac->data;
    if (!r || r->ac != ac) return;
    connection_lost(r, ac);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rlim *r = ac->data;
    if (!r || r->ac != ac) return;
    if (status != REDIS_OK) {
        connection_lost(r, ac);
        return;
    }
    r->connected = 1;
    r->backoff = BACKOFF_MIN;
    if (r->members_lost) r->recover_until = now_of(r) + RECOVER_S;
}

static void on_noop(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)reply;
    (void)priv;
    rlim *r = ac->data;
    if (r && r->pending) r->pending--;
    if (r) r->progress = now_of(r);
}

static void watchdog_cb(nna_timer *t, void *arg)
{
    (void)t;
    rlim *r = arg;
    double now = now_of(r);
    if (!r->ac) {
        if (r->reconnect_at > 0 && now >= r->reconnect_at) connect_now(r);
        return;
    }
    double limit = r->connected ? CMD_TIMEOUT : CONNECT_TIMEOUT;
    if ((r->pending || !r->connected) && now - r->progress >= limit) {
        lost(r);
        return;
    }
    nna_timer_start(r->loop, &r->watchdog, limit / 4);
}

static void connect_now(rlim *r)
{
    r->reconnect_at = 0;
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err || nna_redis_loop_attach(ac, r->loop) != 0) {
        if (ac) redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    r->ac = ac;
    r->connected = 0;
    r->pending = 0;
    r->health_pending = 0;
    r->progress = now_of(r);
    /* A Redis that restarted knows nothing of the slots the others hold until they are
     * back too: until then (from now: an acquire may go out before the connect callback)
     * take no more than our share. */
    if (r->members_lost) r->recover_until = now_of(r) + RECOVER_S;
    r->members_back = 0;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (r->password) {
        r->pending++;
        redisAsyncCommand(ac, on_noop, NULL, "AUTH %s", r->password);
    }
    if (r->db) {
        r->pending++;
        redisAsyncCommand(ac, on_noop, NULL, "SELECT %d", r->db);
    }
    nna_timer_start(r->loop, &r->watchdog, CONNECT_TIMEOUT / 4);
    /* resynchronise what we hold (and learn the shared state) at once */
    lease_send(r, 0, 0, 0);
}

/* ---- scripts ------------------------------------------------------------------------ */

typedef struct call {
    rlim    *r;
    int      script;
    int      acquire;    /* an acquire waits for this answer */
    int      retried;    /* sent again with EVAL after NOSCRIPT */
    uint64_t spends;     /* BUDGET: r->spends when sent (later spends are not in its reply) */
    unsigned nargs;
    char     args[10][80];
} call;

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

static int send_call(rlim *r, call *k)
{
    const char *argv[24];
    size_t lens[24];
    unsigned n = 0;
    argv[n++] = k->retried ? "EVAL" : "EVALSHA";
    argv[n++] = k->retried ? SCRIPTS[k->script] : r->sha[k->script];
    argv[n++] = NKEYS_S;
    for (int i = 0; i < NKEYS; i++) argv[n++] = r->keys[i];
    for (unsigned i = 0; i < k->nargs; i++) argv[n++] = k->args[i];
    for (unsigned i = 0; i < n; i++) lens[i] = strlen(argv[i]);
    if (!r->pending) r->progress = now_of(r);
    if (redisAsyncCommandArgv(r->ac, on_reply, k, (int)n, argv, lens) != REDIS_OK) return -1;
    r->pending++;
    r->rtt++;
    return 0;
}

/* A reply of LEASE: {slots, gate pttl ms, members, cap, tokens, delay ms, rate * 1000,
 * health gate closed, its ms left, we are its prober}. */
static void lease_reply(rlim *r, const redisReply *rep, int acquire)
{
    long long v[10] = { 0, -2, 0, 0, 0, 0, 0, 0, 0, 0 };
    for (size_t i = 0; i < 10 && i < rep->elements; i++)
        if (rep->element[i]->type == REDIS_REPLY_INTEGER) v[i] = rep->element[i]->integer;
    if (v[2] > 0) r->members = r->members_back = (unsigned)v[2];
    if (v[3] > 0) r->cap = (unsigned)v[3];
    r->rate = v[6] > 0 ? (double)v[6] / 1000 : 0;
    nna_ws_lim_shared(r->ws, v[1] > 0 ? (double)v[1] / 1000 : 0, r->members, r->cap);
    if (!r->health_pending)
        nna_ws_lim_health(r->ws, v[7] == 1, (double)v[8] / 1000,
                          v[9] == 1 ? 0 : HEALTH_GRACE_MS / 1000.0);
    if (acquire) {
        unsigned got = v[0] > 0 ? (unsigned)v[0] : 0;
        nna_lim_grant g = { 0, v[4] > 0 ? (unsigned)v[4] : 0,
                            v[5] > 0 ? (double)v[5] / 1000 : 0, r->rate };
        r->spare += got;   /* what was asked for ahead stays here */
        take_spare(r, r->want_slots, &g);
        nna_ws_lim_granted(r->ws, &g);
    }
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    call *k = priv;
    rlim *r = ac->data;
    redisReply *rep = reply;
    if (!r || r != k->r) { /* the connection was dropped: lost() answered already */
        free(k);
        return;
    }
    if (r->pending) r->pending--;
    r->progress = now_of(r);
    if (rep && rep->type == REDIS_REPLY_ERROR && !k->retried && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
        k->retried = 1;   /* Redis restarted: EVAL sends the body and caches it again */
        if (send_call(r, k) == 0) return;
    }
    int acquire = k->acquire;
    if (acquire && r->asking) r->asking--;
    if (rep && rep->type == REDIS_REPLY_ARRAY && k->script == S_LEASE) {
        lease_reply(r, rep, acquire);
        if (acquire && r->resync && !r->asking && r->ac) {
            r->resync = 0;
            lease_send(r, 0, 0, 0);
        }
    } else if (k->script == S_HEALTH || k->script == S_HEALTHY) {
        if (r->health_pending) r->health_pending--;
        if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
            rep->element[1]->type == REDIS_REPLY_INTEGER &&
            rep->element[2]->type == REDIS_REPLY_INTEGER)
            nna_ws_lim_health(r->ws, 1, (double)rep->element[1]->integer / 1000,
                              rep->element[2]->integer == 1 ? 0 : HEALTH_GRACE_MS / 1000.0);
    } else if (k->script == S_BUDGET) {
        if (rep && rep->type == REDIS_REPLY_STRING) /* what is left after the spends sent since */
            nna_ws_lim_budget(r->ws, strtod(rep->str, NULL) - (double)(r->spends - k->spends));
    } else if (rep && rep->type == REDIS_REPLY_INTEGER && k->script == S_GATE) {
        nna_ws_lim_shared(r->ws, (double)rep->integer / 1000, r->members, r->cap);
    } else if (acquire) { /* an error reply or none: answer from the fallback */
        grant_local(r);
    }
    free(k);
}

static call *call_new(rlim *r, int script)
{
    call *k = calloc(1, sizeof *k);
    if (k) {
        k->r = r;
        k->script = script;
    }
    return k;
}

/* Sends LEASE (with the successes counted since the last one); -1 when it could not. */
static int lease_send(rlim *r, unsigned want, unsigned tokens, int leaving)
{
    if (!r->ac) return -1;
    /* A LEASE sets what we hold in Redis to what it declares: one sent while an acquire is
     * on its way would drop that acquire's grant (Redis runs them in order, the grant is
     * not known yet). It goes after the answer instead. */
    if (want == 0 && tokens == 0 && !leaving && r->asking) {
        r->resync = 1;
        return 0;
    }
    call *k = call_new(r, S_LEASE);
    if (!k) return -1;
    snprintf(k->args[0], sizeof k->args[0], "%s", r->me);
    snprintf(k->args[1], sizeof k->args[1], "%u", r->held + r->spare);
    snprintf(k->args[2], sizeof k->args[2], "%u", want);
    snprintf(k->args[3], sizeof k->args[3], "%d", LEASE_TTL_MS);
    snprintf(k->args[4], sizeof k->args[4], "%u", r->capmax);
    snprintf(k->args[5], sizeof k->args[5], "%u", r->adaptive ? r->ok : 0);
    snprintf(k->args[6], sizeof k->args[6], "%d", leaving);
    snprintf(k->args[7], sizeof k->args[7], "%u", tokens);
    snprintf(k->args[8], sizeof k->args[8], "%.3f", r->rate0);
    snprintf(k->args[9], sizeof k->args[9], "%u", r->counted);
    k->nargs = 10;
    k->acquire = want > 0 || tokens > 0;
    if (send_call(r, k) != 0) {
        free(k);
        return -1;
    }
    r->ok = 0;
    r->counted = 0;
    r->last_call = now_of(r);
    if (k->acquire) r->asking++;
    return 0;
}

static void budget_send(rlim *r, int spend);

static void renew_cb(nna_timer *t, void *arg)
{
    (void)t;
    rlim *r = arg;
    lease_send(r, 0, 0, 0);
    budget_send(r, 0);   /* report the first attempts, learn the others' spends */
    nna_timer_start(r->loop, &r->renew, RENEW_S);
}

/* ---- ops ---------------------------------------------------------------------------- */

static void r_attach(void *b, nna_loop *loop)
{
    rlim *r = b;
    r->loop = loop;
    r->backoff = BACKOFF_MIN;
    nna_timer_init(&r->watchdog, watchdog_cb, r);
    nna_timer_init(&r->renew, renew_cb, r);
    nna_timer_init(&r->giveback, giveback_cb, r);
    nna_timer_start(loop, &r->renew, RENEW_S);
    connect_now(r);
}

static void r_detach(void *b)
{
    rlim *r = b;
    if (!r->loop) return;
    nna_timer_stop(r->loop, &r->watchdog);
    nna_timer_stop(r->loop, &r->renew);
    nna_timer_stop(r->loop, &r->giveback);
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->asking = 0;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    r->loop = NULL;
}

/* Unpaced (no shared rate configured or learned yet), a send has no place to reserve in
 * a schedule: it is only counted, for the sends history a first pause learns the rate
 * from. So sends alone are granted at once, without a round trip on the admission path;
 * the count travels with the next LEASE, which goes in the background once REPORT_SENDS
 * of them or REPORT_S seconds have gathered (so the history stays within a bucket or two
 * of the truth). A reply that brings a rate ends this: the next sends are scheduled. */
#define REPORT_SENDS 64
#define REPORT_S     0.1
static void unsent_sends(rlim *r, unsigned tokens, nna_lim_grant *now)
{
    now->tokens = tokens;
    now->delay = 0;
    now->rate = 0;
    r->counted += tokens;
    if (!r->pending && (r->counted >= REPORT_SENDS || now_of(r) - r->last_call >= REPORT_S))
        lease_send(r, 0, 0, 0);
}

/* The workspace now holds `held`: slots it gave back become spare (while connected:
 * in Redis they are still ours), then what is beyond our fair share goes back at once
 * and the rest when no ask needed it for SPARE_IDLE_S. */
static void spare_from(rlim *r, unsigned held)
{
    if (held < r->held && r->ac) r->spare += r->held - held;
    r->held = held;
    if (!r->ac) r->spare = r->spare_low = 0;
    if (!r->spare) return;
    unsigned share = fair_share(r);
    if (r->held + r->spare > share) {
        unsigned over = r->held + r->spare - share;
        r->spare -= over < r->spare ? over : r->spare;
        if (r->spare < r->spare_low) r->spare_low = r->spare;
        lease_send(r, 0, 0, 0);
    }
    arm_giveback(r);
}

static void giveback_cb(nna_timer *t, void *arg)
{
    (void)t;
    rlim *r = arg;
    unsigned idle = r->spare_low < r->spare ? r->spare_low : r->spare;
    if (idle && r->ac) {
        r->spare -= idle;
        lease_send(r, 0, 0, 0);
    }
    r->spare_low = r->spare;
    if (r->spare) nna_timer_start(r->loop, &r->giveback, SPARE_IDLE_S);
}

static int r_acquire(void *b, unsigned held, unsigned slots, unsigned tokens,
                     nna_lim_grant *now)
{
    rlim *r = b;
    unsigned ask;
    spare_from(r, held);
    if (r->asking) return -1; /* (the workspace asks one at a time) */
    if (r->loop && r->members_lost &&
        (!r->connected || (now_of(r) < r->recover_until && r->members_back < r->members_lost))) {
        unsigned b = fallback_budget(r);
        unsigned room = b > held ? b - held : 0;
        if (slots > room) slots = room;
        if (slots == 0 && tokens == 0) {
            *now = (nna_lim_grant){ 0, 0, 0, r->rate };
            return 0;
        }
        ask = slots;
    } else {
        r->members_lost = 0;
        if (r->connected && slots <= r->spare && (tokens == 0 || r->rate <= 0)) {
            *now = (nna_lim_grant){ 0, 0, 0, r->rate };
            take_spare(r, slots, now);  /* no round trip */
            if (tokens) unsent_sends(r, tokens, now);
            return 0;
        }
        /* what the spare lacks, plus slots ahead within our share */
        unsigned share = fair_share(r), have = r->held + r->spare;
        ask = slots > r->spare ? slots - r->spare : 0;
        if (ask && have + ask < share) {
            unsigned ahead = LEASE_AHEAD > share - have ? share - have : LEASE_AHEAD;
            if (ahead > ask) ask = ahead;
        }
    }
    r->want_slots = slots;
    r->want_tokens = tokens;
    if (lease_send(r, ask, tokens, 0) != 0) { /* degraded: our share */
        fallback(r, slots, tokens, now);
        return 0;
    }
    return -1;
}

/* Successes are only counted here; they travel with the next LEASE (a give-back, an
 * acquire or the renewal), so a busy process costs no round trip per request. */
static void r_release(void *b, unsigned held, unsigned ok)
{
    rlim *r = b;
    r->ok += ok;
    if (held > r->held) { /* (not expected: the workspace only gives back here) */
        r->held = held;
        lease_send(r, 0, 0, 0);
        return;
    }
    if (held < r->held) spare_from(r, held);
}

static void r_gate(void *b, double seconds)
{
    rlim *r = b;
    if (!r->ac) return;
    call *k = call_new(r, S_GATE);
    if (!k) return;
    long ms = (long)ceil(seconds * 1000);
    snprintf(k->args[0], sizeof k->args[0], "%ld", ms > 1 ? ms : 1);
    snprintf(k->args[1], sizeof k->args[1], "%u", r->capmax);
    snprintf(k->args[2], sizeof k->args[2], "%d", r->adaptive);
    snprintf(k->args[3], sizeof k->args[3], "%.3f", r->rate0);
    k->nargs = 4;
    if (send_call(r, k) != 0) free(k);
}

/* Our run of failures closed the health gate for `seconds` (or our probe failed: `probe`):
 * every process pauses with us, and only we probe. */
static void r_health(void *b, double seconds, int probe)
{
    rlim *r = b;
    if (!r->ac) return;
    call *k = call_new(r, S_HEALTH);
    if (!k) return;
    long ms = (long)ceil(seconds * 1000);
    snprintf(k->args[0], sizeof k->args[0], "%s", r->me);
    snprintf(k->args[1], sizeof k->args[1], "%ld", ms > 1 ? ms : 1);
    snprintf(k->args[2], sizeof k->args[2], "%d", probe);
    snprintf(k->args[3], sizeof k->args[3], "%d", HEALTH_GRACE_MS);
    k->nargs = 4;
    if (send_call(r, k) != 0) free(k);
    else r->health_pending++;
}

/* A success: the gate opens for every process. */
static void r_healthy(void *b)
{
    rlim *r = b;
    if (!r->ac) return;
    call *k = call_new(r, S_HEALTHY);
    if (!k) return;
    if (send_call(r, k) != 0) free(k);
    else r->health_pending++;
}

/* BUDGET with the first attempts counted since the last one, spending one retry or not. */
static void budget_send(rlim *r, int spend)
{
    if (!r->ac) return;
    call *k = call_new(r, S_BUDGET);
    if (!k) return;
    snprintf(k->args[0], sizeof k->args[0], "%u", r->firsts);
    snprintf(k->args[1], sizeof k->args[1], "%d", spend);
    snprintf(k->args[2], sizeof k->args[2], "%.6g", r->rb_ratio);
    snprintf(k->args[3], sizeof k->args[3], "%.6g", r->rb_floor);
    snprintf(k->args[4], sizeof k->args[4], "%.6g", NNA_RETRY_BUDGET_CAP);
    k->nargs = 5;
    k->spends = r->spends + (spend ? 1 : 0);
    if (send_call(r, k) != 0) {
        free(k);
        return;
    }
    r->firsts = 0;
    r->spends = k->spends;
}

/* First attempts refill the shared budget (reported with the renewal); a retry spends one
 * at once. */
static void r_retry(void *b, unsigned firsts, int spend)
{
    rlim *r = b;
    r->firsts += firsts;
    if (spend) budget_send(r, 1);
}

/* Leaves the shared budget at once (others need not wait for our lease to expire). */
static void leave_sync(rlim *r)
{
    struct timeval tv = { 0, 500000 };
    redisContext *c = redisConnectWithTimeout(r->host, r->port, tv);
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *rep = NULL;
        if (r->password) rep = redisCommand(c, "AUTH %s", r->password);
        if (rep) freeReplyObject(rep);
        rep = r->db ? redisCommand(c, "SELECT %d", r->db) : NULL;
        if (rep) freeReplyObject(rep);
        rep = redisCommand(c, "HDEL %s %s", r->keys[0], r->me);
        if (rep) freeReplyObject(rep);
        rep = redisCommand(c, "ZREM %s %s", r->keys[1], r->me);
        if (rep) freeReplyObject(rep);
    }
    if (c) redisFree(c);
}

static void r_free(void *b)
{
    rlim *r = b;
    r_detach(r);
    if (r->sha[0][0]) leave_sync(r); /* (not when the probe failed) */
    if (r->password) {
        memset(r->password, 0, strlen(r->password));
        free(r->password);
    }
    free(r->host);
    free(r);
}

static uint64_t r_calls(const void *b) { return ((const rlim *)b)->rtt; }

static const nna_limit_ops redis_ops = {
    r_attach, r_detach, r_acquire, r_release, r_gate, r_free, r_calls, r_health, r_healthy,
    r_retry,
};

nna_status nna_limit_redis_new(nna_workspace *ws, const nna_workspace_options *o,
                               const nna_limit_ops **ops, void **out)
{
    rlim *r = calloc(1, sizeof *r);
    if (!r) return NNA_ENOMEM;
    char name[64];
    if (parse_url(r, o->limiter_url, name, sizeof name) != 0) {
        free(r->host);
        free(r);
        return NNA_EINVAL;
    }
    if (o->limiter_password && o->limiter_password[0]) {
        r->password = strdup(o->limiter_password);
        if (!r->password) {
            free(r->host);
            free(r);
            return NNA_ENOMEM;
        }
    }
    static const char *const suffix[NKEYS] = { "slots", "members", "gate", "cap", "rate",
                                               "tat", "sent", "hi", "health",
                                               "retry" };
    for (int i = 0; i < NKEYS; i++)
        snprintf(r->keys[i], sizeof r->keys[i], "nna:{%s}:%s", name, suffix[i]);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(r->me, sizeof r->me, "%.40s:%ld:%08x", host, (long)getpid(),
             (unsigned)nna_rng_os_seed());
    r->ws = ws;
    r->capmax = o->max_inflight ? o->max_inflight : 64;
    r->rate0 = o->rate_limit > 0 ? o->rate_limit : 0;
    r->adaptive = o->adaptive;
    /* (as nna_budget_init reads them) */
    r->rb_ratio = isfinite(o->retry_budget_ratio) && o->retry_budget_ratio >= 0
                ? o->retry_budget_ratio : 0.1;
    r->rb_floor = isfinite(o->retry_budget_floor) && o->retry_budget_floor >= 0
                ? o->retry_budget_floor : 1.0;
    r->members = 1;
    if (probe(r) != 0) {
        r_free(r);
        return NNA_ELIMITER_UNAVAILABLE;
    }
    *ops = &redis_ops;
    *out = r;
    return NNA_OK;
}
