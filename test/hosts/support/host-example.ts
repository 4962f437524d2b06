import { resolve } from 'node:path';
import type { Host, HostProcess } from '../../../src/testing';

const root = resolve(__dirname, '../../..');

/** An example service running inside a host, once it listens. */
export interface RunningExample {
  readonly process: HostProcess;
  /** Its Consul service id. */
  readonly id: string;
  readonly port: number;
}

/**
 * Starts `examples/NAME.ts` inside `host` through ts-node and resolves once it printed its
 * `listening` line (registered with the host's agent by then).
 */
export async function startExampleIn(
  host: Host,
  name: 'my-service' | 'gateway',
  env: Record<string, string>,
): Promise<RunningExample> {
  const process = host.run(
    globalThis.process.execPath,
    ['-r', 'ts-node/register/transpile-only', `examples/${name}.ts`],
    { cwd: root, env },
  );
  const line = await process.waitForLine(
    (text) => text.startsWith('{') && text.includes('"event":"listening"'),
    { timeoutMs: 90_000 },
  );
  const { id, port } = JSON.parse(line) as { id: string; port: number };
  return { process, id, port };
}
