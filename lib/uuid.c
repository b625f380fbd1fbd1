/* UUID syntax: the API answers 400 for a malformed id; checking locally fails fast and
 * keeps a bad id out of the URL path. */
#include <stddef.h>
#include "uuid.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int nna_uuid_parse(const char *s, uint8_t out[16])
{
    if (!s) return -1;
    int n = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return -1;
            continue;
        }
        int hi = hexval(s[i]);
        if (hi < 0) return -1;
        int lo = hexval(s[++i]);
        if (lo < 0) return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    return s[36] == '\0' ? 0 : -1;
}

int nna_uuid_valid(const char *s)
{
    uint8_t b[16];
    return nna_uuid_parse(s, b) == 0;
}
