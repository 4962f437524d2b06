import {
  ConsulResponseError,
  isConfigError,
  isConsulAclError,
  isConsulUnavailableError,
  isDiscoveryChainError,
} from '../errors';

/** Exit codes of `express-consul`, stable so scripts can branch on them (documented in `--help`). */
export const ExitCode = {
  ok: 0,
  /** Unknown command or flag, missing argument, invalid address or environment variable. */
  usage: 1,
  /** Consul, or the status URL, could not be reached, timed out or answered 502/503/504. */
  unreachable: 2,
  /** Consul refused the request (401/403), or ACLs hide every service from the token used. */
  aclDenied: 3,
  /** No instance is registered under the service name given. */
  unknownService: 4,
  /**
   * An answer that is not what the command reads (bad JSON, wrong shape, unexpected status), or a
   * discovery chain the library refuses (it would keep its last good chain and warn).
   */
  garbage: 5,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI reports as one line on stderr and turns into its exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;

  constructor(exitCode: ExitCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
    this.name = 'CliError';
  }
}

/** The environment variable behind each connection option of ConsulClient. */
const ENVIRONMENT_OF: Readonly<Record<string, string>> = {
  'consul.address': 'CONSUL_HTTP_ADDR',
  'consul.token': 'CONSUL_HTTP_TOKEN',
  'consul.tokenFile': 'CONSUL_HTTP_TOKEN_FILE',
  'consul.tls.caFile': 'CONSUL_CACERT',
  'consul.tls.certFile': 'CONSUL_CLIENT_CERT',
  'consul.tls.keyFile': 'CONSUL_CLIENT_KEY',
  'consul.tls': 'CONSUL_CLIENT_CERT / CONSUL_CLIENT_KEY',
};

/**
 * Maps anything a command threw to a CliError. The library's messages never carry the ACL token
 * (it travels only in a header), so they are safe to print as they are.
 */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (isConfigError(error)) {
    // The CLI passes no options: a bad connection setting came from Consul's variables.
    const variable = ENVIRONMENT_OF[error.path];
    const message = variable ? `${variable}: ${error.message}` : error.message;
    return new CliError(ExitCode.usage, message, { cause: error });
  }
  if (isConsulAclError(error))
    return new CliError(
      ExitCode.aclDenied,
      `${error.message} (set CONSUL_HTTP_TOKEN or CONSUL_HTTP_TOKEN_FILE to a token allowed to read it)`,
      { cause: error },
    );
  if (isConsulUnavailableError(error))
    return new CliError(ExitCode.unreachable, error.message, { cause: error });
  if (error instanceof ConsulResponseError)
    return new CliError(ExitCode.garbage, error.message, { cause: error });
  // Its message names the path in Consul's answer and why; a running client would refuse it too.
  if (isDiscoveryChainError(error))
    return new CliError(ExitCode.garbage, `refused: ${error.message}`, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(ExitCode.garbage, `unexpected failure: ${message}`, { cause: error });
}
