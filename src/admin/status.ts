// The shape of the admin view (`consul.statusHandler()`): what this process's balancers see of
// each called service, like Envoy's /clusters. Plain data: safe to serialise; never a token.

import type { ConfigStatus } from '../kv/consul-config';
import type { LeaderStatus } from '../leader/leader-election';

/** One instance of a called service, as routing sees it now. */
export interface InstanceStatus {
  /** Identity, `NODE/SERVICE_ID`. */
  readonly id: string;
  readonly serviceId: string;
  readonly node: string;
  readonly address: string;
  readonly port: number;
  /** Consul's aggregate check status. */
  readonly health: 'passing' | 'warning';
  /** Consul weight for that status. */
  readonly weight: number;
  /** Requests running or queued on the instance's pool. */
  readonly inFlight: number;
  /** The balancer's latency estimate in ms (peak EWMA), or null when it keeps none. */
  readonly latencyMs: number | null;
  /** Ms until outlier ejection ends, 0 when not ejected. */
  readonly ejectedForMs: number;
  /** Slow-start share in (0, 1], or null when the balancer does not ramp. */
  readonly slowStartShare: number | null;
}

/** One called service. */
export interface UpstreamStatus {
  readonly service: string;
  /** Whether discovery has had its first answer. */
  readonly ready: boolean;
  /** Ms since the last good answer while Consul is failing; 0 when current. */
  readonly stalenessMs: number;
  readonly balancer: string;
  readonly retryBudget: {
    readonly available: number;
    readonly requests: number;
    readonly retries: number;
    readonly exhausted: number;
  };
  /** Instances ejected now. */
  readonly ejected: number;
  readonly instances: readonly InstanceStatus[];
  /** The discovery chain calls follow, when the service has traffic-management entries. */
  readonly traffic?: TrafficStatus;
}

/** What a service's discovery chain does to its calls now (the admin view). */
export interface TrafficStatus {
  /** X-Consul-Index of the chain followed. */
  readonly index: number;
  /** The newest chain answer was refused: the one shown is the last good one. */
  readonly refused: boolean;
  /** Why it was refused (a DiscoveryChainError message: Consul data, no secret). */
  readonly lastRefusal: string | null;
  /** The router's routes in order, the catch-all last; empty without a router. */
  readonly routes: readonly { readonly match: string; readonly next: string }[];
  /** The splitter's splits (weights in percent); empty without a splitter. */
  readonly splits: readonly { readonly weight: number; readonly next: string }[];
  readonly targets: readonly TrafficTargetStatus[];
}

/** One chain target: its instances and, when it has none, where its calls fail over to. */
export interface TrafficTargetStatus {
  readonly id: string;
  /** Instances of the subset routing can send to now. */
  readonly instances: number;
  /** The first failover target with instances while this one has none; null otherwise. */
  readonly failingOverTo: string | null;
}

/** The whole admin view of an Express service. */
export interface AdapterStatus {
  readonly service: {
    readonly name: string;
    readonly id: string;
    readonly state: string;
    readonly registration: string;
  };
  readonly upstreams: readonly UpstreamStatus[];
  /** Configurations followed from Consul KV (`consul.config()`): key, index, last good at, refusals. */
  readonly configs?: readonly ConfigStatus[];
  /** Leader elections (`consul.leader()`): held or not, since when. */
  readonly leaders?: readonly LeaderStatus[];
}
