import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { AbortedError, ConfigError, ConsulUnavailableError, InvalidStateError } from '../errors';
import { findConsulBinary } from './find-consul-binary';
import { AGENT_HTTP_PORT, hostAgentArgs } from './host-agent';
import {
  HOSTS_PREFIX,
  chooseOctet,
  createNetwork,
  nextTag,
  planNetwork,
  removeLeftovers,
  removeNetworkSync,
} from './host-network';
import type { NetworkPlan, PlannedHost } from './host-network';
import { NamespaceProcess } from './host-process';
import type {
  Host,
  HostProcess,
  HostRunOptions,
  StartHostsOptions,
  StartedHosts,
} from './start-hosts-options';
import { pollWhileAlive, waitForLeader } from './wait-for-leader';

const KEYS: KnownKeys<StartHostsOptions> = {
  servers: true,
  clients: true,
  binary: true,
  startupTimeoutMs: true,
  signal: true,
};

/** Networks of this process not yet removed: the 'exit' hook removes them if close() never ran. */
const live = new Set<RunningHosts>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const hosts of live) hosts.removeNow();
  });
}

/** Why this machine cannot run the harness, or undefined when it can. */
export function hostsUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux')
    return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'pipe' });
  } catch (error) {
    return `\`ip netns\` (iproute2) does not work here: ${(error as Error).message}`;
  }
  return undefined;
}

class RunningHost implements Host {
  readonly consulAddress: string;

  constructor(
    private readonly planned: PlannedHost,
    readonly role: 'server' | 'client',
    private readonly owner: RunningHosts,
  ) {
    this.consulAddress = `http://${planned.address}:${AGENT_HTTP_PORT}`;
  }

  get name(): string {
    return this.planned.name;
  }

  get namespace(): string {
    return this.planned.namespace;
  }

  get address(): string {
    return this.planned.address;
  }

  run(command: string, args: readonly string[], options?: HostRunOptions): HostProcess {
    return this.owner.track(new NamespaceProcess(this.namespace, command, args, options));
  }
}

class RunningHosts implements StartedHosts {
  readonly hosts: RunningHost[];
  startupMs = 0;
  private readonly processes = new Set<NamespaceProcess>();
  private readonly agents: NamespaceProcess[] = [];
  private readonly dataDirs: string[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly plan: NetworkPlan,
    servers: number,
  ) {
    this.hosts = plan.hosts.map(
      (planned, i) => new RunningHost(planned, i < servers ? 'server' : 'client', this),
    );
  }

  get subnet(): string {
    return this.plan.subnet;
  }

  get gatewayAddress(): string {
    return this.plan.gatewayAddress;
  }

  host(name: string): Host {
    const found = this.hosts.find((host) => host.name === name);
    if (!found)
      throw new InvalidStateError(
        `no host named '${name}' (hosts: ${this.hosts.map((host) => host.name).join(', ')})`,
      );
    return found;
  }

  track(process: NamespaceProcess): NamespaceProcess {
    if (this.closing) {
      process.kill();
      throw new InvalidStateError('the hosts are closed');
    }
    this.processes.add(process);
    void process.exited.then(() => this.processes.delete(process));
    return process;
  }

  startAgents(binary: string, servers: number): void {
    const serverAddresses = this.hosts.slice(0, servers).map((host) => host.address);
    for (const host of this.hosts) {
      const dataDir = mkdtempSync(join(tmpdir(), `${HOSTS_PREFIX}${this.plan.tag}-${host.name}-`));
      this.dataDirs.push(dataDir);
      const args = hostAgentArgs({
        node: host.name,
        address: host.address,
        dataDir,
        bootstrapExpect: host.role === 'server' ? servers : undefined,
        join: serverAddresses.filter((address) => address !== host.address),
      });
      this.agents.push(new NamespaceProcess(host.namespace, binary, args));
    }
  }

  /** Every agent has a leader and the catalog lists every host as a node. */
  async waitUntilReady(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const died = Promise.race(
      this.agents.map((agent, i) =>
        agent.exited.then((exit) => {
          throw new ConsulUnavailableError(
            'agent',
            `the agent of ${this.hosts[i]!.name} exited during start-up (${exit.signal ?? `code ${String(exit.code)}`}):\n${agent.output().slice(-4_000)}`,
          );
        }),
      ),
    );
    died.catch(() => undefined);
    await pollWhileAlive(
      async (polls) => {
        await Promise.all(
          this.hosts.map((host) => waitForLeader(host.consulAddress, timeoutMs, polls)),
        );
        const names = this.hosts.map((host) => host.name).sort();
        let listed: string[] = [];
        while (Date.now() < deadline) {
          if (polls.aborted) throw new AbortedError('starting the hosts', { cause: polls.reason });
          try {
            const answer = await fetch(`${this.hosts[0]!.consulAddress}/v1/catalog/nodes`, {
              signal: AbortSignal.any([polls, AbortSignal.timeout(2_000)]),
            });
            listed = ((await answer.json()) as { Node: string }[]).map((node) => node.Node).sort();
            if (names.every((name) => listed.includes(name))) return;
          } catch {
            // Not yet: the agent answers once its HTTP server is up.
          }
          await sleep(100, undefined, { signal: polls }).catch(() => undefined);
        }
        throw new ConsulUnavailableError(
          '/v1/catalog/nodes',
          `not every host joined within ${timeoutMs} ms (listed: ${listed.join(', ') || 'none'})`,
        );
      },
      died,
      signal,
    );
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The 'exit' hook's clean-up: nothing asynchronous runs any more. */
  removeNow(): void {
    for (const process of [...this.processes, ...this.agents]) process.kill();
    removeNetworkSync(this.plan);
    for (const dir of this.dataDirs) rmSync(dir, { recursive: true, force: true });
    live.delete(this);
  }

  private async shutDown(): Promise<void> {
    try {
      // Services first, while their agents can still take their deregistration; then the agents
      // (client agents leave the cluster on SIGTERM), then whatever is left in the namespaces.
      await Promise.all([...this.processes].map((process) => process.stop({ timeoutMs: 5_000 })));
      await Promise.all(this.agents.map((agent) => agent.stop({ timeoutMs: 5_000 })));
    } finally {
      this.removeNow();
    }
  }
}

/**
 * Starts hosts for a multi-host test on one Linux machine, as root: each host a network namespace
 * with its own loopback and address (10.213.X.2, .3, ... on a /24 of its own, X random and unused
 * here), all on one bridge, each with its own Consul agent on Consul's standard ports (`-bind` its
 * address, HTTP on its 127.0.0.1:8500), servers first, client agents `-retry-join`ing them.
 * Resolves once every agent has a leader and every host is a node in the catalog. Leftovers of
 * killed runs (names starting `ech-`) are removed first; `close()` removes everything, and if the
 * process exits without it, an 'exit' hook does.
 *
 * ```ts
 * await using hosts = await startHosts({ clients: 2 });
 * const service = hosts.host('h2').run(process.execPath, ['service.js']);
 * ```
 */
export async function startHosts(options: StartHostsOptions = {}): Promise<StartedHosts> {
  const reader = OptionReader.strict(options, '', KEYS);
  const servers = reader.integer('servers', { min: 1, max: 3 }, 1);
  if (servers === 2) reader.fail('servers', '1 or 3');
  const clients = reader.integer('clients', { min: 0, max: 8 }, 2);
  const timeoutMs = reader.ms('startupTimeoutMs', { min: 0, minExclusive: true }, 60_000);
  const binary = reader.string('binary') ?? findConsulBinary();
  if (binary === undefined)
    throw new ConfigError(
      'binary',
      'the path of consul (or CONSUL_BIN, or consul on PATH)',
      binary,
    );
  const unsupported = hostsUnsupportedReason();
  if (unsupported !== undefined) throw new InvalidStateError(`startHosts(): ${unsupported}`);
  const signal = options.signal;
  if (signal?.aborted) throw new AbortedError('starting the hosts', { cause: signal.reason });

  const startedAt = Date.now();
  await removeLeftovers();
  const names = Array.from({ length: servers + clients }, (_, i) => `h${i + 1}`);
  const plan = planNetwork(nextTag(), names, await chooseOctet());
  await createNetwork(plan);
  const hosts = new RunningHosts(plan, servers);
  live.add(hosts);
  installExitHook();
  try {
    hosts.startAgents(binary, servers);
    await hosts.waitUntilReady(timeoutMs, signal);
  } catch (error) {
    await hosts.close();
    throw error;
  }
  hosts.startupMs = Date.now() - startedAt;
  return hosts;
}
