/* Error texts: the server's words when it gave some, bounded, printable, never the key.
 *
 * One scanner does everything in a single pass over the source: at each position it
 * first asks whether the key starts there (looking at the whole source, so a key that
 * straddles the cut is still recognised), then copies one printable character or one
 * valid UTF-8 sequence, and stops when the output is full. Redacting before cutting is
 * what keeps a key at offset 195 of a 200-byte excerpt from leaking its first bytes; the
 * output cap is what keeps a 10 MB "error" string from being copied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errtext.h"

#define MARK "[REDACTED]"
#define MARK_LEN (sizeof MARK - 1)
#define ELLIPSIS "..."
#define NEST_MAX 4

static int token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Does the key start at s[i] (and count as the key there, see nna_redact)? */
static int key_at(const char *s, size_t len, size_t i, const char *key, size_t kl)
{
    if (kl == 0 || len - i < kl || memcmp(s + i, key, kl) != 0) return 0;
    if (kl >= NNA_REDACT_ANYWHERE) return 1;
    if (i > 0 && token_char((unsigned char)key[0]) && token_char((unsigned char)s[i - 1]))
        return 0;
    if (i + kl < len && token_char((unsigned char)key[kl - 1]) &&
        token_char((unsigned char)s[i + kl]))
        return 0;
    return 1;
}

/* Length of the valid UTF-8 sequence at s[i] (2..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t len, size_t i)
{
    unsigned char c = s[i];
    size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (n == 0 || c >= 0xf5 || len - i < n) return 0;
    for (size_t k = 1; k < n; k++)
        if ((s[i + k] & 0xc0) != 0x80) return 0;
    /* overlong three- and four-byte forms, surrogates, beyond U+10FFFF */
    if (n == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0))) return 0;
    if (n == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))) return 0;
    return n;
}

/* Appends the cleaned, redacted src[0..len) to out (which has room for cap bytes plus
 * the marker, the ellipsis and a NUL), stopping when out would pass cap (a marker that
 * starts before the cap is written whole: the reader sees a key was there). */
static size_t scan(char *out, size_t cap, const char *src, size_t len, const char *key)
{
    size_t kl = key ? strlen(key) : 0, o = 0, i = 0;
    const unsigned char *s = (const unsigned char *)src;
    while (i < len) {
        if (key_at(src, len, i, key, kl)) {
            if (o >= cap) break; /* the marker may pass the cap: out has room for it */
            memcpy(out + o, MARK, MARK_LEN);
            o += MARK_LEN;
            i += kl;
            continue;
        }
        size_t n = s[i] < 0x80 ? 1 : utf8_len(s, len, i);
        if (o + (n ? n : 1) > cap) break;
        if (n > 1) {
            memcpy(out + o, src + i, n);
        } else {
            n = 1; /* a control character or a broken sequence: one space per byte */
            out[o] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : ' ';
        }
        o += n;
        i += n;
    }
    if (i < len) {
        memcpy(out + o, ELLIPSIS, sizeof ELLIPSIS - 1);
        o += sizeof ELLIPSIS - 1;
    }
    out[o] = '\0';
    return o;
}

/* prefix (ours, trusted) followed by the cleaned src. */
static char *clean(const char *prefix, const char *src, size_t len, size_t cap,
                   const char *key)
{
    size_t pl = strlen(prefix);
    char *out = malloc(pl + cap + MARK_LEN + sizeof ELLIPSIS + 1);
    if (!out) return NULL;
    memcpy(out, prefix, pl);
    scan(out + pl, cap, src ? src : "", src ? len : 0, key);
    return out;
}

char *nna_redact(char *s, const char *key)
{
    if (!s) return NULL;
    size_t len = strlen(s), kl = key ? strlen(key) : 0, count = 0;
    for (size_t i = 0; kl && i + kl <= len; i++)
        if (key_at(s, len, i, key, kl)) { count++; i += kl - 1; }
    /* Room for every byte and every marker; scan() only shrinks or keeps the rest. */
    size_t cap = len + count * MARK_LEN;
    char *out = malloc(cap + sizeof ELLIPSIS + 1);
    if (!out) { free(s); return NULL; }
    scan(out, cap, s, len, key);
    free(s);
    return out;
}

static const char *message_in(const cJSON *j, int depth);

/* The first usable message in an array of errors. */
static const char *first_in(const cJSON *arr, int depth)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        const char *m = message_in(it, depth + 1);
        if (m) return m;
    }
    return NULL;
}

static const char *message_in(const cJSON *j, int depth)
{
    static const char *const keys[] = {
        "error", "detail", "message", "msg", "errors", "error_description", "description",
        "title",
    };
    if (!j || depth > NEST_MAX) return NULL;
    if (cJSON_IsString(j)) return j->valuestring[0] ? j->valuestring : NULL;
    if (cJSON_IsArray(j)) return first_in(j, depth);
    if (!cJSON_IsObject(j)) return NULL;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *m = message_in(cJSON_GetObjectItemCaseSensitive(j, keys[k]), depth + 1);
        if (m) return m;
    }
    return NULL;
}

const char *nna_error_message(const cJSON *json)
{
    /* Only an object is an envelope: a bare JSON string or array body is shown raw. */
    return cJSON_IsObject(json) ? message_in(json, 0) : NULL;
}

char *nna_error_text(long status, const cJSON *json, const char *body, size_t body_len,
                     const char *transport_error, const char *key)
{
    const char *m = nna_error_message(json);
    if (m) return clean("", m, strlen(m), NNA_ERRTEXT_MAX, key);
    if (status > 0) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, body && body_len ? "HTTP %ld: " : "HTTP %ld", status);
        return clean(prefix, body, body_len, NNA_ERRTEXT_EXCERPT, key);
    }
    const char *t = transport_error ? transport_error : "transport failure";
    return clean("", t, strlen(t), NNA_ERRTEXT_MAX, key);
}

char *nna_redirect_text(long status, const char *location, const char *key)
{
    if (!location || !*location) {
        char buf[80];
        snprintf(buf, sizeof buf, "unexpected redirect (HTTP %ld) without a Location header",
                 status);
        return clean(buf, NULL, 0, 0, key);
    }
    return clean("unexpected redirect to ", location, strlen(location), NNA_ERRTEXT_MAX, key);
}
