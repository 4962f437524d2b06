import type { ServiceInstance } from '../watch/service-instance';
import type { Balancer, BalancerView, PickContext } from './balancer';
import {
  BALANCER_OPTIONS_PATH,
  readBalancerOptions,
  type BalancerBaseOptions,
  type ClockOption,
  type PeakEwmaOptions,
  type ResolvedBalancerOptions,
} from './balancer-options';
import { eligibleSorted } from './candidates';
import { SlowStart } from './slow-start';
import { EXCLUDE_RETRIES, randomIndex } from './selection';

export type { PeakEwmaOptions } from './balancer-options';

/** Options of {@link LeastRequestBalancer}; `now` is read only for peak EWMA and slow start. */
export interface LeastRequestOptions extends BalancerBaseOptions, ClockOption {
  /** Weigh the in-flight count by each instance's peak-EWMA latency. Default: off. */
  readonly peakEwma?: PeakEwmaOptions;
  /** Ramp in ms over which a new instance's cost factor falls from 1/floor to 1; 0 = off. Default: 0. */
  readonly slowStartMs?: number;
  /**
   * Share a new instance starts at, in (0, 1] (its cost is divided by it); needs slowStartMs.
   * Default: 0.1.
   */
  readonly slowStartFloor?: number;
}

/** Per-instance load, kept across `update` for ids still present and while requests are in flight. */
interface InstanceLoad {
  inflight: number;
  /** Latency estimate in ms as of `stampMs`; meaningful once `measured`. */
  ewmaMs: number;
  stampMs: number;
  measured: boolean;
  /** False once the id left the list; the entry lives on only until its in-flight count is 0. */
  active: boolean;
  /** Recent failures, decaying with FAILURE_DECAY_MS, as of `failureStampMs`. */
  failureScore: number;
  failureStampMs: number;
}

/**
 * Time constant in ms with which a failure's weight in the cost fades. A fast-failing instance
 * has few requests in flight and, measured by latency, looks fast: without this it would win the
 * comparisons and draw traffic into its errors. Each recent failure adds 1 to its cost factor.
 */
const FAILURE_DECAY_MS = 5_000;

/** A failure score below this counts as none (one failure is forgotten after about 11.5 s). */
const FAILURE_FORGOTTEN = 0.1;

/**
 * Latency floor in ms for cost: a measured 0 (or an estimate decayed to nothing) would make the
 * in-flight count irrelevant and let one instance absorb every request.
 */
const MIN_LATENCY_MS = 1e-3;

/**
 * Power of two choices: draws two distinct instances and sends to the one with the lower cost,
 * cost = (in-flight requests + 1) × (1 + recent failures, decaying) (a tie goes to either at
 * random). With `peakEwma`, cost is also multiplied by the peak-EWMA latency of answers. Needs
 * `onRequestStart`/`onRequestEnd` to be called, the end when the response body is done.
 * O(1) per pick; weights above 0 are ignored and weight-0 instances are never picked.
 */
export class LeastRequestBalancer implements Balancer {
  readonly name = 'least-request';
  private instances: ServiceInstance[] = [];
  /** loads[i] belongs to instances[i]; the same objects as in `byId`, so pick needs no lookup. */
  private loads: InstanceLoad[] = [];
  private byId = new Map<string, InstanceLoad>();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly decayMs: number;
  private readonly slowStart: SlowStart | undefined;
  /** Sum and count of the estimates of measured, active instances: the prior for unmeasured ones. */
  private ewmaSum = 0;
  private ewmaCount = 0;

  /** Takes options resolved once (create-balancer.ts); `from` reads raw ones. */
  constructor(options: ResolvedBalancerOptions) {
    this.random = options.random;
    this.now = options.now;
    this.decayMs = options.peakEwmaDecayMs;
    this.slowStart = options.slowStart === undefined ? undefined : new SlowStart(options.slowStart);
  }

  /** Validates `options`; ConfigErrors name `${path}.<option>`. */
  static from(
    options: LeastRequestOptions = {},
    path = BALANCER_OPTIONS_PATH,
  ): LeastRequestBalancer {
    return new LeastRequestBalancer(readBalancerOptions(options, path));
  }

  update(instances: readonly ServiceInstance[]): void {
    const list = eligibleSorted(instances);
    const byId = new Map<string, InstanceLoad>();
    const loads: InstanceLoad[] = [];
    for (const instance of list) {
      const load = byId.get(instance.id) ??
        this.byId.get(instance.id) ?? {
          inflight: 0,
          ewmaMs: 0,
          stampMs: 0,
          measured: false,
          active: true,
          failureScore: 0,
          failureStampMs: 0,
        };
      load.active = true;
      byId.set(instance.id, load);
      loads.push(load);
    }
    // A departed instance's requests still end later; keeping its entry until then means that if
    // it comes back meanwhile (a flapping check) its count is still right, not reset to 0.
    for (const [id, load] of this.byId) {
      if (!byId.has(id) && load.inflight > 0) {
        load.active = false;
        byId.set(id, load);
      }
    }
    this.instances = list;
    this.loads = loads;
    this.byId = byId;
    this.recountEwma();
    if (this.slowStart !== undefined) this.slowStart.observe(list, this.now());
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const list = this.instances;
    const n = list.length;
    if (n === 0) return undefined;
    const exclude = context?.exclude;
    const filtering = exclude !== undefined && exclude.size > 0;
    if (n === 1) {
      const only = list[0]!;
      return filtering && exclude.has(only.id) ? undefined : only;
    }
    const now = this.now();
    if (!filtering) {
      const first = randomIndex(this.random, n);
      return list[this.cheaper(first, this.otherIndex(first, n), now)];
    }
    for (let attempt = 0; attempt <= EXCLUDE_RETRIES; attempt++) {
      const first = randomIndex(this.random, n);
      const second = this.otherIndex(first, n);
      const firstAllowed = !exclude.has(list[first]!.id);
      const secondAllowed = !exclude.has(list[second]!.id);
      if (firstAllowed && secondAllowed) return list[this.cheaper(first, second, now)];
      if (firstAllowed) return list[first];
      if (secondAllowed) return list[second];
    }
    // Unlucky draws or most ids excluded: the cheapest allowed instance, found by a full scan.
    let best = -1;
    let bestCost = Infinity;
    for (let i = 0; i < n; i++) {
      if (exclude.has(list[i]!.id)) continue;
      const cost = this.cost(i, now);
      if (best < 0 || cost < bestCost) {
        best = i;
        bestCost = cost;
      }
    }
    return best < 0 ? undefined : list[best];
  }

  onRequestStart(instance: ServiceInstance): void {
    const load = this.byId.get(instance.id);
    if (load !== undefined) load.inflight++;
  }

  onRequestEnd(instance: ServiceInstance, latencyMs: number, succeeded = true): void {
    const load = this.byId.get(instance.id);
    if (load === undefined) return;
    // Never negative: an end without a start (or a start before the id was known) is ignored.
    if (load.inflight > 0) load.inflight--;
    if (!succeeded) {
      const now = this.now();
      load.failureScore = this.failureFactor(load, now); // the decayed score, plus this failure
      load.failureStampMs = now;
    } else if (this.decayMs > 0 && latencyMs >= 0 && latencyMs < Infinity) {
      // Only answers measure latency: a quick error is not a quick instance.
      this.observe(load, latencyMs, this.now());
    }
    if (!load.active && load.inflight === 0) this.byId.delete(instance.id);
  }

  /** In-flight count of `id` as this balancer knows it (0 when unknown); for metrics and tests. */
  inflight(id: string): number {
    return this.byId.get(id)?.inflight ?? 0;
  }

  /**
   * Latency estimate of `id` in ms as of now (peak EWMA decayed to now; the mean of measured
   * instances while `id` has no sample yet), or undefined without `peakEwma` or for an unknown id.
   */
  latencyEstimateMs(id: string): number | undefined {
    const load = this.byId.get(id);
    if (this.decayMs === 0 || load === undefined) return undefined;
    return this.latencyEstimate(load, this.now());
  }

  inspect(id: string): BalancerView {
    const latencyMs = this.latencyEstimateMs(id);
    const share = this.slowStart?.factor(id, this.now());
    return {
      ...(latencyMs !== undefined && { latencyMs }),
      ...(share !== undefined && { share }),
    };
  }

  /** A uniformly random index in [0, n) other than `first` (n >= 2). */
  private otherIndex(first: number, n: number): number {
    // Drawing from n - 1 values and stepping over `first` keeps the second pick uniform.
    const second = randomIndex(this.random, n - 1);
    return second >= first ? second + 1 : second;
  }

  /** Index of the lower-cost of two instances; on a tie either, at random, so ties don't pile up. */
  private cheaper(first: number, second: number, now: number): number {
    const a = this.cost(first, now);
    const b = this.cost(second, now);
    if (a < b) return first;
    if (b < a) return second;
    return this.random() < 0.5 ? first : second;
  }

  /**
   * 1 plus the instance's failure score decayed to `now`: the factor its cost is multiplied by.
   * A score faded below FAILURE_FORGOTTEN counts as none, so an idle instance that failed once
   * ties again with the others after a while instead of losing every comparison for good.
   */
  private failureFactor(load: InstanceLoad, now: number): number {
    if (load.failureScore === 0) return 1;
    const elapsed = now - load.failureStampMs;
    const score =
      elapsed > 0 ? load.failureScore * Math.exp(-elapsed / FAILURE_DECAY_MS) : load.failureScore;
    if (score < FAILURE_FORGOTTEN) {
      load.failureScore = 0;
      return 1;
    }
    return 1 + score;
  }

  private cost(index: number, now: number): number {
    const load = this.loads[index]!;
    let cost = (load.inflight + 1) * this.failureFactor(load, now);
    if (this.decayMs > 0) cost *= Math.max(this.latencyEstimate(load, now), MIN_LATENCY_MS);
    const slowStart = this.slowStart;
    if (slowStart !== undefined && slowStart.isRamping(now)) {
      // A cold instance looks 1/factor times as loaded, so it wins fewer of its comparisons.
      cost /= slowStart.factor(this.instances[index]!.id, now);
    }
    return cost;
  }

  /**
   * The estimate as of `now`. It also decays toward 0 while no response arrives: otherwise an
   * instance that had one slow response would lose every comparison, never be tried again, and
   * never get the fast response that would clear its record.
   */
  private latencyEstimate(load: InstanceLoad, now: number): number {
    if (!load.measured) return this.ewmaCount > 0 ? this.ewmaSum / this.ewmaCount : 1;
    const elapsed = now - load.stampMs;
    return elapsed > 0 ? load.ewmaMs * Math.exp(-elapsed / this.decayMs) : load.ewmaMs;
  }

  /**
   * Peak EWMA: a latency above the estimate replaces it at once (react to trouble immediately);
   * one below pulls it down gradually, by the weight time has given it since the last sample.
   */
  private observe(load: InstanceLoad, latencyMs: number, now: number): void {
    const before = load.ewmaMs;
    const wasMeasured = load.measured;
    if (!wasMeasured || latencyMs > before) {
      load.ewmaMs = latencyMs;
    } else {
      const elapsed = Math.max(0, now - load.stampMs);
      const keep = Math.exp(-elapsed / this.decayMs);
      load.ewmaMs = before * keep + latencyMs * (1 - keep);
    }
    load.stampMs = now;
    load.measured = true;
    if (load.active) {
      this.ewmaSum += load.ewmaMs - (wasMeasured ? before : 0);
      if (!wasMeasured) this.ewmaCount++;
    }
  }

  private recountEwma(): void {
    let sum = 0;
    let count = 0;
    for (const load of this.byId.values()) {
      if (!load.active || !load.measured) continue;
      sum += load.ewmaMs;
      count++;
    }
    this.ewmaSum = sum;
    this.ewmaCount = count;
  }
}
