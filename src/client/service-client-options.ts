import type { Balancer, BalancerName } from '../balancer/balancer';
import { resolveBalancer } from '../balancer/create-balancer';
import type { BalancerFactory, CreateBalancerOptions } from '../balancer/create-balancer';
import type { ServiceQueryOptions } from '../watch/service-watcher-options';
import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { readServiceQuery, SERVICE_QUERY_KEYS } from '../watch/service-watcher-options';
import { resolveOutlierDetectorOptions } from './outlier-detector';
import type { OutlierDetectorOptions, ResolvedOutlierDetectorOptions } from './outlier-detector';
import { resolveRetryBudgetOptions } from './retry-budget';
import type { ResolvedRetryBudgetOptions, RetryBudgetOptions } from './retry-budget';

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
  /**
   * Longest silence of an instance in the middle of a response body, in ms: past it the body fails
   * with undici's `UND_ERR_BODY_TIMEOUT` and its connection is freed, so an upstream that stops
   * sending cannot hold a pooled connection forever. undici's timer ticks about every 0.5 s and
   * does not run while the body is paused because the caller does not read it. Default: 30000.
   */
  readonly bodyTimeoutMs?: number;
  /** Longest Retry-After (on 429/503) honoured before a retry, in ms. Default: 2000. */
  readonly maxRetryAfterMs?: number;
  /** Jittered delay between attempts, in ms; baseMs 0 retries at once. Default: `{ baseMs: 25, maxMs: 250 }`. */
  readonly retryBackoff?: RetryBackoffOptions;
  /** This service's own retry budget; fields left out come from `discovery.retryBudget`. Default: `discovery.retryBudget` (ratio 0.2, windowMs 10000, minRetriesPerSecond 10). */
  readonly retryBudget?: RetryBudgetOptions;
  /** Services naming the same group share one retry budget (the first one's settings). Default: none (own budget). */
  readonly retryBudgetGroup?: string;
  /**
   * Scheme of calls to the instances; unset, an instance with Consul meta `scheme=https` is called
   * over https, others over http (Consul data may only upgrade). With `tls` set, every call is https
   * and `scheme: 'http'` is refused: a registration cannot downgrade configured TLS. Default: per
   * instance, or https when `tls` is set.
   */
  readonly scheme?: 'http' | 'https';
  /** TLS of https calls to the instances (undici connect options); implies `scheme: 'https'`. Default: Node's CAs, certificate verified. */
  readonly tls?: UpstreamTlsOptions;
}

/** Pacing of retries between attempts of one call. */
export interface RetryBackoffOptions {
  /** First delay, in ms, jittered; 0 disables the delay. Default: 25. */
  readonly baseMs?: number;
  /** Longest delay, in ms; >= baseMs. Default: 250 (raised to baseMs when that is longer). */
  readonly maxMs?: number;
}

/** TLS towards https upstreams, as undici's connect options take it. */
export interface UpstreamTlsOptions {
  /** CA certificates (PEM) to trust instead of Node's bundle. Default: Node's bundle. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate (PEM) for mTLS; needs `key`. Default: none. */
  readonly cert?: string | Buffer;
  /** Client private key (PEM) for mTLS; needs `cert`. Default: none. */
  readonly key?: string | Buffer;
  /** Name sent in SNI and checked against the certificate. Default: the instance address. */
  readonly serverName?: string;
  /** Verify the instance's certificate. Default: true. */
  readonly verify?: boolean;
}

/** {@link UpstreamTlsOptions} after validation: the same fields, `verify` always set. */
export type ResolvedUpstreamTls = Omit<UpstreamTlsOptions, 'verify'> & {
  readonly verify: boolean;
};

/** ServiceClientOptions with defaults applied. */
export interface ResolvedServiceClientOptions {
  readonly query: ServiceQueryOptions;
  /** The balancer and its options, validated once; builds one per routing table. */
  readonly balancer: BalancerFactory;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly maxAttempts: number;
  readonly retryBackoff: { readonly baseMs: number; readonly maxMs: number };
  readonly retryBudget: ResolvedRetryBudgetOptions;
  readonly retryBudgetGroup: string | undefined;
  readonly scheme: 'http' | 'https' | undefined;
  readonly tls: ResolvedUpstreamTls | undefined;
  readonly connectTimeoutMs: number;
  readonly readyTimeoutMs: number;
  readonly outlierDetection: ResolvedOutlierDetectorOptions | false;
  readonly connectionsPerInstance: number;
  readonly keepAliveTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxRetryAfterMs: number;
}

/** The keys of {@link ServiceClientOptions}; any other is rejected. */
export const SERVICE_CLIENT_KEYS: KnownKeys<ServiceClientOptions> = {
  ...SERVICE_QUERY_KEYS,
  balancer: true,
  balancerOptions: true,
  timeoutMs: true,
  deadlineMs: true,
  maxAttempts: true,
  retryBackoff: true,
  retryBudget: true,
  retryBudgetGroup: true,
  scheme: true,
  tls: true,
  connectTimeoutMs: true,
  readyTimeoutMs: true,
  outlierDetection: true,
  connectionsPerInstance: true,
  keepAliveTimeoutMs: true,
  bodyTimeoutMs: true,
  maxRetryAfterMs: true,
};

const RETRY_BACKOFF_KEYS: KnownKeys<RetryBackoffOptions> = { baseMs: true, maxMs: true };

/** Upstream TLS options renamed in 0.2.0 (Node's spellings), so that `tls` reads the same everywhere. */
const UPSTREAM_TLS_RENAMED = { servername: 'serverName', rejectUnauthorized: 'verify' };

const UPSTREAM_TLS_KEYS: KnownKeys<UpstreamTlsOptions> = {
  ca: true,
  cert: true,
  key: true,
  serverName: true,
  verify: true,
};

const POSITIVE = { min: 0, minExclusive: true } as const;

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.trim() !== '') || Buffer.isBuffer(value);
}

function readRetryBackoff(
  reader: OptionReader<ServiceClientOptions>,
): ResolvedServiceClientOptions['retryBackoff'] {
  const defaults = DEFAULTS.discovery.client.retryBackoff;
  const backoff = reader.section('retryBackoff', RETRY_BACKOFF_KEYS);
  const [baseMs, maxMs] = backoff.msPair('baseMs', 'maxMs', { min: 0 }, [
    defaults.baseMs,
    defaults.maxMs,
  ]);
  return { baseMs, maxMs };
}

function readUpstreamTls(
  reader: OptionReader<ServiceClientOptions>,
): ResolvedUpstreamTls | undefined {
  if (!reader.has('tls')) return undefined;
  const tls = reader.section('tls', UPSTREAM_TLS_KEYS, UPSTREAM_TLS_RENAMED);
  const pem = 'a PEM string or Buffer';
  const ca = tls.raw('ca');
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.length > 0 && ca.every(isPem))) {
    tls.fail('ca', `${pem}, or a non-empty list of them`);
  }
  const cert = tls.raw('cert');
  const key = tls.raw('key');
  if (cert !== undefined && !isPem(cert)) tls.fail('cert', pem);
  if (key !== undefined && !isPem(key)) tls.fail('key', pem);
  if ((cert === undefined) !== (key === undefined)) {
    tls.fail(
      cert === undefined ? 'cert' : 'key',
      'set together with its pair: a client certificate needs its key, and a key its certificate',
    );
  }
  const serverName = tls.string('serverName');
  return {
    ...(ca !== undefined && {
      ca: Array.isArray(ca) ? Object.freeze([...(ca as readonly (string | Buffer)[])]) : ca,
    }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
    ...(serverName !== undefined && { serverName }),
    verify: tls.boolean('verify', DEFAULTS.discovery.client.tls.verify),
  } as ResolvedUpstreamTls;
}

function readOutlierDetection(
  reader: OptionReader<ServiceClientOptions>,
): ResolvedOutlierDetectorOptions | false {
  const value = reader.raw('outlierDetection');
  if (value === false) return false;
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    reader.fail('outlierDetection', 'an object or false');
  }
  return resolveOutlierDetectorOptions(value, reader.pathOf('outlierDetection'));
}

/**
 * Validates and completes client options; errors name the field under `path`. `retryBudget`
 * fields left out come from `inherited.retryBudget` (the discovery-level budget).
 */
export function resolveServiceClientOptions(
  options: ServiceClientOptions = {},
  path = 'client',
  inherited: { readonly retryBudget: ResolvedRetryBudgetOptions } = {
    retryBudget: DEFAULTS.discovery.retryBudget,
  },
): ResolvedServiceClientOptions {
  const defaults = DEFAULTS.discovery.client;
  const reader = OptionReader.strict(options, path, SERVICE_CLIENT_KEYS);
  const [timeoutMs, deadlineMs] = reader.msPair('timeoutMs', 'deadlineMs', POSITIVE, [
    defaults.timeoutMs,
    defaults.deadlineMs,
  ]);
  const balancer = reader.raw('balancer') ?? defaults.balancer;
  if (typeof balancer !== 'string' && typeof balancer !== 'function') {
    reader.fail('balancer', 'a balancer name or a factory function');
  }
  // Validated here, once: a bad name or balancer option fails at start-up, not on the first call,
  // and each routing table's balancer is built from what was read.
  const balancerFactory = resolveBalancer(
    balancer as BalancerName | (() => Balancer),
    reader.raw('balancerOptions') ?? {},
    path,
  );
  const tls = readUpstreamTls(reader);
  const scheme = reader.oneOf('scheme', ['http', 'https'] as const);
  if (tls !== undefined && scheme === 'http') {
    reader.fail(
      'scheme',
      "'https' or unset when tls is set (configured TLS is never downgraded to plain http)",
    );
  }
  return {
    query: readServiceQuery(reader),
    balancer: balancerFactory,
    timeoutMs,
    deadlineMs,
    maxAttempts: reader.integer('maxAttempts', { min: 1 }, defaults.maxAttempts),
    retryBackoff: readRetryBackoff(reader),
    retryBudget: resolveRetryBudgetOptions(
      // Through the reader: `options` may be null, which the reader reads as absent.
      reader.raw('retryBudget') as RetryBudgetOptions | undefined,
      reader.pathOf('retryBudget'),
      inherited.retryBudget,
    ),
    retryBudgetGroup: reader.string('retryBudgetGroup'),
    // TLS settings mean https: a registration without `scheme=https` meta must not turn them off.
    scheme: tls === undefined ? scheme : 'https',
    tls,
    connectTimeoutMs: reader.ms('connectTimeoutMs', POSITIVE, defaults.connectTimeoutMs),
    readyTimeoutMs: reader.ms('readyTimeoutMs', POSITIVE, defaults.readyTimeoutMs),
    outlierDetection: readOutlierDetection(reader),
    connectionsPerInstance: reader.integer(
      'connectionsPerInstance',
      { min: 1 },
      defaults.connectionsPerInstance,
    ),
    keepAliveTimeoutMs: reader.ms('keepAliveTimeoutMs', POSITIVE, defaults.keepAliveTimeoutMs),
    bodyTimeoutMs: reader.ms('bodyTimeoutMs', POSITIVE, defaults.bodyTimeoutMs),
    maxRetryAfterMs: reader.ms('maxRetryAfterMs', POSITIVE, defaults.maxRetryAfterMs),
  };
}
