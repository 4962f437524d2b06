// Scenario 3: one of 3 instances blackholed (Toxiproxy `timeout` toxic with timeout 0: the proxy
// accepts and then passes no byte either way). The per-try timeout moves each stuck call on to
// another instance, outlier detection ejects the silent one, nothing fails, and the call latency
// stays bounded by one per-try timeout plus a normal attempt. The naive control waits out its own
// timeout and fails.
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import { waitFor } from '../../harness/wait-for';

const PER_TRY_TIMEOUT_MS = 500;
// undici runs its headers timeout on its own coarse timer (ticks of ~0.5 s), so an attempt gives up
// between 0.5 and ~1.5 s after it was written; the rest is room for the retry that follows and for
// two shared, busy cores. Not a timing claim.
const SLACK_MS = 1_500;

describe('chaos: blackholed instance', () => {
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
  });

  it('moves on after the per-try timeout, ejects the instance, fails nothing', async () => {
    scenario = await startScenario(
      // Consul's own check crosses the blackhole too; 5 failures before critical (~5 s) leave the
      // first reaction to passive ejection, as with Consul's default 10 s interval.
      { service: 'chaos-blackhole', size: 3, failuresBeforeCritical: 5 },
      { client: { timeoutMs: PER_TRY_TIMEOUT_MS, deadlineMs: 10_000 } },
      { lookupCacheMs: 1_000, timeoutMs: 2_000 },
    );
    const { toxiproxy, fleet, client, naive } = scenario;
    const victim = fleet.instances[0]!;

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 60_000,
      action: async () => {
        await toxiproxy.addToxic(victim.proxy, 'blackhole', {
          type: 'timeout',
          attributes: { timeout: 0 },
        });
        await waitFor(
          'the blackholed instance to be ejected',
          async () => ((await scenario!.counters()).ejected >= 1 ? true : undefined),
          { timeoutMs: 20_000 },
        );
        // Load goes on for a while with the instance ejected (and later dropped by Consul).
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await toxiproxy.removeToxic(victim.proxy, 'blackhole');
      },
    });
    await scenario.record('3 one instance blackholed', counts.library, counts.control);
    const { retried, ejected } = await scenario.counters();

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(retried).toBeGreaterThan(0);
    expect(ejected).toBe(1);
    expect(counts.library.p99Ms).toBeLessThan(PER_TRY_TIMEOUT_MS + SLACK_MS);
    expect(counts.control.failed).toBeGreaterThan(0);
  }, 180_000);
});
