/* netaddr.c: IP ranges and X-Forwarded-For (see netaddr.h). */
#include "gateway/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/rc.h"

int gw_net_parse_ip(const char *text, size_t len, uint8_t out[16])
{
    char buf[GW_NET_IP_LEN];
    if (len == 0 || len >= sizeof buf)
        return RC_EINVAL;
    memcpy(buf, text, len);
    buf[len] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : RC_EINVAL;
}

static int is_v4(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, 12) == 0;
}

static int parse_range(const char *s, size_t len, gw_net_range *r)
{
    const char *slash = memchr(s, '/', len);
    size_t al = slash ? (size_t)(slash - s) : len;
    if (gw_net_parse_ip(s, al, r->addr) != 0)
        return RC_EINVAL;
    unsigned max = is_v4(r->addr) ? 32 : 128;
    unsigned bits = max;
    if (slash) {
        const char *p = slash + 1, *end = s + len;
        if (p == end || end - p > 3)
            return RC_EINVAL;
        bits = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return RC_EINVAL;
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > max)
            return RC_EINVAL;
    }
    r->bits = bits + (128 - max);
    return 0;
}

int gw_net_list_parse(const char *spec, gw_net_list *list, char *errstr, size_t errlen)
{
    list->n = 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (l && (*s == ' ' || *s == '\t'))
            s++, l--;
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        if (l) {
            if (list->n == GW_NET_MAX_RANGES) {
                snprintf(errstr, errlen, "more than %d addresses or ranges", GW_NET_MAX_RANGES);
                return RC_EINVAL;
            }
            if (parse_range(s, l, &list->r[list->n]) != 0) {
                snprintf(errstr, errlen, "\"%.*s\" is not an IP address or CIDR range",
                         (int)(l > 60 ? 60 : l), s);
                return RC_EINVAL;
            }
            list->n++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static int in_range(const gw_net_range *r, const uint8_t ip[16])
{
    unsigned full = r->bits / 8, rest = r->bits % 8;
    if (memcmp(r->addr, ip, full) != 0)
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (r->addr[full] & mask) == (ip[full] & mask);
}

int gw_net_list_has(const gw_net_list *list, const uint8_t ip[16])
{
    for (size_t i = 0; i < list->n; i++)
        if (in_range(&list->r[i], ip))
            return 1;
    return 0;
}

void gw_net_host_of(const char *remote, char out[GW_NET_IP_LEN])
{
    const char *s = remote;
    size_t l = strlen(remote);
    if (*s == '[') {
        const char *close = strchr(s, ']');
        s++;
        l = close ? (size_t)(close - s) : l - 1;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon && strchr(s, ':') == colon) /* one colon: IPv4 with a port */
            l = (size_t)(colon - s);
    }
    if (l >= GW_NET_IP_LEN)
        l = GW_NET_IP_LEN - 1;
    memcpy(out, s, l);
    out[l] = '\0';
}

/* Walks the X-Forwarded-For entries from the right; see gw_net_client_ip. 1 when out was
 * set from an entry. */
static int from_forwarded(const http_request *req, const gw_net_list *trusted,
                          char out[GW_NET_IP_LEN])
{
    const char *leftmost = NULL;
    size_t leftmost_len = 0;
    for (size_t h = req->num_headers; h-- > 0;) {
        const http_header *hd = &req->headers[h];
        if (hd->name_len != 15 || strncasecmp(hd->name, "x-forwarded-for", 15))
            continue;
        size_t end = hd->value_len;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && hd->value[start - 1] != ',')
                start--;
            const char *e = hd->value + start;
            size_t l = end - start;
            while (l && (*e == ' ' || *e == '\t'))
                e++, l--;
            while (l && (e[l - 1] == ' ' || e[l - 1] == '\t'))
                l--;
            end = start ? start - 1 : 0;
            if (!l)
                continue;
            uint8_t ip[16];
            if (gw_net_parse_ip(e, l, ip) != 0)
                return 0;
            leftmost = e, leftmost_len = l;
            if (!gw_net_list_has(trusted, ip)) {
                memcpy(out, e, l);
                out[l] = '\0';
                return 1;
            }
        }
    }
    if (!leftmost)
        return 0;
    memcpy(out, leftmost, leftmost_len);
    out[leftmost_len] = '\0';
    return 1;
}

/* Rewrites an address in its canonical text (one client, one key): IPv4 for mapped ones. */
static void canonical(char out[GW_NET_IP_LEN])
{
    uint8_t ip[16];
    if (gw_net_parse_ip(out, strlen(out), ip) != 0)
        return;
    if (is_v4(ip))
        inet_ntop(AF_INET, ip + 12, out, GW_NET_IP_LEN);
    else
        inet_ntop(AF_INET6, ip, out, GW_NET_IP_LEN);
}

void gw_net_client_ip(const http_request *req, const char *peer, const gw_net_list *trusted,
                      char out[GW_NET_IP_LEN])
{
    uint8_t ip[16];
    snprintf(out, GW_NET_IP_LEN, "%s", peer);
    if (trusted && trusted->n && gw_net_parse_ip(peer, strlen(peer), ip) == 0 &&
        gw_net_list_has(trusted, ip) && !from_forwarded(req, trusted, out))
        snprintf(out, GW_NET_IP_LEN, "%s", peer);
    canonical(out);
}
