import type { Balancer, PickContext } from '../../src/balancer/balancer';
import type { ServiceInstance } from '../../src/watch/service-instance';

export { mulberry32 } from '../support/seeded-random';

/** A random source that returns `values` in turn, forever. */
export function cycle(...values: number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length]!;
}

/** A passing instance with the given id and weight (address derived from the id). */
export function instance(
  id: string,
  weight = 1,
  overrides: Partial<ServiceInstance> = {},
): ServiceInstance {
  return {
    id,
    serviceId: id,
    service: 'api',
    node: 'node-1',
    address: '10.0.0.1',
    port: 8000 + (id.length > 0 ? id.charCodeAt(id.length - 1) : 0),
    tags: [],
    meta: {},
    status: 'passing',
    weight,
    ...overrides,
  };
}

/** Instances `prefix0`…`prefix{count-1}` with weight 1. */
export function instances(count: number, prefix = 'i'): ServiceInstance[] {
  return Array.from({ length: count }, (_, i) => instance(`${prefix}${i}`));
}

/** How often each id was returned by `picks` calls of `balancer.pick(context)`. */
export function countPicks(
  balancer: Balancer,
  picks: number,
  context?: PickContext,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const picked = balancer.pick(context);
    const id = picked === undefined ? '<none>' : picked.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** The ids returned by `picks` successive picks. */
export function pickIds(balancer: Balancer, picks: number, context?: PickContext): string[] {
  return Array.from({ length: picks }, () => balancer.pick(context)?.id ?? '<none>');
}
