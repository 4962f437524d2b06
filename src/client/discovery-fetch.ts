import { Readable } from 'node:stream';
import { Headers, Response } from 'undici';
import { ConfigError } from '../errors';
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

/** Splits `http://payments/charge?x=1` into the service name and the request to send. */
export function toServiceRequest(
  input: string | URL,
  init: DiscoveryFetchInit = {},
): { service: string; request: ServiceRequest } {
  const rule = 'a URL like http://SERVICE/path (the port comes from Consul)';
  let url: URL | undefined;
  try {
    url = new URL(input);
  } catch {
    url = undefined;
  }
  if (url === undefined || url.protocol !== 'http:' || url.port !== '') {
    // A URL may carry credentials: shown only when it holds no `@`.
    throw new ConfigError('url', rule, String(input), { secret: String(input).includes('@') });
  }
  const headers: Record<string, string> = {};
  new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => {
    headers[name] = value;
  });
  let body: ServiceRequest['body'];
  const raw = init.body;
  if (raw === undefined || raw === null) body = null;
  else if (typeof raw === 'string' || raw instanceof Uint8Array) body = raw;
  else if (raw instanceof ArrayBuffer) body = new Uint8Array(raw);
  else if (raw instanceof URLSearchParams) {
    body = raw.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else body = Readable.fromWeb(raw as Parameters<typeof Readable.fromWeb>[0]);
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
  return { service: decodeURIComponent(url.hostname), request };
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Wraps a ServiceResponse as a WHATWG Response (what fetch callers expect). */
export function toFetchResponse(answer: ServiceResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  headers.set('x-served-by', answer.instance.id);
  if (NULL_BODY_STATUSES.has(answer.statusCode)) {
    answer.body.resume();
    return new Response(null, { status: answer.statusCode, headers });
  }
  return new Response(Readable.toWeb(answer.body) as ConstructorParameters<typeof Response>[0], {
    status: answer.statusCode,
    headers,
  });
}
