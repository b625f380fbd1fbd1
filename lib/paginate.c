/* The cursor walker behind every walk and the bulk watch (spec §5.4).
 *
 * First page without a cursor (or from the start cursor), then each next_cursor passed
 * back verbatim with the same filters. The next page is requested as soon as a page
 * arrives, so the network works while the owner handles the page; at most two pages wait
 * for delivery, which bounds memory when the owner is slower than the server. A failed page
 * is retried by its own operation's policy (same URL, so the same cursor), never from the
 * first page. Cursors already used are remembered as 64-bit hashes: a repeat or a cycle
 * stops the walk with NNA_ECURSOR_LOOP instead of looping forever or silently truncating;
 * a server that keeps inventing new cursors is stopped by max_walk_pages (NNA_ELIMIT), and
 * each page's body by max_page_bytes. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "api_internal.h"
#include "client_internal.h"
#include "url.h"

#define MAX_QUEUED 2

struct nna_pager {
    nna_client    *c;
    char          *path;
    char          *filters;         /* encoded query of the filters ("" when none) */
    unsigned       limit;
    nna_op_class   klass;
    int            deferred;
    nna_pager_page_fn on_page;
    nna_pager_done_fn on_done;
    void          *ctx;

    char          *cursor;          /* cursor of the next request (NULL: first page) */
    nna_future    *req;             /* page request in flight */
    cJSON         *queue[MAX_QUEUED]; /* pages received, not yet delivered */
    int            nq;
    int            more;            /* another page is to be requested */
    int            ended;           /* the end is known: report it once the queue drains */
    nna_status     end_status;
    char          *end_error;
    nna_timer      timer;           /* deferred delivery */
    int            delivering;      /* on_page is on the stack */
    int            cancelled;
    uint64_t      *seen;            /* open-addressing set of cursor hashes (0 = empty) */
    unsigned       pages;           /* pages received */
    size_t         seen_cap, seen_len;
};

/* ---- the set of cursors used ------------------------------------------------------- */

static uint64_t cursor_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then forced nonzero */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

static int seen_insert(uint64_t *tab, size_t cap, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (tab[i] == h) return 0;
        if (!tab[i]) { tab[i] = h; return 1; }
    }
}

/* 1 added, 0 already there, -1 out of memory. */
static int seen_add(nna_pager *p, const char *cursor)
{
    if ((p->seen_len + 1) * 2 > p->seen_cap) {
        size_t cap = p->seen_cap ? p->seen_cap * 2 : 16;
        uint64_t *tab = calloc(cap, sizeof *tab);
        if (!tab) return -1;
        for (size_t i = 0; i < p->seen_cap; i++)
            if (p->seen[i]) seen_insert(tab, cap, p->seen[i]);
        free(p->seen);
        p->seen = tab;
        p->seen_cap = cap;
    }
    int added = seen_insert(p->seen, p->seen_cap, cursor_hash(cursor));
    p->seen_len += (size_t)added;
    return added;
}

/* ---- life ------------------------------------------------------------------------- */

static void pager_free(nna_pager *p)
{
    nna_timer_stop(&p->c->loop, &p->timer);
    for (int i = 0; i < p->nq; i++) cJSON_Delete(p->queue[i]);
    free(p->path);
    free(p->filters);
    free(p->cursor);
    free(p->end_error);
    free(p->seen);
    free(p);
}

static void drop_request(nna_pager *p)
{
    nna_future *r = p->req;
    p->req = NULL;
    if (r) nna_future_cancel(r); /* on_reply sees `cancelled` and releases it */
}

void nna_pager_cancel(nna_pager *p)
{
    if (!p || p->cancelled) return;
    p->cancelled = 1;
    drop_request(p);
    if (!p->delivering) pager_free(p);
}

static void end(nna_pager *p, nna_status st, const char *error)
{
    if (p->ended) return;
    p->ended = 1;
    p->more = 0;
    p->end_status = st;
    if (error) p->end_error = strdup(error);
}

/* Reports the end once every page before it was delivered. */
static void maybe_report(nna_pager *p)
{
    if (!p->ended || p->nq > 0 || p->req || p->delivering || p->cancelled) return;
    p->cancelled = 1; /* nothing may run after on_done */
    p->on_done(p->ctx, p->end_status, p->end_error);
    pager_free(p);
}

/* ---- requests ----------------------------------------------------------------------- */

static void on_reply(nna_future *f, void *arg);
static void deliver(nna_timer *t, void *arg);

static char *page_query(const nna_pager *p)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%u", p->limit);
    char *own = nna_query_build((const char *[]){ "limit", p->limit ? lim : NULL,
                                                  "cursor", p->cursor, NULL });
    if (!own) return NULL;
    size_t n = strlen(p->filters) + strlen(own) + 2;
    char *q = malloc(n);
    if (q) snprintf(q, n, "%s%s%s", p->filters, *p->filters && *own ? "&" : "", own);
    free(own);
    return q;
}

static void request(nna_pager *p)
{
    p->more = 0;
    char *q = page_query(p);
    nna_op_spec spec = {
        .method = "GET", .path = p->path, .query = q, .kind = NNA_OP_IDEMPOTENT,
        .klass = p->klass, .deadline = -1, .max_body = p->c->limits.max_page,
    };
    nna_future *f = q ? nna_op_submit(p->c, &spec) : NULL;
    free(q);
    if (!f) { end(p, NNA_ENOMEM, NULL); return; }
    if (f->settled) { /* refused at once (shutdown): nothing was sent */
        end(p, f->status, f->error);
        nna_future_unref(f);
        return;
    }
    if (nna_future_observe(f, on_reply, p) != 0) {
        nna_future_cancel(f);
        nna_future_unref(f);
        end(p, NNA_ENOMEM, NULL);
        return;
    }
    p->req = f;
}

/* Requests the next page when one is due and there is room to keep it. */
static void pump(nna_pager *p)
{
    if (p->more && !p->req && p->nq < MAX_QUEUED && !p->cancelled) request(p);
}

/* Takes a page body in: decides whether and where the walk goes on. */
static void accept_page(nna_pager *p, cJSON *json)
{
    nna_page page;
    if (nna_page_from_json(json, &page) != NNA_OK) {
        end(p, NNA_EPROTOCOL, nna_page_error(json));
        cJSON_Delete(json);
        return;
    }
    p->queue[p->nq++] = json;
    if (!nna_page_continues(&page)) {
        end(p, NNA_OK, NULL);
        return;
    }
    if (++p->pages >= p->c->limits.max_walk_pages) {
        char why[96];
        snprintf(why, sizeof why, "the walk reached max_walk_pages (%u) and the server still "
                 "had more", p->c->limits.max_walk_pages);
        end(p, NNA_ELIMIT, why);
        return;
    }
    int added = seen_add(p, page.next_cursor);
    if (added <= 0) {
        end(p, added < 0 ? NNA_ENOMEM : NNA_ECURSOR_LOOP,
            added < 0 ? NULL : "the server returned a cursor this walk had already used");
        return;
    }
    char *next = strdup(page.next_cursor);
    if (!next) { end(p, NNA_ENOMEM, NULL); return; }
    free(p->cursor);
    p->cursor = next;
    p->more = 1;
}

/* Hands the oldest queued page to the owner. Returns 0 when the pager still exists. */
static int deliver_one(nna_pager *p)
{
    cJSON *json = p->queue[0];
    memmove(p->queue, p->queue + 1, (size_t)--p->nq * sizeof *p->queue);
    nna_page page;
    nna_page_from_json(json, &page); /* checked in accept_page */
    p->delivering = 1;
    int stop = p->on_page(p->ctx, &page);
    p->delivering = 0;
    cJSON_Delete(json);
    if (stop || p->cancelled) {
        p->cancelled = 0;
        nna_pager_cancel(p); /* frees */
        return -1;
    }
    return 0;
}

static void deliver(nna_timer *t, void *arg)
{
    (void)t;
    nna_pager *p = arg;
    if (p->nq > 0) {
        if (deliver_one(p) != 0) return;
        pump(p);
    }
    if (p->nq > 0) nna_timer_start(&p->c->loop, &p->timer, 0);
    else maybe_report(p);
}

static void on_reply(nna_future *f, void *arg)
{
    nna_pager *p = arg;
    if (p->cancelled || p->req != f) { /* dropped: cancel or shutdown */
        nna_future_unref(f);
        return;
    }
    p->req = NULL;
    if (f->status != NNA_OK) {
        end(p, f->status, f->error);
    } else {
        cJSON *json = f->json; /* take the body: the future is released right below */
        f->json = NULL;
        f->result = NULL;
        accept_page(p, json);
    }
    nna_future_unref(f);
    pump(p); /* prefetch while the owner handles this page */
    if (p->deferred) {
        if (p->nq > 0 && !nna_timer_active(&p->timer)) nna_timer_start(&p->c->loop, &p->timer, 0);
        else maybe_report(p);
        return;
    }
    while (p->nq > 0) {
        if (deliver_one(p) != 0) return;
        pump(p);
    }
    maybe_report(p);
}

nna_pager *nna_pager_start(nna_client *c, const nna_pager_spec *s)
{
    nna_pager *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->c = c;
    p->path = strdup(s->path);
    p->filters = nna_query_build(s->filters ? s->filters : (const char *[]){ NULL });
    p->cursor = s->cursor ? strdup(s->cursor) : NULL;
    nna_timer_init(&p->timer, deliver, p);
    if (!p->path || !p->filters || (s->cursor && !p->cursor) ||
        (s->cursor && seen_add(p, s->cursor) < 0)) {
        pager_free(p);
        return NULL;
    }
    p->limit = s->limit;
    p->klass = s->klass;
    p->deferred = s->deferred;
    p->on_page = s->on_page;
    p->on_done = s->on_done;
    p->ctx = s->ctx;
    p->more = 1;
    pump(p);
    /* A refusal at once is reported from the loop, never inside the starting call. */
    if (p->ended) nna_timer_start(&c->loop, &p->timer, 0);
    return p;
}
