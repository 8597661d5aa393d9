/* Client addresses: IP and CIDR lists as ROOMCAST_TRUSTED_PROXIES spells them, and the
 * client of a request behind trusted proxies, read from X-Forwarded-For's right end. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/rc.h"
#include "gateway/netaddr.h"

static int has(const gw_net_list *l, const char *ip)
{
    uint8_t a[16];
    if (gw_net_parse_ip(ip, strlen(ip), a) != 0)
        return -1;
    return gw_net_list_has(l, a);
}

static void test_lists(void)
{
    gw_net_list l;
    char err[200];
    CHECK_EQ(gw_net_list_parse(" 127.0.0.1, 10.0.0.0/8,fd00::/8 , 192.168.1.128/25", &l, err,
                               sizeof err),
             0);
    CHECK_EQ(l.n, 4);
    CHECK_EQ(has(&l, "127.0.0.1"), 1);
    CHECK_EQ(has(&l, "127.0.0.2"), 0);
    CHECK_EQ(has(&l, "10.255.1.2"), 1);
    CHECK_EQ(has(&l, "11.0.0.1"), 0);
    CHECK_EQ(has(&l, "::ffff:10.1.2.3"), 1); /* an IPv4-mapped address is its IPv4 address */
    CHECK_EQ(has(&l, "fd12::1"), 1);
    CHECK_EQ(has(&l, "fe80::1"), 0);
    CHECK_EQ(has(&l, "192.168.1.200"), 1);
    CHECK_EQ(has(&l, "192.168.1.100"), 0);
    CHECK_EQ(gw_net_list_parse("", &l, err, sizeof err), 0);
    CHECK_EQ(l.n, 0);
    CHECK_EQ(has(&l, "127.0.0.1"), 0);
    CHECK_EQ(gw_net_list_parse("0.0.0.0/0", &l, err, sizeof err), 0);
    CHECK_EQ(has(&l, "8.8.8.8"), 1);
    CHECK_EQ(has(&l, "2001:db8::1"), 0); /* an IPv4 range holds no IPv6 address */

    const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "localhost",
                         "10.0.0.0/8x", "1.2.3.4/-1", "1.2.3.4:80"};
    for (size_t i = 0; i < RC_ARRAY_LEN(bad); i++) {
        int rc = gw_net_list_parse(bad[i], &l, err, sizeof err);
        if (rc != RC_EINVAL || !strstr(err, "is not an IP address"))
            CHECK__FAIL("\"%s\": %d (%s)", bad[i], rc, err);
        else
            check__passed++;
    }
    char many[1024] = "";
    for (int i = 0; i < GW_NET_MAX_RANGES + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d,", i);
    CHECK_EQ(gw_net_list_parse(many, &l, err, sizeof err), RC_EINVAL);
}

static void test_host_of(void)
{
    char out[GW_NET_IP_LEN];
    gw_net_host_of("127.0.0.1:4242", out);
    CHECK_STR(out, "127.0.0.1");
    gw_net_host_of("[::1]:4242", out);
    CHECK_STR(out, "::1");
    gw_net_host_of("::1", out);
    CHECK_STR(out, "::1");
    gw_net_host_of("10.1.2.3", out);
    CHECK_STR(out, "10.1.2.3");
}

/* The client of a request with these headers from peer, trusting "trusted". */
static void client(const char *headers, const char *peer, const char *trusted, const char *want)
{
    char buf[1024], err[200], out[GW_NET_IP_LEN];
    snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\n%s\r\n", headers);
    http_request req;
    if (http_parse_request(buf, strlen(buf), sizeof buf, &req) <= 0) {
        CHECK__FAIL("unparsable: %s", headers);
        return;
    }
    gw_net_list l;
    gw_net_list_parse(trusted, &l, err, sizeof err);
    gw_net_client_ip(&req, peer, &l, out);
    if (strcmp(out, want))
        CHECK__FAIL("%s from %s trusting %s: %s, want %s", headers, peer, trusted, out, want);
    else
        check__passed++;
}

static void test_client(void)
{
    /* no trusted proxy: the peer, whatever the header says */
    client("X-Forwarded-For: 1.2.3.4\r\n", "127.0.0.1", "", "127.0.0.1");
    /* from an untrusted peer: the peer */
    client("X-Forwarded-For: 1.2.3.4\r\n", "9.9.9.9", "127.0.0.1", "9.9.9.9");
    /* a trusted proxy: the rightmost entry it (and proxies it trusts) did not add */
    client("X-Forwarded-For: 1.2.3.4\r\n", "127.0.0.1", "127.0.0.1", "1.2.3.4");
    client("X-Forwarded-For: 6.6.6.6, 1.2.3.4\r\n", "127.0.0.1", "127.0.0.1", "1.2.3.4");
    client("X-Forwarded-For: 6.6.6.6, 1.2.3.4, 10.0.0.7\r\n", "127.0.0.1", "127.0.0.1,10.0.0.0/8",
           "1.2.3.4");
    /* several headers are one list, in order */
    client("X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 1.2.3.4\r\n", "127.0.0.1", "127.0.0.1",
           "1.2.3.4");
    /* every entry trusted: the leftmost */
    client("X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n", "127.0.0.1", "127.0.0.1,10.0.0.0/8",
           "10.0.0.1");
    /* no header, an empty one, or garbage from the right end: the peer */
    client("Host: x\r\n", "127.0.0.1", "127.0.0.1", "127.0.0.1");
    client("X-Forwarded-For: \r\n", "127.0.0.1", "127.0.0.1", "127.0.0.1");
    client("X-Forwarded-For: 1.2.3.4, unknown\r\n", "127.0.0.1", "127.0.0.1", "127.0.0.1");
    /* canonical text: one client, one key */
    client("X-Forwarded-For: ::ffff:1.2.3.4\r\n", "127.0.0.1", "127.0.0.1", "1.2.3.4");
    client("X-Forwarded-For: 2001:DB8:0:0::1\r\n", "127.0.0.1", "127.0.0.1", "2001:db8::1");
    client("Host: x\r\n", "::ffff:127.0.0.1", "", "127.0.0.1");
}

int main(void)
{
    test_lists();
    test_host_of();
    test_client();
    CHECK_DONE();
}
