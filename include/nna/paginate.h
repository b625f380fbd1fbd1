/* libnna — pages and cursor walks of the list endpoints (GET /tasks, GET /agents,
 * GET /agents/{id}/versions).
 *
 * A page call (nna_tasks_list, nna_agents_list, nna_agents_versions) returns one page as
 * the server sent it. A walk (nna_tasks_walk, nna_agents_walk, nna_agents_versions_walk)
 * requests the first page without a cursor, then passes each `next_cursor` back byte for
 * byte (URL-encoded) with the same filters, until `has_more` is false or `next_cursor` is
 * null, absent or "". An empty page that still carries a cursor is followed. A cursor the
 * walk has already used (a repeat or a cycle A→B→A) ends the walk with NNA_ECURSOR_LOOP
 * after the items of that page were delivered. A failed page request is retried by the
 * operation's retry policy with the same cursor, never from the first page; when its
 * retries are exhausted the walk ends with that page's status. The next page is requested
 * while the caller handles the current one. A walk follows at most max_walk_pages pages
 * (nna_client_options; default 100000): a server that keeps sending new cursors ends it
 * with NNA_ELIMIT after the items of the last page allowed were delivered.
 *
 * `limit` in the list options: 0 (what the _init functions set) means the default: a page
 * call leaves it out (the server's default is 20), a walk sends 100. Values 1..100 are sent
 * as given; anything above 100 fails with NNA_EINVAL and nothing is sent.
 *
 * Ownership: results are borrowed from the future (valid while it is referenced). Item
 * callbacks of walks run on the loop thread, from the loop (never inside the call that
 * started the walk); the item they get is valid only during the call.
 */
#ifndef NNA_PAGINATE_H
#define NNA_PAGINATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* One page as the server sent it. */
typedef struct nna_page {
    const struct cJSON *data;        /* the `data` array, or NULL when absent or null */
    size_t              count;       /* items in data */
    int                 has_more;    /* 1 when the server said true, or omitted it but gave
                                        a non-empty next_cursor */
    const char         *next_cursor; /* opaque; NULL when null, absent or "" */
    const struct cJSON *json;        /* the whole body */
} nna_page;

/* Item i of a page's data array (borrowed), or NULL. */
const struct cJSON *nna_page_item(const nna_page *p, size_t i);

/* Result of a finished walk (also set when it ended in an error after some pages). */
typedef struct nna_walk_result {
    size_t   items;    /* items handed to the callback */
    unsigned pages;    /* pages received */
    int      stopped;  /* 1 when the callback stopped the walk */
} nna_walk_result;

/* Options of GET /agents/{id}/versions (the only list without filters). */
typedef struct nna_page_options {
    const char *cursor;   /* page call: the page after this cursor (passed verbatim); walk:
                             where to resume; NULL = from the start */
    unsigned    limit;    /* see above; 0 = default */
} nna_page_options;

void nna_page_options_init(nna_page_options *o);

#ifdef __cplusplus
}
#endif
#endif /* NNA_PAGINATE_H */
