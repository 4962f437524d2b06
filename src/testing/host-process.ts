import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { AbortedError, ExpressConsulError } from '../errors';
import type {
  HostProcess,
  HostRunOptions,
  ProcessExit,
  StopProcessOptions,
  WaitForLineOptions,
} from './start-hosts-options';

const OUTPUT_LIMIT = 64 * 1024;
/** Lines kept for waitForLine() to find after the fact. */
const LINE_LIMIT = 5_000;

interface LineWaiter {
  readonly matches: (line: string) => boolean;
  readonly resolve: (line: string) => void;
}

/** This process's environment without CONSUL_*: a host has its own agent, on its own 127.0.0.1:8500. */
function hostEnvironment(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('CONSUL_')) env[key] = value;
  return { ...env, ...extra };
}

/**
 * A process started with `ip netns exec NAMESPACE command ...`. `ip` execs the command in place,
 * so the child's pid is the command's and signals reach it directly.
 */
export class NamespaceProcess implements HostProcess {
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private text = '';
  private readonly lines: string[] = [];
  private readonly waiters = new Set<LineWaiter>();
  private stopping: Promise<ProcessExit> | undefined;
  private exit: ProcessExit | undefined;

  constructor(
    namespace: string,
    command: string,
    args: readonly string[],
    options: HostRunOptions = {},
  ) {
    this.child = spawn('ip', ['netns', 'exec', namespace, command, ...args], {
      env: hostEnvironment(options.env),
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise<ProcessExit>((resolve) => {
      const ended = (exit: ProcessExit): void => {
        this.exit ??= exit;
        resolve(this.exit);
      };
      this.child.once('exit', (code, signal) => ended({ code, signal }));
      // A command that could not be started at all ends here; Node may emit no 'exit' then.
      this.child.once('error', (error) => {
        this.collect(`could not start: ${error.message}\n`, { partial: '' });
        if (this.child.pid === undefined) ended({ code: null, signal: null });
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      const pending = { partial: '' };
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.collect(chunk, pending));
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  output(): string {
    return this.text;
  }

  waitForLine(
    match: RegExp | ((line: string) => boolean),
    { timeoutMs = 30_000, signal }: WaitForLineOptions = {},
  ): Promise<string> {
    const matches = typeof match === 'function' ? match : (line: string) => match.test(line);
    const seen = this.lines.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const finish = (): void => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: LineWaiter = {
        matches,
        resolve: (line) => {
          finish();
          resolve(line);
        },
      };
      const fail = (error: Error): void => {
        finish();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(this.failure(`no line matching ${String(match)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref();
      const onAbort = (): void =>
        fail(new AbortedError('waiting for a line', { cause: signal?.reason }));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      void this.exited.then((exit) =>
        this.waiters.has(waiter)
          ? fail(
              this.failure(
                `exited (${describeExit(exit)}) before a line matching ${String(match)}`,
              ),
            )
          : undefined,
      );
    });
  }

  stop({ signal = 'SIGTERM', timeoutMs = 10_000 }: StopProcessOptions = {}): Promise<ProcessExit> {
    this.stopping ??= this.terminate(signal, timeoutMs);
    return this.stopping;
  }

  /** SIGKILL now, without waiting (the process 'exit' hook's last resort). */
  kill(): void {
    if (this.exit === undefined) this.child.kill('SIGKILL');
  }

  private async terminate(signal: NodeJS.Signals, timeoutMs: number): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    try {
      if ((await Promise.race([this.exited, late])) === 'late') this.child.kill('SIGKILL');
    } finally {
      clearTimeout(timer);
    }
    return this.exited;
  }

  private collect(chunk: string, pending: { partial: string }): void {
    this.text = (this.text + chunk).slice(-OUTPUT_LIMIT);
    const parts = (pending.partial + chunk).split('\n');
    pending.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.lines.length > LINE_LIMIT) this.lines.shift();
      for (const waiter of this.waiters) if (waiter.matches(line)) waiter.resolve(line);
    }
  }

  private failure(what: string): ExpressConsulError {
    return new ExpressConsulError(
      'EXPRESS_CONSUL_INVALID_STATE',
      `process ${this.pid} ${what}; its output ends with:\n${this.text.slice(-4_000)}`,
    );
  }
}

function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}
