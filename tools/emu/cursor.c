/* nna-emu: opaque pagination cursors.
 *
 * "c1:" + standard base64 (alphabet with '+' and '/', '=' padding) of 16 bytes:
 * a 6-byte magic that always encodes to "++++////", a kind byte, the 8-byte
 * big-endian position (internal creation sequence), and a check byte. The
 * characters '+', '/', '=' and ':' are there on purpose: clients must
 * URL-encode the cursor when sending it back. */
#include "emu_internal.h"

#include <string.h>

static const uint8_t magic[6] = {0xFB, 0xEF, 0xBE, 0xFF, 0xFF, 0xFF};

static uint8_t check_byte(const uint8_t *b)
{
    uint8_t c = 0x5A;
    for (int i = 0; i < 15; i++)
        c = (uint8_t)((c << 1 | c >> 7) ^ b[i]);
    return c;
}

void emu_cursor_make(int kind, uint64_t seq, char out[40])
{
    uint8_t b[16];
    memcpy(b, magic, 6);
    b[6] = (uint8_t)kind;
    for (int i = 0; i < 8; i++)
        b[7 + i] = (uint8_t)(seq >> (56 - 8 * i));
    b[15] = check_byte(b);
    memcpy(out, "c1:", 3);
    emu_b64_encode(b, 16, out + 3);
}

int emu_cursor_parse(int kind, const char *s, uint64_t *seq)
{
    char tmp[64];
    size_t n = strlen(s);
    if (n < 3 || n - 3 >= sizeof tmp || memcmp(s, "c1:", 3) != 0)
        return -1;
    n -= 3;
    memcpy(tmp, s + 3, n);
    tmp[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (tmp[i] == ' ')
            tmp[i] = '+'; /* an unencoded '+' arrives form-decoded as a space */
    uint8_t b[20];
    size_t bl;
    if (emu_b64_decode(tmp, n, b, sizeof b, &bl) != 0 || bl != 16)
        return -1;
    if (memcmp(b, magic, 6) != 0 || b[6] != kind || b[15] != check_byte(b))
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[7 + i];
    *seq = v;
    return 0;
}
