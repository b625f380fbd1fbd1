/* nna: the progress line's text and rate smoothing (pure; progress_line.c). Internal. */
#ifndef NNA_PROGRESS_LINE_H
#define NNA_PROGRESS_LINE_H
#include <stddef.h>
#include <stdint.h>

typedef struct progress_view {
    const char *label;
    size_t      done, total, failed;
    size_t      queued_runs;     /* runs not created yet (never status polls) */
    uint64_t    retries, rate_limited;
    double      rate;            /* smoothed lines per second; 0 = unknown */
} progress_view;

/* The line, at most cols - 1 columns (all ASCII); fields that do not fit are left out. */
void   progress_line(const progress_view *v, size_t cols, char *out, size_t n);
/* Exponential moving average of a rate: the new estimate after `dt` seconds in which the
 * instant rate was `instant`; ema < 0 means none yet. */
double rate_smooth(double ema, double instant, double dt);
#endif
