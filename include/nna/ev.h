/* libnna — libev binding.
 *
 * nna_client_new_ev() puts a client on a libev loop. The loop is borrowed: the library never
 * runs or destroys it; it adds io watchers and one timer, and they do not keep ev_run()
 * alive while no operation is pending. With loop == NULL the client creates a private loop
 * that nna_future_wait() runs and nna_client_free() destroys.
 * Threading: the client and all its calls belong to the loop's thread.
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
