/* URL pieces. Pure; any thread. Internal. */
#ifndef NNA_URL_H
#define NNA_URL_H
#include <stddef.h>
/* Percent-encodes everything but RFC 3986 unreserved characters. malloc'd; NULL on ENOMEM. */
char *nna_url_encode(const char *s);
/* Builds "k1=v1&k2=v2" from a NULL-terminated list of key, value pairs, encoding both;
 * pairs whose value is NULL are left out. malloc'd ("" when empty); NULL on ENOMEM. */
char *nna_query_build(const char *const *kv);
#endif
