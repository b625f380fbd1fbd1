/* Limits on what the server controls: reply body size (per endpoint kind), header size,
 * JSON nesting depth, pages per walk, a total budget for reply buffers and a low-speed
 * limit. The options live in nna_client_options; the client keeps the resolved values
 * here; the transport enforces sizes, budget and speed while bytes arrive, the pipeline
 * the nesting depth before parsing, the pager the page count. Internal. */
#ifndef NNA_REPLY_LIMITS_H
#define NNA_REPLY_LIMITS_H

#include <stddef.h>
#include "nna/client.h"
#include "transport.h"
#include "future_internal.h"
#include "json_depth.h"
#include "nna/json.h"

#define NNA_DEFAULT_MAX_RESPONSE   ((size_t)64 << 20)
#define NNA_DEFAULT_MAX_OBJECT     ((size_t)1 << 20)
#define NNA_DEFAULT_MAX_PAGE       ((size_t)16 << 20)
#define NNA_DEFAULT_MAX_HEADER     ((size_t)64 << 10)
#define NNA_DEFAULT_JSON_DEPTH     NNA_JSON_MAX_DEPTH /* the strict scanner's own bound */
#define NNA_DEFAULT_WALK_PAGES     100000u
#define NNA_DEFAULT_RESP_BUDGET    ((size_t)256 << 20)
#define NNA_DEFAULT_LOW_SPEED      64L
#define NNA_DEFAULT_LOW_SPEED_TIME 60.0

typedef struct nna_limits {
    size_t   max_response, max_object, max_page; /* reply body caps (bytes) */
    unsigned max_json_depth;
    unsigned max_walk_pages;
} nna_limits;

struct nna_client;

/* nna_client_options_init's part. */
void nna_limits_defaults(nna_client_options *o);
/* Resolves the options (0 = default) into the client. */
void nna_limits_copy(struct nna_client *c, const nna_client_options *o);
/* The transport's part of the options: header cap, budget, low-speed limit. */
void nna_limits_transport(const nna_client_options *o, nna_transport_options *to);
/* The body cap of a reply by the kind of result the endpoint parses it into (a single
 * object, a list page, anything else): `parse` is the op's nna_op_parse_fn, or NULL. */
struct cJSON;
typedef nna_status (*nna_limits_parse_fn)(struct cJSON *json, void **result,
                                          nna_free_fn *free_result);
size_t nna_limits_body_cap(const nna_limits *l, nna_limits_parse_fn parse);

#endif
