import type { HealthServiceEntry } from '../consul/consul-types';
import { instanceIdentity } from './service-instance';
import type { ServiceInstance } from './service-instance';

// Consul fills in these weights when a registration gives none.
const DEFAULT_PASSING_WEIGHT = 1;
const DEFAULT_WARNING_WEIGHT = 1;

const EMPTY_TAGS: readonly string[] = Object.freeze([]);
const EMPTY_META: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Worst status among an entry's checks (service and node checks alike), or undefined when the
 * instance must not receive traffic: any critical or maintenance check, or a status this library
 * does not know (an unknown state is not trusted with traffic). No checks at all means passing,
 * as in Consul.
 */
function aggregateStatus(entry: HealthServiceEntry): ServiceInstance['status'] | undefined {
  let status: ServiceInstance['status'] = 'passing';
  for (const check of entry.Checks) {
    switch (check.Status) {
      case 'passing':
        break;
      case 'warning':
        status = 'warning';
        break;
      default:
        return undefined;
    }
  }
  return status;
}

function weightOrDefault(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : fallback;
}

/**
 * Converts one entry of `GET /v1/health/service/:name` into a frozen ServiceInstance, or returns
 * undefined when the entry is critical or in maintenance (such instances are never listed).
 */
export function toServiceInstance(entry: HealthServiceEntry): ServiceInstance | undefined {
  const status = aggregateStatus(entry);
  if (status === undefined) return undefined;
  const weights = entry.Service.Weights;
  const weight =
    status === 'passing'
      ? weightOrDefault(weights?.Passing, DEFAULT_PASSING_WEIGHT)
      : weightOrDefault(weights?.Warning, DEFAULT_WARNING_WEIGHT);
  const tags = entry.Service.Tags;
  const meta = entry.Service.Meta;
  return Object.freeze({
    id: instanceIdentity(entry.Node.Node, entry.Service.ID),
    serviceId: entry.Service.ID,
    service: entry.Service.Service,
    node: entry.Node.Node,
    // An empty service address means "use the node's", which is how Consul's DNS answers too.
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    tags: tags && tags.length > 0 ? Object.freeze([...tags]) : EMPTY_TAGS,
    meta: meta && Object.keys(meta).length > 0 ? Object.freeze({ ...meta }) : EMPTY_META,
    status,
    weight,
  });
}

/** Orders instances by identity (node, then service id). */
export function compareInstances(a: ServiceInstance, b: ServiceInstance): number {
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/**
 * Converts a whole health answer: critical and maintenance entries dropped, the rest sorted by identity so that two answers with the same content compare equal element by element.
 * The returned array and its elements are frozen.
 */
export function toServiceInstances(
  entries: readonly HealthServiceEntry[],
): readonly ServiceInstance[] {
  const instances: ServiceInstance[] = [];
  for (const entry of entries) {
    const instance = toServiceInstance(entry);
    if (instance) instances.push(instance);
  }
  instances.sort(compareInstances);
  return Object.freeze(instances);
}
