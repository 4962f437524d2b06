import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { forkScript, stopProcess } from '../lib/child-process';

/** One listening target: its own loopback address and port (`host:port` is its `x-instance`). */
export interface TargetInstance {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** `host:port`, as the target names itself in `x-instance`. */
  readonly id: string;
}

/** Target servers in child processes, on loopback addresses of their own (127.10.x.y). */
export interface TargetFleet {
  /** Every instance, process by process. */
  readonly instances: readonly TargetInstance[];
  /** The instances of each process, in the order asked for. */
  readonly byProcess: readonly (readonly TargetInstance[])[];
  /** Stops every child (SIGTERM, SIGKILL after 3 s) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** How one target process answers (see bench/targets/http-target.ts). */
export interface TargetOptions {
  /** Instances (loopback addresses) this process listens on. Default: 1. */
  readonly instances?: number;
  /** Every answer waits this long, in ms. Default: 0. */
  readonly delayMs?: number;
  /** This fraction of answers waits `slowMs` more. Default: 0. */
  readonly slowFraction?: number;
  readonly slowMs?: number;
}

const SCRIPT = resolve(__dirname, '../targets/http-target.ts');

/**
 * Starts one bench/targets/http-target.ts process per entry of `targets` (a number: that many
 * plain one-port processes) and resolves with their ports.
 */
export async function startTargetFleet(
  targets: number | readonly TargetOptions[],
): Promise<TargetFleet> {
  const specs: readonly TargetOptions[] =
    typeof targets === 'number' ? Array.from({ length: targets }, () => ({})) : targets;
  const children: ChildProcess[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= Promise.all(children.map((c) => stopProcess(c, 3_000))).then(() => undefined));
  try {
    let next = 0;
    const hostsByProcess = specs.map((spec) =>
      Array.from({ length: spec.instances ?? 1 }, () => loopbackHost(next++)),
    );
    const byProcess = await Promise.all(
      specs.map(async (spec, p) => {
        const hosts = hostsByProcess[p]!;
        const { child, ready } = forkScript<{ ports: number[] }>(SCRIPT, [
          `--hosts=${hosts.join(',')}`,
          ...targetArgs(spec),
        ]);
        children.push(child);
        const message = await ready;
        return message.ports.map((port, i) => {
          const host = hosts[i]!;
          return { host, port, url: `http://${host}:${port}`, id: `${host}:${port}` };
        });
      }),
    );
    return { instances: byProcess.flat(), byProcess, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function targetArgs(spec: TargetOptions): string[] {
  return Object.entries({
    'delay-ms': spec.delayMs,
    'slow-fraction': spec.slowFraction,
    'slow-ms': spec.slowMs,
  }).flatMap(([name, value]) => (value === undefined ? [] : [`--${name}=${value}`]));
}

/** The i-th instance's address: 127.10.0.1 onwards, never a .0 or .255 host. */
function loopbackHost(i: number): string {
  return `127.10.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}
