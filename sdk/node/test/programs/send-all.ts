// A backend in miniature for the integration tests (tests/integration/emitter.test.mjs):
// through examples/socketService.ts it publishes every domain type of the catalog given
// as ROOMCAST_CATALOG_MODULE (the tests' literal copy of CONTRACT §6), then calls every
// helper, then emits "test:done" to everyone as a marker. Prints one JSON line per call.
import type { DomainType } from "@roomcast/emitter";
import {
  closeSocketService, emitGlobalEvent, emitter, emitToBuyers, emitToRoom, emitToSellers, emitToUser,
} from "../../examples/socketService.js";

interface Row { type: DomainType; payload: unknown }
const { catalog } = (await import(process.env.ROOMCAST_CATALOG_MODULE!)) as { catalog: Row[] };

const out = (what: string, r: { id: string; records: unknown[] }) => console.log(JSON.stringify({ what, ...r }));
for (const row of catalog) out(row.type, await emitter.publish(row.type, row.payload as never));
out("emitToRoom", await emitToRoom("request-r1", "helper:room", { n: 1 }));
out("emitToUser", await emitToUser("b1", "helper:user", { n: 2 }));
out("emitToSellers", await emitToSellers("helper:sellers", { n: 3 }));
out("emitToBuyers", await emitToBuyers("helper:buyers", { n: 4 }));
out("emitGlobalEvent", await emitGlobalEvent("helper:global", { n: 5 }));
out("to.emit", await emitter.to(["sellers", "seller-s1"]).to("user-adm").emit("helper:to", { n: 6 }, "two"));
out("emit", await emitter.emit("test:done", {}));
await closeSocketService();
