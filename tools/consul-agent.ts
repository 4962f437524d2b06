import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { freePorts } from './free-port';
import { waitFor } from './wait-for';

/** Options of a test agent. */
export interface ConsulAgentOptions {
  /** Enable ACLs with `default_policy = "deny"` and this bootstrap (initial management) token. */
  readonly aclManagementToken?: string;
  /** Node name; default a unique one. */
  readonly nodeName?: string;
  /** HTTP API port; default a free one. The demo asks for 8500 so the UI sits where people expect it. */
  readonly httpPort?: number;
  /**
   * Run as one server of a cluster instead of `-dev`: persistent state in `dataDir`, a leader only
   * once `bootstrapExpect` servers joined through `retryJoin` (serf LAN addresses of the others).
   */
  readonly server?: {
    readonly bootstrapExpect: number;
    readonly retryJoin: readonly string[];
    readonly dataDir: string;
    readonly serfLanPort: number;
  };
  /** Also serve the API over HTTPS with these PEM files (see `createTlsFiles`). */
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  /** More `-hcl` lines, e.g. `limits { http_max_conns_per_client = 50 }`. */
  readonly hcl?: readonly string[];
}

/** PEM files of a throwaway CA and a server certificate (SANs: localhost, 127.0.0.1), made by `consul tls`. */
export function createTlsFiles(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const consul = consulBinaryPath();
  execFileSync(consul, ['tls', 'ca', 'create'], { cwd: dir, stdio: 'ignore' });
  execFileSync(consul, ['tls', 'cert', 'create', '-server', '-dc', 'dc1'], {
    cwd: dir,
    stdio: 'ignore',
  });
  return {
    caFile: `${dir}/consul-agent-ca.pem`,
    certFile: `${dir}/dc1-server-consul-0.pem`,
    keyFile: `${dir}/dc1-server-consul-0-key.pem`,
  };
}

interface AgentPorts {
  http: number;
  https: number;
  dns: number;
  serfLan: number;
  serfWan: number;
  server: number;
}

let consulBinary: string | undefined;

/** Path of the consul binary the project's script finds or builds (cached outside the clone). */
export function consulBinaryPath(): string {
  consulBinary ??= execFileSync('bash', [resolve(__dirname, '../scripts/consul.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return consulBinary;
}

const liveAgents = new Set<ChildProcess>();
// Last line of defence: a crashed test run must not leave agents behind.
process.once('exit', () => {
  for (const child of liveAgents) child.kill('SIGKILL');
});

/**
 * A real `consul agent -dev` on loopback with free ports, for tests. Dev mode keeps its state in
 * memory, so `restart()` simulates an agent that forgot every registration.
 */
export class ConsulAgent {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    private readonly ports: AgentPorts,
    private readonly options: ConsulAgentOptions,
    readonly nodeName: string,
  ) {}

  /** Starts an agent and resolves once its cluster has a leader (a dev agent elects itself). */
  static async start(options: ConsulAgentOptions = {}): Promise<ConsulAgent> {
    const [freeHttp, dns, serfLan, serfWan, server, https] = (await freePorts(6)) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const http = options.httpPort ?? freeHttp;
    const lan = options.server?.serfLanPort ?? serfLan;
    const nodeName = options.nodeName ?? `test-node-${process.pid}-${http}`;
    const agent = new ConsulAgent(
      { http, https, dns, serfLan: lan, serfWan, server },
      options,
      nodeName,
    );
    await agent.launch();
    return agent;
  }

  /** `http://127.0.0.1:PORT` of the agent's HTTP API. */
  get address(): string {
    return `http://127.0.0.1:${this.ports.http}`;
  }

  get httpPort(): number {
    return this.ports.http;
  }

  /** UDP/TCP port of the agent's DNS interface (SRV lookups for HAProxy in the benchmarks). */
  get dnsPort(): number {
    return this.ports.dns;
  }

  /** `https://127.0.0.1:PORT` when started with `tls`. */
  get httpsAddress(): string {
    return `https://127.0.0.1:${this.ports.https}`;
  }

  /** Everything the agent printed so far (for diagnosing a failed test). */
  get logs(): string {
    return this.output;
  }

  /** The agent's process id while it runs (its CPU is read from /proc by the benchmarks). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Stops the agent (SIGTERM, then SIGKILL after 5 s) and waits until the process is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    liveAgents.delete(child);
  }

  /** Kills the agent with SIGKILL (a crash: no leave, no graceful Raft step-down) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    liveAgents.delete(child);
  }

  /** Stops and starts the agent on the same ports; dev mode forgets all registrations. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async launch(): Promise<void> {
    const hcl = ['ports { grpc = -1, grpc_tls = -1 }', 'enable_script_checks = false'];
    hcl.push(...(this.options.hcl ?? []));
    if (this.options.tls) {
      const { caFile, certFile, keyFile } = this.options.tls;
      hcl.push(
        `ports { https = ${this.ports.https} }`,
        `tls { defaults { ca_file = "${caFile}", cert_file = "${certFile}", key_file = "${keyFile}", verify_incoming = false } }`,
      );
    }
    if (this.options.aclManagementToken) {
      hcl.push(
        `acl { enabled = true, default_policy = "deny", enable_token_persistence = false, tokens { initial_management = "${this.options.aclManagementToken}" } }`,
      );
    }
    const server = this.options.server;
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
    if (server) {
      // Fast elections and a short hold so tests of a lost leader take seconds, not tens of them.
      hcl.push('performance { raft_multiplier = 1, rpc_hold_timeout = "1s" }');
    }
    const args = [
      'agent',
      ...mode,
      '-ui',
      '-node',
      this.nodeName,
      '-bind',
      '127.0.0.1',
      '-client',
      '127.0.0.1',
      '-advertise',
      '127.0.0.1',
      '-http-port',
      String(this.ports.http),
      '-dns-port',
      String(this.ports.dns),
      '-serf-lan-port',
      String(this.ports.serfLan),
      '-serf-wan-port',
      String(this.ports.serfWan),
      '-server-port',
      String(this.ports.server),
      '-log-level',
      'warn',
      ...hcl.flatMap((line) => ['-hcl', line]),
    ];
    const child = spawn(consulBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    liveAgents.add(child);
    const collect = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exitedEarly = once(child, 'exit').then(() => {
      throw new Error(`consul agent exited during start-up:\n${this.output}`);
    });
    exitedEarly.catch(() => {});
    await Promise.race([
      exitedEarly,
      waitFor(
        `consul agent on port ${this.ports.http} to elect a leader`,
        async () => {
          const headers: Record<string, string> = {};
          if (this.options.aclManagementToken)
            headers['x-consul-token'] = this.options.aclManagementToken;
          const response = await fetch(`${this.address}/v1/status/leader`, { headers });
          const leader = (await response.json()) as string;
          return response.ok && leader !== '' ? true : undefined;
        },
        { timeoutMs: 30_000 },
      ),
    ]);
  }
}
