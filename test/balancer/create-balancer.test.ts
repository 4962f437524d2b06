import type { Balancer, BalancerName } from '../../src/balancer/balancer';
import { ConsistentHashBalancer } from '../../src/balancer/consistent-hash';
import {
  BALANCER_NAMES,
  createBalancer,
  resolveBalancer,
} from '../../src/balancer/create-balancer';
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
    expect(error.rule).toBe(
      "one of 'round-robin', 'random', 'weighted', 'least-request', 'consistent-hash' or a factory function",
    );
  });

  it('rejects a name that is not a string', () => {
    expect(configError(() => createBalancer(42 as unknown as BalancerName)).path).toBe('balancer');
  });

  it('uses a factory as is', () => {
    const custom: Balancer = { name: 'custom', update: () => undefined, pick: () => undefined };
    expect(createBalancer(() => custom)).toBe(custom);
  });

  it.each<[string, unknown]>([
    ['an empty object', {}],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'round-robin'],
    ['an object without pick()', { update: () => undefined }],
    ['an object without update()', { pick: () => undefined }],
  ])('rejects a factory that returns %s', (_label, value) => {
    const error = configError(() => createBalancer((() => value) as () => Balancer));
    expect(error.path).toBe('balancer');
    expect(error.rule).toBe('a factory returning an object with update() and pick()');
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
    ['least-request', { peakEwma: {} }, 'balancerOptions.peakEwma.decayMs'],
    ['least-request', { peakEwma: { decayMs: 0 } }, 'balancerOptions.peakEwma.decayMs'],
    [
      'least-request',
      { peakEwma: { decayMs: 1, halfLife: 2 } },
      'balancerOptions.peakEwma.halfLife',
    ],
    ['consistent-hash', { virtualNodes: 0 }, 'balancerOptions.virtualNodes'],
    ['consistent-hash', { virtualNodes: 1.5 }, 'balancerOptions.virtualNodes'],
    ['consistent-hash', { scaleByWeight: 'yes' }, 'balancerOptions.scaleByWeight'],
    ['random', { random: 0.5 }, 'balancerOptions.random'],
    ['weighted', { now: 'later' }, 'balancerOptions.now'],
  ])('rejects %s with %j at %s', (name, options, path) => {
    const error = configError(() => createBalancer(name as BalancerName, options as never));
    expect(error.path).toBe(path);
  });

  it.each([
    ['random', { random: 0.5 }, 'a function returning a number in [0, 1)'],
    ['weighted', { now: 'later' }, 'a function returning milliseconds'],
    ['least-request', { peakEwma: {} }, 'a duration in ms > 0'],
  ])('tells what %s’s %j must be', (name, options, rule) => {
    expect(configError(() => createBalancer(name as BalancerName, options as never)).rule).toBe(
      rule,
    );
  });
});

describe('which balancers take each specific option', () => {
  const values = {
    slowStartMs: 1000,
    slowStartFloor: 0.5,
    peakEwma: { decayMs: 1000 },
    virtualNodes: 10,
    scaleByWeight: true,
    // Read only by the balancers that measure time: set with any other, it would do nothing.
    now: () => 0,
  } as const;
  const owners: Record<keyof typeof values, readonly BalancerName[]> = {
    slowStartMs: ['weighted', 'least-request'],
    slowStartFloor: ['weighted', 'least-request'],
    peakEwma: ['least-request'],
    virtualNodes: ['consistent-hash'],
    scaleByWeight: ['consistent-hash'],
    now: ['weighted', 'least-request'],
  };
  const cases = (Object.keys(values) as (keyof typeof values)[]).flatMap((option) =>
    BALANCER_NAMES.map((name) => [option, name] as const),
  );

  it.each(cases)('%s with %s', (option, name) => {
    const build = (): Balancer => createBalancer(name, { [option]: values[option] });
    if (owners[option].includes(name)) {
      expect(build().name).toBe(name);
    } else {
      const error = configError(build);
      expect(error.path).toBe(`balancerOptions.${option}`);
      expect(error.rule).toBe(
        `left out with ${name}: it applies only to ${owners[option].join(' and ')}`,
      );
    }
  });
});

describe('resolveBalancer', () => {
  it('names the kind of balancer it builds, and builds a new one on each create()', () => {
    const factory = resolveBalancer('weighted', { slowStartMs: 1000 });
    expect(factory.kind).toBe('weighted');
    const a = factory.create();
    const b = factory.create();
    expect(a).toBeInstanceOf(WeightedBalancer);
    expect(b).not.toBe(a);
    const custom: Balancer = { name: 'mine', update: () => undefined, pick: () => undefined };
    expect(resolveBalancer(() => custom).kind).toBe('custom');
  });

  it('checks a custom factory’s result only when create() runs', () => {
    let calls = 0;
    const factory = resolveBalancer(() => {
      calls++;
      return null as unknown as Balancer;
    });
    expect(calls).toBe(0);
    expect(configError(() => factory.create()).path).toBe('balancer');
    expect(calls).toBe(1);
  });

  it('puts the prefix in front of every path it reports', () => {
    const prefix = 'discovery.client';
    expect(configError(() => resolveBalancer('fastest' as BalancerName, {}, prefix)).path).toBe(
      'discovery.client.balancer',
    );
    expect(configError(() => resolveBalancer('weighted', { slowStartMs: -1 }, prefix)).path).toBe(
      'discovery.client.balancerOptions.slowStartMs',
    );
    expect(configError(() => resolveBalancer('random', { virtualNodes: 5 }, prefix)).path).toBe(
      'discovery.client.balancerOptions.virtualNodes',
    );
    expect(configError(() => resolveBalancer('random', { bogus: 1 } as never, prefix)).path).toBe(
      'discovery.client.balancerOptions.bogus',
    );
    const broken = resolveBalancer(() => ({}) as Balancer, {}, prefix);
    expect(configError(() => broken.create()).path).toBe('discovery.client.balancer');
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
