// Scenario 9: the Consul agent (dev mode) restarted under load, losing every registration. Each
// instance registers again by itself (the library heals its registration) and the watch follows
// the agent afterwards. The naive control, which asks the agent, fails while it lists nothing.
//
// The restarted agent answers with a lower index (the watch resets) and an empty list; the watcher
// holds that empty list back while the instances register again (EMPTY_AFTER_RESET_GRACE_MS), so
// the routing table keeps the instances that are still alive and no call fails.
import { request } from 'undici';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';

const SERVICE = 'chaos-agent-restart';

describe('chaos: agent restart with lost state', () => {
  let agent: StartedConsul | undefined;
  let scenario: Scenario | undefined;
  let counts: Awaited<ReturnType<typeof runLoad<'library' | 'control'>>>;
  let ids: string[] = [];
  let registered: () => Promise<string[]>;

  // The run itself: a failure here fails both tests below.
  beforeAll(async () => {
    agent = await startConsul({ mode: 'binary' });
    const own = agent;
    scenario = await startScenario(
      { service: SERVICE, size: 3, consulAddress: own.address },
      {
        consul: { requestTimeoutMs: 1_000 },
        watch: { waitMs: 1_000, backoff: { baseMs: 100, maxMs: 1_000 } },
      },
      { lookupCacheMs: 200, timeoutMs: 1_000 },
      false,
      own.address,
    );
    const { fleet, client, naive } = scenario;
    ids = fleet.instances.map((instance) => instance.serviceId).sort();
    registered = async () => {
      const response = await request(`${own.address}/v1/health/service/${SERVICE}?passing`);
      const entries = (await response.body.json()) as { Service: { ID: string } }[];
      return entries.map((entry) => entry.Service.ID).sort();
    };
    const gap = { restartMs: 0, reregisteredMs: 0 };
    const resetsBefore = client.watcher.status().indexResets;

    counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 120_000,
      action: async () => {
        const startedAt = Date.now();
        await own.restart();
        gap.restartMs = Date.now() - startedAt;
        await waitFor(
          'every instance registered and passing again',
          async () => ((await registered()).join() === ids.join() ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 50 },
        );
        gap.reregisteredMs = Date.now() - startedAt;
        await waitFor('the watch to follow the agent again', () =>
          client.watcher.status().stale ? undefined : true,
        );
      },
    });
    await scenario.record('9 agent restart with lost state', counts.library, counts.control);
    process.stdout.write(
      `[chaos] agent back after ${gap.restartMs} ms; all 3 registered and passing after ${gap.reregisteredMs} ms; index resets ${client.watcher.status().indexResets - resetsBefore}\n`,
    );
  }, 180_000);

  afterAll(async () => {
    await scenario?.stop();
    await agent?.stop();
  });

  it('every instance registers again by itself and the watch follows the agent', async () => {
    expect(await registered()).toEqual(ids);
    expect(
      scenario!.client
        .instances()
        .map((i) => i.serviceId)
        .sort(),
    ).toEqual(ids);
    expect(counts.control.failed).toBeGreaterThan(0);
  });

  it('fails no call: the empty list of the restarted agent is held back while instances register again', () => {
    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
  });
});
