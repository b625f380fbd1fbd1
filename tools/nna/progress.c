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

struct progress {
    cli           *c;
    nna_workspace *ws;
    const char    *label;
    int            on;
    size_t         total, done, failed, created;
    double         t0;
    ev_timer       tick;
    uint64_t       gate_pauses;
};

static void on_event(nna_workspace *ws, const nna_ws_event *ev, void *ud)
{
    (void)ws;
    progress *p = ud;
    if (ev->kind == NNA_WS_GATE_CLOSED) p->gate_pauses++;
}

static void fmt_eta(double s, char *out, size_t n)
{
    if (!isfinite(s) || s < 0) snprintf(out, n, "--");
    else if (s < 60) snprintf(out, n, "%.0fs", ceil(s));
    else if (s < 3600) snprintf(out, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(out, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void draw(progress *p)
{
    nna_workspace_counters k;
    nna_workspace_counters_get(p->ws, &k);
    double el = ev_now(p->c->loop) - p->t0;
    double rate = el > 0.2 ? p->done / el : 0;
    char eta[16];
    fmt_eta(rate > 0 ? (p->total - p->done) / rate : NAN, eta, sizeof eta);
    int width = 20;
    int fill = p->total ? (int)((double)p->done / p->total * width) : width;
    char bar[32], line[512];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    int n = snprintf(line, sizeof line,
                     "%s [%s] %zu/%zu  ETA %s  %.0f/s  in flight %u  queued %llu  retries %llu  "
                     "429s %llu (%llu pauses)  failed %zu  created %zu",
                     p->label, bar, p->done, p->total, eta, rate, k.inflight,
                     (unsigned long long)k.queued,
                     (unsigned long long)(k.retried_rate + k.retried_server + k.retried_network),
                     (unsigned long long)k.rate_limited, (unsigned long long)p->gate_pauses,
                     p->failed, p->created);
    /* One terminal line, or the next redraw cannot erase it. */
    struct winsize ws;
    int cols = ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
    if (n >= cols) line[cols - 1] = '\0';
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
    p->t0 = ev_now(c->loop);
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
