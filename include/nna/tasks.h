/* libnna — tasks and runs.
 *
 * Every call returns a future (nna/future.h) owned by the caller, or NULL only when out of
 * memory. Bad arguments (a malformed UUID, a missing query) fail the future with NNA_EINVAL
 * on the next loop iteration and send nothing. String arguments are copied before the call
 * returns. Typed results are borrowed from the future (valid while it is referenced); their
 * strings point into the parsed JSON, which stays available through nna_future_json().
 * Threading: the client's loop thread only.
 */
#ifndef NNA_TASKS_H
#define NNA_TASKS_H

#include <stddef.h>
#include "nna/client.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

typedef enum nna_task_status {
    NNA_TASK_UNKNOWN = 0,          /* absent, or a value this version does not know */
    NNA_TASK_PENDING,
    NNA_TASK_QUEUED,
    NNA_TASK_RUNNING,
    NNA_TASK_WAITING_FOR_INPUT,
    NNA_TASK_AWAITING_REVIEW,
    NNA_TASK_COMPLETED,
    NNA_TASK_FAILED,
    NNA_TASK_STOPPED
} nna_task_status;

/* "pending", ...; "unknown" for NNA_TASK_UNKNOWN. */
const char     *nna_task_status_name(nna_task_status s);
/* Unknown or NULL text → NNA_TASK_UNKNOWN. */
nna_task_status nna_task_status_parse(const char *text);
/* completed, failed, stopped. */
int             nna_task_status_terminal(nna_task_status s);

/* A task as returned by run creation, GET /tasks/{id}, cancel and list items. Optional
 * fields absent or null in the response are NULL (strings) or NAN (times). */
typedef struct nna_task {
    const char     *task_id;
    const char     *agent_id;
    nna_task_status status;
    const char     *status_text;   /* the raw status string, or NULL */
    double          created_at;    /* Unix seconds, or NAN */
    double          updated_at;
    const char     *title;
    const char     *agent_name;    /* list items */
    const char     *message;       /* run creation's human-readable hint */
    const struct cJSON *json;      /* the whole object */
} nna_task;

/* Fills *t from a task object (absent fields → NULL/NAN). Returns NNA_OK, or NNA_EPROTOCOL
 * when `obj` is not an object with a string task_id. */
nna_status nna_task_from_json(const struct cJSON *obj, nna_task *t);

typedef struct nna_run_options {
    const char        *query;              /* prompt text; required unless files are given */
    const char        *output_config_json; /* TaskOutputConfig as JSON text, or NULL */
    const char *const *files;              /* paths streamed as multipart `files` parts */
    size_t             nfiles;
    double             deadline;           /* seconds; < 0 = the client's default */
} nna_run_options;

void nna_run_options_init(nna_run_options *o);

/* POST /agents/{agent_id}/run. Result: const nna_task *. Never re-sent blindly: a run whose
 * outcome is in doubt is looked for first (nna_future_reconciled() tells), and ends with
 * NNA_EOUTCOME_UNKNOWN when that check cannot be made. */
nna_future *nna_agents_run(nna_client *c, const char *agent_id, const nna_run_options *o);

/* GET /tasks/{task_id}. Result: const nna_task *. */
nna_future *nna_tasks_get(nna_client *c, const char *task_id);

#ifdef __cplusplus
}
#endif
#endif /* NNA_TASKS_H */
