/* Query strings. Every value is percent-encoded: cursors and timestamps carry '+', ':', '='
 * and '/', which a server would otherwise read as something else. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "url.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

static size_t encoded_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += unreserved((unsigned char)*s) ? 1 : 3;
    return n;
}

static char *encode_into(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    return out;
}

char *nna_url_encode(const char *s)
{
    char *out = malloc(encoded_len(s) + 1);
    if (!out) return NULL;
    *encode_into(out, s) = '\0';
    return out;
}

char *nna_query_build(const char *const *kv)
{
    size_t n = 1;
    for (size_t i = 0; kv[i]; i += 2)
        if (kv[i + 1]) n += encoded_len(kv[i]) + encoded_len(kv[i + 1]) + 2;
    char *out = malloc(n), *p = out;
    if (!out) return NULL;
    for (size_t i = 0; kv[i]; i += 2) {
        if (!kv[i + 1]) continue;
        if (p != out) *p++ = '&';
        p = encode_into(p, kv[i]);
        *p++ = '=';
        p = encode_into(p, kv[i + 1]);
    }
    *p = '\0';
    return out;
}

int nna_base_url_valid(const char *base)
{
    size_t skip;
    if (!base) return 0;
    if (strncasecmp(base, "http://", 7) == 0) skip = 7;
    else if (strncasecmp(base, "https://", 8) == 0) skip = 8;
    else return 0;
    for (const unsigned char *p = (const unsigned char *)base; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#') return 0;
    const char *host = base + skip;
    size_t authority = strcspn(host, "/");
    if (authority == 0) return 0;
    return memchr(host, '@', authority) == NULL;
}

char *nna_api_base(const char *base)
{
    static const char suffix[] = "/api/v1";
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    size_t keep = sizeof suffix - 1;
    int has = n >= keep && memcmp(base + n - keep, suffix, keep) == 0;
    char *out = malloc(n + sizeof suffix);
    if (!out) return NULL;
    memcpy(out, base, n);
    memcpy(out + n, has ? "" : suffix, has ? 1 : sizeof suffix);
    return out;
}
