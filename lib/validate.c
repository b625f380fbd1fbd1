/* Client-side checks of what the typed calls send: be strict in what you send, so a
 * mistake fails with NNA_EINVAL before any request leaves. */
#include <stdlib.h>
#include <string.h>
#include "api_internal.h"

int nna_valid_status_list(const char *s)
{
    if (!s) return 1;
    /* Names are checked for shape, not against the enum: a newer server may know more. */
    int in_name = 0;
    for (; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || *s == '_') in_name = 1;
        else if (*s == ',' && in_name) in_name = 0;
        else return 0;
    }
    return in_name;
}

int nna_valid_json_object(const char *text)
{
    /* Strict (UTF-8, nothing after the value): the text is sent as written. */
    nna_span v;
    return text && nna_json_validate(text, strlen(text), &v, NULL, NULL) == 0 &&
           nna_json_kind(text, v) == '{';
}
