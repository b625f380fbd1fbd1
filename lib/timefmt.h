/* Time text the API and HTTP use. Pure functions; any thread. Times are Unix epoch seconds
 * as double (sub-second precision kept). */
#ifndef NNA_TIMEFMT_H
#define NNA_TIMEFMT_H
#include <stddef.h>

/* ISO-8601 / RFC 3339 date-time, lenient: "YYYY-MM-DDTHH:MM:SS" with optional fraction,
 * then "Z", "+hh:mm", "-hh:mm", "+hhmm" or nothing (taken as UTC); 't'/' ' accepted for 'T'.
 * Returns 0 and sets *epoch, or -1 for anything malformed or out of range (month 13,
 * second 61, trailing garbage, NULL). */
int nna_iso8601_parse(const char *s, double *epoch);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds, fraction truncated toward -inf) into
 * out, which must hold NNA_ISO8601_LEN + 1 bytes. Returns 0, or -1 when epoch is not
 * finite or outside years 1970..9999. */
#define NNA_ISO8601_LEN 20
int nna_iso8601_format(double epoch, char *out);

/* HTTP-date (RFC 9110 §5.6.7): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", obsolete
 * RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994".
 * Returns 0 and sets *epoch, or -1. The weekday name is checked for form, not value.
 * RFC 850's two-digit year is resolved against the current time (RFC 9110: a year more
 * than 50 years in the future means the previous century); nothing else reads a clock. */
int nna_http_date_parse(const char *s, double *epoch);

/* Same, with the reference time for RFC 850 years given (epoch seconds; the current time
 * is used when it is not finite). Pure when ref_epoch is finite. */
int nna_http_date_parse_at(const char *s, double ref_epoch, double *epoch);

/* Proleptic Gregorian calendar arithmetic shared by the parsers and formatters: exact
 * integer math, no time zone, no locale. Valid for |y| < 10^12. */
long long nna_days_from_civil(long long y, unsigned m, unsigned d); /* days since 1970-01-01 */
void      nna_civil_from_days(long long days, long long *y, unsigned *m, unsigned *d);
unsigned  nna_days_in_month(long long y, unsigned m);               /* 0 for m outside 1..12 */
#endif
