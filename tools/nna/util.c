/* nna: small utilities — growable strings, query building, time formats. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <math.h>
#include <ctype.h>
#include "cli.h"

int strbuf_put(strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int strbuf_puts(strbuf *b, const char *s) { return strbuf_put(b, s, strlen(s)); }

int strbuf_printf(strbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return strbuf_put(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int r = strbuf_put(b, big, (size_t)n);
    free(big);
    return r;
}

void strbuf_free(strbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int strbuf_query(strbuf *b, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!value) return 0;
    if (b->len && strbuf_puts(b, "&")) return -1;
    if (strbuf_puts(b, key) || strbuf_puts(b, "=")) return -1;
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        if (isalnum(*s) || *s == '-' || *s == '_' || *s == '.' || *s == '~') {
            if (strbuf_put(b, (const char *)s, 1)) return -1;
        } else {
            char enc[3] = { '%', hex[*s >> 4], hex[*s & 15] };
            if (strbuf_put(b, enc, 3)) return -1;
        }
    }
    return 0;
}

double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void iso_utc(double t, char *out, size_t n)
{
    time_t s = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int iso_parse(const char *s, double *out)
{
    int Y, M, D, h, m, sec;
    const char *p = s;
    if (!s || digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' ||
        digits(&p, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return -1;
    double frac = 0;
    if (*p == '.' || *p == ',') {
        double scale = 0.1;
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        while (isdigit((unsigned char)*p)) {
            frac += (*p++ - '0') * scale;
            scale /= 10;
        }
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh)) return -1;
        if (*p == ':') p++;
        if (digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p) return -1;
    *out = (double)days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400.0 + h * 3600 + m * 60 +
           sec + frac - off;
    return 0;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("{\"error\":\"out of memory\",\"status\":0}\n", stderr);
        exit(EXIT_NETWORK);
    }
    return p;
}

char *xstrdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = xcalloc(1, n);
    memcpy(d, s, n);
    return d;
}

int title_consistent(const char *title, const char *query)
{
    if (!title || !*title || !query || !*query) return 1;
    size_t tl = strlen(title), ql = strlen(query);
    size_t n = tl < ql ? tl : ql;
    /* The server derives the title from the first user message and may cut it (at a UTF-8
     * boundary) and add an ellipsis: compare the common part without its tail. */
    while (n > 0 && (title[n - 1] == '.' || (unsigned char)title[n - 1] >= 0x80)) n--;
    return strncasecmp(title, query, n) == 0;
}
