import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ExpressConsulError } from '../errors';
import { agentArgs } from './agent-command';
import type { AgentCommand, AgentTlsFiles } from './agent-command';
import type { StartedConsul } from './start-consul-options';
import { pollWhileAlive, waitForLeader } from './wait-for-leader';

const run = promisify(execFile);

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test run that never called stop() must not leave agents behind. */
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const leftover of running) leftover.kill('SIGKILL');
  });
}

/** Ends the child and waits for it: `signal` first, SIGKILL if it is still there after 5 s. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit').then(() => true);
  child.kill(signal);
  const gone = await Promise.race([exited, sleep(5_000, false, { ref: false })]);
  if (!gone) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** A throwaway CA and a server certificate for `datacenter` (SANs localhost, 127.0.0.1), by `consul tls`. */
export async function createTlsFiles(
  binary: string,
  dir: string,
  datacenter: string,
): Promise<AgentTlsFiles> {
  await run(binary, ['tls', 'ca', 'create'], { cwd: dir });
  await run(binary, ['tls', 'cert', 'create', '-server', '-dc', datacenter], { cwd: dir });
  return {
    caFile: join(dir, 'consul-agent-ca.pem'),
    certFile: join(dir, `${datacenter}-server-consul-0.pem`),
    keyFile: join(dir, `${datacenter}-server-consul-0-key.pem`),
  };
}

/** What a `ConsulProcess` is started with. */
export interface ConsulProcessOptions {
  readonly binary: string;
  readonly command: AgentCommand;
  readonly startupTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Made by us (certificates, a server's data): removed by stop(). */
  readonly ownedDirs?: readonly string[];
}

/** A local `consul agent` process on loopback ports, restartable on the same ports. */
export class ConsulProcess implements StartedConsul {
  readonly mode = 'binary' as const;
  private child: ChildProcess | undefined;
  private output = '';
  private stopping: Promise<void> | undefined;

  private constructor(private readonly options: ConsulProcessOptions) {}

  /** Starts the agent and resolves once it has a leader; on failure nothing is left running. */
  static async start(options: ConsulProcessOptions): Promise<ConsulProcess> {
    const agent = new ConsulProcess(options);
    try {
      await agent.launch(options.signal);
    } catch (error) {
      await agent.stop();
      throw error;
    }
    return agent;
  }

  get address(): string {
    return `http://127.0.0.1:${this.options.command.ports.http}`;
  }

  get nodeName(): string {
    return this.options.command.nodeName;
  }

  get datacenter(): string {
    return this.options.command.datacenter;
  }

  get https(): StartedConsul['https'] {
    const tls = this.options.command.tls;
    return tls
      ? { address: `https://127.0.0.1:${this.options.command.ports.https}`, caFile: tls.caFile }
      : undefined;
  }

  get dnsPort(): number {
    return this.options.command.ports.dns;
  }

  get serfWanAddress(): string {
    return `127.0.0.1:${this.options.command.ports.serfWan}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  logs(): string {
    return this.output;
  }

  async restart(): Promise<void> {
    if (this.stopping)
      throw new ExpressConsulError('EXPRESS_CONSUL_CLOSED', 'the agent was stopped');
    const child = this.child;
    this.child = undefined;
    if (child) await terminate(child, 'SIGTERM');
    await this.launch(undefined);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await terminate(child, signal);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const child = this.child;
      this.child = undefined;
      if (child) await terminate(child, 'SIGTERM');
      for (const dir of this.options.ownedDirs ?? []) rmSync(dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private async launch(signal: AbortSignal | undefined): Promise<void> {
    const child = spawn(this.options.binary, agentArgs(this.options.command), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    track(child);
    const collect = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const died = new Promise<never>((_resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, exitSignal) =>
        reject(
          new ExpressConsulError(
            'EXPRESS_CONSUL_UNAVAILABLE',
            `consul agent exited during start-up (${exitSignal ?? `code ${code}`}):\n${this.output}`,
          ),
        ),
      );
    });
    died.catch(() => undefined);
    await pollWhileAlive(
      (polls) => waitForLeader(this.address, this.options.startupTimeoutMs, polls),
      died,
      signal,
    );
  }
}

/** A directory of ours for certificates or data, removed by the agent's stop(). */
export function ownedDir(purpose: string): string {
  return mkdtempSync(join(tmpdir(), `express-consul-${purpose}-`));
}
