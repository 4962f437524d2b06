export type { Balancer, BalancerName, PickContext } from './balancer';
export type { BalancerBaseOptions, ClockOption, ResolvedBalancerOptions } from './balancer-options';
export { RoundRobinBalancer, type RoundRobinOptions } from './round-robin';
export { RandomBalancer, type RandomOptions } from './random';
export { WeightedBalancer, type WeightedOptions } from './weighted';
export {
  LeastRequestBalancer,
  type LeastRequestOptions,
  type PeakEwmaOptions,
} from './least-request';
export { ConsistentHashBalancer, type ConsistentHashOptions } from './consistent-hash';
export { SlowStart, type SlowStartOptions } from './slow-start';
export {
  createBalancer,
  resolveBalancer,
  BALANCER_NAMES,
  type BalancerFactory,
  type CreateBalancerOptions,
} from './create-balancer';
