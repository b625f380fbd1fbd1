/* libnna — umbrella header: everything of the public API except the loop bindings
 * (include nna/ev.h or nna/uv.h for those). */
#ifndef NNA_NNA_H
#define NNA_NNA_H
#include "nna/status.h"
#include "nna/loop.h"
#include "nna/future.h"
#include "nna/workspace.h"
#include "nna/client.h"
#include "nna/paginate.h"
#include "nna/tasks.h"
#include "nna/agents.h"
#include "nna/json.h"
#endif
