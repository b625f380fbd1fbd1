/* Where the API key may travel in clear text: only to this machine. A plain http:// base
 * URL naming any other host would put the key on a network unencrypted, so the client
 * refuses it unless the caller says otherwise (allow_insecure_http). Pure; any thread. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include "nna/client.h"

/* host[0..len) is localhost, an IPv4 address in 127.0.0.0/8 or the IPv6 loopback. Only
 * the canonical spellings count: anything else is treated as remote (the safe side). */
static int is_loopback(const char *host, size_t len)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (strcasecmp(buf, "localhost") == 0 || strcasecmp(buf, "localhost.") == 0) return 1;
    if (buf[0] == '[') {
        if (buf[len - 1] != ']') return 0;
        buf[len - 1] = '\0';
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    struct in_addr a4;
    return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int nna_base_url_cleartext_remote(const char *url)
{
    if (!url || strncasecmp(url, "http://", 7) != 0) return 0;
    const char *auth = url + 7;
    size_t alen = strcspn(auth, "/?#");
    /* The host follows the last '@' of the authority: "http://127.0.0.1@evil.example/"
     * goes to evil.example. */
    const char *host = auth;
    for (const char *p = auth; p < auth + alen; p++)
        if (*p == '@') host = p + 1;
    size_t hlen = (size_t)(auth + alen - host);
    if (hlen && host[0] == '[') {
        const char *close = memchr(host, ']', hlen);
        if (!close) return 1;
        hlen = (size_t)(close - host) + 1;
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon) hlen = (size_t)(colon - host);
    }
    return !is_loopback(host, hlen);
}
