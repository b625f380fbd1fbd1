/* Strict JSON validation and value spans over raw bytes (see jsonspan.h). The validator is
 * a recursive descent bounded by NNA_JSON_MAX_DEPTH; the span functions trust text the
 * validator accepted and only skip over it. */
#include <string.h>
#include "jsonspan.h"

typedef struct scan {
    const unsigned char *p;
    size_t               len, pos;
    const char          *why;
} scan;

static int fail(scan *s, const char *why)
{
    if (!s->why) s->why = why;
    return -1;
}

static void skip_ws(scan *s)
{
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        s->pos++;
    }
}

static int peek(const scan *s) { return s->pos < s->len ? s->p[s->pos] : -1; }

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (bounds checked by the caller). */
static long hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* \uXXXX at s->pos (just after the 'u'), with the low half of a surrogate pair. */
static int scan_u_escape(scan *s)
{
    if (s->len - s->pos < 4) return fail(s, "truncated \\u escape");
    long u = hex4(s->p + s->pos);
    if (u < 0) return fail(s, "bad hex digit in \\u escape");
    s->pos += 4;
    if (u >= 0xDC00 && u <= 0xDFFF) return fail(s, "unpaired low surrogate escape");
    if (u < 0xD800 || u > 0xDBFF) return 0;
    if (s->len - s->pos < 6 || s->p[s->pos] != '\\' || s->p[s->pos + 1] != 'u')
        return fail(s, "unpaired high surrogate escape");
    long lo = hex4(s->p + s->pos + 2);
    if (lo < 0xDC00 || lo > 0xDFFF) return fail(s, "unpaired high surrogate escape");
    s->pos += 6;
    return 0;
}

/* One UTF-8 sequence of two or more bytes starting at s->pos (RFC 3629 table). */
static int scan_utf8(scan *s)
{
    const unsigned char *p = s->p + s->pos;
    size_t left = s->len - s->pos, n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) n = 2;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        if (p[0] == 0xE0) lo = 0xA0;        /* overlong */
        if (p[0] == 0xED) hi = 0x9F;        /* UTF-16 surrogates */
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        if (p[0] == 0xF0) lo = 0x90;        /* overlong */
        if (p[0] == 0xF4) hi = 0x8F;        /* beyond U+10FFFF */
    } else {
        return fail(s, "invalid UTF-8");
    }
    if (left < n) return fail(s, "invalid UTF-8");
    if (p[1] < lo || p[1] > hi) return fail(s, "invalid UTF-8");
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return fail(s, "invalid UTF-8");
    s->pos += n;
    return 0;
}

/* A string starting at the opening quote. */
static int scan_string(scan *s)
{
    s->pos++;
    for (;;) {
        if (s->pos >= s->len) return fail(s, "unterminated string");
        unsigned char c = s->p[s->pos];
        if (c == '"') { s->pos++; return 0; }
        if (c < 0x20) return fail(s, "control character in string");
        if (c >= 0x80) {
            if (scan_utf8(s)) return -1;
            continue;
        }
        s->pos++;
        if (c != '\\') continue;
        if (s->pos >= s->len) return fail(s, "unterminated string");
        c = s->p[s->pos++];
        if (c == 'u') {
            if (scan_u_escape(s)) return -1;
        } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
            return fail(s, "bad escape in string");
        }
    }
}

static int digits(scan *s)
{
    size_t start = s->pos;
    while (s->pos < s->len && s->p[s->pos] >= '0' && s->p[s->pos] <= '9') s->pos++;
    return s->pos > start ? 0 : fail(s, "bad number");
}

static int scan_number(scan *s)
{
    if (peek(s) == '-') s->pos++;
    if (peek(s) == '0') s->pos++;
    else if (digits(s)) return -1;
    if (peek(s) == '.') {
        s->pos++;
        if (digits(s)) return -1;
    }
    if (peek(s) == 'e' || peek(s) == 'E') {
        s->pos++;
        if (peek(s) == '+' || peek(s) == '-') s->pos++;
        if (digits(s)) return -1;
    }
    return 0;
}

static int scan_word(scan *s, const char *w)
{
    size_t n = strlen(w);
    if (s->len - s->pos < n || memcmp(s->p + s->pos, w, n) != 0)
        return fail(s, "unexpected character");
    s->pos += n;
    return 0;
}

static int scan_value(scan *s, int depth);

/* An array or object starting at its opening bracket. */
static int scan_container(scan *s, int depth)
{
    if (depth > NNA_JSON_MAX_DEPTH) return fail(s, "nested too deeply");
    int object = s->p[s->pos] == '{';
    char close = object ? '}' : ']';
    s->pos++;
    skip_ws(s);
    if (peek(s) == close) { s->pos++; return 0; }
    for (;;) {
        if (object) {
            if (peek(s) != '"') return fail(s, "expected a member name");
            size_t key = s->pos;
            if (scan_string(s)) return -1;
            /* No C string (cJSON's view included) can hold it: "id\u0000x" would read as
             * "id" there and as another member here. */
            if (nna_json_string_has_nul((const char *)s->p, (nna_span){ key, s->pos - key }))
                return fail(s, "escaped NUL in a member name");
            skip_ws(s);
            if (peek(s) != ':') return fail(s, "expected ':'");
            s->pos++;
            skip_ws(s);
        }
        if (scan_value(s, depth)) return -1;
        skip_ws(s);
        int c = peek(s);
        s->pos++;
        if (c == close) return 0;
        if (c != ',') { s->pos--; return fail(s, object ? "expected ',' or '}'" : "expected ',' or ']'"); }
        skip_ws(s);
    }
}

static int scan_value(scan *s, int depth)
{
    switch (peek(s)) {
    case '{': case '[': return scan_container(s, depth + 1);
    case '"': return scan_string(s);
    case 't': return scan_word(s, "true");
    case 'f': return scan_word(s, "false");
    case 'n': return scan_word(s, "null");
    case -1: return fail(s, "unexpected end of text");
    default:
        if (peek(s) == '-' || (peek(s) >= '0' && peek(s) <= '9')) return scan_number(s);
        return fail(s, "unexpected character");
    }
}

int nna_json_validate(const char *text, size_t len, nna_span *value, const char **why,
                      size_t *at)
{
    scan s = { (const unsigned char *)text, text ? len : 0, 0, NULL };
    skip_ws(&s);
    size_t start = s.pos;
    if (scan_value(&s, 0) == 0) {
        size_t end = s.pos;
        skip_ws(&s);
        if (s.pos == s.len) {
            if (value) *value = (nna_span){ start, end - start };
            return 0;
        }
        fail(&s, "text after the JSON value");
    }
    if (why) *why = s.why;
    if (at) *at = s.pos;
    return -1;
}

/* ---- spans over validated text ------------------------------------------------------- */

static size_t skip_ws_at(const char *t, size_t i)
{
    while (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') i++;
    return i;
}

/* End of the string whose opening quote is at i. */
static size_t string_end(const char *t, size_t i)
{
    for (i++; t[i] != '"'; i++)
        if (t[i] == '\\') i++;
    return i + 1;
}

/* End of the value starting at i (validated text: brackets balance, strings close). */
static size_t value_end(const char *t, size_t i)
{
    if (t[i] == '"') return string_end(t, i);
    if (t[i] != '{' && t[i] != '[') {
        while (!strchr(",]} \t\n\r", t[i])) i++;
        return i;
    }
    size_t depth = 0;
    do {
        if (t[i] == '"') { i = string_end(t, i); continue; }
        if (t[i] == '{' || t[i] == '[') depth++;
        else if (t[i] == '}' || t[i] == ']') depth--;
        i++;
    } while (depth);
    return i;
}

char nna_json_kind(const char *text, nna_span v)
{
    if (!text || !v.len) return 0;
    char c = text[v.off];
    if (c == '-' || (c >= '0' && c <= '9')) return 'n';
    if (c == 'n') return 'z';
    return c;
}

/* Next member (objects: key span too) or element after *pos. */
static int next_item(const char *t, nna_span c, size_t *pos, nna_span *key, nna_span *out)
{
    char k = nna_json_kind(t, c);
    if (k != '{' && k != '[') return 0;
    size_t end = c.off + c.len - 1;           /* the closing bracket */
    size_t i = *pos ? *pos : c.off + 1;
    i = skip_ws_at(t, i);
    if (i >= end) return 0;
    if (t[i] == ',') i = skip_ws_at(t, i + 1);
    if (k == '{') {
        size_t ke = string_end(t, i);
        if (key) *key = (nna_span){ i, ke - i };
        i = skip_ws_at(t, ke);
        i = skip_ws_at(t, i + 1);             /* the ':' */
    }
    size_t ve = value_end(t, i);
    *out = (nna_span){ i, ve - i };
    *pos = ve;
    return 1;
}

int nna_json_next(const char *text, nna_span container, size_t *pos, nna_span *out)
{
    return text && pos && out ? next_item(text, container, pos, NULL, out) : 0;
}

/* Decodes the character at t[*i] inside a validated string into UTF-8 (buf, ≥ 4 bytes);
 * returns its length and advances *i. */
static size_t decode_char(const char *t, size_t *i, unsigned char *buf)
{
    const unsigned char *p = (const unsigned char *)t + *i;
    if (p[0] != '\\') { buf[0] = p[0]; (*i)++; return 1; }
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p[1] != 'u') { buf[0] = (unsigned char)to[strchr(from, p[1]) - from]; *i += 2; return 1; }
    unsigned long u = (unsigned long)hex4(p + 2);
    *i += 6;
    if (u >= 0xD800 && u <= 0xDBFF) {
        u = 0x10000 + ((u - 0xD800) << 10) + ((unsigned long)hex4(p + 8) - 0xDC00);
        *i += 6;
    }
    if (u < 0x80) { buf[0] = (unsigned char)u; return 1; }
    if (u < 0x800) {
        buf[0] = (unsigned char)(0xC0 | u >> 6);
        buf[1] = (unsigned char)(0x80 | (u & 0x3F));
        return 2;
    }
    if (u < 0x10000) {
        buf[0] = (unsigned char)(0xE0 | u >> 12);
        buf[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
        buf[2] = (unsigned char)(0x80 | (u & 0x3F));
        return 3;
    }
    buf[0] = (unsigned char)(0xF0 | u >> 18);
    buf[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
    buf[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
    buf[3] = (unsigned char)(0x80 | (u & 0x3F));
    return 4;
}

/* 1 when the string at span `str` (quotes included) unescapes to exactly `key`. */
static int string_equals(const char *t, nna_span str, const char *key)
{
    size_t i = str.off + 1, end = str.off + str.len - 1, k = 0, klen = strlen(key);
    while (i < end) {
        unsigned char buf[4];
        size_t n = decode_char(t, &i, buf);
        if (klen - k < n || memcmp(key + k, buf, n) != 0) return 0;
        k += n;
    }
    return k == klen;
}

int nna_json_member(const char *text, nna_span obj, const char *key, nna_span *out)
{
    if (!text || !key || nna_json_kind(text, obj) != '{') return 0;
    size_t pos = 0;
    nna_span k, v;
    while (next_item(text, obj, &pos, &k, &v))
        if (string_equals(text, k, key)) {
            if (out) *out = v;
            return 1;
        }
    return 0;
}

int nna_json_string_has_nul(const char *text, nna_span str)
{
    if (nna_json_kind(text, str) != '"') return 0;
    for (size_t i = str.off + 1; i + 1 < str.off + str.len; i++) {
        if (text[i] != '\\') continue;
        if (text[i + 1] == 'u' && memcmp(text + i + 2, "0000", 4) == 0) return 1;
        i++; /* skip the escaped character */
    }
    return 0;
}
