import type { Registry } from 'prom-client';
import { resolveConsulConnection } from '../consul/consul-environment';
import type { ResolvedConsulConnection } from '../consul/consul-environment';
import { ConfigError } from '../errors';
import type { HealthIndicator } from '../health/health-indicator';
import { silentLogger } from '../logger';
import type { Logger } from '../logger';
import type { ExpressConsulOptions } from './options';

/** Options after defaults, the environment and validation: what the rest of the code reads. */
export interface ResolvedOptions {
  readonly service: {
    readonly name: string;
    readonly id: string | undefined;
    readonly address: string | undefined;
    readonly port: number | undefined;
    readonly tags: readonly string[];
    readonly meta: Readonly<Record<string, string>>;
    readonly weights: { readonly passing: number; readonly warning: number } | undefined;
    readonly check: {
      readonly intervalMs: number;
      readonly timeoutMs: number;
      readonly deregisterCriticalAfterMs: number;
      readonly successBeforePassing: number | undefined;
      readonly failuresBeforeCritical: number | undefined;
      /** Undefined: follow the server (https for a tls.Server). */
      readonly scheme: 'http' | 'https' | undefined;
      readonly tlsSkipVerify: boolean;
      readonly tlsServerName: string | undefined;
    };
  };
  readonly consul: ResolvedConsulConnection;
  readonly health: {
    readonly path: string;
    readonly indicators: readonly HealthIndicator[];
    readonly indicatorTimeoutMs: number;
  };
  readonly shutdown: {
    readonly handleSignals: boolean;
    readonly signals: readonly NodeJS.Signals[];
    readonly mode: 'deregister' | 'maintenance';
    readonly propagationDelayMs: number;
    readonly drainTimeoutMs: number;
  };
  readonly registration: {
    readonly watchWaitMs: number;
    readonly retryBaseMs: number;
    readonly retryMaxMs: number;
  };
  readonly metrics: { readonly registry: Registry | undefined; readonly prefix: string } | false;
  readonly logger: Logger;
}

/** Documented defaults, in one place. */
export const DEFAULTS = {
  checkIntervalMs: 10_000,
  checkTimeoutMs: 5_000,
  deregisterCriticalAfterMs: 300_000,
  healthPath: '/health',
  indicatorTimeoutMs: 2_000,
  signals: ['SIGTERM', 'SIGINT'] as readonly NodeJS.Signals[],
  propagationDelayMs: 2_000,
  drainTimeoutMs: 15_000,
  registrationWatchWaitMs: 30_000,
  registrationRetryBaseMs: 250,
  registrationRetryMaxMs: 4_000,
  metricsPrefix: 'express_consul_',
} as const;

// Consul accepts letters, digits, dashes, underscores and dots; anything else breaks its API paths.
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const METRIC_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An optional nested options object (absent means empty); anything but an object is refused. */
function section(value: unknown, path: string): Record<string, unknown> {
  const v = value ?? {};
  if (!isPlainObject(v)) throw new ConfigError(path, 'must be an object');
  return v;
}

/** Validators that name the option's path in the ConfigError they throw. */
export const check = {
  positiveMs(
    path: string,
    value: unknown,
    fallback: number,
    { min = 1, max = 86_400_000 } = {},
  ): number {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ConfigError(path, 'must be a number of milliseconds');
    if (v < min) throw new ConfigError(path, `must be at least ${min} ms (got ${v})`);
    if (v > max) throw new ConfigError(path, `must be at most ${max} ms (got ${v})`);
    return v;
  },
  integer(path: string, value: unknown, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(
        path,
        `must be an integer from ${min} to ${max} (got ${String(value)})`,
      );
    }
    return value;
  },
  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[], fallback: T): T {
    const v = value ?? fallback;
    if (!allowed.includes(v as T)) {
      throw new ConfigError(
        path,
        `must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${JSON.stringify(v)})`,
      );
    }
    return v as T;
  },
  boolean(path: string, value: unknown, fallback: boolean): boolean {
    const v = value ?? fallback;
    if (typeof v !== 'boolean') throw new ConfigError(path, 'must be true or false');
    return v;
  },
  stringList(path: string, value: unknown): readonly string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
      throw new ConfigError(path, 'must be a list of non-empty strings');
    }
    return Object.freeze([...(value as string[])]);
  },
};

/**
 * Validates every option once, at construction, before anything touches Consul, and applies the
 * defaults and Consul's environment variables. Throws ConfigError naming the field.
 */
export function resolveOptions(
  options: ExpressConsulOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  if (!isPlainObject(options)) throw new ConfigError('options', 'must be an object');
  const service = options.service as unknown;
  if (!isPlainObject(service))
    throw new ConfigError('service', 'must be an object with at least a name');

  const name = service.name;
  if (typeof name !== 'string' || name.trim() === '')
    throw new ConfigError('service.name', 'must be a non-empty string');
  if (!SERVICE_NAME.test(name)) {
    throw new ConfigError(
      'service.name',
      `'${name}' may only hold letters, digits, '-', '_' and '.'`,
    );
  }
  if (name.length > 128) throw new ConfigError('service.name', 'must be at most 128 characters');

  const id = service.id;
  if (id !== undefined && (typeof id !== 'string' || id === '' || /[/\s]/.test(id))) {
    throw new ConfigError('service.id', 'must be a non-empty string without slashes or spaces');
  }
  const address = service.address;
  if (address !== undefined && (typeof address !== 'string' || address === '')) {
    throw new ConfigError('service.address', 'must be a non-empty host or IP');
  }
  const port =
    service.port === undefined ? undefined : check.integer('service.port', service.port, 1, 65_535);

  const meta = service.meta ?? {};
  if (!isPlainObject(meta) || !Object.values(meta).every((v) => typeof v === 'string')) {
    throw new ConfigError('service.meta', 'must be an object of string values');
  }
  for (const key of Object.keys(meta)) {
    // Consul's own rule for meta keys; it would reject the registration otherwise.
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(key) || key.startsWith('consul-')) {
      throw new ConfigError(
        `service.meta.${key}`,
        "keys are 1-128 letters, digits, '-' or '_', not 'consul-'",
      );
    }
  }

  let weights: ResolvedOptions['service']['weights'];
  if (service.weights !== undefined) {
    const w = service.weights as unknown;
    if (!isPlainObject(w)) throw new ConfigError('service.weights', 'must be { passing, warning }');
    weights = {
      passing: check.integer('service.weights.passing', w.passing, 1, 65_535),
      warning: check.integer('service.weights.warning', w.warning ?? 1, 0, 65_535),
    };
  }

  const c = section(service.check, 'service.check');
  check.oneOf('service.check.type', c.type, ['http'], 'http');
  const intervalMs = check.positiveMs(
    'service.check.intervalMs',
    c.intervalMs,
    DEFAULTS.checkIntervalMs,
    { min: 1_000 },
  );
  const timeoutMs = check.positiveMs(
    'service.check.timeoutMs',
    c.timeoutMs,
    Math.min(DEFAULTS.checkTimeoutMs, intervalMs),
  );
  if (timeoutMs > intervalMs) {
    throw new ConfigError(
      'service.check.timeoutMs',
      `must not exceed service.check.intervalMs (${intervalMs} ms)`,
    );
  }
  const deregisterCriticalAfterMs = check.positiveMs(
    'service.check.deregisterCriticalAfterMs',
    c.deregisterCriticalAfterMs,
    DEFAULTS.deregisterCriticalAfterMs,
    // Consul's reaper ignores anything under a minute.
    { min: 60_000 },
  );

  const scheme =
    c.scheme === undefined
      ? undefined
      : check.oneOf('service.check.scheme', c.scheme, ['http', 'https'], 'http');
  const tlsServerName = c.tlsServerName;
  if (
    tlsServerName !== undefined &&
    (typeof tlsServerName !== 'string' || tlsServerName === '' || /\s/.test(tlsServerName))
  ) {
    throw new ConfigError('service.check.tlsServerName', 'must be a host name without spaces');
  }

  const h = section(options.health, 'health');
  const path = h.path ?? DEFAULTS.healthPath;
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new ConfigError(
      'health.path',
      "must start with '/' and hold no query, fragment or spaces",
    );
  }
  const indicators = h.indicators ?? [];
  if (!Array.isArray(indicators)) throw new ConfigError('health.indicators', 'must be a list');
  indicators.forEach((indicator: unknown, i) => {
    if (!isPlainObject(indicator) || typeof indicator.check !== 'function') {
      throw new ConfigError(
        `health.indicators[${i}]`,
        'must be { name, check: (signal) => Promise<...> }',
      );
    }
    if (typeof indicator.name !== 'string' || indicator.name === '') {
      throw new ConfigError(`health.indicators[${i}].name`, 'must be a non-empty string');
    }
  });

  const s = section(options.shutdown, 'shutdown');
  const propagationDelayMs = check.positiveMs(
    'shutdown.propagationDelayMs',
    s.propagationDelayMs,
    DEFAULTS.propagationDelayMs,
    { min: 0 },
  );
  const drainTimeoutMs = check.positiveMs(
    'shutdown.drainTimeoutMs',
    s.drainTimeoutMs,
    Math.max(DEFAULTS.drainTimeoutMs, propagationDelayMs + 1_000),
  );
  if (drainTimeoutMs <= propagationDelayMs) {
    throw new ConfigError(
      'shutdown.drainTimeoutMs',
      `must be longer than shutdown.propagationDelayMs (${propagationDelayMs} ms): in-flight requests need time after it`,
    );
  }
  const signals = s.signals ?? DEFAULTS.signals;
  if (
    !Array.isArray(signals) ||
    !signals.every((sig) => typeof sig === 'string' && sig.startsWith('SIG'))
  ) {
    throw new ConfigError('shutdown.signals', "must be a list of signal names such as 'SIGTERM'");
  }

  const r = section(options.registration, 'registration');
  const retryBaseMs = check.positiveMs(
    'registration.retryBaseMs',
    r.retryBaseMs,
    DEFAULTS.registrationRetryBaseMs,
  );
  const retryMaxMs = check.positiveMs(
    'registration.retryMaxMs',
    r.retryMaxMs,
    DEFAULTS.registrationRetryMaxMs,
  );
  if (retryMaxMs < retryBaseMs) {
    throw new ConfigError(
      'registration.retryMaxMs',
      `must be at least registration.retryBaseMs (${retryBaseMs} ms)`,
    );
  }

  let metrics: ResolvedOptions['metrics'] = { registry: undefined, prefix: DEFAULTS.metricsPrefix };
  if (options.metrics === false) metrics = false;
  else if (options.metrics !== undefined) {
    const m = options.metrics as unknown;
    if (!isPlainObject(m)) throw new ConfigError('metrics', 'must be an object or false');
    const prefix = m.prefix ?? DEFAULTS.metricsPrefix;
    if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_PREFIX.test(prefix))) {
      throw new ConfigError('metrics.prefix', 'must be a valid Prometheus metric name prefix');
    }
    if (
      m.registry !== undefined &&
      (!isPlainObject(m.registry) || typeof m.registry.metrics !== 'function')
    ) {
      throw new ConfigError('metrics.registry', 'must be a prom-client Registry');
    }
    metrics = { registry: m.registry as Registry | undefined, prefix };
  }

  const logger = options.logger ?? silentLogger;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof (logger as unknown as Record<string, unknown>)[level] !== 'function') {
      throw new ConfigError('logger', `must have a ${level}(obj, msg) method (pino-shaped)`);
    }
  }

  return {
    service: {
      name,
      id: id,
      address: address,
      port,
      tags: check.stringList('service.tags', service.tags),
      meta: Object.freeze({ ...(meta as Record<string, string>) }),
      weights,
      check: {
        intervalMs,
        timeoutMs,
        deregisterCriticalAfterMs,
        successBeforePassing:
          c.successBeforePassing === undefined
            ? undefined
            : check.integer('service.check.successBeforePassing', c.successBeforePassing, 0, 100),
        failuresBeforeCritical:
          c.failuresBeforeCritical === undefined
            ? undefined
            : check.integer(
                'service.check.failuresBeforeCritical',
                c.failuresBeforeCritical,
                0,
                100,
              ),
        scheme,
        tlsSkipVerify: check.boolean('service.check.tlsSkipVerify', c.tlsSkipVerify, false),
        tlsServerName,
      },
    },
    consul: resolveConsulConnection(options.consul ?? {}, env),
    health: {
      path,
      indicators: indicators as HealthIndicator[],
      indicatorTimeoutMs: check.positiveMs(
        'health.indicatorTimeoutMs',
        h.indicatorTimeoutMs,
        DEFAULTS.indicatorTimeoutMs,
      ),
    },
    shutdown: {
      handleSignals: check.boolean('shutdown.handleSignals', s.handleSignals, true),
      signals: Object.freeze([...(signals as NodeJS.Signals[])]),
      mode: check.oneOf('shutdown.mode', s.mode, ['deregister', 'maintenance'], 'deregister'),
      propagationDelayMs,
      drainTimeoutMs,
    },
    registration: {
      watchWaitMs: check.positiveMs(
        'registration.watchWaitMs',
        r.watchWaitMs,
        DEFAULTS.registrationWatchWaitMs,
        { min: 1_000, max: 600_000 },
      ),
      retryBaseMs,
      retryMaxMs,
    },
    metrics,
    logger,
  };
}
