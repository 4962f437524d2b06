import type { Balancer, BalancerName } from '../balancer/balancer';
import { createBalancer } from '../balancer/create-balancer';
import type { CreateBalancerOptions } from '../balancer/create-balancer';
import type { ServiceQueryOptions } from '../discovery/service-watcher-options';
import { resolveServiceQuery } from '../discovery/service-watcher-options';
import { ConfigError } from '../errors';
import { resolveOutlierDetectorOptions } from './outlier-detector';
import { resolveRetryBudgetOptions } from './retry-budget';
import type { ResolvedRetryBudgetOptions, RetryBudgetOptions } from './retry-budget';
import type { OutlierDetectorOptions, ResolvedOutlierDetectorOptions } from './outlier-detector';

/** How calls to one service are routed and made resilient. Every field is optional. */
export interface ServiceClientOptions extends ServiceQueryOptions {
  /** Balancer name or a factory of your own. Default: `round-robin`. */
  readonly balancer?: BalancerName | (() => Balancer);
  /** Options of the built-in balancer (slowStartMs, peakEwma, virtualNodes, ...). Default: none. */
  readonly balancerOptions?: CreateBalancerOptions;
  /** Time limit of one attempt until response headers arrive, in ms. Default: 10000. */
  readonly timeoutMs?: number;
  /** Time limit of the whole call, retries included, in ms; >= timeoutMs. Default: 30000. */
  readonly deadlineMs?: number;
  /** Attempts per call, the first included (1 disables retries). Default: 3. */
  readonly maxAttempts?: number;
  /** TCP connect limit per attempt, in ms. Default: 1000. */
  readonly connectTimeoutMs?: number;
  /** How long the first call waits for discovery's first answer, in ms; later calls never wait. Default: 2000. */
  readonly readyTimeoutMs?: number;
  /** Passive outlier ejection, or false to turn it off. Defaults: see OutlierDetectorOptions. */
  readonly outlierDetection?: OutlierDetectorOptions | false;
  /** Keep-alive connections per instance at most. Default: 32. */
  readonly connectionsPerInstance?: number;
  /** Idle keep-alive sockets are closed after this, in ms; keep it under the servers' own (Node: 5000). Default: 4000. */
  readonly keepAliveTimeoutMs?: number;
  /** Longest Retry-After (on 429/503) honoured before a retry, in ms. Default: 2000. */
  readonly maxRetryAfterMs?: number;
  /** Jittered backoff between attempts, in ms. Default: { baseMs: 25, maxMs: 250 }. */
  readonly retryBackoff?: { readonly baseMs?: number; readonly maxMs?: number };
  /** This service's own retry budget. Default: the discovery-level `retryBudget`. */
  readonly retryBudget?: RetryBudgetOptions;
  /** Services naming the same group share one retry budget. Default: none (own budget). */
  readonly retryBudgetGroup?: string;
  /** Scheme to call instances with. Default: per instance, `https` when its meta says `scheme=https`. */
  readonly scheme?: 'http' | 'https';
  /** TLS settings for https instances. Default: Node's CAs, certificate verified. */
  readonly tls?: UpstreamTlsOptions;
}

/** TLS settings for calling https instances (passed to undici's connector). */
export interface UpstreamTlsOptions {
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly servername?: string;
  readonly rejectUnauthorized?: boolean;
}

/** ServiceClientOptions with defaults applied. */
export interface ResolvedServiceClientOptions {
  readonly query: ServiceQueryOptions;
  readonly balancer: BalancerName | (() => Balancer);
  readonly balancerOptions: CreateBalancerOptions;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly maxAttempts: number;
  readonly connectTimeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly outlierDetection: ResolvedOutlierDetectorOptions | false;
  readonly connectionsPerInstance: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxRetryAfterMs: number;
  readonly retryBackoff: { readonly baseMs: number; readonly maxMs: number };
  readonly retryBudget: ResolvedRetryBudgetOptions;
  readonly retryBudgetGroup: string | undefined;
  readonly scheme: 'http' | 'https' | undefined;
  readonly tls: UpstreamTlsOptions | undefined;
}

function positive(path: string, value: unknown, fallback: number, integer = false): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigError(
      path,
      `must be a positive ${integer ? 'integer' : 'number'} (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

/** Validates and completes client options; errors name the field under `path`. */
export function resolveServiceClientOptions(
  options: ServiceClientOptions = {},
  path = 'client',
): ResolvedServiceClientOptions {
  const timeoutMs = positive(`${path}.timeoutMs`, options.timeoutMs, 10_000);
  const deadlineMs = positive(
    `${path}.deadlineMs`,
    options.deadlineMs,
    Math.max(30_000, timeoutMs),
  );
  if (deadlineMs < timeoutMs) {
    throw new ConfigError(
      `${path}.deadlineMs`,
      `must be at least ${path}.timeoutMs (${timeoutMs} ms)`,
    );
  }
  const balancer = options.balancer ?? 'round-robin';
  if (typeof balancer !== 'string' && typeof balancer !== 'function') {
    throw new ConfigError(`${path}.balancer`, 'must be a balancer name or a factory function');
  }
  if (typeof balancer === 'string') {
    // Build one now so a bad name or balancer option fails at start-up, not on the first call.
    try {
      createBalancer(balancer, options.balancerOptions ?? {});
    } catch (error) {
      if (error instanceof ConfigError) {
        throw new ConfigError(
          `${path}.${error.path}`,
          error.message.replace(/^Invalid option [^:]+: /, ''),
        );
      }
      throw error;
    }
  }
  return {
    query: resolveServiceQuery(options, path),
    balancer,
    balancerOptions: options.balancerOptions ?? {},
    timeoutMs,
    deadlineMs,
    maxAttempts: positive(`${path}.maxAttempts`, options.maxAttempts, 3, true),
    connectTimeoutMs: positive(`${path}.connectTimeoutMs`, options.connectTimeoutMs, 1_000),
    readyTimeoutMs: positive(`${path}.readyTimeoutMs`, options.readyTimeoutMs, 2_000),
    outlierDetection:
      options.outlierDetection === false
        ? false
        : resolveOutlierDetectorOptions(options.outlierDetection ?? {}, `${path}.outlierDetection`),
    connectionsPerInstance: positive(
      `${path}.connectionsPerInstance`,
      options.connectionsPerInstance,
      32,
      true,
    ),
    keepAliveTimeoutMs: positive(`${path}.keepAliveTimeoutMs`, options.keepAliveTimeoutMs, 4_000),
    maxRetryAfterMs: positive(`${path}.maxRetryAfterMs`, options.maxRetryAfterMs, 2_000),
    retryBackoff: {
      baseMs: options.retryBackoff?.baseMs ?? 25,
      maxMs: options.retryBackoff?.maxMs ?? 250,
    },
    retryBudget: resolveRetryBudgetOptions(options.retryBudget ?? {}, `${path}.retryBudget`),
    retryBudgetGroup: options.retryBudgetGroup,
    scheme: options.scheme,
    tls: options.tls,
  };
}
