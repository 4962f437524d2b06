// Scenario 2: one of 3 instances killed with SIGKILL under load (no drain, no deregistration).
// Idempotent calls never fail: the dead one's failed attempts are retried elsewhere, and passive
// ejection stops its traffic after `consecutiveFailures` attempts, long before Consul's check
// marks it critical. The naive control keeps sending to it until its next lookup drops it.
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import { waitFor } from '../../harness/wait-for';

const EJECT_AFTER_FAILURES = 5;

describe('chaos: kill -9 of an instance', () => {
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
  });

  it('loses no idempotent call and sends the dead instance at most the ejection threshold of attempts', async () => {
    scenario = await startScenario(
      { service: 'chaos-kill', size: 3 },
      { client: { outlierDetection: { consecutiveFailures: EJECT_AFTER_FAILURES } } },
    );
    const { fleet, client, naive } = scenario;
    const victim = fleet.instances[0]!;
    let retriedBeforeKill = 0;

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 60_000,
      tailMs: 2_000,
      action: async () => {
        retriedBeforeKill = (await scenario!.counters()).retried;
        await fleet.kill(victim);
        await waitFor(
          'Consul to drop the killed instance',
          () =>
            client.instances().some((i) => i.serviceId === victim.serviceId) ? undefined : true,
          { timeoutMs: 20_000 },
        );
      },
    });
    await scenario.record('2 kill -9 of 1 of 3 instances', counts.library, counts.control);
    const { retried, ejected } = await scenario.counters();

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    // Every attempt the dead instance got failed and was retried elsewhere (nothing else failed).
    expect(retried - retriedBeforeKill).toBeGreaterThan(0);
    expect(retried - retriedBeforeKill).toBeLessThanOrEqual(EJECT_AFTER_FAILURES);
    // Ejected at the fifth failure, or not at all when Consul's check drops the dead instance from
    // the table first (a race the faster watch now often wins): never more than the one instance.
    expect(ejected).toBeLessThanOrEqual(1);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});
