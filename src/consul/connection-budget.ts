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
   * Connections kept for everything else (register, deregister, maintenance, the registration's own
   * follow loop, catalog and status reads), so that no number of watches can starve them.
   */
  readonly short: number;
}

/** Least `maxConnections`: one watch connection, one short one would leave no room for either. */
export const MIN_CONNECTIONS = 4;

/**
 * Splits `total` connections: a quarter, at least 2 and at most 4, for short calls; the rest for
 * watches. With the default 32: 28 for watches, 4 for short calls.
 */
export function connectionBudget(total: number, path = 'consul.maxConnections'): ConnectionBudget {
  if (!Number.isInteger(total) || total < MIN_CONNECTIONS) {
    throw new ConfigError(path, `an integer >= ${MIN_CONNECTIONS}`, total);
  }
  const short = Math.max(2, Math.min(4, Math.floor(total / 4)));
  return Object.freeze({ total, watch: total - short, short });
}
