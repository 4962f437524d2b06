import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { waitFor } from '../wait-for';
import type { RequestCounts } from './watch-process';

export type { RequestCounts } from './watch-process';

/** What a worker prints once every service is ready. */
export interface ReadyLine {
  readonly ready: number;
  readonly readyMs: number;
  readonly createCpuMs: number;
  readonly cpuMs: number;
  readonly requests: RequestCounts;
}

/** What a worker prints on "status". */
export interface StatusLine {
  readonly status: {
    readonly connections: number;
    readonly slotted: number;
    readonly polled: number;
    readonly polledReads: number;
    readonly checkWatchAnswers: number;
    readonly throttled: number;
  };
  readonly requests: RequestCounts;
  readonly cpuMs: number;
}

/** One change a worker saw: when (its clock, Date.now()) and whether the watch held a slot. */
export interface ChangeLine {
  readonly change: string;
  readonly at: number;
  readonly instances: number;
  readonly slotted: boolean;
}

/**
 * One child process running watch-process.ts: SERVICES services `PREFIX-0..` followed
 * through a Discovery of its own, as one worker of a cluster (one client IP with the others).
 */
export class WatchWorker {
  readonly child: ChildProcess;
  /** Every JSON line printed so far, in order (progress lines go to stderr instead). */
  readonly lines: object[] = [];

  constructor(address: string, prefix: string, services: number) {
    this.child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', resolve(__dirname, 'watch-process.ts')],
      {
        env: {
          ...process.env,
          SCALE_CONSUL: address,
          SCALE_PREFIX: prefix,
          SCALE_SERVICES: String(services),
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const value = JSON.parse(line) as object;
      // SCALE_PROGRESS=1: each worker's scheduler status every 2 s, to see where the time goes.
      // A worker not ready in 30 s says why ("unready"): printed, as the failure's evidence.
      if ('progress' in value || 'unready' in value) {
        process.stderr.write(`worker ${this.child.pid}: ${line}\n`);
      } else this.lines.push(value);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send(command: 'go' | 'status' | 'slots'): void {
    this.child.stdin?.write(`${command}\n`);
  }

  /** The first line at or after `from` (an index into `lines`) that has `key`. */
  next<T extends object>(key: string, from: number, timeoutMs: number): Promise<T> {
    return waitFor(
      `worker ${this.pid}: a line with ${key}`,
      () => this.lines.slice(from).find((line) => key in line) as T | undefined,
      { timeoutMs, intervalMs: 20 },
    );
  }

  /** Sends `command` and resolves with its answer (the next line that has `key`). */
  ask<T extends object>(command: 'status' | 'slots', key: string, timeoutMs = 10_000): Promise<T> {
    const from = this.lines.length;
    this.send(command);
    return this.next<T>(key, from, timeoutMs);
  }

  /** When this worker saw a change of `service`, once it has (its clock). */
  changeSeen(service: string, timeoutMs: number): Promise<ChangeLine> {
    return waitFor(
      `worker ${this.pid}: ${service}'s change`,
      () =>
        this.lines.find((line) => (line as Partial<ChangeLine>).change === service) as
          ChangeLine | undefined,
      { timeoutMs, intervalMs: 5 },
    );
  }

  /** Asks the worker to stop ("stop" on stdin), SIGKILL after 10 s; resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin?.end('stop\n');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  }
}
