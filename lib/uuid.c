/* UUID syntax: the API answers 400 for a malformed id; checking locally fails fast and
 * keeps a bad id out of the URL path. */
#include <stddef.h>
#include <string.h>
#include "uuid.h"

static const signed char hexv[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
    ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
}; /* value + 1; 0 = not a hex digit */

int nna_uuid_parse(const char *s, uint8_t out[16])
{
    static const unsigned char pos[16] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };
    if (!s || strnlen(s, 37) != 36) return -1;
    const unsigned char *u = (const unsigned char *)s;
    if (u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-') return -1;
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        int hi = hexv[u[pos[i]]], lo = hexv[u[pos[i] + 1]];
        bad |= !hi | !lo;
        out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
    }
    return bad ? -1 : 0;
}

int nna_uuid_valid(const char *s)
{
    uint8_t b[16];
    return nna_uuid_parse(s, b) == 0;
}
