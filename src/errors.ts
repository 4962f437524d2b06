import { describeValue, isSecretPath } from './config/describe-value';

/** Stable machine-readable codes carried by every error this library throws. */
export type ExpressConsulErrorCode =
  | 'EXPRESS_CONSUL_INVALID_OPTION'
  | 'EXPRESS_CONSUL_CONSUL_UNAVAILABLE'
  | 'EXPRESS_CONSUL_CONSUL_ACL'
  | 'EXPRESS_CONSUL_CONSUL_RESPONSE'
  | 'EXPRESS_CONSUL_CONSUL_RESPONSE_TOO_LARGE'
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

/** Base class of every error thrown by express-consul; `code` never changes between versions. */
export class ExpressConsulError extends Error {
  readonly code: ExpressConsulErrorCode;

  constructor(code: ExpressConsulErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * An option is missing, out of range, unknown or contradicts another. The message always reads
 * `Invalid option <path>: must be <rule> (got <value>)`; `path` names the option
 * (`service.check.intervalMs`) and `rule` what it must be. The value is shown short and safe:
 * options that may hold a secret (token, key, cert, ...) are shown by type only.
 */
export class ConfigError extends ExpressConsulError {
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
  /** HTTP status when Consul answered, undefined for network failures. */
  readonly status: number | undefined;
  /** The endpoint that failed, without query string (never carries a token). */
  readonly endpoint: string;

  constructor(endpoint: string, message: string, options?: { status?: number; cause?: unknown }) {
    super('EXPRESS_CONSUL_CONSUL_UNAVAILABLE', `Consul ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
    this.status = options?.status;
  }
}

/** Consul refused the request for lack of an ACL token or permission (401/403). */
export class ConsulAclError extends ExpressConsulError {
  readonly status: number;
  readonly endpoint: string;
  /** The permission Consul says is missing (e.g. `service:write`), when it says so. */
  readonly permission: string | undefined;

  constructor(endpoint: string, status: number, consulMessage: string) {
    const permission = /Permission denied: .*? lacks permission '([^']+)'/.exec(consulMessage)?.[1];
    super(
      'EXPRESS_CONSUL_CONSUL_ACL',
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
  readonly status: number;
  readonly endpoint: string;

  constructor(
    endpoint: string,
    status: number,
    message: string,
    options?: {
      cause?: unknown;
      /** Only for the subclass that names a precise kind of bad answer. */
      code?: 'EXPRESS_CONSUL_CONSUL_RESPONSE_TOO_LARGE';
    },
  ) {
    super(
      options?.code ?? 'EXPRESS_CONSUL_CONSUL_RESPONSE',
      `Consul ${endpoint}: ${status} ${message.trim()}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.endpoint = endpoint;
    this.status = status;
  }
}

/**
 * Consul's answer was larger than `consul.maxResponseBytes` (code
 * `EXPRESS_CONSUL_CONSUL_RESPONSE_TOO_LARGE`; still a ConsulResponseError): reading stopped there (the connection
 * is dropped), nothing of it was used. A watch keeps its last good list.
 */
export class ConsulResponseTooLargeError extends ConsulResponseError {
  /** The cap that was passed, in bytes (`consul.maxResponseBytes`). */
  readonly limitBytes: number;

  constructor(endpoint: string, status: number, limitBytes: number) {
    super(
      endpoint,
      status,
      `answer larger than consul.maxResponseBytes (${limitBytes} bytes); reading stopped`,
      { code: 'EXPRESS_CONSUL_CONSUL_RESPONSE_TOO_LARGE' },
    );
    this.limitBytes = limitBytes;
  }
}

/** No instance of `service` is healthy (or none left to try); raised at once, never after a wait. */
export class NoHealthyInstancesError extends ExpressConsulError {
  readonly service: string;

  constructor(service: string, detail = 'no healthy instance is known') {
    super('EXPRESS_CONSUL_NO_HEALTHY_INSTANCES', `Service '${service}': ${detail}`);
    this.service = service;
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

/** Every attempt of an outbound request failed, or the retry budget refused another one. */
export class RetriesExhaustedError extends ExpressConsulError {
  readonly service: string;
  readonly attempts: number;
  /** HTTP status of the last attempt, when it got a response. */
  readonly lastStatus: number | undefined;
  /** Whether an attempt may have reached the upstream (see {@link DeliveryOptions}). */
  readonly mayHaveBeenProcessed: boolean;

  constructor(
    service: string,
    attempts: number,
    reason: string,
    options?: { lastStatus?: number; cause?: unknown } & DeliveryOptions,
  ) {
    super(
      'EXPRESS_CONSUL_RETRIES_EXHAUSTED',
      `Service '${service}': gave up after ${attempts} attempt(s): ${reason}`,
      causeOnly(options),
    );
    this.service = service;
    this.attempts = attempts;
    this.lastStatus = options?.lastStatus;
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed ?? true;
  }
}

/** An outbound request exceeded its per-try timeout or its overall deadline. */
export class RequestTimeoutError extends ExpressConsulError {
  readonly service: string;
  readonly timeoutMs: number;
  /** Whether an attempt may have reached the upstream (see {@link DeliveryOptions}). */
  readonly mayHaveBeenProcessed: boolean;

  constructor(
    service: string,
    timeoutMs: number,
    what: 'try' | 'deadline',
    options?: { cause?: unknown } & DeliveryOptions,
  ) {
    super(
      'EXPRESS_CONSUL_REQUEST_TIMEOUT',
      `Service '${service}': ${what === 'try' ? 'attempt' : 'request deadline'} exceeded ${timeoutMs} ms`,
      causeOnly(options),
    );
    this.service = service;
    this.timeoutMs = timeoutMs;
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed ?? true;
  }
}

/**
 * An attempt failed without a usable response (connection reset, refused, a status outside
 * 200-599...) and could not be retried.
 */
export class UpstreamError extends ExpressConsulError {
  readonly service: string;
  /** Id of the instance that failed. */
  readonly instance: string;
  /** Whether an attempt may have reached the upstream (see {@link DeliveryOptions}). */
  readonly mayHaveBeenProcessed: boolean;

  constructor(
    service: string,
    instance: string,
    reason: string,
    options?: { cause?: unknown } & DeliveryOptions,
  ) {
    super(
      'EXPRESS_CONSUL_UPSTREAM',
      // Instance ids are Consul data: shown JSON-quoted so a CR/LF in one cannot forge log lines.
      `Service '${service}' instance ${JSON.stringify(instance)}: ${reason}`,
      causeOnly(options),
    );
    this.service = service;
    this.instance = instance;
    this.mayHaveBeenProcessed = options?.mayHaveBeenProcessed ?? true;
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends ExpressConsulError {
  /**
   * For a service call, whether an attempt may have reached the upstream (see
   * {@link DeliveryOptions}); undefined for other operations (Consul reads, waits).
   */
  readonly mayHaveBeenProcessed: boolean | undefined;

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
  constructor(message: string) {
    super('EXPRESS_CONSUL_INVALID_STATE', message);
  }
}

/** The object was used after `close()`. */
export class ClosedError extends ExpressConsulError {
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

/** True when `error` was thrown by express-consul (optionally with the given code). */
export function isExpressConsulError(
  error: unknown,
  code?: ExpressConsulErrorCode,
): error is ExpressConsulError {
  return error instanceof ExpressConsulError && (code === undefined || error.code === code);
}

/** True for a {@link ConfigError}. */
export const isConfigError = (error: unknown): error is ConfigError => error instanceof ConfigError;
/** True for a {@link NoHealthyInstancesError}. */
export const isNoHealthyInstancesError = (error: unknown): error is NoHealthyInstancesError =>
  error instanceof NoHealthyInstancesError;
/** True for a {@link ConsulUnavailableError}. */
export const isConsulUnavailableError = (error: unknown): error is ConsulUnavailableError =>
  error instanceof ConsulUnavailableError;
/** True for a {@link ConsulAclError}. */
export const isConsulAclError = (error: unknown): error is ConsulAclError =>
  error instanceof ConsulAclError;

// --- KV configuration and locks (src/kv, src/leader) ---

/** Why a KV configuration value was refused: no key, a document that does not parse, a schema failure. */
export type KvConfigProblem = 'missing' | 'unparsable' | 'invalid';

/**
 * A configuration value from Consul KV was refused, or there was none when it was needed. Carries
 * the key and, for a schema failure, the first bad path; never the value itself (it may be secret).
 */
export class KvConfigError extends ExpressConsulError {
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

/** True for a {@link KvConfigError}. */
export const isKvConfigError = (error: unknown): error is KvConfigError =>
  error instanceof KvConfigError;
/** True for a {@link LockHeldError}. */
export const isLockHeldError = (error: unknown): error is LockHeldError =>
  error instanceof LockHeldError;

// --- Traffic management (src/traffic) ---

/**
 * A Consul filter expression (a service-resolver subset `Filter`) that Consul's filter language
 * refuses, or that we refuse where we cannot match Consul safely (documented in
 * src/traffic/filter-expression.ts). `position` is the offset in the expression where it fails.
 */
export class FilterExpressionError extends ExpressConsulError {
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
  /** Where in the answer, e.g. `Chain.Targets["v1.web.default.default.dc1"].Subset.Filter`. */
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super('EXPRESS_CONSUL_DISCOVERY_CHAIN', `Discovery chain ${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}
