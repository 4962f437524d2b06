import { ConfigError } from '../errors';

/**
 * How one process's connections to its Consul agent are shared out. Consul counts TCP connections
 * per client IP (`limits.http_max_conns_per_client`, 200 by default) and answers 429 beyond it, to
 * that client and to every other on the same IP: the CLI, a sidecar, the other workers of a cluster.
 * Over HTTP/1.1 each share is the lane's connection count; over h2 (https agents) it is a ceiling
 * the lane stays far below: one connection per lane, H2_WATCH_CONNECTIONS for the watches, each
 * carrying H2_STREAMS requests at once (see lanePlan).
 */
export interface ConnectionBudget {
  /** Every connection this process may open to the agent. */
  readonly total: number;
  /**
   * Connections for the watches' reads: blocking queries of the services that have a slot, the
   * one cluster-wide check watch, and the reads of the services that have none.
   */
  readonly watch: number;
  /**
   * Of `watch`, the connections that carry the non-blocking reads (the services without a slot and
   * every watch's first read), each with up to POLL_PIPELINING requests pipelined on it; the rest
   * of `watch` carries blocking queries only, one per connection.
   */
  readonly poll: number;
  /**
   * Connections for the blocking reads of KV configurations and lock watches (`consul.config()`,
   * `consul.leader()`, `consul.lock()`): apart from the short calls, which a blocking read would
   * otherwise hold up for its whole wait, and from the watches' slots, which the scheduler counts.
   */
  readonly control: number;
  /**
   * Connections kept for everything else (register, deregister, maintenance, the registration's own
   * follow loop, catalog and status reads), so that no number of watches can starve them.
   */
  readonly short: number;
}

/** Connections of the watch share for non-blocking reads (fewer only when `watch` is 2). */
export const POLL_CONNECTIONS = 2;

/**
 * Non-blocking reads in flight on one poll connection (HTTP/1.1 pipelining, which Go's server
 * answers in order). One read at a time per connection made the first reads of 1,000 services
 * wait for a round trip each: ~57 ms on a loaded 2-core host with 4 processes, ~30-35 reads/s per
 * process, 20 s before all were ready. Pipelined, a process keeps 16 reads in flight on 2 sockets.
 */
export const POLL_PIPELINING = 8;

/** Least `maxConnections`: two short, one control and two watch connections (one of them for reads). */
export const MIN_CONNECTIONS = 5;

/**
 * Splits `total` connections: a quarter, at least 2 and at most 4, for short calls; an eighth, at
 * least 1 and at most 4, for KV and lock blocking reads; the rest for watches, of which
 * POLL_CONNECTIONS for non-blocking reads. With the default 32: 4 short, 4 control, 24 for watches
 * (2 of them for non-blocking reads).
 */
export function connectionBudget(total: number, path = 'consul.maxConnections'): ConnectionBudget {
  if (!Number.isInteger(total) || total < MIN_CONNECTIONS) {
    throw new ConfigError(path, `an integer >= ${MIN_CONNECTIONS}`, total);
  }
  const short = Math.max(2, Math.min(4, Math.floor(total / 4)));
  const control = Math.max(1, Math.min(4, Math.floor(total / 8)));
  const watch = total - short - control;
  // At least one watch connection stays for blocking queries (the check watch needs one).
  const poll = Math.min(POLL_CONNECTIONS, watch - 1);
  return Object.freeze({ total, watch, poll, control, short });
}

/**
 * Blocking queries traffic management holds on the watch lane: its three config-entry lists
 * (src/traffic/config-entry-index.ts; the chains read when a list answers, without blocking).
 */
export const TRAFFIC_BLOCKING_QUERIES = 3;

/**
 * Refuses a budget whose watch lane cannot hold the traffic-management lists and the check watch
 * beside them, blocking each on a connection of its own over HTTP/1.1: one of them would wait in
 * the lane's queue behind the others' whole wait, and a config-entry write or a health change
 * it follows would go unseen for up to a minute. `maxConnections` 9 is the least.
 */
export function requireTrafficRoom(budget: ConnectionBudget, path = 'consul.maxConnections'): void {
  const needed = TRAFFIC_BLOCKING_QUERIES + 1;
  if (budget.watch - budget.poll >= needed) return;
  throw new ConfigError(
    path,
    `an integer >= ${leastTotalFor(needed)} with discovery.trafficManagement (its ${TRAFFIC_BLOCKING_QUERIES} config-entry lists and the check watch each block on a watch connection)`,
    budget.total,
  );
}

/** The least `total` whose budget gives `blocking` watch connections for blocking queries. */
function leastTotalFor(blocking: number): number {
  let total = MIN_CONNECTIONS;
  while (connectionBudget(total).watch - connectionBudget(total).poll < blocking) total += 1;
  return total;
}

/** The protocol a connection to the agent speaks (its TLS ALPN; plain HTTP is always HTTP/1.1). */
export type AgentProtocol = 'http/1.1' | 'h2';

/** How one lane (one undici pool) uses its connections. */
export interface LaneShape {
  /** Most connections the lane opens. */
  readonly connections: number;
  /** Requests in flight on one connection: HTTP/1.1 pipelining depth, or h2 streams. */
  readonly pipelining: number;
}

/** The lanes' shapes for one protocol, within a ConnectionBudget. */
export interface LanePlan {
  readonly protocol: AgentProtocol;
  readonly short: LaneShape;
  readonly control: LaneShape;
  /** Blocking queries only. */
  readonly watch: LaneShape;
  /** The watches' non-blocking reads. */
  readonly poll: LaneShape;
}

/**
 * Streams the agent allows on one h2 connection: what Consul 1.16.3 (Go's net/http server, built
 * with Go 1.26 here) advertises in its SETTINGS frame as SETTINGS_MAX_CONCURRENT_STREAMS, measured
 * in test/consul/http2.integration.test.ts. A stream beyond it would be refused or wait in the
 * client's HTTP/2 session; a blocking query that waits is a watch that sees nothing.
 */
export const H2_AGENT_STREAMS = 250;

/**
 * Requests in flight on one h2 connection of any lane: all the agent allows. A stream the client
 * resets (a slot taken away, a watch released) frees its place on the agent at once: measured on
 * Consul 1.16.3, 250 blocking streams, 20 reset, 19 new ones and a read: the read answered in
 * 17 ms; with none reset the 251st waited for the others' wait to end
 * (test/consul/http2.integration.test.ts). No margin is kept, and undici never opens more than
 * this many streams on a connection (a request beyond waits in its queue, not on the agent).
 */
export const H2_STREAMS = H2_AGENT_STREAMS;

/**
 * Watch connections over h2: 4 x 250 = 1,000 blocking queries (issue #12: a thousand services under
 * blocking queries over at most 4 connections per process). Over h2 the watches' non-blocking reads
 * share them (the poll lane has no connection of its own), so these are every connection the
 * watches open; beyond 1,000 services the scheduler keeps streams for the check watch and the reads.
 */
export const H2_WATCH_CONNECTIONS = 4;

/**
 * The lanes' shapes. Over HTTP/1.1 a connection carries one blocking query at a time (a second one
 * would wait behind the first for its whole wait), so the budget is spent on connections: `watch -
 * poll` blocking, `poll` pipelined, `short` and `control` one request each. Over h2 a connection
 * carries H2_STREAMS requests at once, so the short and control lanes need one connection each and
 * the watches H2_WATCH_CONNECTIONS, their reads included (the poll lane, with no connection of its
 * own, is the watch lane's pool): 6 connections carry what HTTP/1.1 needs 1,000 for.
 * The lanes keep connections of their own (short calls and KV reads never wait behind the watches'
 * frames or streams), and no lane ever opens more than its HTTP/1.1 share. `agentStreams`: the
 * SETTINGS_MAX_CONCURRENT_STREAMS the agent advertised (h2 only; default H2_STREAMS).
 */
export function lanePlan(
  budget: ConnectionBudget,
  protocol: AgentProtocol,
  agentStreams = H2_STREAMS,
): LanePlan {
  if (protocol === 'h2') {
    // An agent (or a proxy in front of it) that allows fewer streams than H2_STREAMS: a request
    // beyond them waits in the HTTP/2 session, a registration behind the blocking follow of the
    // same connection. The lanes then open what carries their HTTP/1.1 concurrency (the watches:
    // H2_WATCH_CONNECTIONS x H2_STREAMS) at that many streams each, within their share.
    const streams = Math.max(1, Math.min(H2_STREAMS, Math.floor(agentStreams)));
    const shape = (share: number, wanted: number): LaneShape =>
      Object.freeze({
        connections: Math.min(share, Math.ceil(wanted / streams)),
        pipelining: streams,
      });
    return Object.freeze({
      protocol,
      short: shape(budget.short, budget.short),
      control: shape(budget.control, budget.control),
      watch: shape(budget.watch, H2_WATCH_CONNECTIONS * H2_STREAMS),
      // Zero connections: the poll lane's reads go on the watch lane's pool (see AgentLanes).
      poll: Object.freeze({ connections: 0, pipelining: streams }),
    });
  }
  return Object.freeze({
    protocol,
    short: Object.freeze({ connections: budget.short, pipelining: 1 }),
    control: Object.freeze({ connections: budget.control, pipelining: 1 }),
    watch: Object.freeze({ connections: budget.watch - budget.poll, pipelining: 1 }),
    poll: Object.freeze({ connections: budget.poll, pipelining: POLL_PIPELINING }),
  });
}
