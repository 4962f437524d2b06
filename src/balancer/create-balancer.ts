import type { Balancer, BalancerName } from './balancer';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ConfigError } from '../errors';
import {
  BALANCER_OPTIONS_PATH,
  readBalancerOptions,
  type ResolvedBalancerOptions,
} from './balancer-options';
import { ConsistentHashBalancer, type ConsistentHashOptions } from './consistent-hash';
import { LeastRequestBalancer, type LeastRequestOptions } from './least-request';
import { RandomBalancer } from './random';
import { RoundRobinBalancer } from './round-robin';
import { WeightedBalancer, type WeightedOptions } from './weighted';

/**
 * Options of all built-in balancers together (round-robin and random read only `random`); an
 * option the chosen balancer does not read is rejected by {@link createBalancer}.
 */
export type CreateBalancerOptions = WeightedOptions & LeastRequestOptions & ConsistentHashOptions;

/** Names accepted by {@link createBalancer}, in documentation order. */
export const BALANCER_NAMES: readonly BalancerName[] = [
  'round-robin',
  'random',
  'weighted',
  'least-request',
  'consistent-hash',
];

/** The keys of {@link CreateBalancerOptions}; any other is rejected. */
const BALANCER_OPTION_KEYS: KnownKeys<CreateBalancerOptions> = {
  random: true,
  now: true,
  slowStartMs: true,
  slowStartFloor: true,
  peakEwma: true,
  virtualNodes: true,
  scaleByWeight: true,
};

/**
 * Which balancers read each specific option. Setting one the chosen balancer ignores is almost
 * always a mistake (slowStartMs with round-robin does nothing), so it fails loudly instead.
 */
const OPTION_OWNERS: { readonly [K in keyof CreateBalancerOptions]?: readonly BalancerName[] } = {
  slowStartMs: ['weighted', 'least-request'],
  slowStartFloor: ['weighted', 'least-request'],
  peakEwma: ['least-request'],
  virtualNodes: ['consistent-hash'],
  scaleByWeight: ['consistent-hash'],
  now: ['weighted', 'least-request'],
};

function isBalancer(value: unknown): value is Balancer {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Balancer, unknown>>;
  return typeof candidate.update === 'function' && typeof candidate.pick === 'function';
}

/**
 * A balancer and its options, validated once: `create()` builds one for each routing table that
 * needs its own (a service, each chain target) without reading the options again.
 */
export interface BalancerFactory {
  /** The built-in balancer's name, or `'custom'` for a factory function. */
  readonly kind: BalancerName | 'custom';
  create(): Balancer;
}

/**
 * Validates `name` and `options` and returns what builds that balancer. ConfigErrors name
 * `<prefix>.balancer` for an unknown name (and, from `create()`, a custom factory that returns no
 * balancer), and `<prefix>.balancerOptions.<option>` for an unknown, bad or misplaced option
 * (`prefix` is e.g. `discovery.client`; default: none). A custom factory's `options` are unused.
 */
export function resolveBalancer(
  name: BalancerName | (() => Balancer),
  options: CreateBalancerOptions = {},
  prefix = '',
): BalancerFactory {
  const at = (key: string): string => (prefix === '' ? key : `${prefix}.${key}`);
  if (typeof name === 'function') {
    return {
      kind: 'custom',
      create: () => {
        const balancer = name();
        if (!isBalancer(balancer)) {
          throw new ConfigError(
            at('balancer'),
            'a factory returning an object with update() and pick()',
            balancer,
          );
        }
        return balancer;
      },
    };
  }
  if (typeof name !== 'string' || !(BALANCER_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      at('balancer'),
      `one of ${BALANCER_NAMES.map((known) => `'${known}'`).join(', ')} or a factory function`,
      name,
    );
  }
  const path = at(BALANCER_OPTIONS_PATH);
  const reader = OptionReader.strict(options, path, BALANCER_OPTION_KEYS);
  for (const [option, owners] of Object.entries(OPTION_OWNERS)) {
    const key = option as keyof CreateBalancerOptions;
    if (reader.has(key) && !owners.includes(name)) {
      reader.fail(key, `left out with ${name}: it applies only to ${owners.join(' and ')}`);
    }
  }
  const resolved = readBalancerOptions(options, path);
  return { kind: name, create: constructorOf(name, resolved) };
}

/** Builds the balancer called `name` (or calls a custom factory); errors as {@link resolveBalancer}. */
export function createBalancer(
  name: BalancerName | (() => Balancer),
  options: CreateBalancerOptions = {},
  prefix = '',
): Balancer {
  return resolveBalancer(name, options, prefix).create();
}

function constructorOf(name: BalancerName, options: ResolvedBalancerOptions): () => Balancer {
  switch (name) {
    case 'round-robin':
      return () => new RoundRobinBalancer(options);
    case 'random':
      return () => new RandomBalancer(options);
    case 'weighted':
      return () => new WeightedBalancer(options);
    case 'least-request':
      return () => new LeastRequestBalancer(options);
    case 'consistent-hash':
      return () => new ConsistentHashBalancer(options);
  }
}
