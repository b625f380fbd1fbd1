/* URL pieces. Pure; any thread. Internal. */
#ifndef NNA_URL_H
#define NNA_URL_H
#include <stddef.h>
/* Percent-encodes everything but RFC 3986 unreserved characters. malloc'd; NULL on ENOMEM. */
char *nna_url_encode(const char *s);
/* Builds "k1=v1&k2=v2" from a NULL-terminated list of key, value pairs, encoding both;
 * pairs whose value is NULL are left out. malloc'd ("" when empty); NULL on ENOMEM. */
char *nna_query_build(const char *const *kv);
/* 1 when `base` can be an API base URL: http:// or https://, a host, no user:password@
 * (it would be printed in traces and errors), no query or fragment (the API paths would be
 * appended after them), no whitespace or control characters. */
int nna_base_url_valid(const char *base);
/* The API root of a base URL: trailing slashes dropped, then "/api/v1" appended unless the
 * URL already ends with it (the public docs give the base URL with it). malloc'd; NULL on
 * ENOMEM. */
char *nna_api_base(const char *base);
#endif
