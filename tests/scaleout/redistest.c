/* Helpers for the scale-out tests (see redistest.h). */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <sys/wait.h>
#include <hiredis/hiredis.h>
#include "redistest.h"

static void nap(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0) {}
}

static redisContext *conn(const redis_proc *r)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", (int)r->port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    if (c) redisSetTimeout(c, tv);
    return c;
}

void redis_start(redis_proc *r, unsigned port)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        unsigned p = port ? port : 20000u + (unsigned)((getpid() * 7919u + (unsigned)time(NULL) * 31u + (unsigned)attempt * 4099u) % 30000u);
        char ps[16];
        snprintf(ps, sizeof ps, "%u", p);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int fd = open("/dev/null", O_RDWR);
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            execlp("redis-server", "redis-server", "--port", ps, "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--daemonize", "no", (char *)NULL);
            _exit(127);
        }
        r->pid = pid;
        r->port = p;
        snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%u", p);
        for (int i = 0; i < 100; i++) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) break; /* exited: port taken? */
            redisContext *c = conn(r);
            if (c) {
                redisReply *rep = redisCommand(c, "PING");
                int ok = rep && rep->type == REDIS_REPLY_STATUS;
                if (rep) freeReplyObject(rep);
                redisFree(c);
                if (ok) return;
            }
            nap(0.05);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (port) break;
    }
    ck_abort_msg("redis-server did not start (scripts/install-deps.sh installs it)");
}

void redis_stop(redis_proc *r, int hard)
{
    if (r->pid <= 0) return;
    kill(r->pid, hard ? SIGKILL : SIGTERM);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {}
    r->pid = 0;
}

long long redis_cmd(const redis_proc *r, char *buf, size_t bufsz, const char *const *argv)
{
    redisContext *c = conn(r);
    if (!c) return -1;
    int n = 0;
    while (argv[n]) n++;
    redisReply *rep = redisCommandArgv(c, n, (const char **)argv, NULL);
    long long v = -1;
    if (rep && rep->type == REDIS_REPLY_INTEGER) v = rep->integer;
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        v = (long long)rep->elements;
        if (buf && bufsz) {
            buf[0] = '\0';
            for (size_t i = 0; i < rep->elements; i++)
                if (rep->element[i]->type == REDIS_REPLY_STRING) {
                    strncat(buf, rep->element[i]->str, bufsz - strlen(buf) - 2);
                    strcat(buf, " ");
                }
        }
    }
    if (rep && rep->type == REDIS_REPLY_STRING) {
        v = (long long)rep->len;
        if (buf && bufsz) snprintf(buf, bufsz, "%s", rep->str);
    }
    if (rep) freeReplyObject(rep);
    redisFree(c);
    return v;
}

int redis_has_member(const redis_proc *r, const char *name, pid_t pid)
{
    char key[128], buf[4096], needle[32];
    snprintf(needle, sizeof needle, ":%ld:", (long)pid);
    snprintf(key, sizeof key, "nna:{%s}:members", name);
    const char *zr[] = { "ZRANGE", key, "0", "-1", NULL };
    if (redis_cmd(r, buf, sizeof buf, zr) > 0 && strstr(buf, needle)) return 1;
    snprintf(key, sizeof key, "nna:{%s}:slots", name);
    const char *hk[] = { "HKEYS", key, NULL };
    if (redis_cmd(r, buf, sizeof buf, hk) > 0 && strstr(buf, needle)) return 1;
    return 0;
}

