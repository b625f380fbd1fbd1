/* Shared pieces of the typed API layer. Internal. */
#ifndef NNA_API_INTERNAL_H
#define NNA_API_INTERNAL_H
#include <cjson/cJSON.h>
#include "future_internal.h"
nna_status nna_parse_task(cJSON *json, void **result, nna_free_fn *free_result);
#endif
