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
  | 'EXPRESS_CONSUL_CLOSED';

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

/** Every attempt of an outbound request failed, or the retry budget refused another one. */
export class RetriesExhaustedError extends ExpressConsulError {
  readonly service: string;
  readonly attempts: number;
  /** HTTP status of the last attempt, when it got a response. */
  readonly lastStatus: number | undefined;

  constructor(
    service: string,
    attempts: number,
    reason: string,
    options?: { lastStatus?: number; cause?: unknown },
  ) {
    super(
      'EXPRESS_CONSUL_RETRIES_EXHAUSTED',
      `Service '${service}': gave up after ${attempts} attempt(s): ${reason}`,
      options,
    );
    this.service = service;
    this.attempts = attempts;
    this.lastStatus = options?.lastStatus;
  }
}

/** An outbound request exceeded its per-try timeout or its overall deadline. */
export class RequestTimeoutError extends ExpressConsulError {
  readonly service: string;
  readonly timeoutMs: number;

  constructor(service: string, timeoutMs: number, what: 'try' | 'deadline') {
    super(
      'EXPRESS_CONSUL_REQUEST_TIMEOUT',
      `Service '${service}': ${what === 'try' ? 'attempt' : 'request deadline'} exceeded ${timeoutMs} ms`,
    );
    this.service = service;
    this.timeoutMs = timeoutMs;
  }
}

/** An attempt failed without a response (connection reset, refused...) and could not be retried. */
export class UpstreamError extends ExpressConsulError {
  readonly service: string;
  /** Id of the instance that failed. */
  readonly instance: string;

  constructor(service: string, instance: string, reason: string, options?: { cause?: unknown }) {
    super(
      'EXPRESS_CONSUL_UPSTREAM',
      `Service '${service}' instance '${instance}': ${reason}`,
      options,
    );
    this.service = service;
    this.instance = instance;
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends ExpressConsulError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('EXPRESS_CONSUL_ABORTED', message, options);
  }
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
