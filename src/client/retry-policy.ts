// Pure facts the retry decision (retry-decision.ts) builds on: which methods are idempotent, which
// statuses and transport errors say "another instance may succeed", and what Retry-After asks for.
// No state and no clock of their own: the caller passes the time where one is needed.
import type { NetworkFailure } from './request-outcome';

/** Methods RFC 9110 defines as idempotent: repeating them has the effect of sending them once. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

/** True for GET, HEAD, OPTIONS, PUT, DELETE and TRACE, in any letter case. */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method) || IDEMPOTENT_METHODS.has(method.toUpperCase());
}

/**
 * True for 502, 503, 504 and 429: statuses saying this instance (or its gateway) could not serve
 * the request now, so another instance may. 500 is left out because it usually means the handler
 * ran and failed, which a retry repeats at the cost of the budget.
 */
export function retryableStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504 || status === 429;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_GROUP = `(${MONTHS.join('|')})`;
const TIME_GROUP = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT`, the format senders must use. */
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH_GROUP} (\\d{4}) ${TIME_GROUP} GMT$`,
);
/** `Sunday, 06-Nov-94 08:49:37 GMT`, obsolete but still to be accepted. */
const RFC850_DATE = new RegExp(
  '^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ' +
    `(\\d{2})-${MONTH_GROUP}-(\\d{2}) ${TIME_GROUP} GMT$`,
);
/** `Sun Nov  6 08:49:37 1994` (asctime), obsolete but still to be accepted; implicitly GMT. */
const ASCTIME_DATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH_GROUP} ([ \\d]\\d) ${TIME_GROUP} (\\d{4})$`,
);

/**
 * Delay a `Retry-After` header asks for, in ms: delay-seconds or an HTTP-date (all three RFC 9110
 * formats) relative to `nowMs`, which must be wall-clock epoch ms (e.g. `Date.now()`) because the
 * date is; a date in the past gives 0, anything above `maxMs` gives `maxMs`
 * (the caller's cap: the client's `maxRetryAfterMs`, one default in config/defaults.ts), and an
 * absent, empty or malformed value gives undefined. Of several header values the first counts.
 */
export function parseRetryAfterMs(
  headerValue: string | readonly string[] | null | undefined,
  nowMs: number,
  maxMs: number,
): number | undefined {
  const raw = typeof headerValue === 'string' ? headerValue : headerValue?.[0];
  if (raw === undefined) return undefined;
  const value = raw.trim();
  // Strictly digits: Number() would also take '1e3', '0x10' or '-5'.
  if (/^\d+$/.test(value)) return Math.min(maxMs, Number(value) * 1000);
  const at = parseHttpDate(value, nowMs);
  if (at === undefined) return undefined;
  return Math.min(maxMs, Math.max(0, at - nowMs));
}

/** Epoch ms of an HTTP-date, or undefined; not Date.parse, which accepts almost anything. */
function parseHttpDate(value: string, nowMs: number): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match !== null) {
    const [, day, month, year, hour, minute, second] = match;
    return utc(year, month, day, hour, minute, second);
  }
  match = RFC850_DATE.exec(value);
  if (match !== null) {
    const [, day, month, shortYear, hour, minute, second] = match;
    // RFC 9110: a two-digit year over 50 years ahead is the latest past year with those digits.
    const thisYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(shortYear);
    if (year > thisYear + 50) year -= 100;
    return utc(String(year), month, day, hour, minute, second);
  }
  match = ASCTIME_DATE.exec(value);
  if (match !== null) {
    const [, month, day, hour, minute, second, year] = match;
    return utc(year, month, day?.trim(), hour, minute, second);
  }
  return undefined;
}

function utc(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | undefined {
  const y = Number(year);
  const m = MONTHS.indexOf(month ?? '');
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  const s = Number(second);
  // Allow a leap second (60); everything else out of range is garbage rather than a rollover.
  if (m < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return undefined;
  const ms = Date.UTC(y, m, d, h, min, Math.min(s, 59));
  // Date.UTC rolls 31 Feb into March: reject dates that do not exist.
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}

/** Codes raised before a connection exists (DNS, routing, refused, undici's connect timeout). */
const CONNECT_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Codes of a connection lost mid-exchange: resets and broken pipes (typically a keep-alive socket
 * the server closed just as it was reused) and undici's SocketError ('other side closed', GOAWAY).
 */
const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** Bounds the walk down `cause` chains, which user code could make circular. */
const MAX_CAUSE_DEPTH = 8;

/**
 * Classifies a Node or undici transport error (`connect_failure`: no connection was made, so no
 * server saw the request; `reset`: the connection broke during the exchange), looking through the `TypeError('fetch failed')` that
 * undici's fetch wraps it in (`cause`) and through AggregateErrors of multi-address connects;
 * undefined for anything else, including aborts and timeouts, which are the caller's own decision.
 */
export function classifyNetworkError(error: unknown): NetworkFailure | undefined {
  return classify(error, 0);
}

function classify(error: unknown, depth: number): NetworkFailure | undefined {
  if (depth > MAX_CAUSE_DEPTH || typeof error !== 'object' || error === null) return undefined;
  const { name, code, syscall, cause, errors } = error as {
    name?: unknown;
    code?: unknown;
    syscall?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  // An abort is the caller's (or its deadline's) will: never retried, whatever it wraps.
  if (name === 'AbortError' || name === 'TimeoutError' || code === 'UND_ERR_ABORTED') {
    return undefined;
  }
  if (typeof code === 'string') {
    if (CONNECT_FAILURE_CODES.has(code)) {
      // An unreachable host reported on an established socket happened mid-exchange.
      return syscall === 'read' || syscall === 'write' ? 'reset' : 'connect_failure';
    }
    if (RESET_CODES.has(code)) return 'reset';
    if (code === 'ETIMEDOUT') return syscall === 'connect' ? 'connect_failure' : 'reset';
  }
  if (Array.isArray(errors) && errors.length > 0) {
    let kind: NetworkFailure | undefined;
    for (const member of errors) {
      const memberKind = classify(member, depth + 1);
      if (memberKind === undefined) continue;
      // One attempt that may have reached a server makes the whole failure a reset.
      kind = memberKind === 'reset' || kind === 'reset' ? 'reset' : 'connect_failure';
    }
    if (kind !== undefined) return kind;
  }
  return classify(cause, depth + 1);
}
