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
}

/** A running Consul dev agent; `stop()` (or `await using`) removes it. */
export interface StartedConsul {
  /** `http://127.0.0.1:PORT` of its HTTP API (and UI at `/ui/`). */
  readonly address: string;
  /** How it runs. */
  readonly mode: ConsulMode;
  /** Stops it and waits until it is gone (process exited, container removed). Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
