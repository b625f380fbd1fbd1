/* The Redis limiter backend's glue to the library's loop seam. Internal; built only with
 * HAVE_HIREDIS. */
#ifndef NNA_LIMIT_REDIS_H
#define NNA_LIMIT_REDIS_H

#include <hiredis/async.h>
#include "loop_core.h"

/* Hooks hiredis's event interface (addRead/delRead/addWrite/delWrite/cleanup) onto `loop`
 * through an nna_io_side, so the connection runs on libev and libuv alike. The watcher is
 * freed by hiredis's cleanup hook (redisAsyncFree or a lost connection). Returns 0, or -1
 * (out of memory; the caller frees ac). Timeouts are the caller's (nna_timer). */
int nna_redis_loop_attach(redisAsyncContext *ac, nna_loop *loop);
#endif
