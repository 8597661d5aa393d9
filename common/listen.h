/* listen.h: one listening TCP socket for every server of roomcast (the gateway's client
 * listener, the admin endpoints), so that they all bind alike.
 *
 * HOST is a name, an IPv4 or an IPv6 address ("[::]:3000" in settings). A socket bound to
 * the IPv6 wildcard "::" is dual-stack: IPV6_V6ONLY is turned off explicitly rather than
 * left to the net.ipv6.bindv6only sysctl, so "[::]:3000" takes IPv4 clients too (as
 * ::ffff:a.b.c.d) on any host — what a Kubernetes pod on an IPv4, IPv6 or dual-stack
 * cluster needs. A failed bind names the setting and the real errno, e.g.
 *   ROOMCAST_LISTEN [::]:3000: Address already in use */
#ifndef RC_LISTEN_H
#define RC_LISTEN_H

#include <stddef.h>

#include "common/config.h"

/* A non-blocking, close-on-exec listening socket on addr (port 0 picks a free one,
 * written to *port). Returns the descriptor, which the caller owns, or -1 with errstr
 * set; setting is the variable named in errstr. */
int rc_listen_tcp(const rc_addr *addr, const char *setting, int backlog, int *port,
                  char *errstr, size_t errlen);

#endif
