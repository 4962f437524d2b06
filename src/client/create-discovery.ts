import { readLoggerOption, readMetricsOption } from '../config/observability-options';
import type { MetricsOptions } from '../config/options';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ConsulClient } from '../consul/consul-client';
import { connectionBudget, requireTrafficRoom } from '../consul/connection-budget';
import { resolveConsulConnection } from '../consul/consul-environment';
import type { ConsulConnectionOptions } from '../consul/consul-environment';
import type { Logger } from '../logger';
import { ExpressConsulMetrics } from '../metrics/express-consul-metrics';
import { Discovery } from './discovery';
import { DISCOVERY_KEYS, resolveDiscoveryOptions } from './discovery-options';
import type { DiscoveryOptions } from './discovery-options';

/** Options of a discovery used without an Express service (a worker, a CLI, a test). */
export interface StandaloneDiscoveryOptions extends DiscoveryOptions {
  /** How to reach Consul; defaults follow CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ... */
  readonly consul?: ConsulConnectionOptions;
  /** Prometheus metrics; false turns them off. Default: on, in prom-client's global registry. */
  readonly metrics?: MetricsOptions | false;
  /** A pino-shaped logger. Default: silent. */
  readonly logger?: Logger;
}

const STANDALONE_KEYS: KnownKeys<StandaloneDiscoveryOptions> = {
  ...DISCOVERY_KEYS,
  consul: true,
  metrics: true,
  logger: true,
};

/**
 * Discovery and outbound calls without registering anything: `createDiscovery().fetch('http://payments/')`.
 * Every option is resolved here, once, before anything is built; ConfigErrors name discovery
 * fields under `discovery.`, as for `expressConsul()`.
 */
export function createDiscovery(options: StandaloneDiscoveryOptions = {}): Discovery {
  const reader = OptionReader.strict(options, '', STANDALONE_KEYS);
  const metrics = readMetricsOption(reader);
  const logger = readLoggerOption(reader);
  // Only the discovery keys are discovery options; the others were read above.
  const own: Record<string, unknown> = {};
  for (const key of Object.keys(DISCOVERY_KEYS) as (keyof DiscoveryOptions)[]) {
    if (options[key] !== undefined) own[key] = options[key];
  }
  const connection = resolveConsulConnection(options.consul, process.env, reader.pathOf('consul'));
  const discovery = resolveDiscoveryOptions(own, 'discovery');
  if (discovery.trafficManagement) {
    requireTrafficRoom(
      connectionBudget(connection.maxConnections),
      `${reader.pathOf('consul')}.maxConnections`,
    );
  }
  const registryMetrics =
    metrics === false ? undefined : new ExpressConsulMetrics(metrics.registry, metrics.prefix);
  return new Discovery(new ConsulClient(connection), discovery, registryMetrics, logger, true);
}
