import { readFileSync } from 'node:fs';
import { DEFAULTS } from '../config/defaults';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ResolvedMark } from '../config/resolved-mark';
import { ConfigError } from '../errors';
import { MIN_CONNECTIONS } from './connection-budget';
import { ConsulToken } from './consul-token';

/** Connection settings for the Consul HTTP API; every field falls back to Consul's own env variables. */
export interface ConsulConnectionOptions {
  /** Agent address: `http://127.0.0.1:8500`, `https://host:8501` or `host:port`. Default: `CONSUL_HTTP_ADDR`, else `http://127.0.0.1:8500`. */
  readonly address?: string;
  /**
   * ACL token, sent only in the `X-Consul-Token` header and never printed (see `ConsulToken`).
   * Default: `tokenFile`, else `CONSUL_HTTP_TOKEN`, else the file `CONSUL_HTTP_TOKEN_FILE`.
   */
  readonly token?: string;
  /**
   * File holding the ACL token (read once, trimmed; empty means no token). Beats both environment
   * variables; cannot be set together with `token`. Default: none.
   */
  readonly tokenFile?: string;
  /** TLS settings for an `https` address. */
  readonly tls?: ConsulTlsOptions;
  /**
   * Offer HTTP/2 to an `https` agent (TLS ALPN; Consul's Go server accepts it): each connection
   * then carries up to 240 requests at once, so a thousand blocking queries need 5 connections
   * instead of a thousand (see lanePlan). An agent that answers HTTP/1.1 is used as over `http`.
   * No effect on an `http` address (always HTTP/1.1). Default: true.
   */
  readonly http2?: boolean;
  /** Datacenter for catalog and health reads. Default: the agent's own. */
  readonly datacenter?: string;
  /** Timeout of a non-blocking call to Consul, in ms. Default: 5000. */
  readonly requestTimeoutMs?: number;
  /**
   * Most TCP connections this process opens to the agent (watches, registration and every other
   * call together), an integer >= 4. Keep (workers per host) x maxConnections under the agent's
   * `limits.http_max_conns_per_client` (200). Default: `EXPRESS_CONSUL_MAX_CONNECTIONS`, else 32.
   */
  readonly maxConnections?: number;
  /**
   * Largest answer read from Consul, in bytes, from 1 to 500 MiB: reading stops as soon as an
   * answer passes it (ConsulResponseTooLargeError; a watch keeps its last good list).
   * Default: 268435456 (256 MiB, about 90,000 typical health entries).
   */
  readonly maxResponseBytes?: number;
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
  /** The ACL token in a holder that never prints it; undefined for none. */
  readonly token: ConsulToken | undefined;
  readonly datacenter: string | undefined;
  readonly requestTimeoutMs: number;
  /** Connection budget towards the agent (see ConnectionBudget). */
  readonly maxConnections: number;
  /** Largest answer read from Consul, in bytes. */
  readonly maxResponseBytes: number;
  /** Whether HTTP/2 is offered: `http2` on an https address only. */
  readonly http2: boolean;
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

/** The keys of {@link ConsulConnectionOptions}; any other is rejected. */
const CONNECTION_KEYS: KnownKeys<ConsulConnectionOptions> = {
  address: true,
  token: true,
  tokenFile: true,
  tls: true,
  http2: true,
  datacenter: true,
  requestTimeoutMs: true,
  maxConnections: true,
  maxResponseBytes: true,
};

/** Largest `maxResponseBytes`: V8 cannot hold a string much longer than 512 Mi characters. */
const MAX_RESPONSE_BYTES_LIMIT = 500 * 1024 * 1024;

/** The keys of {@link ConsulTlsOptions}; any other is rejected. */
const TLS_KEYS: KnownKeys<ConsulTlsOptions> = {
  ca: true,
  caFile: true,
  cert: true,
  certFile: true,
  key: true,
  keyFile: true,
  serverName: true,
  verify: true,
};

function readPem(file: string, path: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(path, 'a readable file', file, { cause: error });
  }
}

function isFalse(value: string | undefined): boolean {
  return value !== undefined && /^(0|false|no)$/i.test(value.trim());
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes)$/i.test(value.trim());
}

/** The agent's origin from `consul.address`, CONSUL_HTTP_ADDR and CONSUL_HTTP_SSL. */
function readOrigin(reader: OptionReader<ConsulConnectionOptions>, env: NodeJS.ProcessEnv): URL {
  const rule = 'an http(s)://host:port address without credentials (tokens go in token)';
  const given = reader.raw('address');
  if (given !== undefined && typeof given !== 'string') reader.fail('address', rule);
  // An empty variable counts as unset, as in Consul's own CLI.
  const rawAddress = (
    given ??
    (env.CONSUL_HTTP_ADDR || undefined) ??
    DEFAULTS.consul.address
  ).trim();
  const withScheme = /^[a-z]+:\/\//i.test(rawAddress)
    ? rawAddress
    : `${isTrue(env.CONSUL_HTTP_SSL) ? 'https' : 'http'}://${rawAddress}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {
    url = undefined;
  }
  // Credentials in a URL end up in logs; Consul takes tokens in a header only. For the same
  // reason an address holding `@` is not shown in the error.
  if (
    rawAddress === '' ||
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new ConfigError(reader.pathOf('address'), rule, rawAddress, {
      secret: rawAddress.includes('@'),
    });
  }
  return url;
}

/**
 * The ACL token, options before the environment: `token`, else `tokenFile`, else
 * CONSUL_HTTP_TOKEN, else the file CONSUL_HTTP_TOKEN_FILE (Consul's own order for the two
 * variables). An empty variable counts as unset.
 */
function readToken(
  reader: OptionReader<ConsulConnectionOptions>,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const given = reader.raw('token');
  if (given !== undefined && typeof given !== 'string') reader.fail('token', 'a string');
  const file = reader.string('tokenFile');
  if (given !== undefined && file !== undefined) {
    reader.fail('tokenFile', 'left out when token is set (one source for the ACL token)');
  }
  let token: string | undefined = given;
  if (token === undefined && file !== undefined) {
    token = readPem(file, reader.pathOf('tokenFile')).trim();
  }
  if (token === undefined) token = env.CONSUL_HTTP_TOKEN || undefined;
  if (token === undefined && env.CONSUL_HTTP_TOKEN_FILE) {
    // Named as the option it stands in for, as every variable is (the CLI maps it back).
    token = readPem(env.CONSUL_HTTP_TOKEN_FILE, reader.pathOf('tokenFile')).trim();
  }
  if (token !== undefined && /[\r\n]/.test(token)) reader.fail('token', 'a single line', token);
  return token;
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
  const reader = OptionReader.strict(options, fieldPrefix, CONNECTION_KEYS);
  const url = readOrigin(reader, env);

  const token = readToken(reader, env);

  let tls: ResolvedConsulConnection['tls'];
  const t = reader.section('tls', TLS_KEYS);
  if (url.protocol === 'https:') {
    const caFile = t.string('caFile') ?? env.CONSUL_CACERT;
    const certFile = t.string('certFile') ?? env.CONSUL_CLIENT_CERT;
    const keyFile = t.string('keyFile') ?? env.CONSUL_CLIENT_KEY;
    const ca = t.string('ca') ?? (caFile ? readPem(caFile, t.pathOf('caFile')) : undefined);
    const cert =
      t.string('cert') ?? (certFile ? readPem(certFile, t.pathOf('certFile')) : undefined);
    const key = t.string('key') ?? (keyFile ? readPem(keyFile, t.pathOf('keyFile')) : undefined);
    if ((cert === undefined) !== (key === undefined)) {
      t.fail(
        cert === undefined ? 'cert' : 'key',
        'set together with its pair: a client certificate needs its key, and a key its certificate',
      );
    }
    const servername = t.string('serverName') ?? env.CONSUL_TLS_SERVER_NAME;
    tls = {
      ...(ca !== undefined && { ca }),
      ...(cert !== undefined && { cert }),
      ...(key !== undefined && { key }),
      ...(servername !== undefined && servername !== '' && { servername }),
      rejectUnauthorized: t.boolean(
        'verify',
        isFalse(env.CONSUL_HTTP_SSL_VERIFY) ? false : DEFAULTS.consul.tls.verify,
      ),
    };
  }

  return resolvedConnections.mark({
    origin: url.origin,
    token: token === undefined || token === '' ? undefined : new ConsulToken(token),
    datacenter: reader.string('datacenter'),
    requestTimeoutMs: reader.ms(
      'requestTimeoutMs',
      { min: 0, minExclusive: true },
      DEFAULTS.consul.requestTimeoutMs,
    ),
    maxConnections: readMaxConnections(reader, env),
    maxResponseBytes: reader.integer(
      'maxResponseBytes',
      { min: 1, max: MAX_RESPONSE_BYTES_LIMIT },
      DEFAULTS.consul.maxResponseBytes,
    ),
    // Read (and validated) whatever the scheme, so a typo fails the same way over http.
    http2: reader.boolean('http2', DEFAULTS.consul.http2) && url.protocol === 'https:',
    tls,
  });
}

/** Connections resolveConsulConnection made: see {@link isResolvedConnection}. */
const resolvedConnections = new ResolvedMark<ResolvedConsulConnection>();

/**
 * True only for an object resolveConsulConnection returned: ConsulClient resolves anything else
 * (raw options, however shaped) and never resolves a connection twice.
 */
export function isResolvedConnection(
  value: ConsulConnectionOptions | ResolvedConsulConnection,
): value is ResolvedConsulConnection {
  return resolvedConnections.has(value);
}

/**
 * `maxConnections`, else EXPRESS_CONSUL_MAX_CONNECTIONS (how a process manager gives each of its N
 * workers its share of the agent's per-IP limit), else the default.
 */
function readMaxConnections(
  reader: OptionReader<ConsulConnectionOptions>,
  env: NodeJS.ProcessEnv,
): number {
  const rule = { min: MIN_CONNECTIONS };
  const given = reader.integer('maxConnections', rule);
  if (given !== undefined) return given;
  const fromEnv = env.EXPRESS_CONSUL_MAX_CONNECTIONS?.trim();
  if (fromEnv === undefined || fromEnv === '') return DEFAULTS.consul.maxConnections;
  const value = Number(fromEnv);
  if (!/^\d+$/.test(fromEnv) || value < MIN_CONNECTIONS) {
    throw new ConfigError(
      'EXPRESS_CONSUL_MAX_CONNECTIONS',
      `an integer >= ${MIN_CONNECTIONS}`,
      fromEnv,
    );
  }
  return value;
}
