/* Helpers shared by the integration tests: an in-process nna-emu on an ephemeral loopback
 * port, a client on a real libev loop, and running that loop until futures settle. */
#ifndef NNA_TESTUTIL_H
#define NNA_TESTUTIL_H
#include <ev.h>
#include <cjson/cJSON.h>
#include "nna/nna.h"
#include "nna/ev.h"
#include "emu.h"

typedef struct tctx {
    nna_emu        *emu;
    struct ev_loop *loop;
    nna_client     *client;
    char            base[64];
} tctx;

/* Starts the emulator (config_json may be NULL) and a client with fast test timings
 * (back-off 10, 20, 50, 100, 300 ms; settle 50 ms). opts may be NULL. */
void tctx_start(tctx *t, const char *config_json, const nna_client_options *opts);
void tctx_stop(tctx *t);
/* Client options pointing at the emulator with the fast timings. */
void tctx_options(const tctx *t, nna_client_options *o);
/* Runs the loop until f settles and its callback (if any) ran, or `seconds` pass. */
int  run_until_done(struct ev_loop *loop, nna_future *f, double seconds);
/* Runs the loop until *flag becomes nonzero or `seconds` pass. */
int  run_until_flag(struct ev_loop *loop, const int *flag, double seconds);
/* nna_emu_control wrapper returning the parsed JSON (caller deletes) and the status. */
cJSON *emu_ctl(tctx *t, const char *method, const char *path, const char *body, int *status);
/* Number of requests the emulator logged for a route name ("run", "tasks.list", ...). */
int  emu_route_count(tctx *t, const char *route);
/* Number of tasks stored for an agent. */
int  emu_task_count(tctx *t, const char *agent_id);
#endif
