/* A forwarding HTTP server for tests that need a reply nna-emu cannot produce.
 *
 * nna-emu (libmicrohttpd, 16 KB per connection) cannot send a header line over libcurl's
 * 100 KB limit, so a small forwarding server stands in front of it: every request goes to
 * the emulator (its state is the real one: the run is created there), and the replies to
 * requests whose request line contains `match` (the first `count` of them) come back with
 * a 110 KB header line, then the connection closes.
 *
 * Runs its own threads; the test's loop and client are untouched. HTTP/1.1 with
 * Content-Length bodies only (what libnna and nna send). */
#ifndef NNA_TEST_BIGPROXY_H
#define NNA_TEST_BIGPROXY_H
#include <pthread.h>

typedef struct bigproxy {
    int         lfd;
    char        base[64];
    const char *upstream;
    const char *match;
    int         count;
    volatile int stop;
    int         active;         /* connection threads running (under mu) */
    pthread_mutex_t mu;
    pthread_t   th;
} bigproxy;

/* Listens on 127.0.0.1 (px->base is its URL) and forwards to `upstream`. */
void proxy_start(bigproxy *px, const char *upstream, const char *match, int count);
/* Stops it and waits for its threads. */
void proxy_stop(bigproxy *px);
#endif
