/* libnna — tasks and runs.
 *
 * Every call returns a future (nna/future.h) owned by the caller, or NULL only when out of
 * memory. Bad arguments (a malformed UUID, a missing query, an empty message, a limit
 * above 100, text that should be a JSON object and is not) fail the future with NNA_EINVAL
 * on the next loop iteration and send nothing. String arguments are copied before the call
 * returns. Typed results are borrowed from the future (valid while it is referenced); their
 * strings point into the parsed JSON, which stays available through nna_future_json() (or
 * the result's own `json` member); the server's own bytes are in the `json_text` members
 * (cJSON re-prints numbers: pass data on from those). Parsing is lenient about content:
 * unknown fields are ignored, every optional field may be absent or null, unknown enum
 * strings map to an UNKNOWN value. It is strict about form: a 2xx body that is not strict
 * JSON (nna/json.h), an id or cursor holding an escaped NUL, or a list without its `data`
 * array fails with NNA_EPROTOCOL.
 *
 * Retries: reads, cancel and waits' polls are retried by the client's policy (429, 5xx,
 * network); POST /tasks/{id}/message is never re-sent blindly: when its outcome is in doubt
 * the client looks for a user message with the same text created since the send in
 * GET /tasks/{id}/messages, adopts it (nna_future_reconciled() tells; the ack then has
 * message_id and task_id, no status) and re-sends only when it is absent; it ends with
 * NNA_EOUTCOME_UNKNOWN when that look fails.
 *
 * Threading: the client's loop thread only. Callbacks taken here (walk items, the input
 * callback of a wait) run on that thread from the loop, never inside the call that took
 * them; they may call any function of the library except freeing the client.
 */
#ifndef NNA_TASKS_H
#define NNA_TASKS_H

#include <stddef.h>
#include "nna/client.h"
#include "nna/paginate.h"

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
    /* The object's bytes exactly as the server sent them (json_len bytes, not
     * NUL-terminated in general: a list item points into its page's text), or NULL when the
     * result was not parsed from a reply (nna_task_from_json on a tree of the caller's).
     * Owned like `json`. Use it to pass server data on: cJSON re-prints numbers (an integer
     * beyond 2^53 or a 17-digit decimal comes out changed). */
    const char     *json_text;
    size_t          json_len;
} nna_task;

/* Fills *t from a task object (absent fields → NULL/NAN). Returns NNA_OK, or NNA_EPROTOCOL
 * when `obj` is not an object with a string task_id. json_text is set when `obj` is the
 * root of a tree the library parsed from a reply (nna_future_json, nna_future_take_json),
 * else NULL. */
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

/* ---- listing ------------------------------------------------------------------------ */

/* Filters of GET /tasks (the same on every page of a walk). */
typedef struct nna_tasks_list_options {
    const char *agent_id;       /* UUID, or NULL for all agents */
    const char *status;         /* comma-separated TaskStatus names ("running,queued"),
                                   or NULL; each name must be [a-z_]+ */
    double      created_after;  /* Unix seconds, inclusive; NAN (the default) = no filter.
                                   Sent as YYYY-MM-DDTHH:MM:SSZ rounded down */
    double      created_before; /* inclusive; NAN = no filter; rounded up */
    const char *q;              /* substring of the title, or NULL */
    const char *cursor;         /* see nna_page_options (nna/paginate.h) */
    unsigned    limit;          /* 0 = default (page: server's 20; walk: 100); ≤ 100 */
} nna_tasks_list_options;

void nna_tasks_list_options_init(nna_tasks_list_options *o);

/* A page of GET /tasks: the raw page plus its items as tasks (items[i] borrows from
 * page.data). A page whose data holds something other than task objects with a task_id
 * fails with NNA_EPROTOCOL. */
typedef struct nna_task_page {
    nna_page        page;
    const nna_task *items;      /* page.count entries */
} nna_task_page;

/* GET /tasks, one page. `o` may be NULL. Result: const nna_task_page *. */
nna_future *nna_tasks_list(nna_client *c, const nna_tasks_list_options *o);

/* Called for each task of a walk; return 0 to go on, nonzero to stop the walk (it then
 * settles with NNA_OK and nna_walk_result.stopped = 1). */
typedef int (*nna_task_item_cb)(const nna_task *t, void *user_data);

/* Walks every page of GET /tasks with these filters (see nna/paginate.h). `o` may be NULL.
 * Result: const nna_walk_result *. */
nna_future *nna_tasks_walk(nna_client *c, const nna_tasks_list_options *o,
                           nna_task_item_cb cb, void *user_data);

/* ---- one task ----------------------------------------------------------------------- */

/* GET /tasks/{id}/summary, the final answer (spec §3.4). */
typedef struct nna_summary {
    nna_task            task;           /* the task fields it carries (task_id may be NULL) */
    const struct cJSON *result;         /* `result` as sent (any JSON), or NULL when omitted
                                           (no output yet) or null */
    const struct cJSON *extracted_data; /* result.extracted_data, else the top-level
                                           extracted_data, else NULL */
    const char         *text;           /* result.summary when result is an object and it is
                                           a string; result itself when it is a string;
                                           else NULL */
    const struct cJSON *json;           /* the whole body */
    /* The server's own bytes (not NUL-terminated in general; NULL/0 when absent or, for a
     * summary not parsed from a reply, unknown): the whole body, `result`, and
     * `extracted_data` (the same member as above). Extracted document data goes on from
     * here byte for byte; the cJSON view above has lost digits of large numbers. */
    const char         *json_text;
    size_t              json_len;
    const char         *result_text;
    size_t              result_len;
    const char         *extracted_data_text;
    size_t              extracted_data_len;
} nna_summary;

/* Fills *s from a summary body. NNA_EPROTOCOL when it is not an object. The *_text members
 * are set as for nna_task_from_json. */
nna_status nna_summary_from_json(const struct cJSON *obj, nna_summary *s);

/* GET /tasks/{task_id}/summary. Result: const nna_summary *. */
nna_future *nna_tasks_summary(nna_client *c, const char *task_id);

/* GET /tasks/{id}/result: the task with its full reasoning feed (for audit and for
 * diagnosing failures; poll with nna_tasks_get, not with this). */
typedef struct nna_task_result {
    nna_task            task;           /* task fields (task_id may be NULL) */
    const struct cJSON *feed;           /* the `feed` array as sent, or NULL */
    const struct cJSON *json;
    const char         *json_text;      /* the body's bytes as sent (see nna_summary) */
    size_t              json_len;
    const char         *feed_text;      /* the `feed` member's bytes, or NULL */
    size_t              feed_len;
} nna_task_result;

/* GET /tasks/{task_id}/result. Result: const nna_task_result *. */
nna_future *nna_tasks_result(nna_client *c, const char *task_id);

/* POST /tasks/{task_id}/cancel (idempotent: a terminal task comes back unchanged; the
 * status may still be non-terminal for a moment). Result: const nna_task *. */
nna_future *nna_tasks_cancel(nna_client *c, const char *task_id);

/* ---- messages ----------------------------------------------------------------------- */

/* One message of a task's conversation. Every field but the whole object may be absent. */
typedef struct nna_message {
    const char         *id;
    const char         *task_id;
    const char         *agent_id;
    const char         *user_id;     /* set on messages a user sent; NULL on the agent's */
    const char         *parent_id;
    double              created_at;  /* Unix seconds, or NAN */
    const struct cJSON *content;     /* any JSON, as sent, or NULL */
    const char         *text;        /* content when it is a JSON string, else NULL */
    const struct cJSON *json;        /* the whole object */
    const char         *json_text;   /* the object's bytes as sent (see nna_summary) */
    size_t              json_len;
    const char         *content_text; /* `content`'s bytes as sent, or NULL */
    size_t              content_len;
} nna_message;

/* Fills *m from a message object. NNA_EPROTOCOL when it is not an object. */
nna_status nna_message_from_json(const struct cJSON *obj, nna_message *m);

/* GET /tasks/{id}/messages, oldest first (not paginated). */
typedef struct nna_message_list {
    const nna_message  *items;
    size_t              count;
    const struct cJSON *json;
    const char         *json_text;   /* the body's bytes as sent */
    size_t              json_len;
} nna_message_list;

/* The agent's latest message: the last one whose user_id is null or absent, else the last
 * message; NULL when the list is empty. When the task is waiting_for_input it is the
 * question being asked. */
const nna_message *nna_message_list_latest_agent(const nna_message_list *l);

/* GET /tasks/{task_id}/messages. Result: const nna_message_list *. */
nna_future *nna_tasks_messages(nna_client *c, const char *task_id);

/* The acknowledgement of POST /tasks/{id}/message; every field may be NULL. */
typedef struct nna_message_ack {
    const char         *message_id;
    const char         *task_id;
    nna_task_status     status;      /* task status at acceptance */
    const char         *status_text;
    const char         *message;     /* human-readable acknowledgement */
    const struct cJSON *json;
    const char         *json_text;   /* the body's bytes as sent */
    size_t              json_len;
} nna_message_ack;

/* POST /tasks/{task_id}/message {"message": text}: answers a waiting_for_input task or
 * adds to a running one. `text` must be non-empty. Never re-sent blindly (see above).
 * Result: const nna_message_ack *. */
nna_future *nna_tasks_send_message(nna_client *c, const char *task_id, const char *text);

/* ---- waiting ------------------------------------------------------------------------ */

typedef enum nna_input_action {
    NNA_INPUT_ANSWER,   /* post *answer (copied) as a message, then poll on from the start
                           interval */
    NNA_INPUT_CANCEL,   /* cancel the task, then poll on until it is stopped */
    NNA_INPUT_GIVE_UP   /* end the wait with NNA_EINPUT_NEEDED */
} nna_input_action;

/* Asked when the task is waiting_for_input. `question` is the agent's latest message
 * (nna_message_list_latest_agent), or NULL when the task has no messages; both arguments
 * are valid only during the call. Set *answer (non-empty) with NNA_INPUT_ANSWER. Asked at
 * most once per question: after an answer, a status still showing the same question is
 * polled again, not asked again. */
typedef nna_input_action (*nna_input_cb)(const nna_task *task, const nna_message *question,
                                         const char **answer, void *user_data);

typedef struct nna_wait_options {
    double       interval;         /* first delay between polls (s); default 1 */
    double       multiplier;       /* growth per poll; default 1.5 */
    double       max_interval;     /* cap (s); default 10 */
    double       jitter;           /* ± fraction of each delay, from the client's seeded
                                      random source; default 0.1 */
    double       deadline;         /* seconds for the whole wait; default 600; 0 = none.
                                      Ends with NNA_EDEADLINE */
    int          fetch_summary;    /* 1 (default): GET /summary once when completed */
    nna_input_cb on_input;         /* NULL: waiting_for_input ends with NNA_EINPUT_NEEDED */
    void        *input_user_data;
    /* Called from the loop (never inside a library call) when a poll has shown a status
     * other than the one reported before, just before the next poll; the final status is
     * the future's. `task` is valid only during the call. NULL (default): not called. */
    void       (*on_status)(const nna_task *task, void *user_data);
    void        *status_user_data;
} nna_wait_options;

void nna_wait_options_init(nna_wait_options *o);

/* What a wait (or a watch) ends with. Set on NNA_OK (completed) and on the task-outcome
 * statuses NNA_ETASK_FAILED, NNA_ETASK_STOPPED, NNA_EINPUT_NEEDED, NNA_EREVIEW. */
typedef struct nna_wait_result {
    nna_task    task;          /* the last state seen */
    int         has_summary;   /* 1 when /summary was fetched (completed tasks) */
    nna_summary summary;       /* valid when has_summary */
    unsigned    polls;         /* status reads made for this task */
    unsigned    answers;       /* messages posted by the wait */
} nna_wait_result;

/* Waits for a task: polls GET /tasks/{id} (never /summary) at once, then on a growing
 * interval until a terminal status, then, for completed, fetches /summary once. completed → NNA_OK, failed →
 * NNA_ETASK_FAILED, stopped → NNA_ETASK_STOPPED, awaiting_review → NNA_EREVIEW (a human
 * must act; not polled further), waiting_for_input → the input callback, or
 * NNA_EINPUT_NEEDED without one. 429s and 5xx during polling are retried by each poll's
 * policy and do not end the wait; a poll that still fails ends it with that poll's status.
 * Cancelling the future stops polling at once. `o` may be NULL for the defaults.
 * Result: const nna_wait_result *. */
nna_future *nna_tasks_wait(nna_client *c, const char *task_id, const nna_wait_options *o);

/* ---- bulk watch --------------------------------------------------------------------- */

/* Watches many tasks at a fraction of the requests of one wait each: every round walks
 * GET /tasks?agent_id=A&created_after=T&limit=100 once per agent (T = the earliest
 * created_at of that agent's unsettled tasks minus 1 s) and reads the statuses from the
 * list. A watched task missing from its round's walk, or listed without a status, is read
 * with GET /tasks/{id}. Rounds start `interval` after the first add and grow like a
 * wait's. A task's future settles like nna_tasks_wait() without the input callback
 * (waiting_for_input → NNA_EINPUT_NEEDED), with /summary fetched once for completed.
 *
 * Ownership: the watch belongs to the caller; nna_watch_free() cancels what is still
 * watched (NNA_ECANCELLED). Free it before or after the client: after the client has shut
 * down, every watched future has settled with NNA_ESHUTDOWN and the watch only holds
 * memory. */
typedef struct nna_watch nna_watch;

typedef struct nna_watch_options {
    double interval;        /* first delay between rounds (s); default 1 */
    double multiplier;      /* default 1.5 */
    double max_interval;    /* default 10 */
    double jitter;          /* default 0.1 */
    double deadline;        /* seconds per task from its add; default 600; 0 = none */
    int    fetch_summary;   /* default 1 */
} nna_watch_options;

void nna_watch_options_init(nna_watch_options *o);

/* `o` may be NULL. NNA_EINVAL without a client, NNA_ENOMEM. */
nna_status nna_watch_new(nna_client *c, const nna_watch_options *o, nna_watch **out);

/* Watches a task of agent `agent_id` created at `created_at` (Unix seconds, as in
 * nna_task.created_at; NAN = unknown: the task is then read with GET /tasks/{id}).
 * Result: const nna_wait_result *. Bad UUIDs fail with NNA_EINVAL, a task already watched
 * with NNA_EBUSY. Returns NULL when out of memory or once the client has shut down.
 * The deadline of a watched task is checked at the start of each round. */
nna_future *nna_watch_add(nna_watch *w, const char *task_id, const char *agent_id,
                          double created_at);

/* nna_watch_add(w, t->task_id, t->agent_id, t->created_at), e.g. with a run's result. */
nna_future *nna_watch_add_task(nna_watch *w, const nna_task *t);

/* Tasks watched and not yet settled. */
size_t nna_watch_pending(const nna_watch *w);

/* "All settled": a future (the caller owns one reference) that settles with NNA_OK once no
 * task is watched any more — every added task's future has settled, whatever its outcome
 * (at once if none is watched now). Add every task first: a task added after it settled
 * is not covered. The watch's end settles it with that end's status (NNA_ECANCELLED from
 * nna_watch_free(), NNA_ESHUTDOWN); cancelling it does not touch the tasks. No result.
 * NULL when out of memory or once the client has shut down. Loop thread only. */
nna_future *nna_watch_settled(nna_watch *w);

void nna_watch_free(nna_watch *w);

#ifdef __cplusplus
}
#endif
#endif /* NNA_TASKS_H */
