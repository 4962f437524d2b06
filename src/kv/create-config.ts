import { register as globalRegistry } from 'prom-client';
import { readLoggerOption, readMetricsOption } from '../config/observability-options';
import type { MetricsOptions } from '../config/options';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ConsulClient } from '../consul/consul-client';
import { resolveConsulConnection } from '../consul/consul-environment';
import type { ConsulConnectionOptions } from '../consul/consul-environment';
import type { Logger } from '../logger';
import { CONFIG_KEYS, resolveConsulConfigOptions } from './config-options';
import type { ConsulConfigOptions } from './config-options';
import { ConsulConfig } from './consul-config';
import { controlPlaneMetrics } from './kv-metrics';

/** Options of a configuration watch without an Express service (a worker, a script). */
export interface StandaloneConfigOptions<T> extends ConsulConfigOptions<T> {
  /** How to reach Consul; defaults follow CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN (`key:read` on the key), ... */
  readonly consul?: ConsulConnectionOptions;
  /** Prometheus metrics; false turns them off. Default: on, in prom-client's global registry. */
  readonly metrics?: MetricsOptions | false;
  /** A pino-shaped logger. Default: silent. */
  readonly logger?: Logger;
}

const STANDALONE_KEYS: KnownKeys<StandaloneConfigOptions<unknown>> = {
  ...CONFIG_KEYS,
  consul: true,
  metrics: true,
  logger: true,
};

/**
 * A typed configuration value following Consul KV, with its own Consul client (closed by the
 * watch's `close()`): `const config = createConfig('app/config', { schema }); await config.ready()`.
 * The watch starts at once.
 */
export function createConfig<T = unknown>(
  key: string,
  options: StandaloneConfigOptions<T> = {},
): ConsulConfig<T> {
  const reader = OptionReader.strict(options, 'config', STANDALONE_KEYS);
  const metrics = readMetricsOption(reader);
  const logger = readLoggerOption(reader);
  // Only the watch's own keys reach its resolver, which refuses any other.
  const own: Record<string, unknown> = {};
  for (const name of Object.keys(CONFIG_KEYS) as (keyof ConsulConfigOptions<T>)[]) {
    if (options[name] !== undefined) own[name] = options[name];
  }
  const resolved = resolveConsulConfigOptions<T>(key, own, 'config');
  const client = new ConsulClient(
    resolveConsulConnection(options.consul, process.env, reader.pathOf('consul')),
  );
  const config = new ConsulConfig<T>(
    client,
    resolved,
    logger,
    metrics === false
      ? undefined
      : controlPlaneMetrics(metrics.registry ?? globalRegistry, metrics.prefix),
    Math.random,
    () => client.close(),
  );
  config.start();
  return config;
}
