import type { HealthServiceQuery } from '../consul/consul-types';
import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ResolvedMark } from '../config/resolved-mark';
import { ConfigError } from '../errors';
import { delay } from '../resilience/delay';
import { silentLogger } from '../logger';
import type { Logger } from '../logger';

/** The options that shape Consul's answer; watchers with equal ones can be shared. */
export interface ServiceQueryOptions {
  /**
   * Only instances whose checks all pass (Consul's `passing`). Default: true. With false, instances
   * with a warning check are listed too (status `warning`); critical ones never are.
   */
  readonly passingOnly?: boolean;
  /** Only instances carrying this tag. Default: none. */
  readonly tag?: string;
  /** Datacenter to read from. Default: the client's, else the agent's own. */
  readonly datacenter?: string;
  /** Consul filter expression, e.g. `Service.Meta.version == "2"`. Default: none. */
  readonly filter?: string;
  /** Let any Consul server answer, not only the leader (stays up during elections). Default: false. */
  readonly stale?: boolean;
  /** Answer from the local agent's cache (cheaper, rides out short server outages). Default: false. */
  readonly cached?: boolean;
}

/** Retry pacing after a failed query: exponential with jitter, reset by the next success. */
export interface WatchBackoffOptions {
  /** First delay after a failure, in ms (jittered in [baseMs/2, baseMs]). Default: 250. */
  readonly baseMs?: number;
  /** Longest delay between two failed queries, in ms. Default: 10000. */
  readonly maxMs?: number;
}

/** Options of a ServiceWatcher; every field is optional. */
export interface ServiceWatcherOptions extends ServiceQueryOptions {
  /** How long Consul may hold a blocking query open, in ms; above 0, at most 600000. Default: 60000. */
  readonly waitMs?: number;
  /** Pacing of retries after failures. Defaults: `{ baseMs: 250, maxMs: 10000 }`. */
  readonly backoff?: WatchBackoffOptions;
  /**
   * Rate limit for a churning service, in ms, so the loop cannot become a busy poll; 0 disables.
   * A token bucket of UPDATE_BURST (4; Consul's guidance: a small burst), refilled with one token
   * every `minUpdateIntervalMs`: after a quiet period four changes in a row are all followed at
   * once; a sustained burst costs one query per interval (20 per second at the default).
   * Default: 50.
   */
  readonly minUpdateIntervalMs?: number;
  /**
   * Services beyond the connection budget's blocking slots are read on change (the check watch
   * says which) at most this many times per second in all, per process. Default: 200.
   */
  readonly pollRatePerSecond?: number;
  /**
   * A service without a slot is read at least this often, in ms, even when no check of it changed
   * (a registration change that touches no check: tags, meta, an instance without checks). Default: 30000.
   */
  readonly pollRefreshMs?: number;
  /**
   * Least time between two answers of the check watch when checks keep changing, in ms, per
   * process and datacenter (plus up to a quarter of it at random); the first change after a quiet
   * time is seen at once. Its answer lists every check of the datacenter, so this bounds what a
   * churning cluster costs each worker and the agent; a change to a service without a slot is
   * seen within about this long. 0: paced by `minUpdateIntervalMs` only. Default: 500.
   */
  readonly checkWatchIntervalMs?: number;
  /** Source of randomness in [0, 1) for backoff jitter. Default: Math.random. */
  readonly random?: () => number;
  /** Clock in ms since the epoch, for timestamps and rate limiting. Default: Date.now. */
  readonly now?: () => number;
  /**
   * Waits `ms` between queries (rate limit and backoff pauses) and rejects when `signal` aborts; with
   * `now`, lets tests run the loop on a simulated clock. Default: an unref'd timer.
   */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Pino-shaped logger for failures and recoveries. Default: silent. */
  readonly logger?: Logger;
}

/** Settings every watcher of a registry shares: all but the query-shaping options. */
export type WatcherRegistryOptions = Omit<ServiceWatcherOptions, keyof ServiceQueryOptions>;

/** {@link WatcherRegistryOptions} after validation, with every default applied. */
export interface ResolvedWatcherRegistryOptions {
  readonly waitMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly minUpdateIntervalMs: number;
  readonly pollRatePerSecond: number;
  readonly pollRefreshMs: number;
  readonly checkWatchIntervalMs: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly delay: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

/** ServiceWatcherOptions after validation, with every default applied. */
export interface ResolvedServiceWatcherOptions extends ResolvedWatcherRegistryOptions {
  /** Query parameters except `index` and `waitMs`, which the loop sets on each call. */
  readonly query: Readonly<HealthServiceQuery>;
}

/** Consul refuses a `wait` above 10 minutes. */
export const MAX_WAIT_MS = 600_000;

/** The settings every watch of a registry shares (no query options, no injected functions). */
export type WatchSettingsOptions = Pick<
  ServiceWatcherOptions,
  | 'waitMs'
  | 'backoff'
  | 'minUpdateIntervalMs'
  | 'pollRatePerSecond'
  | 'pollRefreshMs'
  | 'checkWatchIntervalMs'
>;

/** The keys of {@link WatchSettingsOptions}; any other is rejected. */
export const WATCH_SETTINGS_KEYS: KnownKeys<WatchSettingsOptions> = {
  waitMs: true,
  backoff: true,
  minUpdateIntervalMs: true,
  pollRatePerSecond: true,
  pollRefreshMs: true,
  checkWatchIntervalMs: true,
};

/** The settings every watch of a registry shares, validated: see {@link resolveWatchSettings}. */
export interface ResolvedWatchSettings {
  readonly waitMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly minUpdateIntervalMs: number;
  readonly pollRatePerSecond: number;
  readonly pollRefreshMs: number;
  readonly checkWatchIntervalMs: number;
}

/** The keys of {@link ServiceQueryOptions}. */
export const SERVICE_QUERY_KEYS: KnownKeys<ServiceQueryOptions> = {
  passingOnly: true,
  tag: true,
  datacenter: true,
  filter: true,
  stale: true,
  cached: true,
};

/** The keys of {@link WatcherRegistryOptions}; any other is rejected. */
const WATCHER_REGISTRY_KEYS: KnownKeys<WatcherRegistryOptions> = {
  ...WATCH_SETTINGS_KEYS,
  random: true,
  now: true,
  logger: true,
  delay: true,
};

/** The keys of {@link ServiceWatcherOptions}; any other is rejected. */
const SERVICE_WATCHER_KEYS: KnownKeys<ServiceWatcherOptions> = {
  ...SERVICE_QUERY_KEYS,
  ...WATCHER_REGISTRY_KEYS,
};

/** The keys of {@link WatchBackoffOptions}. */
const BACKOFF_KEYS: KnownKeys<WatchBackoffOptions> = { baseMs: true, maxMs: true };

/** Validates a service name to watch; `path` names the field in the error. */
export function resolveServiceName(service: unknown, path = 'service'): string {
  if (typeof service !== 'string' || service.trim() === '') {
    throw new ConfigError(path, 'a non-empty service name', service);
  }
  return service;
}

/** Reads the query-shaping options from `reader` (which may hold other keys too). */
export function readServiceQuery(
  reader: OptionReader<ServiceQueryOptions>,
): Readonly<HealthServiceQuery> {
  const defaults = DEFAULTS.discovery.client;
  const tag = reader.string('tag');
  const datacenter = reader.string('datacenter');
  const filter = reader.string('filter');
  return Object.freeze({
    passingOnly: reader.boolean('passingOnly', defaults.passingOnly),
    stale: reader.boolean('stale', defaults.stale),
    cached: reader.boolean('cached', defaults.cached),
    ...(tag !== undefined && { tag }),
    ...(datacenter !== undefined && { datacenter }),
    ...(filter !== undefined && { filter }),
  });
}

/**
 * Validates the query-shaping options and turns them into Consul query parameters. Other keys of
 * `options` are ignored: callers hand in larger option objects whose other keys they check.
 */
export function resolveServiceQuery(
  options: ServiceQueryOptions = {},
  fieldPrefix = 'watch',
): Readonly<HealthServiceQuery> {
  return readServiceQuery(OptionReader.lenient(options, fieldPrefix));
}

/** Reads `waitMs`, `backoff` and `minUpdateIntervalMs` from `reader`, applying their defaults. */
export function resolveWatchSettings(
  reader: OptionReader<WatchSettingsOptions>,
): ResolvedWatchSettings {
  const defaults = DEFAULTS.discovery.watch;
  const backoff = reader.section('backoff', BACKOFF_KEYS);
  const [baseMs, maxMs] = backoff.msPair('baseMs', 'maxMs', { min: 0, minExclusive: true }, [
    defaults.backoff.baseMs,
    defaults.backoff.maxMs,
  ]);
  return {
    waitMs: reader.ms('waitMs', { min: 0, minExclusive: true, max: MAX_WAIT_MS }, defaults.waitMs),
    backoff: { baseMs, maxMs },
    minUpdateIntervalMs: reader.ms('minUpdateIntervalMs', { min: 0 }, defaults.minUpdateIntervalMs),
    pollRatePerSecond: reader.number(
      'pollRatePerSecond',
      { min: 0, minExclusive: true, max: 100_000 },
      defaults.pollRatePerSecond,
    ),
    pollRefreshMs: reader.ms('pollRefreshMs', { min: 1_000 }, defaults.pollRefreshMs),
    checkWatchIntervalMs: reader.ms(
      'checkWatchIntervalMs',
      { min: 0, max: 60_000 },
      defaults.checkWatchIntervalMs,
    ),
  };
}

/** The query-shaping fields in a fixed order, from the one list that also validates them. */
const QUERY_FIELDS = Object.keys(SERVICE_QUERY_KEYS) as readonly (keyof ServiceQueryOptions)[];

/**
 * A stable key for a resolved query (readServiceQuery's): two queries with the same key produce
 * the same Consul answers, so one watch can serve both. Built from every query-shaping field, so a
 * field added to ServiceQueryOptions (and so, by its type, to SERVICE_QUERY_KEYS) is in the key.
 */
export function serviceQueryKey(service: string, query: Readonly<HealthServiceQuery>): string {
  return JSON.stringify([service, ...QUERY_FIELDS.map((field) => query[field] ?? null)]);
}

/** Reads the injected functions and the logger of a watch from `reader`, applying defaults. */
function readWatchHooks(
  reader: OptionReader<WatcherRegistryOptions>,
): Pick<ResolvedWatcherRegistryOptions, 'random' | 'now' | 'delay' | 'logger'> {
  return {
    random: reader.fn('random', Math.random, 'a function returning a number in [0, 1)'),
    now: reader.fn('now', Date.now, 'a function returning ms since the epoch'),
    delay: reader.fn('delay', delay, 'a function (ms, signal) returning a promise'),
    logger: (reader.raw('logger') as Logger | undefined) ?? silentLogger,
  };
}

/** Validates WatcherRegistryOptions once, applying defaults; errors name the field (`discovery.waitMs`). */
export function resolveWatcherRegistryOptions(
  options: WatcherRegistryOptions = {},
  fieldPrefix = 'discovery',
): ResolvedWatcherRegistryOptions {
  const reader = OptionReader.strict(options, fieldPrefix, WATCHER_REGISTRY_KEYS);
  return { ...resolveWatchSettings(reader), ...readWatchHooks(reader) };
}

/**
 * The registry options of watch settings resolved elsewhere (`discovery.watch`), with the default
 * clock, randomness and pauses: nothing is validated again.
 */
export function watcherRegistryOptionsOf(
  settings: ResolvedWatchSettings,
  logger: Logger,
): ResolvedWatcherRegistryOptions {
  return { ...settings, random: Math.random, now: Date.now, delay, logger };
}

/** Options ServiceWatcher takes as they are: see {@link isResolvedWatcherOptions}. */
const resolvedWatcherOptions = new ResolvedMark<ResolvedServiceWatcherOptions>();

/** True only for options resolveServiceWatcherOptions or watcherOptionsFor made. */
export function isResolvedWatcherOptions(
  options: ServiceWatcherOptions | ResolvedServiceWatcherOptions,
): options is ResolvedServiceWatcherOptions {
  return resolvedWatcherOptions.has(options);
}

/** Validates ServiceWatcherOptions once, applying defaults; errors name the field (`watch.waitMs`). */
export function resolveServiceWatcherOptions(
  options: ServiceWatcherOptions = {},
  fieldPrefix = 'watch',
): ResolvedServiceWatcherOptions {
  const reader = OptionReader.strict(options, fieldPrefix, SERVICE_WATCHER_KEYS);
  return resolvedWatcherOptions.mark({
    query: readServiceQuery(reader),
    ...resolveWatchSettings(reader),
    ...readWatchHooks(reader),
  });
}

/** The options of one watcher of a registry: its resolved settings with a resolved query. */
export function watcherOptionsFor(
  registry: ResolvedWatcherRegistryOptions,
  query: Readonly<HealthServiceQuery>,
): ResolvedServiceWatcherOptions {
  return resolvedWatcherOptions.mark({ ...registry, query });
}
