/* Walks for callers: the pager delivers pages from a loop timer, each item goes to the
 * caller's typed callback, which may stop the walk; the walk's future settles with an
 * nna_walk_result. The walk is a composite so a cancelling shutdown ends it even while it
 * only waits to deliver. */
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"
#include "client_internal.h"

typedef struct walk {
    nna_composite     base;     /* first: the composite list hands it back */
    nna_client       *c;
    nna_future       *f;        /* the library's reference keeps it alive until settled */
    nna_pager        *pager;
    nna_task_item_cb  task_cb;
    nna_agent_item_cb agent_cb;
    void             *ud;
    nna_walk_result   res;
    int               settled;
    int               in_page;  /* walk_page is on the stack: it frees the walk */
    int               over;
} walk;

static void settle(walk *w, nna_status st, const char *error)
{
    if (w->settled) return;
    w->settled = 1;
    nna_walk_result *r = malloc(sizeof *r);
    if (r) *r = w->res;
    else if (st == NNA_OK) st = NNA_ENOMEM;
    nna_future_settle(w->f, st, NULL, r, r ? free : NULL,
                      st == NNA_OK ? NULL : error ? error : nna_strerror(st));
}

/* Settles (first call wins), leaves the client's list and frees what is not on the stack. */
static void walk_end(walk *w, nna_status st, const char *error)
{
    settle(w, st, error);
    nna_composite_untrack(w->c, &w->base);
    if (w->in_page) { /* walk_page returns "stop": the pager frees itself */
        w->over = 1;
        return;
    }
    nna_pager *p = w->pager;
    w->pager = NULL;
    nna_pager_cancel(p);
    free(w);
}

static void on_cancel(void *ctx) { walk_end(ctx, NNA_ECANCELLED, NULL); }
static void on_abort(nna_composite *x) { walk_end((walk *)x, NNA_ESHUTDOWN, NULL); }

static void on_done(void *ctx, nna_status st, const char *error)
{
    walk *w = ctx;
    w->pager = NULL; /* frees itself after this */
    walk_end(w, st, error);
}

/* One item to the caller; returns nonzero when the walk is over. */
static int give(walk *w, const cJSON *item, nna_jref raw)
{
    int stop;
    if (w->task_cb) {
        nna_task t;
        if (nna_task_from_json_at(item, raw, &t) != NNA_OK) goto bad;
        stop = w->task_cb(&t, w->ud);
    } else {
        nna_agent a;
        if (nna_agent_from_json_at(item, raw, &a) != NNA_OK) goto bad;
        stop = w->agent_cb(&a, w->ud);
    }
    if (w->over) return 1; /* cancelled or shut down from inside the callback */
    w->res.items++;
    if (stop) {
        w->res.stopped = 1;
        walk_end(w, NNA_OK, NULL);
        return 1;
    }
    return 0;
bad:
    walk_end(w, NNA_EPROTOCOL, "a list item did not have the expected shape");
    return 1;
}

static int walk_page(void *ctx, const nna_page *page)
{
    walk *w = ctx;
    w->in_page = 1;
    w->res.pages++;
    const cJSON *arr = page->data, *item;
    nna_jref data = nna_jref_member(nna_jref_root(page->json), "data"); /* items' own bytes */
    size_t pos = 0;
    cJSON_ArrayForEach(item, arr) {
        if (give(w, item, nna_jref_next(data, &pos))) break;
    }
    w->in_page = 0;
    if (!w->over) return 0;
    free(w);
    return 1;
}

nna_future *nna_walk_start(nna_client *c, const nna_walk_spec *s)
{
    walk *w = calloc(1, sizeof *w);
    nna_future *f = w ? nna_future_new(c) : NULL;
    if (!f) { free(w); return NULL; }
    w->c = c;
    w->f = f;
    w->task_cb = s->task_cb;
    w->agent_cb = s->agent_cb;
    w->ud = s->user_data;
    w->base.abort = on_abort;
    nna_pager_spec ps = {
        .path = s->path, .filters = s->filters, .cursor = s->cursor,
        .limit = s->limit ? s->limit : 100, .klass = NNA_CLASS_NORMAL, .deferred = 1,
        .on_page = walk_page, .on_done = on_done, .ctx = w,
    };
    w->pager = nna_pager_start(c, &ps);
    if (!w->pager) {
        free(w);
        nna_future_fail(f, NNA_ENOMEM, NULL);
        return f;
    }
    nna_future_set_cancel(f, on_cancel, w);
    nna_composite_track(c, &w->base);
    nna_composite_busy(c, &w->base, 1);
    return f;
}
