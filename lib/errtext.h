/* The error text a failed operation carries. Internal. */
#ifndef NNA_ERRTEXT_H
#define NNA_ERRTEXT_H
#include <stddef.h>
#include <cjson/cJSON.h>
typedef struct nna_client nna_client;
/* The envelope's "error" string when the body is {"error": "..."}; otherwise "HTTP <code>"
 * with a short printable excerpt of the body, or the transport error. Any occurrence of the
 * client's API key is replaced by "[REDACTED]". malloc'd; NULL on ENOMEM. */
char *nna_error_text(long status, const cJSON *json, const char *body, size_t body_len,
                     const char *transport_error, const nna_client *c);
/* Returns s (malloc'd, consumed) with every occurrence of key replaced by "[REDACTED]";
 * NULL on ENOMEM. */
char *nna_redact(char *s, const char *key);
#endif
