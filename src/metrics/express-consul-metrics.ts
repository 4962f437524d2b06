import { register as globalRegistry } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ConsulLane } from '../consul/consul-client';
import { metricFamily } from './metric-family';
import type { DiscoveryReadings, MetricFamily } from './metric-family';
import { serviceMetrics } from './service-metrics';
import type { ServiceMetrics } from './service-metrics';
import { ChainTargetMetrics } from './target-metrics';

export type { DiscoveryReadings, ServiceReading, WatchBudgetReading } from './metric-family';
export type {
  AttemptMetricOutcome,
  InstanceMetrics,
  RequestOutcome,
  ServiceMetrics,
} from './service-metrics';

// The family behind each ExpressConsulMetrics, for the library's own helpers below: a member of
// the class would be part of the public API and bring its internal types with it.
const families = new WeakMap<ExpressConsulMetrics, MetricFamily>();

/**
 * The per-target call counters of one discovery chain of `service` (one per ChainRouting) on
 * `metrics`' registry: `close()` it when the chain is no longer followed. At most 16 live targets
 * per service (across every chain on the registry) have a label of their own, the others count as
 * `other`.
 */
export function chainTargetMetrics(
  metrics: ExpressConsulMetrics,
  service: string,
): ChainTargetMetrics {
  const family = families.get(metrics)!;
  return new ChainTargetMetrics(() => family.targetSeries(service));
}

/**
 * Every Prometheus metric of express-consul. The metrics exist once per registry and prefix, and
 * so does what they need at scrape time: every ExpressConsulMetrics on one registry shares them,
 * its readings are collected with the others' and the `instance` label bound holds for all.
 */
export class ExpressConsulMetrics {
  readonly registry: Registry;
  private readonly family: MetricFamily;

  /** `registry`: default prom-client's global one; `prefix` of every name: default `express_consul_`. */
  constructor(registry: Registry = globalRegistry, prefix = 'express_consul_') {
    this.registry = registry;
    this.family = metricFamily(registry, prefix);
    families.set(this, this.family);
  }

  /**
   * Adds a source of scrape-time readings (instance counts, staleness); returns the function that
   * removes it, after which its services are no longer reported.
   */
  addReadings(source: DiscoveryReadings): () => void {
    const readings = this.family.readings;
    readings.add(source);
    return () => {
      readings.delete(source);
    };
  }

  /**
   * The metrics of calls to `service`, with children bound once, for one client: call it once per
   * client, keep the result and `release()` it when the client goes (the last release of a service
   * removes its series). Its `instance(identity)` gives the same object until `release()`;
   * at most 50 live instances per service (across every client on this registry) have a label of
   * their own, the others count as `other`.
   */
  forService(service: string): ServiceMetrics {
    return serviceMetrics(this.family.series(service));
  }

  /** A call refused by the watch set (no room, or a name outside the allowlist). */
  serviceRefused(reason: 'too_many_services' | 'not_allowed'): void {
    this.family.refusals.inc({ reason });
  }

  /** A 429 from the agent (its per-client connection limit) on a call of `lane`. */
  consulThrottled(lane: ConsulLane): void {
    this.family.throttled.inc({ lane });
  }

  watchUpdated(service: string): void {
    this.family.watchUpdates.inc({ service });
  }

  watchFailed(service: string): void {
    this.family.watchErrors.inc({ service });
  }

  indexReset(service: string, count = 1): void {
    this.family.indexResets.inc({ service }, count);
  }

  registrationChanged(service: string, state: string, allStates: readonly string[]): void {
    for (const s of allStates) {
      this.family.registrationState.set({ service, state: s }, s === state ? 1 : 0);
    }
  }

  reregistered(service: string): void {
    this.family.reregistrations.inc({ service });
  }

  drainChanged(service: string, state: 'running' | 'draining' | 'closed'): void {
    for (const s of ['running', 'draining', 'closed'] as const) {
      this.family.drainState.set({ service, state: s }, s === state ? 1 : 0);
    }
  }
}
