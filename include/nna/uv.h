/* libnna — libuv binding (library libnna-uv, pkg-config nna-uv; never links libev).
 *
 * nna_client_new_uv() puts a client on a libuv loop. The loop is borrowed: the library never
 * runs, stops or closes it. It adds one uv_poll_t per socket, one uv_timer_t, one uv_idle_t
 * (for "on the next iteration") and one uv_async_t that holds the only loop reference, and
 * only while an operation is pending or a callback is due: idle keep-alive connections do
 * not keep uv_run() from returning.
 *
 * With loop == NULL the client creates a private loop that nna_future_wait() runs and
 * nna_client_free() closes and frees (for simple, blocking programs).
 *
 * Shutdown: nna_client_shutdown() settles every operation, closes every handle and calls its
 * callback from the loop once the last close callback has run (the client's memory is freed
 * only then); after it uv_run() returns on its own if the host has nothing else on the loop.
 * Before uv_loop_close() on a borrowed loop, shut every client on it down and let uv_run()
 * return.
 *
 * Threading: one client per loop thread. The client, its futures and every function of
 * libnna belong to the thread that runs the loop; nothing is safe to call from another
 * thread (to hand work over from another thread, use your own uv_async_t and call libnna from
 * its callback).
 */
#ifndef NNA_UV_H
#define NNA_UV_H

#include "nna/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* uv_loop_t is `struct uv_loop_s`: declaring the struct keeps this header free of <uv.h>
 * (which needs POSIX feature macros under -std=c99); pass your uv_loop_t * as usual. */
struct uv_loop_s;

nna_status nna_client_new_uv(struct uv_loop_s *loop, const nna_client_options *o,
                             nna_client **out);

#ifdef __cplusplus
}
#endif
#endif /* NNA_UV_H */
