import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { waitFor } from '../../harness/wait-for';

/** A running `express-consul` process: the real CLI entry point through ts-node. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the stdout so far once it matches `pattern`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<CliResult>;
}

/** What a finished CLI run left behind. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts `src/cli/main.ts` with `args`. `env` is laid over this process's environment (a value of
 * undefined removes the variable); colours are off so output can be matched as text.
 */
export function startCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): RunningCli {
  const merged: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', ...args],
    { cwd: resolve(__dirname, '../..'), env: merged, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'close').then(([code, signal]) => {
    live.delete(child);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr };
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForStdout: (pattern, timeoutMs = 20_000) =>
      waitFor(
        `CLI output matching ${pattern}`,
        () => {
          if (child.exitCode !== null)
            throw new Error(`CLI exited with ${child.exitCode}: ${stderr}`);
          return pattern.test(stdout) ? stdout : undefined;
        },
        { timeoutMs },
      ),
  };
}

/** Runs the CLI to completion; a run that outlives `timeoutMs` is killed and fails the test. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 25_000,
): Promise<CliResult> {
  const cli = startCli(args, env);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
  try {
    const result = await cli.exited;
    if (result.signal === 'SIGKILL')
      throw new Error(`express-consul ${args.join(' ')} did not finish in ${timeoutMs} ms`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** Stderr must be exactly one line naming the failure, prefixed with the program's name. */
export function expectOneLineError(result: CliResult, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^express-consul: /);
  expect(lines[0]).toMatch(pattern);
}
