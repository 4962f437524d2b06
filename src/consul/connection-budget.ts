import { ConfigError } from '../errors';

/**
 * How one process's connections to its Consul agent are shared out. Consul counts TCP connections
 * per client IP (`limits.http_max_conns_per_client`, 200 by default) and answers 429 beyond it, to
 * that client and to every other on the same IP: the CLI, a sidecar, the other workers of a cluster.
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
