import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { resolveWatchSettings, WATCH_SETTINGS_KEYS } from '../watch/service-watcher-options';
import type { ResolvedWatchSettings, WatchSettingsOptions } from '../watch/service-watcher-options';
import { DEFAULTS } from '../config/defaults';
import { ConfigError } from '../errors';
import { resolveRetryBudgetOptions } from './retry-budget';
import type { ResolvedRetryBudgetOptions, RetryBudgetOptions } from './retry-budget';
import { resolveServiceClientOptions, SERVICE_CLIENT_KEYS } from './service-client-options';
import type { ResolvedServiceClientOptions, ServiceClientOptions } from './service-client-options';

/** How this process finds and calls other services. Every field is optional. */
export interface DiscoveryOptions {
  /** Settings of every Consul watch (waitMs, backoff, minUpdateIntervalMs). */
  readonly watch?: WatchSettingsOptions;
  /** Defaults of every service client. */
  readonly client?: ServiceClientOptions;
  /**
   * Per-service settings, merged over `client` key by key (a nested object such as
   * `outlierDetection` replaces the client's whole), keyed by service name ignoring case.
   */
  readonly services?: Readonly<Record<string, ServiceClientOptions>>;
  /** Retry budget of each called service unless it sets its own. Defaults: ratio 0.2, windowMs 10000, minRetriesPerSecond 10. */
  readonly retryBudget?: RetryBudgetOptions;
  /**
   * A service called through `fetch()` and then by nobody for this long is released (its client,
   * watch and metric series), in ms; 0 keeps it for good. Services in `services` and clients
   * handed out by `service(name)` are never released. Default: 600000 (10 min).
   */
  readonly idleTimeoutMs?: number;
  /**
   * Most services watched at once, those in `services` not counted: beyond it the least recently
   * used idle `fetch()` service is released to make room, or, when none is idle, the call fails
   * with TooManyServicesError before anything reaches Consul. Default: 256.
   */
  readonly maxServices?: number;
  /**
   * The only services this process may call (ignoring case), besides those in `services`; any
   * other fails with ServiceNotAllowedError before anything reaches Consul. Default: none (any name).
   */
  readonly allowedServices?: readonly string[];
  /**
   * Follow Consul's traffic management (service-resolver, -splitter, -router config entries,
   * compiled into discovery chains): three blocking list watches per process tell which called
   * services have entries, and only those get a chain watch and per-target routing tables. Costs
   * blocking reads on the Consul client's control lane (4 connections over HTTP/1.1, shared with
   * KV configurations and locks; one connection over h2) and needs ACL read on the entries.
   * Default: false.
   */
  readonly trafficManagement?: boolean;
}

/** DiscoveryOptions after validation, with every default applied. */
export interface ResolvedDiscoveryOptions {
  /** Settings of every watch, for the WatcherRegistry. */
  readonly watch: ResolvedWatchSettings;
  /** Options of a service without its own entry in `services`. */
  readonly defaults: ResolvedServiceClientOptions;
  /** Options of the services named in `services`, keyed by the lower-cased service name. */
  readonly services: ReadonlyMap<string, ResolvedServiceClientOptions>;
  /** The discovery-level retry budget, the default of every service's own. */
  readonly retryBudget: ResolvedRetryBudgetOptions;
  /** Idle time before a `fetch()` service is released, in ms; 0: never. */
  readonly idleTimeoutMs: number;
  /** Most services watched at once, configured ones not counted. */
  readonly maxServices: number;
  /** Lower-cased names callable besides the configured ones; undefined: any name. */
  readonly allowedServices: ReadonlySet<string> | undefined;
  /** Whether discovery chains shape the calls. */
  readonly trafficManagement: boolean;
}

/** The keys of {@link DiscoveryOptions}; any other is rejected. */
export const DISCOVERY_KEYS: KnownKeys<DiscoveryOptions> = {
  watch: true,
  client: true,
  services: true,
  retryBudget: true,
  idleTimeoutMs: true,
  maxServices: true,
  allowedServices: true,
  trafficManagement: true,
};

/**
 * Validates every discovery option at once (ConfigErrors name the field under `path`). Service
 * names are matched ignoring case, as Consul does and as `new URL('http://Payments/')` lower-cases
 * the host, so `services` is keyed by the lower-cased name and two keys that differ only by case
 * are refused.
 */
export function resolveDiscoveryOptions(
  options: DiscoveryOptions,
  path = 'discovery',
): ResolvedDiscoveryOptions {
  const reader = OptionReader.strict(options, path, DISCOVERY_KEYS);
  const retryBudget = resolveRetryBudgetOptions(options.retryBudget, reader.pathOf('retryBudget'));
  const inherited = { retryBudget };
  const defaults = resolveServiceClientOptions(options.client, reader.pathOf('client'), inherited);
  const byName = reader.record('services', (own, ownPath) => {
    // Checked on its own first, so an unknown key is reported where it was written.
    OptionReader.strict(own, ownPath, SERVICE_CLIENT_KEYS);
    const merged = { ...options.client, ...(own as ServiceClientOptions) };
    return resolveServiceClientOptions(merged, ownPath, inherited);
  });
  const services = new Map<string, ResolvedServiceClientOptions>();
  const spellings = new Map<string, string>();
  for (const [name, resolved] of byName) {
    const key = name.toLowerCase();
    const earlier = spellings.get(key);
    if (earlier !== undefined) {
      throw new ConfigError(
        `${reader.pathOf('services')}.${name}`,
        `the only key naming its service: Consul ignores case, and '${earlier}' names it too`,
        name,
      );
    }
    spellings.set(key, name);
    services.set(key, resolved);
  }
  return {
    watch: resolveWatchSettings(reader.section('watch', WATCH_SETTINGS_KEYS)),
    defaults,
    services,
    retryBudget,
    ...resolveWatchSetOptions(reader),
    trafficManagement: reader.boolean('trafficManagement', false),
  };
}

/** Shortest idle timeout other than 0, in ms: the sweep runs a fraction of it apart. */
const MIN_IDLE_TIMEOUT_MS = 100;
/** Largest `maxServices`: beyond it the cap bounds nothing a process could hold. */
const MAX_MAX_SERVICES = 100_000;

function resolveWatchSetOptions(
  reader: OptionReader<DiscoveryOptions>,
): Pick<ResolvedDiscoveryOptions, 'idleTimeoutMs' | 'maxServices' | 'allowedServices'> {
  const defaults = DEFAULTS.discovery;
  const idleTimeoutMs = reader.ms('idleTimeoutMs', { min: 0 }, defaults.idleTimeoutMs);
  if (idleTimeoutMs > 0 && idleTimeoutMs < MIN_IDLE_TIMEOUT_MS) {
    reader.fail('idleTimeoutMs', `0 (never) or a duration in ms >= ${MIN_IDLE_TIMEOUT_MS}`);
  }
  const maxServices = reader.integer(
    'maxServices',
    { min: 1, max: MAX_MAX_SERVICES },
    defaults.maxServices,
  );
  const allowed = reader.has('allowedServices')
    ? new Set(reader.stringList('allowedServices').map((name) => name.toLowerCase()))
    : undefined;
  return { idleTimeoutMs, maxServices, allowedServices: allowed };
}
