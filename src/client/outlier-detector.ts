import type { ServiceInstance } from '../watch/service-instance';
import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ListenerSet } from '../events/listener-set';
import { silentLogger } from '../logger';
import type { Logger } from '../logger';

/** Options of an {@link OutlierDetector}; every field is optional. */
export interface OutlierDetectorOptions {
  /** Consecutive failures that eject an instance (integer >= 1). Default: 5. */
  readonly consecutiveFailures?: number;
  /** First ejection time, multiplied by the ejection count, in ms (> 0). Default: 30000. */
  readonly baseEjectionMs?: number;
  /** Longest ejection, in ms (>= baseEjectionMs). Default: 300000. */
  readonly maxEjectionMs?: number;
  /** Share of retained instances ejectable at once, in % (0 disables ejection). Default: 50. */
  readonly maxEjectionPercent?: number;
  /** Below this share of non-ejected instances, in %, `eligible` returns all. Default: 50. */
  readonly panicThresholdPercent?: number;
}

/** {@link OutlierDetectorOptions} with every default applied. */
export type ResolvedOutlierDetectorOptions = Required<OutlierDetectorOptions>;

/** Sent to `onEject` listeners when an instance is taken out of rotation. */
export interface OutlierEjectEvent {
  readonly id: string;
  /** Consecutive failures that triggered the ejection. */
  readonly consecutiveFailures: number;
  /** Ejection multiplier after this ejection (1 for a first or fully forgiven offence). */
  readonly ejections: number;
  /** How long the instance stays out, in ms. */
  readonly durationMs: number;
}

/** Sent to `onReturn` listeners when an ejected instance's time is up. */
export interface OutlierReturnEvent {
  readonly id: string;
  /** How long the instance was out, in ms. */
  readonly durationMs: number;
}

/** What the detector currently holds about one instance (for diagnostics and tests). */
export interface OutlierStatus {
  readonly consecutiveFailures: number;
  /** Multiplier after decay: the next ejection lasts baseEjectionMs * (ejections + 1), capped. */
  readonly ejections: number;
  /** Whether the instance is ejected now. */
  readonly ejected: boolean;
  /** Remaining ejection time in ms, 0 when not ejected. */
  readonly remainingMs: number;
}

interface InstanceState {
  consecutiveFailures: number;
  /** Multiplier as it stood at `healthySince`; decays lazily from there. */
  ejections: number;
  healthySince: number;
  ejectedAt: number;
  /** Clock value at which the ejection ends; meaningful only while in the `ejected` map. */
  ejectedUntil: number;
}

/** The keys of {@link OutlierDetectorOptions}; any other is rejected. */
const OUTLIER_DETECTOR_KEYS: KnownKeys<OutlierDetectorOptions> = {
  consecutiveFailures: true,
  baseEjectionMs: true,
  maxEjectionMs: true,
  maxEjectionPercent: true,
  panicThresholdPercent: true,
};

/**
 * Applies defaults and validates `options`, throwing a ConfigError whose path is `${path}.<field>`
 * (default path: `outlierDetection`), so a config loader can reject bad input before building
 * clients.
 */
export function resolveOutlierDetectorOptions(
  options: OutlierDetectorOptions = {},
  path = 'outlierDetection',
): ResolvedOutlierDetectorOptions {
  const defaults = DEFAULTS.discovery.client.outlierDetection;
  const reader = OptionReader.strict(options, path, OUTLIER_DETECTOR_KEYS);
  const [baseEjectionMs, maxEjectionMs] = reader.msPair(
    'baseEjectionMs',
    'maxEjectionMs',
    { min: 0, minExclusive: true },
    [defaults.baseEjectionMs, defaults.maxEjectionMs],
  );
  const percent = { min: 0, max: 100 };
  return {
    consecutiveFailures: reader.integer(
      'consecutiveFailures',
      { min: 1 },
      defaults.consecutiveFailures,
    ),
    baseEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: reader.number('maxEjectionPercent', percent, defaults.maxEjectionPercent),
    panicThresholdPercent: reader.number(
      'panicThresholdPercent',
      percent,
      defaults.panicThresholdPercent,
    ),
  };
}

/**
 * How many of `poolSize` instances may be ejected at once: `maxEjectionPercent` of them rounded
 * down, but at least 1 once there are 2 instances (so 3 instances can lose their bad one even
 * with a small percentage), and never all of them; 0 when the percentage is 0.
 */
export function maxEjectable(poolSize: number, maxEjectionPercent: number): number {
  if (maxEjectionPercent <= 0 || poolSize < 2) return 0;
  return Math.min(poolSize - 1, Math.max(1, Math.floor((poolSize * maxEjectionPercent) / 100)));
}

/**
 * Passive outlier detection per instance id, after Envoy's consecutive-5xx detector: the caller
 * reports each attempt's outcome, the detector ejects an instance after `consecutiveFailures`
 * failures in a row and `eligible()` filters it out until its ejection time has passed.
 *
 * Call `retain()` with the current ids at start and whenever the instance list changes: those ids
 * are the pool the max-ejection share is computed from, and reports about other ids (late replies
 * from departed instances) are ignored. Nothing is ejected before the first `retain()`.
 *
 * Ejection time is `baseEjectionMs * ejections`, capped at `maxEjectionMs`. The multiplier loses 1
 * for every whole `baseEjectionMs` the instance spends back in rotation, so an instance that fails
 * again soon after returning is kept out longer, while one that recovered is forgiven after a
 * while; it stops growing at `ceil(maxEjectionMs / baseEjectionMs)` so forgiveness stays bounded.
 *
 * No timers: returns are noticed (and `onReturn` fires) on the next call that consults the clock.
 * Listeners run after the state change is complete; one that throws is logged and the others
 * still run (ListenerSet): a listener's bug never fails the call whose outcome was recorded.
 */
export class OutlierDetector {
  private readonly maxMultiplier: number;
  private readonly states = new Map<string, InstanceState>();
  /** The ejected subset of `states`, so expiry scans cost O(ejected), not O(instances). */
  private readonly ejected = new Map<string, InstanceState>();
  private members: ReadonlySet<string> = new Set<string>();
  private readonly ejectListeners: ListenerSet<OutlierEjectEvent>;
  private readonly returnListeners: ListenerSet<OutlierReturnEvent>;
  private panic = false;
  private changes = 0;

  /**
   * @param options resolved by {@link resolveOutlierDetectorOptions}, at the edge: not checked again.
   * @param now clock in ms; the default is monotonic so wall-clock jumps cannot end ejections.
   * @param logger where a listener that throws is reported.
   */
  constructor(
    private readonly options: ResolvedOutlierDetectorOptions = DEFAULTS.discovery.client
      .outlierDetection,
    private readonly now: () => number = () => performance.now(),
    logger: Logger = silentLogger,
  ) {
    this.ejectListeners = new ListenerSet('outlier ejection listener', () => logger);
    this.returnListeners = new ListenerSet('outlier return listener', () => logger);
    this.maxMultiplier = Math.ceil(this.options.maxEjectionMs / this.options.baseEjectionMs);
  }

  /** Whether the last `eligible()` call fell back to all instances because too few were healthy. */
  get inPanic(): boolean {
    return this.panic;
  }

  /**
   * Rises whenever the ejected set changes (ejections run out as of now are noticed first), so a
   * caller can skip recomputing `eligible()` while it holds still.
   */
  get generation(): number {
    if (this.ejected.size > 0) this.expire(this.now());
    return this.changes;
  }

  /** Number of instances ejected now. */
  get ejectedCount(): number {
    this.expire(this.now());
    return this.ejected.size;
  }

  /** Sets the current instance ids; state of other ids is dropped, without an `onReturn`. */
  retain(ids: Iterable<string>): void {
    const members = new Set(ids);
    this.members = members;
    for (const id of this.states.keys()) {
      if (!members.has(id)) {
        this.states.delete(id);
        if (this.ejected.delete(id)) this.changes += 1;
      }
    }
  }

  /** Reports a successful attempt (any response that is not a failure): ends the streak. */
  recordSuccess(id: string): void {
    const state = this.states.get(id);
    if (state !== undefined) state.consecutiveFailures = 0;
  }

  /**
   * Reports a failed attempt (connect error, reset or 5xx, as the caller defines it); returns true
   * when this failure ejected the instance.
   */
  recordFailure(id: string): boolean {
    if (!this.members.has(id)) return false;
    const now = this.now();
    this.expire(now);
    let state = this.states.get(id);
    if (state === undefined) {
      state = {
        consecutiveFailures: 0,
        ejections: 0,
        healthySince: now,
        ejectedAt: 0,
        ejectedUntil: 0,
      };
      this.states.set(id, state);
    }
    state.consecutiveFailures += 1;
    if (this.ejected.has(id) || state.consecutiveFailures < this.options.consecutiveFailures) {
      return false;
    }
    // At the cap the streak is kept: the instance is ejected on its next failure once room frees.
    if (this.ejected.size >= maxEjectable(this.members.size, this.options.maxEjectionPercent)) {
      return false;
    }
    const ejections = Math.min(this.maxMultiplier, this.decayedEjections(state, now) + 1);
    const durationMs = Math.min(
      this.options.maxEjectionMs,
      this.options.baseEjectionMs * ejections,
    );
    state.ejections = ejections;
    state.ejectedAt = now;
    state.ejectedUntil = now + durationMs;
    this.ejected.set(id, state);
    this.changes += 1;
    this.ejectListeners.emit({
      id,
      consecutiveFailures: state.consecutiveFailures,
      ejections,
      durationMs,
    });
    return true;
  }

  /** Whether `id` is ejected now. */
  isEjected(id: string): boolean {
    this.expire(this.now());
    return this.ejected.has(id);
  }

  /**
   * The instances that are not ejected, or all of `instances` (panic mode, see `inPanic`) when the
   * non-ejected ones would be fewer than `panicThresholdPercent` of them or none at all; returns
   * `instances` itself, without allocating, when none of them is ejected.
   */
  eligible<T extends Pick<ServiceInstance, 'id'>>(instances: readonly T[]): readonly T[] {
    this.panic = false;
    if (this.ejected.size === 0) return instances;
    this.expire(this.now());
    let ejectedHere = 0;
    for (const instance of instances) if (this.ejected.has(instance.id)) ejectedHere += 1;
    if (ejectedHere === 0) return instances;
    const healthy = instances.length - ejectedHere;
    if (healthy === 0 || healthy * 100 < this.options.panicThresholdPercent * instances.length) {
      this.panic = true;
      return instances;
    }
    return instances.filter((instance) => !this.ejected.has(instance.id));
  }

  /** What the detector holds about `id`, or undefined when it has nothing on it. */
  status(id: string): OutlierStatus | undefined {
    const now = this.now();
    this.expire(now);
    const state = this.states.get(id);
    if (state === undefined) return undefined;
    const ejected = this.ejected.has(id);
    return {
      consecutiveFailures: state.consecutiveFailures,
      ejections: ejected ? state.ejections : this.decayedEjections(state, now),
      ejected,
      remainingMs: ejected ? state.ejectedUntil - now : 0,
    };
  }

  /** Calls `listener` on every ejection; returns a function that unsubscribes it. */
  onEject(listener: (event: OutlierEjectEvent) => void): () => void {
    return this.ejectListeners.add(listener);
  }

  /** Calls `listener` when an ejected instance returns; returns a function that unsubscribes it. */
  onReturn(listener: (event: OutlierReturnEvent) => void): () => void {
    return this.returnListeners.add(listener);
  }

  private decayedEjections(state: InstanceState, now: number): number {
    const healthyIntervals = Math.floor((now - state.healthySince) / this.options.baseEjectionMs);
    return Math.max(0, state.ejections - Math.max(0, healthyIntervals));
  }

  /** Puts back every instance whose ejection time has passed. */
  private expire(now: number): void {
    if (this.ejected.size === 0) return;
    let returned: OutlierReturnEvent[] | undefined;
    for (const [id, state] of this.ejected) {
      if (now < state.ejectedUntil) continue;
      this.ejected.delete(id);
      this.changes += 1;
      state.consecutiveFailures = 0;
      // Decay counts from the scheduled return, not from whenever someone happened to look.
      state.healthySince = state.ejectedUntil;
      (returned ??= []).push({ id, durationMs: state.ejectedUntil - state.ejectedAt });
    }
    // Announced once the whole sweep is done, so that listeners see the final state.
    if (returned !== undefined) for (const event of returned) this.returnListeners.emit(event);
  }
}
