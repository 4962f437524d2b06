// The RequestHeaders / ResponseHeaders of a service-router route and of a service-splitter split:
// what a chain may do to the headers of a call routed through it, and doing it.
//
// Consul hands these to Envoy as `request_headers_to_remove` and `request_headers_to_add` (Add
// with append, then Set with overwrite), a split's on its weighted cluster and a route's on the
// route. Envoy removes before it adds, and applies the weighted cluster's before the route's, so
// where both set a header the route's value is the one sent. The same order here.

/** One split's or route's changes to a request's or a response's headers. */
export interface HeaderModifiers {
  /**
   * Appended as another value when the header is there, added when it is not: lower-cased names
   * with their values, in the order Consul lists them (two names differing only in case are one
   * header, given both values).
   */
  readonly add: readonly (readonly [string, string])[];
  /** Replace every value of the header, or add it; in order, so the last of a name wins. */
  readonly set: readonly (readonly [string, string])[];
  /** Removed with all their values, before anything is added or set. */
  readonly remove: readonly string[];
}

/** An HTTP field name (RFC 9110 token). Envoy refuses the rest; so do we. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/i;

/** Characters no header value may hold: they would end the header or the message early. */
const BREAKS_VALUE = /[\r\n\0]/;
/**
 * The other control characters (all but tab): Envoy would send them, undici refuses them in every
 * request (`invalid header`), so a chain holding one would fail each call it routes instead of
 * being refused once.
 */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** Anything but tab and visible ASCII: what may need its UTF-8 bytes (wireValue). */
const BEYOND_ASCII = /[^\t\x20-\x7e]/;

/** Longest header name or value a chain may set, in characters (Envoy's own limit is 60 KB in all). */
export const MAX_HEADER_TEXT = 8_192;

/**
 * Headers a chain may not touch. `host` and the `:` pseudo-headers Envoy itself refuses in a
 * route's header changes (it NACKs such a route). The others say how the message is framed or
 * the connection is used: undici computes them and refuses most of them from a caller, and a
 * chain that could set `content-length` or `transfer-encoding` could desynchronise what a gateway
 * relays. A chain naming one of them is refused like any other bad chain (the last good one is
 * kept), as Envoy keeps its last good route table.
 */
const UNTOUCHABLE = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

/** Why `name` (lower-cased) cannot be changed by a chain, or undefined when it can. */
export function refuseHeaderName(name: string): string | undefined {
  if (name.length === 0 || name.length > MAX_HEADER_TEXT || !TOKEN.test(name)) {
    return `${JSON.stringify(name.slice(0, 64))} is not an HTTP header name`;
  }
  if (UNTOUCHABLE.has(name)) return `header '${name}' cannot be changed by a route or split`;
  return undefined;
}

/** Why `value` cannot be a header value, or undefined when it can. */
export function refuseHeaderValue(value: string): string | undefined {
  if (value.length > MAX_HEADER_TEXT) return `a header value is longer than ${MAX_HEADER_TEXT}`;
  if (BREAKS_VALUE.test(value)) return 'a header value holds CR, LF or NUL';
  if (CONTROL.test(value)) return 'a header value holds a control character';
  return undefined;
}

/**
 * `value` (text, as Consul's JSON gives it) as undici must be given it to put on the wire what
 * Envoy does: its UTF-8 bytes. undici writes a header string as latin1, one byte per character,
 * and refuses any character beyond 0xff; so `Zürich` would go out as the single byte 0xFC and `☃`
 * would fail every call.
 */
export function wireValue(value: string): string {
  return BEYOND_ASCII.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

type HeaderValue = string | readonly string[] | number | undefined;
type Headers = Readonly<Record<string, HeaderValue>>;

/**
 * `headers` with `modifiers` applied in order, as a new plain object with lower-cased names, in
 * the shape undici answers (the input is not changed: a caller's object may be reused for other
 * calls). Names that differ only in case are merged first, since they are one header. Only own
 * properties count, so a header named `constructor` or `__proto__` is a header like any other.
 */
export function modifyHeaders(
  headers: Headers | null | undefined,
  modifiers: readonly HeaderModifiers[],
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (headers != null) {
    for (const [rawName, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      const name = rawName.toLowerCase();
      const values = typeof value === 'number' ? [String(value)] : value;
      appendValues(out, name, values);
    }
  }
  for (const modifier of modifiers) {
    for (const name of modifier.remove) delete out[name];
    for (const [name, value] of modifier.add) appendValues(out, name, value);
    for (const [name, value] of modifier.set) put(out, name, value);
  }
  return out;
}

/** An own, enumerable property: assigning `__proto__` would set the prototype instead. */
function put(out: Record<string, string | string[]>, name: string, value: string | string[]): void {
  Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
}

function appendValues(
  out: Record<string, string | string[]>,
  name: string,
  values: string | readonly string[],
): void {
  if (!Object.hasOwn(out, name)) {
    put(out, name, typeof values === 'string' ? values : [...values]);
    return;
  }
  const existing = out[name]!;
  const list = typeof existing === 'string' ? [existing] : existing;
  if (typeof values === 'string') list.push(values);
  else list.push(...values);
  put(out, name, list);
}
