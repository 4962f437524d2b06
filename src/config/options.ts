import type { Registry } from 'prom-client';
import type { ConsulConnectionOptions } from '../consul/consul-environment';
import type { Logger } from '../logger';
import type { HealthIndicator } from '../health/health-indicator';

/**
 * The sections of `expressConsul()`'s options that config/ resolves: all but `discovery`, which
 * client/ owns (express/express-consul-options.ts puts the two together, so config/ imports
 * nothing from above it).
 */
export interface AdapterSectionOptions {
  /** The service this process provides. */
  readonly service: ServiceOptions;
  /** How to reach Consul; defaults follow Consul's env variables (CONSUL_HTTP_ADDR, ...). */
  readonly consul?: ConsulConnectionOptions;
  /** The health route Consul's HTTP check calls. */
  readonly health?: HealthOptions;
  /** Graceful shutdown. */
  readonly shutdown?: ShutdownOptions;
  /** How registration heals itself when the agent forgets the service. */
  readonly registration?: RegistrationOptions;
  /** Prometheus metrics; `false` turns them off. Default: on, in prom-client's global registry. */
  readonly metrics?: MetricsOptions | false;
  /** A pino-shaped logger. Default: silent. */
  readonly logger?: Logger;
}

/** The service as Consul will list it. */
export interface ServiceOptions {
  /** Consul service name (letters, digits, `-`, `_`, `.`); required. */
  readonly name: string;
  /** Unique instance id. Default: `NAME-HOSTNAME-RANDOM`, stable for the process. */
  readonly id?: string;
  /** Address callers dial. Default: none when the agent is on this host (Consul uses the node's), else the route to the agent; see `chooseServiceAddress`. */
  readonly address?: string;
  /** Port to advertise. Default: the port the server actually listens on (port 0 works). */
  readonly port?: number;
  readonly tags?: readonly string[];
  readonly meta?: Readonly<Record<string, string>>;
  /** Load-balancing weights by health state. Default: Consul's (passing 1, warning 1). */
  readonly weights?: { readonly passing: number; readonly warning: number };
  /** The HTTP health check Consul runs against the mounted health route. */
  readonly check?: CheckOptions;
}

/** Consul's HTTP check against this service. */
export interface CheckOptions {
  /** Only `http` is supported: Consul calls the mounted health route. Default: `http`. */
  readonly type?: 'http';
  /** How often Consul calls the route, in ms (Consul's minimum is 1000). Default: 10000. */
  readonly intervalMs?: number;
  /** How long Consul waits for an answer, in ms; at most intervalMs. Default: 5000. */
  readonly timeoutMs?: number;
  /** Consul removes the service after it has been critical this long, in ms (>= 60000). Default: 300000 (5 min). */
  readonly deregisterCriticalAfterMs?: number;
  /** Consecutive passes before Consul marks it passing. Default: Consul's (0). */
  readonly successBeforePassing?: number;
  /** Consecutive failures before Consul marks it critical. Default: Consul's (0). */
  readonly failuresBeforeCritical?: number;
  /** Scheme Consul calls the route with. Default: follows the server (https for a `tls.Server`, else http). */
  readonly scheme?: 'http' | 'https';
  /** How Consul's check talks TLS to an https route. */
  readonly tls?: CheckTlsOptions;
}

/** TLS of the check (Consul's `TLSServerName` and `TLSSkipVerify`); the same names as `consul.tls` and `discovery.client.tls`. */
export interface CheckTlsOptions {
  /** Name Consul sends in SNI and verifies the certificate against. Default: the check's host. */
  readonly serverName?: string;
  /** Verify the certificate; false lets Consul accept one it cannot verify, e.g. a self-signed one. Default: true. */
  readonly verify?: boolean;
}

/** The health route. */
export interface HealthOptions {
  /** Path of the route mounted on the app. Default: `/health`. */
  readonly path?: string;
  /** Checks whose worst result is the service's health. Default: none (always passing). */
  readonly indicators?: readonly HealthIndicator[];
  /** Each indicator's time limit, in ms; a late indicator counts as critical. Default: 2000. */
  readonly indicatorTimeoutMs?: number;
}

/** Graceful shutdown on close() and on signals. */
export interface ShutdownOptions {
  /** Install SIGTERM/SIGINT handlers that drain and then re-raise the signal. Default: true. */
  readonly handleSignals?: boolean;
  /** Signals to handle. Default: ['SIGTERM', 'SIGINT']. */
  readonly signals?: readonly NodeJS.Signals[];
  /** How to leave Consul before draining: `deregister` or `maintenance`. Default: `deregister`. */
  readonly mode?: 'deregister' | 'maintenance';
  /** Wait after leaving Consul so watchers and caches notice before we stop accepting, in ms. Default: 2000. */
  readonly propagationDelayMs?: number;
  /** Deadline for in-flight requests, counted from the start of the drain, in ms; > propagationDelayMs. Default: 15000. */
  readonly drainTimeoutMs?: number;
}

/** Self-healing registration. */
export interface RegistrationOptions {
  /** How long one watch of our own registration waits, in ms. Default: 30000. */
  readonly watchWaitMs?: number;
  /** First retry delay after an error, in ms. Default: 250. */
  readonly retryBaseMs?: number;
  /** Longest retry delay, in ms; keeps re-registration within seconds of an agent restart. Default: 4000. */
  readonly retryMaxMs?: number;
}

/** Prometheus metrics. */
export interface MetricsOptions {
  /** Registry to create metrics in. Default: prom-client's global registry. */
  readonly registry?: Registry;
  /** Name prefix. Default: `express_consul_`. */
  readonly prefix?: string;
}
