import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** A service example running in its own Node process, speaking JSON lines on stdout. */
export interface ChildService {
  readonly child: ChildProcess;
  /** Resolves with the first stdout event named `event`. */
  next(event: string): Promise<Record<string, unknown>>;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts `examples/NAME.ts` through ts-node with `env` added to the environment. */
export function startExample(name: string, env: Record<string, string>): ChildService {
  return startScript(`examples/${name}.ts`, env);
}

/** Starts the TypeScript file at `path` (relative to the repository) through ts-node, with `env` added. */
export function startScript(path: string, env: Record<string, string>): ChildService {
  const root = resolve(__dirname, '../..');
  const name = path;
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const events: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (value: Record<string, unknown>) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const waiter = waiters.findIndex((w) => w.event === parsed.event);
    if (waiter >= 0) waiters.splice(waiter, 1)[0]!.resolve(parsed);
    else events.push(parsed);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    live.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  return {
    child,
    exited,
    stderr: () => stderr,
    next(event) {
      const seen = events.findIndex((e) => e.event === event);
      if (seen >= 0) return Promise.resolve(events.splice(seen, 1)[0]!);
      return new Promise((resolveEvent, reject) => {
        waiters.push({ event, resolve: resolveEvent });
        exited.then(
          () => reject(new Error(`example ${name} exited before '${event}':\n${stderr}`)),
          reject,
        );
      });
    },
  };
}
