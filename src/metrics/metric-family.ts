import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { DeferredCounter } from './deferred-counter';
import { DeferredHistogram } from './deferred-histogram';
import { MAX_INSTANCE_LABELS } from './instance-labels';
import { ServiceSeries } from './service-metrics';
import type { ClientMetricSet } from './service-metrics';

/** One watched service as seen at scrape time. */
export interface ServiceReading {
  readonly service: string;
  readonly healthy: number;
  readonly warning: number;
  readonly ejected: number;
  /** Seconds since the last good answer while the watch is failing, else 0. */
  readonly stalenessSeconds: number;
}

/** Live readings collected at scrape time (staleness, instance counts) rather than pushed. */
export interface DiscoveryReadings {
  services(): Iterable<ServiceReading>;
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
  /** Sources read at each scrape, from every live ExpressConsulMetrics of the registry. */
  readonly readings: Set<DiscoveryReadings>;
  /**
   * The series of a called service, created on first use and shared until its last holder lets
   * go (then removed, and created afresh by the next call).
   */
  series(service: string): ServiceSeries;
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

  const series = new Map<string, ServiceSeries>();
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
    refusals: counter(
      'discovery_refused_total',
      'Calls refused before reaching Consul: too_many_services (discovery.maxServices) or not_allowed (discovery.allowedServices).',
      ['reason'],
    ),
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
