// Scenario 10, extended: the fault server answers the watched service's health query with 50,000
// valid entries (the 3 real instances and copies of them under new service IDs, all reachable).
// There is no size cap in the library, so the truth to assert is that it applies the answer:
// the routing table holds every entry, calls keep succeeding, nothing throws, the table is never
// emptied, and it returns to the 3 real instances once the fault server passes answers through.
import { HUGE_ENTRIES } from './support/consul-fault-server';
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startFaultScenario } from './support/fault-scenario';
import type { FaultScenario } from './support/fault-scenario';
import { waitFor } from '../../harness/wait-for';

const SERVICE = 'chaos-huge';

describe('chaos: a 50,000-entry answer from Consul', () => {
  let started: FaultScenario | undefined;

  afterAll(async () => {
    await started?.stop();
  });

  it('applies it without crashing and never empties the routing table', async () => {
    started = await startFaultScenario(SERVICE);
    const { scenario, fault } = started;
    const { client } = scenario;
    const watcher = client.watcher;
    const sizes: number[] = [];
    const applyMs: number[] = [];
    const errors: string[] = [];
    const offChange = watcher.onChange((event) => {
      sizes.push(event.instances.length);
      if (event.instances.length === HUGE_ENTRIES && fault.hugeSentAt !== undefined)
        applyMs.push(performance.now() - fault.hugeSentAt);
    });
    const offError = watcher.onError((event) => {
      errors.push((event.error as { code?: string }).code ?? event.error.name);
    });

    const counts = await runLoad({
      callers: { library: libraryCaller(client) },
      ratePerSecond: 50,
      maxMs: 90_000,
      action: async () => {
        fault.mode = 'huge';
        await waitFor(
          'the huge answer in the routing table',
          () => (client.instances().length === HUGE_ENTRIES ? true : undefined),
          { timeoutMs: 30_000 },
        );
        // Two more huge answers with a rising index, then the real list again.
        await waitFor(
          'three huge answers',
          () => ((fault.answered.get('huge') ?? 0) >= 3 ? true : undefined),
          { timeoutMs: 30_000 },
        );
        fault.mode = 'pass';
        await waitFor(
          'the 3 real instances again',
          () => (client.instances().length === 3 ? true : undefined),
          { timeoutMs: 30_000 },
        );
      },
    });
    offChange();
    offError();
    await scenario.record('10b 50,000-entry answer', counts.library, null);
    process.stdout.write(
      `[chaos] ${HUGE_ENTRIES} entries applied in ${applyMs.map((ms) => ms.toFixed(0)).join(', ')} ms (answer written → change event); list sizes ${sizes.join(', ')}; watch errors ${JSON.stringify(errors)}\n`,
    );

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(applyMs.length).toBeGreaterThanOrEqual(1);
    expect(sizes).toContain(HUGE_ENTRIES);
    expect(sizes.every((size) => size > 0)).toBe(true);
    expect(sizes.at(-1)).toBe(3);
    expect(errors).toEqual([]);
  }, 180_000);
});
