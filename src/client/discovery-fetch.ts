import { Readable } from 'node:stream';
import { Headers, Response } from 'undici';
import { ConfigError } from '../errors';
import { checkRequestInput, redactTarget } from './request-input';
import type { ServiceRequest, ServiceResponse } from './service-client';

/** The parts of fetch's RequestInit that `discovery.fetch` understands. */
export interface DiscoveryFetchInit extends Pick<
  ServiceRequest,
  'signal' | 'timeoutMs' | 'deadlineMs' | 'retryable' | 'idempotencyKey' | 'key'
> {
  readonly method?: string;
  readonly headers?: Headers | Record<string, string> | readonly (readonly [string, string])[];
  /** string, bytes or URLSearchParams are replayable; a ReadableStream is sent once, never retried. */
  readonly body?: string | Uint8Array | ArrayBuffer | URLSearchParams | ReadableStream | null;
}

/**
 * Splits `http://payments/charge?x=1` into the service name and the request to send. Throws a
 * ConfigError naming the field (`url`, `init.headers`, `init.method`...) for input that cannot be
 * sent as it is meant: another scheme, a port, credentials (they would be silently dropped), a bad
 * header; the URL is shown without its query string or credentials.
 */
export function toServiceRequest(
  input: string | URL,
  init: DiscoveryFetchInit = {},
): { service: string; request: ServiceRequest } {
  const rule = 'a URL like http://SERVICE/path (the port comes from Consul)';
  let url: URL | undefined;
  try {
    url = typeof input === 'string' || input instanceof URL ? new URL(input) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || url.protocol !== 'http:' || url.port !== '') {
    throw new ConfigError('url', rule, shownUrl(input));
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'url',
      'a URL without credentials (user:password@ is never sent: pass an authorization header)',
      shownUrl(input),
    );
  }
  let service: string;
  try {
    service = decodeURIComponent(url.hostname);
  } catch (error) {
    throw new ConfigError('url', rule, shownUrl(input), { cause: error });
  }
  if (init === null || typeof init !== 'object') {
    throw new ConfigError('init', 'an object of fetch options', init);
  }
  const headers: Record<string, string> = {};
  try {
    new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => {
      headers[name] = value;
    });
  } catch (error) {
    // WHATWG Headers names no header and may quote the value: say which rule, show nothing.
    throw new ConfigError(
      'init.headers',
      'header names that are HTTP tokens and values without CR, LF or NUL',
      init.headers,
      { secret: true, cause: error },
    );
  }
  let body: ServiceRequest['body'];
  const raw = init.body;
  if (raw === undefined || raw === null) body = null;
  else if (typeof raw === 'string' || raw instanceof Uint8Array) body = raw;
  else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
  else if (raw instanceof URLSearchParams) {
    body = raw.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (raw instanceof ReadableStream) {
    body = Readable.fromWeb(raw as Parameters<typeof Readable.fromWeb>[0]);
  } else {
    throw new ConfigError(
      'init.body',
      'a string, bytes, an ArrayBuffer, URLSearchParams, a ReadableStream or null',
      raw,
    );
  }
  const request: ServiceRequest = {
    method: init.method ?? 'GET',
    path: `${url.pathname}${url.search}`,
    headers,
    body,
    ...(init.signal !== undefined && { signal: init.signal }),
    ...(init.timeoutMs !== undefined && { timeoutMs: init.timeoutMs }),
    ...(init.deadlineMs !== undefined && { deadlineMs: init.deadlineMs }),
    ...(init.retryable !== undefined && { retryable: init.retryable }),
    ...(init.idempotencyKey !== undefined && { idempotencyKey: init.idempotencyKey }),
    ...(init.key !== undefined && { key: init.key }),
  };
  // Named after fetch's own fields; ServiceClient checks again under `request.` (cheap).
  checkRequestInput(request, 'init');
  return { service, request };
}

/** A URL as an error may show it: no query string, no credentials. */
function shownUrl(input: unknown): unknown {
  if (typeof input === 'string') return redactTarget(input);
  if (input instanceof URL) return redactTarget(input.href);
  return input;
}

/** Visible ASCII, as a header value may carry it without any encoding question. */
const PLAIN_HEADER_VALUE = /^[\x21-\x7e]*$/;

/**
 * An instance id as the `x-served-by` header carries it: Consul accepts any id (`pay☃`, even
 * CR/LF), a header value does not, so anything beyond visible ASCII is percent-encoded.
 */
function servedBy(id: string): string {
  return PLAIN_HEADER_VALUE.test(id) ? id : encodeURIComponent(id);
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * Wraps a ServiceResponse as a WHATWG Response (what fetch callers expect); `x-served-by` names
 * the instance (percent-encoded beyond visible ASCII). The ServiceClient has already refused a
 * status outside 200-599 with an UpstreamError.
 */
export function toFetchResponse(answer: ServiceResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(name, v);
      } catch {
        // undici's parser let it through, WHATWG Headers refuses it: left out rather than
        // failing a call whose request the upstream has already processed.
      }
    }
  }
  headers.set('x-served-by', servedBy(answer.instance.id));
  if (NULL_BODY_STATUSES.has(answer.statusCode)) {
    answer.body.resume();
    return new Response(null, { status: answer.statusCode, headers });
  }
  return new Response(Readable.toWeb(answer.body) as ConstructorParameters<typeof Response>[0], {
    status: answer.statusCode,
    headers,
  });
}
