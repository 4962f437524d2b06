import { Counter, Gauge, Histogram, register as globalRegistry } from 'prom-client';
import type { Registry } from 'prom-client';

/** Outcome label of an outbound request. */
export type RequestOutcome =
  | 'success'
  | 'http_error'
  | 'network_error'
  | 'timeout'
  | 'no_instances'
  | 'retries_exhausted'
  | 'aborted';

/** Live readings collected at scrape time (staleness, instance counts) rather than pushed. */
export interface DiscoveryReadings {
  /** Per watched service: instances by state and seconds since the last good answer while stale. */
  services(): Iterable<{
    readonly service: string;
    readonly healthy: number;
    readonly warning: number;
    readonly ejected: number;
    readonly stalenessSeconds: number;
  }>;
}

// Instances beyond this many per service share the label `other`, so a large fleet cannot blow
// up the number of time series.
const MAX_INSTANCE_LABELS = 50;

function single<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * Every Prometheus metric of express-consul, created once per registry (a second instance on the
 * same registry reuses the first one's metrics instead of throwing on duplicate names).
 */
export class ExpressConsulMetrics {
  readonly registry: Registry;
  private readonly watchUpdates: Counter<'service'>;
  private readonly watchErrors: Counter<'service'>;
  private readonly indexResets: Counter<'service'>;
  private readonly requests: Counter<'service' | 'outcome'>;
  private readonly requestSeconds: Histogram<'service' | 'outcome'>;
  private readonly instanceRequests: Counter<'service' | 'instance' | 'outcome'>;
  private readonly retries: Counter<'service' | 'reason'>;
  private readonly budgetExhausted: Counter<'service'>;
  private readonly ejections: Counter<'service'>;
  private readonly registrationState: Gauge<'service' | 'state'>;
  private readonly reregistrations: Counter<'service'>;
  private readonly drainState: Gauge<'service' | 'state'>;
  private readonly knownInstanceLabels = new Map<string, Set<string>>();
  private readonly readings = new Set<DiscoveryReadings>();

  constructor(registry: Registry = globalRegistry, prefix = 'express_consul_') {
    this.registry = registry;
    const r = [registry];
    const readings = this.readings;
    const name = (suffix: string): string => `${prefix}${suffix}`;

    single(
      registry,
      name('discovery_instances'),
      () =>
        new Gauge({
          name: name('discovery_instances'),
          help: 'Instances of each watched service by state (healthy, warning, ejected).',
          labelNames: ['service', 'state'],
          registers: r,
          collect(this: Gauge<'service' | 'state'>) {
            for (const source of readings) {
              for (const s of source.services()) {
                this.set({ service: s.service, state: 'healthy' }, s.healthy);
                this.set({ service: s.service, state: 'warning' }, s.warning);
                this.set({ service: s.service, state: 'ejected' }, s.ejected);
              }
            }
          },
        }),
    );
    single(
      registry,
      name('discovery_staleness_seconds'),
      () =>
        new Gauge({
          name: name('discovery_staleness_seconds'),
          help: 'Seconds since the last good answer from Consul while the watch is failing; 0 when current.',
          labelNames: ['service'],
          registers: r,
          collect(this: Gauge<'service'>) {
            for (const source of readings) {
              for (const s of source.services())
                this.set({ service: s.service }, s.stalenessSeconds);
            }
          },
        }),
    );
    this.watchUpdates = single(
      registry,
      name('discovery_updates_total'),
      () =>
        new Counter({
          name: name('discovery_updates_total'),
          help: 'Changes of the instance list seen by the watch.',
          labelNames: ['service'],
          registers: r,
        }),
    );
    this.watchErrors = single(
      registry,
      name('discovery_watch_errors_total'),
      () =>
        new Counter({
          name: name('discovery_watch_errors_total'),
          help: 'Failed blocking queries to Consul.',
          labelNames: ['service'],
          registers: r,
        }),
    );
    this.indexResets = single(
      registry,
      name('discovery_index_resets_total'),
      () =>
        new Counter({
          name: name('discovery_index_resets_total'),
          help: 'Times X-Consul-Index went backwards and the watch reset it to 0.',
          labelNames: ['service'],
          registers: r,
        }),
    );
    this.requests = single(
      registry,
      name('client_requests_total'),
      () =>
        new Counter({
          name: name('client_requests_total'),
          help: 'Outbound requests by service and outcome (one per call, retries included in it).',
          labelNames: ['service', 'outcome'],
          registers: r,
        }),
    );
    this.requestSeconds = single(
      registry,
      name('client_request_duration_seconds'),
      () =>
        new Histogram({
          name: name('client_request_duration_seconds'),
          help: 'Duration of outbound requests, retries included, in seconds.',
          labelNames: ['service', 'outcome'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: r,
        }),
    );
    this.instanceRequests = single(
      registry,
      name('client_attempts_total'),
      () =>
        new Counter({
          name: name('client_attempts_total'),
          help: `Attempts per instance and outcome; beyond ${MAX_INSTANCE_LABELS} instances per service the label is 'other'.`,
          labelNames: ['service', 'instance', 'outcome'],
          registers: r,
        }),
    );
    this.retries = single(
      registry,
      name('client_retries_total'),
      () =>
        new Counter({
          name: name('client_retries_total'),
          help: 'Retries on another instance, by reason.',
          labelNames: ['service', 'reason'],
          registers: r,
        }),
    );
    this.budgetExhausted = single(
      registry,
      name('client_retry_budget_exhausted_total'),
      () =>
        new Counter({
          name: name('client_retry_budget_exhausted_total'),
          help: 'Retries refused because the retry budget was spent.',
          labelNames: ['service'],
          registers: r,
        }),
    );
    this.ejections = single(
      registry,
      name('client_ejections_total'),
      () =>
        new Counter({
          name: name('client_ejections_total'),
          help: 'Instances ejected by passive outlier detection.',
          labelNames: ['service'],
          registers: r,
        }),
    );
    this.registrationState = single(
      registry,
      name('registration_state'),
      () =>
        new Gauge({
          name: name('registration_state'),
          help: '1 for the current registration state of this instance, 0 for the others.',
          labelNames: ['service', 'state'],
          registers: r,
        }),
    );
    this.reregistrations = single(
      registry,
      name('registration_reregistrations_total'),
      () =>
        new Counter({
          name: name('registration_reregistrations_total'),
          help: 'Times the agent had lost this instance and it registered again.',
          labelNames: ['service'],
          registers: r,
        }),
    );
    this.drainState = single(
      registry,
      name('drain_state'),
      () =>
        new Gauge({
          name: name('drain_state'),
          help: '1 for the current lifecycle state (running, draining, closed), 0 for the others.',
          labelNames: ['service', 'state'],
          registers: r,
        }),
    );
  }

  /** Adds a source of scrape-time readings; returns the function that removes it. */
  addReadings(source: DiscoveryReadings): () => void {
    this.readings.add(source);
    return () => this.readings.delete(source);
  }

  watchUpdated(service: string): void {
    this.watchUpdates.inc({ service });
  }

  watchFailed(service: string): void {
    this.watchErrors.inc({ service });
  }

  indexReset(service: string, count = 1): void {
    this.indexResets.inc({ service }, count);
  }

  /** Records one finished call (all its attempts) and its duration. */
  requestFinished(service: string, outcome: RequestOutcome, seconds: number): void {
    this.requests.inc({ service, outcome });
    this.requestSeconds.observe({ service, outcome }, seconds);
  }

  /** Records one attempt against one instance, with a bounded instance label. */
  attemptFinished(
    service: string,
    instance: string,
    outcome: 'success' | 'http_error' | 'network_error' | 'timeout',
  ): void {
    let known = this.knownInstanceLabels.get(service);
    if (!known) {
      known = new Set();
      this.knownInstanceLabels.set(service, known);
    }
    if (!known.has(instance) && known.size < MAX_INSTANCE_LABELS) known.add(instance);
    this.instanceRequests.inc({
      service,
      instance: known.has(instance) ? instance : 'other',
      outcome,
    });
  }

  retried(service: string, reason: string): void {
    this.retries.inc({ service, reason });
  }

  retryBudgetExhausted(service: string): void {
    this.budgetExhausted.inc({ service });
  }

  ejected(service: string): void {
    this.ejections.inc({ service });
  }

  registrationChanged(service: string, state: string, allStates: readonly string[]): void {
    for (const s of allStates)
      this.registrationState.set({ service, state: s }, s === state ? 1 : 0);
  }

  reregistered(service: string): void {
    this.reregistrations.inc({ service });
  }

  drainChanged(service: string, state: 'running' | 'draining' | 'closed'): void {
    for (const s of ['running', 'draining', 'closed'] as const) {
      this.drainState.set({ service, state: s }, s === state ? 1 : 0);
    }
  }
}
