/* nna-emu: per-workspace token bucket (shared by all keys of a workspace). */
#include "emu_internal.h"

#include <math.h>

void emu_rate_configure(emu_workspace *w, double rate, double burst)
{
    w->rate = rate > 0 ? rate : 0;
    w->burst = burst > 0 ? burst : (w->rate > 1 ? w->rate : 1);
    w->tokens = w->burst;
    w->last_ns = 0;
}

int emu_rate_take(emu_workspace *w, int64_t now_ns)
{
    if (w->rate <= 0)
        return 0;
    double burst = w->burst > 0 ? w->burst : 1;
    if (w->last_ns == 0) {
        w->tokens = burst;
    } else if (now_ns > w->last_ns) {
        w->tokens += (double)(now_ns - w->last_ns) / 1e9 * w->rate;
        if (w->tokens > burst)
            w->tokens = burst;
    }
    w->last_ns = now_ns;
    if (w->tokens >= 1.0) {
        w->tokens -= 1.0;
        return 0;
    }
    double wait = (1.0 - w->tokens) / w->rate;
    int secs = (int)ceil(wait - 1e-9);
    return secs < 1 ? 1 : secs;
}
