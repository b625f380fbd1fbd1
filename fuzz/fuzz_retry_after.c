// FUZZ-SOURCES: lib/retry.c lib/httpdate.c lib/iso8601.c lib/status.c
// FUZZ-LIBS: -lm
/* Retry-After parsing and the retry decision fed with what it parsed.
 * Invariants: usable results are finite, in [0, 1 year]; unusable ones leave -1; a date is
 * measured against the Date header whatever the local clock says; surrounding OWS never
 * changes the answer; nna_retry_decide never asks for a negative or non-finite sleep. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

#define T_REF 1778494500.0 /* 2026-05-11T10:15:00Z */

static void check(int cond)
{
    if (!cond) abort();
}

static int parse(const char *v, double date_hdr, double now, double *s)
{
    int ok = nna_retry_after_parse(v, date_hdr, now, s);
    check(ok == 0 || ok == 1);
    if (ok) check(isfinite(*s) && *s >= 0 && *s <= 365.0 * 86400.0);
    else check(*s == -1);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    /* the input up to its first NUL, and the same wrapped in OWS */
    char *bare = malloc(size + 1), *wrapped = malloc(size + 3);
    if (!bare || !wrapped) abort();
    memcpy(bare, data, size);
    bare[size] = '\0';
    size_t n = strlen(bare);
    wrapped[0] = ' ';
    memcpy(wrapped + 1, bare, n);
    wrapped[n + 1] = '\t';
    wrapped[n + 2] = '\0';

    double a, b, c, d;
    int ok = parse(bare, NAN, T_REF, &a);
    /* the server's Date header decides, not the local clock */
    check(parse(bare, T_REF, T_REF + 3600, &b) == ok && (!ok || a == b));
    check(parse(bare, T_REF, -1e300, &c) == ok && (!ok || a == c));
    check(parse(wrapped, NAN, T_REF, &d) == ok && (!ok || a == d));
    (void)parse(bare, NAN, NAN, &d);
    (void)parse(bare, INFINITY, 1e300, &d);

    nna_retry_policy p;
    nna_retry_policy_init(&p);
    nna_retry_state st = {(unsigned)(size % 7), (unsigned)(size % 23), (unsigned)(size % 11)};
    for (int cls = NNA_RC_OK; cls <= NNA_RC_NETWORK; cls++) {
        nna_retry_decision dec = nna_retry_decide(&p, &st, (nna_retry_class)cls, a,
                                                  size % 2 ? INFINITY : 30.0,
                                                  (double)(size % 100) / 100.0);
        check(isfinite(dec.delay) && dec.delay >= 0 && dec.delay <= 60);
        check(!dec.retry || dec.status == NNA_OK);
        if (cls == NNA_RC_RATE && dec.retry && ok) check(dec.delay >= (a < 60 ? a : 60));
    }
    free(wrapped);
    free(bare);
    return 0;
}
