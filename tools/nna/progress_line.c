/* nna: the text of the progress line and the smoothing of its rate (pure; unit-tested in
 * tests/cli/test_progress_line.c). The line must fit the terminal (80 columns unless it
 * says otherwise): fields that do not fit are left out, least important last. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "progress_line.h"

#define RATE_TAU 10.0   /* seconds: the rate follows changes within ~10 s, not every tick */

double rate_smooth(double ema, double instant, double dt)
{
    if (!(dt > 0) || !isfinite(instant)) return ema;
    if (!(ema >= 0)) return instant; /* the first estimate */
    double alpha = 1 - exp(-dt / RATE_TAU);
    return ema + alpha * (instant - ema);
}

static void fmt_eta(double s, char *out, size_t n)
{
    if (!isfinite(s) || s < 0) snprintf(out, n, "--");
    else if (s < 60) snprintf(out, n, "%.0fs", ceil(s));
    else if (s < 3600) snprintf(out, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else if (s < 100 * 3600) snprintf(out, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
    else snprintf(out, n, ">99h");
}

/* Appends a field when it fits in `cols - 1` columns (the last column stays free so the
 * terminal never wraps). */
static void add(char *out, size_t n, size_t cols, const char *field)
{
    size_t len = strlen(out), fl = strlen(field);
    if (len + fl + 1 >= cols || len + fl + 1 >= n) return;
    strcat(out, field);
}

void progress_line(const progress_view *v, size_t cols, char *out, size_t n)
{
    char f[64], eta[16];
    int width = 8;
    int fill = v->total ? (int)((double)v->done / (double)v->total * width) : width;
    char bar[16];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    out[0] = '\0';
    snprintf(f, sizeof f, "%.8s [%s] %zu/%zu", v->label, bar, v->done, v->total);
    add(out, n, cols, f);
    fmt_eta(v->rate > 0 ? (double)(v->total - v->done) / v->rate : NAN, eta, sizeof eta);
    snprintf(f, sizeof f, " ETA %s", eta);
    add(out, n, cols, f);
    snprintf(f, sizeof f, v->rate >= 10 || v->rate == 0 ? " %.0f/s" : " %.1f/s", v->rate);
    add(out, n, cols, f);
    if (v->failed) {
        snprintf(f, sizeof f, " fail %zu", v->failed);
        add(out, n, cols, f);
    }
    snprintf(f, sizeof f, " queued %zu", v->queued_runs);
    add(out, n, cols, f);
    if (v->retries) {
        snprintf(f, sizeof f, " retry %llu", (unsigned long long)v->retries);
        add(out, n, cols, f);
    }
    if (v->rate_limited) {
        snprintf(f, sizeof f, " 429s %llu", (unsigned long long)v->rate_limited);
        add(out, n, cols, f);
    }
}
