/* How deep a reply's JSON nests, checked before it is parsed. Pure; no allocation.
 * Internal (a separate unit so a strict JSON scanner can later fold it in). */
#ifndef NNA_JSON_DEPTH_H
#define NNA_JSON_DEPTH_H

#include <stddef.h>

/* 1 when no array or object in the JSON text s[0..n) is nested deeper than max_depth
 * (the outermost value is depth 1), counting brackets outside strings. A cheap scan before
 * cJSON, whose recursive parser would otherwise go 1000 levels deep (CJSON_NESTING_LIMIT)
 * on a hostile body. Invalid JSON is not judged here: the parser rejects it. */
int nna_json_depth_ok(const char *s, size_t n, unsigned max_depth);
#endif
