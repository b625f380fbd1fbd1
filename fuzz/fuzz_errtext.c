// FUZZ-SOURCES: lib/errtext.c
// FUZZ-LIBS: -lcjson
/* Error texts from a server's error body (nna_error_text, nna_redirect_text, nna_redact).
 * The first input byte picks the key (a one-letter one, a short one, a long one, none);
 * the rest is the body. Invariants: no crash or leak; the text is bounded (the cap plus
 * the marker, the ellipsis and our own prefix); never holds a control character; a long
 * key never survives in it (short keys only as whole tokens, so not checked). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "errtext.h"

#define LONG_KEY "sk-0123456789abcdef0123456789abcdef"

static void check(int cond)
{
    if (!cond) abort();
}

static void check_text(char *t, size_t bound, const char *key)
{
    check(t != NULL);
    size_t n = strlen(t);
    check(n <= bound);
    for (size_t i = 0; i < n; i++) check((unsigned char)t[i] >= 0x20 && t[i] != 0x7f);
    if (key && strlen(key) >= NNA_REDACT_ANYWHERE) check(!strstr(t, key));
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = { NULL, "a", "test-key", LONG_KEY };
    if (size < 1 || size > 1 << 20) return 0;
    const char *key = keys[data[0] % 4];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    size_t slack = 10 + 3 + 48; /* marker, ellipsis, "HTTP nnn: " or our prefixes */

    cJSON *json = cJSON_ParseWithLength(body, len);
    const char *m = nna_error_message(json);
    if (m) check(cJSON_IsObject(json));
    check_text(nna_error_text(400, json, body, len, NULL, key), NNA_ERRTEXT_MAX + slack, key);
    check_text(nna_error_text(502, NULL, body, len, NULL, key), NNA_ERRTEXT_EXCERPT + slack, key);
    cJSON_Delete(json);

    char *s = malloc(len + 1);
    if (!s) abort();
    memcpy(s, body, len);
    s[len] = '\0';
    check_text(nna_error_text(0, NULL, NULL, 0, s, key), NNA_ERRTEXT_MAX + slack, key);
    check_text(nna_redirect_text(302, s, key), NNA_ERRTEXT_MAX + slack + 24, key);
    /* nna_redact has no cap: only the key and control characters are checked */
    char *r = nna_redact(s, key);
    check_text(r, (size_t)-1, key);
    return 0;
}
