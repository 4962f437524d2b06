import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

/** Target servers, each in its own child process, listening on 127.0.0.1. */
export interface TargetFleet {
  readonly ports: readonly number[];
  /** Stops every child (SIGTERM, SIGKILL after 3 s) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const SCRIPT = resolve(__dirname, '../targets/http-target.ts');

/** Starts `count` bench/targets/http-target.ts processes and resolves with their ports. */
export async function startTargetFleet(count: number): Promise<TargetFleet> {
  const children: ChildProcess[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= Promise.all(children.map(stopChild)).then(() => undefined));
  try {
    const ports = await Promise.all(
      Array.from({ length: count }, async () => {
        const child = fork(SCRIPT, [], {
          execArgv: ['-r', 'ts-node/register/transpile-only'],
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        });
        children.push(child);
        const exited = once(child, 'exit').then(([code]) => {
          throw new Error(`bench target exited during start-up (code ${String(code)})`);
        });
        exited.catch(() => {});
        const [message] = (await Promise.race([once(child, 'message'), exited])) as [
          { port: number },
        ];
        return message.port;
      }),
    );
    return { ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(killer);
}
