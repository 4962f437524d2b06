import { Counter, Gauge } from 'prom-client';
import { CONSUL_LANES } from '../consul/consul-client';
import type { Registry } from 'prom-client';
import { DeferredCounter } from './deferred-counter';
import { DeferredHistogram } from './deferred-histogram';
import { MAX_INSTANCE_LABELS } from './instance-labels';
import { ServiceSeries } from './service-metrics';
import type { ClientMetricSet } from './service-metrics';
import { MAX_TARGET_LABELS, TargetSeries } from './target-metrics';

/** One watched service as seen at scrape time. */
export interface ServiceReading {
  readonly service: string;
  readonly healthy: number;
  readonly warning: number;
  readonly ejected: number;
  /** Seconds since the last good answer while the watch is failing, else 0. */
  readonly stalenessSeconds: number;
}

/** How one Discovery's watches share its connection budget, as seen at scrape time. */
export interface WatchBudgetReading {
  /** Watch connections configured (ConsulClient's `connectionBudget.watch`). */
  readonly configured: number;
  /** Watch connections allowed now: fewer than configured after 429s, until it recovers. */
  readonly allowed: number;
  /** Services with a blocking query of their own. */
  readonly slotted: number;
  /** Services followed through the check watch and read on change. */
  readonly polled: number;
}

/** Live readings collected at scrape time (staleness, instance counts) rather than pushed. */
export interface DiscoveryReadings {
  services(): Iterable<ServiceReading>;
  /** The watch budget, when the source schedules its watches within one. */
  watchBudget?(): WatchBudgetReading | undefined;
}

/**
 * Every metric of express-consul in one registry under one prefix, with what all users of that
 * registry share: the live readings sources and the per-service series (and so the instance label
 * bound). prom-client refuses a second metric with the same name, so this exists once per
 * (registry, prefix) and every ExpressConsulMetrics on them uses it.
 */
export interface MetricFamily extends ClientMetricSet {
  /** Calls refused by the watch set, by reason (`too_many_services`, `not_allowed`); no service label. */
  readonly refusals: Counter<'reason'>;
  readonly registrationState: Gauge<'service' | 'state'>;
  readonly reregistrations: Counter<'service'>;
  readonly drainState: Gauge<'service' | 'state'>;
  /** 429 answers of the agent (limits.http_max_conns_per_client), by the lane of the call. */
  readonly throttled: Counter<'lane'>;
  /** Sources read at each scrape, from every live ExpressConsulMetrics of the registry. */
  readonly readings: Set<DiscoveryReadings>;
  /**
   * The series of a called service, created on first use and shared until its last holder lets
   * go (then removed, and created afresh by the next call).
   */
  series(service: string): ServiceSeries;
  /** Calls by discovery-chain target; at most MAX_TARGET_LABELS live targets per service. */
  readonly targetRequests: DeferredCounter<'service' | 'target'>;
  /** The target series of a called service, shared by its chains until the last lets go. */
  targetSeries(service: string): TargetSeries;
}

// Keyed by the registry object itself: a family lives as long as its registry and no longer.
const families = new WeakMap<Registry, Map<string, MetricFamily>>();

/** The family of `registry` and `prefix`, created on first use. */
export function metricFamily(registry: Registry, prefix: string): MetricFamily {
  let byPrefix = families.get(registry);
  if (!byPrefix) {
    byPrefix = new Map();
    families.set(registry, byPrefix);
  }
  const known = byPrefix.get(prefix);
  // registry.clear() drops the metrics from the registry; build them again, keeping the sources.
  if (
    known &&
    registry.getSingleMetric(prefix + 'client_requests_total') === known.requests.counter
  ) {
    return known;
  }
  const family = createFamily(registry, prefix, known?.readings ?? new Set());
  byPrefix.set(prefix, family);
  return family;
}

/**
 * Merges the readings of every source by service. Several watches in one process may follow the
 * same service (other query options, another Discovery): they see the same instances, so the
 * largest value is reported rather than a sum that would count instances twice.
 */
function mergeReadings(sources: Iterable<DiscoveryReadings>): Map<string, ServiceReading> {
  const merged = new Map<string, ServiceReading>();
  for (const source of sources) {
    for (const reading of source.services()) {
      const seen = merged.get(reading.service);
      merged.set(
        reading.service,
        seen
          ? {
              service: reading.service,
              healthy: Math.max(seen.healthy, reading.healthy),
              warning: Math.max(seen.warning, reading.warning),
              ejected: Math.max(seen.ejected, reading.ejected),
              stalenessSeconds: Math.max(seen.stalenessSeconds, reading.stalenessSeconds),
            }
          : reading,
      );
    }
  }
  return merged;
}

// A metric of that name may already exist without a family: made by another copy of this library
// (ESM and CommonJS in one process) or by the caller; reuse it rather than throw.
function single<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

function createFamily(
  registry: Registry,
  prefix: string,
  readings: Set<DiscoveryReadings>,
): MetricFamily {
  const counter = <L extends string>(suffix: string, help: string, labelNames: L[]): Counter<L> =>
    single(
      registry,
      prefix + suffix,
      () => new Counter({ name: prefix + suffix, help, labelNames, registers: [registry] }),
    );
  const gauge = <L extends string>(
    suffix: string,
    help: string,
    labelNames: L[],
    collect?: (this: Gauge<L>) => void,
  ): Gauge<L> =>
    single(
      registry,
      prefix + suffix,
      () =>
        new Gauge({
          name: prefix + suffix,
          help,
          labelNames,
          registers: [registry],
          ...(collect && { collect }),
        }),
    );

  // Filled at scrape time from the live sources; reset first, so the services of a closed
  // Discovery disappear instead of keeping their last values forever.
  gauge(
    'discovery_instances',
    'Instances of each watched service by state (healthy, warning, ejected).',
    ['service', 'state'],
    function () {
      this.reset();
      for (const s of mergeReadings(readings).values()) {
        this.set({ service: s.service, state: 'healthy' }, s.healthy);
        this.set({ service: s.service, state: 'warning' }, s.warning);
        this.set({ service: s.service, state: 'ejected' }, s.ejected);
      }
    },
  );
  gauge(
    'discovery_staleness_seconds',
    'Seconds since the last good answer from Consul while the watch is failing; 0 when current.',
    ['service'],
    function () {
      this.reset();
      for (const s of mergeReadings(readings).values()) {
        this.set({ service: s.service }, s.stalenessSeconds);
      }
    },
  );

  // Summed over the sources: each Discovery has a budget of its own, and the agent counts them all.
  const budgets = (): WatchBudgetReading[] => {
    const found: WatchBudgetReading[] = [];
    for (const source of readings) {
      const reading = source.watchBudget?.();
      if (reading) found.push(reading);
    }
    return found;
  };
  const sum = (list: readonly WatchBudgetReading[], key: keyof WatchBudgetReading): number =>
    list.reduce((total, reading) => total + reading[key], 0);
  gauge(
    'discovery_watch_connections',
    'Connections the watches may hold: allowed now (halved by a 429, one back per 30 s) and configured.',
    ['budget'],
    function () {
      this.reset();
      const list = budgets();
      if (list.length === 0) return;
      this.set({ budget: 'allowed' }, sum(list, 'allowed'));
      this.set({ budget: 'configured' }, sum(list, 'configured'));
    },
  );
  gauge(
    'discovery_watch_services',
    'Watched services by mode: slotted (a blocking query of their own) or polled (read when their checks change).',
    ['mode'],
    function () {
      this.reset();
      const list = budgets();
      if (list.length === 0) return;
      this.set({ mode: 'slotted' }, sum(list, 'slotted'));
      this.set({ mode: 'polled' }, sum(list, 'polled'));
    },
  );

  const throttled = counter(
    'consul_throttled_total',
    '429 answers of the Consul agent (its limits.http_max_conns_per_client), by lane: watch, poll, control, short.',
    ['lane'],
  );
  // Every lane's series exists from the start at 0: increase() then sees the first 429 too, which a
  // series born at 1 would hide.
  for (const lane of CONSUL_LANES) throttled.inc({ lane }, 0);

  const series = new Map<string, ServiceSeries>();
  const targets = new Map<string, TargetSeries>();
  const family: MetricFamily = {
    readings,
    watchUpdates: counter(
      'discovery_updates_total',
      'Changes of the instance list seen by the watch.',
      ['service'],
    ),
    watchErrors: counter('discovery_watch_errors_total', 'Failed blocking queries to Consul.', [
      'service',
    ]),
    indexResets: counter(
      'discovery_index_resets_total',
      'Times X-Consul-Index went backwards and the watch reset it to 0.',
      ['service'],
    ),
    invalidInstances: counter(
      'discovery_invalid_instances_total',
      "Entries of Consul's answers left out as invalid registrations, each counted once until it changes, by reason.",
      ['service', 'reason'],
    ),
    requests: new DeferredCounter(
      registry,
      `${prefix}client_requests_total`,
      'Outbound calls by service and outcome (retries are inside one call).',
      ['service', 'outcome'],
    ),
    requestSeconds: DeferredHistogram.in(
      registry,
      `${prefix}client_request_duration_seconds`,
      'Duration of outbound calls, retries included, in seconds.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    attempts: new DeferredCounter(
      registry,
      `${prefix}client_attempts_total`,
      `Attempts per instance and outcome; at most ${MAX_INSTANCE_LABELS} live instances per service have their own label, the others 'other'.`,
      ['service', 'upstream_instance', 'outcome'],
    ),
    retries: counter('client_retries_total', 'Retries on another instance, by reason.', [
      'service',
      'reason',
    ]),
    budgetExhausted: counter(
      'client_retry_budget_exhausted_total',
      'Retries refused because the retry budget was spent.',
      ['service'],
    ),
    ejections: counter(
      'client_ejections_total',
      'Instances ejected by passive outlier detection.',
      ['service'],
    ),
    registrationState: gauge(
      'registration_state',
      '1 for the current registration state of this instance, 0 for the others.',
      ['service', 'state'],
    ),
    reregistrations: counter(
      'registration_reregistrations_total',
      'Times the agent had lost this instance and it registered again.',
      ['service'],
    ),
    drainState: gauge(
      'drain_state',
      '1 for the current lifecycle state (running, draining, closed), 0 for the others.',
      ['service', 'state'],
    ),
    throttled: counter(
      'consul_throttled_total',
      '429 answers of the Consul agent (its limits.http_max_conns_per_client), by lane: watch, poll, control, short.',
      ['lane'],
    ),
    refusals: counter(
      'discovery_refused_total',
      'Calls refused before reaching Consul: too_many_services (discovery.maxServices) or not_allowed (discovery.allowedServices).',
      ['reason'],
    ),
    targetRequests: new DeferredCounter(
      registry,
      `${prefix}client_target_requests_total`,
      `Calls sent to each discovery-chain target (traffic management); at most ${MAX_TARGET_LABELS} live targets per service have their own label, the others 'other'.`,
      ['service', 'target'],
    ),
    targetSeries(service: string): TargetSeries {
      let found = targets.get(service);
      if (!found) {
        found = new TargetSeries(family.targetRequests, service, undefined, (empty) => {
          if (targets.get(service) === empty) targets.delete(service);
        });
        targets.set(service, found);
      }
      return found;
    },
    series(service: string): ServiceSeries {
      let found = series.get(service);
      if (!found) {
        found = new ServiceSeries(family, service, undefined, (released) => {
          if (series.get(service) === released) series.delete(service);
        });
        series.set(service, found);
      }
      return found;
    },
  };
  return family;
}
