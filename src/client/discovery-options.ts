import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { resolveWatchSettings, WATCH_SETTINGS_KEYS } from '../discovery/service-watcher-options';
import type {
  ResolvedWatchSettings,
  WatchSettingsOptions,
} from '../discovery/service-watcher-options';
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
}

/** The keys of {@link DiscoveryOptions}; any other is rejected. */
export const DISCOVERY_KEYS: KnownKeys<DiscoveryOptions> = {
  watch: true,
  client: true,
  services: true,
  retryBudget: true,
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
  };
}
