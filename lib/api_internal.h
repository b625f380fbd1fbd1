/* Shared pieces of the typed API layer: parsers turning 2xx bodies into typed results, the
 * page walker used by walks and the bulk watch, and the poll schedule of waits. Internal. */
#ifndef NNA_API_INTERNAL_H
#define NNA_API_INTERNAL_H
#include <cjson/cJSON.h>
#include "nna/tasks.h"
#include "nna/agents.h"
#include "future_internal.h"
#include "op.h"
#include "jsondoc.h"

/* ---- JSON fields (lenient: wrong type = absent) -------------------------------------- */
const char *nna_json_str(const cJSON *obj, const char *name);   /* string, else NULL */
double      nna_json_time(const cJSON *obj, const char *name);  /* ISO-8601, else NAN */

/* Task fields of any object carrying them (summary, result): never fails on an object.
 * json_text comes from obj's own text when obj is a parsed root. */
void nna_task_fields(const cJSON *obj, nna_task *t);
/* The same with the raw view of obj given (list items: a span of their page's text). */
void nna_task_fields_at(const cJSON *obj, nna_jref raw, nna_task *t);
/* nna_task_from_json with the raw view given: also NNA_EPROTOCOL when an id holds an escaped NUL. */
nna_status nna_task_from_json_at(const cJSON *obj, nna_jref raw, nna_task *t);
nna_status nna_agent_from_json_at(const cJSON *obj, nna_jref raw, nna_agent *a);

/* ---- nna_op_parse_fn for each result type ------------------------------------------- */
nna_status nna_parse_task(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_summary(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_task_result(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_message_list(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_message_ack(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_agent(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_task_page(cJSON *json, void **result, nna_free_fn *free_result);
nna_status nna_parse_agent_page(cJSON *json, void **result, nna_free_fn *free_result);

/* Longest next_cursor accepted (bytes). Cursors are short position tokens; a longer one is
 * a server bug, and passing it back would build URLs of megabytes that fail the same way
 * on every retry. */
#define NNA_CURSOR_MAX 4096
/* The list envelope {data, has_more, next_cursor}: NNA_EPROTOCOL when json is not an
 * object, data is neither absent, null nor an array, or next_cursor is longer than
 * NNA_CURSOR_MAX. */
nna_status nna_page_from_json(const cJSON *json, nna_page *p);
/* Why nna_page_from_json refuses json (static text). */
const char *nna_page_error(const cJSON *json);
/* 1 when a walk goes on after this page: has_more and a non-empty next_cursor. */
int nna_page_continues(const nna_page *p);

/* ---- validation --------------------------------------------------------------------- */
/* NULL, or a comma-separated list of [a-z_]+ names: 1; else 0. */
int nna_valid_status_list(const char *s);
/* 1 when text parses as a JSON object. */
int nna_valid_json_object(const char *text);
/* limit 0 (default) or 1..100: 1. */
static inline int nna_valid_limit(unsigned limit) { return limit <= 100; }

/* ---- the page walker ---------------------------------------------------------------- */
typedef struct nna_pager nna_pager;
/* One page, in order. Return 0 to go on, nonzero to stop: the pager then frees itself and
 * calls nothing more. */
typedef int (*nna_pager_page_fn)(void *ctx, const nna_page *page);
/* The end, called once (unless stopped or cancelled): NNA_OK after the last page, or
 * NNA_ECURSOR_LOOP, or the failed page's status. The pager frees itself after it. */
typedef void (*nna_pager_done_fn)(void *ctx, nna_status st, const char *error);

typedef struct nna_pager_spec {
    const char        *path;      /* "/tasks" */
    const char *const *filters;   /* key, value pairs, NULL-terminated; NULL values skipped */
    const char        *cursor;    /* start cursor, or NULL */
    unsigned           limit;     /* 1..100, or 0 = not sent */
    nna_op_class       klass;
    int                deferred;  /* 1: pages delivered from a loop timer (user code runs
                                     there); 0: synchronously when they arrive */
    nna_pager_page_fn  on_page;
    nna_pager_done_fn  on_done;
    void              *ctx;
} nna_pager_spec;

/* Starts a walk; NULL when out of memory (nothing started). */
nna_pager *nna_pager_start(nna_client *c, const nna_pager_spec *s);
/* Stops the walk: nothing more is sent or called. Safe inside its own on_page. */
void nna_pager_cancel(nna_pager *p);

/* ---- user walks (walk.c) ----------------------------------------------------------- */
typedef struct nna_walk_spec {
    const char        *path;
    const char *const *filters;
    const char        *cursor;
    unsigned           limit;     /* 0 → 100 */
    nna_task_item_cb   task_cb;   /* exactly one of the two */
    nna_agent_item_cb  agent_cb;
    void              *user_data;
} nna_walk_spec;
nna_future *nna_walk_start(nna_client *c, const nna_walk_spec *s);

/* ---- poll schedule ------------------------------------------------------------------ */
typedef struct nna_backoff_sched {
    double first, mult, cap, jitter;
    double next;       /* the delay before the next poll, before jitter */
} nna_backoff_sched;
void   nna_sched_reset(nna_backoff_sched *s);
/* The delay to wait now (jittered with the client's rng); advances the schedule. */
double nna_sched_next(nna_backoff_sched *s, nna_client *c);

/* ---- shared by wait and watch ------------------------------------------------------- */
typedef struct nna_wait_state {
    nna_wait_result res;
    cJSON          *task_json;     /* owns res.task's strings */
    cJSON          *summary_json;  /* owns res.summary's */
} nna_wait_state;
/* Moves a task object into the state (takes ownership of json). */
void nna_wait_state_task(nna_wait_state *w, cJSON *json);
/* Settles f with the outcome of a terminal/blocking task status, moving the state into a
 * heap nna_wait_result (freed with the future). */
void nna_wait_state_settle(nna_wait_state *w, nna_future *f, nna_status st, const char *err);
void nna_wait_state_clear(nna_wait_state *w);
/* The wait outcome for a task status: NNA_OK for completed, the task-outcome statuses for
 * failed/stopped/awaiting_review/waiting_for_input, NNA_EBUSY for the rest. */
nna_status nna_wait_outcome(nna_task_status s);
#endif
