// Scenario 1: a rolling restart of 3 instances (SIGTERM: the library drains, then a new process on
// the same port) under steady load. The library's client loses nothing; the naive control, which
// learns of a drain only at its next lookup, fails calls in the same run.
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import type { Discovery } from '../../src';
import { waitFor } from '../support/wait-for';
import { counterSum, libraryCaller, NaiveClient } from './support/callers';
import { Fleet } from './support/fleet';
import { runLoad } from './support/load';
import { recordRow } from './support/results';
import { ToxiproxyServer } from './support/toxiproxy';

const SERVICE = 'chaos-rolling';

describe('chaos: rolling restart', () => {
  let toxiproxy: ToxiproxyServer | undefined;
  let fleet: Fleet | undefined;
  let discovery: Discovery | undefined;
  let naive: NaiveClient | undefined;

  afterAll(async () => {
    await discovery?.close();
    await naive?.close();
    await fleet?.stop();
    await toxiproxy?.stop();
  });

  it('restarts 3 instances one by one under load: 0 failed, while the naive control fails', async () => {
    toxiproxy = await ToxiproxyServer.start();
    fleet = await Fleet.start(toxiproxy, { service: SERVICE, size: 3, propagationDelayMs: 300 });
    const registry = new Registry();
    discovery = createDiscovery({ metrics: { registry } });
    const client = discovery.service(SERVICE);
    const running = fleet;
    await waitFor(
      'the three instances in discovery',
      () => (client.instances().length === 3 ? true : undefined),
      { timeoutMs: 15_000 },
    );
    naive = new NaiveClient(process.env.CONSUL_HTTP_ADDR!, SERVICE, {
      lookupCacheMs: 1_000,
      timeoutMs: 5_000,
    });

    const counts = await runLoad({
      callers: { library: libraryCaller(client), control: naive.caller() },
      ratePerSecond: 100,
      maxMs: 90_000,
      action: async () => {
        for (const instance of running.instances) {
          await running.drain(instance);
          await running.restart(instance);
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
    const retried = await counterSum(registry, 'express_consul_client_retries_total', SERVICE);
    const ejected = await counterSum(registry, 'express_consul_client_ejections_total', SERVICE);
    recordRow({
      scenario: '1 rolling restart of 3 instances',
      sent: counts.library.sent,
      ok: counts.library.ok,
      failed: counts.library.failed,
      retried,
      ejected,
      controlFailed: counts.control.failed,
      p99Ms: counts.library.p99Ms,
    });
    process.stdout.write(`[chaos] control errors: ${JSON.stringify(counts.control.errors)}\n`);

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(counts.control.failed).toBeGreaterThan(0);
  });
});
