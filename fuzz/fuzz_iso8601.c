// FUZZ-SOURCES: lib/iso8601.c
// FUZZ-LIBS: -lm
/* ISO-8601 parse and format. Invariants: parsed values are finite; format of anything
 * either fails (writing "") or writes exactly 20 characters of the canonical shape, and
 * parse(format(t)) == floor(t); formatting is idempotent through a round trip. The input
 * is tried both as text and, when 8 bytes long, as a raw double for the formatter. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

static void check(int cond)
{
    if (!cond) abort();
}

static void format_round_trip(double t)
{
    char out[NNA_ISO8601_LEN + 1], again[NNA_ISO8601_LEN + 1];
    double back;
    if (nna_iso8601_format(t, out) != 0) {
        check(out[0] == '\0');
        check(!isfinite(t) || floor(t) < 0 || t >= 253402300800.0);
        return;
    }
    check(strlen(out) == NNA_ISO8601_LEN && out[4] == '-' && out[10] == 'T' && out[19] == 'Z');
    check(nna_iso8601_parse(out, &back) == 0 && back == floor(t));
    check(nna_iso8601_format(back, again) == 0 && strcmp(out, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char s[257];
    memcpy(s, data, size);
    s[size] = '\0';

    double t;
    int rc = nna_iso8601_parse(s, &t);
    check(rc == 0 || rc == -1);
    if (rc == 0) {
        check(isfinite(t));
        /* 0000-01-01 minus the largest offset .. 9999-12-31T23:59:60 plus it, plus 1 s */
        check(t >= -62167219200.0 - 86400 && t <= 253402300800.0 + 86400);
        format_round_trip(t);
    }
    if (size == sizeof(double)) {
        double raw;
        memcpy(&raw, data, sizeof raw);
        format_round_trip(raw);
    }
    return 0;
}
