import type { ServiceInstance } from '../watch/service-instance';

/** What a caller may tell a balancer about the request it is choosing for. */
export interface PickContext {
  /** Stickiness key for consistent hashing (e.g. a user id); ignored by other balancers. */
  readonly key?: string;
  /** Instance ids not to choose (already tried by this request). */
  readonly exclude?: ReadonlySet<string>;
}

/**
 * Chooses one instance per request. `update` is called when the healthy set changes; `pick` is the
 * hot path: O(1) and allocation-free in the common case. Returns undefined only when no eligible
 * instance exists.
 */
export interface Balancer {
  /** Short identifier for metrics and logs, e.g. `round-robin`. */
  readonly name: string;
  /** Replaces the candidate set. Keeps per-instance state (counters, EWMA) for ids still present. */
  update(instances: readonly ServiceInstance[]): void;
  pick(context?: PickContext): ServiceInstance | undefined;
  /** A request to `instance` started (least-request and EWMA balancers count these). */
  onRequestStart?(instance: ServiceInstance): void;
  /**
   * That request ended, its response body read to the end or broken, after `latencyMs`;
   * `succeeded` is false for a transport error, a 5xx or a body that failed midway.
   */
  onRequestEnd?(instance: ServiceInstance, latencyMs: number, succeeded?: boolean): void;
  /** What the balancer holds about `id`, for the admin view; never on the request path. */
  inspect?(id: string): BalancerView;
}

/** A balancer's own view of one instance; absent fields are ones it does not track. */
export interface BalancerView {
  /** Latency estimate in ms. */
  readonly latencyMs?: number;
  /** Slow-start share in (0, 1]. */
  readonly share?: number;
}

/** Names of the built-in balancers, accepted by the `balancer` option. */
export type BalancerName =
  'round-robin' | 'random' | 'weighted' | 'least-request' | 'consistent-hash';
