/* Strict JSON scanning over raw bytes (the public part is nna/json.h): one more check the
 * typed parsers need. Pure, no dependency on the rest of the library (nna-emu and the CLI
 * compile jsonspan.c too). Internal. */
#ifndef NNA_JSONSPAN_H
#define NNA_JSONSPAN_H

#include "nna/json.h"

typedef nna_json_span nna_span;

/* 1 when a string value (or key) holds an escaped NUL (backslash-u0000), which a C string
 * would silently cut short. */
int nna_json_string_has_nul(const char *text, nna_span str);

#endif
