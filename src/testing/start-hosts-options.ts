/** Options of `startHosts()`; every field is optional. */
export interface StartHostsOptions {
  /**
   * Consul servers, on the first hosts (`h1`, or `h1` to `h3`); 3 make a quorum that survives the
   * loss of one. Default: 1.
   */
  readonly servers?: 1 | 3;
  /** Hosts with a Consul client agent, after the servers (`h2`, `h3`, ... with one server), 0 to 8. Default: 2. */
  readonly clients?: number;
  /** Path of `consul`. Default: `$CONSUL_BIN`, `consul` on PATH, then scripts/consul.sh's cache. */
  readonly binary?: string;
  /** How long to wait until every agent is alive in the catalog with a leader, in ms. Default: 60000. */
  readonly startupTimeoutMs?: number;
  /** Aborts the start-up; what was created is removed again. */
  readonly signal?: AbortSignal;
}

/** Options of {@link Host.run}. */
export interface HostRunOptions {
  /**
   * Added to the environment. The rest is this process's environment without its `CONSUL_*`
   * variables: they name agents of this machine's own network, which a host cannot reach.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. Default: this process's. */
  readonly cwd?: string;
}

/** Options of {@link HostProcess.waitForLine}. */
export interface WaitForLineOptions {
  /** How long to wait, in ms. Default: 30000. */
  readonly timeoutMs?: number;
  /** Aborts the wait. */
  readonly signal?: AbortSignal;
}

/** Options of {@link HostProcess.stop}. */
export interface StopProcessOptions {
  /** The signal sent first. Default: `SIGTERM`. */
  readonly signal?: NodeJS.Signals;
  /** How long it may take to exit before it gets SIGKILL, in ms. Default: 10000. */
  readonly timeoutMs?: number;
}

/** How a process ended. */
export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A process running inside a host (its network namespace). */
export interface HostProcess {
  /** Its process id. */
  readonly pid: number;
  /** Resolves when it has exited. */
  readonly exited: Promise<ProcessExit>;
  /** The last 64 KiB of what it wrote to stdout and stderr, interleaved. */
  output(): string;
  /**
   * Resolves with the first line of its stdout or stderr, already written or to come, that
   * matches; rejects when it exits first or the wait times out.
   */
  waitForLine(
    match: RegExp | ((line: string) => boolean),
    options?: WaitForLineOptions,
  ): Promise<string>;
  /** Sends the signal, waits for the exit (SIGKILL after the timeout). Idempotent. */
  stop(options?: StopProcessOptions): Promise<ProcessExit>;
}

/** One host: a network namespace of its own with its own loopback, address and Consul agent. */
export interface Host {
  /** `h1`, `h2`, ... */
  readonly name: string;
  /** The network namespace (`ip netns exec NAMESPACE ...`). */
  readonly namespace: string;
  /** Its address on the hosts' network (`eth0`), e.g. `10.213.7.2`; also its Consul node address. */
  readonly address: string;
  /** Whether its agent is a Consul server or a client agent. */
  readonly role: 'server' | 'client';
  /**
   * Its agent's HTTP API as this process reaches it: `http://ADDRESS:8500`. Inside the host the
   * same agent answers on Consul's default, `http://127.0.0.1:8500`.
   */
  readonly consulAddress: string;
  /** Starts `command` inside this host; {@link StartedHosts.close} stops it if the test did not. */
  run(command: string, args: readonly string[], options?: HostRunOptions): HostProcess;
}

/** Hosts on a network of their own; `close()` (or `await using`) removes all of it. */
export interface StartedHosts {
  /** The hosts, servers first. */
  readonly hosts: readonly Host[];
  /** The hosts' /24, e.g. `10.213.7.0/24`. */
  readonly subnet: string;
  /** This process's address on that network (`.1`); the hosts reach the test through it. */
  readonly gatewayAddress: string;
  /** How long the network and the agents took to be ready, in ms. */
  readonly startupMs: number;
  /** The host named `name`; throws when there is none. */
  host(name: string): Host;
  /**
   * Stops every process started in the hosts and the agents, then removes the namespaces, links
   * and data directories. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
