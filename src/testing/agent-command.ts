import { randomBytes } from 'node:crypto';
import { loopbackPorts } from './loopback-ports';

/** The ports an agent listens on, all on 127.0.0.1; gRPC is switched off (the library speaks HTTP). */
export interface AgentPorts {
  readonly http: number;
  readonly https: number;
  readonly dns: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly server: number;
}

/** PEM files of a CA and the agent's server certificate. */
export interface AgentTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Everything that makes one agent's command line. */
export interface AgentCommand {
  readonly nodeName: string;
  readonly datacenter: string;
  readonly ports: AgentPorts;
  readonly tls?: AgentTlsFiles | undefined;
  readonly aclManagementToken?: string | undefined;
  /** A server of a cluster (persistent data, a leader once `bootstrapExpect` joined) instead of `-dev`. */
  readonly server?:
    | {
        readonly bootstrapExpect: number;
        readonly dataDir: string;
        readonly retryJoin: readonly string[];
      }
    | undefined;
  readonly retryJoinWan?: readonly string[] | undefined;
  readonly hcl?: readonly string[] | undefined;
}

/** Free loopback ports for one agent; `http` as asked when given. */
export async function freeAgentPorts(http?: number): Promise<AgentPorts> {
  const [freeHttp, https, dns, serfLan, serfWan, server] = (await loopbackPorts(6)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { http: http ?? freeHttp, https, dns, serfLan, serfWan, server };
}

/** A node name no other test agent on this machine has. */
export function uniqueNodeName(): string {
  return `express-consul-test-${randomBytes(3).toString('hex')}`;
}

/**
 * Arguments after `consul` for an agent that binds, advertises and serves only on 127.0.0.1 with
 * the given ports, so several share one host (or one network namespace) without clashing.
 */
export function agentArgs(command: AgentCommand): string[] {
  const { ports } = command;
  const hcl = ['ports { grpc = -1, grpc_tls = -1 }', 'enable_script_checks = false'];
  if (command.tls) {
    const { caFile, certFile, keyFile } = command.tls;
    hcl.push(
      `ports { https = ${ports.https} }`,
      `tls { defaults { ca_file = ${JSON.stringify(caFile)}, cert_file = ${JSON.stringify(certFile)}, key_file = ${JSON.stringify(keyFile)}, verify_incoming = false } }`,
    );
  }
  if (command.aclManagementToken !== undefined) {
    hcl.push(
      `acl { enabled = true, default_policy = "deny", enable_token_persistence = false, tokens { initial_management = ${JSON.stringify(command.aclManagementToken)} } }`,
    );
  }
  const server = command.server;
  if (server) {
    // Fast elections and a short hold, so that tests of a lost leader take seconds.
    hcl.push('performance { raft_multiplier = 1, rpc_hold_timeout = "1s" }');
  }
  hcl.push(...(command.hcl ?? []));
  const mode = server
    ? [
        '-server',
        '-bootstrap-expect',
        String(server.bootstrapExpect),
        '-data-dir',
        server.dataDir,
        ...server.retryJoin.flatMap((address) => ['-retry-join', address]),
      ]
    : ['-dev'];
  return [
    'agent',
    ...mode,
    '-ui',
    '-node',
    command.nodeName,
    '-datacenter',
    command.datacenter,
    '-bind',
    '127.0.0.1',
    '-advertise',
    '127.0.0.1',
    '-client',
    '127.0.0.1',
    '-http-port',
    String(ports.http),
    '-dns-port',
    String(ports.dns),
    '-serf-lan-port',
    String(ports.serfLan),
    '-serf-wan-port',
    String(ports.serfWan),
    '-server-port',
    String(ports.server),
    ...(command.retryJoinWan ?? []).flatMap((address) => ['-retry-join-wan', address]),
    ...hcl.flatMap((line) => ['-hcl', line]),
  ];
}
