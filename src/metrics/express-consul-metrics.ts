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

export type AttemptOutcome = 'success' | 'http_error' | 'network_error' | 'timeout';

/** Metric children of one called service, bound once; the request path never builds label objects. */
export interface ServiceMetrics {
  requestFinished(outcome: RequestOutcome, seconds: number): void;
  /** A retry on another instance; reason is `status_<code>`, `network` or `timeout`. */
  retried(reason: string): void;
  retryBudgetExhausted(): void;
  ejected(): void;
  /** Children for one instance (its identity string `node/serviceId`), bound once. */
  instance(identity: string): InstanceMetrics;
}

/** Metric children of one instance of a called service. */
export interface InstanceMetrics {
  attempt(outcome: AttemptOutcome): void;
  /** The instance departed: removes its series and frees its label slot. Idempotent. */
  release(): void;
}

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
    const readings = this.readings;
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
    const eachService = (visit: (s: ServiceReading) => void): void => {
      for (const source of readings) for (const s of source.services()) visit(s);
    };

    // These two are filled at scrape time from the live readings, so they are never stale themselves.
    gauge(
      'discovery_instances',
      'Instances of each watched service by state (healthy, warning, ejected).',
      ['service', 'state'],
      function () {
        eachService((s) => {
          this.set({ service: s.service, state: 'healthy' }, s.healthy);
          this.set({ service: s.service, state: 'warning' }, s.warning);
          this.set({ service: s.service, state: 'ejected' }, s.ejected);
        });
      },
    );
    gauge(
      'discovery_staleness_seconds',
      'Seconds since the last good answer from Consul while the watch is failing; 0 when current.',
      ['service'],
      function () {
        eachService((s) => this.set({ service: s.service }, s.stalenessSeconds));
      },
    );
    this.watchUpdates = counter(
      'discovery_updates_total',
      'Changes of the instance list seen by the watch.',
      ['service'],
    );
    this.watchErrors = counter(
      'discovery_watch_errors_total',
      'Failed blocking queries to Consul.',
      ['service'],
    );
    this.indexResets = counter(
      'discovery_index_resets_total',
      'Times X-Consul-Index went backwards and the watch reset it to 0.',
      ['service'],
    );
    this.requests = counter(
      'client_requests_total',
      'Outbound calls by service and outcome (retries are inside one call).',
      ['service', 'outcome'],
    );
    this.requestSeconds = single(
      registry,
      `${prefix}client_request_duration_seconds`,
      () =>
        new Histogram({
          name: `${prefix}client_request_duration_seconds`,
          help: 'Duration of outbound calls, retries included, in seconds.',
          labelNames: ['service', 'outcome'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    );
    this.instanceRequests = counter(
      'client_attempts_total',
      `Attempts per instance and outcome; beyond ${MAX_INSTANCE_LABELS} instances per service the label is 'other'.`,
      ['service', 'instance', 'outcome'],
    );
    this.retries = counter('client_retries_total', 'Retries on another instance, by reason.', [
      'service',
      'reason',
    ]);
    this.budgetExhausted = counter(
      'client_retry_budget_exhausted_total',
      'Retries refused because the retry budget was spent.',
      ['service'],
    );
    this.ejections = counter(
      'client_ejections_total',
      'Instances ejected by passive outlier detection.',
      ['service'],
    );
    this.registrationState = gauge(
      'registration_state',
      '1 for the current registration state of this instance, 0 for the others.',
      ['service', 'state'],
    );
    this.reregistrations = counter(
      'registration_reregistrations_total',
      'Times the agent had lost this instance and it registered again.',
      ['service'],
    );
    this.drainState = gauge(
      'drain_state',
      '1 for the current lifecycle state (running, draining, closed), 0 for the others.',
      ['service', 'state'],
    );
  }

  /** Adds a source of scrape-time readings; returns the function that removes it. */
  addReadings(source: DiscoveryReadings): () => void {
    this.readings.add(source);
    return () => this.readings.delete(source);
  }

  /** TEMPORARY: replaced by the bound-children implementation. */
  forService(service: string): ServiceMetrics {
    return {
      requestFinished: (outcome, seconds) => this.requestFinished(service, outcome, seconds),
      retried: (reason) => this.retried(service, reason),
      retryBudgetExhausted: () => this.retryBudgetExhausted(service),
      ejected: () => this.ejected(service),
      instance: (identity) => ({
        attempt: (outcome) => this.attemptFinished(service, identity, outcome),
        release: () => undefined,
      }),
    };
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
