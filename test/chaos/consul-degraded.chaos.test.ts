// Scenario 8: the library's Consul agent slow (Toxiproxy `latency` 2 s on its answers), then its
// answers cut mid-way (`limit_data`: connections closed after 300 bytes, inside the JSON) and
// trickled in small slices (`slicer`). No error escapes to a caller, the routing table is never
// emptied, and the watch answers cleanly once the faults are gone. The naive control, which asks
// the agent through the same proxy, fails.
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import type { Toxic } from './support/toxiproxy';
import { waitFor } from '../../harness/wait-for';

const FAULTS: { name: string; toxic: Toxic }[] = [
  { name: 'slow', toxic: { type: 'latency', attributes: { latency: 2_000 } } },
  { name: 'cut', toxic: { type: 'limit_data', attributes: { bytes: 300 } } },
  {
    name: 'sliced',
    toxic: { type: 'slicer', attributes: { average_size: 16, size_variation: 8, delay: 20_000 } },
  },
];
const FAULT_MS = 4_000;

describe('chaos: Consul slow or cut mid-answer', () => {
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
  });

  it('keeps serving from a full routing table and recovers when the agent answers again', async () => {
    scenario = await startScenario(
      { service: 'chaos-consul-degraded', size: 3 },
      {
        consul: { requestTimeoutMs: 1_000 },
        watch: { waitMs: 1_000, backoff: { baseMs: 100, maxMs: 1_000 } },
      },
      { lookupCacheMs: 200, timeoutMs: 1_000 },
      true,
    );
    const { toxiproxy, client, naive } = scenario;
    const watcher = client.watcher;
    let errorsSeen = 0;
    const unsubscribe = watcher.onError(() => {
      errorsSeen += 1;
    });
    const sizes: number[] = [];

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 90_000,
      action: async () => {
        for (const { name, toxic } of FAULTS) {
          await toxiproxy.addToxic(scenario!.consulProxy!, name, toxic);
          const until = Date.now() + FAULT_MS;
          // Sampled through the fault: the list must never shrink.
          while (Date.now() < until) {
            sizes.push(client.instances().length);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          await toxiproxy.removeToxic(scenario!.consulProxy!, name);
        }
        await waitFor(
          'the watch to answer cleanly again',
          () => (watcher.status().stale ? undefined : true),
          {
            timeoutMs: 20_000,
          },
        );
      },
    });
    unsubscribe();
    await scenario.record('8 Consul slow, cut and sliced', counts.library, counts.control);
    process.stdout.write(`[chaos] watch errors reported: ${errorsSeen}\n`);

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(errorsSeen).toBeGreaterThan(0);
    expect(Math.min(...sizes)).toBe(3);
    expect(client.instances()).toHaveLength(3);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});
