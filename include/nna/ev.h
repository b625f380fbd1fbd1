/* libnna — libev binding.
 *
 * nna_client_new_ev() puts a client on a libev loop. The loop is borrowed: the library never
 * runs or destroys it; it adds io watchers and one timer, and they do not keep ev_run()
 * alive while no operation is pending. With loop == NULL the client creates a private loop
 * that nna_future_wait() runs and nna_client_free() destroys.
 * Threading: one client per loop thread. The client, its futures and every libnna function
 * belong to the thread that runs the loop; nothing is safe to call from another thread (to
 * hand work over, use an ev_async watcher and call libnna from its callback). Before
 * ev_loop_destroy() on a borrowed loop, shut every client on it down and run the loop until
 * their shutdown callbacks have fired.
 */
#ifndef NNA_EV_H
#define NNA_EV_H

#include "nna/client.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;

nna_status nna_client_new_ev(struct ev_loop *loop, const nna_client_options *o,
                             nna_client **out);

#ifdef __cplusplus
}
#endif
#endif /* NNA_EV_H */
