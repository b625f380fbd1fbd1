/* nna batch: Ctrl-C. The first SIGINT (or SIGTERM) stops the batch at the next loop turn:
 * nothing new is sent, the journal and the output lines so far are written (the journal
 * is what --resume needs; it is crash-consistent at every moment anyway), and the user is
 * told what was done and the exact command that continues. A second Ctrl-C while that
 * happens ends the process at once (the journal still makes it resumable). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "batch.h"

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    batch *b = w->data;
    if (b->interrupted) _exit(130);
    b->interrupted = w->signum;
}

void batch_interrupt_watch(batch *b, ev_signal *sigs)
{
    static const int which[2] = { SIGINT, SIGTERM };
    for (int i = 0; i < 2; i++) {
        ev_signal_init(&sigs[i], on_signal, which[i]);
        sigs[i].data = b;
        ev_signal_start(b->c->loop, &sigs[i]);
        ev_unref(b->c->loop); /* never keeps the loop alive on its own */
    }
}

void batch_interrupt_stop(batch *b, ev_signal *sigs)
{
    if (!b->c->loop) return;
    for (int i = 0; i < 2; i++) {
        if (!ev_is_active(&sigs[i])) continue;
        ev_ref(b->c->loop);
        ev_signal_stop(b->c->loop, &sigs[i]);
    }
}

void batch_interrupt_report(const batch *b, const char *in_path, const char *out_path)
{
    size_t done = 0, sent = 0;
    for (size_t i = 0; i < b->njobs; i++) {
        done += b->jobs[i].state == J_DONE;
        sent += b->jobs[i].state != J_TODO;
    }
    fprintf(stderr, "\nnna: batch stopped (%s): %zu of %zu lines have their output line",
            b->interrupted == SIGTERM ? "SIGTERM" : "Ctrl-C", done, b->njobs);
    if (strcmp(out_path, "-") != 0) fprintf(stderr, " in %s", out_path);
    fprintf(stderr, "; %zu runs were sent and may still complete.\n", sent - done);
    if (b->jr)
        fprintf(stderr, "nna: continue it (nothing is created twice) with:\n"
                        "  nna batch --input %s --output %s --resume\n", in_path, out_path);
    else
        fputs("nna: without a journal (--output -) it cannot be resumed; give --journal "
              "PATH next time\n", stderr);
}
