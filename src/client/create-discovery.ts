import type { MetricsOptions } from '../config/options';
import { ConsulClient } from '../consul/consul-client';
import type { ConsulConnectionOptions } from '../consul/consul-environment';
import { ConfigError } from '../errors';
import { silentLogger } from '../logger';
import type { Logger } from '../logger';
import { ExpressConsulMetrics } from '../metrics/express-consul-metrics';
import { Discovery } from './discovery';
import type { DiscoveryOptions } from './discovery';

/** Options of a discovery used without an Express service (a worker, a CLI, a test). */
export interface StandaloneDiscoveryOptions extends DiscoveryOptions {
  /** How to reach Consul; defaults follow CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, ... */
  readonly consul?: ConsulConnectionOptions;
  /** Prometheus metrics; false turns them off. Default: on, in prom-client's global registry. */
  readonly metrics?: MetricsOptions | false;
  /** A pino-shaped logger. Default: silent. */
  readonly logger?: Logger;
}

/** Discovery and outbound calls without registering anything: `createDiscovery().fetch('http://payments/')`. */
export function createDiscovery(options: StandaloneDiscoveryOptions = {}): Discovery {
  const { consul, metrics, logger = silentLogger, ...discovery } = options;
  if (
    metrics !== undefined &&
    metrics !== false &&
    (typeof metrics !== 'object' || metrics === null)
  ) {
    throw new ConfigError('metrics', 'must be an object or false');
  }
  const client = new ConsulClient(consul ?? {});
  const registryMetrics =
    metrics === false ? undefined : new ExpressConsulMetrics(metrics?.registry, metrics?.prefix);
  return new Discovery(client, discovery, registryMetrics, logger, true);
}
