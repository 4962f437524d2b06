import type { ConsulClient } from '../../src';
import type { StartedConsul } from '../../src/testing';
import type { Table } from './table';

/** What every benchmark gets from bench/run.ts. */
export interface SuiteContext {
  /** `--quick`: a small version for CI; figures must exist, their values mean little. */
  readonly quick: boolean;
  /** The shared Consul dev agent on loopback. */
  readonly agent: StartedConsul;
  readonly consul: ConsulClient;
  /** HAProxy's version when `haproxy` is installed; suites skip their HAProxy rows otherwise. */
  readonly haproxy: string | undefined;
  /** Aborted on Ctrl-C: loops stop, suites clean up and return. */
  readonly signal: AbortSignal;
  /** A progress line on stderr (the tables go to stdout). */
  readonly log: (line: string) => void;
}

/** What one benchmark measured. */
export interface SuiteOutput {
  readonly tables: readonly Table[];
  /** Every figure, as written to results.json. */
  readonly figures: unknown;
  /** Goals met or missed and why, setup facts the reader needs; printed under the tables. */
  readonly notes: readonly string[];
}

/** One benchmark of `npm run bench`. */
export interface Suite {
  readonly id: string;
  readonly title: string;
  run(context: SuiteContext): Promise<SuiteOutput>;
}

/** Throws when the run was interrupted, so a suite stops between steps. */
export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('interrupted');
}

/** Registers one instance of `service` per target, 16 PUTs at a time; returns their Consul ids. */
export async function registerInstances(
  consul: ConsulClient,
  service: string,
  targets: readonly { readonly host: string; readonly port: number }[],
): Promise<string[]> {
  const ids = targets.map((_, i) => `${service}-${i}`);
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map((id, k) =>
        consul.registerService({
          Name: service,
          ID: id,
          Address: targets[i + k]!.host,
          Port: targets[i + k]!.port,
        }),
      ),
    );
  }
  return ids;
}

/** Deregisters every id, ignoring failures (clean-up). */
export async function deregisterAll(consul: ConsulClient, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map((id) => consul.deregisterService(id).catch(() => undefined)),
    );
  }
}
