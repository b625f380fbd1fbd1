/* nna: the progress bar on stderr — done/total, runs in flight, rate, retries, 429s and
 * gate pauses, ETA — from the workspace counters (nna_workspace_counters_get) and its event
 * hook. Redrawn five times a second on the loop, only when enabled (by default when
 * stderr is a terminal). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "cli.h"
#include "progress_line.h"

struct progress {
    cli           *c;
    nna_workspace *ws;
    const char    *label;
    int            on;
    size_t         total, done, failed, created, queued_runs;
    double         t0;
    double         rate;          /* smoothed, < 0 until the first completion */
    double         last_t;        /* time and count of the previous draw */
    size_t         last_done;
    ev_timer       tick;
    uint64_t       gate_pauses;
};

static void on_event(nna_workspace *ws, const nna_ws_event *ev, void *ud)
{
    (void)ws;
    progress *p = ud;
    if (ev->kind == NNA_WS_GATE_CLOSED) p->gate_pauses++;
}

static void draw(progress *p)
{
    nna_workspace_counters k;
    nna_workspace_counters_get(p->ws, &k);
    double now = ev_now(p->c->loop);
    if (p->done > p->last_done || p->rate >= 0) {
        double dt = now - p->last_t;
        if (p->rate < 0 && now - p->t0 > 0) /* the first estimate: the average so far */
            p->rate = rate_smooth(p->rate, p->done / (now - p->t0), 1);
        else if (dt > 0)
            p->rate = rate_smooth(p->rate, (p->done - p->last_done) / dt, dt);
    }
    p->last_t = now;
    p->last_done = p->done;
    progress_view v = {
        .label = p->label, .done = p->done, .total = p->total, .failed = p->failed,
        .queued_runs = p->queued_runs,
        .retries = k.retried_rate + k.retried_server + k.retried_network,
        .rate_limited = k.rate_limited, .rate = p->rate > 0 ? p->rate : 0,
    };
    struct winsize ws;
    size_t cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
    char line[512];
    progress_line(&v, cols, line, sizeof line);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    draw(w->data);
}

progress *progress_new(cli *c, const char *label, size_t total, int mode)
{
    progress *p = xcalloc(1, sizeof *p);
    p->c = c;
    p->ws = nna_client_workspace(c->client);
    p->label = label;
    p->total = total;
    p->on = mode < 0 ? isatty(2) : mode;
    p->t0 = p->last_t = ev_now(c->loop);
    p->rate = -1;
    nna_workspace_set_hook(p->ws, on_event, p);
    if (p->on) {
        ev_timer_init(&p->tick, on_tick, 0.2, 0.2);
        p->tick.data = p;
        ev_timer_start(c->loop, &p->tick);
        /* The bar must not keep the loop alive on its own. */
        ev_unref(c->loop);
    }
    return p;
}

void progress_done(progress *p, size_t done, size_t failed)
{
    p->done = done;
    p->failed = failed;
}

void progress_created(progress *p, size_t n) { p->created = n; }

void progress_queued(progress *p, size_t runs) { p->queued_runs = runs; }

void progress_finish(progress *p)
{
    if (!p || !p->on) return;
    ev_ref(p->c->loop);
    ev_timer_stop(p->c->loop, &p->tick);
    p->on = 0;
    draw(p); /* the final state stays on screen */
    fputc('\n', stderr);
    fflush(stderr);
}

void progress_free(progress *p)
{
    if (!p) return;
    progress_finish(p);
    nna_workspace_set_hook(p->ws, NULL, NULL);
    free(p);
}

uint64_t progress_gate_pauses(const progress *p) { return p ? p->gate_pauses : 0; }
