/* Helpers for the Redis tests: a real redis-server on 127.0.0.1 and a random port,
 * started and stopped by the test itself. */
#ifndef NNA_REDISTEST_H
#define NNA_REDISTEST_H
#include <sys/types.h>

typedef struct redis_proc {
    pid_t    pid;
    unsigned port;
    char     url[64];   /* redis://127.0.0.1:PORT */
} redis_proc;

/* Starts redis-server (no persistence) on a random free port (port 0: pick one; else that
 * port, for a restart); fails the test when it does not answer PING within 5 s. */
void redis_start(redis_proc *r, unsigned port);
/* SIGKILL (hard = 1: data lost, as in a crash) or SIGTERM, and reaps it. */
void redis_stop(redis_proc *r, int hard);
/* Runs one command (argv-style, NULL-terminated) and returns its integer or array length,
 * or the text of a string reply copied into buf (may be NULL). -1 on error. */
long long redis_cmd(const redis_proc *r, char *buf, size_t bufsz, const char *const *argv);
/* Whether the member list or the slots hash still names process `pid`. */
int redis_has_member(const redis_proc *r, const char *name, pid_t pid);

#endif
