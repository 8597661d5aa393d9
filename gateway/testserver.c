/* roomcast-protocol-testserver: the gateway's protocol stack (the same engine and
 * Socket.IO layer, no Kafka) behaving as the reference servers of the official
 * Engine.IO v4 and Socket.IO v5 test suites expect, on 127.0.0.1:3000 by default:
 *   /engine.io/  echoes every message, text or binary;
 *   /socket.io/  namespace "/" emits "auth" with the handshake's auth on connect,
 *                answers "message" with "message-back" (same arguments, attachments
 *                included) and acks "message-with-ack" with the same arguments;
 *                namespace "/custom" emits "auth"; any other namespace is refused.
 * Ping 300 ms / 200 ms, connect timeout 1 s, maxPayload 1e6, as the suites hard-code. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/log.h"
#include "gateway/engine.h"
#include "gateway/sio_server.h"

static void echo_message(gw_session *s, const uint8_t *data, size_t len, int binary, void *ctx)
{
    gw_frame *f = binary ? gw_frame_new_binary(data, len)
                         : gw_frame_new('4', (const char *)data, len, 0, NULL, NULL);
    gw_session_send(s, f);
    gw_frame_unref(f);
}

static int nsp_allowed(const char *nsp, size_t len, void *ctx)
{
    return (len == 1 && nsp[0] == '/') || (len == 7 && !memcmp(nsp, "/custom", 7));
}

static int on_connect(gw_socket *s, const json_t *auth, json_t *reply, json_t **error, void *ctx)
{
    json_t *args = json_pack("[O]", auth);
    gw_socket_emit(s, "auth", args);
    json_decref(args);
    return 0;
}

static void on_event(gw_socket *s, const sio_packet *p, const gw_attachments *att, void *ctx)
{
    if (strcmp(gw_socket_nsp(s), "/") != 0)
        return;
    const char *name = json_string_value(json_array_get(p->data, 0));
    if (!name)
        return;
    int binary = att->count > 0;
    if (!strcmp(name, "message")) {
        json_t *out = json_deep_copy(p->data);
        json_array_set_new(out, 0, json_string("message-back"));
        gw_socket_send(s, binary ? SIO_BINARY_EVENT : SIO_EVENT, 0, 0, out, att);
        json_decref(out);
    } else if (!strcmp(name, "message-with-ack") && p->has_id) {
        json_t *out = json_deep_copy(p->data);
        json_array_remove(out, 0);
        gw_socket_send(s, binary ? SIO_BINARY_ACK : SIO_ACK, 1, p->id, out, att);
        json_decref(out);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    rc_log_init("protocol-testserver", RC_LOG_WARN);
    rc_addr listen;
    rc_cfg_item items[] = {
        {"ROOMCAST_LISTEN", RC_CFG_ADDR, "127.0.0.1:3000", &listen, 0, 0, NULL, "listener"},
    };
    char err[RC_ERRSTR_LEN];
    int r = rc_config_load(items, 1, argc, argv, err, sizeof err);
    if (r == RC_ENOENT) {
        rc_config_usage(argv[0], items, 1);
        return 0;
    }
    if (r != RC_OK) {
        fprintf(stderr, "roomcast-protocol-testserver: %s\n", err);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    gw_engine_config cfg = {
        .ping_interval_ms = 300,
        .ping_timeout_ms = 200,
        .upgrade_timeout_ms = 10000,
        .handshake_timeout_ms = 10000,
        .close_timeout_ms = 5000,
        .max_sessions_per_conn = 4,
        .max_sessions_per_addr = 0, /* the suites open every session from one address */
        .max_payload = 1000000,
        .max_connections = 10000,
        .out_limit = 16 << 20,
        .out_soft_limit = 16 << 20,
        .out_soft_ms = 10000,
    };
    gw_engine *engine = gw_engine_new(base, &cfg);
    gw_endpoint_handlers echo = {NULL, echo_message, NULL};
    gw_engine_add_endpoint(engine, "/engine.io/", &echo, NULL);
    gw_sio_handlers h = {nsp_allowed, on_connect, on_event, NULL};
    gw_sio *sio = gw_sio_new(engine, "/socket.io/", 1000, &h, NULL);
    if (gw_engine_listen(engine, &listen, err, sizeof err) != RC_OK) {
        fprintf(stderr, "roomcast-protocol-testserver: %s\n", err);
        gw_engine_free(engine);
        gw_sio_free(sio);
        event_base_free(base);
        return 1;
    }
    printf("listening on %s:%d\n", listen.host, gw_engine_port(engine));
    fflush(stdout);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    event_base_dispatch(base);
    event_free(sigint);
    event_free(sigterm);
    gw_engine_free(engine);
    gw_sio_free(sio);
    event_base_free(base);
    return 0;
}
