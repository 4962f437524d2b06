import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ExpressConsulError } from '../errors';
import { devAgentArgs } from './dev-agent-args';
import { loopbackPorts } from './loopback-ports';
import type { StartedConsul } from './start-consul-options';
import { waitForLeader } from './wait-for-leader';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Ends the child now and waits for it; SIGKILL when SIGTERM has not ended it within 5 s. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  }
  running.delete(child);
}

/** Runs `binary agent -dev` on free loopback ports and resolves once it has a leader. */
export async function startConsulProcess(
  binary: string,
  startupTimeoutMs: number,
  signal?: AbortSignal,
): Promise<StartedConsul> {
  const [http, dns, serfLan, serfWan, server] = (await loopbackPorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const nodeName = `express-consul-test-${randomBytes(3).toString('hex')}`;
  const child = spawn(binary, devAgentArgs({ http, dns, serfLan, serfWan, server }, nodeName), {
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
  const address = `http://127.0.0.1:${http}`;
  const died = new Promise<never>((_resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, exitSignal) =>
      reject(
        new ExpressConsulError(
          'ERR_CONSUL_UNAVAILABLE',
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
