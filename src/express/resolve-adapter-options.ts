import { resolveDiscoveryOptions } from '../client/discovery-options';
import type { ResolvedDiscoveryOptions } from '../client/discovery-options';
import type { ExpressConsulOptions } from './express-consul-options';
import { resolveOptions } from '../config/resolve-options';
import { connectionBudget, requireTrafficRoom } from '../consul/connection-budget';
import type { ResolvedOptions } from '../config/resolve-options';

/** Every option of `expressConsul()` resolved: what ExpressConsul and the parts it builds read. */
export interface ResolvedAdapterOptions extends ResolvedOptions {
  readonly discovery: ResolvedDiscoveryOptions;
}

/**
 * The one place `expressConsul()`'s options are resolved, before anything is built: config/
 * resolves the adapter's own sections and the Consul connection, client/ the discovery section
 * (ConfigErrors under `discovery.`). Composed here, at the top, so config/ imports nothing above it
 * and the parts below receive resolved options only.
 */
export function resolveAdapterOptions(
  options: ExpressConsulOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedAdapterOptions {
  const resolved = resolveOptions(options, env);
  const discovery = resolveDiscoveryOptions(options.discovery ?? {}, 'discovery');
  if (discovery.trafficManagement) {
    requireTrafficRoom(connectionBudget(resolved.consul.maxConnections));
  }
  return { ...resolved, discovery };
}
