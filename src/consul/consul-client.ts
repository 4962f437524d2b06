import { inspect } from 'node:util';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import {
  AbortedError,
  ClosedError,
  ConsulAclError,
  ConsulResponseError,
  ConsulUnavailableError,
} from '../errors';
import { resolveConsulConnection } from './consul-environment';
import type { ConsulConnectionOptions, ResolvedConsulConnection } from './consul-environment';
import type { ConsulToken } from './consul-token';
import { readBody } from './read-body';
import type {
  AgentService,
  AgentServiceRegistration,
  ConsulQueryMeta,
  HealthServiceEntry,
  HealthServiceQuery,
} from './consul-types';

/** Per-call options of every ConsulClient method. */
export interface CallOptions {
  /** Aborts the call at once; the promise rejects with AbortedError. */
  readonly signal?: AbortSignal;
}

/** Answer of a blocking-capable read: the data plus Consul's query metadata. */
export interface ConsulQueryResult<T> {
  readonly data: T;
  readonly meta: ConsulQueryMeta;
}

interface CallSpec {
  readonly method: 'GET' | 'PUT';
  /** Path without query string; also names the endpoint in errors. */
  readonly path: string;
  /** Only routing/blocking parameters: a token never goes here (Consul reads it from the header). */
  readonly query?: Record<string, string | undefined> | undefined;
  readonly body?: unknown;
  readonly timeoutMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Statuses handed back to the caller instead of thrown (e.g. 404 for "not registered"). */
  readonly allowStatus?: readonly number[];
}

interface RawAnswer {
  readonly status: number;
  readonly text: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

const USER_AGENT = 'express-consul';

function header(headers: RawAnswer['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Typed client for the few Consul HTTP endpoints express-consul needs, over one undici pool.
 * The ACL token travels only in the `X-Consul-Token` header and is never logged or put in a URL.
 */
export class ConsulClient {
  /** Resolved connection settings (the token is kept private). */
  readonly origin: string;
  readonly datacenter: string | undefined;
  // #private, and the holder never prints: util.inspect and JSON.stringify cannot show it.
  readonly #token: ConsulToken | undefined;
  private readonly requestTimeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly pool: Pool;
  private closed = false;

  constructor(options: ConsulConnectionOptions | ResolvedConsulConnection = {}) {
    const resolved = 'origin' in options ? options : resolveConsulConnection(options);
    this.origin = resolved.origin;
    this.datacenter = resolved.datacenter;
    this.#token = resolved.token;
    this.requestTimeoutMs = resolved.requestTimeoutMs;
    this.maxResponseBytes = resolved.maxResponseBytes;
    this.pool = new Pool(resolved.origin, {
      // Blocking queries hold a connection each; the agent is local, so no cap is needed.
      connections: null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      // Our own per-call deadline governs; undici's defaults (300 s) would outlive it anyway.
      headersTimeout: 0,
      bodyTimeout: 0,
      ...(resolved.tls && { connect: { ...resolved.tls } }),
    });
  }

  /** True when an ACL token is configured (the token itself is never exposed). */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /** `PUT /v1/agent/service/register`, replacing the checks of an existing registration. */
  async registerService(
    registration: AgentServiceRegistration,
    options: CallOptions = {},
  ): Promise<void> {
    await this.call({
      method: 'PUT',
      path: '/v1/agent/service/register',
      query: { 'replace-existing-checks': 'true' },
      body: registration,
      signal: options.signal,
    });
  }

  /** `PUT /v1/agent/service/deregister/:id`; an id the agent does not know is not an error. */
  async deregisterService(serviceId: string, options: CallOptions = {}): Promise<void> {
    await this.call({
      method: 'PUT',
      path: `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`,
      signal: options.signal,
      allowStatus: [404],
    });
  }

  /** `PUT /v1/agent/service/maintenance/:id`: enable (with a reason) or disable maintenance mode. */
  async setServiceMaintenance(
    serviceId: string,
    enable: boolean,
    reason?: string,
    options: CallOptions = {},
  ): Promise<void> {
    await this.call({
      method: 'PUT',
      path: `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}`,
      query: { enable: String(enable), reason: enable ? reason : undefined },
      signal: options.signal,
    });
  }

  /**
   * `GET /v1/agent/service/:id`: the local agent's registration, or undefined when it has none.
   * With `hash` and `waitMs` it blocks until the registration differs from `hash` (Consul's
   * hash-based blocking), so a caller can follow its own registration without polling.
   */
  async getAgentService(
    serviceId: string,
    options: CallOptions & { readonly hash?: string; readonly waitMs?: number } = {},
  ): Promise<{ service: AgentService; contentHash: string | undefined } | undefined> {
    const path = `/v1/agent/service/${encodeURIComponent(serviceId)}`;
    const blocking = options.hash !== undefined && options.waitMs !== undefined;
    const answer = await this.call({
      method: 'GET',
      path,
      query: blocking
        ? { hash: options.hash, wait: `${Math.ceil(options.waitMs ?? 0)}ms` }
        : undefined,
      timeoutMs: blocking
        ? blockingDeadlineMs(options.waitMs ?? 0) + this.requestTimeoutMs
        : undefined,
      signal: options.signal,
      allowStatus: [404],
    });
    if (answer.status === 404) return undefined;
    const body = this.parseJson(path, answer);
    if (!isRecord(body) || typeof body.ID !== 'string') {
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not a service');
    }
    return {
      service: body as unknown as AgentService,
      contentHash: header(answer.headers, 'x-consul-contenthash'),
    };
  }

  /**
   * `GET /v1/health/service/:name`, optionally as a blocking query (`index` + `waitMs`).
   * The call's deadline is `waitMs` plus Consul's wait/16 jitter and a margin.
   */
  async healthService(
    name: string,
    query: HealthServiceQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<HealthServiceEntry[]>> {
    const path = `/v1/health/service/${encodeURIComponent(name)}`;
    const waitMs = query.index !== undefined && query.index > 0 ? query.waitMs : undefined;
    const answer = await this.call({
      method: 'GET',
      path,
      query: {
        passing: query.passingOnly ? '' : undefined,
        tag: query.tag,
        dc: query.datacenter ?? this.datacenter,
        filter: query.filter,
        stale: query.stale ? '' : undefined,
        cached: query.cached ? '' : undefined,
        index: waitMs !== undefined ? String(query.index) : undefined,
        wait: waitMs !== undefined ? `${Math.ceil(waitMs)}ms` : undefined,
      },
      timeoutMs:
        waitMs !== undefined
          ? blockingDeadlineMs(waitMs) + this.requestTimeoutMs
          : this.requestTimeoutMs,
      signal: options.signal,
    });
    const body = this.parseJson(path, answer);
    if (!Array.isArray(body) || !body.every(isHealthEntry)) {
      throw new ConsulResponseError(
        `GET ${path}`,
        answer.status,
        'answer is not a list of health entries',
      );
    }
    return { data: body, meta: queryMeta(answer.headers) };
  }

  /** `GET /v1/catalog/services`: every service name with its tags. */
  async catalogServices(options: CallOptions = {}): Promise<Record<string, string[]>> {
    const path = '/v1/catalog/services';
    const answer = await this.call({
      method: 'GET',
      path,
      query: { dc: this.datacenter },
      signal: options.signal,
    });
    const body = this.parseJson(path, answer);
    if (!isRecord(body))
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'not an object');
    return body as Record<string, string[]>;
  }

  /** `GET /v1/status/leader`: the Raft leader's address, or '' while there is none. */
  async statusLeader(options: CallOptions = {}): Promise<string> {
    const path = '/v1/status/leader';
    const answer = await this.call({ method: 'GET', path, signal: options.signal });
    const body = this.parseJson(path, answer);
    if (typeof body !== 'string')
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'not a string');
    return body;
  }

  /** Closes the connection pool; idempotent. In-flight blocking queries are aborted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * What printing a client shows: its settings, never its pool, whose queued requests hold the
   * token in their headers (reachable by `util.inspect` with a large `depth`).
   */
  toJSON(): { origin: string; datacenter: string | undefined; hasToken: boolean } {
    return { origin: this.origin, datacenter: this.datacenter, hasToken: this.hasToken };
  }

  [inspect.custom](): string {
    return `ConsulClient ${inspect(this.toJSON())}`;
  }

  private parseJson(path: string, answer: RawAnswer): unknown {
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (error) {
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not JSON', {
        cause: error,
      });
    }
  }

  private async call(spec: CallSpec): Promise<RawAnswer> {
    const endpoint = `${spec.method} ${spec.path}`;
    if (this.closed) throw new ClosedError('ConsulClient');
    if (spec.signal?.aborted)
      throw new AbortedError(`${endpoint} aborted`, { cause: spec.signal.reason });

    const controller = new AbortController();
    const timeoutMs = spec.timeoutMs ?? this.requestTimeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    timer.unref();
    const onCallerAbort = (): void => controller.abort();
    spec.signal?.addEventListener('abort', onCallerAbort, { once: true });

    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      accept: 'application/json',
    };
    if (this.#token !== undefined) headers['x-consul-token'] = this.#token.reveal();
    const request: Dispatcher.RequestOptions = {
      method: spec.method,
      path: spec.path + queryString(spec.query),
      headers,
      signal: controller.signal,
    };
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      request.body = JSON.stringify(spec.body);
    }

    try {
      const response = await this.pool.request(request);
      const text = await readBody(response, this.maxResponseBytes, endpoint);
      const answer: RawAnswer = { status: response.statusCode, text, headers: response.headers };
      if (answer.status < 300 || spec.allowStatus?.includes(answer.status)) return answer;
      throw statusError(endpoint, answer);
    } catch (error) {
      if (error instanceof ConsulAclError || error instanceof ConsulResponseError) throw error;
      if (error instanceof ConsulUnavailableError) throw error;
      if (spec.signal?.aborted)
        throw new AbortedError(`${endpoint} aborted`, { cause: spec.signal.reason });
      if (this.closed) throw new ClosedError('ConsulClient');
      if (timedOut) throw new ConsulUnavailableError(endpoint, `no answer within ${timeoutMs} ms`);
      throw new ConsulUnavailableError(endpoint, describeNetworkError(error), { cause: error });
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

/** How long a blocking query may take before we call it lost: wait + Consul's wait/16 jitter + margin. */
export function blockingDeadlineMs(waitMs: number): number {
  return waitMs + Math.max(Math.ceil(waitMs / 10), 1_000);
}

function statusError(endpoint: string, answer: RawAnswer): Error {
  if (answer.status === 401 || answer.status === 403) {
    return new ConsulAclError(endpoint, answer.status, answer.text.slice(0, 500));
  }
  // Consul 1.16 answers a malformed filter expression with 500; it is the caller's mistake, not an outage.
  if (answer.status === 500 && /Failed to create boolean expression evaluator/.test(answer.text)) {
    return new ConsulResponseError(endpoint, answer.status, answer.text.slice(0, 500));
  }
  if (answer.status >= 500 || answer.status === 429) {
    return new ConsulUnavailableError(
      endpoint,
      `answered ${answer.status} ${answer.text.slice(0, 200).trim()}`,
      {
        status: answer.status,
      },
    );
  }
  return new ConsulResponseError(endpoint, answer.status, answer.text.slice(0, 500));
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function queryString(query: CallSpec['query']): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    parts.push(
      value === ''
        ? encodeURIComponent(key)
        : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
    );
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function queryMeta(headers: RawAnswer['headers']): ConsulQueryMeta {
  const rawIndex = header(headers, 'x-consul-index');
  const index = rawIndex !== undefined && /^\d+$/.test(rawIndex) ? Number(rawIndex) : undefined;
  return {
    index,
    knownLeader: header(headers, 'x-consul-knownleader') === 'true',
    lastContactMs: Number(header(headers, 'x-consul-lastcontact') ?? 0) || 0,
    cache: header(headers, 'x-cache'),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHealthEntry(value: unknown): value is HealthServiceEntry {
  if (!isRecord(value) || !isRecord(value.Service) || !isRecord(value.Node)) return false;
  const service = value.Service;
  return (
    typeof service.ID === 'string' &&
    typeof service.Service === 'string' &&
    typeof service.Port === 'number' &&
    typeof service.Address === 'string' &&
    typeof value.Node.Address === 'string' &&
    Array.isArray(value.Checks)
  );
}
