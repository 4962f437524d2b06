// Scenario 7: the library's Consul agent unreachable for a bounded time (a Toxiproxy `timeout`
// toxic with timeout 0 blackholes the proxy between the clients and the agent). Calls to the
// instances discovery already knows never fail, the staleness metric rises through the outage,
// and the watch resumes afterwards: a deregistration made after it reaches the routing table.
// The naive control, which must ask Consul, fails.
import { libraryCaller } from './support/callers';
import { blackholeConsul, stalenessSeconds } from './support/consul-outage';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import { waitFor } from '../../harness/wait-for';

const OUTAGE_MS = 8_000;

describe('chaos: Consul unreachable', () => {
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
  });

  it('serves known instances through the outage, reports staleness, and resumes the watch', async () => {
    scenario = await startScenario(
      { service: 'chaos-consul-down', size: 3 },
      {
        consul: { requestTimeoutMs: 1_000 },
        watch: { waitMs: 2_000, backoff: { baseMs: 200, maxMs: 2_000 } },
      },
      { lookupCacheMs: 1_000, timeoutMs: 2_000 },
      true,
    );
    const { fleet, client, naive } = scenario;
    let samples: number[] = [];
    const leaving = fleet.instances[2]!;

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 90_000,
      action: async () => {
        samples = await blackholeConsul(scenario!, OUTAGE_MS, 1_000);
        // A change made after the outage reaches the routing table through the resumed watch.
        await fleet.drain(leaving);
        await waitFor(
          'the drained instance to leave discovery',
          () =>
            client.instances().some((i) => i.serviceId === leaving.serviceId) ? undefined : true,
          { timeoutMs: 20_000 },
        );
      },
    });
    await scenario.record('7 Consul unreachable 8 s', counts.library, counts.control);
    process.stdout.write(`[chaos] staleness samples (s): ${samples.join(', ')}\n`);

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples.at(-1)!).toBeGreaterThan(samples[0]!);
    expect(await stalenessSeconds(scenario)).toBe(0);
    expect(client.instances()).toHaveLength(2);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});
