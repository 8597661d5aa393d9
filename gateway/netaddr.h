/* netaddr.h: client addresses, pure (no I/O, no allocation, no globals): lists of IP
 * addresses and CIDR ranges (ROOMCAST_TRUSTED_PROXIES), and the client's address of a
 * request that came through trusted proxies (X-Forwarded-For, read from the right as
 * nginx's real_ip_recursive and Express's "trust proxy" do: the rightmost entry that is
 * not itself a trusted proxy is the client, since only what trusted proxies appended can
 * be believed). Addresses are compared as binary IPv4 / IPv6; an IPv4-mapped IPv6
 * address is its IPv4 address. */
#ifndef GW_NETADDR_H
#define GW_NETADDR_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/http.h"

#define GW_NET_MAX_RANGES 32
#define GW_NET_IP_LEN 46 /* INET6_ADDRSTRLEN */

typedef struct {
    uint8_t addr[16]; /* IPv4 as ::ffff:a.b.c.d */
    unsigned bits;    /* prefix length over the 128 bits */
} gw_net_range;

typedef struct gw_net_list {
    gw_net_range r[GW_NET_MAX_RANGES];
    size_t n;
} gw_net_list;

/* Parses an IPv4 or IPv6 address (text, len bytes, no port) into 16 bytes. 0 or RC_EINVAL. */
int gw_net_parse_ip(const char *text, size_t len, uint8_t out[16]);
/* Parses "10.0.0.0/8, 127.0.0.1, ::1" into list. 0, or RC_EINVAL with errstr naming the
 * bad element (at most GW_NET_MAX_RANGES elements). An empty string is the empty list. */
int gw_net_list_parse(const char *spec, gw_net_list *list, char *errstr, size_t errlen);
/* 1 when ip (16 bytes) lies in one of list's ranges. */
int gw_net_list_has(const gw_net_list *list, const uint8_t ip[16]);
/* The host part of "a.b.c.d:port", "[v6]:port" or a bare address, copied NUL-terminated
 * into out (GW_NET_IP_LEN bytes). */
void gw_net_host_of(const char *remote, char out[GW_NET_IP_LEN]);
/* The client address of req, received from peer (a bare address): peer itself unless it
 * is in trusted, else the rightmost X-Forwarded-For entry (over all such headers, in
 * order) that is not in trusted; the leftmost entry when all are; peer when the header is
 * absent or an entry is not an address. Written NUL-terminated into out. */
void gw_net_client_ip(const http_request *req, const char *peer, const gw_net_list *trusted,
                      char out[GW_NET_IP_LEN]);

#endif
