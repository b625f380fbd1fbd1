/* HTTP-date parsing (RFC 9110 §5.6.7): IMF-fixdate, obsolete RFC 850 and asctime forms.
 *
 * A hand-written recogniser rather than strptime: strptime honours the locale's month and
 * day names and is not in C11; timegm is not standard either. Names are matched without
 * regard to ASCII case (servers that shout "NOV" exist, and nothing is ambiguous), using
 * our own folding because strncasecmp follows the locale. */
#include "timefmt.h"

#include <math.h>
#include <string.h>
#include <time.h>

static const char *const MONTHS[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const WDAY_SHORT[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const WDAY_LONG[7] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

static char fold(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* 1 when `word` starts at p (ASCII case-insensitive). Stops at p's NUL, which never equals
 * a letter of `word`, so it never reads past the string. */
static int starts_with(const char *p, const char *word)
{
    for (; *word; p++, word++)
        if (fold(*p) != fold(*word)) return 0;
    return 1;
}

/* Matches one of n names at *pp; returns its index and advances, or -1. */
static int take_name(const char **pp, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (starts_with(*pp, names[i])) {
            *pp += strlen(names[i]);
            return i;
        }
    }
    return -1;
}

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

static int take_lit(const char **pp, const char *lit)
{
    if (!starts_with(*pp, lit)) return -1;
    *pp += strlen(lit);
    return 0;
}

/* The fields every form fills in; year is the full year once resolved. */
typedef struct hd_fields {
    int day, mon, year, hh, mm, ss; /* mon 0..11 */
} hd_fields;

/* "HH:MM:SS" */
static int take_time(const char **pp, hd_fields *f)
{
    if (take_digits(pp, 2, &f->hh) || take_lit(pp, ":") || take_digits(pp, 2, &f->mm) ||
        take_lit(pp, ":") || take_digits(pp, 2, &f->ss))
        return -1;
    return 0;
}

/* after "Sun": ", 06 Nov 1994 08:49:37 GMT" */
static int parse_imf_rest(const char *p, hd_fields *f)
{
    if (take_lit(&p, ", ") || take_digits(&p, 2, &f->day) || take_lit(&p, " ") ||
        (f->mon = take_name(&p, MONTHS, 12)) < 0 || take_lit(&p, " ") ||
        take_digits(&p, 4, &f->year) || take_lit(&p, " ") || take_time(&p, f) ||
        take_lit(&p, " GMT"))
        return -1;
    return *p == '\0' ? 0 : -1;
}

/* after "Sunday": ", 06-Nov-94 08:49:37 GMT"; f->year gets the two digits. */
static int parse_rfc850_rest(const char *p, hd_fields *f)
{
    if (take_lit(&p, ", ") || take_digits(&p, 2, &f->day) || take_lit(&p, "-") ||
        (f->mon = take_name(&p, MONTHS, 12)) < 0 || take_lit(&p, "-") ||
        take_digits(&p, 2, &f->year) || take_lit(&p, " ") || take_time(&p, f) ||
        take_lit(&p, " GMT"))
        return -1;
    return *p == '\0' ? 0 : -1;
}

/* after "Sun": " Nov  6 08:49:37 1994" (day is two digits or a space and one digit) */
static int parse_asctime_rest(const char *p, hd_fields *f)
{
    if (take_lit(&p, " ") || (f->mon = take_name(&p, MONTHS, 12)) < 0 || take_lit(&p, " "))
        return -1;
    if (*p == ' ') {
        p++;
        if (take_digits(&p, 1, &f->day)) return -1;
    } else if (take_digits(&p, 2, &f->day)) {
        return -1;
    }
    if (take_lit(&p, " ") || take_time(&p, f) || take_lit(&p, " ") ||
        take_digits(&p, 4, &f->year))
        return -1;
    return *p == '\0' ? 0 : -1;
}

/* Year of a finite epoch, clamped into the 4-digit range so the conversion is defined. */
static int year_of(double epoch)
{
    double days = floor(epoch / 86400.0);
    if (!(days > -800000.0)) days = -800000.0;   /* ~ year -220 */
    if (days > 3000000.0) days = 3000000.0;      /* ~ year 10183 */
    long long y;
    nna_civil_from_days((long long)days, &y, NULL, NULL);
    return (int)y;
}

/* RFC 9110: a two-digit year that would put the date more than 50 years in the future
 * means the most recent past year with those digits. So the answer is the one year with
 * those last two digits in [ref_year - 49, ref_year + 50]. */
static int resolve_two_digit_year(int yy, double ref_epoch)
{
    int lo = year_of(ref_epoch) - 49;
    int k = (yy - lo) % 100;
    if (k < 0) k += 100;
    return lo + k;
}

int nna_http_date_parse_at(const char *s, double ref_epoch, double *epoch)
{
    hd_fields f = {0};
    const char *p = s;
    int rc;

    if (!s || !epoch) return -1;
    if (take_name(&p, WDAY_SHORT, 7) < 0) return -1;
    if (*p == ',') {
        rc = parse_imf_rest(p, &f);
    } else if (*p == ' ') {
        rc = parse_asctime_rest(p, &f);
    } else {
        /* Not "Sun," nor "Sun ": only the long RFC 850 names remain. */
        p = s;
        if (take_name(&p, WDAY_LONG, 7) < 0) return -1;
        rc = parse_rfc850_rest(p, &f);
        if (rc == 0) {
            if (!isfinite(ref_epoch)) ref_epoch = (double)time(NULL);
            f.year = resolve_two_digit_year(f.year, ref_epoch);
        }
    }
    if (rc) return -1;

    /* Second 60 is a leap second (RFC 5322 allows it); it becomes the next minute's :00. */
    if (f.day < 1 || (unsigned)f.day > nna_days_in_month(f.year, (unsigned)f.mon + 1) ||
        f.hh > 23 || f.mm > 59 || f.ss > 60)
        return -1;

    long long days = nna_days_from_civil(f.year, (unsigned)f.mon + 1, (unsigned)f.day);
    *epoch = (double)(days * 86400LL + f.hh * 3600LL + f.mm * 60LL + f.ss);
    return 0;
}

int nna_http_date_parse(const char *s, double *epoch)
{
    /* Only RFC 850 dates look at the reference; NAN asks for the current time then. */
    return nna_http_date_parse_at(s, NAN, epoch);
}
