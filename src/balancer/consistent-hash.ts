import type { ServiceInstance } from '../watch/service-instance';
import type { Balancer, PickContext } from './balancer';
import {
  BALANCER_OPTIONS_PATH,
  readBalancerOptions,
  type BalancerBaseOptions,
  type ResolvedBalancerOptions,
} from './balancer-options';
import { eligibleSorted } from './candidates';
import { hashString } from './hash';
import { nextAllowedIndex, randomIndex } from './selection';

/** Options of {@link ConsistentHashBalancer}; `random` only picks where key-less turns start. */
export interface ConsistentHashOptions extends BalancerBaseOptions {
  /** Ring points per instance, integer in [1, 10000]. Default: 100. */
  readonly virtualNodes?: number;
  /**
   * Give each instance round(virtualNodes × weight) points (at least 1, at most 100 × virtualNodes)
   * so heavier instances own more keys. Default: false (every instance gets virtualNodes).
   */
  readonly scaleByWeight?: boolean;
}

/**
 * Ring entries are sorted as one float64 each: hash × 2^21 + owner index, exact below 2^53. The
 * owner index breaks ties between equal hashes the same way in every process (ids are sorted).
 */
const OWNER_SLOTS = 2 ** 21;

/**
 * How far along the ring to look for an allowed owner before scanning the instance list; with
 * 100 points per instance, 256 steps passes several distinct owners.
 */
const RING_WALK_LIMIT = 256;

/**
 * Maps `context.key` to an instance on a hash ring with virtual nodes, so a key keeps its
 * instance while the set changes: when an instance leaves only its keys move, and one joining
 * takes about 1/n of the keys. Lookup hashes the key (O(key length)) and binary-searches the
 * ring (O(log points), which is acceptable for hashing). Without a key it takes turns, as round
 * robin does. An excluded owner's keys go to the next allowed owner clockwise.
 */
export class ConsistentHashBalancer implements Balancer {
  readonly name = 'consistent-hash';
  private instances: ServiceInstance[] = [];
  /** Sorted point hashes and, in step, the index in `instances` of each point's owner. */
  private ringHashes = new Uint32Array(0);
  private ringOwners = new Uint32Array(0);
  /** Next index of the key-less rotation. */
  private cursor = 0;
  private readonly random: () => number;
  private readonly virtualNodes: number;
  private readonly scaleByWeight: boolean;

  /** Takes options resolved once (create-balancer.ts); `from` reads raw ones. */
  constructor(options: ResolvedBalancerOptions) {
    this.random = options.random;
    this.virtualNodes = options.virtualNodes;
    this.scaleByWeight = options.scaleByWeight;
  }

  /** Validates `options`; ConfigErrors name `${path}.<option>`. */
  static from(
    options: ConsistentHashOptions = {},
    path = BALANCER_OPTIONS_PATH,
  ): ConsistentHashBalancer {
    return new ConsistentHashBalancer(readBalancerOptions(options, path));
  }

  update(instances: readonly ServiceInstance[]): void {
    const list = eligibleSorted(instances);
    if (list.length >= OWNER_SLOTS) throw new RangeError(`too many instances: ${list.length}`);
    let total = 0;
    for (const instance of list) total += this.pointsFor(instance);
    const packed = new Float64Array(total);
    let next = 0;
    list.forEach((instance, owner) => {
      const points = this.pointsFor(instance);
      // Points derive from the instance alone, so it lands on the same spots in every process
      // whatever else joins or leaves. The id is the instance's identity (node and service id).
      const seed = `${instance.id}#`;
      for (let replica = 0; replica < points; replica++) {
        packed[next++] = hashString(seed + String(replica)) * OWNER_SLOTS + owner;
      }
    });
    packed.sort();
    const hashes = new Uint32Array(total);
    const owners = new Uint32Array(total);
    for (let i = 0; i < total; i++) {
      const entry = packed[i]!;
      const owner = entry % OWNER_SLOTS;
      owners[i] = owner;
      hashes[i] = (entry - owner) / OWNER_SLOTS;
    }
    this.ringHashes = hashes;
    this.ringOwners = owners;
    // The key-less rotation starts at a random place, not at the same first id in every client.
    if (this.instances.length === 0 && list.length > 0) {
      this.cursor = randomIndex(this.random, list.length);
    }
    this.instances = list;
  }

  pick(context?: PickContext): ServiceInstance | undefined {
    const list = this.instances;
    if (list.length === 0) return undefined;
    const exclude = context?.exclude;
    const filtering = exclude !== undefined && exclude.size > 0;
    const key = context?.key;
    if (key === undefined) {
      let index = this.cursor < list.length ? this.cursor : 0;
      if (filtering && exclude.has(list[index]!.id)) {
        index = nextAllowedIndex(list, index + 1, exclude);
        if (index < 0) return undefined;
      }
      this.cursor = index + 1;
      return list[index];
    }
    const hashes = this.ringHashes;
    const owners = this.ringOwners;
    const points = hashes.length;
    const start = this.pointAtOrAfter(hashString(key));
    const owner = owners[start]!;
    if (!filtering || !exclude.has(list[owner]!.id)) return list[owner];
    const steps = points < RING_WALK_LIMIT ? points : RING_WALK_LIMIT;
    for (let step = 1; step < steps; step++) {
      const candidate = list[owners[(start + step) % points]!]!;
      if (!exclude.has(candidate.id)) return candidate;
    }
    const index = nextAllowedIndex(list, owner + 1, exclude);
    return index < 0 ? undefined : list[index];
  }

  /** Number of ring points each instance owns, by id; for tests and diagnostics. */
  ringSizes(): ReadonlyMap<string, number> {
    const sizes = new Map<string, number>();
    for (const instance of this.instances) sizes.set(instance.id, this.pointsFor(instance));
    return sizes;
  }

  private pointsFor(instance: ServiceInstance): number {
    if (!this.scaleByWeight) return this.virtualNodes;
    // Depends on this instance's weight only: scaling by the largest weight instead would move
    // everyone's keys whenever the heaviest instance came or went.
    const points = Math.round(this.virtualNodes * instance.weight);
    return Math.min(Math.max(points, 1), this.virtualNodes * 100);
  }

  /** Index of the first ring point with hash >= `hash`, wrapping to 0 past the last. */
  private pointAtOrAfter(hash: number): number {
    const hashes = this.ringHashes;
    let low = 0;
    let high = hashes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (hashes[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    return low < hashes.length ? low : 0;
  }
}
