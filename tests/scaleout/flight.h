/* The scale-out CLI tests' view of the emulator: what its request log says about the
 * requests in flight at the server, and input files of runs. */
#ifndef NNA_FLIGHT_H
#define NNA_FLIGHT_H
#include "../cli/clitest.h"
#include "redistest.h"

typedef struct emu_flight {
    int    max_inflight;  /* most requests in flight at once at the emulator */
    double span;          /* first request start → last request end, seconds */
    long   requests, rate_limited;
} emu_flight;
/* From GET /_emu/log: each request occupies [t - latency, t] (less 1.5 ms at the start:
 * t has millisecond resolution). */
void emu_flight_get(const emu_proc *e, emu_flight *f);
/* Writes n JSON lines of runs with distinct queries tagged `tag` into path. */
void write_runs(const char *path, const char *tag, int n);
#endif
