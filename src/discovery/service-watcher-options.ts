import type { HealthServiceQuery } from '../consul/consul-types';
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
   * Leading-edge: the first answer after `minUpdateIntervalMs` without any is followed by the next
   * query at once (a lone change is seen without delay); within a burst of quick answers, queries
   * start at least this far apart. Default: 100.
   */
  readonly minUpdateIntervalMs?: number;
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

/** ServiceWatcherOptions after validation, with every default applied. */
export interface ResolvedServiceWatcherOptions {
  /** Query parameters except `index` and `waitMs`, which the loop sets on each call. */
  readonly query: Readonly<HealthServiceQuery>;
  readonly waitMs: number;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly minUpdateIntervalMs: number;
  readonly random: () => number;
  readonly now: () => number;
  readonly delay: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

/** Consul refuses a `wait` above 10 minutes. */
export const MAX_WAIT_MS = 600_000;
/** Default of `waitMs`, in ms. */
export const DEFAULT_WAIT_MS = 60_000;
/** Default of `backoff.baseMs`, in ms. */
export const DEFAULT_BACKOFF_BASE_MS = 250;
/** Default of `backoff.maxMs`, in ms. */
export const DEFAULT_BACKOFF_MAX_MS = 10_000;
/** Default of `minUpdateIntervalMs`, in ms. */
export const DEFAULT_MIN_UPDATE_INTERVAL_MS = 100;

function optionalBoolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(path, 'must be true or false');
  return value;
}

function optionalText(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(path, 'must be a non-empty string when given');
  }
  return value;
}

function number(
  value: unknown,
  path: string,
  fallback: number,
  check: (n: number) => boolean,
  rule: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
    throw new ConfigError(
      path,
      `must be ${rule}, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}

function optionalFunction<T>(value: T | undefined, path: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new ConfigError(path, 'must be a function');
  return value;
}

/** Validates a service name to watch; `path` names the field in the error. */
export function resolveServiceName(service: unknown, path = 'service'): string {
  if (typeof service !== 'string' || service.trim() === '') {
    throw new ConfigError(path, 'must be a non-empty service name');
  }
  return service;
}

/** Validates the query-shaping options and turns them into Consul query parameters. */
export function resolveServiceQuery(
  options: ServiceQueryOptions = {},
  fieldPrefix = 'watch',
): Readonly<HealthServiceQuery> {
  const tag = optionalText(options.tag, `${fieldPrefix}.tag`);
  const datacenter = optionalText(options.datacenter, `${fieldPrefix}.datacenter`);
  const filter = optionalText(options.filter, `${fieldPrefix}.filter`);
  return Object.freeze({
    passingOnly: optionalBoolean(options.passingOnly, `${fieldPrefix}.passingOnly`, true),
    stale: optionalBoolean(options.stale, `${fieldPrefix}.stale`, false),
    cached: optionalBoolean(options.cached, `${fieldPrefix}.cached`, false),
    ...(tag !== undefined && { tag }),
    ...(datacenter !== undefined && { datacenter }),
    ...(filter !== undefined && { filter }),
  });
}

/**
 * A stable key for the query-shaping options: two option objects with the same key produce the
 * same Consul answers, so one watch can serve both.
 */
export function serviceQueryKey(service: string, query: Readonly<HealthServiceQuery>): string {
  return JSON.stringify([
    service,
    query.passingOnly ?? false,
    query.tag ?? null,
    query.datacenter ?? null,
    query.filter ?? null,
    query.stale ?? false,
    query.cached ?? false,
  ]);
}

/** Validates ServiceWatcherOptions once, applying defaults; errors name the field (`watch.waitMs`). */
export function resolveServiceWatcherOptions(
  options: ServiceWatcherOptions = {},
  fieldPrefix = 'watch',
): ResolvedServiceWatcherOptions {
  const waitMs = number(
    options.waitMs,
    `${fieldPrefix}.waitMs`,
    DEFAULT_WAIT_MS,
    (n) => n > 0 && n <= MAX_WAIT_MS,
    `a number of ms above 0 and at most ${MAX_WAIT_MS} (Consul's limit)`,
  );
  const baseMs = number(
    options.backoff?.baseMs,
    `${fieldPrefix}.backoff.baseMs`,
    DEFAULT_BACKOFF_BASE_MS,
    (n) => n > 0,
    'a number of ms above 0',
  );
  const maxMs = number(
    options.backoff?.maxMs,
    `${fieldPrefix}.backoff.maxMs`,
    Math.max(DEFAULT_BACKOFF_MAX_MS, baseMs),
    (n) => n > 0,
    'a number of ms above 0',
  );
  if (maxMs < baseMs) {
    throw new ConfigError(
      `${fieldPrefix}.backoff.maxMs`,
      `cannot be shorter than backoff.baseMs (${maxMs} < ${baseMs})`,
    );
  }
  const minUpdateIntervalMs = number(
    options.minUpdateIntervalMs,
    `${fieldPrefix}.minUpdateIntervalMs`,
    DEFAULT_MIN_UPDATE_INTERVAL_MS,
    (n) => n >= 0,
    'a number of ms, 0 or more',
  );
  return {
    query: resolveServiceQuery(options, fieldPrefix),
    waitMs,
    backoff: { baseMs, maxMs },
    minUpdateIntervalMs,
    random: optionalFunction(options.random, `${fieldPrefix}.random`, Math.random),
    now: optionalFunction(options.now, `${fieldPrefix}.now`, Date.now),
    delay: optionalFunction(options.delay, `${fieldPrefix}.delay`, delay),
    logger: options.logger ?? silentLogger,
  };
}
