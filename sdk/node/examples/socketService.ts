// The seed's backend/src/infrastructure/socket/socketService.ts after the move to
// roomcast (docs/migrating-from-socket.io.md): the same five helpers, with the same names
// and arguments, so no call site has to change; the emitter itself for new code (domain
// events checked against the catalog, server-side socket control). No Socket.IO server,
// no Redis adapter: gateways hold the sockets, Kafka carries the events.
import { createEmitter, type Emitter } from "@roomcast/emitter";

/** The one emitter of the process: connects on first use, ROOMCAST_KAFKA_BROKERS and
 * ROOMCAST_TOPIC_PREFIX as the roomcast binaries read them (or pass them here). */
export const emitter: Emitter = createEmitter({
  clientId: "marketplace-backend",
  producer: "marketplace-backend",
  // ssl: { ca: [readFileSync("/etc/kafka/ca.pem")] }, sasl: { mechanism: "scram-sha-512", username, password },
});

// The seed's helpers. They return the write's promise; call sites that ignore it (as they
// ignored Socket.IO's) lose nothing: a failed write is logged by the emitter's onError.
export function emitToRoom(room: string, event: string, payload: unknown) {
  return emitter.emitToRoom(room, event, payload);
}
export function emitToUser(userId: string, event: string, payload: unknown) {
  return emitter.emitToUser(userId, event, payload);
}
export function emitToSellers(event: string, payload: unknown) {
  return emitter.emitToSellers(event, payload);
}
export function emitToBuyers(event: string, payload: unknown) {
  return emitter.emitToBuyers(event, payload);
}
export function emitGlobalEvent(event: string, payload: unknown) {
  return emitter.emitGlobalEvent(event, payload);
}

/** On shutdown: waits for what is still on its way to Kafka. */
export function closeSocketService(): Promise<void> {
  return emitter.close();
}
