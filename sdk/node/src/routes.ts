// The routing table in TypeScript: the same rules as the fanout's (common/routes.h), so a
// payload the fanout would dead-letter is refused at the call, with the same message.
// Loading checks the table as strictly as the C loader; applying reads the payload's
// JSON form (what JSON.stringify makes of it, which is what goes to Kafka).

/** Why a payload was refused: the fanout's dead-letter reason for it. */
export type RouteFailure = "no_route" | "bad_json" | "missing_field" | "bad_field";

/** A payload the routing table refuses. The message names the type and the field(s). */
export class RoutingError extends Error {
  override readonly name = "RoutingError";
  constructor(
    message: string,
    /** The domain type published. */
    readonly type: string,
    /** The fanout's reason: no_route, bad_json, missing_field or bad_field. */
    readonly reason: RouteFailure,
    /** Every missing field (dotted paths), for missing_field. */
    readonly missing: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A routing table as JSON (fanout/routes.json's format). */
export interface RoutesJson {
  version: 1;
  routes: Record<string, { event: string; rooms: string[]; payload: string | string[] }>;
}

/** What a route makes of a payload: the socket event, its rooms and its argument. */
export interface Routed {
  event: string;
  rooms: string[];
  /** The delivered payload, as the fanout cuts it from the payload. */
  delivered: unknown;
}

export const ROOM_MAX = 200;
const ROOMS_MAX = 1000;
const TYPE_MAX = 128;

interface Path {
  text: string; // without a trailing "[]"
  segs: string[];
}
interface Part {
  lit: string;
  path: Path | null;
  isList: boolean;
}
interface Template {
  text: string;
  parts: Part[];
}
interface Route {
  type: string;
  event: string;
  rooms: Template[];
  single: boolean;
  fields: string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const utf8 = new TextEncoder();
const byteLength = (s: string): number => utf8.encode(s).length;
// eslint-disable-next-line no-control-regex
const hasCtl = (s: string): boolean => /[\u0000-\u001f\u007f]/.test(s);

function parsePart(body: string): Part | string {
  if (body === "") return 'empty placeholder "{}"';
  const isList = body.endsWith("[]");
  const p = isList ? body.slice(0, -2) : body;
  if (p.includes("[") || p.includes("]")) return '"[]" may only end a placeholder\'s path';
  const segs = p.split(".");
  if (!segs.every((s) => IDENT.test(s)))
    return "a placeholder is a dotted path of field names (letters, digits, _)";
  return { lit: "", path: { text: p, segs }, isList };
}

function splitTemplate(text: string): Template | string {
  const parts: Part[] = [];
  let i = 0;
  let hasList = false;
  while (i < text.length) {
    const start = i;
    while (i < text.length && text[i] !== "{" && text[i] !== "}") i++;
    const lit = text.slice(start, i);
    if (i === text.length) {
      parts.push({ lit, path: null, isList: false });
      break;
    }
    if (text[i] === "}") return '"}" without "{"';
    const close = text.indexOf("}", i + 1);
    const open = text.indexOf("{", i + 1);
    if (close < 0) return 'unclosed "{"';
    if (open >= 0 && open < close) return '"{" inside a placeholder';
    const part = parsePart(text.slice(i + 1, close));
    if (typeof part === "string") return part;
    if (part.isList && hasList) return "two list placeholders (at most one a room)";
    hasList ||= part.isList;
    parts.push({ ...part, lit });
    i = close + 1;
  }
  if (text.length > ROOM_MAX) return `longer than ${ROOM_MAX} bytes`;
  return { text, parts };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function parseRoute(type: string, def: unknown, fail: (msg: string) => never): Route {
  if (!isObject(def)) fail("must be an object {event, rooms, payload}");
  for (const k of Object.keys(def))
    if (!["event", "rooms", "payload"].includes(k))
      fail(`unknown key "${k}" (expected event, rooms, payload)`);
  for (const k of ["event", "rooms", "payload"]) if (!(k in def)) fail(`missing "${k}"`);
  const { event, rooms, payload } = def;
  if (typeof event !== "string" || event === "" || byteLength(event) > ROOM_MAX || hasCtl(event))
    fail(`"event" must be a socket event name (1 to ${ROOM_MAX} bytes, no control characters)`);
  if (!Array.isArray(rooms)) fail('"rooms" must be a list of room templates');
  if (rooms.length === 0) fail('"rooms" is empty: a route needs a room');
  const tpls: Template[] = [];
  rooms.forEach((r: unknown, i: number) => {
    if (typeof r !== "string") fail(`rooms[${i}] is not a string`);
    if (r === "" || hasCtl(r)) fail(`rooms[${i}] is empty or has a control character`);
    const t = splitTemplate(r);
    if (typeof t === "string") fail(`rooms[${i}] "${r}": ${t}`);
    const j = tpls.findIndex((x) => x.text === r);
    if (j >= 0) fail(`rooms[${i}] repeats rooms[${j}]`);
    tpls.push(t);
  });
  if (tpls.some((t) => t.text === "*") && tpls.length > 1)
    fail('"*" (every socket) must be the route\'s only room');
  const single = typeof payload === "string";
  if (!single && (!Array.isArray(payload) || payload.length === 0))
    fail('"payload" must be a field name or a list of field names');
  const list: unknown[] = single ? [payload] : (payload as unknown[]);
  const fields: string[] = [];
  list.forEach((f, i) => {
    if (typeof f !== "string") fail(`payload[${i}] is not a string`);
    if (!IDENT.test(f)) fail(`payload field "${f}" is not a field name (letters, digits, _)`);
    if (fields.includes(f)) fail(`payload lists "${f}" twice`);
    fields.push(f);
  });
  return { type, event, rooms: tpls, single, fields };
}

// ---- applying ------------------------------------------------------------------------

/** The JSON kind of a value as the fanout (jansson) sees it in the JSON text. */
function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  switch (typeof v) {
    case "object": return "an object";
    case "string": return "a string";
    case "boolean": return "a boolean";
    case "number": return isJsonInteger(v) ? "an integer" : "a fractional number";
    default: return "null";
  }
}

/** JSON.stringify writes an integer without a point or exponent below 1e21. */
const isJsonInteger = (v: number): boolean => Number.isInteger(v) && Math.abs(v) < 1e21;

class Issues {
  missing: string[] = [];
  bad = "";
  emptyList: string | null = null;
  addMissing(name: string): void {
    if (!this.missing.includes(name)) this.missing.push(name);
  }
  addBad(msg: string): void {
    if (!this.bad) this.bad = msg;
  }
}

function pathGet(root: Record<string, unknown>, p: Path, is: Issues): unknown {
  let cur: unknown = root;
  let prefix = "";
  for (const seg of p.segs) {
    if (!isObject(cur)) {
      is.addBad(`${prefix} is ${kindOf(cur)}, not an object`);
      return undefined;
    }
    prefix = prefix ? `${prefix}.${seg}` : seg;
    cur = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
    if (cur === undefined || cur === null) {
      is.addMissing(prefix);
      return undefined;
    }
  }
  return cur;
}

/** A room id: a non-empty string without control characters, or an integer. */
function idText(v: unknown, name: string, is: Issues): string | null {
  if (typeof v === "number" && isJsonInteger(v)) return BigInt(v).toString();
  if (typeof v !== "string") is.addBad(`${name} is ${kindOf(v)}, not a string or integer`);
  else if (v === "") is.addBad(`${name} is an empty string`);
  else if (hasCtl(v)) is.addBad(`${name} has a control character`);
  else if (byteLength(v) > ROOM_MAX)
    is.addBad(`${name} is longer than a room may be (${ROOM_MAX} bytes)`);
  else return v;
  return null;
}

function renderTemplate(t: Template, root: Record<string, unknown>, rooms: string[], is: Issues): void {
  const vals: unknown[] = [];
  let list: unknown[] | null = null;
  let ok = true;
  t.parts.forEach((pt, i) => {
    if (!pt.path) return;
    const v = pathGet(root, pt.path, is);
    vals[i] = v;
    if (v === undefined) ok = false;
    else if (pt.isList && !Array.isArray(v)) {
      is.addBad(`${pt.path.text} is ${kindOf(v)}, not a list`);
      ok = false;
    } else if (pt.isList && (v as unknown[]).length > ROOMS_MAX) {
      is.addBad(`${pt.path.text} has more than ${ROOMS_MAX} elements`);
      ok = false;
    } else if (pt.isList) list = v as unknown[];
  });
  const count = list ? (list as unknown[]).length : 1;
  if (ok && list && count === 0) is.emptyList = t.text;
  for (let e = 0; ok && e < count; e++) {
    let room = "";
    for (let i = 0; ok && i < t.parts.length; i++) {
      const pt = t.parts[i]!;
      room += pt.lit;
      if (!pt.path) continue;
      const name = pt.isList ? `${pt.path.text}[${e}]` : pt.path.text;
      const text = idText(pt.isList ? list![e] : vals[i], name, is);
      if (text === null) ok = false;
      else room += text;
    }
    if (ok) {
      if (byteLength(room) > ROOM_MAX)
        is.addBad(`the room from "${t.text}" is longer than ${ROOM_MAX} bytes`);
      else if (!rooms.includes(room)) {
        if (rooms.length === ROOMS_MAX) is.addBad(`more than ${ROOMS_MAX} rooms`);
        else rooms.push(room);
      }
    }
    ok = ok && !is.bad;
  }
}

/** One printable ASCII line, as the fanout writes reasons (each other byte becomes "?"). */
function printable(s: string): string {
  return Array.from(utf8.encode(s), (b) => (b < 0x20 || b > 0x7e ? "?" : String.fromCharCode(b))).join("");
}

/** The JSON form of a payload as the fanout will read it, or why it is not JSON. */
function jsonForm(payload: unknown): { value: unknown } | { error: string } {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (text === undefined) return { error: "nothing to serialise" };
  const value: unknown = JSON.parse(text);
  const why = jsonOutOfReach(value);
  return why ? { error: why } : { value };
}

/** What jansson would refuse in JSON.stringify's output: integers outside int64 and
 * strings that are not well-formed UTF-16 (a lone surrogate). */
export function jsonOutOfReach(v: unknown): string | null {
  if (typeof v === "number") {
    if (isJsonInteger(v) && (v >= 2 ** 63 || v < -(2 ** 63)))
      return v < 0 ? "too big negative integer" : "too big integer";
    return null;
  }
  if (typeof v === "string") return v.isWellFormed() ? null : "invalid Unicode (a lone surrogate)";
  if (Array.isArray(v)) {
    for (const x of v) {
      const why = jsonOutOfReach(x);
      if (why) return why;
    }
    return null;
  }
  if (isObject(v))
    for (const [k, x] of Object.entries(v)) {
      const why = k.isWellFormed() ? jsonOutOfReach(x) : "invalid Unicode (a lone surrogate)";
      if (why) return why;
    }
  return null;
}

/** A loaded routing table: immutable. */
export class RoutingTable {
  private readonly routes = new Map<string, Route>();

  /** Loads and checks a table; throws an Error naming the route and the field. */
  constructor(json: string | RoutesJson, sourceName = "routes.json") {
    let root: unknown;
    const failIn = (type: string | null) => (msg: string): never => {
      throw new Error(`${sourceName}: ${type ? `route "${type}": ` : ""}${msg}`);
    };
    try {
      root = typeof json === "string" ? JSON.parse(json) : json;
    } catch (e) {
      failIn(null)(`not JSON: ${(e as Error).message}`);
    }
    if (!isObject(root)) failIn(null)("the table must be a JSON object");
    const top = root as Record<string, unknown>;
    for (const k of Object.keys(top))
      if (k !== "version" && k !== "routes") failIn(null)(`unknown key "${k}" (expected version, routes)`);
    if (top.version !== 1) failIn(null)('"version" must be 1');
    const routes = top.routes;
    if (!isObject(routes) || Object.keys(routes).length === 0)
      failIn(null)('"routes" must be a non-empty object of type: route');
    for (const [type, def] of Object.entries(routes as Record<string, unknown>)) {
      if (!/^[A-Za-z0-9._-]+$/.test(type) || type.length > TYPE_MAX)
        failIn(null)(`route "${type.slice(0, TYPE_MAX)}": a type is 1 to ${TYPE_MAX} letters, digits, '.', '_' or '-'`);
      this.routes.set(type, parseRoute(type, def, failIn(type)));
    }
  }

  /** The domain types, in table order. */
  types(): string[] {
    return [...this.routes.keys()];
  }

  /** The socket event of a type, or undefined. */
  eventOf(type: string): string | undefined {
    return this.routes.get(type)?.event;
  }

  /** What a type's payload must hold, as `roomcast publish` says it:
   * `{paymentId, status, providerPaymentId, buyerId, sellerId}` or
   * `{message} (message has chatId, participantIds[])`. */
  describe(type: string): string | undefined {
    const rt = this.routes.get(type);
    if (!rt) return undefined;
    const top: string[] = [...rt.fields];
    const nested: Part[] = [];
    for (const t of rt.rooms)
      for (const pt of t.parts) {
        if (!pt.path) continue;
        if (!top.includes(pt.path.segs[0]!)) top.push(pt.path.segs[0]!);
        if (pt.path.segs.length > 1) nested.push(pt);
      }
    let out = `{${top.join(", ")}}`;
    const parent = (pt: Part) => pt.path!.text.slice(0, pt.path!.text.lastIndexOf("."));
    nested.forEach((pt, i) => {
      if (nested.slice(0, i).some((q) => parent(q) === parent(pt))) return;
      const items: string[] = [];
      for (const q of nested.slice(i))
        if (parent(q) === parent(pt)) {
          const child = `${q.path!.segs[q.path!.segs.length - 1]}${q.isList ? "[]" : ""}`;
          if (!items.includes(child)) items.push(child);
        }
      out += `${out.endsWith("}") ? " (" : "; "}${parent(pt)} has ${items.join(", ")}`;
    });
    return nested.length ? `${out})` : out;
  }

  /** Applies the route for type to payload as the fanout will; throws a RoutingError
   * when the fanout would dead-letter it. */
  apply(type: string, payload: unknown): Routed {
    const rt = this.routes.get(type);
    const t128 = printable(type.slice(0, 128));
    if (!rt) throw new RoutingError(`${t128}: no route for this type`, type, "no_route");
    const wants = ` (the event wants ${this.describe(type)})`;
    const form = jsonForm(payload);
    if ("error" in form)
      throw new RoutingError(printable(`${type}: payload is not JSON: ${form.error}`) + wants, type, "bad_json");
    const root = form.value;
    if (!isObject(root))
      throw new RoutingError(
        printable(`${type}: payload is ${kindOf(root)}, not a JSON object`) + wants, type, "bad_json");
    const is = new Issues();
    for (const f of rt.fields) {
      const v = Object.hasOwn(root, f) ? root[f] : undefined;
      if (v === undefined || (rt.single && v === null)) is.addMissing(f);
      else if (rt.single && !isObject(v)) is.addBad(`${f} is ${kindOf(v)}, not an object`);
    }
    const rooms: string[] = [];
    for (const t of rt.rooms) renderTemplate(t, root, rooms, is);
    if (is.missing.length)
      throw new RoutingError(
        printable(`${t128}: missing ${is.missing.join(", ")}${is.bad ? `; ${is.bad}` : ""}`) + wants,
        type, "missing_field", is.missing);
    if (is.bad) throw new RoutingError(printable(`${t128}: ${is.bad}`) + wants, type, "bad_field");
    if (rooms.length === 0)
      throw new RoutingError(
        printable(`${t128}: no room to deliver to ("${is.emptyList ?? ""}" is empty)`) + wants,
        type, "bad_field");
    const delivered = rt.single
      ? root[rt.fields[0]!]
      : Object.fromEntries(rt.fields.map((f) => [f, root[f]]));
    return { event: rt.event, rooms, delivered };
  }
}
