// FUZZ-SOURCES: lib/httpdate.c lib/iso8601.c
// FUZZ-LIBS: -lm
/* HTTP-date parsing. Invariants: a parsed date is a whole number of seconds within years
 * 0..9999 (RFC 850: within 50 years of the reference); re-rendered as IMF-fixdate it parses
 * back to the same instant; case does not matter; and in the ISO range,
 * parse(iso_format(t)) == t. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

#define T_REF 1778494500.0 /* 2026-05-11T10:15:00Z */

static void check(int cond)
{
    if (!cond) abort();
}

/* Independent IMF-fixdate rendering (no strftime: locale and TZ). */
static void imf(double t, char *out, size_t cap)
{
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long long s = (long long)t, days = s / 86400, sod = s % 86400, y;
    if (sod < 0) sod += 86400, days--;
    unsigned m, d;
    nna_civil_from_days(days, &y, &m, &d);
    snprintf(out, cap, "Xyz, %02u %s %04lld %02lld:%02lld:%02lld GMT", d, mon[m - 1], y,
             sod / 3600, sod / 60 % 60, sod % 60);
    memcpy(out, "Sun", 3); /* the weekday is checked for form only */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char s[257], up[257], buf[64];
    memcpy(s, data, size);
    s[size] = '\0';

    double t, t2;
    int rc = nna_http_date_parse_at(s, T_REF, &t);
    check(rc == 0 || rc == -1);
    for (size_t i = 0; i <= size; i++)
        up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
    check(nna_http_date_parse_at(up, T_REF, &t2) == rc && (rc != 0 || t2 == t));
    if (rc != 0) return 0;

    check(isfinite(t) && t == floor(t));
    check(t >= -62167219200.0 && t < 253402300800.0 + 1);
    if (strchr(s, '-')) /* RFC 850: the century window around the reference */
        check(fabs(t - T_REF) < 51.0 * 366 * 86400);

    if (t < 253402300800.0) {
        imf(t, buf, sizeof buf);
        check(nna_http_date_parse_at(buf, T_REF, &t2) == 0 && t2 == t);
    }
    char iso[NNA_ISO8601_LEN + 1];
    if (nna_iso8601_format(t, iso) == 0) check(nna_iso8601_parse(iso, &t2) == 0 && t2 == t);
    return 0;
}
