/* Composite operations (walks, waits, watches) registered with their client: while one is
 * busy the host loop is kept alive even when it only waits on a timer, and a draining
 * shutdown waits for it; nna_client_shutdown (cancel) and the teardown call x->abort for
 * each one still registered. */
#include "client_internal.h"

void nna_composite_track(nna_client *c, nna_composite *x)
{
    if (x->tracked) return;
    x->tracked = 1;
    x->prev = NULL;
    x->next = c->composites;
    if (c->composites) c->composites->prev = x;
    c->composites = x;
}

void nna_composite_busy(nna_client *c, nna_composite *x, int busy)
{
    busy = busy != 0;
    if (!x->tracked || x->busy == busy) return;
    x->busy = busy;
    if (busy) c->composites_busy++; else c->composites_busy--;
    nna_client_update_keepalive(c);
    if (!busy) nna_client_maybe_finish(c);
}

void nna_composite_untrack(nna_client *c, nna_composite *x)
{
    if (!x->tracked) return;
    nna_composite_busy(c, x, 0);
    x->tracked = 0;
    if (x->prev) x->prev->next = x->next; else c->composites = x->next;
    if (x->next) x->next->prev = x->prev;
    x->prev = x->next = NULL;
}
