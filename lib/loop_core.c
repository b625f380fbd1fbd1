/* Timer heap behind the backend's single timer.
 *
 * A binary min-heap of armed timers ordered by absolute loop time. After every change the
 * backend timer is re-armed only when the earliest deadline moved, so a fan-out of
 * thousands of back-off timers costs one backend timer. Expired timers run in deadline
 * order; a callback may start or stop any timer, including itself. */
#include <stdlib.h>
#include <math.h>
#include <time.h>
#include "loop_core.h"

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int nna_loop_init(nna_loop *l, const nna_loop_ops *ops, void *backend)
{
    l->ops = ops;
    l->backend = backend;
    l->heap = NULL;
    l->len = l->cap = 0;
    l->armed_at = -1;
    l->io_handler = NULL;
    l->io_arg = NULL;
    l->keepalive = 0;
    l->closing = 0;
    l->depth = 0;
    l->release = NULL;
    l->release_arg = NULL;
    l->sides = NULL;
    l->seen_now = l->seen_mono = 0;
    return 0;
}

void nna_loop_fini(nna_loop *l)
{
    for (size_t i = 0; i < l->len; i++) l->heap[i]->slot = 0;
    free(l->heap);
    l->heap = NULL;
    l->len = l->cap = 0;
    if (l->armed_at >= 0 && !l->closing) l->ops->timer(l->backend, -1);
    l->armed_at = -1;
}

double nna_loop_now(nna_loop *l) { return l->ops->now(l->backend); }

double nna_loop_now_fresh(nna_loop *l)
{
    double now = nna_loop_now(l);
    if (l->seen_mono <= 0) return now;
    /* Time passed since the loop last called in, added to the loop's time then. */
    double est = l->seen_now + (mono_now() - l->seen_mono);
    return est > now ? est : now;
}

void nna_loop_keepalive(nna_loop *l, int on)
{
    on = !!on;
    if (on == l->keepalive || l->closing) return;
    l->keepalive = on;
    l->ops->keepalive(l->backend, on);
}

void nna_timer_init(nna_timer *t, nna_timer_cb cb, void *arg)
{
    t->at = 0;
    t->slot = 0;
    t->cb = cb;
    t->arg = arg;
}

static void heap_set(nna_loop *l, size_t i, nna_timer *t)
{
    l->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(nna_loop *l, size_t i)
{
    nna_timer *t = l->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (l->heap[parent]->at <= t->at) break;
        heap_set(l, i, l->heap[parent]);
        i = parent;
    }
    heap_set(l, i, t);
}

static void sift_down(nna_loop *l, size_t i)
{
    nna_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->len) break;
        if (c + 1 < l->len && l->heap[c + 1]->at < l->heap[c]->at) c++;
        if (l->heap[c]->at >= t->at) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

static void heap_remove(nna_loop *l, nna_timer *t)
{
    size_t i = t->slot - 1;
    t->slot = 0;
    l->len--;
    if (i == l->len) return;
    nna_timer *last = l->heap[l->len];
    heap_set(l, i, last);
    if (i > 0 && l->heap[(i - 1) / 2]->at > last->at) sift_up(l, i);
    else sift_down(l, i);
}

/* Tell the backend about the earliest deadline, if it changed. */
static void rearm(nna_loop *l)
{
    if (l->closing) return;
    if (l->len == 0) {
        if (l->armed_at >= 0) l->ops->timer(l->backend, -1);
        l->armed_at = -1;
        return;
    }
    double at = l->heap[0]->at;
    if (at == l->armed_at) return;
    double delay = at - nna_loop_now(l);
    l->armed_at = at;
    l->ops->timer(l->backend, delay > 0 ? delay : 0);
}

int nna_timer_start_at(nna_loop *l, nna_timer *t, double at)
{
    if (!isfinite(at)) at = nna_loop_now(l) + 1e9;
    if (t->slot) {
        double old = t->at;
        t->at = at;
        if (at < old) sift_up(l, t->slot - 1);
        else sift_down(l, t->slot - 1);
    } else {
        if (l->len == l->cap) {
            size_t ncap = l->cap ? l->cap * 2 : 64;
            nna_timer **nh = realloc(l->heap, ncap * sizeof *nh);
            if (!nh) return -1;
            l->heap = nh;
            l->cap = ncap;
        }
        t->at = at;
        l->heap[l->len++] = t;
        t->slot = l->len;
        sift_up(l, l->len - 1);
    }
    rearm(l);
    return 0;
}

int nna_timer_start(nna_loop *l, nna_timer *t, double after)
{
    if (!(after > 0)) after = 0; /* also catches NaN */
    return nna_timer_start_at(l, t, nna_loop_now(l) + after);
}

void nna_timer_stop(nna_loop *l, nna_timer *t)
{
    if (!t->slot) return;
    heap_remove(l, t);
    rearm(l);
}

static void enter(nna_loop *l)
{
    if (l->depth++ == 0) {
        /* The first call of a loop iteration: the backend's now() (taken when the loop
         * woke) is closest to the monotonic clock here; later calls of the same iteration
         * would pair it with a later instant and make nna_loop_now_fresh() run slow. */
        double now = nna_loop_now(l);
        if (now != l->seen_now) {
            l->seen_now = now;
            l->seen_mono = mono_now();
        }
    }
}

/* Leaves a backend → core call; the outermost one performs a deferred release, after
 * which `l` may be gone. */
static void leave(nna_loop *l)
{
    if (--l->depth > 0 || !l->release) return;
    void (*release)(void *) = l->release;
    l->release = NULL;
    release(l->release_arg);
}

void nna_loop_release_when_idle(nna_loop *l, void (*release)(void *arg), void *arg)
{
    if (l->depth == 0) {
        release(arg);
        return;
    }
    l->release = release;
    l->release_arg = arg;
}

void nna_loop_timer_fired(nna_loop *l)
{
    enter(l);
    l->armed_at = -1;
    double now = nna_loop_now(l);
    /* Run everything due now; timers armed by callbacks for "now" run in this pass too,
     * but a bound keeps a callback that re-arms itself at 0 from starving the loop. */
    size_t budget = l->len + 64;
    while (!l->closing && l->len > 0 && l->heap[0]->at <= now && budget-- > 0) {
        nna_timer *t = l->heap[0];
        heap_remove(l, t);
        t->cb(t, t->arg);
    }
    l->armed_at = -2; /* force a re-arm: the backend timer is one-shot and has fired */
    rearm(l);
    leave(l);
}

void nna_loop_io_ready(nna_loop *l, int fd, int events)
{
    enter(l);
    nna_io_side *s = l->sides;
    while (s && s->fd != fd) s = s->next;
    if (s && !l->closing) s->handler(s->arg, fd, events);
    else if (l->io_handler && !l->closing) l->io_handler(l->io_arg, fd, events);
    leave(l);
}

void nna_loop_side_add(nna_loop *l, nna_io_side *s)
{
    s->next = l->sides;
    l->sides = s;
}

void nna_loop_side_remove(nna_loop *l, nna_io_side *s)
{
    for (nna_io_side **p = &l->sides; *p; p = &(*p)->next)
        if (*p == s) { *p = s->next; s->next = NULL; return; }
}

int nna_loop_io(nna_loop *l, int fd, int events, void **slot)
{
    if (l->closing) return 0;
    return l->ops->io(l->backend, fd, events, slot);
}
