import type { ServiceInstance } from '../watch/service-instance';
import type { Balancer, PickContext } from './balancer';
import {
  BALANCER_OPTIONS_PATH,
  readBalancerOptions,
  type BalancerBaseOptions,
  type ResolvedBalancerOptions,
} from './balancer-options';
import { eligibleSorted } from './candidates';
import { EXCLUDE_RETRIES, randomAllowedIndex, randomIndex } from './selection';

/** Options of {@link RandomBalancer}. */
export type RandomOptions = BalancerBaseOptions;

/**
 * Picks uniformly among instances with weight > 0 (other weight values are ignored). O(1): one
 * draw; with exclusions, a few more draws, then an unbiased O(n) pick among what is left.
 */
export class RandomBalancer implements Balancer {
  readonly name = 'random';
  private instances: ServiceInstance[] = [];
  private readonly random: () => number;

  /** Takes options resolved once (create-balancer.ts); `from` reads raw ones. */
  constructor(options: ResolvedBalancerOptions) {
    this.random = options.random;
  }

  /** Validates `options`; ConfigErrors name `${path}.<option>`. */
  static from(options: RandomOptions = {}, path = BALANCER_OPTIONS_PATH): RandomBalancer {
    return new RandomBalancer(readBalancerOptions(options, path));
  }

  update(instances: readonly ServiceInstance[]): void {
    // Sorted only so a seeded `random` gives the same picks whatever order Consul listed them in.
    this.instances = eligibleSorted(instances);
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const list = this.instances;
    const n = list.length;
    if (n === 0) return undefined;
    const first = list[randomIndex(this.random, n)]!;
    const exclude = context?.exclude;
    if (exclude === undefined || exclude.size === 0 || !exclude.has(first.id)) return first;
    for (let retry = 0; retry < EXCLUDE_RETRIES; retry++) {
      const candidate = list[randomIndex(this.random, n)]!;
      if (!exclude.has(candidate.id)) return candidate;
    }
    const index = randomAllowedIndex(list, exclude, this.random);
    return index < 0 ? undefined : list[index];
  }
}
