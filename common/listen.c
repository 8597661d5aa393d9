/* listen.c: listening TCP sockets (see listen.h). */
#include "common/listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int rc_listen_tcp(const rc_addr *addr, const char *setting, int backlog, int *port,
                  char *errstr, size_t errlen)
{
    char where[300], service[16];
    struct addrinfo hints = {0}, *res = NULL;
    int fd = -1, err = 0, one = 1, zero = 0;

    rc_addr_format(addr, where, sizeof where);
    snprintf(service, sizeof service, "%d", addr->port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(addr->host[0] ? addr->host : NULL, service, &hints, &res);
    if (gai != 0) {
        snprintf(errstr, errlen, "%s %s: %s", setting, where, gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(errstr, errlen, "%s %s: %s", setting, where, strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sslen);
    *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                     : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}
