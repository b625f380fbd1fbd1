/* Error texts: the server's words when it gave some, never the API key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "errtext.h"
#include "client_internal.h"

#define EXCERPT 200

char *nna_redact(char *s, const char *key)
{
    static const char mark[] = "[REDACTED]";
    size_t kl = key ? strlen(key) : 0;
    if (!s || kl == 0 || !strstr(s, key)) return s;
    size_t count = 0;
    for (const char *p = s; (p = strstr(p, key)); p += kl) count++;
    size_t n = strlen(s) - count * kl + count * (sizeof mark - 1) + 1;
    char *out = malloc(n), *w = out;
    if (!out) { free(s); return NULL; }
    const char *r = s, *p;
    while ((p = strstr(r, key))) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, mark, sizeof mark - 1);
        w += sizeof mark - 1;
        r = p + kl;
    }
    strcpy(w, r);
    free(s);
    return out;
}

static char *excerpt(long status, const char *body, size_t len)
{
    char buf[EXCERPT + 64];
    int n = snprintf(buf, sizeof buf, "HTTP %ld", status);
    if (body && len) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, ": ");
        for (size_t i = 0; i < len && (size_t)n < sizeof buf - 4 && i < EXCERPT; i++) {
            unsigned char ch = (unsigned char)body[i];
            buf[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
        }
        buf[n] = '\0';
    }
    return strdup(buf);
}

char *nna_error_text(long status, const cJSON *json, const char *body, size_t body_len,
                     const char *transport_error, const nna_client *c)
{
    char *out;
    const cJSON *e = cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "error") : NULL;
    if (cJSON_IsString(e) && e->valuestring[0]) out = strdup(e->valuestring);
    else if (status > 0) out = excerpt(status, body, body_len);
    else out = strdup(transport_error ? transport_error : "transport failure");
    if (out && c) out = nna_redact(out, c->key);
    return out;
}
