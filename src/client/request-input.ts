// Per-call input of a service call, checked once per call before anything is sent. Paths, headers
// and methods often come from the app's own callers: a bad one is the caller's mistake, so it is a
// ConfigError naming the field, never an UpstreamError blaming an instance nor a request that
// reaches one. The common case costs a Set lookup per method and header name and one regex test
// per path and header value.
import { Readable } from 'node:stream';
import { ConfigError } from '../errors';

/** The fields of a call this module checks (ServiceRequest, without importing it: no cycle). */
export interface RequestInput {
  readonly method?: unknown;
  readonly path?: unknown;
  readonly headers?: unknown;
  readonly body?: unknown;
  readonly signal?: unknown;
  readonly timeoutMs?: unknown;
  readonly deadlineMs?: unknown;
  readonly retryable?: unknown;
  readonly idempotencyKey?: unknown;
  readonly key?: unknown;
}

/** Longest per-call limit, in ms: Node's timers fire at once beyond it (about 24.8 days). */
export const MAX_CALL_LIMIT_MS = 2_147_483_647;

/** RFC 9110 token: methods and header names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value as undici accepts it: no CR, LF, NUL or other control character but tab. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** An origin-form target: '/' then visible ASCII only (anything else must be percent-encoded). */
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/**
 * Header names the library or undici owns: `host` is the instance's authority (a caller's would
 * route the request elsewhere at a virtual-hosting upstream), the others frame the connection.
 */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);
/** Header names already checked, so a steady stream of calls tests each name once. */
const checkedNames = new Set<string>();
const MAX_CHECKED_NAMES = 1024;

/**
 * Throws a ConfigError naming `prefix.field` when a call's input is not something to send: a
 * method that is not a token, a path that is not origin-form (an absolute URL would be sent as an
 * absolute-form target), a reserved or malformed header, a limit that is not a positive number.
 * Values that may be secret (header values, query strings) are never shown.
 */
export function checkRequestInput(input: RequestInput, prefix: string): void {
  const { method, path, headers } = input;
  if (method !== undefined && !(typeof method === 'string' && KNOWN_METHODS.has(method))) {
    if (typeof method !== 'string' || !TOKEN.test(method)) {
      throw new ConfigError(`${prefix}.method`, 'an HTTP method token such as GET', method);
    }
    // undici refuses CONNECT (a tunnel, not a request), whatever its case.
    if (method.toUpperCase() === 'CONNECT') {
      throw new ConfigError(`${prefix}.method`, 'a method other than CONNECT', method);
    }
  }
  if (path !== undefined && (typeof path !== 'string' || !ORIGIN_FORM.test(path))) {
    throw new ConfigError(
      `${prefix}.path`,
      "a path starting with '/', percent-encoded, never a URL",
      typeof path === 'string' ? redactTarget(path) : path,
    );
  }
  if (headers !== undefined && headers !== null) {
    checkHeaders(headers, input.body, `${prefix}.headers`);
  }
  if (input.timeoutMs !== undefined) checkLimit(input.timeoutMs, `${prefix}.timeoutMs`);
  if (input.deadlineMs !== undefined) checkLimit(input.deadlineMs, `${prefix}.deadlineMs`);
  const { body, signal, retryable, idempotencyKey, key } = input;
  if (
    body !== undefined &&
    body !== null &&
    typeof body !== 'string' &&
    !(body instanceof Uint8Array) &&
    !(body instanceof Readable)
  ) {
    throw new ConfigError(`${prefix}.body`, 'a string, bytes, a Readable or null', body);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new ConfigError(`${prefix}.signal`, 'an AbortSignal', signal);
  }
  if (retryable !== undefined && typeof retryable !== 'boolean') {
    throw new ConfigError(`${prefix}.retryable`, 'true or false', retryable);
  }
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || !FIELD_VALUE.test(idempotencyKey))
  ) {
    throw new ConfigError(
      `${prefix}.idempotencyKey`,
      'a string valid as a header value (no CR, LF or control characters)',
      idempotencyKey,
      { secret: true },
    );
  }
  if (key !== undefined && typeof key !== 'string') {
    throw new ConfigError(`${prefix}.key`, 'a string', key);
  }
}

function checkHeaders(headers: unknown, body: unknown, path: string): void {
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    throw new ConfigError(path, 'an object of header names to values', headers);
  }
  for (const name in headers) {
    if (!Object.prototype.hasOwnProperty.call(headers, name)) continue;
    if (!checkedNames.has(name)) checkName(name, path);
    const value = (headers as Record<string, unknown>)[name];
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      checkContentLength(value, body, `${path}.${name}`);
    }
    if (typeof value === 'string') {
      if (!FIELD_VALUE.test(value)) badValue(name, path);
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item !== 'string' || !FIELD_VALUE.test(item)) badValue(name, path);
      }
    } else if (value !== undefined) {
      badValue(name, path);
    }
  }
}

/**
 * undici refuses a content-length that is not one decimal number, or (for a body it knows the
 * size of) not that size: after picking an instance, so the caller's mistake would read as the
 * instance's. A stream's length is the caller's word.
 */
function checkContentLength(value: unknown, body: unknown, path: string): void {
  if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value)) {
    throw new ConfigError(path, 'one decimal number of bytes', undefined);
  }
  const size =
    body === undefined || body === null
      ? 0
      : typeof body === 'string'
        ? Buffer.byteLength(body)
        : body instanceof Uint8Array
          ? body.byteLength
          : undefined;
  if (size !== undefined && Number(value) !== size) {
    throw new ConfigError(path, `the body's length in bytes (${size}), or left out`, value);
  }
}

function checkName(name: string, path: string): void {
  if (!TOKEN.test(name)) {
    throw new ConfigError(path, 'header names that are HTTP tokens', name);
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    throw new ConfigError(
      `${path}.${name}`,
      'left out: the library sets the host and connection headers itself',
      'a header',
    );
  }
  if (checkedNames.size < MAX_CHECKED_NAMES) checkedNames.add(name);
}

function badValue(name: string, path: string): never {
  throw new ConfigError(
    `${path}.${name}`,
    'a string (or list of strings) without CR, LF or control characters',
    undefined,
    { secret: true },
  );
}

function checkLimit(value: unknown, path: string): void {
  if (typeof value !== 'number' || !(value > 0) || value > MAX_CALL_LIMIT_MS) {
    throw new ConfigError(path, `a number of ms > 0 and <= ${MAX_CALL_LIMIT_MS}`, value);
  }
}

/**
 * A URL or request target as shown in an error: the query string and fragment (which may carry
 * secrets) and any credentials are replaced by `…`.
 */
export function redactTarget(text: string): string {
  let shown = text;
  const cut = shown.search(/[?#]/);
  if (cut !== -1) shown = `${shown.slice(0, cut)}?…`;
  const at = shown.lastIndexOf('@');
  if (at !== -1) {
    const start = shown.indexOf('//');
    shown =
      start !== -1 && start < at
        ? `${shown.slice(0, start + 2)}…@${shown.slice(at + 1)}`
        : `…@${shown.slice(at + 1)}`;
  }
  return shown;
}
