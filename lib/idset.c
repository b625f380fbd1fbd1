/* A set of task ids: open addressing over 128-bit keys (16 bytes each, no strings kept),
 * so remembering 100,000 created tasks costs about 3 MB. A UUID is its own key; any other
 * id (the API documents UUIDs, but a claim must never be lost to a format surprise) is
 * hashed to 128 bits. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "reconcile.h"
#include "uuid.h"

struct nna_idset {
    uint8_t (*keys)[16];
    uint8_t *used;
    size_t   cap, len;
};

nna_idset *nna_idset_new(void) { return calloc(1, sizeof(nna_idset)); }

void nna_idset_free(nna_idset *s)
{
    if (!s) return;
    free(s->keys);
    free(s->used);
    free(s);
}

static size_t slot_of(const nna_idset *s, const uint8_t k[16])
{
    uint64_t h;
    memcpy(&h, k + 8, sizeof h); /* UUID bits are random enough to hash */
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    size_t i = (size_t)(h & (s->cap - 1));
    while (s->used[i] && memcmp(s->keys[i], k, 16) != 0) i = (i + 1) & (s->cap - 1);
    return i;
}

static int grow(nna_idset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 256;
    nna_idset n = { calloc(ncap, 16), calloc(ncap, 1), ncap, 0 };
    if (!n.keys || !n.used) { free(n.keys); free(n.used); return -1; }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->used[i]) continue;
        size_t j = slot_of(&n, s->keys[i]);
        memcpy(n.keys[j], s->keys[i], 16);
        n.used[j] = 1;
        n.len++;
    }
    free(s->keys);
    free(s->used);
    *s = n;
    return 0;
}

/* FNV-1a, twice with different offsets, for ids that are not UUIDs. */
static void key_of(const char *id, uint8_t k[16])
{
    if (nna_uuid_parse(id, k) == 0) return;
    uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        a = (a ^ *p) * 0x100000001b3ULL;
        b = (b ^ *p) * 0x100000001b3ULL;
        b ^= b >> 31;
    }
    memcpy(k, &a, 8);
    memcpy(k + 8, &b, 8);
}

int nna_idset_add(nna_idset *s, const char *id)
{
    uint8_t k[16];
    if (!id) return -1;
    key_of(id, k);
    if ((s->len + 1) * 4 > s->cap * 3 && grow(s) != 0) return -1;
    size_t i = slot_of(s, k);
    if (s->used[i]) return 0;
    memcpy(s->keys[i], k, 16);
    s->used[i] = 1;
    s->len++;
    return 1;
}

int nna_idset_has(const nna_idset *s, const char *id)
{
    uint8_t k[16];
    if (!s->cap || !id) return 0;
    key_of(id, k);
    return s->used[slot_of(s, k)];
}
