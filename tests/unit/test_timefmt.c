/* ISO-8601 and HTTP-date parsing/formatting, and the calendar arithmetic under them.
 * Deterministic: the only clock-dependent function is checked against its own rule. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define T_1994 784111777.0       /* 1994-11-06T08:49:37Z */
#define T_2026 1778494500.0      /* 2026-05-11T10:15:00Z */
#define T_2025 1735689600.0      /* 2025-01-01T00:00:00Z */
#define T_LAST 253402300799.0    /* 9999-12-31T23:59:59Z */

static double iso_ok(const char *s)
{
    double e = NAN;
    ck_assert_msg(nna_iso8601_parse(s, &e) == 0, "\"%s\" rejected", s);
    return e;
}

static void iso_bad(const char *s)
{
    double e = 12345;
    ck_assert_msg(nna_iso8601_parse(s, &e) == -1, "\"%s\" accepted as %f", s, e);
    ck_assert_double_eq(e, 12345); /* untouched on failure */
}

static double http_ok(const char *s, double ref)
{
    double e = NAN;
    ck_assert_msg(nna_http_date_parse_at(s, ref, &e) == 0, "\"%s\" rejected", s);
    return e;
}

static void http_bad(const char *s)
{
    double e = 12345;
    ck_assert_msg(nna_http_date_parse_at(s, T_2025, &e) == -1, "\"%s\" accepted as %f", s, e);
    ck_assert_msg(nna_http_date_parse(s, &e) == -1, "\"%s\" accepted", s);
    ck_assert_double_eq(e, 12345);
}

/* ---- calendar ------------------------------------------------------------------------- */

/* Walks every day of 1970..9999 the slow, obvious way and compares. */
START_TEST(calendar_matches_naive_walk)
{
    long long n = 0;
    for (long long y = 1970; y <= 9999; y++) {
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (unsigned m = 1; m <= 12; m++) {
            static const unsigned len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            unsigned dim = len[m - 1] + (m == 2 && leap);
            ck_assert_uint_eq(nna_days_in_month(y, m), dim);
            for (unsigned d = 1; d <= dim; d++, n++) {
                if (nna_days_from_civil(y, m, d) != n)
                    ck_abort_msg("%lld-%u-%u: %lld != %lld", y, m, d,
                                 nna_days_from_civil(y, m, d), n);
                long long yy;
                unsigned mm, dd;
                nna_civil_from_days(n, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d) ck_abort_msg("day %lld", n);
            }
        }
    }
    ck_assert_int_eq(n * 86400, (long long)T_LAST + 1);
}
END_TEST

START_TEST(calendar_edges)
{
    ck_assert_int_eq(nna_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(nna_days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(nna_days_from_civil(1, 1, 1), -719162);
    ck_assert_int_eq(nna_days_from_civil(0, 3, 1), -719468);
    ck_assert_uint_eq(nna_days_in_month(1900, 2), 28);
    ck_assert_uint_eq(nna_days_in_month(2000, 2), 29);
    ck_assert_uint_eq(nna_days_in_month(2024, 2), 29);
    ck_assert_uint_eq(nna_days_in_month(2023, 2), 28);
    ck_assert_uint_eq(nna_days_in_month(2023, 0), 0);
    ck_assert_uint_eq(nna_days_in_month(2023, 13), 0);
    /* absurd input is clamped, not undefined */
    (void)nna_days_from_civil(-9223372036854775807LL - 1, 99, 99);
    (void)nna_days_from_civil(9223372036854775807LL, 0, 0);
    long long y;
    nna_civil_from_days(-9223372036854775807LL - 1, &y, NULL, NULL);
    nna_civil_from_days(9223372036854775807LL, NULL, NULL, NULL);
}
END_TEST

/* ---- ISO-8601 parse ------------------------------------------------------------------- */

START_TEST(iso_parse_canonical_and_lenient)
{
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00Z"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00z"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11t10:15:00Z"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11 10:15:00Z"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00"), T_2026); /* no zone: UTC */
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00+00:00"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00-00:00"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T12:15:00+02:00"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T12:15:00+0200"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T04:45:00-05:30"), T_2026);
    ck_assert_double_eq(iso_ok("2026-05-11T04:45:00-0530"), T_2026);
    /* offsets that cross a day and a year */
    ck_assert_double_eq(iso_ok("2024-12-31T23:30:00-01:00"), T_2025 + 1800);
    ck_assert_double_eq(iso_ok("2025-01-01T00:30:00+01:00"), T_2025 - 1800);
    ck_assert_double_eq(iso_ok("1970-01-01T00:00:00Z"), 0);
    ck_assert_double_eq(iso_ok("1969-12-31T23:59:59Z"), -1);
    ck_assert_double_eq(iso_ok("9999-12-31T23:59:59Z"), T_LAST);
    ck_assert_double_eq(iso_ok("0000-01-01T00:00:00Z"), -62167219200.0);
    ck_assert_double_eq(iso_ok("1994-11-06T08:49:37Z"), T_1994);
}
END_TEST

START_TEST(iso_parse_fractions)
{
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00.5Z"), T_2026 + 0.5);
    ck_assert_double_eq_tol(iso_ok("2026-05-11T10:15:00.123Z"), T_2026 + 0.123, 1e-6);
    ck_assert_double_eq_tol(iso_ok("2026-05-11T10:15:00.123456789Z"), T_2026 + 0.123456789,
                            1e-6);
    ck_assert_double_eq_tol(iso_ok("2026-05-11T10:15:00.99999999999999999999+00:00"),
                            T_2026 + 1, 1e-6);
    ck_assert_double_eq_tol(iso_ok("1970-01-01T00:00:00.000001"), 1e-6, 1e-12);
    ck_assert_double_eq(iso_ok("2026-05-11T10:15:00.000Z"), T_2026);
}
END_TEST

START_TEST(iso_parse_calendar_validity)
{
    ck_assert_double_eq(iso_ok("2000-02-29T00:00:00Z"), 951782400.0);
    ck_assert_double_eq(iso_ok("2024-02-29T23:59:59Z"), 1709251199.0);
    iso_bad("1900-02-29T00:00:00Z");
    iso_bad("2023-02-29T00:00:00Z");
    iso_bad("2100-02-29T00:00:00Z");
    iso_bad("2024-02-30T00:00:00Z");
    iso_bad("2024-02-31T00:00:00Z");
    iso_bad("2024-04-31T00:00:00Z");
    iso_bad("2024-06-31T00:00:00Z");
    iso_bad("2024-09-31T00:00:00Z");
    iso_bad("2024-11-31T00:00:00Z");
    iso_bad("2024-12-32T00:00:00Z");
    iso_bad("2024-00-10T00:00:00Z");
    iso_bad("2024-13-10T00:00:00Z");
    iso_bad("2024-01-00T00:00:00Z");
    iso_bad("2024-01-01T24:00:00Z");
    iso_bad("2024-01-01T23:60:00Z");
    iso_bad("2024-01-01T23:59:61Z");
    iso_bad("2024-01-01T23:59:99Z");
    /* a leap second is the next minute's :00 */
    ck_assert_double_eq(iso_ok("2016-12-31T23:59:60Z"), iso_ok("2017-01-01T00:00:00Z"));
}
END_TEST

START_TEST(iso_parse_rejections)
{
    static const char *bad[] = {
        "", " ", "Z", "0", "-1", "1e9", "NaN", "inf", "99999999999999999999",
        "2026-05-11", "2026-05-11T", "2026-05-11T10:15", "2026-05-11T10:15Z",
        "2026-05-11T10:15:0Z", "2026-5-11T10:15:00Z", "26-05-11T10:15:00Z",
        "+2026-05-11T10:15:00Z", "-2026-05-11T10:15:00Z", "20260-05-11T10:15:00Z",
        "20260511T101500Z", "2026/05/11T10:15:00Z", "2026-05-11X10:15:00Z",
        "2026-05-11T10:15:00ZZ", "2026-05-11T10:15:00Z ", " 2026-05-11T10:15:00Z",
        "2026-05-11T10:15:00Zjunk", "2026-05-11T10:15:00.Z", "2026-05-11T10:15:00.",
        "2026-05-11T10:15:00,5Z", "2026-05-11T10:15:00+02", "2026-05-11T10:15:00+2:00",
        "2026-05-11T10:15:00+02:0", "2026-05-11T10:15:00+24:00", "2026-05-11T10:15:00+02:60",
        "2026-05-11T10:15:00+02:00:00", "2026-05-11T10:15:00 +02:00", "2026-05-11T10:15:00UTC",
        "2026-05-11T10:15:00GMT", "2026-05-11T1a:15:00Z", "2026-05-11T10:15:00\n",
        "2026-05-11T10:15:00Z\n", "２026-05-11T10:15:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) iso_bad(bad[i]);
    iso_bad(NULL);
    ck_assert_int_eq(nna_iso8601_parse("2026-05-11T10:15:00Z", NULL), -1);
    /* every proper prefix of a valid stamp that is not itself valid is rejected */
    const char *full = "2026-05-11T10:15:00.25+02:00";
    char buf[64];
    for (size_t n = 0; n < strlen(full); n++) {
        memcpy(buf, full, n);
        buf[n] = '\0';
        if (n == 19 || n == 21 || n == 22) continue; /* "…:00", "…:00.2", "…:00.25" are valid */
        iso_bad(buf);
    }
}
END_TEST

/* ---- ISO-8601 format ------------------------------------------------------------------ */

static void fmt_is(double epoch, const char *want)
{
    char out[NNA_ISO8601_LEN + 1];
    memset(out, 'x', sizeof out);
    ck_assert_msg(nna_iso8601_format(epoch, out) == 0, "%f not formatted", epoch);
    ck_assert_str_eq(out, want);
}

static void fmt_bad(double epoch)
{
    char out[NNA_ISO8601_LEN + 1];
    memset(out, 'x', sizeof out);
    ck_assert_msg(nna_iso8601_format(epoch, out) == -1, "%f formatted", epoch);
    ck_assert_str_eq(out, "");
}

START_TEST(iso_format_values)
{
    fmt_is(0, "1970-01-01T00:00:00Z");
    fmt_is(0.999, "1970-01-01T00:00:00Z");
    fmt_is(T_2026, "2026-05-11T10:15:00Z");
    fmt_is(T_2026 + 0.9999, "2026-05-11T10:15:00Z"); /* truncated, not rounded */
    fmt_is(951782400.0, "2000-02-29T00:00:00Z");
    fmt_is(951782400.0 - 1, "2000-02-28T23:59:59Z");
    fmt_is(951782400.0 + 86400, "2000-03-01T00:00:00Z");
    fmt_is(1709251199.0, "2024-02-29T23:59:59Z");
    fmt_is(1704067199.0, "2023-12-31T23:59:59Z");
    fmt_is(1704067200.0, "2024-01-01T00:00:00Z");
    fmt_is(4107542400.0 - 1, "2100-02-28T23:59:59Z"); /* 2100 is not a leap year */
    fmt_is(T_LAST, "9999-12-31T23:59:59Z");
    fmt_is(T_LAST + 0.5, "9999-12-31T23:59:59Z");
}
END_TEST

START_TEST(iso_format_rejections)
{
    fmt_bad(-0.5);
    fmt_bad(-1);
    fmt_bad(T_LAST + 1);
    fmt_bad(1e300);
    fmt_bad(-1e300);
    fmt_bad(NAN);
    fmt_bad(INFINITY);
    fmt_bad(-INFINITY);
    ck_assert_int_eq(nna_iso8601_format(0, NULL), -1);
}
END_TEST

/* The expected text, built independently of the code under test (and faster than
 * snprintf, which matters over 2.9 million days under ASan). */
static void render(char *w, int y, int m, int d, long long sod)
{
    long long v[6] = {y, m, d, sod / 3600, sod / 60 % 60, sod % 60};
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 'Z'};
    for (int f = 0; f < 6; f++) {
        for (int i = width[f] - 1; i >= 0; i--, v[f] /= 10) w[i] = (char)('0' + v[f] % 10);
        w += width[f];
        *w++ = sep[f];
    }
    *w = '\0';
}

/* parse(format(t)) == floor(t), and format matches an independent rendering, across every
 * day of the supported range (leap years, century rules, year boundaries). */
START_TEST(iso_round_trip_every_day)
{
    char out[NNA_ISO8601_LEN + 1], want[64];
    long long days_total = (long long)(T_LAST + 1) / 86400;
    int y = 1970, m = 1, d = 1;
    for (long long day = 0; day < days_total; day++) {
        long long sod = (day * 7919) % 86400; /* vary the time of day too */
        double t = (double)(day * 86400 + sod);
        /* plain ifs in this loop: each ck_assert writes to Check's pipe */
        if (nna_iso8601_format(t + 0.75, out) != 0) ck_abort_msg("day %lld", day);
        render(want, y, m, d, sod);
        if (strcmp(out, want) != 0) ck_abort_msg("%s != %s", out, want);
        double back;
        if (nna_iso8601_parse(out, &back) != 0 || back != t) ck_abort_msg("%s", out);
        /* next civil day, the naive way */
        int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (++d > len[m - 1] + (m == 2 && leap)) {
            d = 1;
            if (++m > 12) m = 1, y++;
        }
    }
    ck_assert_int_eq(y, 10000);
}
END_TEST

/* ---- HTTP-date ------------------------------------------------------------------------ */

START_TEST(http_three_forms)
{
    ck_assert_double_eq(http_ok("Sun, 06 Nov 1994 08:49:37 GMT", T_2025), T_1994);
    ck_assert_double_eq(http_ok("Sunday, 06-Nov-94 08:49:37 GMT", T_2025), T_1994);
    ck_assert_double_eq(http_ok("Sun Nov  6 08:49:37 1994", T_2025), T_1994);
    ck_assert_double_eq(http_ok("Sun Nov 06 08:49:37 1994", T_2025), T_1994);
    ck_assert_double_eq(http_ok("Wed Nov 16 08:49:37 1994", T_2025), T_1994 + 10 * 86400);
    /* every month and weekday name */
    static const char *mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *wdl[] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                "Friday", "Saturday", "Sunday"};
    char buf[64];
    for (int i = 0; i < 12; i++) {
        double want = (double)nna_days_from_civil(2001, (unsigned)i + 1, 2) * 86400 + 3661;
        snprintf(buf, sizeof buf, "%s, 02 %s 2001 01:01:01 GMT", wd[i % 7], mon[i]);
        ck_assert_double_eq(http_ok(buf, T_2025), want);
        snprintf(buf, sizeof buf, "%s, 02-%s-01 01:01:01 GMT", wdl[i % 7], mon[i]);
        ck_assert_double_eq(http_ok(buf, T_2025), want);
        snprintf(buf, sizeof buf, "%s %s  2 01:01:01 2001", wd[i % 7], mon[i]);
        ck_assert_double_eq(http_ok(buf, T_2025), want);
    }
    /* the weekday is checked for form, not value */
    ck_assert_double_eq(http_ok("Mon, 06 Nov 1994 08:49:37 GMT", T_2025), T_1994);
    /* case is not significant */
    ck_assert_double_eq(http_ok("sun, 06 NOV 1994 08:49:37 gmt", T_2025), T_1994);
    /* the clock-reading variant agrees for the fixed-year forms */
    double e;
    ck_assert_int_eq(nna_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &e), 0);
    ck_assert_double_eq(e, T_1994);
    ck_assert_int_eq(nna_http_date_parse("Sun Nov  6 08:49:37 1994", &e), 0);
    ck_assert_double_eq(e, T_1994);
}
END_TEST

START_TEST(http_calendar_and_time_limits)
{
    ck_assert_double_eq(http_ok("Tue, 29 Feb 2000 00:00:00 GMT", T_2025), 951782400.0);
    ck_assert_double_eq(http_ok("Thu, 29 Feb 2024 23:59:59 GMT", T_2025), 1709251199.0);
    ck_assert_double_eq(http_ok("Thu, 01 Jan 1970 00:00:00 GMT", T_2025), 0);
    ck_assert_double_eq(http_ok("Fri, 31 Dec 9999 23:59:59 GMT", T_2025), T_LAST);
    ck_assert_double_eq(http_ok("Sat, 31 Dec 2016 23:59:60 GMT", T_2025),
                        http_ok("Sun, 01 Jan 2017 00:00:00 GMT", T_2025));
    http_bad("Thu, 29 Feb 1900 00:00:00 GMT");
    http_bad("Thu, 29 Feb 2023 00:00:00 GMT");
    http_bad("Thu, 30 Feb 2024 00:00:00 GMT");
    http_bad("Thu, 31 Feb 2024 00:00:00 GMT");
    http_bad("Thu, 31 Apr 2024 00:00:00 GMT");
    http_bad("Thu, 00 Apr 2024 00:00:00 GMT");
    http_bad("Thu, 32 Jan 2024 00:00:00 GMT");
    http_bad("Thu, 01 Jan 2024 24:00:00 GMT");
    http_bad("Thu, 01 Jan 2024 23:60:00 GMT");
    http_bad("Thu, 01 Jan 2024 23:59:61 GMT");
    http_bad("Thursday, 29-Feb-23 00:00:00 GMT");
    http_bad("Thu Feb 29 00:00:00 2023");
    http_bad("Thu Feb  0 00:00:00 2024");
}
END_TEST

START_TEST(http_rfc850_century)
{
    /* reference 2025: years up to 2075 are the future, 2076+ fall back a century */
    ck_assert_double_eq(http_ok("Sunday, 06-Nov-94 08:49:37 GMT", T_2025), T_1994);
    ck_assert_double_eq(http_ok("Friday, 06-Nov-76 08:49:37 GMT", T_2025), 216118177.0);
    ck_assert_double_eq(http_ok("Wednesday, 06-Nov-75 08:49:37 GMT", T_2025), 3340255777.0);
    ck_assert_double_eq(http_ok("Saturday, 01-Jan-00 00:00:00 GMT", T_2025), 946684800.0);
    ck_assert_double_eq(http_ok("Monday, 06-Nov-25 00:00:00 GMT", T_2025),
                        (double)nna_days_from_civil(2025, 11, 6) * 86400);
    /* reference 1994: window 1945..2044 */
    ck_assert_double_eq(http_ok("Monday, 01-Jan-44 00:00:00 GMT", T_1994),
                        (double)nna_days_from_civil(2044, 1, 1) * 86400);
    ck_assert_double_eq(http_ok("Monday, 01-Jan-45 00:00:00 GMT", T_1994),
                        (double)nna_days_from_civil(1945, 1, 1) * 86400);
    /* reference 2090: window 2041..2140 */
    double t2090 = (double)nna_days_from_civil(2090, 6, 1) * 86400;
    ck_assert_double_eq(http_ok("Monday, 01-Jan-40 00:00:00 GMT", t2090),
                        (double)nna_days_from_civil(2140, 1, 1) * 86400);
    ck_assert_double_eq(http_ok("Monday, 01-Jan-41 00:00:00 GMT", t2090),
                        (double)nna_days_from_civil(2041, 1, 1) * 86400);
    /* Feb 29 validity follows the resolved century: 00 is 2000 (leap) from 2025 ... */
    ck_assert_double_eq(http_ok("Tuesday, 29-Feb-00 00:00:00 GMT", T_2025), 951782400.0);
    /* ... and 2100 (not leap) from 2090 */
    double e;
    ck_assert_int_eq(nna_http_date_parse_at("Monday, 29-Feb-00 00:00:00 GMT", t2090, &e), -1);
    /* absurd references are clamped, not undefined */
    ck_assert_int_eq(nna_http_date_parse_at("Sunday, 06-Nov-94 08:49:37 GMT", 1e300, &e), 0);
    ck_assert_int_eq(nna_http_date_parse_at("Sunday, 06-Nov-94 08:49:37 GMT", -1e300, &e), 0);

    /* without a reference: the current year's window */
    ck_assert_int_eq(nna_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &e), 0);
    long long cy;
    nna_civil_from_days((long long)time(NULL) / 86400, &cy, NULL, NULL);
    long long want_y = cy - 49 + (((94 - (cy - 49)) % 100) + 100) % 100;
    ck_assert_double_eq(e, (double)(nna_days_from_civil(want_y, 11, 6) * 86400 + 31777));
}
END_TEST

START_TEST(http_rejections)
{
    static const char *bad[] = {
        "", " ", "GMT", "Sun", "Sun,", "Sun, ", "0", "-1", "1e9", "NaN", "120",
        "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sun, 06 Nov 1994 08:49:37 GMT\r\n", "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 19940 08:49:37 GMT", "Sun, 06 November 1994 08:49:37 GMT",
        "Sun, 06-Nov-1994 08:49:37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 08.49.37 GMT",
        "Sux, 06 Nov 1994 08:49:37 GMT", "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday 06-Nov-94 08:49:37 GMT",
        "Sundae, 06-Nov-94 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37", "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov 6 08:49:37 1994", "Sun Nov   6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
        "Sun  Nov  6 08:49:37 1994", "Sun Nov  6 08:49:37 1994 ", "Sun, Nov  6 08:49:37 1994",
        "Sun Xyz  6 08:49:37 1994", "2026-05-11T10:15:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) http_bad(bad[i]);
    double e;
    ck_assert_int_eq(nna_http_date_parse(NULL, &e), -1);
    ck_assert_int_eq(nna_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", NULL), -1);
    /* every truncation of each form is rejected */
    static const char *full[] = {"Sun, 06 Nov 1994 08:49:37 GMT",
                                 "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"};
    char buf[64];
    for (int f = 0; f < 3; f++) {
        for (size_t n = 0; n < strlen(full[f]); n++) {
            memcpy(buf, full[f], n);
            buf[n] = '\0';
            http_bad(buf);
        }
    }
}
END_TEST

static Suite *timefmt_suite(void)
{
    Suite *s = suite_create("timefmt");
    TCase *tc = tcase_create("calendar");
    tcase_add_test(tc, calendar_matches_naive_walk);
    tcase_add_test(tc, calendar_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("iso8601");
    tcase_add_test(tc, iso_parse_canonical_and_lenient);
    tcase_add_test(tc, iso_parse_fractions);
    tcase_add_test(tc, iso_parse_calendar_validity);
    tcase_add_test(tc, iso_parse_rejections);
    tcase_add_test(tc, iso_format_values);
    tcase_add_test(tc, iso_format_rejections);
    tcase_add_test(tc, iso_round_trip_every_day);
    suite_add_tcase(s, tc);

    tc = tcase_create("httpdate");
    tcase_add_test(tc, http_three_forms);
    tcase_add_test(tc, http_calendar_and_time_limits);
    tcase_add_test(tc, http_rfc850_century);
    tcase_add_test(tc, http_rejections);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timefmt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
