/* The status table's three views: text, name, retryability. */
#include "nna/status.h"

const char *nna_strerror(nna_status status)
{
    switch (status) {
#define NNA_TEXT_(name, value, retryable, text) case name: return text;
        NNA_STATUS_TABLE(NNA_TEXT_)
#undef NNA_TEXT_
    }
    return "unknown status";
}

const char *nna_status_name(nna_status status)
{
    switch (status) {
#define NNA_NAME_(name, value, retryable, text) case name: return #name;
        NNA_STATUS_TABLE(NNA_NAME_)
#undef NNA_NAME_
    }
    return "NNA_UNKNOWN";
}

int nna_status_retryable(nna_status status)
{
    switch (status) {
#define NNA_RETRY_(name, value, retryable, text) case name: return retryable;
        NNA_STATUS_TABLE(NNA_RETRY_)
#undef NNA_RETRY_
    }
    return 0;
}

nna_status nna_status_from_http(long code)
{
    if (code >= 200 && code < 300) return NNA_OK;
    switch (code) {
    case 400: return NNA_EBAD_REQUEST;
    case 401: return NNA_EUNAUTHORIZED;
    case 403: return NNA_EFORBIDDEN;
    case 404: return NNA_ENOT_FOUND;
    case 409: return NNA_ECONFLICT;
    case 429: return NNA_ERATE_LIMITED;
    default: break;
    }
    if (code >= 300 && code < 400) return NNA_EREDIRECT;
    if (code >= 400 && code < 500) return NNA_EHTTP_4XX;
    return NNA_ESERVER;
}
