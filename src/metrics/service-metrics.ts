import type { Counter } from 'prom-client';
import type { CountingChild, DeferredCounter } from './deferred-counter';
import type { DeferredHistogram, ObservingChild } from './deferred-histogram';
import type { AttemptMetricOutcome, RequestOutcome } from '../client/request-outcome';
import { InstanceLabels } from './instance-labels';

// The label values are the request path's vocabulary, defined once in client/request-outcome.ts.
export type { AttemptMetricOutcome, RequestOutcome } from '../client/request-outcome';

/** Metric children of one called service, bound once; the request path never builds label objects. */
export interface ServiceMetrics {
  /** Records one finished call (all its attempts) and its duration in seconds. */
  requestFinished(outcome: RequestOutcome, seconds: number): void;
  /** A retry on another instance; reason is `status_<code>`, `connect_failure`, `reset` or `try_timeout`. */
  retried(reason: string): void;
  /** A retry refused because the retry budget was spent. */
  retryBudgetExhausted(): void;
  /** An instance ejected by outlier detection. */
  ejected(): void;
  /** Children for one instance (its identity string `node/serviceId`), bound once. */
  instance(identity: string): InstanceMetrics;
  /** The watch saw a change of the instance list. */
  watchUpdated(): void;
  /** A blocking query of the watch failed. */
  watchFailed(): void;
  /** The watch reset its index `count` times (X-Consul-Index went backwards). */
  indexReset(count: number): void;
  /** An invalid entry was left out of Consul's answer; `reason` is a closed set. */
  invalidInstance(reason: string): void;
  /**
   * The client is gone: gives back its instance shares and its share of the service's series; the
   * last share removes every series of the service (so a released service leaves the
   * exposition). Later calls on this object record nothing. Idempotent.
   */
  release(): void;
}

/** Metric children of one instance of a called service. */
export interface InstanceMetrics {
  /** Records one attempt; does nothing once released (the instance is gone). */
  attempt(outcome: AttemptMetricOutcome): void;
  /** The instance departed: removes its series and frees its label slot. Idempotent. */
  release(): void;
}

/** The metrics a ServiceSeries binds children of; created once per registry. */
export interface ClientMetricSet {
  readonly requests: DeferredCounter<'service' | 'outcome'>;
  readonly requestSeconds: DeferredHistogram<'service' | 'outcome'>;
  readonly attempts: DeferredCounter<'service' | 'upstream_instance' | 'outcome'>;
  readonly retries: Counter<'service' | 'reason'>;
  readonly budgetExhausted: Counter<'service'>;
  readonly ejections: Counter<'service'>;
  readonly watchUpdates: Counter<'service'>;
  readonly watchErrors: Counter<'service'>;
  readonly indexResets: Counter<'service'>;
  /** Entries of Consul's answers left out as invalid, by reason (a closed set). */
  readonly invalidInstances: Counter<'service' | 'reason'>;
}

interface Increment {
  inc(value?: number): void;
}
interface Observe {
  observe(value: number): void;
}

const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  'success',
  'http_error',
  'network_error',
  'timeout',
  'no_instances',
  'retries_exhausted',
  'aborted',
];
const ATTEMPT_OUTCOMES: readonly AttemptMetricOutcome[] = [
  'success',
  'http_error',
  'network_error',
  'timeout',
];

type AttemptChildren = Readonly<Record<AttemptMetricOutcome, Increment>>;

function bindEach<K extends string, V>(keys: readonly K[], bind: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((key) => [key, bind(key)])) as Record<K, V>;
}

/** Children that count nothing: what a released series hands out, so late calls bring nothing back. */
const DISCARD: Increment & Observe = { inc() {}, observe() {} };
const DISCARDED_ATTEMPTS: AttemptChildren = bindEach(ATTEMPT_OUTCOMES, () => DISCARD);

/**
 * The series of one called service in one registry, shared by every client of that service in the
 * process (so the instance label bound holds for all of them). Children are bound with `labels()`
 * once; a child binds no series until it is first incremented. Each client holds a share
 * (`hold()`); when the last one lets go the series are removed and this object records nothing
 * more, so a service released for idleness, or a late call of its client, leaves no series behind.
 */
export class ServiceSeries {
  private readonly requests: Readonly<Record<RequestOutcome, CountingChild>>;
  private readonly seconds: Readonly<Record<RequestOutcome, ObservingChild>>;
  private readonly retries = new Map<string, Increment>();
  /** Reasons counted in `invalidInstances`, so that release removes exactly their series. */
  private readonly invalidReasons = new Set<string>();
  private readonly labels: InstanceLabels;
  private readonly attemptChildren = new Map<string, AttemptChildren>();
  private readonly labelSet: { readonly service: string };
  private holders = 0;
  private released = false;

  constructor(
    private readonly metrics: ClientMetricSet,
    private readonly service: string,
    maxInstanceLabels?: number,
    /** Called once, when the last share is let go. */
    private readonly onReleased: (series: ServiceSeries) => void = () => undefined,
  ) {
    this.labels = new InstanceLabels(maxInstanceLabels);
    this.labelSet = { service };
    this.requests = bindEach(REQUEST_OUTCOMES, (outcome) =>
      metrics.requests.child({ service, outcome }),
    );
    this.seconds = bindEach(REQUEST_OUTCOMES, (outcome) =>
      metrics.requestSeconds.child({ service, outcome }),
    );
  }

  /** True once the last share was let go. */
  get isReleased(): boolean {
    return this.released;
  }

  /** Takes a share (one per client). */
  hold(): void {
    this.holders += 1;
  }

  /** Gives back a share; the last one removes every series of the service. */
  letGo(): void {
    if (this.released) return;
    this.holders -= 1;
    if (this.holders > 0) return;
    this.released = true;
    const { metrics, labelSet } = this;
    for (const outcome of REQUEST_OUTCOMES) {
      metrics.requests.remove(this.requests[outcome]);
      metrics.requestSeconds.remove(this.seconds[outcome]);
    }
    for (const reason of this.retries.keys()) metrics.retries.remove({ ...labelSet, reason });
    for (const reason of this.invalidReasons)
      metrics.invalidInstances.remove({ ...labelSet, reason });
    this.invalidReasons.clear();
    this.retries.clear();
    for (const children of this.attemptChildren.values()) {
      for (const outcome of ATTEMPT_OUTCOMES) metrics.attempts.remove(children[outcome]);
    }
    this.attemptChildren.clear();
    for (const counter of [
      metrics.budgetExhausted,
      metrics.ejections,
      metrics.watchUpdates,
      metrics.watchErrors,
      metrics.indexResets,
    ]) {
      counter.remove(labelSet);
    }
    this.onReleased(this);
  }

  requestFinished(outcome: RequestOutcome, seconds: number): void {
    if (this.released) return;
    this.requests[outcome].inc();
    this.seconds[outcome].observe(seconds);
  }

  retried(reason: string): void {
    if (this.released) return;
    let child = this.retries.get(reason);
    if (!child) {
      child = this.metrics.retries.labels({ service: this.service, reason });
      this.retries.set(reason, child);
    }
    child.inc();
  }

  budgetExhausted(): void {
    if (!this.released) this.metrics.budgetExhausted.inc(this.labelSet);
  }

  ejected(): void {
    if (!this.released) this.metrics.ejections.inc(this.labelSet);
  }

  watchUpdated(): void {
    if (!this.released) this.metrics.watchUpdates.inc(this.labelSet);
  }

  watchFailed(): void {
    if (!this.released) this.metrics.watchErrors.inc(this.labelSet);
  }

  indexReset(count: number): void {
    if (!this.released) this.metrics.indexResets.inc(this.labelSet, count);
  }

  invalidInstance(reason: string): void {
    if (this.released) return;
    this.invalidReasons.add(reason);
    this.metrics.invalidInstances.inc({ ...this.labelSet, reason });
  }

  /** Takes a share of `identity`'s label slot; returns its children. */
  acquireInstance(identity: string): AttemptChildren {
    if (this.released) return DISCARDED_ATTEMPTS;
    const label = this.labels.acquire(identity);
    let children = this.attemptChildren.get(label);
    if (!children) {
      children = bindEach(ATTEMPT_OUTCOMES, (outcome) =>
        this.metrics.attempts.child({ service: this.service, upstream_instance: label, outcome }),
      );
      this.attemptChildren.set(label, children);
    }
    return children;
  }

  /** Gives back a share; the last one removes the instance's series and frees its slot. */
  releaseInstance(identity: string): void {
    if (this.released) return;
    const label = this.labels.release(identity);
    if (label === undefined) return;
    const children = this.attemptChildren.get(label);
    this.attemptChildren.delete(label);
    if (children === undefined) return;
    for (const outcome of ATTEMPT_OUTCOMES) this.metrics.attempts.remove(children[outcome]);
  }
}

class BoundInstance implements InstanceMetrics {
  private released = false;

  constructor(
    private readonly children: AttemptChildren,
    private readonly onRelease: () => void,
  ) {}

  attempt(outcome: AttemptMetricOutcome): void {
    // An attempt that ends after its instance departed still counts in client_requests_total;
    // counting it here would bring back a series that nobody would remove again.
    if (!this.released) this.children[outcome].inc();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}

/** One client's view of a service's series: its own instance shares, released independently. */
class ClientServiceMetrics implements ServiceMetrics {
  private readonly instances = new Map<string, BoundInstance>();
  private released = false;

  constructor(private readonly series: ServiceSeries) {
    series.hold();
  }

  requestFinished(outcome: RequestOutcome, seconds: number): void {
    if (!this.released) this.series.requestFinished(outcome, seconds);
  }

  retried(reason: string): void {
    if (!this.released) this.series.retried(reason);
  }

  retryBudgetExhausted(): void {
    this.series.budgetExhausted();
  }

  ejected(): void {
    this.series.ejected();
  }

  watchUpdated(): void {
    this.series.watchUpdated();
  }

  watchFailed(): void {
    this.series.watchFailed();
  }

  indexReset(count: number): void {
    this.series.indexReset(count);
  }

  invalidInstance(reason: string): void {
    this.series.invalidInstance(reason);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const bound of [...this.instances.values()]) bound.release();
    this.series.letGo();
  }

  instance(identity: string): InstanceMetrics {
    if (this.released) return new BoundInstance(DISCARDED_ATTEMPTS, () => undefined);
    let bound = this.instances.get(identity);
    if (!bound) {
      const created = new BoundInstance(this.series.acquireInstance(identity), () => {
        this.instances.delete(identity);
        this.series.releaseInstance(identity);
      });
      this.instances.set(identity, created);
      bound = created;
    }
    return bound;
  }
}

/**
 * A ServiceMetrics for one client of the service (it takes a share of `series`):
 * `instance(identity)` returns the same object until it is released, and releases by this client
 * do not affect another client's shares.
 */
export function serviceMetrics(series: ServiceSeries): ServiceMetrics {
  return new ClientServiceMetrics(series);
}
