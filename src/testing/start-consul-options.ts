/** How `startConsul()` runs the agent. */
export type ConsulMode = 'binary' | 'container';

/** Options of `startConsul()`; every field is optional. */
export interface StartConsulOptions {
  /**
   * `binary` runs a local `consul agent -dev`; `container` runs the image through testcontainers.
   * Default: `$EXPRESS_CONSUL_TEST_CONSUL` when set, else `binary` when a binary is found, else `container`.
   */
  readonly mode?: ConsulMode;
  /** Binary mode: path of `consul`. Default: `$CONSUL_BIN`, `consul` on PATH, then scripts/consul.sh's cache. */
  readonly binary?: string;
  /** Container mode: the image. Default: `hashicorp/consul:1.16.3`. */
  readonly image?: string;
  /**
   * Container mode: `host` shares the host's network namespace and serves on 127.0.0.1 only, so
   * Consul's HTTP checks reach services listening on the host's loopback (Linux engines);
   * `bridge` publishes the HTTP port on 127.0.0.1 only, and checks cannot reach the host's
   * loopback. Default: `bridge`.
   */
  readonly network?: 'bridge' | 'host';
  /** How long to wait for the agent to elect itself leader, in ms. Default: 60000. */
  readonly startupTimeoutMs?: number;
  /** Aborts the start-up; what was started is stopped again. */
  readonly signal?: AbortSignal;
  /** The agent's datacenter (Consul's rules: letters, digits, `-`, `_`). Default: `dc1`. */
  readonly datacenter?: string;
  /** Binary mode: the node name. Default: a unique `express-consul-test-…`. */
  readonly nodeName?: string;
  /**
   * Binary mode: ACLs on with `default_policy = "deny"` and this initial management token, as a
   * production cluster runs. Default: ACLs off.
   */
  readonly acl?: { readonly managementToken: string };
  /**
   * Binary mode: also serve the HTTP API over TLS (HTTPS, and so HTTP/2) with a throwaway CA and
   * server certificate made by `consul tls`, or with these PEM files. Default: HTTP only.
   */
  readonly tls?:
    boolean | { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  /** Binary mode: WAN-join these servers (`host:serfWanPort`, see `serfWanAddress`). Default: none. */
  readonly retryJoinWan?: readonly string[];
  /** Binary mode: the HTTP port. Default: a free one (the demo asks for 8500, where the UI is expected). */
  readonly httpPort?: number;
  /** Binary mode: more configuration, HCL lines passed as `-hcl`, e.g. `limits { … }`. Default: none. */
  readonly hcl?: readonly string[];
}

/** A running Consul dev agent; `stop()` (or `await using`) removes it. */
export interface StartedConsul {
  /** `http://127.0.0.1:PORT` of its HTTP API (and UI at `/ui/`). */
  readonly address: string;
  /** How it runs. */
  readonly mode: ConsulMode;
  /** Its node name in the catalog. */
  readonly nodeName: string;
  /** Its datacenter. */
  readonly datacenter: string;
  /** With `tls`: `https://127.0.0.1:PORT` and the CA file that signed its certificate. */
  readonly https: { readonly address: string; readonly caFile: string } | undefined;
  /** Binary mode: its DNS port on 127.0.0.1 (UDP and TCP); undefined in container mode. */
  readonly dnsPort: number | undefined;
  /** Binary mode: `127.0.0.1:PORT` of its serf WAN listener, for another datacenter's `retryJoinWan`. */
  readonly serfWanAddress: string | undefined;
  /** Binary mode: the agent's process id while it runs. */
  readonly pid: number | undefined;
  /** The last lines the agent printed (for a failing test's message). */
  logs(): string;
  /**
   * Binary mode: stops the agent and starts it again on the same ports; a dev agent forgets every
   * registration, as a restarted agent without its data directory does. Rejects in container mode.
   */
  restart(): Promise<void>;
  /**
   * Binary mode: ends the agent's process with `signal` (SIGKILL, the default: a crash, no leave;
   * SIGTERM: a graceful shutdown) and waits until it is gone; `restart()` starts it again.
   * Rejects in container mode.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it and waits until it is gone (process exited, container removed). Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of `startConsulCluster()`; every field is optional. */
export interface StartConsulClusterOptions {
  /** How many servers (each on 127.0.0.1 with its own ports and data). Default: 3. */
  readonly servers?: number;
  /** Path of `consul`. Default: as `startConsul()` finds it. */
  readonly binary?: string;
  /** The cluster's datacenter. Default: `dc1`. */
  readonly datacenter?: string;
  /** ACLs on, as for `startConsul()`. Default: off. */
  readonly acl?: { readonly managementToken: string };
  /** How long to wait for a leader, in ms. Default: 60000. */
  readonly startupTimeoutMs?: number;
  /** More HCL lines for every server. Default: none. */
  readonly hcl?: readonly string[];
}

/** Servers of one datacenter on loopback (leader elections, quorum loss); `stop()` removes them. */
export interface StartedConsulCluster {
  readonly servers: readonly StartedConsul[];
  /** Stops every server and removes their data. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
