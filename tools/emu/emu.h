/* nna-emu: in-process API of the Nanonets Agents API emulator.
 * Internal to the libnna source tree (never installed). */
#ifndef NNA_EMU_H
#define NNA_EMU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nna_emu nna_emu;

typedef struct nna_emu_options {
    const char *host;          /* default "127.0.0.1" */
    unsigned    port;          /* 0 = ephemeral */
    const char *config_json;   /* workspaces/keys/agents/settings as JSON text; NULL = built-in default */
    const char *config_path;   /* same, from a file; NULL = none */
    unsigned long long seed;   /* fault-injection RNG seed */
    int         control;       /* 1 (default) = /_emu/ control endpoints enabled */
    const char *log_path;      /* JSON-lines request log file, NULL = none */
    int         quiet;         /* no stderr chatter */
    unsigned    idle_timeout;  /* seconds before an idle (or stalled) connection is closed;
                                  0 = default 15 */
    const char *tls_cert;      /* PEM certificate (chain) file: serve HTTPS; NULL = HTTP */
    const char *tls_key;       /* its PEM private key file; required with tls_cert */
} nna_emu_options;

void     nna_emu_options_init(nna_emu_options *o);
/* Starts its own server thread; returns 0 or -errno (-EINVAL for a bad config or a
 * tls_cert without tls_key, -ENOTSUP when libmicrohttpd was built without TLS). */
int      nna_emu_start(const nna_emu_options *o, nna_emu **out);
uint16_t nna_emu_port(const nna_emu *e);
/* Joins the thread and frees everything. NULL is a no-op. */
void     nna_emu_stop(nna_emu *e);
/* Same semantics as the HTTP control endpoints: method "GET"/"POST", path like
 * "/_emu/counters" (a query string is allowed). Returns the HTTP status; *response
 * (malloc'd JSON text, caller frees) may be NULL. Thread-safe. Works even when the
 * HTTP control endpoints are disabled. */
int      nna_emu_control(nna_emu *e, const char *method, const char *path,
                         const char *json_body, char **response);

#define NNA_EMU_DEFAULT_KEY "test-key"
#define NNA_EMU_OTHER_KEY   "other-key"
/* fixed agent ids of the built-in default configuration */
#define NNA_EMU_AGENT_1     "11111111-1111-4111-8111-111111111111" /* published, active   */
#define NNA_EMU_AGENT_2     "22222222-2222-4222-8222-222222222222" /* published, active   */
#define NNA_EMU_AGENT_3     "33333333-3333-4333-8333-333333333333" /* published, inactive (runs -> 403) */
#define NNA_EMU_OTHER_AGENT "44444444-4444-4444-8444-444444444444" /* workspace "other", key other-key */

#ifdef __cplusplus
}
#endif
#endif
