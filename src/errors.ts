import type { FailReason } from './client/request-outcome';
import { describeValue, isSecretPath } from './config/describe-value';

/** Stable machine-readable codes carried by every error this library throws. */
export type ExpressConsulErrorCode =
  | 'EXPRESS_CONSUL_INVALID_OPTION'
  | 'EXPRESS_CONSUL_UNAVAILABLE'
  | 'EXPRESS_CONSUL_ACL_DENIED'
  | 'EXPRESS_CONSUL_BAD_RESPONSE'
  | 'EXPRESS_CONSUL_RESPONSE_TOO_LARGE'
  | 'EXPRESS_CONSUL_NO_HEALTHY_INSTANCES'
  | 'EXPRESS_CONSUL_RETRIES_EXHAUSTED'
  | 'EXPRESS_CONSUL_REQUEST_TIMEOUT'
  | 'EXPRESS_CONSUL_UPSTREAM'
  | 'EXPRESS_CONSUL_ABORTED'
  | 'EXPRESS_CONSUL_INVALID_STATE'
  | 'EXPRESS_CONSUL_CLOSED'
  | 'EXPRESS_CONSUL_TOO_MANY_SERVICES'
  | 'EXPRESS_CONSUL_SERVICE_NOT_ALLOWED'
  | 'EXPRESS_CONSUL_KV_CONFIG'
  | 'EXPRESS_CONSUL_LOCK_HELD'
  | 'EXPRESS_CONSUL_LEASE_LOST'
  | 'EXPRESS_CONSUL_FILTER_EXPRESSION'
  | 'EXPRESS_CONSUL_DISCOVERY_CHAIN';

/**
 * Where a class keeps its brand name. Every class below declares its own, spelled out rather than
 * taken from `constructor.name`, which a consumer's minifier may rename.
 */
const BRAND_NAME: unique symbol = Symbol('express-consul.error.brandName');

/** The brand a class stamps on its instances: shared through the global symbol registry. */
function brandSymbol(className: string): symbol {
  return Symbol.for(`express-consul.error.${className}`);
}

/**
 * True when `value` carries the brand of `className`. Brands rather than `instanceof`: with two
 * copies of the package installed (one of a dependency, one of the app), each copy has its own
 * classes and `instanceof` across them is false, while `Symbol.for` is one registry per realm.
 * Only the value `true` counts, so an object that happens to hold the symbol is not taken for ours.
 */
function hasBrand(value: unknown, className: string): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    (value as Record<symbol, unknown>)[brandSymbol(className)] === true
  );
}

/** Base class of every error thrown by express-consul; `code` never changes between versions. */
export class ExpressConsulError extends Error {
  static readonly [BRAND_NAME]: string = 'ExpressConsulError';

  readonly code: ExpressConsulErrorCode;

  constructor(code: ExpressConsulErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    // One brand per class up the chain (a ConsulResponseTooLargeError is a ConsulResponseError),
    // not enumerable so logs and JSON of the error stay as they were.
    for (
      let type: unknown = new.target;
      typeof type === 'function' && type !== Error;
      type = Object.getPrototypeOf(type)
    ) {
      if (!Object.hasOwn(type, BRAND_NAME)) continue;
      const className = (type as unknown as Record<typeof BRAND_NAME, string>)[BRAND_NAME];
      Object.defineProperty(this, brandSymbol(className), { value: true });
    }
  }

  /**
   * `instanceof` also by brand, so it holds for an error of another copy of the package; the usual
   * prototype test still counts (a subclass's prototype, an app's own subclass of ours).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // A subclass declared outside this file has no brand of its own: the prototype test decides.
    if (!Object.hasOwn(this, BRAND_NAME)) return false;
    return hasBrand(value, (this as unknown as Record<typeof BRAND_NAME, string>)[BRAND_NAME]);
  }
}

/**
 * An option is missing, out of range, unknown or contradicts another. The message always reads
 * `Invalid option <path>: must be <rule> (got <value>)`; `path` names the option
 * (`service.check.intervalMs`) and `rule` what it must be. The value is shown short and safe:
 * options that may hold a secret (token, key, cert, ...) are shown by type only.
 */
export class ConfigError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'ConfigError';

  /** Full path of the option, e.g. `discovery.services.payments.timeoutMs`. */
  readonly path: string;
  /** What the option must be, e.g. `an integer from 1 to 65535`. */
  readonly rule: string;

  constructor(
    path: string,
    rule: string,
    value: unknown,
    options?: { cause?: unknown; secret?: boolean },
  ) {
    const shown = describeValue(value, options?.secret ?? isSecretPath(path));
    super(
      'EXPRESS_CONSUL_INVALID_OPTION',
      `Invalid option ${path}: must be ${rule} (got ${shown})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.path = path;
    this.rule = rule;
  }
}

/** Consul could not be reached, timed out, or answered with a server error (5xx). */
export class ConsulUnavailableError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'ConsulUnavailableError';

  /** HTTP status when Consul answered, undefined for network failures. */
  readonly status: number | undefined;
  /** The endpoint that failed, without query string (never carries a token). */
  readonly endpoint: string;

  constructor(endpoint: string, message: string, options?: { status?: number; cause?: unknown }) {
    super('EXPRESS_CONSUL_UNAVAILABLE', `Consul ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
    this.status = options?.status;
  }
}

/** Consul refused the request for lack of an ACL token or permission (401/403). */
export class ConsulAclError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'ConsulAclError';

  readonly status: number;
  readonly endpoint: string;
  /** The permission Consul says is missing (e.g. `service:write`), when it says so. */
  readonly permission: string | undefined;

  constructor(endpoint: string, status: number, consulMessage: string) {
    const permission = /Permission denied: .*? lacks permission '([^']+)'/.exec(consulMessage)?.[1];
    super(
      'EXPRESS_CONSUL_ACL_DENIED',
      `Consul ${endpoint}: ACL denied (${status})` +
        (permission ? `, missing permission '${permission}'` : '') +
        `: ${consulMessage.trim()}`,
    );
    this.endpoint = endpoint;
    this.status = status;
    this.permission = permission;
  }
}

/** Consul answered with a client error (4xx other than ACL) or a body we could not understand. */
export class ConsulResponseError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'ConsulResponseError';

  readonly status: number;
  readonly endpoint: string;

  constructor(
    endpoint: string,
    status: number,
    message: string,
    options?: {
      cause?: unknown;
      /** Only for the subclass that names a precise kind of bad answer. */
      code?: 'EXPRESS_CONSUL_RESPONSE_TOO_LARGE';
    },
  ) {
    super(
      options?.code ?? 'EXPRESS_CONSUL_BAD_RESPONSE',
      `Consul ${endpoint}: ${status} ${message.trim()}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.endpoint = endpoint;
    this.status = status;
  }
}

/**
 * Consul's answer was larger than `consul.maxResponseBytes` (code
 * `EXPRESS_CONSUL_RESPONSE_TOO_LARGE`; still a ConsulResponseError): reading stopped there (the connection
 * is dropped), nothing of it was used. A watch keeps its last good list.
 */
export class ConsulResponseTooLargeError extends ConsulResponseError {
  static override readonly [BRAND_NAME]: string = 'ConsulResponseTooLargeError';

  /** The cap that was passed, in bytes (`consul.maxResponseBytes`). */
  readonly limitBytes: number;

  constructor(endpoint: string, status: number, limitBytes: number) {
    super(
      endpoint,
      status,
      `answer larger than consul.maxResponseBytes (${limitBytes} bytes); reading stopped`,
      { code: 'EXPRESS_CONSUL_RESPONSE_TOO_LARGE' },
    );
    this.limitBytes = limitBytes;
  }
}

/** No instance of `service` is healthy (or none left to try); raised at once, never after a wait. */
export class NoHealthyInstancesError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'NoHealthyInstancesError';

  readonly service: string;
  /** `no_instances`, or `discovery_timeout` when Consul gave discovery no answer in time. */
  readonly reason: Extract<FailReason, 'no_instances' | 'discovery_timeout'>;

  constructor(
    service: string,
    detail = 'no healthy instance is known',
    reason: NoHealthyInstancesError['reason'] = 'no_instances',
  ) {
    super('EXPRESS_CONSUL_NO_HEALTHY_INSTANCES', `Service '${service}': ${detail}`);
    this.service = service;
    this.reason = reason;
  }
}

/** What a failed outbound call says about delivery; every failure of a service call carries it. */
export interface DeliveryOptions {
  /**
   * False only when no attempt can have reached a server (nothing sent, or no connection made);
   * true when one may have: the upstream may have acted on it, so retrying a non-idempotent
   * call yourself may apply it twice. Default: true (the safe assumption).
   */
  readonly mayHaveBeenProcessed?: boolean;
}

/** Why a call failed, in the vocabulary of the request path (src/client/request-outcome.ts). */
export interface ReasonOptions<R extends FailReason> {
  /** Also the label values of the client metrics; see each error for its default. */
  readonly reason?: R;
}

/** The reasons a {@link RetriesExhaustedError} carries. */
export type RetriesExhaustedReason = Extract<
  FailReason,
  'max_attempts' | 'retry_after_beyond_deadline' | 'budget_exhausted' | 'no_instance_left'
>;

/** The reasons a {@link RequestTimeoutError} or an {@link UpstreamError} carries. */
export type NotRetriedReason = Extract<
  FailReason,
  'not_retryable' | 'disabled_by_caller' | 'body_not_replayable' | 'not_idempotent'
>;

/** Every attempt of an outbound request failed, or the retry budget refused another one. */
export class RetriesExhaustedError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'RetriesExhaustedError';

  readonly service: string;
  readonly attempts: number;
  /** HTTP status of the last attempt, when it got a response. */
  readonly lastStatus: number | undefined;
  /** Whether an attempt may have reached the upstream (see {@link DeliveryOptions}). */
  readonly mayHaveBeenProcessed: boolean;
  /** Why no further attempt was made. Default: `max_attempts`. */
  readonly reason: RetriesExhaustedReason;

  constructor(
    service: string,
    attempts: number,
    detail: string,
    options?: { lastStatus?: number; cause?: unknown } & DeliveryOptions &
      ReasonOptions<RetriesExhaustedReason>,
  ) {
    super(
      'EXPRESS_CONSUL_RETRIES_EXHAUSTED',
      `Service '${service}': gave up after ${attempts} attempt(s): ${detail}`,
      causeOnly(options),
    );
    this.service = service;
    this.attempts = attempts;
    this.lastStatus = options?.lastStatus;
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed ?? true;
    this.reason = options?.reason ?? 'max_attempts';
  }
}

/** An outbound request exceeded its per-try timeout or its overall deadline. */
export class RequestTimeoutError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'RequestTimeoutError';

  readonly service: string;
  readonly timeoutMs: number;
  /** Whether an attempt may have reached the upstream (see {@link DeliveryOptions}). */
  readonly mayHaveBeenProcessed: boolean;
  /**
   * `deadline` for the call's deadline; for a per-try timeout, why it was not retried. Default:
   * `deadline`, or `not_retryable` for a per-try timeout.
   */
  readonly reason: 'deadline' | NotRetriedReason;

  constructor(
    service: string,
    timeoutMs: number,
    what: 'try' | 'deadline',
    options?: { cause?: unknown } & DeliveryOptions & ReasonOptions<'deadline' | NotRetriedReason>,
  ) {
    super(
      'EXPRESS_CONSUL_REQUEST_TIMEOUT',
      `Service '${service}': ${what === 'try' ? 'attempt' : 'request deadline'} exceeded ${timeoutMs} ms`,
      causeOnly(options),
    );
    this.service = service;
    this.timeoutMs = timeoutMs;
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed ?? true;
    this.reason = options?.reason ?? (what === 'deadline' ? 'deadline' : 'not_retryable');
  }
}

/**
 * An attempt failed without a usable response (connection reset, refused, a status outside
 * 200-599...) and could not be retried.
 */
export class UpstreamError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'UpstreamError';

  readonly service: string;
  /** Id of the instance that failed. */
  readonly instance: string;
  /** Whether an attempt may have reached the upstream (see {@link DeliveryOptions}). */
  readonly mayHaveBeenProcessed: boolean;
  /** Why the failure was not retried, or `invalid_status`. Default: `not_retryable`. */
  readonly reason: NotRetriedReason | 'invalid_status';

  constructor(
    service: string,
    instance: string,
    detail: string,
    options?: { cause?: unknown } & DeliveryOptions &
      ReasonOptions<NotRetriedReason | 'invalid_status'>,
  ) {
    super(
      'EXPRESS_CONSUL_UPSTREAM',
      // Instance ids are Consul data: shown JSON-quoted so a CR/LF in one cannot forge log lines.
      `Service '${service}' instance ${JSON.stringify(instance)}: ${detail}`,
      causeOnly(options),
    );
    this.service = service;
    this.instance = instance;
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed ?? true;
    this.reason = options?.reason ?? 'not_retryable';
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'AbortedError';

  /**
   * For a service call, whether an attempt may have reached the upstream (see
   * {@link DeliveryOptions}); undefined for other operations (Consul reads, waits).
   */
  readonly mayHaveBeenProcessed: boolean | undefined;
  /** Always `aborted`: the same field as the other errors of a call. */
  readonly reason: Extract<FailReason, 'aborted'> = 'aborted';

  constructor(
    message = 'The operation was aborted',
    options?: { cause?: unknown } & DeliveryOptions,
  ) {
    super('EXPRESS_CONSUL_ABORTED', message, causeOnly(options));
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed;
  }
}

function causeOnly(options: { cause?: unknown } | undefined): { cause?: unknown } | undefined {
  return options?.cause === undefined ? undefined : { cause: options.cause };
}

/** A method was called when the object cannot honour it (e.g. `attach()` twice). */
export class InvalidStateError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'InvalidStateError';

  constructor(message: string) {
    super('EXPRESS_CONSUL_INVALID_STATE', message);
  }
}

/** The object was used after `close()`. */
export class ClosedError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'ClosedError';

  constructor(what: string) {
    super('EXPRESS_CONSUL_CLOSED', `${what} is closed`);
  }
}

/**
 * A call named a service the watch set has no room for: `maxServices` services are watched and
 * none of them can be released (each is configured, held by a `service()` caller or has a call in
 * flight). Raised before anything reaches Consul; the name is shown short and quoted, since URL
 * hosts often come from the app's own callers.
 */
export class TooManyServicesError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'TooManyServicesError';

  /** The refused service name. */
  readonly service: string;
  /** The option that sets the cap: `discovery.maxServices`. */
  readonly option: string;
  /** The cap in force. */
  readonly limit: number;

  constructor(service: string, limit: number, option = 'discovery.maxServices') {
    super(
      'EXPRESS_CONSUL_TOO_MANY_SERVICES',
      `Service ${describeValue(service)} refused: ${limit} services are watched already and none is idle (${option})`,
    );
    this.service = service;
    this.option = option;
    this.limit = limit;
  }
}

/** A call named a service outside `discovery.allowedServices`; raised before anything reaches Consul. */
export class ServiceNotAllowedError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'ServiceNotAllowedError';

  /** The refused service name. */
  readonly service: string;
  /** The option that lists the allowed services: `discovery.allowedServices`. */
  readonly option: string;

  constructor(service: string, option = 'discovery.allowedServices') {
    super(
      'EXPRESS_CONSUL_SERVICE_NOT_ALLOWED',
      `Service ${describeValue(service)} refused: not in ${option}`,
    );
    this.service = service;
    this.option = option;
  }
}

// --- KV configuration and locks (src/kv, src/leader) ---

/** Why a KV configuration value was refused: no key, a document that does not parse, a schema failure. */
export type KvConfigProblem = 'missing' | 'unparsable' | 'invalid';

/**
 * A configuration value from Consul KV was refused, or there was none when it was needed. Carries
 * the key and, for a schema failure, the first bad path; never the value itself (it may be secret).
 */
export class KvConfigError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'KvConfigError';

  /** The KV key or prefix watched. */
  readonly key: string;
  readonly problem: KvConfigProblem;
  /** First path the schema refused (`limits.max`), or '' for the whole value. */
  readonly path: string;

  constructor(
    key: string,
    problem: KvConfigProblem,
    detail: string,
    options?: { path?: string; cause?: unknown },
  ) {
    super('EXPRESS_CONSUL_KV_CONFIG', `Consul KV '${key}': ${detail}`, options);
    this.key = key;
    this.problem = problem;
    this.path = options?.path ?? '';
  }
}

/** A lock's key is held by another Consul session (or is in its lock delay). */
export class LockHeldError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'LockHeldError';

  readonly key: string;
  /** Session holding the key, when Consul says (undefined during a lock delay). */
  readonly holder: string | undefined;

  constructor(key: string, holder: string | undefined) {
    super(
      'EXPRESS_CONSUL_LOCK_HELD',
      `Consul lock '${key}' is held by ${holder === undefined ? 'no session (lock delay)' : `session ${holder}`}`,
    );
    this.key = key;
    this.holder = holder;
  }
}

/** Why a lease ended; the lease's signal aborts with this as its reason. */
export class LeaseLostError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'LeaseLostError';

  readonly key: string;
  readonly reason: 'released' | 'session-invalidated' | 'consul-unreachable' | 'closed';

  constructor(key: string, reason: LeaseLostError['reason'], detail: string) {
    super('EXPRESS_CONSUL_LEASE_LOST', `Consul lock '${key}' lost: ${detail}`);
    this.key = key;
    this.reason = reason;
  }
}

// --- Traffic management (src/traffic) ---

/**
 * A Consul filter expression (a service-resolver subset `Filter`) that Consul's filter language
 * refuses, or that we refuse where we cannot match Consul safely (documented in
 * src/traffic/filter-expression.ts). `position` is the offset in the expression where it fails.
 */
export class FilterExpressionError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'FilterExpressionError';

  /** The expression, shown short in the message (it comes from Consul data). */
  readonly expression: string;
  /** Offset (UTF-16 code units) in `expression` where the problem is. */
  readonly position: number;
  /** What is wrong, e.g. `Selector "Service.Foo" is not valid`. */
  readonly reason: string;

  constructor(expression: string, position: number, reason: string) {
    super(
      'EXPRESS_CONSUL_FILTER_EXPRESSION',
      `Filter ${describeValue(expression)} refused at offset ${position}: ${reason}`,
    );
    this.expression = expression;
    this.position = position;
    this.reason = reason;
  }
}

/**
 * Consul's compiled discovery chain (`GET /v1/discovery-chain/:name`) is not one we can use: a
 * field of the wrong type, a reference to a node or target that is not there, a cycle, split
 * weights not summing to 100... `path` names the offending part (`Chain.Nodes["splitter:web"].Splits`).
 * The caller keeps its last good chain.
 */
export class DiscoveryChainError extends ExpressConsulError {
  static override readonly [BRAND_NAME]: string = 'DiscoveryChainError';

  /** Where in the answer, e.g. `Chain.Targets["v1.web.default.default.dc1"].Subset.Filter`. */
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('EXPRESS_CONSUL_DISCOVERY_CHAIN', `Discovery chain ${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

// --- Guards: one per class, by brand (see hasBrand), so they hold across copies of the package ---

/** True when `error` was thrown by express-consul (optionally with the given code). */
export function isExpressConsulError(
  error: unknown,
  code?: ExpressConsulErrorCode,
): error is ExpressConsulError {
  return (
    hasBrand(error, 'ExpressConsulError') &&
    (code === undefined || (error as ExpressConsulError).code === code)
  );
}
/** True for a {@link ConfigError}, from this copy of express-consul or another. */
export const isConfigError = (error: unknown): error is ConfigError =>
  hasBrand(error, 'ConfigError');
/** True for a {@link ConsulUnavailableError}, from this copy of express-consul or another. */
export const isConsulUnavailableError = (error: unknown): error is ConsulUnavailableError =>
  hasBrand(error, 'ConsulUnavailableError');
/** True for a {@link ConsulAclError}, from this copy of express-consul or another. */
export const isConsulAclError = (error: unknown): error is ConsulAclError =>
  hasBrand(error, 'ConsulAclError');
/** True for a {@link ConsulResponseError}, from this copy of express-consul or another. */
export const isConsulResponseError = (error: unknown): error is ConsulResponseError =>
  hasBrand(error, 'ConsulResponseError');
/** True for a {@link ConsulResponseTooLargeError}, from this copy of express-consul or another. */
export const isConsulResponseTooLargeError = (
  error: unknown,
): error is ConsulResponseTooLargeError => hasBrand(error, 'ConsulResponseTooLargeError');
/** True for a {@link NoHealthyInstancesError}, from this copy of express-consul or another. */
export const isNoHealthyInstancesError = (error: unknown): error is NoHealthyInstancesError =>
  hasBrand(error, 'NoHealthyInstancesError');
/** True for a {@link RetriesExhaustedError}, from this copy of express-consul or another. */
export const isRetriesExhaustedError = (error: unknown): error is RetriesExhaustedError =>
  hasBrand(error, 'RetriesExhaustedError');
/** True for a {@link RequestTimeoutError}, from this copy of express-consul or another. */
export const isRequestTimeoutError = (error: unknown): error is RequestTimeoutError =>
  hasBrand(error, 'RequestTimeoutError');
/** True for a {@link UpstreamError}, from this copy of express-consul or another. */
export const isUpstreamError = (error: unknown): error is UpstreamError =>
  hasBrand(error, 'UpstreamError');
/** True for a {@link AbortedError}, from this copy of express-consul or another. */
export const isAbortedError = (error: unknown): error is AbortedError =>
  hasBrand(error, 'AbortedError');
/** True for a {@link InvalidStateError}, from this copy of express-consul or another. */
export const isInvalidStateError = (error: unknown): error is InvalidStateError =>
  hasBrand(error, 'InvalidStateError');
/** True for a {@link ClosedError}, from this copy of express-consul or another. */
export const isClosedError = (error: unknown): error is ClosedError =>
  hasBrand(error, 'ClosedError');
/** True for a {@link TooManyServicesError}, from this copy of express-consul or another. */
export const isTooManyServicesError = (error: unknown): error is TooManyServicesError =>
  hasBrand(error, 'TooManyServicesError');
/** True for a {@link ServiceNotAllowedError}, from this copy of express-consul or another. */
export const isServiceNotAllowedError = (error: unknown): error is ServiceNotAllowedError =>
  hasBrand(error, 'ServiceNotAllowedError');
/** True for a {@link KvConfigError}, from this copy of express-consul or another. */
export const isKvConfigError = (error: unknown): error is KvConfigError =>
  hasBrand(error, 'KvConfigError');
/** True for a {@link LockHeldError}, from this copy of express-consul or another. */
export const isLockHeldError = (error: unknown): error is LockHeldError =>
  hasBrand(error, 'LockHeldError');
/** True for a {@link LeaseLostError}, from this copy of express-consul or another. */
export const isLeaseLostError = (error: unknown): error is LeaseLostError =>
  hasBrand(error, 'LeaseLostError');
/** True for a {@link FilterExpressionError}, from this copy of express-consul or another. */
export const isFilterExpressionError = (error: unknown): error is FilterExpressionError =>
  hasBrand(error, 'FilterExpressionError');
/** True for a {@link DiscoveryChainError}, from this copy of express-consul or another. */
export const isDiscoveryChainError = (error: unknown): error is DiscoveryChainError =>
  hasBrand(error, 'DiscoveryChainError');
