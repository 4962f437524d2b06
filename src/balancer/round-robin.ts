import type { ServiceInstance } from '../watch/service-instance';
import type { Balancer, PickContext } from './balancer';
import {
  BALANCER_OPTIONS_PATH,
  readBalancerOptions,
  type BalancerBaseOptions,
  type ResolvedBalancerOptions,
} from './balancer-options';
import { eligibleSorted, lowerBound } from './candidates';
import { nextAllowedIndex, randomIndex } from './selection';

/** Options of {@link RoundRobinBalancer}; `random` only chooses where the first rotation starts. */
export type RoundRobinOptions = BalancerBaseOptions;

/**
 * Takes turns over the instances with weight > 0, in id order; other weight values are ignored.
 * A list change keeps the rotation going from the instance that was next (or its successor in id
 * order when it left), so nobody is reset to the front or given two turns in a row.
 */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round-robin';
  private instances: ServiceInstance[] = [];
  /** Index of the instance whose turn is next; always < instances.length when non-empty. */
  private cursor = 0;
  private readonly random: () => number;

  /** Takes options resolved once (create-balancer.ts); `from` reads raw ones. */
  constructor(options: ResolvedBalancerOptions) {
    this.random = options.random;
  }

  /** Validates `options`; ConfigErrors name `${path}.<option>`. */
  static from(options: RoundRobinOptions = {}, path = BALANCER_OPTIONS_PATH): RoundRobinBalancer {
    return new RoundRobinBalancer(readBalancerOptions(options, path));
  }

  update(instances: readonly ServiceInstance[]): void {
    const next = eligibleSorted(instances);
    const upcoming = this.instances[this.cursor];
    if (upcoming === undefined) {
      // A fresh rotation starts at a random place: every client sorts the same way, and starting
      // them all at index 0 would send the first request of every restarted client to one instance.
      this.cursor = next.length > 0 ? randomIndex(this.random, next.length) : 0;
    } else {
      const index = lowerBound(next, upcoming);
      this.cursor = index < next.length ? index : 0;
    }
    this.instances = next;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const list = this.instances;
    const n = list.length;
    if (n === 0) return undefined;
    let index = this.cursor;
    const exclude = context?.exclude;
    if (exclude !== undefined && exclude.size > 0 && exclude.has(list[index]!.id)) {
      // The rotation itself is the retry: the next allowed instance in order takes this turn.
      index = nextAllowedIndex(list, index + 1, exclude);
      if (index < 0) return undefined;
    }
    this.cursor = index + 1 < n ? index + 1 : 0;
    return list[index];
  }
}
