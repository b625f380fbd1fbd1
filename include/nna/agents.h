/* libnna — agents.
 *
 * Agents have two ids: `id` names one version and goes into every /agents/{agent_id} path
 * (including runs, see nna_agents_run in nna/tasks.h); `agent_group_id` names the logical
 * agent across its versions. `config` is free-form JSON kept verbatim.
 *
 * Every call returns a future (nna/future.h) owned by the caller, or NULL only when out of
 * memory. Bad arguments (a malformed UUID, a limit above 100, config text that is not a JSON
 * object, an empty name) fail the future with NNA_EINVAL on the next loop iteration and send
 * nothing. String arguments are copied before the call returns. Typed results are borrowed
 * from the future (valid while it is referenced) and point into its parsed JSON; the
 * server's own bytes are in json_text / config_text. Parsing is lenient about content
 * (unknown fields ignored, optional fields absent or null, unknown status strings →
 * NNA_AGENT_UNKNOWN) and strict about form (see nna/tasks.h: NNA_EPROTOCOL). config_json
 * arguments must be strict JSON objects (nna/json.h) and are sent as written.
 *
 * Retries: reads and PATCH are retried by the client's policy; create and publish are never
 * re-sent blindly: when their outcome is in doubt the client looks first (publish: a new
 * published version in GET /agents/{id}/versions; create with a name: the agent of that
 * name in GET /agents?q=), adopts what it finds (nna_future_reconciled() tells; the result
 * is the one the success would have given) and re-sends only when the look proves it
 * absent. They end with NNA_EOUTCOME_UNKNOWN when the look fails, and so does a create
 * without a name (nothing identifies its agent).
 *
 * Threading: the client's loop thread only; walk callbacks run on it, from the loop.
 */
#ifndef NNA_AGENTS_H
#define NNA_AGENTS_H

#include <stddef.h>
#include "nna/client.h"
#include "nna/paginate.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

typedef enum nna_agent_status {
    NNA_AGENT_UNKNOWN = 0,      /* absent, or a value this version does not know */
    NNA_AGENT_DRAFT,
    NNA_AGENT_PUBLISHED,
    NNA_AGENT_ARCHIVED
} nna_agent_status;

/* "draft", "published", "archived"; "unknown" otherwise. */
const char      *nna_agent_status_name(nna_agent_status s);
/* Unknown or NULL text → NNA_AGENT_UNKNOWN. */
nna_agent_status nna_agent_status_parse(const char *text);

/* An agent version: the full Agent (create, get, update) or the AgentVersion summary
 * (list items, versions, publish), which has no config. */
typedef struct nna_agent {
    const char         *id;              /* this version's id (always set) */
    const char         *agent_group_id;
    long                version_number;  /* 0 when absent */
    nna_agent_status    status;
    const char         *status_text;     /* raw, or NULL */
    const char         *name;
    int                 is_active;       /* 1, 0, or -1 when absent */
    double              created_at;      /* Unix seconds, or NAN */
    double              updated_at;
    const struct cJSON *config;          /* object, or NULL in summaries */
    const char         *system_prompt;   /* config.system_prompt when a string, else NULL */
    const struct cJSON *json;            /* the whole object */
    /* The server's own bytes (not NUL-terminated in general), owned like `json`: the whole
     * object and its `config` (NULL/0 when absent, or when the agent was not parsed from a
     * reply). `config` is the caller's free-form data: pass it on from here, not from the
     * cJSON view, which re-prints numbers. */
    const char         *json_text;
    size_t              json_len;
    const char         *config_text;
    size_t              config_len;
} nna_agent;

/* Fills *a from an agent object. NNA_EPROTOCOL when it is not an object with a string id.
 * The *_text members are set when `obj` is the root of a tree parsed from a reply. */
nna_status nna_agent_from_json(const struct cJSON *obj, nna_agent *a);

/* A page of agent versions (GET /agents, GET /agents/{id}/versions). */
typedef struct nna_agent_page {
    nna_page         page;
    const nna_agent *items;     /* page.count entries */
} nna_agent_page;

/* Called for each agent of a walk; nonzero stops it (see nna_task_item_cb). */
typedef int (*nna_agent_item_cb)(const nna_agent *a, void *user_data);

/* ---- list --------------------------------------------------------------------------- */

typedef struct nna_agents_list_options {
    const char *q;          /* substring of the name, or NULL */
    const char *status;     /* comma-separated AgentStatus names, or NULL (the server then
                               lists all but archived); each name must be [a-z_]+ */
    const char *cursor;     /* see nna_page_options */
    unsigned    limit;      /* 0 = default (page: server's 20; walk: 100); ≤ 100 */
} nna_agents_list_options;

void nna_agents_list_options_init(nna_agents_list_options *o);

/* GET /agents, one page. `o` may be NULL. Result: const nna_agent_page *. */
nna_future *nna_agents_list(nna_client *c, const nna_agents_list_options *o);

/* Walks every page of GET /agents (nna/paginate.h). Result: const nna_walk_result *. */
nna_future *nna_agents_walk(nna_client *c, const nna_agents_list_options *o,
                            nna_agent_item_cb cb, void *user_data);

/* ---- one agent ---------------------------------------------------------------------- */

/* Body of POST /agents; every field optional ({} is a valid body). */
typedef struct nna_agent_create_options {
    const char *name;           /* NULL: the server picks "Untitled Agent N"; not "" */
    const char *system_prompt;  /* stored into config.system_prompt (ignored by the server
                                   when config_json has one) */
    const char *config_json;    /* the whole configuration as JSON object text, or NULL */
} nna_agent_create_options;

void nna_agent_create_options_init(nna_agent_create_options *o);

/* POST /agents. `o` may be NULL. Never re-sent blindly (see above). Result: const
 * nna_agent *. */
nna_future *nna_agents_create(nna_client *c, const nna_agent_create_options *o);

/* GET /agents/{agent_id} (not in the reference pages; inferred from the guides).
 * Result: const nna_agent *. */
nna_future *nna_agents_get(nna_client *c, const char *agent_id);

/* Body of PATCH /agents/{id}: only the fields set are sent. */
typedef struct nna_agent_update_options {
    const char *name;           /* NULL = unchanged; not "" */
    const char *system_prompt;  /* NULL = unchanged; overwrites only config.system_prompt */
    const char *config_json;    /* NULL = unchanged; REPLACES the whole config object */
    int         is_active;      /* -1 (default) = unchanged, 0 or 1 */
} nna_agent_update_options;

void nna_agent_update_options_init(nna_agent_update_options *o);

/* PATCH /agents/{agent_id}: edits in place (no new version). Result: const nna_agent *. */
nna_future *nna_agents_update(nna_client *c, const char *agent_id,
                              const nna_agent_update_options *o);

/* ---- versions ----------------------------------------------------------------------- */

/* GET /agents/{agent_id}/versions, one page (a response without has_more/next_cursor is
 * the complete history). `o` may be NULL. Result: const nna_agent_page *. */
nna_future *nna_agents_versions(nna_client *c, const char *agent_id,
                                const nna_page_options *o);

/* Walks the version history. Result: const nna_walk_result *. */
nna_future *nna_agents_versions_walk(nna_client *c, const char *agent_id,
                                     const nna_page_options *o, nna_agent_item_cb cb,
                                     void *user_data);

/* POST /agents/{agent_id}/versions/publish: publishes the draft as a new version (409 →
 * NNA_ECONFLICT when there is no draft). Never re-sent blindly (see above). Result: const nna_agent *
 * (the new version, without config). */
nna_future *nna_agents_publish(nna_client *c, const char *agent_id);

#ifdef __cplusplus
}
#endif
#endif /* NNA_AGENTS_H */
