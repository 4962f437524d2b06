// Durations in Consul's discovery chain are Go `time.Duration`s: most fields are marshalled as
// Go's string form (`"5s"`, `"1m30s"`, `"1.5ms"`, `"0s"`), but a few (DiscoveryResolver
// RequestTimeout in 1.16.3) have no custom marshaller and arrive as integer nanoseconds.

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign, what Go prints
  μs: 1e3, // U+03BC Greek mu, also accepted by Go
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Go's `time.ParseDuration`, in milliseconds; undefined when Go would refuse the text. */
export function parseGoDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 64) return undefined;
  let rest = text;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let ns = 0;
  while (rest.length > 0) {
    const m = PART.exec(rest);
    if (!m) return undefined;
    ns += Number(m[1]) * UNIT_NS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  // Go's Duration is int64 nanoseconds: about 292 years.
  if (!Number.isFinite(ns) || ns > 9.223372036854776e18) return undefined;
  return (sign * ns) / 1e6;
}

/** A duration field as Consul marshals it (Go string or integer nanoseconds), in milliseconds. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'string') return parseGoDuration(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value / 1e6;
  return undefined;
}
