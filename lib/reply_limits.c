/* Limits on what the server controls: defaults, resolution, per-endpoint body caps and
 * (see reply_limits.h). */
#include "reply_limits.h"
#include "client_internal.h"
#include "api_internal.h"

void nna_limits_defaults(nna_client_options *o)
{
    o->max_response_bytes = NNA_DEFAULT_MAX_RESPONSE;
    o->max_object_bytes = NNA_DEFAULT_MAX_OBJECT;
    o->max_page_bytes = NNA_DEFAULT_MAX_PAGE;
    o->max_header_bytes = NNA_DEFAULT_MAX_HEADER;
    o->max_json_depth = NNA_DEFAULT_JSON_DEPTH;
    o->max_walk_pages = NNA_DEFAULT_WALK_PAGES;
    o->response_budget = NNA_DEFAULT_RESP_BUDGET;
    o->low_speed_limit = NNA_DEFAULT_LOW_SPEED;
    o->low_speed_time = NNA_DEFAULT_LOW_SPEED_TIME;
}

static size_t or_default(size_t v, size_t def) { return v ? v : def; }

void nna_limits_copy(nna_client *c, const nna_client_options *o)
{
    nna_limits *l = &c->limits;
    l->max_response = or_default(o->max_response_bytes, NNA_DEFAULT_MAX_RESPONSE);
    /* A per-endpoint cap never exceeds the cap of any reply. */
    l->max_object = or_default(o->max_object_bytes, NNA_DEFAULT_MAX_OBJECT);
    if (l->max_object > l->max_response) l->max_object = l->max_response;
    l->max_page = or_default(o->max_page_bytes, NNA_DEFAULT_MAX_PAGE);
    if (l->max_page > l->max_response) l->max_page = l->max_response;
    l->max_json_depth = o->max_json_depth ? o->max_json_depth : NNA_DEFAULT_JSON_DEPTH;
    /* The strict scanner that checks every 2xx body stops at NNA_JSON_MAX_DEPTH anyway. */
    if (l->max_json_depth > NNA_JSON_MAX_DEPTH) l->max_json_depth = NNA_JSON_MAX_DEPTH;
    l->max_walk_pages = o->max_walk_pages ? o->max_walk_pages : NNA_DEFAULT_WALK_PAGES;
}

void nna_limits_transport(const nna_client_options *o, nna_transport_options *to)
{
    to->max_header_bytes = or_default(o->max_header_bytes, NNA_DEFAULT_MAX_HEADER);
    to->response_budget = or_default(o->response_budget, NNA_DEFAULT_RESP_BUDGET);
    to->max_response_bytes = or_default(o->max_response_bytes, NNA_DEFAULT_MAX_RESPONSE);
    long speed = o->low_speed_limit ? o->low_speed_limit : NNA_DEFAULT_LOW_SPEED;
    double secs = o->low_speed_time > 0 ? o->low_speed_time : NNA_DEFAULT_LOW_SPEED_TIME;
    to->low_speed_limit = speed > 0 ? speed : 0;
    to->low_speed_time = speed > 0 ? (long)(secs + 0.999) : 0; /* curl counts whole seconds */
}

size_t nna_limits_body_cap(const nna_limits *l, nna_limits_parse_fn parse)
{
    /* One task or agent object: small whatever the account holds. */
    if (parse == nna_parse_task || parse == nna_parse_agent || parse == nna_parse_message_ack)
        return l->max_object;
    if (parse == nna_parse_task_page || parse == nna_parse_agent_page) return l->max_page;
    /* Summaries, results, messages, generic requests: user data of any size. */
    return l->max_response;
}
