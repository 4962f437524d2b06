/** What one host's agent needs to know. */
export interface HostAgentSpec {
  /** Node name, unique in the cluster: the host's name. */
  readonly node: string;
  /** The host's address: Serf and server RPC bind it, and it is the node's address in the catalog. */
  readonly address: string;
  readonly dataDir: string;
  /** Servers: how many to wait for before electing a leader. Client agents: undefined. */
  readonly bootstrapExpect: number | undefined;
  /** Server addresses to join (retried every second until they answer). */
  readonly join: readonly string[];
}

/** Consul's standard HTTP port: every host has its own, as in a real agent-per-host cluster. */
export const AGENT_HTTP_PORT = 8500;

/**
 * Arguments after `consul` for a production-shaped agent (not `-dev`) on Consul's standard ports:
 * `-bind` the host's address, the HTTP API on the host's 127.0.0.1 (what services use) and on its
 * address (so the test, outside the host, can read that agent), `-retry-join` the servers.
 */
export function hostAgentArgs(spec: HostAgentSpec): string[] {
  return [
    'agent',
    '-node',
    spec.node,
    '-bind',
    spec.address,
    '-advertise',
    spec.address,
    '-client',
    `127.0.0.1 ${spec.address}`,
    '-data-dir',
    spec.dataDir,
    '-retry-interval',
    '1s',
    ...spec.join.flatMap((address) => ['-retry-join', address]),
    ...(spec.bootstrapExpect === undefined
      ? []
      : ['-server', '-bootstrap-expect', String(spec.bootstrapExpect)]),
    // No call to HashiCorp's update check: hosts reach only each other.
    '-hcl',
    'disable_update_check = true',
    // Consul's recommended production timing: elections and failure detection in seconds, not tens.
    '-hcl',
    'performance { raft_multiplier = 1 }',
  ];
}
