import { buildConnector, Client, errors, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { ListenerSet } from '../events/listener-set';
import { raceAbort } from '../resilience/aborted-promise';
import { silentLogger } from '../logger';
import { connect as http2Connect } from 'node:http2';
import type { ClientHttp2Session, Settings } from 'node:http2';
import type { Duplex } from 'node:stream';
import { H2_STREAMS, lanePlan } from './connection-budget';
import type { AgentProtocol, ConnectionBudget, LanePlan } from './connection-budget';
import type { ResolvedConsulConnection } from './consul-environment';

/**
 * Longest wait for the agent's SETTINGS on the connection that learns its protocol, in ms (Consul
 * sends them with its first bytes); the calls before the first one wait for it.
 */
export const PROBE_SETTINGS_TIMEOUT_MS = 1_000;

/** The pools of a ConsulClient: see ConnectionBudget for what each lane carries. */
export type Lane = 'short' | 'control' | 'watch' | 'poll';

const { ClientDestroyedError } = errors;

const LANES: readonly Lane[] = ['short', 'control', 'watch', 'poll'];

/**
 * The four undici pools to one agent, shaped by a LanePlan for the protocol the agent speaks.
 * Over https with `http2` each connection offers h2 by ALPN, and the protocol the agent picked is
 * read from every socket before undici writes a byte on it: the plan starts as h2 (what Consul's Go
 * server picks), and a connection that comes back HTTP/1.1 is set to its lane's HTTP/1.1 pipelining
 * at once (never two blocking queries queued on one HTTP/1.1 connection) and the lanes are rebuilt
 * on the HTTP/1.1 plan for the calls after it; the listeners hear of the change (the watch
 * scheduler's slot count follows it). Before the first call the protocol (and over h2 the
 * agent's stream limit, see readSettings) is learnt on a connection of its own, closed at once,
 * and the calls wait for it: calls handed to the h2-plan
 * pools before a decline stayed queued there, several per HTTP/1.1 connection, each blocking query
 * behind another's whole wait, and a retired pool's connection held for a wait took the budget
 * over `maxConnections` (test/consul/agent-lanes.hostile.test.ts).
 */
export class AgentLanes {
  #plan: LanePlan;
  #pools: Record<Lane, Pool>;
  #protocol: AgentProtocol | undefined;
  readonly #listeners = new ListenerSet<LanePlan>('lane plan listener', () => silentLogger);
  /** Pools of an earlier plan, until they have finished their calls. */
  readonly #retired = new Set<Pool>();
  readonly #connect: buildConnector.connector;
  readonly #offersH2: boolean;
  /** The connection made only to learn the agent's protocol, while it is being made. */
  #learning: Promise<void> | undefined;
  /** The socket of that connection, while it is open. */
  #probeSocket: Duplex | undefined;
  /** Each pool as the calls send on it: through dropUnsentAborted. */
  readonly #senders = new WeakMap<Pool, Dispatcher>();
  #destroyed = false;
  /** Aborts at destroy(): the calls waiting for the protocol end there, not at their deadline. */
  readonly #closing = new AbortController();

  constructor(
    private readonly origin: string,
    private readonly budget: ConnectionBudget,
    private readonly poolOptions: Pool.Options,
    tls: ResolvedConsulConnection['tls'],
    http2: boolean,
  ) {
    const offersH2 = http2 && origin.startsWith('https:');
    this.#offersH2 = offersH2;
    this.#connect = buildConnector({ ...tls, allowH2: offersH2 });
    // Plain HTTP is HTTP/1.1 (no h2c: Consul's plain listener does not speak it by default).
    this.#protocol = origin.startsWith('https:') ? undefined : 'http/1.1';
    this.#plan = lanePlan(budget, offersH2 ? 'h2' : 'http/1.1');
    this.#pools = this.build(this.#plan);
  }

  /** The shapes the lanes have now. */
  get plan(): LanePlan {
    return this.#plan;
  }

  /** The protocol the agent answered the first connection with; undefined before one (https). */
  get protocol(): AgentProtocol | undefined {
    return this.#protocol;
  }

  /**
   * Sends `options` on `lane`'s pool, once the agent's protocol is known (see the class comment).
   * Settles when the call's own signal aborts, whatever undici is doing with the request.
   */
  async request(lane: Lane, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
    const signal = options.signal as AbortSignal | undefined;
    if (this.#protocol === undefined && this.#offersH2) {
      // The probe's TLS handshake may still be under way at destroy(): the wait ends there too.
      await raceAbort(raceAbort(this.learnProtocol(), this.#closing.signal), signal);
    }
    if (this.#destroyed) throw new ClientDestroyedError();
    // undici fails an aborted request only once it would write it: one queued behind the lane's
    // busy connections (blocking queries, or a connection still being made) would wait for them.
    // A response that arrives after the abort is nobody's: its body is dropped.
    const pool = this.#pools[lane];
    const sender = this.#senders.get(pool) ?? pool;
    return raceAbort(sender.request(options), signal, undefined, (late) => late.body.destroy());
  }

  /**
   * Opens one connection to read the agent's ALPN answer, then closes it; the calls waiting share
   * it. A failed one leaves the protocol unknown: the calls go on the h2 plan (the pools' own
   * sockets report their protocol too) and the next call tries again. undici's connect timeout
   * (10 s) bounds it.
   */
  private learnProtocol(): Promise<void> {
    this.#learning ??= new Promise<void>((resolve) => {
      const url = new URL(this.origin);
      const port = url.port || '443';
      // undici's connector returns the socket at once, while its TLS handshake runs (its types
      // say void): held as the probe's socket, destroy() ends the handshake too.
      const connect = this.#connect as (
        ...args: Parameters<buildConnector.connector>
      ) => Duplex | undefined;
      let answered = false;
      const connecting = connect(
        { hostname: url.hostname, host: url.host, protocol: url.protocol, port },
        (_error, socket) => {
          answered = true;
          const done = (): void => {
            this.#learning = undefined;
            resolve();
          };
          if (!socket) {
            this.#probeSocket = undefined;
            return done();
          }
          if (this.#destroyed) {
            socket.destroy();
            return done();
          }
          this.#probeSocket = socket;
          socket.once('close', () => (this.#probeSocket = undefined));
          const protocol = alpnProtocol(socket);
          const close = (): void => {
            this.learnt(protocol);
            // Closed before any pool connects: it never counts with theirs against the budget.
            // The peer may have closed it already, and 'close' comes once.
            if ((socket as { closed?: boolean }).closed === true) return done();
            socket.once('close', done);
            socket.destroy();
          };
          if (protocol === 'http/1.1') return close();
          this.readSettings(socket, close);
        },
      );
      if (!answered && connecting) this.#probeSocket = connecting;
    });
    return this.#learning;
  }

  /**
   * Reads the agent's first SETTINGS on the probe's h2 connection, then calls `then`: the first
   * calls go on lanes shaped for its stream limit (sent before a connection's SETTINGS arrive,
   * streams beyond the limit are refused). A peer that sends none within
   * PROBE_SETTINGS_TIMEOUT_MS is planned for H2_STREAMS.
   */
  private readSettings(socket: Duplex, then: () => void): void {
    const session = http2Connect(this.origin, { createConnection: () => socket });
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      session.destroy();
      then();
    };
    const timer = setTimeout(finish, PROBE_SETTINGS_TIMEOUT_MS);
    timer.unref();
    session.on('error', finish);
    session.once('close', finish);
    session.once('remoteSettings', (settings: Settings) => {
      if (settings.maxConcurrentStreams !== undefined) {
        this.planStreams(settings.maxConcurrentStreams);
      }
      finish();
    });
  }

  /** What undici says of each lane's pool now (diagnostics: connections, queued, running...). */
  poolStats(): Record<Lane, Pool['stats']> {
    const stats = {} as Record<Lane, Pool['stats']>;
    for (const lane of LANES) stats[lane] = this.#pools[lane].stats;
    return stats;
  }

  /**
   * Calls `listener` when the plan changes (the agent declined h2, or allows fewer streams per
   * connection). Returns an unsubscribe.
   */
  onPlanChange(listener: (plan: LanePlan) => void): () => void {
    return this.#listeners.add(listener);
  }

  /** Destroys every pool, the retired ones included: in-flight calls are aborted. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.#closing.abort(new ClientDestroyedError());
    // The probe's connection too: nothing of ours stays open after close().
    this.#probeSocket?.destroy();
    this.#listeners.clear();
    const pools = new Set([...Object.values(this.#pools), ...this.#retired]);
    await Promise.all([...pools].map((p) => p.destroy()));
  }

  private build(plan: LanePlan): Record<Lane, Pool> {
    const pools = {} as Record<Lane, Pool>;
    for (const lane of LANES) {
      const shape = plan[lane];
      // A lane without connections of its own (over h2, the poll lane) sends on the watch lane's:
      // undici counts its streams with the blocking ones, so none waits on the agent.
      if (shape.connections === 0) continue;
      pools[lane] = new Pool(this.origin, {
        ...this.poolOptions,
        connections: shape.connections,
        pipelining: shape.pipelining,
        allowH2: plan.protocol === 'h2',
        // What the session assumes until the agent's SETTINGS arrive (undici's default is 100).
        ...(plan.protocol === 'h2' && { maxConcurrentStreams: shape.pipelining }),
        factory: (origin, options) => this.client(origin, options, lane),
      });
      this.#senders.set(pools[lane], pools[lane].compose(dropUnsentAborted));
    }
    for (const lane of LANES) pools[lane] ??= pools.watch;
    return pools;
  }

  /** One connection of `lane`, whose socket's ALPN result is read before undici uses it. */
  private client(origin: URL, options: Client.Options, lane: Lane): Client {
    const client: Client = new Client(origin, {
      ...options,
      connect: (connectOptions, callback) => {
        this.#connect(connectOptions, (error, socket) => {
          if (socket) this.noteProtocol(alpnProtocol(socket), client, lane);
          (callback as (e: Error | null, s: typeof socket) => void)(error, socket);
        });
      },
    });
    client.on('connect', () => this.followSettings(client));
    return client;
  }

  /** Follows the SETTINGS of an h2 connection's agent: its stream limit shapes the lanes. */
  private followSettings(client: Client): void {
    const session = h2Session(client);
    if (!session) return;
    session.on('remoteSettings', (settings: Settings) => {
      if (settings.maxConcurrentStreams !== undefined) {
        this.noteStreams(settings.maxConcurrentStreams, client);
      }
    });
  }

  /**
   * The agent allows `streams` on one connection (at its SETTINGS, also when it shrinks them
   * later): this connection sends no more at once, and the lanes are rebuilt at the lowest limit
   * seen (the watch scheduler's slots follow). A limit that grows again is not followed.
   */
  private noteStreams(streams: number, client: Client): void {
    const allowed = Math.max(1, Math.min(H2_STREAMS, streams));
    client.pipelining = Math.min(client.pipelining ?? allowed, allowed);
    // Planned at a power of two below it: a peer shrinking its limit one stream at a time
    // rebuilds the lanes 8 times at most, not 249 (each rebuild leaves pools draining).
    this.planStreams(allowed);
  }

  /** The lanes at the lowest stream limit seen: a power of two at most `streams` (see noteStreams). */
  private planStreams(streams: number): void {
    const allowed = Math.max(1, Math.min(H2_STREAMS, streams));
    const planned = allowed >= H2_STREAMS ? H2_STREAMS : 2 ** Math.floor(Math.log2(allowed));
    if (this.#plan.protocol !== 'h2' || planned >= this.#plan.watch.pipelining) return;
    this.replace(lanePlan(this.budget, 'h2', planned));
  }

  /** Every lane on `plan` for the calls after now; the old pools finish what they carry. */
  private replace(plan: LanePlan): void {
    // A probe or a pool socket answering after destroy(): no new pools for a closed client.
    if (this.#destroyed) return;
    this.#plan = plan;
    const old = [...new Set(Object.values(this.#pools))];
    this.#pools = this.build(plan);
    // Their queued calls finish there; close() refuses new ones, which now go to the new pools.
    for (const pool of old) {
      this.#retired.add(pool);
      void pool
        .close()
        .catch(() => {})
        .finally(() => this.#retired.delete(pool));
    }
    this.#listeners.emit(plan);
  }

  private noteProtocol(protocol: AgentProtocol, client: Client, lane: Lane): void {
    // A connection that speaks HTTP/1.1: its lane's HTTP/1.1 depth (one request at a time, except
    // the poll lane), set before undici writes anything, also on a retired h2-plan pool's
    // connection made after the switch.
    if (protocol === 'http/1.1') {
      client.pipelining = Math.min(
        client.pipelining ?? 1,
        lanePlan(this.budget, protocol)[lane].pipelining,
      );
    }
    this.learnt(protocol);
  }

  /** The agent speaks `protocol`: on HTTP/1.1, once, every lane on the HTTP/1.1 plan. */
  private learnt(protocol: AgentProtocol): void {
    this.#protocol = protocol;
    if (protocol === 'h2' || this.#plan.protocol === 'http/1.1') return;
    this.replace(lanePlan(this.budget, 'http/1.1'));
  }
}

/**
 * An interceptor that drops a request whose signal aborted while undici kept it queued, at the
 * moment undici would write it, without touching the connection. undici's own abort of a request
 * not yet written destroys the socket it was about to go on (HTTP/1.1): every call aborted while
 * queued behind a lane's blocking query cost that lane a new connection (a TLS handshake) once it
 * freed, one after the other before the live calls queued after them, and a pipelined
 * connection's calls in flight were sent again. A throw from the handler's start is undici's way
 * to fail a request before it is written: it errors the request and leaves the socket alone.
 */
function dropUnsentAborted(dispatch: Dispatcher['dispatch']): Dispatcher['dispatch'] {
  return (options, handler) => {
    const { signal } = options as { signal?: AbortSignal };
    if (!signal) return dispatch(options, handler);
    return dispatch(options, {
      onRequestStart(controller, context: unknown) {
        if (signal.aborted) throw signal.reason;
        handler.onRequestStart?.(controller, context);
      },
      onRequestUpgrade: (controller, statusCode, headers, socket) =>
        handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
      onResponseStart: (controller, statusCode, headers, statusMessage) =>
        handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
    });
  };
}

/**
 * The HTTP/2 session undici runs on `client`'s connection, or undefined (HTTP/1.1). undici keeps
 * it under a private symbol and does not cap its streams at the agent's SETTINGS (undici 7.30);
 * test/consul/agent-lanes.hostile.test.ts fails if a new undici hides it otherwise.
 */
function h2Session(client: Client): ClientHttp2Session | undefined {
  const key = Object.getOwnPropertySymbols(client).find((s) => s.description === 'http2Session');
  const session = key && (client as unknown as Record<symbol, unknown>)[key];
  return session && typeof session === 'object' && 'remoteSettings' in session
    ? (session as ClientHttp2Session)
    : undefined;
}

/** What the agent picked by ALPN on `socket`: h2, or HTTP/1.1 for anything else. */
function alpnProtocol(socket: object): AgentProtocol {
  return (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
}
