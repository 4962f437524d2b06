import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/**
 * Forks a TypeScript script (through ts-node) that reports readiness with one IPC message: the
 * child at once (so the caller can stop it whatever happens), and `ready`, its first message,
 * rejected if the child exits first.
 */
export function forkScript<M>(
  script: string,
  args: readonly string[],
): { child: ChildProcess; ready: Promise<M> } {
  const child = fork(script, args, {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${script} exited during start-up (code ${String(code)})`);
  });
  exited.catch(() => {});
  const ready = Promise.race([once(child, 'message'), exited]).then(([message]) => message as M);
  return { child, ready };
}

/** Stops a child (SIGTERM, SIGKILL after `graceMs`) and waits until it has exited. */
export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}
