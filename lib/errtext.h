/* The error text a failed operation carries. Internal; pure (no client, no I/O), so the
 * fuzz target and the unit tests call it directly.
 *
 * Whatever the server sent, the text is bounded, printable and never holds the API key:
 * the key is redacted in the server's bytes before anything is cut (so no cut can leave
 * the start of a key behind), and only the first bytes of a long message are read. */
#ifndef NNA_ERRTEXT_H
#define NNA_ERRTEXT_H
#include <stddef.h>
#include <cjson/cJSON.h>

#define NNA_ERRTEXT_MAX     512  /* bytes of a server message kept (then "...") */
#define NNA_ERRTEXT_EXCERPT 200  /* bytes of a body that is not an error envelope */

/* The message of an error envelope, borrowed from json, or NULL when there is none.
 * Understands {"error": "..."} (the API's own), {"error": {"message": ...}},
 * {"detail": "..."} and FastAPI's {"detail": [{"msg": ...}]}, {"message": ...},
 * {"errors": [...]}, {"error_description": ...}, {"title": ...} and nestings of these. */
const char *nna_error_message(const cJSON *json);

/* The text for a failed attempt: the envelope's message when there is one; otherwise
 * "HTTP <code>: " and an excerpt of the body, or the transport's error (status 0).
 * Redacted (see nna_redact), control characters and broken UTF-8 replaced by spaces, cut
 * at a character boundary. malloc'd; NULL on ENOMEM. key may be NULL. */
char *nna_error_text(long status, const cJSON *json, const char *body, size_t body_len,
                     const char *transport_error, const char *key);

/* "unexpected redirect to <location>" (or "... (HTTP 3xx) without a Location header"),
 * cleaned like nna_error_text. malloc'd; NULL on ENOMEM. */
char *nna_redirect_text(long status, const char *location, const char *key);

/* Returns s (malloc'd, consumed) with the key replaced by "[REDACTED]" (and cleaned like
 * nna_error_text, without a cap); NULL on ENOMEM.
 * A key of NNA_REDACT_ANYWHERE bytes or more is replaced wherever it occurs (such a string
 * inside a longer word is still the key); a shorter one only where it stands as a whole
 * token (not next to a letter, digit, '-' or '_' on a side where the key itself has one),
 * so that a one-letter key does not turn "bad" into "b[REDACTED]d". */
#define NNA_REDACT_ANYWHERE 16
char *nna_redact(char *s, const char *key);
#endif
