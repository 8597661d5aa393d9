/* Admin server: the real evhttp server on 127.0.0.1 with an ephemeral port, its loop on
 * a thread of its own, asked by a plain blocking socket client as a scraper would. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "common/admin.h"
#include "common/alloc.h"

typedef struct {
    int status;
    char headers[4096];
    char body[8192];
} response;

/* One request over a fresh connection; the server closes it after the response. */
static int http(int port, const char *method, const char *path, response *r)
{
    char req[512], raw[16384];
    size_t got = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 10};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(r, 0, sizeof *r);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", method,
                     path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    for (ssize_t k; got < sizeof raw - 1 && (k = read(fd, raw + got, sizeof raw - 1 - got)) > 0;)
        got += (size_t)k;
    close(fd);
    raw[got] = '\0';

    char *end = strstr(raw, "\r\n\r\n");
    if (!end || sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    snprintf(r->headers, sizeof r->headers, "%.*s", (int)(end - raw), raw);
    snprintf(r->body, sizeof r->body, "%s", end + 4);
    return 0;
}

/* The value of header name (case-insensitive), or "" when absent. */
static const char *header(const response *r, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    buf[0] = '\0';
    for (const char *p = strstr(r->headers, "\r\n"); p; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 2 + n + 1;
            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)strcspn(v, "\r"), v);
            break;
        }
    return buf;
}

typedef struct {
    _Atomic int ready;
    _Atomic int kafka_up;
} service;

static int ready_fn(void *ctx, char *reason, size_t len)
{
    service *s = ctx;
    if (atomic_load(&s->ready))
        return 0;
    snprintf(reason, len, "kafka \"broker\" unreachable");
    return RC_EIO;
}

static void demo_page(struct evhttp_request *req, void *ctx)
{
    char body[256];
    int n = snprintf(body, sizeof body, "demo %s", evhttp_request_get_uri(req));
    rc_admin_reply(req, 200, "OK", "text/html", body, (size_t)n);
}

static void *loop(void *base)
{
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void test_bind_failure(struct event_base *base, rc_metrics *reg, int port)
{
    rc_addr addr = {"127.0.0.1", port};
    rc_admin *other = NULL;
    char err[RC_ERRSTR_LEN], want[RC_ERRSTR_LEN];
    CHECK_EQ(rc_admin_start(base, &addr, reg, NULL, NULL, &other, err, sizeof err), RC_EIO);
    CHECK(other == NULL);
    snprintf(want, sizeof want, "ROOMCAST_ADMIN_LISTEN 127.0.0.1:%d: Address already in use",
             port);
    CHECK_STR(err, want);
}

static void test_endpoints(int port, service *svc)
{
    response r;
    char v[256];

    CHECK_EQ(http(port, "GET", "/metrics", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(header(&r, "Content-Type", v, sizeof v), "text/plain; version=0.0.4; charset=utf-8");
    CHECK_STR(r.body, "# HELP rc_test_scrapes_total Scrapes.\n"
                      "# TYPE rc_test_scrapes_total counter\n"
                      "rc_test_scrapes_total 3\n"
                      "# HELP roomcast_ready 1 when /readyz answers ready (as of the last probe "
                      "or scrape)\n"
                      "# TYPE roomcast_ready gauge\n"
                      "roomcast_ready 0\n"
                      "# HELP roomcast_readiness_changes_total Times /readyz's answer changed "
                      "between two probes or scrapes (flapping readiness)\n"
                      "# TYPE roomcast_readiness_changes_total counter\n"
                      "roomcast_readiness_changes_total 0\n");

    CHECK_EQ(http(port, "GET", "/metrics?name[]=x", &r), 0); /* queries are ignored */
    CHECK_EQ(r.status, 200);

    size_t get_len = strlen(r.body);
    CHECK_EQ(http(port, "HEAD", "/metrics", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "");
    CHECK_EQ(atoi(header(&r, "Content-Length", v, sizeof v)), get_len);
    CHECK_STR(header(&r, "Content-Type", v, sizeof v), "text/plain; version=0.0.4; charset=utf-8");

    CHECK_EQ(http(port, "GET", "/healthz", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(header(&r, "Content-Type", v, sizeof v), "application/json");
    CHECK_STR(r.body, "{\"status\":\"ok\"}");

    CHECK_EQ(http(port, "GET", "/readyz", &r), 0);
    CHECK_EQ(r.status, 503);
    CHECK_STR(header(&r, "Content-Type", v, sizeof v), "application/json");
    CHECK_STR(r.body, "{\"status\":\"not ready\",\"reason\":\"kafka \\\"broker\\\" unreachable\"}");

    atomic_store(&svc->ready, 1);
    CHECK_EQ(http(port, "GET", "/readyz", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"ready\"}");

    /* readiness as metrics: the answer now, and every change between two probes counted */
    atomic_store(&svc->ready, 0);
    CHECK_EQ(http(port, "GET", "/readyz", &r), 0);
    CHECK_EQ(r.status, 503);
    atomic_store(&svc->ready, 1);
    CHECK_EQ(http(port, "GET", "/metrics", &r), 0);
    CHECK(strstr(r.body, "\nroomcast_ready 1\n") != NULL);
    /* not ready (first scrape) -> ready -> not ready -> ready (this scrape): 3 changes */
    CHECK(strstr(r.body, "\nroomcast_readiness_changes_total 3\n") != NULL);

    CHECK_EQ(http(port, "GET", "/nope", &r), 0);
    CHECK_EQ(r.status, 404);
    CHECK_EQ(http(port, "GET", "/metrics/extra", &r), 0);
    CHECK_EQ(r.status, 404);

    CHECK_EQ(http(port, "POST", "/metrics", &r), 0);
    CHECK_EQ(r.status, 405);
    CHECK_STR(header(&r, "Allow", v, sizeof v), "GET, HEAD");
    CHECK_EQ(http(port, "DELETE", "/healthz", &r), 0);
    CHECK_EQ(r.status, 405);

    CHECK_EQ(http(port, "GET", "/demo/index.html", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "demo /demo/index.html");
    CHECK_EQ(http(port, "GET", "/demo", &r), 0);
    CHECK_EQ(r.status, 404);
}

/* The service's detail in /healthz and /readyz: what is degraded without being unready. */
static void detail_fn(void *ctx, void *body)
{
    service *s = ctx;
    json_object_set_new(body, "kafka", json_pack("{s:b}", "up", atomic_load(&s->kafka_up)));
}

static void test_detail(rc_admin *admin, int port, service *svc)
{
    response r;
    rc_admin_set_detail(admin, detail_fn, svc); /* no request is in flight meanwhile */
    CHECK_EQ(http(port, "GET", "/healthz", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"ok\",\"kafka\":{\"up\":false}}");
    atomic_store(&svc->ready, 1);
    CHECK_EQ(http(port, "GET", "/readyz", &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"ready\",\"kafka\":{\"up\":false}}");
    atomic_store(&svc->ready, 0);
    atomic_store(&svc->kafka_up, 1);
    CHECK_EQ(http(port, "GET", "/readyz", &r), 0);
    CHECK_EQ(r.status, 503);
    CHECK_STR(r.body, "{\"status\":\"not ready\",\"reason\":\"kafka \\\"broker\\\" unreachable\","
                      "\"kafka\":{\"up\":true}}");
    CHECK_EQ(http(port, "HEAD", "/healthz", &r), 0);
    CHECK_STR(r.body, "");
}

int main(void)
{
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    rc_metrics *reg = rc_metrics_new();
    rc_counter_add(rc_counter_new(reg, "rc_test_scrapes_total", "Scrapes."), 3);
    service svc = {0};
    rc_admin *admin = NULL;
    char err[RC_ERRSTR_LEN] = "";
    rc_addr addr = {"127.0.0.1", 0};

    CHECK_EQ(rc_admin_start(base, &addr, reg, ready_fn, &svc, &admin, err, sizeof err), RC_OK);
    CHECK_STR(err, "");
    if (!admin)
        CHECK_DONE();
    int port = rc_admin_port(admin);
    CHECK(port > 0 && port < 65536);
    CHECK_EQ(rc_admin_handle(admin, "/demo/", demo_page, NULL), RC_OK);
    CHECK_EQ(rc_admin_handle(admin, "/metrics", demo_page, NULL), RC_EINVAL);
    CHECK_EQ(rc_admin_handle(admin, "demo", demo_page, NULL), RC_EINVAL);
    test_bind_failure(base, reg, port);

    pthread_t t;
    pthread_create(&t, NULL, loop, base);
    test_endpoints(port, &svc);
    test_detail(admin, port, &svc);
    event_base_loopbreak(base);
    pthread_join(t, NULL);

    rc_admin_free(admin);
    event_base_free(base);
    rc_metrics_free(reg);
    libevent_global_shutdown();
    CHECK_DONE();
}
