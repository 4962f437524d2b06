import { resolveConsulConnection } from '../consul/consul-environment';
import type { ResolvedConsulConnection } from '../consul/consul-environment';
import { ConfigError } from '../errors';
import type { HealthIndicator } from '../health/health-indicator';
import type { Logger } from '../logger';
import { DEFAULTS } from './defaults';
import { readLoggerOption, readMetricsOption } from './observability-options';
import type { ResolvedMetricsOptions } from './observability-options';
import { OptionReader } from './option-reader';
import type { KnownKeys } from './option-reader';
import type {
  CheckOptions,
  CheckTlsOptions,
  AdapterSectionOptions,
  HealthOptions,
  RegistrationOptions,
  ServiceOptions,
  ShutdownOptions,
} from './options';

export { DEFAULTS } from './defaults';

/** Options after defaults, the environment and validation, all but the `discovery` section. */
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
      readonly type: 'http';
      readonly intervalMs: number;
      readonly timeoutMs: number;
      readonly deregisterCriticalAfterMs: number;
      readonly successBeforePassing: number | undefined;
      readonly failuresBeforeCritical: number | undefined;
      /** Undefined: follows the server (https for a `tls.Server`). */
      readonly scheme: 'http' | 'https' | undefined;
      readonly tls: { readonly serverName: string | undefined; readonly verify: boolean };
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
  readonly metrics: ResolvedMetricsOptions;
  readonly logger: Logger;
}

/** The adapter's options as config/ sees them: its own sections, and `discovery` left to client/. */
type TopLevelOptions = AdapterSectionOptions & { readonly discovery?: unknown };

const TOP_KEYS: KnownKeys<TopLevelOptions> = {
  service: true,
  consul: true,
  health: true,
  shutdown: true,
  registration: true,
  discovery: true,
  metrics: true,
  logger: true,
};

const SERVICE_KEYS: KnownKeys<ServiceOptions> = {
  name: true,
  id: true,
  address: true,
  port: true,
  tags: true,
  meta: true,
  weights: true,
  check: true,
};

const WEIGHTS_KEYS: KnownKeys<NonNullable<ServiceOptions['weights']>> = {
  passing: true,
  warning: true,
};

const CHECK_KEYS: KnownKeys<CheckOptions> = {
  type: true,
  intervalMs: true,
  timeoutMs: true,
  deregisterCriticalAfterMs: true,
  successBeforePassing: true,
  failuresBeforeCritical: true,
  scheme: true,
  tls: true,
};

/** Check options renamed in 0.2.0: one spelling of TLS fields across the options. */
const CHECK_RENAMED = { tlsSkipVerify: 'tls.verify', tlsServerName: 'tls.serverName' };

const CHECK_TLS_KEYS: KnownKeys<CheckTlsOptions> = { serverName: true, verify: true };

const HEALTH_KEYS: KnownKeys<HealthOptions> = {
  path: true,
  indicators: true,
  indicatorTimeoutMs: true,
};

const SHUTDOWN_KEYS: KnownKeys<ShutdownOptions> = {
  handleSignals: true,
  signals: true,
  mode: true,
  propagationDelayMs: true,
  drainTimeoutMs: true,
};

const REGISTRATION_KEYS: KnownKeys<RegistrationOptions> = {
  watchWaitMs: true,
  retryBaseMs: true,
  retryMaxMs: true,
};

/** Longest duration accepted by the top-level options, in ms: a day. */
const DAY_MS = 86_400_000;

// Consul accepts letters, digits, dashes, underscores and dots; anything else breaks its API paths.
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// Consul's own rule for meta keys; it would reject the registration otherwise.
const META_KEY = /^(?!consul-)[A-Za-z0-9_-]{1,128}$/;

function resolveService(root: OptionReader<TopLevelOptions>): ResolvedOptions['service'] {
  if (!root.has('service')) root.fail('service', 'an object with at least a name');
  const service = root.section('service', SERVICE_KEYS);
  const name =
    service.string('name', {
      pattern: SERVICE_NAME,
      rule: "a service name of letters, digits, '-', '_' and '.'",
      maxLength: 128,
    }) ?? service.fail('name', 'a non-empty service name');
  let weights: ResolvedOptions['service']['weights'];
  if (service.has('weights')) {
    const w = service.section('weights', WEIGHTS_KEYS);
    const range = { min: 0, max: 65_535 };
    weights = {
      passing:
        w.integer('passing', { min: 1, max: 65_535 }) ??
        w.fail('passing', 'an integer from 1 to 65535'),
      warning: w.integer('warning', range, 1),
    };
  }
  const meta = service.record('meta', (value, path, key) => {
    if (!META_KEY.test(key)) {
      throw new ConfigError(
        path,
        "under a key of 1-128 letters, digits, '-' or '_' not starting with 'consul-'",
        key,
      );
    }
    if (typeof value !== 'string') throw new ConfigError(path, 'a string', value);
    return value;
  });
  return {
    name,
    id: service.string('id', {
      pattern: /^[^/\s]+$/,
      rule: 'a non-empty id without slashes or spaces',
    }),
    address: service.string('address', { rule: 'a non-empty host or IP' }),
    port: service.integer('port', { min: 1, max: 65_535 }),
    tags: service.stringList('tags', {}, DEFAULTS.service.tags),
    meta: Object.freeze(Object.fromEntries(meta)),
    weights,
    check: resolveCheck(service.section('check', CHECK_KEYS, CHECK_RENAMED)),
  };
}

function resolveCheck(check: OptionReader<CheckOptions>): ResolvedOptions['service']['check'] {
  const defaults = DEFAULTS.service.check;
  const intervalMs = check.ms('intervalMs', { min: 1_000, max: DAY_MS }, defaults.intervalMs);
  const timeoutMs = check.ms(
    'timeoutMs',
    { min: 1, max: DAY_MS },
    Math.min(defaults.timeoutMs, intervalMs),
  );
  if (timeoutMs > intervalMs) {
    check.fail('timeoutMs', `at most ${check.pathOf('intervalMs')} (${intervalMs})`);
  }
  const flapDamping = { min: 0, max: 100 };
  return {
    type: check.oneOf('type', ['http'] as const, defaults.type),
    intervalMs,
    timeoutMs,
    // Consul's reaper ignores anything under a minute.
    deregisterCriticalAfterMs: check.ms(
      'deregisterCriticalAfterMs',
      { min: 60_000, max: DAY_MS },
      defaults.deregisterCriticalAfterMs,
    ),
    successBeforePassing: check.integer('successBeforePassing', flapDamping),
    failuresBeforeCritical: check.integer('failuresBeforeCritical', flapDamping),
    scheme: check.oneOf('scheme', ['http', 'https'] as const),
    tls: readCheckTls(check.section('tls', CHECK_TLS_KEYS), defaults.tls.verify),
  };
}

function readCheckTls(
  tls: OptionReader<CheckTlsOptions>,
  verify: boolean,
): ResolvedOptions['service']['check']['tls'] {
  return { serverName: tls.string('serverName'), verify: tls.boolean('verify', verify) };
}

function resolveHealth(health: OptionReader<HealthOptions>): ResolvedOptions['health'] {
  const indicators = health.raw('indicators') ?? [];
  if (!Array.isArray(indicators)) health.fail('indicators', 'a list of health indicators');
  indicators.forEach((indicator: unknown, i) => {
    const path = `${health.pathOf('indicators')}[${i}]`;
    const candidate = indicator as Partial<Record<keyof HealthIndicator, unknown>> | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.check !== 'function'
    ) {
      throw new ConfigError(path, '{ name, check: (signal) => Promise<...> }', indicator);
    }
    if (typeof candidate.name !== 'string' || candidate.name.trim() === '') {
      throw new ConfigError(`${path}.name`, 'a non-empty string', candidate.name);
    }
  });
  return {
    path: health.string(
      'path',
      {
        pattern: /^\/[^?#\s]*$/,
        rule: "a path starting with '/' without query, fragment or spaces",
      },
      DEFAULTS.health.path,
    ),
    indicators: Object.freeze([...(indicators as HealthIndicator[])]),
    indicatorTimeoutMs: health.ms(
      'indicatorTimeoutMs',
      { min: 1, max: DAY_MS },
      DEFAULTS.health.indicatorTimeoutMs,
    ),
  };
}

function resolveShutdown(shutdown: OptionReader<ShutdownOptions>): ResolvedOptions['shutdown'] {
  const defaults = DEFAULTS.shutdown;
  const propagationDelayMs = shutdown.ms(
    'propagationDelayMs',
    { min: 0, max: DAY_MS },
    defaults.propagationDelayMs,
  );
  const drainTimeoutMs = shutdown.ms(
    'drainTimeoutMs',
    { min: 1, max: DAY_MS },
    Math.max(defaults.drainTimeoutMs, propagationDelayMs + 1_000),
  );
  if (drainTimeoutMs <= propagationDelayMs) {
    // In-flight requests need time after the propagation delay.
    shutdown.fail(
      'drainTimeoutMs',
      `longer than ${shutdown.pathOf('propagationDelayMs')} (${propagationDelayMs})`,
    );
  }
  return {
    handleSignals: shutdown.boolean('handleSignals', defaults.handleSignals),
    signals: shutdown.stringList(
      'signals',
      { pattern: /^SIG[A-Z0-9]+$/, rule: "signal names such as 'SIGTERM'" },
      defaults.signals,
    ) as readonly NodeJS.Signals[],
    mode: shutdown.oneOf('mode', ['deregister', 'maintenance'] as const, defaults.mode),
    propagationDelayMs,
    drainTimeoutMs,
  };
}

function resolveRegistration(
  registration: OptionReader<RegistrationOptions>,
): ResolvedOptions['registration'] {
  const defaults = DEFAULTS.registration;
  const [retryBaseMs, retryMaxMs] = registration.msPair(
    'retryBaseMs',
    'retryMaxMs',
    { min: 1, max: DAY_MS },
    [defaults.retryBaseMs, defaults.retryMaxMs],
  );
  return {
    watchWaitMs: registration.ms('watchWaitMs', { min: 1_000, max: 600_000 }, defaults.watchWaitMs),
    retryBaseMs,
    retryMaxMs,
  };
}

/**
 * Validates the adapter's own options and the Consul connection once, at construction, before
 * anything touches Consul, and applies the defaults ({@link DEFAULTS}) and Consul's environment
 * variables. Throws a ConfigError naming the field's full path; an unknown key at any level is
 * refused with the closest known one suggested. The `discovery` section is only checked to be a
 * known key: client/ resolves it (`resolveDiscoveryOptions`), and the adapter's edge composes the
 * two (express/resolve-adapter-options.ts), so nothing here imports from above config/.
 */
export function resolveOptions(
  options: TopLevelOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedOptions {
  const root = OptionReader.strict(options, '', TOP_KEYS);
  return {
    service: resolveService(root),
    consul: resolveConsulConnection(options.consul, env, root.pathOf('consul')),
    health: resolveHealth(root.section('health', HEALTH_KEYS)),
    shutdown: resolveShutdown(root.section('shutdown', SHUTDOWN_KEYS)),
    registration: resolveRegistration(root.section('registration', REGISTRATION_KEYS)),
    metrics: readMetricsOption(root),
    logger: readLoggerOption(root),
  };
}
