/* Helpers shared by the integration tests: an in-process nna-emu on an ephemeral loopback
 * port, a client on a real event loop, and running that loop until futures settle.
 *
 * One suite, two loops: built as is, the loop is libev (libnna); built with -DNNA_TEST_UV
 * it is libuv (libnna-uv). A test that uses only these helpers (never ev_* or uv_*
 * directly) runs unchanged on both:
 *   tctx_start / tctx_stop             emulator + client on a fresh loop (t.loop, t.client)
 *   tclient_new(t.loop or NULL, ...)   another client on that loop, or on a private loop
 *   run_until_done / run_until_flag    run the loop until a future settles / a flag is set
 *   tloop_run(&t)                      run until nothing is left on the loop (ev_run(loop, 0)
 *                                      / uv_run(loop, UV_RUN_DEFAULT))
 *   tloop_run_nowait(&t)               one non-blocking iteration
 *   tclock()                           a monotonic clock in seconds (instead of ev_time()) */
#ifndef NNA_TESTUTIL_H
#define NNA_TESTUTIL_H
#include <cjson/cJSON.h>
#include "nna/nna.h"
#include "emu.h"

#ifdef NNA_TEST_UV
#include <uv.h>
#include "nna/uv.h"
typedef uv_loop_t tloop;
#define TLOOP_NAME "libuv"
#else
#include <ev.h>
#include "nna/ev.h"
typedef struct ev_loop tloop;
#define TLOOP_NAME "libev"
#endif

typedef struct tctx {
    nna_emu    *emu;
    tloop      *loop;
    nna_client *client;
    char        base[64];
} tctx;

/* Starts the emulator (config_json may be NULL) and a client with fast test timings
 * (back-off 10, 20, 50, 100, 300 ms; settle 50 ms). opts may be NULL. */
void tctx_start(tctx *t, const char *config_json, const nna_client_options *opts);
/* Shuts the client down (if t->client is set), checks that the loop then returns on its
 * own with the shutdown callback run and nothing of the library left on it, frees the loop
 * and stops the emulator. */
void tctx_stop(tctx *t);
/* Client options pointing at the emulator with the fast timings. */
void tctx_options(const tctx *t, nna_client_options *o);

/* A new loop of the build's kind (tctx_start makes one), and its release: for libuv it
 * asserts that nothing is left on the loop. */
tloop *tloop_new(void);
void   tloop_free(tloop *loop);
/* nna_client_new_ev / nna_client_new_uv on `loop`; NULL = a private loop. */
nna_status tclient_new(tloop *loop, const nna_client_options *o, nna_client **out);
/* Runs t's loop until nothing keeps it alive. */
void   tloop_run(tctx *t);
/* One iteration of t's loop that does not block. */
void   tloop_run_nowait(tctx *t);
/* Monotonic time in seconds. */
double tclock(void);

/* Runs the loop until f settles and its callback (if any) ran, or `seconds` pass. */
int  run_until_done(tloop *loop, nna_future *f, double seconds);
/* Runs the loop until *flag becomes nonzero or `seconds` pass. */
int  run_until_flag(tloop *loop, const int *flag, double seconds);
/* nna_emu_control wrapper returning the parsed JSON (caller deletes) and the status. */
cJSON *emu_ctl(tctx *t, const char *method, const char *path, const char *body, int *status);
/* Number of requests the emulator logged for a route name ("run", "tasks.list", ...). */
int  emu_route_count(tctx *t, const char *route);
/* Number of tasks stored for an agent. */
int  emu_task_count(tctx *t, const char *agent_id);
#endif
