/* ISO-8601 / RFC 3339 timestamps and the calendar arithmetic the HTTP-date parser shares.
 *
 * Why not timegm/mktime/strptime: they depend on TZ and the locale, some are not
 * thread-safe, and mktime normalises nonsense ("Feb 31" → "Mar 3") instead of rejecting
 * it. Integer day counting (H. Hinnant's days_from_civil) is exact and needs no state. */
#include "timefmt.h"

#include <math.h>

/* Bounds that keep every intermediate product far inside long long. */
#define CIVIL_YEAR_LIMIT 1000000000000LL           /* |year| */
#define CIVIL_DAYS_LIMIT 365000000000000LL         /* |days| ≈ CIVIL_YEAR_LIMIT years */

/* 9999-12-31T23:59:59Z is the last second a 4-digit year can name. */
#define EPOCH_YEAR_10000 253402300800.0

static long long clamp_ll(long long v, long long lim)
{
    return v < -lim ? -lim : v > lim ? lim : v;
}

/* Floor division, because C's '/' truncates toward zero and eras before year 0 need floor. */
static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

long long nna_days_from_civil(long long y, unsigned m, unsigned d)
{
    /* Out-of-range input is clamped rather than trusted: callers validate, this only has
     * to stay free of overflow. */
    y = clamp_ll(y, CIVIL_YEAR_LIMIT);
    if (m < 1 || m > 12) m = 1;
    if (d > 31) d = 31;
    /* Count years from March so the leap day is the last day of the "year". */
    y -= m <= 2;
    long long era = floor_div(y, 400);
    long long yoe = y - era * 400;                                   /* 0..399 */
    long long doy = (153 * (long long)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (long long)d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + doe - 719468;
}

void nna_civil_from_days(long long days, long long *y, unsigned *m, unsigned *d)
{
    long long z = clamp_ll(days, CIVIL_DAYS_LIMIT) + 719468;
    long long era = floor_div(z, 146097);
    long long doe = z - era * 146097;                                       /* 0..146096 */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  /* 0..399 */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                /* 0..365 */
    long long mp = (5 * doy + 2) / 153;                                     /* 0..11, from March */
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    if (d) *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    if (m) *m = mm;
    if (y) *y = yoe + era * 400 + (mm <= 2);
}

static int is_leap(long long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned nna_days_in_month(long long y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12) return 0;
    return len[m - 1] + (m == 2 && is_leap(y) ? 1u : 0u);
}

/* Reads exactly n decimal digits. Stops at the first non-digit, so it never reads past
 * the terminating NUL. */
static int take_digits(const char **pp, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*pp)[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    *pp += n;
    *out = v;
    return 0;
}

static int take_char(const char **pp, char c)
{
    if (**pp != c) return -1;
    (*pp)++;
    return 0;
}

/* ".ddd…": any number of digits (at least one); nanoseconds are the most kept, the rest
 * only validated, since a double epoch cannot hold more anyway. */
static int take_fraction(const char **pp, double *frac)
{
    const char *p = *pp;
    long ns = 0, scale = 100000000;
    *frac = 0;
    if (*p != '.') return 0;
    p++;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        ns += (*p - '0') * scale;
        scale /= 10;
    }
    *frac = (double)ns / 1e9;
    *pp = p;
    return 0;
}

/* "Z", "+hh:mm", "-hh:mm", "+hhmm", "-hhmm" or nothing (UTC); returns the offset east of
 * UTC in seconds through *off. */
static int take_zone(const char **pp, long *off)
{
    const char *p = *pp;
    int hh, mm, sign;
    *off = 0;
    if (*p == 'Z' || *p == 'z') {
        *pp = p + 1;
        return 0;
    }
    if (*p != '+' && *p != '-') return 0;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (take_digits(&p, 2, &hh)) return -1;
    if (*p == ':') p++;
    if (take_digits(&p, 2, &mm)) return -1;
    if (hh > 23 || mm > 59) return -1;
    *off = sign * (hh * 3600L + mm * 60L);
    *pp = p;
    return 0;
}

int nna_iso8601_parse(const char *s, double *epoch)
{
    int y, mo, d, h, mi, se;
    double frac;
    long off;
    const char *p = s;

    if (!s || !epoch) return -1;
    if (take_digits(&p, 4, &y) || take_char(&p, '-') || take_digits(&p, 2, &mo) ||
        take_char(&p, '-') || take_digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ') return -1;
    p++;
    if (take_digits(&p, 2, &h) || take_char(&p, ':') || take_digits(&p, 2, &mi) ||
        take_char(&p, ':') || take_digits(&p, 2, &se))
        return -1;
    if (take_fraction(&p, &frac) || take_zone(&p, &off) || *p != '\0') return -1;

    /* Second 60 is a leap second (RFC 3339 allows it); it lands on the next minute's :00. */
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > nna_days_in_month(y, (unsigned)mo) ||
        h > 23 || mi > 59 || se > 60)
        return -1;

    long long secs = nna_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL +
                     h * 3600LL + mi * 60LL + se - off;
    *epoch = (double)secs + frac;
    return 0;
}

static void put_digits(char *out, long long v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int nna_iso8601_format(double epoch, char *out)
{
    if (!out) return -1;
    out[0] = '\0';
    /* Range check on the double before any conversion: a double→integer conversion of an
     * out-of-range value is undefined behaviour. */
    if (!isfinite(epoch)) return -1;
    double whole = floor(epoch);
    if (whole < 0 || whole >= EPOCH_YEAR_10000) return -1;

    long long t = (long long)whole;
    long long days = t / 86400, sod = t % 86400, y;
    unsigned m, d;
    nna_civil_from_days(days, &y, &m, &d);

    /* "YYYY-MM-DDTHH:MM:SSZ", written by hand: snprintf would drag in the locale and a
     * truncation analysis for no benefit. */
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, sod / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, sod / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, sod % 60, 2);
    out[19] = 'Z';
    out[NNA_ISO8601_LEN] = '\0';
    return 0;
}
