/* The JSON nesting pre-scan (json_depth.h). */
#include "json_depth.h"

int nna_json_depth_ok(const char *s, size_t n, unsigned max_depth)
{
    unsigned depth = 0;
    int in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\') i++; /* the escaped character cannot end the string */
            else if (ch == '"') in_str = 0;
            continue;
        }
        switch (ch) {
        case '"': in_str = 1; break;
        case '[': case '{':
            if (++depth > max_depth) return 0;
            break;
        case ']': case '}':
            if (depth) depth--;
            break;
        default: break;
        }
    }
    return 1;
}
