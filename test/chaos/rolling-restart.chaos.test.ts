// Scenario 1: a rolling restart of 3 instances (SIGTERM: the library drains, then a new process on
// the same port) under steady load. The library's client loses nothing; the naive control, which
// learns of a drain only at its next lookup, fails calls in the same run.
import { waitFor } from '../../harness/wait-for';
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';

describe('chaos: rolling restart', () => {
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
  });

  it('restarts 3 instances one by one under load: 0 failed, while the naive control fails', async () => {
    scenario = await startScenario({ service: 'chaos-rolling', size: 3, propagationDelayMs: 300 });
    const { fleet, client, naive } = scenario;

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 90_000,
      action: async () => {
        for (const instance of fleet.instances) {
          await fleet.drain(instance);
          await fleet.restart(instance);
          // The next one goes only once the new process is back in discovery, as a deployment
          // waits for readiness.
          await waitFor(
            `${instance.name} back in discovery`,
            () =>
              client.instances().some((i) => i.serviceId === instance.serviceId) ? true : undefined,
            { timeoutMs: 15_000 },
          );
        }
      },
    });
    await scenario.record('1 rolling restart of 3 instances', counts.library, counts.control);

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});
