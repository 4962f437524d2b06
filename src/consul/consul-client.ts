import { ListenerSet } from '../events/listener-set';
import { describeError } from '../error-summary';
import { silentLogger } from '../logger';
import { startDeadline } from '../resilience/deadline';
import { isFailureStatus } from '../resilience/failure-status';
import { inspect } from 'node:util';
import type { Dispatcher } from 'undici';
import {
  AbortedError,
  ClosedError,
  ConsulAclError,
  ConsulResponseError,
  ConsulUnavailableError,
} from '../errors';
import { AgentLanes } from './agent-lanes';
import { connectionBudget } from './connection-budget';
import type { AgentProtocol, ConnectionBudget, LanePlan } from './connection-budget';
import { isResolvedConnection, resolveConsulConnection } from './consul-environment';
import { parseJsonIncrementally } from './incremental-json';
import { SLICED_APPLY_MIN_ENTRIES, TimeSlicer } from './time-slicer';
import type { ConsulConnectionOptions, ResolvedConsulConnection } from './consul-environment';
import type { ConsulToken } from './consul-token';
import { readBody } from './read-body';
import type {
  AgentService,
  AgentServiceRegistration,
  ConsulQueryMeta,
  HealthCheck,
  HealthServiceEntry,
  HealthServiceQuery,
  HealthStateQuery,
} from './consul-types';
import type { KvEntry, KvQuery, SessionCreateRequest, SessionInfo } from './kv-types';

/** Query of the traffic-management reads (discovery chain, config entries). */
export interface TrafficQuery {
  /** Blocking: wait for an index above this one (with `waitMs`). */
  readonly index?: number;
  /** Longest wait of a blocking read, in ms. */
  readonly waitMs?: number;
  /** Datacenter to ask; default: the client's. */
  readonly datacenter?: string;
}

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
  /**
   * Which pool carries the call: `watch` for the watches' blocking queries, `poll` for their
   * non-blocking reads (pipelined), `short` (default) for the rest.
   */
  readonly lane?: ConsulLane;
  /** False for a call that must not be sent twice (it creates something). */
  readonly idempotent?: false;
}

/**
 * The pools a ConsulClient's calls go through (see ConnectionBudget): `watch` for the watches'
 * blocking queries, `poll` for their non-blocking reads, `control` for blocking KV and lock reads,
 * `short` for everything else. A closed set: it labels consul_throttled_total.
 */
export type ConsulLane = 'watch' | 'poll' | 'control' | 'short';

/** Every ConsulLane, e.g. to start each lane's series at 0. */
export const CONSUL_LANES: readonly ConsulLane[] = ['watch', 'poll', 'control', 'short'];

/** Told of each 429 the agent answers (its per-client connection limit), with the lane of the call. */
export type ThrottleListener = (lane: ConsulLane) => void;

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
 * Typed client for the few Consul HTTP endpoints express-consul needs, within a connection budget
 * (`maxConnections`): Consul refuses a client IP more than `limits.http_max_conns_per_client`
 * (200) concurrent connections with 429, and over HTTP/1.1 every blocking query holds one. Four
 * undici pools share the budget: the `watch` lane for blocking queries (the watch scheduler keeps
 * them within the lane's capacity), the `poll` lane for the watches' non-blocking reads (a couple
 * of connections, pipelined), the `control` lane for KV and lock blocking reads, and the `short`
 * lane for everything else (registration, its follow loop, the CLI's reads), so no watch can
 * starve them. Over https the agent is offered HTTP/2, where a connection carries many streams
 * (see lanePlan and AgentLanes).
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
  /** The four pools (short, control, watch, poll), shaped for the agent's protocol. */
  private readonly lanes: AgentLanes;
  /** How the connection budget is split between the lanes (see ConnectionBudget). */
  readonly connectionBudget: ConnectionBudget;
  // ConsulClient has no logger: a throwing throttle listener is dropped quietly, the caller still
  // gets the 429 it is owed.
  private readonly throttleListeners = new ListenerSet<ConsulLane>(
    'throttle listener',
    () => silentLogger,
  );
  private closed = false;

  /**
   * `options`: raw connection options (resolved here, with Consul's environment variables), or a
   * connection resolveConsulConnection already made at an edge (`expressConsul()`,
   * `createDiscovery()`, `createConfig()`), taken as it is.
   */
  constructor(options: ConsulConnectionOptions | ResolvedConsulConnection = {}) {
    const resolved = isResolvedConnection(options) ? options : resolveConsulConnection(options);
    this.origin = resolved.origin;
    this.datacenter = resolved.datacenter;
    this.#token = resolved.token;
    this.requestTimeoutMs = resolved.requestTimeoutMs;
    this.maxResponseBytes = resolved.maxResponseBytes;
    this.connectionBudget = connectionBudget(resolved.maxConnections);
    // Never more sockets than a lane's share: a call beyond it waits in undici's queue instead of
    // opening a connection Consul would refuse (and count against every other client on the host).
    this.lanes = new AgentLanes(
      resolved.origin,
      this.connectionBudget,
      {
        keepAliveTimeout: 30_000,
        // Our own per-call deadline governs; undici's defaults (300 s) would outlive it anyway.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      resolved.tls,
      resolved.http2,
    );
  }

  /**
   * The protocol the agent speaks to this client: `h2` when an https agent accepted HTTP/2 (ALPN),
   * else `http/1.1`; undefined over https until the first connection was made.
   */
  get protocol(): AgentProtocol | undefined {
    return this.lanes.protocol;
  }

  /** How the lanes use their connections now (see lanePlan): h2 until an https agent declines it. */
  get lanePlan(): LanePlan {
    return this.lanes.plan;
  }

  /**
   * Calls `listener` when the lane plan changes (an https agent declined h2, or allows fewer
   * streams per connection). Returns an unsubscribe.
   */
  onLanePlanChange(listener: (plan: LanePlan) => void): () => void {
    return this.lanes.onPlanChange(listener);
  }

  /**
   * Calls `listener` for every 429 the agent answers, whatever the call (its lane says which pool
   * carried it): the metric of refusals sees them all, not only the watches'. Returns the function
   * that removes the listener.
   */
  onThrottled(listener: ThrottleListener): () => void {
    return this.throttleListeners.add(listener);
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
    const blocking = this.blocking(query.index, query.waitMs);
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
        ...blocking.query,
      },
      timeoutMs: blocking.timeoutMs,
      signal: options.signal,
      lane: blocking.waitMs !== undefined ? 'watch' : 'poll',
    });
    const body = await this.parseLargeJson(path, answer, options.signal);
    if (!Array.isArray(body) || !(await this.allHealthEntries(path, body, options.signal))) {
      throw new ConsulResponseError(
        `GET ${path}`,
        answer.status,
        'answer is not a list of health entries',
      );
    }
    return { data: body as HealthServiceEntry[], meta: queryMeta(answer.headers) };
  }

  /**
   * `GET /v1/health/state/any`: every check of the datacenter, optionally as a blocking query that
   * returns on any check change (a registration or deregistration included: its checks come or go).
   * One such query tells which services changed, so that they alone need a read. Watch lane.
   */
  async healthStateAny(
    query: HealthStateQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<HealthCheck[]>> {
    const path = '/v1/health/state/any';
    const blocking = this.blocking(query.index, query.waitMs);
    const answer = await this.call({
      method: 'GET',
      path,
      query: {
        dc: query.datacenter ?? this.datacenter,
        stale: query.stale ? '' : undefined,
        ...blocking.query,
      },
      timeoutMs: blocking.timeoutMs,
      signal: options.signal,
      lane: 'watch',
    });
    const body = await this.parseLargeJson(path, answer, options.signal);
    if (!Array.isArray(body) || !body.every(isHealthCheck)) {
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not a list of checks');
    }
    return { data: body, meta: queryMeta(answer.headers) };
  }

  /**
   * `GET /v1/discovery-chain/:name` (Consul's compiled service-router/splitter/resolver graph),
   * optionally blocking. The body is handed back unparsed: `parseDiscoveryChain` validates it.
   * Blocking reads go on the watch lane, in room the owner reserved with the watch scheduler.
   */
  async discoveryChain(
    name: string,
    query: TrafficQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<unknown>> {
    const path = `/v1/discovery-chain/${encodeURIComponent(name)}`;
    const answer = await this.trafficRead(path, query, options);
    return { data: this.parseJson(path, answer), meta: queryMeta(answer.headers) };
  }

  /**
   * `GET /v1/config/:kind`: every config entry of one kind (`service-resolver`, ...), optionally
   * blocking; an answer that is not a list is a ConsulResponseError. Watch lane when blocking.
   */
  async configEntries(
    kind: string,
    query: TrafficQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<unknown[]>> {
    const path = `/v1/config/${encodeURIComponent(kind)}`;
    const answer = await this.trafficRead(path, query, options);
    const body = this.parseJson(path, answer);
    // Consul answers `null` for a kind with no entry.
    if (body === null) return { data: [], meta: queryMeta(answer.headers) };
    if (!Array.isArray(body)) {
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not a list');
    }
    return { data: body as unknown[], meta: queryMeta(answer.headers) };
  }

  /**
   * A read of traffic-management data: blocking ones on the watch lane (their owner reserves room
   * with the watch scheduler), plain ones on the short. On the control lane the three list watches
   * and the chains took every HTTP/1.1 connection of KV configurations and locks.
   */
  private trafficRead(path: string, query: TrafficQuery, options: CallOptions) {
    const blocking = this.blocking(query.index, query.waitMs);
    return this.call({
      method: 'GET',
      path,
      query: { dc: query.datacenter ?? this.datacenter, ...blocking.query },
      timeoutMs: blocking.timeoutMs,
      signal: options.signal,
      lane: blocking.waitMs !== undefined ? 'watch' : 'short',
    });
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

  /** Closes the connection pools; idempotent. In-flight blocking queries are aborted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lanes.destroy();
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

  /**
   * The index rule every blocking read shares: it blocks only from an index above 0 (Consul's own
   * rule), with `wait` in the query and a deadline of the wait plus Consul's jitter and a margin;
   * otherwise it is a plain read under the request timeout.
   */
  private blocking(
    index: number | undefined,
    waitMs: number | undefined,
  ): {
    readonly waitMs: number | undefined;
    readonly query: { readonly index?: string; readonly wait?: string };
    readonly timeoutMs: number;
  } {
    if (index === undefined || index <= 0 || waitMs === undefined) {
      return { waitMs: undefined, query: {}, timeoutMs: this.requestTimeoutMs };
    }
    return {
      waitMs,
      query: { index: String(index), wait: `${Math.ceil(waitMs)}ms` },
      timeoutMs: blockingDeadlineMs(waitMs) + this.requestTimeoutMs,
    };
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

  /** parseJson for answers that may be large: yields to the event loop while it parses. */
  private async parseLargeJson(
    path: string,
    answer: RawAnswer,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    try {
      return await parseJsonIncrementally(answer.text, signal ? { signal } : {});
    } catch (error) {
      if (signal?.aborted) throw new AbortedError(`GET ${path} aborted`, { cause: signal.reason });
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not JSON', {
        cause: error,
      });
    }
  }

  /**
   * `entries.every(isHealthEntry)`; a large answer is checked in slices (see TimeSlicer), so that
   * the check of 50,000 entries does not hold the event loop. AbortedError once `signal` fired.
   */
  private async allHealthEntries(
    path: string,
    entries: readonly unknown[],
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    if (entries.length < SLICED_APPLY_MIN_ENTRIES) return entries.every(isHealthEntry);
    const slicer = new TimeSlicer({ signal });
    try {
      for (let i = 0; i < entries.length; i++) {
        if (!isHealthEntry(entries[i])) return false;
        if ((i & 63) === 0 && slicer.due()) await slicer.pause();
      }
    } catch (error) {
      throw new AbortedError(`GET ${path} aborted`, { cause: signal?.reason ?? error });
    }
    return true;
  }

  private async call(spec: CallSpec): Promise<RawAnswer> {
    const endpoint = `${spec.method} ${spec.path}`;
    if (this.closed) throw new ClosedError('ConsulClient');
    if (spec.signal?.aborted)
      throw new AbortedError(`${endpoint} aborted`, { cause: spec.signal.reason });

    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      accept: 'application/json',
    };
    if (this.#token !== undefined) headers['x-consul-token'] = this.#token.reveal();
    const request: Dispatcher.RequestOptions = {
      method: spec.method,
      path: spec.path + queryString(spec.query),
      headers,
      // undici keeps a request it deems non-idempotent (any PUT) off a connection with others in
      // flight: over h2 a registration would wait behind the blocking follow on the short lane's
      // one connection. Ours are idempotent (replace, deregister, acquire by the same session...),
      // so undici may resend one whose connection dropped; a session create says it is not.
      idempotent: spec.idempotent ?? true,
    };
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      request.body = JSON.stringify(spec.body);
    }

    const timeoutMs = spec.timeoutMs ?? this.requestTimeoutMs;
    const deadline = startDeadline(timeoutMs, spec.signal);
    request.signal = deadline.signal;
    try {
      const response = await this.lanes.request(spec.lane ?? 'short', request);
      const text = await readBody(response, this.maxResponseBytes, endpoint);
      const answer: RawAnswer = { status: response.statusCode, text, headers: response.headers };
      if (answer.status < 300 || spec.allowStatus?.includes(answer.status)) return answer;
      if (answer.status === 429) this.throttled(spec.lane ?? 'short');
      throw statusError(endpoint, answer);
    } catch (error) {
      if (error instanceof ConsulAclError || error instanceof ConsulResponseError) throw error;
      if (error instanceof ConsulUnavailableError) throw error;
      if (spec.signal?.aborted)
        throw new AbortedError(`${endpoint} aborted`, { cause: spec.signal.reason });
      if (this.closed) throw new ClosedError('ConsulClient');
      if (deadline.expired)
        throw new ConsulUnavailableError(endpoint, `no answer within ${timeoutMs} ms`);
      throw new ConsulUnavailableError(endpoint, describeError(error), { cause: error });
    } finally {
      deadline.dispose();
    }
  }

  private throttled(lane: ConsulLane): void {
    this.throttleListeners.emit(lane);
  }

  // --- KV and sessions (src/kv, src/leader) ---

  /**
   * `GET /v1/kv/:key` (with `recurse`, every key under a prefix), optionally blocking (`index` +
   * `waitMs`). A key Consul does not have is an empty list, not an error: Consul answers 404 with
   * an index, and a blocking query on it waits for the key to appear. Values come decoded to UTF-8.
   */
  async kvGet(
    key: string,
    query: KvQuery = {},
    options: CallOptions = {},
  ): Promise<ConsulQueryResult<KvEntry[]>> {
    const path = `/v1/kv/${encodeKvKey(key)}`;
    const blocking = this.blocking(query.index, query.waitMs);
    const answer = await this.call({
      method: 'GET',
      path,
      query: {
        recurse: query.recurse ? '' : undefined,
        dc: this.datacenter,
        stale: query.stale ? '' : undefined,
        ...blocking.query,
      },
      timeoutMs: blocking.timeoutMs,
      signal: options.signal,
      // A blocking read holds its connection for the whole wait: never one of the short calls'.
      lane: blocking.waitMs !== undefined ? 'control' : 'short',
      allowStatus: [404],
    });
    const meta = queryMeta(answer.headers);
    if (answer.status === 404) return { data: [], meta };
    const body = this.parseJson(path, answer);
    if (!Array.isArray(body) || !body.every(isRawKvEntry)) {
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not a list of keys');
    }
    return { data: body.map(toKvEntry), meta };
  }

  /**
   * `PUT /v1/kv/:key?acquire=SESSION`: takes the key's lock for `session`, writing `value` (JSON).
   * Resolves true when the session holds the lock now, false when another session does (or the
   * key is in its lock delay).
   */
  async kvAcquire(
    key: string,
    session: string,
    value: unknown,
    options: CallOptions = {},
  ): Promise<boolean> {
    return this.kvLockCall(key, { acquire: session }, value, options);
  }

  /** `PUT /v1/kv/:key?release=SESSION`: gives the lock up (no lock delay); true when released. */
  async kvRelease(key: string, session: string, options: CallOptions = {}): Promise<boolean> {
    return this.kvLockCall(key, { release: session }, undefined, options);
  }

  /** `PUT /v1/session/create` on the local agent's node; resolves with the session id. */
  async sessionCreate(request: SessionCreateRequest, options: CallOptions = {}): Promise<string> {
    const path = '/v1/session/create';
    const answer = await this.call({
      method: 'PUT',
      path,
      query: { dc: this.datacenter },
      body: request,
      signal: options.signal,
      idempotent: false,
    });
    const body = this.parseJson(path, answer);
    if (!isRecord(body) || typeof body.ID !== 'string') {
      throw new ConsulResponseError(`PUT ${path}`, answer.status, 'answer has no session ID');
    }
    return body.ID;
  }

  /** `PUT /v1/session/destroy/:id`; an unknown session is not an error. */
  async sessionDestroy(session: string, options: CallOptions = {}): Promise<void> {
    await this.call({
      method: 'PUT',
      path: `/v1/session/destroy/${encodeURIComponent(session)}`,
      query: { dc: this.datacenter },
      signal: options.signal,
    });
  }

  /** `GET /v1/session/info/:id`: the session, or undefined once Consul invalidated it. */
  async sessionInfo(session: string, options: CallOptions = {}): Promise<SessionInfo | undefined> {
    const path = `/v1/session/info/${encodeURIComponent(session)}`;
    const answer = await this.call({
      method: 'GET',
      path,
      query: { dc: this.datacenter },
      signal: options.signal,
    });
    const body = this.parseJson(path, answer);
    if (body === null) return undefined;
    if (!Array.isArray(body)) {
      throw new ConsulResponseError(`GET ${path}`, answer.status, 'answer is not a list');
    }
    const first: unknown = body[0];
    return isRecord(first) && typeof first.ID === 'string'
      ? (first as unknown as SessionInfo)
      : undefined;
  }

  private async kvLockCall(
    key: string,
    query: Record<string, string>,
    value: unknown,
    options: CallOptions,
  ): Promise<boolean> {
    const path = `/v1/kv/${encodeKvKey(key)}`;
    const answer = await this.call({
      method: 'PUT',
      path,
      query: { ...query, dc: this.datacenter },
      body: value,
      signal: options.signal,
    });
    const body = this.parseJson(path, answer);
    if (typeof body !== 'boolean') {
      throw new ConsulResponseError(`PUT ${path}`, answer.status, 'answer is not true or false');
    }
    return body;
  }
}

/** A KV key in a path: each segment encoded, the `/` between them kept (Consul's key hierarchy). */
function encodeKvKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

interface RawKvEntry {
  Key: string;
  Value: string | null;
  Flags?: number;
  Session?: string;
  ModifyIndex: number;
  LockIndex?: number;
}

function isRawKvEntry(value: unknown): value is RawKvEntry {
  return (
    isRecord(value) &&
    typeof value.Key === 'string' &&
    (value.Value === null || typeof value.Value === 'string') &&
    typeof value.ModifyIndex === 'number'
  );
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function toKvEntry(raw: RawKvEntry): KvEntry {
  const bytes = raw.Value === null ? null : Buffer.from(raw.Value, 'base64');
  let invalidUtf8 = false;
  if (bytes !== null) {
    try {
      strictUtf8.decode(bytes);
    } catch {
      // Said, not hidden: a lossy decode would hand a silently changed document to the parser.
      invalidUtf8 = true;
    }
  }
  return {
    ...(invalidUtf8 && { invalidUtf8: true as const }),
    Key: raw.Key,
    Value: bytes === null ? null : bytes.toString('utf8'),
    Flags: raw.Flags ?? 0,
    Session: typeof raw.Session === 'string' && raw.Session !== '' ? raw.Session : undefined,
    ModifyIndex: raw.ModifyIndex,
    LockIndex: raw.LockIndex ?? 0,
  };
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
  if (isFailureStatus(answer.status) || answer.status === 429) {
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

/**
 * Whether one health entry has the shape Consul gives it. An answer with any entry of another
 * shape is not from a working Consul (a proxy's error page, a broken agent): refused whole, so the
 * watch keeps its last good list. Values are checked per entry later (`parseServiceInstances`),
 * which leaves an invalid registration out. Consul omits zero values: a registration without a
 * port comes with no `Port` at all, a shape in its own right, which must cost only that entry
 * (refusing the answer let one such registration hide every instance of its service).
 */
function isHealthEntry(value: unknown): value is HealthServiceEntry {
  if (!isRecord(value) || !isRecord(value.Service) || !isRecord(value.Node)) return false;
  const service = value.Service;
  return (
    typeof service.ID === 'string' &&
    typeof service.Service === 'string' &&
    (service.Port === undefined || typeof service.Port === 'number') &&
    typeof service.Address === 'string' &&
    typeof value.Node.Address === 'string' &&
    Array.isArray(value.Checks)
  );
}

function isHealthCheck(value: unknown): value is HealthCheck {
  return (
    isRecord(value) &&
    typeof value.Node === 'string' &&
    typeof value.CheckID === 'string' &&
    typeof value.Status === 'string' &&
    typeof value.ServiceName === 'string'
  );
}
