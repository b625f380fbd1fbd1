/* nna-emu: process limits. The server raises its file-descriptor limit and sizes its
 * connection limit to it, so idle sockets alone cannot make accept() fail for every
 * client; and it tells whether a listen address is reachable from other hosts. */
#include "emu_internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

unsigned long emu_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = want;
    }
    return (unsigned long)rl.rlim_cur;
}

unsigned emu_conn_limit(void)
{
    struct rlimit rl;
    unsigned limit = 10000;
    /* Keep descriptors for the listener, epoll, log file and the process's own. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)limit + 64)
        limit = rl.rlim_cur > 128 ? (unsigned)rl.rlim_cur - 64 : 64;
    return limit;
}

static int addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

int emu_host_is_loopback(const char *host)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, "0", &hints, &res) != 0 || !res)
        return 0;
    int all = 1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (!addr_is_loopback(ai->ai_addr))
            all = 0;
    freeaddrinfo(res);
    return all;
}
