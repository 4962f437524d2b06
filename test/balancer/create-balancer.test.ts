import type { Balancer, BalancerName } from '../../src/balancer/balancer';
import { ConsistentHashBalancer } from '../../src/balancer/consistent-hash';
import { BALANCER_NAMES, createBalancer } from '../../src/balancer/create-balancer';
import { LeastRequestBalancer } from '../../src/balancer/least-request';
import { RandomBalancer } from '../../src/balancer/random';
import { RoundRobinBalancer } from '../../src/balancer/round-robin';
import { WeightedBalancer } from '../../src/balancer/weighted';
import { ConfigError } from '../../src/errors';
import { instances } from './helpers';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('createBalancer', () => {
  it.each([
    ['round-robin', RoundRobinBalancer],
    ['random', RandomBalancer],
    ['weighted', WeightedBalancer],
    ['least-request', LeastRequestBalancer],
    ['consistent-hash', ConsistentHashBalancer],
  ] as const)('builds %s', (name, type) => {
    const balancer = createBalancer(name);
    expect(balancer).toBeInstanceOf(type);
    expect(balancer.name).toBe(name);
    balancer.update(instances(2));
    expect(balancer.pick({ key: 'k' })).toBeDefined();
  });

  it('lists every name once', () => {
    expect(new Set(BALANCER_NAMES).size).toBe(5);
  });

  it('passes its options to the balancer', () => {
    const balancer = createBalancer('round-robin', { random: () => 0.99 });
    balancer.update(instances(3));
    expect(balancer.pick()?.id).toBe('i2');
  });

  it('rejects an unknown name with ConfigError("balancer")', () => {
    const error = configError(() => createBalancer('fastest' as BalancerName));
    expect(error.path).toBe('balancer');
    expect(error.code).toBe('EXPRESS_CONSUL_INVALID_OPTION');
    expect(error.message).toContain('round-robin');
  });

  it('rejects a name that is not a string', () => {
    expect(configError(() => createBalancer(42 as unknown as BalancerName)).path).toBe('balancer');
  });

  it('uses a factory as is', () => {
    const custom: Balancer = { name: 'custom', update: () => undefined, pick: () => undefined };
    expect(createBalancer(() => custom)).toBe(custom);
  });

  it('rejects a factory that returns no balancer', () => {
    const error = configError(() => createBalancer((() => ({})) as unknown as () => Balancer));
    expect(error.path).toBe('balancer');
  });

  it('rejects an option the chosen balancer would ignore', () => {
    expect(configError(() => createBalancer('round-robin', { slowStartMs: 1000 })).path).toBe(
      'balancerOptions.slowStartMs',
    );
    expect(configError(() => createBalancer('weighted', { peakEwma: { decayMs: 1 } })).path).toBe(
      'balancerOptions.peakEwma',
    );
    expect(configError(() => createBalancer('random', { virtualNodes: 10 })).path).toBe(
      'balancerOptions.virtualNodes',
    );
  });

  it.each([
    ['weighted', { slowStartMs: -1 }, 'balancerOptions.slowStartMs'],
    ['weighted', { slowStartMs: 100, slowStartFloor: 2 }, 'balancerOptions.slowStartFloor'],
    ['least-request', { peakEwma: { decayMs: Number.NaN } }, 'balancerOptions.peakEwma.decayMs'],
    ['least-request', { peakEwma: 5 }, 'balancerOptions.peakEwma'],
    ['consistent-hash', { virtualNodes: 0 }, 'balancerOptions.virtualNodes'],
    ['consistent-hash', { virtualNodes: 1.5 }, 'balancerOptions.virtualNodes'],
    ['consistent-hash', { scaleByWeight: 'yes' }, 'balancerOptions.scaleByWeight'],
    ['random', { random: 0.5 }, 'balancerOptions.random'],
    ['weighted', { now: 'later' }, 'balancerOptions.now'],
  ])('rejects %s with %j at %s', (name, options, path) => {
    const error = configError(() => createBalancer(name as BalancerName, options as never));
    expect(error.path).toBe(path);
  });

  // A custom `random` is only checked to be a function: a broken one (NaN, 1, Infinity, < 0) must
  // still give a listed instance, never undefined while some are listed, nor throw on a retry.
  describe.each(BALANCER_NAMES.map((name) => [name]))('%s with a broken random source', (name) => {
    it.each([Number.NaN, 1, Number.POSITIVE_INFINITY, -1])(
      'picks a listed instance (random %p)',
      (draw) => {
        const balancer = createBalancer(name, { random: () => draw });
        const listed = instances(3);
        balancer.update(listed);
        const ids = listed.map((i) => i.id);
        expect(ids).toContain(balancer.pick()?.id);
        expect(ids).toContain(balancer.pick({ exclude: new Set(['i0']) })?.id);
        expect(ids).toContain(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id);
      },
    );
  });
});
