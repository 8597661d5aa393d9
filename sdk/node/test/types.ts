// Compile-time checks of the typed publish (this file is only compiled: a @ts-expect-error
// that no longer fails breaks the build).
import { createMemoryEmitter, type CatalogPayloads } from "@roomcast/emitter";

const em = createMemoryEmitter();
export const ok = [
  () => em.publish("payment.status_updated", { paymentId: "p1", status: "ok", providerPaymentId: null, buyerId: "b1", sellerId: 7 }),
  () => em.publish("chat.message_created", { message: { chatId: "c1", participantIds: ["u1", 2], text: "hi" } }),
  () => em.publish("notification.read", { id: "n1", userId: "b1", readAt: new Date() }),
];
export const refused = [
  // @ts-expect-error a missing routing field
  () => em.publish("payment.status_updated", { paymentId: "p1", status: "ok", providerPaymentId: "x", sellerId: "s1" }),
  // @ts-expect-error a routing field of the wrong kind
  () => em.publish("offer.accepted", { offerId: "o1", sellerId: { id: 1 }, buyerId: "b1" }),
  // @ts-expect-error a nested routing field missing
  () => em.publish("payment.created", { payment: { buyerId: "b1" } }),
  // @ts-expect-error a list of ids expected
  () => em.publish("chat.message_created", { message: { chatId: "c1", participantIds: "u1" } }),
  // @ts-expect-error a delivered field missing
  () => em.publish("notification.read", { userId: "b1", readAt: "now" }),
  // @ts-expect-error an unknown type
  () => em.publish("payment.refunded", {}),
];
// a catalog of one's own
interface Mine { "thing.done": { thingId: string } }
const custom = createMemoryEmitter<Mine>({ routes: { version: 1, routes: { "thing.done": { event: "thing:done", rooms: ["thing-{thingId}"], payload: ["thingId"] } } } });
export const own = () => custom.publish("thing.done", { thingId: "t1" });
export type Check = CatalogPayloads["offer.created"]["buyerId"];
