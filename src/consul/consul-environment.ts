import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors';

/** Connection settings for the Consul HTTP API; every field falls back to Consul's own env variables. */
export interface ConsulConnectionOptions {
  /** Agent address: `http://127.0.0.1:8500`, `https://host:8501` or `host:port`. Default: `CONSUL_HTTP_ADDR`, else `http://127.0.0.1:8500`. */
  readonly address?: string;
  /** ACL token, sent only in the `X-Consul-Token` header. Default: `CONSUL_HTTP_TOKEN`, else the file `CONSUL_HTTP_TOKEN_FILE`. */
  readonly token?: string;
  /** File holding the ACL token. Default: `CONSUL_HTTP_TOKEN_FILE`. */
  readonly tokenFile?: string;
  /** TLS settings for an `https` address. */
  readonly tls?: ConsulTlsOptions;
  /** Datacenter for catalog and health reads. Default: the agent's own. */
  readonly datacenter?: string;
  /** Timeout of a non-blocking call to Consul, in ms. Default: 5000. */
  readonly requestTimeoutMs?: number;
}

/** TLS to Consul, following Consul's CLI conventions. */
export interface ConsulTlsOptions {
  /** PEM CA bundle (contents) or use `caFile`. Default: file `CONSUL_CACERT`. */
  readonly ca?: string;
  readonly caFile?: string;
  /** Client certificate for mTLS, PEM contents or file. Default: file `CONSUL_CLIENT_CERT`. */
  readonly cert?: string;
  readonly certFile?: string;
  /** Client key for mTLS, PEM contents or file. Default: file `CONSUL_CLIENT_KEY`. */
  readonly key?: string;
  readonly keyFile?: string;
  /** SNI and certificate name to verify. Default: `CONSUL_TLS_SERVER_NAME`. */
  readonly serverName?: string;
  /** Verify Consul's certificate. Default: true unless `CONSUL_HTTP_SSL_VERIFY=false`. */
  readonly verify?: boolean;
}

/** Connection settings after defaults and the environment were applied. */
export interface ResolvedConsulConnection {
  readonly origin: string;
  readonly token: string | undefined;
  readonly datacenter: string | undefined;
  readonly requestTimeoutMs: number;
  readonly tls:
    | {
        readonly ca?: string;
        readonly cert?: string;
        readonly key?: string;
        readonly servername?: string;
        readonly rejectUnauthorized: boolean;
      }
    | undefined;
}

const DEFAULT_ADDRESS = 'http://127.0.0.1:8500';
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

function readPem(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(field, `cannot read file '${path}': ${(error as Error).message}`);
  }
}

function isFalse(value: string | undefined): boolean {
  return value !== undefined && /^(0|false|no)$/i.test(value.trim());
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes)$/i.test(value.trim());
}

/**
 * Applies Consul's environment conventions (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE,
 * CONSUL_HTTP_SSL, CONSUL_HTTP_SSL_VERIFY, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
 * CONSUL_TLS_SERVER_NAME) where the options are silent. Read once, at construction.
 */
export function resolveConsulConnection(
  options: ConsulConnectionOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  fieldPrefix = 'consul',
): ResolvedConsulConnection {
  // An empty variable counts as unset, as in Consul's own CLI.
  const rawAddress = (
    options.address ??
    (env.CONSUL_HTTP_ADDR || undefined) ??
    DEFAULT_ADDRESS
  ).trim();
  if (rawAddress === '') throw new ConfigError(`${fieldPrefix}.address`, 'must not be empty');
  if (rawAddress.startsWith('unix://')) {
    throw new ConfigError(
      `${fieldPrefix}.address`,
      'unix sockets are not supported; use http(s)://',
    );
  }
  const sslFromEnv = isTrue(env.CONSUL_HTTP_SSL);
  const withScheme = /^[a-z]+:\/\//i.test(rawAddress)
    ? rawAddress
    : `${sslFromEnv ? 'https' : 'http'}://${rawAddress}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`${fieldPrefix}.address`, `'${rawAddress}' is not a valid address`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${fieldPrefix}.address`, `scheme ${url.protocol} is not http or https`);
  }
  if (url.username || url.password) {
    // Credentials in a URL end up in logs; Consul takes tokens in a header only.
    throw new ConfigError(`${fieldPrefix}.address`, 'must not carry credentials; use token');
  }

  let token = options.token ?? env.CONSUL_HTTP_TOKEN;
  const tokenFile = options.tokenFile ?? env.CONSUL_HTTP_TOKEN_FILE;
  if ((token === undefined || token === '') && tokenFile) {
    token = readPem(tokenFile, `${fieldPrefix}.tokenFile`).trim();
  }
  if (token !== undefined && /[\r\n]/.test(token)) {
    throw new ConfigError(`${fieldPrefix}.token`, 'must be a single line');
  }

  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) {
    throw new ConfigError(`${fieldPrefix}.requestTimeoutMs`, 'must be a positive number of ms');
  }

  let tls: ResolvedConsulConnection['tls'];
  if (url.protocol === 'https:') {
    const t = options.tls ?? {};
    const caFile = t.caFile ?? env.CONSUL_CACERT;
    const certFile = t.certFile ?? env.CONSUL_CLIENT_CERT;
    const keyFile = t.keyFile ?? env.CONSUL_CLIENT_KEY;
    const ca = t.ca ?? (caFile ? readPem(caFile, `${fieldPrefix}.tls.caFile`) : undefined);
    const cert =
      t.cert ?? (certFile ? readPem(certFile, `${fieldPrefix}.tls.certFile`) : undefined);
    const key = t.key ?? (keyFile ? readPem(keyFile, `${fieldPrefix}.tls.keyFile`) : undefined);
    if ((cert === undefined) !== (key === undefined)) {
      throw new ConfigError(
        `${fieldPrefix}.tls`,
        'a client certificate needs its key, and a key its certificate',
      );
    }
    const servername = t.serverName ?? env.CONSUL_TLS_SERVER_NAME;
    tls = {
      ...(ca !== undefined && { ca }),
      ...(cert !== undefined && { cert }),
      ...(key !== undefined && { key }),
      ...(servername !== undefined && servername !== '' && { servername }),
      rejectUnauthorized: t.verify ?? !isFalse(env.CONSUL_HTTP_SSL_VERIFY),
    };
  }

  return {
    origin: url.origin,
    token: token === '' ? undefined : token,
    datacenter: options.datacenter,
    requestTimeoutMs,
    tls,
  };
}
