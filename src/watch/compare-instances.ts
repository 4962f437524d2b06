import type { ServiceInstance } from './service-instance';

/** Orders instances by identity (node, then service id): the order of every published list. */
export function compareInstances(a: ServiceInstance, b: ServiceInstance): number {
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}
