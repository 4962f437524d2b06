import type { Balancer, BalancerName } from './balancer';
import { OPTION_PATH } from './balancer-options';
import { ConfigError } from '../errors';
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

/**
 * Which balancers read each specific option. Setting one the chosen balancer ignores is almost
 * always a mistake (slowStartMs with round-robin does nothing), so it fails loudly instead.
 */
const OPTION_OWNERS: Readonly<Record<string, readonly BalancerName[]>> = {
  slowStartMs: ['weighted', 'least-request'],
  slowStartFloor: ['weighted', 'least-request'],
  peakEwma: ['least-request'],
  virtualNodes: ['consistent-hash'],
  scaleByWeight: ['consistent-hash'],
};

function isBalancer(value: unknown): value is Balancer {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof Balancer, unknown>>;
  return typeof candidate.update === 'function' && typeof candidate.pick === 'function';
}

/**
 * Builds the balancer called `name`, or calls `name` when it is a factory of a custom balancer
 * (then `options` is unused). Throws `ConfigError('balancer', …)` for an unknown name or a factory
 * that returns no balancer, and `ConfigError('balancer.<option>', …)` for a bad or misplaced option.
 */
export function createBalancer(
  name: BalancerName | (() => Balancer),
  options: CreateBalancerOptions = {},
): Balancer {
  if (typeof name === 'function') {
    const balancer = name();
    if (!isBalancer(balancer)) {
      throw new ConfigError(
        OPTION_PATH,
        'the factory must return an object with update() and pick()',
      );
    }
    return balancer;
  }
  if (typeof name !== 'string' || !(BALANCER_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(
      OPTION_PATH,
      `unknown balancer ${JSON.stringify(name)}; expected one of ${BALANCER_NAMES.join(', ')} or a factory function`,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`${OPTION_PATH}Options`, 'must be an object');
  }
  for (const [option, owners] of Object.entries(OPTION_OWNERS)) {
    const value: unknown = (options as Record<string, unknown>)[option];
    if (value !== undefined && !owners.includes(name)) {
      throw new ConfigError(
        `${OPTION_PATH}.${option}`,
        `applies only to ${owners.join(' and ')}, not to ${name}`,
      );
    }
  }
  switch (name) {
    case 'round-robin':
      return new RoundRobinBalancer(options);
    case 'random':
      return new RandomBalancer(options);
    case 'weighted':
      return new WeightedBalancer(options);
    case 'least-request':
      return new LeastRequestBalancer(options);
    case 'consistent-hash':
      return new ConsistentHashBalancer(options);
  }
}
