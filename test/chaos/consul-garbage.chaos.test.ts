// Scenario 10: an HTTP fault server in front of the Consul agent answers the watched service's
// health queries with garbage (bad JSON, wrong types, missing fields, not a list) and with indexes
// of 0 or going backwards. Each garbled answer is reported as a typed ConsulResponseError, the last
// good list is kept (calls keep succeeding), an index going backwards is counted as a reset. The
// naive control, which parses whatever Consul sends, fails.
import type { FaultMode } from './support/consul-fault-server';
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startFaultScenario } from './support/fault-scenario';
import type { FaultScenario } from './support/fault-scenario';
import { waitFor } from '../../harness/wait-for';

const SERVICE = 'chaos-garbage';
const GARBAGE_MODES: FaultMode[] = ['bad-json', 'wrong-types', 'missing-fields', 'not-a-list'];

describe('chaos: garbage from Consul', () => {
  let started: FaultScenario | undefined;

  afterAll(async () => {
    await started?.stop();
  });

  it('reports typed errors, keeps the last good list, and counts index resets', async () => {
    started = await startFaultScenario(SERVICE);
    const { scenario, fault } = started;
    const { client, naive } = scenario;
    const watcher = client.watcher;
    const errors: { mode: FaultMode; code: string }[] = [];
    const unsubscribe = watcher.onError((event) => {
      errors.push({
        mode: fault.mode,
        code: (event.error as { code?: string }).code ?? event.error.name,
      });
    });
    const sizes: number[] = [];
    const resetsBefore = watcher.status().indexResets;

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 90_000,
      action: async () => {
        for (const mode of GARBAGE_MODES) {
          fault.mode = mode;
          // The in-flight blocking query ends within waitMs; then the garbage arrives.
          await waitFor(
            `two errors in mode ${mode}`,
            () => (errors.filter((e) => e.mode === mode).length >= 2 ? true : undefined),
            { timeoutMs: 15_000 },
          );
          sizes.push(client.instances().length);
        }
        // Backwards first: from the real index; after index 0 the watch waits from 1, which is not above.
        for (const mode of ['index-backwards', 'index-zero'] as const) {
          fault.mode = mode;
          await waitFor(
            `three answers in mode ${mode}`,
            () => ((fault.answered.get(mode) ?? 0) >= 3 ? true : undefined),
            { timeoutMs: 15_000 },
          );
          sizes.push(client.instances().length);
        }
        fault.mode = 'pass';
        await waitFor('the watch to answer cleanly again', () =>
          watcher.status().stale ? undefined : true,
        );
      },
    });
    unsubscribe();
    await scenario.record('10 garbage from Consul', counts.library, counts.control);
    const byMode = Object.fromEntries(fault.answered);
    process.stdout.write(
      `[chaos] health answers by mode ${JSON.stringify(byMode)}; error codes ${JSON.stringify([...new Set(errors.map((e) => `${e.mode}:${e.code}`))])}; list sizes ${sizes.join(', ')}\n`,
    );

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(sizes).toEqual(Array(GARBAGE_MODES.length + 2).fill(3));
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['EXPRESS_CONSUL_BAD_RESPONSE']));
    expect(watcher.status().indexResets).toBeGreaterThan(resetsBefore);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});
