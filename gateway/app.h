/* app.h: what makes the gateway roomcast: on top of the Socket.IO layer it authenticates
 * each socket's token (CONTRACT §3), puts it into its rooms and serves the room emitters
 * with their rules (§4), relays chat typing between gateways and forwards every other
 * client event upstream (§6), delivers room events from Kafka once per socket, and
 * disconnects a socket when its token expires.
 *
 * Every refusal is answered ({"ok":false,"error":"forbidden"} or CONNECT_ERROR
 * "unauthorized"), counted in roomcast_gateway_refusals_total{reason} and logged
 * (rate-limited). Runs on the event loop thread. */
#ifndef GW_APP_H
#define GW_APP_H

#include "common/metrics.h"
#include "common/token.h"
#include "gateway/authz.h"
#include "gateway/delivery.h"
#include "gateway/engine.h"
#include "gateway/recovery.h"
#include "gateway/settings.h"
#include "gateway/upstream.h"

typedef struct gw_app gw_app;

/* Borrows everything; authz may be NULL (no ROOMCAST_AUTHZ_URL). */
gw_app *gw_app_new(struct event_base *base, const gw_settings *cfg, gw_engine *engine,
                   rc_metrics *metrics, const rc_token_keys *keys, gw_upstream *up,
                   gw_authz *authz);
void gw_app_free(gw_app *app);
/* Turns connection state recovery on (after the delivery exists): pids in CONNECT
 * replies, offsets on room events, recovery on reconnect. key and d are borrowed. */
void gw_app_enable_recovery(gw_app *app, const gw_recovery_key *key, gw_delivery *d,
                            rc_metrics *metrics);
/* The delivery callback (gateway/delivery.h): writes ev to its local recipients. */
size_t gw_app_deliver(gw_delivery *d, const gw_room_event *ev, void *app);
size_t gw_app_sockets(const gw_app *app);
size_t gw_app_rooms(const gw_app *app);
/* A gw_member_fn for gw_delivery_set_filter: 1 if a local socket is in the room. */
int gw_app_has_member(void *app, const char *room, size_t len);

#endif
