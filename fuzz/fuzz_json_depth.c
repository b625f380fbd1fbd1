// FUZZ-SOURCES: lib/json_depth.c
// FUZZ-LIBS: -lcjson
/* The JSON nesting pre-scan (nna_json_depth_ok) that guards cJSON against hostile
 * bodies. Invariants: no crash, no read past the length; for every input that cJSON parses
 * as exactly one value (nothing after it, no NUL inside), the scan agrees with the depth
 * of the parsed tree: ok at that depth, not ok one below; and the answer only grows with
 * the limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "json_depth.h"

static void check(int cond)
{
    if (!cond) abort();
}

static unsigned tree_depth(const cJSON *j)
{
    if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) return 0;
    unsigned deepest = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        unsigned d = tree_depth(c);
        if (d > deepest) deepest = d;
    }
    return deepest + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    /* Monotonic in the limit. */
    for (unsigned m = 0; m < 8; m++)
        if (nna_json_depth_ok(s, size, m)) check(nna_json_depth_ok(s, size, m + 1));
    if (memchr(data, 0, size)) return 0;
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* require_null_terminated: the whole input is one value. */
    cJSON *j = cJSON_ParseWithLengthOpts(copy, size + 1, NULL, 1);
    if (j) {
        unsigned d = tree_depth(j);
        check(nna_json_depth_ok(s, size, d));
        if (d > 0) check(!nna_json_depth_ok(s, size, d - 1));
        cJSON_Delete(j);
    }
    free(copy);
    return 0;
}
