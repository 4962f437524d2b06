import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExpressConsulError } from '../errors';
import { loopbackDevAgent } from './loopback-dev-agent';
import type { StartedConsul } from './start-consul-options';
import { waitForLeader } from './wait-for-leader';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Ends the child and waits for it: SIGTERM first, SIGKILL if it is still there after 5 s. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit').then(() => true);
    child.kill('SIGTERM');
    const gone = await Promise.race([exited, sleep(5_000, false, { ref: false })]);
    if (!gone) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  running.delete(child);
}

/** Runs `binary agent -dev` on free loopback ports and resolves once it has a leader. */
export async function startConsulProcess(
  binary: string,
  startupTimeoutMs: number,
  signal?: AbortSignal,
): Promise<StartedConsul> {
  const { httpPort, args } = await loopbackDevAgent();
  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test run that never called stop() must not leave agents behind.
    process.once('exit', () => {
      for (const leftover of running) leftover.kill('SIGKILL');
    });
  }
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const address = `http://127.0.0.1:${httpPort}`;
  const died = new Promise<never>((_resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, exitSignal) =>
      reject(
        new ExpressConsulError(
          'EXPRESS_CONSUL_UNAVAILABLE',
          `consul agent exited during start-up (${exitSignal ?? `code ${code}`}):\n${output}`,
        ),
      ),
    );
  });
  died.catch(() => undefined);
  try {
    await Promise.race([waitForLeader(address, startupTimeoutMs, signal), died]);
  } catch (error) {
    await terminate(child);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= terminate(child));
  return { address, mode: 'binary', stop, [Symbol.asyncDispose]: stop };
}
