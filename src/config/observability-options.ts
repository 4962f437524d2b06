import type { Registry } from 'prom-client';
import { silentLogger } from '../logger';
import type { Logger } from '../logger';
import { DEFAULTS } from './defaults';
import { OptionReader } from './option-reader';
import type { KnownKeys } from './option-reader';
import type { MetricsOptions } from './options';

/** The `metrics` option after validation: where and under which prefix, or false for none. */
export type ResolvedMetricsOptions =
  { readonly registry: Registry | undefined; readonly prefix: string } | false;

/** The options every entry point (`expressConsul()`, `createDiscovery()`) takes besides its own. */
interface ObservabilityOptions {
  readonly metrics?: MetricsOptions | false;
  readonly logger?: Logger;
}

const METRICS_KEYS: KnownKeys<MetricsOptions> = { registry: true, prefix: true };

// Prometheus' metric name grammar; an empty prefix is allowed.
const METRIC_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/** Reads `metrics`: absent means on in prom-client's global registry, `false` means off. */
export function readMetricsOption(
  reader: OptionReader<ObservabilityOptions>,
): ResolvedMetricsOptions {
  if (reader.raw('metrics') === false) return false;
  const raw = reader.raw('metrics');
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) {
    reader.fail('metrics', '{ registry, prefix } or false');
  }
  const metrics: OptionReader<MetricsOptions> = OptionReader.strict(
    raw,
    reader.pathOf('metrics'),
    METRICS_KEYS,
  );
  const registry = metrics.raw('registry');
  if (
    registry !== undefined &&
    (typeof registry !== 'object' ||
      registry === null ||
      typeof (registry as { metrics?: unknown }).metrics !== 'function')
  ) {
    metrics.fail('registry', 'a prom-client Registry');
  }
  const prefix: unknown = metrics.raw('prefix') ?? DEFAULTS.metrics.prefix;
  if (typeof prefix !== 'string' || !METRIC_PREFIX.test(prefix)) {
    metrics.fail('prefix', 'a Prometheus metric name prefix (letters, digits, _ and :)');
  }
  return { registry: registry as Registry | undefined, prefix };
}

/** Reads `logger`: any object with pino's debug/info/warn/error methods; silent when absent. */
export function readLoggerOption(reader: OptionReader<ObservabilityOptions>): Logger {
  const logger = reader.raw('logger') ?? silentLogger;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof (logger as Record<string, unknown>)[level] !== 'function') {
      reader.fail('logger', `a pino-shaped logger with a ${level}(obj, msg) method`);
    }
  }
  return logger as Logger;
}
