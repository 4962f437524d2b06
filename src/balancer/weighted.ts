import type { ServiceInstance } from '../watch/service-instance';
import type { Balancer, BalancerView, PickContext } from './balancer';
import {
  BALANCER_OPTIONS_PATH,
  readBalancerOptions,
  type BalancerBaseOptions,
  type ClockOption,
  type ResolvedBalancerOptions,
} from './balancer-options';
import { AliasTable } from './alias-table';
import { eligibleSorted } from './candidates';
import { SlowStart } from './slow-start';
import { EXCLUDE_RETRIES, weightedAllowedIndex } from './selection';

/** Options of {@link WeightedBalancer}; `now` is only read while a slow-start ramp is running. */
export interface WeightedOptions extends BalancerBaseOptions, ClockOption {
  /** Ramp in ms over which a newly seen instance grows to its full weight; 0 = off. Default: 0. */
  readonly slowStartMs?: number;
  /** Share of its weight a new instance starts at, in (0, 1]; needs slowStartMs. Default: 0.1. */
  readonly slowStartFloor?: number;
}

/**
 * While ramping, the alias table is rebuilt at most this many times per slow-start window: a
 * 20-step staircase is indistinguishable from a line under real traffic, and it bounds the O(n)
 * rebuild cost instead of paying it on every pick.
 */
const RAMP_STEPS = 20;

/**
 * Picks instances with probability proportional to `instance.weight` (Consul's Weights.Passing or
 * Weights.Warning, already resolved, so a warning instance at 1 vs 10 gets a tenth of the share
 * and drains rather than vanishes). O(1) per pick via an alias table built in `update`.
 */
export class WeightedBalancer implements Balancer {
  readonly name = 'weighted';
  private instances: ServiceInstance[] = [];
  /** Weight used for instances[i] right now (slow start applied). */
  private effective = new Float64Array(0);
  private table = new AliasTable(0);
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly slowStart: SlowStart | undefined;
  private readonly rampStepMs: number;
  /** Time of the next ramp rebuild; Infinity when nothing ramps, so pick never reads the clock. */
  private rebuildAt = Infinity;

  /** Takes options resolved once (create-balancer.ts); `from` reads raw ones. */
  constructor(options: ResolvedBalancerOptions) {
    this.random = options.random;
    this.now = options.now;
    this.slowStart = options.slowStart === undefined ? undefined : new SlowStart(options.slowStart);
    this.rampStepMs = (this.slowStart?.windowMs ?? 0) / RAMP_STEPS;
  }

  /** Validates `options`; ConfigErrors name `${path}.<option>`. */
  static from(options: WeightedOptions = {}, path = BALANCER_OPTIONS_PATH): WeightedBalancer {
    return new WeightedBalancer(readBalancerOptions(options, path));
  }

  update(instances: readonly ServiceInstance[]): void {
    const list = eligibleSorted(instances);
    this.instances = list;
    this.effective = new Float64Array(list.length);
    this.table = new AliasTable(list.length);
    const now = this.slowStart === undefined ? 0 : this.now();
    this.slowStart?.observe(list, now);
    this.rebuild(now);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const list = this.instances;
    if (list.length === 0) return undefined;
    if (this.rebuildAt !== Infinity) {
      const now = this.now();
      if (now >= this.rebuildAt) this.rebuild(now);
    }
    const first = list[this.table.sample(this.random())]!;
    const exclude = context?.exclude;
    if (exclude === undefined || exclude.size === 0 || !exclude.has(first.id)) return first;
    for (let retry = 0; retry < EXCLUDE_RETRIES; retry++) {
      const candidate = list[this.table.sample(this.random())]!;
      if (!exclude.has(candidate.id)) return candidate;
    }
    const index = weightedAllowedIndex(list, this.effective, exclude, this.random);
    return index < 0 ? undefined : list[index];
  }

  inspect(id: string): BalancerView {
    const share = this.slowStart?.factor(id, this.now());
    return share === undefined ? {} : { share };
  }

  /** Effective weight of each instance, in id order (slow start applied); for metrics and tests. */
  effectiveWeights(): ReadonlyMap<string, number> {
    const result = new Map<string, number>();
    this.instances.forEach((instance, i) => result.set(instance.id, this.effective[i]!));
    return result;
  }

  private rebuild(now: number): void {
    const { instances, effective, slowStart } = this;
    const ramping = slowStart !== undefined && slowStart.isRamping(now);
    for (let i = 0; i < instances.length; i++) {
      const instance = instances[i]!;
      effective[i] = ramping
        ? instance.weight * slowStart.factor(instance.id, now)
        : instance.weight;
    }
    this.table.load(effective);
    this.rebuildAt = ramping ? now + this.rampStepMs : Infinity;
  }
}
